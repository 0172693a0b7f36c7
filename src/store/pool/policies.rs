//! Policies: selling, expiring, accruing yield, and reading them with their allocations.

use alloy::primitives::Address;
use rusqlite::{Connection, params};

use super::rows::{
    addr_key, address, allocation_row, amount_text, balance, invalid, journal, math, policy_by_id,
    save_balance, select_policies, status, tier, units,
};
use super::types::{Created, NewPolicy, PolicyBook, PolicyFilter, Underwriting};
use crate::pool::math::allocation::allocate;
use crate::pool::math::capacity::check_availability;
use crate::pool::math::collateral::required_collateral;
use crate::pool::math::premium::{QuoteRequest, quote};
use crate::pool::math::split::split_pro_rata;
use crate::pool::model::{
    Allocation, Policy, PolicyStatus, Token, TokenBalance, Units, format_usd,
};
use crate::store::StoreError;

// ---------------------------------------------------------------------------------------
// Policies

/// Sells a policy: picks the first of `u.backing_tiers` whose eligible providers (not in
/// margin call) have the collateral available, locks it across them pro rata to their
/// available capital, quotes the premium (unless given) with that tier's multiplier and
/// splits it pro rata to the locks. All in one transaction; a refusal names each tier's
/// reason and writes nothing. The same `idem_key` again returns the first policy.
pub fn create_policy(
    c: &mut Connection,
    new: &NewPolicy,
    u: &Underwriting,
    now: i64,
) -> Result<Created, StoreError> {
    let tx = c.transaction()?;
    if let Some(existing) = select_policies(&tx, "WHERE idem_key = ?1", &[&new.idem_key])?.pop() {
        let allocations = allocations(&tx, existing.id)?;
        return Ok(Created::Existing(PolicyBook {
            policy: existing,
            allocations,
        }));
    }
    if new.idem_key.trim().is_empty() {
        return Err(invalid("policy idem_key: must not be empty"));
    }
    if new.strike_usd == 0 {
        return Err(invalid("policy strike: must be above zero"));
    }
    if new.amount_sats == 0 || new.amount_sats > i64::MAX as u64 {
        return Err(invalid(format!(
            "policy amount: {} sats is out of range",
            new.amount_sats
        )));
    }
    if new.expires_at_ms <= now {
        return Err(invalid(format!(
            "policy expiry: {} is not after now ({now})",
            new.expires_at_ms
        )));
    }
    if new.premium == Some(0) {
        return Err(invalid("policy premium: must be above zero"));
    }
    if u.prices.btc_usd == 0 || u.prices.of(new.token) == 0 {
        return Err(invalid(
            "prices: BTC/USD and the collateral token's price must be above zero",
        ));
    }
    if u.backing_tiers.is_empty() {
        return Err(invalid(format!(
            "buyer tier {:?}: no provider tier backs it",
            new.buyer_tier
        )));
    }
    let tok = new.token;
    let mut refusals = Vec::new();
    let mut chosen = None;
    for tier_name in &u.backing_tiers {
        let params = match tier(&tx, tier_name)? {
            Some((p, true)) => p,
            Some((_, false)) => {
                refusals.push(format!("tier {tier_name} is no longer configured"));
                continue;
            }
            None => {
                refusals.push(format!("tier {tier_name} is unknown"));
                continue;
            }
        };
        let required = required_collateral(
            new.kind,
            new.strike_usd,
            new.amount_sats,
            tok,
            &u.prices,
            params.collateral_ratio_bps,
        )
        .map_err(math("required collateral"))?;
        let candidates = tier_candidates(&tx, tier_name, tok)?;
        let available: Units = candidates
            .iter()
            .map(|(_, a)| *a)
            .fold(0u128, u128::saturating_add);
        if let Err(refusal) = check_availability(tier_name, tok, available, required) {
            refusals.push(refusal.to_string());
            continue;
        }
        chosen = Some((params, required, candidates));
        break;
    }
    let Some((params, required, candidates)) = chosen else {
        return Err(invalid(format!(
            "no tier can back this {} on {} sats ({}): {}",
            new.kind,
            new.amount_sats,
            u.backing_tiers.join(", "),
            refusals.join("; ")
        )));
    };
    let weights: Vec<Units> = candidates.iter().map(|(_, a)| *a).collect();
    let locks = allocate(required, &weights).map_err(math("allocation"))?;
    let backers: Vec<(Address, Units)> = candidates
        .iter()
        .zip(&locks)
        .filter(|(_, l)| **l > 0)
        .map(|((a, _), l)| (*a, *l))
        .collect();
    let premium = match new.premium {
        Some(p) => p,
        None => {
            quote(
                &u.premium,
                &QuoteRequest {
                    kind: new.kind,
                    strike_usd: new.strike_usd,
                    amount_sats: new.amount_sats,
                    spot_usd: u.prices.btc_usd,
                    duration_ms: new.expires_at_ms - now,
                    tier_multiplier: params.premium_multiplier,
                    token: tok,
                    token_price: u.prices.of(tok),
                },
            )
            .map_err(math("premium"))?
            .premium
        }
    };
    let shares = split_pro_rata(
        premium,
        &backers.iter().map(|(_, l)| *l).collect::<Vec<_>>(),
    )
    .map_err(math("premium shares"))?;

    tx.execute(
        "INSERT INTO pool_policies(idem_key, kind, buyer, buyer_tier, tier, token, strike_usd_e8,
             amount_sats, premium, collateral_locked, collateral_ratio_bps, spot_usd_e8,
             expires_at, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'active', ?14, ?14)",
        params![
            new.idem_key,
            new.kind.as_str(),
            addr_key(&new.buyer),
            new.buyer_tier,
            params.name,
            tok.as_str(),
            new.strike_usd.to_string(),
            new.amount_sats as i64,
            premium.to_string(),
            required.to_string(),
            params.collateral_ratio_bps,
            u.prices.btc_usd.to_string(),
            new.expires_at_ms,
            now
        ],
    )?;
    let id = tx.last_insert_rowid();
    for ((a, lock), share) in backers.iter().zip(&shares) {
        let b = balance(&tx, a, tok)?;
        save_balance(
            &tx,
            a,
            tok,
            &TokenBalance::new(b.total, b.locked + lock, b.accrued_yield),
        )?;
        tx.execute(
            "INSERT INTO pool_allocations(policy_id, provider, token, amount_locked, premium_share)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                id,
                addr_key(a),
                tok.as_str(),
                lock.to_string(),
                share.to_string()
            ],
        )?;
    }
    journal(
        &tx,
        now,
        "policy",
        &format!("policy #{id}"),
        &format!(
            "{} {} sats at strike {} USD for {} ({}): tier {} locks {} across {} provider(s), premium {}",
            new.kind,
            new.amount_sats,
            format_usd(new.strike_usd),
            new.buyer,
            new.buyer_tier,
            params.name,
            amount_text(tok, required),
            backers.len(),
            amount_text(tok, premium)
        ),
    )?;
    let book = PolicyBook {
        policy: policy_by_id(&tx, id)?.expect("just inserted"),
        allocations: allocations(&tx, id)?,
    };
    tx.commit()?;
    Ok(Created::New(book))
}

