//! A recording reverse proxy between the SDK client and the server under test.
//!
//! Each call gets its own session (a path prefix in the client's endpoint), so calls can run
//! concurrently: the proxy records the exact request the SDK sent, forwards it to Prism (or
//! answers with a body it was given), records the answer and can mutate a JSON answer before
//! the SDK decodes it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::example::{mutate as mutate_answer, Mutations};
use crate::spec::Spec;

#[derive(Clone)]
pub enum Action {
    /// Forward to this base URL (`http://127.0.0.1:4010`), with this `Prefer` header (Prism:
    /// `dynamic=true, seed=N`) when given; with `Some(schema)`, mutate the JSON answer against
    /// that response schema.
    Forward {
        base: String,
        prefer: Option<String>,
        mutate: Option<(Arc<Spec>, Value)>,
    },
    /// Answer 200 with this JSON body.
    Serve(Vec<u8>),
    /// Answer as the server under test answered an earlier call (its status, body and
    /// violations), mutated as `Forward` mutates: a second look at one answer costs the
    /// server nothing.
    Replay {
        answer: Upstream,
        mutate: Option<(Arc<Spec>, Value)>,
    },
}

#[derive(Clone, Debug, Default)]
pub struct Recorded {
    pub method: String,
    pub query: Option<String>,
    pub content_type: Option<String>,
    pub has_authorization: bool,
    pub body: Vec<u8>,
}

#[derive(Clone, Debug, Default)]
pub struct Upstream {
    pub status: u16,
    pub violations: Option<String>,
    pub body: Vec<u8>,
    pub mutations: Option<(usize, usize)>,
    pub error: Option<String>,
}

struct Session {
    action: Action,
    request: Option<Recorded>,
    upstream: Option<Upstream>,
}

#[derive(Clone)]
pub struct Proxy {
    sessions: Arc<Mutex<HashMap<u64, Session>>>,
    next: Arc<AtomicU64>,
    http: reqwest::Client,
    pub port: u16,
}

impl Proxy {
    pub async fn start(upstream_timeout: Duration) -> Result<Proxy, String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("proxy: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let http = reqwest::Client::builder()
            .timeout(upstream_timeout)
            // Node closes idle keep-alive connections after 5 s; a request racing that close
            // fails. A fresh loopback connection per request costs nothing here.
            .pool_max_idle_per_host(0)
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        let proxy = Proxy {
            sessions: Arc::default(),
            next: Arc::new(AtomicU64::new(1)),
            http,
            port,
        };
        let app = axum::Router::new()
            .route("/{session}/{*rest}", axum::routing::any(handle))
            .with_state(proxy.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(proxy)
    }

    /// Opens a session; the client's endpoint is the returned URL.
    pub fn open(&self, action: Action) -> (u64, String) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.sessions.lock().unwrap().insert(
            id,
            Session {
                action,
                request: None,
                upstream: None,
            },
        );
        (id, format!("http://127.0.0.1:{}/{id}", self.port))
    }

    /// Closes a session, returning what it recorded.
    pub fn close(&self, id: u64) -> (Option<Recorded>, Option<Upstream>) {
        match self.sessions.lock().unwrap().remove(&id) {
            Some(s) => (s.request, s.upstream),
            None => (None, None),
        }
    }
}

