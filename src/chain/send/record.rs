//! The journal's records: one [`TxRecord`] per idempotency key, one [`TxAttempt`] per
//! signed transaction (the original and each fee-bumped replacement, all with one nonce).

use std::fmt;
use std::str::FromStr;

use alloy::primitives::{Address, B256, Bytes, U256};

/// Where a send is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxState {
    /// Journaled; the broadcast is not known to have reached the node.
    Signed,
    /// The node accepted it (or one of its attempts).
    Pending,
    /// One attempt has a receipt, not yet `confirmations` deep.
    Mined,
    /// Mined with status 1 and `confirmations` deep. Final.
    Confirmed,
    /// Mined with status 0 (reverted on chain) and `confirmations` deep. Final.
    Failed,
    /// Its nonce was consumed by a transaction that is not one of its attempts. Final.
    Dropped,
    /// The node refused it outright; nothing of it can be mined. Final.
    Rejected,
}

impl TxState {
    pub const ALL: [TxState; 7] = [
        TxState::Signed,
        TxState::Pending,
        TxState::Mined,
        TxState::Confirmed,
        TxState::Failed,
        TxState::Dropped,
        TxState::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TxState::Signed => "signed",
            TxState::Pending => "pending",
            TxState::Mined => "mined",
            TxState::Confirmed => "confirmed",
            TxState::Failed => "failed",
            TxState::Dropped => "dropped",
            TxState::Rejected => "rejected",
        }
    }

    /// Nothing will change any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TxState::Confirmed | TxState::Failed | TxState::Dropped | TxState::Rejected
        )
    }
}

impl fmt::Display for TxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TxState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        TxState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown tx state {s:?}"))
    }
}

/// Where one signed transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptState {
    /// Journaled, broadcast not (known to be) accepted.
    Signed,
    /// Accepted by the node.
    Pending,
    /// This attempt's receipt is the send's receipt.
    Mined,
    /// Another attempt with the same nonce was mined.
    Replaced,
    /// The node refused it.
    Rejected,
    /// The nonce was consumed by a transaction that is none of our attempts.
    Dropped,
}

impl AttemptState {
    pub const ALL: [AttemptState; 6] = [
        AttemptState::Signed,
        AttemptState::Pending,
        AttemptState::Mined,
        AttemptState::Replaced,
        AttemptState::Rejected,
        AttemptState::Dropped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AttemptState::Signed => "signed",
            AttemptState::Pending => "pending",
            AttemptState::Mined => "mined",
            AttemptState::Replaced => "replaced",
            AttemptState::Rejected => "rejected",
            AttemptState::Dropped => "dropped",
        }
    }
}

impl fmt::Display for AttemptState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AttemptState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        AttemptState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown tx attempt state {s:?}"))
    }
}

/// One signed transaction of a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxAttempt {
    pub id: i64,
    /// 0 for the original, then 1, 2, ... for each replacement (or nonce retry).
    pub attempt: u32,
    pub nonce: u64,
    pub hash: B256,
    /// The signed EIP-2718 bytes exactly as broadcast; re-broadcasting them cannot
    /// create a second transaction.
    pub raw: Bytes,
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
    pub state: AttemptState,
    pub error: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms when the node first accepted it.
    pub sent_at: Option<i64>,
}

/// One journaled send: the payload, the nonce, its state and (once mined) its receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRecord {
    pub id: i64,
    pub idem_key: String,
    pub chain_id: u64,
    pub from: Address,
    pub nonce: u64,
    pub to: Address,
    pub value: U256,
    pub input: Bytes,
    pub gas_limit: u64,
    pub state: TxState,
    /// The attempt that was mined.
    pub final_hash: Option<B256>,
    pub block_number: Option<u64>,
    pub block_hash: Option<B256>,
    pub gas_used: Option<u64>,
    pub effective_gas_price: Option<u128>,
    /// The receipt's status: `true` succeeded, `false` reverted on chain.
    pub receipt_status: Option<bool>,
    /// Why it was rejected or dropped.
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Oldest first.
    pub attempts: Vec<TxAttempt>,
}

impl TxRecord {
    /// The newest attempt the node did not refuse: the one that can still be mined.
    pub fn live_attempt(&self) -> Option<&TxAttempt> {
        self.attempts
            .iter()
            .rev()
            .find(|a| a.state != AttemptState::Rejected)
    }

    /// The mined hash if any, else the live attempt's.
    pub fn hash(&self) -> Option<B256> {
        self.final_hash
            .or_else(|| self.live_attempt().map(|a| a.hash))
    }

    pub fn attempt(&self, hash: B256) -> Option<&TxAttempt> {
        self.attempts.iter().find(|a| a.hash == hash)
    }
}

/// A signed transaction about to be journaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttempt {
    pub nonce: u64,
    pub hash: B256,
    pub raw: Bytes,
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
}

/// A new send and its first signed transaction, journaled together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTx {
    pub idem_key: String,
    pub chain_id: u64,
    pub from: Address,
    pub to: Address,
    pub value: U256,
    pub input: Bytes,
    pub gas_limit: u64,
    pub attempt: NewAttempt,
}

/// What a receipt says, as the journal keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinedInfo {
    pub hash: B256,
    pub block_number: u64,
    pub block_hash: B256,
    pub gas_used: u64,
    pub effective_gas_price: u128,
    pub status: bool,
}

/// The result of journaling a new send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalOutcome {
    Created(TxRecord),
    /// The idempotency key was already journaled (a concurrent send won); nothing written.
    Existing(TxRecord),
    /// A live send of this account already holds this nonce; nothing written.
    NonceTaken,
}
