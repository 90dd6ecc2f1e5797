//! `cloudtower <module> <operation>`: any operation of the table, its request from `--data`
//! and a flag per field of the request type, checked against that type before it is sent.

use std::sync::LazyLock;

use clap::builder::PossibleValuesParser;
use clap::{Arg, ArgAction, ArgMatches, Command};
use cloudtower_api::client::MultipartField;
use cloudtower_api::FilePart;
use cloudtower_schema::{FieldSchema, OperationKind, OperationSchema, Ty, TypeSchema};
use heck::ToKebabCase;
use serde_json::{Map, Value};

use super::args::{self, Paging};
use super::global;
use crate::body::{check, merge, object_type, parse_json, parse_value, read_data, set_pair};
use crate::call::{self, as_text, Prepared};
use crate::context::Context;
use crate::dynamic::DynList;
use crate::failure::{Failure, Result};
use crate::output::Format;
use crate::references;
use crate::schema::{api, enum_values, fields};

/// The long names of the flags every command takes (the global ones, header parameters
/// included) and of those an operation takes besides its fields: a request field of the same
/// name gets `--body-<name>` instead.
fn reserved() -> &'static [String] {
    static NAMES: LazyLock<Vec<String>> = LazyLock::new(|| {
        global::args()
            .iter()
            .filter_map(Arg::get_long)
            .chain([args::DATA, args::ALL, args::PAGE_SIZE, "help", "version"])
            .map(str::to_owned)
            .collect()
    });
    &NAMES
}

/// The flag of a request field: its name in kebab case, unless every command has that flag.
pub fn flag_name(field: &str) -> String {
    let kebab = field.to_kebab_case();
    if reserved().contains(&kebab) {
        format!("body-{kebab}")
    } else {
        kebab
    }
}

/// The id of a field's flag (`field:where`); the ids of fields come from the table, not
/// constants.
fn field_id(name: &str) -> String {
    format!("field:{name}")
}

/// The id of the JSON form of an object field's flag (`json:where`).
fn json_id(name: &str) -> String {
    format!("json:{name}")
}

