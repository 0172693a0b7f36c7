//! `FullMath.mulDiv` (Uniswap v3, which the Dex223 oracle uses): `floor(a * b / d)` through a
//! 512-bit intermediate, `None` exactly where the library reverts (`d == 0` or a quotient that
//! does not fit 256 bits).

use alloy::primitives::{U256, U512};

/// `floor(a * b / d)` with a 512-bit product; `None` if `d == 0` or the result needs more than
/// 256 bits (the library's `require(denominator > prod1)`).
#[inline]
pub fn mul_div(a: U256, b: U256, d: U256) -> Option<U256> {
    div_wide(a.widening_mul(b), d)
}

/// `floor(n / d)` for a 512-bit `n`; `None` if `d == 0` or the quotient needs more than 256 bits.
#[inline]
pub(crate) fn div_wide(n: U512, d: U256) -> Option<U256> {
    let l = n.as_limbs();
    let high = U256::from_limbs([l[4], l[5], l[6], l[7]]);
    // n < d * 2^256 <=> the quotient fits 256 bits; also false for d == 0.
    if high >= d {
        return None;
    }
    let low = U256::from_limbs([l[0], l[1], l[2], l[3]]);
    if high.is_zero() {
        return Some(low / d);
    }
    let d = d.as_limbs();
    let q = n / U512::from_limbs([d[0], d[1], d[2], d[3], 0, 0, 0, 0]);
    let q = q.as_limbs();
    Some(U256::from_limbs([q[0], q[1], q[2], q[3]]))
}

/// `floor(n / 2^shift)` for a 512-bit `n`, `shift` a multiple of 64 (128 or 192 here): the
/// `mulDiv(x, y, 2^shift)` of the oracle without a division. `None` if it needs more than 256
/// bits.
#[inline]
pub(crate) fn shr_wide(n: U512, shift: u32) -> Option<U256> {
    debug_assert!(shift.is_multiple_of(64) && shift <= 256);
    let l = n.as_limbs();
    let at = (shift / 64) as usize;
    if l[at + 4..].iter().any(|&limb| limb != 0) {
        return None;
    }
    Some(U256::from_limbs([l[at], l[at + 1], l[at + 2], l[at + 3]]))
}

/// `x * 2^shift` as 512 bits, `shift` a multiple of 64 not above 256.
#[inline]
pub(crate) fn shl_wide(x: U256, shift: u32) -> U512 {
    debug_assert!(shift.is_multiple_of(64) && shift <= 256);
    let mut limbs = [0u64; 8];
    let at = (shift / 64) as usize;
    limbs[at..at + 4].copy_from_slice(x.as_limbs());
    U512::from_limbs(limbs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slow reference: restoring long division bit by bit over the full 512-bit product, with
    /// none of ruint's division code.
    fn reference(a: U256, b: U256, d: U256) -> Option<U256> {
        if d.is_zero() {
            return None;
        }
        let n: U512 = a.widening_mul(b);
        let d = U512::from_limbs_slice(d.as_limbs());
        let (mut q, mut r) = (U512::ZERO, U512::ZERO);
        for bit in (0..512).rev() {
            r = (r << 1) | (n >> bit) & U512::from(1u8);
            q <<= 1;
            if r >= d {
                r -= d;
                q |= U512::from(1u8);
            }
        }
        U256::checked_from_limbs_slice(q.as_limbs())
    }

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        /// A U256 of a random bit length, with some special values mixed in.
        fn u256(&mut self) -> U256 {
            match self.next() % 16 {
                0 => U256::ZERO,
                1 => U256::from(1u8),
                2 => U256::MAX,
                3 => U256::from(1u8) << (self.next() % 256) as usize,
                4 => (U256::from(1u8) << (self.next() % 256) as usize) - U256::from(1u8),
                _ => {
                    let x = U256::from_limbs([self.next(), self.next(), self.next(), self.next()]);
                    x >> (self.next() % 256) as usize
                }
            }
        }
    }

    #[test]
    fn mul_div_matches_a_bit_by_bit_reference() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..4000 {
            let (a, b, d) = (rng.u256(), rng.u256(), rng.u256());
            assert_eq!(
                mul_div(a, b, d),
                reference(a, b, d),
                "mulDiv({a}, {b}, {d})"
            );
        }
    }

    #[test]
    fn mul_div_edges() {
        let one = U256::from(1u8);
        // d == 0 reverts, even for 0 * 0.
        assert_eq!(mul_div(U256::ZERO, U256::ZERO, U256::ZERO), None);
        // MAX * MAX / MAX = MAX: the product needs 512 bits, the quotient fits.
        assert_eq!(mul_div(U256::MAX, U256::MAX, U256::MAX), Some(U256::MAX));
        // MAX * 2 / 1 does not fit.
        assert_eq!(mul_div(U256::MAX, U256::from(2u8), one), None);
        // (2^255 * 4) / 2 = 2^256: one past the top.
        assert_eq!(mul_div(one << 255, U256::from(4u8), U256::from(2u8)), None);
        // 7 * 3 / 2 = floor(10.5) = 10.
        assert_eq!(
            mul_div(U256::from(7u8), U256::from(3u8), U256::from(2u8)),
            Some(U256::from(10u8))
        );
    }

    #[test]
    fn shifts_are_power_of_two_mul_divs() {
        let mut rng = XorShift(42);
        for _ in 0..2000 {
            let (a, b) = (rng.u256(), rng.u256());
            for shift in [128u32, 192] {
                let two_shift = U256::from(1u8) << shift as usize;
                assert_eq!(shr_wide(a.widening_mul(b), shift), mul_div(a, b, two_shift));
                assert_eq!(div_wide(shl_wide(a, shift), b), mul_div(two_shift, a, b));
            }
        }
    }
}
