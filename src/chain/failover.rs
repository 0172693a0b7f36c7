//! The RPC transport with failover: every request goes to the *active* endpoint (the first,
//! in config order, that is usable) and, when that endpoint fails at the transport level
//! (refused, reset, timed out, HTTP error, not JSON), to the next one, so reads and sends
//! (`eth_sendRawTransaction` of the same raw tx is safe to repeat) carry on. A JSON-RPC
//! error response (a revert, a nonce too low, ...) is the node's answer and passes through.
//!
//! [`EndpointTransport`] is the plain transport to one endpoint. It does not use alloy's
//! `Http` service because that one records the full URL in a tracing span; ours never puts
//! the URL (which may hold an API key) in a span, a log line or an error.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use alloy::providers::{Provider, RootProvider};
use alloy::rpc::client::RpcClient;
use alloy::rpc::json_rpc::{RequestPacket, ResponsePacket};
use alloy::transports::http::reqwest;
use alloy::transports::{RpcError, TransportError, TransportErrorKind, TransportFut};
use tokio::sync::watch;
use tower::Service;

use super::health::{failover_order, record_failure, select_active};
use super::status::{ChainStatus, EndpointState, EndpointStatus, redact_url, scrub_error};
use crate::metrics::{EndpointCounters, RpcMetrics};

/// JSON-RPC over HTTP(S) to one endpoint. Cheap to clone (the reqwest pool is shared).
#[derive(Clone)]
pub struct EndpointTransport {
    client: reqwest::Client,
    url: reqwest::Url,
    /// The URL as configured, only to scrub it out of error texts.
    raw_url: Arc<str>,
    /// Shared by every clone, so counting can start after the providers are built.
    counters: Arc<OnceLock<EndpointCounters>>,
}

impl std::fmt::Debug for EndpointTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointTransport")
            .field("url", &redact_url(&self.raw_url))
            .finish()
    }
}

impl EndpointTransport {
    /// A transport to `url` whose every request (connect included) is limited to `timeout`.
    /// No network I/O happens here.
    pub fn new(url: &str, timeout: Duration) -> anyhow::Result<EndpointTransport> {
        let parsed = reqwest::Url::parse(url.trim())
            .map_err(|e| anyhow::anyhow!("not a URL ({e}): {}", redact_url(url)))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            anyhow::bail!(
                "scheme {:?} is not http or https: {}",
                parsed.scheme(),
                redact_url(url)
            );
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| anyhow::anyhow!("HTTP client: {}", e.without_url()))?;
        Ok(EndpointTransport {
            client,
            url: parsed,
            raw_url: url.trim().into(),
            counters: Arc::default(),
        })
    }

    async fn send(self, request: RequestPacket) -> Result<ResponsePacket, TransportError> {
        let counters = self.counters.get().cloned();
        let response = self.exchange(request).await;
        if let Some(c) = counters {
            c.request();
            match &response {
                Ok(packet) if packet.is_error() => c.rpc_error(),
                Ok(_) => {}
                Err(_) => c.transport_error(),
            }
        }
        response
    }

    async fn exchange(self, request: RequestPacket) -> Result<ResponsePacket, TransportError> {
        let response = self
            .client
            .post(self.url.clone())
            .headers(request.headers())
            .json(&request)
            .send()
            .await
            .map_err(|e| TransportErrorKind::custom(e.without_url()))?;
        let status = response.status();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) if !status.is_success() => {
                return Err(TransportErrorKind::http_error(
                    status.as_u16(),
                    format!("<failed to read the body: {}>", e.without_url()),
                ));
            }
            Err(e) => return Err(TransportErrorKind::custom(e.without_url())),
        };
        if !status.is_success() {
            // Some nodes answer a JSON-RPC error with a 4xx/5xx status: still an answer.
            if let Ok(packet) = serde_json::from_slice::<ResponsePacket>(&body)
                && packet.is_error()
            {
                return Ok(packet);
            }
            return Err(TransportErrorKind::http_error(
                status.as_u16(),
                scrub_error(&String::from_utf8_lossy(&body), &self.raw_url),
            ));
        }
        serde_json::from_slice(&body).map_err(|e| {
            TransportError::deser_err(
                e,
                scrub_error(&String::from_utf8_lossy(&body), &self.raw_url),
            )
        })
    }
}

impl Service<RequestPacket> for EndpointTransport {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        Box::pin(self.clone().send(request))
    }
}

/// Whether an error means the endpoint failed (try the next one) rather than the node
/// answering (a JSON-RPC error, passed through untouched) or the request being bad.
pub fn is_endpoint_failure(error: &TransportError) -> bool {
    matches!(error, RpcError::Transport(_) | RpcError::DeserError { .. })
}

/// An error as one short line: the error and its sources, scrubbed of `url`.
pub(crate) fn describe_error(error: &(dyn std::error::Error + 'static), url: &str) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let line = inner.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = inner.source();
    }
    scrub_error(&text, url)
}

