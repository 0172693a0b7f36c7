//! The margin actor's choices, as pure functions of its generator: who borrows what at
//! which leverage, when, and what a borrower does next. Leverage is in tenths (`95` is
//! 9.5×): a loan of `(leverage − 1) × collateral value`, so a long wholly in the collateral
//! asset is underwater once its price falls by more than `1 / leverage`.

use std::time::Duration;

use alloy::primitives::U256;
use rand::RngExt;

/// Dev account of the lender of the actor's own order.
pub const LENDER: usize = 11;
/// Dev accounts that borrow.
pub const BORROWERS: [usize; 2] = [12, 13];
/// The actor's order lends at up to this leverage. The seeded order's 5× survives the
/// scripted 13% fall (its longs need a fall of 20%); 10× lets a long be sized to sink in it.
pub const ORDER_LEVERAGE: u8 = 10;
/// Our open positions at most (with the three seeded ones, at most 27 in the module).
pub const MAX_OPEN: usize = 24;
/// The seeded order's leverage, and the highest the actor borrows at on it (tenths).
pub const SEEDED_ORDER_MAX_TENTHS: u32 = 45;

/// A collateral both orders accept, by its index in their collateral lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asset {
    Weth,
    Wbtc,
}

impl Asset {
    pub fn deployment(self) -> &'static str {
        match self {
            Asset::Weth => "token.weth",
            Asset::Wbtc => "token.wbtc",
        }
    }

    pub fn decimals(self) -> u8 {
        match self {
            Asset::Weth => 18,
            Asset::Wbtc => 8,
        }
    }

    /// Its index in the orders' collaterals (`[weth, wbtc]`, as the seeded order has them).
    pub fn collateral_idx(self) -> usize {
        match self {
            Asset::Weth => 0,
            Asset::Wbtc => 1,
        }
    }
}

/// A new loan: `collateral_amount` base units of `collateral` at `leverage_tenths`, and
/// `buy_pct` percent of the loan traded at once into the collateral asset (a long).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Borrow {
    pub borrower: usize,
    /// On the actor's own order (else the seeded order 0).
    pub own_order: bool,
    pub collateral: Asset,
    pub collateral_amount: U256,
    pub leverage_tenths: u32,
    pub buy_pct: u32,
}

/// The scripted longs, opened before the fall at 40 s: each needs a fall of about 10.5% and
/// 11.1% to sink, the script's is 13.2% (2.8% five times, compounded).
pub fn opening_longs() -> [Borrow; 2] {
    [
        Borrow {
            borrower: BORROWERS[0],
            own_order: true,
            collateral: Asset::Weth,
            collateral_amount: U256::from(10u64).pow(U256::from(18u8)),
            leverage_tenths: 95,
            buy_pct: 100,
        },
        Borrow {
            borrower: BORROWERS[1],
            own_order: true,
            collateral: Asset::Wbtc,
            collateral_amount: U256::from(5_000_000u64),
            leverage_tenths: 90,
            buy_pct: 100,
        },
    ]
}

/// Seconds since the market started at which the two opening longs are taken: the first
/// between 10 and 15 s, the second 4 to 8 s later (both well before the fall at 40 s).
pub fn opening_times(rng: &mut impl rand::Rng) -> [u64; 2] {
    let first = rng.random_range(10..=15);
    [first, first + rng.random_range(4..=8)]
}

/// The loan that `collateral_value` (in the base asset) backs at `leverage_tenths`.
pub fn loan_for(collateral_value: U256, leverage_tenths: u32) -> U256 {
    collateral_value * U256::from(leverage_tenths.saturating_sub(10)) / U256::from(10u8)
}

/// Whether a long at `leverage_tenths`, wholly in its collateral asset, is underwater after
/// that asset falls by `fall_bps`: `(1 − f) · lev < lev − 1`.
pub fn underwater_after(leverage_tenths: u32, fall_bps: u32) -> bool {
    let lev = u64::from(leverage_tenths);
    u64::from(10_000u32.saturating_sub(fall_bps)) * lev < lev.saturating_sub(10) * 10_000
}

/// The wait before a borrower's next move: 15 to 30 s.
pub fn next_delay(rng: &mut impl rand::Rng) -> Duration {
    Duration::from_secs(rng.random_range(15..=30))
}

/// A borrower's next move. `pick` chooses among the actor's open positions at the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Borrow(Borrow),
    /// Sells `pct` percent of one holding of a position for another asset.
    Trade {
        pick: u64,
        pct: u32,
        to_base: bool,
    },
    /// Repays a position and takes what is left out.
    Close {
        pick: u64,
    },
    Idle,
}

/// What happens next, with `open` of the actor's positions open.
pub fn choose(rng: &mut impl rand::Rng, open: usize) -> Step {
    let roll = rng.random_range(0..100u32);
    let pick = rng.random_range(0..u64::MAX);
    if open == 0 {
        return if roll < 70 {
            Step::Borrow(borrow(rng))
        } else {
            Step::Idle
        };
    }
    let trade = Step::Trade {
        pick,
        pct: rng.random_range(10..=50),
        to_base: rng.random_ratio(7, 10),
    };
    if open >= MAX_OPEN {
        return match roll {
            0..50 => Step::Close { pick },
            50..80 => trade,
            _ => Step::Idle,
        };
    }
    match roll {
        0..40 => Step::Borrow(borrow(rng)),
        40..70 => trade,
        70..80 => Step::Close { pick },
        _ => Step::Idle,
    }
}

