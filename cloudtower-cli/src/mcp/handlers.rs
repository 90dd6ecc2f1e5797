//! What each tool of `cloudtower mcp` does. Every answer is JSON (the tool's
//! `structuredContent`, also its text), bounded in size; every refusal is a text that says
//! what was wrong and what to try.

use std::time::Duration;

use cloudtower_api::error::{ErrorKind, WorkflowError};
use cloudtower_api::models::Task;
use cloudtower_api::{TaskFailure, TaskFailureKind, WaitOptions, WaitProgress};
use cloudtower_schema::{
    Method, Mismatch, OperationKind, OperationSchema, ResourceSchema, Ty, TypeSchema,
};
use futures_util::StreamExt;
use heck::ToSnakeCase;
use rmcp::model::{JsonObject, ProgressNotificationParam};
use rmcp::service::RequestContext;
use rmcp::RoleServer;
use serde_json::{json, Map, Value};

use super::tools::{DEFAULT_FIRST, MAX_FIRST, MAX_FOUND, MAX_WAIT_SECONDS};
use super::Tower;
use crate::call::{self, Prepared};
use crate::columns::columns;
use crate::dynamic::{self, DynItem, DynList, DynResource};
use crate::effect::{effect, Effect};
use crate::explain::{closest, explain};
use crate::output::type_has_path;
use crate::references;
use crate::schema::{api, fields};

/// The most bytes of JSON one answer carries (about 6,000 tokens): a longer list is cut
/// short with a cursor to read on, a longer answer of `call` is cut with a note.
pub const MAX_ANSWER_BYTES: usize = 24 * 1024;

/// The most enum values `describe` lists for a field (an enum described itself lists all).
const MAX_FIELD_VALUES: usize = 20;

/// How many of the resources a dry run's `where` selects it lists.
const DRY_RUN_SAMPLE: u64 = 20;

type Answer = Result<Value, String>;

/// Runs tool `name`.
pub async fn call(
    tower: &Tower,
    name: &str,
    arguments: JsonObject,
    context: &RequestContext<RoleServer>,
) -> Answer {
    let args = Args(arguments);
    match name {
        "find" => find(tower, &args),
        "describe" => describe(tower, &args),
        "list" => list(tower, &args).await,
        "call" => call_operation(tower, &args, context).await,
        "wait" => wait_tool(tower, &args, context).await,
        "changes" => changes(tower, &args).await,
        other => Err(format!("no tool `{other}`")),
    }
}

/// A tool's arguments, read with errors that name the argument.
struct Args(JsonObject);

impl Args {
    fn string(&self, name: &str) -> Result<Option<&str>, String> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(format!(
                "`{name}` must be a string, not {}",
                cloudtower_schema::json_kind(other)
            )),
        }
    }

    fn required_string(&self, name: &str) -> Result<&str, String> {
        self.string(name)?
            .ok_or_else(|| format!("`{name}` is required"))
    }

    fn bool(&self, name: &str) -> Result<Option<bool>, String> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(value)) => Ok(Some(*value)),
            Some(_) => Err(format!("`{name}` must be true or false")),
        }
    }

    fn integer(&self, name: &str, min: u64, max: u64) -> Result<Option<u64>, String> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value
                .as_u64()
                .filter(|n| (min..=max).contains(n))
                .map(Some)
                .ok_or_else(|| format!("`{name}` must be an integer from {min} to {max}")),
        }
    }

    fn strings(&self, name: &str) -> Result<Option<Vec<String>>, String> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| format!("`{name}` must be a list of strings")),
            Some(_) => Err(format!("`{name}` must be a list of strings")),
        }
    }
}

// ---------------------------------------------------------------------------------------
// find

/// Lower-case words of a query or a name: `create-vm-snapshot`, `VmSnapshot` and "VM
/// snapshots" all give `vm`, `snapshot(s)`.
fn words(text: &str) -> Vec<String> {
    text.to_snake_case()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect()
}

/// How well `name`'s words match the query's: each query word found as a word counts 3, as
/// the start of one 2 ("snap" → snapshot), with a plural `s` dropped 2; a word not found at
/// all makes it no match.
fn score(query: &[String], name: &[String]) -> u32 {
    let mut total = 0;
    for word in query {
        let singular = word.strip_suffix('s').filter(|s| s.len() > 1);
        let best = name
            .iter()
            .map(|candidate| {
                if candidate == word {
                    3
                } else if singular == Some(candidate.as_str())
                    || candidate.strip_suffix('s') == Some(word.as_str())
                    || (word.len() >= 3 && candidate.starts_with(word.as_str()))
                {
                    2
                } else {
                    0
                }
            })
            .max()
            .unwrap_or(0);
        if best == 0 {
            return 0;
        }
        total += best;
    }
    total
}

