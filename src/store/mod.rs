//! The local SQLite store: one file in the data dir, WAL, forward-only migrations.
//!
//! All database work runs on one dedicated thread that owns the connection; callers
//! send it closures. So the UI thread never touches SQLite, writes are serialised
//! without lock contention, and async code never blocks its executor on disk.

mod actions;
pub mod anyhedge;
pub mod anyhedge_oracles;
mod deployments;
pub(crate) mod ingest;
mod liquidations;
pub mod margin;
mod migrations;
mod oracle_cycles;
mod oracle_slots;
pub mod perp;
pub mod pool;
mod txs;
mod writer;

pub use actions::{ActionFilter, ProposeOutcome};
pub use deployments::Deployment;
pub use ingest::{IngestedLog, LogState, StreamCursor};
pub use liquidations::{DayTotals, LiquidationRecord, LiquidationState, LiquidationUpdate};
pub use margin::{MarginEvent, MarginOrder, MarginPosition, PositionStatus};
pub use migrations::{MIGRATIONS, schema_version};
pub use oracle_cycles::{CycleOutcome, CycleRecord, CycleStats};
pub use oracle_slots::OracleSlot;
pub use writer::{Store, StoreError};
