//! DePerp's state as the desk reads it from the chain, in the contracts' own units:
//! amounts in the asset's base units (USDC 6 decimals, others 18), prices as the contract
//! stores them (an integer scale shared by entry and current prices; only ratios matter),
//! funding tracers as `int256`.

use alloy::primitives::{Address, I256, U256};

/// One trader position, as `Positions.getPositions` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraderPosition {
    pub user: Address,
    /// The collateral asset (USDC): the vault this position trades against.
    pub asset: Address,
    /// DePerp's market name, e.g. "BTC-USD".
    pub market: String,
    pub is_long: bool,
    /// Notional in the asset's base units.
    pub size: U256,
    pub collateral: U256,
    /// The market's funding tracer when the position opened.
    pub funding_tracer: I256,
    /// Entry price.
    pub price: U256,
    /// When it opened (unix seconds).
    pub timestamp: U256,
}

impl TraderPosition {
    /// A stable identity: the contract has no position id, but a user cannot open two
    /// positions on one asset, market and side in the same second.
    pub fn key(&self) -> String {
        format!(
            "{}:{}:{}:{}:{}",
            // On the stack: this runs for every position on every block.
            self.user.to_checksum_buffer(None).as_str(),
            self.asset.to_checksum_buffer(None).as_str(),
            self.market,
            if self.is_long { "long" } else { "short" },
            self.timestamp
        )
    }
}

/// A market, as `TradingMarket.getMultipleMarkets` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Market {
    pub name: String,
    pub category: String,
    pub de_feed: Address,
    pub max_leverage: U256,
    pub max_price_shift: U256,
    pub fee: U256,
    pub liq_threshold: U256,
    pub funding_factor: U256,
    pub min_order_age: U256,
    pub feed_max_age: U256,
    /// The Pyth feed id of its price.
    pub pyth_feed: alloy::primitives::B256,
    pub market_live: bool,
    pub is_reduce_only: bool,
}

/// One collateral asset's vault, as the desk read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetVault {
    pub asset: Address,
    /// Decimals of the asset (6 for USDC, otherwise 18).
    pub decimals: u8,
    /// `VaultUtils.getVaultAvailable(asset)`.
    pub vault: U256,
    /// `Vault.getShieldBalance(asset)`.
    pub shield: U256,
}

/// Everything one read of DePerp yields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DePerpState {
    pub block: u64,
    pub positions: Vec<TraderPosition>,
    pub vaults: Vec<AssetVault>,
    pub markets: Vec<Market>,
    /// Current funding tracer per (asset, market).
    pub funding_tracers: Vec<(Address, String, I256)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_key_names_user_asset_market_side_and_time() {
        let p = TraderPosition {
            user: Address::repeat_byte(1),
            asset: Address::repeat_byte(2),
            market: "BTC-USD".into(),
            is_long: false,
            size: U256::from(5u8),
            collateral: U256::from(1u8),
            funding_tracer: I256::ZERO,
            price: U256::from(7u8),
            timestamp: U256::from(1_700_000_000u64),
        };
        assert!(
            p.key().ends_with(":BTC-USD:short:1700000000"),
            "{}",
            p.key()
        );
    }
}
