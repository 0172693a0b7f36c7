//! A position's debt at a time and its expected insolvency time, in the margin module's uint256
//! arithmetic (`calculateDebtAmount`, `subjectToLiquidationExtended`).
//!
//! Every step is checked: where a uint256 step would overflow the local answer is `None`. The
//! deployed module is compiled with solc 0.7.6, where such a step wraps silently instead of
//! reverting; the desk never trusts a wrapped figure and sends the position to an on-chain
//! check instead (see [`super::queue::candidates`]).

use alloy::primitives::U256;

use super::full_math::mul_div;

/// `30 days`, the interest rate's period.
pub const PERIOD_SECS: u64 = 2_592_000;
/// `INTEREST_RATE_PRECISION`: interest is in basis points per period (500 = 5 % per 30 days).
pub const RATE_PRECISION: u64 = 10_000;

/// The order of the floor divisions in `calculateDebtAmount`, which changed between versions of
/// `Dex223MarginModule.sol`. The two differ by up to a few units of the base asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DebtMath {
    /// `initial + ((initial * interest * elapsed) / 30 days) / 10000`: the desk's reference
    /// formula (the module before its "audit-fix V8").
    #[default]
    PeriodFirst,
    /// `initial + ((initial * interest) / 10000) * elapsed / 30 days`: the module's current
    /// source ("audit-fix V8: divide by INTEREST_RATE_PRECISION first").
    PrecisionFirst,
}

/// Debt (principal plus interest) at `at` with [`DebtMath::PeriodFirst`]:
/// `initial + initial * interest_bps * elapsed / 2592000 / 10000`, the divisions floored in that
/// order, `elapsed = at - created_at` (0 if `at` is earlier). `None` where a step overflows.
pub fn debt_at(initial: U256, interest_bps: U256, created_at: u64, at: u64) -> Option<U256> {
    debt_at_with(DebtMath::PeriodFirst, initial, interest_bps, created_at, at)
}

/// [`debt_at`] with the given division order.
pub fn debt_at_with(
    math: DebtMath,
    initial: U256,
    interest_bps: U256,
    created_at: u64,
    at: u64,
) -> Option<U256> {
    let rate = initial.checked_mul(interest_bps)?;
    debt_from_rate(math, initial, rate, at.saturating_sub(created_at))
}

/// The debt from `rate = initial * interest` (precomputed once per position by the book).
#[inline]
pub(crate) fn debt_from_rate(
    math: DebtMath,
    initial: U256,
    rate: U256,
    elapsed: u64,
) -> Option<U256> {
    let accrued = match math {
        // floor(floor(x / a) / b) == floor(x / (a * b)): one division instead of two.
        DebtMath::PeriodFirst => {
            rate.checked_mul(U256::from(elapsed))? / U256::from(PERIOD_SECS * RATE_PRECISION)
        }
        DebtMath::PrecisionFirst => {
            (rate / U256::from(RATE_PRECISION)).checked_mul(U256::from(elapsed))?
                / U256::from(PERIOD_SECS)
        }
    };
    initial.checked_add(accrued)
}

/// The contract's `insolvensy_expected_time`, bit for bit: if `value > debt && interest > 0 &&
/// initial > 0`, `(value - debt) * 10000 * 2592000 / (interest * initial) + at`, else 0
/// ("never"; also what a liquidatable-now position gets). `None` where a step overflows (the
/// chain would wrap).
pub fn insolvency_time(
    value: U256,
    debt: U256,
    interest: U256,
    initial: U256,
    at: u64,
) -> Option<U256> {
    if value <= debt || interest.is_zero() || initial.is_zero() {
        return Some(U256::ZERO);
    }
    let delta = (value - debt)
        .checked_mul(U256::from(RATE_PRECISION))?
        .checked_mul(U256::from(PERIOD_SECS))?
        / interest.checked_mul(initial)?;
    delta.checked_add(U256::from(at))
}