/// The named request type whose fields get flags ("" for none: a list of params,
/// `create-*`, comes whole from `--data`).
fn request_type_name(operation: &'static OperationSchema) -> &'static str {
    match &operation.request {
        Some(Ty::Named(name)) => name,
        _ => "",
    }
}

/// The request fields that get flags.
fn flag_fields(operation: &'static OperationSchema) -> &'static [FieldSchema] {
    fields(request_type_name(operation))
}

/// Whether the operation takes `--data`: a JSON request (a multipart form is given by its
/// fields' flags).
fn takes_data(operation: &OperationSchema) -> bool {
    operation.request.is_some() && !operation.multipart
}

fn is_list(operation: &OperationSchema) -> bool {
    matches!(operation.kind, OperationKind::List { .. })
}

/// `POST get-vms: [Vm] (since 1.8.0)`.
fn about(operation: &OperationSchema) -> String {
    let method = match operation.method {
        cloudtower_schema::Method::Get => "GET",
        cloudtower_schema::Method::Post => "POST",
    };
    let request = operation
        .request
        .as_ref()
        .map_or_else(|| "no body".to_owned(), Ty::to_string);
    let response = operation
        .response
        .as_ref()
        .map_or_else(|| "no content".to_owned(), Ty::to_string);
    format!(
        "{method} /v2/api/{}: {request} → {response} (since {})",
        operation.path, operation.since
    )
}

pub fn command(operation: &'static OperationSchema) -> Command {
    let mut command = Command::new(operation.path.as_str())
        .about(about(operation))
        .after_help(
            "The request is --data (JSON, @FILE or - for stdin), with the flags' fields set \
             over it; it is checked against the operation's request type before it is sent.",
        );
    if takes_data(operation) {
        command = command.arg(args::data_arg());
    }
    for field in flag_fields(operation) {
        command = command.args(field_args(field));
    }
    if is_list(operation) {
        command = command.args(args::paging_args());
    }
    command
}

fn field_args(field: &'static FieldSchema) -> Vec<Arg> {
    let flag = flag_name(&field.name);
    let required = if field.required { ", required" } else { "" };
    let help = format!("`{}`: {}{required}", field.name, field.ty);
    let arg = Arg::new(field_id(&field.name))
        .long(flag.clone())
        .help_heading("Request fields");
    if let Some(object) = object_type(&field.ty) {
        return vec![
            arg.value_name("KEY=VALUE")
                .action(ArgAction::Append)
                .help(format!(
                    "{help}: set one field of it (a.b=v for nested ones)"
                ))
                .long_help(format!(
                    "{help}: set one field of it; repeat for more, a.b=v for nested ones, \
                     a,b for lists. Its fields: see `{object}` in `--data` terms."
                )),
            Arg::new(json_id(&field.name))
                .long(format!("{flag}-json"))
                .value_name("JSON")
                .help(format!("`{}` as JSON", field.name))
                .help_heading("Request fields"),
        ];
    }
    let arg = arg.value_name(value_name(&field.ty)).help(help);
    vec![match enum_values(&field.ty) {
        Some(values) => arg.value_parser(PossibleValuesParser::new(values)),
        None if field.ty == Ty::Bool => arg.value_parser(["true", "false"]),
        None => arg,
    }]
}

fn value_name(ty: &Ty) -> &'static str {
    match ty {
        Ty::String => "TEXT",
        Ty::Bool => "BOOL",
        Ty::Int32 | Ty::Int64 => "INT",
        Ty::Float | Ty::Double => "NUMBER",
        Ty::File => "PATH",
        Ty::Array(_) => "A,B,…|JSON",
        Ty::Named(_) if enum_values(ty).is_some() => "VALUE",
        _ => "JSON",
    }
}

/// What one field's flags gave.
pub struct FieldGiven {
    pub field: &'static FieldSchema,
    /// `--<field>-json` (object fields only): the field whole.
    pub json: Option<String>,
    /// `--<field> VALUE`, or `--<field> KEY=VALUE…` for an object field.
    pub values: Vec<String>,
}

pub struct Options {
    pub data: Option<String>,
    /// The fields whose flags were given, in the request type's order.
    pub fields: Vec<FieldGiven>,
    /// `--all` and `--page-size`, for a list operation.
    pub paging: Option<Paging>,
}

impl Options {
    pub fn from_matches(operation: &'static OperationSchema, matches: &ArgMatches) -> Options {
        let fields = flag_fields(operation)
            .iter()
            .map(|field| FieldGiven {
                field,
                json: object_type(&field.ty)
                    .and_then(|_| matches.get_one::<String>(&json_id(&field.name)).cloned()),
                values: matches
                    .get_many::<String>(&field_id(&field.name))
                    .map(|values| values.cloned().collect())
                    .unwrap_or_default(),
            })
            .filter(|given| given.json.is_some() || !given.values.is_empty())
            .collect();
        Options {
            data: takes_data(operation).then(|| args::data(matches)).flatten(),
            fields,
            paging: is_list(operation).then(|| Paging::from_matches(matches)),
        }
    }
}

pub async fn run(
    context: &mut Context,
    operation: &'static OperationSchema,
    options: Options,
) -> Result<()> {
    let request = build_request(operation, &options)?;
    if let Some(paging) = options.paging.as_ref().filter(|paging| paging.all) {
        let Prepared::Json(Value::Object(body)) = request else {
            return Err(Failure::Usage("--all needs a JSON list request".into()));
        };
        // `--all` is a flag of list operations only, each of which lists a resource.
        let listed = match &operation.kind {
            OperationKind::List { resource } => api().resource(resource),
            _ => None,
        };
        let Some(resource) = listed else {
            return Err(Failure::Usage(
                "--all needs a resource's list operation".into(),
            ));
        };
        let item = operation.response.as_ref().and_then(Ty::named);
        let list = DynList { body };
        return call::print_all(
            context,
            resource,
            list,
            paging.page_size,
            item,
            Format::Json,
        )
        .await;
    }
    let request = match request {
        Prepared::Json(mut body) => {
            references::resolve_for_command(context, operation, &mut body).await?;
            Prepared::Json(body)
        }
        other => other,
    };
    let answer = call::send(context, operation, request).await?;
    call::finish(context, operation, answer, Format::Json).await
}

/// The request: `--data`, then each field's flag over it, checked against the operation's
/// request type.
fn build_request(operation: &'static OperationSchema, options: &Options) -> Result<Prepared> {
    let Some(request) = &operation.request else {
        return Ok(Prepared::Empty);
    };
    let type_name = request_type_name(operation);
    let mut body = match &options.data {
        Some(data) => read_data(data)?,
        None => match request {
            Ty::Array(_) => Value::Array(Vec::new()),
            _ => Value::Object(Map::new()),
        },
    };
    for given in &options.fields {
        let field = given.field;
        let flag = flag_name(&field.name);
        if let Some(json) = &given.json {
            let Some(object) = body.as_object_mut() else {
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
                for pair in &given.values {
                    set_pair(slot, nested, pair)?;
                }
            }
            None => {
                let text = given.values.last().expect("a flag given has a value");
                object.insert(field.name.clone(), parse_value(text, &field.ty)?);
            }
        }
    }
    match api().resolve(type_name) {
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
