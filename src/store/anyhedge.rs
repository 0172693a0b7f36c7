//! The AnyHedge desk's offers, hedge positions, funding, settlements and redemptions.
//!
//! One writer per transition, each one transaction on the store thread that checks the state
//! it expects before it writes: two API calls racing to accept one offer are serialised here,
//! and the second finds the offer accepted and is refused ([`Refused`]) with nothing written.
//! Readers take filters, a limit and an offset, and return the total count with the page.

use std::str::FromStr;

use alloy::primitives::{Address, B256, U256};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Transaction, params, params_from_iter};

use super::writer::StoreError;
use crate::anyhedge::chain::{HedgeParties, HedgeTerms, Side};

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

fn side_col(s: &str) -> Result<Side, StoreError> {
    Side::parse(s).ok_or_else(|| StoreError::Invalid(format!("unknown side {s:?} in the store")))
}

/// Where an offer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OfferStatus {
    /// Open: anyone may accept it.
    Pending,
    /// A counterparty accepted it at a start price; it settles into a hedge position before
    /// the settlement deadline or returns to pending.
    Accepted,
    /// A hedge position was created from it.
    Settled,
    Cancelled,
}

impl OfferStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OfferStatus::Pending => "pending",
            OfferStatus::Accepted => "accepted",
            OfferStatus::Settled => "settled",
            OfferStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<OfferStatus> {
        match s {
            "pending" => Some(OfferStatus::Pending),
            "accepted" => Some(OfferStatus::Accepted),
            "settled" => Some(OfferStatus::Settled),
            "cancelled" => Some(OfferStatus::Cancelled),
            _ => None,
        }
    }
}

impl std::fmt::Display for OfferStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a contract ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SettlementType {
    Maturation,
    Liquidation,
    MutualRedemption,
}

impl SettlementType {
    pub fn as_str(self) -> &'static str {
        match self {
            SettlementType::Maturation => "maturation",
            SettlementType::Liquidation => "liquidation",
            SettlementType::MutualRedemption => "mutual_redemption",
        }
    }

    pub fn parse(s: &str) -> Option<SettlementType> {
        match s {
            "maturation" => Some(SettlementType::Maturation),
            "liquidation" => Some(SettlementType::Liquidation),
            "mutual_redemption" => Some(SettlementType::MutualRedemption),
            _ => None,
        }
    }
}

/// The three mutual redemptions the contract allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RedemptionType {
    /// Each party gets back what it posted.
    Refund,
    /// The settlement payouts at a price inside the bounds, before maturity.
    EarlyMaturation,
    /// Any split of what the contract holds.
    Arbitrary,
}

impl RedemptionType {
    pub fn as_str(self) -> &'static str {
        match self {
            RedemptionType::Refund => "refund",
            RedemptionType::EarlyMaturation => "early_maturation",
            RedemptionType::Arbitrary => "arbitrary",
        }
    }

    pub fn parse(s: &str) -> Option<RedemptionType> {
        match s {
            "refund" => Some(RedemptionType::Refund),
            "early_maturation" => Some(RedemptionType::EarlyMaturation),
            "arbitrary" => Some(RedemptionType::Arbitrary),
            _ => None,
        }
    }
}

/// A new offer, checked by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOffer {
    pub position: Side,
    pub wallet_hash: String,
    pub address: Address,
    /// The offerer's own input, in sats.
    pub satoshis: u64,
    pub duration_seconds: u64,
    pub low_liquidation_multiplier: f64,
    pub high_liquidation_multiplier: f64,
    /// Lower-case hex.
    pub oracle_pubkey: String,
    pub leveraged: bool,
    /// Unix seconds; an offer is open until then (inclusive).
    pub expires_at: Option<i64>,
}

/// The oracle message a contract starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartingMessage {
    /// The 16 signed bytes, hex.
    pub message: String,
    /// The oracle's signature, hex.
    pub signature: String,
    pub price: u32,
    pub timestamp: i64,
    pub price_sequence: i64,
    pub message_sequence: i64,
}

/// Who accepted an offer and the contract that makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterParty {
    pub wallet_hash: String,
    pub address: Address,
    /// The counterparty's own input, in sats.
    pub satoshis: u64,
    pub contract_address: Address,
    pub anyhedge_contract_version: String,
    pub factory: Address,
    pub parties: HedgeParties,
    pub starting_message: StartingMessage,
    pub terms: HedgeTerms,
    /// Unix seconds: the offer must settle before then or returns to pending.
    pub settlement_deadline: i64,
    pub accepted_at: i64,
}

/// An offer as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub id: i64,
    pub status: OfferStatus,
    pub position: Side,
    pub wallet_hash: String,
    pub address: Address,
    pub satoshis: u64,
    pub duration_seconds: u64,
    pub low_liquidation_multiplier: f64,
    pub high_liquidation_multiplier: f64,
    pub oracle_pubkey: String,
    pub leveraged: bool,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The hedge position it settled into.
    pub hedge_position: Option<Address>,
    /// Present while accepted (and kept once settled).
    pub counter_party: Option<CounterParty>,
}

impl Offer {
    /// Past its `expires_at`.
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at < now)
    }
}

/// A party's signed `Funding` permit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingProposal {
    /// 65 bytes `r‖s‖v`, 0x-hex.
    pub signature: String,
    /// Unix seconds.
    pub deadline: u64,
    /// What the contract pulls from the party.
    pub sats: u64,
    pub submitted_at: i64,
}

/// The contract's funding as seen on chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Funding {
    pub tx_hash: B256,
    pub block_number: Option<u64>,
    pub short_funding_satoshis: u64,
    pub long_funding_satoshis: u64,
    pub gas_fee_wei: Option<U256>,
    /// Read back from the chain (not only sent).
    pub validated: bool,
    pub recorded_at: i64,
}

impl Funding {
    pub fn funding_satoshis(&self) -> u64 {
        self.short_funding_satoshis
            .saturating_add(self.long_funding_satoshis)
    }
}

/// How a contract was settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub spending_transaction: B256,
    pub settlement_type: SettlementType,
    pub short_satoshis: u64,
    pub long_satoshis: u64,
    pub oracle_pubkey: String,
    pub settlement_price: Option<u32>,
    pub settlement_price_sequence: Option<i64>,
    pub settlement_message_sequence: Option<i64>,
    pub settlement_message_timestamp: Option<i64>,
    pub settlement_message: Option<String>,
    pub settlement_signature: Option<String>,
    pub recorded_at: i64,
}

/// The terms of a mutual redemption, as proposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedemptionProposal {
    pub redemption_type: RedemptionType,
    pub initiator: Side,
    pub short_satoshis: u64,
    pub long_satoshis: u64,
    /// 0 unless an early maturation.
    pub settlement_price: u32,
    /// Unix seconds.
    pub deadline: u64,
}

/// A mutual redemption as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MutualRedemption {
    pub terms: RedemptionProposal,
    pub short_signature: Option<String>,
    pub long_signature: Option<String>,
    /// Set once sent; it completes the redemption.
    pub tx_hash: Option<B256>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl MutualRedemption {
    pub fn is_signed_by_both(&self) -> bool {
        self.short_signature.is_some() && self.long_signature.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositionFee {
    pub address: Address,
    pub satoshis: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PositionMetadata {
    /// The side of the party that took the offer.
    pub position_taker: Option<Side>,
    pub liquidity_fee: Option<i64>,
    pub network_fee: Option<i64>,
    pub total_short_funding_sats: Option<u64>,
    pub total_long_funding_sats: Option<u64>,
}

/// A hedge position to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPosition {
    pub address: Address,
    pub anyhedge_contract_version: String,
    pub factory: Address,
    pub parties: HedgeParties,
    pub terms: HedgeTerms,
    pub short_wallet_hash: String,
    pub long_wallet_hash: String,
    pub oracle_pubkey: String,
    pub low_liquidation_multiplier: f64,
    pub high_liquidation_multiplier: f64,
    pub leveraged: bool,
    pub starting_oracle_message: String,
    pub starting_oracle_signature: String,
    pub fee: Option<PositionFee>,
    pub metadata: Option<PositionMetadata>,
}

/// A hedge position with everything that happened to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub id: i64,
    pub address: Address,
    pub anyhedge_contract_version: String,
    pub factory: Address,
    pub parties: HedgeParties,
    pub terms: HedgeTerms,
    pub short_wallet_hash: String,
    pub long_wallet_hash: String,
    pub oracle_pubkey: String,
    pub low_liquidation_multiplier: f64,
    pub high_liquidation_multiplier: f64,
    pub leveraged: bool,
    pub starting_oracle_message: String,
    pub starting_oracle_signature: String,
    pub funding_tx_hash: Option<B256>,
    pub funding_tx_hash_validated: bool,
    pub created_at: i64,
    pub short_funding_proposal: Option<FundingProposal>,
    pub long_funding_proposal: Option<FundingProposal>,
    pub funding: Option<Funding>,
    pub settlement: Option<Settlement>,
    pub mutual_redemption: Option<MutualRedemption>,
    pub fee: Option<PositionFee>,
    pub metadata: Option<PositionMetadata>,
}

impl Position {
    /// The short's input (the watchtower's `satoshis`).
    pub fn satoshis(&self) -> u64 {
        self.terms.short_input_sats
    }

    pub fn party(&self, side: Side) -> Address {
        match side {
            Side::Short => self.parties.short_party,
            Side::Long => self.parties.long_party,
        }
    }

    pub fn wallet_hash(&self, side: Side) -> &str {
        match side {
            Side::Short => &self.short_wallet_hash,
            Side::Long => &self.long_wallet_hash,
        }
    }

    pub fn funding_proposal(&self, side: Side) -> Option<&FundingProposal> {
        match side {
            Side::Short => self.short_funding_proposal.as_ref(),
            Side::Long => self.long_funding_proposal.as_ref(),
        }
    }

    /// The wallets of both parties (empty ones left out, each once).
    pub fn wallet_hashes(&self) -> Vec<String> {
        let mut out = Vec::new();
        for w in [&self.short_wallet_hash, &self.long_wallet_hash] {
            if !w.is_empty() && !out.contains(w) {
                out.push(w.clone());
            }
        }
        out
    }
}

/// Which offers to list. Empty `statuses` means every status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfferFilter {
    pub wallet_hash: Option<String>,
    pub exclude_wallet_hash: Option<String>,
    pub statuses: Vec<OfferStatus>,
    pub position: Option<Side>,
    pub counter_party_wallet_hash: Option<String>,
    /// At most this many (all when `None`).
    pub limit: Option<u64>,
    pub offset: u64,
}

