//! The Pool tab's rows from the books: pure, the cycle gathers the inputs.

use std::collections::BTreeMap;

use super::withdrawals::withdrawal_of_key;
use crate::actions::{Action, ActionKind};
use crate::pool::model::{
    Policy, PolicyKind, PoolMetrics, Prices, Provider, ProviderStatus, TierMetrics, Token,
    format_usd,
};
use crate::pool::pane::{
    HealthStatus, PolicyRow, PriceLine, ProviderRow, TierRow, TokenRow, WithdrawalRow,
};
use crate::store::pool::Withdrawal;
use crate::tui::format::group_digits;

/// Whole tokens with grouped thousands: `1,234.5 ETH` is `1,234.5`.
pub fn tokens(token: Token, units: u128) -> String {
    grouped(&token.format_units(units))
}

/// USD × 10^8 as `$1,234.56` (cents, truncated).
pub fn usd(value: u128) -> String {
    let cents = value / 1_000_000;
    format!(
        "${}.{:02}",
        group_digits(&(cents / 100).to_string()),
        cents % 100
    )
}

fn grouped(text: &str) -> String {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.is_empty() {
        group_digits(whole)
    } else {
        format!("{}.{frac}", group_digits(whole))
    }
}

fn bps(part: u128, whole: u128) -> u32 {
    if whole == 0 {
        return 0;
    }
    u32::try_from((part.min(whole) * 10_000) / whole).unwrap_or(10_000)
}

pub fn token_rows(metrics: &[PoolMetrics]) -> Vec<TokenRow> {
    metrics
        .iter()
        .map(|m| TokenRow {
            token: m.token.symbol().to_string(),
            onchain_total: tokens(m.token, m.onchain_total),
            onchain_locked: tokens(m.token, m.onchain_locked),
            books_total: tokens(m.token, m.books_total),
            books_locked: tokens(m.token, m.books_locked),
            available: tokens(m.token, m.books_available),
            locked_bps: bps(m.books_locked, m.books_total),
            mismatch: m.mismatch().map(|diff| mismatch_line(m, diff)),
        })
        .collect()
}

/// The reconciliation alert for one token.
pub fn mismatch_line(m: &PoolMetrics, diff: i128) -> String {
    format!(
        "{}: the Vault holds {} but the providers' books add up to {} ({}{}): not corrected",
        m.token.symbol(),
        tokens(m.token, m.onchain_total),
        tokens(m.token, m.books_total),
        if diff > 0 { "+" } else { "-" },
        tokens(m.token, diff.unsigned_abs())
    )
}

