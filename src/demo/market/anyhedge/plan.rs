//! What the AnyHedge actor draws from its seeded generator: the pause between rounds and
//! each round's terms (who makes the offer, on which side, how much, for how long, how close
//! to the money), and the amounts a counterparty or an early maturation works out to.

use std::time::Duration;

use rand::RngExt;

use crate::anyhedge::chain::{Params, Side};
use crate::anyhedge::math::ContractParameters;

/// Pause between two rounds, seconds (inclusive).
pub const GAP_SECS: (u64, u64) = (20, 40);
/// A contract's life, seconds (inclusive): short enough to mature within the first act.
pub const DURATION_SECS: (u64, u64) = (60, 120);
/// The first round's low multiplier, per mille: the scripted 13% fall at 40 s (five
/// compounding 2.8% steps) takes the price below it.
pub const FIRST_LOW_PERMILLE: (u32, u32) = (900, 920);
/// A later round near the money: a 5–12% shock can liquidate it.
pub const NEAR_LOW_PERMILLE: (u32, u32) = (880, 930);
/// A high multiplier the scripted 15% rise at 110 s crosses, per mille.
pub const NEAR_HIGH_PERMILLE: (u32, u32) = (1_100, 1_140);
/// The short's input, in sats: 0.1 to 1.5 BCH, in steps of 0.01.
pub const SHORT_SATS: (u64, u64) = (10_000_000, 150_000_000);
const SATS_STEP: u64 = 1_000_000;

/// One round: an offer by `maker`, taken by the other wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// 0 or 1: which of the actor's two wallets makes the offer.
    pub maker: usize,
    /// The maker's side.
    pub side: Side,
    /// What the maker offers: its own input in sats.
    pub satoshis: u64,
    pub duration_secs: u64,
    pub low_permille: u32,
    pub high_permille: u32,
}

impl Round {
    pub fn taker(&self) -> usize {
        1 - self.maker
    }

    /// What the taker asks for in `find_match`: its own input, estimated as the desk does.
    pub fn taker_satoshis(&self) -> u64 {
        counterparty_sats(self.side, self.satoshis, self.low_permille)
    }
}

/// The pause before the next round.
pub fn gap(rng: &mut impl rand::Rng) -> Duration {
    Duration::from_secs(rng.random_range(GAP_SECS.0..=GAP_SECS.1))
}

/// The next round's terms. The first is near the money so the scripted fall liquidates it.
pub fn draw(rng: &mut impl rand::Rng, first: bool) -> Round {
    let maker = usize::from(rng.random_bool(0.5));
    let side = if rng.random_bool(0.5) {
        Side::Short
    } else {
        Side::Long
    };
    let short_sats =
        rng.random_range(SHORT_SATS.0 / SATS_STEP..=SHORT_SATS.1 / SATS_STEP) * SATS_STEP;
    let duration_secs = rng.random_range(DURATION_SECS.0..=DURATION_SECS.1);
    let low_permille = if first {
        rng.random_range(FIRST_LOW_PERMILLE.0..=FIRST_LOW_PERMILLE.1)
    } else if rng.random_ratio(1, 3) {
        rng.random_range(NEAR_LOW_PERMILLE.0..=NEAR_LOW_PERMILLE.1)
    } else {
        rng.random_range(50..=80) * 10
    };
    let high_permille = if !first && rng.random_ratio(1, 4) {
        rng.random_range(NEAR_HIGH_PERMILLE.0..=NEAR_HIGH_PERMILLE.1)
    } else {
        rng.random_range(6..=16) * 250
    };
    let satoshis = match side {
        Side::Short => short_sats,
        Side::Long => counterparty_sats(Side::Short, short_sats, low_permille),
    };
    Round {
        maker,
        side,
        satoshis,
        duration_secs,
        low_permille,
        high_permille,
    }
}

/// A multiplier as the API takes it (`900` → `0.9`).
pub fn multiplier(permille: u32) -> f64 {
    f64::from(permille) / 1_000.0
}

/// The counterparty's input for `sats` on `side` at a low multiplier of `low_permille`: a
/// short of `s` pairs with a long of `s·(1/low − 1)`, a long of `l` with a short of
/// `l/(1/low − 1)` (what the desk's `find_match` estimates, within a sat).
pub fn counterparty_sats(side: Side, sats: u64, low_permille: u32) -> u64 {
    let low = u128::from(low_permille.clamp(1, 999));
    let sats = u128::from(sats);
    let out = match side {
        Side::Short => sats * (1_000 - low) / low,
        Side::Long => sats * low / (1_000 - low),
    };
    u64::try_from(out).unwrap_or(u64::MAX)
}

