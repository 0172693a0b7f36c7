//! Applying the Vault's events to the books, once each.

use rusqlite::{Connection, params};

use super::policies::allocations;
use super::providers::{insert_provider, provider};
use super::rows::{
    addr_key, amount_text, balance, event_ref, event_seen, invalid, journal, metrics, policy_by_id,
    record_event, save_balance, save_metrics,
};
use super::types::{EventKey, EventOutcome, VaultEvent};
use super::withdrawals::complete_withdrawal_request;
use crate::pool::math::MathError;
use crate::pool::math::settlement::{Backer, settlement_debits};
use crate::pool::model::{PolicyStatus, Token, TokenBalance, Units, UsdE8, format_usd};
use crate::store::StoreError;

// ---------------------------------------------------------------------------------------
// Vault events

/// Applies one confirmed Vault event, exactly once by `(tx hash, log index)`. A deposit
/// from a provider the books do not know opens their account in `default_tier`.
pub fn apply_event(
    c: &mut Connection,
    key: EventKey,
    ev: &VaultEvent,
    default_tier: &str,
    now: i64,
) -> Result<EventOutcome, StoreError> {
    let tx = c.transaction()?;
    let outcome = apply_event_in(&tx, key, ev, default_tier, now)?;
    tx.commit()?;
    Ok(outcome)
}

/// [`apply_event`] inside a transaction the caller owns (the event ingestion's, which moves
/// the stream's cursor in the same commit).
pub fn apply_event_in(
    tx: &Connection,
    key: EventKey,
    ev: &VaultEvent,
    default_tier: &str,
    now: i64,
) -> Result<EventOutcome, StoreError> {
    if event_seen(tx, &key)? {
        return Ok(EventOutcome::Duplicate);
    }
    let tok = ev.token();
    let (mut total, mut locked, _, _) = metrics(tx, tok)?;
    let at = event_ref(&key);
    let anomaly: Option<String> = match ev {
        VaultEvent::Deposited {
            provider: a,
            amount,
            ..
        } => {
            total = total
                .checked_add(*amount)
                .ok_or_else(|| invalid("the Vault's mirrored total overflows"))?;
            if provider(tx, a)?.is_none() {
                insert_provider(tx, a, default_tier, now)?;
            }
            let mut b = balance(tx, a, tok)?;
            b = TokenBalance::new(
                b.total
                    .checked_add(*amount)
                    .ok_or_else(|| invalid(format!("provider {a}'s balance overflows")))?,
                b.locked,
                b.accrued_yield,
            );
            save_balance(tx, a, tok, &b)?;
            tx.execute(
                "UPDATE pool_providers SET deposit_count = deposit_count + 1, updated_at = ?2
                 WHERE address = ?1",
                params![addr_key(a), now],
            )?;
            journal(
                tx,
                now,
                "deposit",
                &addr_key(a),
                &format!("+{} ({at})", amount_text(tok, *amount)),
            )?;
            None
        }
        VaultEvent::Withdrawn {
            provider: a,
            amount,
            ..
        } => {
            total = total.saturating_sub(*amount);
            match provider(tx, a)? {
                None => Some(format!(
                    "withdrawal of {} by {a}, who has no account in the books",
                    amount_text(tok, *amount)
                )),
                Some(p) if p.balance(tok).available < *amount => Some(format!(
                    "withdrawal of {} by {a} exceeds their available {}",
                    amount_text(tok, *amount),
                    amount_text(tok, p.balance(tok).available)
                )),
                Some(p) => {
                    let b = p.balance(tok);
                    save_balance(
                        tx,
                        a,
                        tok,
                        &TokenBalance::new(b.total - amount, b.locked, b.accrued_yield),
                    )?;
                    tx.execute(
                        "UPDATE pool_providers SET withdrawal_count = withdrawal_count + 1,
                             updated_at = ?2 WHERE address = ?1",
                        params![addr_key(a), now],
                    )?;
                    journal(
                        tx,
                        now,
                        "withdrawal",
                        &addr_key(a),
                        &format!("-{} ({at})", amount_text(tok, *amount)),
                    )?;
                    None
                }
            }
        }
        VaultEvent::CollateralLocked {
            policy_ids, amount, ..
        } => {
            locked = locked.saturating_add(*amount);
            let problem = mark_onchain_lock(tx, policy_ids, tok, true, now)?;
            journal(
                tx,
                now,
                "lock",
                &format!("policies {policy_ids:?}"),
                &format!("Vault locked {} ({at})", amount_text(tok, *amount)),
            )?;
            problem
        }
        VaultEvent::CollateralReleased {
            policy_ids, amount, ..
        } => {
            let problem = if *amount > locked {
                Some(format!(
                    "the Vault released {} with only {} mirrored as locked",
                    amount_text(tok, *amount),
                    amount_text(tok, locked)
                ))
            } else {
                None
            };
            locked = locked.saturating_sub(*amount);
            let marks = mark_onchain_lock(tx, policy_ids, tok, false, now)?;
            journal(
                tx,
                now,
                "release",
                &format!("policies {policy_ids:?}"),
                &format!("Vault released {} ({at})", amount_text(tok, *amount)),
            )?;
            problem.or(marks)
        }
        VaultEvent::SettlementPaid {
            policy_id,
            amount,
            settlement_price,
            ..
        } => {
            total = total.saturating_sub(*amount);
            // The Vault spends locked collateral first: `min(amount, locked)`.
            locked = locked.saturating_sub((*amount).min(locked));
            settle(tx, *policy_id, tok, *amount, *settlement_price, &at, now)?
        }
    };
    save_metrics(tx, tok, total, locked, Some(key.block_number), now)?;
    let event_id = record_event(tx, &key, ev, anomaly.as_deref(), now)?;
    if let (
        VaultEvent::Withdrawn {
            provider: a,
            amount,
            ..
        },
        None,
    ) = (ev, &anomaly)
    {
        complete_withdrawal_request(tx, a, tok, *amount, event_id, now)?;
    }
    if let Some(why) = &anomaly {
        journal(tx, now, "anomaly", &format!("{} {at}", ev.kind()), why)?;
    }
    Ok(match anomaly {
        None => EventOutcome::Applied,
        Some(why) => EventOutcome::Anomaly(why),
    })
}

