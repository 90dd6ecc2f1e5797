//! The codec's bounds against hostile or faulty JSON: nesting depth (a typed error on a thread
//! with a 2 MiB stack, never a stack overflow), integers beyond 64 bits, and numbers JSON
//! cannot carry (NaN, infinities) refused before anything is sent.

use crate::common;
use cloudtower_api::error::{ConstructionError, ErrorKind};

use cloudtower_api::client::ApiRequest;
use cloudtower_api::codec::{self, DecodeError, DecodeOptions};
use cloudtower_api::error::ErrorBody;
use cloudtower_api::models::{GetVmsRequestBody, Task, Vm, VmWhereInput};
use cloudtower_api::{Client, Nullable};
use common::{tower, Log, Reply};
use serde_json::{json, Value};

const DEEP: usize = 1_000_000;

/// `prefix` + `[` x depth + `]` x depth + `suffix`.
fn nested(prefix: &str, depth: usize, suffix: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(prefix.len() + 2 * depth + suffix.len());
    body.extend_from_slice(prefix.as_bytes());
    body.resize(body.len() + depth, b'[');
    body.resize(body.len() + depth, b']');
    body.extend_from_slice(suffix.as_bytes());
    body
}

/// Runs `f` on a thread with a 2 MiB stack (a tokio worker's), as a server's answer would be
/// decoded; a stack overflow aborts the test process.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

fn assert_too_deep(error: &DecodeError) {
    assert!(
        error.message().contains("nested too deeply")
            || error.message().contains("recursion limit"),
        "{error}"
    );
}

