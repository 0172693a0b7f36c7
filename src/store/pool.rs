//! The pool desk's books: providers and their balances per token, the tiers, the policies
//! and which providers back them, the Vault events applied, the Vault's mirrored totals,
//! health transitions, withdrawal requests and a journal of every flow.
//!
//! Every flow is one SQLite transaction, idempotent and journaled:
//! - a Vault event is applied at most once, keyed by `(tx hash, log index)`; a replay is
//!   reported as [`EventOutcome::Duplicate`] and changes nothing;
//! - a Vault event the books cannot follow (a withdrawal above the provider's available
//!   balance, a settlement a backer cannot cover) is still recorded, as an anomaly, and the
//!   mirrored Vault totals move with it while the books do not: reconciliation then shows
//!   the mismatch, which is never corrected silently;
//! - creating a policy is keyed by the caller's idempotency key, and checks the tier's
//!   capacity and the providers' available capital in the same transaction: a refusal says
//!   why and writes nothing;
//! - expiring, accruing yield and health checks do nothing the second time.
//!
//! Token amounts are `u128` base units, stored as decimal TEXT; USD is × 10^8; times are
//! unix milliseconds. The pure arithmetic lives in `crate::pool::math`.

use std::collections::BTreeMap;
use std::str::FromStr;

use alloy::primitives::{Address, B256};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Store, StoreError};
use crate::pool::math::MathError;
use crate::pool::math::allocation::allocate;
use crate::pool::math::capacity::{CapacityRefusal, check_availability, check_deposit};
use crate::pool::math::collateral::{backer_coverage, coverage_usd, required_collateral};
use crate::pool::math::health::{
    HealthRule, collateral_value_usd, health_ratio_bps, judge, max_withdrawable,
};
use crate::pool::math::premium::{PremiumModel, QuoteRequest, quote};
use crate::pool::math::settlement::{Backer, settlement_debits};
use crate::pool::math::split::split_pro_rata;
use crate::pool::model::{
    Allocation, Policy, PolicyKind, PolicyStatus, PoolMetrics, Prices, Provider, ProviderStatus,
    TierMetrics, TierParams, Token, TokenBalance, Units, UsdE8, format_usd,
};

// ---------------------------------------------------------------------------------------
// Inputs and outcomes

/// Where a Vault event sits on chain: its identity for idempotency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventKey {
    pub tx_hash: B256,
    pub log_index: u64,
    pub block_number: u64,
}

/// A confirmed Vault event, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultEvent {
    /// `funds-deposited`: a provider's deposit reached the Vault.
    Deposited {
        provider: Address,
        token: Token,
        amount: Units,
    },
    /// `funds-withdrawn`.
    Withdrawn {
        provider: Address,
        token: Token,
        amount: Units,
    },
    /// `collateral-locked`: the aggregate lock for these policies (no funds moved).
    CollateralLocked {
        policy_ids: Vec<i64>,
        token: Token,
        amount: Units,
    },
    /// `collateral-released`.
    CollateralReleased {
        policy_ids: Vec<i64>,
        token: Token,
        amount: Units,
    },
    /// `settlement-paid`: the Vault paid the buyer. `settlement_price` is the BTC price the
    /// desk settled at (from its action's journal), kept with the policy.
    SettlementPaid {
        policy_id: i64,
        buyer: Address,
        token: Token,
        amount: Units,
        settlement_price: Option<UsdE8>,
    },
}

impl VaultEvent {
    fn kind(&self) -> &'static str {
        match self {
            VaultEvent::Deposited { .. } => "funds_deposited",
            VaultEvent::Withdrawn { .. } => "funds_withdrawn",
            VaultEvent::CollateralLocked { .. } => "collateral_locked",
            VaultEvent::CollateralReleased { .. } => "collateral_released",
            VaultEvent::SettlementPaid { .. } => "settlement_paid",
        }
    }

    fn token(&self) -> Token {
        match self {
            VaultEvent::Deposited { token, .. }
            | VaultEvent::Withdrawn { token, .. }
            | VaultEvent::CollateralLocked { token, .. }
            | VaultEvent::CollateralReleased { token, .. }
            | VaultEvent::SettlementPaid { token, .. } => *token,
        }
    }

    fn amount(&self) -> Units {
        match self {
            VaultEvent::Deposited { amount, .. }
            | VaultEvent::Withdrawn { amount, .. }
            | VaultEvent::CollateralLocked { amount, .. }
            | VaultEvent::CollateralReleased { amount, .. }
            | VaultEvent::SettlementPaid { amount, .. } => *amount,
        }
    }

    fn account(&self) -> Option<Address> {
        match self {
            VaultEvent::Deposited { provider, .. } | VaultEvent::Withdrawn { provider, .. } => {
                Some(*provider)
            }
            VaultEvent::SettlementPaid { buyer, .. } => Some(*buyer),
            _ => None,
        }
    }

    fn policy_ids(&self) -> Option<Vec<i64>> {
        match self {
            VaultEvent::CollateralLocked { policy_ids, .. }
            | VaultEvent::CollateralReleased { policy_ids, .. } => Some(policy_ids.clone()),
            VaultEvent::SettlementPaid { policy_id, .. } => Some(vec![*policy_id]),
            _ => None,
        }
    }
}

/// What applying a Vault event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    /// The books follow the event.
    Applied,
    /// Already applied (same tx hash and log index): nothing changed.
    Duplicate,
    /// Recorded and mirrored, but the books could not follow; why. Reconciliation will
    /// show the difference.
    Anomaly(String),
}

/// A policy to sell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPolicy {
    /// Creating the same key again returns the first policy.
    pub idem_key: String,
    pub kind: PolicyKind,
    pub buyer: Address,
    pub buyer_tier: String,
    pub token: Token,
    pub strike_usd: UsdE8,
    pub amount_sats: u64,
    pub expires_at_ms: i64,
    /// A premium already quoted and agreed; `None`: quote it with the backing tier.
    pub premium: Option<Units>,
}

/// What underwriting a policy needs from the desk: the provider tiers its buyer tier maps
/// to (in order), fresh prices and the premium model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Underwriting {
    pub backing_tiers: Vec<String>,
    pub prices: Prices,
    pub premium: PremiumModel,
}

