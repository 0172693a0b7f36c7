//! Withdrawal checks and requests.

use alloy::primitives::Address;
use rusqlite::{Connection, Row, params};

use super::health::{backs_anything, coverage_by_provider};
use super::providers::provider;
use super::rows::{addr_key, address, amount_text, invalid, journal, math, tier, token, units};
use super::types::{Withdrawal, WithdrawalCheck, WithdrawalStatus};
use crate::pool::math::health::{collateral_value_usd, max_withdrawable};
use crate::pool::model::{Prices, Token, Units, format_usd};
use crate::store::StoreError;

// ---------------------------------------------------------------------------------------
// Withdrawals

/// The most `who` may withdraw of `tok` now: their available balance, less what keeps
/// their collateral at what their backed policies need at `prices` times their tier's
/// collateral ratio plus `buffer_bps`. Prices are needed only when they back something.
pub fn withdrawal_check(
    c: &Connection,
    who: &Address,
    tok: Token,
    prices: Option<Prices>,
    buffer_bps: u32,
) -> Result<WithdrawalCheck, StoreError> {
    let p = provider(c, who)?
        .ok_or_else(|| invalid(format!("provider {who} has no account in the pool")))?;
    let available = p.balance(tok).available;
    if !backs_anything(c, who)? {
        return Ok(WithdrawalCheck {
            provider: *who,
            token: tok,
            available,
            max_withdrawable: available,
            coverage_usd: 0,
            value_usd: None,
        });
    }
    let px = prices.ok_or_else(|| {
        invalid(format!(
            "provider {who} backs active policies and prices are stale: the withdrawal maximum cannot be worked out"
        ))
    })?;
    let (tier_params, _) =
        tier(c, &p.tier)?.ok_or_else(|| invalid(format!("unknown tier {:?}", p.tier)))?;
    let coverage = coverage_by_provider(c, &px)?
        .get(&addr_key(who))
        .copied()
        .unwrap_or(0);
    let holdings: Vec<(Token, Units)> = p.balances.iter().map(|(t, b)| (*t, b.total)).collect();
    let value = collateral_value_usd(&holdings, &px).map_err(math("collateral value"))?;
    let max = max_withdrawable(
        tok,
        available,
        value,
        coverage,
        tier_params.collateral_ratio_bps,
        buffer_bps,
        px.of(tok),
    )
    .map_err(math("withdrawal maximum"))?;
    Ok(WithdrawalCheck {
        provider: *who,
        token: tok,
        available,
        max_withdrawable: max,
        coverage_usd: coverage,
        value_usd: Some(value),
    })
}

const WITHDRAWAL_COLUMNS: &str = "id, provider, token, amount, max_withdrawable, refused, status, action_id, requested_at, updated_at";

fn withdrawal_row(r: &Row<'_>) -> Result<Withdrawal, StoreError> {
    let st: String = r.get(6)?;
    Ok(Withdrawal {
        id: r.get(0)?,
        provider: address(&r.get::<_, String>(1)?)?,
        token: token(&r.get::<_, String>(2)?)?,
        amount: units(&r.get::<_, String>(3)?, "amount")?,
        max_withdrawable: units(&r.get::<_, String>(4)?, "maximum")?,
        refused: r.get(5)?,
        status: WithdrawalStatus::parse(&st)
            .ok_or_else(|| invalid(format!("bad withdrawal status {st:?}")))?,
        action_id: r.get(7)?,
        requested_at_ms: r.get(8)?,
        updated_at_ms: r.get(9)?,
    })
}

fn withdrawal_by_id(c: &Connection, id: i64) -> Result<Option<Withdrawal>, StoreError> {
    let mut stmt = c.prepare(&format!(
        "SELECT {WITHDRAWAL_COLUMNS} FROM pool_withdrawals WHERE id = ?1"
    ))?;
    let mut rows = stmt.query([id])?;
    match rows.next()? {
        Some(r) => withdrawal_row(r).map(Some),
        None => Ok(None),
    }
}

