//! The API table the command tree and every request are built from: the generated
//! `schema.json` of the `cloudtower-api` this binary was built with, read once per run.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use cloudtower_schema::{
    ApiSchema, FieldSchema, OperationKind, OperationSchema, ResourceSchema, Ty, TypeSchema,
};
use heck::ToKebabCase;

static API: LazyLock<ApiSchema> = LazyLock::new(|| {
    // Generated with the crate and checked by its tests: a table that does not parse is a
    // build of a broken generator, not something a user can cause.
    ApiSchema::parse(cloudtower_api::SCHEMA_JSON).expect("the embedded API table parses")
});

/// The table (`'static`: operation paths are sent as `&'static str`).
pub fn api() -> &'static ApiSchema {
    &API
}

/// What the generated table says of the operation at `path`: every request the CLI sends is
/// built from it (`OperationInfo::json`, …), so a read is retried, credentials sent, a too-new
/// operation refused and header parameters checked exactly as the SDK's methods do.
pub fn operation_info(path: &str) -> &'static cloudtower_api::OperationInfo {
    // `schema.json` and `OPERATIONS` are generated together from one IR; the tests check that
    // every operation of the one is in the other.
    cloudtower_api::find_operation(cloudtower_api::models::OPERATIONS, path)
        .expect("every operation of the API table has a table entry")
}

/// The spec modules (cargo feature names), each with its operations, sorted.
pub fn modules() -> BTreeMap<&'static str, Vec<&'static OperationSchema>> {
    let mut modules: BTreeMap<&str, Vec<&OperationSchema>> = BTreeMap::new();
    for operation in &api().operations {
        modules
            .entry(&operation.module)
            .or_default()
            .push(operation);
    }
    modules
}

/// The resource a module lists, if it lists one (every module lists at most one).
pub fn module_resource(module: &str) -> Option<&'static ResourceSchema> {
    let api = api();
    api.resources.iter().find(|resource| {
        api.operation(&resource.list)
            .is_some_and(|list| list.module == module)
    })
}

/// The fields of an object type (none for any other).
pub fn fields(type_name: &str) -> &'static [FieldSchema] {
    api().fields(type_name).unwrap_or(&[])
}

/// The field `name` of object type `type_name`.
pub fn field(type_name: &str, name: &str) -> Option<&'static FieldSchema> {
    fields(type_name).iter().find(|field| field.name == name)
}

/// The operation for a resource verb: `<verb>-<resource>` when the spec has it (`create-vm`),
/// else `<verb>-<stem>` where the resource's create operation names it by another stem
/// (`create-vm-vlan` → `update-vm-vlan`), else `<verb>-<resource>-basic-info`, else the only
/// operation of that kind. `None` when it stays ambiguous: the operations themselves remain.
pub fn verb_operation(
    resource: &ResourceSchema,
    verb: &str,
    is_kind: fn(&OperationKind) -> bool,
) -> Option<&'static OperationSchema> {
    let api = api();
    let of_kind: Vec<&OperationSchema> = api
        .operations
        .iter()
        .filter(|op| is_kind(&op.kind) && op.kind.resource() == Some(resource.name.as_str()))
        .collect();
    let kebab = resource.name.to_kebab_case();
    let create_stem = api
        .operations
        .iter()
        .filter(|op| {
            matches!(op.kind, OperationKind::Create { .. })
                && op.kind.resource() == Some(&resource.name)
        })
        .find_map(|op| op.path.strip_prefix("create-"))
        .filter(|stem| *stem != kebab);
    let mut candidates = vec![format!("{verb}-{kebab}")];
    candidates.extend(create_stem.map(|stem| format!("{verb}-{stem}")));
    candidates.push(format!("{verb}-{kebab}-basic-info"));
    candidates
        .iter()
        .find_map(|path| of_kind.iter().find(|op| op.path == *path).copied())
        .or(match of_kind.as_slice() {
            [only] => Some(*only),
            _ => None,
        })
}

/// The header parameters the operations of this build take (`external-cloudtower-id`),
/// from the generated table, gathered once per run.
pub fn header_parameters() -> &'static [&'static str] {
    static NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
        let mut names: Vec<&'static str> = cloudtower_api::models::OPERATIONS
            .iter()
            .flat_map(|operation| operation.headers.iter().map(|h| h.name))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    });
    &NAMES
}

/// The values of an enum type (`None` for any other type).
pub fn enum_values(ty: &Ty) -> Option<Vec<&'static str>> {
    match ty {
        Ty::Named(name) => match api().resolve(name)? {
            TypeSchema::Enum { values } => Some(values.iter().map(String::as_str).collect()),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two serialisations of the generated table agree: every operation the command tree
    /// offers has the entry its requests are built from, with the same facts.
    #[test]
    fn every_operation_has_its_table_entry_with_the_same_facts() {
        let operations = &api().operations;
        assert_eq!(operations.len(), cloudtower_api::models::OPERATIONS.len());
        for operation in operations {
            let info = operation_info(&operation.path);
            assert_eq!(info.read, operation.read, "{}", operation.path);
            assert_eq!(
                info.authenticated(),
                operation.authenticated,
                "{}",
                operation.path
            );
            assert_eq!(info.auth, operation.auth.as_deref(), "{}", operation.path);
            assert_eq!(info.since.first_seen, operation.since, "{}", operation.path);
            let headers: Vec<&str> = operation.headers.iter().map(|h| h.name.as_str()).collect();
            let info_headers: Vec<&str> = info.headers.iter().map(|h| h.name).collect();
            assert_eq!(info_headers, headers, "{}", operation.path);
        }
    }
}
