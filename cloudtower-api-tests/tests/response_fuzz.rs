//! Property test: every response type of the pinned spec, fed mutated bodies (truncated,
//! retyped, deepened, huge numbers, invalid UTF-8) generated from the spec's schemas, by a
//! real server on 127.0.0.1 to `Client::call_operation`. No body may panic the client, and
//! every failure must be a typed error: `ResponseError::Decode` for a 200 answer, `ServiceError` for
//! an error answer (whose `ErrorBody` is mutated too).
//!
//! Deterministic (a fixed seed); `CLOUDTOWER_FUZZ_BODIES` changes the number of bodies (default
//! 100,000 in all). It prints how many bodies each operation and each mutation got, and the time.

use cloudtower_api::error::{ErrorKind, ResponseError};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use cloudtower_api::{Client, RetryPolicy};
use serde_json::{json, Map, Value};

const SEED: u64 = 0x5eed_c10d_70e4;
const DEFAULT_BODIES: usize = 100_000;
/// How deep the "deepened" mutation nests a value: far past the decoder's depth limit (128),
/// which must turn it into a typed error; `codec_limits.rs` sends 1,000,000 levels.
const DEEPEN_LEVELS: usize = 10_000;
/// One body in this many is served as an error answer (mutated `ErrorBody`).
const ERROR_ANSWER_EVERY: usize = 10;

/// What the local server answers next.
#[derive(Clone, Default)]
struct Answer {
    status: u16,
    body: Bytes,
}

struct Spec {
    doc: Value,
}

impl Spec {
    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut schema = schema;
        for _ in 0..16 {
            match schema.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    let pointer = r.trim_start_matches('#');
                    match self.doc.pointer(pointer) {
                        Some(target) => schema = target,
                        None => return schema,
                    }
                }
                None => return schema,
            }
        }
        schema
    }

    /// An instance of `schema`: every property near the top (`full`), required ones deeper.
    fn instance(&self, schema: &Value, level: usize, full: bool, rng: &mut fastrand::Rng) -> Value {
        if level > 24 {
            return Value::Null;
        }
        let schema = self.resolve(schema);
        if let Some(Value::Array(parts)) = schema.get("allOf") {
            let mut merged = Map::new();
            for part in parts {
                match self.instance(part, level, full, rng) {
                    Value::Object(map) => merged.extend(map),
                    other if parts.len() == 1 => return other,
                    _ => {}
                }
            }
            return Value::Object(merged);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(options)) = schema.get(key) {
                return match options.first() {
                    Some(first) => self.instance(first, level, full, rng),
                    None => Value::Null,
                };
            }
        }
        if let Some(Value::Array(values)) = schema.get("enum") {
            return match values.len() {
                0 => Value::Null,
                n => values[rng.usize(..n)].clone(),
            };
        }
        let kind = schema.get("type").and_then(Value::as_str);
        match kind {
            Some("string") => match schema.get("format").and_then(Value::as_str) {
                Some("date-time") => json!("2026-01-02T03:04:05.000Z"),
                _ => json!(format!("s{}", rng.u32(..1000))),
            },
            Some("integer") => json!(rng.i64(0..100_000)),
            Some("number") => json!(rng.f64() * 1000.0),
            Some("boolean") => json!(rng.bool()),
            Some("array") => {
                let items = schema.get("items").unwrap_or(&Value::Null);
                let count = if full && level < 4 {
                    rng.usize(1..3)
                } else {
                    0
                };
                Value::Array(
                    (0..count)
                        .map(|_| self.instance(items, level + 1, full, rng))
                        .collect(),
                )
            }
            _ if schema.get("properties").is_some() || kind == Some("object") => {
                let required: BTreeSet<&str> = schema
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let mut out = Map::new();
                if let Some(Value::Object(properties)) = schema.get("properties") {
                    for (name, property) in properties {
                        if required.contains(name.as_str()) || (full && level < 3) {
                            out.insert(name.clone(), self.instance(property, level + 1, full, rng));
                        }
                    }
                }
                Value::Object(out)
            }
            _ => json!({ "free": [1, "form"] }),
        }
    }

    /// A request `call_operation` accepts: the required fields of the body, or of the query.
    fn request(&self, operation: &Value, rng: &mut fastrand::Rng) -> Value {
        if let Some(schema) = operation.pointer("/requestBody/content/application~1json/schema") {
            return self.instance(schema, 0, false, rng);
        }
        let mut query = Map::new();
        for parameter in operation
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let parameter = self.resolve(parameter);
            if parameter.get("in") == Some(&json!("query"))
                && parameter.get("required") == Some(&json!(true))
            {
                let name = parameter["name"].as_str().unwrap_or_default().to_owned();
                let value = self.instance(&parameter["schema"], 1, false, rng);
                query.insert(name, value);
            }
        }
        Value::Object(query)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Mutation {
    Truncated,
    Retyped,
    Deepened,
    HugeNumber,
    InvalidUtf8,
    /// A list (or the whole answer) becomes tens of thousands of `{}` or `[]`, which lenient
    /// decoding would fill with defaults: the decode budget must refuse what is too large.
    Amplified,
    /// A string gets a lone surrogate escape, as JavaScript writes a string cut mid-emoji.
    LoneSurrogate,
}

