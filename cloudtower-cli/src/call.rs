//! Sending one operation's request (built from the generated table's entry), waiting for the
//! tasks of a mutation, and printing the answer: what `cloudtower <module> <operation>`, every
//! resource verb and the MCP server's calls share.

use std::time::Duration;

use cloudtower_api::client::MultipartField;
use cloudtower_api::models::Task;
use cloudtower_api::WaitProgress;
use cloudtower_schema::{OperationSchema, ResourceSchema, Ty};
use futures_util::TryStreamExt;
use serde_json::Value;

use crate::body::check;
use crate::context::Context;
use crate::dynamic::{self, DynItem, DynList, DynResource};
use crate::failure::{Failure, Result};
use crate::output::{id_of, Format};
use crate::references;
use crate::schema::api;
use crate::session;

/// A request ready to send.
pub enum Prepared {
    Json(Value),
    Empty,
    Query(Vec<(&'static str, String)>),
    Multipart(Vec<MultipartField>),
}

/// A value as a query parameter or form field carries it: a string as it is, anything else
/// as JSON.
pub fn as_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Sends the request; the answer as JSON (`None` without content).
pub async fn send(
    context: &mut Context,
    operation: &'static OperationSchema,
    request: Prepared,
) -> Result<Option<Value>> {
    // What the call is (a read that may be retried, with credentials or not, since which
    // version, which header parameters) is the generated table's entry, as for the SDK's
    // methods: decided once, by the generator.
    let info = crate::schema::operation_info(&operation.path);
    let request = match request {
        Prepared::Json(body) => info.json(&body),
        Prepared::Empty => info.empty(),
        Prepared::Query(query) => info.query(query),
        Prepared::Multipart(form) => info.multipart(form),
    };
    let client = if info.authenticated() {
        context.client().await?
    } else {
        // `get-version`, `login`: no credentials needed, none looked for.
        session::anonymous_client(&context.global)?
    };
    let answer = client
        .execute(request)
        .await
        .map_err(|error| context.failure(error))?;
    if operation.response.is_none() {
        return Ok(None);
    }
    Ok(Some(answer.decode::<Value>()?))
}

/// Checks a mutation, resolves the names given for ids in it, sends it, then waits and
/// prints as every operation does.
pub async fn mutate(
    context: &mut Context,
    operation: &'static OperationSchema,
    mut body: Value,
) -> Result<()> {
    if let Some(ty) = &operation.request {
        check(&operation.path, &body, ty)?;
    }
    references::resolve_for_command(context, operation, &mut body).await?;
    let answer = send_checked(context, operation, body).await?;
    finish(context, operation, answer, Format::Table).await
}

/// Checks `body` against the operation's request type (nothing is sent when it does not fit),
/// then sends it.
pub async fn send_checked(
    context: &mut Context,
    operation: &'static OperationSchema,
    body: Value,
) -> Result<Option<Value>> {
    let ty = operation
        .request
        .as_ref()
        .expect("an operation sent with a JSON body takes a request");
    check(&operation.path, &body, ty)?;
    send(context, operation, Prepared::Json(body)).await
}

/// Whether an answer of type `ty` carries tasks.
pub fn has_tasks(ty: &Ty) -> bool {
    match ty {
        Ty::WithTask(_) => true,
        Ty::Array(inner) => has_tasks(inner),
        _ => false,
    }
}

/// The task ids of a mutation's answer.
pub fn task_ids(answer: &Value) -> Vec<String> {
    let items: Vec<&Value> = match answer {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    items
        .into_iter()
        .filter_map(|item| item.get("task_id").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// After the call: waits for its tasks (unless `--no-wait`), then prints the resources as
/// they are once the tasks ended, or the answer.
pub async fn finish(
    context: &mut Context,
    operation: &'static OperationSchema,
    answer: Option<Value>,
    default: Format,
) -> Result<()> {
    let Some(answer) = answer else {
        return Ok(());
    };
    let response = operation.response.as_ref();
    let item = response.and_then(Ty::named);
    if !response.is_some_and(has_tasks) {
        let format = context.format_or(default);
        return context.printer.print(&answer, &format, item);
    }
    let ids = task_ids(&answer);
    if context.no_wait {
        return match &context.format {
            Some(format) => context.printer.print(&answer, format, item),
            None => context.printer.print(
                &Value::Array(ids.into_iter().map(Value::String).collect()),
                &Format::Id,
                None,
            ),
        };
    }
    wait(context, &ids).await?;
    let format = context.format_or(default);
    let resource = item.and_then(|name| api().resource(name));
    let Some(resource) = resource else {
        return context.printer.print(&answer, &format, item);
    };
    // Only ids are stable while a task runs: read the resources as they are now.
    let items = answer_resources(&answer);
    let client = context.client().await?;
    let current = dynamic::reread(&client, resource, &items)
        .await
        .map_err(|error| context.failure(error))?;
    let value = Value::Array(current.into_iter().map(|item| item.0).collect());
    context.printer.print(&value, &format, Some(&resource.name))
}

/// The resources a mutation's answer (`[{task_id, data}]`) carries, those with an id.
pub fn answer_resources(answer: &Value) -> Vec<DynItem> {
    answer
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item.get("data"))
        .filter(|data| id_of(data).is_some())
        .cloned()
        .map(DynItem)
        .collect()
}

/// Waits for the tasks, with a progress bar on a terminal (ended tasks and their mean
/// progress); every failure is printed with its error code and message.
pub async fn wait(context: &mut Context, ids: &[String]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let client = context.client().await?;
    // Drawn only when stderr is a terminal.
    let bar = indicatif::ProgressBar::new(1000).with_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} waiting for tasks [{bar:30}] {msg} ({elapsed})",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.set_message(format!("0/{}", ids.len()));
    bar.enable_steady_tick(Duration::from_millis(120));
    let shown = bar.clone();
    let mut on_poll = move |progress: WaitProgress| {
        shown.set_position((progress.fraction * 1000.0) as u64);
        shown.set_message(format!("{}/{}", progress.ended, progress.total));
    };
    let outcomes = client
        .wait_tasks_all_observed_as::<Task>(ids, &context.wait, &mut on_poll)
        .await;
    bar.finish_and_clear();
    let outcomes = outcomes.map_err(|error| context.failure(error))?;
    let failures: Vec<_> = outcomes.into_iter().filter_map(|o| o.err()).collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure::Tasks(failures))
    }
}

/// `--all`: every page. Ids and JSONPath are printed page by page as they come; the other
/// formats once the list is complete (one table, one JSON document).
pub async fn print_all(
    context: &mut Context,
    resource: &'static ResourceSchema,
    list: DynList,
    page_size: i32,
    item: Option<&str>,
    default: Format,
) -> Result<()> {
    let client = context.client().await?;
    let format = context.format_or(default);
    let streaming = matches!(format, Format::Id | Format::JsonPath(_));
    let pages = client.paginate_with(&DynResource::new(resource), list);
    let mut pages = std::pin::pin!(pages.page_size(page_size).pages());
    let mut all = Vec::new();
    while let Some(page) = pages
        .try_next()
        .await
        .map_err(|error| context.failure(error))?
    {
        let page: Vec<Value> = page.into_iter().map(|item| item.0).collect();
        if streaming {
            context.printer.print(&Value::Array(page), &format, item)?;
        } else {
            all.extend(page);
        }
    }
    if !streaming {
        context.printer.print(&Value::Array(all), &format, item)?;
    }
    Ok(())
}
