//! The pool desk's off-chain model: what the Vault holds per token, what each provider owns
//! of it, the risk tiers, the policies and which providers back each one.
//!
//! Every amount is an integer:
//! - token amounts are base units ([`Units`], `u128`): wei for ETH (18 decimals), sats for
//!   the wrapped BTC (8 decimals);
//! - USD values and prices are USD × 10^8 ([`UsdE8`], `u128`), the scale of Pyth's crypto
//!   feeds: 60,000 USD is `6_000_000_000_000`;
//! - a policy's protected amount is in sats of BTC (`u64`);
//! - ratios are basis points of 100% (`12_500` = 125%).
//!
//! Times are unix milliseconds.

use std::collections::BTreeMap;
use std::fmt;

use alloy::primitives::Address;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A token amount in base units (wei, sats).
pub type Units = u128;
/// A USD amount or price × 10^8.
pub type UsdE8 = u128;

/// The USD scale: 10^8 per dollar.
pub const USD_E8: u128 = 100_000_000;
/// Sats per BTC: a policy's `amount_sats` over this is whole BTC.
pub const SATS_PER_BTC: u128 = 100_000_000;
/// 100% in basis points.
pub const BPS: u128 = 10_000;

/// The two tokens the Vault holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Token {
    /// Native ETH, 18 decimals (wei); STX in the original spec.
    Eth,
    /// The ERC-20 wrapped BTC, 8 decimals (sats); sBTC in the original spec. Priced at BTC/USD.
    Wbtc,
}

impl Token {
    pub const ALL: [Token; 2] = [Token::Eth, Token::Wbtc];

    pub fn decimals(self) -> u32 {
        match self {
            Token::Eth => 18,
            Token::Wbtc => 8,
        }
    }

    /// Base units per whole token.
    pub fn one(self) -> u128 {
        10u128.pow(self.decimals())
    }

    /// The name in the store and the config (`eth`, `wbtc`).
    pub fn as_str(self) -> &'static str {
        match self {
            Token::Eth => "eth",
            Token::Wbtc => "wbtc",
        }
    }

    /// For people: `ETH`, `WBTC`.
    pub fn symbol(self) -> &'static str {
        match self {
            Token::Eth => "ETH",
            Token::Wbtc => "WBTC",
        }
    }

    /// `eth`/`ETH`, `wbtc`/`WBTC`.
    pub fn parse(s: &str) -> Option<Token> {
        Token::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// `units` as a whole-token decimal, trailing zeros dropped (`1.5`, `0.00000001`).
    pub fn format_units(self, units: Units) -> String {
        format_scaled(units, self.decimals())
    }

    /// Parses a whole-token decimal (`"2.5"`) into base units, exactly: more decimals than
    /// the token has, a sign or anything else is an error saying so.
    pub fn parse_units(self, text: &str) -> Result<Units, String> {
        parse_scaled(text, self.decimals())
            .map_err(|why| format!("{} amount: {why}", self.symbol()))
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// `value / 10^decimals` as a decimal string without trailing zeros.
pub fn format_scaled(value: u128, decimals: u32) -> String {
    let one = 10u128.pow(decimals);
    let whole = value / one;
    let frac = value % one;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:0width$}", width = decimals as usize);
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Parses a non-negative decimal with at most `decimals` places into `value · 10^decimals`.
pub fn parse_scaled(text: &str, decimals: u32) -> Result<u128, String> {
    let t = text.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits_ok = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty()
        || !digits_ok(whole)
        || !digits_ok(frac)
        || (t.contains('.') && frac.is_empty())
    {
        return Err(format!(
            "expected a non-negative decimal such as \"2.5\", got {text:?}"
        ));
    }
    if frac.len() > decimals as usize {
        return Err(format!(
            "at most {decimals} decimal places, got {} in {text:?}",
            frac.len()
        ));
    }
    let overflow = || format!("{text:?} is too large");
    let whole: u128 = whole.parse().map_err(|_| overflow())?;
    let frac_value: u128 = if frac.is_empty() {
        0
    } else {
        let padded = format!("{frac:0<width$}", width = decimals as usize);
        padded.parse().map_err(|_| overflow())?
    };
    whole
        .checked_mul(10u128.pow(decimals))
        .and_then(|w| w.checked_add(frac_value))
        .ok_or_else(overflow)
}

/// A USD × 10^8 value for people: `60000`, `1234.5`.
pub fn format_usd(value: UsdE8) -> String {
    format_scaled(value, 8)
}

/// The prices a valuation uses, USD × 10^8 per whole coin. The wrapped BTC is valued at
/// BTC/USD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prices {
    pub btc_usd: UsdE8,
    pub eth_usd: UsdE8,
}

impl Prices {
    pub fn of(&self, token: Token) -> UsdE8 {
        match token {
            Token::Eth => self.eth_usd,
            Token::Wbtc => self.btc_usd,
        }
    }
}

/// A provider's health as the monitor last judged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderStatus {
    /// At or above its tier's warning ratio, or backing nothing.
    Healthy,
    /// Below the warning ratio, at or above the margin-call ratio.
    Warning,
    /// Below the margin-call ratio: a margin call is issued.
    MarginCall,
    /// In margin call for longer than the grace period: due for liquidation.
    Liquidating,
    /// Prices are missing or stale: not judged (never shown as Healthy).
    Unknown,
}

