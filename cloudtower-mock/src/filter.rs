//! One `where` evaluator, `orderBy` and paging for every resource, over JSON.
//!
//! The mock encodes each resource and each decoded `*WhereInput` with the generated codec and
//! evaluates the filter on the resulting `serde_json::Value`s, so one implementation serves
//! all 100+ filter types. Supported: field equality (`null` matches a null or absent field),
//! `_in`, `_not_in`, `_not`, `_contains`, `_not_contains`, `_starts_with`, `_not_starts_with`,
//! `_ends_with`, `_not_ends_with`, `_lt`, `_lte`, `_gt`, `_gte`, `AND`/`OR`/`NOT` (as in
//! Prisma, `OR: []` matches nothing, `AND: []` and `NOT: []` everything), relations
//! (`{"vm": {"id": "…"}}` on the nested object) and to-many relations (`_some`, `_every`,
//! `_none`).
//!
//! A filter is [`check`]ed before it is evaluated: one the evaluator cannot read (nested
//! deeper than [`MAX_FILTER_DEPTH`], `AND`/`OR`/`NOT` or a relation holding something other
//! than filters) is refused with a 400, never read as "match everything".

use std::cmp::Ordering;

use cloudtower_schema::json_kind;
use serde_json::{Map, Value};

/// Operator suffixes, longest first so that `_not_in` wins over `_in`.
const SUFFIXES: [&str; 16] = [
    "_not_starts_with",
    "_not_ends_with",
    "_not_contains",
    "_starts_with",
    "_ends_with",
    "_contains",
    "_not_in",
    "_every",
    "_some",
    "_none",
    "_not",
    "_lte",
    "_gte",
    "_in",
    "_lt",
    "_gt",
];

/// How deep filters may nest (`AND`/`OR`/`NOT` and relations, each one level): far beyond
/// any real query, and a bound on the evaluator's recursion. Relations hold their filter as
/// raw JSON, so this is what bounds them (the body's own bound, `MAX_BODY_DEPTH`, bounds the
/// typed part).
pub const MAX_FILTER_DEPTH: usize = 16;

/// Why a filter cannot be evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError(pub String);

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FilterError {}

/// Checks that `filter` (an encoded `*WhereInput`, or `null`) is one [`matches`](fn@matches) can
/// evaluate: objects where filters belong, at most [`MAX_FILTER_DEPTH`] levels deep.
pub fn check(filter: &Value) -> Result<(), FilterError> {
    check_at(filter, "where", 0)
}

fn check_at(filter: &Value, at: &str, depth: usize) -> Result<(), FilterError> {
    if depth > MAX_FILTER_DEPTH {
        return Err(FilterError(format!(
            "`{at}`: filters nest deeper than {MAX_FILTER_DEPTH} levels"
        )));
    }
    let map = match filter {
        Value::Null => return Ok(()),
        Value::Object(map) => map,
        other => {
            return Err(FilterError(format!(
                "`{at}`: a filter is an object, not {}",
                json_kind(other)
            )))
        }
    };
    for (key, value) in map {
        let inner = format!("{at}.{key}");
        let takes_filters = matches!(key.as_str(), "AND" | "OR" | "NOT");
        if takes_filters {
            for item in as_list(value) {
                if !item.is_object() {
                    return Err(FilterError(format!(
                        "`{inner}`: holds filters (objects), not {}",
                        json_kind(item)
                    )));
                }
                check_at(item, &inner, depth + 1)?;
            }
        } else if ["_some", "_every", "_none"]
            .iter()
            .any(|s| key.ends_with(s))
            || value.is_object()
        {
            check_at(value, &inner, depth + 1)?;
        } else if nesting(value) > MAX_FILTER_DEPTH {
            return Err(FilterError(format!(
                "`{inner}`: nested deeper than {MAX_FILTER_DEPTH} levels"
            )));
        }
    }
    Ok(())
}

/// How many arrays and objects nest in `value`, without recursing (`value` is untrusted).
fn nesting(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((value, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        match value {
            Value::Array(items) => stack.extend(items.iter().map(|v| (v, depth + 1))),
            Value::Object(map) => stack.extend(map.values().map(|v| (v, depth + 1))),
            _ => {}
        }
    }
    deepest
}

/// Where relation filters find the records they are about: with one, `cluster: {type: …}`
/// is evaluated against the cluster's own record, not the `{id, name}` a VM holds of it.
pub trait Related {
    /// The resource type that `field` of a `resource` record refers to, if it is a relation.
    fn relation(&self, resource: &str, field: &str) -> Option<&str>;
    /// The record of `resource` with `id`.
    fn record(&self, resource: &str, id: &str) -> Option<&Value>;
}

/// What an evaluation knows beyond the record: the record's type and where related records
/// are (both absent: relation filters see the nested projection only).
#[derive(Clone, Copy)]
struct Ctx<'a> {
    resource: Option<&'a str>,
    related: Option<&'a dyn Related>,
}

