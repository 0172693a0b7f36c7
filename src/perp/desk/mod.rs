//! The perp desk's worker: on every new block (at most every `refresh_ms`) it reads
//! DePerp, prices each market from the oracle desk's Pyth cache, evaluates the three flags,
//! lets the hedger decide, and proposes hedges and their closes through the action queue;
//! the [`executor`] places approved ones on the venue. At start, and every cycle after, it
//! settles orders whose action will not run again and compares the venue's positions with
//! the hedge journal ([`reconcile`]).

pub mod cycle;
pub mod executor;
pub mod prices;
pub mod proposals;
pub mod reconcile;
pub mod setup;
pub mod snapshot;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use alloy::primitives::Address;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::pane::PerpSnapshot;
use super::requests::PerpRequest;
use crate::actions::ActionQueue;
use crate::chain::Chain;
use crate::config::Config;
use crate::desks::Pane;
use crate::desks::Severity;
use crate::prices::PriceCache;
use crate::store::Store;
pub use setup::{BinanceCredentials, PerpVenue};

/// How often to look again for a registry that is not deployed yet.
const WAIT_FOR_CONTRACT: Duration = Duration::from_secs(3);
/// A cycle at least this often without new blocks (hedges expire on the clock).
const IDLE: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct PerpDesk {
    pub config: Arc<Config>,
    pub chain: Chain,
    pub store: Store,
    pub queue: ActionQueue,
    pub prices: PriceCache,
    pub venue: PerpVenue,
    auto: Arc<AtomicBool>,
    /// Where the worker loop records its cycle times (`/metrics`).
    pub cycle_timer: crate::metrics::CycleTimer,
    pane: Pane<PerpSnapshot>,
    requests: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<PerpRequest>>>,
    requests_tx: mpsc::UnboundedSender<PerpRequest>,
}

/// DePerp's registry and the watched collateral assets, once found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contracts {
    pub registry: Address,
    /// Address, decimals and the name the pane shows (`USDC`).
    pub assets: Vec<(Address, u8, String)>,
}

impl PerpDesk {
    pub fn new(
        config: Arc<Config>,
        chain: Chain,
        store: Store,
        queue: ActionQueue,
        prices: PriceCache,
        venue: PerpVenue,
    ) -> Self {
        let auto = config.perp.auto;
        let empty = PerpSnapshot {
            chain: chain.name().to_string(),
            venue: venue.label.clone(),
            auto,
            ..PerpSnapshot::default()
        };
        let (requests_tx, requests) = mpsc::unbounded_channel();
        Self {
            config,
            chain,
            store,
            queue,
            prices,
            venue,
            auto: Arc::new(AtomicBool::new(auto)),
            cycle_timer: crate::metrics::CycleTimer::default(),
            pane: Pane::new("perp", empty),
            requests: Arc::new(tokio::sync::Mutex::new(requests)),
            requests_tx,
        }
    }

