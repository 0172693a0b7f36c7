//! What the Perp tab shows, as the desk publishes it: the vaults with their shields and
//! flags, the trader positions with PnL and flags, the hedges on the venue, and the desk's
//! journal. Amounts are already rendered by the desk (asset decimals, venue decimals), so the
//! tab only lays them out.

use crate::actions::ActionState;
use crate::desks::{JournalLine, Severity};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PerpSnapshot {
    /// The chain DePerp is read from.
    pub chain: String,
    /// `paper` or `binance`, and where (the base URL for Binance).
    pub venue: String,
    /// Whether the desk proposes hedges on its own (`a` toggles it).
    pub auto: bool,
    /// The block of the last read, and when it was read (unix ms).
    pub block: Option<u64>,
    pub read_at_ms: Option<i64>,
    pub vaults: Vec<VaultRow>,
    pub positions: Vec<TraderRow>,
    pub hedges: Vec<HedgeRow>,
    pub journal: Vec<JournalLine>,
    /// Why the desk is idle (waiting for DePerp to be deployed, say).
    pub note: Option<String>,
}

/// One collateral asset: the vault, its shield, and how the positions on it stand.
#[derive(Debug, Clone, PartialEq)]
pub struct VaultRow {
    pub asset: String,
    pub symbol: String,
    /// Amounts in whole units of the asset, rendered (`1,000,000.00`).
    pub vault: String,
    pub shield: String,
    pub total_pnl: String,
    pub remaining: String,
    /// `remaining / (vault + shield)` in basis points, for the gauge (0 when empty).
    pub remaining_bps: u32,
    /// `shield left / shield` in basis points.
    pub shield_left_bps: u32,
    /// The flags set on the aggregate, each with its numbers.
    pub flags: Vec<Flag>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// `drawdown`, `shield`, `hedge`.
    pub kind: &'static str,
    pub reason: String,
}

/// A trader position.
#[derive(Debug, Clone, PartialEq)]
pub struct TraderRow {
    pub key: String,
    pub user: String,
    pub market: String,
    pub is_long: bool,
    pub size: String,
    pub entry: String,
    /// `None`: no current price for the market (shown as such, never as safe).
    pub price: Option<String>,
    pub pnl: Option<String>,
    /// Whether the PnL is a gain for the trader (a loss for the vault).
    pub pnl_positive: bool,
    pub flags: Vec<Flag>,
    /// The venue symbol, or `None` when the market is not mapped (never hedged).
    pub symbol: Option<String>,
    /// The live hedge's id and state, if any.
    pub hedge: Option<(i64, String)>,
    /// A proposed or running action about this position.
    pub action: Option<(i64, ActionState)>,
}

/// A hedge on the venue.
#[derive(Debug, Clone, PartialEq)]
pub struct HedgeRow {
    pub id: i64,
    pub position_key: String,
    pub symbol: String,
    /// `BUY` (long) or `SELL` (short).
    pub side: String,
    pub quantity: String,
    pub entry: Option<String>,
    pub mark: Option<String>,
    /// Unrealised PnL in the quote asset (USDT), signed.
    pub pnl: Option<String>,
    pub pnl_positive: bool,
    /// Since it opened (or was journaled), unix ms.
    pub since_ms: i64,
    /// opening, open, closing, closed, failed.
    pub state: String,
    /// Seconds until it closes if no flag comes back (open hedges whose risk cleared).
    pub closes_in_secs: Option<i64>,
    pub note: Option<String>,
}

impl PerpSnapshot {
    pub fn failures(&self) -> usize {
        self.journal
            .iter()
            .filter(|j| j.severity == Severity::Failure)
            .count()
    }
}

impl crate::desks::Journaled for PerpSnapshot {
    fn journal_mut(&mut self) -> &mut Vec<crate::desks::JournalLine> {
        &mut self.journal
    }
}