impl<'a> Ctx<'a> {
    /// The record a relation `field` holds (`nested`), as the filter on it should see it, and
    /// the context to evaluate that filter in.
    fn follow(self, field: &str, nested: &'a Value) -> (&'a Value, Ctx<'a>) {
        let (Some(resource), Some(related)) = (self.resource, self.related) else {
            return (
                nested,
                Ctx {
                    resource: None,
                    ..self
                },
            );
        };
        let Some(target) = related.relation(resource, field) else {
            return (
                nested,
                Ctx {
                    resource: None,
                    ..self
                },
            );
        };
        let full = nested["id"]
            .as_str()
            .and_then(|id| related.record(target, id))
            .unwrap_or(nested);
        (
            full,
            Ctx {
                resource: Some(target),
                ..self
            },
        )
    }
}

/// Whether `resource` (an encoded resource) satisfies `filter` (an encoded `*WhereInput`
/// that passed [`check`]), relation filters applied to the nested projections it holds.
/// A missing or `null` filter matches everything.
pub fn matches(resource: &Value, filter: &Value) -> bool {
    let ctx = Ctx {
        resource: None,
        related: None,
    };
    matches_in(ctx, resource, filter)
}

/// [`matches()`] for a record of type `resource`, relation filters applied to the related
/// records themselves (found through `related`).
pub fn matches_related(
    resource: &str,
    record: &Value,
    filter: &Value,
    related: &dyn Related,
) -> bool {
    let ctx = Ctx {
        resource: Some(resource),
        related: Some(related),
    };
    matches_in(ctx, record, filter)
}

fn matches_in(ctx: Ctx<'_>, resource: &Value, filter: &Value) -> bool {
    let (Some(record), Some(filter)) = (resource.as_object(), filter.as_object()) else {
        return true;
    };
    filter
        .iter()
        .all(|(key, value)| matches_key(ctx, record, key, value))
}

fn as_list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

fn matches_key(ctx: Ctx<'_>, resource: &Map<String, Value>, key: &str, value: &Value) -> bool {
    let all = |f: &&Value| matches_obj(ctx, resource, f);
    match key {
        "AND" => return as_list(value).iter().all(all),
        // Prisma: `OR: []` matches nothing (`AND: []` and `NOT: []` match everything).
        "OR" => return as_list(value).iter().any(all),
        "NOT" => return !as_list(value).iter().any(all),
        _ => {}
    }
    if let Some(field) = resource.get(key) {
        return equals_or_relation(ctx, key, field, value);
    }
    for suffix in SUFFIXES {
        if let Some(base) = key.strip_suffix(suffix) {
            let field = resource.get(base).unwrap_or(&Value::Null);
            return operator(ctx, base, field, &suffix[1..], value);
        }
    }
    // An absent field is null.
    equals_or_relation(ctx, key, &Value::Null, value)
}

fn matches_obj(ctx: Ctx<'_>, resource: &Map<String, Value>, filter: &Value) -> bool {
    match filter.as_object() {
        Some(f) => f.iter().all(|(k, v)| matches_key(ctx, resource, k, v)),
        None => true,
    }
}

