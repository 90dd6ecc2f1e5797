//! Request bodies from the command line: `--data JSON|@FILE|-`, `key=value` pairs typed by
//! the table's field types, and the strict check against the operation's request type before
//! anything is sent.

use std::io::Read;

use cloudtower_schema::{Mismatch, Ty, TypeSchema, MAX_MISMATCHES};
use serde_json::{Map, Value};

use crate::failure::{Failure, Result};
use crate::schema::{api, field};

/// The most a `--data` file or stdin may hold: far beyond any request.
const MAX_DATA_BYTES: u64 = 64 << 20;

/// `--data`: JSON itself, `@path` to a file of JSON, or `-` for stdin.
pub fn read_data(argument: &str) -> Result<Value> {
    let (text, origin) = if argument == "-" {
        let mut text = String::new();
        std::io::stdin()
            .take(MAX_DATA_BYTES)
            .read_to_string(&mut text)
            .map_err(|error| Failure::Usage(format!("reading --data from stdin: {error}")))?;
        (text, "stdin".to_owned())
    } else if let Some(path) = argument.strip_prefix('@') {
        let text = std::fs::read_to_string(path)
            .map_err(|error| Failure::Usage(format!("reading --data file {path}: {error}")))?;
        (text, path.to_owned())
    } else {
        (argument.to_owned(), "--data".to_owned())
    };
    serde_json::from_str(&text)
        .map_err(|error| Failure::Usage(format!("{origin} is not JSON: {error}")))
}

/// A JSON argument of a flag (`--where-json`, object-typed fields).
pub fn parse_json(flag: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|error| Failure::Usage(format!("--{flag} is not JSON: {error}")))
}

/// An object of type `type_name` (or a list of them) from `--data` (JSON, `@FILE` or `-`) and
/// `key=value` pairs set over it.
pub fn object_from(type_name: &str, data: Option<&str>, pairs: &[String]) -> Result<Value> {
    let mut value = match data {
        Some(data) => read_data(data)?,
        None => Value::Object(Map::new()),
    };
    if !pairs.is_empty() {
        let Some(object) = value.as_object_mut() else {
            return Err(Failure::Usage("--set needs --data to be an object".into()));
        };
        for pair in pairs {
            set_pair(object, type_name, pair)?;
        }
    }
    Ok(value)
}

/// A value typed `ty` as written on the command line: strings as they are, numbers and
/// booleans parsed, enums by their wire value, lists as `a,b,c` (or JSON), anything else as
/// JSON.
pub fn parse_value(text: &str, ty: &Ty) -> Result<Value> {
    let bad = |what: &str| Failure::Usage(format!("{text:?} is not {what}"));
    Ok(match ty {
        Ty::String | Ty::File => Value::String(text.to_owned()),
        Ty::Bool => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad("true or false")),
        },
        Ty::Int32 | Ty::Int64 => Value::from(text.parse::<i64>().map_err(|_| bad("an integer"))?),
        Ty::Float | Ty::Double => {
            let number = text.parse::<f64>().map_err(|_| bad("a number"))?;
            serde_json::Number::from_f64(number)
                .map(Value::Number)
                .ok_or_else(|| bad("a finite number"))?
        }
        Ty::Json => serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())),
        Ty::Named(name) => match api().resolve(name) {
            Some(TypeSchema::Enum { .. }) => Value::String(text.to_owned()),
            Some(TypeSchema::Alias { target }) => parse_value(text, target)?,
            _ => serde_json::from_str(text).map_err(|_| bad(&format!("JSON for {name}")))?,
        },
        Ty::Array(inner) => {
            if text.trim_start().starts_with('[') {
                serde_json::from_str(text).map_err(|_| bad("a JSON list"))?
            } else if text.is_empty() {
                Value::Array(Vec::new())
            } else {
                Value::Array(
                    text.split(',')
                        .map(|item| parse_value(item, inner))
                        .collect::<Result<_>>()?,
                )
            }
        }
        Ty::WithTask(_) => serde_json::from_str(text).map_err(|_| bad("JSON"))?,
    })
}

/// The object type a [`Ty`] names, when it names one.
pub fn object_type(ty: &Ty) -> Option<&str> {
    match ty {
        Ty::Named(name) => match api().resolve(name)? {
            TypeSchema::Object { .. } => Some(name),
            TypeSchema::Alias { target } => object_type(target),
            _ => None,
        },
        _ => None,
    }
}

/// Sets `path=value` (`name=db-01`, `cluster.name=c1`) in `object`, an object of type
/// `type_name`, typing the value by the field's type.
pub fn set_pair(object: &mut Map<String, Value>, type_name: &str, pair: &str) -> Result<()> {
    let (path, text) = pair.split_once('=').ok_or_else(|| {
        Failure::Usage(format!(
            "{pair:?} is not key=value (for example name=db-01)"
        ))
    })?;
    let mut object = object;
    let mut type_name = type_name.to_owned();
    let mut keys = path.split('.').peekable();
    while let Some(key) = keys.next() {
        let Some(field) = field(&type_name, key) else {
            let near = crate::explain::closest(
                crate::schema::fields(&type_name)
                    .iter()
                    .map(|f| f.name.as_str()),
                key,
            )
            .map(|near| format!(", did you mean `{near}`?"))
            .unwrap_or_default();
            return Err(Failure::Usage(format!(
                "{type_name} has no field `{key}` (in {pair:?}{near}): cloudtower explain \
                 {type_name} lists them"
            )));
        };
        if keys.peek().is_none() {
            object.insert(key.to_owned(), parse_value(text, &field.ty)?);
            return Ok(());
        }
        let Some(nested) = object_type(&field.ty) else {
            return Err(Failure::Usage(format!(
                "`{key}` of {type_name} is {}, not an object (in {pair:?})",
                field.ty
            )));
        };
        type_name = nested.to_owned();
        let slot = object
            .entry(key.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        object = slot.as_object_mut().expect("just made an object");
    }
    Ok(())
}

/// Merges `patch` into `target`: objects key by key, anything else replaced.
pub fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(target.entry(key).or_insert(Value::Null), value);
            }
        }
        (target, patch) => *target = patch,
    }
}

/// Checks `body` against the operation's request type, strictly: an unknown key, a missing
/// required field, a wrong type or an unknown enum value is refused, naming every one and
/// where it is.
pub fn check(operation: &str, body: &Value, ty: &Ty) -> Result<()> {
    refuse(
        &format!("invalid request for {operation}"),
        &api().check_all(body, ty),
    )
    .map_err(|failure| {
        Failure::Usage(format!(
            "{failure}\n(its fields, which are required and what they accept: cloudtower \
                 explain {operation})"
        ))
    })
}

/// `Err` naming every mismatch after `what` (one on the same line, more one per line).
pub fn refuse(what: &str, mismatches: &[Mismatch]) -> Result<()> {
    match mismatches {
        [] => Ok(()),
        [one] => Err(Failure::Usage(format!("{what} (nothing was sent): {one}"))),
        many => {
            let mut text = format!("{what} (nothing was sent): {} problems", many.len());
            if many.len() >= MAX_MISMATCHES {
                text.push_str(" (the first ones)");
            }
            for mismatch in many {
                text.push_str(&format!("\n  {mismatch}"));
            }
            Err(Failure::Usage(text))
        }
    }
}
