//! `pool providers`: the liquidity providers as the books hold them.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::PoolListArgs;
use super::format::{tokens, when};
use super::table::Table;
use crate::cli::print_json;
use crate::pool::model::{Provider, Token};
use crate::store::Store;
use crate::tui::format::percent_bps;

pub(super) fn providers(args: &PoolListArgs, store: &Store) -> anyhow::Result<ExitCode> {
    let providers = store.call_blocking(|c| crate::store::pool::providers(c))?;
    if args.json {
        print_json(&Value::Array(providers.iter().map(provider_json).collect()))?;
    } else if providers.is_empty() {
        println!("no providers in the books");
    } else {
        print!("{}", providers_table(&providers).render());
    }
    Ok(ExitCode::SUCCESS)
}

fn provider_json(p: &Provider) -> Value {
    let balances: serde_json::Map<String, Value> = Token::ALL
        .into_iter()
        .map(|t| {
            let b = p.balance(t);
            (
                t.as_str().to_string(),
                json!({
                    "decimals": t.decimals(),
                    "total": b.total.to_string(),
                    "available": b.available.to_string(),
                    "locked": b.locked.to_string(),
                    "accrued_yield": b.accrued_yield.to_string(),
                }),
            )
        })
        .collect();
    json!({
        "address": p.address.to_checksum(None),
        "tier": p.tier,
        "balances": balances,
        "health_ratio_bps": p.health_ratio_bps,
        "value_usd_e8": p.value_usd.map(|v| v.to_string()),
        "required_usd_e8": p.required_usd.map(|v| v.to_string()),
        "status": p.status.as_str(),
        "status_label": p.status.label(),
        "status_since_ms": p.status_since_ms,
        "last_check_ms": p.last_check_ms,
        "deposit_count": p.deposit_count,
        "withdrawal_count": p.withdrawal_count,
    })
}

/// One row per provider and token they hold; the provider's own columns on its first row.
fn providers_table(providers: &[Provider]) -> Table {
    let mut t = Table::new(&[
        ("ADDRESS", false),
        ("TIER", false),
        ("TOKEN", false),
        ("TOTAL", true),
        ("AVAILABLE", true),
        ("LOCKED", true),
        ("YIELD", true),
        ("RATIO", true),
        ("STATUS", false),
        ("SINCE", false),
    ]);
    for p in providers {
        let held: Vec<Token> = Token::ALL
            .into_iter()
            .filter(|tok| p.balances.contains_key(tok))
            .collect();
        let first = [
            p.address.to_checksum(None),
            p.tier.clone(),
            p.health_ratio_bps
                .map(percent_bps)
                .unwrap_or_else(|| "-".into()),
            p.status.label().to_string(),
            when(p.status_since_ms),
        ];
        if held.is_empty() {
            t.row(vec![
                first[0].clone(),
                first[1].clone(),
                "-".into(),
                "0".into(),
                "0".into(),
                "0".into(),
                "0".into(),
                first[2].clone(),
                first[3].clone(),
                first[4].clone(),
            ]);
            continue;
        }
        for (i, tok) in held.into_iter().enumerate() {
            let b = p.balance(tok);
            let own = |k: usize| {
                if i == 0 {
                    first[k].clone()
                } else {
                    String::new()
                }
            };
            t.row(vec![
                own(0),
                own(1),
                tok.symbol().into(),
                tokens(tok, b.total),
                tokens(tok, b.available),
                tokens(tok, b.locked),
                tokens(tok, b.accrued_yield),
                own(2),
                own(3),
                own(4),
            ]);
        }
    }
    t
}
