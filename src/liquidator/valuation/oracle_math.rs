//! The oracle's `getAmountOut(buy, sell, amount)` from a pair's `sqrtPriceX96`, bit for bit, in
//! the two maths the Dex223 oracles have used.
//!
//! The price is token1 per token0 as a Q64.96 square root, token0 being the lower address;
//! `sell_is_token0` is `sell < buy`. `None` wherever the oracle would revert or a uint256 step
//! would overflow (the legacy oracle is solc 0.7.6 and wraps instead; the desk never trusts a
//! wrapped figure), and for a price of 0 ("not set").

use alloy::primitives::U256;

pub use super::full_math::mul_div;
use super::full_math::{div_wide, shl_wide, shr_wide};

/// How an oracle turns a price into an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OracleMath {
    /// Dex223 main: the whole amount through 512-bit `mulDiv` (Uniswap's `getQuoteAtTick`).
    #[default]
    Exact,
    /// The legacy Dex223 oracle (`pricePrecisionDecimals = 5`): the amount is cut to its
    /// leading digits, priced, scaled back, and inverted for the other direction.
    SignificantDigits(u32),
}

impl OracleMath {
    /// The legacy Dex223 oracle's math.
    pub const LEGACY: OracleMath = OracleMath::SignificantDigits(5);

    /// From the oracle's `pricePrecisionDecimals()`: 0 (or a missing function, read as 0) is
    /// [`OracleMath::Exact`].
    pub fn from_precision_decimals(decimals: u64) -> Self {
        match decimals {
            0 => OracleMath::Exact,
            d => OracleMath::SignificantDigits(u32::try_from(d).unwrap_or(u32::MAX)),
        }
    }
}

/// Units of `buy` that `amount` units of `sell` are worth, as the oracle computes it, for a pair
/// priced at `sqrt_price_x96`.
///
/// [`OracleMath::Exact`] reverts on a zero amount (`require(amountToSell > 0)`), so `amount == 0`
/// is `None` there; the legacy math gives 0 selling token0 and divides by zero (`None`) selling
/// token1.
pub fn amount_out(
    math: OracleMath,
    sqrt_price_x96: U256,
    sell_is_token0: bool,
    amount: U256,
) -> Option<U256> {
    Quote::new(math, sqrt_price_x96).amount_out(sell_is_token0, amount)
}

/// `10^i` for every `i` whose power fits 256 bits (`10^77 < 2^256 < 10^78`).
const POW10: [U256; 78] = {
    let mut table = [U256::ZERO; 78];
    let mut power = U256::from_limbs([1, 0, 0, 0]);
    let mut i = 0;
    while i < table.len() {
        table[i] = power;
        power = power.wrapping_mul(U256::from_limbs([10, 0, 0, 0]));
        i += 1;
    }
    table
};

/// Decimal digits of `x >= 1`.
#[inline]
fn decimal_digits(x: U256) -> usize {
    // 1233 / 4096 ~ log10(2): t is the digit count or one less.
    let t = (x.bit_len() * 1233) >> 12;
    if x < POW10[t] { t } else { t + 1 }
}

/// A pair's price prepared once for its oracle's math (the book keeps one per pair, rebuilt
/// when the price or the oracle's math changes): per amount only the multiply/divide remains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quote {
    /// No price (0, never set), or one the oracle cannot use (its square overflows).
    Unpriced,
    /// `ratio` is token1 per token0 scaled by `2^shift`: `sqrt^2` with `shift` 192 when the
    /// square fits, else `mulDiv(sqrt, sqrt, 2^64)` with `shift` 128.
    Exact { ratio: U256, shift: u32 },
    /// `price = sqrt^2` (token1 per token0 times 2^192), `digits` kept of an amount.
    Digits { price: U256, digits: u32 },
}

