//! Reads DePerp's state from the chain into [`DePerpState`]: the contracts' addresses from
//! `DataRegistry.getAddress` (cached, resolved again every [`REFRESH_BLOCKS`] blocks and
//! after a failed read), the trader positions paged through
//! `Positions.getPositions` [`PAGE_SIZE`] at a time, vault available and shield balance per
//! asset, the markets, and the funding tracer of every (asset, market) that has positions.
//!
//! Every call of one read is pinned to the same block, so a page-through never mixes two
//! states of the position array (swap-and-pop removal moves positions between pages).

use std::collections::BTreeSet;

use alloy::eips::BlockId;
use alloy::primitives::{Address, I256, U256};
use alloy::providers::Provider;
use anyhow::Context;
use futures::future::try_join_all;

use super::model::{AssetVault, DePerpState, Market, TraderPosition};
use crate::chain::contracts::{
    DataRegistry, FundingRate, Positions, TradingMarket, Vault, VaultUtils,
};

/// Positions per `getPositions` call, as DePerp's own reader pages.
pub const PAGE_SIZE: u64 = 1_000;

/// Blocks after which a [`DePerpReader`] asks the registry again, so a re-pointed key is
/// picked up even while every read succeeds.
pub const REFRESH_BLOCKS: u64 = 100;

/// The `DataRegistry` keys of the contracts the desk reads.
pub mod keys {
    pub const POSITIONS: &str = "Positions";
    pub const VAULT: &str = "Vault";
    pub const VAULT_UTILS: &str = "VaultUtils";
    pub const FUNDING_RATE: &str = "FundingRate";
    pub const TRADING_MARKET: &str = "TradingMarket";
}

/// The DePerp contracts a registry points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DePerpAddresses {
    pub positions: Address,
    pub vault: Address,
    pub vault_utils: Address,
    pub funding_rate: Address,
    pub trading_market: Address,
}

/// Reads DePerp through one registry, keeping the resolved addresses between reads.
#[derive(Debug, Clone)]
pub struct DePerpReader {
    registry: Address,
    /// The addresses and the block they were resolved at.
    resolved: Option<(DePerpAddresses, u64)>,
}

impl DePerpReader {
    pub fn new(registry: Address) -> Self {
        Self {
            registry,
            resolved: None,
        }
    }

    pub fn registry(&self) -> Address {
        self.registry
    }

    /// The addresses the last successful read resolved, if any.
    pub fn addresses(&self) -> Option<DePerpAddresses> {
        self.resolved.map(|(addresses, _)| addresses)
    }

    /// Reads everything at the latest block. `assets` are the collateral assets whose
    /// vaults are read, with their decimals.
    pub async fn read<P: Provider>(
        &mut self,
        provider: &P,
        assets: &[(Address, u8)],
    ) -> anyhow::Result<DePerpState> {
        let block = provider
            .get_block_number()
            .await
            .context("eth_blockNumber")?;
        self.read_at(provider, assets, block).await
    }

    /// Reads everything at `block`. The cached addresses are resolved afresh at `block`
    /// once it is [`REFRESH_BLOCKS`] past the block they were resolved at, and dropped on
    /// failure, so a registry that was re-pointed (or a redeployed devnet) is picked up.
    pub async fn read_at<P: Provider>(
        &mut self,
        provider: &P,
        assets: &[(Address, u8)],
        block: u64,
    ) -> anyhow::Result<DePerpState> {
        let result = async {
            let addresses = match self.resolved {
                Some((addresses, at)) if block.saturating_sub(at) < REFRESH_BLOCKS => addresses,
                _ => {
                    let addresses =
                        resolve_addresses(provider, self.registry, BlockId::number(block)).await?;
                    self.resolved = Some((addresses, block));
                    addresses
                }
            };
            read_with(provider, &addresses, assets, block).await
        }
        .await;
        if result.is_err() {
            self.resolved = None;
        }
        result
    }
}

/// One read of DePerp through `registry` at the latest block (see [`DePerpReader`] to keep
/// the resolved addresses between reads).
pub async fn read_state<P: Provider>(
    provider: &P,
    registry: Address,
    assets: &[(Address, u8)],
) -> anyhow::Result<DePerpState> {
    DePerpReader::new(registry).read(provider, assets).await
}