/// A policy with its allocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyBook {
    pub policy: Policy,
    pub allocations: Vec<Allocation>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    New(PolicyBook),
    /// The idempotency key was used before: the policy it created.
    Existing(PolicyBook),
}

impl Created {
    pub fn book(&self) -> &PolicyBook {
        match self {
            Created::New(b) | Created::Existing(b) => b,
        }
    }
}

/// Which policies to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyFilter {
    pub status: Option<PolicyStatus>,
    pub provider: Option<Address>,
    /// Newest first unless listing active ones (soonest expiry first).
    pub limit: Option<u64>,
}

/// A provider's status change, with when it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusTransition {
    pub provider: Address,
    pub from: ProviderStatus,
    pub to: ProviderStatus,
    pub ratio_bps: Option<u32>,
    pub at_ms: i64,
}

/// The most a provider may withdraw of a token now, and the numbers behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalCheck {
    pub provider: Address,
    pub token: Token,
    pub available: Units,
    pub max_withdrawable: Units,
    /// What their backed policies could cost at current prices (USD × 10^8).
    pub coverage_usd: UsdE8,
    /// Their collateral's value at current prices (`None`: no policies, no prices needed).
    pub value_usd: Option<UsdE8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WithdrawalStatus {
    /// Within the maximum, waiting for the operator and then the Vault.
    Requested,
    /// Above the maximum when asked (the reason is kept).
    Refused,
    /// The Vault paid it (its funds-withdrawn event was applied).
    Done,
    Cancelled,
}

impl WithdrawalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WithdrawalStatus::Requested => "requested",
            WithdrawalStatus::Refused => "refused",
            WithdrawalStatus::Done => "done",
            WithdrawalStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<WithdrawalStatus> {
        [
            WithdrawalStatus::Requested,
            WithdrawalStatus::Refused,
            WithdrawalStatus::Done,
            WithdrawalStatus::Cancelled,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// A provider's withdrawal request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    pub id: i64,
    pub provider: Address,
    pub token: Token,
    pub amount: Units,
    pub max_withdrawable: Units,
    pub refused: Option<String>,
    pub status: WithdrawalStatus,
    pub action_id: Option<i64>,
    pub requested_at_ms: i64,
    pub updated_at_ms: i64,
}

/// One line of the pool journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub id: i64,
    pub at_ms: i64,
    /// deposit, withdrawal, policy, lock, release, expiry, settlement, yield, health,
    /// tier, provider, anomaly, withdrawal_request.
    pub flow: String,
    pub subject: String,
    pub detail: String,
}

// ---------------------------------------------------------------------------------------
// Helpers

fn invalid(msg: impl Into<String>) -> StoreError {
    StoreError::Invalid(msg.into())
}

fn math(context: &str) -> impl Fn(MathError) -> StoreError + '_ {
    move |e| invalid(format!("{context}: {e}"))
}

fn units(text: &str, what: &str) -> Result<Units, StoreError> {
    text.parse()
        .map_err(|_| invalid(format!("bad {what} {text:?} in the pool store")))
}

fn opt_units(text: Option<String>, what: &str) -> Result<Option<Units>, StoreError> {
    text.map(|t| units(&t, what)).transpose()
}

fn addr_key(a: &Address) -> String {
    a.to_string()
}

fn address(text: &str) -> Result<Address, StoreError> {
    Address::from_str(text).map_err(|e| invalid(format!("bad address {text:?}: {e}")))
}

fn token(text: &str) -> Result<Token, StoreError> {
    Token::parse(text).ok_or_else(|| invalid(format!("unknown token {text:?} in the pool store")))
}

fn status(text: &str) -> Result<ProviderStatus, StoreError> {
    ProviderStatus::parse(text).ok_or_else(|| {
        invalid(format!(
            "unknown provider status {text:?} in the pool store"
        ))
    })
}

fn amount_text(token: Token, units: Units) -> String {
    format!("{} {}", token.format_units(units), token.symbol())
}

