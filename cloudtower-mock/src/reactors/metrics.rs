//! The metrics operations (`get-vm-metrics`, `get-host-metrics`, … every operation answering
//! `[task<Metric>]`): a plausible series per metric asked for and per resource the request's
//! filter selects, over the range asked for. Nothing for resources that do not exist.

use std::time::{SystemTime, UNIX_EPOCH};

use cloudtower_schema::Ty;
use serde_json::{json, Map, Value};

use super::generic::selected_ids;
use crate::json::strings;
use crate::state::{ApiError, Store};
use crate::table::{field_type, schema};

/// How many points a series has (at most): what a chart needs.
const POINTS: i64 = 30;

/// Whether `operation` is a metrics operation (its answer is `[task<Metric>]`).
pub(crate) fn serves(operation: &str) -> bool {
    schema()
        .operation(operation)
        .and_then(|op| op.response.as_ref())
        .is_some_and(|ty| ty.to_string() == "[task<Metric>]")
}

/// `1h`, `30m`, `7d`, `90s` (or a number of seconds) as seconds; an hour when unreadable.
fn range_seconds(range: &str) -> i64 {
    let range = range.trim();
    let (number, unit) = range.split_at(
        range
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(range.len()),
    );
    let n: i64 = number.parse().unwrap_or(1).clamp(1, 1_000_000);
    n.saturating_mul(match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        "" => 1,
        _ => 3600,
    })
}

/// The unit a metric's name implies, and the range of its values.
fn unit_of(metric: &str) -> (&'static str, f64, f64) {
    let m = metric.to_ascii_lowercase();
    if m.contains("percent") || m.contains("usage") || m.contains("util") {
        ("PERCENT", 5.0, 80.0)
    } else if m.contains("latency") || m.contains("_ns") {
        ("TIME", 100_000.0, 2_000_000.0)
    } else if m.contains("iops") {
        ("COUNT", 10.0, 5_000.0)
    } else if m.contains("bps") || m.contains("speed") || m.contains("throughput") {
        ("DATA_RATE_BYTE", 1.0e5, 1.0e8)
    } else if m.contains("bytes") || m.contains("size") || m.contains("capacity") {
        ("DATA_SIZE", 1.0e9, 1.0e11)
    } else if m.contains("temperature") {
        ("TEMPERATURE", 30.0, 70.0)
    } else {
        ("COUNT", 0.0, 100.0)
    }
}

/// A value in `low..high` that moves smoothly with `i`, different per series.
fn value(seed: u64, i: i64, low: f64, high: f64) -> f64 {
    let phase = (seed % 628) as f64 / 100.0;
    let wave = ((i as f64) / 5.0 + phase).sin() * 0.5 + 0.5;
    let value = low + (high - low) * wave;
    (value * 100.0).round() / 100.0
}

fn hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Answers a metrics operation.
pub(crate) fn answer(store: &mut Store, operation: &str, body: &Value) -> Result<Value, ApiError> {
    let request_type = schema()
        .operation(operation)
        .and_then(|op| op.request.as_ref())
        .and_then(Ty::named)
        .unwrap_or_default();
    // The resources measured: what the first filter of the request selects.
    let mut measured: Vec<(String, String)> = Vec::new();
    for field in schema().fields(request_type).unwrap_or(&[]) {
        let Some(filter) = field.ty.named() else {
            continue;
        };
        let Some(resource) = schema().resources.iter().find(|r| r.filter == filter) else {
            continue;
        };
        if let Some(selection) = body.get(&field.name).filter(|v| v.is_object()) {
            for id in selected_ids(store, &resource.name, selection)? {
                measured.push((resource.name.clone(), id));
            }
            break;
        }
    }
    let seconds = range_seconds(body["range"].as_str().unwrap_or("1h"));
    let step = (seconds / POINTS).max(20);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut answers = Vec::new();
    for metric in strings(&body["metrics"]) {
        let (unit, low, high) = unit_of(&metric);
        let streams: Vec<Value> = measured
            .iter()
            .map(|(resource, id)| {
                let mut labels = Map::new();
                labels.insert("metric_name".into(), metric.clone().into());
                let label = format!("_{}", crate::table::kebab(resource).replace('-', "_"));
                let key = if field_type("MetricLabel", &label).is_some() {
                    label
                } else {
                    "instance".to_owned()
                };
                labels.insert(key, id.clone().into());
                let seed = hash(&format!("{id}/{metric}"));
                let points: Vec<Value> = (0..POINTS.min(seconds / step + 1))
                    .map(|i| {
                        let t = (now - seconds + i * step) * 1000;
                        json!({"t": t, "v": value(seed, i, low, high)})
                    })
                    .collect();
                json!({"labels": labels, "points": points})
            })
            .collect();
        if streams.is_empty() {
            continue;
        }
        answers.push(json!({
            "task_id": null,
            "data": {"unit": unit, "step": step, "dropped": false, "sample_streams": streams},
        }));
    }
    Ok(Value::Array(answers))
}