/// A modest loan: 0.2–2 WETH or 0.01–0.1 WBTC of collateral; 2–9.5× on the actor's order
/// (the high end sinks in a large shock), 1.5–4.5× on the seeded one.
fn borrow(rng: &mut impl rand::Rng) -> Borrow {
    let borrower = BORROWERS[rng.random_range(0..BORROWERS.len())];
    let own_order = rng.random_ratio(7, 10);
    let (collateral, collateral_amount) = if rng.random_bool(0.5) {
        let tenths = rng.random_range(2..=20u64);
        (
            Asset::Weth,
            U256::from(tenths) * U256::from(10u64).pow(U256::from(17u8)),
        )
    } else {
        let hundredths = rng.random_range(1..=10u64);
        (Asset::Wbtc, U256::from(hundredths * 1_000_000))
    };
    let leverage_tenths = if own_order {
        rng.random_range(20..=95)
    } else {
        rng.random_range(15..=SEEDED_ORDER_MAX_TENTHS)
    };
    Borrow {
        borrower,
        own_order,
        collateral,
        collateral_amount,
        leverage_tenths,
        buy_pct: rng.random_range(50..=100),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// The script's fall: −280 bps five times, compounded (prices.rs).
    const SCRIPTED_FALL_BPS: u32 = 1_324;

    #[test]
    fn the_opening_longs_sink_in_the_scripted_fall_and_the_seeded_order_cannot() {
        for long in opening_longs() {
            assert!(underwater_after(long.leverage_tenths, SCRIPTED_FALL_BPS));
            // Even after a 1.5% drift up before the fall.
            assert!(underwater_after(
                long.leverage_tenths,
                SCRIPTED_FALL_BPS - 150
            ));
            assert!(long.leverage_tenths < u32::from(ORDER_LEVERAGE) * 10);
        }
        // 5×: value 5c·(1 − f) against a debt of 4c needs f > 20%.
        assert!(!underwater_after(50, SCRIPTED_FALL_BPS));
        assert!(!underwater_after(50, 2_000));
        assert!(underwater_after(50, 2_001));
        // The seeded 8,000 USDC long on 1 WETH at 3,000: 11/3 ≈ 3.67×, needs 27%.
        assert!(!underwater_after(37, SCRIPTED_FALL_BPS));
    }

    #[test]
    fn a_loan_is_leverage_minus_one_times_the_collateral() {
        // 1 WETH at 3,000 USDC (6 decimals), 9.5×: 25,500 USDC.
        assert_eq!(
            loan_for(U256::from(3_000_000_000u64), 95),
            U256::from(25_500_000_000u64)
        );
        // 0.05 WBTC at 60,000: 3,000 USDC, 9×: 24,000 USDC.
        assert_eq!(
            loan_for(U256::from(3_000_000_000u64), 90),
            U256::from(24_000_000_000u64)
        );
        assert_eq!(loan_for(U256::from(1_000u64), 10), U256::ZERO);
        assert_eq!(loan_for(U256::from(1_000u64), 5), U256::ZERO);
    }

    #[test]
    fn a_loan_fits_its_order_leverage_check() {
        // takeLoan: collateral + loan <= leverage × collateral.
        let value = U256::from(2_999_999_999u64);
        for tenths in [20, 45, 90, 95] {
            let order = if tenths <= SEEDED_ORDER_MAX_TENTHS {
                5u64
            } else {
                10
            };
            assert!(value + loan_for(value, tenths) <= U256::from(order) * value);
        }
    }

    #[test]
    fn the_schedule_is_replayed_by_its_seed_and_stays_in_its_bounds() {
        let run = |seed| {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let times = opening_times(&mut rng);
            let steps: Vec<(Duration, Step)> = (0..200)
                .map(|i| (next_delay(&mut rng), choose(&mut rng, i % 30)))
                .collect();
            (times, steps)
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
        for seed in 0..50 {
            let ([a, b], steps) = run(seed);
            assert!((10..=15).contains(&a) && b > a && b <= 25, "{a} {b}");
            for (i, (delay, step)) in steps.into_iter().enumerate() {
                assert!((15..=30).contains(&delay.as_secs()));
                match step {
                    Step::Borrow(b) => {
                        assert!(i % 30 < MAX_OPEN, "no new loan at the cap");
                        assert!(BORROWERS.contains(&b.borrower));
                        let max = if b.own_order {
                            95
                        } else {
                            SEEDED_ORDER_MAX_TENTHS
                        };
                        assert!((15..=max).contains(&b.leverage_tenths));
                        assert!((50..=100).contains(&b.buy_pct));
                        assert!(!b.collateral_amount.is_zero());
                    }
                    Step::Trade { pct, .. } => assert!((10..=50).contains(&pct)),
                    Step::Close { .. } => assert!(i % 30 > 0),
                    Step::Idle => {}
                }
            }
        }
    }

    /// The generator `MarketContext::rng("margin")` hands the actor for `seed`.
    fn actor_rng(seed: u64) -> rand_chacha::ChaCha8Rng {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        bytes[8..].copy_from_slice(&alloy::primitives::keccak256(b"margin")[..24]);
        rand_chacha::ChaCha8Rng::from_seed(bytes)
    }

    #[test]
    fn the_demo_seeds_open_their_longs_at_known_seconds() {
        assert_eq!(opening_times(&mut actor_rng(1)), [14, 22]);
        assert_eq!(opening_times(&mut actor_rng(2)), [12, 20]);
    }
}
