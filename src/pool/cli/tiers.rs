//! `pool tiers`: the provider tiers per token.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::PoolListArgs;
use super::format::tokens;
use super::table::Table;
use crate::app::AppContext;
use crate::cli::print_json;
use crate::pool::model::{TierMetrics, TierParams, Token};
use crate::pool::params::PoolParams;
use crate::store::Store;
use crate::tui::format::percent_bps;

pub(super) fn tiers(
    args: &PoolListArgs,
    ctx: &AppContext,
    store: &Store,
) -> anyhow::Result<ExitCode> {
    let stored = store.call_blocking(|c| crate::store::pool::tier_metrics(c))?;
    // A configured tier the desk has not synced into the store yet holds nothing: shown
    // with its configured parameters and zeros, after the configured ones the store has
    // and before those the config no longer names.
    let params = PoolParams::from_config(&ctx.config.pool).map_err(anyhow::Error::msg)?;
    let (mut rows, dropped): (Vec<TierMetrics>, Vec<TierMetrics>) =
        stored.into_iter().partition(|r| r.configured);
    for tier in &params.tiers {
        if !rows
            .iter()
            .chain(&dropped)
            .any(|r| r.tier.name == tier.name)
        {
            rows.extend(Token::ALL.into_iter().map(|tok| empty_tier(tier, tok)));
        }
    }
    rows.extend(dropped);
    if args.json {
        print_json(&Value::Array(rows.iter().map(tier_json).collect()))?;
    } else if rows.is_empty() {
        println!("no tiers configured");
    } else {
        print!("{}", tiers_table(&rows).render());
    }
    Ok(ExitCode::SUCCESS)
}

fn empty_tier(tier: &TierParams, token: Token) -> TierMetrics {
    TierMetrics {
        tier: tier.clone(),
        configured: true,
        token,
        capital: 0,
        locked: 0,
        available: 0,
        utilisation_bps: None,
        providers: 0,
        active_policies: 0,
        yield_accrued: 0,
        capacity_limit: tier.capacity(token),
    }
}

fn tier_json(m: &TierMetrics) -> Value {
    json!({
        "tier": m.tier.name,
        "configured": m.configured,
        "token": m.token.as_str(),
        "decimals": m.token.decimals(),
        "collateral_ratio_bps": m.tier.collateral_ratio_bps,
        "warning_ratio_bps": m.tier.warning_ratio_bps,
        "margin_call_ratio_bps": m.tier.margin_call_ratio_bps,
        "premium_multiplier": m.tier.premium_multiplier.to_string(),
        "capital": m.capital.to_string(),
        "locked": m.locked.to_string(),
        "available": m.available.to_string(),
        "utilisation_bps": m.utilisation_bps,
        "providers": m.providers,
        "active_policies": m.active_policies,
        "yield_accrued": m.yield_accrued.to_string(),
        "capacity_limit": m.capacity_limit.map(|c| c.to_string()),
    })
}

fn tiers_table(rows: &[TierMetrics]) -> Table {
    let mut t = Table::new(&[
        ("TIER", false),
        ("TOKEN", false),
        ("RATIO", true),
        ("CAPITAL", true),
        ("LOCKED", true),
        ("UTILISATION", true),
        ("PROVIDERS", true),
        ("POLICIES", true),
        ("YIELD", true),
        ("CAPACITY", true),
    ]);
    for m in rows {
        let name = if m.configured {
            m.tier.name.clone()
        } else {
            format!("{} (not configured)", m.tier.name)
        };
        t.row(vec![
            name,
            m.token.symbol().into(),
            percent_bps(m.tier.collateral_ratio_bps),
            tokens(m.token, m.capital),
            tokens(m.token, m.locked),
            m.utilisation_bps
                .map(percent_bps)
                .unwrap_or_else(|| "-".into()),
            m.providers.to_string(),
            m.active_policies.to_string(),
            tokens(m.token, m.yield_accrued),
            m.capacity_limit
                .map(|c| tokens(m.token, c))
                .unwrap_or_else(|| "no limit".into()),
        ]);
    }
    t
}