/// The providers of a tier who may back a new policy in `tok`, with what they have
/// available, by address.
fn tier_candidates(
    c: &Connection,
    tier_name: &str,
    tok: Token,
) -> Result<Vec<(Address, Units)>, StoreError> {
    let mut stmt = c.prepare(
        "SELECT p.address, p.status, b.total, b.locked FROM pool_providers p
         JOIN pool_balances b ON b.provider = p.address AND b.token = ?2
         WHERE p.tier = ?1",
    )?;
    let mut rows = stmt.query(params![tier_name, tok.as_str()])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        if !status(&r.get::<_, String>(1)?)?.may_back_new_policies() {
            continue;
        }
        let b = TokenBalance::new(
            units(&r.get::<_, String>(2)?, "total")?,
            units(&r.get::<_, String>(3)?, "locked")?,
            0,
        );
        if b.available > 0 {
            out.push((address(&r.get::<_, String>(0)?)?, b.available));
        }
    }
    out.sort_by_key(|(a, _)| *a);
    Ok(out)
}

/// Expires a policy at or after its expiry: every backer's lock is released. Expiring an
/// expired policy again changes nothing; a settled one is refused.
pub fn expire_policy(c: &mut Connection, id: i64, now: i64) -> Result<Policy, StoreError> {
    let tx = c.transaction()?;
    let policy = policy_by_id(&tx, id)?.ok_or_else(|| invalid(format!("no pool policy #{id}")))?;
    match policy.status {
        PolicyStatus::Expired => return Ok(policy),
        PolicyStatus::Settled => return Err(invalid(format!("pool policy #{id} is settled"))),
        PolicyStatus::Active => {}
    }
    if now < policy.expires_at_ms {
        return Err(invalid(format!(
            "pool policy #{id} expires at {}, not before (now {now})",
            policy.expires_at_ms
        )));
    }
    let allocs = allocations(&tx, id)?;
    for a in allocs.iter().filter(|a| a.released_at_ms.is_none()) {
        let b = balance(&tx, &a.provider, a.token)?;
        let locked = b.locked.checked_sub(a.amount_locked).ok_or_else(|| {
            invalid(format!(
                "provider {} has {} locked, less than the {} policy #{id} holds",
                a.provider,
                amount_text(a.token, b.locked),
                amount_text(a.token, a.amount_locked)
            ))
        })?;
        save_balance(
            &tx,
            &a.provider,
            a.token,
            &TokenBalance::new(b.total, locked, b.accrued_yield),
        )?;
        tx.execute(
            "UPDATE pool_allocations SET released_at = ?3 WHERE policy_id = ?1 AND provider = ?2",
            params![id, addr_key(&a.provider), now],
        )?;
    }
    tx.execute(
        "UPDATE pool_policies SET status = 'expired', closed_at = ?2, updated_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    journal(
        &tx,
        now,
        "expiry",
        &format!("policy #{id}"),
        &format!(
            "expired; released {} across {} backer(s)",
            amount_text(policy.token, policy.collateral_locked),
            allocs.len()
        ),
    )?;
    let after = policy_by_id(&tx, id)?.expect("exists");
    tx.commit()?;
    Ok(after)
}