fn equals_or_relation(ctx: Ctx<'_>, key: &str, field: &Value, value: &Value) -> bool {
    match (field, value) {
        // A relation: the filter applies to the related record.
        (Value::Object(_), Value::Object(_)) => {
            let (record, ctx) = ctx.follow(key, field);
            matches_in(ctx, record, value)
        }
        (Value::Null, Value::Object(_)) => false,
        _ => json_eq(field, value),
    }
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn operator(ctx: Ctx<'_>, base: &str, field: &Value, op: &str, value: &Value) -> bool {
    let item_matches = |item: &&Value| {
        let (record, ctx) = ctx.follow(base, item);
        matches_in(ctx, record, value)
    };
    let text = |v: &Value| v.as_str().map(str::to_owned);
    match op {
        "in" => as_list(value).iter().any(|v| json_eq(field, v)),
        "not_in" => !as_list(value).iter().any(|v| json_eq(field, v)),
        "not" => !equals_or_relation(ctx, base, field, value),
        "contains" | "not_contains" | "starts_with" | "not_starts_with" | "ends_with"
        | "not_ends_with" => {
            let (Some(f), Some(v)) = (text(field), text(value)) else {
                return false;
            };
            match op {
                "contains" => f.contains(&v),
                "not_contains" => !f.contains(&v),
                "starts_with" => f.starts_with(&v),
                "not_starts_with" => !f.starts_with(&v),
                "ends_with" => f.ends_with(&v),
                _ => !f.ends_with(&v),
            }
        }
        "lt" | "lte" | "gt" | "gte" => match compare(field, value) {
            Some(ordering) => match op {
                "lt" => ordering == Ordering::Less,
                "lte" => ordering != Ordering::Greater,
                "gt" => ordering == Ordering::Greater,
                _ => ordering != Ordering::Less,
            },
            None => false,
        },
        "some" => as_list(field).iter().any(item_matches),
        "every" => as_list(field).iter().all(item_matches),
        "none" => !as_list(field).iter().any(item_matches),
        _ => false,
    }
}

fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// The paging and ordering arguments of a `get-*` request body, read from its JSON.
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// The `where` filter (`null`: everything).
    pub filter: Value,
    /// `orderBy`, such as `name_ASC`.
    pub order_by: Option<String>,
    /// `first`: at most this many, from the start.
    pub first: Option<usize>,
    /// `last`: at most this many, from the end.
    pub last: Option<usize>,
    /// `skip`: leave out this many first.
    pub skip: Option<usize>,
    /// `after`: only what comes after the resource with this id.
    pub after: Option<String>,
    /// `before`: only what comes before the resource with this id.
    pub before: Option<String>,
}

impl Query {
    /// The query of a `get-*` request body; an error when its `where` fails [`check`].
    pub fn from_json(body: &Value) -> Result<Query, FilterError> {
        let count = |k: &str| body.get(k).and_then(Value::as_u64).map(|n| n as usize);
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        let filter = body.get("where").cloned().unwrap_or(Value::Null);
        check(&filter)?;
        Ok(Query {
            filter,
            order_by: text("orderBy"),
            first: count("first"),
            last: count("last"),
            skip: count("skip"),
            after: text("after"),
            before: text("before"),
        })
    }

    /// The positions in `resources` (encoded, in store order) that the query selects, in
    /// answer order, relation filters applied to the nested projections.
    pub fn select(&self, resources: &[Value]) -> Vec<usize> {
        let picked = (0..resources.len())
            .filter(|&i| matches(&resources[i], &self.filter))
            .collect();
        self.order_and_page(resources, picked)
    }

    /// [`Query::select`] over records of type `resource`, relation filters applied to the
    /// related records themselves.
    pub fn select_related(
        &self,
        resource: &str,
        resources: &[Value],
        related: &dyn Related,
    ) -> Vec<usize> {
        let picked = (0..resources.len())
            .filter(|&i| matches_related(resource, &resources[i], &self.filter, related))
            .collect();
        self.order_and_page(resources, picked)
    }

    fn order_and_page(&self, resources: &[Value], mut picked: Vec<usize>) -> Vec<usize> {
        if let Some(order) = &self.order_by {
            let (field, descending) = match order.rsplit_once('_') {
                Some((field, "DESC")) => (field, true),
                Some((field, _)) => (field, false),
                None => (order.as_str(), false),
            };
            picked.sort_by(|&a, &b| {
                let (x, y) = (&resources[a][field], &resources[b][field]);
                let ordering = compare(x, y).unwrap_or_else(|| null_last(x, y));
                if descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            });
        }
        let id = |i: usize| resources[i].get("id").and_then(Value::as_str);
        if let Some(after) = &self.after {
            match picked.iter().position(|&i| id(i) == Some(after)) {
                Some(p) => picked.drain(..=p).for_each(drop),
                None => picked.clear(),
            }
        }
        if let Some(before) = &self.before {
            if let Some(p) = picked.iter().position(|&i| id(i) == Some(before)) {
                picked.truncate(p);
            }
        }
        if let Some(skip) = self.skip {
            picked.drain(..skip.min(picked.len()));
        }
        if let Some(first) = self.first {
            picked.truncate(first);
        }
        if let Some(last) = self.last {
            let from = picked.len().saturating_sub(last);
            picked.drain(..from);
        }
        picked
    }

    /// How many resources match the filter (what `*-connection` counts).
    pub fn count(&self, resources: &[Value]) -> usize {
        resources
            .iter()
            .filter(|r| matches(r, &self.filter))
            .count()
    }

