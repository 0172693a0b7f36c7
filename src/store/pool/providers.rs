//! Tiers and providers: the config's tiers, provider accounts and deposit checks.

use std::collections::BTreeMap;

use alloy::primitives::Address;
use rusqlite::{Connection, Row, params};

use super::rows::{
    addr_key, address, all_balances, all_tiers, amount_text, balance, invalid, journal, opt_units,
    status, tier, units,
};
use crate::pool::math::capacity::{CapacityRefusal, check_deposit};
use crate::pool::model::{Provider, TierParams, Token, TokenBalance, Units};
use crate::store::StoreError;

// ---------------------------------------------------------------------------------------
// Provider rows

const PROVIDER_COLUMNS: &str = "address, tier, status, status_since, health_ratio_bps, \
     required_usd_e8, value_usd_e8, last_check_at, deposit_count, withdrawal_count, created_at, \
     updated_at";

fn provider_row(
    r: &Row<'_>,
    balances: BTreeMap<Token, TokenBalance>,
) -> Result<Provider, StoreError> {
    Ok(Provider {
        address: address(&r.get::<_, String>(0)?)?,
        tier: r.get(1)?,
        status: status(&r.get::<_, String>(2)?)?,
        status_since_ms: r.get(3)?,
        health_ratio_bps: r.get::<_, Option<i64>>(4)?.map(|v| v as u32),
        required_usd: opt_units(r.get(5)?, "required USD")?,
        value_usd: opt_units(r.get(6)?, "value USD")?,
        last_check_ms: r.get(7)?,
        deposit_count: r.get::<_, i64>(8)? as u64,
        withdrawal_count: r.get::<_, i64>(9)? as u64,
        created_at_ms: r.get(10)?,
        updated_at_ms: r.get(11)?,
        balances,
    })
}

/// One provider with their balances.
pub fn provider(c: &Connection, a: &Address) -> Result<Option<Provider>, StoreError> {
    let mut stmt = c.prepare(&format!(
        "SELECT {PROVIDER_COLUMNS} FROM pool_providers WHERE address = ?1"
    ))?;
    let mut rows = stmt.query([addr_key(a)])?;
    let Some(r) = rows.next()? else {
        return Ok(None);
    };
    let mut balances = BTreeMap::new();
    for tok in Token::ALL {
        let b = balance(c, a, tok)?;
        if b != TokenBalance::default() {
            balances.insert(tok, b);
        }
    }
    provider_row(r, balances).map(Some)
}

/// Every provider, by address.
pub fn providers(c: &Connection) -> Result<Vec<Provider>, StoreError> {
    let mut balances = all_balances(c)?;
    let mut stmt = c.prepare(&format!(
        "SELECT {PROVIDER_COLUMNS} FROM pool_providers ORDER BY address"
    ))?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let key: String = r.get(0)?;
        let b = balances.remove(&key).unwrap_or_default();
        out.push(provider_row(r, b)?);
    }
    out.sort_by_key(|p| p.address);
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Tiers and providers

