//! Health checks and the status transitions they record.

use std::collections::BTreeMap;

use alloy::primitives::Address;
use rusqlite::{Connection, OptionalExtension, params};

use super::providers::providers;
use super::rows::{addr_key, address, all_tiers, invalid, journal, math, status, units};
use super::types::StatusTransition;
use crate::pool::math::collateral::{backer_coverage, coverage_usd};
use crate::pool::math::health::{HealthRule, collateral_value_usd, health_ratio_bps, judge};
use crate::pool::model::{PolicyKind, Prices, Token, Units, UsdE8};
use crate::store::StoreError;

// ---------------------------------------------------------------------------------------
// Health

/// Each provider's active backing: `(provider key, coverage at prices)` summed.
pub(super) fn coverage_by_provider(
    c: &Connection,
    prices: &Prices,
) -> Result<BTreeMap<String, UsdE8>, StoreError> {
    let mut stmt = c.prepare(
        "SELECT a.provider, a.amount_locked, p.kind, p.strike_usd_e8, p.amount_sats, p.collateral_locked
         FROM pool_allocations a JOIN pool_policies p ON p.id = a.policy_id
         WHERE p.status = 'active' AND a.released_at IS NULL",
    )?;
    let mut rows = stmt.query([])?;
    let mut out: BTreeMap<String, UsdE8> = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let provider: String = r.get(0)?;
        let lock = units(&r.get::<_, String>(1)?, "allocation")?;
        let kind_text: String = r.get(2)?;
        let kind = PolicyKind::parse(&kind_text)
            .ok_or_else(|| invalid(format!("bad policy kind {kind_text:?}")))?;
        let strike = units(&r.get::<_, String>(3)?, "strike")?;
        let amount = r.get::<_, i64>(4)? as u64;
        let policy_locked = units(&r.get::<_, String>(5)?, "collateral")?;
        let coverage =
            coverage_usd(kind, strike, amount, prices.btc_usd).map_err(math("coverage"))?;
        let share = backer_coverage(coverage, lock, policy_locked).map_err(math("coverage"))?;
        let entry = out.entry(provider).or_default();
        *entry = entry.saturating_add(share);
    }
    Ok(out)
}

/// Has any active policy of this provider's allocations.
pub(super) fn backs_anything(c: &Connection, a: &Address) -> Result<bool, StoreError> {
    Ok(c.query_row(
        "SELECT 1 FROM pool_allocations al JOIN pool_policies p ON p.id = al.policy_id
             WHERE al.provider = ?1 AND p.status = 'active' AND al.released_at IS NULL LIMIT 1",
        [addr_key(a)],
        |_| Ok(()),
    )
    .optional()?
    .is_some())
}

/// Checks every provider's collateral health at `prices` (`None`: missing or stale, and
/// every provider is Unknown), records ratio, value, requirement and time, and a
/// transition (with its time) for each status that changed; returns the transitions.
pub fn health_check(
    c: &mut Connection,
    prices: Option<Prices>,
    grace_ms: i64,
    now: i64,
) -> Result<Vec<StatusTransition>, StoreError> {
    let tx = c.transaction()?;
    let rules: BTreeMap<String, HealthRule> = all_tiers(&tx)?
        .into_iter()
        .map(|(t, _)| {
            (
                t.name.clone(),
                HealthRule {
                    warning_ratio_bps: t.warning_ratio_bps,
                    margin_call_ratio_bps: t.margin_call_ratio_bps,
                    grace_ms,
                },
            )
        })
        .collect();
    let coverage = match &prices {
        Some(p) => coverage_by_provider(&tx, p)?,
        None => BTreeMap::new(),
    };
    let mut transitions = Vec::new();
    for p in providers(&tx)? {
        let key = addr_key(&p.address);
        let rule = rules
            .get(&p.tier)
            .ok_or_else(|| invalid(format!("provider {key} is in unknown tier {:?}", p.tier)))?;
        let (ratio, required, value) = match &prices {
            None => (None, None, None),
            Some(px) => {
                let holdings: Vec<(Token, Units)> =
                    p.balances.iter().map(|(t, b)| (*t, b.total)).collect();
                let value =
                    collateral_value_usd(&holdings, px).map_err(math("collateral value"))?;
                let required = coverage.get(&key).copied().unwrap_or(0);
                (
                    health_ratio_bps(value, required),
                    Some(required),
                    Some(value),
                )
            }
        };
        let next = judge(
            ratio,
            prices.is_some(),
            rule,
            p.status,
            p.status_since_ms,
            now,
        );
        let since = if next == p.status {
            p.status_since_ms
        } else {
            Some(now)
        };
        tx.execute(
            "UPDATE pool_providers SET status = ?2, status_since = ?3, health_ratio_bps = ?4,
                 required_usd_e8 = ?5, value_usd_e8 = ?6, last_check_at = ?7, updated_at = ?7
             WHERE address = ?1",
            params![
                key,
                next.as_str(),
                since,
                ratio.map(i64::from),
                required.map(|v| v.to_string()),
                value.map(|v| v.to_string()),
                now
            ],
        )?;
        if next != p.status {
            tx.execute(
                "INSERT INTO pool_status_transitions(provider, from_status, to_status, ratio_bps, at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![key, p.status.as_str(), next.as_str(), ratio.map(i64::from), now],
            )?;
            journal(
                &tx,
                now,
                "health",
                &key,
                &format!(
                    "{} → {}{}",
                    p.status.label(),
                    next.label(),
                    ratio
                        .map(|r| format!(" (collateral ratio {}.{:02}%)", r / 100, r % 100))
                        .unwrap_or_default()
                ),
            )?;
            transitions.push(StatusTransition {
                provider: p.address,
                from: p.status,
                to: next,
                ratio_bps: ratio,
                at_ms: now,
            });
        }
    }
    tx.commit()?;
    Ok(transitions)
}

/// A provider's status changes, newest first (`None`: every provider's).
pub fn transitions(
    c: &Connection,
    who: Option<Address>,
    limit: u64,
) -> Result<Vec<StatusTransition>, StoreError> {
    let mut stmt = c.prepare(
        "SELECT provider, from_status, to_status, ratio_bps, at FROM pool_status_transitions
         WHERE ?1 IS NULL OR provider = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![who.map(|a| addr_key(&a)), limit as i64])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(StatusTransition {
            provider: address(&r.get::<_, String>(0)?)?,
            from: status(&r.get::<_, String>(1)?)?,
            to: status(&r.get::<_, String>(2)?)?,
            ratio_bps: r.get::<_, Option<i64>>(3)?.map(|v| v as u32),
            at_ms: r.get(4)?,
        });
    }
    Ok(out)
}
