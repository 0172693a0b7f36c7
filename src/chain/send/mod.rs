//! Sending transactions: one [`Sender`] per (chain, account) holding the account's signer,
//! a shared [`NonceManager`] per account, EIP-1559 [`fees`] within the configured caps,
//! [`simulate`] (`eth_call`) before every send with decoded revert reasons, and the
//! transaction journal in SQLite (`store::txs`) written BEFORE each broadcast and followed
//! by the [`Tracker`] (pending → mined → confirmed / failed / replaced / dropped, stuck
//! transactions replaced with higher fees, reconciliation at start-up).
//!
//! Nothing is sent twice: a send is keyed by an idempotency key (an action executor uses
//! `"action:<id>"`); a key in the journal is never signed again, and after a crash the
//! journaled raw transaction is re-broadcast unchanged (same hash) rather than re-sent.

mod broadcast;
mod error;
pub mod fees;
mod nonce;
mod record;
mod sender;
mod sign;
pub mod simulate;
mod tracker;

use alloy::primitives::{Address, Bytes, U256};

pub use broadcast::{Broadcast, broadcast, is_nonce_error};
pub use error::SendError;
pub use fees::{FeePolicy, FeeQuote, Fees};
pub use nonce::{NonceGuard, NonceManager};
pub use record::{
    AttemptState, JournalOutcome, MinedInfo, NewAttempt, NewTx, TxAttempt, TxRecord, TxState,
};
pub use sender::{DEFAULT_GAS_MARGIN_PERCENT, SendHook, SendStage, Sender};
pub use sign::{Payload, sign_eip1559};
pub use simulate::{RevertDecoder, simulate};
pub use tracker::{TickReport, Tracker, TrackerOptions, run_tracker};

/// What to send: a call (or a plain transfer) from the sender's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRequest {
    /// Sent at most once per key, e.g. `"action:42"`.
    pub idem_key: String,
    pub to: Address,
    pub value: U256,
    pub input: Bytes,
    /// `None` estimates it (plus a margin).
    pub gas_limit: Option<u64>,
}

impl TxRequest {
    /// A contract call without value.
    pub fn call(idem_key: impl Into<String>, to: Address, input: impl Into<Bytes>) -> TxRequest {
        TxRequest {
            idem_key: idem_key.into(),
            to,
            value: U256::ZERO,
            input: input.into(),
            gas_limit: None,
        }
    }

    /// A plain value transfer.
    pub fn transfer(idem_key: impl Into<String>, to: Address, value: U256) -> TxRequest {
        TxRequest {
            idem_key: idem_key.into(),
            to,
            value,
            input: Bytes::new(),
            gas_limit: None,
        }
    }
}

/// What a send did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Newly signed, journaled and (unless the broadcast went unanswered) broadcast.
    Sent(TxRecord),
    /// The key was already journaled: its record, nothing new signed.
    Existing(TxRecord),
}

impl SendOutcome {
    pub fn record(&self) -> &TxRecord {
        match self {
            SendOutcome::Sent(r) | SendOutcome::Existing(r) => r,
        }
    }

    pub fn into_record(self) -> TxRecord {
        match self {
            SendOutcome::Sent(r) | SendOutcome::Existing(r) => r,
        }
    }

    pub fn is_new(&self) -> bool {
        matches!(self, SendOutcome::Sent(_))
    }
}
