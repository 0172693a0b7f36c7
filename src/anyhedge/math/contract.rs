//! Contract creation: terms (what the parties ask for) to parameters (what the contract
//! stores), and the check of a parameter set received from elsewhere.

use serde::{Deserialize, Serialize};

use super::round::js_round_product;
use super::{CreateError, DUST, MAX_ORACLE_PRICE, MIN_SATS_AT_HIGH, SATS_PER_BCH};

/// What the parties agree on, in the reference library's units: `nominal_units` of the oracle's
/// unit (e.g. US cents), the start price in oracle units per BCH, and the two liquidation
/// multipliers of the start price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContractTerms {
    pub nominal_units: f64,
    pub start_price: u32,
    pub low_mult: f64,
    pub high_mult: f64,
    /// Not a simple hedge: the short is leveraged too and the contract keeps
    /// `sats_for_nominal_units_at_high`.
    pub leveraged: bool,
}

/// What the contract stores: prices in oracle units per BCH, amounts in sats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContractParameters {
    pub start_price: u32,
    pub low_price: u32,
    pub high_price: u32,
    pub nominal_units_x_sats_per_bch: u64,
    /// 0 for a simple hedge.
    pub sats_for_nominal_units_at_high: u64,
    pub payout_sats: u64,
    pub short_input_sats: u64,
    pub long_input_sats: u64,
}

/// 2^53 (JS `Number.MAX_SAFE_INTEGER + 1`): every integer up to it is exact as a double.
const TWO_POW_53: f64 = 9_007_199_254_740_992.0;

/// The contract parameters for `terms`, exactly as AnyHedge v0.12 computes them.
pub fn create(terms: &ContractTerms) -> Result<ContractParameters, CreateError> {
    positive_finite("nominal_units", terms.nominal_units)?;
    positive_finite("low_mult", terms.low_mult)?;
    positive_finite("high_mult", terms.high_mult)?;
    let start = terms.start_price;
    if start == 0 {
        return Err(CreateError::StartPriceZero);
    }

    let low = exact_product("low_mult", "start_price", terms.low_mult, f64::from(start))?;
    let high = exact_product(
        "high_mult",
        "start_price",
        terms.high_mult,
        f64::from(start),
    )?;
    let nominal = exact_product(
        "nominal_units",
        "1e8",
        terms.nominal_units,
        SATS_PER_BCH as f64,
    )?;

    check_prices(low, start, high)?;
    check_nominal(nominal)?;
    // Both prices are now within 1..=i32::MAX.
    let (low, high) = (low as u32, high as u32);

    let at_high = nominal / u64::from(high);
    let sats_at_high = if terms.leveraged { at_high } else { 0 };
    let payout = nominal / u64::from(low) - sats_at_high;
    let short_input = nominal / u64::from(start) - sats_at_high;
    let params = ContractParameters {
        start_price: start,
        low_price: low,
        high_price: high,
        nominal_units_x_sats_per_bch: nominal,
        sats_for_nominal_units_at_high: sats_at_high,
        payout_sats: payout,
        short_input_sats: short_input,
        long_input_sats: payout - short_input,
    };
    check_amounts(&params, terms.leveraged)?;
    Ok(params)
}

impl ContractParameters {
    /// Checks a parameter set received from outside (an API payload, a chain read): the
    /// bounds [`create`] enforces, and that every derived amount follows from the prices and
    /// the nominal value the way [`create`] derives it.
    pub fn validate(&self) -> Result<(), CreateError> {
        if self.start_price == 0 {
            return Err(CreateError::StartPriceZero);
        }
        check_prices(
            u64::from(self.low_price),
            self.start_price,
            u64::from(self.high_price),
        )?;
        let nominal = self.nominal_units_x_sats_per_bch;
        check_nominal(nominal)?;

        let at_high = nominal / u64::from(self.high_price);
        let sats_at_high = self.sats_for_nominal_units_at_high;
        if sats_at_high != 0 && sats_at_high != at_high {
            return Err(CreateError::SatsAtHighMismatch {
                actual: sats_at_high,
                leveraged: at_high,
            });
        }
        // With low < start < high, none of these subtractions can underflow.
        let expected_payout = nominal / u64::from(self.low_price) - sats_at_high;
        consistent(
            "payout_sats",
            "nominal_units_x_sats_per_bch / low_price - sats_for_nominal_units_at_high",
            self.payout_sats,
            expected_payout,
        )?;
        let expected_short = nominal / u64::from(self.start_price) - sats_at_high;
        consistent(
            "short_input_sats",
            "nominal_units_x_sats_per_bch / start_price - sats_for_nominal_units_at_high",
            self.short_input_sats,
            expected_short,
        )?;
        consistent(
            "long_input_sats",
            "payout_sats - short_input_sats",
            self.long_input_sats,
            expected_payout - expected_short,
        )?;
        check_amounts(self, self.is_leveraged())
    }