/// One configured endpoint.
pub(crate) struct Endpoint {
    pub(crate) name: String,
    pub(crate) redacted: String,
    /// As configured; only for scrubbing error texts. Never shown.
    url: String,
    transport: EndpointTransport,
    /// A plain provider over `transport`: no failover.
    pub(crate) provider: RootProvider,
}

impl Endpoint {
    pub(crate) fn describe(&self, error: &TransportError) -> String {
        describe_error(error, &self.url)
    }
}

/// What the transport and the health worker share: the endpoints and their health.
pub(crate) struct EndpointPool {
    pub(crate) chain: String,
    pub(crate) chain_id: u64,
    pub(crate) endpoints: Vec<Endpoint>,
    state: Mutex<PoolState>,
    status_tx: watch::Sender<ChainStatus>,
}

pub(crate) struct PoolState {
    pub(crate) status: ChainStatus,
    /// What each endpoint reported for `eth_chainId`, once it answered.
    pub(crate) chain_ids: Vec<Option<u64>>,
}

impl EndpointPool {
    /// `endpoints`: (name, url) in config order. No network I/O.
    pub(crate) fn new(
        chain: &str,
        chain_id: u64,
        endpoints: &[(String, String)],
        timeout: Duration,
    ) -> anyhow::Result<EndpointPool> {
        let mut built = Vec::with_capacity(endpoints.len());
        for (i, (name, url)) in endpoints.iter().enumerate() {
            let transport = EndpointTransport::new(url, timeout)
                .map_err(|e| anyhow::anyhow!("chains.{chain}.endpoints[{i}].url: {e}"))?;
            let is_local = alloy::transports::utils::guess_local_url(url);
            built.push(Endpoint {
                name: name.clone(),
                redacted: redact_url(url),
                url: url.trim().to_string(),
                provider: RootProvider::new(RpcClient::new(transport.clone(), is_local)),
                transport,
            });
        }
        let endpoint_status: Vec<EndpointStatus> = built
            .iter()
            .map(|ep| EndpointStatus {
                name: ep.name.clone(),
                url_redacted: ep.redacted.clone(),
                ..EndpointStatus::default()
            })
            .collect();
        let status = ChainStatus {
            name: chain.to_string(),
            chain_id,
            active: select_active(&endpoint_status),
            endpoints: endpoint_status,
            ..ChainStatus::default()
        };
        let (status_tx, _) = watch::channel(status.clone());
        Ok(EndpointPool {
            chain: chain.to_string(),
            chain_id,
            state: Mutex::new(PoolState {
                status,
                chain_ids: vec![None; built.len()],
            }),
            endpoints: built,
            status_tx,
        })
    }

