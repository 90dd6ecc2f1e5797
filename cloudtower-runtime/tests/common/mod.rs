//! Test towers: axum servers on 127.0.0.1 that the real client talks to over real HTTP.
//! Shared with cloudtower-api-tests (included there by path).
#![allow(dead_code)] // each test binary uses its own part of these helpers

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use axum::Router;
use tokio::net::TcpListener;

/// Serves `router` on a free port; the server lives as long as the test's runtime.
pub async fn serve(router: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// A TLS listener for axum; connections whose handshake fails are dropped.
struct TlsListener {
    tcp: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Serves `router` over HTTPS with a fresh self-signed certificate for 127.0.0.1; returns
/// the endpoint and the certificate (PEM).
pub async fn serve_https(router: Router) -> (String, String) {
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio_rustls::rustls::{self, ServerConfig};

    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let chain = vec![CertificateDer::from(certified.cert.der().to_vec())];
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let listener = TlsListener {
        tcp,
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
    };
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("https://{addr}"), certified.cert.pem())
}

/// What a test server saw of one call.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
    pub body: serde_json::Value,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The calls a test server has seen, in order.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    /// Records a call; returns it and how many earlier calls went to the same path.
    pub fn push(&self, path: &str, headers: &HeaderMap, body: &[u8]) -> (Seen, usize) {
        let seen = Seen {
            path: path.to_owned(),
            headers: headers.clone(),
            body: serde_json::from_slice(body).unwrap_or(serde_json::Value::Null),
        };
        let mut calls = self.0.lock().unwrap();
        let n = calls.iter().filter(|s| s.path == path).count();
        calls.push(seen.clone());
        (seen, n)
    }
    pub fn all(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }
    pub fn count(&self, path: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == path)
            .count()
    }
}

/// A test server's answer to one call.
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub delay: std::time::Duration,
    /// A `Location` header (redirects).
    pub location: Option<String>,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            status,
            body: body.to_string(),
            delay: std::time::Duration::ZERO,
            location: None,
        }
    }
    pub fn ok(body: serde_json::Value) -> Reply {
        Reply::json(200, body)
    }
    pub fn text(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: body.to_owned(),
            delay: std::time::Duration::ZERO,
            location: None,
        }
    }
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply {
            location: Some(location.to_owned()),
            ..Reply::text(status, "")
        }
    }
    pub fn after(mut self, delay: std::time::Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// A tower that logs every call and answers with `reply(call, n)`, where `n` counts the
/// earlier calls to the same path. Answers carry `x-tower-request-id: req-<n>`.
pub async fn tower<F>(log: Log, reply: F) -> String
where
    F: Fn(&Seen, usize) -> Reply + Send + Sync + 'static,
{
    let reply = Arc::new(reply);
    let router = Router::new().fallback(move |request: axum::extract::Request| {
        let (log, reply) = (log.clone(), reply.clone());
        async move {
            let path = request.uri().path().to_owned();
            let headers = request.headers().clone();
            let body = axum::body::to_bytes(request.into_body(), usize::MAX)
                .await
                .unwrap();
            let (seen, n) = log.push(&path, &headers, &body);
            let answer = reply(&seen, n);
            tokio::time::sleep(answer.delay).await;
            let mut response = axum::response::Response::builder();
            if let Some(location) = &answer.location {
                response = response.header("location", location);
            }
            response
                .status(answer.status)
                .header("content-type", "application/json")
                .header("x-tower-request-id", format!("req-{n}"))
                .body(axum::body::Body::from(answer.body))
                .unwrap()
        }
    });
    serve(router).await
}

/// A task record as `get-tasks` returns it.
pub fn task_json(id: &str, status: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "status": status,
        "progress": if status == "SUCCESSED" { 1.0 } else { 0.4 },
        "description": "test task",
        "args": {},
        "internal": false,
        "local_created_at": "2024-01-01T00:00:00Z",
        "snapshot": "{}",
        "steps": [],
        "error_code": if status == "FAILED" { serde_json::json!("VM_NOT_FOUND") } else { serde_json::Value::Null },
        "error_message": if status == "FAILED" { serde_json::json!("the VM vanished") } else { serde_json::Value::Null },
    })
}

/// The ids a `get-tasks` call asked for (`where.id_in`).
pub fn requested_ids(seen: &Seen) -> Vec<String> {
    serde_json::from_value(seen.body["where"]["id_in"].clone()).unwrap_or_default()
}

/// Answers `get-tasks` from `status(id, poll)` (`None`: the tower does not know the task),
/// where `poll` counts the earlier `get-tasks` calls.
pub fn tasks_reply(
    seen: &Seen,
    poll: usize,
    status: impl Fn(&str, usize) -> Option<&'static str>,
) -> Reply {
    let tasks: Vec<_> = requested_ids(seen)
        .iter()
        .filter_map(|id| status(id, poll).map(|s| task_json(id, s)))
        .collect();
    Reply::ok(serde_json::Value::Array(tasks))
}