/// Why the signed-in tower lacks `operation`: its version (as the SDK learned it at sign-in
/// and after a failover) predates the operation.
fn unavailable(tower: &Tower, operation: &OperationSchema) -> Option<String> {
    let version = tower.client.server_version()?;
    let since = &crate::schema::operation_info(&operation.path).since;
    version.predates(since).then(|| {
        format!(
            "this tower is CloudTower {}, which has no {} (it came with {})",
            version.as_str(),
            operation.path,
            since.first_seen
        )
    })
}

fn find(tower: &Tower, args: &Args) -> Answer {
    let query = words(args.required_string("query")?);
    if query.is_empty() {
        return Err("`query` has no words: try \"vm snapshot\" or \"delete host\"".into());
    }
    let limit = args.integer("limit", 1, MAX_FOUND)?.unwrap_or(15) as usize;
    let api = api();
    let mut operations: Vec<(u32, &OperationSchema)> = api
        .operations
        .iter()
        .map(|op| {
            let mut name = words(&op.path);
            name.extend(words(&op.module));
            if let Some(resource) = op.kind.resource() {
                name.extend(words(resource));
            }
            (score(&query, &name), op)
        })
        .filter(|(score, _)| *score > 0)
        .collect();
    // Best first; then reads before changes, shorter (more general) paths first.
    operations.sort_by_key(|(score, op)| {
        (
            std::cmp::Reverse(*score),
            effect(op) != Effect::Read,
            op.path.len(),
        )
    });
    let total = operations.len();
    let listed: Vec<Value> = operations
        .iter()
        .take(limit)
        .map(|(_, op)| {
            let mut found = json!({
                "operation": op.path,
                "effect": effect(op),
                "since": op.since,
            });
            if let Some(why) = unavailable(tower, op) {
                found["unavailable"] = json!(why);
            }
            found
        })
        .collect();
    let mut resources: Vec<(u32, &ResourceSchema)> = api
        .resources
        .iter()
        .map(|r| (score(&query, &words(&r.name)), r))
        .filter(|(score, _)| *score > 0)
        .collect();
    resources.sort_by_key(|(score, r)| (std::cmp::Reverse(*score), r.name.len()));
    let resources: Vec<Value> = resources
        .iter()
        .take(limit)
        .map(|(_, r)| json!({"resource": r.name, "filter": r.filter}))
        .collect();
    let mut answer = json!({ "operations": listed, "resources": resources });
    if total > limit {
        answer["more_operations"] = json!(total - limit);
    }
    if total == 0 && answer["resources"].as_array().is_some_and(Vec::is_empty) {
        return Err(format!(
            "nothing matches {:?}: try fewer or other words (operations are named like \
             get-vms, create-vm-snapshot, delete-host)",
            query.join(" ")
        ));
    }
    Ok(answer)
}

// ---------------------------------------------------------------------------------------
// describe

fn describe(tower: &Tower, args: &Args) -> Answer {
    let name = args.required_string("name")?;
    let explanation = explain(name, MAX_FIELD_VALUES).map_err(|error| {
        error.replace(
            "`cloudtower explain",
            "`describe", // The same advice, in this server's words.
        )
    })?;
    let mut answer = serde_json::to_value(&explanation).expect("an explanation serializes");
    if let Some(why) = api().operation(name).and_then(|op| unavailable(tower, op)) {
        answer["operation"]["unavailable"] = json!(why);
    }
    Ok(answer)
}

// ---------------------------------------------------------------------------------------
// list

fn resource_named(name: &str) -> Result<&'static ResourceSchema, String> {
    api().resource(name).ok_or_else(|| {
        let near = closest(api().resources.iter().map(|r| r.name.as_str()), name)
            .map(|near| format!(" (did you mean `{near}`?)"))
            .unwrap_or_default();
        format!("no resource `{name}`{near}: `find` lists the resources matching words")
    })
}

/// `problems` as one text: what was refused, every mismatch, and what to try.
fn mismatches(what: &str, problems: &[Mismatch], hint: &str) -> String {
    let mut text = format!("{what} (nothing was sent): ");
    if let [one] = problems {
        text.push_str(&one.to_string());
    } else {
        text.push_str(&format!("{} problems", problems.len()));
        for problem in problems {
            text.push_str(&format!("\n- {problem}"));
        }
    }
    text.push_str(&format!("\n{hint}"));
    text
}

