//! `exp`, `ln`, `sqrt` and the standard normal CDF on `rust_decimal::Decimal`, for the
//! premium model: deterministic decimal arithmetic (28 significant digits), no floats.
//!
//! - `exp`: `x = k·ln2 + r` with `|r| ≤ ln2/2`, Taylor series of `e^r`, times `2^k`;
//! - `ln`: `x = m·2^k` with `m` in `[1/√2, √2]`, `ln m = 2·atanh((m−1)/(m+1))` as a series;
//! - `sqrt`: Newton's iteration from above (monotone, stops when it no longer decreases);
//! - `norm_cdf`: Abramowitz & Stegun 26.2.17 (|error| < 7.5·10⁻⁸), the approximation the
//!   premium calculator spec uses, with its full published coefficients.

use rust_decimal::Decimal;

use super::MathError;

fn d(mantissa: i128, scale: u32) -> Decimal {
    Decimal::from_i128_with_scale(mantissa, scale)
}

/// ln 2 to 28 decimal places.
pub fn ln2() -> Decimal {
    d(6_931_471_805_599_453_094_172_321_215, 28)
}

/// e^x. Below −64 it is zero at this precision; above 64 it overflows.
pub fn exp(x: Decimal) -> Result<Decimal, MathError> {
    if x > Decimal::from(64) {
        return Err(MathError::Overflow { what: "exp" });
    }
    if x < Decimal::from(-64) {
        return Ok(Decimal::ZERO);
    }
    let ln2 = ln2();
    let k = (x / ln2).round();
    let r = x - k * ln2;
    let mut sum = Decimal::ONE;
    let mut term = Decimal::ONE;
    for n in 1..=60u32 {
        term = term * r / Decimal::from(n);
        if term.is_zero() {
            break;
        }
        sum += term;
    }
    let k = i64::try_from(k.mantissa() / 10i128.pow(k.scale())).expect("|k| ≤ 93");
    let two = Decimal::TWO;
    for _ in 0..k.unsigned_abs() {
        sum = if k > 0 { sum * two } else { sum / two };
    }
    Ok(sum)
}

/// The natural logarithm of `x > 0`.
pub fn ln(x: Decimal) -> Result<Decimal, MathError> {
    if x <= Decimal::ZERO {
        return Err(MathError::invalid(
            "ln",
            format!("needs a positive number, got {x}"),
        ));
    }
    let two = Decimal::TWO;
    let sqrt2 = d(14_142_135_623_730_950_488_016_887_242, 28);
    let mut m = x;
    let mut k: i64 = 0;
    while m > two {
        m /= two;
        k += 1;
    }
    while m < Decimal::ONE {
        m *= two;
        k -= 1;
    }
    if m > sqrt2 {
        m /= two;
        k += 1;
    }
    let z = (m - Decimal::ONE) / (m + Decimal::ONE);
    let z2 = z * z;
    let mut power = z;
    let mut sum = z;
    for n in 1..=80u32 {
        power *= z2;
        let term = power / Decimal::from(2 * n + 1);
        if term.is_zero() {
            break;
        }
        sum += term;
    }
    Ok(two * sum + Decimal::from(k) * ln2())
}

/// The square root of `x ≥ 0`.
pub fn sqrt(x: Decimal) -> Result<Decimal, MathError> {
    if x < Decimal::ZERO {
        return Err(MathError::invalid(
            "sqrt",
            format!("needs a non-negative number, got {x}"),
        ));
    }
    if x.is_zero() {
        return Ok(Decimal::ZERO);
    }
    // Start at or above √x: Newton's steps then decrease monotonically.
    let mut y = x.max(Decimal::ONE);
    for _ in 0..500 {
        let next = (y + x / y) / Decimal::TWO;
        if next >= y {
            break;
        }
        y = next;
    }
    Ok(y)
}

