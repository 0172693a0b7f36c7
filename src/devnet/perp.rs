//! The perp desk's devnet contracts: our copies of DePerp's `DataRegistry`, `Positions`,
//! `Vault`, `VaultUtils`, `FundingRate` and `TradingMarket` (`contracts/DePerp.sol`),
//! deployed and wired through the registry, recorded in the store as `deperp.*`; and what
//! the demo and the tests do as DePerp itself: open, resize and close trader positions,
//! move the vault and shield balances, refresh funding, list markets.
//!
//! Every setter is the owner's: `provider`'s wallet must sign as the deployer.

use alloy::contract::RawCallBuilder;
use alloy::primitives::{Address, I256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::SolEvent;
use anyhow::Context;

use super::receipt::{deployment, mined};
use crate::chain::contracts::{
    self, DataRegistry, FundingRate, Positions, TradingMarket, Vault, VaultUtils,
};
use crate::perp::model::{Market, TraderPosition};
use crate::perp::reader::{self, keys};
use crate::store::{Deployment, Store};

/// Deployment names in the store.
pub const REGISTRY: &str = "deperp.registry";
pub const POSITIONS: &str = "deperp.positions";
pub const VAULT: &str = "deperp.vault";
pub const VAULT_UTILS: &str = "deperp.vault_utils";
pub const FUNDING_RATE: &str = "deperp.funding_rate";
pub const TRADING_MARKET: &str = "deperp.trading_market";

/// Positions per `addPositions` transaction in [`open_positions`]: about 210k gas each, so
/// a batch stays well under anvil's 30M block gas limit.
pub const POSITION_BATCH: usize = 100;

/// Where [`deploy_deperp`] put the contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DePerpContracts {
    /// `DataRegistry`: the desk finds the other five through it.
    pub registry: Address,
    pub positions: Address,
    /// `Vault`: the shield balances.
    pub vault: Address,
    /// `VaultUtils`: the vault's available balances.
    pub vault_utils: Address,
    pub funding_rate: Address,
    pub trading_market: Address,
}

/// The six contracts in [`DePerpContracts::from_addresses`] order: the deployment name in
/// the store, the artifact, and the `DataRegistry` key the desk finds it by (none for the
/// registry itself).
pub const CONTRACTS: [(&str, &str, Option<&str>); 6] = [
    (REGISTRY, "DataRegistry", None),
    (POSITIONS, "Positions", Some(keys::POSITIONS)),
    (VAULT, "Vault", Some(keys::VAULT)),
    (VAULT_UTILS, "VaultUtils", Some(keys::VAULT_UTILS)),
    (FUNDING_RATE, "FundingRate", Some(keys::FUNDING_RATE)),
    (TRADING_MARKET, "TradingMarket", Some(keys::TRADING_MARKET)),
];

impl DePerpContracts {
    /// The addresses of [`CONTRACTS`], in its order.
    pub fn from_addresses(addresses: [Address; 6]) -> DePerpContracts {
        let [
            registry,
            positions,
            vault,
            vault_utils,
            funding_rate,
            trading_market,
        ] = addresses;
        DePerpContracts {
            registry,
            positions,
            vault,
            vault_utils,
            funding_rate,
            trading_market,
        }
    }
}

/// Deploys the six contracts from `owner` (whose key `provider`'s wallet signs with),
/// points the registry's keys at the other five, and records all six in `store` under the
/// chain's id. Returns the addresses and the recorded deployments, in [`CONTRACTS`] order.
pub async fn deploy_deperp<P: Provider>(
    provider: &P,
    owner: Address,
    store: &Store,
) -> anyhow::Result<(DePerpContracts, Vec<Deployment>)> {
    let chain_id = provider.get_chain_id().await.context("eth_chainId")?;
    let mut deployments = Vec::with_capacity(CONTRACTS.len());
    for (name, artifact, _) in CONTRACTS {
        deployments.push(deploy(provider, owner, chain_id, name, artifact).await?);
    }
    let contracts =
        DePerpContracts::from_addresses(std::array::from_fn(|i| deployments[i].address));
    let registry = DataRegistry::new(contracts.registry, provider);
    for ((_, _, key), d) in CONTRACTS.iter().zip(&deployments) {
        let Some(key) = key else { continue };
        mined(
            registry.setAddress(key.to_string(), d.address).from(owner),
            &format!("DataRegistry.setAddress(\"{key}\")"),
        )
        .await?;
    }
    for d in &deployments {
        store
            .record_deployment(d.clone())
            .await
            .with_context(|| format!("recording {} in the store", d.name))?;
        tracing::info!(name = %d.name, address = %d.address, "deployed");
    }
    Ok((contracts, deployments))
}

/// Sends the deployment of `artifact` (no constructor arguments) from `owner`, and
/// describes it as `name` on `chain_id`.
async fn deploy<P: Provider>(
    provider: &P,
    owner: Address,
    chain_id: u64,
    name: &str,
    artifact: &str,
) -> anyhow::Result<Deployment> {
    let code = contracts::artifact(artifact)
        .with_context(|| format!("{artifact} is not a registered artifact"))?
        .deploy_code(&[]);
    let receipt = RawCallBuilder::new_raw_deploy(provider, code)
        .from(owner)
        .send()
        .await
        .with_context(|| format!("deploying {artifact}"))?
        .get_receipt()
        .await
        .with_context(|| format!("{artifact}'s receipt"))?;
    deployment(chain_id, name, artifact, &receipt)
}

