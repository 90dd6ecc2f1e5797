//! The builder's and the client's options against test towers on 127.0.0.1: the decode depth
//! limit, a reqwest builder of the user's, the per-call timeout, the transport error's
//! source, and trusting the OS certificate store.

use crate::common;
use cloudtower_api::error::{DispatchError, ErrorKind, ResponseError};

use std::time::{Duration, Instant};

use cloudtower_api::models::GetVmsRequestBody;
use cloudtower_api::{Client, PasswordLogin, RetryPolicy, TransportError};
use common::{tower, Log, Reply};
use serde_json::json;

const GET_VMS: &str = "/v2/api/get-vms";

/// `get-vms` answers a VM three levels deep (array, VM, cluster); every other call a 500
/// whose `ErrorBody.props` nests five levels.
fn nested(seen: &common::Seen, _: usize) -> Reply {
    if seen.path == GET_VMS {
        Reply::ok(json!([{ "id": "vm-1", "cluster": { "id": "cluster-1" } }]))
    } else {
        Reply::json(
            500,
            json!({ "message": "broken", "props": { "a": { "b": { "c": [1] } } } }),
        )
    }
}

#[tokio::test]
async fn the_decode_depth_limit_applies_to_answers_and_error_bodies() {
    let url = tower(Log::default(), nested).await;
    let build = |depth: Option<u32>| {
        let builder = Client::builder(&url).retry_policy(RetryPolicy::none());
        match depth {
            Some(depth) => builder.max_decode_depth(depth),
            None => builder,
        }
        .build()
        .unwrap()
    };

    // The default (128) takes both.
    let client = build(None);
    let vms = client.get_vms(&GetVmsRequestBody::default()).await.unwrap();
    assert_eq!(vms[0].cluster.as_ref().unwrap().id, "cluster-1");
    let err = client.delete_vm(&Default::default()).await.unwrap_err();
    assert_eq!(err.error_body().unwrap().message, "broken");
    assert!(err.error_body().unwrap().props.is_some());

    // Two levels: the VM's cluster is one too many, and so is the error body's `props`.
    let client = build(Some(2));
    let err = client
        .get_vms(&GetVmsRequestBody::default())
        .await
        .unwrap_err();
    match err.kind() {
        ErrorKind::Response(ResponseError::Decode { source, .. }) => {
            assert_eq!(source.path(), "/0/cluster");
            assert!(source.message().contains("nested too deeply"), "{source}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    let err = client.delete_vm(&Default::default()).await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert!(err.error_body().is_none(), "{err:?}");
    assert!(err.raw_body().unwrap().starts_with(b"{\"message\""));
}

#[tokio::test]
async fn a_transport_error_keeps_reqwest_only_as_its_source() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder(format!("http://127.0.0.1:{port}"))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client
        .get_vms(&GetVmsRequestBody::default())
        .await
        .unwrap_err();
    let ErrorKind::Dispatch(DispatchError::Transport(source)) = err.kind() else {
        panic!("expected a transport error, got {err:?}");
    };
    assert_eq!(err.operation(), Some("get-vms"));
    assert!(source.is_connect());
    assert!(err.is_retryable());
    let transport = std::error::Error::source(&err).unwrap();
    assert!(transport.downcast_ref::<TransportError>().is_some());
    let reqwest = transport.source().unwrap();
    assert!(
        reqwest.downcast_ref::<reqwest::Error>().is_some(),
        "{reqwest:?}"
    );
}

#[tokio::test]
async fn a_users_reqwest_builder_is_used_and_redirects_are_still_refused() {
    let elsewhere = Log::default();
    let other_host = tower(elsewhere.clone(), |_, _| {
        Reply::ok(json!({ "token": "stolen" }))
    })
    .await;
    // The tower answers the login with a 307 to another host (as a hostile proxy in front of
    // it could), and everything else with `[]`.
    let log = Log::default();
    let router = axum::Router::new().fallback({
        let log = log.clone();
        move |request: axum::extract::Request| async move {
            let path = request.uri().path().to_owned();
            let headers = request.headers().clone();
            let body = axum::body::to_bytes(request.into_body(), usize::MAX)
                .await
                .unwrap();
            log.push(&path, &headers, &body);
            let answer = axum::response::Response::builder();
            let answer = if path == "/v2/api/login" {
                answer
                    .status(307)
                    .header("location", format!("{other_host}/v2/api/login"))
            } else {
                answer
                    .status(200)
                    .header("content-type", "application/json")
            };
            answer.body(axum::body::Body::from("[]")).unwrap()
        }
    });
    let url = common::serve(router).await;

    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-team", "storage".parse().unwrap());
    // A builder that would follow redirects (reqwest's default: ten hops).
    let http = reqwest::Client::builder().default_headers(headers);
    let client = Client::builder(&url)
        .http_client_builder(http)
        .user_agent("my-tool/2.0")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();

    client.get_vms(&GetVmsRequestBody::default()).await.unwrap();
    let seen = log.all();
    assert_eq!(seen[0].header("x-team"), Some("storage"));
    assert_eq!(seen[0].header("user-agent"), Some("my-tool/2.0"));

    let err = client
        .sign_in(PasswordLogin::new("admin", "secret"))
        .await
        .unwrap_err();
    match err.kind() {
        ErrorKind::Response(ResponseError::Redirect {
            status: 307,
            location: Some(location),
            ..
        }) => assert!(location.ends_with("/v2/api/login"), "{location}"),
        other => panic!("expected the redirect refused, got {other:?}"),
    }
    assert!(
        elsewhere.all().is_empty(),
        "the password went to another host"
    );
    assert!(!client.is_authenticated());
}

#[tokio::test]
async fn a_call_timeout_bounds_the_whole_call_retries_included() {
    let log = Log::default();
    let url = tower(log.clone(), |_, _| {
        Reply::json(503, json!({ "message": "restarting" })).after(Duration::from_millis(100))
    })
    .await;
    let client = Client::builder(&url)
        .retry_policy(RetryPolicy {
            max_retries: 50,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(50),
        })
        .build()
        .unwrap();

    // The generated methods take the option through the client they are called on.
    let started = Instant::now();
    let err = client
        .with_call_timeout(Duration::from_millis(500))
        .get_vms(&GetVmsRequestBody::default())
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    match err.kind() {
        ErrorKind::Timeout(timed_out) => {
            assert_eq!(err.operation(), Some("get-vms"));
            assert_eq!(timed_out.timeout, Duration::from_millis(500));
        }
        other => panic!("expected the call to time out, got {other:?}"),
    }
    assert!(err.is_timeout() && err.is_retryable());
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    // Each attempt takes 100-150 ms: a few were made, not the 51 the retry policy allows.
    let attempts = log.count(GET_VMS);
    assert!((2..=6).contains(&attempts), "{attempts} attempts");

    // The client it was derived from has no such bound: its call ends when retries run out.
    let client = Client::builder(&url)
        .retry_policy(RetryPolicy {
            max_retries: 1,
            ..RetryPolicy::default()
        })
        .build()
        .unwrap()
        .with_call_timeout(Duration::from_secs(30));
    let err = client
        .get_vms(&GetVmsRequestBody::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
}

#[cfg(feature = "native-roots")]
mod native_roots {
    use super::*;

    async fn https_tower() -> (String, String) {
        let router = axum::Router::new().route(
            GET_VMS,
            axum::routing::post(|| async { axum::Json(json!([{ "id": "vm-1" }])) }),
        );
        common::serve_https(router).await
    }

    #[tokio::test]
    async fn the_os_store_is_trusted_besides_the_given_roots_not_instead_of_checks() {
        let (url, pem) = https_tower().await;
        // The OS store does not hold the test's fresh self-signed certificate.
        let client = Client::builder(&url)
            .tls_native_roots(true)
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        let err = client
            .get_vms(&GetVmsRequestBody::default())
            .await
            .unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Dispatch(DispatchError::Transport(_))),
            "{err:?}"
        );
        // Given roots still count.
        let client = Client::builder(&url)
            .tls_native_roots(true)
            .root_certificate_pem(pem)
            .build()
            .unwrap();
        let vms = client.get_vms(&GetVmsRequestBody::default()).await.unwrap();
        assert_eq!(vms[0].id, "vm-1");
    }
}