fn check_filter(resource: &ResourceSchema, filter: &Value) -> Result<(), String> {
    let problems = api().check_all(filter, &Ty::Named(resource.filter.clone()));
    if problems.is_empty() {
        return Ok(());
    }
    Err(mismatches(
        "invalid `where`",
        &problems,
        &format!(
            "`describe {}` lists the fields it can filter on (with their operators: \
             name_contains, status_in, …).",
            resource.filter
        ),
    ))
}

/// The field paths an answer keeps: those asked for (checked against the type), else the
/// resource's summary columns with its id; `None` for all (`["*"]`).
fn selection(
    resource: &ResourceSchema,
    asked: Option<Vec<String>>,
) -> Result<Option<Vec<Vec<String>>>, String> {
    let has = |path: &[String]| type_has_path(&resource.name, path);
    let Some(asked) = asked else {
        let mut paths = vec![vec!["id".to_owned()]];
        paths.extend(
            columns(Some(&resource.name), false, has)
                .into_iter()
                .map(|column| column.path)
                .filter(|path| path.as_slice() != ["id"]),
        );
        return Ok(Some(paths));
    };
    if asked.iter().any(|path| path == "*") {
        return Ok(None);
    }
    let mut paths = Vec::new();
    for text in asked {
        let path: Vec<String> = text.split('.').map(str::to_owned).collect();
        if !has(&path) {
            return Err(format!(
                "{} has no field `{text}`: `describe {}` lists its fields (a nested one as \
                 cluster.name)",
                resource.name, resource.name
            ));
        }
        paths.push(path);
    }
    Ok(Some(paths))
}

/// `item` with only the fields at `paths` (through nested objects and lists).
fn project(item: &Value, paths: &[Vec<String>]) -> Value {
    let mut out = Value::Object(Map::new());
    for path in paths {
        copy_path(item, &mut out, path);
    }
    out
}

