//! The AnyHedge desk's worker: finds the HedgeFactory, polls each oracle's relay, and every
//! cycle (a tick, a new price message or a request) sweeps offer deadlines, completes
//! fundings, validates them from the chain, settles matured and liquidatable contracts,
//! completes mutual redemptions, follows its actions, and publishes the pane's snapshot.

pub mod settlement;

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::pane::{AnyHedgeSnapshot, JournalLine};
use super::requests::AnyHedgeRequest;
use crate::actions::ActionQueue;
use crate::chain::Chain;
use crate::config::Config;
use crate::store::Store;

/// The names the devnet records the factory and the collateral token under.
pub const FACTORY: &str = "anyhedge.factory";
pub const COLLATERAL: &str = "anyhedge.collateral";
/// How often to look again for a factory that is not deployed yet.
const WAIT_FOR_CONTRACT: Duration = Duration::from_secs(3);
/// A cycle at least this often (deadlines and maturities pass without any event).
const TICK: Duration = Duration::from_secs(1);
/// Journal lines the pane keeps.
const JOURNAL: usize = 50;

#[derive(Clone)]
pub struct AnyHedgeDesk {
    pub config: Arc<Config>,
    pub chain: Chain,
    pub store: Store,
    pub queue: ActionQueue,
    pane: Arc<watch::Sender<Arc<AnyHedgeSnapshot>>>,
    requests: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<AnyHedgeRequest>>>,
    requests_tx: mpsc::UnboundedSender<AnyHedgeRequest>,
}

/// The contracts the desk works with, once found.
#[derive(Debug, Clone, Copy)]
pub struct Contracts {
    pub factory: Address,
    pub collateral: Address,
    /// The block the factory was deployed at (where log searches start).
    pub from_block: u64,
}

impl AnyHedgeDesk {
    pub fn new(config: Arc<Config>, chain: Chain, store: Store, queue: ActionQueue) -> Self {
        let empty = AnyHedgeSnapshot {
            chain: chain.name().to_string(),
            ..AnyHedgeSnapshot::default()
        };
        let (requests_tx, requests) = mpsc::unbounded_channel();
        Self {
            config,
            chain,
            store,
            queue,
            pane: Arc::new(watch::channel(Arc::new(empty)).0),
            requests: Arc::new(tokio::sync::Mutex::new(requests)),
            requests_tx,
        }
    }

    /// Where the API and the AnyHedge tab send their requests.
    pub fn requests(&self) -> mpsc::UnboundedSender<AnyHedgeRequest> {
        self.requests_tx.clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<AnyHedgeSnapshot>> {
        self.pane.subscribe()
    }

    fn publish(&self, change: impl FnOnce(&mut AnyHedgeSnapshot)) {
        self.pane.send_modify(|snapshot| {
            let mut next = (**snapshot).clone();
            change(&mut next);
            *snapshot = Arc::new(next);
        });
    }

    /// Records a failure on the pane's journal and in the log.
    pub fn journal(&self, message: String) {
        tracing::warn!(desk = "anyhedge", "{message}");
        let at_ms = chrono::Utc::now().timestamp_millis();
        self.publish(|s| {
            s.journal.insert(0, JournalLine { at_ms, message });
            s.journal.truncate(JOURNAL);
        });
    }

    /// An address as configured, or the deployment recorded under that name.
    async fn resolve(&self, what: &str) -> anyhow::Result<Option<(Address, u64)>> {
        if let Ok(address) = what.trim().parse::<Address>() {
            return Ok(Some((address, 0)));
        }
        Ok(self
            .store
            .deployment(self.chain.chain_id(), what.trim())
            .await?
            .map(|d| (d.address, d.block_number)))
    }

    async fn find_contracts(&self, cancel: &CancellationToken) -> anyhow::Result<Option<Contracts>> {
        let a = &self.config.anyhedge;
        loop {
            let factory = self.resolve(&a.factory).await?;
            let collateral = self.resolve(&a.collateral).await?;
            if let (Some((factory, block)), Some((collateral, _))) = (factory, collateral) {
                return Ok(Some(Contracts {
                    factory,
                    collateral,
                    from_block: block.max(a.start_block),
                }));
            }
            self.publish(|s| {
                s.note = Some(format!(
                    "waiting for {:?} and {:?} on {} (hedgedesk devnet up deploys them)",
                    a.factory,
                    a.collateral,
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
        self.publish(|s| {
            s.factory = Some(contracts.factory);
            s.note = None;
        });
        let mut tick = tokio::time::interval(TICK);
        let requests = self.requests.clone();
        let mut requests = requests.lock().await;
        loop {
            let mut asked = Vec::new();
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                Some(request) = requests.recv() => asked.push(request),
                _ = tick.tick() => {}
            }
            while let Ok(request) = requests.try_recv() {
                asked.push(request);
            }
            tracing::debug!(?asked, "anyhedge cycle");
            let now = chrono::Utc::now().timestamp_millis();
            self.publish(|s| s.last_cycle_ms = Some(now));
        }
    }
}
