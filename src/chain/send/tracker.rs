//! The tracker: follows every journaled send of one chain, pending → mined → confirmed /
//! failed, notices replaced, dropped and reorged ones, replaces stuck ones with higher fees,
//! and at start-up reconciles the journal with the node so nothing is sent twice.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::broadcast::{Broadcast, broadcast};
use super::error::SendError;
use super::fees::{self, FeePolicy, Fees};
use super::record::{AttemptState, MinedInfo, TxAttempt, TxRecord, TxState};
use super::sender::now_ms;
use super::sign::{Payload, sign_eip1559};
use crate::config::ChainConfig;
use crate::store::{Store, StoreError};

/// How the tracker follows one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackerOptions {
    /// Blocks on top of a receipt's block before it is final.
    pub confirmations: u64,
    /// A transaction pending this long is replaced with higher fees.
    pub stuck_after: Duration,
    /// Between two ticks of [`run_tracker`].
    pub poll_interval: Duration,
    /// A journaled transaction whose broadcast is not known to have succeeded is
    /// re-broadcast (the same bytes) after this long; at start-up at once.
    pub rebroadcast_after: Duration,
    /// Caps and bump for replacements.
    pub fees: FeePolicy,
}

impl TrackerOptions {
    pub fn from_config(chain: &ChainConfig) -> TrackerOptions {
        TrackerOptions {
            confirmations: chain.confirmations,
            stuck_after: Duration::from_secs(chain.stuck_after_secs),
            poll_interval: Duration::from_millis(chain.poll_interval_ms.max(1)),
            rebroadcast_after: Duration::from_secs(5),
            fees: FeePolicy::from_config(chain),
        }
    }
}

/// What one tick (or the reconciliation) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Sends still open before the tick.
    pub open: usize,
    /// Receipts newly seen (not yet deep enough).
    pub mined: usize,
    pub confirmed: usize,
    /// Mined with status 0, deep enough.
    pub failed: usize,
    pub dropped: usize,
    /// Mined sends whose block was reorganised away.
    pub reorged: usize,
    /// Journaled transactions found in the node's pool (after a crash between broadcast
    /// and journal update).
    pub found_pending: usize,
    /// Journaled transactions broadcast again, unchanged.
    pub rebroadcast: usize,
    /// Stuck transactions replaced with higher fees.
    pub replaced: usize,
    /// Sends that could not be followed this tick (RPC errors); retried next tick.
    pub errors: usize,
}

