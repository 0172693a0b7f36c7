//! What the AnyHedge tab shows: offers, hedge contracts and settlements, plus the desk's
//! journal of what went wrong. Built by the desk from the store, read by the UI as one
//! immutable snapshot.

use alloy::primitives::Address;

pub use crate::desks::{JournalLine, Severity};

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

/// The sides as the contract numbers them (the watchtower's "hedge" is the short).
pub use crate::anyhedge::chain::Side;

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
    pub action: Option<(i64, crate::actions::ActionState)>,
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

impl AnyHedgeSnapshot {
    pub fn oracle(&self, pubkey: &str) -> Option<&OracleRow> {
        self.oracles.iter().find(|o| o.pubkey == pubkey)
    }

    pub fn position(&self, address: Address) -> Option<&PositionRow> {
        self.positions.iter().find(|p| p.address == address)
    }

    /// Contracts still waiting for a funding proposal or their funding transaction.
    pub fn positions_needing_funding(&self) -> usize {
        self.positions
            .iter()
            .filter(|p| {
                matches!(
                    p.state,
                    PositionState::AwaitingFunding { .. } | PositionState::Funding
                )
            })
            .count()
    }

    pub fn count_positions(&self, state: &PositionState) -> usize {
        self.positions.iter().filter(|p| p.state == *state).count()
    }

    pub fn count_offers(&self, status: &str) -> usize {
        self.offers.iter().filter(|o| o.status == status).count()
    }

    /// The decimals of a settled contract's price (settlement rows do not carry them; the
    /// contract's row does).
    pub fn price_decimals_of(&self, address: Address) -> Option<u8> {
        self.position(address).map(|p| p.price_decimals)
    }
}

impl PositionState {
    pub fn label(&self) -> &'static str {
        match self {
            PositionState::AwaitingFunding {
                short: false,
                long: false,
            } => "awaiting both",
            PositionState::AwaitingFunding {
                short: true,
                long: false,
            } => "awaiting long",
            PositionState::AwaitingFunding {
                short: false,
                long: true,
            } => "awaiting short",
            PositionState::AwaitingFunding { .. } | PositionState::Funding => "funding",
            PositionState::Live => "live",
            PositionState::Settling => "settling",
            PositionState::Settled => "settled",
        }
    }
}

impl PositionRow {
    /// The newest action about the contract, its state parsed.
    /// How far the last price has moved from the start towards the bound it moves to, in
    /// basis points of that distance: -10,000 at low, 0 at the start, 10,000 at high, beyond
    /// them once crossed.
    pub fn drift_bps(&self) -> Option<i64> {
        let (last, _) = self.last_price?;
        let (last, start) = (i64::from(last), i64::from(self.start_price));
        let (low, high) = (i64::from(self.low_price), i64::from(self.high_price));
        if last < start {
            (start > low).then(|| (last - start) * 10_000 / (start - low))
        } else if last > start {
            (high > start).then(|| (last - start) * 10_000 / (high - start))
        } else {
            Some(0)
        }
    }
}

impl RedemptionRow {
    /// The sides whose signature is missing: `None` when both signed.
    pub fn missing_signatures(&self) -> Option<&'static str> {
        match (self.short_signed, self.long_signed) {
            (true, true) => None,
            (true, false) => Some("long"),
            (false, true) => Some("short"),
            (false, false) => Some("both"),
        }
    }
}

/// Sats as an 8-decimal amount with the whole part grouped: `1,234.50000000`. Exact.
pub fn bch(sats: u64) -> String {
    format!(
        "{}.{:08}",
        crate::tui::format::group_digits(&(sats / 100_000_000).to_string()),
        sats % 100_000_000
    )
}

/// An oracle's integer price with its decimals, the whole part grouped: `41,235.07`. Exact.
pub fn price(value: u32, decimals: u8) -> String {
    let digits = value.to_string();
    let decimals = usize::from(decimals);
    if decimals == 0 {
        return crate::tui::format::group_digits(&digits);
    }
    let padded = format!("{digits:0>width$}", width = decimals + 1);
    let (whole, frac) = padded.split_at(padded.len() - decimals);
    format!("{}.{frac}", crate::tui::format::group_digits(whole))
}

/// A wallet hash or public key (any text, as the API took it): `abcdef…1234` when longer
/// than 13 characters.
pub fn short_text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 13 {
        return s.to_string();
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

impl crate::desks::Journaled for AnyHedgeSnapshot {
    fn journal_mut(&mut self) -> &mut Vec<crate::desks::JournalLine> {
        &mut self.journal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_prices_are_exact() {
        assert_eq!(bch(0), "0.00000000");
        assert_eq!(bch(1), "0.00000001");
        assert_eq!(bch(150_000_000), "1.50000000");
        assert_eq!(bch(123_456_789_012), "1,234.56789012");
        assert_eq!(bch(u64::MAX), "184,467,440,737.09551615");
        assert_eq!(price(41_235, 2), "412.35");
        assert_eq!(price(5, 2), "0.05");
        assert_eq!(price(6_140_993, 2), "61,409.93");
        assert_eq!(price(41_235, 0), "41,235");
        assert_eq!(price(7, 4), "0.0007");
        assert_eq!(price(u32::MAX, 9), "4.294967295");
        assert_eq!(short_text("a1b2c3d4e5f6a7b8c9d0"), "a1b2c3…c9d0");
        assert_eq!(short_text("wallet-one"), "wallet-one");
        assert_eq!(short_text("ümlautümlautümlaut"), "ümlaut…laut");
    }

    #[test]
    fn drift_is_measured_towards_the_nearer_bound() {
        let mut row = PositionRow {
            address: Address::ZERO,
            short_wallet: String::new(),
            long_wallet: String::new(),
            oracle_pubkey: String::new(),
            price_decimals: 2,
            start_ms: 0,
            maturity_ms: 0,
            start_price: 40_000,
            low_price: 30_000,
            high_price: 200_000,
            last_price: None,
            payout_sats: 0,
            short_input_sats: 0,
            long_input_sats: 0,
            projected: None,
            state: PositionState::Live,
            redemption: None,
            action: None,
        };
        assert_eq!(row.drift_bps(), None);
        for (last, drift) in [
            (40_000, 0),
            (30_000, -10_000),
            (31_000, -9_000),
            (35_000, -5_000),
            (29_000, -11_000),
            (120_000, 5_000),
            (200_000, 10_000),
        ] {
            row.last_price = Some((last, 0));
            assert_eq!(row.drift_bps(), Some(drift), "{last}");
        }
    }
}
