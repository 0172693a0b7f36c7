//! The pool desk's devnet contract: the `LiquidityVault` (`contracts/LiquidityVault.sol`,
//! BitHedge's `liquidity-pool.clar` on EVM), deployed with its WBTC token set and recorded
//! in the store as `pool.vault`; and what the demo and the tests do as the providers and as
//! the backend: deposit ETH or WBTC (with the ERC-20 approval), approve a provider's
//! withdrawal and withdraw it, lock and release policy collateral, settle a policy, read the
//! totals.
//!
//! A token is named by its address, as the vault does: [`ETH`] (`Address::ZERO`) or the
//! WBTC token's address. Amounts are base units (wei, sats). Every send is simulated first
//! ([`mined`]), so a revert is an error naming what was attempted and sends nothing.

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionReceipt;
use anyhow::Context;

use super::receipt::{deployment, mined};
use crate::chain::contracts::LiquidityVault::{self, LiquidityVaultErrors};
use crate::chain::contracts::TestToken;
use crate::store::{Deployment, Store};

/// The vault's deployment name in the store.
pub const VAULT: &str = "pool.vault";

/// The vault's token argument for native ETH.
pub const ETH: Address = Address::ZERO;

/// The vault's error codes (`PoolError(code)`), the spec's `(err uint)` values.
pub mod codes {
    pub const NOT_AUTHORIZED: u16 = 200;
    pub const INSUFFICIENT_BALANCE: u16 = 201;
    pub const INVALID_TOKEN: u16 = 202;
    pub const TRANSFER_FAILED: u16 = 203;
    pub const ALREADY_INITIALIZED: u16 = 204;
    pub const LOCK_EXCEEDS_AVAILABLE: u16 = 205;
    pub const UNLOCK_EXCEEDS_LOCKED: u16 = 206;

    /// The spec's name of `code` (`ERR-NOT-AUTHORIZED` is `"NOT_AUTHORIZED"`), if it is one.
    pub fn name(code: u16) -> Option<&'static str> {
        Some(match code {
            NOT_AUTHORIZED => "NOT_AUTHORIZED",
            INSUFFICIENT_BALANCE => "INSUFFICIENT_BALANCE",
            INVALID_TOKEN => "INVALID_TOKEN",
            TRANSFER_FAILED => "TRANSFER_FAILED",
            ALREADY_INITIALIZED => "ALREADY_INITIALIZED",
            LOCK_EXCEEDS_AVAILABLE => "LOCK_EXCEEDS_AVAILABLE",
            UNLOCK_EXCEEDS_LOCKED => "UNLOCK_EXCEEDS_LOCKED",
            _ => return None,
        })
    }
}

/// What a vault call reverted with, decoded: `PoolError(code)` or `Reentrant()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VaultRevert {
    Pool(u16),
    Reentrant,
}

impl std::fmt::Display for VaultRevert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VaultRevert::Pool(code) => match codes::name(*code) {
                Some(name) => write!(f, "{name} ({code})"),
                None => write!(f, "pool error {code}"),
            },
            VaultRevert::Reentrant => f.write_str("reentrant call"),
        }
    }
}

/// The vault's revert in `err`, if `err` is one (a code that does not fit `u16` is not).
pub fn vault_revert(err: &alloy::contract::Error) -> Option<VaultRevert> {
    match err.as_decoded_interface_error::<LiquidityVaultErrors>()? {
        LiquidityVaultErrors::PoolError(e) => u16::try_from(e.code).ok().map(VaultRevert::Pool),
        LiquidityVaultErrors::Reentrant(_) => Some(VaultRevert::Reentrant),
    }
}

/// One token's totals in the vault, read at one block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VaultTotals {
    /// `totalBalance(token)`: everything deposited and not yet withdrawn or paid out.
    pub total: U256,
    /// `totalLocked(token)`: locked for policies.
    pub locked: U256,
    /// `availableBalance(token)`: `total - locked`.
    pub available: U256,
}