fn copy_path(from: &Value, to: &mut Value, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Some(value) = from.get(first) else {
        return;
    };
    let Some(target) = to.as_object_mut() else {
        return;
    };
    if rest.is_empty() || value.is_null() {
        target.insert(first.clone(), value.clone());
        return;
    }
    match value {
        Value::Array(items) => {
            let slot = target
                .entry(first.clone())
                .or_insert_with(|| Value::Array(vec![Value::Object(Map::new()); items.len()]));
            if let Value::Array(slots) = slot {
                for (item, slot) in items.iter().zip(slots.iter_mut()) {
                    copy_path(item, slot, rest);
                }
            }
        }
        Value::Object(_) => {
            let slot = target
                .entry(first.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            copy_path(value, slot, rest);
        }
        other => {
            target.insert(first.clone(), other.clone());
        }
    }
}

fn bytes_of(value: &Value) -> usize {
    serde_json::to_string(value).map_or(0, |text| text.len())
}

async fn list(tower: &Tower, args: &Args) -> Answer {
    let resource = resource_named(args.required_string("resource")?)?;
    let list_operation = api()
        .operation(&resource.list)
        .expect("a resource's list operation exists");
    if let Some(why) = unavailable(tower, list_operation) {
        return Err(format!("{why}: nothing was sent"));
    }
    let filter = args.0.get("where").filter(|w| !w.is_null()).cloned();
    if let Some(filter) = &filter {
        check_filter(resource, filter)?;
    }
    let paths = selection(resource, args.strings("fields")?)?;
    let client = tower.client.clone();
    let global = &tower.global;
    let failure =
        |error: cloudtower_api::Error| crate::session::session_refused(global, error).to_string();
    if args.bool("count")?.unwrap_or(false) {
        if resource.connection.is_none() {
            return Err(format!(
                "{} has no count operation: list it with `first` instead",
                resource.name
            ));
        }
        let count = client
            .count_with(&DynResource::new(resource), &DynList::new(filter))
            .await
            .map_err(failure)?;
        return Ok(json!({ "resource": resource.name, "count": count }));
    }
    let shape = |items: Vec<Value>| -> Vec<Value> {
        match &paths {
            Some(paths) => items.iter().map(|item| project(item, paths)).collect(),
            None => items,
        }
    };
    if let Some(keys) = args.strings("keys")? {
        if let Some(other) = ["where", "after", "order_by"]
            .into_iter()
            .find(|name| args.0.get(*name).is_some_and(|v| !v.is_null()))
        {
            return Err(format!(
                "`keys` names the resources itself: drop `{other}`, or drop `keys` and list \
                 with `where`"
            ));
        }
        if keys.len() as u64 > MAX_FIRST {
            return Err(format!("at most {MAX_FIRST} `keys` at once"));
        }
        let mut items = Vec::with_capacity(keys.len());
        for key in &keys {
            let item =
                dynamic::resolve(&client, resource, key)
                    .await
                    .map_err(|error| match error.kind() {
                        ErrorKind::Workflow(WorkflowError::Ambiguous { .. }) => format!(
                            "{error}: name one of them by its id (list with \
                         where {{\"name\": {key:?}}} and fields [\"id\", …] to tell them apart)"
                        ),
                        _ => failure(error),
                    })?;
            items.push(item.0);
        }
        return Ok(json!({ "resource": resource.name, "items": shape(items) }));
    }
    let first = args
        .integer("first", 1, MAX_FIRST)?
        .unwrap_or(DEFAULT_FIRST);
    let mut body = Map::new();
    if let Some(filter) = filter {
        body.insert("where".into(), filter);
    }
    if let Some(order) = args.string("order_by")? {
        if resource.order.is_none() {
            return Err(format!(
                "{} cannot be ordered: drop `order_by`",
                resource.name
            ));
        }
        if let Some(order_type) = &resource.order {
            let problems = api().check_all(&json!(order), &Ty::Named(order_type.clone()));
            if !problems.is_empty() {
                return Err(mismatches(
                    "invalid `order_by`",
                    &problems,
                    &format!("`describe {order_type}` lists them all."),
                ));
            }
        }
        body.insert("orderBy".into(), order.into());
    }
    // One more than asked: whether there is a next page.
    body.insert("first".into(), (first + 1).into());
    if let Some(after) = args.string("after")? {
        body.insert("after".into(), after.into());
    }
    let operation = api()
        .operation(&resource.list)
        .expect("a resource's list operation exists");
    let body = Value::Object(body);
    if let Some(ty) = &operation.request {
        let problems = api().check_all(&body, ty);
        if !problems.is_empty() {
            return Err(mismatches(
                &format!("invalid list request ({})", operation.path),
                &problems,
                &format!("`describe {}` lists what it takes.", operation.path),
            ));
        }
    }
    let mut context = tower.context();
    let answer = call::send(&mut context, operation, Prepared::Json(body))
        .await
        .map_err(|failure| failure.to_string())?
        .unwrap_or(Value::Array(Vec::new()));
    let Value::Array(mut items) = answer else {
        return Err(format!(
            "{} answered something that is not a list",
            resource.list
        ));
    };
    let mut more = items.len() as u64 > first;
    items.truncate(first as usize);
    // The API's cursor is the id of the last item read, selected or not.
    let ids: Vec<Option<String>> = items
        .iter()
        .map(|item| item.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let mut items = shape(items);
    let mut note = None;
    while bytes_of(&Value::Array(items.clone())) > MAX_ANSWER_BYTES && items.len() > 1 {
        items.truncate(items.len() / 2);
        more = true;
        note = Some(format!(
            "cut to {} items to stay under {} KiB: select fewer `fields`, or read on with \
             `after`",
            items.len(),
            MAX_ANSWER_BYTES / 1024
        ));
    }
    let last = items.len().checked_sub(1).and_then(|i| ids[i].clone());
    let mut answer = json!({ "resource": resource.name, "items": items });
    if let Some(last) = last.filter(|_| more) {
        answer["next_cursor"] = json!(last);
    }
    if let Some(note) = note {
        answer["note"] = json!(note);
    }
    Ok(answer)
}

// ---------------------------------------------------------------------------------------
// call

/// The resource whose filter type is `where`'s type in `operation`'s request, if any.
fn selected_resource(operation: &OperationSchema) -> Option<&'static ResourceSchema> {
    let request = operation.request.as_ref()?.named()?;
    let filter = fields(request)
        .iter()
        .find(|field| field.name == "where")?
        .ty
        .named()?;
    api().resources.iter().find(|r| r.filter == filter)
}

async fn call_operation(
    tower: &Tower,
    args: &Args,
    context: &RequestContext<RoleServer>,
) -> Answer {
    let path = args.required_string("operation")?;
    let Some(operation) = api().operation(path) else {
        let near = closest(api().operations.iter().map(|op| op.path.as_str()), path)
            .map(|near| format!(" (did you mean `{near}`?)"))
            .unwrap_or_default();
        return Err(format!(
            "no operation `{path}`{near}: `find` lists the operations matching words"
        ));
    };
    if operation.path == "login" {
        return Err(
            "`login` is not callable here: the server acts with the session of the \
                    profile it was started with, and credentials never enter the conversation"
                .into(),
        );
    }
    if let Some(why) = unavailable(tower, operation) {
        return Err(format!(
            "{why}: nothing was sent; `find` marks what this tower lacks"
        ));
    }
    if operation.multipart {
        return Err(format!(
            "{} uploads a file, which this server does not read: upload with the command \
             line (`cloudtower elf-image upload FILE --cluster C` for images)",
            operation.path
        ));
    }
    let dry_run = args.bool("dry_run")?.unwrap_or(false);
    let wait = args.bool("wait")?.unwrap_or(true);
    let effect = effect(operation);
    let refusal = match effect {
        Effect::Read => None,
        Effect::Change if !tower.policy.mutations => Some(
            "this server is read-only (started without --allow-mutations): it changes \
             nothing. dry_run:true shows what the call would do; to change things, ask the \
             operator to restart it with --allow-mutations",
        ),
        Effect::Destructive if !(tower.policy.mutations && tower.policy.destructive) => Some(
            "it is destructive (it deletes, powers off, rolls back, … and cannot simply be \
             undone), and this server refuses destructive operations unless started with \
             --allow-mutations --allow-destructive. dry_run:true shows what it would select",
        ),
        _ => None,
    };
    if let Some(reason) = refusal.filter(|_| !dry_run) {
        return Err(format!("{} was not called: {reason}", operation.path));
    }
    let mut body = args.0.get("body").cloned().unwrap_or(Value::Null);
    let request = match &operation.request {
        None if !body.is_null() && body != json!({}) => {
            return Err(format!(
                "{} takes no body: call it without `body`",
                operation.path
            ));
        }
        None => None,
        Some(ty) => {
            if body.is_null() {
                body = match ty {
                    Ty::Array(_) => Value::Array(Vec::new()),
                    _ => Value::Object(Map::new()),
                };
            }
            let problems = api().check_all(&body, ty);
            if !problems.is_empty() {
                return Err(mismatches(
                    &format!("invalid body for {}", operation.path),
                    &problems,
                    &format!(
                        "`describe {}` lists its fields, which are required and what they \
                         accept.",
                        operation.path
                    ),
                ));
            }
            Some(ty)
        }
    };
    let resolved = references::resolve(&tower.client, operation, &mut body)
        .await
        .map_err(|unresolved| {
            let error = crate::session::session_refused(&tower.global, unresolved.error);
            format!(
                "at `{}`: {error} (nothing was sent): give the id of an existing one (`list` \
                 finds it)",
                unresolved.pointer
            )
        })?;
    let mut answer = json!({
        "operation": operation.path,
        "effect": effect,
    });
    if !resolved.is_empty() {
        answer["resolved"] = json!(resolved
            .iter()
            .map(|r| json!({"at": r.pointer, "given": r.given, "id": r.id}))
            .collect::<Vec<_>>());
    }
    if dry_run {
        return dry_run_answer(tower, operation, body, refusal, answer).await;
    }
    let prepared = match request {
        None => Prepared::Empty,
        Some(Ty::Named(name))
            if matches!(api().resolve(name), Some(TypeSchema::Query { .. }))
                || operation.method == Method::Get =>
        {
            query_of(name, &body)
        }
        Some(_) => Prepared::Json(body),
    };
    let mut call_context = tower.context();
    let response = call::send(&mut call_context, operation, prepared)
        .await
        .map_err(|failure| format!("{} failed: {failure}", operation.path))?;
    let Some(response) = response else {
        answer["done"] = json!(true);
        return Ok(answer);
    };
    let task_ids = operation
        .response
        .as_ref()
        .filter(|ty| call::has_tasks(ty))
        .map(|_| call::task_ids(&response))
        .unwrap_or_default();
    if task_ids.is_empty() {
        answer["answer"] = bounded(response);
        return Ok(answer);
    }
    if !wait {
        answer["task_ids"] = json!(task_ids);
        answer["resources"] = bounded(summary(operation, &response)?);
        return Ok(answer);
    }
    let outcome = wait_for(tower, &task_ids, tower.wait.timeout, context).await?;
    let succeeded = outcome["succeeded"].as_bool().unwrap_or(false);
    answer["tasks"] = outcome["tasks"].clone();
    if !succeeded {
        return Err(format!(
            "{} was sent, but its tasks did not all succeed: {}",
            operation.path, outcome["tasks"]
        ));
    }
    answer["resources"] = bounded(reread(tower, operation, &response).await?);
    Ok(answer)
}

/// The resources a mutation's answer carries, as they are now that its tasks ended, in
/// summary; the answer itself when it carries no resource.
async fn reread(tower: &Tower, operation: &OperationSchema, response: &Value) -> Answer {
    let item = operation.response.as_ref().and_then(Ty::named);
    let Some(resource) = item.and_then(|name| api().resource(name)) else {
        return Ok(response.clone());
    };
    let items = call::answer_resources(response);
    let current = dynamic::reread(&tower.client, resource, &items)
        .await
        .map_err(|error| crate::session::session_refused(&tower.global, error).to_string())?;
    let paths = selection(resource, None)?.unwrap_or_default();
    Ok(Value::Array(
        current
            .iter()
            .map(|item| project(&item.0, &paths))
            .collect(),
    ))
}

/// The resources a mutation's answer carries (`[{task_id, data}]`), in summary, as the
/// answer has them (while their tasks run).
fn summary(operation: &OperationSchema, response: &Value) -> Answer {
    let item = operation.response.as_ref().and_then(Ty::named);
    let Some(resource) = item.and_then(|name| api().resource(name)) else {
        return Ok(response.clone());
    };
    let paths = selection(resource, None)?.unwrap_or_default();
    Ok(Value::Array(
        call::answer_resources(response)
            .iter()
            .map(|item| project(&item.0, &paths))
            .collect(),
    ))
}

/// A query operation's parameters from a JSON object (checked: every key is a field).
fn query_of(type_name: &str, body: &Value) -> Prepared {
    let pairs = body
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| {
            let field = fields(type_name).iter().find(|f| &f.name == key)?;
            Some((field.name.as_str(), call::as_text(value)))
        })
        .collect();
    Prepared::Query(pairs)
}

