//! The pool desk's books: providers and their balances per token, the tiers, the policies
//! and which providers back them, the Vault events applied, the Vault's mirrored totals,
//! health transitions, withdrawal requests and a journal of every flow.
//!
//! Every flow is one SQLite transaction, idempotent and journaled:
//! - a Vault event is applied at most once, keyed by `(tx hash, log index)`; a replay is
//!   reported as [`EventOutcome::Duplicate`] and changes nothing;
//! - a Vault event the books cannot follow (a withdrawal above the provider's available
//!   balance, a settlement a backer cannot cover) is still recorded, as an anomaly, and the
//!   mirrored Vault totals move with it while the books do not: reconciliation then shows
//!   the mismatch, which is never corrected silently;
//! - creating a policy is keyed by the caller's idempotency key, and checks the tier's
//!   capacity and the providers' available capital in the same transaction: a refusal says
//!   why and writes nothing;
//! - expiring, accruing yield and health checks do nothing the second time.
//!
//! Token amounts are `u128` base units, stored as decimal TEXT; USD is × 10^8; times are
//! unix milliseconds. The pure arithmetic lives in `crate::pool::math`.

mod api;
mod deposits;
mod events;
mod health;
mod journal;
mod metrics;
mod policies;
mod providers;
mod rows;
#[cfg(test)]
mod tests;
mod types;
mod withdrawals;

pub use deposits::{DepositPrepared, prepare_deposit};
pub use events::{apply_event, apply_event_in};
pub use health::{health_check, transitions};
pub use journal::journal_entries;
pub use metrics::{pool_metrics, set_onchain_totals, tier_metrics};
pub use policies::{
    accrue_yield, allocations, create_policy, expire_policy, policies, policy_book,
};
pub use providers::{deposit_check, provider, providers, register_provider, sync_tiers};
pub use types::{
    Created, EventKey, EventOutcome, JournalEntry, NewPolicy, PolicyBook, PolicyFilter,
    StatusTransition, Underwriting, VaultEvent, Withdrawal, WithdrawalCheck, WithdrawalStatus,
};
pub use withdrawals::{
    cancel_withdrawal, request_withdrawal, set_withdrawal_action, withdrawal_check, withdrawals,
};
