//! The chain layer every desk reads and writes EVM chains through (alloy 2): providers
//! with failover across several endpoints and their health, event ingestion with
//! persisted cursors, and sending with a shared nonce manager and a tx journal.

pub mod client;
pub mod contracts;
pub mod executor;
pub mod failover;
pub mod health;
pub mod ingest;
pub mod send;
pub mod status;

pub use client::Chain;
pub use failover::{EndpointTransport, FailoverTransport};
pub use health::run_health;
pub use status::{ChainStatus, EndpointState, EndpointStatus, HeadInfo, redact_url};