const MUTATIONS: [Mutation; 7] = [
    Mutation::Truncated,
    Mutation::Retyped,
    Mutation::Deepened,
    Mutation::HugeNumber,
    Mutation::InvalidUtf8,
    Mutation::Amplified,
    Mutation::LoneSurrogate,
];

/// Elements of an amplified list: 15 KB of JSON, megabytes of default structs.
const AMPLIFIED_ELEMENTS: usize = 5_000;

/// Every value's location in `value` (JSON pointers), parents before children.
fn pointers(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), value)];
    while let Some((at, value)) = stack.pop() {
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    stack.push((format!("{at}/{i}"), item));
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    let key = key.replace('~', "~0").replace('/', "~1");
                    stack.push((format!("{at}/{key}"), item));
                }
            }
            _ => {}
        }
        out.push(at);
    }
    out
}

/// A random location in `value` whose value is `wanted`.
fn pick_pointer(
    value: &Value,
    rng: &mut fastrand::Rng,
    wanted: impl Fn(&Value) -> bool,
) -> Option<String> {
    let all: Vec<String> = pointers(value)
        .into_iter()
        .filter(|p| value.pointer(p).is_some_and(&wanted))
        .collect();
    (!all.is_empty()).then(|| all[rng.usize(..all.len())].clone())
}

/// `value` as JSON text, with the value at `at` replaced by the text `with` (spliced as text,
/// so that serde_json's own limits and checks do not decide what can be sent).
fn splice(value: &Value, at: &str, with: &str) -> Vec<u8> {
    let marker = "\u{0}spliced\u{0}";
    let mut value = value.clone();
    replace_at(&mut value, at, json!(marker));
    let body = serde_json::to_string(&value).unwrap();
    body.replacen(&serde_json::to_string(marker).unwrap(), with, 1)
        .into_bytes()
}

fn replace_at(value: &mut Value, pointer: &str, with: Value) {
    if let Some(slot) = value.pointer_mut(pointer) {
        *slot = with;
    }
}

const HUGE_NUMBERS: [&str; 7] = [
    "123456789012345678901234567890",
    "-9223372036854775809",
    "18446744073709551616",
    "1e400",
    "-1e400",
    "4.9e-400",
    "99999999999999999999999999999999999999999999.5",
];

