//! Settlement at expiry (European style): what an in-the-money policy pays and how the
//! payout is debited from the providers that backed it.
//!
//! - PUT: `max(0, strike − price) · amount / 10^8` USD × 10^8;
//! - CALL: `max(0, price − strike) · amount / 10^8`;
//!
//! rounded down, then converted to the collateral token at its price, rounded down (the
//! pool never pays more than owed). The payout is debited from the backers pro rata to what
//! each locked for the policy ([`split_pro_rata`]: the debits sum to the payout exactly);
//! each backer's lock for the policy is released at the same time.

use super::MathError;
use super::convert::{Rounding, mul_div, usd_to_units};
use super::split::split_pro_rata;
use crate::pool::model::{PolicyKind, SATS_PER_BTC, Token, Units, UsdE8};

/// Whether the policy pays anything at `price`.
pub fn in_the_money(kind: PolicyKind, strike_usd: UsdE8, price: UsdE8) -> bool {
    match kind {
        PolicyKind::Put => price < strike_usd,
        PolicyKind::Call => price > strike_usd,
    }
}

/// The payout in USD × 10^8 at settlement price `price`, rounded down; zero out of the money.
pub fn payout_usd(
    kind: PolicyKind,
    strike_usd: UsdE8,
    amount_sats: u64,
    price: UsdE8,
) -> Result<UsdE8, MathError> {
    let diff = match kind {
        PolicyKind::Put => strike_usd.saturating_sub(price),
        PolicyKind::Call => price.saturating_sub(strike_usd),
    };
    mul_div(
        diff,
        u128::from(amount_sats),
        SATS_PER_BTC,
        Rounding::Down,
        "payout",
    )
}

/// The payout in the collateral token: [`payout_usd`] at the token's price, rounded down.
pub fn payout_units(
    kind: PolicyKind,
    strike_usd: UsdE8,
    amount_sats: u64,
    btc_price: UsdE8,
    token: Token,
    token_price: UsdE8,
) -> Result<Units, MathError> {
    let usd = payout_usd(kind, strike_usd, amount_sats, btc_price)?;
    if usd == 0 {
        return Ok(0);
    }
    usd_to_units(usd, token, token_price, Rounding::Down)
}

/// One provider backing the policy being settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backer {
    /// What they locked for this policy.
    pub locked_for_policy: Units,
    /// Their books in the policy's token.
    pub total: Units,
    pub locked: Units,
}

/// Each backer's debit for `payout`, pro rata to what they locked for the policy. After the
/// debit and the release of their lock a backer's books must still hold everything locked
/// for their other policies (`total − debit ≥ locked − locked_for_policy`); a backer who
/// cannot is a [`MathError::Shortfall`] naming them, and nothing should be applied.
pub fn settlement_debits(payout: Units, backers: &[Backer]) -> Result<Vec<Units>, MathError> {
    let weights: Vec<Units> = backers.iter().map(|b| b.locked_for_policy).collect();
    let debits = split_pro_rata(payout, &weights)?;
    for (index, (b, debit)) in backers.iter().zip(&debits).enumerate() {
        let locked_elsewhere = b.locked.saturating_sub(b.locked_for_policy);
        let have = b.total.saturating_sub(locked_elsewhere);
        if *debit > have {
            return Err(MathError::Shortfall {
                index,
                need: *debit,
                have,
            });
        }
    }
    Ok(debits)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const K: UsdE8 = 5_400_000_000_000; // 54,000 USD

    #[test]
    fn put_and_call_payouts() {
        // PUT 0.5 BTC at 54,000, BTC at 50,000: 4,000 · 0.5 = 2,000 USD.
        assert_eq!(
            payout_usd(PolicyKind::Put, K, 50_000_000, 5_000_000_000_000),
            Ok(200_000_000_000)
        );
        // Out of the money (and at the money) it pays nothing.
        assert_eq!(payout_usd(PolicyKind::Put, K, 50_000_000, K), Ok(0));
        assert_eq!(
            payout_usd(PolicyKind::Put, K, 50_000_000, 6_000_000_000_000),
            Ok(0)
        );
        // CALL 0.5 BTC at 54,000, BTC at 60,000: 3,000 USD.
        assert_eq!(
            payout_usd(PolicyKind::Call, K, 50_000_000, 6_000_000_000_000),
            Ok(300_000_000_000)
        );
        assert_eq!(
            payout_usd(PolicyKind::Call, K, 50_000_000, 5_000_000_000_000),
            Ok(0)
        );
        assert!(in_the_money(PolicyKind::Put, K, K - 1));
        assert!(!in_the_money(PolicyKind::Put, K, K));
        assert!(in_the_money(PolicyKind::Call, K, K + 1));
        // One sat, one cent in the money: 0.0001 cent → rounds down to 0.
        assert_eq!(payout_usd(PolicyKind::Put, K, 1, K - 1_000_000), Ok(0));
    }

    #[test]
    fn payout_in_the_collateral_token() {
        // 2,000 USD in WBTC at 50,000 is 0.04 WBTC; in ETH at 2,500 is 0.8 ETH.
        let btc = 5_000_000_000_000;
        assert_eq!(
            payout_units(PolicyKind::Put, K, 50_000_000, btc, Token::Wbtc, btc),
            Ok(4_000_000)
        );
        assert_eq!(
            payout_units(
                PolicyKind::Put,
                K,
                50_000_000,
                btc,
                Token::Eth,
                250_000_000_000
            ),
            Ok(800_000_000_000_000_000)
        );
        // 1 USD at 30,000 USD/BTC: 3333.33 sats → 3333.
        assert_eq!(
            payout_units(
                PolicyKind::Put,
                3_000_100_000_000,
                100_000_000,
                3_000_000_000_000,
                Token::Wbtc,
                3_000_000_000_000
            ),
            Ok(3333)
        );
    }

    #[test]
    fn debits_follow_the_locks_and_sum_to_the_payout() {
        let backers = [
            Backer {
                locked_for_policy: 50,
                total: 100,
                locked: 50,
            },
            Backer {
                locked_for_policy: 25,
                total: 40,
                locked: 25,
            },
            Backer {
                locked_for_policy: 25,
                total: 40,
                locked: 30,
            },
        ];
        assert_eq!(settlement_debits(10, &backers), Ok(vec![5, 3, 2]));
        assert_eq!(settlement_debits(0, &backers), Ok(vec![0, 0, 0]));
        // The third has 40 and 5 locked elsewhere: at most 35 may go.
        assert_eq!(settlement_debits(140, &backers), Ok(vec![70, 35, 35]));
        assert_eq!(
            settlement_debits(144, &backers),
            Err(MathError::Shortfall {
                index: 2,
                need: 36,
                have: 35
            })
        );
    }

    proptest! {
        #[test]
        fn debits_sum_exactly(
            locks in prop::collection::vec(1u128..=1u128 << 70, 1..10),
            payout_frac in 0u32..=10_000,
        ) {
            let locked: u128 = locks.iter().sum();
            let payout = locked / 10_000 * u128::from(payout_frac);
            let backers: Vec<Backer> = locks
                .iter()
                .map(|l| Backer { locked_for_policy: *l, total: *l, locked: *l })
                .collect();
            let debits = settlement_debits(payout, &backers).unwrap();
            prop_assert_eq!(debits.iter().sum::<u128>(), payout);
        }
    }
}