/// The watchtower's funding filter of hedge positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FundingStatus {
    /// No proposal and no funding transaction.
    Pending,
    /// At least one proposal, not funded.
    Partial,
    /// Both proposals, not funded.
    Ready,
    /// Funded.
    Complete,
}

impl FundingStatus {
    pub fn parse(s: &str) -> Option<FundingStatus> {
        match s {
            "pending" => Some(FundingStatus::Pending),
            "partial" => Some(FundingStatus::Partial),
            "ready" => Some(FundingStatus::Ready),
            "complete" => Some(FundingStatus::Complete),
            _ => None,
        }
    }
}

/// Which hedge positions to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PositionFilter {
    pub short_wallet_hash: Option<String>,
    pub long_wallet_hash: Option<String>,
    /// Either side.
    pub wallet_hash: Option<String>,
    pub oracle_pubkey: Option<String>,
    pub settled: Option<bool>,
    pub funding: Option<FundingStatus>,
    pub limit: Option<u64>,
    pub offset: u64,
}

/// Totals of the positions of one oracle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleSummary {
    pub oracle_pubkey: String,
    /// Σ short nominal units × 1e8 (`nominalUnitsXSatsPerBch`).
    pub total_short_unit_sats: u64,
    /// Σ long inputs.
    pub total_long_sats: u64,
    pub positions: u64,
}

/// Why a transition was refused; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("hedge position offer {0} does not exist")]
    NoOffer(i64),
    #[error("hedge position offer {id} is {status}")]
    OfferStatus { id: i64, status: OfferStatus },
    #[error("hedge position offer {id} expired at {expires_at}")]
    OfferExpired { id: i64, expires_at: i64 },
    #[error("the settlement deadline of hedge position offer {id} passed at {deadline}")]
    DeadlinePassed { id: i64, deadline: i64 },
    #[error(
        "hedge position offer {id} was accepted again since: its contract is {current}, not {expected}"
    )]
    CounterPartyChanged {
        id: i64,
        current: Address,
        expected: Address,
    },
    #[error("contract {0} is already taken by another offer or position")]
    ContractTaken(Address),
    #[error("hedge position {0} does not exist")]
    NoPosition(Address),
    #[error("hedge position {0} already exists")]
    PositionExists(Address),
    #[error("hedge position {0} is already funded")]
    AlreadyFunded(Address),
    #[error("hedge position {0} is not funded yet")]
    NotFunded(Address),
    #[error("hedge position {address} was funded by {recorded}, not {given}")]
    FundingMismatch {
        address: Address,
        recorded: B256,
        given: B256,
    },
    #[error("hedge position {0} is already settled")]
    AlreadySettled(Address),
    #[error("the mutual redemption of hedge position {0} is already completed")]
    RedemptionCompleted(Address),
    #[error("hedge position {0} has no mutual redemption proposal")]
    NoRedemption(Address),
}

/// A transition's outcome: done, or refused with nothing written.
pub type Checked<T> = Result<T, Refused>;

// ---- conversions ----

fn to_i64(field: &str, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{field}: {v} does not fit")))
}

fn to_u64(field: &str, v: i64) -> Result<u64, StoreError> {
    u64::try_from(v)
        .map_err(|_| StoreError::Invalid(format!("{field}: negative value {v} in the store")))
}

fn to_u32(field: &str, v: i64) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| StoreError::Invalid(format!("{field}: {v} is not a u32")))
}

fn addr(s: &str) -> Result<Address, StoreError> {
    Address::from_str(s).map_err(|e| StoreError::Invalid(format!("bad address {s:?}: {e}")))
}

fn hash(s: &str) -> Result<B256, StoreError> {
    B256::from_str(s).map_err(|e| StoreError::Invalid(format!("bad hash {s:?}: {e}")))
}

fn wei(s: &str) -> Result<U256, StoreError> {
    U256::from_str(s).map_err(|e| StoreError::Invalid(format!("bad wei amount {s:?}: {e}")))
}

// ---- offers ----

const OFFER_COLUMNS: &str = "o.id, o.status, o.position, o.wallet_hash, o.address, o.satoshis, \
     o.duration_seconds, o.low_liquidation_multiplier, o.high_liquidation_multiplier, \
     o.oracle_pubkey, o.leveraged, o.expires_at, o.created_at, o.updated_at, p.address";

const COUNTERPARTY_COLUMNS: &str = "wallet_hash, address, satoshis, contract_address, \
     anyhedge_contract_version, factory, collateral, oracle_address, starting_oracle_message, \
     starting_oracle_signature, price_value, price_message_timestamp, price_sequence, \
     oracle_message_sequence, start_timestamp, maturity_timestamp, start_price, low_price, \
     high_price, nominal_units_x_sats_per_bch, sats_for_nominal_units_at_high, payout_sats, \
     short_input_sats, long_input_sats, settlement_deadline, accepted_at";

fn offer_row(r: &rusqlite::Row<'_>) -> Result<Offer, StoreError> {
    let status: String = r.get(1)?;
    let position: String = r.get(2)?;
    Ok(Offer {
        id: r.get(0)?,
        status: OfferStatus::parse(&status)
            .ok_or_else(|| StoreError::Invalid(format!("unknown offer status {status:?}")))?,
        position: side_col(&position)?,
        wallet_hash: r.get(3)?,
        address: addr(&r.get::<_, String>(4)?)?,
        satoshis: to_u64("satoshis", r.get(5)?)?,
        duration_seconds: to_u64("duration_seconds", r.get(6)?)?,
        low_liquidation_multiplier: r.get(7)?,
        high_liquidation_multiplier: r.get(8)?,
        oracle_pubkey: r.get(9)?,
        leveraged: r.get::<_, i64>(10)? != 0,
        expires_at: r.get(11)?,
        created_at: r.get(12)?,
        updated_at: r.get(13)?,
        hedge_position: r
            .get::<_, Option<String>>(14)?
            .map(|a| addr(&a))
            .transpose()?,
        counter_party: None,
    })
}

/// Reads an offer's counterparty (the offer's position says which side it takes).
fn counterparty(
    c: &Connection,
    offer_id: i64,
    offer_side: Side,
) -> Result<Option<CounterParty>, StoreError> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COUNTERPARTY_COLUMNS} FROM anyhedge_offer_counterparties WHERE offer_id = ?1"
    ))?;
    let mut rows = stmt.query(params![offer_id])?;
    let Some(r) = rows.next()? else {
        return Ok(None);
    };
    let address = addr(&r.get::<_, String>(1)?)?;
    let oracle = addr(&r.get::<_, String>(7)?)?;
    let collateral = addr(&r.get::<_, String>(6)?)?;
    Ok(Some(CounterParty {
        wallet_hash: r.get(0)?,
        address,
        satoshis: to_u64("satoshis", r.get(2)?)?,
        contract_address: addr(&r.get::<_, String>(3)?)?,
        anyhedge_contract_version: r.get(4)?,
        factory: addr(&r.get::<_, String>(5)?)?,
        // The offer's own address is the other party; filled in by the caller.
        parties: HedgeParties {
            collateral,
            oracle,
            short_party: if offer_side == Side::Short {
                Address::ZERO
            } else {
                address
            },
            long_party: if offer_side == Side::Long {
                Address::ZERO
            } else {
                address
            },
        },
        starting_message: StartingMessage {
            message: r.get(8)?,
            signature: r.get(9)?,
            price: to_u32("price_value", r.get(10)?)?,
            timestamp: r.get(11)?,
            price_sequence: r.get(12)?,
            message_sequence: r.get(13)?,
        },
        terms: HedgeTerms {
            start_timestamp: to_u64("start_timestamp", r.get(14)?)?,
            maturity_timestamp: to_u64("maturity_timestamp", r.get(15)?)?,
            start_price: to_u32("start_price", r.get(16)?)?,
            low_price: to_u32("low_price", r.get(17)?)?,
            high_price: to_u32("high_price", r.get(18)?)?,
            nominal_units_x_sats_per_bch: to_u64("nominal_units_x_sats_per_bch", r.get(19)?)?,
            sats_for_nominal_units_at_high: to_u64("sats_for_nominal_units_at_high", r.get(20)?)?,
            payout_sats: to_u64("payout_sats", r.get(21)?)?,
            short_input_sats: to_u64("short_input_sats", r.get(22)?)?,
            long_input_sats: to_u64("long_input_sats", r.get(23)?)?,
        },
        settlement_deadline: r.get(24)?,
        accepted_at: r.get(25)?,
    }))
}

fn complete_offer(c: &Connection, mut offer: Offer) -> Result<Offer, StoreError> {
    if let Some(mut cp) = counterparty(c, offer.id, offer.position)? {
        match offer.position {
            Side::Short => cp.parties.short_party = offer.address,
            Side::Long => cp.parties.long_party = offer.address,
        }
        offer.counter_party = Some(cp);
    }
    Ok(offer)
}

fn select_offers(
    c: &Connection,
    where_sql: &str,
    tail: &str,
    values: &[Value],
) -> Result<Vec<Offer>, StoreError> {
    let sql = format!(
        "SELECT {OFFER_COLUMNS} FROM anyhedge_offers o
         LEFT JOIN anyhedge_positions p ON p.id = o.hedge_position_id
         {where_sql} {tail}"
    );
    let mut stmt = c.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(values.iter()))?;
    let mut offers = Vec::new();
    while let Some(r) = rows.next()? {
        offers.push(offer_row(r)?);
    }
    drop(rows);
    offers.into_iter().map(|o| complete_offer(c, o)).collect()
}

/// One offer by id.
pub fn offer(c: &Connection, id: i64) -> Result<Option<Offer>, StoreError> {
    Ok(select_offers(c, "WHERE o.id = ?", "", &[Value::Integer(id)])?.pop())
}

fn offer_where(filter: &OfferFilter) -> (String, Vec<Value>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut values = Vec::new();
    if let Some(w) = &filter.wallet_hash {
        clauses.push("o.wallet_hash = ?".into());
        values.push(Value::Text(w.clone()));
    }
    if let Some(w) = &filter.exclude_wallet_hash {
        clauses.push("o.wallet_hash <> ?".into());
        values.push(Value::Text(w.clone()));
    }
    if !filter.statuses.is_empty() {
        let marks = vec!["?"; filter.statuses.len()].join(", ");
        clauses.push(format!("o.status IN ({marks})"));
        values.extend(
            filter
                .statuses
                .iter()
                .map(|s| Value::Text(s.as_str().into())),
        );
    }
    if let Some(side) = filter.position {
        clauses.push("o.position = ?".into());
        values.push(Value::Text(side.as_str().into()));
    }
    if let Some(w) = &filter.counter_party_wallet_hash {
        clauses.push(
            "EXISTS (SELECT 1 FROM anyhedge_offer_counterparties cp
                     WHERE cp.offer_id = o.id AND cp.wallet_hash = ?)"
                .into(),
        );
        values.push(Value::Text(w.clone()));
    }
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (where_sql, values)
}

