//! The Perp tab's snapshot from one cycle: vaults with their flags, trader positions with
//! PnL, flags, hedge and action, and the hedges marked at the venue's price. Pure: the
//! cycle gathers the inputs.

use std::collections::BTreeMap;

use alloy::primitives::{I256, U256};
use rust_decimal::Decimal;

use super::executor::{hedge_of_close_key, position_of_open_key};
use super::prices::MarketPrices;
use crate::actions::{Action, ActionKind, ActionState};
use crate::perp::pane::{Flag, HedgeRow, PerpSnapshot, TraderRow, VaultRow};
use crate::perp::risk::{FlagKind, RiskFlags, RiskReport, format_amount};
use crate::perp::venue::VenuePosition;
use crate::store::perp::{Hedge, HedgeState};
use crate::tui::format::group_digits;

/// What one cycle hands the snapshot.
pub struct Inputs<'a> {
    pub report: &'a RiskReport,
    pub prices: &'a MarketPrices,
    /// Live hedges first, then recent finished ones.
    pub hedges: &'a [Hedge],
    pub actions: &'a [Action],
    pub venue_positions: &'a [VenuePosition],
    /// Collateral asset names by address (`USDC`).
    pub asset_names: &'a BTreeMap<alloy::primitives::Address, String>,
    /// DePerp market → venue symbol.
    pub symbols: &'a BTreeMap<String, String>,
    pub price_decimals: u8,
    pub expiry_secs: i64,
    /// Unix seconds.
    pub now: i64,
}

fn i256(v: U256) -> I256 {
    I256::try_from(v).unwrap_or(I256::MAX)
}

fn flags_of(flags: &RiskFlags) -> Vec<Flag> {
    flags
        .set()
        .map(|check| Flag {
            kind: match check.kind {
                FlagKind::VaultDrawdown => "drawdown",
                FlagKind::ShieldPnl => "shield",
                FlagKind::ProfitLimit => "hedge",
            },
            reason: check.reason(),
        })
        .collect()
}

/// `part / whole` in basis points, clamped to 0..=10000 (0 for an empty whole).
fn bps(part: I256, whole: I256) -> u32 {
    if whole <= I256::ZERO || part <= I256::ZERO {
        return 0;
    }
    let scaled = part.saturating_mul(I256::try_from(10_000).expect("fits")) / whole;
    u32::try_from(scaled.min(I256::try_from(10_000).expect("fits")).as_u64()).unwrap_or(0)
}

/// A decimal as the pane writes money: thousands grouped, two decimals at least.
pub fn money(value: Decimal) -> String {
    let v = value.normalize();
    let sign = if v.is_sign_negative() && !v.is_zero() {
        "-"
    } else {
        ""
    };
    let text = v.abs().to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut fraction = fraction.to_string();
    while fraction.len() < 2 {
        fraction.push('0');
    }
    format!("{sign}{}.{fraction}", group_digits(whole))
}

/// The newest action about each position (opens by key, closes by their hedge's position).
fn actions_by_position<'a>(
    actions: &'a [Action],
    hedges: &[Hedge],
) -> BTreeMap<String, &'a Action> {
    let position_of_hedge: BTreeMap<i64, &str> = hedges
        .iter()
        .map(|h| (h.id, h.position_key.as_str()))
        .collect();
    let mut out: BTreeMap<String, &Action> = BTreeMap::new();
    for action in actions {
        let position = match action.kind {
            ActionKind::OpenHedge => position_of_open_key(&action.key),
            ActionKind::CloseHedge => {
                hedge_of_close_key(&action.key).and_then(|id| position_of_hedge.get(&id).copied())
            }
            _ => None,
        };
        if let Some(position) = position {
            let newer = out.get(position).is_none_or(|a| a.id < action.id);
            if newer {
                out.insert(position.to_string(), action);
            }
        }
    }
    out
}

