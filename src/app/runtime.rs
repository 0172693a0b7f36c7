//! The running desks: store, action queue, and the supervised workers.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use alloy_signer_local::PrivateKeySigner;
use tokio::sync::watch;

use super::supervisor::{Backoff, HealthMap, Supervisor};
use crate::actions::{self, ActionKind, ActionQueue, Executors};
use crate::anyhedge::desk::AnyHedgeDesk;
use crate::anyhedge::pane::AnyHedgeSnapshot;
use crate::anyhedge::requests::AnyHedgeRequest;
use crate::anyhedge::updates::Updates;
use crate::chain::executor::{ContractCallExecutor, follow_sent_actions};
use crate::chain::send::{NonceManager, Sender, Tracker};
use crate::chain::{self, Chain, ChainStatus};
use crate::config::Config;
use crate::desks::Desk;
use crate::liquidator::desk::LiquidatorDesk;
use crate::liquidator::pane::LiquidatorSnapshot;
use crate::metrics::{Metrics, MonitorSources};
use crate::oracle::desk::{DeskRequest, OracleDesk};
use crate::oracle::pane::OracleSnapshot;
use crate::perp::desk::executor::HedgeExecutor;
use crate::perp::desk::{BinanceCredentials, PerpDesk, PerpVenue};
use crate::perp::pane::PerpSnapshot;
use crate::perp::requests::PerpRequest;
use crate::pool::desk::PoolDesk;
use crate::pool::pane::PoolSnapshot;
use crate::pool::requests::PoolRequest;
use crate::prices::PriceCache;
use crate::store::Store;

/// Secrets for the workers, read once at start from the OS keyring or environment; never
/// from the config file.
#[derive(Clone, Default)]
pub struct Secrets {
    pub hermes_token: Option<secrecy::SecretString>,
    /// Binance's API key and secret, when `perp.venue = "binance"`.
    pub binance: Option<BinanceCredentials>,
}

pub struct Runtime {
    pub config: Arc<Config>,
    pub store: Store,
    pub queue: ActionQueue,
    pub health: watch::Receiver<HealthMap>,
    pub account: Address,
    /// Handed to executors as desks register them.
    pub signer: Arc<PrivateKeySigner>,
    pub executors: Executors,
    /// Every configured chain, by config order (names sorted).
    pub chains: Vec<Chain>,
    /// The operator account's sender on each chain, by chain name: what desk executors
    /// send through (journaled, simulated, nonce-managed; see `chain::send`).
    pub senders: std::collections::BTreeMap<String, Sender>,
    /// The operator account's tx tracker on each chain (already running), for waiting on
    /// a send's outcome.
    pub trackers: std::collections::BTreeMap<String, Arc<Tracker>>,
    /// The one price cache every desk reads (fed by the oracle desk).
    pub prices: PriceCache,
    /// The Oracle tab's snapshot.
    pub oracle: watch::Receiver<Arc<OracleSnapshot>>,
    /// Operator requests to the oracle desk (publish now, bootstrap, reset).
    pub oracle_requests: tokio::sync::mpsc::UnboundedSender<DeskRequest>,
    /// The Liquidations tab's snapshot.
    pub liquidator: watch::Receiver<Arc<LiquidatorSnapshot>>,
    /// Operator requests to the liquidator desk (liquidate, auto, detail).
    pub liquidator_requests:
        tokio::sync::mpsc::UnboundedSender<crate::liquidator::requests::DeskRequest>,
    /// The AnyHedge desk's pane snapshot.
    pub anyhedge: watch::Receiver<Arc<AnyHedgeSnapshot>>,
    /// Requests to the AnyHedge desk (fund, settle, redeem), from the tab and the API.
    pub anyhedge_requests: tokio::sync::mpsc::UnboundedSender<AnyHedgeRequest>,
    /// The Perp tab's snapshot.
    pub perp: watch::Receiver<Arc<PerpSnapshot>>,
    /// Requests to the perp desk (hedge, close, auto), from the Perp tab.
    pub perp_requests: tokio::sync::mpsc::UnboundedSender<PerpRequest>,
    /// The Pool tab's snapshot.
    pub pool: watch::Receiver<Arc<PoolSnapshot>>,
    /// Requests to the pool desk (withdraw, settle, expire), from the Pool tab.
    pub pool_requests: tokio::sync::mpsc::UnboundedSender<PoolRequest>,
    /// Where the API listens, once it does (`None` while disabled or not bound yet).
    pub api_addr: watch::Receiver<Option<std::net::SocketAddr>>,
    /// All chains' health, merged for the status bar.
    pub chain_status: watch::Receiver<Vec<ChainStatus>>,
    /// This runtime's metrics registry (served on the API's `/metrics`).
    pub metrics: Metrics,
    supervisor: Supervisor,
}