#[test]
fn a_million_levels_in_a_free_form_field_is_an_error_not_a_stack_overflow() {
    let error = on_small_stack(|| {
        let body = nested(r#"{"message":"boom","props":"#, DEEP, "}");
        codec::decode::<ErrorBody>(&body).unwrap_err()
    });
    assert_too_deep(&error);
    assert!(error.path().starts_with("/props/0/0/0"), "{}", error.path());
    // Where the limit is: the 129th array, counting the ErrorBody object as the first level.
    assert_eq!(error.offset(), r#"{"message":"boom","props":"#.len() + 127);
}

#[test]
fn a_million_levels_in_a_vec_and_in_task_args_is_an_error() {
    let (in_vec, in_task) = on_small_stack(|| {
        let in_vec = codec::decode::<Vec<Value>>(&nested("", DEEP, "")).unwrap_err();
        let body = nested(r#"[{"id":"t-1","args":"#, DEEP, "}]");
        let in_task = codec::decode::<Vec<Task>>(&body).unwrap_err();
        (in_vec, in_task)
    });
    assert_too_deep(&in_vec);
    assert_too_deep(&in_task);
    assert!(
        in_task.path().starts_with("/0/args/0/0"),
        "{}",
        in_task.path()
    );
}

#[test]
fn a_million_levels_under_an_unknown_key_is_an_error() {
    let error = on_small_stack(|| {
        let body = nested(r#"[{"id":"vm-1","from_a_newer_tower":"#, DEEP, "}]");
        codec::decode::<Vec<Vm>>(&body).unwrap_err()
    });
    assert_too_deep(&error);
}

#[test]
fn the_depth_limit_is_configurable_and_counts_every_array_and_object() {
    let at_limit = nested("", 128, "");
    assert!(codec::decode::<Value>(&at_limit).is_ok());
    assert_too_deep(&codec::decode::<Value>(&nested("", 129, "")).unwrap_err());
    let shallow = DecodeOptions::default().max_depth(3);
    assert!(codec::decode_with_options::<Value>(br#"[{"a":[]}]"#, &shallow).is_ok());
    assert_too_deep(
        &codec::decode_with_options::<Value>(br#"[{"a":[[]]}]"#, &shallow).unwrap_err(),
    );
    // Siblings do not add up: only open arrays and objects count.
    let wide = format!("[{}]", vec!["[[]]"; 1000].join(","));
    assert!(codec::decode_with_options::<Value>(wide.as_bytes(), &shallow).is_ok());
    // A raised limit needs a stack to match (unoptimised builds use several KB per level),
    // and a stack budget to match.
    let deep_enough = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            let deeper = DecodeOptions::default()
                .max_depth(1000)
                .max_stack_bytes(128 << 20);
            codec::decode_with_options::<Value>(&nested("", 1000, ""), &deeper).is_ok()
        })
        .unwrap()
        .join()
        .unwrap();
    assert!(deep_enough);
    // Strict mode is an option too.
    let strict = DecodeOptions::default().strict(true);
    assert!(codec::decode_with_options::<Vec<Vm>>(br#"[{"id":"vm-1"}]"#, &strict).is_err());
    assert!(codec::decode::<Vec<Vm>>(br#"[{"id":"vm-1"}]"#).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deeply_nested_error_answer_gives_a_status_error() {
    let deep = String::from_utf8(nested(r#"{"message":"boom","props":"#, DEEP, "}")).unwrap();
    let url = tower(Log::default(), move |_, _| Reply::text(500, &deep)).await;
    let client = Client::builder(url).api_key("key").build().unwrap();
    // Decoded on a tokio worker thread (2 MiB of stack).
    let error = tokio::spawn(async move {
        client
            .execute(ApiRequest::json("get-vms", &json!({})))
            .await
            .map(|_| ())
    })
    .await
    .unwrap()
    .unwrap_err();
    assert_eq!(error.status(), Some(500));
    // Too deep to be read as an ErrorBody; the raw body is kept up to the error-body bound.
    assert!(error.error_body().is_none());
    let kept = cloudtower_api::client::DEFAULT_MAX_ERROR_BODY_BYTES as usize;
    assert_eq!(
        error.raw_body().map(<[u8]>::len),
        Some(kept.min(2 * DEEP + 27))
    );
}

#[test]
fn integers_beyond_64_bits_are_kept_in_free_form_json() {
    let text = br#"{"big":123456789012345678901234567890,"neg":-9223372036854775809,
        "u64":18446744073709551615,"i64":-9223372036854775808,"huge":1e400,"f":2.5}"#;
    let value: Value = codec::decode(text).unwrap();
    assert_eq!(value["big"], json!("123456789012345678901234567890"));
    assert_eq!(value["neg"], json!("-9223372036854775809"));
    assert_eq!(value["u64"], json!(u64::MAX));
    assert_eq!(value["i64"], json!(i64::MIN));
    assert_eq!(value["huge"], json!("1e400"));
    assert_eq!(value["f"], json!(2.5));

    // In an error body's props, as a tower would send them.
    let body: ErrorBody =
        codec::decode(br#"{"message":"x","props":{"id":99999999999999999999999}}"#).unwrap();
    assert_eq!(body.props.unwrap()["id"], json!("99999999999999999999999"));
}

#[test]
fn integers_beyond_64_bits_are_floats_in_float_fields_and_errors_in_integer_fields() {
    let vm = |field: &str, number: &str| format!(r#"[{{"id":"vm-1","{field}":{number}}}]"#);
    let vms: Vec<Vm> =
        codec::decode(vm("cpu_usage", "123456789012345678901234567890").as_bytes()).unwrap();
    assert_eq!(vms[0].cpu_usage, Some(1.2345678901234568e29));

    let error = codec::decode::<Vec<Vm>>(vm("memory", "123456789012345678901234567890").as_bytes())
        .unwrap_err();
    assert_eq!(error.path(), "/0/memory");
    assert!(error.message().contains("integer within range"), "{error}");
    let error = codec::decode::<Vec<Vm>>(vm("vcpu", "4294967296").as_bytes()).unwrap_err();
    assert_eq!(error.path(), "/0/vcpu");
}

fn where_cpu_usage_above(threshold: f64) -> GetVmsRequestBody {
    GetVmsRequestBody {
        r#where: VmWhereInput {
            cpu_usage_gt: Nullable::Value(threshold),
            ..Default::default()
        }
        .into(),
        ..Default::default()
    }
}

#[test]
fn nan_and_infinities_are_refused_on_encode() {
    for number in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let error = codec::try_encode(&where_cpu_usage_above(number)).unwrap_err();
        assert!(error.value.is_nan() || error.value == number, "{error}");
        assert!(codec::try_encode(&Nullable::Value(number)).is_err());
    }
    assert_eq!(
        codec::try_encode(&where_cpu_usage_above(0.5)).unwrap(),
        br#"{"where":{"cpu_usage_gt":0.5}}"#
    );
}

#[tokio::test]
async fn a_request_with_nan_is_not_sent() {
    let log = Log::default();
    let url = tower(log.clone(), |_, _| Reply::ok(json!([]))).await;
    let client = Client::builder(url).api_key("key").build().unwrap();
    let error = client
        .get_vms(&where_cpu_usage_above(f64::NAN))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Construction(ConstructionError::Encode { .. })
        ) && error.operation() == Some("get-vms"),
        "{error}"
    );
    assert_eq!(log.all().len(), 0);
    // The same filter with a number is sent.
    client.get_vms(&where_cpu_usage_above(0.5)).await.unwrap();
    assert_eq!(log.all()[0].body, json!({"where": {"cpu_usage_gt": 0.5}}));
}
