//! `cloudtower <module> create`: resources from `--set KEY=VALUE` and `--data`, as the
//! create operation takes them.

use clap::{ArgMatches, Command};
use cloudtower_schema::{OperationSchema, ResourceSchema, Ty};
use serde_json::{json, Value};

use super::args::{self, Setting};
use crate::call;
use crate::context::Context;
use crate::failure::Result;
use crate::schema::{field, fields};

pub const NAME: &str = "create";

/// How a create operation takes what it creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `[params]` (the regular `create-*`).
    List,
    /// `{data: [params]}` or `{data: params}` (`create-vm-snapshot`).
    Data,
    /// The params themselves.
    Object,
}

/// The create operation of a resource, as the verb catalogue found it.
pub struct Create {
    pub operation: &'static OperationSchema,
    pub shape: Shape,
    /// The type `--set` and `--data` give (the params).
    pub set_type: Option<&'static str>,
}

pub fn command(module: &str, resource: &ResourceSchema, create: &Create) -> Command {
    let mut after_help = format!(
        "Examples:\n  cloudtower {module} create --set name=NAME --set FIELD=VALUE\n  \
         cloudtower {module} create --data @new.json --no-wait"
    );
    if let Some(set_type) = create.set_type {
        let required: Vec<&str> = fields(set_type)
            .iter()
            .filter(|field| field.required)
            .map(|field| field.name.as_str())
            .collect();
        if !required.is_empty() {
            after_help = format!(
                "Required fields of {set_type}: {}\n(all of them, their types and values: \
                 cloudtower explain {set_type})\n\n{after_help}",
                required.join(", ")
            );
        }
    }
    let command = Command::new(NAME)
        .about(format!(
            "Create {} resources ({})",
            resource.name, create.operation.path
        ))
        .after_help(after_help);
    match create.set_type {
        Some(set_type) => command.args(args::set_args(set_type)),
        None => command,
    }
}

pub struct Options {
    /// `--set` and `--data` (when the operation's params are an object type).
    pub setting: Option<Setting>,
}

impl Options {
    pub fn from_matches(create: &Create, matches: &ArgMatches) -> Options {
        Options {
            setting: create.set_type.map(|_| Setting::from_matches(matches)),
        }
    }
}

pub async fn run(context: &mut Context, create: &Create, options: Options) -> Result<()> {
    let as_list = |value: Value| match value {
        Value::Array(items) => Value::Array(items),
        object => Value::Array(vec![object]),
    };
    let given = match (&options.setting, create.set_type) {
        (Some(setting), Some(set_type)) => setting.object(set_type)?,
        _ => json!({}),
    };
    let body = match create.shape {
        Shape::List => as_list(given),
        Shape::Object => given,
        Shape::Data => {
            let many = create
                .operation
                .request
                .as_ref()
                .and_then(Ty::named)
                .and_then(|request| field(request, "data"))
                .is_some_and(|data| matches!(data.ty, Ty::Array(_)));
            json!({ "data": if many { as_list(given) } else { given } })
        }
    };
    call::mutate(context, create.operation, body).await
}
