//! The API table the command tree and every request are built from: the generated
//! `schema.json` of the `cloudtower-api` this binary was built with, read once per run.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use cloudtower_schema::{ApiSchema, FieldSchema, OperationKind, OperationSchema, ResourceSchema};
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
