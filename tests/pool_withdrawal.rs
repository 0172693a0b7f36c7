//! One provider withdrawal end to end, in the real `Runtime` on anvil: a provider deposits
//! 2 ETH (the desk's sync credits the books); `hedgedesk pool request-withdrawal` refuses a
//! request above their maximum (with its reason, no action) and records one within it; the
//! operator's `w` (`PoolRequest::ApproveWithdrawal`) becomes an `approve_withdrawal` action
//! that calls the Vault's `approveWithdrawal`; the provider withdraws and the books are
//! debited through the Vault's event, agreeing with the Vault; approving the same request
//! again is refused.
//!
//! Needs anvil (`scripts/bootstrap` installs it in `.tools/bin`).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::U256;
use common::{Desk, refused};
use hedgedesk::actions::{Action, ActionKind, ActionState, PolicyMode};
use hedgedesk::app::Runtime;
use hedgedesk::config::{ActionPolicyConfig, Config, DEVNET_CHAIN};
use hedgedesk::devnet::pool as devnet_pool;
use hedgedesk::devnet::scenario::{Holder, PoolSpec, Scenario, TokenSpec};
use hedgedesk::devnet::{AnvilOptions, Devnet};
use hedgedesk::pool::model::Token;
use hedgedesk::pool::pane::PoolSnapshot;
use hedgedesk::pool::requests::PoolRequest;
use hedgedesk::store::Store;
use hedgedesk::store::pool::WithdrawalStatus;

const WAIT: Duration = Duration::from_secs(40);
const ETH: u128 = 1_000_000_000_000_000_000;

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

