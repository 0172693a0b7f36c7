//! The pool desk's Vault sync on a real anvil: deposits reach the books once through the
//! event ingestion, and the very same logs delivered again (a second stream over the same
//! Vault, as a replay after a lost cursor would) change nothing.
//!
//! Needs anvil (`scripts/bootstrap` installs it in `.tools/bin`).

mod common;

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use hedgedesk::chain::ingest::{IngestConfig, Ingestor};
use hedgedesk::devnet::pool::{self as devnet_pool, ETH};
use hedgedesk::devnet::scenario::{Holder, PoolSpec, Scenario, TokenSpec};
use hedgedesk::devnet::{AnvilOptions, Devnet};
use hedgedesk::pool::model::Token;
use hedgedesk::pool::sync::{VaultHandler, vault_stream};
use hedgedesk::store::Store;

fn eth(whole: u64) -> U256 {
    U256::from(whole) * U256::from(10u64).pow(U256::from(18))
}

async fn scan_all(devnet: &Devnet, store: &Store, stream: &str, handler: Arc<VaultHandler>) {
    let mut chain = devnet.chain_config();
    chain.confirmations = 0;
    let mut spec = vault_stream(devnet.node.chain_id, handler.vault, 0);
    spec.name = stream.to_string();
    let (notices, _rx) = tokio::sync::mpsc::channel(64);
    let ingestor = Ingestor::new(
        devnet.node.provider(),
        store.clone(),
        spec,
        handler,
        notices,
        IngestConfig::from_chain(&chain),
    )
    .unwrap();
    for _ in 0..20 {
        if ingestor.scan_once().await.unwrap().caught_up() {
            return;
        }
    }
    panic!("{stream} did not catch up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_events_credit_the_books_once_however_often_they_are_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite"), Duration::from_secs(5)).unwrap();
    let mut devnet = Devnet::start(AnvilOptions::default(), store.clone())
        .await
        .unwrap();
    let mut scenario = Scenario::empty()
        .token(TokenSpec::new("wbtc", "Wrapped BTC", "WBTC", 8, 21_000))
        .mint_whole("wbtc", Holder::Dev(2), 10);
    scenario.pool = Some(PoolSpec::standard());
    devnet.seed(&scenario).await.unwrap();
    let vault = devnet.address("pool.vault").unwrap();
    let wbtc = devnet.address("token.wbtc").unwrap();
    let (one, two) = (devnet.node.address(1), devnet.node.address(2));

    devnet_pool::deposit_eth(&common::wallet(&devnet.node, 1), vault, eth(2))
        .await
        .unwrap();
    devnet_pool::deposit_wbtc(
        &common::wallet(&devnet.node, 2),
        vault,
        wbtc,
        U256::from(50_000_000u64),
    )
    .await
    .unwrap();
    devnet_pool::deposit_eth(&common::wallet(&devnet.node, 1), vault, eth(1))
        .await
        .unwrap();

    let params = hedgedesk::pool::params::PoolParams::from_config(
        &hedgedesk::config::Config::default().pool,
    )
    .unwrap();
    store
        .pool_sync_tiers(params.tiers.clone(), chrono::Utc::now().timestamp_millis())
        .await
        .unwrap();
    let handler = Arc::new(VaultHandler {
        vault,
        wbtc,
        default_tier: params.default_tier.clone(),
    });
    scan_all(&devnet, &store, "pool.vault", handler.clone()).await;
    let books = store.pool_providers().await.unwrap();
    let of = |who: Address, token: Token| {
        books
            .iter()
            .find(|p| p.address == who)
            .map(|p| p.balance(token).total)
    };
    assert_eq!(of(one, Token::Eth), Some(3_000_000_000_000_000_000));
    assert_eq!(of(two, Token::Wbtc), Some(50_000_000));
    assert_eq!(of(one, Token::Wbtc), Some(0));
    let metrics = store.pool_metrics().await.unwrap();
    let onchain_eth = devnet_pool::totals(&devnet.node.provider(), vault, ETH)
        .await
        .unwrap()
        .total;
    let mirrored = metrics.iter().find(|m| m.token == Token::Eth).unwrap();
    assert_eq!(U256::from(mirrored.onchain_total), onchain_eth);

    // The same six logs again, through a second stream: nothing moves.
    scan_all(&devnet, &store, "pool.vault.replay", handler).await;
    assert_eq!(store.pool_providers().await.unwrap(), books);
    assert_eq!(store.pool_metrics().await.unwrap(), metrics);
}
