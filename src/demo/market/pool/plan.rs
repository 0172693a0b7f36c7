//! What the pool actor does and when, as pure functions of its generator, the market's
//! prices and the pool's tiers: who provides liquidity in which tier and how much, the
//! opening act's two policies (an at-the-money PUT that expires after the scripted fall and
//! before the recovery, so it settles in the money, and a CALL that expires out of the
//! money), then a purchase every 30–60 s with the odd deposit and withdrawal request.

use std::time::Duration;

use rand::RngExt;

use crate::pool::model::{BPS, PolicyKind, Token, USD_E8, Units, UsdE8};

/// Whole WBTC and ETH in base units.
pub const WBTC: Units = 100_000_000;
pub const ETH: Units = 1_000_000_000_000_000_000;

/// Active policies the actor keeps the book under: no purchase while this many are active.
pub const MAX_ACTIVE: usize = 8;
/// No top-up takes a provider's books above this much of a token.
pub const TOP_UP_CAP_WBTC: Units = 5 * WBTC;
pub const TOP_UP_CAP_ETH: Units = 80 * ETH;

/// Who signs a provider's deposits: a funded dev account, or a key the actor derives (and
/// funds from its first dev account) so there are more providers than it has dev accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    Dev(usize),
    Derived(u8),
}

/// Where a provider's capital sits among the configured tiers (in order of preference).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierPick {
    /// `[pool] default_tier`.
    Default,
    First,
    Last,
}

/// A liquidity provider of the demo and the deposits it opens with (`(token, low, high)`
/// in base units, drawn in 1/100 steps of a whole token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LpSpec {
    pub account: Account,
    pub tier: TierPick,
    pub opening: [(Token, Units, Units); 2],
}

/// The demo's providers: two in the default tier (the PUT's backers, pro rata), one in the
/// last (the CALL's, in ETH), one in the first.
pub const LPS: [LpSpec; 4] = [
    LpSpec {
        account: Account::Dev(18),
        tier: TierPick::Default,
        opening: [
            (Token::Wbtc, 3 * WBTC / 2, 5 * WBTC / 2),
            (Token::Eth, 10 * ETH, 20 * ETH),
        ],
    },
    LpSpec {
        account: Account::Derived(1),
        tier: TierPick::Default,
        opening: [
            (Token::Wbtc, WBTC / 2, WBTC),
            (Token::Eth, 2 * ETH, 5 * ETH),
        ],
    },
    LpSpec {
        account: Account::Dev(19),
        tier: TierPick::Last,
        opening: [
            (Token::Eth, 20 * ETH, 40 * ETH),
            (Token::Wbtc, WBTC / 2, WBTC),
        ],
    },
    LpSpec {
        account: Account::Derived(2),
        tier: TierPick::First,
        opening: [
            (Token::Wbtc, WBTC, 2 * WBTC),
            (Token::Eth, 5 * ETH, 10 * ETH),
        ],
    },
];

/// The tier `pick` names among `tiers` (in order) with `default`.
pub fn tier_name<'a>(pick: TierPick, tiers: &'a [String], default: &'a str) -> Option<&'a str> {
    match pick {
        TierPick::Default => Some(default),
        TierPick::First => tiers.first().map(String::as_str),
        TierPick::Last => tiers.last().map(String::as_str),
    }
}

/// An amount between `low` and `high` base units of `token`, in steps of 1/100 of a token.
pub fn draw_amount(rng: &mut impl rand::Rng, token: Token, low: Units, high: Units) -> Units {
    let step = token.one() / 100;
    rng.random_range(low / step..=high / step) * step
}

/// A policy to buy. `expires_at_secs` is measured from the market's start, as the price
/// script is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purchase {
    pub kind: PolicyKind,
    pub token: Token,
    pub buyer_tier: String,
    /// Index into the actor's buyers.
    pub buyer: usize,
    pub strike_usd: UsdE8,
    pub amount_sats: u64,
    pub expires_at_secs: u64,
}

