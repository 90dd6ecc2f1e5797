//! The API's inventory: one line per operation and per type, for review (an insta snapshot)
//! and for the change summary printed on regeneration.

use std::collections::BTreeMap;

use crate::canonical::sha256_hex;
use crate::ir::{Api, Body, TypeKind};

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
        out.push_str(&format!("type {} {kind}/{size} {fingerprint}\n", def.name));
    }
    out
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
