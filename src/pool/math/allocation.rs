//! A new policy's collateral across the providers of the tier that backs it, pro rata to
//! each one's available capital (the spec: "allocated amount is proportional to available
//! capital"), exactly: the locks sum to the required collateral.

use super::MathError;
use super::split::split_pro_rata;
use crate::pool::model::Units;

/// How much each candidate locks for a policy needing `required`, given each one's
/// `available` capital in the policy's token, in the caller's order (by address). Refused
/// when together they have less than `required`. No one locks more than they have.
pub fn allocate(required: Units, available: &[Units]) -> Result<Vec<Units>, MathError> {
    if required == 0 {
        return Err(MathError::invalid(
            "required collateral",
            "must be above zero",
        ));
    }
    let total = available
        .iter()
        .try_fold(0u128, |acc, a| acc.checked_add(*a))
        .ok_or(MathError::Overflow {
            what: "available capital",
        })?;
    if total < required {
        return Err(MathError::InsufficientCapital {
            required,
            available: total,
        });
    }
    // required ≤ Σ available, so each share is at most its provider's available capital.
    split_pro_rata(required, available)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn pro_rata_to_available_capital() {
        // 1 WBTC needed from providers with 2, 1 and 1 WBTC free: 0.5, 0.25, 0.25.
        assert_eq!(
            allocate(100_000_000, &[200_000_000, 100_000_000, 100_000_000]),
            Ok(vec![50_000_000, 25_000_000, 25_000_000])
        );
        // Indivisible: 10 across 1:1:1 → 4, 3, 3 (the first takes the leftover unit).
        assert_eq!(allocate(10, &[5, 5, 5]), Ok(vec![4, 3, 3]));
        // Everything available is taken when exactly enough.
        assert_eq!(allocate(12, &[5, 0, 7]), Ok(vec![5, 0, 7]));
        assert_eq!(
            allocate(13, &[5, 0, 7]),
            Err(MathError::InsufficientCapital {
                required: 13,
                available: 12
            })
        );
        assert!(allocate(0, &[5]).is_err());
        assert!(allocate(1, &[]).is_err());
    }

    proptest! {
        #[test]
        fn locks_sum_to_the_requirement_and_fit_each_provider(
            available in prop::collection::vec(0u128..=1u128 << 80, 1..10),
            pick in 1u128..=u128::MAX,
        ) {
            let total: u128 = available.iter().sum();
            prop_assume!(total > 0);
            let required = 1 + pick % total;
            let locks = allocate(required, &available).unwrap();
            prop_assert_eq!(locks.iter().sum::<u128>(), required);
            for (l, a) in locks.iter().zip(&available) {
                prop_assert!(l <= a);
            }
        }
    }
}
