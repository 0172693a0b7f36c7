//! What the AnyHedge tab shows: offers, hedge contracts and settlements, plus the desk's
//! journal of what went wrong. Built by the desk from the store, read by the UI as one
//! immutable snapshot.

use alloy::primitives::Address;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnyHedgeSnapshot {
    pub chain: String,
    /// `None` until the HedgeFactory is deployed (or recorded) on the chain.
    pub factory: Option<Address>,
    /// Where the REST + WebSocket API listens, when it does.
    pub api: Option<String>,
    pub offers: Vec<OfferRow>,
    pub positions: Vec<PositionRow>,
    pub settlements: Vec<SettlementRow>,
    pub oracles: Vec<OracleRow>,
    /// Failures the watchtower seed swallowed (a funding that could not be sent, a relay
    /// that served a bad message, ...), newest first.
    pub journal: Vec<JournalLine>,
    /// Why the desk is idle, when it is (e.g. waiting for the factory).
    pub note: Option<String>,
    /// When the desk last finished a cycle (unix ms).
    pub last_cycle_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The watchtower's "hedge": protected against the price falling.
    Short,
    Long,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Short => "short",
            Side::Long => "long",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OfferRow {
    pub id: i64,
    /// pending, accepted, settled or cancelled.
    pub status: String,
    pub side: Side,
    pub wallet_hash: String,
    /// The offerer's own input, in sats.
    pub satoshis: u64,
    pub duration_secs: u64,
    pub low_mult: f64,
    pub high_mult: f64,
    pub oracle_pubkey: String,
    /// When an accepted offer falls back to pending (unix ms).
    pub settlement_deadline_ms: Option<i64>,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PositionState {
    /// Waiting for the parties' funding proposals (which sides have one).
    AwaitingFunding {
        short: bool,
        long: bool,
    },
    /// Both proposals in; the funding transaction is proposed or on its way.
    Funding,
    /// Funded on chain and unsettled.
    Live,
    /// A settlement or redemption transaction is proposed or on its way.
    Settling,
    Settled,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PositionRow {
    pub address: Address,
    pub short_wallet: String,
    pub long_wallet: String,
    pub oracle_pubkey: String,
    /// Decimals of the oracle's integer price (2: cents).
    pub price_decimals: u8,
    pub start_ms: i64,
    pub maturity_ms: i64,
    pub start_price: u32,
    pub low_price: u32,
    pub high_price: u32,
    /// The oracle's newest price and its time (unix ms).
    pub last_price: Option<(u32, i64)>,
    pub payout_sats: u64,
    pub short_input_sats: u64,
    pub long_input_sats: u64,
    /// What each side would get at the last price: (short, long) sats.
    pub projected: Option<(u64, u64)>,
    pub state: PositionState,
    /// A mutual redemption proposal: its kind and which signatures are in.
    pub redemption: Option<RedemptionRow>,
    /// The newest action about this contract: id and state.
    pub action: Option<(i64, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedemptionRow {
    /// refund, early_maturation or arbitrary.
    pub kind: String,
    pub short_sats: u64,
    pub long_sats: u64,
    pub short_signed: bool,
    pub long_signed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRow {
    pub address: Address,
    /// maturation, liquidation or mutual_redemption.
    pub kind: String,
    pub price: Option<u32>,
    pub short_sats: u64,
    pub long_sats: u64,
    pub tx_hash: Option<String>,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleRow {
    pub pubkey: String,
    pub asset_name: String,
    pub price_decimals: u8,
    pub last_price: Option<(u32, i64)>,
    pub messages: u64,
    /// The last poll's outcome, e.g. "3 new" or the relay's error.
    pub last_poll: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalLine {
    pub at_ms: i64,
    pub message: String,
}
