//! Active/passive towers: which of the configured endpoints is the active one.
//!
//! A CloudTower pair answers `GET /api/healthz` with 200 on the active tower and 307 on the
//! passive one, and the passive one refuses every API call with a 307. The client never
//! follows that redirect (its `Location` is the server's word, and credentials stay with the
//! endpoints the user configured): it probes its own endpoints instead, once for all the calls
//! that need to know (single-flight), and sends every call to the one that is active.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::future::join_all;

use super::transport::Transport;
use super::Client;
use crate::error::{describe_answers, DispatchError, Error, TransportError};
pub use crate::error::{EndpointAnswer, EndpointHealth};

/// What the client does when a call finds that its endpoint is no longer the active one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailoverStrategy {
    /// Probe the endpoints again and retry the call once on the active one (the default).
    /// The passive tower refuses a call before doing anything, so a mutation is retried too.
    #[default]
    Automatic,
    /// Report [`DispatchError::FailoverNeeded`]; the client switches only when told to
    /// ([`Client::discover_active_endpoint`](super::Client::discover_active_endpoint)).
    Manual,
    /// Probe the endpoints before every call (concurrent calls share one probe round), and
    /// fail over as `Automatic` does.
    ProbeEveryCall,
}

/// One configured endpoint.
struct Endpoint {
    /// `https://a.example.com/v2/api`
    base_url: String,
    /// `https://a.example.com/api/healthz`
    health_url: String,
    /// The host and port, for traces (`server.address`, `server.port`).
    address: String,
    port: u16,
}

/// Which endpoint is active, and the round of probing that said so.
#[derive(Clone, Copy, Debug)]
struct Active {
    index: Option<usize>,
    // Bumped by every probe round, so that a call knows whether a round ran since it looked.
    round: u64,
}

/// The outcome of the last probe round, shared by every call that waited for it.
enum RoundOutcome {
    Active(usize),
    NoneActive(Vec<EndpointAnswer>),
    SeveralActive(Vec<EndpointAnswer>),
}

pub(super) struct Endpoints {
    list: Vec<Endpoint>,
    strategy: FailoverStrategy,
    probe_timeout: Duration,
    active: RwLock<Active>,
    // Held during a probe round: concurrent calls wait for it instead of probing too.
    last_round: tokio::sync::Mutex<Option<(u64, RoundOutcome)>>,
}

/// Where a call goes: the endpoint, and the probe round that chose it.
#[derive(Clone, Copy, Debug)]
struct Target {
    index: usize,
    round: u64,
}

impl Endpoints {
    /// `base_urls` are API base URLs (ending in `/v2/api`), at least one.
    pub(super) fn new(
        base_urls: Vec<String>,
        strategy: FailoverStrategy,
        probe_timeout: Duration,
    ) -> Self {
        let list = base_urls
            .into_iter()
            .map(|base_url| {
                let origin = base_url.strip_suffix("/v2/api").unwrap_or(&base_url);
                let url = reqwest::Url::parse(&base_url).ok();
                Endpoint {
                    health_url: format!("{origin}/api/healthz"),
                    address: url
                        .as_ref()
                        .and_then(|u| u.host_str().map(str::to_owned))
                        .unwrap_or_default(),
                    port: url.and_then(|u| u.port_or_known_default()).unwrap_or(0),
                    base_url,
                }
            })
            .collect::<Vec<_>>();
        // A lone endpoint is active by definition: it is never probed.
        let single = list.len() == 1;
        Endpoints {
            list,
            strategy,
            probe_timeout,
            active: RwLock::new(Active {
                index: single.then_some(0),
                round: 0,
            }),
            last_round: tokio::sync::Mutex::new(None),
        }
    }

    /// Whether the client has an active/passive pair (or more) to choose from.
    fn is_pair(&self) -> bool {
        self.list.len() > 1
    }

    pub(super) fn base_url(&self, index: usize) -> &str {
        &self.list[index].base_url
    }

