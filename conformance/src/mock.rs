//! Phase `mock`: every operation of the spec against `cloudtower_mock::MockTower`, in-process,
//! with raw HTTP (no SDK types between the spec and the wire).
//!
//! Each operation gets a fresh tower (start-up is a thread and a seeded store: cheap), signs
//! in, and sends the generator's minimal request, validated against the original request
//! schema first. The answer must be `200` with a body valid against the operation's `200`
//! response schema of the original spec. A `400` or `404` refusing the request for what the
//! store holds is accepted and counted apart (listed in the report): it names something that
//! does not exist (the generator's ids name nothing), or the state of what the minimal
//! `where: {}` selected (every seed VM, some running, some stopped) forbids the change, as a
//! tower refuses it. `501`, any `5xx`, any other status and any invalid body fail.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::example::{Generator, Variant};
use crate::spec::OpSpec;
use crate::validate;
use crate::{truncate, Check, Ctx, Outcome};

pub const PHASE: &str = "mock (cloudtower-mock, in-process)";

/// The file part of every upload: its bytes, and `size` as the form gives it.
const UPLOAD_BYTES: &[u8] = b"cloudtower-conformance";

/// How an answer was judged, for the summary.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Valid,
    Refused,
    NotImplemented,
    ServerError,
    Invalid,
    Harness,
}

struct Judged {
    kind: Kind,
    outcome: Outcome,
    note: String,
    start_up: Duration,
}

pub async fn mock_phase(ctx: &Ctx) -> Vec<Check> {
    let phase_started = Instant::now();
    // By name, not `&OpSpec`: a closure over borrowed operations makes the phase's future
    // too general to prove `Send`, and the phase runs as a task of its own.
    let jobs: Vec<String> = ctx.ops.keys().cloned().collect();
    let mut judged: Vec<(&OpSpec, Judged)> = futures_util::stream::iter(jobs)
        .map(|path| async move {
            let op = &ctx.ops[&path];
            if ctx.out_of_time() {
                let judged = Judged {
                    kind: Kind::Harness,
                    outcome: Outcome::Fail("not run: the run's deadline passed".into()),
                    note: String::new(),
                    start_up: Duration::ZERO,
                };
                return (op, judged);
            }
            (op, one_operation(ctx, op).await)
        })
        .buffer_unordered(ctx.concurrency)
        .collect()
        .await;
    judged.sort_by(|a, b| a.0.path.cmp(&b.0.path));

    let count = |k: Kind| judged.iter().filter(|(_, j)| j.kind == k).count();
    let start_ups: Vec<Duration> = judged
        .iter()
        .map(|(_, j)| j.start_up)
        .filter(|d| !d.is_zero())
        .collect();
    let mean_start = start_ups.iter().sum::<Duration>() / (start_ups.len().max(1) as u32);
    println!(
        "conformance: {PHASE} done in {:.1}s: {} operations, {} answered 200 valid, {} answered \
         an acceptable refusal (names nothing that exists, or a state that forbids it), {} answered 501, {} answered \
         5xx, {} answered invalid (status or body), {} requests the harness could not make \
         valid; a fresh tower per operation (start-up and sign-in {:.1} ms on average)",
        phase_started.elapsed().as_secs_f64(),
        judged.len(),
        count(Kind::Valid),
        count(Kind::Refused),
        count(Kind::NotImplemented),
        count(Kind::ServerError),
        count(Kind::Invalid),
        count(Kind::Harness),
        mean_start.as_secs_f64() * 1000.0,
    );
    for (op, j) in judged.iter().filter(|(_, j)| j.kind == Kind::Refused) {
        println!("  mock: {} was refused (accepted): {}", op.path, j.note);
    }
    judged
        .into_iter()
        .map(|(op, j)| Check {
            op: op.path.clone(),
            phase: PHASE.into(),
            variant: match j.kind {
                Kind::Refused => "minimal, refusal accepted".into(),
                _ => "minimal".into(),
            },
            outcome: j.outcome,
        })
        .collect()
}