/// Buyers the actor buys for (addresses it derives; they sign nothing).
pub const BUYERS: usize = 3;

/// `value` to the nearest multiple of `step_usd` whole dollars (USD × 10^8).
pub fn round_usd(value: UsdE8, step_usd: u128) -> UsdE8 {
    let step = step_usd * USD_E8;
    (value + step / 2) / step * step
}

/// `value × bps / 10000`, rounded down.
pub fn scale_bps(value: u128, bps: u128) -> u128 {
    value * bps / BPS
}

/// The second the opening act buys at: after the deposits are in the books, well before the
/// fall at 40 s.
pub fn opening_second(rng: &mut impl rand::Rng) -> u64 {
    rng.random_range(15..=20)
}

/// A buyer tier whose first backer is `tier` (so the policy is backed where the opening
/// deposits are), else the first buyer tier that lists it at all.
pub fn buyer_tier_backed_by(buyer_tiers: &[(String, Vec<String>)], tier: &str) -> Option<String> {
    buyer_tiers
        .iter()
        .find(|(_, by)| by.first().is_some_and(|t| t == tier))
        .or_else(|| {
            buyer_tiers
                .iter()
                .find(|(_, by)| by.iter().any(|t| t == tier))
        })
        .map(|(name, _)| name.clone())
}

/// The opening PUT: at the money (to 10 USD), 0.10–0.30 BTC, on WBTC, expiring at 95–103 s
/// (after the 14% fall at 40–45 s, before the recovery at 110 s): it settles in the money.
pub fn opening_put(rng: &mut impl rand::Rng, btc_usd: UsdE8, buyer_tier: String) -> Purchase {
    Purchase {
        kind: PolicyKind::Put,
        token: Token::Wbtc,
        buyer_tier,
        buyer: 0,
        strike_usd: round_usd(btc_usd, 10),
        amount_sats: rng.random_range(2..=6) * 5_000_000,
        expires_at_secs: rng.random_range(95..=103),
    }
}

/// The opening CALL: 5–9% out of the money (to 100 USD), 0.10–0.30 BTC, on ETH, expiring at
/// 70–85 s, after the fall: it expires out of the money.
pub fn opening_call(rng: &mut impl rand::Rng, btc_usd: UsdE8, buyer_tier: String) -> Purchase {
    Purchase {
        kind: PolicyKind::Call,
        token: Token::Eth,
        buyer_tier,
        buyer: 1,
        strike_usd: round_usd(scale_bps(btc_usd, rng.random_range(10_500..=10_900)), 100),
        amount_sats: rng.random_range(2..=6) * 5_000_000,
        expires_at_secs: rng.random_range(70..=85),
    }
}

/// A purchase of the running market, made at second `now_secs`: a PUT 0–7% below the money
/// or a CALL 0–7% above, 0.05–0.25 BTC, on either token, for any buyer tier, 2–6 minutes.
pub fn random_purchase(
    rng: &mut impl rand::Rng,
    btc_usd: UsdE8,
    buyer_tiers: &[(String, Vec<String>)],
    now_secs: u64,
) -> Option<Purchase> {
    if buyer_tiers.is_empty() {
        return None;
    }
    let kind = if rng.random_bool(0.5) {
        PolicyKind::Put
    } else {
        PolicyKind::Call
    };
    let away = rng.random_range(0..=700u128);
    let strike_bps = match kind {
        PolicyKind::Put => BPS - away,
        PolicyKind::Call => BPS + away,
    };
    Some(Purchase {
        kind,
        token: if rng.random_bool(0.5) {
            Token::Wbtc
        } else {
            Token::Eth
        },
        buyer_tier: buyer_tiers[rng.random_range(0..buyer_tiers.len())]
            .0
            .clone(),
        buyer: rng.random_range(0..BUYERS),
        strike_usd: round_usd(scale_bps(btc_usd, strike_bps), 10),
        amount_sats: rng.random_range(1..=5) * 5_000_000,
        expires_at_secs: now_secs + rng.random_range(120..=360),
    })
}

