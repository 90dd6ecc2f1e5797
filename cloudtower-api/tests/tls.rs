//! TLS against a tower with a self-signed certificate made by the test.

use std::sync::Arc;

use axum::routing::post;
use axum::Router;
use cloudtower_api::client::ApiRequest;
use cloudtower_api::{Client, Error, RetryPolicy};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// A TLS listener for axum; connections whose handshake fails are dropped.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
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

/// Serves `get-vms` over HTTPS with a fresh self-signed certificate for 127.0.0.1; returns
/// the endpoint and the certificate (PEM).
async fn https_tower() -> (String, String) {
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
        acceptor: TlsAcceptor::from(Arc::new(config)),
    };
    let router = Router::new().route(
        "/v2/api/get-vms",
        post(|| async { axum::Json(json!([{"id": "vm-1"}])) }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("https://{addr}"), certified.cert.pem())
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
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
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
