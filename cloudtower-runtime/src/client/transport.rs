//! One attempt of a call: the HTTP exchange, and its body read within the client's limits.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderValue, AUTHORIZATION};

use super::retry::retry_after;
use super::{ApiRequest, ApiResponse, Client, Secret};
use crate::codec;
use crate::error::{Error, ErrorBody, RawBody, TransportError};

impl Client {
    pub(super) async fn send(
        &self,
        request: &ApiRequest,
        authorization: Option<&Secret>,
        endpoint: usize,
    ) -> Result<ApiResponse, Error> {
        let operation = request.operation;
        let started = Instant::now();
        let endpoints = &self.inner.endpoints;
        let base_url = endpoints.base_url(endpoint);
        let span = tracing::Span::current();
        let (address, port) = endpoints.address(endpoint);
        span.record("server.address", address);
        span.record("server.port", port);
        if !span.is_disabled() {
            span.record("url.full", format!("{base_url}/{operation}"));
        }
        let mut builder = request.build(&self.inner.http, base_url);
        if let Some(secret) = authorization {
            let mut value = HeaderValue::from_str(secret.expose()).map_err(|e| {
                Error::config("the token or API key is not a valid header value", e)
            })?;
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        if let Some(language) = self.language {
            builder = builder.header("content-language", language.as_str());
        }
        for (name, value) in self.header_parameters_for(request)? {
            builder = builder.header(name, value);
        }
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        let transport = |source| Error::Transport {
            operation,
            source: TransportError::new(source),
        };
        let request = builder.build().map_err(transport)?;
        let mut response = self.inner.exchange.send(operation, request).await?;
        let status = response.status().as_u16();
        let request_id = response
            .headers()
            .get("x-tower-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        span.record("http.response.status_code", status);
        if let Some(id) = &request_id {
            span.record("http.response.header.x-tower-request-id", id.as_str());
        }
        if (300..400).contains(&status) && status != 304 {
            // Not read further, and not followed.
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            return Err(Error::Redirect {
                operation,
                status,
                location,
            });
        }
        let success = (200..300).contains(&status) || status == 304;
        let retry_after = matches!(status, 429 | 503)
            .then(|| retry_after(response.headers()))
            .flatten();
        let limits = &self.inner.limits;
        let body = if success {
            read_body(&mut response, limits.max_response_bytes)
                .await
                .map_err(transport)?
                .ok_or(Error::BodyTooLarge {
                    operation,
                    limit: limits.max_response_bytes,
                })?
        } else {
            // An error answer is kept for diagnosis only: its first bytes are enough.
            read_body_prefix(&mut response, limits.max_error_body_bytes)
                .await
                .map_err(transport)?
        };
        tracing::debug!(
            status,
            duration_ms = started.elapsed().as_millis() as u64,
            bytes = body.len(),
            "response"
        );
        if (200..300).contains(&status) || status == 304 {
            Ok(ApiResponse {
                operation,
                status,
                body,
                request_id,
                options: limits.decode,
            })
        } else {
            Err(Error::Status {
                operation,
                status,
                body: codec::decode_with_options::<ErrorBody>(&body, &limits.decode)
                    .ok()
                    .map(Box::new),
                raw: RawBody(body),
                request_id,
                retry_after,
            })
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