/// When a policy that expires at second `at_secs` of the market ends, in unix ms, given the
/// wall clock and the market's age now.
pub fn expiry_ms(now_ms: i64, elapsed: Duration, at_secs: u64) -> i64 {
    let at_ms = i64::try_from(at_secs.saturating_mul(1_000)).unwrap_or(i64::MAX);
    let elapsed_ms = i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX);
    now_ms.saturating_add(at_ms.saturating_sub(elapsed_ms))
}

/// What one step of the running market does besides buying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Seconds until the next step.
    pub pause: Duration,
    /// A provider tops up (one in four).
    pub deposit: bool,
    /// A provider asks to withdraw (one in six).
    pub withdraw: bool,
}

pub fn next_step(rng: &mut impl rand::Rng) -> Step {
    Step {
        pause: Duration::from_secs(rng.random_range(30..=60)),
        deposit: rng.random_ratio(1, 4),
        withdraw: rng.random_ratio(1, 6),
    }
}

/// A top-up: which provider (index into [`LPS`]), which token and how much (0.20–0.60 WBTC or
/// 2–8 ETH), or `None` when that provider already holds `holding` at or above the cap.
pub fn top_up(
    rng: &mut impl rand::Rng,
    holding: impl Fn(usize, Token) -> Units,
) -> Option<(usize, Token, Units)> {
    let lp = rng.random_range(0..LPS.len());
    let (token, low, high, cap) = if rng.random_bool(0.5) {
        (Token::Wbtc, WBTC / 5, 3 * WBTC / 5, TOP_UP_CAP_WBTC)
    } else {
        (Token::Eth, 2 * ETH, 8 * ETH, TOP_UP_CAP_ETH)
    };
    let amount = draw_amount(rng, token, low, high);
    (holding(lp, token).saturating_add(amount) <= cap).then_some((lp, token, amount))
}

/// The share of what a provider may withdraw that it asks for: 10–30%, in bps (drawn before
/// the maximum is known, so the draws do not depend on the books).
pub fn withdrawal_share(rng: &mut impl rand::Rng) -> u128 {
    rng.random_range(1_000..=3_000)
}

