//! `contracts/LiquidityVault.sol` (BitHedge's `liquidity-pool.clar` ported to EVM: ETH for
//! STX, an 8-decimal WBTC for sBTC) on a real anvil: every function, every error code
//! (`PoolError(200..=206)`, each path that yields one), every event with its fields, the
//! backend's withdrawal approvals (our deviation from the spec: without one nobody
//! withdraws), the reentrancy guard against a receiver that calls back, and the totals,
//! locked totals and available balances (the per-token readers and the spec's getters,
//! checked against what the vault really holds) after each step; and a devnet scenario's
//! `pool` seed. The devnet deploys through `hedgedesk::devnet::pool`; the hostile helpers
//! (a WBTC whose transfers fail, an address that refuses ETH, a receiver that calls back)
//! are `contracts/LiquidityVaultTestKit.sol`.
//!
//! Needs anvil (`scripts/bootstrap` installs it in `.tools/bin`).

mod common;

use std::time::Duration;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::sol_types::{SolCall, SolError, SolEventInterface};
use hedgedesk::chain::contracts::LiquidityVault::{self, LiquidityVaultEvents};
use hedgedesk::chain::contracts::{TestToken, artifact};
use hedgedesk::devnet::pool::{
    self as devnet_pool, ETH, VAULT, VaultRevert, VaultTotals, codes, deploy_vault, vault_revert,
};
use hedgedesk::devnet::receipt::mined;
use hedgedesk::devnet::{AnvilNode, AnvilOptions};
use hedgedesk::store::Store;

use common::wallet;

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    VaultFaultyToken,
    "contracts/out/VaultFaultyToken.json"
);

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    VaultRejectingReceiver,
    "contracts/out/VaultRejectingReceiver.json"
);

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    VaultReentrantReceiver,
    "contracts/out/VaultReentrantReceiver.json"
);

const OWNER: usize = 0; // deploys: the admin, and the backend until told otherwise
const ALICE: usize = 1; // a provider
const BOB: usize = 2; // another provider
const BUYER: usize = 3; // a policy buyer
const STRANGER: usize = 4;
const NEW_BACKEND: usize = 5;

/// One ETH in wei, one BTC in sats.
const ETH_1: u128 = 1_000_000_000_000_000_000;
const BTC_1: u64 = 100_000_000;

fn eth(milli: u64) -> U256 {
    U256::from(ETH_1 / 1000) * U256::from(milli)
}

fn sats(n: u64) -> U256 {
    U256::from(n)
}

// ---------------------------------------------------------------------------------------
// The chain

struct Env {
    node: AnvilNode,
    _dir: tempfile::TempDir,
    store: Store,
    vault: Address,
    wbtc: Address,
}

impl Env {
    /// A vault on a fresh anvil with a `TestToken` WBTC (8 decimals) as its token; Alice
    /// and Bob hold 10 BTC each.
    async fn start() -> Env {
        let node = AnvilNode::start(&AnvilOptions::default()).expect("anvil");
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite"), Duration::from_secs(5)).unwrap();
        let owner = wallet(&node, OWNER);
        let wbtc = *TestToken::deploy(&owner, "Wrapped BTC".into(), "WBTC".into(), 8, U256::ZERO)
            .await
            .expect("deploy WBTC")
            .address();
        for who in [ALICE, BOB] {
            mined(
                TestToken::new(wbtc, wallet(&node, OWNER))
                    .mint(node.address(who), sats(10 * BTC_1)),
                "mint WBTC",
            )
            .await
            .unwrap();
        }
        let (vault, d) = deploy_vault(&wallet(&node, OWNER), node.address(OWNER), &store, wbtc)
            .await
            .expect("deploy the vault");
        assert_eq!(d.name, VAULT);
        assert_eq!(d.artifact, "LiquidityVault");
        Env {
            node,
            _dir: dir,
            store,
            vault,
            wbtc,
        }
    }

    fn wallet(&self, index: usize) -> DynProvider {
        wallet(&self.node, index)
    }

    fn address(&self, index: usize) -> Address {
        self.node.address(index)
    }

    /// The vault as dev `index` (a fresh provider: no nonce cached across a failed send).
    fn vault(&self, index: usize) -> LiquidityVault::LiquidityVaultInstance<DynProvider> {
        LiquidityVault::new(self.vault, self.wallet(index))
    }

    fn reader(&self) -> LiquidityVault::LiquidityVaultInstance<DynProvider> {
        LiquidityVault::new(self.vault, self.node.provider().erased())
    }

    /// The backend (the deployer, unless a test made someone else the backend) approves
    /// `who`'s withdrawal of `amount` of `token`.
    async fn approve(&self, who: Address, amount: U256, token: Address) -> TransactionReceipt {
        devnet_pool::approve_withdrawal(&self.wallet(OWNER), self.vault, who, amount, token)
            .await
            .unwrap()
    }

    /// What `who` may still withdraw of `token`.
    async fn allowance(&self, who: Address, token: Address) -> U256 {
        devnet_pool::withdrawal_allowance(&self.node.provider(), self.vault, who, token)
            .await
            .unwrap()
    }

    async fn eth_balance(&self, who: Address) -> U256 {
        self.node.provider().get_balance(who).await.unwrap()
    }

    async fn wbtc_balance(&self, who: Address) -> U256 {
        TestToken::new(self.wbtc, self.node.provider())
            .balanceOf(who)
            .call()
            .await
            .unwrap()
    }

    /// Asserts the vault's (total, locked) for ETH and WBTC through every reader: the
    /// per-token `totalBalance` / `totalLocked` / `availableBalance` (and the devnet
    /// helper's `totals`), the spec's `getTotal{Eth,Wbtc}{Balance,Locked}`, and what the
    /// vault really holds (no stray funds reach it in these tests).
    async fn expect(&self, eth: (U256, U256), wbtc: (U256, U256)) {
        let r = self.reader();
        let provider = self.node.provider();
        for (token, (total, locked)) in [(ETH, eth), (self.wbtc, wbtc)] {
            let read = devnet_pool::totals(&provider, self.vault, token)
                .await
                .unwrap();
            let expected = VaultTotals {
                total,
                locked,
                available: total - locked,
            };
            assert_eq!(read, expected, "token {token}");
        }
        assert_eq!(r.getTotalEthBalance().call().await.unwrap(), eth.0);
        assert_eq!(r.getTotalEthLocked().call().await.unwrap(), eth.1);
        assert_eq!(r.getTotalWbtcBalance().call().await.unwrap(), wbtc.0);
        assert_eq!(r.getTotalWbtcLocked().call().await.unwrap(), wbtc.1);
        assert_eq!(self.eth_balance(self.vault).await, eth.0, "ETH held");
        assert_eq!(self.wbtc_balance(self.vault).await, wbtc.0, "WBTC held");
    }
}

/// What a simulated call reverted with, as the vault's error.
fn revert_of<T: std::fmt::Debug>(result: Result<T, alloy::contract::Error>) -> VaultRevert {
    let err = result.expect_err("the call must revert");
    vault_revert(&err).unwrap_or_else(|| panic!("not a LiquidityVault error: {err}"))
}

fn code<T: std::fmt::Debug>(result: Result<T, alloy::contract::Error>) -> u16 {
    match revert_of(result) {
        VaultRevert::Pool(code) => code,
        other => panic!("expected PoolError, got {other}"),
    }
}

/// The vault's events in `receipt`, in order (logs of other contracts left out).
fn events(vault: Address, receipt: &TransactionReceipt) -> Vec<LiquidityVaultEvents> {
    receipt
        .logs()
        .iter()
        .filter(|log| log.address() == vault)
        .map(|log| {
            LiquidityVaultEvents::decode_log(&log.inner)
                .expect("a LiquidityVault event")
                .data
        })
        .collect()
}

fn gas_cost(receipt: &TransactionReceipt) -> U256 {
    U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price)
}

fn ids(ids: &[u64]) -> Vec<U256> {
    ids.iter().map(|&i| U256::from(i)).collect()
}

// ---------------------------------------------------------------------------------------
// The ABI

