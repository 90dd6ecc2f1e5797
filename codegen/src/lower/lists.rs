//! Pass: list operations (paging, counting, re-reading by id).

use std::collections::BTreeSet;

use heck::ToUpperCamelCase;

use crate::ir::{Api, Body, Holding, Operation, Presence, TypeRef};

/// Marks the list operations a client can page through: `get-*`, a request body with the
/// paging fields, and a response that is an array of items with a required string `id` (the
/// cursor for `after`).
pub(super) fn find_list_operations(api: &mut Api) {
    const PAGING_FIELDS: [&str; 5] = ["first", "after", "before", "last", "skip"];
    let mut candidates: Vec<(usize, &String, String)> = Vec::new();
    for (i, operation) in api.operations.iter().enumerate() {
        let (Body::Json(TypeRef::Named(body)), Some(TypeRef::Array(item))) =
            (&operation.body, &operation.response)
        else {
            continue;
        };
        let TypeRef::Named(item) = item.as_ref() else {
            continue;
        };
        let pages = api.struct_fields(body).is_some_and(|fields| {
            PAGING_FIELDS.iter().all(|name| {
                fields
                    .iter()
                    .any(|f| f.wire_name == *name && f.repr == Presence::Nullable)
            })
        });
        let has_id = api.struct_fields(item).is_some_and(|fields| {
            fields.iter().any(|f| {
                f.wire_name == "id" && f.ty == TypeRef::String && f.repr == Presence::Plain
            })
        });
        let plain_list = operation.path.starts_with("get-") && !operation.not_modified;
        if plain_list && pages && has_id {
            candidates.push((i, body, item.clone()));
        }
    }
    // A body type shared by several operations pages through the one it is named after
    // (`GetVmsRequestBody` → `GetVms`), else the first in path order.
    let named_after = |i: usize, body: &str| {
        body.strip_suffix("RequestBody") == Some(&api.operations[i].id.to_upper_camel_case())
    };
    candidates.sort_by_key(|(i, body, _)| !named_after(*i, body));
    let mut claimed: BTreeSet<&String> = BTreeSet::new();
    let mut found: Vec<(usize, String)> = Vec::new();
    for (i, body, item) in candidates {
        if claimed.insert(body) {
            found.push((i, item));
        }
    }
    for (i, item) in found {
        api.operations[i].pages_over = Some(item);
    }
}

/// For each list operation, the connection operation (`GetVms` → `GetVmsConnection`) that
/// counts the same filter, and (once
/// per item type) the filter that re-reads items by `id_in`.
pub(super) fn find_list_companions(api: &mut Api) {
    let field = |ty: &str, wire_name: &str| {
        api.struct_fields(ty)?
            .iter()
            .find(|f| f.wire_name == wire_name && f.holding == Holding::Inline)
    };
    let body_filter = |operation: &Operation| match &operation.body {
        Body::Json(TypeRef::Named(body)) => field(body, "where"),
        _ => None,
    };
    // `{aggregate: {count: integer}}`, both always present.
    let answers_count = |operation: &Operation| {
        let Some(TypeRef::Named(response)) = &operation.response else {
            return false;
        };
        field(response, "aggregate")
            .filter(|f| f.repr == Presence::Plain)
            .and_then(|f| f.ty.named())
            .and_then(|aggregate| field(aggregate, "count"))
            .is_some_and(|f| f.repr == Presence::Plain && f.ty == TypeRef::I32)
    };
    let mut companions: Vec<(usize, Option<String>, Option<String>)> = Vec::new();
    let mut rereadable: BTreeSet<&String> = BTreeSet::new();
    for (i, operation) in api.operations.iter().enumerate() {
        let (Some(item), Some(filter)) = (&operation.pages_over, body_filter(operation)) else {
            continue;
        };
        let counted_by = api
            .operations
            .iter()
            .find(|counter| {
                // By operationId: paths disagree (`get-cloudtower-applications` is counted
                // by `get-cloud-tower-applications-connection`).
                counter.id == format!("{}Connection", operation.id)
                    && counter.module == operation.module
                    && !counter.not_modified
                    && body_filter(counter)
                        .is_some_and(|f| f.ty == filter.ty && f.repr == filter.repr)
                    && answers_count(counter)
            })
            .map(|counter| counter.path.clone());
        let rereads_by_id = filter
            .ty
            .named()
            .filter(|_| filter.repr == Presence::Nullable)
            .filter(|filter_type| {
                field(filter_type, "id_in").is_some_and(|f| {
                    f.repr == Presence::Nullable
                        && f.ty == TypeRef::Array(Box::new(TypeRef::String))
                })
            })
            .filter(|_| rereadable.insert(item))
            .map(str::to_owned);
        companions.push((i, counted_by, rereads_by_id));
    }
    for (i, counted_by, rereads_by_id) in companions {
        api.operations[i].counted_by = counted_by;
        api.operations[i].rereads_by_id = rereads_by_id;
    }
}