/// The standard normal cumulative distribution function Φ(x).
pub fn norm_cdf(x: Decimal) -> Result<Decimal, MathError> {
    let ten = Decimal::TEN;
    if x > ten {
        return Ok(Decimal::ONE);
    }
    if x < -ten {
        return Ok(Decimal::ZERO);
    }
    let a = x.abs();
    // 1/√(2π)
    let inv_sqrt_2pi = d(3_989_422_804_014_326_779_399_460_599, 28);
    let p = d(2_316_419, 7);
    let b1 = d(319_381_530, 9);
    let b2 = d(-356_563_782, 9);
    let b3 = d(1_781_477_937, 9);
    let b4 = d(-1_821_255_978, 9);
    let b5 = d(1_330_274_429, 9);
    let t = Decimal::ONE / (Decimal::ONE + p * a);
    let pdf = inv_sqrt_2pi * exp(-(a * a) / Decimal::TWO)?;
    let poly = t * (b1 + t * (b2 + t * (b3 + t * (b4 + t * b5))));
    let upper_tail = pdf * poly;
    Ok(if x >= Decimal::ZERO {
        Decimal::ONE - upper_tail
    } else {
        upper_tail
    })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn close(got: Decimal, want: &str, tolerance: &str) {
        let diff = (got - dec(want)).abs();
        assert!(
            diff <= dec(tolerance),
            "got {got}, want {want} ± {tolerance}"
        );
    }

    #[test]
    fn exp_ln_sqrt_known_values() {
        close(
            exp(Decimal::ONE).unwrap(),
            "2.7182818284590452353602874714",
            "1e-25",
        );
        close(
            exp(dec("-2.5")).unwrap(),
            "0.0820849986238987951695286744",
            "1e-25",
        );
        close(
            exp(dec("10")).unwrap(),
            "22026.465794806716516957900645",
            "1e-20",
        );
        assert_eq!(exp(Decimal::ZERO).unwrap(), Decimal::ONE);
        assert_eq!(exp(dec("-100")).unwrap(), Decimal::ZERO);
        assert!(exp(dec("65")).is_err());

        close(
            ln(Decimal::TWO).unwrap(),
            "0.6931471805599453094172321215",
            "1e-26",
        );
        close(
            ln(dec("10")).unwrap(),
            "2.3025850929940456840179914547",
            "1e-25",
        );
        close(
            ln(dec("0.9")).unwrap(),
            "-0.1053605156578263012275009808",
            "1e-26",
        );
        close(ln(dec("60000")).unwrap(), "11.002099841204238", "1e-14");
        assert_eq!(ln(Decimal::ONE).unwrap(), Decimal::ZERO);
        assert!(ln(Decimal::ZERO).is_err());

        close(
            sqrt(Decimal::TWO).unwrap(),
            "1.4142135623730950488016887242",
            "1e-26",
        );
        close(
            sqrt(dec("0.0821917808219178")).unwrap(),
            "0.28669108954049793",
            "1e-15",
        );
        assert_eq!(sqrt(dec("144")).unwrap(), dec("12"));
        assert_eq!(sqrt(Decimal::ZERO).unwrap(), Decimal::ZERO);
        assert!(sqrt(dec("-1")).is_err());
    }

    #[test]
    fn normal_cdf_known_values() {
        close(norm_cdf(Decimal::ZERO).unwrap(), "0.5", "1e-9");
        close(norm_cdf(dec("1.96")).unwrap(), "0.9750021048517795", "1e-7");
        close(norm_cdf(dec("-1")).unwrap(), "0.15865525393145707", "1e-7");
        close(norm_cdf(dec("0.35")).unwrap(), "0.6368306511756191", "1e-7");
        close(norm_cdf(dec("-3.2")).unwrap(), "0.0006871379379158", "1e-7");
        assert_eq!(norm_cdf(dec("11")).unwrap(), Decimal::ONE);
        assert_eq!(norm_cdf(dec("-11")).unwrap(), Decimal::ZERO);
        // Symmetric: Φ(x) + Φ(−x) = 1.
        let x = dec("0.731");
        close(norm_cdf(x).unwrap() + norm_cdf(-x).unwrap(), "1", "1e-20");
    }
}
