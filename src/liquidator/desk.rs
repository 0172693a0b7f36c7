//! The liquidator desk's worker: finds the margin module, runs its event stream, reads
//! what events cannot tell, and on every new head (and every index change, price change
//! or operator request) runs one [`pass`](super::pass): value every position locally,
//! check the flagged ones on chain, decide, act, and publish the pane's snapshot.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use alloy::primitives::Address;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::index::{MarginHandler, margin_stream};
use super::onchain::OnChain;
use super::pane::LiquidatorSnapshot;
use super::pass::DeskState;
use super::requests::DeskRequest;
use crate::actions::ActionQueue;
use crate::chain::Chain;
use crate::chain::ingest::{IngestConfig, run_stream};
use crate::config::Config;
use crate::prices::PriceCache;
use crate::store::Store;

/// The name the devnet records the margin module under.
pub const MODULE: &str = "margin.module";
/// How often to look again for a module that is not deployed yet.
const WAIT_FOR_CONTRACT: Duration = Duration::from_secs(3);
/// A pass at least this often even without a new head (fee and price moves, retries).
const IDLE_PASS: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct LiquidatorDesk {
    pub config: Arc<Config>,
    pub chain: Chain,
    pub store: Store,
    pub queue: ActionQueue,
    pub prices: PriceCache,
    /// The unlocked account: it signs freezes and confirms.
    pub account: Address,
    /// Where the worker loop records its cycle times (`/metrics`).
    pub cycle_timer: crate::metrics::CycleTimer,
    /// Where each pass's node calls are counted (`/metrics`).
    pub pass_counters: crate::metrics::PassCounters,
    pane: Arc<watch::Sender<Arc<LiquidatorSnapshot>>>,
    requests: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<DeskRequest>>>,
    requests_tx: mpsc::UnboundedSender<DeskRequest>,
    /// Kept across worker restarts: the operator's choice.
    auto: Arc<AtomicBool>,
}

impl LiquidatorDesk {
    pub fn new(
        config: Arc<Config>,
        chain: Chain,
        store: Store,
        queue: ActionQueue,
        prices: PriceCache,
        account: Address,
    ) -> Self {
        let auto = config.liquidator.auto;
        let empty = LiquidatorSnapshot {
            chain: chain.name().to_string(),
            auto,
            ..LiquidatorSnapshot::default()
        };
        let (requests_tx, requests) = mpsc::unbounded_channel();
        Self {
            config,
            chain,
            store,
            queue,
            prices,
            account,
            cycle_timer: crate::metrics::CycleTimer::default(),
            pass_counters: crate::metrics::PassCounters::default(),
            pane: Arc::new(watch::channel(Arc::new(empty)).0),
            requests: Arc::new(tokio::sync::Mutex::new(requests)),
            requests_tx,
            auto: Arc::new(AtomicBool::new(auto)),
        }
    }

    pub fn requests(&self) -> mpsc::UnboundedSender<DeskRequest> {
        self.requests_tx.clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<LiquidatorSnapshot>> {
        self.pane.subscribe()
    }

    fn publish_note(&self, note: String) {
        self.pane.send_modify(|snapshot| {
            let mut next = (**snapshot).clone();
            next.note = Some(note);
            next.auto = self.auto.load(Ordering::Relaxed);
            *snapshot = Arc::new(next);
        });
    }

    /// The module's address and the block its stream starts at.
    async fn find_module(
        &self,
        cancel: &CancellationToken,
    ) -> anyhow::Result<Option<(Address, u64)>> {
        let l = &self.config.liquidator;
        if let Ok(address) = l.module.trim().parse::<Address>() {
            return Ok(Some((address, l.start_block)));
        }
        let chain_id = self.chain.chain_id();
        loop {
            if let Some(d) = self.store.deployment(chain_id, l.module.trim()).await? {
                return Ok(Some((d.address, d.block_number.max(l.start_block))));
            }
            self.publish_note(format!(
                "waiting for {:?} on {} (hedgedesk devnet up deploys it)",
                l.module,
                self.chain.name()
            ));
            tokio::select! {
                _ = cancel.cancelled() => return Ok(None),
                _ = tokio::time::sleep(WAIT_FOR_CONTRACT) => {}
            }
        }
    }

    /// Runs until `cancel`.
    pub async fn run(self, cancel: CancellationToken) -> anyhow::Result<()> {
        let Some((module, start_block)) = self.find_module(&cancel).await? else {
            return Ok(());
        };
        let chain_id = self.chain.chain_id();
        let chain_config = self
            .config
            .chains
            .get(self.chain.name())
            .cloned()
            .unwrap_or_default();
        let (notices_tx, mut notices) = mpsc::channel(64);
        let stream_cancel = cancel.child_token();
        let _stop_stream = stream_cancel.clone().drop_guard();
        let mut stream = tokio::spawn(run_stream(
            self.chain.provider(),
            self.store.clone(),
            margin_stream(chain_id, module, start_block),
            Arc::new(MarginHandler { module }),
            notices_tx,
            IngestConfig::from_chain(&chain_config),
            stream_cancel,
        ));

        let onchain = OnChain::new(self.chain.provider(), module);
        let mut state = DeskState::new(&self, module).await;
        let mut status = self.chain.status();
        let mut price_changes = self.prices.subscribe();
        let mut idle = tokio::time::interval(IDLE_PASS);
        let requests = self.requests.clone();
        let mut requests = requests.lock().await;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                ended = &mut stream => {
                    return match ended {
                        Ok(Ok(())) => Ok(()),
                        Ok(Err(e)) => Err(e),
                        Err(e) => Err(anyhow::anyhow!("the margin event stream panicked: {e}")),
                    };
                }
                Some(_) = notices.recv() => state.index_changed(),
                Ok(()) = status.changed() => {
                    let head = status.borrow_and_update().head.map(|h| h.number);
                    if !state.new_head(head) {
                        continue;
                    }
                }
                Ok(()) = price_changes.changed() => {}
                Some(request) = requests.recv() => {
                    state.request(request, &self.auto);
                }
                _ = idle.tick() => {}
            }
            // Coalesce a burst (several notices, a head and a price) into one pass.
            while notices.try_recv().is_ok() {
                state.index_changed();
            }
            state.auto = self.auto.load(Ordering::Relaxed);
            let snapshot = self.cycle_timer.time(state.pass(&self, &onchain)).await;
            self.pane.send_replace(Arc::new(snapshot));
        }
    }
}
