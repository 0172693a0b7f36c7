//! Properties of the AnyHedge contract arithmetic over random terms, simple and leveraged.

use hedgedesk::anyhedge::math::{ContractParameters, ContractTerms, DUST, create};
use proptest::prelude::*;

/// Terms in the ranges real contracts use; most of them are valid.
fn plausible_terms() -> impl Strategy<Value = ContractTerms> {
    (
        1.0f64..10_000_000.0,
        100u32..10_000_000,
        0.05f64..0.99,
        1.01f64..20.0,
        any::<bool>(),
    )
        .prop_map(
            |(nominal_units, start_price, low_mult, high_mult, leveraged)| ContractTerms {
                nominal_units,
                start_price,
                low_mult,
                high_mult,
                leveraged,
            },
        )
}

/// Anything at all, including NaN, infinities, zero and huge values.
fn wild_terms() -> impl Strategy<Value = ContractTerms> {
    (
        any::<f64>(),
        any::<u32>(),
        any::<f64>(),
        any::<f64>(),
        any::<bool>(),
    )
        .prop_map(
            |(nominal_units, start_price, low_mult, high_mult, leveraged)| ContractTerms {
                nominal_units,
                start_price,
                low_mult,
                high_mult,
                leveraged,
            },
        )
}

fn valid_params() -> impl Strategy<Value = ContractParameters> {
    plausible_terms().prop_filter_map("terms out of bounds", |t| create(&t).ok())
}

/// A price anywhere around the contract's band: below low, inside, above high.
fn price_near(p: &ContractParameters, pick: u64) -> u32 {
    let span = u64::from(p.high_price) * 2;
    (pick % (span + 1)) as u32
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn payouts_never_exceed_what_the_contract_holds(p in valid_params(), pick in any::<u64>()) {
        let price = price_near(&p, pick);
        let out = p.settle(price);
        prop_assert!(out.short_sats + out.long_sats <= p.payout_sats + DUST);
        prop_assert!(out.short_sats >= DUST && out.long_sats >= DUST);
        prop_assert!(out.clamped_price >= p.low_price && out.clamped_price <= p.high_price);
    }

    #[test]
    fn short_falls_and_long_rises_with_price(
        p in valid_params(),
        a in any::<u64>(),
        b in any::<u64>(),
    ) {
        let (x, y) = (price_near(&p, a), price_near(&p, b));
        let (lo, hi) = (x.min(y), x.max(y));
        let (at_lo, at_hi) = (p.settle(lo), p.settle(hi));
        prop_assert!(at_lo.short_sats >= at_hi.short_sats);
        prop_assert!(at_lo.long_sats <= at_hi.long_sats);
    }

    #[test]
    fn extreme_prices_settle_like_the_liquidation_prices(p in valid_params()) {
        prop_assert_eq!(p.settle(0), p.settle(p.low_price));
        prop_assert_eq!(p.settle(u32::MAX), p.settle(p.high_price));
        prop_assert_eq!(p.settle(p.low_price).short_sats, p.payout_sats);
    }

    #[test]
    fn created_parameters_pass_validation(t in plausible_terms()) {
        if let Ok(p) = create(&t) {
            prop_assert_eq!(p.validate(), Ok(()));
            prop_assert_eq!(p.is_leveraged(), t.leveraged);
            prop_assert_eq!(p.short_input_sats + p.long_input_sats, p.payout_sats);
        }
    }

    #[test]
    fn any_terms_are_refused_or_valid(t in wild_terms()) {
        match create(&t) {
            Ok(p) => prop_assert_eq!(p.validate(), Ok(())),
            Err(e) => prop_assert!(!e.to_string().is_empty() && !e.field().is_empty()),
        }
    }
}

#[test]
fn plausible_terms_are_mostly_valid() {
    // Guards the properties above against passing vacuously on filtered-out terms.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = plausible_terms();
    let valid = (0..1000)
        .filter(|_| {
            let t = strategy.new_tree(&mut runner).unwrap().current();
            create(&t).is_ok()
        })
        .count();
    assert!(
        valid > 500,
        "only {valid} of 1000 plausible terms were valid"
    );
}