/// Keeps `pool_tiers` in step with the config: each tier inserted or updated (in order),
/// tiers the config no longer names kept but marked not configured. Journals changes only.
pub fn sync_tiers(c: &mut Connection, tiers: &[TierParams], now: i64) -> Result<(), StoreError> {
    let tx = c.transaction()?;
    let existing: BTreeMap<String, (TierParams, bool)> = all_tiers(&tx)?
        .into_iter()
        .map(|(t, configured)| (t.name.clone(), (t, configured)))
        .collect();
    for (position, t) in tiers.iter().enumerate() {
        if t.collateral_ratio_bps < 10_000 {
            return Err(invalid(format!(
                "tier {}: collateral ratio {} bps is below 100%",
                t.name, t.collateral_ratio_bps
            )));
        }
        tx.execute(
            "INSERT INTO pool_tiers(name, position, configured, collateral_ratio_bps,
                 warning_ratio_bps, margin_call_ratio_bps, premium_multiplier, capacity_eth,
                 capacity_wbtc, updated_at)
             VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT(name) DO UPDATE SET position = ?2, configured = 1,
                 collateral_ratio_bps = ?3, warning_ratio_bps = ?4, margin_call_ratio_bps = ?5,
                 premium_multiplier = ?6, capacity_eth = ?7, capacity_wbtc = ?8, updated_at = ?9",
            params![
                t.name,
                position as i64,
                t.collateral_ratio_bps,
                t.warning_ratio_bps,
                t.margin_call_ratio_bps,
                t.premium_multiplier.to_string(),
                t.capacity_eth.map(|v| v.to_string()),
                t.capacity_wbtc.map(|v| v.to_string()),
                now
            ],
        )?;
        match existing.get(&t.name) {
            Some((old, true)) if old == t => {}
            old => journal(
                &tx,
                now,
                "tier",
                &t.name,
                &format!(
                    "{}: collateral {} bps, warning below {} bps, margin call below {} bps, premium ×{}",
                    if old.is_some() { "updated" } else { "added" },
                    t.collateral_ratio_bps,
                    t.warning_ratio_bps,
                    t.margin_call_ratio_bps,
                    t.premium_multiplier
                ),
            )?,
        }
    }
    for (name, (_, configured)) in &existing {
        if *configured && !tiers.iter().any(|t| &t.name == name) {
            tx.execute(
                "UPDATE pool_tiers SET configured = 0, updated_at = ?2 WHERE name = ?1",
                params![name, now],
            )?;
            journal(
                &tx,
                now,
                "tier",
                name,
                "no longer configured: backs nothing new",
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(super) fn insert_provider(
    c: &Connection,
    a: &Address,
    tier_name: &str,
    now: i64,
) -> Result<(), StoreError> {
    match tier(c, tier_name)? {
        Some((_, true)) => {}
        Some((_, false)) => {
            return Err(invalid(format!(
                "tier {tier_name:?} is no longer configured"
            )));
        }
        None => return Err(invalid(format!("unknown tier {tier_name:?}"))),
    }
    c.execute(
        "INSERT INTO pool_providers(address, tier, status, status_since, created_at, updated_at)
         VALUES (?1, ?2, 'healthy', ?3, ?3, ?3)",
        params![addr_key(a), tier_name, now],
    )?;
    journal(
        c,
        now,
        "provider",
        &addr_key(a),
        &format!("joined tier {tier_name}"),
    )?;
    Ok(())
}

/// Registers a provider in a tier (before their first deposit), or moves them to another
/// tier while nothing of theirs is locked. Registering again in the same tier changes
/// nothing.
pub fn register_provider(
    c: &mut Connection,
    a: Address,
    tier_name: &str,
    now: i64,
) -> Result<Provider, StoreError> {
    let tx = c.transaction()?;
    let p = register_in(&tx, a, tier_name, now)?;
    tx.commit()?;
    Ok(p)
}

/// [`register_provider`] inside the caller's transaction.
pub(super) fn register_in(
    c: &Connection,
    a: Address,
    tier_name: &str,
    now: i64,
) -> Result<Provider, StoreError> {
    match provider(c, &a)? {
        None => insert_provider(c, &a, tier_name, now)?,
        Some(p) if p.tier == tier_name => {}
        Some(p) => {
            if let Some((tok, b)) = p.balances.iter().find(|(_, b)| b.locked > 0) {
                return Err(invalid(format!(
                    "provider {a} has {} locked for policies: their tier stays {} until it is released",
                    amount_text(*tok, b.locked),
                    p.tier
                )));
            }
            if !matches!(tier(c, tier_name)?, Some((_, true))) {
                return Err(invalid(format!("unknown tier {tier_name:?}")));
            }
            c.execute(
                "UPDATE pool_providers SET tier = ?2, updated_at = ?3 WHERE address = ?1",
                params![addr_key(&a), tier_name, now],
            )?;
            journal(
                c,
                now,
                "provider",
                &addr_key(&a),
                &format!("moved from tier {} to {tier_name}", p.tier),
            )?;
        }
    }
    Ok(provider(c, &a)?.expect("just registered"))
}

/// Whether a deposit of `amount` into `tier_name` fits its capacity (for preparing a
/// deposit): `None` when it does, else why not.
pub fn deposit_check(
    c: &Connection,
    tier_name: &str,
    tok: Token,
    amount: Units,
) -> Result<Option<CapacityRefusal>, StoreError> {
    let (params, _) =
        tier(c, tier_name)?.ok_or_else(|| invalid(format!("unknown tier {tier_name:?}")))?;
    let capital = tier_capital(c, tier_name, tok)?;
    Ok(check_deposit(tier_name, tok, capital, amount, params.capacity(tok)).err())
}

pub(super) fn tier_capital(
    c: &Connection,
    tier_name: &str,
    tok: Token,
) -> Result<Units, StoreError> {
    let mut stmt = c.prepare(
        "SELECT b.total FROM pool_balances b JOIN pool_providers p ON p.address = b.provider
         WHERE p.tier = ?1 AND b.token = ?2",
    )?;
    let mut rows = stmt.query(params![tier_name, tok.as_str()])?;
    let mut sum = 0u128;
    while let Some(r) = rows.next()? {
        sum = sum.saturating_add(units(&r.get::<_, String>(0)?, "total")?);
    }
    Ok(sum)
}