impl Runtime {
    pub async fn start(
        config: Arc<Config>,
        store: Store,
        signer: PrivateKeySigner,
    ) -> anyhow::Result<Runtime> {
        Self::start_with(config, store, signer, Secrets::default()).await
    }

    /// [`Runtime::start`] with the secrets the workers need beyond the signer.
    pub async fn start_with(
        config: Arc<Config>,
        store: Store,
        signer: PrivateKeySigner,
        secrets: Secrets,
    ) -> anyhow::Result<Runtime> {
        let queue = ActionQueue::open(store.clone(), config.clone()).await?;
        let mut supervisor = Supervisor::new(Backoff {
            initial: Duration::from_millis(config.workers.restart_backoff_ms),
            max: Duration::from_millis(config.workers.restart_backoff_max_ms),
        });
        let account = signer.address();
        let metrics = Metrics::new();
        let mut chains = Vec::new();
        let mut senders = std::collections::BTreeMap::new();
        let mut trackers = std::collections::BTreeMap::new();
        for (name, chain_config) in &config.chains {
            let chain = Chain::connect(name, chain_config)?;
            chain.pool().count_requests(metrics.rpc());
            chain.watch_account(account);
            // Worker names live as long as the process; one small string per configured chain.
            let worker: &'static str = Box::leak(format!("chain.{name}").into_boxed_str());
            let health_chain = chain.clone();
            supervisor.spawn(worker, move |cancel| {
                chain::run_health(health_chain.clone(), cancel)
            });
            let nonces = NonceManager::new(chain.chain_id(), account);
            let sender = Sender::new(
                chain.provider(),
                store.clone(),
                signer.clone(),
                nonces,
                chain_config,
            )?;
            let tracker = Arc::new(
                Tracker::new(chain.provider(), store.clone(), chain_config)
                    .with_signer(signer.clone()),
            );
            trackers.insert(name.clone(), tracker.clone());
            let worker: &'static str = Box::leak(format!("txs.{name}").into_boxed_str());
            supervisor.spawn(worker, move |cancel| {
                chain::send::run_tracker(tracker.clone(), cancel)
            });
            senders.insert(name.clone(), sender);
            chains.push(chain);
        }
        let chain_status = merge_chain_status(&chains);

        // Every on-chain action goes through the operator's journaled sender.
        let mut executors = Executors::default();
        let contract_calls = Arc::new(ContractCallExecutor::new(senders.clone()));
        for kind in ActionKind::ALL {
            if kind.is_on_chain() {
                executors.register(kind, contract_calls.clone());
            }
        }
        // Hedges go to the venue `[perp]` names, through one executor for both kinds.
        let perp_venue =
            PerpVenue::from_config(&config.perp, store.clone(), secrets.binance.clone())?;
        let hedges = Arc::new(HedgeExecutor {
            store: store.clone(),
            venue: perp_venue.venue.clone(),
            leverage: config.perp.leverage,
            lost_order_grace_secs: perp_venue.lost_order_grace_secs,
        });
        executors.register(ActionKind::OpenHedge, hedges.clone());
        executors.register(ActionKind::CloseHedge, hedges);
        {
            let queue = queue.clone();
            let executors = executors.clone();
            supervisor.spawn("actions", move |cancel| {
                actions::runner::run(queue.clone(), executors.clone(), cancel)
            });
        }
        {
            let queue = queue.clone();
            let store = store.clone();
            supervisor.spawn("actions.follow", move |cancel| {
                follow_sent_actions(queue.clone(), store.clone(), Duration::from_secs(1), cancel)
            });
        }
        // The oracle desk, on the chain its config names.
        let prices = PriceCache::new();
        let oracle_chain = chains
            .iter()
            .find(|c| c.name() == config.oracle.chain)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("oracle.chain: no [chains.{}]", config.oracle.chain))?;
        let mut desk = OracleDesk::new(
            config.clone(),
            oracle_chain,
            store.clone(),
            queue.clone(),
            prices.clone(),
        );
        desk.hermes_token = secrets.hermes_token.clone();
        desk.cycle_timer = metrics.cycle_timer(Desk::Oracle);
        desk.sender = senders
            .get(&config.oracle.chain)
            .cloned()
            .zip(trackers.get(&config.oracle.chain).cloned());
        let oracle = desk.subscribe();
        let oracle_requests = desk.requests();
        supervisor.spawn("oracle", move |cancel| desk.clone().run(cancel));

