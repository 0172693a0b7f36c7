//! One scan of a stream: verify the last scanned block is still canonical (rewinding
//! past a reorg if not), then `eth_getLogs` from the cursor to the safe head in chunks,
//! committing each chunk with its logs applied in one transaction.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::B256;
use alloy::providers::{Provider, RootProvider};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::fetch::{ChunkSize, is_range_error};
use super::reorg::highest_canonical;
use super::{IngestConfig, IngestError, IngestNotice, IngestStats, LogHandler, StreamSpec};
use crate::store::ingest::{self as sql, Batch, StreamKey, hex_address, hex_b256};
use crate::store::{IngestedLog, Store, StreamCursor};

/// Times in a row the chain may change under one chunk before the scan gives up (and the
/// worker retries later).
const MAX_UNSTABLE: u32 = 5;

/// What one scan did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// The head block when the scan last looked.
    pub head: u64,
    /// `head - confirmations`; `None` while the chain is shorter than the confirmations.
    pub safe: Option<u64>,
    /// The cursor before and after the scan (the next block to scan).
    pub from_block: u64,
    pub next_block: u64,
    /// Chunks committed and `eth_getLogs` requests sent (more than chunks when a range
    /// was refused or the chain moved under a chunk).
    pub chunks: u32,
    pub get_logs_calls: u32,
    /// Logs newly applied.
    pub applied: usize,
    /// For each reorg found: the first block that was no longer canonical (the cursor
    /// went back to it).
    pub rewound_to: Vec<u64>,
    /// Logs retracted by those reorgs.
    pub retracted: usize,
}

impl ScanReport {
    /// Every block up to the safe head is scanned.
    pub fn caught_up(&self) -> bool {
        match self.safe {
            Some(safe) => self.next_block > safe,
            None => true,
        }
    }
}

/// One stream's scanner: its provider, store, handler and the desk's notice channel.
/// [`Ingestor::scan_once`] scans; [`Ingestor::run`] (the worker) loops scans on new heads.
pub struct Ingestor {
    pub(super) provider: RootProvider,
    pub(super) store: Store,
    pub(super) spec: Arc<StreamSpec>,
    pub(super) handler: Arc<dyn LogHandler>,
    pub(super) notices: mpsc::Sender<IngestNotice>,
    pub(super) config: IngestConfig,
    pub(super) chunk: ChunkSize,
    pub(super) stats: Arc<IngestStats>,
    /// The stream's row exists and matches the spec (checked once per ingestor).
    opened: AtomicBool,
}

