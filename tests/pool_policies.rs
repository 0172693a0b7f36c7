//! Issue #9's pool story end to end, in the real `Runtime` on anvil: four providers in
//! three tiers deposit WBTC and ETH by signing the transactions `hedgedesk pool deposit`
//! prepared for them; `hedgedesk pool buy` sells a PUT (WBTC, backed by the balanced tier's
//! two providers pro rata), a short CALL and a month-long CALL (ETH, the aggressive tier);
//! the desk locks each policy's collateral in the Vault (`lock_collateral`); BTC falls so
//! the PUT ends in the money: at expiry the desk settles it on chain (`settle_policy`, the
//! buyer paid exactly the payout, the backers debited pro rata, the premium credited as
//! yield, the rest of its lock released) and expires the short CALL (`expire_policy`, its
//! lock released, its premium yield); the aggressive provider, still backing the long
//! CALL, asks to withdraw more than their maximum (refused with the reason) and then less
//! (approved on chain, withdrawn, debited); the books agree with the Vault at the end.
//!
//! Needs anvil (`scripts/bootstrap` installs it in `.tools/bin`).

mod common;

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use common::{Desk, json_of, refused};
use hedgedesk::actions::{Action, ActionKind, ActionState, PolicyMode};
use hedgedesk::app::Runtime;
use hedgedesk::chain::contracts::TestToken;
use hedgedesk::config::{ActionPolicyConfig, Config, DEVNET_CHAIN};
use hedgedesk::devnet::pool as devnet_pool;
use hedgedesk::devnet::scenario::{Holder, PoolSpec, Scenario, TokenSpec};
use hedgedesk::devnet::{AnvilOptions, Devnet};
use hedgedesk::pool::math::allocation::allocate;
use hedgedesk::pool::math::collateral::required_collateral;
use hedgedesk::pool::math::settlement::payout_units;
use hedgedesk::pool::model::{PolicyKind, PolicyStatus, Prices, Token};
use hedgedesk::pool::pane::PoolSnapshot;
use hedgedesk::pool::requests::PoolRequest;
use hedgedesk::prices::Price;
use hedgedesk::store::Store;

const WAIT: Duration = Duration::from_secs(60);
const ETH: u128 = 1_000_000_000_000_000_000;
const WBTC: u128 = 100_000_000;
const E8: u128 = 100_000_000;

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

