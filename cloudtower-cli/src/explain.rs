//! `cloudtower explain <Type>[.<field>…]` (as `kubectl explain`), and the MCP server's
//! `describe`: a type's fields, which are required, their types and enum values, the
//! resource a `*_id` field refers to; an operation's request, answer, effect and the version
//! that brought it. All of it is the table's (`cloudtower_schema::ApiSchema`).

use std::fmt::Write as _;

use cloudtower_schema::{OperationKind, OperationSchema, Ty, TypeSchema};
use heck::ToUpperCamelCase;
use serde::Serialize;

use crate::effect::{effect, Effect};
use crate::references::references;
use crate::schema::{api, enum_values, modules};

/// The operators a filter (`…WhereInput`) offers on a field, as suffixes of its name:
/// `name_contains`, `vcpu_gte`, `labels_some`. Listed with their field, not as fields of
/// their own (`VmWhereInput` has 450 fields, 80 without them).
const FILTER_OPERATORS: &[&str] = &[
    "not",
    "in",
    "not_in",
    "lt",
    "lte",
    "gt",
    "gte",
    "contains",
    "not_contains",
    "starts_with",
    "not_starts_with",
    "ends_with",
    "not_ends_with",
    "some",
    "every",
    "none",
];

/// What `explain` says about a type, a field or an operation.
#[derive(Debug, Serialize)]
pub struct Explanation {
    /// What was asked, as the table names it (`VmCreationParams.vm_disks`, `create-vm`).
    pub name: String,
    /// `object`, `enum`, `union`, `scalar` (a field of a scalar type), `multipart`, `query`.
    pub kind: &'static str,
    /// The type as written (`[VmDiskParams]`), when it differs from `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ty: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<OperationFacts>,
    /// The resource this type is, with how to list it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceFacts>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldFacts>,
    /// An enum's values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// How many values the enum has, when `values` lists only some.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_total: Option<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<String>,
    /// The operations that take this type as their request, with their versions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub used_by: Vec<String>,
}

/// An operation's facts.
#[derive(Debug, Serialize)]
pub struct OperationFacts {
    pub path: String,
    pub method: &'static str,
    pub module: String,
    /// The oldest published CloudTower version known to have it.
    pub since: String,
    pub effect: Effect,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    /// The resource it lists, counts, creates, updates or deletes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Its answer carries tasks to wait for.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tasks: bool,
}

/// A resource's facts: how to list and filter it.
#[derive(Debug, Serialize)]
pub struct ResourceFacts {
    pub list: String,
    pub filter: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
}

/// One field.
#[derive(Debug, Serialize)]
pub struct FieldFacts {
    pub name: String,
    pub ty: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub nullable: bool,
    /// The values of an enum-typed field (none when it has more than the caller shows).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// A filter's operators on this field, space-separated (`contains in not`: the fields
    /// `name_contains`, `name_in`, `name_not`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub operators: String,
    /// The resource whose id (or ids) it holds; a name or local id is resolved to the id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refers_to: Option<String>,
}

/// Explains `query`: a type (`VmCreationParams`), a resource or its module (`Vm`, `vm`,
/// `vm-snapshot`) or an operation (`create-vm`), then `.field` for each level down.
/// `max_values` bounds the enum values listed per field (an enum explained itself lists them
/// all). The error says what exists instead.
pub fn explain(query: &str, max_values: usize) -> Result<Explanation, String> {
    let mut segments = query.split('.');
    let root = segments.next().unwrap_or_default().trim();
    let (mut name, mut ty, operation) = root_of(root)?;
    let mut written: Option<String> = None;
    for segment in segments {
        let Some(type_name) = object_name(&ty) else {
            return Err(format!("`{name}` is {ty}, which has no fields"));
        };
        let fields = api().fields(type_name).unwrap_or(&[]);
        let Some(field) = fields.iter().find(|f| f.name == segment) else {
            let near = closest(fields.iter().map(|f| f.name.as_str()), segment)
                .map(|near| format!(" (did you mean `{near}`?)"))
                .unwrap_or_default();
            return Err(format!(
                "{type_name} has no field `{segment}`{near}: `cloudtower explain {type_name}` \
                 lists them"
            ));
        };
        name = format!("{name}.{segment}");
        written = Some(field.ty.to_string());
        ty = field.ty.clone();
    }
    let mut explanation = describe_type(&name, &ty, max_values, operation.is_none())?;
    if written.as_deref() != Some(explanation.name.as_str()) {
        explanation.ty = written.or_else(|| match &ty {
            Ty::Named(n) if *n == name => None,
            other => Some(other.to_string()),
        });
    }
    if let Some(operation) = operation.filter(|_| !query.contains('.')) {
        explanation.operation = Some(operation_facts(operation));
    }
    Ok(explanation)
}