/// The five contracts `registry` names at `at`; an unset key is an error.
pub async fn resolve_addresses<P: Provider>(
    provider: &P,
    registry: Address,
    at: BlockId,
) -> anyhow::Result<DePerpAddresses> {
    let instance = DataRegistry::new(registry, provider);
    let lookup = |key: &'static str| {
        let call = instance.getAddress(key.to_string()).block(at);
        async move {
            let address = call
                .call()
                .await
                .with_context(|| format!("DataRegistry {registry}: getAddress(\"{key}\")"))?;
            anyhow::ensure!(
                !address.is_zero(),
                "DataRegistry {registry} has no address for \"{key}\""
            );
            Ok(address)
        }
    };
    let (positions, vault, vault_utils, funding_rate, trading_market) = futures::try_join!(
        lookup(keys::POSITIONS),
        lookup(keys::VAULT),
        lookup(keys::VAULT_UTILS),
        lookup(keys::FUNDING_RATE),
        lookup(keys::TRADING_MARKET),
    )?;
    Ok(DePerpAddresses {
        positions,
        vault,
        vault_utils,
        funding_rate,
        trading_market,
    })
}

/// `(offset, length)` of each `getPositions` call that reads `count` positions.
pub fn pages(count: u64) -> impl Iterator<Item = (u64, u64)> {
    (0..count.div_ceil(PAGE_SIZE)).map(move |page| {
        let offset = page * PAGE_SIZE;
        (offset, PAGE_SIZE.min(count - offset))
    })
}

async fn read_with<P: Provider>(
    provider: &P,
    addresses: &DePerpAddresses,
    assets: &[(Address, u8)],
    block: u64,
) -> anyhow::Result<DePerpState> {
    let at = BlockId::number(block);
    // Only the funding tracers wait for the positions (they are read for the positions'
    // pairs); the vaults and markets are read meanwhile.
    let positions_and_funding = async {
        let positions = read_positions(provider, addresses.positions, at).await?;
        let funding_tracers = {
            let pairs: BTreeSet<(Address, &str)> = positions
                .iter()
                .map(|p| (p.asset, p.market.as_str()))
                .collect();
            read_funding_tracers(provider, addresses.funding_rate, &pairs, at).await?
        };
        Ok::<_, anyhow::Error>((positions, funding_tracers))
    };
    let ((positions, funding_tracers), vaults, markets) = tokio::try_join!(
        positions_and_funding,
        read_vaults(provider, addresses, assets, at),
        read_markets(provider, addresses.trading_market, at),
    )?;
    Ok(DePerpState {
        block,
        positions,
        vaults,
        markets,
        funding_tracers,
    })
}

/// Every position, in the contract's order.
pub async fn read_positions<P: Provider>(
    provider: &P,
    contract: Address,
    at: BlockId,
) -> anyhow::Result<Vec<TraderPosition>> {
    let instance = Positions::new(contract, provider);
    let count = instance
        .getPositionCount()
        .block(at)
        .call()
        .await
        .with_context(|| format!("Positions {contract}: getPositionCount"))?;
    let count = u64::try_from(count).ok().with_context(|| {
        format!("Positions {contract}: count {count} is not a number of positions")
    })?;
    let calls = pages(count).map(|(offset, length)| {
        let call = instance
            .getPositions(U256::from(length), U256::from(offset))
            .block(at);
        async move {
            let page = call.call().await.with_context(|| {
                format!("Positions {contract}: getPositions({length}, {offset})")
            })?;
            anyhow::ensure!(
                page.len() as u64 == length,
                "Positions {contract}: getPositions({length}, {offset}) returned {} positions",
                page.len()
            );
            Ok(page)
        }
    });
    let pages = try_join_all(calls).await?;
    Ok(pages
        .into_iter()
        .flatten()
        .map(TraderPosition::from)
        .collect())
}

async fn read_vaults<P: Provider>(
    provider: &P,
    addresses: &DePerpAddresses,
    assets: &[(Address, u8)],
    at: BlockId,
) -> anyhow::Result<Vec<AssetVault>> {
    let vault_utils = VaultUtils::new(addresses.vault_utils, provider);
    let shield = Vault::new(addresses.vault, provider);
    let reads = assets.iter().map(|&(asset, decimals)| {
        let available = vault_utils.getVaultAvailable(asset).block(at);
        let shield = shield.getShieldBalance(asset).block(at);
        async move {
            let (vault, shield) = futures::try_join!(
                async {
                    available.call().await.with_context(|| {
                        format!(
                            "VaultUtils {}: getVaultAvailable({asset})",
                            addresses.vault_utils
                        )
                    })
                },
                async {
                    shield.call().await.with_context(|| {
                        format!("Vault {}: getShieldBalance({asset})", addresses.vault)
                    })
                },
            )?;
            Ok::<_, anyhow::Error>(AssetVault {
                asset,
                decimals,
                vault,
                shield,
            })
        }
    });
    try_join_all(reads).await
}

