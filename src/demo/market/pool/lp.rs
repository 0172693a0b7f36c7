//! The liquidity providers as the pool actor plays them: their keys, their funding, their
//! deposits (prepared in the store as `hedgedesk pool deposit` does, then signed exactly as
//! [`deposit_transactions`] lays them out), and their withdrawals once the operator has
//! approved them on chain.

use std::time::Duration;

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, U256, keccak256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;

use super::super::MarketContext;
use super::plan::{Account, ETH};
use crate::chain::contracts::TestToken;
use crate::devnet::pool as vault_calls;
use crate::pool::deposit::{PreparedTx, VaultTarget, deposit_transactions};
use crate::pool::model::{Token, Units};
use crate::store::pool::{DepositPrepared, Withdrawal, WithdrawalStatus};

/// Gas money a derived provider is sent on top of its ETH deposits.
const GAS_MONEY: Units = ETH;

/// A provider (or buyer) key the actor derives: the same on every run, devnet only.
pub fn derived_key(role: &str, n: u8) -> anyhow::Result<PrivateKeySigner> {
    let secret = keccak256(format!("hedgedesk demo pool {role} {n}"));
    PrivateKeySigner::from_bytes(&secret).context("deriving a demo key")
}

/// A provider: its key and the tier its capital sits in.
#[derive(Clone)]
pub struct Lp {
    pub account: Account,
    pub key: PrivateKeySigner,
    pub tier: String,
}

impl Lp {
    pub fn address(&self) -> Address {
        self.key.address()
    }

    /// A fresh signing provider (alloy's nonce cache would go stale across providers).
    pub fn wallet(&self, ctx: &MarketContext) -> anyhow::Result<DynProvider> {
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(self.key.clone()))
            .connect_http(ctx.rpc_url.parse().context("anvil's URL")?);
        provider
            .client()
            .set_poll_interval(Duration::from_millis(50));
        Ok(provider.erased())
    }
}

/// Where deposits go.
pub fn target(ctx: &MarketContext) -> anyhow::Result<VaultTarget> {
    Ok(VaultTarget {
        chain_id: ctx.chain_id,
        vault: ctx.deployed(vault_calls::VAULT)?,
        wbtc: ctx.deployed("token.wbtc")?,
    })
}

/// Sends `amount` wei from `from` to a derived provider (its ETH deposits and gas).
pub async fn fund_eth(
    ctx: &MarketContext,
    from: &Lp,
    to: Address,
    amount: Units,
) -> anyhow::Result<()> {
    let wallet = from.wallet(ctx)?;
    let receipt = wallet
        .send_transaction(
            TransactionRequest::default()
                .with_to(to)
                .with_value(U256::from(amount.saturating_add(GAS_MONEY))),
        )
        .await
        .context("funding a demo provider")?
        .get_receipt()
        .await
        .context("funding a demo provider: receipt")?;
    anyhow::ensure!(receipt.status(), "funding a demo provider: reverted");
    Ok(())
}

/// Mints what `lp` lacks of `amount` WBTC (as the owner of the test token).
async fn ensure_wbtc(ctx: &MarketContext, lp: &Lp, amount: Units) -> anyhow::Result<()> {
    let wbtc = ctx.deployed("token.wbtc")?;
    let held = TestToken::new(wbtc, lp.wallet(ctx)?)
        .balanceOf(lp.address())
        .call()
        .await
        .context("WBTC balanceOf")?;
    let need = U256::from(amount);
    if held < need {
        ctx.mint("token.wbtc", lp.address(), need - held).await?;
    }
    Ok(())
}

/// `lp` deposits `amount` of `token`: the store prepares it (registering the provider in
/// its tier and checking the tier's capacity), then the provider signs and sends each
/// prepared transaction in order. `Ok(false)`: the store refused it (nothing sent).
pub async fn deposit(
    ctx: &MarketContext,
    lp: &Lp,
    default_tier: &str,
    token: Token,
    amount: Units,
) -> anyhow::Result<bool> {
    let now = chrono::Utc::now().timestamp_millis();
    let prepared = ctx
        .store
        .pool_prepare_deposit(
            lp.address(),
            Some(lp.tier.clone()),
            default_tier.to_string(),
            token,
            amount,
            now,
        )
        .await?;
    if let DepositPrepared::Refused(why) = prepared {
        tracing::info!(actor = "pool", provider = %lp.address(), reason = %why, "demo market: deposit refused");
        return Ok(false);
    }
    if token == Token::Wbtc {
        ensure_wbtc(ctx, lp, amount).await?;
    }
    let wallet = lp.wallet(ctx)?;
    for tx in deposit_transactions(target(ctx)?, lp.address(), token, amount) {
        sign_and_send(&wallet, &tx).await?;
    }
    tracing::info!(
        actor = "pool",
        provider = %lp.address(),
        tier = %lp.tier,
        amount = %format!("{} {token}", token.format_units(amount)),
        t = ctx.elapsed().as_secs(),
        "demo market: provider deposited"
    );
    Ok(true)
}

/// Sends one prepared transaction as it is, simulated first (a revert sends nothing).
async fn sign_and_send(wallet: &DynProvider, tx: &PreparedTx) -> anyhow::Result<()> {
    let request = TransactionRequest::default()
        .with_from(tx.from)
        .with_to(tx.to)
        .with_value(tx.value)
        .with_input(tx.data.clone())
        .with_chain_id(tx.chain_id);
    wallet
        .call(request.clone())
        .await
        .with_context(|| format!("{}: the call reverts", tx.step))?;
    let receipt = wallet
        .send_transaction(request)
        .await
        .with_context(|| tx.step.clone())?
        .get_receipt()
        .await
        .with_context(|| format!("{}: receipt", tx.step))?;
    anyhow::ensure!(receipt.status(), "{}: reverted", tx.step);
    Ok(())
}

/// The vault's token argument for `token`.
fn token_address(token: Token, wbtc: Address) -> Address {
    match token {
        Token::Eth => vault_calls::ETH,
        Token::Wbtc => wbtc,
    }
}

/// Withdraws every open request of these providers that the operator has approved on chain
/// (the Vault's allowance covers it); the books follow the Vault's event.
pub async fn withdraw_approved(ctx: &MarketContext, lps: &[Lp]) -> anyhow::Result<()> {
    let open: Vec<Withdrawal> = ctx.store.pool_withdrawals(true, 100).await?;
    let target = target(ctx)?;
    for w in open
        .iter()
        .filter(|w| w.status == WithdrawalStatus::Requested)
    {
        let Some(lp) = lps.iter().find(|lp| lp.address() == w.provider) else {
            continue;
        };
        let wallet = lp.wallet(ctx)?;
        let token = token_address(w.token, target.wbtc);
        let allowance =
            vault_calls::withdrawal_allowance(&wallet, target.vault, w.provider, token).await?;
        if allowance < U256::from(w.amount) {
            continue;
        }
        vault_calls::withdraw(&wallet, target.vault, U256::from(w.amount), token).await?;
        tracing::info!(
            actor = "pool",
            provider = %w.provider,
            withdrawal = w.id,
            amount = %format!("{} {}", w.token.format_units(w.amount), w.token),
            t = ctx.elapsed().as_secs(),
            "demo market: provider withdrew what the operator approved"
        );
    }
    Ok(())
}