    /// Whether the short is leveraged (the contract keeps `sats_for_nominal_units_at_high`).
    pub fn is_leveraged(&self) -> bool {
        self.sats_for_nominal_units_at_high != 0
    }
}

fn positive_finite(field: &'static str, value: f64) -> Result<(), CreateError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(CreateError::NotPositiveFinite { field, value })
    }
}

/// `Math.round(a * b)` as an integer, refused beyond 2^53 where a double stops being exact.
fn exact_product(
    field: &'static str,
    factor: &'static str,
    a: f64,
    b: f64,
) -> Result<u64, CreateError> {
    let product = js_round_product(a, b);
    if product > TWO_POW_53 {
        return Err(CreateError::ProductTooLarge {
            field,
            factor,
            product,
        });
    }
    // A finite, non-negative integer at most 2^53: the conversion is exact.
    Ok(product as u64)
}

fn check_prices(low: u64, start: u32, high: u64) -> Result<(), CreateError> {
    if low < 1 {
        return Err(CreateError::LowBelowOne { low });
    }
    if low >= u64::from(start) {
        return Err(CreateError::LowNotBelowStart { low, start });
    }
    if high <= u64::from(start) {
        return Err(CreateError::HighNotAboveStart { high, start });
    }
    if high > u64::from(MAX_ORACLE_PRICE) {
        return Err(CreateError::HighAboveOracleRange { high });
    }
    Ok(())
}

fn check_nominal(nominal: u64) -> Result<(), CreateError> {
    if nominal < SATS_PER_BCH {
        return Err(CreateError::NominalTooSmall { value: nominal });
    }
    Ok(())
}

fn check_amounts(params: &ContractParameters, leveraged: bool) -> Result<(), CreateError> {
    let sats_at_high = params.sats_for_nominal_units_at_high;
    if leveraged && sats_at_high < MIN_SATS_AT_HIGH {
        return Err(CreateError::SatsAtHighTooSmall { sats: sats_at_high });
    }
    if params.payout_sats < DUST {
        return Err(CreateError::PayoutBelowDust {
            payout: params.payout_sats,
        });
    }
    Ok(())
}