impl Quote {
    pub(crate) fn new(math: OracleMath, sqrt_price_x96: U256) -> Quote {
        if sqrt_price_x96.is_zero() {
            return Quote::Unpriced;
        }
        match math {
            OracleMath::Exact if sqrt_price_x96 <= U256::from(u128::MAX) => Quote::Exact {
                ratio: sqrt_price_x96 * sqrt_price_x96,
                shift: 192,
            },
            OracleMath::Exact => match shr_wide(sqrt_price_x96.widening_mul(sqrt_price_x96), 64) {
                Some(ratio) => Quote::Exact { ratio, shift: 128 },
                None => Quote::Unpriced,
            },
            // 10^digits must fit 256 bits for the oracle's comparison to mean anything.
            OracleMath::SignificantDigits(digits) if digits as usize >= POW10.len() => {
                Quote::Unpriced
            }
            OracleMath::SignificantDigits(digits) => {
                match sqrt_price_x96.checked_mul(sqrt_price_x96) {
                    Some(price) => Quote::Digits { price, digits },
                    None => Quote::Unpriced,
                }
            }
        }
    }

    #[inline]
    pub(crate) fn amount_out(self, sell_is_token0: bool, amount: U256) -> Option<U256> {
        match self {
            Quote::Unpriced => None,
            Quote::Exact { ratio, shift } => {
                if amount.is_zero() {
                    return None;
                }
                if sell_is_token0 {
                    // mulDiv(ratio, amount, 2^shift)
                    shr_wide(ratio.widening_mul(amount), shift)
                } else {
                    // mulDiv(2^shift, amount, ratio)
                    div_wide(shl_wide(amount, shift), ratio)
                }
            }
            Quote::Digits { price, digits } => {
                let ten_d = POW10[digits as usize];
                let bought = if amount > ten_d {
                    // `while (sum > 10^d) { sum /= 10; slashed++ }` in one or two divisions:
                    // with n digits, amount / 10^(n-d-1) has d + 1 digits, so it is <= 10^d only
                    // when it equals 10^d, and one more division always gets there.
                    let mut slashed = decimal_digits(amount) - digits as usize - 1;
                    let mut sum = amount / POW10[slashed];
                    if sum > ten_d {
                        sum /= U256::from(10u8);
                        slashed += 1;
                    }
                    (price.checked_mul(sum)? >> 192usize).checked_mul(POW10[slashed])?
                } else {
                    price.checked_mul(amount)? >> 192usize
                };
                if sell_is_token0 {
                    Some(bought)
                } else {
                    // `amountToSell * amountToSell / amountBought`
                    amount.checked_mul(amount)?.checked_div(bought)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEGACY: OracleMath = OracleMath::LEGACY;
    const EXACT: OracleMath = OracleMath::Exact;

    fn u(x: u128) -> U256 {
        U256::from(x)
    }

    fn pow2(bits: usize) -> U256 {
        U256::from(1u8) << bits
    }

    /// The loop exactly as the legacy oracle writes it.
    fn legacy_reference(
        sqrt: U256,
        sell_is_token0: bool,
        amount: U256,
        digits: u32,
    ) -> Option<U256> {
        let price = sqrt.checked_mul(sqrt)?;
        let ten_d = POW10[digits as usize];
        let mut bought = if amount > ten_d {
            let (mut sum, mut slashed) = (amount, 0usize);
            while sum > ten_d {
                sum /= U256::from(10u8);
                slashed += 1;
            }
            (price.checked_mul(sum)? >> 192usize).checked_mul(POW10[slashed])?
        } else {
            price.checked_mul(amount)? >> 192usize
        };
        if !sell_is_token0 {
            bought = amount.checked_mul(amount)?.checked_div(bought)?;
        }
        Some(bought)
    }

    #[test]
    fn decimal_digits_at_every_boundary() {
        for (i, &power) in POW10.iter().enumerate().skip(1) {
            assert_eq!(decimal_digits(power - U256::from(1u8)), i);
            assert_eq!(decimal_digits(power), i + 1);
        }
        for bits in 0..256 {
            for x in [
                pow2(bits),
                pow2(bits) - U256::from(1u8),
                pow2(bits) + U256::from(1u8),
            ] {
                if !x.is_zero() {
                    assert_eq!(decimal_digits(x), x.to_string().len(), "{x}");
                }
            }
        }
        assert_eq!(decimal_digits(U256::MAX), 78);
    }

    #[test]
    fn from_precision_decimals() {
        assert_eq!(OracleMath::from_precision_decimals(0), OracleMath::Exact);
        assert_eq!(OracleMath::from_precision_decimals(5), OracleMath::LEGACY);
    }

    #[test]
    fn price_one_both_directions() {
        // sqrt = 2^96: ratio = 2^192, one token1 per token0.
        let sqrt = pow2(96);
        let amount = u(123_456_789);
        // Exact: mulDiv(2^192, a, 2^192) = a, both ways.
        assert_eq!(amount_out(EXACT, sqrt, true, amount), Some(amount));
        assert_eq!(amount_out(EXACT, sqrt, false, amount), Some(amount));
        // Legacy, selling token0: 123456789 -> 12345678 -> 1234567 -> 123456 -> 12345 (<= 1e5),
        // 4 digits slashed: (2^192 * 12345 / 2^192) * 10^4 = 123_450_000.
        assert_eq!(amount_out(LEGACY, sqrt, true, amount), Some(u(123_450_000)));
        // Selling token1 inverts through the amount: 123456789^2 / 123450000
        // = 15241578750190521 / 123450000 = 123_463_578 (123463578.4...).
        assert_eq!(
            amount_out(LEGACY, sqrt, false, amount),
            Some(u(123_463_578))
        );
        // At most 10^5 nothing is slashed: 100000 -> 100000 both ways.
        assert_eq!(amount_out(LEGACY, sqrt, true, u(100_000)), Some(u(100_000)));
        assert_eq!(
            amount_out(LEGACY, sqrt, false, u(100_000)),
            Some(u(100_000))
        );
    }

    #[test]
    fn zero_amounts_as_the_oracles_do() {
        let sqrt = pow2(96);
        // Main: require(amountToSell > 0).
        assert_eq!(amount_out(EXACT, sqrt, true, U256::ZERO), None);
        assert_eq!(amount_out(EXACT, sqrt, false, U256::ZERO), None);
        // Legacy: 2^192 * 0 / 2^192 = 0; the other way 0 * 0 / 0 divides by zero.
        assert_eq!(amount_out(LEGACY, sqrt, true, U256::ZERO), Some(U256::ZERO));
        assert_eq!(amount_out(LEGACY, sqrt, false, U256::ZERO), None);
        // A price of 0 is no price.
        assert_eq!(amount_out(EXACT, U256::ZERO, true, u(5)), None);
        assert_eq!(amount_out(LEGACY, U256::ZERO, true, u(5)), None);
    }

    /// USDC (6 decimals) at 0xA0b8... sorts below WETH (18) at 0xC02a...: token0 = USDC,
    /// token1 = WETH. 3000 USDC per WETH = 1e18 wei per 3000e6 units = 1e12/3000 wei per unit.
    /// sqrtPriceX96 = isqrt(2^192 * 1e12 / 3000) = 1446501726624926496477173928747177
    /// (0x47516b2849e2ed4c41c036d4e0a9, below 2^128: the ratioX192 branch).
    #[test]
    fn usdc_weth_with_usdc_as_token0() {
        let sqrt: U256 = "1446501726624926496477173928747177".parse().unwrap();
        let (one_weth, usdc_3000) = (u(10u128.pow(18)), u(3_000_000_000));
        // Exact, selling WETH (token1) for USDC: mulDiv(2^192, 1e18, sqrt^2) = 3_000_000_000.
        assert_eq!(amount_out(EXACT, sqrt, false, one_weth), Some(usdc_3000));
        // Exact, selling USDC (token0): mulDiv(sqrt^2, 3000e6, 2^192) = 999_999_999_999_999_999
        // (the square root is floored, so a wei short).
        assert_eq!(
            amount_out(EXACT, sqrt, true, usdc_3000),
            Some(u(999_999_999_999_999_999))
        );
        // Legacy, selling WETH: 1e18 loses 13 digits to 100000; sqrt^2 * 1e5 / 2^192
        // = 33_333_333_333_333, * 1e13 = 3.3333333333333e26; inverted: 1e36 / that
        // = 3_000_000_000 (3000000000.0003).
        assert_eq!(amount_out(LEGACY, sqrt, false, one_weth), Some(usdc_3000));
        // Legacy, selling USDC: 3e9 loses 5 digits to 30000; sqrt^2 * 30000 / 2^192
        // = 9_999_999_999_999, * 1e5 = 999_999_999_999_900_000.
        assert_eq!(
            amount_out(LEGACY, sqrt, true, usdc_3000),
            Some(u(999_999_999_999_900_000))
        );
    }

    /// The same market with the 18-decimal token below the 6-decimal one: token0 = WETH,
    /// token1 = USD. 3000e6 units per 1e18 wei = 3e-9 units per wei.
    /// sqrtPriceX96 = isqrt(2^192 * 3000e6 / 1e18) = 4339505179874779489431521.
    #[test]
    fn usdc_weth_with_weth_as_token0() {
        let sqrt: U256 = "4339505179874779489431521".parse().unwrap();
        let (one_weth, usdc_3000) = (u(10u128.pow(18)), u(3_000_000_000));
        // Exact, selling WETH (token0): mulDiv(sqrt^2, 1e18, 2^192) = 2_999_999_999.
        assert_eq!(
            amount_out(EXACT, sqrt, true, one_weth),
            Some(u(2_999_999_999))
        );
        // Exact, selling USD (token1): mulDiv(2^192, 3000e6, sqrt^2) = 1e18.
        assert_eq!(amount_out(EXACT, sqrt, false, usdc_3000), Some(one_weth));
        // Legacy, selling WETH: 1e18 -> 100000 with 13 slashed; sqrt^2 * 1e5 / 2^192
        // = floor(3e-9 * 1e5) = 0, * 1e13 = 0: one WETH is worth nothing.
        assert_eq!(amount_out(LEGACY, sqrt, true, one_weth), Some(U256::ZERO));
        // Legacy, selling USD: 3e9 -> 30000, sqrt^2 * 30000 / 2^192 = 0, then
        // 3e9 * 3e9 / 0 divides by zero: the oracle reverts.
        assert_eq!(amount_out(LEGACY, sqrt, false, usdc_3000), None);
    }

    #[test]
    fn sqrt_above_u128_takes_the_ratio_x128_branch() {
        // sqrt = 2^130: price = 2^260 / 2^192 = 2^68 token1 per token0.
        // ratioX128 = mulDiv(2^130, 2^130, 2^64) = 2^196.
        let sqrt = pow2(130);
        // Selling 3 token0: mulDiv(2^196, 3, 2^128) = 3 * 2^68.
        assert_eq!(amount_out(EXACT, sqrt, true, u(3)), Some(u(3) << 68));
        // Selling 2^70 + 5 token1: mulDiv(2^128, 2^70 + 5, 2^196) = floor(4 + 5/2^68) = 4.
        assert_eq!(amount_out(EXACT, sqrt, false, pow2(70) + u(5)), Some(u(4)));
        // Just above u128::MAX, with a floor in the ratio: sqrt = 2^128 + 1,
        // ratioX128 = floor((2^256 + 2^129 + 1) / 2^64) = 2^192 + 2^65;
        // selling 2^64 token0: mulDiv(2^192 + 2^65, 2^64, 2^128) = 2^128 + 2.
        assert_eq!(
            amount_out(EXACT, pow2(128) + u(1), true, pow2(64)),
            Some(pow2(128) + u(2))
        );
        // The legacy oracle squares into 2^260: overflow.
        assert_eq!(amount_out(LEGACY, sqrt, true, u(3)), None);
        // sqrt >= 2^160 is not a uint160; its ratioX128 would not fit 256 bits.
        assert_eq!(amount_out(EXACT, pow2(160), true, u(3)), None);
    }

    #[test]
    fn overflow_is_none() {
        // Exact at 2^68 token1 per token0: 2^200 token0 buy 2^268 token1, past 256 bits.
        assert_eq!(amount_out(EXACT, pow2(130), true, pow2(200)), None);
        // At price 1 the exact math carries any amount ...
        assert_eq!(
            amount_out(EXACT, pow2(96), false, pow2(200)),
            Some(pow2(200))
        );
        // ... the legacy inversion squares it: (2^200)^2 overflows.
        assert_eq!(amount_out(LEGACY, pow2(96), false, pow2(200)), None);
        // Legacy price * sum: sqrt = 2^127 (price 2^254 / 2^192 = 2^62), 1e5 * 2^254 overflows.
        assert_eq!(amount_out(LEGACY, pow2(127), true, u(100_000)), None);
        // Legacy scaling back: 2^255 (77 digits) keeps 57896 with 72 digits slashed. At price 1:
        // 57896 * 10^72 < 2^256 fits. At price 3 (sqrt = isqrt(3 * 2^192), squared just under
        // 3 * 2^192): 173687 * 10^72 > 1.158e77 > 2^256 overflows.
        let three: U256 = "137227202865029797602485611888".parse().unwrap();
        assert_eq!(amount_out(LEGACY, three, true, pow2(255)), None);
        assert_eq!(
            amount_out(LEGACY, pow2(96), true, pow2(255)),
            Some(u(57896) * POW10[72])
        );
    }

    /// The main oracle's getAmountOut written out with mulDiv, as in the contract.
    fn exact_reference(sqrt: U256, sell_is_token0: bool, amount: U256) -> Option<U256> {
        if sqrt.is_zero() || amount.is_zero() {
            return None;
        }
        if sqrt <= U256::from(u128::MAX) {
            let ratio_x192 = sqrt * sqrt;
            if sell_is_token0 {
                mul_div(ratio_x192, amount, pow2(192))
            } else {
                mul_div(pow2(192), amount, ratio_x192)
            }
        } else {
            let ratio_x128 = mul_div(sqrt, sqrt, pow2(64))?;
            if sell_is_token0 {
                mul_div(ratio_x128, amount, pow2(128))
            } else {
                mul_div(pow2(128), amount, ratio_x128)
            }
        }
    }

    #[test]
    fn exact_matches_the_contract_written_with_mul_div() {
        let mut x: u64 = 0x853C_49E6_748F_EA9B;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..5000 {
            let amount =
                U256::from_limbs([next(), next(), next(), next()]) >> (next() % 256) as usize;
            // Up to 161 bits: both branches, and past uint160.
            let sqrt =
                U256::from_limbs([next(), next(), next(), 0]) >> (31 + next() % 192) as usize;
            let side = next() % 2 == 0;
            let expected = exact_reference(sqrt, side, amount);
            assert_eq!(
                amount_out(EXACT, sqrt, side, amount),
                expected,
                "{sqrt} {side} {amount}"
            );
        }
    }

    #[test]
    fn legacy_slashing_matches_the_loop() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..3000 {
            let amount =
                U256::from_limbs([next(), next(), next(), next()]) >> (next() % 256) as usize;
            let sqrt = U256::from_limbs([next(), next(), next(), 0]) >> (next() % 192) as usize;
            let digits = (next() % 20) as u32;
            let side = next() % 2 == 0;
            let math = OracleMath::SignificantDigits(digits);
            let expected = if sqrt.is_zero() {
                None
            } else {
                legacy_reference(sqrt, side, amount, digits)
            };
            assert_eq!(
                amount_out(math, sqrt, side, amount),
                expected,
                "{sqrt} {side} {amount} {digits}"
            );
        }
    }
}
