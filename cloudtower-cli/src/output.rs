//! Printing answers: tables for people, JSON, YAML, ids and JSONPath for programs.
//!
//! Machine formats are stable: JSON keys are sorted and every run prints the same bytes for
//! the same answer. Tables are coloured only on a terminal, and never with `NO_COLOR` set.

use std::io::{IsTerminal, Write};

use anstyle::{AnsiColor, Style};
use cloudtower_schema::Ty;
use serde_json::Value;
use serde_json_path::JsonPath;

use crate::columns::{columns, Column, Show};
use crate::failure::{Failure, Result};
use crate::schema::{api, field};

/// An output format (`-o`).
#[derive(Clone, Debug)]
pub enum Format {
    Table,
    Wide,
    Json,
    Yaml,
    Id,
    JsonPath(Box<JsonPath>),
}

impl Format {
    /// `table`, `wide`, `json`, `yaml`, `id` or `jsonpath=EXPR`.
    pub fn parse(text: &str) -> Result<Format> {
        Ok(match text {
            "table" => Format::Table,
            "wide" => Format::Wide,
            "json" => Format::Json,
            "yaml" => Format::Yaml,
            "id" => Format::Id,
            _ => match text.strip_prefix("jsonpath=") {
                Some(expression) => {
                    Format::JsonPath(Box::new(JsonPath::parse(expression).map_err(|error| {
                        Failure::Usage(format!("-o jsonpath: {expression:?}: {error}"))
                    })?))
                }
                None => {
                    return Err(Failure::Usage(format!(
                        "-o {text:?}: expected table, wide, json, yaml, id or jsonpath=EXPR"
                    )))
                }
            },
        })
    }
}

/// The names `-o` takes, for help and completions.
pub const FORMATS: &[&str] = &["table", "wide", "json", "yaml", "id", "jsonpath="];

/// Where output goes, and whether it may be coloured.
pub struct Printer {
    // `Send`: a command's context is held across the awaits of the MCP server's calls.
    out: Box<dyn Write + Send>,
    color: bool,
}

impl Printer {
    pub fn stdout(no_color: bool) -> Printer {
        let stdout = std::io::stdout();
        let color = !no_color && stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Printer {
            out: Box::new(stdout),
            color,
        }
    }

    /// Prints `value` in `format`. `item` is the type of the items, for table columns.
    pub fn print(&mut self, value: &Value, format: &Format, item: Option<&str>) -> Result<()> {
        let text = render(value, format, item, self.color)?;
        self.out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.flush())
            .or_else(|error| match error.kind() {
                // `cloudtower vm list | head`: the reader is gone, which is not a failure.
                std::io::ErrorKind::BrokenPipe => Ok(()),
                _ => Err(Failure::Other(format!("writing the output: {error}"))),
            })
    }

    /// Prints one line (`created vm db-01`, a task id).
    pub fn line(&mut self, line: &str) -> Result<()> {
        self.print(&Value::String(line.to_owned()), &Format::Id, None)
    }
}

/// The text of `value` in `format`.
pub fn render(value: &Value, format: &Format, item: Option<&str>, color: bool) -> Result<String> {
    Ok(match format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(value).expect("JSON values serialize");
            text.push('\n');
            text
        }
        Format::Yaml => serde_norway::to_string(value)
            .map_err(|error| Failure::Other(format!("writing YAML: {error}")))?,
        Format::Id => items(value)
            .filter_map(|item| match item {
                Value::String(text) => Some(format!("{text}\n")),
                other => id_of(other).map(|id| format!("{id}\n")),
            })
            .collect(),
        Format::JsonPath(path) => path
            .query(value)
            .all()
            .into_iter()
            .map(|found| match found {
                Value::String(text) => format!("{text}\n"),
                other => format!("{other}\n"),
            })
            .collect(),
        Format::Table | Format::Wide => table(value, item, matches!(format, Format::Wide), color),
    })
}

/// The items of an answer: a list's elements, or the answer itself.
fn items(value: &Value) -> Box<dyn Iterator<Item = &Value> + '_> {
    match value {
        Value::Array(items) => Box::new(items.iter()),
        Value::Null => Box::new(std::iter::empty()),
        other => Box::new(std::iter::once(other)),
    }
}

/// The id of a resource, or of the resource a mutation's `{task_id, data}` carries.
pub fn id_of(item: &Value) -> Option<&str> {
    item.get("id")
        .or_else(|| item.get("data").and_then(|data| data.get("id")))
        .and_then(Value::as_str)
}

/// Whether type `type_name` has the field path `path` (through nested objects and lists).
pub fn type_has_path(type_name: &str, path: &[String]) -> bool {
    let mut current = type_name.to_owned();
    for key in path {
        let Some(found) = field(&current, key) else {
            return false;
        };
        let mut ty = &found.ty;
        while let Ty::Array(inner) = ty {
            ty = inner;
        }
        current = match ty {
            Ty::Named(name) => name.clone(),
            _ => String::new(),
        };
    }
    true
}