#[test]
fn the_artifact_has_the_ported_abi() {
    let abi = artifact("LiquidityVault").expect("registered").abi();
    let mut functions: Vec<String> = abi.functions().map(|f| f.signature()).collect();
    functions.sort();
    assert_eq!(
        functions,
        [
            "admin()",
            "approveWithdrawal(address,uint256,address)",
            "availableBalance(address)",
            "depositFunds(uint256,address)",
            "getBackendPrincipal()",
            "getTotalEthBalance()",
            "getTotalEthLocked()",
            "getTotalWbtcBalance()",
            "getTotalWbtcLocked()",
            "getWbtcToken()",
            "lockCollateralAggregate(uint256[],uint256,address)",
            "releaseCollateralAggregate(uint256[],uint256,address)",
            "setBackendPrincipal(address)",
            "setWbtcToken(address)",
            "settlePolicy(uint256,address,uint256,address)",
            "totalBalance(address)",
            "totalLocked(address)",
            "withdrawFunds(uint256,address)",
            "withdrawalAllowance(address,address)",
        ]
    );
    assert!(
        abi.function("depositFunds").unwrap()[0].state_mutability
            == alloy::json_abi::StateMutability::Payable
    );
    let mut events: Vec<String> = abi
        .events()
        .map(|e| {
            let indexed: Vec<_> = e.inputs.iter().map(|i| i.indexed).collect();
            format!("{} {indexed:?}", e.signature())
        })
        .collect();
    events.sort();
    assert_eq!(
        events,
        [
            "BackendPrincipalSet(address,address) [true, true]",
            "CollateralLocked(uint256[],uint256,address) [false, false, true]",
            "CollateralReleased(uint256[],uint256,address) [false, false, true]",
            "FundsDeposited(address,uint256,address) [true, false, true]",
            "FundsWithdrawn(address,uint256,address) [true, false, true]",
            "SettlementPaid(uint256,address,uint256,address) [true, true, false, true]",
            "WbtcTokenSet(address) [true]",
            "WithdrawalApproved(address,uint256,address) [true, false, true]",
        ]
    );
    let mut errors: Vec<String> = abi.errors().map(|e| e.signature()).collect();
    errors.sort();
    assert_eq!(errors, ["PoolError(uint256)", "Reentrant()"]);
    // No receive or fallback: plain ETH cannot reach the vault uncounted.
    assert!(abi.receive.is_none() && abi.fallback.is_none());
}

// ---------------------------------------------------------------------------------------
// Deployment and the admin

