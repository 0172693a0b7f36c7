//! What the Liquidations tab shows: positions by health (the underwater and near-edge
//! ones first) with their value, debt, time to insolvency, reward, gas, estimated profit
//! and state; the selected position's detail; and the desk's totals. Built by the desk,
//! read by the UI as one immutable snapshot.

use alloy::primitives::{Address, U256};

use crate::store::{DayTotals, MarginEvent, MarginOrder, MarginPosition};

/// Rows the pane gets (the lowest health first); the table scrolls within them.
pub const MAX_ROWS: usize = 500;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiquidatorSnapshot {
    pub chain: String,
    /// `None` until the margin module is known (deployed or configured).
    pub module: Option<Address>,
    /// Why the desk is idle or what last went wrong, for the header.
    pub note: Option<String>,
    /// Proposes freezes and confirms on its own (`A` toggles).
    pub auto: bool,
    /// The head the last pass looked at: number and timestamp.
    pub head: Option<(u64, u64)>,
    /// The time positions were valued at (the next block's).
    pub valued_at: u64,
    /// Lowest health first, at most [`MAX_ROWS`].
    pub rows: Vec<CandidateRow>,
    pub totals: Totals,
    pub metrics: Metrics,
    /// Confirmed liquidations per day, newest first.
    pub days: Vec<DayTotals>,
    /// The position the operator opened with Enter.
    pub detail: Option<PositionDetail>,
}

/// A token's symbol and decimals, for showing amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub address: Address,
    pub symbol: String,
    pub decimals: u8,
}

impl TokenInfo {
    /// Unknown token: its short address, 18 decimals.
    pub fn unknown(address: Address) -> Self {
        Self {
            address,
            symbol: crate::tui::format::short_address(&address.to_string()),
            decimals: 18,
        }
    }

    /// `amount` of this token for people: `1,234.5 USDC` (at most `places` decimals).
    pub fn amount(&self, amount: U256, places: usize) -> String {
        format!(
            "{} {}",
            format_units(amount, self.decimals, places),
            self.symbol
        )
    }
}

/// One position on the pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateRow {
    pub position_id: u64,
    pub order_id: u64,
    pub owner: Address,
    /// Value and debt are in the base asset.
    pub base: TokenInfo,
    /// `None`: a price the valuation needs is missing.
    pub value: Option<U256>,
    pub debt: U256,
    /// value/debt in basis points (10,000 = 100%).
    pub health_bps: Option<u32>,
    /// Unix seconds at which interest alone makes it liquidatable; `None`: never.
    pub insolvent_at: Option<u64>,
    pub reward: TokenInfo,
    pub reward_amount: U256,
    pub reward_usd_cents: Option<i64>,
    pub gas_usd_cents: Option<i64>,
    pub profit_usd_cents: Option<i64>,
    pub state: RowState,
    /// Why it is (not) worth it, or what it waits for.
    pub reason: String,
}

/// Where a position stands for the desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowState {
    Watching,
    /// Our freeze is proposed or on its way.
    Freezing,
    FrozenByUs,
    FrozenByOther,
    /// Our confirm is proposed or on its way.
    Confirming,
    Confirmed,
    /// Frozen by us, healthy again: not confirmed.
    Recovered,
    Failed,
}

impl RowState {
    pub fn label(self) -> &'static str {
        match self {
            RowState::Watching => "watching",
            RowState::Freezing => "freezing",
            RowState::FrozenByUs => "frozen by us",
            RowState::FrozenByOther => "frozen by other",
            RowState::Confirming => "confirming",
            RowState::Confirmed => "confirmed",
            RowState::Recovered => "recovered",
            RowState::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Open positions valued every pass.
    pub monitored: usize,
    /// Flagged by the local pass and checked on chain.
    pub candidates: usize,
    /// Liquidatable on chain right now.
    pub liquidatable: usize,
    pub confirmed: u64,
    pub failed: u64,
    /// Σ realised profit of confirmed liquidations, US cents.
    pub realised_profit_cents: i64,
}

/// How hard the desk works, per pass and in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Microseconds the last local revaluation of every position took.
    pub revalue_us: u64,
    /// Node calls in the last pass: pair prices, candidate checks, simulations.
    pub last_pass_calls: u64,
    /// `subjectToLiquidationExtended` calls in the last pass.
    pub last_pass_checks: u64,
    pub passes: u64,
    pub total_calls: u64,
}

/// The position opened with Enter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionDetail {
    pub position: MarginPosition,
    pub order: Option<MarginOrder>,
    /// Each holding's token.
    pub tokens: Vec<TokenInfo>,
    /// Oldest first.
    pub events: Vec<MarginEvent>,
}

/// `amount` in whole tokens with `decimals`, thousands grouped, trailing zeros trimmed to
/// at most `max_places` decimals (truncated): `1,234.5`.
pub fn format_units(amount: U256, decimals: u8, max_places: usize) -> String {
    let digits = amount.to_string();
    let decimals = usize::from(decimals);
    let (whole, fraction) = if digits.len() > decimals {
        digits.split_at(digits.len() - decimals)
    } else {
        ("0", digits.as_str())
    };
    let fraction = format!("{fraction:0>decimals$}");
    let mut fraction: String = fraction.chars().take(max_places).collect();
    while fraction.ends_with('0') {
        fraction.pop();
    }
    let whole = crate::tui::format::group_digits(whole);
    if fraction.is_empty() {
        whole
    } else {
        format!("{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_shown_in_whole_tokens() {
        assert_eq!(format_units(U256::from(1_234_500_000u64), 6, 2), "1,234.5");
        assert_eq!(format_units(U256::from(5u64), 6, 6), "0.000005");
        assert_eq!(format_units(U256::from(5u64), 6, 2), "0");
        assert_eq!(
            format_units(U256::from(10u64).pow(U256::from(18)), 18, 4),
            "1"
        );
        assert_eq!(format_units(U256::ZERO, 8, 4), "0");
    }
}
