//! The pieces of the generated `Client::call_operation`: any operation by its path, with a
//! JSON request.
//!
//! The generated dispatch is a plain (not `async`) match over every operation whose arms each
//! call one of these functions and return a boxed future. Each function is instantiated once
//! per operation, so the decoded request and the call's future live in that instance's frame
//! and state machine, not in one state machine sized for all 554 operations (which needed
//! 16–32 MiB of stack in a debug build).

use std::future::Future;

use futures_util::future::BoxFuture;

use crate::codec::{self, Decode};
use crate::error::{ConstructionError, Error};

/// The answer of `call_operation`: the response encoded as JSON (`None` for 304 Not Modified
/// and for operations without a response body). The future owns what it needs, so it can be
/// spawned.
pub type DynamicCall = BoxFuture<'static, Result<Option<Vec<u8>>, Error>>;

/// Decodes `body` as the operation's request type `B`, strictly (a missing or `null` required
/// field is [`ConstructionError::InvalidRequest`] naming it, and nothing is sent), then makes the call.
pub fn call_with_json<B, F, Fut>(operation: &'static str, body: &[u8], call: F) -> DynamicCall
where
    B: Decode,
    F: FnOnce(&B) -> Fut,
    Fut: Future<Output = Result<Option<Vec<u8>>, Error>> + Send + 'static,
{
    match codec::decode_strict::<B>(body) {
        Ok(request) => Box::pin(call(&request)),
        Err(source) => refused(
            Error::from(ConstructionError::InvalidRequest {
                source: Box::new(source),
            })
            .with_operation(operation),
        ),
    }
}

/// Makes the call of an operation that takes no request (the JSON given is ignored).
pub fn call_without_body<F, Fut>(call: F) -> DynamicCall
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Option<Vec<u8>>, Error>> + Send + 'static,
{
    Box::pin(call())
}

/// An operation `call_operation` cannot make (unknown path, multipart upload).
pub fn unsupported(operation: &'static str, reason: &'static str) -> DynamicCall {
    refused(Error::unsupported(operation, reason))
}

fn refused(error: Error) -> DynamicCall {
    Box::pin(std::future::ready(Err(error)))
}
