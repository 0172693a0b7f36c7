//! The bulk load's draws, pure: what each margin loan, DePerp pair and AnyHedge contract
//! looks like. Mostly healthy, a few near the edge: the scripted fall at 40 s (about 13%)
//! sinks the margin longs above 7.6× and the hedges whose low liquidation price is within
//! 13% of the start, and flags the large DePerp pairs' winning side.

use alloy::primitives::U256;
use rand::RngExt;

/// Loans per margin order: the module counts an order's positions in a `uint8`.
pub const LOANS_PER_ORDER: usize = 200;
/// The opening prices the devnet's margin oracle starts at (whole USDC).
pub const ETH_USDC: u64 = 3_000;
pub const BTC_USDC: u64 = 60_000;
const USDC: u64 = 1_000_000;

/// A margin loan's collateral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collateral {
    Weth,
    Wbtc,
}

impl Collateral {
    /// Its index in the bulk orders' collaterals and whitelist slot after USDC.
    pub fn index(self) -> usize {
        match self {
            Collateral::Weth => 0,
            Collateral::Wbtc => 1,
        }
    }
}

/// One loan: `amount` base units of `collateral` at `leverage_tenths`, and `buy_pct` of the
/// loan traded at once into the collateral asset (0: the loan stays in USDC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loan {
    pub collateral: Collateral,
    pub amount: U256,
    /// The collateral's worth in USDC base units at the opening prices.
    pub value: u64,
    pub leverage_tenths: u64,
    pub buy_pct: u64,
}

impl Loan {
    /// The USDC borrowed: `(leverage − 1) × value`.
    pub fn loan(&self) -> u64 {
        self.value * (self.leverage_tenths - 10) / 10
    }
}

/// 75% plain loans (1.5–5×), 20% partial longs (2–5×, 30–80% bought), 4% whole longs at
/// 5.5–7× (a fall of 14–18% sinks them), 1% whole longs at 8.5–9.5× (the fall sinks them).
pub fn loan(rng: &mut impl rand::Rng) -> Loan {
    let (collateral, amount, value) = if rng.random_ratio(3, 5) {
        let hundredths = rng.random_range(10..=300u64);
        (
            Collateral::Weth,
            U256::from(hundredths) * U256::from(10u64).pow(U256::from(16u8)),
            hundredths * ETH_USDC * USDC / 100,
        )
    } else {
        let thousandths = rng.random_range(5..=100u64);
        (
            Collateral::Wbtc,
            U256::from(thousandths * 100_000),
            thousandths * BTC_USDC * USDC / 1_000,
        )
    };
    let (leverage_tenths, buy_pct) = match rng.random_range(0..1_000u32) {
        0..750 => (rng.random_range(15..=50), 0),
        750..950 => (rng.random_range(20..=50), rng.random_range(30..=80)),
        950..990 => (rng.random_range(55..=70), 100),
        _ => (rng.random_range(85..=95), 100),
    };
    Loan {
        collateral,
        amount,
        value,
        leverage_tenths,
        buy_pct,
    }
}

/// A DePerp long and short of the same size, entry and time on one market, opened for two
/// different traders: whatever the price does, their PnLs cancel in the vault's total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerpPair {
    pub btc: bool,
    /// Notional, whole USDC.
    pub size: u64,
    pub leverage: u64,
    /// Entry price off the opening price, in basis points.
    pub entry_offset_bps: i64,
    /// Seconds before now it opened.
    pub age_secs: u64,
}

/// 99% modest pairs ($1k–$200k, 2–50×); 1% pairs of $400k–$600k at 10×, whose winning side's
/// PnL passes the shield on a move of about 10%.
pub fn perp_pair(rng: &mut impl rand::Rng) -> PerpPair {
    let (size, leverage) = if rng.random_ratio(1, 100) {
        (rng.random_range(400..=600u64) * 1_000, 10)
    } else {
        (
            rng.random_range(1..=200u64) * 1_000,
            rng.random_range(2..=50u64),
        )
    };
    PerpPair {
        btc: rng.random_bool(0.5),
        size,
        leverage,
        entry_offset_bps: rng.random_range(-500..=500),
        age_secs: rng.random_range(0..86_400),
    }
}

/// An AnyHedge contract's terms before the start price: the short's input, the liquidation
/// multipliers (percent of the start price) and the duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hedge {
    pub short_sats: u64,
    pub low_pct: u32,
    pub high_pct: u32,
    pub duration_secs: u64,
    pub leveraged: bool,
}

/// 90% run 2–24 h with a low liquidation price 20–50% below the start; 7% mature 4–8 min
/// after the start (during a soak); 3% liquidate on a fall of 9–12%.
pub fn hedge(rng: &mut impl rand::Rng) -> Hedge {
    let (low_pct, duration_secs) = match rng.random_range(0..100u32) {
        0..90 => (rng.random_range(50..=80), rng.random_range(7_200..=86_400)),
        90..97 => (rng.random_range(50..=80), rng.random_range(240..=480)),
        _ => (rng.random_range(88..=91), rng.random_range(7_200..=86_400)),
    };
    Hedge {
        short_sats: rng.random_range(10..=500u64) * 1_000_000,
        low_pct,
        high_pct: rng.random_range(150..=1_000),
        duration_secs,
        leveraged: rng.random_ratio(1, 5),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> rand_chacha::ChaCha8Rng {
        rand_chacha::ChaCha8Rng::seed_from_u64(7)
    }

    #[test]
    fn loans_fit_a_ten_times_order_and_its_minimum() {
        let mut r = rng();
        let loans: Vec<Loan> = (0..10_000).map(|_| loan(&mut r)).collect();
        for l in &loans {
            assert!(l.value + l.loan() <= 10 * l.value, "{l:?}");
            assert!(
                l.loan() >= 100 * USDC,
                "below the orders' minimum loan: {l:?}"
            );
        }
        let sinking = loans.iter().filter(|l| l.leverage_tenths >= 85).count();
        let longs = loans.iter().filter(|l| l.buy_pct > 0).count();
        assert!((50..=150).contains(&sinking), "{sinking}");
        assert!((2_200..=2_800).contains(&longs), "{longs}");
    }

    #[test]
    fn a_few_perp_pairs_are_large() {
        let mut r = rng();
        let large = (0..5_000)
            .filter(|_| perp_pair(&mut r).size >= 400_000)
            .count();
        assert!((20..=80).contains(&large), "{large}");
    }

    #[test]
    fn hedges_mix_long_dated_maturing_and_near_the_edge() {
        let mut r = rng();
        let hedges: Vec<Hedge> = (0..1_000).map(|_| hedge(&mut r)).collect();
        let maturing = hedges.iter().filter(|h| h.duration_secs <= 480).count();
        let edge = hedges.iter().filter(|h| h.low_pct >= 88).count();
        assert!((40..=100).contains(&maturing), "{maturing}");
        assert!((15..=50).contains(&edge), "{edge}");
        assert!(hedges.iter().all(|h| h.low_pct < 100 && h.high_pct > 100));
    }
}
