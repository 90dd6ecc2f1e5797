//! TLS against a tower with a self-signed certificate made by the test.

use crate::common;
use cloudtower_runtime::error::{DispatchError, ErrorKind};

use axum::routing::post;
use axum::Router;
use cloudtower_runtime::client::ApiRequest;
use cloudtower_runtime::{Client, Error, RetryPolicy};
use serde_json::{json, Value};

/// Serves `get-vms` over HTTPS with a fresh self-signed certificate for 127.0.0.1; returns
/// the endpoint and the certificate (PEM).
async fn https_tower() -> (String, String) {
    let router = Router::new().route(
        "/v2/api/get-vms",
        post(|| async { axum::Json(json!([{"id": "vm-1"}])) }),
    );
    common::serve_https(router).await
}

async fn get_vms(client: &Client) -> Result<Value, Error> {
    client
        .execute(ApiRequest::json("get-vms", &json!({})))
        .await?
        .decode()
}

#[tokio::test]
async fn self_signed_certificates_are_rejected_by_default() {
    let (url, _) = https_tower().await;
    let client = Client::builder(&url)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = get_vms(&client).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Dispatch(DispatchError::Transport(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_trusted_root_certificate_makes_the_tower_reachable() {
    let (url, pem) = https_tower().await;
    let client = Client::builder(&url)
        .root_certificate_pem(pem)
        .build()
        .unwrap();
    assert_eq!(get_vms(&client).await.unwrap(), json!([{"id": "vm-1"}]));
}

#[tokio::test]
async fn accepting_invalid_certificates_is_an_explicit_opt_in() {
    let (url, _) = https_tower().await;
    let client = Client::builder(&url)
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    assert_eq!(get_vms(&client).await.unwrap(), json!([{"id": "vm-1"}]));
}

#[tokio::test]
async fn a_certificate_for_another_tower_is_rejected() {
    let (url, _) = https_tower().await;
    let (_, other_pem) = https_tower().await;
    let client = Client::builder(&url)
        .root_certificate_pem(other_pem)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    assert!(get_vms(&client).await.is_err());
}
