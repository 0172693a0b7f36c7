//! Event ingestion: contract logs delivered to a desk exactly once, in chain order, a
//! confirmation depth behind the head, with reorged logs retracted.
//!
//! A *stream* ([`StreamSpec`]) is a named filter (contract addresses and an optional set
//! of topic0 values) on one chain, with a cursor persisted in SQLite: the next block to
//! scan plus the hashes of recently scanned blocks. One scan ([`Ingestor::scan_once`]):
//!
//! 1. `safe = head - confirmations`; nothing above `safe` is looked at.
//! 2. From the cursor to `safe`, in chunks of at most `log_chunk_blocks`, `eth_getLogs`
//!    (a "too many results" / range error halves the chunk and retries).
//! 3. Before each chunk, the remembered hash of the last scanned block must still be
//!    canonical. If not, the fork point is the highest remembered block whose hash still
//!    matches: every log above it is retracted (the handler's `retract` runs, the log's
//!    state becomes `retracted`, the desk gets [`IngestNotice::Retracted`]), the cursor
//!    goes back and the blocks are scanned again.
//! 4. Each chunk commits in one SQLite transaction: the logs are recorded (idempotent by
//!    `(chain_id, stream, block_hash, log_index)`), the handler's `apply` runs for each new
//!    one, and the cursor moves. A crash anywhere leaves either all of it or none.
//!
//! New heads only wake the scanner ([`heads`]): over a WebSocket `newHeads`
//! subscription when the endpoint has one (polling while it is down), by polling
//! `eth_blockNumber` otherwise. The worker ([`run_stream`]) loops scan → wait for a head.

mod fetch;
pub mod heads;
mod log;
mod reorg;
mod scan;
mod worker;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use alloy::transports::TransportError;

pub use crate::store::{IngestedLog, LogState, StoreError, StreamCursor};
pub use scan::{Ingestor, ScanReport, scan_once};
pub use worker::run_stream;

use crate::config::ChainConfig;

/// What a desk does with its stream's logs. Both methods run on the store thread inside
/// the transaction that records the log (or its retraction) and moves the cursor: write
/// the desk's own state through `tx` and it commits, or fails, together with the cursor.
/// Do no I/O other than `tx` here, and keep it short: the store thread is shared.
pub trait LogHandler: Send + Sync + 'static {
    /// A new canonical log. Called once per log (again only after a `retract` of it, if a
    /// reorg brings the very same block back).
    fn apply(&self, tx: &rusqlite::Transaction<'_>, log: &IngestedLog) -> Result<(), StoreError>;

    /// A log previously applied whose block left the canonical chain. Newest first.
    fn retract(&self, tx: &rusqlite::Transaction<'_>, log: &IngestedLog) -> Result<(), StoreError>;
}

/// Told to the desk after a commit. The store is the truth: a notice can be lost if the
/// worker is cancelled between the commit and the send, or if the receiver is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestNotice {
    /// `count` new logs were applied, up to and including block `up_to_block`.
    Applied {
        stream: String,
        up_to_block: u64,
        count: usize,
    },
    /// These logs were retracted by a reorg (oldest first); their handler's `retract` ran.
    Retracted {
        stream: String,
        logs: Vec<IngestedLog>,
    },
}

/// A named event filter on one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSpec {
    /// Unique per chain: `<desk>.<what>` ("liquidator.margin").
    pub name: String,
    pub chain_id: u64,
    /// At least one contract.
    pub addresses: Vec<Address>,
    /// Only logs whose first topic is one of these; empty: every log of the contracts.
    pub topic0: Vec<B256>,
    /// Where a new stream's cursor starts (the contracts' deployment block).
    pub start_block: u64,
}

impl StreamSpec {
    pub fn new(name: impl Into<String>, chain_id: u64, addresses: Vec<Address>) -> Self {
        Self {
            name: name.into(),
            chain_id,
            addresses,
            topic0: Vec::new(),
            start_block: 0,
        }
    }

    /// Also accept event `E` (adds its signature hash to the topic0 filter).
    pub fn with_event<E: SolEvent>(mut self) -> Self {
        self.topic0.push(E::SIGNATURE_HASH);
        self
    }

    pub fn with_topic0(mut self, topic0: B256) -> Self {
        self.topic0.push(topic0);
        self
    }

    pub fn starting_at(mut self, block: u64) -> Self {
        self.start_block = block;
        self
    }