impl ProviderStatus {
    pub const ALL: [ProviderStatus; 5] = [
        ProviderStatus::Healthy,
        ProviderStatus::Warning,
        ProviderStatus::MarginCall,
        ProviderStatus::Liquidating,
        ProviderStatus::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderStatus::Healthy => "healthy",
            ProviderStatus::Warning => "warning",
            ProviderStatus::MarginCall => "margin_call",
            ProviderStatus::Liquidating => "liquidating",
            ProviderStatus::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<ProviderStatus> {
        ProviderStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// For people: `margin call`, `unknown (stale prices)`.
    pub fn label(self) -> &'static str {
        match self {
            ProviderStatus::Healthy => "healthy",
            ProviderStatus::Warning => "warning",
            ProviderStatus::MarginCall => "margin call",
            ProviderStatus::Liquidating => "liquidating",
            ProviderStatus::Unknown => "unknown (stale prices)",
        }
    }

    /// Whether the provider's capital may back new policies (the collateral spec: none
    /// under a margin call).
    pub fn may_back_new_policies(self) -> bool {
        !matches!(
            self,
            ProviderStatus::MarginCall | ProviderStatus::Liquidating
        )
    }
}

impl fmt::Display for ProviderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A provider's books in one token. `available = total - locked` always.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenBalance {
    /// What the provider has in the Vault (deposits less withdrawals and settlement debits).
    pub total: Units,
    /// What backs their active policies.
    pub locked: Units,
    /// `total - locked`: what may back new policies or be withdrawn.
    pub available: Units,
    /// Premiums earned and not claimed (off-chain, not in the Vault's totals).
    pub accrued_yield: Units,
}

impl TokenBalance {
    pub fn new(total: Units, locked: Units, accrued_yield: Units) -> TokenBalance {
        TokenBalance {
            total,
            locked,
            available: total.saturating_sub(locked),
            accrued_yield,
        }
    }
}

