//! The pool store's tests and their fixtures.

mod deposits;
mod events;
mod health;
mod policies;

use std::time::Duration;

use alloy::primitives::{Address, B256};

use super::types::{
    Created, EventKey, EventOutcome, NewPolicy, PolicyFilter, StatusTransition, Underwriting,
    VaultEvent, WithdrawalStatus,
};
use crate::config::PoolConfig;
use crate::pool::math::settlement::payout_units;
use crate::pool::model::{
    Policy, PolicyKind, PolicyStatus, PoolMetrics, Prices, Provider, ProviderStatus, Token,
    TokenBalance, Units, UsdE8,
};
use crate::pool::params::PoolParams;
use crate::store::Store;

const BTC_60K: UsdE8 = 6_000_000_000_000;
const ETH_3K: UsdE8 = 300_000_000_000;
const WBTC: Units = 100_000_000;
const ETH: Units = 1_000_000_000_000_000_000;
const DAY: i64 = 86_400_000;
const T0: i64 = 1_700_000_000_000;

fn prices() -> Prices {
    Prices {
        btc_usd: BTC_60K,
        eth_usd: ETH_3K,
    }
}

fn params() -> PoolParams {
    PoolParams::from_config(&PoolConfig::default()).unwrap()
}

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.sqlite"), Duration::from_secs(5)).unwrap();
    store.pool_sync_tiers(params().tiers, T0).await.unwrap();
    (dir, store)
}

fn who(n: u8) -> Address {
    Address::with_last_byte(n)
}

fn key(n: u8, log_index: u64) -> EventKey {
    EventKey {
        tx_hash: B256::with_last_byte(n),
        log_index,
        block_number: 100 + u64::from(n),
    }
}

fn deposit(provider: Address, token: Token, amount: Units) -> VaultEvent {
    VaultEvent::Deposited {
        provider,
        token,
        amount,
    }
}

async fn apply(store: &Store, k: EventKey, ev: VaultEvent) -> EventOutcome {
    store
        .pool_apply_event(k, ev, "balanced".into(), T0)
        .await
        .unwrap()
}

fn underwriting(buyer_tier: &str) -> Underwriting {
    let p = params();
    Underwriting {
        backing_tiers: p.backing_tiers(buyer_tier).unwrap().to_vec(),
        prices: prices(),
        premium: p.premium,
    }
}

fn put(key: &str, strike_usd: UsdE8, amount_sats: u64) -> NewPolicy {
    NewPolicy {
        idem_key: key.into(),
        kind: PolicyKind::Put,
        buyer: who(0xb0),
        buyer_tier: "standard".into(),
        token: Token::Wbtc,
        strike_usd,
        amount_sats,
        expires_at_ms: T0 + 30 * DAY,
        premium: None,
    }
}

/// Three balanced providers with 2, 1 and 1 WBTC, one conservative with 10 ETH.
async fn funded() -> (tempfile::TempDir, Store) {
    let (dir, store) = store().await;
    assert_eq!(
        apply(&store, key(1, 0), deposit(who(1), Token::Wbtc, 2 * WBTC)).await,
        EventOutcome::Applied
    );
    assert_eq!(
        apply(&store, key(1, 1), deposit(who(2), Token::Wbtc, WBTC)).await,
        EventOutcome::Applied
    );
    assert_eq!(
        apply(&store, key(2, 0), deposit(who(3), Token::Wbtc, WBTC)).await,
        EventOutcome::Applied
    );
    store
        .pool_register_provider(who(4), "conservative".into(), T0)
        .await
        .unwrap();
    assert_eq!(
        apply(&store, key(3, 0), deposit(who(4), Token::Eth, 10 * ETH)).await,
        EventOutcome::Applied
    );
    (dir, store)
}

/// Everything the books hold, for before/after comparisons.
async fn books(store: &Store) -> (Vec<Provider>, Vec<PoolMetrics>, Vec<Policy>, usize) {
    let journal = store.pool_journal(10_000).await.unwrap().len();
    (
        store.pool_providers().await.unwrap(),
        store.pool_metrics().await.unwrap(),
        store.pool_policies(PolicyFilter::default()).await.unwrap(),
        journal,
    )
}