async fn one_operation(ctx: &Ctx, op: &OpSpec) -> Judged {
    let fail = |kind, message: String| Judged {
        kind,
        outcome: Outcome::Fail(message),
        note: String::new(),
        start_up: Duration::ZERO,
    };
    // The request, valid against the original schema before it is sent.
    let (request, multipart) = match (&op.request, &op.multipart) {
        (_, Some(schema)) => (upload_form(ctx, schema), true),
        (Some(schema), None) => {
            let mut request = Generator::new(&ctx.spec, Variant::Minimal).generate(schema);
            if op.path == "login" {
                // Generated credentials name no user: the mock's own sign in.
                if let Value::Object(m) = &mut request {
                    m.insert("username".into(), json!(cloudtower_mock::MOCK_USERNAME));
                    m.insert("password".into(), json!(cloudtower_mock::MOCK_PASSWORD));
                }
            }
            (request, false)
        }
        (None, None) => (Value::Null, false),
    };
    let checked =
        validate::off_workers(&ctx.mock_validator, |v| v.validate_request(op, &request, 3));
    match checked {
        Ok(errors) if errors.is_empty() => {}
        Ok(errors) => {
            return fail(
                Kind::Harness,
                format!(
                    "harness: the generated minimal request is invalid against the request \
                     schema: {}",
                    truncate(&errors.join("; "), 400)
                ),
            )
        }
        Err(e) => return fail(Kind::Harness, format!("harness: {e}")),
    }

    let started = Instant::now();
    let tower = match cloudtower_mock::MockTower::start().await {
        Ok(t) => t,
        Err(e) => {
            return fail(
                Kind::Harness,
                format!("harness: the mock did not start: {e}"),
            )
        }
    };
    let http = reqwest::Client::builder()
        .timeout(ctx.timeout)
        .build()
        .expect("http client");
    let base = format!("{}/v2/api", tower.url());
    let token = match sign_in(&http, &base).await {
        Ok(t) => t,
        Err(e) => return fail(Kind::Harness, format!("harness: signing in: {e}")),
    };
    let start_up = started.elapsed();

    let url = format!("{base}/{}", op.path);
    let builder = if op.method == "get" {
        let query: Vec<(String, String)> = request
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), as_form_text(v)))
            .collect();
        http.get(url).query(&query)
    } else if multipart {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in request.as_object().into_iter().flatten() {
            form = if name == "file" {
                form.part(
                    "file",
                    reqwest::multipart::Part::bytes(UPLOAD_BYTES).file_name("conformance.bin"),
                )
            } else {
                form.text(name.clone(), as_form_text(value))
            };
        }
        http.post(url).multipart(form)
    } else {
        http.post(url).json(&request)
    };
    let answer = builder.header("authorization", &token).send().await;
    let (status, body) = match answer {
        Ok(r) => {
            let status = r.status().as_u16();
            match r.bytes().await {
                Ok(b) => (status, b),
                Err(e) => {
                    return fail(
                        Kind::Invalid,
                        format!("HTTP {status}, reading the body: {e}"),
                    )
                }
            }
        }
        Err(e) => return fail(Kind::Invalid, format!("no answer: {e}")),
    };
    drop(http);
    tower.shutdown().await;

    let text = || truncate(&String::from_utf8_lossy(&body), 300);
    let mut judged = match status {
        200 => judge_200(ctx, op, &body),
        400 | 404 => {
            let error = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
            match error["props"]["mock_reason"].as_str() {
                Some(reason) if refused_for_the_store(reason) => Judged {
                    kind: Kind::Refused,
                    outcome: Outcome::Pass,
                    note: format!("{reason}: {}", error["message"].as_str().unwrap_or("")),
                    start_up,
                },
                _ => fail(Kind::Invalid, format!("HTTP {status}: {}", text())),
            }
        }
        501 => fail(Kind::NotImplemented, format!("HTTP 501: {}", text())),
        s if s >= 500 => fail(Kind::ServerError, format!("HTTP {s}: {}", text())),
        s => fail(Kind::Invalid, format!("HTTP {s}: {}", text())),
    };
    judged.start_up = start_up;
    judged
}

/// A `200`: its body is valid against the `200` response schema (any body, or none, when the
/// spec gives the answer no content).
fn judge_200(ctx: &Ctx, op: &OpSpec, body: &[u8]) -> Judged {
    let judged = |kind, outcome| Judged {
        kind,
        outcome,
        note: String::new(),
        start_up: Duration::ZERO,
    };
    if op.response.is_none() {
        return judged(Kind::Valid, Outcome::Pass);
    }
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return judged(
                Kind::Invalid,
                Outcome::Fail(format!(
                    "HTTP 200, the body is not JSON ({e}): {}",
                    truncate(&String::from_utf8_lossy(body), 200)
                )),
            )
        }
    };
    let checked =
        validate::off_workers(&ctx.mock_validator, |v| v.validate_response(op, &value, 3));
    match checked {
        Ok(errors) if errors.is_empty() => judged(Kind::Valid, Outcome::Pass),
        Ok(errors) => judged(
            Kind::Invalid,
            Outcome::Fail(format!(
                "HTTP 200, invalid against the 200 response schema: {}",
                truncate(&errors.join("; "), 600)
            )),
        ),
        Err(e) => judged(Kind::Harness, Outcome::Fail(format!("harness: {e}"))),
    }
}

/// `POST /v2/api/login` as the built-in user; the token, sent as `Authorization`.
async fn sign_in(http: &reqwest::Client, base: &str) -> Result<String, String> {
    let answer = http
        .post(format!("{base}/login"))
        .json(&json!({
            "username": cloudtower_mock::MOCK_USERNAME,
            "password": cloudtower_mock::MOCK_PASSWORD,
        }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = answer.status();
    let body: Value = answer.json().await.map_err(|e| e.to_string())?;
    body.pointer("/data/token")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("HTTP {status}, no data.token: {body}"))
}

/// The minimal form of an upload (its required fields), plus what a first chunk needs to be
/// one: `name`, and `size` in bytes matching the file part, where the form has them.
fn upload_form(ctx: &Ctx, schema: &Value) -> Value {
    let mut form = Generator::new(&ctx.spec, Variant::Minimal).generate(schema);
    let has = |name: &str| schema.pointer(&format!("/properties/{name}")).is_some();
    if let Value::Object(m) = &mut form {
        // The file part is sent as bytes; the validated form shows it as a string.
        m.insert("file".into(), Value::String(crate::calls::FILE_PART.into()));
        if has("name") {
            m.entry("name").or_insert(json!("conformance-upload"));
        }
        if has("size") {
            m.entry("size")
                .or_insert(json!(UPLOAD_BYTES.len().to_string()));
        }
        if has("size_unit") {
            m.entry("size_unit").or_insert(json!("BYTE"));
        }
    }
    form
}

/// A form field's or query parameter's text: strings as they are, anything else as JSON.
fn as_form_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether a refusal's reason (the mock's `ErrorBody.props.mock_reason`) is about the store
/// rather than the request's shape: it referred to something that does not exist, selected
/// nothing, or selected something whose state forbids it (`restart-vm` on a stopped VM).
fn refused_for_the_store(reason: &str) -> bool {
    matches!(
        reason,
        "NoSuchResource" | "NothingSelected" | "InvalidState"
    )
}
