//! The pool desk in the real `Runtime` on anvil: deposits reach the books through the
//! Vault's events and agree with the Vault; an edit of the books behind the desk's back
//! (straight into SQLite) is reported on the Pool tab as a reconciliation alert and is not
//! corrected; putting the books right clears it. Without prices, provider health is
//! "unknown (stale prices)", never healthy.
//!
//! Needs anvil (`scripts/bootstrap` installs it in `.tools/bin`).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::U256;
use hedgedesk::app::Runtime;
use hedgedesk::config::{Config, DEVNET_CHAIN};
use hedgedesk::devnet::pool as devnet_pool;
use hedgedesk::devnet::scenario::{Holder, PoolSpec, Scenario, TokenSpec};
use hedgedesk::devnet::{AnvilOptions, Devnet};
use hedgedesk::pool::pane::{HealthStatus, PoolSnapshot};
use hedgedesk::store::Store;

const WAIT: Duration = Duration::from_secs(40);

async fn wait_pane(rt: &Runtime, what: &str, check: impl Fn(&PoolSnapshot) -> bool) {
    let start = Instant::now();
    loop {
        let snap = rt.pool.borrow().clone();
        if check(&snap) {
            return;
        }
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting for {what}; pane: {snap:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_books_are_reconciled_with_the_vault_and_an_edit_behind_the_desks_back_is_an_alert() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let store = Store::open(&db, Duration::from_secs(5)).unwrap();
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

    let mut config = Config::default();
    let mut chain = devnet.chain_config();
    chain.confirmations = 0;
    chain.poll_interval_ms = 100;
    chain.health_interval_ms = 200;
    config.chains.insert(DEVNET_CHAIN.into(), chain);
    config.api.enabled = false;
    config.pool.health_interval_secs = 1;
    let rt = Runtime::start(Arc::new(config), store.clone(), devnet.node.signer(0))
        .await
        .unwrap();

    devnet_pool::deposit_eth(
        &common::wallet(&devnet.node, 1),
        vault,
        U256::from(2_000_000_000_000_000_000u128),
    )
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
    let provider_one = devnet.node.address(1).to_checksum(None);
    wait_pane(
        &rt,
        "both deposits in the books, agreeing with the Vault",
        |s| {
            let token = |name: &str| s.tokens.iter().find(|t| t.token == name);
            token("ETH").is_some_and(|t| t.books_total == "2" && t.mismatch.is_none())
                && token("WBTC").is_some_and(|t| t.books_total == "0.5" && t.mismatch.is_none())
                && s.providers.len() == 2
        },
    )
    .await;
    // No oracle prices in this runtime: health is unknown, never healthy.
    wait_pane(&rt, "health unknown without prices", |s| {
        s.providers
            .iter()
            .all(|p| p.status == HealthStatus::Unknown)
            && s.prices.iter().all(|p| p.stale)
    })
    .await;

    // Someone edits the books behind the desk's back: provider 1 now "has" 3 ETH.
    let edit = |total: &str| {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        let changed = conn
            .execute(
                "UPDATE pool_balances SET total = ?1 WHERE provider = ?2 AND token = 'eth'",
                rusqlite::params![total, provider_one],
            )
            .unwrap();
        assert_eq!(changed, 1, "the edit must hit provider 1's ETH row");
    };
    edit("3000000000000000000");
    wait_pane(&rt, "the reconciliation alert", |s| {
        s.tokens.iter().any(|t| {
            t.token == "ETH"
                && t.mismatch.as_deref().is_some_and(|m| {
                    m.contains("the Vault holds 2") && m.contains("books add up to 3")
                })
        }) && s.journal.iter().any(|j| {
            j.message
                .starts_with("reconciliation: ETH: the Vault holds 2")
        })
    })
    .await;
    // Never corrected by the desk: the edited row is still there a few cycles later.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let books = store.pool_providers().await.unwrap();
    let one = books
        .iter()
        .find(|p| p.address == devnet.node.address(1))
        .unwrap();
    assert_eq!(
        one.balance(hedgedesk::pool::model::Token::Eth).total,
        3_000_000_000_000_000_000
    );

    // Put right, the alert clears and says so.
    edit("2000000000000000000");
    wait_pane(&rt, "the books agreeing again", |s| {
        s.tokens.iter().all(|t| t.mismatch.is_none())
            && s.journal
                .iter()
                .any(|j| j.message == "reconciliation: ETH agrees with the books again")
    })
    .await;
    rt.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_waiting_for_its_confirmations_is_not_a_difference() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite"), Duration::from_secs(5)).unwrap();
    let mut devnet = Devnet::start(AnvilOptions::default(), store.clone())
        .await
        .unwrap();
    let mut scenario =
        Scenario::empty().token(TokenSpec::new("wbtc", "Wrapped BTC", "WBTC", 8, 21_000));
    scenario.pool = Some(PoolSpec::standard());
    devnet.seed(&scenario).await.unwrap();
    let vault = devnet.address("pool.vault").unwrap();

    let mut config = Config::default();
    let mut chain = devnet.chain_config();
    chain.confirmations = 2;
    chain.poll_interval_ms = 100;
    chain.health_interval_ms = 200;
    config.chains.insert(DEVNET_CHAIN.into(), chain);
    config.api.enabled = false;
    let rt = Runtime::start(Arc::new(config), store.clone(), devnet.node.signer(0))
        .await
        .unwrap();
    // The desk reconciles (an empty Vault against empty books) before the deposit.
    devnet.control().mine_blocks(3).await.unwrap();
    wait_pane(&rt, "a first reconciliation", |s| {
        s.tokens
            .iter()
            .any(|t| t.token == "ETH" && t.onchain_total == "0")
    })
    .await;

    devnet_pool::deposit_eth(
        &common::wallet(&devnet.node, 1),
        vault,
        U256::from(2_000_000_000_000_000_000u128),
    )
    .await
    .unwrap();
    // Several cycles while the deposit has one confirmation of the two the books wait for.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let snap = rt.pool.borrow().clone();
    assert!(
        snap.tokens.iter().all(|t| t.mismatch.is_none()),
        "{snap:#?}"
    );
    assert!(
        !snap
            .journal
            .iter()
            .any(|j| j.message.starts_with("reconciliation:")),
        "{:#?}",
        snap.journal
    );
    assert!(store.pool_providers().await.unwrap().is_empty());

    devnet.control().mine_blocks(2).await.unwrap();
    wait_pane(
        &rt,
        "the confirmed deposit in the books and the Vault",
        |s| {
            s.tokens.iter().any(|t| {
                t.token == "ETH"
                    && t.books_total == "2"
                    && t.onchain_total == "2"
                    && t.mismatch.is_none()
            })
        },
    )
    .await;
    rt.shutdown().await;
}