/// The desk's reading of the insolvency time, for the queue: `Some(t)` is the second at which
/// interest alone makes the position liquidatable at today's prices (`at` itself when it already
/// is, or when `value == debt` and interest accrues); `None` is never (no interest accrues:
/// `interest * initial == 0`). Same formula as [`insolvency_time`] but with a 512-bit
/// intermediate, so it is defined where the contract's would overflow; saturates at `u64::MAX`.
pub fn insolvent_at(
    value: U256,
    debt: U256,
    interest: U256,
    initial: U256,
    at: u64,
) -> Option<u64> {
    insolvent_at_rate(value, debt, interest.checked_mul(initial), at)
}

/// [`insolvent_at`] from `rate = interest * initial`; `None` for the rate means it overflowed
/// (so it is not zero: interest accrues).
#[inline]
pub(crate) fn insolvent_at_rate(
    value: U256,
    debt: U256,
    rate: Option<U256>,
    at: u64,
) -> Option<u64> {
    if value < debt {
        return Some(at);
    }
    let rate = match rate {
        Some(rate) if rate.is_zero() => return None,
        Some(rate) => rate,
        // An overflowing rate makes any surplus vanish within the second.
        None => return Some(at),
    };
    let delta = mul_div(value - debt, U256::from(RATE_PRECISION * PERIOD_SECS), rate)
        .map_or(u64::MAX, |delta| u64::try_from(delta).unwrap_or(u64::MAX));
    Some(at.saturating_add(delta))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(x: u64) -> U256 {
        U256::from(x)
    }

    #[test]
    fn thirty_days_at_500_bps_is_five_percent() {
        // 1 USDC (1e6 units) at 500 bps, exactly 30 days (2592000 s) after opening:
        // 1e6 * 500 * 2592000 = 1.296e15; / 2592000 = 5e8; / 10000 = 50000 -> 1_050_000.
        let t0 = 1_700_000_000;
        assert_eq!(
            debt_at(u(1_000_000), u(500), t0, t0 + PERIOD_SECS),
            Some(u(1_050_000))
        );
        // Same in the current module's order: 1e6 * 500 / 10000 = 50000; * 2592000 / 2592000.
        let main = debt_at_with(
            DebtMath::PrecisionFirst,
            u(1_000_000),
            u(500),
            t0,
            t0 + PERIOD_SECS,
        );
        assert_eq!(main, Some(u(1_050_000)));
        // 100 s: 1e6 * 500 * 100 = 5e10; / 2592000 = 19290 (19290.12); / 10000 = 1.
        assert_eq!(
            debt_at(u(1_000_000), u(500), t0, t0 + 100),
            Some(u(1_000_001))
        );
        // 1 s: 5e8 / 2592000 = 192; / 10000 = 0.
        assert_eq!(
            debt_at(u(1_000_000), u(500), t0, t0 + 1),
            Some(u(1_000_000))
        );
        // A time before opening counts as no time (the chain never sees one).
        assert_eq!(
            debt_at(u(1_000_000), u(500), t0, t0 - 10),
            Some(u(1_000_000))
        );
    }

    #[test]
    fn the_order_of_the_floors_matters() {
        // 1000 units at 5 bps for 90 days (7776000 s):
        // PeriodFirst:    1000 * 5 * 7776000 = 38_880_000_000; / 2592000 = 15000; / 10000 = 1 -> 1001.
        // PrecisionFirst: 1000 * 5 = 5000; / 10000 = 0; * 7776000 / 2592000 = 0            -> 1000.
        let (initial, rate, t0) = (u(1000), u(5), 1_000);
        let at = t0 + 3 * PERIOD_SECS;
        assert_eq!(
            debt_at_with(DebtMath::PeriodFirst, initial, rate, t0, at),
            Some(u(1001))
        );
        assert_eq!(
            debt_at_with(DebtMath::PrecisionFirst, initial, rate, t0, at),
            Some(u(1000))
        );
    }

    #[test]
    fn overflow_is_none() {
        // 2^200 * 2^40 * 2^20 = 2^260 overflows in the PeriodFirst order; PrecisionFirst divides
        // first: 2^240 / 10000 * 2^20 < 2^247 fits, / 2592000, + 2^200.
        let (initial, rate) = (U256::from(1u8) << 200, U256::from(1u8) << 40);
        let at = 1u64 << 20;
        assert_eq!(
            debt_at_with(DebtMath::PeriodFirst, initial, rate, 0, at),
            None
        );
        let expected = initial + (initial * rate / u(10_000)) * u(at) / u(PERIOD_SECS);
        assert_eq!(
            debt_at_with(DebtMath::PrecisionFirst, initial, rate, 0, at),
            Some(expected)
        );
        // initial * interest alone overflowing: None in both orders.
        assert_eq!(
            debt_at_with(DebtMath::PrecisionFirst, U256::MAX, u(2), 0, 0),
            None
        );
        // The final + initial overflowing.
        assert_eq!(debt_at(U256::MAX, u(10_000), 0, PERIOD_SECS), None);
        // No interest: the principal, however large.
        assert_eq!(debt_at(U256::MAX, U256::ZERO, 0, 1 << 40), Some(U256::MAX));
    }

    #[test]
    fn insolvency_time_follows_the_contract() {
        // value 1_100_000, debt 1_050_000, 500 bps on 1e6:
        // (50000 * 10000 * 2592000) / (500 * 1e6) = 1.296e15 / 5e8 = 2592000 -> at + 30 days
        // (the surplus is one more month of 50000 interest).
        let at = 1_700_000_000;
        let (value, debt, rate, initial) = (u(1_100_000), u(1_050_000), u(500), u(1_000_000));
        assert_eq!(
            insolvency_time(value, debt, rate, initial, at),
            Some(u(at + PERIOD_SECS))
        );
        assert_eq!(
            insolvent_at(value, debt, rate, initial, at),
            Some(at + PERIOD_SECS)
        );
        // Floors: surplus 1 -> 25920000000 / 5e8 = 51.84 -> 51 s.
        assert_eq!(
            insolvency_time(u(1_050_001), debt, rate, initial, at),
            Some(u(at + 51))
        );
        // The contract's "never" (0): value == debt, value < debt, no interest, no principal.
        assert_eq!(
            insolvency_time(debt, debt, rate, initial, at),
            Some(U256::ZERO)
        );
        assert_eq!(
            insolvency_time(u(1), debt, rate, initial, at),
            Some(U256::ZERO)
        );
        assert_eq!(
            insolvency_time(value, debt, U256::ZERO, initial, at),
            Some(U256::ZERO)
        );
        assert_eq!(
            insolvency_time(value, debt, rate, U256::ZERO, at),
            Some(U256::ZERO)
        );
        // The desk's reading: already liquidatable or on the edge with interest -> now; no
        // interest -> never.
        assert_eq!(insolvent_at(u(1), debt, rate, initial, at), Some(at));
        assert_eq!(insolvent_at(debt, debt, rate, initial, at), Some(at));
        assert_eq!(insolvent_at(value, debt, U256::ZERO, initial, at), None);
        assert_eq!(insolvent_at(debt, debt, U256::ZERO, initial, at), None);
        // (value - debt) * 10000 * 2592000 overflowing: the contract's figure is None, the
        // desk's is exact (2^250 * 2.592e10 / 2^240 = 1024 * 2.592e10) and saturates to u64.
        let big = U256::from(1u8) << 250;
        assert_eq!(
            insolvency_time(
                big,
                U256::ZERO,
                U256::from(1u8) << 120,
                U256::from(1u8) << 120,
                0
            ),
            None
        );
        let huge_rate = U256::from(1u8) << 120;
        assert_eq!(
            insolvent_at(big, U256::ZERO, huge_rate, huge_rate, 7),
            Some(7 + 1024 * 25_920_000_000)
        );
        assert_eq!(insolvent_at(big, U256::ZERO, u(1), u(1), 7), Some(u64::MAX));
    }
}