async fn handle(
    State(proxy): State<Proxy>,
    Path((session, rest)): Path<(u64, String)>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let recorded = Recorded {
        method: method.to_string(),
        query: query.clone(),
        content_type: header("content-type"),
        has_authorization: headers.contains_key("authorization"),
        body: body.to_vec(),
    };
    let action = {
        let mut sessions = proxy.sessions.lock().unwrap();
        let Some(s) = sessions.get_mut(&session) else {
            return (StatusCode::NOT_FOUND, "no such session").into_response();
        };
        s.request = Some(recorded);
        s.action.clone()
    };
    let (status, content_type, out, upstream) = match action {
        Action::Serve(bytes) => (
            200,
            "application/json".to_owned(),
            bytes.clone(),
            Upstream {
                status: 200,
                body: bytes,
                ..Default::default()
            },
        ),
        Action::Forward { .. } if unlabeled_file_part(&headers, &body) => {
            let message = "not forwarded: a multipart file part without Content-Type (RFC 7578 \
                           4.4: files SHOULD be labelled, application/octet-stream if unknown); \
                           Prism 5.16 crashes on it"
                .to_owned();
            let upstream = Upstream {
                error: Some(message.clone()),
                ..Default::default()
            };
            (502, "text/plain".to_owned(), message.into_bytes(), upstream)
        }
        Action::Forward {
            base,
            prefer,
            mutate: m,
        } => {
            let mut url = format!("{base}/{rest}");
            if let Some(q) = &query {
                url.push('?');
                url.push_str(q);
            }
            let send = || {
                let mut req = proxy.http.request(method.clone(), &url).body(body.clone());
                for name in [
                    "content-type",
                    "authorization",
                    "content-language",
                    "accept",
                ] {
                    if let Some(v) = headers.get(name) {
                        req = req.header(name, v);
                    }
                }
                if let Some(prefer) = &prefer {
                    req = req.header("prefer", prefer);
                }
                req.send()
            };
            // A connection-level failure (not a timeout: Prism never answers some malformed
            // requests) is tried again twice.
            let mut sent = send().await;
            for _ in 0..2 {
                match &sent {
                    Err(e) if !e.is_timeout() => {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        sent = send().await;
                    }
                    _ => break,
                }
            }
            match sent {
                Err(e) => {
                    let message = format!("no answer from the server under test: {e}");
                    let upstream = Upstream {
                        error: Some(message.clone()),
                        ..Default::default()
                    };
                    (504, "text/plain".to_owned(), message.into_bytes(), upstream)
                }
                Ok(resp) => {
                    let header = |name: &str| {
                        resp.headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned)
                    };
                    let violations = header("sl-violations");
                    let content_type =
                        header("content-type").unwrap_or_else(|| "application/json".to_owned());
                    let status = resp.status().as_u16();
                    let bytes = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                    let upstream = Upstream {
                        status,
                        violations,
                        body: bytes,
                        ..Default::default()
                    };
                    let (out, upstream) = answer(upstream, m);
                    (status, content_type, out, upstream)
                }
            }
        }
        Action::Replay {
            answer: earlier,
            mutate: m,
        } => {
            let status = earlier.status;
            let (out, upstream) = answer(earlier, m);
            (status, "application/json".to_owned(), out, upstream)
        }
    };
    if let Some(s) = proxy.sessions.lock().unwrap().get_mut(&session) {
        s.upstream = Some(upstream);
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    (
        status,
        [
            ("content-type", content_type),
            ("x-tower-request-id", format!("conformance-{session}")),
        ],
        out,
    )
        .into_response()
}

/// The body the client gets for the server's answer `upstream`: as it is, or with a 2xx JSON
/// answer mutated against the response schema `mutate` names (the mutations counted).
fn answer(mut upstream: Upstream, mutate: Option<(Arc<Spec>, Value)>) -> (Vec<u8>, Upstream) {
    let mut out = upstream.body.clone();
    if let (Some((spec, schema)), true) = (mutate, (200..300).contains(&upstream.status)) {
        if let Ok(mut value) = serde_json::from_slice::<Value>(&out) {
            let mut counts = Mutations::default();
            mutate_answer(&spec, &schema, &mut value, &mut counts);
            upstream.mutations = Some((counts.fields, counts.enums));
            out = serde_json::to_vec(&value).unwrap_or_default();
        }
    }
    (out, upstream)
}

/// Whether a `multipart/form-data` body has a file part without its own Content-Type.
fn unlabeled_file_part(headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(boundary) = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .filter(|ct| ct.starts_with("multipart/form-data"))
        .and_then(|ct| ct.split("boundary=").nth(1))
        .map(|b| b.trim_matches('"').to_owned())
    else {
        return false;
    };
    let text = String::from_utf8_lossy(body);
    text.split(&format!("--{boundary}")).any(|part| {
        let head = part
            .split("\r\n\r\n")
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        head.contains("filename=") && !head.contains("content-type:")
    })
}