/// Every listed market, in the contract's list order.
pub async fn read_markets<P: Provider>(
    provider: &P,
    contract: Address,
    at: BlockId,
) -> anyhow::Result<Vec<Market>> {
    let instance = TradingMarket::new(contract, provider);
    let names = instance
        .getMarketList()
        .block(at)
        .call()
        .await
        .with_context(|| format!("TradingMarket {contract}: getMarketList"))?;
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let count = names.len();
    let markets = instance
        .getMultipleMarkets(names)
        .block(at)
        .call()
        .await
        .with_context(|| format!("TradingMarket {contract}: getMultipleMarkets"))?;
    anyhow::ensure!(
        markets.len() == count,
        "TradingMarket {contract}: {} markets for {count} names",
        markets.len(),
    );
    Ok(markets.into_iter().map(Market::from).collect())
}

/// The tracers of `pairs`, in their (sorted) order.
pub async fn read_funding_tracers<P: Provider>(
    provider: &P,
    contract: Address,
    pairs: &BTreeSet<(Address, &str)>,
    at: BlockId,
) -> anyhow::Result<Vec<(Address, String, I256)>> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let (assets, markets): (Vec<Address>, Vec<String>) = pairs
        .iter()
        .map(|&(asset, market)| (asset, market.to_string()))
        .unzip();
    let tracers = FundingRate::new(contract, provider)
        .getFundingTracers(assets, markets)
        .block(at)
        .call()
        .await
        .with_context(|| format!("FundingRate {contract}: getFundingTracers"))?;
    anyhow::ensure!(
        tracers.len() == pairs.len(),
        "FundingRate {contract}: {} tracers for {} pairs",
        tracers.len(),
        pairs.len()
    );
    Ok(pairs
        .iter()
        .zip(tracers)
        .map(|(&(asset, market), tracer)| (asset, market.to_string(), tracer))
        .collect())
}

impl From<Positions::Position> for TraderPosition {
    fn from(p: Positions::Position) -> Self {
        Self {
            user: p.user,
            asset: p.asset,
            market: p.market,
            is_long: p.isLong,
            size: p.size,
            collateral: p.collateral,
            funding_tracer: p.fundingTracer,
            price: p.price,
            timestamp: p.timestamp,
        }
    }
}

impl From<&TraderPosition> for Positions::Position {
    fn from(p: &TraderPosition) -> Self {
        Self {
            user: p.user,
            asset: p.asset,
            market: p.market.clone(),
            isLong: p.is_long,
            size: p.size,
            collateral: p.collateral,
            fundingTracer: p.funding_tracer,
            price: p.price,
            timestamp: p.timestamp,
        }
    }
}

impl From<TradingMarket::Market> for Market {
    fn from(m: TradingMarket::Market) -> Self {
        Self {
            name: m.name,
            category: m.category,
            de_feed: m.deFeed,
            max_leverage: m.maxLeverage,
            max_price_shift: m.maxPriceShift,
            fee: m.fee,
            liq_threshold: m.liqThreshold,
            funding_factor: m.fundingFactor,
            min_order_age: m.minOrderAge,
            feed_max_age: m.feedMaxAge,
            pyth_feed: m.pythFeed,
            market_live: m.marketLive,
            is_reduce_only: m.isReduceOnly,
        }
    }
}

impl From<&Market> for TradingMarket::Market {
    fn from(m: &Market) -> Self {
        Self {
            name: m.name.clone(),
            category: m.category.clone(),
            deFeed: m.de_feed,
            maxLeverage: m.max_leverage,
            maxPriceShift: m.max_price_shift,
            fee: m.fee,
            liqThreshold: m.liq_threshold,
            fundingFactor: m.funding_factor,
            minOrderAge: m.min_order_age,
            feedMaxAge: m.feed_max_age,
            pythFeed: m.pyth_feed,
            marketLive: m.market_live,
            isReduceOnly: m.is_reduce_only,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_the_count_a_thousand_at_a_time() {
        assert_eq!(pages(0).count(), 0);
        assert_eq!(pages(1).collect::<Vec<_>>(), [(0, 1)]);
        assert_eq!(pages(1_000).collect::<Vec<_>>(), [(0, 1_000)]);
        assert_eq!(
            pages(2_503).collect::<Vec<_>>(),
            [(0, 1_000), (1_000, 1_000), (2_000, 503)]
        );
    }
}
