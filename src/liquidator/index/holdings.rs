//! A position's holdings changed the way the module changes its `assets`/`balances`
//! arrays: the base asset stays at index 0 (even when empty), a new asset is appended,
//! and an asset whose balance reaches zero is removed by swap-and-pop.

use alloy::primitives::{Address, U256};

/// Adds `amount` of `asset` (merging into an existing entry, appending a new one).
pub fn add(holdings: &mut Vec<(Address, U256)>, asset: Address, amount: U256) {
    match holdings.iter_mut().find(|(a, _)| *a == asset) {
        Some((_, balance)) => *balance = balance.saturating_add(amount),
        None => holdings.push((asset, amount)),
    }
}

/// Makes sure `asset` has an entry (`NewAsset` comes before the amount that created it).
pub fn ensure(holdings: &mut Vec<(Address, U256)>, asset: Address) {
    if !holdings.iter().any(|(a, _)| *a == asset) {
        holdings.push((asset, U256::ZERO));
    }
}

/// Takes `amount` of `asset` away; a non-base asset that reaches zero is removed.
pub fn reduce(holdings: &mut Vec<(Address, U256)>, asset: Address, amount: U256) {
    let Some(index) = holdings.iter().position(|(a, _)| *a == asset) else {
        return;
    };
    let balance = &mut holdings[index].1;
    *balance = balance.saturating_sub(amount);
    if index > 0 && balance.is_zero() {
        holdings.swap_remove(index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(n: u8) -> Address {
        Address::repeat_byte(n)
    }

    #[test]
    fn follows_the_modules_array_rules() {
        let mut h = vec![(a(1), U256::from(100))];
        add(&mut h, a(2), U256::from(5));
        add(&mut h, a(3), U256::from(7));
        add(&mut h, a(1), U256::from(1));
        assert_eq!(
            h,
            vec![
                (a(1), U256::from(101)),
                (a(2), U256::from(5)),
                (a(3), U256::from(7))
            ]
        );
        // A swap of all of asset 2 into a new asset 4: 4 is appended first, then 2 is
        // swap-and-popped, so 4 lands in 2's place, as in the contract.
        ensure(&mut h, a(4));
        add(&mut h, a(4), U256::from(9));
        reduce(&mut h, a(2), U256::from(5));
        assert_eq!(
            h,
            vec![
                (a(1), U256::from(101)),
                (a(4), U256::from(9)),
                (a(3), U256::from(7))
            ]
        );
        // The base asset stays even when empty.
        reduce(&mut h, a(1), U256::from(101));
        assert_eq!(h[0], (a(1), U256::ZERO));
        reduce(&mut h, a(9), U256::from(1));
        assert_eq!(h.len(), 3, "an unknown asset changes nothing");
    }
}
