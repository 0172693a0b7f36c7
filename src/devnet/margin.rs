//! The liquidator desk's devnet contracts: the Dex223 margin module copy
//! (`contracts/MarginModule.sol`) and its price oracle / market maker
//! (`contracts/MarginOracle.sol`), and the price encoding the oracle takes.
//!
//! Shared by the desk and the tests so both deploy and price the same way.

use alloy::primitives::{Address, U256, U512};
use alloy::providers::Provider;
use anyhow::Context;

use crate::chain::contracts::{MarginModule, MarginOracle};

/// `floor(sqrt(price_num / price_den) * 2^96)`, exactly (integer square root of
/// `price_num * 2^192 / price_den`, which has the same floor).
///
/// The price is Uniswap's: raw base units of token1 per raw base unit of token0, token0 being
/// the lower address. For 3000 USDC (6 decimals) per WETH (18): `3000e6 / 1e18` when WETH is
/// token0, `1e18 / 3000e6` when USDC is. `MarginOracle.setSqrtPriceX96` takes a `uint160`,
/// so the result must be below 2^160 (prices below about 2^128) to be set.
///
/// # Panics
/// When `price_den` is zero.
pub fn sqrt_price_x96(price_num: U256, price_den: U256) -> U256 {
    assert!(!price_den.is_zero(), "sqrt_price_x96: zero denominator");
    // num < 2^256, so num * 2^192 < 2^448 fits in 512 bits and its root in 256.
    let scaled = (U512::from(price_num) << 192usize) / U512::from(price_den);
    let root = isqrt(scaled);
    U256::from_limbs_slice(&root.as_limbs()[..4])
}

/// The integer square root: Newton's iteration from a start above the root decreases
/// monotonically to it.
fn isqrt(n: U512) -> U512 {
    if n.is_zero() {
        return U512::ZERO;
    }
    // 2^ceil(bits/2) >= sqrt(n).
    let mut x = U512::ONE << n.bit_len().div_ceil(2);
    loop {
        let next = (x + n / x) >> 1;
        if next >= x {
            return x;
        }
        x = next;
    }
}

/// Where [`deploy_margin`] put the two contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarginContracts {
    /// `MarginOracle`: prices and the market maker liquidations sell to.
    pub oracle: Address,
    /// `MarginModule`: orders and positions.
    pub module: Address,
}

/// Deploys a `MarginOracle` (owned by `owner`, who alone sets prices) and a `MarginModule`,
/// both sent from `owner`, which `provider`'s wallet must sign for. Waits for both receipts.
///
/// Nothing is priced or funded yet: set each pair's price with
/// `MarginOracle::setSqrtPriceX96` (see [`sqrt_price_x96`]) and mint the market maker's
/// inventory (the base assets liquidations buy) to `oracle`.
pub async fn deploy_margin<P: Provider>(
    provider: &P,
    owner: Address,
) -> anyhow::Result<MarginContracts> {
    let oracle = MarginOracle::deploy_builder(provider)
        .from(owner)
        .deploy()
        .await
        .context("deploying MarginOracle")?;
    let module = MarginModule::deploy_builder(provider)
        .from(owner)
        .deploy()
        .await
        .context("deploying MarginModule")?;
    Ok(MarginContracts { oracle, module })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q96() -> U256 {
        U256::from(1u8) << 96usize
    }

    #[test]
    fn unit_price_is_two_to_the_96() {
        assert_eq!(sqrt_price_x96(U256::from(1u8), U256::from(1u8)), q96());
        assert_eq!(sqrt_price_x96(U256::from(7u8), U256::from(7u8)), q96());
        assert_eq!(
            sqrt_price_x96(U256::from(4u8), U256::from(1u8)),
            q96() * U256::from(2u8)
        );
        assert_eq!(
            sqrt_price_x96(U256::from(1u8), U256::from(4u8)),
            q96() / U256::from(2u8)
        );
        assert_eq!(sqrt_price_x96(U256::ZERO, U256::from(4u8)), U256::ZERO);
    }

    #[test]
    fn result_is_the_floor() {
        let cases = [
            (
                U256::from(3000u64) * U256::from(10u64).pow(U256::from(6u8)),
                U256::from(10u64).pow(U256::from(18u8)),
            ),
            (
                U256::from(10u64).pow(U256::from(18u8)),
                U256::from(3000u64) * U256::from(10u64).pow(U256::from(6u8)),
            ),
            (U256::from(2u8), U256::from(1u8)),
            (U256::MAX, U256::from(1u8)),
            (U256::from(1u8), U256::MAX),
        ];
        for (num, den) in cases {
            let r = U512::from(sqrt_price_x96(num, den));
            // r^2 * den <= num * 2^192 < (r+1)^2 * den
            let target = U512::from(num) << 192usize;
            let den = U512::from(den);
            assert!(r * r * den <= target, "{num}/{den}");
            let r1 = r + U512::ONE;
            assert!(r1 * r1 * den > target, "{num}/{den}");
        }
    }

    #[test]
    fn usdc_weth_example() {
        // WETH as token0: 3000e6 USDC units per 1e18 WETH units; sqrt(3e-9) * 2^96.
        let p = sqrt_price_x96(
            U256::from(3_000_000_000u64),
            U256::from(10u64).pow(U256::from(18u8)),
        );
        let approx = 3e-9f64.sqrt() * 2f64.powi(96);
        let got: f64 = p.to_string().parse().unwrap();
        assert!((got / approx - 1.0).abs() < 1e-12, "{got} vs {approx}");
    }
}