/// Records a provider's request to withdraw, checked against their maximum now (see
/// [`withdrawal_check`]): within it, `requested`; above it (or when the maximum cannot be
/// worked out for stale prices), `refused` with the reason. An unknown provider or a zero
/// amount is an error and writes nothing.
pub fn request_withdrawal(
    c: &mut Connection,
    who: Address,
    tok: Token,
    amount: Units,
    prices: Option<Prices>,
    buffer_bps: u32,
    now: i64,
) -> Result<Withdrawal, StoreError> {
    if amount == 0 {
        return Err(invalid("withdrawal amount: must be above zero"));
    }
    let tx = c.transaction()?;
    if provider(&tx, &who)?.is_none() {
        return Err(invalid(format!(
            "provider {who} has no account in the pool"
        )));
    }
    let (max, refused) = match withdrawal_check(&tx, &who, tok, prices, buffer_bps) {
        Ok(check) if amount <= check.max_withdrawable => (check.max_withdrawable, None),
        Ok(check) => (
            check.max_withdrawable,
            Some(format!(
                "asks {}, at most {} may be withdrawn (available {}; backed policies need {} USD at current prices plus the tier ratio and buffer)",
                amount_text(tok, amount),
                amount_text(tok, check.max_withdrawable),
                amount_text(tok, check.available),
                format_usd(check.coverage_usd)
            )),
        ),
        Err(StoreError::Invalid(why)) => (0, Some(why)),
        Err(e) => return Err(e),
    };
    let st = if refused.is_some() {
        WithdrawalStatus::Refused
    } else {
        WithdrawalStatus::Requested
    };
    tx.execute(
        "INSERT INTO pool_withdrawals(provider, token, amount, max_withdrawable, refused, status,
             requested_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        params![
            addr_key(&who),
            tok.as_str(),
            amount.to_string(),
            max.to_string(),
            refused,
            st.as_str(),
            now
        ],
    )?;
    let id = tx.last_insert_rowid();
    journal(
        &tx,
        now,
        "withdrawal_request",
        &addr_key(&who),
        &match &refused {
            None => format!(
                "#{id}: {} requested (maximum {})",
                amount_text(tok, amount),
                amount_text(tok, max)
            ),
            Some(why) => format!("#{id} refused: {why}"),
        },
    )?;
    let w = withdrawal_by_id(&tx, id)?.expect("just inserted");
    tx.commit()?;
    Ok(w)
}

/// Links a requested withdrawal to the action that carries it out.
pub fn set_withdrawal_action(
    c: &Connection,
    id: i64,
    action_id: i64,
    now: i64,
) -> Result<(), StoreError> {
    let n = c.execute(
        "UPDATE pool_withdrawals SET action_id = ?2, updated_at = ?3 WHERE id = ?1 AND status = 'requested'",
        params![id, action_id, now],
    )?;
    if n == 0 {
        return Err(invalid(format!("no requested pool withdrawal #{id}")));
    }
    Ok(())
}

/// Cancels a request that has not been paid.
pub fn cancel_withdrawal(c: &Connection, id: i64, now: i64) -> Result<(), StoreError> {
    let n = c.execute(
        "UPDATE pool_withdrawals SET status = 'cancelled', updated_at = ?2 WHERE id = ?1 AND status = 'requested'",
        params![id, now],
    )?;
    if n == 0 {
        return Err(invalid(format!("no requested pool withdrawal #{id}")));
    }
    journal(c, now, "withdrawal_request", &format!("#{id}"), "cancelled")?;
    Ok(())
}

/// The oldest open request matching a withdrawal the Vault paid is done.
pub(super) fn complete_withdrawal_request(
    c: &Connection,
    who: &Address,
    tok: Token,
    amount: Units,
    event_id: i64,
    now: i64,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE pool_withdrawals SET status = 'done', event_id = ?4, updated_at = ?5
         WHERE id = (SELECT id FROM pool_withdrawals WHERE provider = ?1 AND token = ?2
                     AND amount = ?3 AND status = 'requested' ORDER BY id LIMIT 1)",
        params![
            addr_key(who),
            tok.as_str(),
            amount.to_string(),
            event_id,
            now
        ],
    )?;
    Ok(())
}

/// Withdrawal requests, newest first (`open_only`: those still requested).
pub fn withdrawals(
    c: &Connection,
    open_only: bool,
    limit: u64,
) -> Result<Vec<Withdrawal>, StoreError> {
    let mut stmt = c.prepare(&format!(
        "SELECT {WITHDRAWAL_COLUMNS} FROM pool_withdrawals
         WHERE ?1 = 0 OR status = 'requested' ORDER BY id DESC LIMIT ?2"
    ))?;
    let mut rows = stmt.query(params![open_only as i64, limit as i64])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(withdrawal_row(r)?);
    }
    Ok(out)
}
