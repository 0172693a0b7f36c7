//! JS `Math.round` of a double, as ECMAScript specifies it: the closest integral Number, and
//! of two equally close the one closer to +∞.

/// `Math.round(x)`. NaN and ±∞ come back unchanged, as does every double of magnitude 2^52
/// or more (those are already integral).
pub fn js_round(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let floor = x.floor();
    // `x - floor` is exact whenever it is anywhere near 0.5, so comparing it with 0.5 decides
    // the tie without the error `(x + 0.5).floor()` makes on 0.49999999999999994 and on odd
    // integers above 2^52.
    let rounded = if x - floor >= 0.5 { floor + 1.0 } else { floor };
    // Math.round keeps the sign of zero: -0.4 and -0.0 round to -0.
    if rounded == 0.0 && x.is_sign_negative() {
        -0.0
    } else {
        rounded
    }
}

/// `Math.round(a * b)` with the product taken as an IEEE-754 double, as the reference library
/// computes the liquidation prices and the compound nominal value.
pub fn js_round_product(a: f64, b: f64) -> f64 {
    js_round(a * b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_round_towards_positive_infinity() {
        assert_eq!(js_round(0.5), 1.0);
        assert_eq!(js_round(1.5), 2.0);
        assert_eq!(js_round(2.5), 3.0);
        assert_eq!(js_round(-2.5), -2.0);
        assert_eq!(js_round(-1.5), -1.0);
        let minus_half = js_round(-0.5);
        assert_eq!(minus_half, 0.0);
        assert!(minus_half.is_sign_negative());
    }

    #[test]
    fn non_halves_round_to_nearest() {
        assert_eq!(js_round(6943.968), 6944.0);
        assert_eq!(js_round(2.4), 2.0);
        assert_eq!(js_round(-2.6), -3.0);
        assert_eq!(js_round(7.0), 7.0);
    }

    #[test]
    fn largest_double_below_a_half_rounds_down() {
        // 0.5 - 2^-54: adding 0.5 rounds up to 1.0 in binary64.
        let x = 0.499_999_999_999_999_94_f64;
        assert!(x < 0.5);
        assert_eq!(x + 0.5, 1.0);
        assert_eq!(js_round(x), 0.0);
    }

    #[test]
    fn large_odd_integers_are_unchanged() {
        // 2^52 + 1: adding 0.5 lands on a tie that rounds to the even 2^52 + 2.
        let x = 4_503_599_627_370_497.0_f64;
        assert_eq!((x + 0.5).floor(), 4_503_599_627_370_498.0);
        assert_eq!(js_round(x), x);
    }

    #[test]
    fn non_finite_values_pass_through() {
        assert!(js_round(f64::NAN).is_nan());
        assert_eq!(js_round(f64::INFINITY), f64::INFINITY);
        assert_eq!(js_round(f64::NEG_INFINITY), f64::NEG_INFINITY);
    }

    #[test]
    fn exact_half_product_rounds_up() {
        // AnyHedge v0.12 contract with start price 37114 and multipliers 0.75 / 1.25: the
        // library stored low 27836 and high 46393 (see contract.rs for the source).
        assert_eq!(0.75 * 37114.0, 27835.5);
        assert_eq!(js_round_product(0.75, 37114.0), 27836.0);
        assert_eq!(js_round_product(1.25, 37114.0), 46393.0);
    }

    #[test]
    fn double_product_not_decimal_product() {
        // In decimal 0.285 × 100 = 28.5, which would round to 29; the double 0.285 is
        // slightly below, its product is 28.499999999999996, and Math.round gives 28.
        let product = 0.285 * 100.0;
        assert_ne!(product, 28.5);
        assert!(product < 28.5);
        assert_eq!(js_round_product(0.285, 100.0), 28.0);
        // And the other way: 1.005 × 1000 is 1004.9999999999999 as a double; still 1005.
        assert_eq!(js_round_product(1.005, 1000.0), 1005.0);
    }

    #[test]
    fn matches_std_round_for_positive_values() {
        for x in [
            0.0,
            0.25,
            0.5,
            0.75,
            1.5,
            2.5,
            1e15 + 0.5,
            123_456.499_999,
            6943.968,
        ] {
            assert_eq!(js_round(x), x.round(), "{x}");
        }
        // round_ties_even disagrees on halves.
        assert_ne!(js_round(2.5), 2.5_f64.round_ties_even());
    }
}