    pub(super) fn address(&self, index: usize) -> (&str, u16) {
        let endpoint = &self.list[index];
        (&endpoint.address, endpoint.port)
    }

    pub(super) fn base_urls(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(|e| e.base_url.as_str())
    }

    fn current(&self) -> Active {
        *self.active.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The active endpoint's index, if known.
    pub(super) fn active_index(&self) -> Option<usize> {
        self.current().index
    }

    /// Where the next call goes: the active endpoint, probed for first when it is not known
    /// (or before every call, by [`FailoverStrategy::ProbeEveryCall`]).
    async fn for_call(&self, transport: &Transport) -> Result<Target, Error> {
        let current = self.current();
        match current.index {
            Some(index) if self.strategy != FailoverStrategy::ProbeEveryCall || !self.is_pair() => {
                Ok(Target {
                    index,
                    round: current.round,
                })
            }
            _ => Ok(self.discover(transport, current.round).await?.0),
        }
    }

    /// Probes every endpoint unless a round has run since `seen_round`, whose outcome is
    /// then this call's too; says whether this call ran the round.
    async fn discover(
        &self,
        transport: &Transport,
        seen_round: u64,
    ) -> Result<(Target, bool), Error> {
        let mut last_round = self.last_round.lock().await;
        if let Some((round, outcome)) = last_round.as_ref() {
            if *round > seen_round {
                return Ok((outcome_result(*round, outcome)?, false));
            }
        }
        let answers = self.probe(transport).await;
        let active: Vec<usize> = answers
            .iter()
            .enumerate()
            .filter(|(_, a)| matches!(a.health, EndpointHealth::Active))
            .map(|(i, _)| i)
            .collect();
        let outcome = match active.as_slice() {
            [index] => RoundOutcome::Active(*index),
            [] => RoundOutcome::NoneActive(answers),
            _ => RoundOutcome::SeveralActive(answers),
        };
        let round = {
            let mut current = self.active.write().unwrap_or_else(|e| e.into_inner());
            current.round += 1;
            current.index = match outcome {
                RoundOutcome::Active(index) => Some(index),
                _ => None,
            };
            current.round
        };
        match &outcome {
            RoundOutcome::Active(index) => {
                tracing::info!(endpoint = self.base_url(*index), "active endpoint found")
            }
            RoundOutcome::NoneActive(answers) | RoundOutcome::SeveralActive(answers) => {
                tracing::warn!(
                    answers = describe_answers(answers),
                    "no single active endpoint"
                )
            }
        }
        let result = outcome_result(round, &outcome);
        *last_round = Some((round, outcome));
        Ok((result?, true))
    }

    /// `GET /api/healthz` on every endpoint at once, without credentials.
    async fn probe(&self, transport: &Transport) -> Vec<EndpointAnswer> {
        let probes = self.list.iter().map(|endpoint| async move {
            let request = transport
                .http
                .get(&endpoint.health_url)
                .timeout(self.probe_timeout)
                .build();
            let answer = match request {
                Ok(request) => transport.exchange.send(request).await,
                Err(error) => Err(Error::from(TransportError::new(error))),
            };
            let health = match answer.map_err(|error| error.with_operation("healthz")) {
                Ok(response) => match response.status().as_u16() {
                    200 => EndpointHealth::Active,
                    307 => EndpointHealth::Passive,
                    status => EndpointHealth::Status(status),
                },
                Err(error) => match error.into_transport() {
                    Ok(source) => EndpointHealth::Unreachable(Arc::new(source)),
                    Err(error) => EndpointHealth::Refused(Arc::new(error)),
                },
            };
            EndpointAnswer {
                endpoint: endpoint.base_url.clone(),
                health,
            }
        });
        join_all(probes).await
    }
}

fn outcome_result(round: u64, outcome: &RoundOutcome) -> Result<Target, Error> {
    match outcome {
        RoundOutcome::Active(index) => Ok(Target {
            index: *index,
            round,
        }),
        RoundOutcome::NoneActive(answers) => Err(DispatchError::NoActiveEndpoint {
            answers: answers.clone(),
        }
        .into()),
        RoundOutcome::SeveralActive(answers) => Err(DispatchError::SeveralActiveEndpoints {
            answers: answers.clone(),
        }
        .into()),
    }
}

/// Where one call goes, and whether it has switched over already.
#[derive(Clone, Copy, Debug)]
pub(super) struct Route {
    target: Target,
    // Switched over once: a second refusal means the pair is not settled.
    switched: bool,
    // Sent to this endpoint whatever it answers (the version of a tower just switched to).
    pinned: bool,
}

impl Route {
    /// The endpoint `index`, with no switch-over.
    pub(super) fn pinned(index: usize) -> Self {
        Route {
            target: Target { index, round: 0 },
            switched: false,
            pinned: true,
        }
    }