fn consistent(
    field: &'static str,
    formula: &'static str,
    actual: u64,
    expected: u64,
) -> Result<(), CreateError> {
    if actual == expected {
        Ok(())
    } else {
        Err(CreateError::Inconsistent {
            field,
            formula,
            actual,
            expected,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(nominal_units: f64, start_price: u32, low_mult: f64, high_mult: f64) -> ContractTerms {
        ContractTerms {
            nominal_units,
            start_price,
            low_mult,
            high_mult,
            leveraged: false,
        }
    }

    fn leveraged(t: ContractTerms) -> ContractTerms {
        ContractTerms {
            leveraged: true,
            ..t
        }
    }

    fn error(t: ContractTerms) -> CreateError {
        create(&t).expect_err("terms must be refused")
    }

    #[test]
    fn simple_hedge_vector() {
        let p = create(&terms(33379.2, 10944, 0.6345, 4.0)).unwrap();
        assert_eq!(
            p,
            ContractParameters {
                start_price: 10944,
                low_price: 6944,
                high_price: 43776,
                nominal_units_x_sats_per_bch: 3_337_920_000_000,
                sats_for_nominal_units_at_high: 0,
                payout_sats: 480_691_244,
                short_input_sats: 305_000_000,
                long_input_sats: 175_691_244,
            }
        );
        assert_eq!(p.validate(), Ok(()));
    }

    /// A contract the v0.12 JS library compiled (`version: 'AnyHedge v0.12'`), printed in the
    /// README of github.com/henryf3/bch_mutual_redemption_tool: nominalUnits 20, startPrice
    /// 37114, multipliers 0.75 / 1.25, isSimpleHedge 1. Both prices are exact halves.
    #[test]
    fn reference_library_contract_with_half_prices() {
        let p = create(&terms(20.0, 37114, 0.75, 1.25)).unwrap();
        assert_eq!(
            p,
            ContractParameters {
                start_price: 37114,
                low_price: 27836,
                high_price: 46393,
                nominal_units_x_sats_per_bch: 2_000_000_000,
                sats_for_nominal_units_at_high: 0,
                payout_sats: 71849,
                short_input_sats: 53888,
                long_input_sats: 17961,
            }
        );
    }

    /// General Protocols' AnyHedge Python library, contract tests (`test_contract.py`, "Contract
    /// Tests"): $100.00 nominal in US cents, start 200_00, long leverage 4.5, short leverage
    /// 2.2. It derives the prices from leverages (low = round(start × (1 − 1/4.5)), high =
    /// round(start × (1 + 1/(2.2 − 1)))); the same multipliers as doubles give the same prices.
    /// Expected: low 155_56, high 366_67, cost at high 27_272_479, total input 37_011_398,
    /// short input 22_727_521, long input 14_283_877.
    #[test]
    fn leveraged_short_vector_from_reference_tests() {
        let t = leveraged(terms(
            10_000.0,
            20_000,
            1.0 - 1.0 / 4.5,
            1.0 + 1.0 / (2.2 - 1.0),
        ));
        let p = create(&t).unwrap();
        assert_eq!(
            p,
            ContractParameters {
                start_price: 20_000,
                low_price: 15_556,
                high_price: 36_667,
                nominal_units_x_sats_per_bch: 1_000_000_000_000,
                sats_for_nominal_units_at_high: 27_272_479,
                payout_sats: 37_011_398,
                short_input_sats: 22_727_521,
                long_input_sats: 14_283_877,
            }
        );
        assert_eq!(p.validate(), Ok(()));
        let lev = t.leverage();
        assert!((lev.long - 4.5).abs() < 1e-9);
        assert!((lev.short - 2.2).abs() < 1e-9);
    }

    /// The same reference tests' pure hedge: high is 10 × start, nothing kept at high, the
    /// short puts in the full cost at start (50_000_000) and the total is 64_283_877.
    #[test]
    fn simple_hedge_vector_from_reference_tests() {
        let t = terms(10_000.0, 20_000, 1.0 - 1.0 / 4.5, 10.0);
        let p = create(&t).unwrap();
        assert_eq!((p.low_price, p.high_price), (15_556, 200_000));
        assert_eq!(p.sats_for_nominal_units_at_high, 0);
        assert_eq!(p.payout_sats, 64_283_877);
        assert_eq!(p.short_input_sats, 50_000_000);
        assert_eq!(p.long_input_sats, 14_283_877);
        assert_eq!(t.leverage().short, 1.0);
    }

    /// Derived by hand from the formulas (no leveraged fixture of the JS library was found):
    /// the example vector with the short leveraged. nXS / high = 3337920000000 / 43776 =
    /// 76_250_000 exactly, so payout = 480_691_244 − 76_250_000 and short input =
    /// 305_000_000 − 76_250_000.
    #[test]
    fn leveraged_example_vector() {
        let p = create(&leveraged(terms(33379.2, 10944, 0.6345, 4.0))).unwrap();
        assert_eq!(p.sats_for_nominal_units_at_high, 76_250_000);
        assert_eq!(p.payout_sats, 404_441_244);
        assert_eq!(p.short_input_sats, 228_750_000);
        assert_eq!(p.long_input_sats, 175_691_244);
        assert_eq!(p.validate(), Ok(()));
    }

    #[test]
    fn rounding_uses_the_double_product() {
        // 0.285 × 100 is 28.5 in decimal but 28.499999999999996 as a double: low is 28.
        let p = create(&terms(1000.0, 100, 0.285, 2.0)).unwrap();
        assert_eq!(p.low_price, 28);
    }

    #[test]
    fn bad_numbers_are_named_by_field() {
        let cases = [
            (terms(0.0, 10944, 0.6345, 4.0), "nominal_units"),
            (terms(-1.0, 10944, 0.6345, 4.0), "nominal_units"),
            (terms(f64::NAN, 10944, 0.6345, 4.0), "nominal_units"),
            (terms(33379.2, 10944, f64::INFINITY, 4.0), "low_mult"),
            (terms(33379.2, 10944, -0.5, 4.0), "low_mult"),
            (terms(33379.2, 10944, 0.6345, f64::NAN), "high_mult"),
            (terms(33379.2, 10944, 0.6345, 0.0), "high_mult"),
        ];
        for (t, field) in cases {
            let e = error(t);
            assert!(matches!(e, CreateError::NotPositiveFinite { .. }), "{e:?}");
            assert_eq!(e.field(), field);
            assert!(e.to_string().starts_with(field), "{e}");
        }
        let e = error(terms(33379.2, 0, 0.6345, 4.0));
        assert_eq!(e, CreateError::StartPriceZero);
        assert_eq!(e.field(), "start_price");
    }

    #[test]
    fn products_beyond_two_pow_53_are_refused() {
        let e = error(terms(1e10, 10944, 0.6345, 4.0));
        assert_eq!(e.field(), "nominal_units");
        assert!(matches!(e, CreateError::ProductTooLarge { .. }), "{e:?}");
        let e = error(terms(33379.2, 10944, 1e300, 4.0));
        assert_eq!(e.field(), "low_mult");
        assert_eq!(
            e.to_string(),
            "low_mult × start_price = 1.0944e304 exceeds 2^53, the largest exact integer of a double"
        );
    }

    #[test]
    fn each_bound_has_its_message() {
        let cases = [
            (
                terms(33379.2, 10944, 0.00001, 4.0),
                "low_mult",
                "low liquidation price 0 must be at least 1",
            ),
            (
                terms(33379.2, 10944, 1.00512, 4.0),
                "low_mult",
                "low liquidation price 11000 must be below the start price 10944",
            ),
            (
                terms(33379.2, 10944, 0.6345, 1.00001),
                "high_mult",
                "high liquidation price 10944 must be above the start price 10944",
            ),
            (
                terms(33379.2, 2_000_000_000, 0.6345, 1.1),
                "high_mult",
                "high liquidation price 2200000000 exceeds the int32 oracle price range \
                 (at most 2147483647)",
            ),
            (
                terms(0.00005, 10944, 0.6345, 4.0),
                "nominal_units",
                "nominal units × 1e8 = 5000 must be at least 100000000",
            ),
            (
                terms(1.0, 222_222, 0.5, 2.0),
                "nominal_units",
                "payout 900 sats is below dust 1332",
            ),
            (
                leveraged(terms(1.0, 100_000, 0.5, 2.38095)),
                "nominal_units",
                "sats at high 420 must be at least 500 for a leveraged contract",
            ),
        ];
        for (t, field, message) in cases {
            let e = error(t);
            assert_eq!(e.to_string(), message);
            assert_eq!(e.field(), field, "{message}");
        }
        // The same terms as a simple hedge keep nothing at high and pass.
        assert!(create(&terms(1.0, 100_000, 0.5, 2.38095)).is_ok());
    }

    #[test]
    fn leveraged_contract_with_nothing_at_high_is_refused() {
        // nXS / high rounds down to 0: a leveraged contract must not pass as a simple one.
        let e = error(leveraged(terms(1.0, 100_000_000, 0.5, 20.0)));
        assert_eq!(e, CreateError::SatsAtHighTooSmall { sats: 0 });
    }

    #[test]
    fn validate_refuses_inconsistent_parameters() {
        let good = create(&leveraged(terms(33379.2, 10944, 0.6345, 4.0))).unwrap();

        let bad = ContractParameters {
            payout_sats: good.payout_sats + 1,
            ..good
        };
        let e = bad.validate().unwrap_err();
        assert_eq!(e.field(), "payout_sats");
        assert_eq!(
            e.to_string(),
            "payout_sats 404441245 does not match nominal_units_x_sats_per_bch / low_price \
             - sats_for_nominal_units_at_high = 404441244"
        );

        let bad = ContractParameters {
            short_input_sats: good.short_input_sats - 1,
            long_input_sats: good.long_input_sats + 1,
            ..good
        };
        assert_eq!(bad.validate().unwrap_err().field(), "short_input_sats");

        let bad = ContractParameters {
            long_input_sats: good.long_input_sats - 1,
            ..good
        };
        assert_eq!(bad.validate().unwrap_err().field(), "long_input_sats");

        let bad = ContractParameters {
            sats_for_nominal_units_at_high: 5,
            ..good
        };
        assert_eq!(
            bad.validate().unwrap_err(),
            CreateError::SatsAtHighMismatch {
                actual: 5,
                leveraged: 76_250_000
            }
        );

        let bad = ContractParameters {
            low_price: 0,
            ..good
        };
        assert_eq!(bad.validate(), Err(CreateError::LowBelowOne { low: 0 }));

        let bad = ContractParameters {
            high_price: good.start_price,
            ..good
        };
        assert!(matches!(
            bad.validate(),
            Err(CreateError::HighNotAboveStart { .. })
        ));

        let bad = ContractParameters {
            high_price: u32::MAX,
            ..good
        };
        assert_eq!(
            bad.validate(),
            Err(CreateError::HighAboveOracleRange {
                high: u64::from(u32::MAX)
            })
        );

        let bad = ContractParameters {
            start_price: 0,
            ..good
        };
        assert_eq!(bad.validate(), Err(CreateError::StartPriceZero));
    }

    #[test]
    fn validate_checks_the_bounds_of_consistent_parameters() {
        // Internally consistent, but below dust: 1e8 / 111111 = 900.
        let p = ContractParameters {
            start_price: 222_222,
            low_price: 111_111,
            high_price: 444_444,
            nominal_units_x_sats_per_bch: 100_000_000,
            sats_for_nominal_units_at_high: 0,
            payout_sats: 900,
            short_input_sats: 450,
            long_input_sats: 450,
        };
        assert_eq!(
            p.validate(),
            Err(CreateError::PayoutBelowDust { payout: 900 })
        );
        let p = ContractParameters {
            nominal_units_x_sats_per_bch: 99_999_999,
            ..p
        };
        assert_eq!(
            p.validate(),
            Err(CreateError::NominalTooSmall { value: 99_999_999 })
        );
    }
}
