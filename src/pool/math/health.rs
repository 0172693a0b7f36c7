//! Collateral health, per provider (the collateral management spec):
//!
//! - collateral value = `Σ_token total · price / 10^decimals` (USD × 10^8, rounded down);
//! - required = the coverage of every policy they back, each in proportion to their part of
//!   its lock (USD × 10^8, rounded up; see [`super::collateral`]);
//! - health ratio = `value · 10000 / required` basis points, rounded down (`None` when they
//!   back nothing);
//! - status: below the tier's margin-call ratio → MarginCall (→ Liquidating once it has
//!   lasted the grace period), below its warning ratio → Warning, else Healthy; without
//!   fresh prices → Unknown, never Healthy.
//!
//! The most a provider may withdraw of a token keeps what their policies need at current
//! prices plus a buffer: `min(available, (value − coverage · (ratio + buffer) / 10000) at
//! the token's price)`, rounded down.

use super::MathError;
use super::convert::{Rounding, apply_bps, units_to_usd, usd_to_units};
use crate::pool::model::{Prices, ProviderStatus, Token, Units, UsdE8};

/// The health thresholds of a provider's tier, and the margin-call grace period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthRule {
    pub warning_ratio_bps: u32,
    pub margin_call_ratio_bps: u32,
    /// A margin call this old (ms) turns into Liquidating.
    pub grace_ms: i64,
}

/// What a provider's balances are worth at `prices`, USD × 10^8, rounded down.
pub fn collateral_value_usd(
    balances: &[(Token, Units)],
    prices: &Prices,
) -> Result<UsdE8, MathError> {
    balances.iter().try_fold(0u128, |acc, (token, units)| {
        let usd = units_to_usd(*units, *token, prices.of(*token), Rounding::Down)?;
        acc.checked_add(usd).ok_or(MathError::Overflow {
            what: "collateral value",
        })
    })
}

/// `value / required` in basis points, rounded down and capped at `u32::MAX`; `None` when
/// nothing is required.
pub fn health_ratio_bps(value: UsdE8, required: UsdE8) -> Option<u32> {
    if required == 0 {
        return None;
    }
    let ratio = alloy::primitives::U256::from(value) * alloy::primitives::U256::from(10_000u32)
        / alloy::primitives::U256::from(required);
    Some(u32::try_from(ratio).unwrap_or(u32::MAX))
}

/// The status for `ratio` (`None`: nothing backed). `previous` and `previous_since_ms` are
/// the provider's current status and when it began: a MarginCall that began at least
/// `grace_ms` ago is Liquidating, and a Liquidating provider stays so until the ratio is
/// back at or above the margin-call ratio.
pub fn judge(
    ratio: Option<u32>,
    prices_fresh: bool,
    rule: &HealthRule,
    previous: ProviderStatus,
    previous_since_ms: Option<i64>,
    now_ms: i64,
) -> ProviderStatus {
    if !prices_fresh {
        return ProviderStatus::Unknown;
    }
    match ratio {
        None => ProviderStatus::Healthy,
        Some(r) if r < rule.margin_call_ratio_bps => match previous {
            ProviderStatus::Liquidating => ProviderStatus::Liquidating,
            ProviderStatus::MarginCall
                if previous_since_ms
                    .is_some_and(|since| now_ms.saturating_sub(since) >= rule.grace_ms) =>
            {
                ProviderStatus::Liquidating
            }
            _ => ProviderStatus::MarginCall,
        },
        Some(r) if r < rule.warning_ratio_bps => ProviderStatus::Warning,
        Some(_) => ProviderStatus::Healthy,
    }
}

