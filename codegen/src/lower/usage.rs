//! Pass: which codec directions, spec modules, operations and always-on operations reach each
//! type.

use std::collections::HashMap;

use crate::ir::{Api, Body, OperationUse, TypeDef, TypeKind, TypeRef};

/// Marks each type with the codec directions, the spec modules, the operations and the
/// always-on operations that reach it.
///
/// Codec directions follow every field. Modules do not follow cycle fields: such a field
/// links types of one cycle (the `*WhereInput` filters all refer to each other), and following
/// it would put nearly every filter in every module; such a field is compiled only with its
/// target's modules instead (see `emit`).
pub(super) fn analyse_usage(api: &mut Api) {
    let index: HashMap<String, usize> = api
        .types
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.clone(), i))
        .collect();
    // (request type, response type, module, always on, path) of each operation.
    type Roots = Vec<(Option<String>, Option<String>, String, bool, String)>;
    let roots: Roots = api
        .operations
        .iter()
        .map(|operation| {
            let request = match &operation.body {
                Body::None => None,
                Body::Json(ty) => ty.named().map(str::to_owned),
                Body::Multipart(name) | Body::Query(name) => Some(name.clone()),
            };
            let response = operation
                .response
                .as_ref()
                .and_then(TypeRef::named)
                .map(str::to_owned);
            (
                request,
                response,
                operation.module.clone(),
                operation.always_on,
                operation.path.clone(),
            )
        })
        .collect();
    for (request, response, module, always_on, path) in roots {
        for (root, is_request) in [(request, true), (response, false)] {
            let Some(root) = root else { continue };
            reach(api, &index, &root, true, |def| {
                let usage = if is_request {
                    &mut def.usage.request
                } else {
                    &mut def.usage.response
                };
                !std::mem::replace(usage, true)
            });
            reach(api, &index, &root, false, |def| {
                def.modules.insert(module.clone())
            });
            reach(api, &index, &root, false, |def| {
                let known = def
                    .used_by
                    .iter()
                    .any(|u| u.path == path && u.request == is_request);
                if !known {
                    def.used_by.push(OperationUse {
                        direct: def.name == root,
                        path: path.clone(),
                        request: is_request,
                    });
                }
                !known
            });
            if always_on {
                reach(api, &index, &root, false, |def| {
                    !std::mem::replace(&mut def.always_on, true)
                });
            }
        }
    }
    for def in &mut api.types {
        def.used_by.sort_by(|a, b| {
            (!a.direct, &a.path, !a.request).cmp(&(!b.direct, &b.path, !b.request))
        });
    }
    // A type no operation reaches may be an `allOf` part whose properties were merged into the
    // types that compose it (`IscsiLunCommonParams` into `IscsiLunCreationParams`): it takes
    // their directions, so a request-only part does not pull everything it reaches (in 4.8.0,
    // every `*WhereInput` filter) into decoding.
    let unused: Vec<String> = api
        .types
        .iter()
        .filter(|t| !t.usage.request && !t.usage.response)
        .map(|t| t.name.clone())
        .collect();
    for root in &unused {
        let usage = composing_usage(api, index[root]);
        for (wanted, request) in [(usage.request, true), (usage.response, false)] {
            if wanted {
                reach(api, &index, root, true, |def| {
                    let usage = if request {
                        &mut def.usage.request
                    } else {
                        &mut def.usage.response
                    };
                    !std::mem::replace(usage, true)
                });
            }
        }
    }
    // Other types no operation reaches are decodable (users may read them from elsewhere),
    // and so must be everything they contain.
    let unused: Vec<String> = api
        .types
        .iter()
        .filter(|t| !t.usage.request && !t.usage.response)
        .map(|t| t.name.clone())
        .collect();
    for root in unused {
        reach(api, &index, &root, true, |def| {
            !std::mem::replace(&mut def.usage.response, true)
        });
    }
}

/// The directions of the used structs that have every field of struct `part` (same wire name,
/// same type): the types an `allOf` part was merged into. None for anything else.
fn composing_usage(api: &Api, part: usize) -> crate::ir::Usage {
    let mut usage = crate::ir::Usage::default();
    let TypeKind::Struct {
        fields: part_fields,
    } = &api.types[part].kind
    else {
        return usage;
    };
    if part_fields.is_empty() {
        return usage;
    }
    for def in &api.types {
        let TypeKind::Struct { fields } = &def.kind else {
            continue;
        };
        if !(def.usage.request || def.usage.response) {
            continue;
        }
        let contains_all = part_fields.iter().all(|field| {
            fields
                .iter()
                .any(|f| f.wire_name == field.wire_name && f.ty == field.ty)
        });
        if contains_all {
            usage.request |= def.usage.request;
            usage.response |= def.usage.response;
        }
    }
    usage
}

/// Visits the types reachable from `root` (through cycle fields too when `follow_cycles`);
/// `visit` returns whether it changed the type, and only then are its fields followed.
fn reach(
    api: &mut Api,
    index: &HashMap<String, usize>,
    root: &str,
    follow_cycles: bool,
    mut visit: impl FnMut(&mut TypeDef) -> bool,
) {
    let mut stack = vec![root.to_owned()];
    while let Some(name) = stack.pop() {
        let Some(&i) = index.get(&name) else { continue };
        let def = &mut api.types[i];
        if !visit(def) {
            continue;
        }
        let next: Vec<String> = match &def.kind {
            TypeKind::Struct { fields }
            | TypeKind::Multipart { fields }
            | TypeKind::Query { fields } => fields
                .iter()
                .filter(|f| follow_cycles || !f.in_cycle())
                .filter_map(|f| f.ty.named())
                .map(str::to_owned)
                .collect(),
            TypeKind::Alias { target } => target.named().into_iter().map(str::to_owned).collect(),
            TypeKind::Union { alternatives, .. } => alternatives
                .iter()
                .filter_map(|a| a.ty.named())
                .map(str::to_owned)
                .collect(),
            TypeKind::Enum { .. } => Vec::new(),
        };
        stack.extend(next);
    }
}