fn journal(
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

fn balance(c: &Connection, provider: &Address, tok: Token) -> Result<TokenBalance, StoreError> {
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

fn save_balance(
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

fn all_balances(
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

fn tier(c: &Connection, name: &str) -> Result<Option<(TierParams, bool)>, StoreError> {
    let mut stmt = c.prepare(&format!(
        "SELECT {TIER_COLUMNS} FROM pool_tiers WHERE name = ?1"
    ))?;
    let mut rows = stmt.query([name])?;
    match rows.next()? {
        Some(r) => tier_row(r).map(Some),
        None => Ok(None),
    }
}

fn all_tiers(c: &Connection) -> Result<Vec<(TierParams, bool)>, StoreError> {
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
fn metrics(
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

fn save_metrics(
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

fn select_policies(
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

fn policy_by_id(c: &Connection, id: i64) -> Result<Option<Policy>, StoreError> {
    Ok(select_policies(c, "WHERE id = ?1", &[&id])?.pop())
}

fn allocation_row(r: &Row<'_>) -> Result<Allocation, StoreError> {
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

fn event_seen(c: &Connection, key: &EventKey) -> Result<bool, StoreError> {
    Ok(c.query_row(
        "SELECT 1 FROM pool_vault_events WHERE tx_hash = ?1 AND log_index = ?2",
        params![key.tx_hash.to_string(), key.log_index as i64],
        |_| Ok(()),
    )
    .optional()?
    .is_some())
}

fn record_event(
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

fn event_ref(key: &EventKey) -> String {
    format!("{}:{}", key.tx_hash, key.log_index)
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

fn insert_provider(
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
    match provider(&tx, &a)? {
        None => insert_provider(&tx, &a, tier_name, now)?,
        Some(p) if p.tier == tier_name => {}
        Some(p) => {
            if let Some((tok, b)) = p.balances.iter().find(|(_, b)| b.locked > 0) {
                return Err(invalid(format!(
                    "provider {a} has {} locked for policies: their tier stays {} until it is released",
                    amount_text(*tok, b.locked),
                    p.tier
                )));
            }
            if !matches!(tier(&tx, tier_name)?, Some((_, true))) {
                return Err(invalid(format!("unknown tier {tier_name:?}")));
            }
            tx.execute(
                "UPDATE pool_providers SET tier = ?2, updated_at = ?3 WHERE address = ?1",
                params![addr_key(&a), tier_name, now],
            )?;
            journal(
                &tx,
                now,
                "provider",
                &addr_key(&a),
                &format!("moved from tier {} to {tier_name}", p.tier),
            )?;
        }
    }
    let p = provider(&tx, &a)?.expect("just registered");
    tx.commit()?;
    Ok(p)
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

fn tier_capital(c: &Connection, tier_name: &str, tok: Token) -> Result<Units, StoreError> {
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

// ---------------------------------------------------------------------------------------
// Health

/// Each provider's active backing: `(provider key, coverage at prices)` summed.
fn coverage_by_provider(
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
fn backs_anything(c: &Connection, a: &Address) -> Result<bool, StoreError> {
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
fn complete_withdrawal_request(
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

/// The journal, newest first.
pub fn journal_entries(c: &Connection, limit: u64) -> Result<Vec<JournalEntry>, StoreError> {
    let mut stmt = c.prepare(
        "SELECT id, at, flow, subject, detail FROM pool_journal ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok(JournalEntry {
            id: r.get(0)?,
            at_ms: r.get(1)?,
            flow: r.get(2)?,
            subject: r.get(3)?,
            detail: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

// ---------------------------------------------------------------------------------------
// The store handle's async API (each runs on the store thread)

impl Store {
    pub async fn pool_sync_tiers(
        &self,
        tiers: Vec<TierParams>,
        now: i64,
    ) -> Result<(), StoreError> {
        self.call(move |c| sync_tiers(c, &tiers, now)).await
    }

    pub async fn pool_register_provider(
        &self,
        a: Address,
        tier_name: String,
        now: i64,
    ) -> Result<Provider, StoreError> {
        self.call(move |c| register_provider(c, a, &tier_name, now))
            .await
    }

    pub async fn pool_deposit_check(
        &self,
        tier_name: String,
        tok: Token,
        amount: Units,
    ) -> Result<Option<CapacityRefusal>, StoreError> {
        self.call(move |c| deposit_check(c, &tier_name, tok, amount))
            .await
    }

    pub async fn pool_apply_event(
        &self,
        key: EventKey,
        ev: VaultEvent,
        default_tier: String,
        now: i64,
    ) -> Result<EventOutcome, StoreError> {
        self.call(move |c| apply_event(c, key, &ev, &default_tier, now))
            .await
    }

    pub async fn pool_set_onchain_totals(
        &self,
        tok: Token,
        total: Units,
        locked: Units,
        block: u64,
        now: i64,
    ) -> Result<(), StoreError> {
        self.call(move |c| set_onchain_totals(c, tok, total, locked, block, now))
            .await
    }

    pub async fn pool_metrics(&self) -> Result<Vec<PoolMetrics>, StoreError> {
        self.call(|c| pool_metrics(c)).await
    }

    pub async fn pool_create_policy(
        &self,
        new: NewPolicy,
        u: Underwriting,
        now: i64,
    ) -> Result<Created, StoreError> {
        self.call(move |c| create_policy(c, &new, &u, now)).await
    }

    pub async fn pool_expire_policy(&self, id: i64, now: i64) -> Result<Policy, StoreError> {
        self.call(move |c| expire_policy(c, id, now)).await
    }

    pub async fn pool_accrue_yield(&self, id: i64, now: i64) -> Result<bool, StoreError> {
        self.call(move |c| accrue_yield(c, id, now)).await
    }

    pub async fn pool_health_check(
        &self,
        prices: Option<Prices>,
        grace_ms: i64,
        now: i64,
    ) -> Result<Vec<StatusTransition>, StoreError> {
        self.call(move |c| health_check(c, prices, grace_ms, now))
            .await
    }

    pub async fn pool_withdrawal_check(
        &self,
        a: Address,
        tok: Token,
        prices: Option<Prices>,
        buffer_bps: u32,
    ) -> Result<WithdrawalCheck, StoreError> {
        self.call(move |c| withdrawal_check(c, &a, tok, prices, buffer_bps))
            .await
    }

    pub async fn pool_request_withdrawal(
        &self,
        a: Address,
        tok: Token,
        amount: Units,
        prices: Option<Prices>,
        buffer_bps: u32,
        now: i64,
    ) -> Result<Withdrawal, StoreError> {
        self.call(move |c| request_withdrawal(c, a, tok, amount, prices, buffer_bps, now))
            .await
    }

    pub async fn pool_set_withdrawal_action(
        &self,
        id: i64,
        action_id: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        self.call(move |c| set_withdrawal_action(c, id, action_id, now))
            .await
    }

    pub async fn pool_cancel_withdrawal(&self, id: i64, now: i64) -> Result<(), StoreError> {
        self.call(move |c| cancel_withdrawal(c, id, now)).await
    }

    pub async fn pool_withdrawals(
        &self,
        open_only: bool,
        limit: u64,
    ) -> Result<Vec<Withdrawal>, StoreError> {
        self.call(move |c| withdrawals(c, open_only, limit)).await
    }

    pub async fn pool_providers(&self) -> Result<Vec<Provider>, StoreError> {
        self.call(|c| providers(c)).await
    }

    pub async fn pool_provider(&self, a: Address) -> Result<Option<Provider>, StoreError> {
        self.call(move |c| provider(c, &a)).await
    }

    pub async fn pool_tiers(&self) -> Result<Vec<TierMetrics>, StoreError> {
        self.call(|c| tier_metrics(c)).await
    }

    pub async fn pool_policies(&self, filter: PolicyFilter) -> Result<Vec<Policy>, StoreError> {
        self.call(move |c| policies(c, &filter)).await
    }

    pub async fn pool_policy(&self, id: i64) -> Result<Option<PolicyBook>, StoreError> {
        self.call(move |c| policy_book(c, id)).await
    }

    pub async fn pool_transitions(
        &self,
        who: Option<Address>,
        limit: u64,
    ) -> Result<Vec<StatusTransition>, StoreError> {
        self.call(move |c| transitions(c, who, limit)).await
    }

    pub async fn pool_journal(&self, limit: u64) -> Result<Vec<JournalEntry>, StoreError> {
        self.call(move |c| journal_entries(c, limit)).await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::PoolConfig;
    use crate::pool::math::settlement::payout_units;
    use crate::pool::params::PoolParams;

    const BTC_60K: UsdE8 = 6_000_000_000_000;
    const ETH_3K: UsdE8 = 300_000_000_000;
    const WBTC: Units = 100_000_000;
    const ETH: Units = 1_000_000_000_000_000_000;
    const DAY: i64 = 86_400_000;
    const T0: i64 = 1_700_000_000_000;

    fn prices() -> Prices {
        Prices {
            btc_usd: BTC_60K,
            eth_usd: ETH_3K,
        }
    }

    fn params() -> PoolParams {
        PoolParams::from_config(&PoolConfig::default()).unwrap()
    }

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite"), Duration::from_secs(5)).unwrap();
        store.pool_sync_tiers(params().tiers, T0).await.unwrap();
        (dir, store)
    }

    fn who(n: u8) -> Address {
        Address::with_last_byte(n)
    }

    fn key(n: u8, log_index: u64) -> EventKey {
        EventKey {
            tx_hash: B256::with_last_byte(n),
            log_index,
            block_number: 100 + u64::from(n),
        }
    }

    fn deposit(provider: Address, token: Token, amount: Units) -> VaultEvent {
        VaultEvent::Deposited {
            provider,
            token,
            amount,
        }
    }

    async fn apply(store: &Store, k: EventKey, ev: VaultEvent) -> EventOutcome {
        store
            .pool_apply_event(k, ev, "balanced".into(), T0)
            .await
            .unwrap()
    }

    fn underwriting(buyer_tier: &str) -> Underwriting {
        let p = params();
        Underwriting {
            backing_tiers: p.backing_tiers(buyer_tier).unwrap().to_vec(),
            prices: prices(),
            premium: p.premium,
        }
    }

    fn put(key: &str, strike_usd: UsdE8, amount_sats: u64) -> NewPolicy {
        NewPolicy {
            idem_key: key.into(),
            kind: PolicyKind::Put,
            buyer: who(0xb0),
            buyer_tier: "standard".into(),
            token: Token::Wbtc,
            strike_usd,
            amount_sats,
            expires_at_ms: T0 + 30 * DAY,
            premium: None,
        }
    }

    /// Three balanced providers with 2, 1 and 1 WBTC, one conservative with 10 ETH.
    async fn funded() -> (tempfile::TempDir, Store) {
        let (dir, store) = store().await;
        assert_eq!(
            apply(&store, key(1, 0), deposit(who(1), Token::Wbtc, 2 * WBTC)).await,
            EventOutcome::Applied
        );
        assert_eq!(
            apply(&store, key(1, 1), deposit(who(2), Token::Wbtc, WBTC)).await,
            EventOutcome::Applied
        );
        assert_eq!(
            apply(&store, key(2, 0), deposit(who(3), Token::Wbtc, WBTC)).await,
            EventOutcome::Applied
        );
        store
            .pool_register_provider(who(4), "conservative".into(), T0)
            .await
            .unwrap();
        assert_eq!(
            apply(&store, key(3, 0), deposit(who(4), Token::Eth, 10 * ETH)).await,
            EventOutcome::Applied
        );
        (dir, store)
    }

    /// Everything the books hold, for before/after comparisons.
    async fn books(store: &Store) -> (Vec<Provider>, Vec<PoolMetrics>, Vec<Policy>, usize) {
        let journal = store.pool_journal(10_000).await.unwrap().len();
        (
            store.pool_providers().await.unwrap(),
            store.pool_metrics().await.unwrap(),
            store.pool_policies(PolicyFilter::default()).await.unwrap(),
            journal,
        )
    }

    #[tokio::test]
    async fn deposits_open_accounts_and_mirror_the_vault() {
        let (_dir, store) = funded().await;
        let ps = store.pool_providers().await.unwrap();
        assert_eq!(ps.len(), 4);
        assert_eq!(ps[0].address, who(1));
        assert_eq!(ps[0].tier, "balanced", "the default tier");
        assert_eq!(
            ps[0].balance(Token::Wbtc),
            TokenBalance::new(2 * WBTC, 0, 0)
        );
        assert_eq!(ps[0].deposit_count, 1);
        assert_eq!(ps[3].tier, "conservative", "registered first");
        let m = store.pool_metrics().await.unwrap();
        assert_eq!(
            (m[0].token, m[0].onchain_total, m[0].books_total),
            (Token::Eth, 10 * ETH, 10 * ETH)
        );
        assert_eq!(
            (m[1].token, m[1].onchain_total, m[1].books_total),
            (Token::Wbtc, 4 * WBTC, 4 * WBTC)
        );
        assert_eq!(m[1].last_block, Some(102));
        assert!(m.iter().all(|m| m.mismatch().is_none()));
        // A deposit into an unknown default tier is refused and writes nothing.
        let before = books(&store).await;
        let err = store
            .pool_apply_event(
                key(9, 0),
                deposit(who(9), Token::Eth, ETH),
                "gold".into(),
                T0,
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("unknown tier \"gold\""), "{err}");
        assert_eq!(books(&store).await, before);
    }

    #[tokio::test]
    async fn a_policy_is_backed_pro_rata_to_available_capital() {
        let (_dir, store) = funded().await;
        // PUT 1 BTC at 54,000, standard buyer → balanced tier (135%): 72,900 USD = 1.215 WBTC.
        let created = store
            .pool_create_policy(
                put("buy-1", 5_400_000_000_000, 100_000_000),
                underwriting("standard"),
                T0,
            )
            .await
            .unwrap();
        let Created::New(book) = created else {
            panic!("new")
        };
        let p = &book.policy;
        assert_eq!(
            (p.id, p.tier.as_str(), p.status),
            (1, "balanced", PolicyStatus::Active)
        );
        assert_eq!(p.collateral_locked, 121_500_000);
        assert_eq!(p.collateral_ratio_bps, 13_500);
        // The premium model's pinned quote for these terms (balanced ×1.0).
        assert_eq!(p.premium, 2_170_064);
        let locks: Vec<(Address, Units, Units)> = book
            .allocations
            .iter()
            .map(|a| (a.provider, a.amount_locked, a.premium_share))
            .collect();
        assert_eq!(
            locks,
            [
                (who(1), 60_750_000, 1_085_032),
                (who(2), 30_375_000, 542_516),
                (who(3), 30_375_000, 542_516)
            ]
        );
        let a = store.pool_provider(who(1)).await.unwrap().unwrap();
        assert_eq!(
            a.balance(Token::Wbtc),
            TokenBalance::new(2 * WBTC, 60_750_000, 0)
        );

        // The same key again: the same policy, nothing new.
        let before = books(&store).await;
        let again = store
            .pool_create_policy(put("buy-1", 1, 1), underwriting("standard"), T0)
            .await
            .unwrap();
        assert_eq!(again, Created::Existing(book.clone()));
        assert_eq!(books(&store).await, before);

        // 3 BTC more cannot be backed by balanced (2.785 WBTC free) nor conservative (no
        // WBTC): refused with both reasons, nothing written.
        let err = store
            .pool_create_policy(
                put("buy-2", 5_400_000_000_000, 300_000_000),
                underwriting("standard"),
                T0,
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tier balanced has 2.785 WBTC available, the policy needs 3.645 WBTC"),
            "{err}"
        );
        assert!(
            err.contains("tier conservative has 0 WBTC available"),
            "{err}"
        );
        assert_eq!(books(&store).await, before);

        // In ETH the standard buyer falls through to conservative (125%): 0.5 BTC at
        // 54,000 = 27,000 USD × 1.25 = 33,750 USD = 11.25 ETH > 10 ETH: refused; 0.4 BTC fits.
        let in_eth = |key: &str, sats: u64| NewPolicy {
            token: Token::Eth,
            ..put(key, 5_400_000_000_000, sats)
        };
        let err = store
            .pool_create_policy(in_eth("eth-1", 50_000_000), underwriting("standard"), T0)
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("tier conservative has 10 ETH available, the policy needs 11.25 ETH"),
            "{err}"
        );
        let book = store
            .pool_create_policy(in_eth("eth-2", 40_000_000), underwriting("standard"), T0)
            .await
            .unwrap();
        let p = &book.book().policy;
        assert_eq!(
            (p.tier.as_str(), p.collateral_locked),
            ("conservative", 9 * ETH)
        );
        // A conservative policy's premium is 0.8 of the balanced one's.
        assert!(p.premium > 0);

        // Bad input is named and writes nothing.
        let before = books(&store).await;
        for (bad, field) in [
            (put("x1", 0, 1), "strike"),
            (put("x2", 1, 0), "amount"),
            (
                NewPolicy {
                    expires_at_ms: T0,
                    ..put("x3", 1, 1)
                },
                "expiry",
            ),
            (
                NewPolicy {
                    premium: Some(0),
                    ..put("x4", 1, 1)
                },
                "premium",
            ),
        ] {
            let err = store
                .pool_create_policy(bad, underwriting("standard"), T0)
                .await
                .unwrap_err();
            assert!(err.to_string().contains(field), "{field}: {err}");
        }
        assert_eq!(books(&store).await, before);
    }

    #[tokio::test]
    async fn settlement_debits_the_backers_pro_rata_and_releases_them() {
        let (_dir, store) = funded().await;
        let book = store
            .pool_create_policy(
                put("buy-1", 5_400_000_000_000, 100_000_000),
                underwriting("standard"),
                T0,
            )
            .await
            .unwrap();
        let id = book.book().policy.id;
        // The Vault's aggregate lock names the policy.
        let lock = VaultEvent::CollateralLocked {
            policy_ids: vec![id],
            token: Token::Wbtc,
            amount: 121_500_000,
        };
        assert_eq!(apply(&store, key(10, 0), lock).await, EventOutcome::Applied);
        assert!(
            store
                .pool_policy(id)
                .await
                .unwrap()
                .unwrap()
                .policy
                .onchain_locked
        );

        // BTC at 50,000 at expiry: 4,000 USD = 0.08 WBTC.
        let btc_50k = 5_000_000_000_000;
        let payout = payout_units(
            PolicyKind::Put,
            5_400_000_000_000,
            100_000_000,
            btc_50k,
            Token::Wbtc,
            btc_50k,
        )
        .unwrap();
        assert_eq!(payout, 8_000_000);
        let paid = VaultEvent::SettlementPaid {
            policy_id: id,
            buyer: who(0xb0),
            token: Token::Wbtc,
            amount: payout,
            settlement_price: Some(btc_50k),
        };
        assert_eq!(
            apply(&store, key(11, 3), paid.clone()).await,
            EventOutcome::Applied
        );
        let settled = store.pool_policy(id).await.unwrap().unwrap();
        assert_eq!(settled.policy.status, PolicyStatus::Settled);
        assert_eq!(settled.policy.payout, Some(8_000_000));
        assert_eq!(settled.policy.settlement_price_usd, Some(btc_50k));
        let debits: Vec<Units> = settled
            .allocations
            .iter()
            .map(|a| a.settlement_debit.unwrap())
            .collect();
        assert_eq!(debits, [4_000_000, 2_000_000, 2_000_000]);
        assert_eq!(debits.iter().sum::<Units>(), payout);
        assert!(
            settled
                .allocations
                .iter()
                .all(|a| a.released_at_ms == Some(T0))
        );
        let a = store.pool_provider(who(1)).await.unwrap().unwrap();
        assert_eq!(
            a.balance(Token::Wbtc),
            TokenBalance::new(2 * WBTC - 4_000_000, 0, 0)
        );
        // The Vault's total fell by the payout and the books followed: reconciled.
        let m = &store.pool_metrics().await.unwrap()[1];
        assert_eq!(
            (m.onchain_total, m.books_total, m.books_locked),
            (4 * WBTC - payout, 4 * WBTC - payout, 0)
        );
        assert_eq!(m.mismatch(), None);

        // Replaying it changes nothing; a second settlement of the same policy (another
        // log) is an anomaly the Vault's mirror shows and the books do not follow.
        let before = books(&store).await;
        assert_eq!(
            apply(&store, key(11, 3), paid.clone()).await,
            EventOutcome::Duplicate
        );
        assert_eq!(books(&store).await, before);
        let EventOutcome::Anomaly(why) = apply(&store, key(12, 0), paid).await else {
            panic!("anomaly")
        };
        assert!(why.contains("already settled"), "{why}");
        assert_eq!(
            store.pool_metrics().await.unwrap()[1].mismatch(),
            Some(-8_000_000)
        );
        // Expiring a settled policy is refused.
        assert!(store.pool_expire_policy(id, T0 + 31 * DAY).await.is_err());
    }

    #[tokio::test]
    async fn a_settlement_a_backer_cannot_cover_changes_no_books() {
        let (_dir, store) = funded().await;
        let id = store
            .pool_create_policy(
                put("buy-1", 5_400_000_000_000, 100_000_000),
                underwriting("standard"),
                T0,
            )
            .await
            .unwrap()
            .book()
            .policy
            .id;
        let before = store.pool_providers().await.unwrap();
        // 3 WBTC paid: provider 2 would owe 0.75 with only 1 WBTC... fine, but provider 1
        // owes 1.5 of 2; 4.1 WBTC would break all of them.
        let paid = VaultEvent::SettlementPaid {
            policy_id: id,
            buyer: who(0xb0),
            token: Token::Wbtc,
            amount: 410_000_000,
            settlement_price: None,
        };
        let EventOutcome::Anomaly(why) = apply(&store, key(11, 0), paid).await else {
            panic!("anomaly")
        };
        assert!(why.contains("owes"), "{why}");
        assert_eq!(store.pool_providers().await.unwrap(), before);
        assert_eq!(
            store.pool_policy(id).await.unwrap().unwrap().policy.status,
            PolicyStatus::Active
        );
        let journal = store.pool_journal(1).await.unwrap();
        assert_eq!(journal[0].flow, "anomaly");
    }

    #[tokio::test]
    async fn expiry_releases_once_and_yield_accrues_once() {
        let (_dir, store) = funded().await;
        let id = store
            .pool_create_policy(
                put("buy-1", 5_400_000_000_000, 100_000_000),
                underwriting("standard"),
                T0,
            )
            .await
            .unwrap()
            .book()
            .policy
            .id;
        let err = store
            .pool_expire_policy(id, T0 + 30 * DAY - 1)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not before"), "{err}");
        assert!(store.pool_accrue_yield(id, T0).await.unwrap());
        assert!(!store.pool_accrue_yield(id, T0 + 1).await.unwrap(), "once");
        let expired = store.pool_expire_policy(id, T0 + 30 * DAY).await.unwrap();
        assert_eq!(expired.status, PolicyStatus::Expired);
        let before = books(&store).await;
        assert_eq!(
            store.pool_expire_policy(id, T0 + 31 * DAY).await.unwrap(),
            expired
        );
        assert_eq!(
            books(&store).await,
            before,
            "expiring again changes nothing"
        );
        let ps = store.pool_providers().await.unwrap();
        let yields: Vec<TokenBalance> = ps[..3].iter().map(|p| p.balance(Token::Wbtc)).collect();
        assert_eq!(
            yields,
            [
                TokenBalance::new(2 * WBTC, 0, 1_085_032),
                TokenBalance::new(WBTC, 0, 542_516),
                TokenBalance::new(WBTC, 0, 542_516)
            ]
        );
        let tiers = store.pool_tiers().await.unwrap();
        let balanced_wbtc = tiers
            .iter()
            .find(|t| t.tier.name == "balanced" && t.token == Token::Wbtc)
            .unwrap();
        assert_eq!(
            (
                balanced_wbtc.capital,
                balanced_wbtc.locked,
                balanced_wbtc.providers,
                balanced_wbtc.yield_accrued
            ),
            (4 * WBTC, 0, 3, 2_170_064)
        );
    }

    #[tokio::test]
    async fn tier_metrics_sum_the_books() {
        let (_dir, store) = funded().await;
        store
            .pool_create_policy(
                put("buy-1", 5_400_000_000_000, 100_000_000),
                underwriting("standard"),
                T0,
            )
            .await
            .unwrap();
        let tiers = store.pool_tiers().await.unwrap();
        let names: Vec<(&str, Token)> = tiers
            .iter()
            .map(|t| (t.tier.name.as_str(), t.token))
            .collect();
        assert_eq!(
            names,
            [
                ("conservative", Token::Eth),
                ("conservative", Token::Wbtc),
                ("balanced", Token::Eth),
                ("balanced", Token::Wbtc),
                ("aggressive", Token::Eth),
                ("aggressive", Token::Wbtc)
            ]
        );
        let b = &tiers[3];
        assert_eq!(
            (b.capital, b.locked, b.available),
            (4 * WBTC, 121_500_000, 278_500_000)
        );
        assert_eq!(b.utilisation_bps, Some(3_037));
        assert_eq!((b.providers, b.active_policies), (3, 1));
        assert_eq!(tiers[0].capital, 10 * ETH);
        assert_eq!(tiers[4].utilisation_bps, None);
        // Capacity limits stop deposits, per tier and token.
        let mut limited = params().tiers;
        limited[1].capacity_wbtc = Some(5 * WBTC);
        store.pool_sync_tiers(limited, T0 + 1).await.unwrap();
        assert_eq!(
            store
                .pool_deposit_check("balanced".into(), Token::Wbtc, WBTC)
                .await
                .unwrap(),
            None
        );
        let refused = store
            .pool_deposit_check("balanced".into(), Token::Wbtc, WBTC + 1)
            .await
            .unwrap()
            .unwrap();
        assert!(
            refused
                .to_string()
                .contains("holds 4 WBTC of its 5 WBTC capacity"),
            "{refused}"
        );
    }

    #[tokio::test]
    async fn health_checks_record_each_transition_with_its_time() {
        let (_dir, store) = funded().await;
        store
            .pool_create_policy(
                put("buy-1", 5_400_000_000_000, 100_000_000),
                underwriting("standard"),
                T0,
            )
            .await
            .unwrap();
        let grace = params().margin_call_grace_ms;
        // At 60,000: provider 2 holds 1 WBTC = 60,000 USD against 13,500 USD of coverage
        // (a quarter of 54,000): 444%. Nothing changes, nothing is recorded.
        assert_eq!(
            store
                .pool_health_check(Some(prices()), grace, T0 + 1)
                .await
                .unwrap(),
            []
        );
        let p2 = store.pool_provider(who(2)).await.unwrap().unwrap();
        assert_eq!(p2.health_ratio_bps, Some(44_444));
        assert_eq!(
            (p2.required_usd, p2.value_usd),
            (Some(1_350_000_000_000), Some(6_000_000_000_000))
        );
        assert_eq!(p2.last_check_ms, Some(T0 + 1));

        // BTC at 17,000: 17,000 / 13,500 = 125.9% < 135%: Warning (the three backers).
        let at = |btc: UsdE8| {
            Some(Prices {
                btc_usd: btc,
                eth_usd: ETH_3K,
            })
        };
        let t = store
            .pool_health_check(at(1_700_000_000_000), grace, T0 + 10)
            .await
            .unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(
            t[1],
            StatusTransition {
                provider: who(2),
                from: ProviderStatus::Healthy,
                to: ProviderStatus::Warning,
                ratio_bps: Some(12_592),
                at_ms: T0 + 10
            }
        );
        // BTC at 15,000: 111% < 120%: MarginCall.
        let t = store
            .pool_health_check(at(1_500_000_000_000), grace, T0 + 20)
            .await
            .unwrap();
        assert!(
            t.iter().all(|t| t.to == ProviderStatus::MarginCall),
            "{t:?}"
        );
        // Still there a grace period later: Liquidating.
        store
            .pool_health_check(at(1_500_000_000_000), grace, T0 + 20 + grace - 1)
            .await
            .unwrap();
        assert_eq!(
            store.pool_provider(who(2)).await.unwrap().unwrap().status,
            ProviderStatus::MarginCall
        );
        let t = store
            .pool_health_check(at(1_500_000_000_000), grace, T0 + 20 + grace)
            .await
            .unwrap();
        assert!(
            t.iter().all(|t| t.to == ProviderStatus::Liquidating),
            "{t:?}"
        );
        // A provider in margin call backs nothing new.
        let err = store
            .pool_create_policy(
                put("buy-2", 100_000_000_000, 1_000),
                underwriting("standard"),
                T0 + 30,
            )
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("tier balanced has 0 WBTC available"),
            "{err}"
        );
        // No fresh prices: unknown, for everyone, not healthy.
        let t = store
            .pool_health_check(None, grace, T0 + 40 + grace)
            .await
            .unwrap();
        assert_eq!(t.len(), 4);
        assert!(
            t.iter()
                .all(|t| t.to == ProviderStatus::Unknown && t.ratio_bps.is_none())
        );
        let p4 = store.pool_provider(who(4)).await.unwrap().unwrap();
        assert_eq!(
            (p4.status, p4.status_since_ms),
            (ProviderStatus::Unknown, Some(T0 + 40 + grace))
        );
        // The history, newest first, with times.
        let history = store.pool_transitions(Some(who(2)), 10).await.unwrap();
        let path: Vec<(ProviderStatus, i64)> =
            history.iter().rev().map(|t| (t.to, t.at_ms)).collect();
        assert_eq!(
            path,
            [
                (ProviderStatus::Warning, T0 + 10),
                (ProviderStatus::MarginCall, T0 + 20),
                (ProviderStatus::Liquidating, T0 + 20 + grace),
                (ProviderStatus::Unknown, T0 + 40 + grace)
            ]
        );
    }

    #[tokio::test]
    async fn withdrawals_above_the_maximum_are_refused_and_below_are_paid_once() {
        let (_dir, store) = funded().await;
        store
            .pool_create_policy(
                put("buy-1", 5_400_000_000_000, 100_000_000),
                underwriting("standard"),
                T0,
            )
            .await
            .unwrap();
        let buffer = params().withdrawal_buffer_bps;
        // Provider 2: 1 WBTC (60,000 USD), 0.30375 locked, backing 13,500 USD of coverage.
        // Kept: 13,500 × (135% + 5%) = 18,900 USD; free 41,100 USD = 0.685 WBTC, but only
        // 0.69625 is available: the maximum is 0.685.
        let check = store
            .pool_withdrawal_check(who(2), Token::Wbtc, Some(prices()), buffer)
            .await
            .unwrap();
        assert_eq!(
            (check.available, check.max_withdrawable),
            (69_625_000, 68_500_000)
        );
        assert_eq!(check.coverage_usd, 1_350_000_000_000);
        // Without prices it cannot be worked out; someone backing nothing needs none.
        assert!(
            store
                .pool_withdrawal_check(who(2), Token::Wbtc, None, buffer)
                .await
                .is_err()
        );
        let free = store
            .pool_withdrawal_check(who(4), Token::Eth, None, buffer)
            .await
            .unwrap();
        assert_eq!(free.max_withdrawable, 10 * ETH);

        let refused = store
            .pool_request_withdrawal(
                who(2),
                Token::Wbtc,
                68_500_001,
                Some(prices()),
                buffer,
                T0 + 1,
            )
            .await
            .unwrap();
        assert_eq!(refused.status, WithdrawalStatus::Refused);
        assert!(
            refused
                .refused
                .as_deref()
                .unwrap()
                .contains("at most 0.685 WBTC"),
            "{refused:?}"
        );
        let ok = store
            .pool_request_withdrawal(
                who(2),
                Token::Wbtc,
                68_500_000,
                Some(prices()),
                buffer,
                T0 + 2,
            )
            .await
            .unwrap();
        assert_eq!(
            (ok.status, ok.refused.as_ref()),
            (WithdrawalStatus::Requested, None)
        );
        store
            .pool_set_withdrawal_action(ok.id, 77, T0 + 3)
            .await
            .unwrap();
        assert!(
            store
                .pool_set_withdrawal_action(refused.id, 78, T0 + 3)
                .await
                .is_err()
        );
        assert_eq!(store.pool_withdrawals(true, 10).await.unwrap().len(), 1);

        // The Vault pays it: the books follow, the request is done; a replay changes nothing.
        let paid = VaultEvent::Withdrawn {
            provider: who(2),
            token: Token::Wbtc,
            amount: 68_500_000,
        };
        assert_eq!(
            apply(&store, key(20, 0), paid.clone()).await,
            EventOutcome::Applied
        );
        let before = books(&store).await;
        assert_eq!(
            apply(&store, key(20, 0), paid).await,
            EventOutcome::Duplicate
        );
        assert_eq!(books(&store).await, before);
        let p2 = store.pool_provider(who(2)).await.unwrap().unwrap();
        assert_eq!(
            p2.balance(Token::Wbtc),
            TokenBalance::new(WBTC - 68_500_000, 30_375_000, 0)
        );
        assert_eq!(p2.withdrawal_count, 1);
        let done = store.pool_withdrawals(false, 10).await.unwrap();
        assert_eq!(
            (done[0].id, done[0].status, done[0].action_id),
            (ok.id, WithdrawalStatus::Done, Some(77))
        );
        assert_eq!(store.pool_metrics().await.unwrap()[1].mismatch(), None);
        // Unknown provider or a zero amount: an error, nothing written.
        assert!(
            store
                .pool_request_withdrawal(who(9), Token::Eth, 1, None, buffer, T0)
                .await
                .is_err()
        );
        assert!(
            store
                .pool_request_withdrawal(who(2), Token::Eth, 0, None, buffer, T0)
                .await
                .is_err()
        );
        assert_eq!(books(&store).await, before);
    }

    #[tokio::test]
    async fn replaying_every_event_twice_changes_nothing_the_second_time() {
        let (_dir, store) = store().await;
        store
            .pool_register_provider(who(4), "aggressive".into(), T0)
            .await
            .unwrap();
        let events = vec![
            (key(1, 0), deposit(who(1), Token::Wbtc, 3 * WBTC)),
            (key(1, 1), deposit(who(2), Token::Eth, 5 * ETH)),
            (key(2, 0), deposit(who(4), Token::Wbtc, WBTC)),
            (
                key(3, 0),
                VaultEvent::Withdrawn {
                    provider: who(1),
                    token: Token::Wbtc,
                    amount: WBTC / 2,
                },
            ),
            (
                key(4, 0),
                VaultEvent::CollateralLocked {
                    policy_ids: vec![],
                    token: Token::Eth,
                    amount: ETH,
                },
            ),
            (
                key(4, 1),
                VaultEvent::CollateralReleased {
                    policy_ids: vec![],
                    token: Token::Eth,
                    amount: ETH / 2,
                },
            ),
        ];
        for (k, ev) in &events {
            assert_eq!(
                apply(&store, *k, ev.clone()).await,
                EventOutcome::Applied,
                "{ev:?}"
            );
        }
        let once = books(&store).await;
        for (k, ev) in &events {
            assert_eq!(
                apply(&store, *k, ev.clone()).await,
                EventOutcome::Duplicate,
                "{ev:?}"
            );
        }
        assert_eq!(books(&store).await, once);
        let m = store.pool_metrics().await.unwrap();
        assert_eq!(
            (m[0].onchain_total, m[0].onchain_locked),
            (5 * ETH, ETH / 2)
        );
        assert_eq!(
            (m[1].onchain_total, m[1].books_total),
            (7 * WBTC / 2, 7 * WBTC / 2)
        );
        let p1 = store.pool_provider(who(1)).await.unwrap().unwrap();
        assert_eq!(p1.balance(Token::Wbtc).total, 5 * WBTC / 2);
    }

    #[tokio::test]
    async fn books_the_vault_disagrees_with_are_reported_not_corrected() {
        let (_dir, store) = funded().await;
        // A withdrawal above what the books allow (straight to the Vault): recorded as an
        // anomaly, mirrored, the books untouched.
        let EventOutcome::Anomaly(why) = apply(
            &store,
            key(30, 0),
            VaultEvent::Withdrawn {
                provider: who(2),
                token: Token::Wbtc,
                amount: 2 * WBTC,
            },
        )
        .await
        else {
            panic!("anomaly")
        };
        assert!(why.contains("exceeds their available 1 WBTC"), "{why}");
        assert_eq!(
            store
                .pool_provider(who(2))
                .await
                .unwrap()
                .unwrap()
                .balance(Token::Wbtc)
                .total,
            WBTC
        );
        assert_eq!(
            store.pool_metrics().await.unwrap()[1].mismatch(),
            Some(-2 * WBTC as i128)
        );
        // Someone edits the books behind the desk's back: the ETH totals disagree.
        store
            .call(|c| {
                c.execute(
                    "UPDATE pool_balances SET total = '11000000000000000000' WHERE token = 'eth'",
                    [],
                )?;
                Ok(())
            })
            .await
            .unwrap();
        let eth = &store.pool_metrics().await.unwrap()[0];
        assert_eq!((eth.onchain_total, eth.books_total), (10 * ETH, 11 * ETH));
        assert_eq!(eth.mismatch(), Some(-(ETH as i128)));
        // Reading the Vault again does not touch the books either.
        store
            .pool_set_onchain_totals(Token::Eth, 10 * ETH, 0, 500, T0)
            .await
            .unwrap();
        assert_eq!(
            store.pool_metrics().await.unwrap()[0].mismatch(),
            Some(-(ETH as i128))
        );
    }

    #[tokio::test]
    async fn tiers_follow_the_config_and_providers_move_only_when_free() {
        let (_dir, store) = funded().await;
        store
            .pool_create_policy(
                put("buy-1", 5_400_000_000_000, 100_000_000),
                underwriting("standard"),
                T0,
            )
            .await
            .unwrap();
        let err = store
            .pool_register_provider(who(1), "aggressive".into(), T0)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("locked for policies"), "{err}");
        let moved = store
            .pool_register_provider(who(4), "aggressive".into(), T0)
            .await
            .unwrap();
        assert_eq!(moved.tier, "aggressive");
        assert!(
            store
                .pool_register_provider(who(5), "gold".into(), T0)
                .await
                .is_err()
        );
        // Dropping a tier from the config keeps its books; it backs nothing new.
        let journal = store.pool_journal(100).await.unwrap().len();
        store.pool_sync_tiers(params().tiers, T0 + 1).await.unwrap();
        assert_eq!(
            store.pool_journal(100).await.unwrap().len(),
            journal,
            "nothing changed"
        );
        store
            .pool_sync_tiers(params().tiers[..2].to_vec(), T0 + 2)
            .await
            .unwrap();
        let tiers = store.pool_tiers().await.unwrap();
        let aggressive = tiers.iter().find(|t| t.tier.name == "aggressive").unwrap();
        assert!(!aggressive.configured);
        assert_eq!(aggressive.providers, 1);
        let err = store
            .pool_create_policy(
                NewPolicy {
                    buyer_tier: "flexible".into(),
                    ..put("f-1", 100_000_000_000, 1_000)
                },
                Underwriting {
                    backing_tiers: vec!["aggressive".into()],
                    ..underwriting("flexible")
                },
                T0 + 3,
            )
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("tier aggressive is no longer configured"),
            "{err}"
        );
    }
}