/// `share_bps` of `max_withdrawable`, down to 1/100 of a `token`, or `None` when that is
/// nothing.
pub fn withdrawal_amount(token: Token, share_bps: u128, max_withdrawable: Units) -> Option<Units> {
    let step = token.one() / 100;
    let amount = scale_bps(max_withdrawable, share_bps) / step * step;
    (amount > 0).then_some(amount)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const BTC_60K: UsdE8 = 6_000_000_000_000;

    fn tiers() -> Vec<(String, Vec<String>)> {
        let t = |n: &str, by: &[&str]| (n.to_string(), by.iter().map(|s| s.to_string()).collect());
        vec![
            t("conservative", &["conservative"]),
            t("standard", &["balanced", "conservative"]),
            t("flexible", &["aggressive", "balanced"]),
        ]
    }

    #[test]
    fn strikes_round_to_whole_steps_of_dollars() {
        assert_eq!(round_usd(6_012_345_678_900, 10), 6_012_000_000_000);
        assert_eq!(round_usd(6_012_500_000_000, 10), 6_013_000_000_000);
        assert_eq!(round_usd(6_004_999_999_999, 100), 6_000_000_000_000);
        assert_eq!(scale_bps(BTC_60K, 10_700), 6_420_000_000_000);
    }

    #[test]
    fn the_opening_put_is_at_the_money_and_ends_between_the_fall_and_the_recovery() {
        for seed in 0..50 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let put = opening_put(&mut rng, 6_001_234_000_000, "standard".into());
            assert_eq!(put.kind, PolicyKind::Put);
            assert_eq!(put.strike_usd, 6_001_000_000_000);
            assert!((95..=103).contains(&put.expires_at_secs), "{put:?}");
            assert!((10_000_000..=30_000_000).contains(&put.amount_sats));
            let call = opening_call(&mut rng, BTC_60K, "flexible".into());
            assert!(call.strike_usd >= 6_300_000_000_000 && call.strike_usd <= 6_540_000_000_000);
            assert_eq!(call.strike_usd % (100 * USD_E8), 0);
            // It ends after the fall (45 s) and before the recovery starts (110 s).
            assert!((70..=85).contains(&call.expires_at_secs), "{call:?}");
        }
    }

    #[test]
    fn a_seed_replays_its_purchases() {
        let run = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..20)
                .map(|i| random_purchase(&mut rng, BTC_60K, &tiers(), 100 + i).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
        for p in run(3) {
            let lo = scale_bps(BTC_60K, 9_300) - 5 * USD_E8;
            let hi = scale_bps(BTC_60K, 10_700) + 5 * USD_E8;
            assert!(p.strike_usd >= lo && p.strike_usd <= hi, "{p:?}");
            match p.kind {
                PolicyKind::Put => assert!(p.strike_usd <= BTC_60K),
                PolicyKind::Call => assert!(p.strike_usd >= BTC_60K),
            }
            assert!(p.buyer < BUYERS);
            assert!((5_000_000..=25_000_000).contains(&p.amount_sats));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(random_purchase(&mut rng, BTC_60K, &[], 0), None);
    }

    #[test]
    fn expiries_are_timed_from_the_market_start() {
        // 12.5 s into the market, second 100 is 87.5 s from now.
        assert_eq!(
            expiry_ms(1_000_000, Duration::from_millis(12_500), 100),
            1_087_500
        );
        assert_eq!(expiry_ms(1_000_000, Duration::from_secs(120), 100), 980_000);
    }

    #[test]
    fn buyer_tiers_are_found_by_their_first_backer() {
        assert_eq!(
            buyer_tier_backed_by(&tiers(), "balanced").as_deref(),
            Some("standard")
        );
        assert_eq!(
            buyer_tier_backed_by(&tiers(), "aggressive").as_deref(),
            Some("flexible")
        );
        assert_eq!(buyer_tier_backed_by(&tiers(), "gold"), None);
        let names: Vec<String> = ["conservative", "balanced", "aggressive"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            tier_name(TierPick::First, &names, "balanced"),
            Some("conservative")
        );
        assert_eq!(
            tier_name(TierPick::Last, &names, "balanced"),
            Some("aggressive")
        );
        assert_eq!(
            tier_name(TierPick::Default, &names, "balanced"),
            Some("balanced")
        );
    }

    #[test]
    fn amounts_stay_in_their_ranges_and_caps() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..100 {
            let a = draw_amount(&mut rng, Token::Wbtc, WBTC / 2, WBTC);
            assert!((WBTC / 2..=WBTC).contains(&a) && a % (WBTC / 100) == 0);
            let step = next_step(&mut rng);
            assert!((30..=60).contains(&step.pause.as_secs()));
        }
        assert_eq!(
            top_up(&mut rng, |_, _| TOP_UP_CAP_ETH.max(TOP_UP_CAP_WBTC)),
            None
        );
        let (lp, token, amount) = top_up(&mut rng, |_, _| 0).unwrap();
        assert!(lp < LPS.len());
        match token {
            Token::Wbtc => assert!((WBTC / 5..=3 * WBTC / 5).contains(&amount)),
            Token::Eth => assert!((2 * ETH..=8 * ETH).contains(&amount)),
        }
        let share = withdrawal_share(&mut rng);
        assert!((1_000..=3_000).contains(&share));
        assert_eq!(withdrawal_amount(Token::Eth, share, 0), None);
        assert_eq!(
            withdrawal_amount(Token::Eth, 2_000, 10 * ETH + 123),
            Some(2 * ETH)
        );
        assert_eq!(
            withdrawal_amount(Token::Wbtc, 1_500, 12_345_678),
            Some(1_000_000)
        );
        assert_eq!(
            withdrawal_amount(Token::Wbtc, 1_000, 9_999),
            None,
            "rounds down to nothing"
        );
    }
}
