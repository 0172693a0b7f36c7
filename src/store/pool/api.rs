//! The store handle's async pool API.

use alloy::primitives::Address;

use super::deposits::{DepositPrepared, prepare_deposit};
use super::events::apply_event;
use super::health::{health_check, transitions};
use super::journal::journal_entries;
use super::metrics::{pool_metrics, set_onchain_totals, tier_metrics};
use super::policies::{
    accrue_yield, create_policy, expire_policy, note_settlement_price, policies, policy_book,
};
use super::providers::{deposit_check, provider, providers, register_provider, sync_tiers};
use super::types::{
    Created, EventKey, EventOutcome, JournalEntry, NewPolicy, PolicyBook, PolicyFilter,
    StatusTransition, Underwriting, VaultEvent, Withdrawal, WithdrawalCheck,
};
use super::withdrawals::{
    cancel_withdrawal, request_withdrawal, set_withdrawal_action, withdrawal_check, withdrawals,
};
use crate::pool::math::capacity::CapacityRefusal;
use crate::pool::model::{
    Policy, PoolMetrics, Prices, Provider, TierMetrics, TierParams, Token, Units,
};
use crate::store::{Store, StoreError};

// ---------------------------------------------------------------------------------------
// The store handle's async API (each runs on the store thread)

impl Store {
    pub async fn pool_sync_tiers(
        &self,
        tiers: Vec<TierParams>,
        now: i64,
    ) -> Result<(), StoreError> {
        self.call(move |c| sync_tiers(c, &tiers, now)).await
    }

    pub async fn pool_register_provider(
        &self,
        a: Address,
        tier_name: String,
        now: i64,
    ) -> Result<Provider, StoreError> {
        self.call(move |c| register_provider(c, a, &tier_name, now))
            .await
    }

    /// See [`prepare_deposit`](super::prepare_deposit).
    pub async fn pool_prepare_deposit(
        &self,
        a: Address,
        tier_name: Option<String>,
        default_tier: String,
        tok: Token,
        amount: Units,
        now: i64,
    ) -> Result<DepositPrepared, StoreError> {
        self.call(move |c| {
            prepare_deposit(c, a, tier_name.as_deref(), &default_tier, tok, amount, now)
        })
        .await
    }

    pub async fn pool_deposit_check(
        &self,
        tier_name: String,
        tok: Token,
        amount: Units,
    ) -> Result<Option<CapacityRefusal>, StoreError> {
        self.call(move |c| deposit_check(c, &tier_name, tok, amount))
            .await
    }

    pub async fn pool_apply_event(
        &self,
        key: EventKey,
        ev: VaultEvent,
        default_tier: String,
        now: i64,
    ) -> Result<EventOutcome, StoreError> {
        self.call(move |c| apply_event(c, key, &ev, &default_tier, now))
            .await
    }

    pub async fn pool_set_onchain_totals(
        &self,
        tok: Token,
        total: Units,
        locked: Units,
        block: u64,
        now: i64,
    ) -> Result<(), StoreError> {
        self.call(move |c| set_onchain_totals(c, tok, total, locked, block, now))
            .await
    }

    pub async fn pool_metrics(&self) -> Result<Vec<PoolMetrics>, StoreError> {
        self.call(|c| pool_metrics(c)).await
    }

    pub async fn pool_create_policy(
        &self,
        new: NewPolicy,
        u: Underwriting,
        now: i64,
    ) -> Result<Created, StoreError> {
        self.call(move |c| create_policy(c, &new, &u, now)).await
    }

    pub async fn pool_expire_policy(&self, id: i64, now: i64) -> Result<Policy, StoreError> {
        self.call(move |c| expire_policy(c, id, now)).await
    }

    pub async fn pool_note_settlement_price(
        &self,
        id: i64,
        price: crate::pool::model::UsdE8,
        now: i64,
    ) -> Result<(), StoreError> {
        self.call(move |c| note_settlement_price(c, id, price, now))
            .await
    }

    pub async fn pool_accrue_yield(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        self.call(move |c| accrue_yield(c, id, now)).await
    }

    pub async fn pool_health_check(
        &self,
        prices: Option<Prices>,
        grace_ms: i64,
        now: i64,
    ) -> Result<Vec<StatusTransition>, StoreError> {
        self.call(move |c| health_check(c, prices, grace_ms, now))
            .await
    }

    pub async fn pool_withdrawal_check(
        &self,
        a: Address,
        tok: Token,
        prices: Option<Prices>,
        buffer_bps: u32,
    ) -> Result<WithdrawalCheck, StoreError> {
        self.call(move |c| withdrawal_check(c, &a, tok, prices, buffer_bps))
            .await
    }

    pub async fn pool_request_withdrawal(
        &self,
        a: Address,
        tok: Token,
        amount: Units,
        prices: Option<Prices>,
        buffer_bps: u32,
        now: i64,
    ) -> Result<Withdrawal, StoreError> {
        self.call(move |c| request_withdrawal(c, a, tok, amount, prices, buffer_bps, now))
            .await
    }

    pub async fn pool_set_withdrawal_action(
        &self,
        id: i64,
        action_id: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        self.call(move |c| set_withdrawal_action(c, id, action_id, now))
            .await
    }

    pub async fn pool_cancel_withdrawal(&self, id: i64, now: i64) -> Result<(), StoreError> {
        self.call(move |c| cancel_withdrawal(c, id, now)).await
    }

    pub async fn pool_withdrawals(
        &self,
        open_only: bool,
        limit: u64,
    ) -> Result<Vec<Withdrawal>, StoreError> {
        self.call(move |c| withdrawals(c, open_only, limit)).await
    }

    pub async fn pool_providers(&self) -> Result<Vec<Provider>, StoreError> {
        self.call(|c| providers(c)).await
    }

    pub async fn pool_provider(&self, a: Address) -> Result<Option<Provider>, StoreError> {
        self.call(move |c| provider(c, &a)).await
    }

    pub async fn pool_tiers(&self) -> Result<Vec<TierMetrics>, StoreError> {
        self.call(|c| tier_metrics(c)).await
    }

    pub async fn pool_policies(&self, filter: PolicyFilter) -> Result<Vec<Policy>, StoreError> {
        self.call(move |c| policies(c, &filter)).await
    }

    pub async fn pool_policy(&self, id: i64) -> Result<Option<PolicyBook>, StoreError> {
        self.call(move |c| policy_book(c, id)).await
    }

    pub async fn pool_transitions(
        &self,
        who: Option<Address>,
        limit: u64,
    ) -> Result<Vec<StatusTransition>, StoreError> {
        self.call(move |c| transitions(c, who, limit)).await
    }

    pub async fn pool_journal(&self, limit: u64) -> Result<Vec<JournalEntry>, StoreError> {
        self.call(move |c| journal_entries(c, limit)).await
    }
}