/// Notes on an active policy the BTC/USD price the desk is settling it at (the Vault's
/// settlement-paid event does not carry it; applying that event keeps this one).
pub fn note_settlement_price(
    c: &Connection,
    id: i64,
    price: crate::pool::model::UsdE8,
    now: i64,
) -> Result<(), StoreError> {
    let n = c.execute(
        "UPDATE pool_policies SET settlement_price_e8 = ?2, updated_at = ?3
         WHERE id = ?1 AND status = 'active'",
        params![id, price.to_string(), now],
    )?;
    if n == 0 {
        return Err(invalid(format!("no active pool policy #{id}")));
    }
    Ok(())
}

/// Credits a policy's premium to its backers' yield, each their premium share (pro rata to
/// their lock). Once per policy: returns whether it credited anything now.
pub fn accrue_yield(c: &mut Connection, id: i64, now: i64) -> Result<bool, StoreError> {
    let tx = c.transaction()?;
    let policy = policy_by_id(&tx, id)?.ok_or_else(|| invalid(format!("no pool policy #{id}")))?;
    if policy.yield_accrued_at_ms.is_some() {
        return Ok(false);
    }
    let allocs = allocations(&tx, id)?;
    for a in &allocs {
        let b = balance(&tx, &a.provider, a.token)?;
        let y = b
            .accrued_yield
            .checked_add(a.premium_share)
            .ok_or_else(|| invalid(format!("provider {}'s yield overflows", a.provider)))?;
        save_balance(
            &tx,
            &a.provider,
            a.token,
            &TokenBalance::new(b.total, b.locked, y),
        )?;
    }
    tx.execute(
        "UPDATE pool_policies SET yield_accrued_at = ?2, updated_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    journal(
        &tx,
        now,
        "yield",
        &format!("policy #{id}"),
        &format!(
            "premium {} credited to {} backer(s) pro rata",
            amount_text(policy.token, policy.premium),
            allocs.len()
        ),
    )?;
    tx.commit()?;
    Ok(true)
}

/// Policies, filtered: active ones soonest expiry first, others newest first.
pub fn policies(c: &Connection, f: &PolicyFilter) -> Result<Vec<Policy>, StoreError> {
    let mut clauses = Vec::new();
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    if let Some(s) = f.status {
        args.push(Box::new(s.as_str()));
        clauses.push(format!("status = ?{}", args.len()));
    }
    if let Some(p) = f.provider {
        args.push(Box::new(addr_key(&p)));
        clauses.push(format!(
            "id IN (SELECT policy_id FROM pool_allocations WHERE provider = ?{})",
            args.len()
        ));
    }
    let order = if f.status == Some(PolicyStatus::Active) {
        "ORDER BY expires_at, id"
    } else {
        "ORDER BY id DESC"
    };
    let limit = f.limit.map(|l| format!(" LIMIT {l}")).unwrap_or_default();
    let sql_where = if clauses.is_empty() {
        format!("{order}{limit}")
    } else {
        format!("WHERE {} {order}{limit}", clauses.join(" AND "))
    };
    let refs: Vec<&dyn rusqlite::ToSql> = args.iter().map(|a| a.as_ref()).collect();
    select_policies(c, &sql_where, &refs)
}

// ---------------------------------------------------------------------------------------
// Policy books

/// A policy's allocations, by provider address.
pub fn allocations(c: &Connection, policy_id: i64) -> Result<Vec<Allocation>, StoreError> {
    let mut stmt = c.prepare(
        "SELECT policy_id, provider, token, amount_locked, premium_share, settlement_debit,
             released_at
         FROM pool_allocations WHERE policy_id = ?1",
    )?;
    let mut rows = stmt.query([policy_id])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(allocation_row(r)?);
    }
    out.sort_by_key(|a| a.provider);
    Ok(out)
}

/// A policy and its allocations.
pub fn policy_book(c: &Connection, id: i64) -> Result<Option<PolicyBook>, StoreError> {
    let Some(policy) = policy_by_id(c, id)? else {
        return Ok(None);
    };
    let allocations = allocations(c, id)?;
    Ok(Some(PolicyBook {
        policy,
        allocations,
    }))
}