fn table(value: &Value, item: Option<&str>, wide: bool, color: bool) -> String {
    let rows: Vec<&Value> = items(value)
        .map(|item| match (item.get("data"), item.get("task_id")) {
            // A mutation's answer: the resource it carries.
            (Some(data), Some(_)) => data,
            _ => item,
        })
        .collect();
    let of_type = item.filter(|name| api().types.contains_key(*name));
    let columns = columns(item, wide, |path| match of_type {
        Some(name) => type_has_path(name, path),
        // Not a type of the table: the keys the first row has.
        None => rows
            .first()
            .is_some_and(|row| lookup(row, path).is_some_and(|v| !v.is_null())),
    });
    if columns.is_empty() {
        return rows.iter().map(|row| format!("{row}\n")).collect();
    }
    let mut writer = tabwriter::TabWriter::new(Vec::new()).padding(3).ansi(color);
    let header: Vec<String> = columns
        .iter()
        .map(|column| paint(color, Style::new().bold(), &column.header()))
        .collect();
    let _ = writeln!(writer, "{}", header.join("\t"));
    for row in rows {
        let cells: Vec<String> = columns
            .iter()
            .map(|column| {
                let text = cell(row, column);
                let style = status_style(column, &text);
                paint(color && style.is_some(), style.unwrap_or_default(), &text)
            })
            .collect();
        let _ = writeln!(writer, "{}", cells.join("\t"));
    }
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn paint(color: bool, style: Style, text: &str) -> String {
    if color {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

/// Colours for states and severities people scan a table for.
fn status_style(column: &Column, text: &str) -> Option<Style> {
    let last = column.path.last().map(String::as_str);
    if !matches!(
        last,
        Some("status" | "state" | "severity" | "connect_state" | "ended")
    ) {
        return None;
    }
    let color = match text {
        "RUNNING" | "SUCCESSED" | "CONNECTED" | "CONNECTED_HEALTHY" | "HEALTHY" | "INFO" => {
            AnsiColor::Green
        }
        "STOPPED" | "SUSPENDED" | "PENDING" | "EXECUTING" | "NOTICE" | "PAUSED" => {
            AnsiColor::Yellow
        }
        "FAILED" | "ERROR" | "CRITICAL" | "UNKNOWN" | "DISCONNECTED" | "DELETED" => AnsiColor::Red,
        _ => return None,
    };
    Some(Style::new().fg_color(Some(color.into())))
}

/// The value at `path` of `row`; through a list, the values of its elements.
fn lookup(row: &Value, path: &[String]) -> Option<Value> {
    let Some((key, rest)) = path.split_first() else {
        return Some(row.clone());
    };
    match row {
        Value::Object(map) => lookup(map.get(key)?, rest),
        Value::Array(elements) => Some(Value::Array(
            elements.iter().filter_map(|e| lookup(e, path)).collect(),
        )),
        _ => None,
    }
}

fn cell(row: &Value, column: &Column) -> String {
    let value = lookup(row, &column.path).unwrap_or(Value::Null);
    match (column.show, &value) {
        (_, Value::Null) => "-".to_owned(),
        (Show::Count, Value::Array(items)) => items.len().to_string(),
        (Show::Bytes, Value::Number(number)) => number
            .as_f64()
            .map_or_else(|| number.to_string(), human_bytes),
        _ => plain(&value),
    }
}

/// A value in a cell: a nested resource by its name (else id), a list comma-separated.
fn plain(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(text) if text.is_empty() => "-".to_owned(),
        Value::String(text) => text.replace(['\t', '\n'], " "),
        Value::Array(items) if items.is_empty() => "-".to_owned(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(","),
        Value::Object(map) => map
            .get("name")
            .or_else(|| map.get("id"))
            .map_or_else(|| value.to_string(), plain),
        other => other.to_string(),
    }
}

/// `4294967296` → `4 GiB`.
pub fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value.fract() == 0.0 {
        format!("{value} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(human_bytes(0.0), "0 B");
        assert_eq!(human_bytes(4294967296.0), "4 GiB");
        assert_eq!(human_bytes(1536.0), "1.5 KiB");
    }

    #[test]
    fn ids_of_resources_and_of_mutations() {
        let answer = json!([{"task_id": "t1", "data": {"id": "vm1"}}, {"id": "vm2"}, "t3"]);
        let text = render(&answer, &Format::Id, None, false).unwrap();
        assert_eq!(text, "vm1\nvm2\nt3\n");
    }

    #[test]
    fn jsonpath_prints_strings_bare_and_the_rest_as_json() {
        let answer = json!([{"name": "a", "vcpu": 2}, {"name": "b", "vcpu": 4}]);
        let format = Format::parse("jsonpath=$[*].name").unwrap();
        assert_eq!(render(&answer, &format, None, false).unwrap(), "a\nb\n");
        let format = Format::parse("jsonpath=$[1]").unwrap();
        assert_eq!(
            render(&answer, &format, None, false).unwrap(),
            "{\"name\":\"b\",\"vcpu\":4}\n"
        );
        assert!(Format::parse("jsonpath=$[").is_err());
        assert!(Format::parse("xml").is_err());
    }
}
