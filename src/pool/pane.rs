//! What the Pool tab shows, as the desk publishes it: the Vault's totals per token against
//! the providers' books, the tiers with their utilisation, the providers with balances,
//! yield, collateral ratio and health status, the policies near expiry or in the money, and
//! the desk's journal (reconciliation alerts, health notifications). Amounts are rendered
//! by the desk (token decimals, USD), so the tab only lays them out.

use crate::actions::ActionState;
use crate::desks::{JournalLine, Severity};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoolSnapshot {
    /// The chain the Vault lives on.
    pub chain: String,
    /// The Vault's address, once found.
    pub vault: Option<String>,
    /// The block of the last sync, and when the desk last ran (unix ms).
    pub block: Option<u64>,
    pub synced_at_ms: Option<i64>,
    /// The prices the health monitor used (`BTC/USD 97,012.55`), each with its age.
    pub prices: Vec<PriceLine>,
    /// One row per token (ETH, WBTC).
    pub tokens: Vec<TokenRow>,
    pub tiers: Vec<TierRow>,
    pub providers: Vec<ProviderRow>,
    /// Active policies, soonest expiry first (the tab marks those in the money).
    pub policies: Vec<PolicyRow>,
    /// Provider withdrawals waiting for the operator (`w` approves the selected one).
    pub withdrawals: Vec<WithdrawalRow>,
    pub journal: Vec<JournalLine>,
    /// Why the desk is idle (waiting for the Vault to be deployed, say).
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceLine {
    /// `BTC/USD`.
    pub pair: String,
    /// `97,012.55`, or `None` when there is none.
    pub price: Option<String>,
    pub age_secs: Option<u64>,
    /// Older than the configured maximum age: health is "unknown (stale prices)".
    pub stale: bool,
}

/// One token: the Vault's on-chain totals against the sum of the providers' books.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// `ETH`, `WBTC`.
    pub token: String,
    /// What the Vault says (`totalBalance`), in whole tokens.
    pub onchain_total: String,
    pub onchain_locked: String,
    /// What the providers' books add up to.
    pub books_total: String,
    pub books_locked: String,
    pub available: String,
    /// `locked / total` in basis points, for the gauge.
    pub locked_bps: u32,
    /// The Vault and the books disagree: the alert line, never corrected silently.
    pub mismatch: Option<String>,
}

/// One risk tier of providers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierRow {
    pub name: String,
    /// Collateral ratio the tier's policies are backed at (`110%`).
    pub collateral_ratio: String,
    /// Capital, locked, yield and capacity limit, rendered in USD.
    pub capital: String,
    pub locked: String,
    pub capacity_limit: String,
    pub yield_earned: String,
    /// `locked / capital` in basis points, for the gauge.
    pub utilisation_bps: u32,
    pub providers: usize,
    pub active_policies: usize,
}

/// A provider's health, as the monitor last saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthStatus {
    Healthy,
    Warning,
    MarginCall,
    Liquidating,
    /// The oracle's prices are missing or stale: not judged, never shown as healthy.
    Unknown,
}

impl HealthStatus {
    pub fn label(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Warning => "warning",
            HealthStatus::MarginCall => "margin call",
            HealthStatus::Liquidating => "liquidating",
            HealthStatus::Unknown => "unknown (stale prices)",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRow {
    /// Checksummed address.
    pub address: String,
    pub tier: String,
    /// Per token: total, locked (whole tokens), e.g. `("ETH", "12.50", "3.20")`.
    pub balances: Vec<(String, String, String)>,
    /// Total value and locked value in USD at the monitor's prices (`None`: no prices).
    pub value_usd: Option<String>,
    pub locked_usd: Option<String>,
    pub yield_earned: String,
    /// Collateral ratio (value / what its backed policies need), `None` when nothing is
    /// locked or prices are unknown; rendered and in basis points for the bar.
    pub ratio: Option<String>,
    pub ratio_bps: Option<u32>,
    pub status: HealthStatus,
    /// When the status last changed (unix ms).
    pub status_since_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    pub id: i64,
    /// `PUT` or `CALL`.
    pub kind: String,
    pub buyer: String,
    pub tier: String,
    /// The collateral token backing it.
    pub token: String,
    /// Strike in USD, amount in BTC, premium in the collateral token (rendered).
    pub strike: String,
    pub amount: String,
    pub premium: String,
    pub expiry_ms: i64,
    /// What it would pay at the current price (`None`: no price); zero when out of the money.
    pub payout: Option<String>,
    pub in_the_money: bool,
    /// active, settled, expired.
    pub status: String,
    /// A proposed or running action about it (settle, expire).
    pub action: Option<(i64, ActionState)>,
}

/// A provider's request to withdraw, checked against their maximum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalRow {
    pub id: i64,
    pub provider: String,
    pub token: String,
    pub amount: String,
    /// The most they may withdraw now (available less what their policies need plus the
    /// buffer).
    pub max_withdrawable: String,
    /// Why it cannot be approved as asked (`None`: within the maximum).
    pub refused: Option<String>,
    pub requested_at_ms: i64,
    pub action: Option<(i64, ActionState)>,
}

impl PoolSnapshot {
    pub fn failures(&self) -> usize {
        self.journal
            .iter()
            .filter(|j| j.severity == Severity::Failure)
            .count()
    }
}

impl crate::desks::Journaled for PoolSnapshot {
    fn journal_mut(&mut self) -> &mut Vec<crate::desks::JournalLine> {
        &mut self.journal
    }
}