fn limit_value(limit: Option<u64>) -> Value {
    Value::Integer(limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX)))
}

fn offset_value(offset: u64) -> Value {
    Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX))
}

/// Offers matching `filter`, newest first, and how many match without limit and offset.
pub fn offers(c: &Connection, filter: &OfferFilter) -> Result<(Vec<Offer>, u64), StoreError> {
    let (where_sql, mut values) = offer_where(filter);
    let total: i64 = c.query_row(
        &format!("SELECT COUNT(*) FROM anyhedge_offers o {where_sql}"),
        params_from_iter(values.iter()),
        |r| r.get(0),
    )?;
    values.push(limit_value(filter.limit));
    values.push(offset_value(filter.offset));
    let rows = select_offers(
        c,
        &where_sql,
        "ORDER BY o.created_at DESC, o.id DESC LIMIT ? OFFSET ?",
        &values,
    )?;
    Ok((rows, total as u64))
}

fn insert_offer(c: &Connection, new: &NewOffer) -> Result<i64, StoreError> {
    let now = now_secs();
    c.execute(
        "INSERT INTO anyhedge_offers(position, status, wallet_hash, address, satoshis,
             duration_seconds, low_liquidation_multiplier, high_liquidation_multiplier,
             oracle_pubkey, leveraged, expires_at, created_at, updated_at)
         VALUES (?1, 'pending', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
        params![
            new.position.as_str(),
            new.wallet_hash,
            new.address.to_string(),
            to_i64("satoshis", new.satoshis)?,
            to_i64("duration_seconds", new.duration_seconds)?,
            new.low_liquidation_multiplier,
            new.high_liquidation_multiplier,
            new.oracle_pubkey,
            new.leveraged as i64,
            new.expires_at,
            now,
        ],
    )?;
    Ok(c.last_insert_rowid())
}

fn contract_taken(c: &Connection, contract: Address) -> Result<bool, StoreError> {
    let a = contract.to_string();
    let taken: i64 = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM anyhedge_offer_counterparties WHERE contract_address = ?1)
             OR EXISTS (SELECT 1 FROM anyhedge_positions WHERE address = ?1)",
        params![a],
        |r| r.get(0),
    )?;
    Ok(taken != 0)
}

fn insert_counterparty(
    tx: &Transaction<'_>,
    offer_id: i64,
    cp: &CounterParty,
) -> Result<(), StoreError> {
    let t = &cp.terms;
    let m = &cp.starting_message;
    tx.execute(
        &format!(
            "INSERT INTO anyhedge_offer_counterparties(offer_id, {COUNTERPARTY_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                     ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)"
        ),
        params![
            offer_id,
            cp.wallet_hash,
            cp.address.to_string(),
            to_i64("satoshis", cp.satoshis)?,
            cp.contract_address.to_string(),
            cp.anyhedge_contract_version,
            cp.factory.to_string(),
            cp.parties.collateral.to_string(),
            cp.parties.oracle.to_string(),
            m.message,
            m.signature,
            i64::from(m.price),
            m.timestamp,
            m.price_sequence,
            m.message_sequence,
            to_i64("start_timestamp", t.start_timestamp)?,
            to_i64("maturity_timestamp", t.maturity_timestamp)?,
            i64::from(t.start_price),
            i64::from(t.low_price),
            i64::from(t.high_price),
            to_i64(
                "nominal_units_x_sats_per_bch",
                t.nominal_units_x_sats_per_bch
            )?,
            to_i64(
                "sats_for_nominal_units_at_high",
                t.sats_for_nominal_units_at_high
            )?,
            to_i64("payout_sats", t.payout_sats)?,
            to_i64("short_input_sats", t.short_input_sats)?,
            to_i64("long_input_sats", t.long_input_sats)?,
            cp.settlement_deadline,
            cp.accepted_at,
        ],
    )?;
    Ok(())
}

fn set_offer_status(
    c: &Connection,
    id: i64,
    from: OfferStatus,
    to: OfferStatus,
) -> Result<bool, StoreError> {
    let changed = c.execute(
        "UPDATE anyhedge_offers SET status = ?3, updated_at = ?4 WHERE id = ?1 AND status = ?2",
        params![id, from.as_str(), to.as_str(), now_secs()],
    )?;
    Ok(changed == 1)
}

// ---- positions ----

const POSITION_COLUMNS: &str = "id, address, anyhedge_contract_version, factory, collateral, \
     start_timestamp, maturity_timestamp, short_wallet_hash, short_address, long_wallet_hash, \
     long_address, oracle_pubkey, oracle_address, start_price, low_liquidation_multiplier, \
     high_liquidation_multiplier, leveraged, low_price, high_price, \
     nominal_units_x_sats_per_bch, sats_for_nominal_units_at_high, payout_sats, \
     short_input_sats, long_input_sats, starting_oracle_message, starting_oracle_signature, \
     funding_tx_hash, funding_tx_hash_validated, created_at";

fn position_row(r: &rusqlite::Row<'_>) -> Result<Position, StoreError> {
    Ok(Position {
        id: r.get(0)?,
        address: addr(&r.get::<_, String>(1)?)?,
        anyhedge_contract_version: r.get(2)?,
        factory: addr(&r.get::<_, String>(3)?)?,
        parties: HedgeParties {
            collateral: addr(&r.get::<_, String>(4)?)?,
            oracle: addr(&r.get::<_, String>(12)?)?,
            short_party: addr(&r.get::<_, String>(8)?)?,
            long_party: addr(&r.get::<_, String>(10)?)?,
        },
        terms: HedgeTerms {
            start_timestamp: to_u64("start_timestamp", r.get(5)?)?,
            maturity_timestamp: to_u64("maturity_timestamp", r.get(6)?)?,
            start_price: to_u32("start_price", r.get(13)?)?,
            low_price: to_u32("low_price", r.get(17)?)?,
            high_price: to_u32("high_price", r.get(18)?)?,
            nominal_units_x_sats_per_bch: to_u64("nominal_units_x_sats_per_bch", r.get(19)?)?,
            sats_for_nominal_units_at_high: to_u64("sats_for_nominal_units_at_high", r.get(20)?)?,
            payout_sats: to_u64("payout_sats", r.get(21)?)?,
            short_input_sats: to_u64("short_input_sats", r.get(22)?)?,
            long_input_sats: to_u64("long_input_sats", r.get(23)?)?,
        },
        short_wallet_hash: r.get(7)?,
        long_wallet_hash: r.get(9)?,
        oracle_pubkey: r.get(11)?,
        low_liquidation_multiplier: r.get(14)?,
        high_liquidation_multiplier: r.get(15)?,
        leveraged: r.get::<_, i64>(16)? != 0,
        starting_oracle_message: r.get(24)?,
        starting_oracle_signature: r.get(25)?,
        funding_tx_hash: r
            .get::<_, Option<String>>(26)?
            .map(|h| hash(&h))
            .transpose()?,
        funding_tx_hash_validated: r.get::<_, i64>(27)? != 0,
        created_at: r.get(28)?,
        short_funding_proposal: None,
        long_funding_proposal: None,
        funding: None,
        settlement: None,
        mutual_redemption: None,
        fee: None,
        metadata: None,
    })
}

fn complete_position(c: &Connection, mut p: Position) -> Result<Position, StoreError> {
    {
        let mut stmt = c.prepare_cached(
            "SELECT side, signature, deadline, sats, submitted_at
             FROM anyhedge_funding_proposals WHERE position_id = ?1",
        )?;
        let mut rows = stmt.query(params![p.id])?;
        while let Some(r) = rows.next()? {
            let proposal = FundingProposal {
                signature: r.get(1)?,
                deadline: to_u64("deadline", r.get(2)?)?,
                sats: to_u64("sats", r.get(3)?)?,
                submitted_at: r.get(4)?,
            };
            match side_col(&r.get::<_, String>(0)?)? {
                Side::Short => p.short_funding_proposal = Some(proposal),
                Side::Long => p.long_funding_proposal = Some(proposal),
            }
        }
    }
    p.funding = c
        .query_row(
            "SELECT tx_hash, block_number, short_funding_satoshis, long_funding_satoshis,
                    gas_fee_wei, validated, recorded_at
             FROM anyhedge_fundings WHERE position_id = ?1",
            params![p.id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            },
        )
        .optional()?
        .map(|(tx, block, short, long, gas, validated, at)| {
            Ok::<_, StoreError>(Funding {
                tx_hash: hash(&tx)?,
                block_number: block.map(|b| to_u64("block_number", b)).transpose()?,
                short_funding_satoshis: to_u64("short_funding_satoshis", short)?,
                long_funding_satoshis: to_u64("long_funding_satoshis", long)?,
                gas_fee_wei: gas.map(|g| wei(&g)).transpose()?,
                validated: validated != 0,
                recorded_at: at,
            })
        })
        .transpose()?;
    {
        let mut stmt = c.prepare_cached(
            "SELECT spending_transaction, settlement_type, short_satoshis, long_satoshis,
                    oracle_pubkey, settlement_price, settlement_price_sequence,
                    settlement_message_sequence, settlement_message_timestamp,
                    settlement_message, settlement_signature, recorded_at
             FROM anyhedge_settlements WHERE position_id = ?1",
        )?;
        let mut rows = stmt.query(params![p.id])?;
        if let Some(r) = rows.next()? {
            let kind: String = r.get(1)?;
            p.settlement = Some(Settlement {
                spending_transaction: hash(&r.get::<_, String>(0)?)?,
                settlement_type: SettlementType::parse(&kind).ok_or_else(|| {
                    StoreError::Invalid(format!("unknown settlement type {kind:?}"))
                })?,
                short_satoshis: to_u64("short_satoshis", r.get(2)?)?,
                long_satoshis: to_u64("long_satoshis", r.get(3)?)?,
                oracle_pubkey: r.get(4)?,
                settlement_price: r
                    .get::<_, Option<i64>>(5)?
                    .map(|v| to_u32("settlement_price", v))
                    .transpose()?,
                settlement_price_sequence: r.get(6)?,
                settlement_message_sequence: r.get(7)?,
                settlement_message_timestamp: r.get(8)?,
                settlement_message: r.get(9)?,
                settlement_signature: r.get(10)?,
                recorded_at: r.get(11)?,
            });
        }
    }
    p.mutual_redemption = redemption(c, p.id)?;
    p.fee = c
        .query_row(
            "SELECT address, satoshis FROM anyhedge_position_fees WHERE position_id = ?1",
            params![p.id],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
        )
        .optional()?
        .map(|(a, s)| {
            Ok::<_, StoreError>(PositionFee {
                address: addr(&a)?,
                satoshis: to_u64("satoshis", s)?,
            })
        })
        .transpose()?;
    p.metadata = c
        .query_row(
            "SELECT position_taker, liquidity_fee, network_fee, total_short_funding_sats,
                    total_long_funding_sats
             FROM anyhedge_position_metadata WHERE position_id = ?1",
            params![p.id],
            |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                ))
            },
        )
        .optional()?
        .map(|(taker, liquidity, network, short, long)| {
            Ok::<_, StoreError>(PositionMetadata {
                position_taker: taker.map(|t| side_col(&t)).transpose()?,
                liquidity_fee: liquidity,
                network_fee: network,
                total_short_funding_sats: short
                    .map(|v| to_u64("total_short_funding_sats", v))
                    .transpose()?,
                total_long_funding_sats: long
                    .map(|v| to_u64("total_long_funding_sats", v))
                    .transpose()?,
            })
        })
        .transpose()?;
    Ok(p)
}

