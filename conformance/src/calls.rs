//! One call through the SDK: the typed method behind `call_operation` (or, for multipart
//! uploads, the typed method with a `FilePart`), via the recording proxy.

use std::time::Duration;

use cloudtower_api::client::MultipartField;
use cloudtower_api::{Client, Error, FilePart, RetryPolicy};
use serde_json::{Map, Value};

use crate::proxy::{Action, Proxy, Recorded, Upstream};
use crate::spec::OpSpec;

/// Sent as `Authorization`: any value satisfies the API-key scheme, and the one operation
/// secured by HTTP Basic (`resource-changes`) needs this form.
pub const TOKEN: &str = "Basic Y29uZm9ybWFuY2U6Y29uZm9ybWFuY2U=";

pub struct CallResult {
    pub result: Result<Option<Vec<u8>>, Error>,
    pub request: Option<Recorded>,
    pub upstream: Option<Upstream>,
}

pub async fn call(
    proxy: &Proxy,
    op: &OpSpec,
    example: &Value,
    action: Action,
    timeout: Duration,
) -> CallResult {
    let (id, endpoint) = proxy.open(action);
    let result = match Client::builder(endpoint)
        .token(TOKEN)
        .timeout(timeout)
        .retry_policy(RetryPolicy::none())
        .build()
    {
        Err(e) => Err(e),
        Ok(client) => {
            if op.multipart.is_some() {
                multipart(&client, op, example).await
            } else {
                let body = serde_json::to_vec(example).unwrap_or_default();
                client.call_operation(&op.path, &body).await
            }
        }
    };
    let (request, upstream) = proxy.close(id);
    CallResult {
        result,
        request,
        upstream,
    }
}

/// The multipart uploads, through `call_multipart` (the typed method of the operation, its
/// answer decoded into the response type), with the example's text fields and a file for each
/// binary property; a required text field the example lacks is sent empty.
async fn multipart(
    client: &Client,
    op: &OpSpec,
    example: &Value,
) -> Result<Option<Vec<u8>>, Error> {
    let schema = op.multipart.as_ref();
    let properties = schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object);
    let required: Vec<&str> = schema
        .and_then(|s| s.get("required"))
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut fields = Vec::new();
    for (name, property) in properties.into_iter().flatten() {
        if property.get("format").and_then(Value::as_str) == Some("binary") {
            let file = FilePart::new("conformance.bin", b"conformance file".to_vec());
            fields.push(MultipartField::file(name.clone(), file));
        } else if let Some(value) = example.get(name).and_then(Value::as_str) {
            fields.push(MultipartField::text(name.clone(), value));
        } else if required.contains(&name.as_str()) {
            fields.push(MultipartField::text(name.clone(), ""));
        }
    }
    client.call_multipart(&op.path, fields).await
}

/// The request as sent, as JSON: the body, the query string (GET) or the multipart fields.
pub fn sent_as_json(
    op: &OpSpec,
    rec: &Recorded,
    resolve_int: impl Fn(&str) -> bool,
) -> Option<Value> {
    if op.multipart.is_some() {
        return Some(multipart_fields(rec));
    }
    if rec.method == "GET" {
        let mut map = Map::new();
        for pair in rec
            .query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (k, v) = (percent_decode(k), percent_decode(v));
            let value = match v.parse::<i64>() {
                Ok(i) if resolve_int(&k) => Value::from(i),
                _ => Value::String(v),
            };
            map.insert(k, value);
        }
        return Some(Value::Object(map));
    }
    if rec.body.is_empty() {
        return None;
    }
    serde_json::from_slice(&rec.body).ok()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How a file part stands in the JSON view of a multipart body.
pub const FILE_PART: &str = "<file>";

/// The text fields of a `multipart/form-data` body (file parts as [`FILE_PART`]).
fn multipart_fields(rec: &Recorded) -> Value {
    let mut map = Map::new();
    let boundary = rec
        .content_type
        .as_deref()
        .and_then(|ct| ct.split("boundary=").nth(1))
        .map(|b| b.trim_matches('"').to_owned());
    let Some(boundary) = boundary else {
        return Value::Object(map);
    };
    let body = String::from_utf8_lossy(&rec.body);
    for part in body.split(&format!("--{boundary}")) {
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let Some(name) = head
            .split("name=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        else {
            continue;
        };
        let value = if head.contains("filename=") {
            FILE_PART.to_owned()
        } else {
            value.trim_end_matches("\r\n").to_owned()
        };
        map.insert(name.to_owned(), Value::String(value));
    }
    Value::Object(map)
}

/// Where two JSON values first differ, as a JSON pointer with both sides.
pub fn first_difference(expected: &Value, actual: &Value, path: &str) -> Option<String> {
    match (expected, actual) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                match b.get(k) {
                    None => return Some(format!("{path}/{k}: dropped (was {})", short(v))),
                    Some(w) => {
                        if let Some(d) = first_difference(v, w, &format!("{path}/{k}")) {
                            return Some(d);
                        }
                    }
                }
            }
            b.keys()
                .find(|k| !a.contains_key(*k))
                .map(|k| format!("{path}/{k}: added ({})", short(&b[k.as_str()])))
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (v, w))| first_difference(v, w, &format!("{path}/{i}"))),
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => None,
        (a, b) if a == b => None,
        (a, b) => Some(format!("{path}: {} became {}", short(a), short(b))),
    }
}

pub fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(80).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}
