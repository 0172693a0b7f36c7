//! An exact pro-rata split: `total` across `weights` so that every share is
//! `floor(total · w / Σw)` plus at most one unit, and the shares sum to `total` exactly.
//!
//! The units left over by the floors (fewer than the number of weights) go one each to the
//! largest remainders `total · w mod Σw`; equal remainders go to the earlier weight. So the
//! split depends only on the weights and their order (callers order backers by address),
//! never on anything else, and a weight of zero never gets a unit.

use alloy::primitives::U256;

use super::MathError;

/// Splits `total` pro rata to `weights`. With `total ≤ Σw` every share is also at most its
/// weight. All weights zero: an error, unless `total` is zero too.
pub fn split_pro_rata(total: u128, weights: &[u128]) -> Result<Vec<u128>, MathError> {
    let sum: U256 = weights
        .iter()
        .fold(U256::ZERO, |acc, w| acc + U256::from(*w));
    if sum.is_zero() {
        return if total == 0 {
            Ok(vec![0; weights.len()])
        } else {
            Err(MathError::NoWeight { total })
        };
    }
    let total_w = U256::from(total);
    let mut shares = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut given = 0u128;
    for w in weights {
        let product = total_w * U256::from(*w);
        // Each floor is at most `total`, so it fits.
        let share = u128::try_from(product / sum).expect("a share is at most the total");
        given += share;
        shares.push(share);
        remainders.push(product % sum);
    }
    let leftover = total - given;
    if leftover > 0 {
        let mut order: Vec<usize> = (0..weights.len()).collect();
        // Largest remainder first; ties to the earlier index (the sort is stable).
        order.sort_by(|a, b| remainders[*b].cmp(&remainders[*a]));
        for &i in order.iter().take(leftover as usize) {
            shares[i] += 1;
        }
    }
    Ok(shares)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn known_vectors() {
        // 100 across 1:1:1 is 34, 33, 33: the one left over goes to the first of the equal
        // remainders.
        assert_eq!(split_pro_rata(100, &[1, 1, 1]), Ok(vec![34, 33, 33]));
        // 10 across 3:3:4 is 3, 3, 4 exactly.
        assert_eq!(split_pro_rata(10, &[3, 3, 4]), Ok(vec![3, 3, 4]));
        // 7 across 5:3:2: floors 3, 2, 1 (remainders 5, 1, 4) → the leftover unit to the first.
        assert_eq!(split_pro_rata(7, &[5, 3, 2]), Ok(vec![4, 2, 1]));
        // 1 across 1:2: floors 0, 0 (remainders 1, 2) → to the second.
        assert_eq!(split_pro_rata(1, &[1, 2]), Ok(vec![0, 1]));
        assert_eq!(split_pro_rata(5, &[0, 7, 0]), Ok(vec![0, 5, 0]));
        assert_eq!(split_pro_rata(0, &[0, 0]), Ok(vec![0, 0]));
        assert_eq!(
            split_pro_rata(1, &[0, 0]),
            Err(MathError::NoWeight { total: 1 })
        );
        assert_eq!(
            split_pro_rata(3, &[]),
            Err(MathError::NoWeight { total: 3 })
        );
        // Weights near u128::MAX do not overflow.
        assert_eq!(
            split_pro_rata(u128::MAX, &[u128::MAX, u128::MAX]),
            Ok(vec![u128::MAX / 2 + 1, u128::MAX / 2])
        );
    }

    proptest! {
        #[test]
        fn shares_sum_exactly_and_stay_within_one_of_pro_rata(
            total in 0u128..=u128::MAX / 4,
            weights in prop::collection::vec(0u128..=1u128 << 100, 1..12),
        ) {
            prop_assume!(weights.iter().any(|w| *w > 0));
            let shares = split_pro_rata(total, &weights).unwrap();
            prop_assert_eq!(shares.len(), weights.len());
            let sum = shares.iter().fold(U256::ZERO, |a, s| a + U256::from(*s));
            prop_assert_eq!(sum, U256::from(total));
            let w_sum = weights.iter().fold(U256::ZERO, |a, w| a + U256::from(*w));
            for (s, w) in shares.iter().zip(&weights) {
                let floor = U256::from(total) * U256::from(*w) / w_sum;
                let s = U256::from(*s);
                prop_assert!(s == floor || s == floor + U256::from(1u8));
                if *w == 0 {
                    prop_assert!(s.is_zero());
                }
            }
            // The same input always splits the same way.
            prop_assert_eq!(split_pro_rata(total, &weights).unwrap(), shares);
        }

        #[test]
        fn a_split_within_the_weights_never_exceeds_a_weight(
            weights in prop::collection::vec(0u128..=1u128 << 90, 1..12),
            fraction in 0u32..=10_000,
        ) {
            let w_sum: u128 = weights.iter().sum();
            let total = (U256::from(w_sum) * U256::from(fraction) / U256::from(10_000u32)).to::<u128>();
            prop_assume!(w_sum > 0);
            let shares = split_pro_rata(total, &weights).unwrap();
            prop_assert_eq!(shares.iter().sum::<u128>(), total);
            for (s, w) in shares.iter().zip(&weights) {
                prop_assert!(s <= w);
            }
        }
    }
}
