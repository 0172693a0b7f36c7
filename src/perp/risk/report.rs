//! Risk over a whole read of DePerp: every position against its asset's vault and shield
//! (as the reference module evaluates), and every asset against the sum of its positions'
//! PnL (what the pane's gauges show). A position that cannot be valued says why instead of
//! looking safe.

use std::collections::HashMap;

use alloy::primitives::{Address, I256, U256};

use super::{Pnl, RiskError, RiskFactors, RiskFlags, evaluate_flags, position_pnl};
use crate::perp::model::{AssetVault, DePerpState, TraderPosition};

/// One position valued at a current price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionRisk {
    /// The current price it was valued at (the entry price's scale).
    pub price: U256,
    pub pnl: Pnl,
    /// Its own PnL against its asset's vault and shield.
    pub flags: RiskFlags,
}

/// Why a position has (or has no) flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PositionStatus {
    Evaluated(Box<PositionRisk>),
    /// Its market has no current price.
    NoPrice,
    /// No current funding tracer was read for its (asset, market).
    NoFundingTracer,
    /// No vault was read for its asset.
    NoVault,
    /// Its numbers do not compute (zero entry price, overflow).
    Failed(RiskError),
}

impl PositionStatus {
    /// `evaluated`, `no price`, `no funding tracer`, `no vault`, `failed`.
    pub fn label(&self) -> &'static str {
        match self {
            PositionStatus::Evaluated(_) => "evaluated",
            PositionStatus::NoPrice => "no price",
            PositionStatus::NoFundingTracer => "no funding tracer",
            PositionStatus::NoVault => "no vault",
            PositionStatus::Failed(_) => "failed",
        }
    }

    pub fn risk(&self) -> Option<&PositionRisk> {
        match self {
            PositionStatus::Evaluated(risk) => Some(risk.as_ref()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionRow {
    /// [`TraderPosition::key`].
    pub key: String,
    pub position: TraderPosition,
    /// Its asset's decimals, when its vault was read.
    pub decimals: Option<u8>,
    pub status: PositionStatus,
}

impl PositionRow {
    /// Whether any flag is set; `None` when the position could not be evaluated.
    pub fn any_flag(&self) -> Option<bool> {
        self.status.risk().map(|r| r.flags.any())
    }
}

/// One asset's vault against the summed PnL of its evaluated positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRisk {
    pub total_pnl: I256,
    pub flags: RiskFlags,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRow {
    pub vault: AssetVault,
    /// Positions on this asset.
    pub positions: usize,
    /// Of those, how many are not in `total_pnl` (no price, no tracer, failed): when above
    /// zero the flags are over a partial sum and the pane must say so.
    pub unevaluated: usize,
    pub status: Result<AssetRisk, RiskError>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RiskReport {
    /// The block the state was read at.
    pub block: u64,
    /// In the state's order.
    pub positions: Vec<PositionRow>,
    /// In the state's vault order.
    pub assets: Vec<AssetRow>,
}

/// One position at `price` with the current funding tracer, against its asset's vault.
pub fn evaluate_position(
    position: &TraderPosition,
    vault: &AssetVault,
    price: U256,
    tracer_now: I256,
    factors: &RiskFactors,
) -> Result<PositionRisk, RiskError> {
    let pnl = position_pnl(position, price, tracer_now)?;
    let flags = evaluate_flags(
        vault.vault,
        vault.shield,
        pnl.total,
        vault.decimals,
        factors,
    )?;
    Ok(PositionRisk { price, pnl, flags })
}

/// An asset's vault against the sum of `pnls` (its positions' total PnL).
pub fn evaluate_asset(
    vault: &AssetVault,
    pnls: impl IntoIterator<Item = I256>,
    factors: &RiskFactors,
) -> Result<AssetRisk, RiskError> {
    let total_pnl = pnls
        .into_iter()
        .try_fold(I256::ZERO, |sum, pnl| sum.checked_add(pnl))
        .ok_or(RiskError::Overflow { field: "total_pnl" })?;
    let flags = evaluate_flags(
        vault.vault,
        vault.shield,
        total_pnl,
        vault.decimals,
        factors,
    )?;
    Ok(AssetRisk { total_pnl, flags })
}

/// Every position and every asset of `state`, with current prices by market name.
pub fn evaluate(
    state: &DePerpState,
    prices: &impl Fn(&str) -> Option<U256>,
    factors: &RiskFactors,
) -> RiskReport {
    let vault_of = |asset: Address| state.vaults.iter().find(|v| v.asset == asset);
    // The first tracer of each pair wins, as a scan would find it.
    let mut tracers: HashMap<(Address, &str), I256> = HashMap::new();
    for (asset, market, tracer) in &state.funding_tracers {
        tracers.entry((*asset, market.as_str())).or_insert(*tracer);
    }

    let positions: Vec<PositionRow> = state
        .positions
        .iter()
        .map(|position| {
            let vault = vault_of(position.asset);
            let status = match (
                prices(&position.market),
                tracers
                    .get(&(position.asset, position.market.as_str()))
                    .copied(),
                vault,
            ) {
                (None, _, _) => PositionStatus::NoPrice,
                (_, None, _) => PositionStatus::NoFundingTracer,
                (_, _, None) => PositionStatus::NoVault,
                (Some(price), Some(tracer), Some(vault)) => {
                    match evaluate_position(position, vault, price, tracer, factors) {
                        Ok(risk) => PositionStatus::Evaluated(Box::new(risk)),
                        Err(e) => PositionStatus::Failed(e),
                    }
                }
            };
            PositionRow {
                key: position.key(),
                position: position.clone(),
                decimals: vault.map(|v| v.decimals),
                status,
            }
        })
        .collect();

    let assets = state
        .vaults
        .iter()
        .map(|vault| {
            let rows = positions.iter().filter(|r| r.position.asset == vault.asset);
            let pnls: Vec<I256> = rows
                .clone()
                .filter_map(|r| r.status.risk().map(|risk| risk.pnl.total))
                .collect();
            let count = rows.count();
            AssetRow {
                vault: vault.clone(),
                positions: count,
                unevaluated: count - pnls.len(),
                status: evaluate_asset(vault, pnls, factors),
            }
        })
        .collect();

    RiskReport {
        block: state.block,
        positions,
        assets,
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::address;

    use super::*;
    use crate::perp::risk::FlagKind;

    const USDC: u64 = 1_000_000;
    const ASSET: Address = address!("833589fCD6eDb6E08f4c7C32D4f71b54bdA02913");

    fn position(market: &str, is_long: bool, size_usdc: u64, entry: u64) -> TraderPosition {
        TraderPosition {
            user: address!("00000000000000000000000000000000000000aa"),
            asset: ASSET,
            market: market.into(),
            is_long,
            size: U256::from(size_usdc * USDC),
            collateral: U256::from(size_usdc * USDC / 10),
            funding_tracer: I256::ZERO,
            price: U256::from(entry),
            timestamp: U256::from(1_700_000_000u64),
        }
    }

    fn state(positions: Vec<TraderPosition>) -> DePerpState {
        DePerpState {
            block: 42,
            positions,
            vaults: vec![AssetVault {
                asset: ASSET,
                decimals: 6,
                vault: U256::from(1_000_000 * USDC),
                shield: U256::from(50_000 * USDC),
            }],
            markets: vec![],
            funding_tracers: vec![
                (ASSET, "BTC-USD".into(), I256::ZERO),
                (ASSET, "ETH-USD".into(), I256::ZERO),
                (ASSET, "SOL-USD".into(), I256::ZERO),
            ],
        }
    }

    fn prices(market: &str) -> Option<U256> {
        match market {
            "BTC-USD" => Some(U256::from(66_000u64)),
            "ETH-USD" => Some(U256::from(3_000u64)),
            _ => None,
        }
    }

    #[test]
    fn positions_are_flagged_alone_and_assets_on_the_sum() {
        // BTC long 400,000 from 60,000 at 66,000: +40,000 (below the 50,000 shield);
        // ETH long 200,000 from 2,500 at 3,000: +40,000. Together +80,000.
        let report = evaluate(
            &state(vec![
                position("BTC-USD", true, 400_000, 60_000),
                position("ETH-USD", true, 200_000, 2_500),
            ]),
            &prices,
            &RiskFactors::default(),
        );
        assert_eq!(report.block, 42);
        for row in &report.positions {
            let risk = row.status.risk().unwrap();
            assert_eq!(risk.pnl.total, I256::try_from(40_000 * USDC).unwrap());
            assert_eq!(row.any_flag(), Some(false));
            assert_eq!(row.decimals, Some(6));
        }
        let asset = &report.assets[0];
        assert_eq!((asset.positions, asset.unevaluated), (2, 0));
        let risk = asset.status.as_ref().unwrap();
        assert_eq!(risk.total_pnl, I256::try_from(80_000 * USDC).unwrap());
        assert_eq!(
            risk.flags.remaining,
            I256::try_from(970_000 * USDC).unwrap()
        );
        assert!(risk.flags.is_set(FlagKind::VaultDrawdown));
        assert!(risk.flags.is_set(FlagKind::ShieldPnl));
    }

    #[test]
    fn a_position_without_a_price_says_so_and_is_left_out_of_the_sum() {
        let report = evaluate(
            &state(vec![
                position("SOL-USD", true, 400_000, 100),
                position("BTC-USD", false, 100_000, 60_000),
            ]),
            &prices,
            &RiskFactors::default(),
        );
        assert_eq!(report.positions[0].status, PositionStatus::NoPrice);
        assert_eq!(report.positions[0].any_flag(), None);
        assert_eq!(report.positions[0].status.label(), "no price");
        let asset = &report.assets[0];
        assert_eq!((asset.positions, asset.unevaluated), (2, 1));
        // The short lost 10,000: only that is summed.
        assert_eq!(
            asset.status.as_ref().unwrap().total_pnl,
            I256::try_from(-10_000i64 * USDC as i64).unwrap()
        );
    }

    #[test]
    fn missing_tracer_vault_and_bad_numbers_are_explicit() {
        let mut s = state(vec![
            position("BTC-USD", true, 1, 60_000),
            position("BTC-USD", true, 1, 0),
        ]);
        s.positions[0].market = "XRP-USD".into();
        let prices = |_: &str| Some(U256::from(1u8));
        let report = evaluate(&s, &prices, &RiskFactors::default());
        assert_eq!(report.positions[0].status, PositionStatus::NoFundingTracer);
        assert_eq!(
            report.positions[1].status,
            PositionStatus::Failed(RiskError::ZeroEntryPrice)
        );

        s.vaults.clear();
        let report = evaluate(&s, &prices, &RiskFactors::default());
        assert_eq!(report.positions[1].status, PositionStatus::NoVault);
        assert_eq!(report.positions[1].decimals, None);
        assert!(report.assets.is_empty());
    }

    #[test]
    fn funding_counts_in_the_flags() {
        // BTC long 500,000 from 60,000 at 66,000: +50,000 price PnL, exactly at the shield.
        // A tracer up 2 (0.02 %) costs the long 100 USDC: just below it.
        let mut s = state(vec![position("BTC-USD", true, 500_000, 60_000)]);
        let report = evaluate(&s, &prices, &RiskFactors::default());
        assert!(
            report.positions[0]
                .status
                .risk()
                .unwrap()
                .flags
                .is_set(FlagKind::ShieldPnl)
        );
        s.funding_tracers[0].2 = I256::try_from(2).unwrap();
        let report = evaluate(&s, &prices, &RiskFactors::default());
        let risk = report.positions[0].status.risk().unwrap();
        assert_eq!(risk.pnl.funding_fee, I256::try_from(100 * USDC).unwrap());
        assert_eq!(risk.pnl.total, I256::try_from(49_900 * USDC).unwrap());
        assert!(!risk.flags.any());
    }

    #[test]
    fn rows_are_keyed_as_the_position_keys_itself() {
        let mut short = position("ETH-USD", false, 1, 2_500);
        short.user = address!("00000000000000000000000000000000000000ab");
        let s = state(vec![position("BTC-USD", true, 1, 60_000), short]);
        let report = evaluate(&s, &prices, &RiskFactors::default());
        for (row, position) in report.positions.iter().zip(&s.positions) {
            assert_eq!(row.key, position.key());
        }
    }

    #[test]
    fn evaluate_asset_sums_exactly_and_refuses_overflow() {
        let vault = &state(vec![]).vaults[0];
        let risk = evaluate_asset(vault, [], &RiskFactors::default()).unwrap();
        assert_eq!(risk.total_pnl, I256::ZERO);
        assert!(!risk.flags.any());
        let err = evaluate_asset(vault, [I256::MAX, I256::ONE], &RiskFactors::default());
        assert_eq!(err.unwrap_err(), RiskError::Overflow { field: "total_pnl" });
    }
}