/// The type a query's first segment names, and the operation when it names one.
fn root_of(root: &str) -> Result<(String, Ty, Option<&'static OperationSchema>), String> {
    let api = api();
    if api.types.contains_key(root) {
        return Ok((root.to_owned(), Ty::Named(root.to_owned()), None));
    }
    if let Some(operation) = api.operation(root) {
        let ty = operation.request.clone().unwrap_or(Ty::Json);
        return Ok((root.to_owned(), ty, Some(operation)));
    }
    let camel = root.to_upper_camel_case();
    let resource = api
        .resources
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(root) || r.name == camel)
        .or_else(|| crate::schema::module_resource(root));
    if let Some(resource) = resource {
        return Ok((
            resource.name.clone(),
            Ty::Named(resource.name.clone()),
            None,
        ));
    }
    if let Some((name, _)) = api.types.iter().find(|(n, _)| n.eq_ignore_ascii_case(root)) {
        return Ok((name.clone(), Ty::Named(name.clone()), None));
    }
    let candidates = api
        .types
        .keys()
        .map(String::as_str)
        .chain(api.operations.iter().map(|o| o.path.as_str()));
    let near = closest(candidates, root)
        .map(|near| format!(" (did you mean `{near}`?)"))
        .unwrap_or_default();
    Err(format!(
        "the API has no type, resource or operation `{root}`{near}: find one with \
         `cloudtower <module> --help` or the MCP tool `find`"
    ))
}

/// The object type a type is, through lists, tasks and aliases.
fn object_name(ty: &Ty) -> Option<&'static str> {
    let name = ty.named()?;
    let (key, _) = api().types.get_key_value(name)?;
    match api().resolve(key)? {
        TypeSchema::Object { .. } | TypeSchema::Multipart { .. } | TypeSchema::Query { .. } => {
            // The name the table keeps the fields under (an alias resolved by `fields`).
            Some(key.as_str())
        }
        _ => None,
    }
}

fn describe_type(
    name: &str,
    ty: &Ty,
    max_values: usize,
    list_used_by: bool,
) -> Result<Explanation, String> {
    let api = api();
    let mut explanation = Explanation {
        name: name.to_owned(),
        kind: "scalar",
        ty: None,
        operation: None,
        resource: None,
        fields: Vec::new(),
        values: Vec::new(),
        values_total: None,
        alternatives: Vec::new(),
        used_by: Vec::new(),
    };
    let Some(type_name) = ty.named() else {
        return Ok(explanation);
    };
    let Some(shape) = api.resolve(type_name) else {
        return Err(format!("the table has no type `{type_name}`"));
    };
    if let Some(resource) = api.resource(type_name) {
        explanation.resource = Some(ResourceFacts {
            list: resource.list.clone(),
            filter: resource.filter.clone(),
            order: resource.order.clone(),
        });
    }
    match shape {
        TypeSchema::Object { fields }
        | TypeSchema::Multipart { fields }
        | TypeSchema::Query { fields } => {
            explanation.kind = match shape {
                TypeSchema::Multipart { .. } => "multipart",
                TypeSchema::Query { .. } => "query",
                _ => "object",
            };
            let referring = referring_fields(type_name);
            let filter = type_name.ends_with("WhereInput");
            let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            for field in fields {
                if filter && operator_of(&field.name, &names).is_some() {
                    continue;
                }
                let operators = if filter {
                    names
                        .iter()
                        .filter_map(|other| operator_of(other, &names))
                        .filter(|(base, _)| *base == field.name)
                        .map(|(_, operator)| operator)
                        .collect::<Vec<_>>()
                        .join(" ")
                } else {
                    String::new()
                };
                let values = enum_values(&field.ty)
                    .filter(|values| values.len() <= max_values)
                    .map(|values| values.into_iter().map(str::to_owned).collect())
                    .unwrap_or_default();
                explanation.fields.push(FieldFacts {
                    name: field.name.clone(),
                    ty: field.ty.to_string(),
                    required: field.required,
                    // Every field of a filter may be null: said once, not per field.
                    nullable: field.nullable && !filter,
                    values,
                    operators,
                    refers_to: referring
                        .iter()
                        .find(|(param, _)| *param == field.name)
                        .map(|(_, resource)| resource.clone()),
                });
            }
            // Required fields first, each group in the spec's order.
            explanation.fields.sort_by_key(|field| !field.required);
        }
        TypeSchema::Enum { values } => {
            explanation.kind = "enum";
            explanation.values = values.clone();
        }
        TypeSchema::Union { alternatives } => {
            explanation.kind = "union";
            explanation.alternatives = alternatives.iter().map(Ty::to_string).collect();
        }
        TypeSchema::Alias { target } => {
            explanation.ty = Some(target.to_string());
        }
    }
    if list_used_by {
        explanation.used_by = api
            .operations
            .iter()
            .filter(|op| op.request.as_ref().and_then(Ty::named) == Some(type_name))
            .map(|op| format!("{} (since {})", op.path, op.since))
            .collect();
    }
    Ok(explanation)
}