/// A liquidity provider (Income Irene) as the desk's books hold them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub address: Address,
    /// The provider tier their capital sits in.
    pub tier: String,
    pub balances: BTreeMap<Token, TokenBalance>,
    /// Collateral value / what their backed policies need, at the last check's prices, in
    /// basis points; `None` when nothing is backed or prices were unknown.
    pub health_ratio_bps: Option<u32>,
    /// What their backed policies need (USD × 10^8) and what their collateral is worth, at
    /// the last check.
    pub required_usd: Option<UsdE8>,
    pub value_usd: Option<UsdE8>,
    pub status: ProviderStatus,
    /// When `status` last changed.
    pub status_since_ms: Option<i64>,
    pub last_check_ms: Option<i64>,
    pub deposit_count: u64,
    pub withdrawal_count: u64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl Provider {
    pub fn balance(&self, token: Token) -> TokenBalance {
        self.balances.get(&token).copied().unwrap_or_default()
    }
}

/// The pool per token: the Vault's totals (mirrored from its events or read from it)
/// against what the providers' books add up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolMetrics {
    pub token: Token,
    /// What the Vault holds (`totalBalance`), as last mirrored.
    pub onchain_total: Units,
    /// The Vault's aggregate locked counter, as last mirrored.
    pub onchain_locked: Units,
    /// The sums of the providers' books.
    pub books_total: Units,
    pub books_locked: Units,
    pub books_available: Units,
    pub books_yield: Units,
    pub last_block: Option<u64>,
    pub last_sync_ms: Option<i64>,
}

impl PoolMetrics {
    /// `onchain_total - books_total` when they differ: a reconciliation alert.
    pub fn mismatch(&self) -> Option<i128> {
        (self.onchain_total != self.books_total)
            .then(|| self.onchain_total as i128 - self.books_total as i128)
    }
}

/// One provider tier's parameters (from the config, kept in the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierParams {
    pub name: String,
    /// Policies backed by this tier lock `coverage × collateral_ratio_bps / 10000`.
    pub collateral_ratio_bps: u32,
    /// Below this health ratio a provider is in Warning.
    pub warning_ratio_bps: u32,
    /// Below this a provider is in MarginCall.
    pub margin_call_ratio_bps: u32,
    /// Premiums of policies this tier backs are multiplied by this.
    pub premium_multiplier: Decimal,
    /// Most capital the tier takes per token (base units); `None`: no limit.
    pub capacity_eth: Option<Units>,
    pub capacity_wbtc: Option<Units>,
}

impl TierParams {
    pub fn capacity(&self, token: Token) -> Option<Units> {
        match token {
            Token::Eth => self.capacity_eth,
            Token::Wbtc => self.capacity_wbtc,
        }
    }
}

/// One tier in one token, summed from the books.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierMetrics {
    pub tier: TierParams,
    /// Whether the config still names this tier (a tier dropped from the config keeps its
    /// books but backs nothing new).
    pub configured: bool,
    pub token: Token,
    pub capital: Units,
    pub locked: Units,
    pub available: Units,
    /// `locked / capital` in basis points; `None` with no capital.
    pub utilisation_bps: Option<u32>,
    /// Providers in the tier.
    pub providers: usize,
    /// Active policies the tier backs in this token.
    pub active_policies: usize,
    pub yield_accrued: Units,
    pub capacity_limit: Option<Units>,
}

/// PUT (pays when BTC falls below the strike) or CALL (pays when it rises above).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PolicyKind {
    Put,
    Call,
}

impl PolicyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Put => "PUT",
            PolicyKind::Call => "CALL",
        }
    }

    pub fn parse(s: &str) -> Option<PolicyKind> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PUT" => Some(PolicyKind::Put),
            "CALL" => Some(PolicyKind::Call),
            _ => None,
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyStatus {
    /// Its collateral is locked until it expires or settles.
    Active,
    /// Paid out in the money; the backers were debited.
    Settled,
    /// Expired (out of the money or released); its collateral is free again.
    Expired,
}