#[tokio::test]
async fn deploy_records_the_vault_and_the_admin_sets_wbtc_once_and_the_backend() {
    let env = Env::start().await;
    let chain_id = env.node.chain_id;
    assert_eq!(
        devnet_pool::recorded(&env.store, chain_id).await.unwrap(),
        Some(env.vault)
    );
    let r = env.reader();
    assert_eq!(r.admin().call().await.unwrap(), env.address(OWNER));
    assert_eq!(
        r.getBackendPrincipal().call().await.unwrap(),
        env.address(OWNER)
    );
    assert_eq!(r.getWbtcToken().call().await.unwrap(), env.wbtc);
    env.expect((U256::ZERO, U256::ZERO), (U256::ZERO, U256::ZERO))
        .await;

    // setWbtcToken on the deployed vault: once only (204), and admin only first (200).
    let other = *TestToken::deploy(&env.wallet(OWNER), "X".into(), "X".into(), 8, U256::ZERO)
        .await
        .unwrap()
        .address();
    assert_eq!(
        code(env.vault(OWNER).setWbtcToken(other).call().await),
        codes::ALREADY_INITIALIZED
    );
    assert_eq!(
        code(env.vault(OWNER).setWbtcToken(env.wbtc).call().await),
        codes::ALREADY_INITIALIZED
    );
    assert_eq!(
        code(env.vault(STRANGER).setWbtcToken(other).call().await),
        codes::NOT_AUTHORIZED
    );

    // A vault just deployed: no WBTC yet.
    let fresh = *LiquidityVault::deploy(&env.wallet(OWNER))
        .await
        .unwrap()
        .address();
    let fresh_as = |i| LiquidityVault::new(fresh, env.wallet(i));
    assert_eq!(
        fresh_as(OWNER).getWbtcToken().call().await.unwrap(),
        Address::ZERO
    );
    // Every token but ETH is unknown until then.
    assert_eq!(
        code(fresh_as(ALICE).depositFunds(sats(1), env.wbtc).call().await),
        codes::INVALID_TOKEN
    );
    assert_eq!(
        code(fresh_as(ALICE).totalBalance(env.wbtc).call().await),
        codes::INVALID_TOKEN
    );
    assert_eq!(
        fresh_as(ALICE).totalBalance(ETH).call().await.unwrap(),
        U256::ZERO
    );
    assert_eq!(
        code(fresh_as(STRANGER).setWbtcToken(env.wbtc).call().await),
        codes::NOT_AUTHORIZED
    );
    // Not a token: the zero address (ETH), an account without code, a contract without
    // `decimals()`, a token with 18 decimals.
    let eighteen = *TestToken::deploy(&env.wallet(OWNER), "Y".into(), "Y".into(), 18, U256::ZERO)
        .await
        .unwrap()
        .address();
    for bad in [Address::ZERO, env.address(STRANGER), env.vault, eighteen] {
        assert_eq!(
            code(fresh_as(OWNER).setWbtcToken(bad).call().await),
            codes::INVALID_TOKEN,
            "{bad}"
        );
    }
    let receipt = mined(fresh_as(OWNER).setWbtcToken(env.wbtc), "setWbtcToken")
        .await
        .unwrap();
    assert_eq!(
        events(fresh, &receipt),
        [LiquidityVaultEvents::WbtcTokenSet(
            LiquidityVault::WbtcTokenSet { token: env.wbtc }
        )]
    );
    assert_eq!(
        fresh_as(ALICE).getWbtcToken().call().await.unwrap(),
        env.wbtc
    );
    assert_eq!(
        code(fresh_as(OWNER).setWbtcToken(env.wbtc).call().await),
        codes::ALREADY_INITIALIZED
    );

    // setBackendPrincipal: the admin only, even the backend itself may not.
    assert_eq!(
        code(
            env.vault(STRANGER)
                .setBackendPrincipal(env.address(STRANGER))
                .call()
                .await
        ),
        codes::NOT_AUTHORIZED
    );
    let receipt = devnet_pool::set_backend(&env.wallet(OWNER), env.vault, env.address(NEW_BACKEND))
        .await
        .unwrap();
    assert_eq!(
        events(env.vault, &receipt),
        [LiquidityVaultEvents::BackendPrincipalSet(
            LiquidityVault::BackendPrincipalSet {
                previous: env.address(OWNER),
                backend: env.address(NEW_BACKEND),
            }
        )]
    );
    assert_eq!(
        r.getBackendPrincipal().call().await.unwrap(),
        env.address(NEW_BACKEND)
    );
    assert_eq!(
        code(
            env.vault(NEW_BACKEND)
                .setBackendPrincipal(env.address(NEW_BACKEND))
                .call()
                .await
        ),
        codes::NOT_AUTHORIZED
    );
    // The admin stays the admin, and the old backend key is out.
    assert_eq!(r.admin().call().await.unwrap(), env.address(OWNER));
    assert_eq!(
        code(
            env.vault(OWNER)
                .lockCollateralAggregate(ids(&[1]), U256::ZERO, ETH)
                .call()
                .await
        ),
        codes::NOT_AUTHORIZED
    );
    devnet_pool::lock(&env.wallet(NEW_BACKEND), env.vault, &[1], U256::ZERO, ETH)
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------------------
// Providers: deposit and withdraw

#[tokio::test]
async fn deposits_and_withdrawals_move_funds_count_totals_and_emit_events() {
    let env = Env::start().await;
    let (alice, bob) = (env.address(ALICE), env.address(BOB));
    let zero = (U256::ZERO, U256::ZERO);

    // ETH: msg.value is the amount.
    let before = env.eth_balance(alice).await;
    let receipt = devnet_pool::deposit_eth(&env.wallet(ALICE), env.vault, eth(5_000))
        .await
        .unwrap();
    assert_eq!(
        events(env.vault, &receipt),
        [LiquidityVaultEvents::FundsDeposited(
            LiquidityVault::FundsDeposited {
                depositor: alice,
                amount: eth(5_000),
                token: ETH,
            }
        )]
    );
    assert_eq!(
        env.eth_balance(alice).await,
        before - eth(5_000) - gas_cost(&receipt)
    );
    env.expect((eth(5_000), U256::ZERO), zero).await;

    // WBTC: approve, then transferFrom.
    let receipt = devnet_pool::deposit_wbtc(&env.wallet(BOB), env.vault, env.wbtc, sats(3 * BTC_1))
        .await
        .unwrap();
    assert_eq!(
        events(env.vault, &receipt),
        [LiquidityVaultEvents::FundsDeposited(
            LiquidityVault::FundsDeposited {
                depositor: bob,
                amount: sats(3 * BTC_1),
                token: env.wbtc,
            }
        )]
    );
    assert_eq!(env.wbtc_balance(bob).await, sats(7 * BTC_1));
    env.expect((eth(5_000), U256::ZERO), (sats(3 * BTC_1), U256::ZERO))
        .await;
    // Through the generic helper too.
    devnet_pool::deposit(&env.wallet(ALICE), env.vault, env.wbtc, sats(BTC_1))
        .await
        .unwrap();
    devnet_pool::deposit(&env.wallet(BOB), env.vault, ETH, eth(1_000))
        .await
        .unwrap();
    let (eth_total, btc_total) = (eth(6_000), sats(4 * BTC_1));
    env.expect((eth_total, U256::ZERO), (btc_total, U256::ZERO))
        .await;

    // Deposit errors.
    let v = env.vault(ALICE);
    // msg.value must be the amount: short, over, and ETH sent with a WBTC deposit.
    for (amount, value, token) in [
        (eth(1_000), eth(999), ETH),
        (eth(1_000), eth(1_001), ETH),
        (eth(1_000), U256::ZERO, ETH),
        (sats(1), U256::from(1u8), env.wbtc),
    ] {
        assert_eq!(
            code(v.depositFunds(amount, token).value(value).call().await),
            codes::TRANSFER_FAILED,
            "{amount} {value} {token}"
        );
    }
    // Nothing, as a Clarity transfer of 0 fails.
    assert_eq!(
        code(v.depositFunds(U256::ZERO, ETH).call().await),
        codes::TRANSFER_FAILED
    );
    assert_eq!(
        code(v.depositFunds(U256::ZERO, env.wbtc).call().await),
        codes::TRANSFER_FAILED
    );
    // WBTC without an approval, and more than the depositor holds.
    assert_eq!(
        code(v.depositFunds(sats(1), env.wbtc).call().await),
        codes::TRANSFER_FAILED
    );
    mined(
        TestToken::new(env.wbtc, env.wallet(ALICE)).approve(env.vault, U256::MAX),
        "approve",
    )
    .await
    .unwrap();
    assert_eq!(
        code(v.depositFunds(sats(9 * BTC_1 + 1), env.wbtc).call().await),
        codes::TRANSFER_FAILED
    );
    // Any other token.
    let other = *TestToken::deploy(&env.wallet(OWNER), "X".into(), "X".into(), 8, sats(BTC_1))
        .await
        .unwrap()
        .address();
    for token in [other, env.address(STRANGER)] {
        assert_eq!(
            code(v.depositFunds(sats(1), token).call().await),
            codes::INVALID_TOKEN
        );
        assert_eq!(
            code(v.withdrawFunds(sats(1), token).call().await),
            codes::INVALID_TOKEN
        );
        for reader in [
            env.reader().totalBalance(token).call().await,
            env.reader().totalLocked(token).call().await,
            env.reader().availableBalance(token).call().await,
        ] {
            assert_eq!(code(reader), codes::INVALID_TOKEN);
        }
    }
    // Plain ETH has no way in.
    let plain = TransactionRequest::default()
        .with_from(alice)
        .with_to(env.vault)
        .with_value(eth(1));
    assert!(env.wallet(ALICE).call(plain).await.is_err());
    env.expect((eth_total, U256::ZERO), (btc_total, U256::ZERO))
        .await;

    // Withdrawals: to the caller, each approved by the backend first (the vault has no
    // per-provider balances; the desk checks the provider's maximum before it approves).
    env.approve(alice, eth(2_000), ETH).await;
    env.approve(alice, sats(BTC_1 / 2), env.wbtc).await;
    let before = env.eth_balance(alice).await;
    let receipt = devnet_pool::withdraw(&env.wallet(ALICE), env.vault, eth(2_000), ETH)
        .await
        .unwrap();
    assert_eq!(
        events(env.vault, &receipt),
        [LiquidityVaultEvents::FundsWithdrawn(
            LiquidityVault::FundsWithdrawn {
                withdrawer: alice,
                amount: eth(2_000),
                token: ETH,
            }
        )]
    );
    assert_eq!(
        env.eth_balance(alice).await,
        before + eth(2_000) - gas_cost(&receipt)
    );
    let eth_total = eth_total - eth(2_000);
    env.expect((eth_total, U256::ZERO), (btc_total, U256::ZERO))
        .await;

    let before = env.wbtc_balance(alice).await;
    let receipt = devnet_pool::withdraw(&env.wallet(ALICE), env.vault, sats(BTC_1 / 2), env.wbtc)
        .await
        .unwrap();
    assert_eq!(
        events(env.vault, &receipt),
        [LiquidityVaultEvents::FundsWithdrawn(
            LiquidityVault::FundsWithdrawn {
                withdrawer: alice,
                amount: sats(BTC_1 / 2),
                token: env.wbtc,
            }
        )]
    );
    assert_eq!(env.wbtc_balance(alice).await, before + sats(BTC_1 / 2));
    let btc_total = btc_total - sats(BTC_1 / 2);
    env.expect((eth_total, U256::ZERO), (btc_total, U256::ZERO))
        .await;

    // Both approvals are spent.
    assert_eq!(env.allowance(alice, ETH).await, U256::ZERO);
    assert_eq!(env.allowance(alice, env.wbtc).await, U256::ZERO);

    // More than the pool holds: 201 (even when approved). Nothing: 203. The approved
    // withdrawer need not be a depositor: the desk decides whom the backend approves.
    let stranger = env.address(STRANGER);
    env.approve(stranger, U256::MAX, ETH).await;
    env.approve(stranger, U256::MAX, env.wbtc).await;
    let w = env.vault(STRANGER);
    assert_eq!(
        code(
            w.withdrawFunds(eth_total + U256::from(1u8), ETH)
                .call()
                .await
        ),
        codes::INSUFFICIENT_BALANCE
    );
    assert_eq!(
        code(
            w.withdrawFunds(btc_total + U256::from(1u8), env.wbtc)
                .call()
                .await
        ),
        codes::INSUFFICIENT_BALANCE
    );
    assert_eq!(
        code(w.withdrawFunds(U256::ZERO, ETH).call().await),
        codes::TRANSFER_FAILED
    );
    // The whole pool is withdrawable while nothing is locked.
    devnet_pool::withdraw(&env.wallet(STRANGER), env.vault, eth_total, ETH)
        .await
        .unwrap();
    devnet_pool::withdraw(&env.wallet(STRANGER), env.vault, btc_total, env.wbtc)
        .await
        .unwrap();
    assert_eq!(env.wbtc_balance(env.address(STRANGER)).await, btc_total);
    env.expect(zero, zero).await;
    assert_eq!(
        code(w.withdrawFunds(U256::from(1u8), ETH).call().await),
        codes::INSUFFICIENT_BALANCE
    );
}

// ---------------------------------------------------------------------------------------
// Withdrawal approvals (not in the spec: without them anyone could drain the pool)

/// `WithdrawalApproved(provider, amount, token)`, the only vault event of an approval.
fn approved(provider: Address, amount: U256, token: Address) -> Vec<LiquidityVaultEvents> {
    vec![LiquidityVaultEvents::WithdrawalApproved(
        LiquidityVault::WithdrawalApproved {
            provider,
            amount,
            token,
        },
    )]
}

#[tokio::test]
async fn nobody_withdraws_without_the_backends_approval() {
    let env = Env::start().await;
    let (alice, bob) = (env.address(ALICE), env.address(BOB));
    devnet_pool::deposit_eth(&env.wallet(ALICE), env.vault, eth(5_000))
        .await
        .unwrap();
    devnet_pool::deposit_wbtc(&env.wallet(BOB), env.vault, env.wbtc, sats(3 * BTC_1))
        .await
        .unwrap();
    let held = (eth(5_000), U256::ZERO);
    let held_btc = (sats(3 * BTC_1), U256::ZERO);
    env.expect(held, held_btc).await;

    // No approval: 200 for anyone, the depositor included, whatever the amount (also above
    // what is available: the approval is checked before the balance).
    for who in [ALICE, BOB, STRANGER, OWNER] {
        let v = env.vault(who);
        for (amount, token) in [
            (U256::from(1u8), ETH),
            (eth(5_000), ETH),
            (eth(5_001), ETH),
            (U256::from(1u8), env.wbtc),
            (sats(3 * BTC_1 + 1), env.wbtc),
        ] {
            assert_eq!(
                code(v.withdrawFunds(amount, token).call().await),
                codes::NOT_AUTHORIZED,
                "dev {who}: {amount} of {token}"
            );
        }
        assert_eq!(env.allowance(env.address(who), ETH).await, U256::ZERO);
        assert_eq!(env.allowance(env.address(who), env.wbtc).await, U256::ZERO);
    }
    // The token is checked first (202), and an amount of 0 is 203 as before.
    let s = env.vault(STRANGER);
    assert_eq!(
        code(s.withdrawFunds(U256::from(1u8), bob).call().await),
        codes::INVALID_TOKEN
    );
    assert_eq!(
        code(s.withdrawFunds(U256::ZERO, ETH).call().await),
        codes::TRANSFER_FAILED
    );
    // Mined, the withdrawal reverts and nothing moves.
    let before = env.eth_balance(env.address(STRANGER)).await;
    let receipt = s
        .withdrawFunds(eth(1_000), ETH)
        .gas(300_000)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(!receipt.status());
    assert_eq!(
        env.eth_balance(env.address(STRANGER)).await,
        before - gas_cost(&receipt)
    );
    env.expect(held, held_btc).await;
    // The devnet helper says so.
    let err = devnet_pool::withdraw(&env.wallet(ALICE), env.vault, eth(1), ETH)
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("withdrawFunds"), "{err:#}");

    // The reader, like the other per-token readers, knows only ETH and WBTC.
    assert_eq!(
        code(env.reader().withdrawalAllowance(alice, bob).call().await),
        codes::INVALID_TOKEN
    );
}