/// `(base, operator)` when `name` is a filter operator on the field `base` of `names`.
fn operator_of<'a>(name: &'a str, names: &[&str]) -> Option<(&'a str, &'static str)> {
    FILTER_OPERATORS.iter().find_map(|operator| {
        let base = name.strip_suffix(operator)?.strip_suffix('_')?;
        names.contains(&base).then_some((base, *operator))
    })
}

/// The fields of `type_name` that the create and update operations taking it say hold the
/// id of another resource: `(field, resource)`.
fn referring_fields(type_name: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for operation in &api().operations {
        let params = match &operation.kind {
            OperationKind::Create { .. } => operation.request.as_ref().and_then(Ty::named),
            OperationKind::Update { .. } => operation
                .request
                .as_ref()
                .and_then(Ty::named)
                .and_then(|request| crate::schema::field(request, "data"))
                .and_then(|data| data.ty.named()),
            _ => None,
        };
        if params != Some(type_name) {
            continue;
        }
        for reference in references(operation) {
            let entry = (reference.param.to_owned(), reference.resource.name.clone());
            if !found.contains(&entry) {
                found.push(entry);
            }
        }
    }
    found
}

fn operation_facts(operation: &OperationSchema) -> OperationFacts {
    let tasks = operation
        .response
        .as_ref()
        .is_some_and(crate::call::has_tasks);
    OperationFacts {
        path: operation.path.clone(),
        method: match operation.method {
            cloudtower_schema::Method::Get => "GET",
            cloudtower_schema::Method::Post => "POST",
        },
        module: operation.module.clone(),
        since: operation.since.clone(),
        effect: effect(operation),
        request: operation.request.as_ref().map(Ty::to_string),
        response: operation.response.as_ref().map(Ty::to_string),
        resource: operation.kind.resource().map(str::to_owned),
        tasks,
    }
}