fn redemption(c: &Connection, position_id: i64) -> Result<Option<MutualRedemption>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT redemption_type, initiator, short_satoshis, long_satoshis, settlement_price,
                deadline, short_signature, long_signature, tx_hash, created_at, updated_at
         FROM anyhedge_mutual_redemptions WHERE position_id = ?1",
    )?;
    let mut rows = stmt.query(params![position_id])?;
    let Some(r) = rows.next()? else {
        return Ok(None);
    };
    let kind: String = r.get(0)?;
    Ok(Some(MutualRedemption {
        terms: RedemptionProposal {
            redemption_type: RedemptionType::parse(&kind)
                .ok_or_else(|| StoreError::Invalid(format!("unknown redemption type {kind:?}")))?,
            initiator: side_col(&r.get::<_, String>(1)?)?,
            short_satoshis: to_u64("short_satoshis", r.get(2)?)?,
            long_satoshis: to_u64("long_satoshis", r.get(3)?)?,
            settlement_price: to_u32("settlement_price", r.get(4)?)?,
            deadline: to_u64("deadline", r.get(5)?)?,
        },
        short_signature: r.get(6)?,
        long_signature: r.get(7)?,
        tx_hash: r
            .get::<_, Option<String>>(8)?
            .map(|h| hash(&h))
            .transpose()?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    }))
}

fn select_positions(
    c: &Connection,
    where_sql: &str,
    tail: &str,
    values: &[Value],
) -> Result<Vec<Position>, StoreError> {
    let sql = format!("SELECT {POSITION_COLUMNS} FROM anyhedge_positions p {where_sql} {tail}");
    let mut stmt = c.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(values.iter()))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(position_row(r)?);
    }
    drop(rows);
    out.into_iter().map(|p| complete_position(c, p)).collect()
}

/// One hedge position by contract address.
pub fn position(c: &Connection, address: Address) -> Result<Option<Position>, StoreError> {
    Ok(select_positions(
        c,
        "WHERE p.address = ?",
        "",
        &[Value::Text(address.to_string())],
    )?
    .pop())
}

fn position_where(filter: &PositionFilter) -> (String, Vec<Value>) {
    let mut clauses: Vec<&str> = Vec::new();
    let mut values = Vec::new();
    if let Some(w) = &filter.short_wallet_hash {
        clauses.push("p.short_wallet_hash = ?");
        values.push(Value::Text(w.clone()));
    }
    if let Some(w) = &filter.long_wallet_hash {
        clauses.push("p.long_wallet_hash = ?");
        values.push(Value::Text(w.clone()));
    }
    if let Some(w) = &filter.wallet_hash {
        clauses.push("(p.short_wallet_hash = ? OR p.long_wallet_hash = ?)");
        values.push(Value::Text(w.clone()));
        values.push(Value::Text(w.clone()));
    }
    if let Some(o) = &filter.oracle_pubkey {
        clauses.push("p.oracle_pubkey = ?");
        values.push(Value::Text(o.clone()));
    }
    const SETTLED: &str =
        "EXISTS (SELECT 1 FROM anyhedge_settlements s WHERE s.position_id = p.id)";
    const NOT_SETTLED: &str =
        "NOT EXISTS (SELECT 1 FROM anyhedge_settlements s WHERE s.position_id = p.id)";
    match filter.settled {
        Some(true) => clauses.push(SETTLED),
        Some(false) => clauses.push(NOT_SETTLED),
        None => {}
    }
    const NO_PROPOSAL: &str =
        "NOT EXISTS (SELECT 1 FROM anyhedge_funding_proposals f WHERE f.position_id = p.id)";
    const SOME_PROPOSAL: &str =
        "EXISTS (SELECT 1 FROM anyhedge_funding_proposals f WHERE f.position_id = p.id)";
    const BOTH_PROPOSALS: &str =
        "(SELECT COUNT(*) FROM anyhedge_funding_proposals f WHERE f.position_id = p.id) = 2";
    match filter.funding {
        Some(FundingStatus::Pending) => {
            clauses.push("p.funding_tx_hash IS NULL");
            clauses.push(NO_PROPOSAL);
        }
        Some(FundingStatus::Partial) => {
            clauses.push("p.funding_tx_hash IS NULL");
            clauses.push(SOME_PROPOSAL);
        }
        Some(FundingStatus::Ready) => {
            clauses.push("p.funding_tx_hash IS NULL");
            clauses.push(BOTH_PROPOSALS);
        }
        Some(FundingStatus::Complete) => clauses.push("p.funding_tx_hash IS NOT NULL"),
        None => {}
    }
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (where_sql, values)
}

/// Positions matching `filter`, newest start first, and the total without limit and offset.
pub fn positions(
    c: &Connection,
    filter: &PositionFilter,
) -> Result<(Vec<Position>, u64), StoreError> {
    let (where_sql, mut values) = position_where(filter);
    let total: i64 = c.query_row(
        &format!("SELECT COUNT(*) FROM anyhedge_positions p {where_sql}"),
        params_from_iter(values.iter()),
        |r| r.get(0),
    )?;
    values.push(limit_value(filter.limit));
    values.push(offset_value(filter.offset));
    let rows = select_positions(
        c,
        &where_sql,
        "ORDER BY p.start_timestamp DESC, p.id DESC LIMIT ? OFFSET ?",
        &values,
    )?;
    Ok((rows, total as u64))
}

/// Totals per oracle of the positions matching `filter` (limit and offset ignored), by
/// oracle key. Summed in Rust with overflow checks.
pub fn summary(c: &Connection, filter: &PositionFilter) -> Result<Vec<OracleSummary>, StoreError> {
    let (where_sql, values) = position_where(filter);
    let mut stmt = c.prepare(&format!(
        "SELECT p.oracle_pubkey, p.nominal_units_x_sats_per_bch, p.long_input_sats
         FROM anyhedge_positions p {where_sql} ORDER BY p.oracle_pubkey"
    ))?;
    let mut rows = stmt.query(params_from_iter(values.iter()))?;
    let mut out: Vec<OracleSummary> = Vec::new();
    let overflow = || StoreError::Invalid("the summary overflows 64 bits".into());
    while let Some(r) = rows.next()? {
        let oracle: String = r.get(0)?;
        let units = to_u64("nominal_units_x_sats_per_bch", r.get(1)?)?;
        let long = to_u64("long_input_sats", r.get(2)?)?;
        if out.last().is_none_or(|s| s.oracle_pubkey != oracle) {
            out.push(OracleSummary {
                oracle_pubkey: oracle,
                total_short_unit_sats: 0,
                total_long_sats: 0,
                positions: 0,
            });
        }
        let s = out.last_mut().expect("pushed above");
        s.total_short_unit_sats = s
            .total_short_unit_sats
            .checked_add(units)
            .ok_or_else(overflow)?;
        s.total_long_sats = s.total_long_sats.checked_add(long).ok_or_else(overflow)?;
        s.positions += 1;
    }
    Ok(out)
}

fn insert_position(tx: &Transaction<'_>, new: &NewPosition) -> Result<i64, StoreError> {
    let t = &new.terms;
    let pa = &new.parties;
    tx.execute(
        "INSERT INTO anyhedge_positions(address, anyhedge_contract_version, factory, collateral,
             satoshis, start_timestamp, maturity_timestamp, short_wallet_hash, short_address,
             long_wallet_hash, long_address, oracle_pubkey, oracle_address, start_price,
             low_liquidation_multiplier, high_liquidation_multiplier, leveraged, low_price,
             high_price, nominal_units_x_sats_per_bch, sats_for_nominal_units_at_high,
             payout_sats, short_input_sats, long_input_sats, starting_oracle_message,
             starting_oracle_signature, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?19, ?20, ?21, ?22, ?5, ?23, ?24, ?25, ?26)",
        params![
            new.address.to_string(),
            new.anyhedge_contract_version,
            new.factory.to_string(),
            pa.collateral.to_string(),
            to_i64("short_input_sats", t.short_input_sats)?,
            to_i64("start_timestamp", t.start_timestamp)?,
            to_i64("maturity_timestamp", t.maturity_timestamp)?,
            new.short_wallet_hash,
            pa.short_party.to_string(),
            new.long_wallet_hash,
            pa.long_party.to_string(),
            new.oracle_pubkey,
            pa.oracle.to_string(),
            i64::from(t.start_price),
            new.low_liquidation_multiplier,
            new.high_liquidation_multiplier,
            new.leveraged as i64,
            i64::from(t.low_price),
            i64::from(t.high_price),
            to_i64(
                "nominal_units_x_sats_per_bch",
                t.nominal_units_x_sats_per_bch
            )?,
            to_i64(
                "sats_for_nominal_units_at_high",
                t.sats_for_nominal_units_at_high
            )?,
            to_i64("payout_sats", t.payout_sats)?,
            to_i64("long_input_sats", t.long_input_sats)?,
            new.starting_oracle_message,
            new.starting_oracle_signature,
            now_secs(),
        ],
    )?;
    let id = tx.last_insert_rowid();
    if let Some(fee) = &new.fee {
        tx.execute(
            "INSERT INTO anyhedge_position_fees(position_id, address, satoshis) VALUES (?1, ?2, ?3)",
            params![id, fee.address.to_string(), to_i64("fee", fee.satoshis)?],
        )?;
    }
    if let Some(m) = &new.metadata {
        tx.execute(
            "INSERT INTO anyhedge_position_metadata(position_id, position_taker, liquidity_fee,
                 network_fee, total_short_funding_sats, total_long_funding_sats)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                id,
                m.position_taker.map(Side::as_str),
                m.liquidity_fee,
                m.network_fee,
                m.total_short_funding_sats
                    .map(|v| to_i64("total_short_funding_sats", v))
                    .transpose()?,
                m.total_long_funding_sats
                    .map(|v| to_i64("total_long_funding_sats", v))
                    .transpose()?,
            ],
        )?;
    }
    Ok(id)
}

