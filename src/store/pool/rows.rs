//! Row readers and writers shared by the pool's flows: parsing helpers, balances,
//! tiers, metrics, policies, allocations, applied events and the journal.

use std::collections::BTreeMap;
use std::str::FromStr;

use alloy::primitives::Address;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::types::{EventKey, VaultEvent};
use crate::pool::math::MathError;
use crate::pool::model::{
    Allocation, Policy, PolicyKind, PolicyStatus, ProviderStatus, TierParams, Token, TokenBalance,
    Units,
};
use crate::store::StoreError;

// ---------------------------------------------------------------------------------------
// Helpers

pub(super) fn invalid(msg: impl Into<String>) -> StoreError {
    StoreError::Invalid(msg.into())
}

pub(super) fn math(context: &str) -> impl Fn(MathError) -> StoreError + '_ {
    move |e| invalid(format!("{context}: {e}"))
}

pub(super) fn units(text: &str, what: &str) -> Result<Units, StoreError> {
    text.parse()
        .map_err(|_| invalid(format!("bad {what} {text:?} in the pool store")))
}

pub(super) fn opt_units(text: Option<String>, what: &str) -> Result<Option<Units>, StoreError> {
    text.map(|t| units(&t, what)).transpose()
}

pub(super) fn addr_key(a: &Address) -> String {
    a.to_string()
}

pub(super) fn address(text: &str) -> Result<Address, StoreError> {
    Address::from_str(text).map_err(|e| invalid(format!("bad address {text:?}: {e}")))
}

pub(super) fn token(text: &str) -> Result<Token, StoreError> {
    Token::parse(text).ok_or_else(|| invalid(format!("unknown token {text:?} in the pool store")))
}

pub(super) fn status(text: &str) -> Result<ProviderStatus, StoreError> {
    ProviderStatus::parse(text).ok_or_else(|| {
        invalid(format!(
            "unknown provider status {text:?} in the pool store"
        ))
    })
}

pub(super) fn amount_text(token: Token, units: Units) -> String {
    format!("{} {}", token.format_units(units), token.symbol())
}

pub(super) fn journal(
    c: &Connection,
    at: i64,
    flow: &str,
    subject: &str,
    detail: &str,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO pool_journal(at, flow, subject, detail) VALUES (?1, ?2, ?3, ?4)",
        params![at, flow, subject, detail],
    )?;
    Ok(())
}

