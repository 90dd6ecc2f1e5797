//! One call, top to bottom: [`Client::execute`] (the span and the call's timeout) and
//! `invoke`, which lists the phases of a call in the order they happen. Each policy is a
//! struct that owns its state (`ReadRetries`, `ReloginPolicy`, `LockWaits`, `Endpoints`,
//! `VersionGate`); the phases call the policies, never each other.

use std::time::Instant;

use futures_util::future::BoxFuture;
use tracing::Instrument;

use super::classify::{self, classify, Failure};
use super::endpoints::{Route, SwitchOver};
use super::locked::LockWaits;
use super::request::RequestBody;
use super::retry::ReadRetries;
use super::session::CallSession;
use super::transport::{Outcome, Outgoing};
use super::version::version_request;
use super::{ApiRequest, ApiResponse, Client, Secret};
use crate::codec;
use crate::error::{
    CallTimeout, ConstructionError, Error, ErrorBody, RawBody, ResponseError, ServiceError,
};

impl Client {
    /// Sends one request and returns the successful (2xx or 304) response: refuses it when
    /// the tower's version predates the operation, sends it to the active endpoint (failing
    /// over when that is no longer it), retries reads after transient failures, logs in again
    /// once after a 401 when it can, and waits out `ResourceLocked` when told to.
    #[doc(hidden)]
    pub async fn execute(&self, request: ApiRequest) -> Result<ApiResponse, Error> {
        // Field names as OpenTelemetry's HTTP client conventions name them.
        let span = tracing::debug_span!(
            "cloudtower",
            operation = request.operation,
            "http.request.method" = request.method(),
            "server.address" = tracing::field::Empty,
            "server.port" = tracing::field::Empty,
            "url.full" = tracing::field::Empty,
            "http.request.resend_count" = tracing::field::Empty,
            "http.response.status_code" = tracing::field::Empty,
            "http.response.header.x-tower-request-id" = tracing::field::Empty,
            "error.type" = tracing::field::Empty,
        );
        let operation = request.operation;
        let call = async {
            let result = self.invoke(&request, None).await;
            if let Err(error) = &result {
                tracing::Span::current().record("error.type", error.type_name());
            }
            result
        };
        match self.options.call_timeout {
            None => call.instrument(span).await,
            Some(timeout) => tokio::time::timeout(timeout, call)
                .instrument(span)
                .await
                .unwrap_or_else(|_| {
                    Err(Error::from(CallTimeout { timeout }).with_operation(operation))
                }),
        }
    }

