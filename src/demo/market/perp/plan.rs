//! The perp actor's choices, pure: how big the anchor position is so that a move of
//! [`TRIGGER_BPS`] against the vault pushes its PnL to the shield (the desk's three flags),
//! when the anchor is rolled, and what the traders do next. Amounts are whole USDC.

use rand::RngExt;

/// One whole USDC in base units.
pub const USDC: u64 = 1_000_000;
/// The shield the actor draws DePerp's (seeded 100,000 USDC) down to, so that a flagging
/// position is a 10x one the vault can take the other side of.
pub const SHIELD_USDC: u64 = 50_000;
/// A move of this many bps against the vault takes the anchor's PnL to the shield: the
/// scripted 14% fall (about 13.2% once compounded) clears it by far and crosses it on its
/// third second, and the walk's drift over the first act (under 1%) cannot.
pub const TRIGGER_BPS: u64 = 700;
/// The anchor is opened this many seconds after the market starts (one draw).
pub const ANCHOR_AT: (u64, u64) = (10, 25);
/// The first roll: after the scripted recovery's hedge close (about 135–150 s).
pub const FIRST_ROLL_AT: (u64, u64) = (175, 200);
/// Seconds between later rolls.
pub const ROLL_EVERY: (u64, u64) = (100, 160);
/// Seconds between two trades.
pub const TRADE_EVERY: (u64, u64) = (20, 40);
/// Traders' positions open at once, the anchor aside.
pub const MAX_OPEN: usize = 4;
/// A trade's notional, whole USDC, in steps of [`SIZE_STEP`].
pub const SIZE_RANGE: (u64, u64) = (5_000, 50_000);
pub const SIZE_STEP: u64 = 1_000;
/// Leverage of a trade.
pub const LEVERAGE: (u64, u64) = (2, 20);
/// The anchor's leverage.
pub const ANCHOR_LEVERAGE: u64 = 10;

/// The dev account of the anchor's trader.
pub const ANCHOR_TRADER: usize = 14;
/// The dev accounts that trade.
pub const TRADERS: [usize; 2] = [14, 15];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerpMarket {
    Btc,
    Eth,
}

impl PerpMarket {
    /// DePerp's market name.
    pub fn name(self) -> &'static str {
        match self {
            PerpMarket::Btc => "BTC-USD",
            PerpMarket::Eth => "ETH-USD",
        }
    }

    fn draw(rng: &mut impl rand::Rng) -> PerpMarket {
        if rng.random_bool(0.5) {
            PerpMarket::Btc
        } else {
            PerpMarket::Eth
        }
    }
}

/// A position to open (its entry price and time are the market's when it is sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade {
    pub trader: usize,
    pub market: PerpMarket,
    pub is_long: bool,
    /// Notional, whole USDC.
    pub size: u64,
    pub leverage: u64,
}

impl Trade {
    /// Collateral, whole USDC (the notional over the leverage, rounded down).
    pub fn collateral(&self) -> u64 {
        self.size / self.leverage.max(1)
    }
}

/// What the traders do next, with indexes into the open trades given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Open(Trade),
    Close(usize),
    /// A new notional (whole USDC) at the same leverage.
    Resize {
        index: usize,
        size: u64,
    },
}

/// The anchor's notional, whole USDC: a move of `trigger_bps` takes its PnL to `shield`,
/// rounded down to [`SIZE_STEP`] (so it takes a little more than `trigger_bps`).
pub fn anchor_size(shield: u64, trigger_bps: u64) -> u64 {
    let exact = shield.saturating_mul(10_000) / trigger_bps.max(1);
    exact / SIZE_STEP * SIZE_STEP
}

/// The first anchor: short BTC-USD, so the scripted fall is what flags it.
pub fn first_anchor() -> Trade {
    Trade {
        trader: ANCHOR_TRADER,
        market: PerpMarket::Btc,
        is_long: false,
        size: anchor_size(SHIELD_USDC, TRIGGER_BPS),
        leverage: ANCHOR_LEVERAGE,
    }
}

/// A rolled anchor: the same size on a market and side drawn, so a large enough shock
/// in that direction flags it again.
pub fn rolled_anchor(rng: &mut impl rand::Rng) -> Trade {
    let market = PerpMarket::draw(rng);
    Trade {
        is_long: rng.random_bool(0.5),
        market,
        ..first_anchor()
    }
}

/// A whole number of seconds in `range` (both ends included).
pub fn draw_secs(rng: &mut impl rand::Rng, range: (u64, u64)) -> u64 {
    rng.random_range(range.0..=range.1)
}

/// When the anchor is rolled next, after a roll at `last` (seconds since the start): the
/// first roll waits for the scripted act's hedge to close.
pub fn next_roll_at(rng: &mut impl rand::Rng, last: u64) -> u64 {
    if last < FIRST_ROLL_AT.0 {
        draw_secs(rng, FIRST_ROLL_AT)
    } else {
        last + draw_secs(rng, ROLL_EVERY)
    }
}