pub(super) fn balance(
    c: &Connection,
    provider: &Address,
    tok: Token,
) -> Result<TokenBalance, StoreError> {
    let row: Option<(String, String, String)> = c
        .query_row(
            "SELECT total, locked, accrued_yield FROM pool_balances WHERE provider = ?1 AND token = ?2",
            params![addr_key(provider), tok.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    match row {
        None => Ok(TokenBalance::default()),
        Some((t, l, y)) => Ok(TokenBalance::new(
            units(&t, "total")?,
            units(&l, "locked")?,
            units(&y, "yield")?,
        )),
    }
}

pub(super) fn save_balance(
    c: &Connection,
    provider: &Address,
    tok: Token,
    b: &TokenBalance,
) -> Result<(), StoreError> {
    if b.locked > b.total {
        return Err(invalid(format!(
            "provider {provider} would have {} locked of {} in total",
            amount_text(tok, b.locked),
            amount_text(tok, b.total)
        )));
    }
    c.execute(
        "INSERT INTO pool_balances(provider, token, total, locked, accrued_yield)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(provider, token) DO UPDATE SET total = ?3, locked = ?4, accrued_yield = ?5",
        params![
            addr_key(provider),
            tok.as_str(),
            b.total.to_string(),
            b.locked.to_string(),
            b.accrued_yield.to_string()
        ],
    )?;
    Ok(())
}

pub(super) fn all_balances(
    c: &Connection,
) -> Result<BTreeMap<String, BTreeMap<Token, TokenBalance>>, StoreError> {
    let mut stmt =
        c.prepare("SELECT provider, token, total, locked, accrued_yield FROM pool_balances")?;
    let mut rows = stmt.query([])?;
    let mut out: BTreeMap<String, BTreeMap<Token, TokenBalance>> = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let provider: String = r.get(0)?;
        let tok = token(&r.get::<_, String>(1)?)?;
        let b = TokenBalance::new(
            units(&r.get::<_, String>(2)?, "total")?,
            units(&r.get::<_, String>(3)?, "locked")?,
            units(&r.get::<_, String>(4)?, "yield")?,
        );
        out.entry(provider).or_default().insert(tok, b);
    }
    Ok(out)
}

const TIER_COLUMNS: &str = "name, collateral_ratio_bps, warning_ratio_bps, margin_call_ratio_bps, \
     premium_multiplier, capacity_eth, capacity_wbtc, configured";

fn tier_row(r: &Row<'_>) -> Result<(TierParams, bool), StoreError> {
    let multiplier: String = r.get(4)?;
    Ok((
        TierParams {
            name: r.get(0)?,
            collateral_ratio_bps: r.get::<_, i64>(1)? as u32,
            warning_ratio_bps: r.get::<_, i64>(2)? as u32,
            margin_call_ratio_bps: r.get::<_, i64>(3)? as u32,
            premium_multiplier: multiplier
                .parse()
                .map_err(|_| invalid(format!("bad premium multiplier {multiplier:?}")))?,
            capacity_eth: opt_units(r.get(5)?, "capacity")?,
            capacity_wbtc: opt_units(r.get(6)?, "capacity")?,
        },
        r.get::<_, i64>(7)? != 0,
    ))
}

pub(super) fn tier(c: &Connection, name: &str) -> Result<Option<(TierParams, bool)>, StoreError> {
    let mut stmt = c.prepare(&format!(
        "SELECT {TIER_COLUMNS} FROM pool_tiers WHERE name = ?1"
    ))?;
    let mut rows = stmt.query([name])?;
    match rows.next()? {
        Some(r) => tier_row(r).map(Some),
        None => Ok(None),
    }
}

pub(super) fn all_tiers(c: &Connection) -> Result<Vec<(TierParams, bool)>, StoreError> {
    let mut stmt = c.prepare(&format!(
        "SELECT {TIER_COLUMNS} FROM pool_tiers ORDER BY configured DESC, position, name"
    ))?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(tier_row(r)?);
    }
    Ok(out)
}

