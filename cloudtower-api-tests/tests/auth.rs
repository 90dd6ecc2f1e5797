//! Signing in with a password, and signing in again when the session expires.
use crate::common;

use std::time::Duration;

use cloudtower_api::models::{GetVmsRequestBody, MfaType, UserSource};
use cloudtower_api::{Client, PasswordLogin};
use common::{tower, Log, Reply};
use serde_json::json;

const LOGIN: &str = "/v2/api/login";

/// A tower that accepts `admin`/`pw` and issues `token-1`, `token-2`, … Only the newest
/// token is valid, so calls made before a re-login answer 401.
async fn login_tower(log: &Log) -> String {
    let log_for_replies = log.clone();
    tower(log.clone(), move |seen, n| {
        if seen.path == LOGIN {
            return match (seen.body["username"].as_str(), seen.body["password"].as_str()) {
                (Some("admin"), Some("pw")) => {
                    Reply::ok(json!({"task_id": null, "data": {"token": format!("token-{}", n + 1)}}))
                        .after(Duration::from_millis(50))
                }
                _ => Reply::json(
                    400,
                    json!({"message": "invalid username or password", "status": 400, "path": LOGIN}),
                ),
            };
        }
        let logins = log_for_replies.count(LOGIN);
        let current = format!("token-{logins}");
        if seen.header("authorization") == Some(current.as_str()) {
            Reply::ok(json!([]))
        } else {
            Reply::json(401, json!({"message": "unauthorized", "status": 401, "path": seen.path}))
        }
    })
    .await
}

#[tokio::test]
async fn sign_in_sends_the_login_input_and_then_the_token() {
    let log = Log::default();
    let client = Client::new(&login_tower(&log).await).unwrap();
    let login = PasswordLogin::new("admin", "pw")
        .source(UserSource::Ldap)
        .auth_config_id("ldap-1")
        .mfa_type(MfaType::Mail);
    client.sign_in(login).await.unwrap();
    assert!(client.is_authenticated());
    client.get_vms(&GetVmsRequestBody::default()).await.unwrap();

    let seen = log.all();
    assert_eq!(
        seen[0].body,
        json!({"username": "admin", "password": "pw", "source": "LDAP",
               "auth_config_id": "ldap-1", "mfa_type": "Mail"})
    );
    assert_eq!(seen[0].header("authorization"), None);
    // Then the tower's version, which needs no credentials.
    assert_eq!(seen[1].path, "/v2/api/get-version");
    assert_eq!(seen[1].header("authorization"), None);
    assert_eq!(seen[2].header("authorization"), Some("token-1"));
}

#[tokio::test]
async fn a_wrong_password_is_an_error_and_leaves_the_client_signed_out() {
    let log = Log::default();
    let client = Client::new(&login_tower(&log).await).unwrap();
    let err = client
        .sign_in(PasswordLogin::new("admin", "wrong"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(
        err.error_body().unwrap().message,
        "invalid username or password"
    );
    assert!(!client.is_authenticated());
    // Without credentials a 401 is returned as it is, with no login attempt.
    let err = client
        .get_vms(&GetVmsRequestBody::default())
        .await
        .unwrap_err();
    assert!(err.is_unauthorized());
    assert_eq!(log.count(LOGIN), 1);
}

#[tokio::test]
async fn an_expired_session_is_renewed_once_for_all_concurrent_calls() {
    let log = Log::default();
    let url = login_tower(&log).await;
    let client = Client::new(&url).unwrap();
    client
        .sign_in(PasswordLogin::new("admin", "pw"))
        .await
        .unwrap();
    // Another client logging in as the same user invalidates our token-1.
    let other = Client::new(&url).unwrap();
    other
        .sign_in(PasswordLogin::new("admin", "pw"))
        .await
        .unwrap();

    let calls = (0..6).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.get_vms(&GetVmsRequestBody::default()).await })
    });
    for result in futures_util::future::join_all(calls).await {
        result.unwrap().unwrap();
    }
    // One sign-in each, plus exactly one re-login shared by the six calls.
    assert_eq!(log.count(LOGIN), 3);
    let last_login = log.all().iter().rposition(|s| s.path == LOGIN).unwrap();
    assert!(log.all()[last_login..]
        .iter()
        .skip(1)
        .all(|s| s.header("authorization") == Some("token-3")));
}

#[tokio::test]
async fn the_password_is_not_in_debug_output() {
    let login = PasswordLogin::new("admin", "hunter2-secret").source(UserSource::Local);
    let debug = format!("{login:?}");
    assert!(
        debug.contains("admin") && !debug.contains("hunter2"),
        "{debug}"
    );
}