    /// The phases of one call, in order. `pinned`: sent to that endpoint only, with no
    /// switch-over (the version of a tower just switched to).
    ///
    /// The phases around the attempt are set up outermost first (lock waits, session,
    /// endpoint, retries); after each attempt, its failure is classified and handed to the
    /// one policy it concerns, innermost first. A policy that sends the call again starts the
    /// phases inside it afresh: a lock wait takes the session's token again and the route
    /// again; a re-login, the route; a switch-over, the retries.
    async fn invoke(
        &self,
        request: &ApiRequest,
        pinned: Option<usize>,
    ) -> Result<ApiResponse, Error> {
        // Every failure of the call, whichever phase it comes from, names the operation here,
        // once (an error that names another one, from a call made inside this one, keeps it).
        let phases = async {
            let inner = &*self.inner;
            let options = &self.options;

            // 1. Build: a body the codec refused is never sent.
            if let RequestBody::Refused(source) = &request.body {
                return Err(ConstructionError::Encode {
                    source: source.clone(),
                }
                .into());
            }

            // 2. Version gate: ask the version first when the operation needs it judged, then
            //    refuse a call that the tower's version predates.
            if inner.version.must_ask_before(request) {
                let answer = self.invoke_boxed(version_request(), None).await;
                inner.version.keep_or_forget(answer);
            }
            inner.version.check(request)?;

            // 3. Header parameters, checked against the operation once for every attempt.
            let outgoing = Outgoing {
                request,
                header_parameters: options.header_parameters_for(request)?,
                language: options.language,
                attempt_timeout: options.attempt_timeout,
            };

            // 4. Lock waits: `ResourceLocked` refusals waited out when the options say so.
            let mut lock_waits = LockWaits::new(options.locked_retry.as_ref());
            // 5. Session: the token, and one shared re-login after a 401.
            let start_session =
                || CallSession::start(&inner.session, request.anonymous, options.relogin_on_401);
            let mut session = start_session();
            // 6. Endpoint: the active one of a pair.
            let mut route = self.route(pinned).await?;
            // 7. Attempts (`attempt`: one exchange, its answer decoded, the error body into
            //    a `ServiceError`); reads sent again after transient failures.
            let retry_policy = options.retry.as_ref().unwrap_or(&inner.retry);
            let start_retries = || ReadRetries::new(retry_policy, inner.max_retry_after);
            let mut retries = start_retries();

            loop {
                let result = self
                    .attempt(&outgoing, session.authorization(), route.index())
                    .await;
                let Err(error) = &result else {
                    return inner.relogin.judge(&session, result).await;
                };
                // 8. Retry classification: the failure goes to the one policy it concerns.
                match classify(error) {
                    Failure::Transient { retry_after } => {
                        if let Some(delay) = retries.next(request, retry_after) {
                            let made = retries.made();
                            tracing::Span::current().record("http.request.resend_count", made);
                            tracing::warn!(%error, attempt = made, delay_ms = delay.as_millis() as u64, "retrying");
                            tokio::time::sleep(delay).await;
                            continue;
                        }
                    }
                    Failure::Passive => {
                        let switch = inner
                            .endpoints
                            .switch_over(&inner.transport, &mut route, request.operation)
                            .await?;
                        if let SwitchOver::Switched { new_tower } = switch {
                            if new_tower {
                                self.read_version_of_new_tower(route.index()).await;
                            }
                            retries = start_retries();
                            continue;
                        }
                    }
                    Failure::Unauthorized if session.may_relogin() => {
                        let login_client = self.without_reauthentication();
                        if inner
                            .relogin
                            .relogin(&inner.session, &login_client, &mut session)
                            .await?
                        {
                            route = self.route(pinned).await?;
                            retries = start_retries();
                            continue;
                        }
                    }
                    Failure::Locked => {
                        if let Some(delay) = lock_waits.next(error) {
                            tokio::time::sleep(delay).await;
                            session = start_session();
                            route = self.route(pinned).await?;
                            retries = start_retries();
                            continue;
                        }
                    }
                    Failure::Unauthorized | Failure::Final => {}
                }
                // No policy sends it again: the failure is the call's answer (a 401 after a
                // fresh login is the re-login policy's to record).
                return inner.relogin.judge(&session, result).await;
            }
        };
        let result: Result<ApiResponse, Error> = phases.await;
        result.map_err(|error| error.in_operation(request.operation))
    }