async fn wait_action(rt: &Runtime, store: &Store, key: &str, state: ActionState) -> Action {
    let start = Instant::now();
    loop {
        let action = store.action_by_key(key).await.unwrap();
        if let Some(a) = action.as_ref().filter(|a| a.state == state) {
            return a.clone();
        }
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting for {key} to be {state}; now: {action:#?}; journal: {:#?}",
            rt.pool.borrow().journal
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `hedgedesk pool buy` on the desk's store (run off the async threads).
async fn buy(desk: &Desk, args: &[&str]) -> std::process::Output {
    pool(desk, "buy", args).await
}

/// `hedgedesk pool <command>` on the desk's store (run off the async threads).
async fn pool(desk: &Desk, command: &str, args: &[&str]) -> std::process::Output {
    let desk = desk.clone();
    let mut all = vec!["pool".to_string(), command.to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = all.iter().map(String::as_str).collect();
        desk.run(&args)
    })
    .await
    .unwrap()
}

/// Signs and sends, from dev account `n`, each transaction `pool deposit --json` prepared.
async fn sign_prepared(
    node: &hedgedesk::devnet::AnvilNode,
    n: usize,
    prepared: &serde_json::Value,
) {
    let wallet = common::wallet(node, n);
    let txs = prepared["transactions"].as_array().unwrap();
    assert!(!txs.is_empty(), "{prepared:#}");
    for tx in txs {
        assert_eq!(tx["from"], node.address(n).to_checksum(None), "{tx:#}");
        let request = TransactionRequest::default()
            .with_from(node.address(n))
            .with_to(Address::from_str(tx["to"].as_str().unwrap()).unwrap())
            .with_value(U256::from_str(tx["value"].as_str().unwrap()).unwrap())
            .with_input(Bytes::from_str(tx["data"].as_str().unwrap()).unwrap())
            .with_chain_id(tx["chainId"].as_u64().unwrap());
        let receipt = wallet
            .send_transaction(request)
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status(), "{}: reverted", tx["step"]);
    }
}

/// A price for `id`, published `later` seconds after now (a newer one replaces it).
fn feed(rt: &Runtime, id: B256, usd: i64, later: i64) {
    rt.prices.apply(&[Price {
        feed_id: id,
        price: usd * 100_000_000,
        conf: 0,
        expo: -8,
        ema_price: usd * 100_000_000,
        ema_conf: 0,
        publish_time: chrono::Utc::now().timestamp() + later,
    }]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_tiers_deposit_a_put_pays_at_expiry_premiums_accrue_and_withdrawals_keep_to_the_maximum()
 {
    let desk = Desk::new("pool_policies");
    std::fs::create_dir_all(&desk.data).unwrap();
    let store = Store::open(&desk.db(), Duration::from_secs(5)).unwrap();
    let mut devnet = Devnet::start(AnvilOptions::default(), store.clone())
        .await
        .unwrap();
    let mut scenario = Scenario::empty()
        .token(TokenSpec::new("wbtc", "Wrapped BTC", "WBTC", 8, 21_000))
        .mint_whole("wbtc", Holder::Dev(1), 10)
        .mint_whole("wbtc", Holder::Dev(2), 10)
        .mint_whole("wbtc", Holder::Dev(3), 10);
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
    for kind in [
        ActionKind::LockCollateral,
        ActionKind::ExpirePolicy,
        ActionKind::SettlePolicy,
        ActionKind::ApproveWithdrawal,
    ] {
        config.actions.insert(
            kind,
            ActionPolicyConfig {
                mode: PolicyMode::Auto,
                ..ActionPolicyConfig::default()
            },
        );
    }
    let btc_feed = B256::from_str(&config.pool.btc_usd_feed).unwrap();
    let eth_feed = B256::from_str(&config.pool.eth_usd_feed).unwrap();

    let params = hedgedesk::pool::params::PoolParams::from_config(&config.pool).unwrap();
    let who = |n: usize| devnet.node.address(n);
    let rt = Runtime::start(Arc::new(config), store.clone(), devnet.node.signer(0))
        .await
        .unwrap();

    // Providers in three tiers: each deposit prepared by `pool deposit` (which registers
    // the provider in their tier) and signed by the provider.
    let deposits = [
        (1, "balanced", "wbtc", "1"),
        (2, "balanced", "wbtc", "0.5"),
        (3, "conservative", "wbtc", "1"),
        (4, "aggressive", "eth", "10"),
    ];
    for (n, tier, token, amount) in deposits {
        let provider = who(n).to_checksum(None);
        let prepared = json_of(
            &pool(
                &desk,
                "deposit",
                &[
                    "--provider",
                    &provider,
                    "--tier",
                    tier,
                    "--token",
                    token,
                    "--amount",
                    amount,
                    "--json",
                ],
            )
            .await,
        );
        assert_eq!(prepared["tier"], tier, "{prepared:#}");
        assert_eq!(
            prepared["transactions"].as_array().unwrap().len(),
            if token == "wbtc" { 2 } else { 1 },
            "{prepared:#}"
        );
        sign_prepared(&devnet.node, n, &prepared).await;
    }
    wait_pane(
        &rt,
        "the deposits in the books, agreeing with the Vault",
        |s| {
            let token = |name: &str| s.tokens.iter().find(|t| t.token == name);
            token("ETH").is_some_and(|t| t.books_total == "10" && t.mismatch.is_none())
                && token("WBTC").is_some_and(|t| t.books_total == "2.5" && t.mismatch.is_none())
        },
    )
    .await;
    let providers = store.pool_providers().await.unwrap();
    assert_eq!(
        providers.iter().find(|p| p.address == who(1)).unwrap().tier,
        "balanced"
    );

    feed(&rt, btc_feed, 60_000, 0);
    feed(&rt, eth_feed, 3_000, 0);
    let buyer = devnet.node.address(5);
    let buyer_text = buyer.to_checksum(None);

    // A bad flag is named, exits 2 and writes nothing.
    let line = refused(
        &buy(
            &desk,
            &[
                "--buyer",
                &buyer_text,
                "--buyer-tier",
                "standard",
                "--kind",
                "straddle",
                "--strike",
                "60000",
                "--amount",
                "0.1",
                "--expiry",
                "3",
                "--token",
                "wbtc",
                "--price",
                "60000",
            ],
        )
        .await,
    );
    assert!(line.starts_with("error: kind:"), "{line}");
    // Beyond the conservative tier's capital: refused with its reason.
    let out = buy(
        &desk,
        &[
            "--buyer",
            &buyer_text,
            "--buyer-tier",
            "conservative",
            "--kind",
            "put",
            "--strike",
            "60000",
            "--amount",
            "100",
            "--expiry",
            "3",
            "--token",
            "wbtc",
            "--price",
            "60000",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("refused: no tier can back this"),
        "{out:?}"
    );
    assert!(
        store
            .pool_policies(Default::default())
            .await
            .unwrap()
            .is_empty()
    );

    // The PUT, backed by the balanced tier's two providers.
    let out = buy(
        &desk,
        &[
            "--buyer",
            &buyer_text,
            "--buyer-tier",
            "standard",
            "--kind",
            "put",
            "--strike",
            "60000",
            "--amount",
            "0.1",
            "--expiry",
            "6",
            "--token",
            "wbtc",
            "--price",
            "60000",
        ],
    )
    .await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{out:?}");
    assert!(text.starts_with("policy #1: PUT"), "{text}");
    assert!(text.contains("(paid off chain)"), "{text}");
    assert!(text.contains("backed by tier balanced"), "{text}");
    // The CALL, backed by the aggressive tier, in ETH.
    let out = buy(
        &desk,
        &[
            "--buyer",
            &buyer_text,
            "--buyer-tier",
            "flexible",
            "--kind",
            "call",
            "--strike",
            "70000",
            "--amount",
            "0.1",
            "--expiry",
            "6",
            "--token",
            "eth",
            "--price",
            "60000",
            "--eth-price",
            "3000",
        ],
    )
    .await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{out:?}");
    assert!(text.starts_with("policy #2: CALL"), "{text}");
    assert!(text.contains("backed by tier aggressive"), "{text}");
    // A month-long CALL on the same provider: still backed when they ask to withdraw.
    let out = buy(
        &desk,
        &[
            "--buyer",
            &buyer_text,
            "--buyer-tier",
            "flexible",
            "--kind",
            "call",
            "--strike",
            "70000",
            "--amount",
            "0.1",
            "--expiry",
            "30d",
            "--token",
            "eth",
            "--price",
            "60000",
            "--eth-price",
            "3000",
        ],
    )
    .await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{out:?}");
    assert!(text.starts_with("policy #3: CALL"), "{text}");

    // BTC falls before they expire.
    let backend = common::wallet(&devnet.node, 0);
    let balance_before = TestToken::new(wbtc, &backend)
        .balanceOf(buyer)
        .call()
        .await
        .unwrap();
    feed(&rt, btc_feed, 50_000, 1);
    feed(&rt, eth_feed, 3_000, 1);

    let prices = Prices {
        btc_usd: 60_000 * E8,
        eth_usd: 3_000 * E8,
    };
    let put = store.pool_policy(1).await.unwrap().unwrap();
    let required = required_collateral(
        PolicyKind::Put,
        60_000 * E8,
        10_000_000,
        Token::Wbtc,
        &prices,
        params.tier("balanced").unwrap().collateral_ratio_bps,
    )
    .unwrap();
    assert_eq!(put.policy.collateral_locked, required);
    assert_eq!(put.policy.tier, "balanced");
    let locks = allocate(required, &[WBTC, WBTC / 2]).unwrap();
    let mut backers: Vec<_> = put
        .allocations
        .iter()
        .map(|a| (a.provider, a.amount_locked))
        .collect();
    backers.sort();
    let mut expected = vec![(who(1), locks[0]), (who(2), locks[1])];
    expected.sort();
    assert_eq!(backers, expected);
    let call = store.pool_policy(2).await.unwrap().unwrap();
    assert_eq!(call.policy.tier, "aggressive");
    assert_eq!(call.allocations.len(), 1);
    assert_eq!(call.allocations[0].provider, who(4));

    // The desk locks both in the Vault.
    wait_action(&rt, &store, "lock_collateral:1:1", ActionState::Confirmed).await;
    wait_action(&rt, &store, "lock_collateral:2:1", ActionState::Confirmed).await;
    wait_action(&rt, &store, "lock_collateral:3:1", ActionState::Confirmed).await;
    let long_call = store.pool_policy(3).await.unwrap().unwrap().policy;
    assert_eq!(long_call.tier, "aggressive");
    let start = Instant::now();
    loop {
        let put_now = store.pool_policy(1).await.unwrap().unwrap().policy;
        let call_now = store.pool_policy(2).await.unwrap().unwrap().policy;
        let long_now = store.pool_policy(3).await.unwrap().unwrap().policy;
        if put_now.onchain_locked && call_now.onchain_locked && long_now.onchain_locked {
            break;
        }
        assert!(start.elapsed() < WAIT, "locks not seen in the books");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let w = devnet_pool::totals(&backend, vault, wbtc).await.unwrap();
    assert_eq!(w.locked, U256::from(required));
    let e = devnet_pool::totals(&backend, vault, devnet_pool::ETH)
        .await
        .unwrap();
    assert_eq!(
        e.locked,
        U256::from(call.policy.collateral_locked + long_call.collateral_locked)
    );

    // BTC has fallen: the PUT ends in the money, the CALL does not.
    let payout = payout_units(
        PolicyKind::Put,
        60_000 * E8,
        10_000_000,
        50_000 * E8,
        Token::Wbtc,
        50_000 * E8,
    )
    .unwrap();
    assert_eq!(payout, 2_000_000);

    let settle = wait_action(&rt, &store, "settle_policy:1:1", ActionState::Confirmed).await;
    assert_eq!(settle.kind, ActionKind::SettlePolicy);
    wait_action(&rt, &store, "expire_policy:2:1", ActionState::Confirmed).await;
    wait_action(&rt, &store, "release_settled:1:1", ActionState::Confirmed).await;
    let balance_after = TestToken::new(wbtc, &backend)
        .balanceOf(buyer)
        .call()
        .await
        .unwrap();
    assert_eq!(balance_after - balance_before, U256::from(payout));

    let start = Instant::now();
    let (put, call) = loop {
        let put = store.pool_policy(1).await.unwrap().unwrap();
        let call = store.pool_policy(2).await.unwrap().unwrap();
        if put.policy.status == PolicyStatus::Settled
            && !put.policy.onchain_locked
            && put.policy.yield_accrued_at_ms.is_some()
            && call.policy.status == PolicyStatus::Expired
            && call.policy.yield_accrued_at_ms.is_some()
        {
            break (put, call);
        }
        assert!(
            start.elapsed() < WAIT,
            "policies not closed: {put:#?} {call:#?}; journal {:#?}",
            rt.pool.borrow().journal
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(put.policy.payout, Some(payout));
    assert_eq!(put.policy.settlement_price_usd, Some(50_000 * E8));
    let debits: u128 = put
        .allocations
        .iter()
        .map(|a| a.settlement_debit.unwrap())
        .sum();
    assert_eq!(debits, payout);
    let providers = store.pool_providers().await.unwrap();
    let books = |n: usize| {
        providers
            .iter()
            .find(|p| p.address == who(n))
            .unwrap()
            .clone()
    };
    for a in &put.allocations {
        let n = if a.provider == who(1) { 1 } else { 2 };
        let b = books(n).balance(Token::Wbtc);
        assert_eq!(b.accrued_yield, a.premium_share);
        assert_eq!(b.locked, 0);
        assert_eq!(
            b.total,
            [WBTC, WBTC / 2][n - 1] - a.settlement_debit.unwrap()
        );
    }
    let shares: u128 = put.allocations.iter().map(|a| a.premium_share).sum();
    assert_eq!(shares, put.policy.premium);
    let four = books(4).balance(Token::Eth);
    assert_eq!(four.accrued_yield, call.policy.premium);
    assert_eq!(four.locked, long_call.collateral_locked);
    assert_eq!(four.total, 10 * ETH);

    // The Vault's locks are back to nothing, and the books agree with it.
    let w = devnet_pool::totals(&backend, vault, wbtc).await.unwrap();
    assert_eq!(w.locked, U256::ZERO);
    assert_eq!(w.total, U256::from(5 * WBTC / 2 - payout));
    let e = devnet_pool::totals(&backend, vault, devnet_pool::ETH)
        .await
        .unwrap();
    assert_eq!(e.locked, U256::from(long_call.collateral_locked));
    wait_pane(&rt, "the books agreeing with the Vault", |s| {
        s.tokens.iter().all(|t| t.mismatch.is_none()) && s.tokens.len() == 2
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        store
            .pool_metrics()
            .await
            .unwrap()
            .iter()
            .all(|m| m.mismatch().is_none())
    );

    // The aggressive provider backs the long CALL: asking for all 10 ETH is refused with
    // the reason; the maximum is what is not locked (its coverage at 50,000 USD with the
    // tier's ratio and the buffer leaves more value free than that).
    let four_text = who(4).to_checksum(None);
    let ask = |amount: &'static str| {
        let desk = desk.clone();
        let four_text = four_text.clone();
        async move {
            pool(
                &desk,
                "request-withdrawal",
                &[
                    "--provider",
                    &four_text,
                    "--token",
                    "eth",
                    "--amount",
                    amount,
                    "--btc-price",
                    "50000",
                    "--eth-price",
                    "3000",
                ],
            )
            .await
        }
    };
    let out = ask("10").await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let max = 10 * ETH - long_call.collateral_locked;
    let max_text = Token::Eth.format_units(max);
    assert_eq!(max_text, "6.9");
    assert!(
        text.contains(&format!(
            "refused #1: asks 10 ETH, at most {max_text} ETH may be withdrawn (available \
             {max_text} ETH; backed policies need 5000 USD"
        )),
        "{text}"
    );
    let out = ask("1").await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{out:?}");
    assert!(text.contains("requested #2: 1 ETH for "), "{text}");
    rt.pool_requests
        .send(PoolRequest::ApproveWithdrawal { withdrawal_id: 2 })
        .unwrap();
    wait_action(
        &rt,
        &store,
        "approve_withdrawal:2:1",
        ActionState::Confirmed,
    )
    .await;
    devnet_pool::withdraw(
        &common::wallet(&devnet.node, 4),
        vault,
        U256::from(ETH),
        devnet_pool::ETH,
    )
    .await
    .unwrap();
    wait_pane(
        &rt,
        "the withdrawal debited, agreeing with the Vault",
        |s| {
            s.tokens.iter().any(|t| {
                t.token == "ETH"
                    && t.books_total == "9"
                    && t.onchain_total == "9"
                    && t.mismatch.is_none()
            })
        },
    )
    .await;
    let four = store.pool_provider(who(4)).await.unwrap().unwrap();
    assert_eq!(four.balance(Token::Eth).total, 9 * ETH);
    assert_eq!(four.balance(Token::Eth).locked, long_call.collateral_locked);
    rt.shutdown().await;
}
