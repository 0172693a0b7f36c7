//! The Vault's mirrored totals, the pool's metrics and the tiers' metrics.

use std::collections::BTreeMap;

use rusqlite::Connection;

use super::rows::{all_balances, all_tiers, metrics, save_metrics};
use crate::pool::model::{PoolMetrics, TierMetrics, Token, Units};
use crate::store::StoreError;

// ---------------------------------------------------------------------------------------
// The Vault's totals and the books

/// Mirrors the Vault's totals as read from it (`totalBalance`, `totalLocked`).
pub fn set_onchain_totals(
    c: &Connection,
    tok: Token,
    total: Units,
    locked: Units,
    block: u64,
    now: i64,
) -> Result<(), StoreError> {
    save_metrics(c, tok, total, locked, Some(block), now)
}

/// Per token: the Vault's mirrored totals against the sum of the providers' books (a
/// `mismatch()` is a reconciliation alert).
pub fn pool_metrics(c: &Connection) -> Result<Vec<PoolMetrics>, StoreError> {
    let balances = all_balances(c)?;
    Token::ALL
        .into_iter()
        .map(|tok| {
            let (onchain_total, onchain_locked, last_block, last_sync_ms) = metrics(c, tok)?;
            let (mut total, mut locked, mut yld) = (0u128, 0u128, 0u128);
            for b in balances.values().filter_map(|m| m.get(&tok)) {
                total = total.saturating_add(b.total);
                locked = locked.saturating_add(b.locked);
                yld = yld.saturating_add(b.accrued_yield);
            }
            Ok(PoolMetrics {
                token: tok,
                onchain_total,
                onchain_locked,
                books_total: total,
                books_locked: locked,
                books_available: total.saturating_sub(locked),
                books_yield: yld,
                last_block,
                last_sync_ms,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Tiers' metrics

/// Every tier in every token: capital, locked, utilisation, providers, active policies,
/// yield and capacity, summed from the books. Configured tiers first, in config order.
pub fn tier_metrics(c: &Connection) -> Result<Vec<TierMetrics>, StoreError> {
    let balances = all_balances(c)?;
    let mut tier_of: BTreeMap<String, String> = BTreeMap::new();
    {
        let mut stmt = c.prepare("SELECT address, tier FROM pool_providers")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            tier_of.insert(r.get(0)?, r.get(1)?);
        }
    }
    let mut active: BTreeMap<(String, String), usize> = BTreeMap::new();
    {
        let mut stmt = c.prepare(
            "SELECT tier, token, COUNT(*) FROM pool_policies WHERE status = 'active' GROUP BY tier, token",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            active.insert((r.get(0)?, r.get(1)?), r.get::<_, i64>(2)? as usize);
        }
    }
    let mut out = Vec::new();
    for (params, configured) in all_tiers(c)? {
        let members: Vec<&String> = tier_of
            .iter()
            .filter(|(_, t)| **t == params.name)
            .map(|(a, _)| a)
            .collect();
        for tok in Token::ALL {
            let (mut capital, mut locked, mut yld) = (0u128, 0u128, 0u128);
            for b in members.iter().filter_map(|a| balances.get(*a)?.get(&tok)) {
                capital = capital.saturating_add(b.total);
                locked = locked.saturating_add(b.locked);
                yld = yld.saturating_add(b.accrued_yield);
            }
            let utilisation_bps = (capital > 0).then(|| {
                u32::try_from(
                    alloy::primitives::U256::from(locked)
                        * alloy::primitives::U256::from(10_000u32)
                        / alloy::primitives::U256::from(capital),
                )
                .unwrap_or(u32::MAX)
            });
            out.push(TierMetrics {
                configured,
                token: tok,
                capital,
                locked,
                available: capital.saturating_sub(locked),
                utilisation_bps,
                providers: members.len(),
                active_policies: active
                    .get(&(params.name.clone(), tok.as_str().to_string()))
                    .copied()
                    .unwrap_or(0),
                yield_accrued: yld,
                capacity_limit: params.capacity(tok),
                tier: params.clone(),
            });
        }
    }
    Ok(out)
}
