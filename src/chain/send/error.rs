//! What can go wrong when sending, each variant saying what happened.

use alloy::primitives::Bytes;
use alloy::transports::TransportError;

use crate::store::StoreError;

use super::record::TxState;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The `eth_call` simulation (or the gas estimate) reverted; nothing was journaled or sent.
    #[error("the transaction would revert: {reason}")]
    Reverted {
        /// The decoded reason: the `Error(string)` message, the panic code and its meaning,
        /// a custom error's name and arguments, or its selector when no ABI knows it.
        reason: String,
        /// The raw revert data (selector + arguments), possibly empty.
        data: Bytes,
    },
    /// The node refused the simulation for another reason than a revert (e.g. the account
    /// cannot pay the value); nothing was journaled or sent.
    #[error("the simulation failed: {message}")]
    SimulationFailed { message: String },
    /// The next block's base fee is above the configured cap: the send waits.
    #[error(
        "the base fee ({base_fee} wei) exceeds the max fee cap ({cap} wei); nothing was sent, retry when fees fall"
    )]
    FeeCapExceeded { base_fee: u128, cap: u128 },
    /// The node refused the signed transaction (journaled as `rejected`; its nonce was released).
    #[error("the node rejected transaction {idem_key}: {message}")]
    Rejected { idem_key: String, message: String },
    #[error("RPC error: {0}")]
    Rpc(#[from] TransportError),
    /// The node answered something we cannot use (no base fee, a malformed reply).
    #[error("unexpected node reply: {0}")]
    Node(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing failed: {0}")]
    Sign(String),
    /// A sender was built with a signer and a nonce manager of different accounts, or for
    /// another chain.
    #[error("misconfigured sender: {0}")]
    Config(String),
    #[error("invalid transaction request: {0}")]
    InvalidRequest(String),
    #[error("no journaled transaction has the idempotency key {idem_key}")]
    UnknownKey { idem_key: String },
    #[error("transaction {idem_key} is still {state} after waiting {waited_ms} ms")]
    Timeout {
        idem_key: String,
        state: TxState,
        waited_ms: u64,
    },
}

impl SendError {
    /// Worth trying again later unchanged: the node could not be reached or answered
    /// oddly, the base fee is above the cap, or the database was busy. A revert, a refusal
    /// or a bad request is not.
    pub fn is_transient(&self) -> bool {
        match self {
            SendError::Rpc(_) | SendError::Node(_) | SendError::FeeCapExceeded { .. } => true,
            SendError::Store(e) => matches!(e, StoreError::Sql(_)),
            _ => false,
        }
    }
}