    /// [`Query::count`] over records of type `resource`, relation filters applied to the
    /// related records themselves.
    pub fn count_related(
        &self,
        resource: &str,
        resources: &[Value],
        related: &dyn Related,
    ) -> usize {
        resources
            .iter()
            .filter(|r| matches_related(resource, r, &self.filter, related))
            .count()
    }
}

fn null_last(x: &Value, y: &Value) -> Ordering {
    match (x.is_null(), y.is_null()) {
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vm(id: &str, name: &str, cluster: &str) -> Value {
        json!({"id": id, "name": name, "status": "RUNNING", "cluster": {"id": cluster, "name": "c"},
               "vm_disks": [{"id": format!("{id}-d1")}], "memory": 4})
    }

    #[test]
    fn operators_and_relations() {
        let v = vm("v1", "web-1", "c1");
        assert!(matches(&v, &json!({"id": "v1"})));
        assert!(matches(&v, &json!({"id_in": ["x", "v1"]})));
        assert!(!matches(&v, &json!({"id_not_in": ["v1"]})));
        assert!(matches(&v, &json!({"name_contains": "eb"})));
        assert!(matches(&v, &json!({"name_starts_with": "web"})));
        assert!(matches(&v, &json!({"cluster": {"id": "c1"}})));
        assert!(!matches(&v, &json!({"cluster": {"id": "c2"}})));
        assert!(matches(&v, &json!({"vm_disks_some": {"id": "v1-d1"}})));
        assert!(matches(&v, &json!({"memory_gte": 4, "memory_lt": 5})));
        assert!(matches(&v, &json!({"description": null})));
        assert!(!matches(&v, &json!({"name": null})));
        assert!(matches(
            &v,
            &json!({"OR": [{"id": "x"}, {"name": "web-1"}]})
        ));
        assert!(!matches(&v, &json!({"NOT": [{"name": "web-1"}]})));
        assert!(matches(
            &v,
            &json!({"AND": [{"id": "v1"}, {"status": "RUNNING"}]})
        ));
        assert!(matches(&v, &Value::Null));
    }

    #[test]
    fn empty_lists_follow_prisma() {
        let v = vm("v1", "web-1", "c1");
        assert!(!matches(&v, &json!({"OR": []})));
        assert!(matches(&v, &json!({"AND": []})));
        assert!(matches(&v, &json!({"NOT": []})));
    }

    #[test]
    fn negated_string_operators_are_exact() {
        let prod = vm("v1", "prod-1", "c1");
        let web = vm("v2", "web-1", "c1");
        let not_prod = json!({"name_not_starts_with": "prod"});
        assert!(!matches(&prod, &not_prod));
        assert!(matches(&web, &not_prod));
        let under_not = json!({"NOT": [not_prod]});
        assert!(matches(&prod, &under_not));
        assert!(!matches(&web, &under_not));
        let not_one = json!({"name_not_ends_with": "-1"});
        assert!(!matches(&prod, &not_one));
        assert!(matches(&vm("v3", "db-2", "c1"), &not_one));
    }

    #[test]
    fn order_and_pages() {
        let all = vec![vm("a", "z", "c"), vm("b", "y", "c"), vm("c", "x", "c")];
        let q = Query::from_json(&json!({"orderBy": "name_ASC", "first": 2})).unwrap();
        assert_eq!(q.select(&all), vec![2, 1]);
        let q = Query::from_json(&json!({"after": "a", "first": 5})).unwrap();
        assert_eq!(q.select(&all), vec![1, 2]);
        let q = Query::from_json(&json!({"skip": 1, "orderBy": "name_DESC"})).unwrap();
        assert_eq!(q.select(&all), vec![1, 2]);
        assert_eq!(
            Query::from_json(&json!({"where": {"name_in": ["x", "y"]}}))
                .unwrap()
                .count(&all),
            2
        );
    }

    #[test]
    fn filters_that_cannot_be_evaluated_are_refused() {
        assert!(check(&json!({"AND": [{"id": "v1"}], "cluster": {"id": "c"}})).is_ok());
        assert!(check(&json!(5)).is_err());
        assert!(check(&json!({"AND": [5]})).is_err());
        assert!(check(&json!({"OR": "x"})).is_err());
        assert!(check(&json!({"vm_disks_some": 3})).is_err());
        let mut deep = json!({"id": "v1"});
        for _ in 0..MAX_FILTER_DEPTH {
            deep = json!({ "NOT": [deep] });
        }
        assert!(check(&deep).is_ok());
        let deeper = json!({ "NOT": [deep] });
        let error = check(&deeper).unwrap_err();
        assert!(error.0.contains("deeper than 16"), "{error}");
    }
}