impl PolicyStatus {
    pub const ALL: [PolicyStatus; 3] = [
        PolicyStatus::Active,
        PolicyStatus::Settled,
        PolicyStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PolicyStatus::Active => "active",
            PolicyStatus::Settled => "settled",
            PolicyStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<PolicyStatus> {
        PolicyStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl fmt::Display for PolicyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protection policy the pool sold (Protective Peter's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Also the policy id the Vault's lock/release/settle calls carry.
    pub id: i64,
    /// The caller's idempotency key: creating the same key twice returns the first.
    pub idem_key: String,
    pub kind: PolicyKind,
    pub buyer: Address,
    /// The buyer's protection tier (`standard`) and the provider tier that backs it.
    pub buyer_tier: String,
    pub tier: String,
    /// The token its collateral is locked (and its premium and payout paid) in.
    pub token: Token,
    /// Strike (protected value), USD × 10^8 per BTC.
    pub strike_usd: UsdE8,
    /// The protected amount, sats of BTC.
    pub amount_sats: u64,
    /// The premium, in `token` base units.
    pub premium: Units,
    /// What its allocations lock in total, `token` base units.
    pub collateral_locked: Units,
    /// The tier's ratio it was locked at.
    pub collateral_ratio_bps: u32,
    /// BTC/USD when it was created.
    pub spot_usd: UsdE8,
    pub expires_at_ms: i64,
    pub status: PolicyStatus,
    /// Whether the Vault's aggregate lock covers it (a collateral-locked event named it).
    pub onchain_locked: bool,
    /// Settled: the BTC price it settled at and what the buyer was paid (`token` units).
    pub settlement_price_usd: Option<UsdE8>,
    pub payout: Option<Units>,
    /// When its premium was credited to its backers' yield.
    pub yield_accrued_at_ms: Option<i64>,
    pub created_at_ms: i64,
    pub closed_at_ms: Option<i64>,
    pub updated_at_ms: i64,
}

/// One provider's part in backing one policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub policy_id: i64,
    pub provider: Address,
    pub token: Token,
    /// What this provider has locked for the policy.
    pub amount_locked: Units,
    /// Their share of its premium (pro rata to `amount_locked`).
    pub premium_share: Units,
    /// Their share of its payout, once settled.
    pub settlement_debit: Option<Units>,
    /// When the lock was released (expiry or settlement).
    pub released_at_ms: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_amounts_format_and_parse_exactly() {
        assert_eq!(Token::Wbtc.format_units(150_000_000), "1.5");
        assert_eq!(Token::Wbtc.format_units(1), "0.00000001");
        assert_eq!(Token::Eth.format_units(10u128.pow(18) * 3), "3");
        assert_eq!(Token::Wbtc.parse_units("1.5"), Ok(150_000_000));
        assert_eq!(Token::Eth.parse_units("0.000000000000000001"), Ok(1));
        assert_eq!(Token::Eth.parse_units("12"), Ok(12 * 10u128.pow(18)));
        for bad in ["", "-1", "1.", ".5", "1e3", "0.000000001", "abc"] {
            assert!(Token::Wbtc.parse_units(bad).is_err(), "{bad:?}");
        }
        assert!(Token::Eth.parse_units(&"9".repeat(40)).is_err());
    }

    #[test]
    fn names_round_trip() {
        for t in Token::ALL {
            assert_eq!(Token::parse(t.as_str()), Some(t));
            assert_eq!(Token::parse(t.symbol()), Some(t));
        }
        for s in ProviderStatus::ALL {
            assert_eq!(ProviderStatus::parse(s.as_str()), Some(s));
        }
        for s in PolicyStatus::ALL {
            assert_eq!(PolicyStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(PolicyKind::parse("put"), Some(PolicyKind::Put));
        assert_eq!(PolicyKind::parse("CALL"), Some(PolicyKind::Call));
        assert_eq!(ProviderStatus::Unknown.label(), "unknown (stale prices)");
    }

    #[test]
    fn available_is_total_less_locked() {
        let b = TokenBalance::new(10, 4, 1);
        assert_eq!(
            (b.total, b.locked, b.available, b.accrued_yield),
            (10, 4, 6, 1)
        );
    }
}