#[tokio::test]
async fn only_the_backend_approves_known_tokens_and_the_event_says_what() {
    let env = Env::start().await;
    let alice = env.address(ALICE);
    devnet_pool::deposit_eth(&env.wallet(ALICE), env.vault, eth(5_000))
        .await
        .unwrap();

    // Not the backend: 200, the provider itself and the future backend included, and
    // before the token is looked at.
    for who in [ALICE, BOB, STRANGER, NEW_BACKEND] {
        let v = env.vault(who);
        assert_eq!(
            code(v.approveWithdrawal(alice, eth(1_000), ETH).call().await),
            codes::NOT_AUTHORIZED,
            "dev {who}"
        );
        assert_eq!(
            code(
                v.approveWithdrawal(env.address(who), eth(1_000), ETH)
                    .call()
                    .await
            ),
            codes::NOT_AUTHORIZED,
            "dev {who} for itself"
        );
        assert_eq!(
            code(
                v.approveWithdrawal(alice, eth(1_000), env.address(BOB))
                    .call()
                    .await
            ),
            codes::NOT_AUTHORIZED,
            "dev {who}, unknown token"
        );
    }
    // The backend with an unknown token (an account, another ERC-20): 202.
    let other = *TestToken::deploy(&env.wallet(OWNER), "X".into(), "X".into(), 8, U256::ZERO)
        .await
        .unwrap()
        .address();
    for bad in [env.address(BOB), other, env.vault] {
        assert_eq!(
            code(
                env.vault(OWNER)
                    .approveWithdrawal(alice, eth(1_000), bad)
                    .call()
                    .await
            ),
            codes::INVALID_TOKEN,
            "{bad}"
        );
    }
    assert_eq!(env.allowance(alice, ETH).await, U256::ZERO);

    // The event: the provider, the amount and the token (provider and token indexed).
    let receipt = env.approve(alice, eth(2_000), ETH).await;
    assert_eq!(
        events(env.vault, &receipt),
        approved(alice, eth(2_000), ETH)
    );
    let log = receipt
        .logs()
        .iter()
        .find(|l| l.address() == env.vault)
        .unwrap();
    let topics = log.topics();
    assert_eq!(topics.len(), 3);
    assert_eq!(topics[1], alice.into_word());
    assert_eq!(topics[2], ETH.into_word());
    let receipt = env.approve(alice, sats(BTC_1), env.wbtc).await;
    assert_eq!(
        events(env.vault, &receipt),
        approved(alice, sats(BTC_1), env.wbtc)
    );
    // Per token, and no funds move (nor is anything checked against the totals: the pool
    // holds no WBTC at all).
    assert_eq!(env.allowance(alice, ETH).await, eth(2_000));
    assert_eq!(env.allowance(alice, env.wbtc).await, sats(BTC_1));
    assert_eq!(env.allowance(env.address(BOB), ETH).await, U256::ZERO);
    env.expect((eth(5_000), U256::ZERO), (U256::ZERO, U256::ZERO))
        .await;

    // A new backend approves; the old key may not, and approvals already made stay.
    devnet_pool::set_backend(&env.wallet(OWNER), env.vault, env.address(NEW_BACKEND))
        .await
        .unwrap();
    assert_eq!(
        code(
            env.vault(OWNER)
                .approveWithdrawal(alice, eth(1), ETH)
                .call()
                .await
        ),
        codes::NOT_AUTHORIZED
    );
    let receipt = devnet_pool::approve_withdrawal(
        &env.wallet(NEW_BACKEND),
        env.vault,
        env.address(BOB),
        eth(300),
        ETH,
    )
    .await
    .unwrap();
    assert_eq!(
        events(env.vault, &receipt),
        approved(env.address(BOB), eth(300), ETH)
    );
    assert_eq!(env.allowance(alice, ETH).await, eth(2_000));
    assert_eq!(env.allowance(env.address(BOB), ETH).await, eth(300));
}