/// The payouts `(short, long)` of an early maturation at `price`, which the contract only
/// takes strictly between its liquidation prices.
pub fn early_maturation(params: &Params, price: u32) -> Option<(u64, u64)> {
    if price <= params.lowPrice || price >= params.highPrice {
        return None;
    }
    let payout = ContractParameters {
        start_price: params.startPrice,
        low_price: params.lowPrice,
        high_price: params.highPrice,
        nominal_units_x_sats_per_bch: params.nominalUnitsXSatsPerBch,
        sats_for_nominal_units_at_high: params.satsForNominalUnitsAtHigh,
        payout_sats: params.payoutSats,
        short_input_sats: params.shortInputSats,
        long_input_sats: params.longInputSats,
    }
    .settle(price);
    Some((payout.short_sats, payout.long_sats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anyhedge::math::{ContractTerms, create};
    use alloy::primitives::Address;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn counterparty_amounts_follow_the_low_multiplier() {
        assert_eq!(counterparty_sats(Side::Short, 30_000_000, 750), 10_000_000);
        assert_eq!(counterparty_sats(Side::Long, 10_000_000, 750), 30_000_000);
        assert_eq!(counterparty_sats(Side::Short, 90_000_000, 900), 10_000_000);
        assert_eq!(counterparty_sats(Side::Long, 10_000_000, 900), 90_000_000);
        assert_eq!(counterparty_sats(Side::Short, 50_000_000, 500), 50_000_000);
        // Rounded down: 1e8 · 120 / 880.
        assert_eq!(counterparty_sats(Side::Short, 100_000_000, 880), 13_636_363);
    }

    #[test]
    fn the_estimate_is_within_a_sat_of_the_desks() {
        for (side, sats, low) in [
            (Side::Short, 123_456_789, 913),
            (Side::Long, 7_654_321, 883),
            (Side::Short, 10_000_000, 650),
        ] {
            let ours = counterparty_sats(side, sats, low) as f64;
            let desks =
                crate::anyhedge::offers::matching::counterparty_sats(side, sats, multiplier(low));
            assert!((ours - desks).abs() <= 1.0, "{ours} vs {desks}");
        }
    }

    #[test]
    fn multipliers_are_the_literals_a_wallet_would_type() {
        assert_eq!(multiplier(900), 0.9);
        assert_eq!(multiplier(1_125), 1.125);
        assert_eq!(multiplier(880), 0.88);
    }

    #[test]
    fn rounds_are_replayed_by_the_seed_and_stay_in_bounds() {
        let run = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..200)
                .map(|i| (draw(&mut rng, i == 0), gap(&mut rng)))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
        for (i, (round, gap)) in run(1).into_iter().enumerate() {
            assert!((20..=40).contains(&gap.as_secs()));
            assert!((60..=120).contains(&round.duration_secs));
            assert!(round.maker < 2 && round.taker() == 1 - round.maker);
            assert!(round.low_permille >= 500 && round.low_permille <= 930);
            assert!(round.high_permille >= 1_100 && round.high_permille <= 4_000);
            let short = match round.side {
                Side::Short => round.satoshis,
                Side::Long => round.taker_satoshis(),
            };
            assert!(
                (SHORT_SATS.0 - 1_000..=SHORT_SATS.1).contains(&short),
                "{round:?}"
            );
            if i == 0 {
                assert!((900..=920).contains(&round.low_permille), "{round:?}");
                assert!(round.high_permille >= 1_500, "{round:?}");
            }
        }
    }

    #[test]
    fn the_first_round_is_liquidated_by_the_scripted_fall() {
        // The script's fall (prices.rs): -1,400 bps over five ticks, from 300.00 USD.
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut walk = crate::demo::market::prices::Walk::new(30_000, 0);
        walk.shock(-1_400, 5);
        let fallen = (0..5).map(|_| walk.step(&mut rng)).last().unwrap();
        assert_eq!(fallen, 26_027);
        let low = 30_000 * i64::from(FIRST_LOW_PERMILLE.0) / 1_000;
        // Still liquidated after the walk drifted 3.5% up before the fall.
        assert!(fallen * 10_350 / 10_000 < low, "{fallen} vs {low}");
    }

    fn params(start: u32, low: f64, high: f64, short_sats: u64) -> Params {
        let p = create(&ContractTerms {
            nominal_units: short_sats as f64 * f64::from(start) / 1e8,
            start_price: start,
            low_mult: low,
            high_mult: high,
            leveraged: false,
        })
        .unwrap();
        Params {
            collateral: Address::ZERO,
            oracle: Address::ZERO,
            shortParty: Address::ZERO,
            longParty: Address::ZERO,
            startTimestamp: 0,
            maturityTimestamp: 90,
            startPrice: p.start_price,
            lowPrice: p.low_price,
            highPrice: p.high_price,
            nominalUnitsXSatsPerBch: p.nominal_units_x_sats_per_bch,
            satsForNominalUnitsAtHigh: p.sats_for_nominal_units_at_high,
            payoutSats: p.payout_sats,
            shortInputSats: p.short_input_sats,
            longInputSats: p.long_input_sats,
        }
    }

    #[test]
    fn an_early_maturation_pays_the_settlement_split_inside_the_bounds() {
        let p = params(10_944, 0.6345, 4.0, 305_000_000);
        assert_eq!(p.nominalUnitsXSatsPerBch, 3_337_920_000_000);
        assert_eq!(p.payoutSats, 480_691_244);
        // 3,337,920,000,000 / 11,500 = 290,253,913; the long gets the rest of the payout.
        assert_eq!(
            early_maturation(&p, 11_500),
            Some((290_253_913, 190_437_331))
        );
        assert_eq!(early_maturation(&p, p.lowPrice), None);
        assert_eq!(early_maturation(&p, p.highPrice), None);
        assert_eq!(early_maturation(&p, 1), None);
    }
}