pub fn build(inputs: &Inputs) -> PerpSnapshot {
    let Inputs {
        report,
        prices,
        hedges,
        actions,
        venue_positions,
        ..
    } = inputs;
    let vaults = report
        .assets
        .iter()
        .map(|row| {
            let v = &row.vault;
            let (vault, shield) = (i256(v.vault), i256(v.shield));
            let (total_pnl, flags) = match &row.status {
                Ok(risk) => (risk.total_pnl, flags_of(&risk.flags)),
                Err(_) => (I256::ZERO, Vec::new()),
            };
            let remaining = vault.saturating_add(shield).saturating_sub(total_pnl);
            VaultRow {
                asset: v.asset.to_checksum(None),
                symbol: inputs
                    .asset_names
                    .get(&v.asset)
                    .cloned()
                    .unwrap_or_else(|| v.asset.to_checksum(None)),
                vault: format_amount(vault, v.decimals),
                shield: format_amount(shield, v.decimals),
                total_pnl: format_amount(total_pnl, v.decimals),
                remaining: format_amount(remaining, v.decimals),
                remaining_bps: bps(remaining, vault.saturating_add(shield)),
                shield_left_bps: bps(shield.saturating_sub(total_pnl), shield),
                flags,
            }
        })
        .collect();

    let live: BTreeMap<&str, &Hedge> = hedges
        .iter()
        .filter(|h| h.state.is_live())
        .map(|h| (h.position_key.as_str(), h))
        .collect();
    let newest_action = actions_by_position(actions, hedges);
    let flagged: BTreeMap<&str, bool> = report
        .positions
        .iter()
        .map(|r| (r.key.as_str(), r.any_flag().unwrap_or(false)))
        .collect();
    let positions = report
        .positions
        .iter()
        .map(|row| {
            let p = &row.position;
            let decimals = row.decimals.unwrap_or(6);
            let risk = row.status.risk();
            TraderRow {
                key: row.key.clone(),
                user: p.user.to_checksum(None),
                market: p.market.clone(),
                is_long: p.is_long,
                size: format_amount(i256(p.size), decimals),
                entry: format_amount(i256(p.price), inputs.price_decimals),
                price: risk.map(|r| format_amount(i256(r.price), inputs.price_decimals)),
                pnl: risk.map(|r| format_amount(r.pnl.total, decimals)),
                pnl_positive: risk.is_some_and(|r| r.pnl.total > I256::ZERO),
                flags: risk.map(|r| flags_of(&r.flags)).unwrap_or_default(),
                symbol: inputs.symbols.get(&p.market).cloned(),
                hedge: live
                    .get(row.key.as_str())
                    .map(|h| (h.id, h.state.as_str().to_string())),
                action: newest_action.get(&row.key).map(|a| (a.id, a.state)),
            }
        })
        .collect();

    let marks: BTreeMap<&str, Decimal> = venue_positions
        .iter()
        .map(|p| (p.symbol.as_str(), p.mark_price))
        .collect();
    let hedge_rows = hedges
        .iter()
        .map(|h| {
            let mark = marks
                .get(h.symbol.as_str())
                .copied()
                .or_else(|| prices.usd.get(&h.market).copied());
            let held = matches!(h.state, HedgeState::Open | HedgeState::Closing);
            let pnl = match (held, h.entry_price, mark) {
                (true, Some(entry), Some(mark)) => Some(h.side.signed(h.quantity) * (mark - entry)),
                _ => None,
            };
            let risk_gone = !flagged
                .get(h.position_key.as_str())
                .copied()
                .unwrap_or(false);
            HedgeRow {
                id: h.id,
                position_key: h.position_key.clone(),
                symbol: h.symbol.clone(),
                side: h.side.as_str().to_string(),
                quantity: h.quantity.normalize().to_string(),
                entry: h.entry_price.map(money),
                mark: mark.filter(|_| h.state.is_live()).map(money),
                pnl: pnl.map(money),
                pnl_positive: pnl.is_some_and(|p| p > Decimal::ZERO),
                since_ms: h.opened_at.unwrap_or(h.created_at) * 1_000,
                state: h.state.as_str().to_string(),
                closes_in_secs: (h.state == HedgeState::Open && risk_gone)
                    .then(|| (h.last_flag_at + inputs.expiry_secs - inputs.now).max(0)),
                note: h.note.clone().or_else(|| {
                    (!h.state.is_live())
                        .then(|| h.close_reason.clone())
                        .flatten()
                }),
            }
        })
        .collect();

    PerpSnapshot {
        block: Some(report.block),
        vaults,
        positions,
        hedges: hedge_rows,
        ..PerpSnapshot::default()
    }
}

/// Whether `action` is still on its way (proposed, approved or sent).
pub fn in_flight(action: &Action) -> bool {
    matches!(
        action.state,
        ActionState::Proposed | ActionState::Approved | ActionState::Sent
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_groups_and_keeps_two_decimals() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(money(d("66123.45678901")), "66,123.45678901");
        assert_eq!(money(d("-1234.5")), "-1,234.50");
        assert_eq!(money(d("0")), "0.00");
        assert_eq!(money(d("1000000")), "1,000,000.00");
    }

    #[test]
    fn gauges_are_basis_points_clamped() {
        let i = |v: i64| I256::try_from(v).unwrap();
        assert_eq!(bps(i(1_026_721), i(1_100_000)), 9_333);
        assert_eq!(bps(i(-5), i(100)), 0);
        assert_eq!(bps(i(200), i(100)), 10_000);
        assert_eq!(bps(i(1), i(0)), 0);
    }
}