async fn wait_action(store: &Store, key: &str, state: ActionState) -> Action {
    let start = Instant::now();
    loop {
        let action = store.action_by_key(key).await.unwrap();
        if let Some(a) = action.as_ref().filter(|a| a.state == state) {
            return a.clone();
        }
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting for {key} to be {state}; now: {action:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `hedgedesk pool request-withdrawal` on the desk's store (run off the async threads).
async fn request(desk: &Desk, args: &[&str]) -> std::process::Output {
    let desk = desk.clone();
    let mut all = vec!["pool".to_string(), "request-withdrawal".to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = all.iter().map(String::as_str).collect();
        desk.run(&args)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_is_checked_approved_on_chain_withdrawn_and_debited() {
    let desk = Desk::new("pool_withdrawal");
    std::fs::create_dir_all(&desk.data).unwrap();
    let store = Store::open(&desk.db(), Duration::from_secs(5)).unwrap();
    let mut devnet = Devnet::start(AnvilOptions::default(), store.clone())
        .await
        .unwrap();
    let mut scenario = Scenario::empty()
        .token(TokenSpec::new("wbtc", "Wrapped BTC", "WBTC", 8, 21_000))
        .mint_whole("wbtc", Holder::Dev(2), 10);
    scenario.pool = Some(PoolSpec::standard());
    devnet.seed(&scenario).await.unwrap();
    let vault = devnet.address("pool.vault").unwrap();

    let mut config = Config::default();
    let mut chain = devnet.chain_config();
    chain.confirmations = 0;
    chain.poll_interval_ms = 100;
    chain.health_interval_ms = 200;
    config.chains.insert(DEVNET_CHAIN.into(), chain);
    config.api.enabled = false;
    config.pool.health_interval_secs = 1;
    config.actions.insert(
        ActionKind::ApproveWithdrawal,
        ActionPolicyConfig {
            mode: PolicyMode::Auto,
            ..ActionPolicyConfig::default()
        },
    );
    let rt = Runtime::start(Arc::new(config), store.clone(), devnet.node.signer(0))
        .await
        .unwrap();

    let provider = devnet.node.address(1);
    let who = provider.to_checksum(None);
    devnet_pool::deposit_eth(&common::wallet(&devnet.node, 1), vault, U256::from(2 * ETH))
        .await
        .unwrap();
    wait_pane(
        &rt,
        "the deposit in the books, agreeing with the Vault",
        |s| {
            s.tokens
                .iter()
                .any(|t| t.token == "ETH" && t.books_total == "2" && t.mismatch.is_none())
                && s.providers.iter().any(|p| p.address == who)
        },
    )
    .await;

    // Bad flags are named, exit 2 and write nothing.
    for (args, field) in [
        (
            vec!["--provider", "0x12", "--token", "eth", "--amount", "1"],
            "error: provider:",
        ),
        (
            vec![
                "--provider",
                who.as_str(),
                "--token",
                "doge",
                "--amount",
                "1",
            ],
            "error: token:",
        ),
        (
            vec![
                "--provider",
                who.as_str(),
                "--token",
                "eth",
                "--amount",
                "0",
            ],
            "error: amount:",
        ),
        (
            vec![
                "--provider",
                who.as_str(),
                "--token",
                "eth",
                "--amount",
                "-1",
            ],
            "error: amount:",
        ),
        (
            vec![
                "--provider",
                who.as_str(),
                "--token",
                "eth",
                "--amount",
                "1",
                "--btc-price",
                "50000",
            ],
            "error: eth_price: needed with --btc-price",
        ),
        (
            vec![
                "--provider",
                who.as_str(),
                "--token",
                "eth",
                "--amount",
                "1",
                "--btc-price",
                "0",
                "--eth-price",
                "3000",
            ],
            "error: btc_price:",
        ),
        (
            vec![
                "--provider",
                "0x0000000000000000000000000000000000000009",
                "--token",
                "eth",
                "--amount",
                "1",
            ],
            "error: provider:",
        ),
    ] {
        let line = refused(&request(&desk, &args).await);
        assert!(line.starts_with(field), "{args:?}: {line}");
    }
    assert!(store.pool_withdrawals(false, 100).await.unwrap().is_empty());

    // Above the maximum: refused with its reason, kept, and no action.
    let out = request(
        &desk,
        &["--provider", &who, "--token", "eth", "--amount", "3"],
    )
    .await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text.contains("max withdrawable: 2 ETH"), "{text}");
    assert!(
        text.contains("refused #1: asks 3 ETH, at most 2 ETH may be withdrawn"),
        "{text}"
    );

    // Within it: requested.
    let out = request(
        &desk,
        &["--provider", &who, "--token", "eth", "--amount", "0.5"],
    )
    .await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{out:?}");
    assert!(text.contains("max withdrawable: 2 ETH"), "{text}");
    assert!(text.contains("requested #2: 0.5 ETH for "), "{text}");

    // The operator approves the refused one: refused again, no action.
    rt.pool_requests
        .send(PoolRequest::ApproveWithdrawal { withdrawal_id: 1 })
        .unwrap();
    wait_pane(&rt, "the refused request refused again", |s| {
        s.journal
            .iter()
            .any(|j| j.message == "refused: withdrawal #1: it is refused, not open")
    })
    .await;
    assert!(
        store
            .action_by_key("approve_withdrawal:1:1")
            .await
            .unwrap()
            .is_none()
    );

    // The open one: proposed, sent automatically and confirmed.
    rt.pool_requests
        .send(PoolRequest::ApproveWithdrawal { withdrawal_id: 2 })
        .unwrap();
    let action = wait_action(&store, "approve_withdrawal:2:1", ActionState::Confirmed).await;
    assert_eq!(action.kind, ActionKind::ApproveWithdrawal);
    assert!(
        action.summary.contains(&who)
            && action.summary.contains("0.5 ETH")
            && action.summary.contains("maximum now 2 ETH"),
        "{}",
        action.summary
    );
    let allowance = devnet_pool::withdrawal_allowance(
        &common::wallet(&devnet.node, 0),
        vault,
        provider,
        devnet_pool::ETH,
    )
    .await
    .unwrap();
    assert_eq!(allowance, U256::from(ETH / 2));
    let open = store.pool_withdrawals(true, 10).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].action_id, Some(action.id));
    wait_pane(&rt, "the row showing its confirmed action", |s| {
        s.withdrawals
            .iter()
            .any(|w| w.id == 2 && w.action == Some((action.id, ActionState::Confirmed)))
    })
    .await;

    // Approving it again while the approval stands: refused.
    rt.pool_requests
        .send(PoolRequest::ApproveWithdrawal { withdrawal_id: 2 })
        .unwrap();
    wait_pane(&rt, "a second approval refused", |s| {
        s.journal.iter().any(|j| {
            j.message.starts_with(&format!(
                "refused: withdrawal #2: already approved on chain by action #{}",
                action.id
            ))
        })
    })
    .await;

    // The provider withdraws; the books follow the Vault's event.
    devnet_pool::withdraw(
        &common::wallet(&devnet.node, 1),
        vault,
        U256::from(ETH / 2),
        devnet_pool::ETH,
    )
    .await
    .unwrap();
    wait_pane(&rt, "the books debited, agreeing with the Vault", |s| {
        s.tokens.iter().any(|t| {
            t.token == "ETH"
                && t.books_total == "1.5"
                && t.onchain_total == "1.5"
                && t.mismatch.is_none()
        }) && s.withdrawals.is_empty()
    })
    .await;
    let books = store.pool_provider(provider).await.unwrap().unwrap();
    assert_eq!(books.balance(Token::Eth).total, 3 * ETH / 2);
    let all = store.pool_withdrawals(false, 10).await.unwrap();
    let done = all.iter().find(|w| w.id == 2).unwrap();
    assert_eq!(done.status, WithdrawalStatus::Done);
    assert!(
        store
            .pool_metrics()
            .await
            .unwrap()
            .iter()
            .all(|m| m.mismatch().is_none())
    );

    // Once done, approving it again is refused and proposes nothing.
    rt.pool_requests
        .send(PoolRequest::ApproveWithdrawal { withdrawal_id: 2 })
        .unwrap();
    wait_pane(&rt, "the completed request refused", |s| {
        s.journal
            .iter()
            .any(|j| j.message == "refused: withdrawal #2: it is done, not open")
    })
    .await;
    assert!(
        store
            .action_by_key("approve_withdrawal:2:2")
            .await
            .unwrap()
            .is_none()
    );
    rt.shutdown().await;
}