fn mark_onchain_lock(
    c: &Connection,
    policy_ids: &[i64],
    tok: Token,
    locked: bool,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let mut problems = Vec::new();
    for id in policy_ids {
        match policy_by_id(c, *id)? {
            None => problems.push(format!("unknown policy #{id}")),
            Some(p) if p.token != tok => problems.push(format!(
                "policy #{id} is collateralised in {}, the event is in {tok}",
                p.token
            )),
            Some(_) => {
                c.execute(
                    "UPDATE pool_policies SET onchain_locked = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id, locked as i64, now],
                )?;
            }
        }
    }
    Ok((!problems.is_empty()).then(|| problems.join("; ")))
}

/// The books' side of a settlement the Vault paid: each backer debited pro rata to their
/// lock and their lock released, the policy settled. An anomaly (returned) changes no books.
fn settle(
    c: &Connection,
    policy_id: i64,
    tok: Token,
    paid: Units,
    settlement_price: Option<UsdE8>,
    at: &str,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let Some(policy) = policy_by_id(c, policy_id)? else {
        return Ok(Some(format!("settlement of unknown policy #{policy_id}")));
    };
    if policy.status != PolicyStatus::Active {
        return Ok(Some(format!(
            "policy #{policy_id} is already {}",
            policy.status
        )));
    }
    if policy.token != tok {
        return Ok(Some(format!(
            "policy #{policy_id} is collateralised in {}, the Vault paid {tok}",
            policy.token
        )));
    }
    // The event carries no price: the one the desk noted when it proposed the settlement.
    let settlement_price = settlement_price.or(policy.settlement_price_usd);
    let allocs = allocations(c, policy_id)?;
    let mut books = Vec::with_capacity(allocs.len());
    for a in &allocs {
        let b = balance(c, &a.provider, tok)?;
        if b.locked < a.amount_locked {
            return Ok(Some(format!(
                "settlement of policy #{policy_id}: backer {} has {} locked, less than the {} they hold for it",
                a.provider,
                amount_text(tok, b.locked),
                amount_text(tok, a.amount_locked)
            )));
        }
        books.push(b);
    }
    let backers: Vec<Backer> = allocs
        .iter()
        .zip(&books)
        .map(|(a, b)| Backer {
            locked_for_policy: a.amount_locked,
            total: b.total,
            locked: b.locked,
        })
        .collect();
    let debits = match settlement_debits(paid, &backers) {
        Ok(d) => d,
        Err(MathError::Shortfall { index, need, have }) => {
            return Ok(Some(format!(
                "settlement of policy #{policy_id} ({}): backer {} owes {} and has only {}",
                amount_text(tok, paid),
                allocs[index].provider,
                amount_text(tok, need),
                amount_text(tok, have)
            )));
        }
        Err(e) => return Ok(Some(format!("settlement of policy #{policy_id}: {e}"))),
    };
    for ((a, b), debit) in allocs.iter().zip(&books).zip(&debits) {
        let after = TokenBalance::new(b.total - debit, b.locked - a.amount_locked, b.accrued_yield);
        save_balance(c, &a.provider, tok, &after)?;
        c.execute(
            "UPDATE pool_allocations SET settlement_debit = ?3, released_at = ?4
             WHERE policy_id = ?1 AND provider = ?2",
            params![policy_id, addr_key(&a.provider), debit.to_string(), now],
        )?;
    }
    c.execute(
        "UPDATE pool_policies SET status = 'settled', payout = ?2, settlement_price_e8 = ?3,
             closed_at = ?4, updated_at = ?4
         WHERE id = ?1",
        params![
            policy_id,
            paid.to_string(),
            settlement_price.map(|p| p.to_string()),
            now
        ],
    )?;
    journal(
        c,
        now,
        "settlement",
        &format!("policy #{policy_id}"),
        &format!(
            "paid {} to {}{}; debited {} backer(s) pro rata ({at})",
            amount_text(tok, paid),
            policy.buyer,
            settlement_price
                .map(|p| format!(" at BTC {} USD", format_usd(p)))
                .unwrap_or_default(),
            allocs.len()
        ),
    )?;
    Ok(None)
}