/// Deploys a `LiquidityVault` from `owner` (whose key `provider`'s wallet signs with; it
/// becomes the admin and the backend principal), sets its WBTC token to `wbtc` (an 8-decimal
/// ERC-20), and records it in `store` as [`VAULT`] under the chain's id. Returns the
/// vault's address and the recorded deployment.
pub async fn deploy_vault<P: Provider>(
    provider: &P,
    owner: Address,
    store: &Store,
    wbtc: Address,
) -> anyhow::Result<(Address, Deployment)> {
    let chain_id = provider.get_chain_id().await.context("eth_chainId")?;
    let receipt = LiquidityVault::deploy_builder(provider)
        .from(owner)
        .send()
        .await
        .context("deploying LiquidityVault")?
        .get_receipt()
        .await
        .context("LiquidityVault's receipt")?;
    let d = deployment(chain_id, VAULT, "LiquidityVault", &receipt)?;
    let vault = LiquidityVault::new(d.address, provider);
    mined(
        vault.setWbtcToken(wbtc).from(owner),
        "LiquidityVault.setWbtcToken",
    )
    .await?;
    let backend = vault
        .getBackendPrincipal()
        .call()
        .await
        .context("LiquidityVault.getBackendPrincipal")?;
    anyhow::ensure!(
        backend == owner,
        "LiquidityVault: the backend principal is {backend}, not the deployer {owner}"
    );
    store
        .record_deployment(d.clone())
        .await
        .with_context(|| format!("recording {VAULT} in the store"))?;
    tracing::info!(name = %d.name, address = %d.address, "deployed");
    Ok((d.address, d))
}

/// The vault recorded on `chain_id`, if there is one.
pub async fn recorded(store: &Store, chain_id: u64) -> anyhow::Result<Option<Address>> {
    Ok(store.deployment(chain_id, VAULT).await?.map(|d| d.address))
}

/// The admin (`admin`'s wallet) makes `backend` the backend principal.
pub async fn set_backend<P: Provider>(
    admin: &P,
    vault: Address,
    backend: Address,
) -> anyhow::Result<TransactionReceipt> {
    mined(
        LiquidityVault::new(vault, admin).setBackendPrincipal(backend),
        "LiquidityVault.setBackendPrincipal",
    )
    .await
}

/// `token`'s totals at the head block.
pub async fn totals<P: Provider>(
    provider: &P,
    vault: Address,
    token: Address,
) -> anyhow::Result<VaultTotals> {
    let block = provider
        .get_block_number()
        .await
        .context("eth_blockNumber")?;
    let v = LiquidityVault::new(vault, provider);
    let what = |f: &str| format!("LiquidityVault.{f}({token}) at block {block}");
    Ok(VaultTotals {
        total: v
            .totalBalance(token)
            .block(block.into())
            .call()
            .await
            .with_context(|| what("totalBalance"))?,
        locked: v
            .totalLocked(token)
            .block(block.into())
            .call()
            .await
            .with_context(|| what("totalLocked"))?,
        available: v
            .availableBalance(token)
            .block(block.into())
            .call()
            .await
            .with_context(|| what("availableBalance"))?,
    })
}

/// The depositor (`wallet`'s account) deposits `amount` wei.
pub async fn deposit_eth<P: Provider>(
    wallet: &P,
    vault: Address,
    amount: U256,
) -> anyhow::Result<TransactionReceipt> {
    mined(
        LiquidityVault::new(vault, wallet)
            .depositFunds(amount, ETH)
            .value(amount),
        "LiquidityVault.depositFunds(ETH)",
    )
    .await
}

/// The depositor (`wallet`'s account) approves the vault for exactly `amount` sats of
/// `wbtc` and deposits them.
pub async fn deposit_wbtc<P: Provider>(
    wallet: &P,
    vault: Address,
    wbtc: Address,
    amount: U256,
) -> anyhow::Result<TransactionReceipt> {
    mined(
        TestToken::new(wbtc, wallet).approve(vault, amount),
        "approving the vault for WBTC",
    )
    .await?;
    mined(
        LiquidityVault::new(vault, wallet).depositFunds(amount, wbtc),
        "LiquidityVault.depositFunds(WBTC)",
    )
    .await
}

/// [`deposit_eth`] when `token` is [`ETH`], else [`deposit_wbtc`] of `token`.
pub async fn deposit<P: Provider>(
    wallet: &P,
    vault: Address,
    token: Address,
    amount: U256,
) -> anyhow::Result<TransactionReceipt> {
    if token == ETH {
        deposit_eth(wallet, vault, amount).await
    } else {
        deposit_wbtc(wallet, vault, token, amount).await
    }
}