/// One row per tier, its capital over every token valued in USD when prices are known
/// (else in each token).
pub fn tier_rows(tiers: &[TierMetrics], prices: Option<Prices>) -> Vec<TierRow> {
    let mut by_name: BTreeMap<&str, Vec<&TierMetrics>> = BTreeMap::new();
    for t in tiers.iter().filter(|t| t.configured) {
        by_name.entry(t.tier.name.as_str()).or_default().push(t);
    }
    let mut order: Vec<&str> = Vec::new();
    for t in tiers.iter().filter(|t| t.configured) {
        if !order.contains(&t.tier.name.as_str()) {
            order.push(t.tier.name.as_str());
        }
    }
    order
        .into_iter()
        .map(|name| {
            let rows = &by_name[name];
            let first = rows[0];
            let value = |f: &dyn Fn(&TierMetrics) -> u128| -> String {
                match prices {
                    Some(p) => usd(rows
                        .iter()
                        .map(|t| {
                            crate::pool::math::convert::units_to_usd(
                                f(t),
                                t.token,
                                p.of(t.token),
                                crate::pool::math::convert::Rounding::Down,
                            )
                            .unwrap_or(0)
                        })
                        .sum()),
                    None => rows
                        .iter()
                        .map(|t| format!("{} {}", tokens(t.token, f(t)), t.token.symbol()))
                        .collect::<Vec<_>>()
                        .join(" + "),
                }
            };
            let capital: u128 = rows.iter().map(|t| t.capital).sum();
            let locked: u128 = rows.iter().map(|t| t.locked).sum();
            TierRow {
                name: name.to_string(),
                collateral_ratio: format!("{}%", first.tier.collateral_ratio_bps / 100),
                capital: value(&|t| t.capital),
                locked: value(&|t| t.locked),
                capacity_limit: rows
                    .iter()
                    .map(|t| match t.capacity_limit {
                        Some(limit) => format!("{} {}", tokens(t.token, limit), t.token.symbol()),
                        None => format!("no limit ({})", t.token.symbol()),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                yield_earned: value(&|t| t.yield_accrued),
                utilisation_bps: match prices {
                    Some(_) => rows
                        .iter()
                        .filter_map(|t| t.utilisation_bps)
                        .max()
                        .unwrap_or(0),
                    None => bps(locked, capital),
                },
                providers: rows.iter().map(|t| t.providers).max().unwrap_or(0),
                active_policies: rows.iter().map(|t| t.active_policies).sum(),
            }
        })
        .collect()
}

fn health(status: ProviderStatus) -> HealthStatus {
    match status {
        ProviderStatus::Healthy => HealthStatus::Healthy,
        ProviderStatus::Warning => HealthStatus::Warning,
        ProviderStatus::MarginCall => HealthStatus::MarginCall,
        ProviderStatus::Liquidating => HealthStatus::Liquidating,
        ProviderStatus::Unknown => HealthStatus::Unknown,
    }
}

pub fn provider_rows(providers: &[Provider]) -> Vec<ProviderRow> {
    providers
        .iter()
        .map(|p| {
            let yield_text = Token::ALL
                .iter()
                .filter(|t| p.balance(**t).accrued_yield > 0)
                .map(|t| format!("{} {}", tokens(*t, p.balance(*t).accrued_yield), t.symbol()))
                .collect::<Vec<_>>();
            ProviderRow {
                address: p.address.to_checksum(None),
                tier: p.tier.clone(),
                balances: Token::ALL
                    .iter()
                    .filter(|t| p.balance(**t).total > 0)
                    .map(|t| {
                        let b = p.balance(*t);
                        (
                            t.symbol().to_string(),
                            tokens(*t, b.total),
                            tokens(*t, b.locked),
                        )
                    })
                    .collect(),
                value_usd: p.value_usd.map(usd),
                locked_usd: p.required_usd.map(usd),
                yield_earned: if yield_text.is_empty() {
                    "0".into()
                } else {
                    yield_text.join(" + ")
                },
                ratio: p
                    .health_ratio_bps
                    .map(|r| format!("{}.{:02}%", r / 100, r % 100)),
                ratio_bps: p.health_ratio_bps,
                status: health(p.status),
                status_since_ms: p.status_since_ms,
            }
        })
        .collect()
}

/// What a policy pays at `btc_usd` (USD × 10^8), in USD × 10^8.
fn intrinsic(p: &Policy, btc_usd: u128) -> u128 {
    let per_btc = match p.kind {
        PolicyKind::Put => p.strike_usd.saturating_sub(btc_usd),
        PolicyKind::Call => btc_usd.saturating_sub(p.strike_usd),
    };
    per_btc.saturating_mul(u128::from(p.amount_sats)) / 100_000_000
}

pub fn policy_rows(
    policies: &[Policy],
    prices: Option<Prices>,
    actions: &[Action],
) -> Vec<PolicyRow> {
    let mut newest: BTreeMap<i64, &Action> = BTreeMap::new();
    for action in actions {
        if let Some(id) = super::lifecycle::policy_of_key(&action.key)
            && newest.get(&id).is_none_or(|a| a.id < action.id)
        {
            newest.insert(id, action);
        }
    }
    policies
        .iter()
        .map(|p| {
            let payout = prices.map(|pr| intrinsic(p, pr.btc_usd));
            PolicyRow {
                id: p.id,
                kind: p.kind.as_str().to_ascii_uppercase(),
                buyer: p.buyer.to_checksum(None),
                tier: p.tier.clone(),
                token: p.token.symbol().to_string(),
                strike: usd(p.strike_usd),
                amount: format!(
                    "{} BTC",
                    Token::Wbtc.format_units(u128::from(p.amount_sats))
                ),
                premium: format!("{} {}", tokens(p.token, p.premium), p.token.symbol()),
                expiry_ms: p.expires_at_ms,
                payout: payout.map(usd),
                in_the_money: payout.is_some_and(|v| v > 0),
                status: p.status.as_str().to_string(),
                action: newest.get(&p.id).map(|a| (a.id, a.state)),
            }
        })
        .collect()
}

/// The newest `approve_withdrawal` action about each withdrawal (by its key).
fn actions_by_withdrawal(actions: &[Action]) -> BTreeMap<i64, &Action> {
    let mut out: BTreeMap<i64, &Action> = BTreeMap::new();
    for action in actions {
        if action.kind != ActionKind::ApproveWithdrawal {
            continue;
        }
        if let Some(id) = withdrawal_of_key(&action.key)
            && out.get(&id).is_none_or(|a| a.id < action.id)
        {
            out.insert(id, action);
        }
    }
    out
}

pub fn withdrawal_rows(withdrawals: &[Withdrawal], actions: &[Action]) -> Vec<WithdrawalRow> {
    let newest = actions_by_withdrawal(actions);
    withdrawals
        .iter()
        .map(|w| WithdrawalRow {
            id: w.id,
            provider: w.provider.to_checksum(None),
            token: w.token.symbol().to_string(),
            amount: tokens(w.token, w.amount),
            max_withdrawable: tokens(w.token, w.max_withdrawable),
            refused: w.refused.clone(),
            requested_at_ms: w.requested_at_ms,
            action: newest.get(&w.id).map(|a| (a.id, a.state)),
        })
        .collect()
}

/// The two prices the monitor uses, with their ages.
pub fn price_lines(
    btc: Option<(u128, u64)>,
    eth: Option<(u128, u64)>,
    max_age_secs: u64,
) -> Vec<PriceLine> {
    [("BTC/USD", btc), ("ETH/USD", eth)]
        .into_iter()
        .map(|(pair, price)| PriceLine {
            pair: pair.to_string(),
            price: price.map(|(p, _)| usd(p)),
            age_secs: price.map(|(_, age)| age),
            stale: price.is_none_or(|(_, age)| age > max_age_secs),
        })
        .collect()
}

/// `60000` (USD × 10^8 as plain decimal), for journal lines.
pub fn plain_usd(value: u128) -> String {
    format_usd(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped_and_truncated() {
        assert_eq!(usd(6_000_012_345_678), "$60,000.12");
        assert_eq!(tokens(Token::Eth, 1_234_500_000_000_000_000_000), "1,234.5");
        assert_eq!(tokens(Token::Wbtc, 5), "0.00000005");
    }

    #[test]
    fn a_put_pays_below_its_strike_and_a_call_above() {
        let mut p = Policy {
            id: 1,
            idem_key: String::new(),
            kind: PolicyKind::Put,
            buyer: alloy::primitives::Address::ZERO,
            buyer_tier: "standard".into(),
            tier: "balanced".into(),
            token: Token::Eth,
            strike_usd: 60_000 * 100_000_000,
            amount_sats: 50_000_000,
            premium: 0,
            collateral_locked: 0,
            collateral_ratio_bps: 13_500,
            spot_usd: 0,
            expires_at_ms: 0,
            status: crate::pool::model::PolicyStatus::Active,
            onchain_locked: false,
            settlement_price_usd: None,
            payout: None,
            yield_accrued_at_ms: None,
            created_at_ms: 0,
            closed_at_ms: None,
            updated_at_ms: 0,
        };
        // (60,000 − 50,000) × 0.5 BTC = 5,000 USD.
        assert_eq!(intrinsic(&p, 50_000 * 100_000_000), 5_000 * 100_000_000);
        assert_eq!(intrinsic(&p, 70_000 * 100_000_000), 0);
        p.kind = PolicyKind::Call;
        assert_eq!(intrinsic(&p, 70_000 * 100_000_000), 5_000 * 100_000_000);
    }
}
