//! Sending one operation with a JSON body, waiting for the tasks of a mutation, and printing
//! the answer: what `cloudtower <module> <operation>` and every resource verb do.

use std::time::Duration;

use clap::ArgMatches;
use cloudtower_api::client::MultipartField;
use cloudtower_api::models::Task;
use cloudtower_api::{Client, FilePart, WaitOptions, WaitProgress};
use cloudtower_schema::{OperationKind, OperationSchema, Ty, TypeSchema};
use futures_util::TryStreamExt;
use serde_json::{Map, Value};

use crate::body::{check, merge, object_type, parse_json, parse_value, read_data, set_pair};
use crate::dynamic::{self, DynItem, DynList};
use crate::failure::{Failure, Result};
use crate::output::{id_of, Format, Printer};
use crate::schema::{api, fields};
use crate::session::{self, Global};
use crate::tree::{field_id, json_id};

/// What every command shares: the options, the output and, once connected, the client.
pub struct Context {
    pub global: Global,
    pub printer: Printer,
    /// `-o`, when given.
    pub format: Option<Format>,
    pub no_wait: bool,
    pub wait: WaitOptions,
    client: Option<Client>,
}

impl Context {
    pub fn new(matches: &ArgMatches) -> Result<Context> {
        let format = matches
            .get_one::<String>("output")
            .map(|text| Format::parse(text))
            .transpose()?;
        let wait = WaitOptions {
            timeout: Duration::from_secs(*matches.get_one::<u64>("wait-timeout").unwrap_or(&300)),
            ..WaitOptions::default()
        };
        Ok(Context {
            global: Global::from_matches(matches),
            printer: Printer::stdout(matches.get_flag("no-color")),
            format,
            no_wait: matches.get_flag("no-wait"),
            wait,
            client: None,
        })
    }

    /// The client, signed in on first use.
    pub async fn client(&mut self) -> Result<Client> {
        if self.client.is_none() {
            self.client = Some(session::connect(&self.global).await?);
        }
        Ok(self.client.clone().expect("just connected"))
    }

    /// `-o`, else `default`.
    pub fn format_or(&self, default: Format) -> Format {
        self.format.clone().unwrap_or(default)
    }

    /// A failed call as the user should read it (a refused stored session says what to do).
    pub fn failure(&self, error: cloudtower_api::Error) -> Failure {
        session::session_refused(&self.global, error)
    }
}

/// `cloudtower <module> <operation>`.
pub async fn run_operation(
    context: &mut Context,
    operation: &'static OperationSchema,
    matches: &ArgMatches,
) -> Result<()> {
    let request = build_request(operation, matches)?;
    let list = matches!(operation.kind, OperationKind::List { .. });
    if list && matches.get_flag("all") {
        let Prepared::Json(Value::Object(body)) = request else {
            return Err(Failure::Usage("--all needs a JSON list request".into()));
        };
        let list = DynList {
            operation: &operation.path,
            connection: None,
            body,
        };
        let item = operation.response.as_ref().and_then(Ty::named);
        return print_all(context, list, matches, item, Format::Json).await;
    }
    let answer = send(context, operation, request).await?;
    finish(context, operation, answer, Format::Json).await
}