fn upsert_funding_proposal(
    c: &Connection,
    position_id: i64,
    side: Side,
    proposal: &FundingProposal,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO anyhedge_funding_proposals(position_id, side, signature, deadline, sats,
             submitted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(position_id, side) DO UPDATE SET signature = excluded.signature,
             deadline = excluded.deadline, sats = excluded.sats,
             submitted_at = excluded.submitted_at",
        params![
            position_id,
            side.as_str(),
            proposal.signature,
            to_i64("deadline", proposal.deadline)?,
            to_i64("sats", proposal.sats)?,
            proposal.submitted_at,
        ],
    )?;
    Ok(())
}

fn position_in(tx: &Connection, address: Address) -> Result<Checked<Position>, StoreError> {
    Ok(position(tx, address)?.ok_or(Refused::NoPosition(address)))
}

/// What a transaction closure returns: commit on `Ok(Ok(_))`, roll back otherwise.
fn in_tx<T>(
    c: &mut Connection,
    f: impl FnOnce(&Transaction<'_>) -> Result<Checked<T>, StoreError>,
) -> Result<Checked<T>, StoreError> {
    let tx = c.transaction()?;
    let out = f(&tx)?;
    if out.is_ok() {
        tx.commit()?;
    }
    Ok(out)
}

/// A newly accepted offer's counterparty, computed by the caller.
pub type Acceptance = CounterParty;

/// A swept offer: back to pending, with the counterparty it had.
#[derive(Debug, Clone, PartialEq)]
pub struct SweptOffer {
    pub offer: Offer,
    pub counter_party: CounterParty,
}

impl crate::store::Store {
    // ---- offers ----

    /// Stores a new pending offer.
    pub async fn anyhedge_create_offer(&self, new: NewOffer) -> Result<Offer, StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let id = insert_offer(&tx, &new)?;
            let created = offer(&tx, id)?.expect("just inserted");
            tx.commit()?;
            Ok(created)
        })
        .await
    }

    pub async fn anyhedge_offer(&self, id: i64) -> Result<Option<Offer>, StoreError> {
        self.call(move |c| offer(c, id)).await
    }

    /// See [`offers`].
    pub async fn anyhedge_offers(
        &self,
        filter: OfferFilter,
    ) -> Result<(Vec<Offer>, u64), StoreError> {
        self.call(move |c| offers(c, &filter)).await
    }

    /// Pending offers of `position` on `oracle_pubkey` (expired ones included: the caller
    /// knows the time), oldest first.
    pub async fn anyhedge_pending_offers(
        &self,
        position: Side,
        oracle_pubkey: String,
    ) -> Result<Vec<Offer>, StoreError> {
        self.call(move |c| {
            select_offers(
                c,
                "WHERE o.status = 'pending' AND o.position = ? AND o.oracle_pubkey = ?",
                "ORDER BY o.created_at, o.id",
                &[
                    Value::Text(position.as_str().into()),
                    Value::Text(oracle_pubkey),
                ],
            )
        })
        .await
    }

    /// Pending and not expired at `now` → accepted by `acceptance`. Refused when the offer
    /// is gone, not pending, expired, or its contract address is already used.
    pub async fn anyhedge_accept_offer(
        &self,
        id: i64,
        acceptance: Acceptance,
        now: i64,
    ) -> Result<Checked<Offer>, StoreError> {
        self.call(move |c| {
            in_tx(c, |tx| {
                let Some(current) = offer(tx, id)? else {
                    return Ok(Err(Refused::NoOffer(id)));
                };
                if current.status != OfferStatus::Pending {
                    return Ok(Err(Refused::OfferStatus {
                        id,
                        status: current.status,
                    }));
                }
                if let Some(expires_at) = current.expires_at.filter(|_| current.is_expired(now)) {
                    return Ok(Err(Refused::OfferExpired { id, expires_at }));
                }
                if contract_taken(tx, acceptance.contract_address)? {
                    return Ok(Err(Refused::ContractTaken(acceptance.contract_address)));
                }
                // A pending offer has no counterparty; a leftover row would be stale.
                tx.execute(
                    "DELETE FROM anyhedge_offer_counterparties WHERE offer_id = ?1",
                    params![id],
                )?;
                insert_counterparty(tx, id, &acceptance)?;
                if !set_offer_status(tx, id, OfferStatus::Pending, OfferStatus::Accepted)? {
                    return Err(StoreError::Invalid(format!(
                        "offer {id} changed inside its transaction"
                    )));
                }
                Ok(Ok(offer(tx, id)?.expect("exists")))
            })
        })
        .await
    }

    /// Accepted, before its settlement deadline, and still accepted with the contract at
    /// `position.address` → settled into `position` (with the counterparty's funding
    /// proposal when given).
    pub async fn anyhedge_settle_offer(
        &self,
        id: i64,
        position: NewPosition,
        proposal: Option<(Side, FundingProposal)>,
        now: i64,
    ) -> Result<Checked<(Offer, Position)>, StoreError> {
        self.call(move |c| {
            in_tx(c, |tx| {
                let Some(current) = offer(tx, id)? else {
                    return Ok(Err(Refused::NoOffer(id)));
                };
                if current.status != OfferStatus::Accepted {
                    return Ok(Err(Refused::OfferStatus {
                        id,
                        status: current.status,
                    }));
                }
                let Some(cp) = &current.counter_party else {
                    return Err(StoreError::Invalid(format!(
                        "accepted offer {id} has no counterparty"
                    )));
                };
                if now >= cp.settlement_deadline {
                    return Ok(Err(Refused::DeadlinePassed {
                        id,
                        deadline: cp.settlement_deadline,
                    }));
                }
                if cp.contract_address != position.address {
                    return Ok(Err(Refused::CounterPartyChanged {
                        id,
                        current: cp.contract_address,
                        expected: position.address,
                    }));
                }
                if self::position(tx, position.address)?.is_some() {
                    return Ok(Err(Refused::PositionExists(position.address)));
                }
                let position_id = insert_position(tx, &position)?;
                if let Some((side, proposal)) = &proposal {
                    upsert_funding_proposal(tx, position_id, *side, proposal)?;
                }
                let changed = tx.execute(
                    "UPDATE anyhedge_offers SET status = 'settled', hedge_position_id = ?2,
                         updated_at = ?3
                     WHERE id = ?1 AND status = 'accepted'",
                    params![id, position_id, now_secs()],
                )?;
                if changed != 1 {
                    return Err(StoreError::Invalid(format!(
                        "offer {id} changed inside its transaction"
                    )));
                }
                let settled = offer(tx, id)?.expect("exists");
                let created = self::position(tx, position.address)?.expect("just inserted");
                Ok(Ok((settled, created)))
            })
        })
        .await
    }

    /// Pending or accepted → cancelled (an accepted offer's counterparty is dropped and
    /// returned, so it can be told).
    pub async fn anyhedge_cancel_offer(
        &self,
        id: i64,
    ) -> Result<Checked<(Offer, Option<CounterParty>)>, StoreError> {
        self.call(move |c| {
            in_tx(c, |tx| {
                let Some(current) = offer(tx, id)? else {
                    return Ok(Err(Refused::NoOffer(id)));
                };
                if !matches!(current.status, OfferStatus::Pending | OfferStatus::Accepted) {
                    return Ok(Err(Refused::OfferStatus {
                        id,
                        status: current.status,
                    }));
                }
                tx.execute(
                    "DELETE FROM anyhedge_offer_counterparties WHERE offer_id = ?1",
                    params![id],
                )?;
                set_offer_status(tx, id, current.status, OfferStatus::Cancelled)?;
                Ok(Ok((offer(tx, id)?.expect("exists"), current.counter_party)))
            })
        })
        .await
    }

    /// Accepted offers whose settlement deadline is at or before `now` → pending, their
    /// counterparty cleared (the watchtower's `update_hedge_position_offer_deadline`).
    pub async fn anyhedge_sweep_expired_deadlines(
        &self,
        now: i64,
    ) -> Result<Vec<SweptOffer>, StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let due = select_offers(
                &tx,
                "WHERE o.status = 'accepted' AND EXISTS (
                     SELECT 1 FROM anyhedge_offer_counterparties cp
                     WHERE cp.offer_id = o.id AND cp.settlement_deadline <= ?)",
                "ORDER BY o.id",
                &[Value::Integer(now)],
            )?;
            let mut swept = Vec::with_capacity(due.len());
            for o in due {
                tx.execute(
                    "DELETE FROM anyhedge_offer_counterparties WHERE offer_id = ?1",
                    params![o.id],
                )?;
                set_offer_status(&tx, o.id, OfferStatus::Accepted, OfferStatus::Pending)?;
                let counter_party = o.counter_party.expect("selected with a counterparty");
                swept.push(SweptOffer {
                    offer: offer(&tx, o.id)?.expect("exists"),
                    counter_party,
                });
            }
            tx.commit()?;
            Ok(swept)
        })
        .await
    }

    // ---- positions ----

    /// Stores a new hedge position (refused if one exists at its address).
    pub async fn anyhedge_create_position(
        &self,
        new: NewPosition,
    ) -> Result<Checked<Position>, StoreError> {
        self.call(move |c| {
            in_tx(c, |tx| {
                if contract_taken(tx, new.address)? {
                    return Ok(Err(Refused::PositionExists(new.address)));
                }
                insert_position(tx, &new)?;
                Ok(Ok(position(tx, new.address)?.expect("just inserted")))
            })
        })
        .await
    }

    pub async fn anyhedge_position(
        &self,
        address: Address,
    ) -> Result<Option<Position>, StoreError> {
        self.call(move |c| position(c, address)).await
    }

    /// See [`positions`].
    pub async fn anyhedge_positions(
        &self,
        filter: PositionFilter,
    ) -> Result<(Vec<Position>, u64), StoreError> {
        self.call(move |c| positions(c, &filter)).await
    }

    /// See [`summary`].
    pub async fn anyhedge_position_summary(
        &self,
        filter: PositionFilter,
    ) -> Result<Vec<OracleSummary>, StoreError> {
        self.call(move |c| summary(c, &filter)).await
    }

    /// Stores (or replaces) `side`'s funding proposal. Refused once funded or settled.
    pub async fn anyhedge_record_funding_proposal(
        &self,
        address: Address,
        side: Side,
        proposal: FundingProposal,
    ) -> Result<Checked<Position>, StoreError> {
        self.call(move |c| {
            in_tx(c, |tx| {
                let p = match position_in(tx, address)? {
                    Ok(p) => p,
                    Err(refused) => return Ok(Err(refused)),
                };
                if p.settlement.is_some() {
                    return Ok(Err(Refused::AlreadySettled(address)));
                }
                if p.funding_tx_hash.is_some() {
                    return Ok(Err(Refused::AlreadyFunded(address)));
                }
                upsert_funding_proposal(tx, p.id, side, &proposal)?;
                Ok(Ok(position(tx, address)?.expect("exists")))
            })
        })
        .await
    }

    /// Records the funding transaction (and what it funded). Repeating it with the same
    /// transaction updates the row (to mark it validated, say); another transaction is
    /// refused.
    pub async fn anyhedge_record_funding(
        &self,
        address: Address,
        funding: Funding,
    ) -> Result<Checked<Position>, StoreError> {
        self.call(move |c| {
            in_tx(c, |tx| {
                let p = match position_in(tx, address)? {
                    Ok(p) => p,
                    Err(refused) => return Ok(Err(refused)),
                };
                if let Some(recorded) = p.funding_tx_hash
                    && recorded != funding.tx_hash
                {
                    return Ok(Err(Refused::FundingMismatch {
                        address,
                        recorded,
                        given: funding.tx_hash,
                    }));
                }
                tx.execute(
                    "INSERT INTO anyhedge_fundings(position_id, tx_hash, block_number,
                         short_funding_satoshis, long_funding_satoshis, gas_fee_wei, validated,
                         recorded_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT(position_id) DO UPDATE SET tx_hash = excluded.tx_hash,
                         block_number = excluded.block_number,
                         short_funding_satoshis = excluded.short_funding_satoshis,
                         long_funding_satoshis = excluded.long_funding_satoshis,
                         gas_fee_wei = excluded.gas_fee_wei, validated = excluded.validated,
                         recorded_at = excluded.recorded_at",
                    params![
                        p.id,
                        funding.tx_hash.to_string(),
                        funding
                            .block_number
                            .map(|b| to_i64("block_number", b))
                            .transpose()?,
                        to_i64("short_funding_satoshis", funding.short_funding_satoshis)?,
                        to_i64("long_funding_satoshis", funding.long_funding_satoshis)?,
                        funding.gas_fee_wei.map(|w| w.to_string()),
                        funding.validated as i64,
                        funding.recorded_at,
                    ],
                )?;
                tx.execute(
                    "UPDATE anyhedge_positions SET funding_tx_hash = ?2,
                         funding_tx_hash_validated = ?3 WHERE id = ?1",
                    params![p.id, funding.tx_hash.to_string(), funding.validated as i64],
                )?;
                Ok(Ok(position(tx, address)?.expect("exists")))
            })
        })
        .await
    }

    /// Records how the contract was settled. The same transaction again is a no-op; another
    /// one is refused. A mutual redemption's settlement also completes the redemption.
    pub async fn anyhedge_record_settlement(
        &self,
        address: Address,
        settlement: Settlement,
    ) -> Result<Checked<Position>, StoreError> {
        self.call(move |c| {
            in_tx(c, |tx| {
                let p = match position_in(tx, address)? {
                    Ok(p) => p,
                    Err(refused) => return Ok(Err(refused)),
                };
                if let Some(existing) = &p.settlement {
                    if existing.spending_transaction == settlement.spending_transaction {
                        return Ok(Ok(p));
                    }
                    return Ok(Err(Refused::AlreadySettled(address)));
                }
                let s = &settlement;
                tx.execute(
                    "INSERT INTO anyhedge_settlements(position_id, spending_transaction,
                         settlement_type, short_satoshis, long_satoshis, oracle_pubkey,
                         settlement_price, settlement_price_sequence, settlement_message_sequence,
                         settlement_message_timestamp, settlement_message, settlement_signature,
                         recorded_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                    params![
                        p.id,
                        s.spending_transaction.to_string(),
                        s.settlement_type.as_str(),
                        to_i64("short_satoshis", s.short_satoshis)?,
                        to_i64("long_satoshis", s.long_satoshis)?,
                        s.oracle_pubkey,
                        s.settlement_price.map(i64::from),
                        s.settlement_price_sequence,
                        s.settlement_message_sequence,
                        s.settlement_message_timestamp,
                        s.settlement_message,
                        s.settlement_signature,
                        s.recorded_at,
                    ],
                )?;
                if s.settlement_type == SettlementType::MutualRedemption {
                    tx.execute(
                        "UPDATE anyhedge_mutual_redemptions SET tx_hash = ?2, updated_at = ?3
                         WHERE position_id = ?1 AND tx_hash IS NULL",
                        params![p.id, s.spending_transaction.to_string(), now_secs()],
                    )?;
                }
                Ok(Ok(position(tx, address)?.expect("exists")))
            })
        })
        .await
    }

    /// Creates or updates the mutual redemption proposal and adds the signatures given. New
    /// terms drop the signatures made over the old ones (as the watchtower does). Refused
    /// unless funded, and once settled or redeemed.
    pub async fn anyhedge_upsert_redemption(
        &self,
        address: Address,
        terms: RedemptionProposal,
        short_signature: Option<String>,
        long_signature: Option<String>,
    ) -> Result<Checked<Position>, StoreError> {
        self.call(move |c| {
            in_tx(c, |tx| {
                let p = match position_in(tx, address)? {
                    Ok(p) => p,
                    Err(refused) => return Ok(Err(refused)),
                };
                if p.settlement.is_some() {
                    return Ok(Err(Refused::AlreadySettled(address)));
                }
                if p.funding_tx_hash.is_none() {
                    return Ok(Err(Refused::NotFunded(address)));
                }
                let now = now_secs();
                let (mut short_sig, mut long_sig) = match &p.mutual_redemption {
                    Some(r) if r.tx_hash.is_some() => {
                        return Ok(Err(Refused::RedemptionCompleted(address)));
                    }
                    Some(r) if same_redemption_terms(&r.terms, &terms) => {
                        (r.short_signature.clone(), r.long_signature.clone())
                    }
                    _ => (None, None),
                };
                let initiator = match &p.mutual_redemption {
                    Some(r) if same_redemption_terms(&r.terms, &terms) => r.terms.initiator,
                    _ => terms.initiator,
                };
                if short_signature.is_some() {
                    short_sig = short_signature;
                }
                if long_signature.is_some() {
                    long_sig = long_signature;
                }
                tx.execute(
                    "INSERT INTO anyhedge_mutual_redemptions(position_id, redemption_type,
                         initiator, short_satoshis, long_satoshis, settlement_price, deadline,
                         short_signature, long_signature, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
                     ON CONFLICT(position_id) DO UPDATE SET
                         redemption_type = excluded.redemption_type,
                         initiator = excluded.initiator,
                         short_satoshis = excluded.short_satoshis,
                         long_satoshis = excluded.long_satoshis,
                         settlement_price = excluded.settlement_price,
                         deadline = excluded.deadline,
                         short_signature = excluded.short_signature,
                         long_signature = excluded.long_signature,
                         updated_at = excluded.updated_at",
                    params![
                        p.id,
                        terms.redemption_type.as_str(),
                        initiator.as_str(),
                        to_i64("short_satoshis", terms.short_satoshis)?,
                        to_i64("long_satoshis", terms.long_satoshis)?,
                        i64::from(terms.settlement_price),
                        to_i64("deadline", terms.deadline)?,
                        short_sig,
                        long_sig,
                        now,
                    ],
                )?;
                Ok(Ok(position(tx, address)?.expect("exists")))
            })
        })
        .await
    }

    /// Records the transaction that sent the mutual redemption.
    pub async fn anyhedge_record_redemption_tx(
        &self,
        address: Address,
        tx_hash: B256,
    ) -> Result<Checked<Position>, StoreError> {
        self.call(move |c| {
            in_tx(c, |tx| {
                let p = match position_in(tx, address)? {
                    Ok(p) => p,
                    Err(refused) => return Ok(Err(refused)),
                };
                match &p.mutual_redemption {
                    None => return Ok(Err(Refused::NoRedemption(address))),
                    Some(r) if r.tx_hash == Some(tx_hash) => return Ok(Ok(p)),
                    Some(r) if r.tx_hash.is_some() => {
                        return Ok(Err(Refused::RedemptionCompleted(address)));
                    }
                    Some(_) => {}
                }
                tx.execute(
                    "UPDATE anyhedge_mutual_redemptions SET tx_hash = ?2, updated_at = ?3
                     WHERE position_id = ?1",
                    params![p.id, tx_hash.to_string(), now_secs()],
                )?;
                Ok(Ok(position(tx, address)?.expect("exists")))
            })
        })
        .await
    }

    // ---- what the desk works on ----

    /// Both funding proposals in, not funded, not settled: ready for `createAndFund`.
    pub async fn anyhedge_positions_ready_to_fund(&self) -> Result<Vec<Position>, StoreError> {
        self.call(|c| {
            select_positions(
                c,
                "WHERE p.funding_tx_hash IS NULL
                   AND (SELECT COUNT(*) FROM anyhedge_funding_proposals f
                        WHERE f.position_id = p.id) = 2
                   AND NOT EXISTS (SELECT 1 FROM anyhedge_settlements s WHERE s.position_id = p.id)",
                "ORDER BY p.id",
                &[],
            )
        })
        .await
    }

    /// Funded (a transaction recorded) but not yet read back from the chain.
    pub async fn anyhedge_positions_unvalidated_funding(
        &self,
    ) -> Result<Vec<Position>, StoreError> {
        self.call(|c| {
            select_positions(
                c,
                "WHERE p.funding_tx_hash IS NOT NULL AND p.funding_tx_hash_validated = 0",
                "ORDER BY p.id",
                &[],
            )
        })
        .await
    }

    /// Funded and not settled: watched for maturity and liquidation.
    pub async fn anyhedge_positions_open(&self) -> Result<Vec<Position>, StoreError> {
        self.call(|c| {
            select_positions(
                c,
                "WHERE p.funding_tx_hash IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM anyhedge_settlements s WHERE s.position_id = p.id)",
                "ORDER BY p.maturity_timestamp, p.id",
                &[],
            )
        })
        .await
    }

    /// Mutual redemptions signed by both parties, not sent, on unsettled positions.
    pub async fn anyhedge_redemptions_ready(&self) -> Result<Vec<Position>, StoreError> {
        self.call(|c| {
            select_positions(
                c,
                "WHERE EXISTS (SELECT 1 FROM anyhedge_mutual_redemptions r
                               WHERE r.position_id = p.id AND r.tx_hash IS NULL
                                 AND r.short_signature IS NOT NULL
                                 AND r.long_signature IS NOT NULL)
                   AND NOT EXISTS (SELECT 1 FROM anyhedge_settlements s WHERE s.position_id = p.id)",
                "ORDER BY p.id",
                &[],
            )
        })
        .await
    }
}

