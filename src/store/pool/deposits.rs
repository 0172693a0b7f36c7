//! A deposit prepared for a provider to sign: their tier settled and the tier's capacity
//! checked before any transaction is handed out. The deposit itself is credited only by the
//! Vault's confirmed `FundsDeposited` event (`events.rs`).

use alloy::primitives::Address;
use rusqlite::Connection;

use super::providers::{provider, register_in, tier_capital};
use super::rows::{addr_key, amount_text, journal, tier};
use crate::pool::math::capacity::{CapacityRefusal, check_deposit};
use crate::pool::model::{Provider, Token, Units};
use crate::store::StoreError;

/// What preparing a deposit decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DepositPrepared {
    /// The provider's account (registered or moved to the tier asked for) may deposit.
    Ready(Provider),
    /// The tier cannot take it; nothing was written.
    Refused(CapacityRefusal),
}

/// Prepares `amount` of `tok` from `a` into `tier_name` (None: the tier they are in, or
/// `default_tier` for a new provider). Registers or moves the provider and journals the
/// preparation in one transaction; a refusal (capacity, a tier change while collateral is
/// locked, an unknown tier) writes nothing. Preparing the same deposit twice only adds a
/// journal line: the account is already as asked.
pub fn prepare_deposit(
    c: &mut Connection,
    a: Address,
    tier_name: Option<&str>,
    default_tier: &str,
    tok: Token,
    amount: Units,
    now: i64,
) -> Result<DepositPrepared, StoreError> {
    let tx = c.transaction()?;
    let tier_name = match (tier_name, provider(&tx, &a)?) {
        (Some(t), _) => t.to_string(),
        (None, Some(p)) => p.tier,
        (None, None) => default_tier.to_string(),
    };
    let p = register_in(&tx, a, &tier_name, now)?;
    let (params, _) = tier(&tx, &tier_name)?.expect("registered in a known tier");
    let capital = tier_capital(&tx, &tier_name, tok)?;
    if let Err(refusal) = check_deposit(&tier_name, tok, capital, amount, params.capacity(tok)) {
        return Ok(DepositPrepared::Refused(refusal));
    }
    journal(
        &tx,
        now,
        "deposit",
        &addr_key(&a),
        &format!(
            "prepared {} into tier {tier_name} for the provider to sign",
            amount_text(tok, amount)
        ),
    )?;
    tx.commit()?;
    Ok(DepositPrepared::Ready(p))
}