    /// The spec is usable: a name and at least one address.
    pub fn validate(&self) -> Result<(), IngestError> {
        if self.name.trim().is_empty() {
            return Err(IngestError::Spec("an event stream needs a name".into()));
        }
        if self.addresses.is_empty() {
            return Err(IngestError::Spec(format!(
                "event stream {:?} names no contract address",
                self.name
            )));
        }
        Ok(())
    }

    /// The `eth_getLogs` filter for blocks `from..=to`.
    pub fn filter(&self, from: u64, to: u64) -> Filter {
        let filter = Filter::new()
            .address(self.addresses.clone())
            .from_block(from)
            .to_block(to);
        if self.topic0.is_empty() {
            filter
        } else {
            filter.event_signature(self.topic0.clone())
        }
    }
}

/// How a stream is scanned. [`IngestConfig::from_chain`] reads a `[chains.<name>]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestConfig {
    /// Blocks on top of a log's block before it is applied (0: at once).
    pub confirmations: u64,
    /// Most blocks in one `eth_getLogs`.
    pub log_chunk_blocks: u64,
    /// Head polling period when there is no WebSocket (or it is down).
    pub poll_interval: Duration,
    /// `newHeads` over this WebSocket when set.
    pub ws_url: Option<String>,
    /// Block hashes are remembered this many blocks below the cursor: the deepest reorg
    /// that can be undone. A deeper one stops the stream with an error.
    pub reorg_window: u64,
    /// Longest wait between WebSocket reconnection attempts.
    pub ws_backoff_max: Duration,
    /// Longest wait before retrying a scan that failed on an RPC error.
    pub error_backoff_max: Duration,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            confirmations: 2,
            log_chunk_blocks: 2_000,
            poll_interval: Duration::from_secs(1),
            ws_url: None,
            reorg_window: 1_024,
            ws_backoff_max: Duration::from_secs(30),
            error_backoff_max: Duration::from_secs(30),
        }
    }
}

impl IngestConfig {
    /// The chain's knobs; the WebSocket of its first endpoint that has one.
    pub fn from_chain(chain: &ChainConfig) -> Self {
        Self {
            confirmations: chain.confirmations,
            log_chunk_blocks: chain.log_chunk_blocks.max(1),
            poll_interval: Duration::from_millis(chain.poll_interval_ms.max(1)),
            ws_url: chain
                .endpoints
                .iter()
                .map(|e| e.ws_url.trim())
                .find(|url| !url.is_empty())
                .map(str::to_string),
            ..Self::default()
        }
    }
}

/// Why a scan failed.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("RPC error: {0}")]
    Rpc(#[from] TransportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Spec(String),
    #[error("the node returned a log without {0} (a pending log?)")]
    IncompleteLog(&'static str),
    #[error("the chain kept changing under the scan of blocks {from}..={to}; will retry")]
    Unstable { from: u64, to: u64 },
    #[error(
        "event stream {stream:?}: a reorg goes deeper than the {window} remembered blocks \
         (none of the remembered hashes down to block {oldest} is canonical); the stream \
         cannot tell which logs to retract"
    )]
    ReorgTooDeep {
        stream: String,
        window: u64,
        oldest: u64,
    },
}

impl IngestError {
    /// Worth retrying after a pause (the node, the network or a busy database), as
    /// opposed to a problem that retrying cannot fix.
    pub fn is_transient(&self) -> bool {
        match self {
            IngestError::Rpc(_) | IngestError::IncompleteLog(_) | IngestError::Unstable { .. } => {
                true
            }
            IngestError::Store(StoreError::Sql(e)) => matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            _ => false,
        }
    }
}

/// Counters of one stream's ingestion, shared with whoever wants to watch it.
#[derive(Debug, Default)]
pub struct IngestStats {
    /// Completed scans.
    pub scans: AtomicU64,
    /// `eth_getLogs` requests sent.
    pub get_logs_calls: AtomicU64,
    /// The widest block range asked for in one `eth_getLogs`.
    pub max_chunk_blocks: AtomicU64,
    /// Times a range error halved the chunk.
    pub chunk_halvings: AtomicU64,
    pub applied: AtomicU64,
    pub retracted: AtomicU64,
    pub reorgs: AtomicU64,
    /// Heads received over the WebSocket subscription.
    pub ws_heads: AtomicU64,
    /// `eth_blockNumber` polls made by the head watcher.
    pub head_polls: AtomicU64,
    /// Successful WebSocket subscriptions (the first and every reconnection).
    pub ws_connects: AtomicU64,
    /// The WebSocket subscription is up right now.
    pub ws_up: AtomicBool,
    /// The cursor after the last scan.
    pub next_block: AtomicU64,
}

impl IngestStats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}