    pub(super) fn index(&self) -> usize {
        self.target.index
    }
}

/// What endpoint selection makes of a 307 from the route's endpoint.
pub(super) enum SwitchOver {
    /// The refusal is the call's answer as it is (a lone endpoint, a pinned route).
    NotApplicable,
    /// The route now goes to the active endpoint; `new_tower` when that is not the one the
    /// call was sent to before.
    Switched { new_tower: bool },
}

impl Endpoints {
    /// Probes every endpoint now (unless a round runs meanwhile, whose outcome is then this
    /// one's too); the active endpoint, and whether it is not the one known active before.
    pub(super) async fn rediscover(&self, transport: &Transport) -> Result<(usize, bool), Error> {
        if !self.is_pair() {
            return Ok((0, false));
        }
        let before = self.current();
        let (target, probed) = self.discover(transport, before.round).await?;
        Ok((target.index, probed && before.index != Some(target.index)))
    }

    /// The route of a new call (see [`for_call`](Self::for_call)).
    pub(super) async fn route(&self, transport: &Transport) -> Result<Route, Error> {
        Ok(Route {
            target: self.for_call(transport).await?,
            switched: false,
            pinned: false,
        })
    }

    /// After the route's endpoint refused `operation` with a 307 (it has become the passive
    /// one): finds the active endpoint again and sends the call there once, as the strategy
    /// says; [`DispatchError::FailoverNeeded`] with the `Manual` strategy, or when the endpoint found
    /// active refuses it too.
    pub(super) async fn switch_over(
        &self,
        transport: &Transport,
        route: &mut Route,
        operation: &'static str,
    ) -> Result<SwitchOver, Error> {
        if route.pinned || !self.is_pair() {
            return Ok(SwitchOver::NotApplicable);
        }
        // The pipeline names the operation.
        let failover_needed = |index: usize| {
            Error::from(DispatchError::FailoverNeeded).with_endpoint(self.base_url(index))
        };
        if route.switched || self.strategy == FailoverStrategy::Manual {
            return Err(failover_needed(route.target.index));
        }
        let refused_by = route.target.index;
        let (next, probed) = self.discover(transport, route.target.round).await?;
        tracing::info!(
            operation,
            from = self.base_url(refused_by),
            to = self.base_url(next.index),
            "failing over"
        );
        route.target = next;
        route.switched = true;
        Ok(SwitchOver::Switched {
            new_tower: probed && next.index != refused_by,
        })
    }
}

impl Client {
    /// The API base URLs of the configured endpoints, in the order given.
    pub fn endpoints(&self) -> Vec<&str> {
        self.inner.endpoints.base_urls().collect()
    }

    /// The API base URL of the endpoint calls go to now: the active one of a pair, once a
    /// call or [`discover_active_endpoint`](Self::discover_active_endpoint) has found it
    /// (`None` before that, and while no endpoint is active); a lone endpoint always.
    pub fn active_endpoint(&self) -> Option<&str> {
        let endpoints = &self.inner.endpoints;
        endpoints
            .active_index()
            .map(|index| endpoints.base_url(index))
    }
}
