//! `anyOf`/`oneOf` schemas → [`TypeKind::Union`]: the alternatives, what each looks like on
//! the wire, and whether those looks tell them apart.

use std::collections::BTreeSet;

use openapiv3::{ReferenceOr, Schema};

use super::{is_string_enum, is_struct, Facets, Lowerer, SchemaNode, SCHEMAS};
use crate::error::{pointer_token, CodegenError, Result};
use crate::ir::{Alternative, Shape, TypeKind, TypeRef};

/// The union keyword of a schema, if it has one.
pub(super) fn union_keyword(facets: &Facets) -> Option<&'static str> {
    match (facets.any_of, facets.one_of) {
        (Some(_), _) => Some("anyOf"),
        (None, Some(_)) => Some("oneOf"),
        (None, None) => None,
    }
}

/// An object alternative's keys, before markers are chosen.
struct ObjectKeys {
    required: BTreeSet<String>,
    declared: BTreeSet<String>,
}

impl<'a> Lowerer<'a> {
    /// The alternatives of a union schema (`facets` has `anyOf` or `oneOf`), checked.
    pub(super) fn union_parts(
        &self,
        facets: &Facets<'a>,
        pointer: &str,
    ) -> Result<(&'static str, &'a [ReferenceOr<Schema>])> {
        let (keyword, parts) = match (facets.any_of, facets.one_of) {
            (Some(_), Some(_)) => {
                return Err(CodegenError::invalid(
                    pointer,
                    "`anyOf` and `oneOf` together are not supported",
                ))
            }
            (Some(parts), None) => ("anyOf", parts),
            (None, Some(parts)) => ("oneOf", parts),
            (None, None) => ("anyOf", &[][..]),
        };
        let at = format!("{pointer}/{keyword}");
        for (beside, present) in [
            ("properties", facets.has_properties()),
            ("allOf", !facets.all_of.is_empty()),
            ("enum", facets.enum_values.is_some()),
            ("items", facets.items.is_some()),
        ] {
            if present {
                return Err(CodegenError::invalid(
                    &at,
                    format!("`{keyword}` beside `{beside}` is not supported"),
                ));
            }
        }
        if parts.is_empty() {
            return Err(CodegenError::invalid(&at, "no alternatives"));
        }
        Ok((keyword, parts))
    }