/// The traders' next step given their trades open now, in order: open when none is,
/// close or resize when [`MAX_OPEN`] are, else open a little more often than not.
pub fn next_step(rng: &mut impl rand::Rng, open: &[Trade]) -> Step {
    let roll = rng.random_range(0u32..100);
    let open_now = open.is_empty() || (open.len() < MAX_OPEN && roll < 55);
    if open_now {
        let steps = (SIZE_RANGE.1 - SIZE_RANGE.0) / SIZE_STEP;
        return Step::Open(Trade {
            trader: TRADERS[rng.random_range(0..TRADERS.len())],
            market: PerpMarket::draw(rng),
            is_long: rng.random_bool(0.5),
            size: SIZE_RANGE.0 + rng.random_range(0..=steps) * SIZE_STEP,
            leverage: rng.random_range(LEVERAGE.0..=LEVERAGE.1),
        });
    }
    let index = rng.random_range(0..open.len());
    if roll.is_multiple_of(4) {
        // Halved to one and a half times, in whole steps, within the trade's range.
        let percent = rng.random_range(50u64..=150);
        let size = (open[index].size * percent / 100 / SIZE_STEP * SIZE_STEP)
            .clamp(SIZE_RANGE.0, SIZE_RANGE.1 * 3 / 2);
        Step::Resize { index, size }
    } else {
        Step::Close(index)
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::perp::risk::{RiskFactors, evaluate_flags, price_pnl};

    #[test]
    fn the_anchor_reaches_the_shield_on_a_seven_percent_move() {
        assert_eq!(anchor_size(50_000, 700), 714_000);
        assert_eq!(anchor_size(100_000, 700), 1_428_000);
        assert_eq!(anchor_size(50_000, 0), 500_000_000);
        let anchor = first_anchor();
        assert_eq!(
            (anchor.trader, anchor.market.name(), anchor.is_long),
            (14, "BTC-USD", false)
        );
        assert_eq!((anchor.size, anchor.collateral()), (714_000, 71_400));
    }

    /// The anchor's flags along the scripted first act: 60,000 falling 280 bps a second for
    /// five seconds, then rising 300 bps a second for five (prices.rs's compounding).
    #[test]
    fn the_scripted_fall_flags_the_anchor_and_the_recovery_clears_it() {
        let anchor = first_anchor();
        let entry = 6_000_000_000_000i64;
        let flagged = |price: i64| {
            let pnl = price_pnl(
                anchor.is_long,
                U256::from(anchor.size * USDC),
                U256::from(entry as u64),
                U256::from(price as u64),
            )
            .unwrap();
            evaluate_flags(
                U256::from(1_000_000 * USDC),
                U256::from(SHIELD_USDC * USDC),
                pnl,
                6,
                &RiskFactors::default(),
            )
            .unwrap()
            .any()
        };
        let mut price = entry;
        let mut path = Vec::new();
        for bps in [-280; 5].into_iter().chain([300; 5]) {
            price = price * (10_000 + bps) / 10_000;
            path.push(flagged(price));
        }
        assert_eq!(
            path,
            [
                false, false, true, true, true, true, true, false, false, false
            ]
        );
        // Even if the walk had drifted 1% up before the fall, the bottom still flags; 1%
        // further down after the recovery still clears.
        assert!(flagged(entry * 101 / 100 * 8_676 / 10_000));
        assert!(!flagged(entry * 99 / 100));
    }

    #[test]
    fn steps_are_replayed_by_the_seed_and_stay_bounded() {
        let run = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut open: Vec<Trade> = Vec::new();
            let mut steps = Vec::new();
            for _ in 0..400 {
                let step = next_step(&mut rng, &open);
                match step {
                    Step::Open(trade) => open.push(trade),
                    Step::Close(i) => {
                        open.remove(i);
                    }
                    Step::Resize { index, size } => open[index].size = size,
                }
                assert!(open.len() <= MAX_OPEN);
                steps.push(step);
            }
            steps
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
        let steps = run(1);
        for step in &steps {
            match step {
                Step::Open(t) => {
                    assert!((SIZE_RANGE.0..=SIZE_RANGE.1).contains(&t.size));
                    assert_eq!(t.size % SIZE_STEP, 0);
                    assert!((LEVERAGE.0..=LEVERAGE.1).contains(&t.leverage));
                    assert!(TRADERS.contains(&t.trader));
                    assert!(t.collateral() * t.leverage <= t.size);
                }
                Step::Resize { size, .. } => {
                    assert!((SIZE_RANGE.0..=SIZE_RANGE.1 * 3 / 2).contains(size));
                }
                Step::Close(_) => {}
            }
        }
        let kinds = |f: fn(&Step) -> bool| steps.iter().filter(|s| f(s)).count();
        assert!(kinds(|s| matches!(s, Step::Open(_))) > 100);
        assert!(kinds(|s| matches!(s, Step::Close(_))) > 50);
        assert!(kinds(|s| matches!(s, Step::Resize { .. })) > 10);
    }

    #[test]
    fn the_first_step_opens_and_a_full_book_never_opens() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..50 {
            assert!(matches!(next_step(&mut rng, &[]), Step::Open(_)));
        }
        let full = [first_anchor(); MAX_OPEN];
        for _ in 0..200 {
            assert!(!matches!(next_step(&mut rng, &full), Step::Open(_)));
        }
    }

    #[test]
    fn rolls_wait_for_the_first_act_then_come_every_two_minutes_or_so() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..100 {
            let first = next_roll_at(&mut rng, 20);
            assert!((175..=200).contains(&first), "{first}");
            let next = next_roll_at(&mut rng, first);
            assert!((first + 100..=first + 160).contains(&next), "{next}");
            let anchor = rolled_anchor(&mut rng);
            assert_eq!(
                (anchor.trader, anchor.size, anchor.leverage),
                (14, 714_000, 10)
            );
        }
        let mut a = ChaCha8Rng::seed_from_u64(5);
        let mut b = ChaCha8Rng::seed_from_u64(5);
        assert_eq!(rolled_anchor(&mut a), rolled_anchor(&mut b));
    }

    #[test]
    fn a_trade_keeps_its_collateral_below_its_notional() {
        let t = Trade {
            trader: 15,
            market: PerpMarket::Eth,
            is_long: true,
            size: 37_000,
            leverage: 7,
        };
        assert_eq!(t.collateral(), 5_285);
        assert_eq!(t.market.name(), "ETH-USD");
    }
}
