//! Credentials never show in `Debug` output or logs; requests are traced with what
//! support needs (operation, status, request id).

use crate::common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use cloudtower_runtime::client::ApiRequest;
use cloudtower_runtime::{Authenticator, Client, Error, Secret};
use common::{tower, Log, Reply};
use futures_util::future::BoxFuture;
use serde_json::{json, Value};

const API_KEY: &str = "api-key-s3cr3t";
const FRESH_TOKEN: &str = "token-fr3sh-s3cr3t";
const PASSWORD: &str = "p4ssw0rd-s3cr3t";

/// Collects everything the tracing subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct PasswordLogin;

impl Authenticator for PasswordLogin {
    fn authenticate<'a>(
        &'a self,
        client: &'a cloudtower_runtime::client::Client,
    ) -> BoxFuture<'a, Result<Secret, Error>> {
        Box::pin(async move {
            let body = json!({"username": "admin", "password": PASSWORD});
            let answer: Value = client
                .execute(ApiRequest::json("login", &body))
                .await?
                .decode()?;
            Ok(Secret::new(
                answer["data"]["token"].as_str().unwrap_or_default(),
            ))
        })
    }
}

fn assert_no_secret(text: &str) {
    for secret in [API_KEY, FRESH_TOKEN, PASSWORD] {
        assert!(!text.contains(secret), "{secret} leaked in: {text}");
    }
}

#[tokio::test]
async fn secrets_stay_out_of_logs_and_debug_output() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let url = tower(Log::default(), |s, _| match s.path.as_str() {
        "/v2/api/login" => Reply::ok(json!({"data": {"token": FRESH_TOKEN}})),
        // A login-like answer that does not decode still carries the token.
        "/v2/api/get-session" => Reply::ok(json!({"data": {"token": FRESH_TOKEN, "n": "x"}})),
        _ if s.header("authorization") == Some(FRESH_TOKEN) => Reply::ok(json!([])),
        _ => Reply::json(
            401,
            json!({"message": "expired", "status": 401, "path": "x"}),
        ),
    })
    .await;
    let builder = Client::builder(&url).api_key(API_KEY);
    assert_no_secret(&format!("{builder:?}"));
    let client = builder.build().unwrap();
    assert_no_secret(&format!("{client:?}"));
    client.set_authenticator(Arc::new(PasswordLogin));

    client
        .execute(ApiRequest::json("get-vms", &json!({})))
        .await
        .unwrap();
    assert_no_secret(&format!("{client:?}"));

    #[derive(Debug, Default)]
    struct Session {
        _n: i64,
    }
    impl cloudtower_runtime::codec::Decode for Session {
        fn decode(
            d: &mut cloudtower_runtime::codec::Decoder<'_>,
        ) -> Result<Self, cloudtower_runtime::codec::DecodeError> {
            Err(d.invalid("never decodes"))
        }
    }
    let err = client
        .execute(ApiRequest::json("get-session", &json!({})))
        .await
        .unwrap()
        .decode::<Session>()
        .unwrap_err();
    let debug = format!("{err:?} {err}");
    assert_no_secret(&debug);
    assert!(
        debug.contains("get-session") && debug.contains("<redacted>"),
        "{debug}"
    );
    // The raw body itself is still there for whoever needs it.
    assert!(String::from_utf8_lossy(err.raw_body().unwrap()).contains(FRESH_TOKEN));
    assert_eq!(format!("{:?}", Secret::new(PASSWORD)), "Secret(<redacted>)");

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_no_secret(&logs);
    // The request spans carry what support asks for.
    assert!(logs.contains("operation=\"get-vms\""), "{logs}");
    // Named as OpenTelemetry's HTTP conventions name them.
    assert!(
        logs.contains("http.response.status_code=401")
            && logs.contains("http.response.status_code=200"),
        "{logs}"
    );
    assert!(
        logs.contains("http.response.header.x-tower-request-id=\"req-"),
        "{logs}"
    );
    assert!(logs.contains("http.request.method=\"POST\""), "{logs}");
    assert!(logs.contains("server.address=\"127.0.0.1\""), "{logs}");
    assert!(logs.contains("operation=\"login\""), "{logs}");
}
