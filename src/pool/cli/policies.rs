//! `pool policies`: the protection policies the pool sold.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::PoliciesArgs;
use super::format::{btc, tokens, usd};
use super::table::Table;
use crate::cli::print_json;
use crate::pool::model::{Policy, PolicyStatus};
use crate::store::Store;
use crate::store::pool::PolicyFilter;
use crate::tui::format::date_time;

pub(super) fn policies(args: &PoliciesArgs, store: &Store) -> anyhow::Result<ExitCode> {
    let filter = PolicyFilter {
        status: args.status.map(PolicyStatus::from),
        provider: None,
        limit: Some(args.limit),
    };
    let policies = store.call_blocking(move |c| crate::store::pool::policies(c, &filter))?;
    if args.json {
        print_json(&Value::Array(policies.iter().map(policy_json).collect()))?;
    } else if policies.is_empty() {
        match args.status {
            Some(s) => println!("no {} policies", PolicyStatus::from(s)),
            None => println!("no policies"),
        }
    } else {
        print!("{}", policies_table(&policies).render());
    }
    Ok(ExitCode::SUCCESS)
}

fn policy_json(p: &Policy) -> Value {
    json!({
        "id": p.id,
        "kind": p.kind.as_str(),
        "strike_usd_e8": p.strike_usd.to_string(),
        "amount_sats": p.amount_sats,
        "token": p.token.as_str(),
        "premium": p.premium.to_string(),
        "collateral_locked": p.collateral_locked.to_string(),
        "collateral_ratio_bps": p.collateral_ratio_bps,
        "spot_usd_e8": p.spot_usd.to_string(),
        "expires_at_ms": p.expires_at_ms,
        "buyer": p.buyer.to_checksum(None),
        "buyer_tier": p.buyer_tier,
        "tier": p.tier,
        "status": p.status.as_str(),
        "onchain_locked": p.onchain_locked,
        "settlement_price_usd_e8": p.settlement_price_usd.map(|v| v.to_string()),
        "payout": p.payout.map(|v| v.to_string()),
        "created_at_ms": p.created_at_ms,
        "closed_at_ms": p.closed_at_ms,
    })
}

fn policies_table(policies: &[Policy]) -> Table {
    let mut t = Table::new(&[
        ("ID", true),
        ("KIND", false),
        ("STRIKE USD", true),
        ("AMOUNT BTC", true),
        ("PREMIUM", true),
        ("TOKEN", false),
        ("EXPIRY", false),
        ("BUYER", false),
        ("TIER", false),
        ("STATUS", false),
    ]);
    for p in policies {
        t.row(vec![
            p.id.to_string(),
            p.kind.as_str().into(),
            usd(p.strike_usd),
            btc(p.amount_sats),
            tokens(p.token, p.premium),
            p.token.symbol().into(),
            date_time(p.expires_at_ms),
            p.buyer.to_checksum(None),
            p.tier.clone(),
            p.status.as_str().into(),
        ]);
    }
    t
}