    /// `invoke` for a call made from inside a call (the version a gate needs, the version of
    /// a tower just switched to), boxed since it is recursive.
    fn invoke_boxed(
        &self,
        request: ApiRequest,
        pinned: Option<usize>,
    ) -> BoxFuture<'_, Result<ApiResponse, Error>> {
        Box::pin(async move { self.invoke(&request, pinned).await })
    }

    /// The route of a call: `pinned`, or the active endpoint.
    async fn route(&self, pinned: Option<usize>) -> Result<Route, Error> {
        match pinned {
            Some(index) => Ok(Route::pinned(index)),
            None => self.inner.endpoints.route(&self.inner.transport).await,
        }
    }

    /// Probes every endpoint (`GET /api/healthz`) and sends the next calls to the active one;
    /// returns its API base URL. Concurrent callers share one probe round. What a
    /// [`FailoverStrategy::Manual`](super::FailoverStrategy::Manual) client is told to do by
    /// [`DispatchError::FailoverNeeded`](crate::error::DispatchError::FailoverNeeded).
    pub async fn discover_active_endpoint(&self) -> Result<String, Error> {
        let endpoints = &self.inner.endpoints;
        let (index, new_tower) = endpoints.rediscover(&self.inner.transport).await?;
        if new_tower {
            self.read_version_of_new_tower(index).await;
        }
        Ok(endpoints.base_url(index).to_owned())
    }

    /// Reads the version of the tower a switch-over has just found active (when the client
    /// reads versions at all), from that tower, without a switch-over around it.
    async fn read_version_of_new_tower(&self, index: usize) {
        let version = &self.inner.version;
        if !version.was_asked() {
            return;
        }
        let answer = self.invoke_boxed(version_request(), Some(index)).await;
        if let Err(error) = version.keep(answer) {
            tracing::warn!(%error, "reading the version of the new active tower failed");
        }
    }

    /// One attempt: the exchange with the endpoint `index`, traced, and its answer decoded
    /// (an error answer's body into a [`ServiceError`]), at the endpoint.
    async fn attempt(
        &self,
        outgoing: &Outgoing<'_>,
        authorization: Option<&Secret>,
        index: usize,
    ) -> Result<ApiResponse, Error> {
        let operation = outgoing.request.operation;
        let endpoints = &self.inner.endpoints;
        let base_url = endpoints.base_url(index);
        let span = tracing::Span::current();
        let (address, port) = endpoints.address(index);
        span.record("server.address", address);
        span.record("server.port", port);
        if !span.is_disabled() {
            span.record("url.full", format!("{base_url}/{operation}"));
        }
        let started = Instant::now();
        let outcome = self
            .inner
            .transport
            .exchange(outgoing, authorization, base_url)
            .await
            .map_err(|error| error.with_endpoint(base_url))?;
        match &outcome {
            Outcome::Success(answer) | Outcome::ErrorStatus(answer) => {
                span.record("http.response.status_code", answer.status);
                if let Some(id) = answer.request_id() {
                    span.record("http.response.header.x-tower-request-id", id);
                }
                tracing::debug!(
                    status = answer.status,
                    duration_ms = started.elapsed().as_millis() as u64,
                    bytes = answer.body.len(),
                    "response"
                );
            }
            Outcome::Redirect { status, .. } => {
                span.record("http.response.status_code", *status);
            }
        }
        self.decode_answer(operation, outcome)
            .map_err(|error| error.with_endpoint(base_url))
    }

    /// An attempt's outcome as the call's result: a successful answer as it is (the
    /// generated method decodes its body), an error answer as a [`ServiceError`] with its
    /// `ErrorBody` decoded when it is one and its request id, a redirect as
    /// [`ResponseError::Redirect`].
    fn decode_answer(
        &self,
        operation: &'static str,
        outcome: Outcome,
    ) -> Result<ApiResponse, Error> {
        let decode = self.inner.decode;
        match outcome {
            Outcome::Success(answer) => Ok(ApiResponse {
                operation,
                status: answer.status,
                request_id: answer.request_id().map(str::to_owned),
                body: answer.body,
                options: decode,
            }),
            Outcome::ErrorStatus(answer) => {
                let request_id = answer.request_id().map(str::to_owned);
                let refusal = ServiceError::new(
                    answer.status,
                    codec::decode_with_options::<ErrorBody>(&answer.body, &decode).ok(),
                    RawBody(answer.body.clone()),
                )
                .with_retry_after(classify::retry_after(answer.status, &answer.headers));
                Err(Error::from(refusal).with_request_id(request_id))
            }
            Outcome::Redirect {
                status,
                location,
                request_id,
            } => Err(Error::from(ResponseError::Redirect { status, location })
                .with_request_id(request_id)),
        }
    }
}
