//! [`CallFuture`]: what every generated method returns.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_util::future::BoxFuture;

use super::{ApiRequest, ApiResponse, Client};
use crate::error::Error;

/// One call through the client's pipeline (`Client::execute`), then its answer made into
/// the operation's output: the future every generated method returns.
///
/// The request is encoded when the method is called; the future owns what it needs (it is
/// `Send + 'static` and `Unpin`), so it can be spawned, stored in a struct by name, or
/// dropped before it is polled, which sends nothing.
///
/// One named type rather than an `async` block per method: 573 methods would otherwise be
/// 573 state machines and opaque types for the compiler to check and generate, a third of
/// the crate's build time (`scripts/build-cost.sh`); the exchange is one boxed future of the
/// runtime's, and only the decoding is per operation.
#[must_use = "a call is sent only when its future is awaited or spawned"]
pub struct CallFuture<T> {
    exchange: BoxFuture<'static, Result<ApiResponse, Error>>,
    finish: fn(ApiResponse) -> Result<T, Error>,
}

impl<T> CallFuture<T> {
    /// The call of `request` on `client`, its successful answer given to `finish`
    /// ([`ApiResponse::decode`], [`ApiResponse::decode_unless_not_modified`], or a function
    /// that drops an answer with no body).
    pub fn new(
        client: &Client,
        request: ApiRequest,
        finish: fn(ApiResponse) -> Result<T, Error>,
    ) -> Self {
        CallFuture {
            exchange: exchange(client, request),
            finish,
        }
    }
}

/// The exchange of a call, outside the generic `new`: one future type for every operation
/// rather than one per output type.
fn exchange(
    client: &Client,
    request: ApiRequest,
) -> BoxFuture<'static, Result<ApiResponse, Error>> {
    let client = client.clone();
    Box::pin(async move { client.execute(request).await })
}

impl<T> Future for CallFuture<T> {
    type Output = Result<T, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = ready!(self.exchange.as_mut().poll(cx))?;
        Poll::Ready((self.finish)(response))
    }
}

impl<T> fmt::Debug for CallFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallFuture")
            .field("output", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}
