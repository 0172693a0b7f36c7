//! The chain layer every desk reads and writes EVM chains through (alloy 2): providers
//! with failover across several endpoints and their health, event ingestion with
//! persisted cursors, and sending with a shared nonce manager and a tx journal.

pub mod contracts;