/// `(onchain_total, onchain_locked, last_block, last_sync_at)` for a token.
pub(super) fn metrics(
    c: &Connection,
    tok: Token,
) -> Result<(Units, Units, Option<u64>, Option<i64>), StoreError> {
    let row: Option<(String, String, Option<i64>, Option<i64>)> = c
        .query_row(
            "SELECT onchain_total, onchain_locked, last_block, last_sync_at FROM pool_metrics
             WHERE token = ?1",
            [tok.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    match row {
        None => Ok((0, 0, None, None)),
        Some((t, l, b, s)) => Ok((
            units(&t, "on-chain total")?,
            units(&l, "on-chain locked")?,
            b.map(|b| b as u64),
            s,
        )),
    }
}

pub(super) fn save_metrics(
    c: &Connection,
    tok: Token,
    total: Units,
    locked: Units,
    block: Option<u64>,
    now: i64,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO pool_metrics(token, onchain_total, onchain_locked, last_block, last_sync_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(token) DO UPDATE SET onchain_total = ?2, onchain_locked = ?3,
             last_block = MAX(COALESCE(last_block, 0), COALESCE(?4, 0)), last_sync_at = ?5",
        params![
            tok.as_str(),
            total.to_string(),
            locked.to_string(),
            block.map(|b| b as i64),
            now
        ],
    )?;
    Ok(())
}

const POLICY_COLUMNS: &str = "id, idem_key, kind, buyer, buyer_tier, tier, token, strike_usd_e8, \
     amount_sats, premium, collateral_locked, collateral_ratio_bps, spot_usd_e8, expires_at, status, \
     onchain_locked, settlement_price_e8, payout, yield_accrued_at, created_at, closed_at, updated_at";

fn policy_row(r: &Row<'_>) -> Result<Policy, StoreError> {
    let kind: String = r.get(2)?;
    let st: String = r.get(14)?;
    Ok(Policy {
        id: r.get(0)?,
        idem_key: r.get(1)?,
        kind: PolicyKind::parse(&kind)
            .ok_or_else(|| invalid(format!("bad policy kind {kind:?}")))?,
        buyer: address(&r.get::<_, String>(3)?)?,
        buyer_tier: r.get(4)?,
        tier: r.get(5)?,
        token: token(&r.get::<_, String>(6)?)?,
        strike_usd: units(&r.get::<_, String>(7)?, "strike")?,
        amount_sats: r.get::<_, i64>(8)? as u64,
        premium: units(&r.get::<_, String>(9)?, "premium")?,
        collateral_locked: units(&r.get::<_, String>(10)?, "collateral")?,
        collateral_ratio_bps: r.get::<_, i64>(11)? as u32,
        spot_usd: units(&r.get::<_, String>(12)?, "spot")?,
        expires_at_ms: r.get(13)?,
        status: PolicyStatus::parse(&st)
            .ok_or_else(|| invalid(format!("bad policy status {st:?}")))?,
        onchain_locked: r.get::<_, i64>(15)? != 0,
        settlement_price_usd: opt_units(r.get(16)?, "settlement price")?,
        payout: opt_units(r.get(17)?, "payout")?,
        yield_accrued_at_ms: r.get(18)?,
        created_at_ms: r.get(19)?,
        closed_at_ms: r.get(20)?,
        updated_at_ms: r.get(21)?,
    })
}

pub(super) fn select_policies(
    c: &Connection,
    sql_where: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<Policy>, StoreError> {
    let mut stmt = c.prepare(&format!(
        "SELECT {POLICY_COLUMNS} FROM pool_policies {sql_where}"
    ))?;
    let mut rows = stmt.query(args)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(policy_row(r)?);
    }
    Ok(out)
}

pub(super) fn policy_by_id(c: &Connection, id: i64) -> Result<Option<Policy>, StoreError> {
    Ok(select_policies(c, "WHERE id = ?1", &[&id])?.pop())
}

pub(super) fn allocation_row(r: &Row<'_>) -> Result<Allocation, StoreError> {
    Ok(Allocation {
        policy_id: r.get(0)?,
        provider: address(&r.get::<_, String>(1)?)?,
        token: token(&r.get::<_, String>(2)?)?,
        amount_locked: units(&r.get::<_, String>(3)?, "allocation")?,
        premium_share: units(&r.get::<_, String>(4)?, "premium share")?,
        settlement_debit: opt_units(r.get(5)?, "settlement debit")?,
        released_at_ms: r.get(6)?,
    })
}

pub(super) fn event_seen(c: &Connection, key: &EventKey) -> Result<bool, StoreError> {
    Ok(c.query_row(
        "SELECT 1 FROM pool_vault_events WHERE tx_hash = ?1 AND log_index = ?2",
        params![key.tx_hash.to_string(), key.log_index as i64],
        |_| Ok(()),
    )
    .optional()?
    .is_some())
}

pub(super) fn record_event(
    c: &Connection,
    key: &EventKey,
    ev: &VaultEvent,
    anomaly: Option<&str>,
    now: i64,
) -> Result<i64, StoreError> {
    c.execute(
        "INSERT INTO pool_vault_events(tx_hash, log_index, block_number, kind, token, amount,
             account, policy_ids, outcome, note, applied_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            key.tx_hash.to_string(),
            key.log_index as i64,
            key.block_number as i64,
            ev.kind(),
            ev.token().as_str(),
            ev.amount().to_string(),
            ev.account().map(|a| addr_key(&a)),
            ev.policy_ids()
                .map(|ids| serde_json::to_string(&ids).expect("ids serialize")),
            if anomaly.is_some() {
                "anomaly"
            } else {
                "applied"
            },
            anomaly,
            now
        ],
    )?;
    Ok(c.last_insert_rowid())
}

pub(super) fn event_ref(key: &EventKey) -> String {
    format!("{}:{}", key.tx_hash, key.log_index)
}