impl std::fmt::Debug for Ingestor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingestor")
            .field("spec", &self.spec)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Ingestor {
    pub fn new(
        provider: RootProvider,
        store: Store,
        spec: StreamSpec,
        handler: Arc<dyn LogHandler>,
        notices: mpsc::Sender<IngestNotice>,
        config: IngestConfig,
    ) -> Result<Self, IngestError> {
        spec.validate()?;
        Ok(Self {
            provider,
            store,
            spec: Arc::new(spec),
            handler,
            notices,
            chunk: ChunkSize::new(config.log_chunk_blocks),
            config,
            stats: Arc::new(IngestStats::default()),
            opened: AtomicBool::new(false),
        })
    }

    pub fn spec(&self) -> &StreamSpec {
        &self.spec
    }

    /// Live counters (shared: keep the `Arc` to watch a running worker).
    pub fn stats(&self) -> Arc<IngestStats> {
        self.stats.clone()
    }

    /// Scans from the cursor to the safe head once.
    pub async fn scan_once(&self) -> Result<ScanReport, IngestError> {
        self.scan(&CancellationToken::new()).await
    }

    /// The stream's cursor, created at its start block the first time.
    pub async fn cursor(&self) -> Result<StreamCursor, IngestError> {
        let spec = self.spec.clone();
        let opened = self.opened.load(Ordering::Relaxed);
        let cursor = self
            .store
            .call(move |conn| {
                let known = if opened {
                    sql::read_cursor(conn, spec.chain_id, &spec.name)?
                } else {
                    None
                };
                if let Some(cursor) = known {
                    return Ok(cursor);
                }
                sql::open_stream(conn, &stream_key(&spec), spec.start_block)
            })
            .await?;
        self.opened.store(true, Ordering::Relaxed);
        Ok(cursor)
    }

    /// Scans until caught up with the safe head; stops between chunks once `cancel`
    /// fires (each chunk commits whole, so the cursor is consistent at every point).
    pub(super) async fn scan(&self, cancel: &CancellationToken) -> Result<ScanReport, IngestError> {
        let cursor = self.cursor().await?;
        let (chain_id, name) = (self.spec.chain_id, self.spec.name.clone());
        let mut tip = self
            .store
            .call(move |conn| sql::recorded_tip(conn, chain_id, &name))
            .await?;
        let mut next = cursor.next_block;
        let mut report = ScanReport {
            from_block: next,
            next_block: next,
            ..ScanReport::default()
        };
        let mut head = self.provider.get_block_number().await?;
        let mut unstable = 0u32;
        loop {
            report.head = head;
            let Some(safe) = head.checked_sub(self.config.confirmations) else {
                break;
            };
            report.safe = Some(safe);
            if cancel.is_cancelled() {
                break;
            }
            if next > safe {
                // Nothing new to scan, but the last scanned block may have been replaced
                // at the same height.
                if let Some((number, hash)) = tip
                    && self.block_hash(number).await? != Some(hash)
                {
                    (next, tip) = self.rewind(cursor.start_block, &mut report).await?;
                    head = self.provider.get_block_number().await?;
                    continue;
                }
                break;
            }

            let to = self.chunk.end(next, safe);
            // The hash of the chunk's last block before and after the scan: equal means
            // nothing at or below it changed in between (every block below is its
            // ancestor), so the logs and the check of the previous tip are consistent.
            let Some(hash_before) = self.block_hash(to).await? else {
                unstable = self.unstable(unstable, next, to)?;
                head = self.provider.get_block_number().await?;
                continue;
            };
            if let Some((number, hash)) = tip
                && self.block_hash(number).await? != Some(hash)
            {
                (next, tip) = self.rewind(cursor.start_block, &mut report).await?;
                head = self.provider.get_block_number().await?;
                continue;
            }

            let span = to - next + 1;
            report.get_logs_calls += 1;
            IngestStats::add(&self.stats.get_logs_calls, 1);
            self.stats
                .max_chunk_blocks
                .fetch_max(span, Ordering::Relaxed);
            let logs = match self.provider.get_logs(&self.spec.filter(next, to)).await {
                Ok(logs) => logs,
                Err(e) if is_range_error(&e) && self.chunk.halve(span) => {
                    IngestStats::add(&self.stats.chunk_halvings, 1);
                    tracing::debug!(stream = %self.spec.name, span, error = %e,
                        "eth_getLogs range refused; halving the chunk");
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if self.block_hash(to).await? != Some(hash_before) {
                unstable = self.unstable(unstable, next, to)?;
                head = self.provider.get_block_number().await?;
                continue;
            }
            self.chunk.succeeded();

            let Some((logs, blocks)) = self.collect(logs, next, to, hash_before)? else {
                unstable = self.unstable(unstable, next, to)?;
                continue;
            };
            let applied = self.commit(next, to, logs, blocks).await?;
            report.chunks += 1;
            report.applied += applied;
            IngestStats::add(&self.stats.applied, applied as u64);
            if applied > 0 {
                self.notify(IngestNotice::Applied {
                    stream: self.spec.name.clone(),
                    up_to_block: to,
                    count: applied,
                })
                .await;
            }
            next = to + 1;
            tip = Some((to, hash_before));
            unstable = 0;
            self.stats.next_block.store(next, Ordering::Relaxed);
        }
        report.next_block = next;
        self.stats.next_block.store(next, Ordering::Relaxed);
        IngestStats::add(&self.stats.scans, 1);
        Ok(report)
    }

    fn unstable(&self, count: u32, from: u64, to: u64) -> Result<u32, IngestError> {
        tracing::debug!(stream = %self.spec.name, from, to, "the chain moved under a chunk; rescanning it");
        if count + 1 >= MAX_UNSTABLE {
            return Err(IngestError::Unstable { from, to });
        }
        Ok(count + 1)
    }

    /// The node's logs for `from..=to` as ingested logs in chain order, with the block
    /// hashes to remember. `None` when they contradict the chunk's last block hash (the
    /// node answered from another fork): the chunk is scanned again.
    #[allow(clippy::type_complexity)]
    fn collect(
        &self,
        logs: Vec<alloy::rpc::types::Log>,
        from: u64,
        to: u64,
        to_hash: B256,
    ) -> Result<Option<(Vec<IngestedLog>, Vec<(u64, B256)>)>, IngestError> {
        let mut blocks = BTreeMap::from([(to, to_hash)]);
        let mut out = Vec::with_capacity(logs.len());
        for log in logs {
            if log.removed {
                continue;
            }
            let log = IngestedLog::from_rpc(&self.spec.name, self.spec.chain_id, log)?;
            if log.block_number < from || log.block_number > to {
                return Ok(None);
            }
            if *blocks.entry(log.block_number).or_insert(log.block_hash) != log.block_hash {
                return Ok(None);
            }
            out.push(log);
        }
        out.sort_by_key(|log| (log.block_number, log.log_index));
        out.dedup_by_key(|log| (log.block_number, log.log_index));
        Ok(Some((out, blocks.into_iter().collect())))
    }

    async fn commit(
        &self,
        from: u64,
        to: u64,
        logs: Vec<IngestedLog>,
        blocks: Vec<(u64, B256)>,
    ) -> Result<usize, IngestError> {
        let handler = self.handler.clone();
        let (chain_id, name) = (self.spec.chain_id, self.spec.name.clone());
        let prune_below = (to + 1).saturating_sub(self.config.reorg_window.max(1));
        Ok(self
            .store
            .call(move |conn| {
                let batch = Batch {
                    expected_next: from,
                    next_block: to + 1,
                    logs: &logs,
                    blocks: &blocks,
                    prune_below,
                };
                sql::commit_batch(conn, chain_id, &name, &batch, &mut |tx, log| {
                    handler.apply(tx, log)
                })
            })
            .await?)
    }

    /// The last scanned block is no longer canonical: finds the fork point, retracts
    /// every log above it and moves the cursor back. Returns the new cursor and tip.
    async fn rewind(
        &self,
        start_block: u64,
        report: &mut ScanReport,
    ) -> Result<(u64, Option<(u64, B256)>), IngestError> {
        let (chain_id, name) = (self.spec.chain_id, self.spec.name.clone());
        let recorded = self
            .store
            .call(move |conn| sql::recorded_blocks(conn, chain_id, &name))
            .await?;
        let found = highest_canonical(&recorded, |n| self.block_hash(n)).await?;
        let (first_invalid, tip) = match found {
            Some(i) => (recorded[i].0 + 1, Some(recorded[i])),
            None => {
                // Nothing remembered is canonical. If the remembered window reaches back
                // to the stream's start, the fork is at most there: rescan everything.
                let oldest = recorded.last().map_or(start_block, |(n, _)| *n);
                if oldest.saturating_sub(start_block) > self.config.reorg_window {
                    return Err(IngestError::ReorgTooDeep {
                        stream: self.spec.name.clone(),
                        window: self.config.reorg_window,
                        oldest,
                    });
                }
                (start_block, None)
            }
        };
        let handler = self.handler.clone();
        let (chain_id, name) = (self.spec.chain_id, self.spec.name.clone());
        let logs = self
            .store
            .call(move |conn| {
                sql::rewind_to(conn, chain_id, &name, first_invalid, &mut |tx, log| {
                    handler.retract(tx, log)
                })
            })
            .await?;
        tracing::warn!(
            stream = %self.spec.name,
            first_invalid,
            retracted = logs.len(),
            "chain reorganised below the cursor; retracted logs above the fork and rescanning"
        );
        IngestStats::add(&self.stats.reorgs, 1);
        IngestStats::add(&self.stats.retracted, logs.len() as u64);
        report.rewound_to.push(first_invalid);
        report.retracted += logs.len();
        if !logs.is_empty() {
            self.notify(IngestNotice::Retracted {
                stream: self.spec.name.clone(),
                logs,
            })
            .await;
        }
        Ok((first_invalid, tip))
    }

    /// The canonical hash at height `number`, `None` above the head.
    async fn block_hash(&self, number: u64) -> Result<Option<B256>, IngestError> {
        Ok(self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await?
            .map(|block| block.header.hash))
    }

    async fn notify(&self, notice: IngestNotice) {
        // A desk that dropped its receiver reads the store instead.
        let _ = self.notices.send(notice).await;
    }
}

/// The stream's filter in its stored, order-independent form.
pub(crate) fn stream_key(spec: &StreamSpec) -> StreamKey<'_> {
    let mut addresses: Vec<String> = spec.addresses.iter().map(hex_address).collect();
    addresses.sort();
    addresses.dedup();
    let mut topic0: Vec<String> = spec.topic0.iter().map(hex_b256).collect();
    topic0.sort();
    topic0.dedup();
    StreamKey {
        chain_id: spec.chain_id,
        name: &spec.name,
        addresses: addresses.join(","),
        topic0: topic0.join(","),
    }
}

/// Scans `spec` once from its cursor to the safe head: a one-off [`Ingestor`].
pub async fn scan_once(
    provider: &RootProvider,
    store: &Store,
    spec: &StreamSpec,
    handler: Arc<dyn LogHandler>,
    notices: &mpsc::Sender<IngestNotice>,
    config: &IngestConfig,
) -> Result<ScanReport, IngestError> {
    Ingestor::new(
        provider.clone(),
        store.clone(),
        spec.clone(),
        handler,
        notices.clone(),
        config.clone(),
    )?
    .scan_once()
    .await
}