#[tokio::test]
async fn a_withdrawal_spends_its_approval_which_the_backend_sets_and_revokes() {
    let env = Env::start().await;
    let (alice, bob) = (env.address(ALICE), env.address(BOB));
    devnet_pool::deposit_eth(&env.wallet(ALICE), env.vault, eth(5_000))
        .await
        .unwrap();
    devnet_pool::deposit_wbtc(&env.wallet(BOB), env.vault, env.wbtc, sats(3 * BTC_1))
        .await
        .unwrap();
    let btc = (sats(3 * BTC_1), U256::ZERO);
    env.approve(alice, eth(2_000), ETH).await;

    // Above the approval: 200, and nothing moves (mined too), the approval intact.
    let v = env.vault(ALICE);
    assert_eq!(
        code(
            v.withdrawFunds(eth(2_000) + U256::from(1u8), ETH)
                .call()
                .await
        ),
        codes::NOT_AUTHORIZED
    );
    let before = env.eth_balance(alice).await;
    let receipt = v
        .withdrawFunds(eth(2_000) + U256::from(1u8), ETH)
        .gas(300_000)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(!receipt.status());
    assert!(events(env.vault, &receipt).is_empty());
    assert_eq!(env.eth_balance(alice).await, before - gas_cost(&receipt));
    assert_eq!(env.allowance(alice, ETH).await, eth(2_000));
    env.expect((eth(5_000), U256::ZERO), btc).await;
    // Nor does it cover another token or another provider.
    assert_eq!(
        code(v.withdrawFunds(U256::from(1u8), env.wbtc).call().await),
        codes::NOT_AUTHORIZED
    );
    assert_eq!(
        code(env.vault(BOB).withdrawFunds(eth(1), ETH).call().await),
        codes::NOT_AUTHORIZED
    );

    // Two withdrawals that sum to the approval exactly; a third, of anything, is 200.
    let before = env.eth_balance(alice).await;
    let first = devnet_pool::withdraw(&env.wallet(ALICE), env.vault, eth(1_200), ETH)
        .await
        .unwrap();
    assert_eq!(env.allowance(alice, ETH).await, eth(800));
    let second = devnet_pool::withdraw(&env.wallet(ALICE), env.vault, eth(800), ETH)
        .await
        .unwrap();
    assert_eq!(env.allowance(alice, ETH).await, U256::ZERO);
    assert_eq!(
        env.eth_balance(alice).await,
        before + eth(2_000) - gas_cost(&first) - gas_cost(&second)
    );
    env.expect((eth(3_000), U256::ZERO), btc).await;
    assert_eq!(
        code(v.withdrawFunds(U256::from(1u8), ETH).call().await),
        codes::NOT_AUTHORIZED
    );

    // An approval replaces the last one, it does not add to it.
    env.approve(alice, eth(1_000), ETH).await;
    env.approve(alice, eth(700), ETH).await;
    assert_eq!(env.allowance(alice, ETH).await, eth(700));
    assert_eq!(
        code(v.withdrawFunds(eth(701), ETH).call().await),
        codes::NOT_AUTHORIZED
    );
    v.withdrawFunds(eth(700), ETH)
        .call()
        .await
        .expect("the whole approval withdraws");

    // Revoked with 0: the event says 0, and nothing may be withdrawn.
    let receipt = env.approve(alice, U256::ZERO, ETH).await;
    assert_eq!(
        events(env.vault, &receipt),
        approved(alice, U256::ZERO, ETH)
    );
    assert_eq!(env.allowance(alice, ETH).await, U256::ZERO);
    assert_eq!(
        code(v.withdrawFunds(U256::from(1u8), ETH).call().await),
        codes::NOT_AUTHORIZED
    );
    // Revoking a part-spent approval takes what is left.
    env.approve(bob, sats(2 * BTC_1), env.wbtc).await;
    devnet_pool::withdraw(&env.wallet(BOB), env.vault, sats(BTC_1), env.wbtc)
        .await
        .unwrap();
    assert_eq!(env.allowance(bob, env.wbtc).await, sats(BTC_1));
    env.approve(bob, U256::ZERO, env.wbtc).await;
    assert_eq!(
        code(
            env.vault(BOB)
                .withdrawFunds(U256::from(1u8), env.wbtc)
                .call()
                .await
        ),
        codes::NOT_AUTHORIZED
    );
    assert_eq!(env.wbtc_balance(bob).await, sats(8 * BTC_1));
    let btc = (sats(2 * BTC_1), U256::ZERO);
    env.expect((eth(3_000), U256::ZERO), btc).await;

    // An approval above what is available does not get past the balance: 201, and the
    // approval is not spent.
    devnet_pool::lock(&env.wallet(OWNER), env.vault, &[1], eth(1_000), ETH)
        .await
        .unwrap();
    env.approve(alice, eth(10_000), ETH).await;
    assert_eq!(
        code(v.withdrawFunds(eth(2_001), ETH).call().await),
        codes::INSUFFICIENT_BALANCE
    );
    devnet_pool::withdraw(&env.wallet(ALICE), env.vault, eth(2_000), ETH)
        .await
        .unwrap();
    assert_eq!(env.allowance(alice, ETH).await, eth(8_000));
    env.expect((eth(1_000), eth(1_000)), btc).await;
}

// ---------------------------------------------------------------------------------------
// Backend: lock, release, settle