fn same_redemption_terms(a: &RedemptionProposal, b: &RedemptionProposal) -> bool {
    a.redemption_type == b.redemption_type
        && a.short_satoshis == b.short_satoshis
        && a.long_satoshis == b.long_satoshis
        && a.settlement_price == b.settlement_price
        && a.deadline == b.deadline
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::Store;

    const ORACLE: &str = "02d09db08af1ff4e8453919cc866a4be427d7bfe18f2c05e5444c196fcf6fd2818";

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.sqlite"), Duration::from_secs(5)).unwrap();
        (dir, store)
    }

    fn new_offer(position: Side, wallet: &str, satoshis: u64) -> NewOffer {
        NewOffer {
            position,
            wallet_hash: wallet.into(),
            address: Address::repeat_byte(0x11),
            satoshis,
            duration_seconds: 86_400,
            low_liquidation_multiplier: 0.5,
            high_liquidation_multiplier: 5.0,
            oracle_pubkey: ORACLE.into(),
            leveraged: false,
            expires_at: None,
        }
    }

    fn terms() -> HedgeTerms {
        HedgeTerms {
            start_timestamp: 1_700_000_000,
            maturity_timestamp: 1_700_086_400,
            start_price: 10_944,
            low_price: 6_944,
            high_price: 43_776,
            nominal_units_x_sats_per_bch: 3_337_920_000_000,
            sats_for_nominal_units_at_high: 0,
            payout_sats: 480_691_244,
            short_input_sats: 305_000_000,
            long_input_sats: 175_691_244,
        }
    }

    fn acceptance(offer: &Offer, contract: u8, deadline: i64) -> Acceptance {
        let counterparty = Address::repeat_byte(0x22);
        let (short_party, long_party) = match offer.position {
            Side::Short => (offer.address, counterparty),
            Side::Long => (counterparty, offer.address),
        };
        CounterParty {
            wallet_hash: "taker".into(),
            address: counterparty,
            satoshis: 175_691_244,
            contract_address: Address::repeat_byte(contract),
            anyhedge_contract_version: "v".into(),
            factory: Address::repeat_byte(0xfa),
            parties: HedgeParties {
                collateral: Address::repeat_byte(0xc0),
                oracle: Address::repeat_byte(0x0a),
                short_party,
                long_party,
            },
            starting_message: StartingMessage {
                message: "1e31db639e0daa019b0daa01c02a0000".into(),
                signature: "ab".repeat(65),
                price: 10_944,
                timestamp: 1_700_000_000,
                price_sequence: 27_921_819,
                message_sequence: 27_921_822,
            },
            terms: terms(),
            settlement_deadline: deadline,
            accepted_at: deadline - 900,
        }
    }

    fn position_from(offer: &Offer) -> NewPosition {
        let cp = offer.counter_party.as_ref().unwrap();
        NewPosition {
            address: cp.contract_address,
            anyhedge_contract_version: cp.anyhedge_contract_version.clone(),
            factory: cp.factory,
            parties: cp.parties,
            terms: cp.terms,
            short_wallet_hash: offer.wallet_hash.clone(),
            long_wallet_hash: cp.wallet_hash.clone(),
            oracle_pubkey: offer.oracle_pubkey.clone(),
            low_liquidation_multiplier: offer.low_liquidation_multiplier,
            high_liquidation_multiplier: offer.high_liquidation_multiplier,
            leveraged: offer.leveraged,
            starting_oracle_message: cp.starting_message.message.clone(),
            starting_oracle_signature: cp.starting_message.signature.clone(),
            fee: Some(PositionFee {
                address: Address::repeat_byte(0xfe),
                satoshis: 5_000,
            }),
            metadata: Some(PositionMetadata {
                position_taker: Some(Side::Long),
                liquidity_fee: Some(0),
                ..PositionMetadata::default()
            }),
        }
    }

    async fn settled_position(store: &Store) -> Position {
        let offer = store
            .anyhedge_create_offer(new_offer(Side::Short, "maker", 305_000_000))
            .await
            .unwrap();
        let accepted = store
            .anyhedge_accept_offer(offer.id, acceptance(&offer, 0x33, 2_000), 1_000)
            .await
            .unwrap()
            .unwrap();
        let (_, p) = store
            .anyhedge_settle_offer(offer.id, position_from(&accepted), None, 1_500)
            .await
            .unwrap()
            .unwrap();
        p
    }

    #[tokio::test]
    async fn offers_list_with_filters_counts_and_pages() {
        let (_d, store) = store();
        for (i, wallet) in ["a", "b", "a", "c"].iter().enumerate() {
            let side = if i % 2 == 0 { Side::Short } else { Side::Long };
            store
                .anyhedge_create_offer(new_offer(side, wallet, 10_000 + i as u64))
                .await
                .unwrap();
        }
        store.anyhedge_cancel_offer(4).await.unwrap().unwrap();
        let list = |f: OfferFilter| {
            let store = store.clone();
            async move {
                let (rows, total) = store.anyhedge_offers(f).await.unwrap();
                (rows.iter().map(|o| o.id).collect::<Vec<_>>(), total)
            }
        };
        assert_eq!(list(OfferFilter::default()).await, (vec![4, 3, 2, 1], 4));
        let by_wallet = OfferFilter {
            wallet_hash: Some("a".into()),
            ..OfferFilter::default()
        };
        assert_eq!(list(by_wallet).await, (vec![3, 1], 2));
        let excluding = OfferFilter {
            exclude_wallet_hash: Some("a".into()),
            statuses: vec![OfferStatus::Pending],
            ..OfferFilter::default()
        };
        assert_eq!(list(excluding).await, (vec![2], 1));
        let longs = OfferFilter {
            position: Some(Side::Long),
            ..OfferFilter::default()
        };
        assert_eq!(list(longs).await, (vec![4, 2], 2));
        let paged = OfferFilter {
            limit: Some(2),
            offset: 1,
            ..OfferFilter::default()
        };
        assert_eq!(list(paged).await, (vec![3, 2], 4));
        let pending = store
            .anyhedge_pending_offers(Side::Short, ORACLE.into())
            .await
            .unwrap();
        assert_eq!(pending.iter().map(|o| o.id).collect::<Vec<_>>(), vec![1, 3]);
    }

    #[tokio::test]
    async fn concurrent_accepts_let_exactly_one_through() {
        let (_d, store) = store();
        let offer = store
            .anyhedge_create_offer(new_offer(Side::Short, "maker", 305_000_000))
            .await
            .unwrap();
        let tasks: Vec<_> = (0..8u8)
            .map(|i| {
                let store = store.clone();
                let acceptance = acceptance(&offer, 0x40 + i, 2_000);
                tokio::spawn(async move {
                    store
                        .anyhedge_accept_offer(offer.id, acceptance, 1_000)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut accepted = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(o) => {
                    accepted += 1;
                    assert_eq!(o.status, OfferStatus::Accepted);
                }
                Err(r) => assert_eq!(
                    r,
                    Refused::OfferStatus {
                        id: offer.id,
                        status: OfferStatus::Accepted
                    }
                ),
            }
        }
        assert_eq!(accepted, 1);
        let rows: i64 = store
            .call(|c| {
                Ok(c.query_row(
                    "SELECT COUNT(*) FROM anyhedge_offer_counterparties",
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap();
        assert_eq!(rows, 1);
    }

    #[tokio::test]
    async fn expired_offers_and_taken_contracts_are_refused() {
        let (_d, store) = store();
        let mut expiring = new_offer(Side::Long, "maker", 100_000);
        expiring.expires_at = Some(1_000);
        let offer = store.anyhedge_create_offer(expiring).await.unwrap();
        assert_eq!(
            store
                .anyhedge_accept_offer(offer.id, acceptance(&offer, 0x33, 2_000), 1_001)
                .await
                .unwrap(),
            Err(Refused::OfferExpired {
                id: offer.id,
                expires_at: 1_000
            })
        );
        // At its expiry it is still open.
        let accepted = store
            .anyhedge_accept_offer(offer.id, acceptance(&offer, 0x33, 2_000), 1_000)
            .await
            .unwrap()
            .unwrap();
        let cp = accepted.counter_party.unwrap();
        assert_eq!(cp.parties.long_party, offer.address);
        assert_eq!(cp.parties.short_party, Address::repeat_byte(0x22));
        assert_eq!(cp.terms, terms());
        let other = store
            .anyhedge_create_offer(new_offer(Side::Short, "maker2", 100_000))
            .await
            .unwrap();
        assert_eq!(
            store
                .anyhedge_accept_offer(other.id, acceptance(&other, 0x33, 2_000), 1_000)
                .await
                .unwrap(),
            Err(Refused::ContractTaken(Address::repeat_byte(0x33)))
        );
        assert_eq!(
            store
                .anyhedge_accept_offer(99, acceptance(&other, 0x34, 2_000), 1_000)
                .await
                .unwrap(),
            Err(Refused::NoOffer(99))
        );
    }

    #[tokio::test]
    async fn the_sweep_returns_lapsed_acceptances_to_pending() {
        let (_d, store) = store();
        let offer = store
            .anyhedge_create_offer(new_offer(Side::Short, "maker", 305_000_000))
            .await
            .unwrap();
        store
            .anyhedge_accept_offer(offer.id, acceptance(&offer, 0x33, 2_000), 1_000)
            .await
            .unwrap()
            .unwrap();
        assert!(
            store
                .anyhedge_sweep_expired_deadlines(1_999)
                .await
                .unwrap()
                .is_empty()
        );
        let swept = store.anyhedge_sweep_expired_deadlines(2_000).await.unwrap();
        assert_eq!(swept.len(), 1);
        assert_eq!(swept[0].offer.status, OfferStatus::Pending);
        assert_eq!(swept[0].offer.counter_party, None);
        assert_eq!(swept[0].counter_party.wallet_hash, "taker");
        // Settling after the sweep is refused; accepting again works (same contract too).
        let again = store.anyhedge_offer(offer.id).await.unwrap().unwrap();
        assert_eq!(again.status, OfferStatus::Pending);
        store
            .anyhedge_accept_offer(offer.id, acceptance(&offer, 0x33, 4_000), 3_000)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn settling_checks_deadline_and_contract_then_creates_the_position() {
        let (_d, store) = store();
        let offer = store
            .anyhedge_create_offer(new_offer(Side::Short, "maker", 305_000_000))
            .await
            .unwrap();
        let accepted = store
            .anyhedge_accept_offer(offer.id, acceptance(&offer, 0x33, 2_000), 1_000)
            .await
            .unwrap()
            .unwrap();
        let position = position_from(&accepted);
        assert_eq!(
            store
                .anyhedge_settle_offer(offer.id, position.clone(), None, 2_000)
                .await
                .unwrap(),
            Err(Refused::DeadlinePassed {
                id: offer.id,
                deadline: 2_000
            })
        );
        let wrong = NewPosition {
            address: Address::repeat_byte(0x99),
            ..position.clone()
        };
        assert!(matches!(
            store
                .anyhedge_settle_offer(offer.id, wrong, None, 1_500)
                .await
                .unwrap(),
            Err(Refused::CounterPartyChanged { .. })
        ));
        let proposal = FundingProposal {
            signature: "0x01".into(),
            deadline: 9_999,
            sats: 175_692_576,
            submitted_at: 1_500,
        };
        let (settled, p) = store
            .anyhedge_settle_offer(
                offer.id,
                position.clone(),
                Some((Side::Long, proposal.clone())),
                1_999,
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(settled.status, OfferStatus::Settled);
        assert_eq!(settled.hedge_position, Some(position.address));
        assert_eq!(p.terms, terms());
        assert_eq!(p.satoshis(), 305_000_000);
        assert_eq!(p.long_funding_proposal, Some(proposal));
        assert_eq!(p.short_funding_proposal, None);
        assert_eq!(p.fee.unwrap().satoshis, 5_000);
        assert_eq!(p.metadata.unwrap().position_taker, Some(Side::Long));
        assert_eq!(p.wallet_hashes(), vec!["maker".to_string(), "taker".into()]);
        assert_eq!(
            store
                .anyhedge_settle_offer(offer.id, position, None, 1_999)
                .await
                .unwrap(),
            Err(Refused::OfferStatus {
                id: offer.id,
                status: OfferStatus::Settled
            })
        );
        assert_eq!(
            store.anyhedge_cancel_offer(offer.id).await.unwrap(),
            Err(Refused::OfferStatus {
                id: offer.id,
                status: OfferStatus::Settled
            })
        );
    }

    #[tokio::test]
    async fn funding_settlement_and_redemption_follow_the_position() {
        let (_d, store) = store();
        let p = settled_position(&store).await;
        let a = p.address;
        let proposal = |sats| FundingProposal {
            signature: "0x02".into(),
            deadline: 9_999,
            sats,
            submitted_at: 1,
        };
        assert!(
            store
                .anyhedge_positions_ready_to_fund()
                .await
                .unwrap()
                .is_empty()
        );
        // Redemption before funding is refused.
        let terms = RedemptionProposal {
            redemption_type: RedemptionType::Refund,
            initiator: Side::Short,
            short_satoshis: 305_000_000,
            long_satoshis: 175_692_576,
            settlement_price: 0,
            deadline: 9_999,
        };
        assert_eq!(
            store
                .anyhedge_upsert_redemption(a, terms, None, None)
                .await
                .unwrap(),
            Err(Refused::NotFunded(a))
        );
        for side in [Side::Short, Side::Long] {
            store
                .anyhedge_record_funding_proposal(a, side, proposal(1))
                .await
                .unwrap()
                .unwrap();
        }
        let ready = store.anyhedge_positions_ready_to_fund().await.unwrap();
        assert_eq!(ready.len(), 1);
        let funding = Funding {
            tx_hash: B256::repeat_byte(1),
            block_number: Some(7),
            short_funding_satoshis: 305_000_000,
            long_funding_satoshis: 175_692_576,
            gas_fee_wei: Some(U256::from(10u64).pow(U256::from(20u64))),
            validated: false,
            recorded_at: 5,
        };
        store
            .anyhedge_record_funding(a, funding.clone())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store
                .anyhedge_record_funding_proposal(a, Side::Short, proposal(2))
                .await
                .unwrap(),
            Err(Refused::AlreadyFunded(a))
        );
        assert_eq!(
            store
                .anyhedge_positions_unvalidated_funding()
                .await
                .unwrap()
                .len(),
            1
        );
        let validated = store
            .anyhedge_record_funding(
                a,
                Funding {
                    validated: true,
                    ..funding.clone()
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert!(validated.funding_tx_hash_validated);
        assert_eq!(
            validated.funding.as_ref().unwrap().gas_fee_wei,
            funding.gas_fee_wei
        );
        assert_eq!(validated.funding.unwrap().funding_satoshis(), 480_692_576);
        assert!(matches!(
            store
                .anyhedge_record_funding(
                    a,
                    Funding {
                        tx_hash: B256::repeat_byte(2),
                        ..funding
                    }
                )
                .await
                .unwrap(),
            Err(Refused::FundingMismatch { .. })
        ));
        assert_eq!(store.anyhedge_positions_open().await.unwrap().len(), 1);

        // A signature stays while the terms stay; new terms drop both.
        let p1 = store
            .anyhedge_upsert_redemption(a, terms, Some("0xaa".into()), None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            p1.mutual_redemption
                .as_ref()
                .unwrap()
                .short_signature
                .as_deref(),
            Some("0xaa")
        );
        let p2 = store
            .anyhedge_upsert_redemption(a, terms, None, Some("0xbb".into()))
            .await
            .unwrap()
            .unwrap();
        let r = p2.mutual_redemption.unwrap();
        assert!(r.is_signed_by_both());
        assert_eq!(store.anyhedge_redemptions_ready().await.unwrap().len(), 1);
        let changed = RedemptionProposal {
            redemption_type: RedemptionType::Arbitrary,
            initiator: Side::Long,
            short_satoshis: 1_332,
            long_satoshis: 480_691_244,
            ..terms
        };
        let p3 = store
            .anyhedge_upsert_redemption(a, changed, None, Some("0xcc".into()))
            .await
            .unwrap()
            .unwrap();
        let r = p3.mutual_redemption.unwrap();
        assert_eq!(r.short_signature, None);
        assert_eq!(r.long_signature.as_deref(), Some("0xcc"));
        assert_eq!(r.terms.initiator, Side::Long);
        assert!(store.anyhedge_redemptions_ready().await.unwrap().is_empty());

        let settlement = Settlement {
            spending_transaction: B256::repeat_byte(3),
            settlement_type: SettlementType::MutualRedemption,
            short_satoshis: 1_332,
            long_satoshis: 480_691_244,
            oracle_pubkey: ORACLE.into(),
            settlement_price: None,
            settlement_price_sequence: None,
            settlement_message_sequence: None,
            settlement_message_timestamp: None,
            settlement_message: None,
            settlement_signature: None,
            recorded_at: 9,
        };
        let done = store
            .anyhedge_record_settlement(a, settlement.clone())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            done.mutual_redemption.unwrap().tx_hash,
            Some(B256::repeat_byte(3))
        );
        // The same settlement again is a no-op; another is refused.
        store
            .anyhedge_record_settlement(a, settlement.clone())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store
                .anyhedge_record_settlement(
                    a,
                    Settlement {
                        spending_transaction: B256::repeat_byte(4),
                        ..settlement
                    }
                )
                .await
                .unwrap(),
            Err(Refused::AlreadySettled(a))
        );
        assert!(store.anyhedge_positions_open().await.unwrap().is_empty());
        assert_eq!(
            store
                .anyhedge_record_redemption_tx(a, B256::repeat_byte(5))
                .await
                .unwrap(),
            Err(Refused::RedemptionCompleted(a))
        );
    }

    #[tokio::test]
    async fn position_filters_and_summary() {
        let (_d, store) = store();
        let p = settled_position(&store).await;
        let filter = |funding, settled| PositionFilter {
            funding,
            settled,
            ..PositionFilter::default()
        };
        let count = |f: PositionFilter| {
            let store = store.clone();
            async move { store.anyhedge_positions(f).await.unwrap().1 }
        };
        assert_eq!(count(filter(Some(FundingStatus::Pending), None)).await, 1);
        assert_eq!(count(filter(Some(FundingStatus::Partial), None)).await, 0);
        store
            .anyhedge_record_funding_proposal(
                p.address,
                Side::Short,
                FundingProposal {
                    signature: "0x1".into(),
                    deadline: 1,
                    sats: 1,
                    submitted_at: 1,
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(count(filter(Some(FundingStatus::Pending), None)).await, 0);
        assert_eq!(count(filter(Some(FundingStatus::Partial), None)).await, 1);
        assert_eq!(count(filter(Some(FundingStatus::Ready), None)).await, 0);
        assert_eq!(count(filter(None, Some(false))).await, 1);
        assert_eq!(count(filter(None, Some(true))).await, 0);
        let by_long = PositionFilter {
            long_wallet_hash: Some("taker".into()),
            ..PositionFilter::default()
        };
        assert_eq!(count(by_long).await, 1);
        let by_either = PositionFilter {
            wallet_hash: Some("maker".into()),
            ..PositionFilter::default()
        };
        assert_eq!(count(by_either).await, 1);
        let nobody = PositionFilter {
            short_wallet_hash: Some("taker".into()),
            ..PositionFilter::default()
        };
        assert_eq!(count(nobody).await, 0);
        let summary = store
            .anyhedge_position_summary(PositionFilter::default())
            .await
            .unwrap();
        assert_eq!(
            summary,
            vec![OracleSummary {
                oracle_pubkey: ORACLE.into(),
                total_short_unit_sats: 3_337_920_000_000,
                total_long_sats: 175_691_244,
                positions: 1,
            }]
        );
        assert_eq!(
            store
                .anyhedge_create_position(position_from(
                    &store.anyhedge_offer(1).await.unwrap().unwrap()
                ))
                .await
                .unwrap(),
            Err(Refused::PositionExists(p.address))
        );
    }
}
