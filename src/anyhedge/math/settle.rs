//! Payouts at an oracle price, at maturity or on liquidation.

use serde::Serialize;

use super::{ContractParameters, DUST};

/// What each side gets at a price. The long also gets back the DUST it posted on top of its
/// input when the contract holds `payout_sats + DUST`; that is the caller's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Payout {
    /// The price clamped into `[low_price, high_price]`.
    pub clamped_price: u32,
    pub short_sats: u64,
    pub long_sats: u64,
}

impl ContractParameters {
    /// The payouts at `price` (oracle units per BCH). Both sides get at least [`DUST`], so
    /// `short_sats + long_sats` is at most `payout_sats + DUST`.
    pub fn settle(&self, price: u32) -> Payout {
        let clamped = price.min(self.high_price).max(self.low_price);
        // Only an unvalidated parameter set can have a zero low price; it must not panic here.
        let divisor = u64::from(clamped.max(1));
        let short_sats = (self.nominal_units_x_sats_per_bch / divisor)
            .saturating_sub(self.sats_for_nominal_units_at_high)
            .max(DUST);
        let long_sats = self.payout_sats.saturating_sub(short_sats).max(DUST);
        Payout {
            clamped_price: clamped,
            short_sats,
            long_sats,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anyhedge::math::{ContractTerms, create};

    fn example(leveraged: bool) -> ContractParameters {
        create(&ContractTerms {
            nominal_units: 33379.2,
            start_price: 10944,
            low_mult: 0.6345,
            high_mult: 4.0,
            leveraged,
        })
        .unwrap()
    }

    /// The reference tests' $100 contract (see contract.rs): start 200_00, low 155_56, high
    /// 366_67 when leveraged, else 10 × start.
    fn reference(leveraged: bool) -> ContractParameters {
        create(&ContractTerms {
            nominal_units: 10_000.0,
            start_price: 20_000,
            low_mult: 1.0 - 1.0 / 4.5,
            high_mult: if leveraged {
                1.0 + 1.0 / (2.2 - 1.0)
            } else {
                10.0
            },
            leveraged,
        })
        .unwrap()
    }

    fn payout(clamped_price: u32, short_sats: u64, long_sats: u64) -> Payout {
        Payout {
            clamped_price,
            short_sats,
            long_sats,
        }
    }

    #[test]
    fn example_settles_at_12000() {
        assert_eq!(
            example(false).settle(12000),
            payout(12000, 278_160_000, 202_531_244)
        );
    }

    #[test]
    fn liquidation_at_or_below_low_pays_the_short_everything() {
        let p = example(false);
        let at_low = payout(6944, 480_691_244, DUST);
        assert_eq!(p.settle(6944), at_low);
        assert_eq!(p.settle(6000), at_low);
        assert_eq!(p.settle(1), at_low);
        assert_eq!(p.settle(0), at_low);
    }

    #[test]
    fn at_or_above_high_the_price_is_clamped() {
        let p = example(false);
        // 3337920000000 / 43776 = 76_250_000 exactly.
        let at_high = payout(43776, 76_250_000, 480_691_244 - 76_250_000);
        assert_eq!(p.settle(43776), at_high);
        assert_eq!(p.settle(50_000), at_high);
        assert_eq!(p.settle(u32::MAX), at_high);
    }

    /// Reference tests' redemption at 220_00: short 45_454_545 as a pure hedge and
    /// 18_182_066 as a leveraged short; the long gets 18_829_332 either way.
    #[test]
    fn reference_redemption_at_22000() {
        assert_eq!(
            reference(false).settle(22_000),
            payout(22_000, 45_454_545, 18_829_332)
        );
        assert_eq!(
            reference(true).settle(22_000),
            payout(22_000, 18_182_066, 18_829_332)
        );
    }

    #[test]
    fn leveraged_liquidations() {
        let p = reference(true);
        // At low the short takes the whole payout.
        assert_eq!(p.settle(15_556), payout(15_556, 37_011_398, DUST));
        assert_eq!(p.settle(100), payout(15_556, 37_011_398, DUST));
        // At high the short's raw payout is 0: it gets DUST, the long the rest.
        let at_high = payout(36_667, DUST, 37_011_398 - DUST);
        assert_eq!(p.settle(36_667), at_high);
        assert_eq!(p.settle(1_000_000), at_high);
    }

    #[test]
    fn leveraged_example_settles() {
        // By hand: 3337920000000 / 12000 − 76_250_000 = 201_910_000; 404_441_244 − that.
        assert_eq!(
            example(true).settle(12000),
            payout(12000, 201_910_000, 202_531_244)
        );
    }

    #[test]
    fn unvalidated_zero_prices_do_not_panic() {
        let p = ContractParameters {
            low_price: 0,
            ..example(false)
        };
        let out = p.settle(0);
        assert_eq!(out.clamped_price, 0);
        assert_eq!(out.long_sats, DUST);
    }
}
