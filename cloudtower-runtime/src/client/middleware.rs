//! The middleware point: every HTTP exchange the client makes (each attempt of each call,
//! retries, logins and health probes included) goes through the `tower` layers users add:
//! rate and concurrency limits, metrics, tracing, interceptors. A client without layers calls
//! reqwest directly, so it pays nothing for the point.
//!
//! `tower` because it is what the async Rust HTTP ecosystem composes with (kube-rs builds its
//! client as a tower stack; `tower::limit`, `tower-http` and most metrics crates are layers),
//! and reqwest already depends on it, so it adds no crate to a build.

use std::sync::Arc;

use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceExt};

use crate::error::{DispatchError, Error, TransportError};

/// What layers wrap and return: `reqwest::Request` in, `reqwest::Response` out. An error that
/// is not the `reqwest::Error` of the innermost service is a layer's own (a rate limiter
/// refusing), reported as [`DispatchError::Middleware`].
pub type HttpService = BoxCloneSyncService<reqwest::Request, reqwest::Response, BoxError>;

/// The error type of [`HttpService`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A layer, kept until the client is built.
pub(super) type WrapService = Arc<dyn Fn(HttpService) -> HttpService + Send + Sync>;

/// `layer` as a function from the service inside to the service outside.
pub(super) fn wrap_with<L>(layer: L) -> WrapService
where
    L: Layer<HttpService> + Send + Sync + 'static,
    L::Service: Service<reqwest::Request, Response = reqwest::Response, Error = BoxError>
        + Clone
        + Send
        + Sync
        + 'static,
    <L::Service as Service<reqwest::Request>>::Future: Send + 'static,
{
    Arc::new(move |inner| BoxCloneSyncService::new(layer.layer(inner)))
}

/// How a client makes an exchange: straight through reqwest when no layer was added (no box,
/// no extra allocation per request), else through the boxed stack.
pub(super) enum Exchange {
    Direct(reqwest::Client),
    Layered(HttpService),
}

impl Exchange {
    /// reqwest itself (the innermost service) inside `layers` (the first added is outermost).
    pub(super) fn new(http: reqwest::Client, layers: &[WrapService]) -> Self {
        if layers.is_empty() {
            return Exchange::Direct(http);
        }
        let innermost = BoxCloneSyncService::new(tower::service_fn(move |request| {
            let http = http.clone();
            async move { http.execute(request).await.map_err(BoxError::from) }
        }));
        Exchange::Layered(
            layers
                .iter()
                .rev()
                .fold(innermost, |inner, wrap| wrap(inner)),
        )
    }

    /// Sends `request`: reqwest's errors are transport errors, a layer's own error is
    /// [`DispatchError::Middleware`].
    pub(super) async fn send(&self, request: reqwest::Request) -> Result<reqwest::Response, Error> {
        let transport = |error| Error::from(TransportError::new(error));
        match self {
            Exchange::Direct(http) => http.execute(request).await.map_err(transport),
            Exchange::Layered(service) => service.clone().oneshot(request).await.map_err(|error| {
                match error.downcast::<reqwest::Error>() {
                    Ok(error) => transport(*error),
                    Err(source) => DispatchError::Middleware(source).into(),
                }
            }),
        }
    }
}
