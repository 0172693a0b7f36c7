//! What the Oracle tab shows: one row per price slot (what is on chain, what Hermes last
//! said), the last cycle, and a short price history per slot for the chart. Built by the
//! desk, read by the UI as one immutable snapshot.

use std::collections::{BTreeMap, VecDeque};

use alloy::primitives::{Address, B256};

use super::slot::PriceSlot;
use crate::prices::Price;

/// Prices kept per slot for the chart.
pub const HISTORY: usize = 120;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OracleSnapshot {
    pub chain: String,
    /// `None` until a PriceCaster is deployed (or recorded) on the chain.
    pub price_caster: Option<Address>,
    pub rows: Vec<SlotRow>,
    pub last_cycle: Option<CycleSummary>,
    /// The outcome of the operator's last request, kept apart from `last_cycle` so the
    /// next streamed update does not hide it.
    pub last_request: Option<RequestOutcome>,
    /// By slot, oldest first.
    pub history: BTreeMap<u8, VecDeque<i64>>,
    /// Every cycle so far on this chain, from the store.
    pub stats: crate::store::CycleStats,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRow {
    pub slot: u8,
    pub symbol: String,
    pub asset_id: u64,
    pub decimals: u8,
    pub price_id: B256,
    /// What the contract holds (publish time 0: never published).
    pub on_chain: PriceSlot,
    /// The newest verified price seen for the feed, published or not.
    pub latest: Option<Price>,
    /// Seconds after which the on-chain price counts as stale (the feed's time difference).
    pub stale_after_secs: u64,
    pub last_tx: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleSummary {
    pub at_ms: i64,
    pub due: Vec<String>,
    pub action: Option<i64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestOutcome {
    /// What the operator asked, as the pane says it ("publish now", "bootstrap", "reset").
    pub request: &'static str,
    pub outcome: CycleSummary,
}

impl OracleSnapshot {
    /// Records the on-chain price of each row in its history.
    pub fn remember_prices(&mut self) {
        for row in &self.rows {
            if row.on_chain.publish_time == 0 {
                continue;
            }
            let history = self.history.entry(row.slot).or_default();
            if history.back() != Some(&row.on_chain.price) {
                history.push_back(row.on_chain.price);
                if history.len() > HISTORY {
                    history.pop_front();
                }
            }
        }
    }
}

/// `price·10^expo` written out exactly, with thousands separators: `61,409.93501000`.
pub fn decimal(price: i64, expo: i32) -> String {
    let negative = price < 0;
    let digits = price.unsigned_abs().to_string();
    let (whole, frac) = if expo >= 0 {
        (
            format!("{digits}{}", "0".repeat(expo.unsigned_abs() as usize)),
            String::new(),
        )
    } else {
        let places = expo.unsigned_abs() as usize;
        let padded = format!("{digits:0>width$}", width = places + 1);
        let split = padded.len() - places;
        (padded[..split].to_string(), padded[split..].to_string())
    };
    let grouped = crate::tui::format::group_digits(&whole);
    let sign = if negative { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(decimal(6_140_993_501_000, -8), "61,409.93501000");
        assert_eq!(decimal(4_959_503, -8), "0.04959503");
        assert_eq!(decimal(-5, -2), "-0.05");
        assert_eq!(decimal(1_234, 3), "1,234,000");
        assert_eq!(decimal(999, 0), "999");
    }

    #[test]
    fn history_keeps_changes_only_and_is_bounded() {
        let mut snap = OracleSnapshot {
            rows: vec![SlotRow {
                slot: 0,
                symbol: "BTC/USD".into(),
                asset_id: 1,
                decimals: 8,
                price_id: B256::ZERO,
                on_chain: PriceSlot {
                    price: 5,
                    publish_time: 1,
                    ..PriceSlot::default()
                },
                latest: None,
                stale_after_secs: 60,
                last_tx: None,
            }],
            ..OracleSnapshot::default()
        };
        snap.remember_prices();
        snap.remember_prices();
        assert_eq!(snap.history[&0].len(), 1);
        for p in 0..200 {
            snap.rows[0].on_chain.price = p;
            snap.remember_prices();
        }
        assert_eq!(snap.history[&0].len(), HISTORY);
        assert_eq!(snap.history[&0].back(), Some(&199));
    }
}