/// The DePerp contracts recorded on `chain_id`, if all six are.
pub async fn recorded(store: &Store, chain_id: u64) -> anyhow::Result<Option<DePerpContracts>> {
    let mut found = [Address::ZERO; 6];
    for (slot, (name, _, _)) in found.iter_mut().zip(CONTRACTS) {
        match store.deployment(chain_id, name).await? {
            Some(d) => *slot = d.address,
            None => return Ok(None),
        }
    }
    Ok(Some(DePerpContracts::from_addresses(found)))
}

/// The first `E` that `contract` logged in `receipt`.
pub fn event<E: SolEvent>(receipt: &TransactionReceipt, contract: Address) -> anyhow::Result<E> {
    receipt
        .logs()
        .iter()
        .filter(|log| log.address() == contract)
        .find_map(|log| E::decode_log(&log.inner).ok())
        .map(|log| log.data)
        .with_context(|| format!("no {} event in the receipt", E::SIGNATURE))
}

/// Opens `position` for its trader; returns its index.
pub async fn open_position<P: Provider>(
    provider: &P,
    contracts: &DePerpContracts,
    position: &TraderPosition,
) -> anyhow::Result<U256> {
    let instance = Positions::new(contracts.positions, provider);
    let receipt = mined(
        instance.addPosition(position.into()),
        "Positions.addPosition",
    )
    .await?;
    Ok(event::<Positions::PositionAdded>(&receipt, contracts.positions)?.index)
}

/// Opens `positions` in order, [`POSITION_BATCH`] per transaction.
pub async fn open_positions<P: Provider>(
    provider: &P,
    contracts: &DePerpContracts,
    positions: &[TraderPosition],
) -> anyhow::Result<()> {
    let instance = Positions::new(contracts.positions, provider);
    for batch in positions.chunks(POSITION_BATCH) {
        let batch = batch.iter().map(Positions::Position::from).collect();
        mined(instance.addPositions(batch), "Positions.addPositions").await?;
    }
    Ok(())
}

/// Closes the position at `index` (the last one moves into it); returns the closed one.
pub async fn close_position<P: Provider>(
    provider: &P,
    contracts: &DePerpContracts,
    index: U256,
) -> anyhow::Result<TraderPosition> {
    let instance = Positions::new(contracts.positions, provider);
    let receipt = mined(
        instance.removePosition(index),
        &format!("Positions.removePosition({index})"),
    )
    .await?;
    let removed = event::<Positions::PositionRemoved>(&receipt, contracts.positions)?;
    Ok(removed.position.into())
}

/// The index of the open position whose [`TraderPosition::key`] is `key`, if one is open.
pub async fn position_index<P: Provider>(
    provider: &P,
    contracts: &DePerpContracts,
    key: &str,
) -> anyhow::Result<Option<U256>> {
    let block = provider
        .get_block_number()
        .await
        .context("eth_blockNumber")?;
    let positions = reader::read_positions(provider, contracts.positions, block.into()).await?;
    Ok(positions
        .iter()
        .position(|p| p.key() == key)
        .map(U256::from))
}

/// Closes the open position whose [`TraderPosition::key`] is `key`.
pub async fn close_position_by_key<P: Provider>(
    provider: &P,
    contracts: &DePerpContracts,
    key: &str,
) -> anyhow::Result<TraderPosition> {
    let index = position_index(provider, contracts, key)
        .await?
        .with_context(|| format!("no open position {key}"))?;
    close_position(provider, contracts, index).await
}

/// Sets the size and collateral of the position at `index`.
pub async fn resize_position<P: Provider>(
    provider: &P,
    contracts: &DePerpContracts,
    index: U256,
    size: U256,
    collateral: U256,
) -> anyhow::Result<()> {
    let instance = Positions::new(contracts.positions, provider);
    mined(
        instance.setPositionSize(index, size, collateral),
        &format!("Positions.setPositionSize({index})"),
    )
    .await?;
    Ok(())
}

/// Sets the vault's available balance of `asset` (base units).
pub async fn set_vault_available<P: Provider>(
    provider: &P,
    contracts: &DePerpContracts,
    asset: Address,
    amount: U256,
) -> anyhow::Result<()> {
    let instance = VaultUtils::new(contracts.vault_utils, provider);
    mined(
        instance.setVaultAvailable(asset, amount),
        "VaultUtils.setVaultAvailable",
    )
    .await?;
    Ok(())
}

/// Sets the shield balance of `asset` (base units).
pub async fn set_shield_balance<P: Provider>(
    provider: &P,
    contracts: &DePerpContracts,
    asset: Address,
    amount: U256,
) -> anyhow::Result<()> {
    let instance = Vault::new(contracts.vault, provider);
    mined(
        instance.setShieldBalance(asset, amount),
        "Vault.setShieldBalance",
    )
    .await?;
    Ok(())
}

/// Adds `increment` to the funding tracer of (`asset`, `market`); returns the new tracer.
pub async fn refresh_funding<P: Provider>(
    provider: &P,
    contracts: &DePerpContracts,
    asset: Address,
    market: &str,
    increment: I256,
) -> anyhow::Result<I256> {
    let instance = FundingRate::new(contracts.funding_rate, provider);
    let receipt = mined(
        instance.refreshFunding(asset, market.to_string(), increment),
        "FundingRate.refreshFunding",
    )
    .await?;
    Ok(event::<FundingRate::FundingRefreshed>(&receipt, contracts.funding_rate)?.fundingTracer)
}

/// Lists `market`, or replaces the market of the same name.
pub async fn set_market<P: Provider>(
    provider: &P,
    contracts: &DePerpContracts,
    market: &Market,
) -> anyhow::Result<()> {
    let instance = TradingMarket::new(contracts.trading_market, provider);
    mined(
        instance.setMarket(market.into()),
        &format!("TradingMarket.setMarket({})", market.name),
    )
    .await?;
    Ok(())
}