#[tokio::test]
async fn the_backend_locks_releases_and_settles_and_the_totals_follow() {
    let env = Env::start().await;
    let backend = env.wallet(OWNER);
    let buyer = env.address(BUYER);
    devnet_pool::deposit_eth(&env.wallet(ALICE), env.vault, eth(10_000))
        .await
        .unwrap();
    devnet_pool::deposit_wbtc(&env.wallet(BOB), env.vault, env.wbtc, sats(2 * BTC_1))
        .await
        .unwrap();
    env.expect((eth(10_000), U256::ZERO), (sats(2 * BTC_1), U256::ZERO))
        .await;

    // Lock: no funds move, the locked total and the event carry the policies.
    let receipt = devnet_pool::lock(&backend, env.vault, &[7, 8, 9], eth(4_000), ETH)
        .await
        .unwrap();
    assert_eq!(
        events(env.vault, &receipt),
        [LiquidityVaultEvents::CollateralLocked(
            LiquidityVault::CollateralLocked {
                policyIds: ids(&[7, 8, 9]),
                amount: eth(4_000),
                token: ETH,
            }
        )]
    );
    env.expect((eth(10_000), eth(4_000)), (sats(2 * BTC_1), U256::ZERO))
        .await;
    let receipt = devnet_pool::lock(&backend, env.vault, &[10], sats(BTC_1), env.wbtc)
        .await
        .unwrap();
    assert_eq!(
        events(env.vault, &receipt),
        [LiquidityVaultEvents::CollateralLocked(
            LiquidityVault::CollateralLocked {
                policyIds: ids(&[10]),
                amount: sats(BTC_1),
                token: env.wbtc,
            }
        )]
    );
    // An empty batch is a plain aggregate lock.
    devnet_pool::lock(&backend, env.vault, &[], eth(1_000), ETH)
        .await
        .unwrap();
    env.expect((eth(10_000), eth(5_000)), (sats(2 * BTC_1), sats(BTC_1)))
        .await;

    // Lock errors: beyond what is available (205), up to it is fine.
    let b = env.vault(OWNER);
    assert_eq!(
        code(
            b.lockCollateralAggregate(ids(&[11]), eth(5_000) + U256::from(1u8), ETH)
                .call()
                .await
        ),
        codes::LOCK_EXCEEDS_AVAILABLE
    );
    assert_eq!(
        code(
            b.lockCollateralAggregate(ids(&[11]), sats(BTC_1 + 1), env.wbtc)
                .call()
                .await
        ),
        codes::LOCK_EXCEEDS_AVAILABLE
    );
    b.lockCollateralAggregate(ids(&[11]), eth(5_000), ETH)
        .call()
        .await
        .expect("exactly the available balance locks");
    // Withdrawals may not touch locked funds: 201 although the total and the approval
    // cover them.
    // (With `backend`, whose wallet keeps count of the deployer's nonce.)
    for (amount, token) in [(eth(10_000), ETH), (sats(2 * BTC_1), env.wbtc)] {
        devnet_pool::approve_withdrawal(&backend, env.vault, env.address(ALICE), amount, token)
            .await
            .unwrap();
    }
    let w = env.vault(ALICE);
    assert_eq!(
        code(
            w.withdrawFunds(eth(5_000) + U256::from(1u8), ETH)
                .call()
                .await
        ),
        codes::INSUFFICIENT_BALANCE
    );
    assert_eq!(
        code(w.withdrawFunds(sats(BTC_1 + 1), env.wbtc).call().await),
        codes::INSUFFICIENT_BALANCE
    );
    w.withdrawFunds(eth(5_000), ETH)
        .call()
        .await
        .expect("the available balance withdraws");
    // Not the backend: 200, for all three, before anything else is looked at.
    for who in [ALICE, STRANGER, NEW_BACKEND] {
        let s = env.vault(who);
        assert_eq!(
            code(
                s.lockCollateralAggregate(ids(&[1]), U256::from(1u8), ETH)
                    .call()
                    .await
            ),
            codes::NOT_AUTHORIZED
        );
        assert_eq!(
            code(
                s.releaseCollateralAggregate(ids(&[1]), U256::from(1u8), ETH)
                    .call()
                    .await
            ),
            codes::NOT_AUTHORIZED
        );
        assert_eq!(
            code(
                s.settlePolicy(U256::from(1u8), buyer, U256::from(1u8), ETH)
                    .call()
                    .await
            ),
            codes::NOT_AUTHORIZED
        );
        assert_eq!(
            code(
                s.lockCollateralAggregate(ids(&[1]), U256::from(1u8), env.address(STRANGER))
                    .call()
                    .await
            ),
            codes::NOT_AUTHORIZED
        );
    }
    // The backend with an unknown token: 202.
    let bad = env.address(STRANGER);
    assert_eq!(
        code(
            b.lockCollateralAggregate(ids(&[1]), U256::ZERO, bad)
                .call()
                .await
        ),
        codes::INVALID_TOKEN
    );
    assert_eq!(
        code(
            b.releaseCollateralAggregate(ids(&[1]), U256::ZERO, bad)
                .call()
                .await
        ),
        codes::INVALID_TOKEN
    );
    assert_eq!(
        code(
            b.settlePolicy(U256::from(1u8), buyer, U256::from(1u8), bad)
                .call()
                .await
        ),
        codes::INVALID_TOKEN
    );

    // Release: more than is locked is 206; the event carries the policies.
    assert_eq!(
        code(
            b.releaseCollateralAggregate(ids(&[7]), eth(5_000) + U256::from(1u8), ETH)
                .call()
                .await
        ),
        codes::UNLOCK_EXCEEDS_LOCKED
    );
    assert_eq!(
        code(
            b.releaseCollateralAggregate(ids(&[10]), sats(BTC_1 + 1), env.wbtc)
                .call()
                .await
        ),
        codes::UNLOCK_EXCEEDS_LOCKED
    );
    let receipt = devnet_pool::release(&backend, env.vault, &[8, 9], eth(1_500), ETH)
        .await
        .unwrap();
    assert_eq!(
        events(env.vault, &receipt),
        [LiquidityVaultEvents::CollateralReleased(
            LiquidityVault::CollateralReleased {
                policyIds: ids(&[8, 9]),
                amount: eth(1_500),
                token: ETH,
            }
        )]
    );
    env.expect((eth(10_000), eth(3_500)), (sats(2 * BTC_1), sats(BTC_1)))
        .await;

    // Settle ETH within the lock: paid to the buyer, total and locked both down by it.
    let before = env.eth_balance(buyer).await;
    let receipt = devnet_pool::settle(&backend, env.vault, 7, buyer, eth(1_200), ETH)
        .await
        .unwrap();
    assert_eq!(
        events(env.vault, &receipt),
        [LiquidityVaultEvents::SettlementPaid(
            LiquidityVault::SettlementPaid {
                policyId: U256::from(7u8),
                buyer,
                amount: eth(1_200),
                token: ETH,
            }
        )]
    );
    assert_eq!(env.eth_balance(buyer).await, before + eth(1_200));
    env.expect((eth(8_800), eth(2_300)), (sats(2 * BTC_1), sats(BTC_1)))
        .await;
    // The rest of policy 7's lock is released afterwards, as the desk does.
    devnet_pool::release(&backend, env.vault, &[7], eth(2_300), ETH)
        .await
        .unwrap();
    env.expect((eth(8_800), U256::ZERO), (sats(2 * BTC_1), sats(BTC_1)))
        .await;

    // Settle WBTC beyond what is locked: the locked total goes to 0, never below.
    let receipt = devnet_pool::settle(
        &backend,
        env.vault,
        10,
        buyer,
        sats(BTC_1 + BTC_1 / 4),
        env.wbtc,
    )
    .await
    .unwrap();
    assert_eq!(
        events(env.vault, &receipt),
        [LiquidityVaultEvents::SettlementPaid(
            LiquidityVault::SettlementPaid {
                policyId: U256::from(10u8),
                buyer,
                amount: sats(BTC_1 + BTC_1 / 4),
                token: env.wbtc,
            }
        )]
    );
    assert_eq!(env.wbtc_balance(buyer).await, sats(BTC_1 + BTC_1 / 4));
    let btc_left = sats(2 * BTC_1 - BTC_1 - BTC_1 / 4);
    env.expect((eth(8_800), U256::ZERO), (btc_left, U256::ZERO))
        .await;

    // Settle errors: more than the total (201, locked or not), nothing or nobody (203).
    assert_eq!(
        code(
            b.settlePolicy(U256::from(1u8), buyer, btc_left + U256::from(1u8), env.wbtc)
                .call()
                .await
        ),
        codes::INSUFFICIENT_BALANCE
    );
    assert_eq!(
        code(
            b.settlePolicy(U256::from(1u8), buyer, eth(8_800) + U256::from(1u8), ETH)
                .call()
                .await
        ),
        codes::INSUFFICIENT_BALANCE
    );
    assert_eq!(
        code(
            b.settlePolicy(U256::from(1u8), buyer, U256::ZERO, ETH)
                .call()
                .await
        ),
        codes::TRANSFER_FAILED
    );
    assert_eq!(
        code(
            b.settlePolicy(U256::from(1u8), Address::ZERO, eth(1), ETH)
                .call()
                .await
        ),
        codes::TRANSFER_FAILED
    );
    // A settlement may use unlocked funds: the whole total pays out.
    devnet_pool::lock(&backend, env.vault, &[12], eth(800), ETH)
        .await
        .unwrap();
    devnet_pool::settle(&backend, env.vault, 12, buyer, eth(8_800), ETH)
        .await
        .unwrap();
    env.expect((U256::ZERO, U256::ZERO), (btc_left, U256::ZERO))
        .await;
    // With nothing locked, releasing anything is 206.
    assert_eq!(
        code(
            b.releaseCollateralAggregate(ids(&[12]), U256::from(1u8), ETH)
                .call()
                .await
        ),
        codes::UNLOCK_EXCEEDS_LOCKED
    );
}

// ---------------------------------------------------------------------------------------
// Transfers that fail

#[tokio::test]
async fn a_wbtc_token_whose_transfers_fail_is_transfer_failed_and_changes_nothing() {
    let env = Env::start().await;
    let owner = env.wallet(OWNER);
    let token = *VaultFaultyToken::deploy(&owner, 8).await.unwrap().address();
    let faulty = |i| VaultFaultyToken::new(token, env.wallet(i));
    let store_dir = tempfile::tempdir().unwrap();
    let store = Store::open(&store_dir.path().join("db.sqlite"), Duration::from_secs(5)).unwrap();
    let (vault, _) = deploy_vault(&owner, env.address(OWNER), &store, token)
        .await
        .unwrap();
    let v = |i| LiquidityVault::new(vault, env.wallet(i));
    let alice = env.address(ALICE);
    mined(faulty(OWNER).mint(alice, sats(10 * BTC_1)), "mint")
        .await
        .unwrap();
    mined(faulty(ALICE).approve(vault, U256::MAX), "approve")
        .await
        .unwrap();
    let reader = env.node.provider();
    let totals = || devnet_pool::totals(&reader, vault, token);
    let set_mode = |mode: u8| set_faulty_mode(&env, token, mode);

    // Deposits: false, a revert, a lie (true, nothing moved), a fee, a balance the token
    // cannot tell: all 203.
    for mode in [1u8, 2, 3, 4, 5] {
        set_mode(mode).await;
        assert_eq!(
            code(v(ALICE).depositFunds(sats(BTC_1), token).call().await),
            codes::TRANSFER_FAILED,
            "mode {mode}"
        );
        // Mined on chain too (explicit gas, no estimate): it reverts and counts nothing.
        let receipt = v(ALICE)
            .depositFunds(sats(BTC_1), token)
            .gas(300_000)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(!receipt.status(), "mode {mode}");
        assert_eq!(
            totals().await.unwrap(),
            VaultTotals::default(),
            "mode {mode}"
        );
    }

    // A working deposit from a token that returns nothing (as USDT), then the backend locks
    // part of it.
    set_mode(6).await;
    devnet_pool::deposit(&env.wallet(ALICE), vault, token, sats(4 * BTC_1))
        .await
        .unwrap();
    devnet_pool::lock(&env.wallet(OWNER), vault, &[1], sats(BTC_1), token)
        .await
        .unwrap();
    let held = VaultTotals {
        total: sats(4 * BTC_1),
        locked: sats(BTC_1),
        available: sats(3 * BTC_1),
    };
    assert_eq!(totals().await.unwrap(), held);
    devnet_pool::approve_withdrawal(&env.wallet(OWNER), vault, alice, sats(BTC_1), token)
        .await
        .unwrap();
    let allowance = || devnet_pool::withdrawal_allowance(&reader, vault, alice, token);

    // Withdrawals and settlements the token refuses (false, revert): 203, nothing changes
    // (the approval neither).
    for mode in [1u8, 2] {
        set_mode(mode).await;
        assert_eq!(
            code(v(ALICE).withdrawFunds(sats(BTC_1), token).call().await),
            codes::TRANSFER_FAILED,
            "mode {mode}"
        );
        assert_eq!(
            code(
                v(OWNER)
                    .settlePolicy(U256::from(1u8), env.address(BUYER), sats(BTC_1), token)
                    .call()
                    .await
            ),
            codes::TRANSFER_FAILED,
            "mode {mode}"
        );
        assert_eq!(totals().await.unwrap(), held);
        assert_eq!(allowance().await.unwrap(), sats(BTC_1), "mode {mode}");
    }
    // Mined, a refused payout reverts the whole withdrawal, the approval's spending too.
    let receipt = v(ALICE)
        .withdrawFunds(sats(BTC_1), token)
        .gas(300_000)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(!receipt.status());
    assert_eq!(allowance().await.unwrap(), sats(BTC_1));
    set_mode(6).await;
    devnet_pool::withdraw(&env.wallet(ALICE), vault, sats(BTC_1), token)
        .await
        .unwrap();
    assert_eq!(allowance().await.unwrap(), U256::ZERO);
    set_mode(0).await;
    devnet_pool::settle(
        &env.wallet(OWNER),
        vault,
        1,
        env.address(BUYER),
        sats(BTC_1),
        token,
    )
    .await
    .unwrap();
    assert_eq!(
        totals().await.unwrap(),
        VaultTotals {
            total: sats(2 * BTC_1),
            locked: U256::ZERO,
            available: sats(2 * BTC_1),
        }
    );
    assert_eq!(
        faulty(OWNER).balanceOf(vault).call().await.unwrap(),
        sats(2 * BTC_1)
    );
}