/// The candidate closest to `given` in spelling, if one is close enough to be a typo of it.
pub fn closest<'a>(candidates: impl Iterator<Item = &'a str>, given: &str) -> Option<&'a str> {
    let given_lower = given.to_lowercase();
    candidates
        .map(|candidate| {
            let score = strsim::jaro_winkler(&candidate.to_lowercase(), &given_lower);
            (score, candidate)
        })
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// The text `cloudtower explain` prints.
pub fn render(explanation: &Explanation) -> String {
    let mut out = String::new();
    let e = explanation;
    if let Some(op) = &e.operation {
        let _ = writeln!(out, "OPERATION: {} /v2/api/{}", op.method, op.path);
        let _ = writeln!(out, "MODULE:    {}", op.module);
        let _ = writeln!(out, "SINCE:     CloudTower {}", op.since);
        let effect = match op.effect {
            Effect::Read => "read (changes nothing)",
            Effect::Change => "change",
            Effect::Destructive => "destructive change (loses data or stops a service)",
        };
        let _ = writeln!(out, "EFFECT:    {effect}");
        let request = op.request.as_deref().unwrap_or("none");
        let _ = writeln!(out, "REQUEST:   {request}");
        let mut response = op.response.clone().unwrap_or_else(|| "no content".into());
        if op.tasks {
            response.push_str(" (tasks: waited for unless --no-wait)");
        }
        let _ = writeln!(out, "RESPONSE:  {response}");
    } else {
        let ty =
            e.ty.as_deref()
                .map(|t| format!(" <{t}>"))
                .unwrap_or_default();
        let _ = writeln!(out, "{}: {}{ty}", e.kind.to_uppercase(), e.name);
    }
    if let Some(resource) = &e.resource {
        let order = resource
            .order
            .as_deref()
            .map(|o| format!(", ordered by {o}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "RESOURCE:  listed by {} (filter {}{order})",
            resource.list, resource.filter
        );
    }
    if !e.used_by.is_empty() {
        let _ = writeln!(out, "USED BY:   {}", e.used_by.join(", "));
    }
    if !e.values.is_empty() {
        let _ = writeln!(out, "\nVALUES:\n  {}", e.values.join("\n  "));
    }
    if !e.alternatives.is_empty() {
        let _ = writeln!(out, "\nONE OF:\n  {}", e.alternatives.join("\n  "));
    }
    if !e.fields.is_empty() {
        let required = e.fields.iter().filter(|f| f.required).count();
        let _ = writeln!(
            out,
            "\nFIELDS ({} required, marked *):",
            if required == 0 {
                "none".to_owned()
            } else {
                required.to_string()
            }
        );
        if e.fields.iter().any(|f| !f.operators.is_empty()) {
            out.push_str(
                "  (a filter: every field may be null; [_op …] are the operators of a field, \
                 each a field of its own: name_contains, status_in)\n",
            );
        }
        let width = e.fields.iter().map(|f| f.name.len() + 1).max().unwrap_or(0);
        for field in &e.fields {
            let marker = if field.required { "*" } else { "" };
            let mut line = format!(
                "  {:<width$}  {}",
                format!("{}{marker}", field.name),
                field.ty
            );
            if field.nullable {
                line.push_str(" | null");
            }
            if let Some(resource) = &field.refers_to {
                let _ = write!(line, " → {resource} (an id, local id or name)");
            }
            if !field.values.is_empty() {
                let _ = write!(line, ": {}", field.values.join(" | "));
            } else if let Some(values) =
                enum_values(&Ty::Named(field.ty.trim_matches(['[', ']']).to_owned()))
            {
                let _ = write!(line, ": {} values", values.len());
            } else if let Some(object) = object_name(&field.ty.parse().unwrap_or(Ty::Json)) {
                if object != e.name {
                    let _ = write!(line, " (explain {}.{})", e.name, field.name);
                }
            }
            if !field.operators.is_empty() {
                let _ = write!(line, "  [_{}]", field.operators.replace(' ', " _"));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

/// The names `explain` takes, for its help: a few of each kind.
pub fn examples() -> String {
    let module_count = modules().len();
    format!(
        "Examples:\n  cloudtower explain Vm\n  cloudtower explain VmCreationParams\n  \
         cloudtower explain VmCreationParams.vm_disks.mount_disks\n  cloudtower explain \
         create-vm\n  cloudtower explain vm-snapshot -o json\n\nA type, a resource or its \
         module ({module_count} modules), or an operation; then .field for each level down."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_lists_its_required_fields_first_with_enums_and_references() {
        let e = explain("VmCreationParams", 32).unwrap();
        assert_eq!(e.kind, "object");
        let required: Vec<&str> = e
            .fields
            .iter()
            .take_while(|f| f.required)
            .map(|f| f.name.as_str())
            .collect();
        for name in ["name", "cluster_id", "status", "vm_disks"] {
            assert!(required.contains(&name), "{name}: {required:?}");
        }
        let cluster = e.fields.iter().find(|f| f.name == "cluster_id").unwrap();
        assert_eq!(cluster.refers_to.as_deref(), Some("Cluster"));
        let status = e.fields.iter().find(|f| f.name == "status").unwrap();
        assert!(status.values.contains(&"RUNNING".to_owned()));
        assert!(e
            .used_by
            .iter()
            .any(|op| op.starts_with("create-vm (since ")));
    }

    #[test]
    fn fields_lead_down_and_filters_group_their_operators() {
        let e = explain("vm.cluster", 32).unwrap();
        assert_eq!(e.name, "Vm.cluster");
        assert!(e.fields.iter().any(|f| f.name == "name"));
        let filter = explain("VmWhereInput", 0).unwrap();
        let name = filter.fields.iter().find(|f| f.name == "name").unwrap();
        assert!(name.operators.split(' ').any(|o| o == "contains"));
        assert!(!filter.fields.iter().any(|f| f.name == "name_contains"));
        let error = explain("VmCreationParams.nmae", 32).unwrap_err();
        assert!(error.contains("did you mean `name`?"), "{error}");
        let error = explain("VmCreationParam", 32).unwrap_err();
        assert!(
            error.contains("did you mean `VmCreationParams`?"),
            "{error}"
        );
    }

    #[test]
    fn an_operation_says_its_version_effect_and_request() {
        let e = explain("delete-vm", 32).unwrap();
        let op = e.operation.unwrap();
        assert_eq!(op.effect, Effect::Destructive);
        assert!(!op.since.is_empty());
        assert!(e.fields.iter().any(|f| f.name == "where" && f.required));
    }
}