/// The backend (`backend`'s wallet) sets what the provider `who` may withdraw of `token` to
/// `amount`, as the desk does after checking `who`'s maximum off chain: the approval is
/// replaced, not added to (0 revokes it), and each [`withdraw`] by `who` spends its amount of
/// it.
pub async fn approve_withdrawal<P: Provider>(
    backend: &P,
    vault: Address,
    who: Address,
    amount: U256,
    token: Address,
) -> anyhow::Result<TransactionReceipt> {
    mined(
        LiquidityVault::new(vault, backend).approveWithdrawal(who, amount, token),
        "LiquidityVault.approveWithdrawal",
    )
    .await
}

/// What the provider `who` may still withdraw of `token` (`withdrawalAllowance`).
pub async fn withdrawal_allowance<P: Provider>(
    provider: &P,
    vault: Address,
    who: Address,
    token: Address,
) -> anyhow::Result<U256> {
    LiquidityVault::new(vault, provider)
        .withdrawalAllowance(who, token)
        .call()
        .await
        .with_context(|| format!("LiquidityVault.withdrawalAllowance({who}, {token})"))
}

/// `wallet`'s account withdraws `amount` of `token` to itself. The backend must have
/// approved it first ([`approve_withdrawal`] for at least `amount` of `token`, which this
/// spends); without that the vault reverts `NOT_AUTHORIZED` (200) and nothing is sent.
pub async fn withdraw<P: Provider>(
    wallet: &P,
    vault: Address,
    amount: U256,
    token: Address,
) -> anyhow::Result<TransactionReceipt> {
    mined(
        LiquidityVault::new(vault, wallet).withdrawFunds(amount, token),
        "LiquidityVault.withdrawFunds",
    )
    .await
}

fn policy_ids(ids: &[u64]) -> Vec<U256> {
    ids.iter().map(|&id| U256::from(id)).collect()
}

/// The backend (`backend`'s wallet) locks `amount` of `token` for `policies`.
pub async fn lock<P: Provider>(
    backend: &P,
    vault: Address,
    policies: &[u64],
    amount: U256,
    token: Address,
) -> anyhow::Result<TransactionReceipt> {
    mined(
        LiquidityVault::new(vault, backend).lockCollateralAggregate(
            policy_ids(policies),
            amount,
            token,
        ),
        "LiquidityVault.lockCollateralAggregate",
    )
    .await
}

/// The backend releases `amount` of `token` locked for `policies`.
pub async fn release<P: Provider>(
    backend: &P,
    vault: Address,
    policies: &[u64],
    amount: U256,
    token: Address,
) -> anyhow::Result<TransactionReceipt> {
    mined(
        LiquidityVault::new(vault, backend).releaseCollateralAggregate(
            policy_ids(policies),
            amount,
            token,
        ),
        "LiquidityVault.releaseCollateralAggregate",
    )
    .await
}

/// The backend pays policy `policy`'s settlement of `amount` of `token` to `buyer`.
pub async fn settle<P: Provider>(
    backend: &P,
    vault: Address,
    policy: u64,
    buyer: Address,
    amount: U256,
    token: Address,
) -> anyhow::Result<TransactionReceipt> {
    mined(
        LiquidityVault::new(vault, backend).settlePolicy(U256::from(policy), buyer, amount, token),
        "LiquidityVault.settlePolicy",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_named_as_in_the_spec() {
        let named: Vec<_> = (199..=207).map(codes::name).collect();
        assert_eq!(
            named,
            [
                None,
                Some("NOT_AUTHORIZED"),
                Some("INSUFFICIENT_BALANCE"),
                Some("INVALID_TOKEN"),
                Some("TRANSFER_FAILED"),
                Some("ALREADY_INITIALIZED"),
                Some("LOCK_EXCEEDS_AVAILABLE"),
                Some("UNLOCK_EXCEEDS_LOCKED"),
                None,
            ]
        );
        assert_eq!(
            VaultRevert::Pool(codes::LOCK_EXCEEDS_AVAILABLE).to_string(),
            "LOCK_EXCEEDS_AVAILABLE (205)"
        );
        assert_eq!(VaultRevert::Pool(7).to_string(), "pool error 7");
    }
}