    /// Lowers a union of two or more alternatives named `name`.
    pub(super) fn lower_union(
        &mut self,
        facets: &Facets<'a>,
        pointer: &str,
        name: &str,
    ) -> Result<TypeKind> {
        let (keyword, parts) = self.union_parts(facets, pointer)?;
        let mut alternatives: Vec<Alternative> = Vec::with_capacity(parts.len());
        let mut objects: Vec<Option<ObjectKeys>> = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let at = format!("{pointer}/{keyword}/{i}");
            let part = SchemaNode::of(part);
            let (shape, keys) = self.shape_of(part, &at, &mut Vec::new())?;
            let lowered = self.lower_use(part, &at, &format!("{name}Variant{}", i + 1))?;
            let mut variant = variant_name(&lowered.ty, name);
            if alternatives.iter().any(|a| a.name == variant) {
                variant = format!("{variant}{}", i + 1);
            }
            alternatives.push(Alternative {
                name: variant,
                ty: lowered.ty,
                shape,
            });
            objects.push(keys);
        }
        let told_apart = choose_markers(&mut alternatives, &objects);
        Ok(TypeKind::Union {
            alternatives,
            told_apart,
        })
    }

    /// What a schema looks like on the wire, and for objects their required and declared keys.
    fn shape_of(
        &self,
        node: SchemaNode<'a>,
        pointer: &str,
        visiting: &mut Vec<&'a str>,
    ) -> Result<(Shape, Option<ObjectKeys>)> {
        let schema = match node {
            SchemaNode::Ref(reference) => {
                let target = self.ref_target(reference, pointer)?;
                if visiting.contains(&target) {
                    return Err(CodegenError::invalid(pointer, "the union contains itself"));
                }
                visiting.push(target);
                let target_pointer = format!("{SCHEMAS}{}", pointer_token(target));
                let shape = self.shape_of(self.component(target), &target_pointer, visiting);
                visiting.pop();
                return shape;
            }
            SchemaNode::Inline(schema) => schema,
        };
        let facets = Facets::of(schema);
        if let ([single], false) = (facets.all_of, is_struct(&facets)) {
            return self.shape_of(
                SchemaNode::of(single),
                &format!("{pointer}/allOf/0"),
                visiting,
            );
        }
        if union_keyword(&facets).is_some() {
            return Ok((Shape::Any, None));
        }
        if is_string_enum(&facets) {
            return Ok((Shape::String, None));
        }
        if is_struct(&facets) {
            let (properties, required) = self.collect_properties(node, pointer, &mut Vec::new())?;
            let keys = ObjectKeys {
                required: required.iter().map(|r| (*r).to_owned()).collect(),
                declared: properties.iter().map(|p| p.wire_name.to_owned()).collect(),
            };
            return Ok((
                Shape::Object {
                    markers: Vec::new(),
                },
                Some(keys),
            ));
        }
        let shape = match facets.type_name {
            Some("string") => Shape::String,
            Some("boolean") => Shape::Bool,
            Some("integer" | "number") => Shape::Number,
            Some("array") => Shape::Array,
            Some("object") => {
                let keys = ObjectKeys {
                    required: BTreeSet::new(),
                    declared: BTreeSet::new(),
                };
                return Ok((
                    Shape::Object {
                        markers: Vec::new(),
                    },
                    Some(keys),
                ));
            }
            _ => Shape::Any,
        };
        Ok((shape, None))
    }
}

/// Gives each object alternative the keys that identify it (required by it, declared by no
/// other object alternative); returns whether every alternative can be told apart.
fn choose_markers(alternatives: &mut [Alternative], objects: &[Option<ObjectKeys>]) -> bool {
    let mut told_apart = true;
    for (i, alternative) in alternatives.iter().enumerate() {
        let same_look = alternatives[..i].iter().any(|earlier| {
            std::mem::discriminant(&earlier.shape) == std::mem::discriminant(&alternative.shape)
        });
        let is_object = matches!(alternative.shape, Shape::Object { .. });
        if alternative.shape == Shape::Any || (same_look && !is_object) {
            told_apart = false;
        }
    }
    let object_count = objects.iter().flatten().count();
    if object_count < 2 {
        return told_apart;
    }
    for (i, keys) in objects.iter().enumerate() {
        let Some(keys) = keys else { continue };
        let markers: Vec<String> = keys
            .required
            .iter()
            .filter(|key| {
                objects.iter().enumerate().all(|(j, other)| {
                    j == i || other.as_ref().is_none_or(|o| !o.declared.contains(*key))
                })
            })
            .cloned()
            .collect();
        told_apart &= !markers.is_empty();
        alternatives[i].shape = Shape::Object { markers };
    }
    told_apart
}

/// The variant for an alternative: its type's name (without the union's name in front, for
/// the alternatives defined inline), else the JSON kind.
fn variant_name(ty: &TypeRef, union_name: &str) -> String {
    match ty {
        TypeRef::Named(name) => name
            .strip_prefix(union_name)
            .filter(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
            .unwrap_or(name)
            .to_owned(),
        TypeRef::String => "String".into(),
        TypeRef::Bool => "Bool".into(),
        TypeRef::I32 | TypeRef::I64 => "Integer".into(),
        TypeRef::F32 | TypeRef::F64 => "Number".into(),
        TypeRef::Json => "Json".into(),
        TypeRef::File => "File".into(),
        TypeRef::Array(inner) => format!("{}List", variant_name(inner, union_name)),
        TypeRef::WithTask(inner) => format!("{}WithTask", variant_name(inner, union_name)),
    }
}