/// A request ready to send.
pub enum Prepared {
    Json(Value),
    Empty,
    Query(Vec<(&'static str, String)>),
    Multipart(Vec<MultipartField>),
}

/// The request of `cloudtower <module> <operation>`: `--data`, then each field's flag over
/// it, checked against the operation's request type.
fn build_request(operation: &'static OperationSchema, matches: &ArgMatches) -> Result<Prepared> {
    let Some(request) = &operation.request else {
        return Ok(Prepared::Empty);
    };
    // The flags are those of a named request type (the tree's `operation_command`); a list
    // of params (`create-*`) comes whole from --data.
    let type_name = match request {
        Ty::Named(name) => name.as_str(),
        _ => "",
    };
    let kind = api().resolve(type_name);
    let mut body = match matches.try_get_one::<String>("data").ok().flatten() {
        Some(data) => read_data(data)?,
        None => match request {
            Ty::Array(_) => Value::Array(Vec::new()),
            _ => Value::Object(Map::new()),
        },
    };
    for field in fields(type_name) {
        let flag = crate::tree::flag_name(&field.name);
        let object = body.as_object_mut();
        if let Some(json) = matches
            .try_get_one::<String>(&json_id(&field.name))
            .ok()
            .flatten()
        {
            let Some(object) = object else {
                return Err(Failure::Usage(format!(
                    "--{flag}-json: --data is not an object"
                )));
            };
            merge(
                object.entry(field.name.clone()).or_insert(Value::Null),
                parse_json(&format!("{flag}-json"), json)?,
            );
            continue;
        }
        let Ok(Some(mut values)) = matches.try_get_many::<String>(&field_id(&field.name)) else {
            continue;
        };
        let Some(object) = body.as_object_mut() else {
            return Err(Failure::Usage(format!("--{flag}: --data is not an object")));
        };
        match object_type(&field.ty) {
            Some(nested) => {
                let slot = object
                    .entry(field.name.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                let Some(slot) = slot.as_object_mut() else {
                    return Err(Failure::Usage(format!(
                        "--{flag}: `{}` is not an object",
                        field.name
                    )));
                };
                for pair in values {
                    set_pair(slot, nested, pair)?;
                }
            }
            None => {
                let text = values.next_back().expect("a flag given has a value");
                object.insert(field.name.clone(), parse_value(text, &field.ty)?);
            }
        }
    }
    match kind {
        Some(TypeSchema::Query { .. }) => {
            check(&operation.path, &body, request)?;
            let pairs = body
                .as_object()
                .into_iter()
                .flatten()
                .map(|(key, value)| {
                    let name = fields(type_name)
                        .iter()
                        .find(|f| &f.name == key)
                        .map(|f| f.name.as_str())
                        .expect("checked: a field of the query");
                    (name, as_text(value))
                })
                .collect();
            Ok(Prepared::Query(pairs))
        }
        Some(TypeSchema::Multipart { .. }) => multipart(operation, type_name, body),
        _ => {
            check(&operation.path, &body, request)?;
            Ok(Prepared::Json(body))
        }
    }
}

/// A value as a query parameter or form field carries it: a string as it is, anything else
/// as JSON.
fn as_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The largest file a multipart operation's form carries whole.
const MAX_FORM_FILE_BYTES: u64 = 256 << 20;

/// A multipart form: text fields as given, file fields read from the path given.
fn multipart(operation: &OperationSchema, type_name: &str, body: Value) -> Result<Prepared> {
    let mut form = Vec::new();
    let given = body.as_object().cloned().unwrap_or_default();
    for field in fields(type_name) {
        let Some(value) = given.get(&field.name) else {
            if field.required {
                return Err(Failure::Usage(format!(
                    "invalid request for {} (nothing was sent): `{}` is required",
                    operation.path, field.name
                )));
            }
            continue;
        };
        let text = as_text(value);
        if field.ty == Ty::File {
            let unreadable = |error: std::io::Error| {
                Failure::Usage(format!("--{}: {text}: {error}", field.name))
            };
            // One request holds the whole file: images go through `elf-image upload`, in chunks.
            let size = std::fs::metadata(&text).map_err(unreadable)?.len();
            if size > MAX_FORM_FILE_BYTES {
                return Err(Failure::Usage(format!(
                    "--{}: {text} has {size} bytes, more than one request carries ({} MiB); \
                     upload images in chunks with `cloudtower elf-image upload`",
                    field.name,
                    MAX_FORM_FILE_BYTES >> 20
                )));
            }
            let bytes = std::fs::read(&text).map_err(unreadable)?;
            let file_name = std::path::Path::new(&text)
                .file_name()
                .map_or_else(|| text.clone(), |n| n.to_string_lossy().into_owned());
            form.push(MultipartField::file(
                &field.name,
                FilePart::new(file_name, bytes),
            ));
        } else {
            form.push(MultipartField::text(&field.name, text));
        }
    }
    Ok(Prepared::Multipart(form))
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
fn has_tasks(ty: &Ty) -> bool {
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
    let items: Vec<DynItem> = answer
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item.get("data"))
        .filter(|data| id_of(data).is_some())
        .cloned()
        .map(DynItem)
        .collect();
    dynamic::target(resource);
    let client = context.client().await?;
    let current = client
        .reread(&items)
        .await
        .map_err(|error| context.failure(error))?;
    let value = Value::Array(current.into_iter().map(|item| item.0).collect());
    context.printer.print(&value, &format, Some(&resource.name))
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
    list: DynList,
    matches: &ArgMatches,
    item: Option<&str>,
    default: Format,
) -> Result<()> {
    let page_size = *matches.get_one::<i32>("page-size").unwrap_or(&100);
    let client = context.client().await?;
    let format = context.format_or(default);
    let streaming = matches!(format, Format::Id | Format::JsonPath(_));
    let mut pages = std::pin::pin!(client.paginate(list).page_size(page_size).pages());
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