/// An answer cut to [`MAX_ANSWER_BYTES`]: a list keeps its first items, anything else is
/// replaced by a note.
fn bounded(value: Value) -> Value {
    if bytes_of(&value) <= MAX_ANSWER_BYTES {
        return value;
    }
    match value {
        Value::Array(mut items) => {
            let total = items.len();
            while items.len() > 1 && bytes_of(&Value::Array(items.clone())) > MAX_ANSWER_BYTES {
                items.truncate(items.len() / 2);
            }
            let note = format!(
                "the first {} of {total} items (answers are cut at {} KiB): use `list` with \
                 `fields` and `first` to read a long list",
                items.len(),
                MAX_ANSWER_BYTES / 1024
            );
            json!({ "items": items, "note": note })
        }
        other => json!({
            "note": format!(
                "the answer has {} bytes, more than {} KiB: narrow the request",
                bytes_of(&other),
                MAX_ANSWER_BYTES / 1024
            )
        }),
    }
}

async fn dry_run_answer(
    tower: &Tower,
    operation: &'static OperationSchema,
    body: Value,
    refusal: Option<&str>,
    mut answer: Value,
) -> Answer {
    answer["dry_run"] = json!(true);
    answer["would_send"] = bounded(body.clone());
    answer["allowed"] = json!(refusal.is_none());
    if let Some(reason) = refusal {
        answer["refused_because"] = json!(reason);
    }
    if let OperationKind::Create { resource, .. } = &operation.kind {
        let count = body.as_array().map_or(1, Vec::len);
        answer["would_create"] = json!(format!("{count} {resource}"));
    }
    let Some(resource) = selected_resource(operation) else {
        return Ok(answer);
    };
    let Some(filter) = body.get("where").cloned() else {
        return Ok(answer);
    };
    let mut list = DynList::new(Some(filter));
    let dyn_resource = DynResource::new(resource);
    let client = &tower.client;
    let failure = |error| crate::session::session_refused(&tower.global, error).to_string();
    let count = match resource.connection {
        Some(_) => Some(
            client
                .count_with(&dyn_resource, &list)
                .await
                .map_err(failure)?,
        ),
        None => None,
    };
    list.body.insert("first".into(), DRY_RUN_SAMPLE.into());
    let items: Vec<DynItem> = std::pin::pin!(client
        .paginate_with(&dyn_resource, list)
        .page_size(DRY_RUN_SAMPLE as i32)
        .items())
    .take(DRY_RUN_SAMPLE as usize)
    .collect::<Vec<_>>()
    .await
    .into_iter()
    .collect::<Result<_, _>>()
    .map_err(failure)?;
    let paths = selection(resource, None)?.unwrap_or_default();
    let selected = items
        .iter()
        .map(|item| project(&item.0, &paths))
        .collect::<Vec<_>>();
    let total = count.unwrap_or(selected.len() as u64);
    answer["selects"] = json!({
        "resource": resource.name,
        "count": total,
        "items": selected,
    });
    if total == 0 {
        answer["note"] = json!(
            "its `where` selects nothing: the call would change nothing (a tower refuses it)"
        );
    }
    Ok(answer)
}

