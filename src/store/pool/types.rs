//! The inputs and outcomes the pool's flows take and give.

use alloy::primitives::{Address, B256};

use crate::pool::math::premium::PremiumModel;
use crate::pool::model::{
    Allocation, Policy, PolicyKind, PolicyStatus, Prices, ProviderStatus, Token, Units, UsdE8,
};

// ---------------------------------------------------------------------------------------
// Inputs and outcomes

/// Where a Vault event sits on chain: its identity for idempotency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventKey {
    pub tx_hash: B256,
    pub log_index: u64,
    pub block_number: u64,
}

/// A confirmed Vault event, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultEvent {
    /// `funds-deposited`: a provider's deposit reached the Vault.
    Deposited {
        provider: Address,
        token: Token,
        amount: Units,
    },
    /// `funds-withdrawn`.
    Withdrawn {
        provider: Address,
        token: Token,
        amount: Units,
    },
    /// `collateral-locked`: the aggregate lock for these policies (no funds moved).
    CollateralLocked {
        policy_ids: Vec<i64>,
        token: Token,
        amount: Units,
    },
    /// `collateral-released`.
    CollateralReleased {
        policy_ids: Vec<i64>,
        token: Token,
        amount: Units,
    },
    /// `settlement-paid`: the Vault paid the buyer. `settlement_price` is the BTC price the
    /// desk settled at (from its action's journal), kept with the policy.
    SettlementPaid {
        policy_id: i64,
        buyer: Address,
        token: Token,
        amount: Units,
        settlement_price: Option<UsdE8>,
    },
}

impl VaultEvent {
    pub(super) fn kind(&self) -> &'static str {
        match self {
            VaultEvent::Deposited { .. } => "funds_deposited",
            VaultEvent::Withdrawn { .. } => "funds_withdrawn",
            VaultEvent::CollateralLocked { .. } => "collateral_locked",
            VaultEvent::CollateralReleased { .. } => "collateral_released",
            VaultEvent::SettlementPaid { .. } => "settlement_paid",
        }
    }

    pub(super) fn token(&self) -> Token {
        match self {
            VaultEvent::Deposited { token, .. }
            | VaultEvent::Withdrawn { token, .. }
            | VaultEvent::CollateralLocked { token, .. }
            | VaultEvent::CollateralReleased { token, .. }
            | VaultEvent::SettlementPaid { token, .. } => *token,
        }
    }

    pub(super) fn amount(&self) -> Units {
        match self {
            VaultEvent::Deposited { amount, .. }
            | VaultEvent::Withdrawn { amount, .. }
            | VaultEvent::CollateralLocked { amount, .. }
            | VaultEvent::CollateralReleased { amount, .. }
            | VaultEvent::SettlementPaid { amount, .. } => *amount,
        }
    }

    pub(super) fn account(&self) -> Option<Address> {
        match self {
            VaultEvent::Deposited { provider, .. } | VaultEvent::Withdrawn { provider, .. } => {
                Some(*provider)
            }
            VaultEvent::SettlementPaid { buyer, .. } => Some(*buyer),
            _ => None,
        }
    }

    pub(super) fn policy_ids(&self) -> Option<Vec<i64>> {
        match self {
            VaultEvent::CollateralLocked { policy_ids, .. }
            | VaultEvent::CollateralReleased { policy_ids, .. } => Some(policy_ids.clone()),
            VaultEvent::SettlementPaid { policy_id, .. } => Some(vec![*policy_id]),
            _ => None,
        }
    }
}

/// What applying a Vault event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    /// The books follow the event.
    Applied,
    /// Already applied (same tx hash and log index): nothing changed.
    Duplicate,
    /// Recorded and mirrored, but the books could not follow; why. Reconciliation will
    /// show the difference.
    Anomaly(String),
}

/// A policy to sell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPolicy {
    /// Creating the same key again returns the first policy.
    pub idem_key: String,
    pub kind: PolicyKind,
    pub buyer: Address,
    pub buyer_tier: String,
    pub token: Token,
    pub strike_usd: UsdE8,
    pub amount_sats: u64,
    pub expires_at_ms: i64,
    /// A premium already quoted and agreed; `None`: quote it with the backing tier.
    pub premium: Option<Units>,
}

/// What underwriting a policy needs from the desk: the provider tiers its buyer tier maps
/// to (in order), fresh prices and the premium model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Underwriting {
    pub backing_tiers: Vec<String>,
    pub prices: Prices,
    pub premium: PremiumModel,
}

/// A policy with its allocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyBook {
    pub policy: Policy,
    pub allocations: Vec<Allocation>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    New(PolicyBook),
    /// The idempotency key was used before: the policy it created.
    Existing(PolicyBook),
}

impl Created {
    pub fn book(&self) -> &PolicyBook {
        match self {
            Created::New(b) | Created::Existing(b) => b,
        }
    }
}

/// Which policies to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyFilter {
    pub status: Option<PolicyStatus>,
    pub provider: Option<Address>,
    /// Newest first unless listing active ones (soonest expiry first).
    pub limit: Option<u64>,
}

/// A provider's status change, with when it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusTransition {
    pub provider: Address,
    pub from: ProviderStatus,
    pub to: ProviderStatus,
    pub ratio_bps: Option<u32>,
    pub at_ms: i64,
}

/// The most a provider may withdraw of a token now, and the numbers behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalCheck {
    pub provider: Address,
    pub token: Token,
    pub available: Units,
    pub max_withdrawable: Units,
    /// What their backed policies could cost at current prices (USD × 10^8).
    pub coverage_usd: UsdE8,
    /// Their collateral's value at current prices (`None`: no policies, no prices needed).
    pub value_usd: Option<UsdE8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WithdrawalStatus {
    /// Within the maximum, waiting for the operator and then the Vault.
    Requested,
    /// Above the maximum when asked (the reason is kept).
    Refused,
    /// The Vault paid it (its funds-withdrawn event was applied).
    Done,
    Cancelled,
}

impl WithdrawalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WithdrawalStatus::Requested => "requested",
            WithdrawalStatus::Refused => "refused",
            WithdrawalStatus::Done => "done",
            WithdrawalStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<WithdrawalStatus> {
        [
            WithdrawalStatus::Requested,
            WithdrawalStatus::Refused,
            WithdrawalStatus::Done,
            WithdrawalStatus::Cancelled,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// A provider's withdrawal request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    pub id: i64,
    pub provider: Address,
    pub token: Token,
    pub amount: Units,
    pub max_withdrawable: Units,
    pub refused: Option<String>,
    pub status: WithdrawalStatus,
    pub action_id: Option<i64>,
    pub requested_at_ms: i64,
    pub updated_at_ms: i64,
}

/// One line of the pool journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub id: i64,
    pub at_ms: i64,
    /// deposit, withdrawal, policy, lock, release, expiry, settlement, yield, health,
    /// tier, provider, anomaly, withdrawal_request.
    pub flow: String,
    pub subject: String,
    pub detail: String,
}
