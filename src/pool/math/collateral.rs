//! What a policy could need, and the collateral it locks.
//!
//! Coverage is the most the policy can cost the pool, in USD × 10^8, at the current BTC
//! price:
//! - PUT: `strike · amount / 10^8` (BTC at zero pays the whole strike value);
//! - CALL: `price · amount / 10^8` (a covered call: the protected BTC's current value, which
//!   is what a CALL's payout `(price − strike) · amount` is bounded by in BTC terms, and
//!   which the health monitor revalues as the price moves).
//!
//! A policy backed by a tier locks `coverage × collateral_ratio_bps / 10000` worth of its
//! collateral token at the token's current price. Both round up.

use super::MathError;
use super::convert::{Rounding, apply_bps, mul_div, usd_to_units};
use crate::pool::model::{PolicyKind, Prices, SATS_PER_BTC, Token, Units, UsdE8};

/// The most the policy can cost the pool at `btc_usd`, USD × 10^8, rounded up.
pub fn coverage_usd(
    kind: PolicyKind,
    strike_usd: UsdE8,
    amount_sats: u64,
    btc_usd: UsdE8,
) -> Result<UsdE8, MathError> {
    let per_btc = match kind {
        PolicyKind::Put => strike_usd,
        PolicyKind::Call => btc_usd,
    };
    mul_div(
        per_btc,
        u128::from(amount_sats),
        SATS_PER_BTC,
        Rounding::Up,
        "coverage",
    )
}

/// The collateral, in `token` base units, a policy needs locked at `prices` when backed at
/// `ratio_bps`: `coverage × ratio / 10000` converted at the token's price, rounded up.
pub fn required_collateral(
    kind: PolicyKind,
    strike_usd: UsdE8,
    amount_sats: u64,
    token: Token,
    prices: &Prices,
    ratio_bps: u32,
) -> Result<Units, MathError> {
    let coverage = coverage_usd(kind, strike_usd, amount_sats, prices.btc_usd)?;
    let needed = apply_bps(coverage, ratio_bps, Rounding::Up)?;
    usd_to_units(needed, token, prices.of(token), Rounding::Up)
}

/// One backer's part of a policy's coverage: `coverage × locked_by_backer / policy_locked`,
/// rounded up (used by the health check and the withdrawal maximum).
pub fn backer_coverage(
    coverage: UsdE8,
    locked_by_backer: Units,
    policy_locked: Units,
) -> Result<UsdE8, MathError> {
    if policy_locked == 0 {
        return Ok(0);
    }
    mul_div(
        coverage,
        locked_by_backer,
        policy_locked,
        Rounding::Up,
        "backer coverage",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const BTC_60K: UsdE8 = 6_000_000_000_000;
    const ETH_3K: UsdE8 = 300_000_000_000;

    fn prices() -> Prices {
        Prices {
            btc_usd: BTC_60K,
            eth_usd: ETH_3K,
        }
    }

    #[test]
    fn put_coverage_is_strike_times_amount() {
        // A PUT on 0.5 BTC at 54,000 USD could cost 27,000 USD.
        assert_eq!(
            coverage_usd(PolicyKind::Put, 5_400_000_000_000, 50_000_000, BTC_60K),
            Ok(2_700_000_000_000)
        );
        // A CALL on 0.5 BTC is covered by its current value: 30,000 USD.
        assert_eq!(
            coverage_usd(PolicyKind::Call, 6_600_000_000_000, 50_000_000, BTC_60K),
            Ok(3_000_000_000_000)
        );
        // One sat at a 1-cent strike is 0.0001 cent: rounds up to one unit.
        assert_eq!(coverage_usd(PolicyKind::Put, 1_000_000, 1, BTC_60K), Ok(1));
    }

    #[test]
    fn required_collateral_in_each_token() {
        // PUT 1 BTC at 54,000 USD, 125%: 67,500 USD = 1.125 WBTC at 60,000 = 22.5 ETH at 3,000.
        let p = prices();
        assert_eq!(
            required_collateral(
                PolicyKind::Put,
                5_400_000_000_000,
                100_000_000,
                Token::Wbtc,
                &p,
                12_500
            ),
            Ok(112_500_000)
        );
        assert_eq!(
            required_collateral(
                PolicyKind::Put,
                5_400_000_000_000,
                100_000_000,
                Token::Eth,
                &p,
                12_500
            ),
            Ok(22_500_000_000_000_000_000)
        );
        // At 100% a CALL locks exactly the protected BTC in WBTC.
        assert_eq!(
            required_collateral(
                PolicyKind::Call,
                7_000_000_000_000,
                12_345,
                Token::Wbtc,
                &p,
                10_000
            ),
            Ok(12_345)
        );
        // An indivisible requirement rounds up: 1 USD of coverage at 60,000 is 1667 sats.
        assert_eq!(
            required_collateral(
                PolicyKind::Put,
                10_000_000_000,
                1_000_000,
                Token::Wbtc,
                &p,
                10_000
            ),
            Ok(1667)
        );
        let no_price = Prices {
            btc_usd: BTC_60K,
            eth_usd: 0,
        };
        assert_eq!(
            required_collateral(PolicyKind::Put, 1, 1, Token::Eth, &no_price, 10_000),
            Err(MathError::ZeroPrice { token: Token::Eth })
        );
    }

    #[test]
    fn backer_share_of_coverage() {
        assert_eq!(backer_coverage(1000, 1, 3), Ok(334));
        assert_eq!(backer_coverage(1000, 3, 3), Ok(1000));
        assert_eq!(backer_coverage(1000, 0, 0), Ok(0));
    }
}
