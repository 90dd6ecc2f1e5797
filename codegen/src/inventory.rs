//! The API's inventory: one line per operation, type, field, enum variant and union
//! alternative, for review (an insta snapshot), for the change summary printed on regeneration,
//! and for classifying a regeneration as breaking or additive ([`crate::semver`]).

use std::collections::BTreeMap;

use crate::canonical::sha256_hex;
use crate::ir::{Api, Body, Field, Holding, Presence, TypeKind};

/// Renders the inventory: operations (path → method, request, response), then types with a
/// fingerprint of their definition.
pub fn inventory(api: &Api) -> String {
    let mut out = format!(
        "# {} {}: {} operations, {} types ({} component schemas)\n",
        api.title,
        api.version,
        api.operations.len(),
        api.types.len(),
        api.schema_count
    );
    for operation in &api.operations {
        let request = match &operation.body {
            Body::None => String::new(),
            Body::Json(ty) => ty.describe(),
            Body::Multipart(name) => format!("multipart {name}"),
            Body::Query(name) => format!("query {name}"),
        };
        let response = operation
            .response
            .as_ref()
            .map_or("()".into(), |r| r.describe());
        let not_modified = if operation.not_modified { " | 304" } else { "" };
        let pages = operation
            .pages_over
            .as_ref()
            .map_or(String::new(), |item| format!(" | pages {item}"));
        let counted = operation
            .counted_by
            .as_ref()
            .map_or(String::new(), |path| format!(" | counted by /{path}"));
        let rereads = operation
            .rereads_by_id
            .as_ref()
            .map_or(String::new(), |filter| {
                format!(" | rereads by {filter}.id_in")
            });
        let renamed = operation
            .renamed
            .as_ref()
            .map_or(String::new(), |why| format!(" | {why}"));
        out.push_str(&format!(
            "op /{} {} -> {}({}) -> {}{}{}{}{}{}\n",
            operation.path,
            operation.id,
            operation.method_name.trim_start_matches("r#"),
            request,
            response,
            not_modified,
            pages,
            counted,
            rereads,
            renamed
        ));
    }
    for def in &api.types {
        let (kind, size) = match &def.kind {
            TypeKind::Struct { fields } => ("struct", fields.len()),
            TypeKind::Enum { variants } => ("enum", variants.len()),
            TypeKind::Alias { .. } => ("alias", 0),
            TypeKind::Multipart { fields } => ("multipart", fields.len()),
            TypeKind::Query { fields } => ("query", fields.len()),
            TypeKind::Union {
                alternatives,
                told_apart: true,
            } => ("union", alternatives.len()),
            TypeKind::Union { alternatives, .. } => ("union-json", alternatives.len()),
        };
        let fingerprint = &sha256_hex(signature(&def.kind).as_bytes())[..12];
        let usage = match (def.usage.request, def.usage.response) {
            (true, true) => "request+response",
            (true, false) => "request",
            (false, true) => "response",
            (false, false) => "unused",
        };
        out.push_str(&format!(
            "type {} {kind}/{size} {usage} {fingerprint}\n",
            def.name
        ));
        members(&def.name, &def.kind, &mut out);
    }
    out
}

/// One line per field, variant or alternative of a type, or its alias target: what a
/// regeneration's semver classification ([`crate::semver`]) compares.
fn members(type_name: &str, kind: &TypeKind, out: &mut String) {
    match kind {
        TypeKind::Struct { fields }
        | TypeKind::Multipart { fields }
        | TypeKind::Query { fields } => {
            for field in fields {
                let presence = if field.required {
                    "required"
                } else {
                    "optional"
                };
                let nullable = if field.nullable { " nullable" } else { "" };
                out.push_str(&format!(
                    "field {type_name}.{}: {} {presence}{nullable}\n",
                    field.name.trim_start_matches("r#"),
                    field_type(field)
                ));
            }
        }
        TypeKind::Enum { variants } => {
            for variant in variants {
                out.push_str(&format!(
                    "variant {type_name}.{} = {}\n",
                    variant.name, variant.wire_name
                ));
            }
        }
        TypeKind::Union { alternatives, .. } => {
            for alternative in alternatives {
                out.push_str(&format!(
                    "alternative {type_name}.{}: {}\n",
                    alternative.name,
                    alternative.ty.describe()
                ));
            }
        }
        TypeKind::Alias { target } => {
            out.push_str(&format!("alias {type_name} = {}\n", target.describe()));
        }
    }
}

/// A field's Rust type as its users see it (`Option<String>`, `Nullable<Related<VmWhereInput>>`).
fn field_type(field: &Field) -> String {
    let mut ty = field.ty.describe();
    match field.holding {
        Holding::Inline => {}
        Holding::Boxed => ty = format!("Box<{ty}>"),
        Holding::Related => ty = format!("Related<{ty}>"),
    }
    match field.repr {
        Presence::Plain => ty,
        Presence::Optional | Presence::RequiredNullable => format!("Option<{ty}>"),
        Presence::Nullable => format!("Nullable<{ty}>"),
    }
}

/// What a type looks like to its users (fields, their types and presence; variants), so that
/// the fingerprint changes with the API and not with the generator's internals.
fn signature(kind: &TypeKind) -> String {
    match kind {
        TypeKind::Struct { fields }
        | TypeKind::Multipart { fields }
        | TypeKind::Query { fields } => fields
            .iter()
            .map(|f| format!("{}:{}:{:?};", f.wire_name, f.ty.describe(), f.repr))
            .collect(),
        TypeKind::Enum { variants } => variants
            .iter()
            .map(|v| format!("{};", v.wire_name))
            .collect(),
        TypeKind::Alias { target } => target.describe(),
        TypeKind::Union { alternatives, .. } => alternatives
            .iter()
            .map(|a| format!("{}:{}:{:?};", a.name, a.ty.describe(), a.shape))
            .collect(),
    }
}

/// What changed between two inventories, for humans.
pub fn summarize_changes(old: &str, new: &str) -> String {
    let parse = |text: &str, prefix: &str| -> BTreeMap<String, String> {
        text.lines()
            .filter_map(|line| line.strip_prefix(prefix))
            .filter_map(|rest| {
                let (key, value) = rest.split_once(' ')?;
                Some((key.to_owned(), value.to_owned()))
            })
            .collect()
    };
    let mut out = String::new();
    for (label, prefix) in [("operations", "op "), ("types", "type ")] {
        let (before, after) = (parse(old, prefix), parse(new, prefix));
        let added: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
        let removed: Vec<&String> = before.keys().filter(|k| !after.contains_key(*k)).collect();
        let changed: Vec<&String> = after
            .iter()
            .filter(|(k, v)| before.get(*k).is_some_and(|b| b != *v))
            .map(|(k, _)| k)
            .collect();
        out.push_str(&format!(
            "{label}: {} added, {} removed, {} changed\n",
            added.len(),
            removed.len(),
            changed.len()
        ));
        for (sign, names) in [("+", &added), ("-", &removed), ("~", &changed)] {
            for name in names.iter().take(50) {
                out.push_str(&format!("  {sign} {name}\n"));
            }
            if names.len() > 50 {
                out.push_str(&format!("  {sign} … and {} more\n", names.len() - 50));
            }
        }
    }
    out
}