/// The most of `token` a provider may withdraw: all of `available` when they back nothing;
/// otherwise what their collateral value (`value_usd`, all tokens) exceeds
/// `coverage_usd · (collateral_ratio_bps + buffer_bps) / 10000` by, in `token` at
/// `token_price` (rounded down), and never more than `available`.
pub fn max_withdrawable(
    token: Token,
    available: Units,
    value_usd: UsdE8,
    coverage_usd: UsdE8,
    collateral_ratio_bps: u32,
    buffer_bps: u32,
    token_price: UsdE8,
) -> Result<Units, MathError> {
    if coverage_usd == 0 {
        return Ok(available);
    }
    let ratio = collateral_ratio_bps
        .checked_add(buffer_bps)
        .ok_or(MathError::Overflow {
            what: "ratio + buffer",
        })?;
    let need = apply_bps(coverage_usd, ratio, Rounding::Up)?;
    let free = value_usd.saturating_sub(need);
    if free == 0 {
        return Ok(0);
    }
    let free_units = usd_to_units(free, token, token_price, Rounding::Down)?;
    Ok(free_units.min(available))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: HealthRule = HealthRule {
        warning_ratio_bps: 12_500,
        margin_call_ratio_bps: 11_000,
        grace_ms: 86_400_000,
    };

    #[test]
    fn value_across_tokens() {
        let prices = Prices {
            btc_usd: 6_000_000_000_000,
            eth_usd: 300_000_000_000,
        };
        // 0.5 BTC (30,000) + 2 ETH (6,000) = 36,000 USD.
        let value = collateral_value_usd(
            &[(Token::Wbtc, 50_000_000), (Token::Eth, 2 * 10u128.pow(18))],
            &prices,
        );
        assert_eq!(value, Ok(3_600_000_000_000));
        // 1 wei at 3,000 USD/ETH is 3e-15 USD: rounds down to 0.
        assert_eq!(collateral_value_usd(&[(Token::Eth, 1)], &prices), Ok(0));
    }

    #[test]
    fn ratio_in_basis_points() {
        assert_eq!(health_ratio_bps(125, 100), Some(12_500));
        assert_eq!(health_ratio_bps(1, 3), Some(3_333));
        assert_eq!(health_ratio_bps(5, 0), None);
        assert_eq!(health_ratio_bps(u128::MAX, 1), Some(u32::MAX));
    }

    #[test]
    fn status_thresholds() {
        let at = |r: u32| judge(Some(r), true, &RULE, ProviderStatus::Healthy, Some(0), 10);
        assert_eq!(at(12_500), ProviderStatus::Healthy);
        assert_eq!(at(12_499), ProviderStatus::Warning);
        assert_eq!(at(11_000), ProviderStatus::Warning);
        assert_eq!(at(10_999), ProviderStatus::MarginCall);
        assert_eq!(
            judge(None, true, &RULE, ProviderStatus::Warning, None, 10),
            ProviderStatus::Healthy
        );
        // No fresh prices: unknown, whatever the ratio.
        assert_eq!(
            judge(
                Some(50_000),
                false,
                &RULE,
                ProviderStatus::Healthy,
                None,
                10
            ),
            ProviderStatus::Unknown
        );
        assert_eq!(
            judge(None, false, &RULE, ProviderStatus::Healthy, None, 10),
            ProviderStatus::Unknown
        );
    }

    #[test]
    fn a_margin_call_past_its_grace_period_is_liquidating() {
        let day = RULE.grace_ms;
        let mc = ProviderStatus::MarginCall;
        assert_eq!(
            judge(Some(10_000), true, &RULE, mc, Some(1_000), 1_000 + day - 1),
            mc
        );
        assert_eq!(
            judge(Some(10_000), true, &RULE, mc, Some(1_000), 1_000 + day),
            ProviderStatus::Liquidating
        );
        // Liquidating stays until the ratio recovers above the margin-call line.
        let liq = ProviderStatus::Liquidating;
        assert_eq!(judge(Some(10_999), true, &RULE, liq, Some(0), 1), liq);
        assert_eq!(
            judge(Some(11_000), true, &RULE, liq, Some(0), 1),
            ProviderStatus::Warning
        );
    }

    #[test]
    fn withdrawal_keeps_what_the_policies_need_plus_the_buffer() {
        let btc = 6_000_000_000_000;
        // Backing nothing: everything available.
        assert_eq!(
            max_withdrawable(Token::Wbtc, 70, 0, 0, 12_500, 500, 0),
            Ok(70)
        );
        // Worth 120,000 USD (2 WBTC), backing 60,000 USD of coverage at 125% + 5%: needs
        // 78,000, so 42,000 USD = 0.7 WBTC may go, if that much is available.
        let value = 12_000_000_000_000;
        let coverage = 6_000_000_000_000;
        assert_eq!(
            max_withdrawable(Token::Wbtc, 200_000_000, value, coverage, 12_500, 500, btc),
            Ok(70_000_000)
        );
        assert_eq!(
            max_withdrawable(Token::Wbtc, 50_000_000, value, coverage, 12_500, 500, btc),
            Ok(50_000_000)
        );
        // Under water: nothing.
        assert_eq!(
            max_withdrawable(
                Token::Wbtc,
                200_000_000,
                coverage,
                coverage,
                12_500,
                500,
                btc
            ),
            Ok(0)
        );
        // The same 42,000 USD in ETH at 3,000 is 14 ETH.
        assert_eq!(
            max_withdrawable(
                Token::Eth,
                100 * 10u128.pow(18),
                value,
                coverage,
                12_500,
                500,
                300_000_000_000
            ),
            Ok(14 * 10u128.pow(18))
        );
    }
}