    /// Where the Perp tab sends its requests.
    pub fn requests(&self) -> mpsc::UnboundedSender<PerpRequest> {
        self.requests_tx.clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<PerpSnapshot>> {
        self.pane.subscribe()
    }

    pub fn auto(&self) -> bool {
        self.auto.load(Ordering::Relaxed)
    }

    fn set_auto(&self, on: bool) {
        self.auto.store(on, Ordering::Relaxed);
        self.journal(
            Severity::Waiting,
            format!(
                "auto hedging switched {} by the operator",
                if on { "on" } else { "off" }
            ),
        );
    }

    fn publish(&self, change: impl FnOnce(&mut PerpSnapshot)) {
        self.pane.publish(change);
    }

    /// Says what went wrong, or what the desk is waiting for, on the pane and in the log.
    pub fn journal(&self, severity: Severity, message: String) {
        self.pane.journal(severity, message);
    }

    /// An address as configured, or the deployment recorded under that name.
    async fn resolve(&self, what: &str) -> anyhow::Result<Option<Address>> {
        Ok(self
            .store
            .resolve_address(self.chain.chain_id(), what)
            .await?
            .map(|(address, _)| address))
    }

    /// The registry and every asset, waiting (and saying so) until they are known.
    async fn find_contracts(
        &self,
        cancel: &CancellationToken,
    ) -> anyhow::Result<Option<Contracts>> {
        let p = &self.config.perp;
        loop {
            let registry = self.resolve(&p.registry).await?;
            let mut assets = Vec::new();
            let mut missing = Vec::new();
            for asset in &p.assets {
                match self.resolve(&asset.asset).await? {
                    Some(address) => {
                        assets.push((address, asset.decimals, asset_name(&asset.asset)))
                    }
                    None => missing.push(asset.asset.clone()),
                }
            }
            if let (Some(registry), true) = (registry, missing.is_empty()) {
                return Ok(Some(Contracts { registry, assets }));
            }
            if registry.is_none() {
                missing.insert(0, p.registry.clone());
            }
            self.publish(|s| {
                s.note = Some(format!(
                    "waiting for {} on {} (hedgedesk devnet up deploys them)",
                    missing
                        .iter()
                        .map(|m| format!("{m:?}"))
                        .collect::<Vec<_>>()
                        .join(" and "),
                    self.chain.name()
                ))
            });
            tokio::select! {
                _ = cancel.cancelled() => return Ok(None),
                _ = tokio::time::sleep(WAIT_FOR_CONTRACT) => {}
            }
        }
    }

    /// Runs until `cancel`.
    pub async fn run(self, cancel: CancellationToken) -> anyhow::Result<()> {
        let Some(contracts) = self.find_contracts(&cancel).await? else {
            return Ok(());
        };
        self.publish(|s| s.note = None);
        let mut memory = cycle::Memory::new(contracts.registry);
        let refresh = Duration::from_millis(self.config.perp.refresh_ms);
        let mut status = self.chain.status();
        let mut idle = tokio::time::interval(IDLE);
        idle.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let requests = self.requests.clone();
        let mut requests = requests.lock().await;
        let mut last_cycle: Option<tokio::time::Instant> = None;
        loop {
            let mut asked = Vec::new();
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                Some(request) = requests.recv() => asked.push(request),
                Ok(()) = status.changed() => {
                    status.borrow_and_update();
                }
                _ = idle.tick() => {}
            }
            while let Ok(request) = requests.try_recv() {
                asked.push(request);
            }
            // A new block or the idle tick: no more often than refresh_ms; a request: now.
            if asked.is_empty() && last_cycle.is_some_and(|at| at.elapsed() < refresh) {
                continue;
            }
            last_cycle = Some(tokio::time::Instant::now());
            for request in &asked {
                if let PerpRequest::SetAuto(on) = request {
                    self.set_auto(*on);
                }
            }
            let now = chrono::Utc::now();
            let cycle = self.cycle(&contracts, &asked, &mut memory, now.timestamp());
            match self.cycle_timer.time(cycle).await {
                Ok(built) => self.publish(|s| {
                    let journal = std::mem::take(&mut s.journal);
                    *s = built;
                    s.journal = journal;
                    s.read_at_ms = Some(now.timestamp_millis());
                }),
                Err(e) => {
                    let line = format!("cycle failed: {e:#}");
                    if memory.say_once("cycle-failed", &line) {
                        self.journal(Severity::Failure, line);
                    }
                }
            }
        }
    }
}

/// `token.usdc` → `USDC`; an address stays as it is.
fn asset_name(configured: &str) -> String {
    match configured.trim().rsplit_once('.') {
        Some((_, name)) if !configured.trim().starts_with("0x") => name.to_ascii_uppercase(),
        _ => configured.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_asset_is_named_by_its_deployment() {
        assert_eq!(super::asset_name("token.usdc"), "USDC");
        assert_eq!(
            super::asset_name("0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"),
            "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
        );
    }
}