impl TickReport {
    pub fn changed(&self) -> bool {
        self.mined
            + self.confirmed
            + self.failed
            + self.dropped
            + self.reorged
            + self.found_pending
            + self.rebroadcast
            + self.replaced
            > 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Reconcile,
    Tick,
}

type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Follows the journaled sends of one chain. Share it in an `Arc`.
pub struct Tracker {
    provider: RootProvider,
    store: Store,
    chain_id: u64,
    options: TrackerOptions,
    signers: HashMap<Address, PrivateKeySigner>,
    clock: Clock,
    changes: watch::Sender<u64>,
    busy: tokio::sync::Mutex<()>,
    /// Sends already reported as stuck at the fee caps (warned once).
    capped: Mutex<HashSet<i64>>,
    /// Sends whose nonce was seen used by a stranger, and in how many polls. Dropping is
    /// final, so one observation (perhaps from a lagging endpoint) is not enough.
    drop_suspects: Mutex<HashMap<i64, u32>>,
}

/// Polls in a row that must see a send's nonce used by a stranger before it is dropped.
const DROP_OBSERVATIONS: u32 = 2;

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("chain_id", &self.chain_id)
            .field("options", &self.options)
            .field("accounts", &self.signers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Tracker {
    pub fn new(provider: RootProvider, store: Store, chain: &ChainConfig) -> Tracker {
        Tracker {
            provider,
            store,
            chain_id: chain.chain_id,
            options: TrackerOptions::from_config(chain),
            signers: HashMap::new(),
            clock: Arc::new(now_ms),
            changes: watch::channel(0).0,
            busy: tokio::sync::Mutex::new(()),
            capped: Mutex::new(HashSet::new()),
            drop_suspects: Mutex::new(HashMap::new()),
        }
    }

    /// The tracker can replace stuck transactions of this signer's account (only those;
    /// the others it follows without bumping).
    pub fn with_signer(mut self, signer: PrivateKeySigner) -> Self {
        self.signers.insert(signer.address(), signer);
        self
    }

    pub fn with_options(mut self, options: TrackerOptions) -> Self {
        self.options = options;
        self
    }

    /// Test-only: the tracker's notion of now (unix ms), for stuck detection.
    #[doc(hidden)]
    pub fn with_clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    pub fn options(&self) -> &TrackerOptions {
        &self.options
    }

    /// Ticks whenever a tick changes something in the journal.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Start-up reconciliation: every open send is looked up on the node by each of its
    /// attempts' hashes. Mined ones advance; ones the node holds stay pending; ones it has
    /// never seen are broadcast again, byte for byte (same hash, never a second send);
    /// ones whose nonce went to another attempt are `replaced`, to a stranger `dropped`.
    pub async fn reconcile(&self) -> Result<TickReport, SendError> {
        let report = self.poll(Mode::Reconcile).await?;
        tracing::info!(chain_id = self.chain_id, ?report, "tx journal reconciled");
        Ok(report)
    }

    /// One pass over the open sends: receipts, confirmations, reorgs, drops, re-broadcasts
    /// and replacement of stuck transactions.
    pub async fn tick(&self) -> Result<TickReport, SendError> {
        self.poll(Mode::Tick).await
    }

    /// Waits until the send of `idem_key` is final (confirmed, failed, dropped, rejected).
    /// Needs [`run_tracker`] (or someone calling [`Tracker::tick`]) to make progress.
    pub async fn wait_final(
        &self,
        idem_key: &str,
        timeout: Duration,
    ) -> Result<TxRecord, SendError> {
        let start = Instant::now();
        let deadline = start + timeout;
        let mut changes = self.changes.subscribe();
        loop {
            let record = self
                .store
                .tx_by_key(idem_key.to_string())
                .await?
                .ok_or_else(|| SendError::UnknownKey {
                    idem_key: idem_key.to_string(),
                })?;
            if record.state.is_final() {
                return Ok(record);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(SendError::Timeout {
                    idem_key: idem_key.to_string(),
                    state: record.state,
                    waited_ms: (now - start).as_millis() as u64,
                });
            }
            let nap = (deadline - now).min(self.options.poll_interval);
            tokio::select! {
                _ = changes.changed() => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }

    async fn poll(&self, mode: Mode) -> Result<TickReport, SendError> {
        let _one_at_a_time = self.busy.lock().await;
        let open = self.store.tx_open(self.chain_id).await?;
        let mut report = TickReport {
            open: open.len(),
            ..TickReport::default()
        };
        if open.is_empty() {
            return Ok(report);
        }
        let head = self.provider.get_block_number().await?;
        for send in &open {
            match self.follow(send, head, mode, &mut report).await {
                Ok(()) => {}
                Err(e @ SendError::Store(_)) => return Err(e),
                Err(e) => {
                    report.errors += 1;
                    tracing::warn!(idem_key = %send.idem_key, "cannot follow the transaction: {e}");
                }
            }
        }
        if report.changed() {
            self.changes.send_modify(|n| *n += 1);
        }
        Ok(report)
    }

    async fn follow(
        &self,
        send: &TxRecord,
        head: u64,
        mode: Mode,
        report: &mut TickReport,
    ) -> Result<(), SendError> {
        let confirmations = self.options.confirmations;
        let settled = head.saturating_sub(confirmations);
        // Read before the receipts: if the nonce is used at `settled` and then none of
        // our attempts has a receipt, a stranger used it.
        let settled_nonce = self
            .provider
            .get_transaction_count(send.from)
            .number(settled)
            .await?;
        let now = (self.clock)();

        if let Some(receipt) = self.find_receipt(send).await? {
            self.drop_suspects
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&send.id);
            let (Some(block_number), Some(block_hash)) = (receipt.block_number, receipt.block_hash)
            else {
                return Ok(());
            };
            if !self.is_canonical(block_number, block_hash).await? {
                // The node is mid-reorg; look again next tick.
                return Ok(());
            }
            let state = if head < block_number + confirmations {
                TxState::Mined
            } else if receipt.status() {
                TxState::Confirmed
            } else {
                TxState::Failed
            };
            let hash = receipt.transaction_hash;
            if send.state == state
                && send.final_hash == Some(hash)
                && send.block_hash == Some(block_hash)
            {
                return Ok(());
            }
            let info = MinedInfo {
                hash,
                block_number,
                block_hash,
                gas_used: receipt.gas_used,
                effective_gas_price: receipt.effective_gas_price,
                status: receipt.status(),
            };
            self.store.tx_mark_mined(send.id, info, state, now).await?;
            match state {
                TxState::Confirmed => report.confirmed += 1,
                TxState::Failed => report.failed += 1,
                _ => report.mined += 1,
            }
            tracing::info!(
                idem_key = %send.idem_key, %hash, block_number, status = receipt.status(),
                %state, "transaction mined"
            );
            return Ok(());
        }

        if send.state == TxState::Mined {
            self.store.tx_mark_unmined(send.id, now).await?;
            report.reorged += 1;
            tracing::warn!(
                idem_key = %send.idem_key, block = ?send.block_number,
                "the block of a mined transaction was reorganised away; pending again"
            );
            return Ok(());
        }
        let suspected = {
            let mut suspects = self.drop_suspects.lock().unwrap_or_else(|e| e.into_inner());
            if settled_nonce > send.nonce {
                let seen = suspects.entry(send.id).or_insert(0);
                *seen += 1;
                *seen
            } else {
                suspects.remove(&send.id);
                0
            }
        };
        if suspected >= DROP_OBSERVATIONS {
            self.drop_suspects
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&send.id);
            let note = format!(
                "nonce {} of {} was used by a transaction that is none of this send's attempts",
                send.nonce, send.from
            );
            tracing::warn!(idem_key = %send.idem_key, "{note}; dropped");
            self.store.tx_mark_dropped(send.id, note, now).await?;
            report.dropped += 1;
            return Ok(());
        }
        if suspected > 0 {
            // The nonce is gone: nothing to re-broadcast or replace; confirm next poll.
            return Ok(());
        }

        let Some(live) = send.live_attempt() else {
            return Ok(());
        };
        match live.state {
            AttemptState::Signed => {
                if self.node_knows(live.hash).await? {
                    self.store.tx_mark_broadcast(live.hash, now).await?;
                    report.found_pending += 1;
                } else if mode == Mode::Reconcile
                    || now - live.created_at >= millis(self.options.rebroadcast_after)
                {
                    self.rebroadcast(send, live, now, report).await?;
                }
            }
            AttemptState::Pending => {
                // Stuck: pending this long since it was sent and since the last try to
                // replace it (a refused replacement is not retried at every tick).
                let last_try = send.attempts.iter().map(|a| a.created_at).max();
                let stuck = live.sent_at.is_some_and(|sent| {
                    now - sent.max(last_try.unwrap_or(sent)) >= millis(self.options.stuck_after)
                });
                let replaced =
                    mode == Mode::Tick && stuck && self.replace(send, live, now, report).await?;
                if !replaced && !self.node_knows(live.hash).await? {
                    // The node lost it (restart, pool eviction): the same bytes again.
                    self.rebroadcast(send, live, now, report).await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The receipt of whichever attempt was mined, newest attempt first.
    async fn find_receipt(&self, send: &TxRecord) -> Result<Option<TransactionReceipt>, SendError> {
        for attempt in send
            .attempts
            .iter()
            .rev()
            .filter(|a| a.state != AttemptState::Rejected)
        {
            if let Some(receipt) = self.provider.get_transaction_receipt(attempt.hash).await?
                && receipt.block_number.is_some()
            {
                return Ok(Some(receipt));
            }
        }
        Ok(None)
    }

    async fn is_canonical(&self, number: u64, hash: B256) -> Result<bool, SendError> {
        let block = self.provider.get_block_by_number(number.into()).await?;
        Ok(block.is_some_and(|b| b.header.hash == hash))
    }

    async fn node_knows(&self, hash: B256) -> Result<bool, SendError> {
        Ok(self.provider.get_transaction_by_hash(hash).await?.is_some())
    }

    async fn rebroadcast(
        &self,
        send: &TxRecord,
        attempt: &TxAttempt,
        now: i64,
        report: &mut TickReport,
    ) -> Result<(), SendError> {
        match broadcast(&self.provider, &attempt.raw).await {
            Broadcast::Accepted => {
                self.store.tx_mark_broadcast(attempt.hash, now).await?;
                report.rebroadcast += 1;
                tracing::info!(
                    idem_key = %send.idem_key, hash = %attempt.hash,
                    "journaled transaction broadcast again (same bytes)"
                );
            }
            Broadcast::Rejected(message) => {
                // A replacement the node finds too cheap leaves the attempt before it live.
                let fallback = send.attempts.iter().any(|a| {
                    a.id != attempt.id
                        && a.nonce == attempt.nonce
                        && a.state != AttemptState::Rejected
                });
                if fallback && message.to_lowercase().contains("underpriced") {
                    self.store
                        .tx_mark_rejected(attempt.hash, message, false, now)
                        .await?;
                } else {
                    tracing::warn!(
                        idem_key = %send.idem_key, hash = %attempt.hash,
                        "re-broadcast refused: {message}"
                    );
                }
            }
            Broadcast::Uncertain(message) => {
                tracing::warn!(
                    idem_key = %send.idem_key, hash = %attempt.hash,
                    "re-broadcast unanswered: {message}"
                );
            }
        }
        Ok(())
    }

    /// Signs the same payload with the same nonce and bumped fees, journals it as a new
    /// attempt of the send, then broadcasts it. `false` when no replacement was signed
    /// (no signer for the account, or the fees are at their caps).
    async fn replace(
        &self,
        send: &TxRecord,
        live: &TxAttempt,
        now: i64,
        report: &mut TickReport,
    ) -> Result<bool, SendError> {
        let Some(signer) = self.signers.get(&send.from) else {
            tracing::debug!(idem_key = %send.idem_key, "stuck, but no signer for {}", send.from);
            return Ok(false);
        };
        let quote = fees::quote(&self.provider).await?;
        let old = Fees {
            max_fee_per_gas: live.max_fee_per_gas,
            max_priority_fee_per_gas: live.max_priority_fee_per_gas,
        };
        let Some(bumped) = self.options.fees.bump(old, quote.base_fee) else {
            let first = self
                .capped
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(send.id);
            if first {
                tracing::warn!(
                    idem_key = %send.idem_key, hash = %live.hash,
                    "stuck, but its fees are at the caps: it waits"
                );
            }
            return Ok(false);
        };
        let payload = Payload {
            chain_id: send.chain_id,
            nonce: send.nonce,
            to: send.to,
            value: send.value,
            input: send.input.clone(),
            gas_limit: send.gas_limit,
        };
        let attempt = sign_eip1559(signer, &payload, bumped)?;
        let hash = attempt.hash;
        let raw = attempt.raw.clone();
        self.store.tx_add_attempt(send.id, attempt, now).await?;
        match broadcast(&self.provider, &raw).await {
            Broadcast::Accepted => {
                self.store.tx_mark_broadcast(hash, now).await?;
                report.replaced += 1;
                tracing::info!(
                    idem_key = %send.idem_key, old = %live.hash, new = %hash,
                    max_fee = bumped.max_fee_per_gas, tip = bumped.max_priority_fee_per_gas,
                    "stuck transaction replaced with higher fees"
                );
            }
            Broadcast::Rejected(message) => {
                tracing::warn!(idem_key = %send.idem_key, %hash, "replacement refused: {message}");
                self.store
                    .tx_mark_rejected(hash, message, false, now)
                    .await?;
            }
            Broadcast::Uncertain(message) => {
                // Journaled as signed: the next tick broadcasts these bytes again.
                tracing::warn!(idem_key = %send.idem_key, %hash, "replacement unanswered: {message}");
                report.replaced += 1;
            }
        }
        Ok(true)
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The tracker's worker: reconciles once (retrying until it succeeds), then ticks every
/// `poll_interval` until cancelled. RPC failures are logged and retried; only a closed
/// store ends it with an error.
pub async fn run_tracker(tracker: Arc<Tracker>, cancel: CancellationToken) -> anyhow::Result<()> {
    let interval = tracker.options.poll_interval;
    loop {
        match tracker.reconcile().await {
            Ok(_) => break,
            Err(SendError::Store(e @ StoreError::Closed)) => return Err(e.into()),
            Err(e) => tracing::warn!(
                chain_id = tracker.chain_id,
                "reconciliation failed, retrying: {e}"
            ),
        }
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = tokio::time::sleep(interval) => {}
        }
    }
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = tokio::time::sleep(interval) => {}
        }
        match tracker.tick().await {
            Ok(_) => {}
            Err(SendError::Store(e @ StoreError::Closed)) => return Err(e.into()),
            Err(e) => tracing::warn!(chain_id = tracker.chain_id, "tracker tick failed: {e}"),
        }
    }
}