async fn set_faulty_mode(env: &Env, token: Address, mode: u8) {
    mined(
        VaultFaultyToken::new(token, env.wallet(STRANGER)).setMode(mode),
        "setMode",
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn an_address_that_refuses_eth_gets_transfer_failed_on_withdraw_and_settle() {
    let env = Env::start().await;
    let rejecter = *VaultRejectingReceiver::deploy(&env.wallet(OWNER), env.vault)
        .await
        .unwrap()
        .address();
    let r = |i| VaultRejectingReceiver::new(rejecter, env.wallet(i));
    // It deposits (the vault pays nothing to deposit).
    let receipt = mined(r(ALICE).deposit().value(eth(2_000)), "deposit")
        .await
        .unwrap();
    assert_eq!(
        events(env.vault, &receipt),
        [LiquidityVaultEvents::FundsDeposited(
            LiquidityVault::FundsDeposited {
                depositor: rejecter,
                amount: eth(2_000),
                token: ETH,
            }
        )]
    );
    devnet_pool::deposit_eth(&env.wallet(BOB), env.vault, eth(1_000))
        .await
        .unwrap();
    let held = (eth(3_000), U256::ZERO);
    let no_btc = (U256::ZERO, U256::ZERO);
    env.expect(held, no_btc).await;
    env.approve(rejecter, eth(500), ETH).await;
    env.approve(rejecter, sats(1), env.wbtc).await;

    // Its withdrawal, approved: the vault's ETH send fails, 203 passed on by the receiver.
    assert_eq!(
        code(r(ALICE).withdraw(eth(500), ETH).call().await),
        codes::TRANSFER_FAILED
    );
    // Mined: reverted, nothing changed.
    let receipt = r(ALICE)
        .withdraw(eth(500), ETH)
        .gas(300_000)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(!receipt.status());
    env.expect(held, no_btc).await;
    assert_eq!(env.allowance(rejecter, ETH).await, eth(500));
    // A settlement paid to it: 203.
    assert_eq!(
        code(
            env.vault(OWNER)
                .settlePolicy(U256::from(3u8), rejecter, eth(500), ETH)
                .call()
                .await
        ),
        codes::TRANSFER_FAILED
    );
    env.expect(held, no_btc).await;
    // Its WBTC withdrawal has nothing to refuse (the pool holds none: 201).
    assert_eq!(
        code(r(ALICE).withdraw(sats(1), env.wbtc).call().await),
        codes::INSUFFICIENT_BALANCE
    );
}

// ---------------------------------------------------------------------------------------
// Reentrancy

#[tokio::test]
async fn a_receiver_that_reenters_withdraw_or_settle_is_refused() {
    let env = Env::start().await;
    let attacker = *VaultReentrantReceiver::deploy(&env.wallet(OWNER), env.vault)
        .await
        .unwrap()
        .address();
    let a = |i| VaultReentrantReceiver::new(attacker, env.wallet(i));
    let no_btc = (U256::ZERO, U256::ZERO);
    let reentrant: Bytes = LiquidityVault::Reentrant {}.abi_encode().into();
    assert_eq!(reentrant.len(), 4);
    let withdraw_call = |amount| -> Bytes {
        LiquidityVault::withdrawFundsCall { amount, token: ETH }
            .abi_encode()
            .into()
    };
    let settle_call = |policy: u8, amount| -> Bytes {
        LiquidityVault::settlePolicyCall {
            policyId: U256::from(policy),
            buyer: attacker,
            amount,
            token: ETH,
        }
        .abi_encode()
        .into()
    };
    mined(a(ALICE).deposit().value(eth(2_000)), "deposit")
        .await
        .unwrap();
    devnet_pool::deposit_eth(&env.wallet(BOB), env.vault, eth(8_000))
        .await
        .unwrap();
    env.expect((eth(10_000), U256::ZERO), no_btc).await;
    // Approved while the deployer is the backend (the attacker becomes it below).
    env.approve(env.address(ALICE), eth(7_700), ETH).await;

    // Withdraw, re-entering withdraw from `receive`: the inner call is refused, the outer
    // one pays once.
    env.approve(attacker, eth(1_000), ETH).await;
    mined(a(ALICE).arm(withdraw_call(eth(1_000)), false), "arm")
        .await
        .unwrap();
    let receipt = mined(a(ALICE).withdraw(eth(1_000), ETH), "withdraw")
        .await
        .unwrap();
    assert_eq!(
        events(env.vault, &receipt),
        [LiquidityVaultEvents::FundsWithdrawn(
            LiquidityVault::FundsWithdrawn {
                withdrawer: attacker,
                amount: eth(1_000),
                token: ETH,
            }
        )]
    );
    let seen = a(STRANGER);
    assert!(seen.attempted().call().await.unwrap());
    assert!(!seen.reentrySucceeded().call().await.unwrap());
    assert_eq!(seen.reentryRevert().call().await.unwrap(), reentrant);
    assert_eq!(seen.received().call().await.unwrap(), eth(1_000));
    assert_eq!(env.eth_balance(attacker).await, eth(1_000));
    env.expect((eth(9_000), U256::ZERO), no_btc).await;

    // The same, the receiver passing the refusal on: the payout fails, 203, nothing moves.
    env.approve(attacker, eth(1_000), ETH).await;
    mined(a(ALICE).arm(withdraw_call(eth(1_000)), true), "arm")
        .await
        .unwrap();
    assert_eq!(
        code(a(ALICE).withdraw(eth(1_000), ETH).call().await),
        codes::TRANSFER_FAILED
    );
    env.expect((eth(9_000), U256::ZERO), no_btc).await;

    // Settlement to it as the buyer, re-entering withdraw: refused, paid once.
    mined(a(ALICE).arm(withdraw_call(eth(1_000)), false), "arm")
        .await
        .unwrap();
    devnet_pool::lock(&env.wallet(OWNER), env.vault, &[5], eth(3_000), ETH)
        .await
        .unwrap();
    let receipt = devnet_pool::settle(&env.wallet(OWNER), env.vault, 5, attacker, eth(500), ETH)
        .await
        .unwrap();
    assert_eq!(
        events(env.vault, &receipt),
        [LiquidityVaultEvents::SettlementPaid(
            LiquidityVault::SettlementPaid {
                policyId: U256::from(5u8),
                buyer: attacker,
                amount: eth(500),
                token: ETH,
            }
        )]
    );
    assert!(!seen.reentrySucceeded().call().await.unwrap());
    assert_eq!(seen.reentryRevert().call().await.unwrap(), reentrant);
    assert_eq!(seen.received().call().await.unwrap(), eth(1_500));
    env.expect((eth(8_500), eth(2_500)), no_btc).await;

    // Made the backend itself, it settles to itself and re-enters settle, then lock: both
    // refused even though it is authorized, and it is paid once.
    devnet_pool::set_backend(&env.wallet(OWNER), env.vault, attacker)
        .await
        .unwrap();
    mined(a(ALICE).arm(settle_call(6, eth(500)), false), "arm")
        .await
        .unwrap();
    let receipt = mined(
        a(ALICE).settle(U256::from(6u8), attacker, eth(500), ETH),
        "settle",
    )
    .await
    .unwrap();
    assert_eq!(events(env.vault, &receipt).len(), 1);
    assert!(seen.attempted().call().await.unwrap());
    assert!(!seen.reentrySucceeded().call().await.unwrap());
    assert_eq!(seen.reentryRevert().call().await.unwrap(), reentrant);
    assert_eq!(seen.received().call().await.unwrap(), eth(2_000));
    env.expect((eth(8_000), eth(2_000)), no_btc).await;

    let lock_call: Bytes = LiquidityVault::lockCollateralAggregateCall {
        policyIds: ids(&[7]),
        amount: eth(1),
        token: ETH,
    }
    .abi_encode()
    .into();
    mined(a(ALICE).arm(lock_call, false), "arm").await.unwrap();
    mined(
        a(ALICE).settle(U256::from(6u8), attacker, eth(100), ETH),
        "settle",
    )
    .await
    .unwrap();
    assert_eq!(seen.reentryRevert().call().await.unwrap(), reentrant);
    env.expect((eth(7_900), eth(1_900)), no_btc).await;

    // Disarmed, the same calls work: the guard is released after each call.
    assert!(!seen.armed().call().await.unwrap());
    mined(
        a(ALICE).settle(U256::from(6u8), attacker, eth(100), ETH),
        "settle",
    )
    .await
    .unwrap();
    mined(a(ALICE).withdraw(eth(100), ETH), "withdraw")
        .await
        .unwrap();
    env.expect((eth(7_700), eth(1_800)), no_btc).await;
    assert_eq!(env.allowance(attacker, ETH).await, eth(900));
    assert_eq!(
        revert_of(env.vault(ALICE).withdrawFunds(eth(7_700), ETH).call().await),
        VaultRevert::Pool(codes::INSUFFICIENT_BALANCE)
    );
}

#[tokio::test]
async fn a_reentrant_receiver_cannot_withdraw_twice_on_one_approval() {
    let env = Env::start().await;
    let attacker = *VaultReentrantReceiver::deploy(&env.wallet(OWNER), env.vault)
        .await
        .unwrap()
        .address();
    let a = |i| VaultReentrantReceiver::new(attacker, env.wallet(i));
    let seen = a(STRANGER);
    let no_btc = (U256::ZERO, U256::ZERO);
    let reentrant: Bytes = LiquidityVault::Reentrant {}.abi_encode().into();
    let withdraw_call = |amount| -> Bytes {
        LiquidityVault::withdrawFundsCall { amount, token: ETH }
            .abi_encode()
            .into()
    };
    devnet_pool::deposit_eth(&env.wallet(BOB), env.vault, eth(10_000))
        .await
        .unwrap();

    // Approved for 1,000 once, it withdraws 1,000 and re-enters for another 1,000: refused,
    // paid once, the approval used up.
    env.approve(attacker, eth(1_000), ETH).await;
    mined(a(ALICE).arm(withdraw_call(eth(1_000)), false), "arm")
        .await
        .unwrap();
    let receipt = mined(a(ALICE).withdraw(eth(1_000), ETH), "withdraw")
        .await
        .unwrap();
    assert_eq!(events(env.vault, &receipt).len(), 1);
    assert!(seen.attempted().call().await.unwrap());
    assert!(!seen.reentrySucceeded().call().await.unwrap());
    assert_eq!(seen.reentryRevert().call().await.unwrap(), reentrant);
    assert_eq!(seen.received().call().await.unwrap(), eth(1_000));
    assert_eq!(env.allowance(attacker, ETH).await, U256::ZERO);
    env.expect((eth(9_000), U256::ZERO), no_btc).await;
    // And afterwards, not re-entering: nothing left to withdraw.
    assert_eq!(
        code(a(ALICE).withdraw(eth(1_000), ETH).call().await),
        codes::NOT_AUTHORIZED
    );
    assert_eq!(
        code(a(ALICE).withdraw(U256::from(1u8), ETH).call().await),
        codes::NOT_AUTHORIZED
    );

    // Approved for 2,000, one withdrawal of 1,000 that re-enters spends only its own 1,000.
    env.approve(attacker, eth(2_000), ETH).await;
    mined(a(ALICE).arm(withdraw_call(eth(1_000)), false), "arm")
        .await
        .unwrap();
    mined(a(ALICE).withdraw(eth(1_000), ETH), "withdraw")
        .await
        .unwrap();
    assert!(!seen.reentrySucceeded().call().await.unwrap());
    assert_eq!(seen.received().call().await.unwrap(), eth(2_000));
    assert_eq!(env.allowance(attacker, ETH).await, eth(1_000));
    env.expect((eth(8_000), U256::ZERO), no_btc).await;
}

// ---------------------------------------------------------------------------------------
// The devnet seed

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_with_a_pool_deploys_the_vault_on_its_wbtc_with_its_backend() {
    use hedgedesk::devnet::scenario::PoolSpec;
    use hedgedesk::devnet::{Devnet, Scenario, TokenSpec};

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite"), Duration::from_secs(5)).unwrap();
    let mut devnet = Devnet::start(AnvilOptions::default(), store.clone())
        .await
        .unwrap();
    let scenario = Scenario::empty()
        .token(TokenSpec::new("btc8", "Wrapped BTC", "WBTC", 8, 21))
        .pool(PoolSpec {
            wbtc: "btc8".into(),
            backend: NEW_BACKEND,
        });
    devnet.seed(&scenario).await.unwrap();
    let vault = devnet.address(VAULT).unwrap();
    assert_eq!(
        devnet_pool::recorded(&store, devnet.node.chain_id)
            .await
            .unwrap(),
        Some(vault)
    );
    let r = LiquidityVault::new(vault, devnet.node.provider());
    assert_eq!(
        r.getWbtcToken().call().await.unwrap(),
        devnet.address("token.btc8").unwrap()
    );
    assert_eq!(
        r.getBackendPrincipal().call().await.unwrap(),
        devnet.node.address(NEW_BACKEND)
    );
    assert_eq!(r.admin().call().await.unwrap(), devnet.node.address(OWNER));
    assert_eq!(
        devnet_pool::totals(&devnet.node.provider(), vault, ETH)
            .await
            .unwrap(),
        VaultTotals::default()
    );
    // A scenario whose wrapped BTC is not 8 decimals deploys nothing.
    let mut bad = Devnet::start(AnvilOptions::default(), store.clone())
        .await
        .unwrap();
    let scenario = Scenario::empty()
        .token(TokenSpec::new("wbtc", "Wrapped BTC", "WBTC", 18, 21))
        .pool(PoolSpec::standard());
    let err = bad.seed(&scenario).await.unwrap_err().to_string();
    assert!(
        err.contains("pool.wbtc") && err.contains("8 decimals"),
        "{err}"
    );
    assert!(bad.deployed.is_empty());
}