        // The liquidator desk, on the chain its config names.
        let liquidator_chain = chains
            .iter()
            .find(|c| c.name() == config.liquidator.chain)
            .cloned()
            .ok_or_else(|| {
                anyhow::anyhow!("liquidator.chain: no [chains.{}]", config.liquidator.chain)
            })?;
        let mut desk = LiquidatorDesk::new(
            config.clone(),
            liquidator_chain,
            store.clone(),
            queue.clone(),
            prices.clone(),
            account,
        );
        desk.cycle_timer = metrics.cycle_timer(Desk::Liquidator);
        desk.pass_counters = metrics.liquidator();
        let liquidator = desk.subscribe();
        let liquidator_requests = desk.requests();
        supervisor.spawn("liquidator", move |cancel| desk.clone().run(cancel));

        // The AnyHedge desk, on the chain its config names.
        let anyhedge_chain = chains
            .iter()
            .find(|c| c.name() == config.anyhedge.chain)
            .cloned()
            .ok_or_else(|| {
                anyhow::anyhow!("anyhedge.chain: no [chains.{}]", config.anyhedge.chain)
            })?;
        let updates = Updates::default();
        let (api_addr_tx, api_addr) = watch::channel(None);
        let mut desk = AnyHedgeDesk::new(
            config.clone(),
            anyhedge_chain,
            store.clone(),
            queue.clone(),
            updates.clone(),
        )
        .with_api_addr(api_addr.clone());
        desk.cycle_timer = metrics.cycle_timer(Desk::AnyHedge);
        let anyhedge = desk.subscribe();
        let anyhedge_requests = desk.requests();
        let anyhedge_chain_id = desk.chain.chain_id();
        supervisor.spawn("anyhedge", move |cancel| desk.clone().run(cancel));

