//! One exchange: the request's headers, the exchange through the `tower` stack
//! ([`Exchange`]), redirects refused, and the body read within the client's limits. What the
//! answer means (an error, a reason to retry) is the pipeline's to say (`orchestrator.rs`).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};

use super::middleware::Exchange;
use super::{ApiRequest, Language, Secret};
use crate::error::{Error, ResponseError, TransportError};

/// What every attempt of one call sends: the request, and its headers and timeout as the
/// call's options gave them (computed once per call).
pub(super) struct Outgoing<'a> {
    pub(super) request: &'a ApiRequest,
    pub(super) header_parameters: Vec<(&'static str, HeaderValue)>,
    pub(super) language: Option<Language>,
    pub(super) attempt_timeout: Option<Duration>,
}

/// What one exchange got.
pub(super) enum Outcome {
    /// A 2xx or 304 answer, its whole body read (within `max_response_bytes`).
    Success(Answer),
    /// An error status, the first `max_error_body_bytes` of its body read.
    ErrorStatus(Answer),
    /// A redirect (3xx but 304): not read further, and not followed.
    Redirect {
        status: u16,
        location: Option<String>,
        request_id: Option<String>,
    },
}

pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
}

impl Answer {
    /// The `x-tower-request-id`, to quote to SmartX support.
    pub(super) fn request_id(&self) -> Option<&str> {
        request_id_of(&self.headers)
    }
}

/// The `x-tower-request-id` among `headers`.
fn request_id_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-tower-request-id")
        .and_then(|v| v.to_str().ok())
}

/// How much of a body is read.
#[derive(Clone, Copy, Debug)]
pub(super) struct BodyLimits {
    pub(super) max_response_bytes: u64,
    pub(super) max_error_body_bytes: u64,
}

/// The wire: the HTTP client, the `tower` stack around it, and the body limits.
pub(super) struct Transport {
    pub(super) http: reqwest::Client,
    pub(super) exchange: Exchange,
    pub(super) limits: BodyLimits,
}

impl Transport {
    /// Sends `outgoing` to the API at `base_url`, with `authorization` when given.
    pub(super) async fn exchange(
        &self,
        outgoing: &Outgoing<'_>,
        authorization: Option<&Secret>,
        base_url: &str,
    ) -> Result<Outcome, Error> {
        let mut builder = outgoing.request.build(&self.http, base_url);
        if let Some(secret) = authorization {
            let mut value = HeaderValue::from_str(secret.expose()).map_err(|e| {
                Error::config("the token or API key is not a valid header value", e)
            })?;
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        if let Some(language) = outgoing.language {
            builder = builder.header("content-language", language.as_str());
        }
        for (name, value) in &outgoing.header_parameters {
            builder = builder.header(*name, value.clone());
        }
        if let Some(timeout) = outgoing.attempt_timeout {
            builder = builder.timeout(timeout);
        }
        let transport = |source| Error::from(TransportError::new(source));
        let request = builder.build().map_err(transport)?;
        let mut response = self.exchange.send(request).await?;
        let status = response.status().as_u16();
        // An answer came: what fails from here on fails with its request id.
        let request_id = request_id_of(response.headers()).map(str::to_owned);
        if (300..400).contains(&status) && status != 304 {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            return Ok(Outcome::Redirect {
                status,
                location,
                request_id,
            });
        }
        let answered = |error: Error| error.with_request_id(request_id.clone());
        let headers = std::mem::take(response.headers_mut());
        if (200..300).contains(&status) || status == 304 {
            let body = read_body(&mut response, self.limits.max_response_bytes)
                .await
                .map_err(|source| answered(transport(source)))?
                .ok_or_else(|| {
                    answered(
                        ResponseError::BodyTooLarge {
                            limit: self.limits.max_response_bytes,
                        }
                        .into(),
                    )
                })?;
            Ok(Outcome::Success(Answer {
                status,
                headers,
                body,
            }))
        } else {
            // An error answer is kept for diagnosis only: its first bytes are enough.
            let body = read_body_prefix(&mut response, self.limits.max_error_body_bytes)
                .await
                .map_err(|source| answered(transport(source)))?;
            Ok(Outcome::ErrorStatus(Answer {
                status,
                headers,
                body,
            }))
        }
    }
}

/// The body of `response`, or `None` as soon as it goes past `limit` bytes.
async fn read_body(
    response: &mut reqwest::Response,
    limit: u64,
) -> Result<Option<Bytes>, reqwest::Error> {
    if response
        .content_length()
        .is_some_and(|length| length > limit)
    {
        return Ok(None);
    }
    let capacity = response.content_length().unwrap_or(0) as usize;
    // A body that arrives in one chunk is returned as it is, without a copy.
    let Some(first) = response.chunk().await? else {
        return Ok(Some(Bytes::new()));
    };
    if first.len() as u64 > limit {
        return Ok(None);
    }
    let Some(second) = response.chunk().await? else {
        return Ok(Some(first));
    };
    let mut body = BytesMut::with_capacity(capacity.max(first.len() + second.len()));
    body.extend_from_slice(&first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if (body.len() + chunk.len()) as u64 > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
        next = response.chunk().await?;
    }
    Ok(Some(body.freeze()))
}

/// The first `limit` bytes of the body of `response`; the rest is not read.
async fn read_body_prefix(
    response: &mut reqwest::Response,
    limit: u64,
) -> Result<Bytes, reqwest::Error> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut body = BytesMut::new();
    while body.len() < limit {
        let Some(chunk) = response.chunk().await? else {
            break;
        };
        let room = limit - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(body.freeze())
}