/// A mutated copy of `valid` as bytes.
fn mutate(valid: &Value, mutation: Mutation, rng: &mut fastrand::Rng) -> Vec<u8> {
    match mutation {
        Mutation::Truncated => {
            let bytes = serde_json::to_vec(valid).unwrap();
            bytes[..rng.usize(..bytes.len().max(1))].to_vec()
        }
        Mutation::Retyped => {
            let mut value = valid.clone();
            if let Some(at) = pick_pointer(&value, rng, |_| true) {
                let replacement = match rng.usize(..7) {
                    0 => json!(null),
                    1 => json!(true),
                    2 => json!(-17),
                    3 => json!(2.5),
                    4 => json!("retyped"),
                    5 => json!([1, "two", null]),
                    _ => json!({ "unexpected": {} }),
                };
                replace_at(&mut value, &at, replacement);
            }
            serde_json::to_vec(&value).unwrap()
        }
        Mutation::Deepened => match pick_pointer(valid, rng, |_| true) {
            Some(at) => {
                let inner = valid.pointer(&at).cloned().unwrap_or(Value::Null);
                let text = serde_json::to_string(&inner).unwrap();
                let (open, close) = if rng.bool() {
                    ("[", "]")
                } else {
                    ("{\"k\":", "}")
                };
                let deep = format!(
                    "{}{text}{}",
                    open.repeat(DEEPEN_LEVELS),
                    close.repeat(DEEPEN_LEVELS)
                );
                splice(valid, &at, &deep)
            }
            None => serde_json::to_vec(valid).unwrap(),
        },
        Mutation::HugeNumber => {
            let at = pick_pointer(valid, rng, Value::is_number)
                .or_else(|| pick_pointer(valid, rng, |_| true));
            let huge = HUGE_NUMBERS[rng.usize(..HUGE_NUMBERS.len())];
            match at {
                Some(at) => splice(valid, &at, huge),
                None => huge.as_bytes().to_vec(),
            }
        }
        Mutation::Amplified => {
            let element = if rng.bool() { "{}" } else { "[]" };
            let list = format!(
                "[{}{element}]",
                format!("{element},").repeat(AMPLIFIED_ELEMENTS)
            );
            // A list of the answer when it has one (often the answer itself).
            match pick_pointer(valid, rng, Value::is_array) {
                Some(at) => splice(valid, &at, &list),
                None => list.into_bytes(),
            }
        }
        Mutation::LoneSurrogate => match pick_pointer(valid, rng, Value::is_string) {
            Some(at) => {
                let text = valid
                    .pointer(&at)
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let cut = serde_json::to_string(text).unwrap();
                let surrogate = if rng.bool() { "\\ud83d" } else { "\\udc00" };
                // Inside the string, after its opening quote.
                splice(valid, &at, &format!("\"{surrogate}{}", &cut[1..]))
            }
            None => serde_json::to_vec(valid).unwrap(),
        },
        Mutation::InvalidUtf8 => {
            let mut bytes = serde_json::to_vec(valid).unwrap();
            // Inside a string when there is one (the decoder must check), else anywhere.
            let quotes: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == b'"').collect();
            let at = if quotes.is_empty() {
                rng.usize(..=bytes.len())
            } else {
                quotes[rng.usize(..quotes.len())] + 1
            };
            let invalid: &[u8] = match rng.usize(..4) {
                0 => &[0xff],
                1 => &[0xc3, 0x28],
                2 => &[0xed, 0xa0, 0x80],
                _ => &[0xf0, 0x28, 0x8c],
            };
            bytes.splice(
                at.min(bytes.len())..at.min(bytes.len()),
                invalid.iter().copied(),
            );
            bytes
        }
    }
}

struct Target {
    path: String,
    request: Vec<u8>,
    response_schema: Value,
}

fn targets(spec: &Spec, rng: &mut fastrand::Rng) -> (Vec<Target>, Vec<String>) {
    let mut targets = Vec::new();
    let mut skipped = Vec::new();
    for (path, item) in spec.doc["paths"].as_object().unwrap() {
        for operation in item.as_object().unwrap().values() {
            let path = path.trim_start_matches('/').to_owned();
            let multipart = operation
                .pointer("/requestBody/content/multipart~1form-data")
                .is_some();
            let schema = operation.pointer("/responses/200/content/application~1json/schema");
            match schema {
                Some(schema) if !multipart => targets.push(Target {
                    request: serde_json::to_vec(&spec.request(operation, rng)).unwrap(),
                    response_schema: schema.clone(),
                    path,
                }),
                _ => skipped.push(path),
            }
        }
    }
    (targets, skipped)
}

#[test]
fn every_response_type_survives_mutated_bodies() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let pinned =
        cloudtower_codegen::pinned::find_pinned_spec(&root).unwrap_or_else(|e| panic!("{e}"));
    let doc: Value = serde_json::from_slice(&std::fs::read(&pinned.merged_file).unwrap()).unwrap();
    let spec = Spec { doc };
    let bodies: usize = std::env::var("CLOUDTOWER_FUZZ_BODIES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_BODIES);

    // `call_operation` is one large async match: a debug build needs far more than a tokio
    // worker's stack, so the client runs on a thread of its own with room to spare.
    let report = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || fuzz(&spec, bodies))
        .unwrap()
        .join()
        .expect("the client panicked");
    let Report {
        per_operation,
        per_mutation,
        response_types,
        skipped,
        failures,
        seconds,
        decoded_ok,
    } = report;
    let total: usize = per_operation.values().sum();
    let fewest = per_operation.values().min().copied().unwrap_or(0);
    let most = per_operation.values().max().copied().unwrap_or(0);
    eprintln!(
        "response_fuzz: {total} bodies to {} operations ({} distinct response schemas), \
         {fewest}..{most} per operation, {decoded_ok} decoded despite the mutation, in {seconds:.1} s \
         ({:.0} bodies/s); per mutation: {per_mutation:?}; not driven (multipart uploads, \
         no JSON answer): {skipped:?}",
        per_operation.len(),
        response_types,
        total as f64 / seconds
    );
    assert!(
        failures.is_empty(),
        "{} bodies gave an untyped result:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(total >= bodies, "{total} bodies sent");
}