// ---------------------------------------------------------------------------------------
// wait

async fn wait_tool(tower: &Tower, args: &Args, context: &RequestContext<RoleServer>) -> Answer {
    let ids = args
        .strings("task_ids")?
        .filter(|ids| !ids.is_empty())
        .ok_or("`task_ids` is required: the ids a call with wait:false returned")?;
    if ids.len() as u64 > MAX_FIRST {
        return Err(format!("at most {MAX_FIRST} task ids at once"));
    }
    let timeout = args
        .integer("timeout_s", 1, MAX_WAIT_SECONDS)?
        .map_or(tower.wait.timeout, Duration::from_secs);
    wait_for(tower, &ids, timeout, context).await
}

/// Waits for tasks, sending a progress notification after every poll when the request
/// asked for them (a progress token): `{tasks: [{id, status, …}], succeeded}`.
async fn wait_for(
    tower: &Tower,
    ids: &[String],
    timeout: Duration,
    context: &RequestContext<RoleServer>,
) -> Answer {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<WaitProgress>();
    let forwarder = context.meta.get_progress_token().map(|token| {
        let peer = context.peer.clone();
        tokio::spawn(async move {
            while let Some(progress) = receiver.recv().await {
                let message = format!("{}/{} tasks ended", progress.ended, progress.total);
                let notification =
                    ProgressNotificationParam::new(token.clone(), progress.fraction * 100.0)
                        .with_total(100.0)
                        .with_message(message);
                if peer.notify_progress(notification).await.is_err() {
                    break;
                }
            }
        })
    });
    let options = WaitOptions {
        timeout,
        ..tower.wait.clone()
    };
    let mut on_poll = move |progress: WaitProgress| {
        let _ = sender.send(progress);
    };
    let outcomes = tower
        .client
        .wait_tasks_all_observed_as::<Task>(ids, &options, &mut on_poll)
        .await;
    drop(on_poll);
    if let Some(forwarder) = forwarder {
        // Every notification is sent before the answer.
        let _ = forwarder.await;
    }
    let outcomes = outcomes
        .map_err(|error| crate::session::session_refused(&tower.global, error).to_string())?;
    let mut succeeded = true;
    let tasks: Vec<Value> = outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Ok(task) => json!({
                "id": task.id,
                "status": task.status.to_string(),
            }),
            Err(failure) => {
                succeeded = false;
                task_failure(&failure)
            }
        })
        .collect();
    Ok(json!({ "tasks": tasks, "succeeded": succeeded }))
}

