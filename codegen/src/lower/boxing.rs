//! Pass: which inline struct fields are boxed, so that no type is too large to build on a
//! stack.
//!
//! A type outside the cycle of `*WhereInput` filters may still hold many of them by value
//! (`GraphWhereInput` holds one per related type: about 300 KB), and a request body holding it
//! overflows a tokio worker's 2 MiB stack in a debug build before it is even sent. Sizes here
//! are estimates of the Rust layout on a 64-bit target (padding and niches ignored), good
//! enough to find the few types that need it while leaving the common ones (a list request's
//! `where`) unboxed.

use super::cycles::struct_held_by_value;
use crate::ir::{Api, Field, Holding, Presence, TypeKind, TypeRef};

/// The estimated size above which a struct's largest inline struct fields are boxed.
pub(super) const MAX_INLINE_SIZE: usize = 64 * 1024;

/// In a struct above [`MAX_INLINE_SIZE`], the inline struct fields of at least this size are
/// boxed: all of them, so that the struct ends well below the limit and so do the structs
/// holding it.
const MIN_BOXED_SIZE: usize = 1024;

/// Boxes, in each struct estimated above [`MAX_INLINE_SIZE`], its inline struct fields of
/// [`MIN_BOXED_SIZE`] or more. Structs are visited after the structs they hold, so a field's
/// size is the one its type has after its own boxing.
pub(super) fn box_large_fields(api: &mut Api) {
    let mut sizes: Vec<Option<usize>> = vec![None; api.types.len()];
    for start in 0..api.types.len() {
        // Iterative post-order over inline struct fields (cycle fields are `Related`, so these
        // edges form no cycle).
        let mut stack = vec![(start, false)];
        while let Some((node, children_done)) = stack.pop() {
            if sizes[node].is_some() {
                continue;
            }
            let held = inline_structs(api, node);
            if !children_done {
                stack.push((node, true));
                stack.extend(held.into_iter().map(|(_, t)| (t, false)));
                continue;
            }
            sizes[node] = Some(fit(api, &sizes, node));
        }
    }
}

/// The inline struct fields of type `node`: (field index, struct index).
fn inline_structs(api: &Api, node: usize) -> Vec<(usize, usize)> {
    match &api.types[node].kind {
        TypeKind::Struct { fields } => fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.holding == Holding::Inline)
            .filter_map(|(i, f)| struct_held_by_value(api, &f.ty).map(|t| (i, t)))
            .collect(),
        _ => Vec::new(),
    }
}

/// Boxes the large inline struct fields of `node` when it is too large; returns its size.
fn fit(api: &mut Api, sizes: &[Option<usize>], node: usize) -> usize {
    let TypeKind::Struct { fields } = &api.types[node].kind else {
        return type_size(api, sizes, &TypeRef::Named(api.types[node].name.clone()));
    };
    let field_sizes: Vec<usize> = fields.iter().map(|f| field_size(api, sizes, f)).collect();
    let total: usize = field_sizes.iter().sum();
    if total <= MAX_INLINE_SIZE {
        return total;
    }
    let boxed: Vec<usize> = inline_structs(api, node)
        .into_iter()
        .map(|(field, _)| field)
        .filter(|&field| field_sizes[field] >= MIN_BOXED_SIZE)
        .collect();
    if let TypeKind::Struct { fields } = &mut api.types[node].kind {
        for &field in &boxed {
            fields[field].holding = Holding::Boxed;
        }
    }
    struct_size(api, sizes, node)
}

/// The estimated size of struct `node`, from its fields as they are held now.
fn struct_size(api: &Api, sizes: &[Option<usize>], node: usize) -> usize {
    match &api.types[node].kind {
        TypeKind::Struct { fields } => fields.iter().map(|f| field_size(api, sizes, f)).sum(),
        _ => 0,
    }
}

const POINTER: usize = 8;
const STRING: usize = 24;
/// `serde_json::Value` with `preserve_order`.
const JSON: usize = 80;

fn presence_size(repr: Presence) -> usize {
    match repr {
        Presence::Plain => 0,
        Presence::Optional | Presence::RequiredNullable | Presence::Nullable => 8,
    }
}

fn field_size(api: &Api, sizes: &[Option<usize>], field: &Field) -> usize {
    let value = match field.holding {
        Holding::Inline => type_size(api, sizes, &field.ty),
        Holding::Boxed => POINTER,
        // Encoded JSON: `Box<[u8]>`.
        Holding::Related => 2 * POINTER,
    };
    value + presence_size(field.repr)
}

fn type_size(api: &Api, sizes: &[Option<usize>], ty: &TypeRef) -> usize {
    match ty {
        TypeRef::Bool => 1,
        TypeRef::I32 | TypeRef::F32 => 4,
        TypeRef::I64 | TypeRef::F64 => 8,
        TypeRef::String | TypeRef::Array(_) => STRING,
        TypeRef::Json | TypeRef::File => JSON,
        TypeRef::WithTask(inner) => type_size(api, sizes, inner) + STRING,
        TypeRef::Named(name) => {
            let Some(i) = api.type_index(name) else {
                return POINTER;
            };
            match &api.types[i].kind {
                TypeKind::Struct { .. } => sizes[i].unwrap_or(POINTER),
                TypeKind::Alias { target } => type_size(api, sizes, target),
                // The catch-all variant holds a `String`.
                TypeKind::Enum { .. } => STRING,
                TypeKind::Union {
                    alternatives,
                    told_apart: true,
                } => {
                    alternatives
                        .iter()
                        .map(|a| type_size(api, sizes, &a.ty))
                        .max()
                        .unwrap_or(0)
                        + POINTER
                }
                TypeKind::Union { .. } => JSON,
                TypeKind::Multipart { .. } | TypeKind::Query { .. } => POINTER,
            }
        }
    }
}