struct Report {
    per_operation: BTreeMap<String, usize>,
    per_mutation: BTreeMap<String, usize>,
    response_types: usize,
    skipped: Vec<String>,
    failures: Vec<String>,
    seconds: f64,
    decoded_ok: usize,
}

fn fuzz(spec: &Spec, bodies: usize) -> Report {
    let mut rng = fastrand::Rng::with_seed(SEED);
    let (targets, skipped) = targets(spec, &mut rng);
    let response_types: BTreeSet<String> = targets
        .iter()
        .map(|t| t.response_schema.to_string())
        .collect();
    let error_schema = json!({ "$ref": "#/components/schemas/ErrorBody" });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let answer = Arc::new(Mutex::new(Answer::default()));
        let serving = answer.clone();
        let app = axum::Router::new().fallback(move || {
            let answer = serving.lock().unwrap().clone();
            async move {
                let status = StatusCode::from_u16(answer.status).unwrap();
                (status, [("content-type", "application/json")], answer.body).into_response()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let client = Client::builder(url)
            .api_key("fuzz")
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();

        let started = Instant::now();
        let mut per_operation: BTreeMap<String, usize> = BTreeMap::new();
        let mut per_mutation: BTreeMap<String, usize> = BTreeMap::new();
        let mut failures = Vec::new();
        let mut decoded_ok = 0;
        let mut valid_cache: Vec<Option<Value>> = vec![None; targets.len()];
        for n in 0..bodies {
            let index = n % targets.len();
            let target = &targets[index];
            let error_answer = n % ERROR_ANSWER_EVERY == ERROR_ANSWER_EVERY - 1;
            // A fresh valid instance now and then, so mutations meet varied shapes.
            if valid_cache[index].is_none() || rng.usize(..8) == 0 {
                valid_cache[index] =
                    Some(spec.instance(&target.response_schema, 0, true, &mut rng));
            }
            let valid = if error_answer {
                spec.instance(&error_schema, 0, true, &mut rng)
            } else {
                valid_cache[index].clone().unwrap()
            };
            let mutation = MUTATIONS[rng.usize(..MUTATIONS.len())];
            let body = mutate(&valid, mutation, &mut rng);
            let status = if error_answer {
                [400, 404, 500][rng.usize(..3)]
            } else {
                200
            };
            *answer.lock().unwrap() = Answer {
                status,
                body: Bytes::from(body.clone()),
            };
            let result = client.call_operation(&target.path, &target.request).await;
            *per_operation.entry(target.path.clone()).or_default() += 1;
            *per_mutation.entry(format!("{mutation:?}")).or_default() += 1;
            let typed = match (&result, error_answer) {
                (Ok(_), false) => {
                    decoded_ok += 1;
                    true
                }
                (Err(error), false) => matches!(
                    error.kind(),
                    ErrorKind::Response(ResponseError::Decode { .. })
                ),
                (Err(error), true) => matches!(
                    error.kind(),
                    ErrorKind::Service(refusal) if refusal.status() == status
                ),
                _ => false,
            };
            if !typed {
                failures.push(format!(
                    "{} ({mutation:?}, HTTP {status}): {:?}; body {}",
                    target.path,
                    result.map(|_| "decoded"),
                    String::from_utf8_lossy(&body[..body.len().min(300)])
                ));
            }
        }
        server.abort();
        Report {
            per_operation,
            per_mutation,
            response_types: response_types.len(),
            skipped,
            failures,
            seconds: started.elapsed().as_secs_f64(),
            decoded_ok,
        }
    })
}
