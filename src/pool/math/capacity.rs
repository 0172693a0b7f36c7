//! Tier capacity: a tier takes deposits up to its capacity limit (per token; the spec's
//! `capacityLimit`, a maximum deposit), and backs a new policy only with capital its
//! providers have available (`capital − locked ≥ required`, the spec's
//! `getTierAvailability`).

use std::fmt;

use crate::pool::model::{Token, Units};

/// Why a tier cannot take something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapacityRefusal {
    /// A deposit would take the tier's capital above its limit.
    OverLimit {
        tier: String,
        token: Token,
        capital: Units,
        deposit: Units,
        limit: Units,
    },
    /// The tier's providers do not have the collateral free.
    NotEnoughAvailable {
        tier: String,
        token: Token,
        available: Units,
        required: Units,
    },
}

impl fmt::Display for CapacityRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapacityRefusal::OverLimit {
                tier,
                token,
                capital,
                deposit,
                limit,
            } => write!(
                f,
                "tier {tier} holds {} {token} of its {} {token} capacity; a deposit of {} {token} \
                 would exceed it",
                token.format_units(*capital),
                token.format_units(*limit),
                token.format_units(*deposit),
            ),
            CapacityRefusal::NotEnoughAvailable {
                tier,
                token,
                available,
                required,
            } => write!(
                f,
                "tier {tier} has {} {token} available, the policy needs {} {token}",
                token.format_units(*available),
                token.format_units(*required),
            ),
        }
    }
}

/// A deposit of `deposit` into a tier holding `capital` with `limit` (None: no limit).
pub fn check_deposit(
    tier: &str,
    token: Token,
    capital: Units,
    deposit: Units,
    limit: Option<Units>,
) -> Result<(), CapacityRefusal> {
    match limit {
        Some(limit) if capital.saturating_add(deposit) > limit => Err(CapacityRefusal::OverLimit {
            tier: tier.to_string(),
            token,
            capital,
            deposit,
            limit,
        }),
        _ => Ok(()),
    }
}

/// Whether a tier whose eligible providers have `available` free can back `required`.
pub fn check_availability(
    tier: &str,
    token: Token,
    available: Units,
    required: Units,
) -> Result<(), CapacityRefusal> {
    if available >= required {
        Ok(())
    } else {
        Err(CapacityRefusal::NotEnoughAvailable {
            tier: tier.to_string(),
            token,
            available,
            required,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deposits_stop_at_the_limit() {
        let one = Token::Wbtc.one();
        assert_eq!(
            check_deposit("balanced", Token::Wbtc, 9 * one, one, Some(10 * one)),
            Ok(())
        );
        let refused =
            check_deposit("balanced", Token::Wbtc, 9 * one, one + 1, Some(10 * one)).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "tier balanced holds 9 WBTC of its 10 WBTC capacity; a deposit of 1.00000001 WBTC would exceed it"
        );
        assert_eq!(
            check_deposit("balanced", Token::Wbtc, u128::MAX, 5, None),
            Ok(())
        );
    }

    #[test]
    fn policies_need_available_capital() {
        assert_eq!(check_availability("aggressive", Token::Eth, 10, 10), Ok(()));
        let refused =
            check_availability("aggressive", Token::Eth, 10u128.pow(18), 2 * 10u128.pow(18))
                .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "tier aggressive has 1 ETH available, the policy needs 2 ETH"
        );
    }
}