    /// Counts every request to each endpoint (live, failover and probes) in `metrics`.
    pub(crate) fn count_requests(&self, metrics: &RpcMetrics) {
        for ep in &self.endpoints {
            let _ = ep
                .transport
                .counters
                .set(metrics.endpoint(&self.chain, &ep.name, &ep.url));
        }
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<ChainStatus> {
        self.status_tx.subscribe()
    }

    pub(crate) fn snapshot(&self) -> ChainStatus {
        self.lock().status.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the state under the lock, recomputes the active endpoint, logs every state
    /// change, and publishes the snapshot if `publish`.
    pub(crate) fn update<R>(&self, publish: bool, f: impl FnOnce(&mut PoolState) -> R) -> R {
        let mut state = self.lock();
        let before: Vec<EndpointState> = state.status.endpoints.iter().map(|e| e.state).collect();
        let before_active = state.status.active;
        let out = f(&mut state);
        state.status.active = select_active(&state.status.endpoints);
        self.log_changes(&before, before_active, &state.status);
        if publish {
            self.status_tx.send_replace(state.status.clone());
        }
        out
    }

    pub(crate) fn publish(&self) {
        let status = self.snapshot();
        self.status_tx.send_replace(status);
    }

    fn log_changes(
        &self,
        before: &[EndpointState],
        before_active: Option<usize>,
        now: &ChainStatus,
    ) {
        for (i, (was, ep)) in before.iter().zip(&now.endpoints).enumerate() {
            if *was == ep.state {
                continue;
            }
            let error = ep.last_error.as_deref().unwrap_or("");
            match ep.state {
                EndpointState::Down => tracing::warn!(
                    chain = %self.chain, endpoint = %ep.name, url = %ep.url_redacted,
                    from = %was, errors = ep.consecutive_errors, error,
                    "RPC endpoint {i} is down"
                ),
                EndpointState::WrongChain => tracing::warn!(
                    chain = %self.chain, endpoint = %ep.name, url = %ep.url_redacted,
                    error, "RPC endpoint {i} is on the wrong chain; it will not be used"
                ),
                EndpointState::Lagging => tracing::info!(
                    chain = %self.chain, endpoint = %ep.name, url = %ep.url_redacted,
                    from = %was, head = ep.head, lag = ep.lag, "RPC endpoint {i} is lagging"
                ),
                state => tracing::info!(
                    chain = %self.chain, endpoint = %ep.name, url = %ep.url_redacted,
                    from = %was, head = ep.head, "RPC endpoint {i} is {state}"
                ),
            }
        }
        if before_active != now.active {
            match now
                .active
                .and_then(|i| now.endpoints.get(i).map(|ep| (i, ep)))
            {
                Some((i, ep)) => tracing::info!(
                    chain = %self.chain, endpoint = %ep.name, url = %ep.url_redacted,
                    "RPC requests now go to endpoint {i}"
                ),
                None => tracing::warn!(
                    chain = %self.chain,
                    "no usable RPC endpoint: requests try every endpoint not on the wrong chain"
                ),
            }
        }
    }

    /// Endpoints to try for one request, best first.
    fn order(&self) -> Vec<usize> {
        failover_order(&self.lock().status.endpoints)
    }

    pub(crate) fn known_chain_id(&self, i: usize) -> Option<u64> {
        self.lock().chain_ids[i]
    }

    /// Records what endpoint `i` answered to `eth_chainId`; on another chain it is
    /// WrongChain from now on.
    pub(crate) fn set_chain_id(&self, i: usize, reported: u64, publish: bool) {
        let expected = self.chain_id;
        self.update(publish, |state| {
            state.chain_ids[i] = Some(reported);
            if reported != expected {
                let ep = &mut state.status.endpoints[i];
                ep.state = EndpointState::WrongChain;
                ep.head = None;
                ep.lag = None;
                ep.last_error = Some(format!("chain id {reported}, expected {expected}"));
            }
        });
    }

    /// A live request to endpoint `i` failed at the transport level: it is Down until it
    /// answers again.
    fn mark_failed(&self, i: usize, error: String) {
        self.update(true, |state| {
            record_failure(&mut state.status.endpoints[i], error);
        });
    }

    /// Endpoint `i` answered a live request: a Down one is usable again (the next probe
    /// decides whether it lags) and its consecutive error count restarts.
    fn mark_answered(&self, i: usize) {
        {
            let state = self.lock();
            let ep = &state.status.endpoints[i];
            if ep.state != EndpointState::Down && ep.consecutive_errors == 0 {
                return;
            }
        }
        self.update(true, |state| {
            let ep = &mut state.status.endpoints[i];
            ep.consecutive_errors = 0;
            if ep.state == EndpointState::Down {
                ep.state = EndpointState::Unknown;
            }
        });
    }

    /// Checks endpoint `i`'s chain id if it never answered one. `Ok(true)`: it may serve.
    async fn ensure_chain_id(&self, i: usize) -> Result<bool, TransportError> {
        if let Some(id) = self.known_chain_id(i) {
            return Ok(id == self.chain_id);
        }
        let reported = self.endpoints[i].provider.get_chain_id().await?;
        self.set_chain_id(i, reported, true);
        Ok(reported == self.chain_id)
    }
}

/// The failover transport: an alloy `Transport` over every endpoint of one chain.
#[derive(Clone)]
pub struct FailoverTransport {
    pool: Arc<EndpointPool>,
}

impl std::fmt::Debug for FailoverTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailoverTransport")
            .field("chain", &self.pool.chain)
            .field("endpoints", &self.pool.endpoints.len())
            .finish()
    }
}

impl FailoverTransport {
    pub(crate) fn new(pool: Arc<EndpointPool>) -> FailoverTransport {
        FailoverTransport { pool }
    }

    async fn route(self, request: RequestPacket) -> Result<ResponsePacket, TransportError> {
        let pool = &self.pool;
        let mut last_error = None;
        for i in pool.order() {
            let endpoint = &pool.endpoints[i];
            // An endpoint never checked (before the first probe) proves its chain first;
            // one that cannot answer `eth_chainId`, even with a JSON-RPC error, is not used.
            match pool.ensure_chain_id(i).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    pool.mark_failed(i, endpoint.describe(&e));
                    last_error = Some(e);
                    continue;
                }
            }
            let mut transport = endpoint.transport.clone();
            match transport.call(request.clone()).await {
                Ok(response) => {
                    pool.mark_answered(i);
                    return Ok(response);
                }
                Err(e) if is_endpoint_failure(&e) => {
                    let error = endpoint.describe(&e);
                    tracing::debug!(
                        chain = %pool.chain, endpoint = %endpoint.name,
                        methods = ?request.method_names().take(3).collect::<Vec<_>>(),
                        error, "RPC request failed; trying the next endpoint"
                    );
                    pool.mark_failed(i, error);
                    last_error = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            TransportErrorKind::custom_str(&format!(
                "chain {}: no RPC endpoint on chain id {}",
                pool.chain, pool.chain_id
            ))
        }))
    }
}

impl Service<RequestPacket> for FailoverTransport {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        Box::pin(self.clone().route(request))
    }
}
