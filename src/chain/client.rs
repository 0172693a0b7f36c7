//! [`Chain`]: one configured EVM chain, its failover provider, its endpoints' health.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use alloy::primitives::Address;
use alloy::providers::RootProvider;
use alloy::rpc::client::RpcClient;
use tokio::sync::watch;

use super::failover::{EndpointPool, FailoverTransport};
use super::health::probe_round;
use super::status::ChainStatus;
use crate::config::ChainConfig;

/// A handle to one chain. Cheap to clone; every clone shares the endpoints, their health
/// and the status channel.
#[derive(Clone)]
pub struct Chain {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    config: ChainConfig,
    pool: Arc<EndpointPool>,
    provider: RootProvider,
}

impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chain")
            .field("name", &self.inner.name)
            .field("chain_id", &self.inner.config.chain_id)
            .field("endpoints", &self.inner.pool.endpoints.len())
            .finish()
    }
}

impl Chain {
    /// Builds the providers for `config`'s endpoints. No network I/O: endpoints prove their
    /// chain id on first use or at the first health probe.
    pub fn connect(name: &str, config: &ChainConfig) -> anyhow::Result<Chain> {
        if config.endpoints.is_empty() {
            anyhow::bail!("chains.{name}.endpoints: no RPC endpoint configured");
        }
        let endpoints: Vec<(String, String)> = config
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, ep)| {
                let label = if ep.name.trim().is_empty() {
                    format!("#{i}")
                } else {
                    ep.name.clone()
                };
                (label, ep.url.clone())
            })
            .collect();
        let timeout = std::time::Duration::from_millis(config.request_timeout_ms.max(1));
        let pool = Arc::new(EndpointPool::new(
            name,
            config.chain_id,
            &endpoints,
            timeout,
        )?);
        let is_local = config
            .endpoints
            .iter()
            .all(|ep| alloy::transports::utils::guess_local_url(&ep.url));
        let provider = RootProvider::new(RpcClient::new(
            FailoverTransport::new(pool.clone()),
            is_local,
        ));
        Ok(Chain {
            inner: Arc::new(Inner {
                name: name.to_string(),
                config: config.clone(),
                pool,
                provider,
            }),
        })
    }

    /// The chain's name in config.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The chain id every endpoint must report.
    pub fn chain_id(&self) -> u64 {
        self.inner.config.chain_id
    }

    pub fn config(&self) -> &ChainConfig {
        &self.inner.config
    }

    /// The provider every desk uses: requests go to the active endpoint and fail over.
    pub fn provider(&self) -> RootProvider {
        self.inner.provider.clone()
    }

    /// A plain provider to endpoint `i` (config order), without failover: for the head
    /// watcher and probes. Panics if there is no endpoint `i`.
    pub fn endpoint_provider(&self, i: usize) -> RootProvider {
        self.inner.pool.endpoints[i].provider.clone()
    }

    pub fn endpoint_count(&self) -> usize {
        self.inner.pool.endpoints.len()
    }

    /// The status snapshots, for the status bar; a new one after every health round and
    /// whenever a request finds an endpoint down.
    pub fn status(&self) -> watch::Receiver<ChainStatus> {
        self.inner.pool.subscribe()
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> ChainStatus {
        self.inner.pool.snapshot()
    }

    /// The endpoint requests go to now, if any is usable.
    pub fn active_endpoint(&self) -> Option<usize> {
        self.inner.pool.snapshot().active
    }

    /// Reads this account's balance every health round (shown in the status bar).
    pub fn watch_account(&self, account: Address) {
        self.inner.pool.update(true, |state| {
            if state.status.account != Some(account) {
                state.status.account = Some(account);
                state.status.balance_wei = None;
            }
        });
    }

    /// One health round now (what [`run_health`](super::health::run_health) does every
    /// `health_interval_ms`); resolves to the snapshot it published.
    pub fn probe_once(&self) -> impl Future<Output = ChainStatus> + Send + '_ {
        probe_round(self)
    }

    pub(crate) fn pool(&self) -> &EndpointPool {
        &self.inner.pool
    }
}