fn task_failure(failure: &TaskFailure) -> Value {
    let mut value = json!({
        "id": failure.task_id,
        "status": failure.status.clone().unwrap_or_else(|| "UNKNOWN".into()),
        "problem": failure.to_string(),
    });
    if let Some(code) = &failure.error_code {
        value["error_code"] = json!(code);
    }
    if let Some(message) = &failure.error_message {
        value["error_message"] = json!(message);
    }
    if failure.kind == TaskFailureKind::TimedOut {
        value["what_to_try"] = json!("wait for it again with `wait`");
    }
    value
}

// ---------------------------------------------------------------------------------------
// changes

// The change feed's revisions are read with the watch helper's rules, which a crate
// generated from a spec without the feed does not have: the tool is left out there.
cloudtower_api::cfg_watch_helper! {
    {
        /// Whether this build serves the `changes` tool.
        pub const HAS_CHANGE_FEED: bool = true;

        async fn changes(tower: &Tower, args: &Args) -> Answer {
            let operation = api()
                .operation("resource-changes")
                .ok_or("this CloudTower API has no change feed (resource-changes)")?;
            let type_name = operation
                .request
                .as_ref()
                .and_then(Ty::named)
                .ok_or("resource-changes takes no parameters in this API")?;
            let limit = args.integer("limit", 1, super::tools::MAX_CHANGES)?.unwrap_or(50);
            let from = args.string("from")?;
            let mut query = Map::new();
            for (field, value) in [
                ("start_revision", from),
                ("resource_type", args.string("resource_type")?),
                ("resource_id", args.string("resource_id")?),
            ] {
                if let Some(value) = value {
                    query.insert(field.into(), value.into());
                }
            }
            query.insert("limit".into(), limit.into());
            let known: std::collections::BTreeSet<&str> = fields(type_name).iter().map(|f| f.name.as_str()).collect();
            query.retain(|key, _| known.contains(key.as_str()));
            let mut context = tower.context();
            let answer = call::send(
                &mut context,
                operation,
                query_of(type_name, &Value::Object(query)),
            )
            .await
            .map_err(|failure| failure.to_string())?
            .unwrap_or_default();
            let text = |key: &str| answer.get(key).and_then(Value::as_str).unwrap_or_default();
            let (current, compact) = (text("currentRevision"), text("compactRevision"));
            let compacted = text("ec") == "ErrCompacted"
                || from.is_some_and(|from| {
                    !compact.is_empty()
                        && cloudtower_api::watch::compare_revisions(from, compact)
                            == std::cmp::Ordering::Less
                });
            if compacted {
                return Err(format!(
                    "the changes from revision {} were compacted away (the tower keeps them from \
                     {compact}): read the state again with `list`, then call `changes` without `from`",
                    from.unwrap_or_default()
                ));
            }
            if let Some(error) = answer.get("error").filter(|e| !e.is_null()) {
                return Err(format!(
                    "the tower reported an error reading changes ({}): {error}",
                    text("ec")
                ));
            }
            let Some(from) = from else {
                // Starting now: nothing to report yet, and where to read on.
                let next =
                    cloudtower_api::watch::next_revision(current).unwrap_or_else(|| current.to_owned());
                return Ok(json!({ "changes": [], "next": next, "current_revision": current }));
            };
            let mut next = from.to_owned();
            let changes: Vec<Value> = answer
                .get("data")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|event| {
                    event
                        .get("revision")
                        .and_then(Value::as_str)
                        .is_some_and(|r| cloudtower_api::watch::compare_revisions(r, from).is_ge())
                })
                .map(|event| {
                    if let Some(after) = event
                        .get("revision")
                        .and_then(Value::as_str)
                        .and_then(cloudtower_api::watch::next_revision)
                    {
                        next = after;
                    }
                    let mut change = Map::new();
                    for key in [
                        "revision",
                        "action",
                        "resource_type",
                        "resource_id",
                        "created_at",
                    ] {
                        if let Some(value) = event.get(key).filter(|v| !v.is_null()) {
                            change.insert(key.into(), value.clone());
                        }
                    }
                    Value::Object(change)
                })
                .collect();
            Ok(json!({ "changes": changes, "next": next, "current_revision": current }))
        }
    } else {
        pub const HAS_CHANGE_FEED: bool = false;

        async fn changes(_tower: &Tower, _args: &Args) -> Answer {
            Err("this build has no change feed: its CloudTower spec lacks what it needs".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_match_names_whatever_their_case_and_number() {
        let query = words("VM snapshots");
        assert_eq!(query, ["vm", "snapshots"]);
        assert!(score(&query, &words("create-vm-snapshot")) > 0);
        assert!(score(&query, &words("VmSnapshot")) > 0);
        assert_eq!(score(&query, &words("get-vms")), 0, "every word must match");
        assert!(
            score(&words("vm snapshots"), &words("get-vm-snapshots"))
                > score(&words("vm snap"), &words("get-vm-snapshots")),
            "a whole word counts more than its start"
        );
    }

    #[test]
    fn projection_keeps_the_paths_asked_through_objects_and_lists() {
        let item = json!({
            "id": "1", "name": "a", "status": "RUNNING",
            "cluster": {"id": "c", "name": "c1"},
            "labels": [{"id": "l1", "key": "k"}, {"id": "l2", "key": "j"}],
            "host": null
        });
        let paths: Vec<Vec<String>> = ["name", "cluster.name", "labels.key", "host.name"]
            .iter()
            .map(|p| p.split('.').map(str::to_owned).collect())
            .collect();
        assert_eq!(
            project(&item, &paths),
            json!({
                "name": "a",
                "cluster": {"name": "c1"},
                "labels": [{"key": "k"}, {"key": "j"}],
                "host": null
            })
        );
    }

    #[test]
    fn long_answers_are_cut_with_a_note() {
        let long = Value::Array(vec![json!({"text": "x".repeat(1000)}); 100]);
        let cut = bounded(long);
        assert!(bytes_of(&cut) <= MAX_ANSWER_BYTES + 200);
        assert!(cut["note"].as_str().unwrap().contains("of 100 items"));
        let small = json!([1, 2]);
        assert_eq!(bounded(small.clone()), small);
    }
}