        // The perp desk, on the chain its config names.
        let perp_chain = chains
            .iter()
            .find(|c| c.name() == config.perp.chain)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("perp.chain: no [chains.{}]", config.perp.chain))?;
        let mut desk = PerpDesk::new(
            config.clone(),
            perp_chain,
            store.clone(),
            queue.clone(),
            prices.clone(),
            perp_venue,
        );
        desk.cycle_timer = metrics.cycle_timer(Desk::Perp);
        let perp = desk.subscribe();
        let perp_requests = desk.requests();
        supervisor.spawn("perp", move |cancel| desk.clone().run(cancel));

        // The pool desk, on the chain its config names.
        let pool_chain = chains
            .iter()
            .find(|c| c.name() == config.pool.chain)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("pool.chain: no [chains.{}]", config.pool.chain))?;
        let mut desk = PoolDesk::new(
            config.clone(),
            pool_chain,
            store.clone(),
            queue.clone(),
            prices.clone(),
        );
        desk.cycle_timer = metrics.cycle_timer(Desk::Pool);
        let pool = desk.subscribe();
        let pool_requests = desk.requests();
        supervisor.spawn("pool", move |cancel| desk.clone().run(cancel));

        // The API listener (AnyHedge REST + WebSocket, /metrics, /health).
        if config.api.enabled {
            let a = &config.anyhedge;
            let mut settings = crate::api::AnyHedgeApiSettings::new(anyhedge_chain_id);
            settings.factory = a.factory.trim().parse().ok();
            settings.collateral = a.collateral.trim().parse().ok();
            settings.settlement_deadline_secs = a.settlement_deadline_secs;
            let state = crate::api::ApiState::new(
                store.clone(),
                updates.clone(),
                anyhedge_requests.clone(),
                settings,
            )
            .with_monitor(MonitorSources {
                metrics: metrics.clone(),
                store: store.clone(),
                prices: prices.clone(),
                symbols: config
                    .oracle
                    .feeds
                    .iter()
                    .filter_map(|f| Some((f.price_id.parse().ok()?, f.symbol.clone())))
                    .collect(),
                workers: supervisor.health(),
                chains: chain_status.clone(),
            });
            let listen = config.api.listen.clone();
            let api_addr_tx = Arc::new(api_addr_tx);
            supervisor.spawn("api", move |cancel| {
                let (state, listen, api_addr_tx) =
                    (state.clone(), listen.clone(), api_addr_tx.clone());
                async move {
                    let listener = tokio::net::TcpListener::bind(&listen)
                        .await
                        .map_err(|e| anyhow::anyhow!("api.listen {listen}: {e}"))?;
                    let addr = listener.local_addr()?;
                    tracing::info!(%addr, "api listening");
                    api_addr_tx.send_replace(Some(addr));
                    crate::api::serve(listener, crate::api::router(state), cancel).await?;
                    Ok(())
                }
            });
        }
        tracing::info!(%account, workers = 7 + usize::from(config.api.enabled) + 2 * chains.len(), "runtime started");
        Ok(Runtime {
            health: supervisor.health(),
            config,
            store,
            queue,
            account,
            signer: Arc::new(signer),
            executors,
            chains,
            senders,
            trackers,
            prices,
            oracle,
            oracle_requests,
            liquidator,
            liquidator_requests,
            anyhedge,
            anyhedge_requests,
            perp,
            perp_requests,
            pool,
            pool_requests,
            api_addr,
            chain_status,
            metrics,
            supervisor,
        })
    }

    /// Stops every worker, giving them `headless.shutdown_grace_ms` to finish.
    pub async fn shutdown(self) -> Vec<&'static str> {
        let grace = Duration::from_millis(self.config.headless.shutdown_grace_ms);
        let abandoned = self.supervisor.shutdown(grace).await;
        if abandoned.is_empty() {
            tracing::info!("all workers stopped");
        } else {
            tracing::warn!(
                ?abandoned,
                "workers did not stop in time; their work stays journaled"
            );
        }
        abandoned
    }
}

/// One watch of every chain's status, republished whenever any of them changes.
fn merge_chain_status(chains: &[Chain]) -> watch::Receiver<Vec<ChainStatus>> {
    let mut receivers: Vec<_> = chains.iter().map(Chain::status).collect();
    let current = |receivers: &mut Vec<watch::Receiver<ChainStatus>>| {
        receivers
            .iter_mut()
            .map(|rx| rx.borrow_and_update().clone())
            .collect::<Vec<_>>()
    };
    let (tx, rx) = watch::channel(current(&mut receivers));
    if receivers.is_empty() {
        return rx;
    }
    tokio::spawn(async move {
        loop {
            let changes = receivers.iter_mut().map(|rx| Box::pin(rx.changed()));
            if futures::future::select_all(changes).await.0.is_err() {
                return;
            }
            if tx.send(current(&mut receivers)).is_err() {
                return;
            }
        }
    });
    rx
}
