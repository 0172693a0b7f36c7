//! The liquidator desk's devnet contracts: the Dex223 margin module copy
//! (`contracts/MarginModule.sol`) and its price oracle / market maker
//! (`contracts/MarginOracle.sol`), and the price encoding the oracle takes.
//!
//! Shared by the desk and the tests so both deploy and price the same way.

use alloy::primitives::{Address, U256, U512};
use alloy::providers::Provider;
use anyhow::Context;

use super::receipt::mined;
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

/// A token as the seed helpers need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub address: Address,
    pub decimals: u8,
}

/// The oracle's `sqrtPriceX96` for "one whole `asset` is worth `price` whole `base`"
/// (`price` a positive decimal such as `"3000"` or `"0.5"`), in the pair's own direction.
pub fn pair_sqrt_price(base: Token, asset: Token, price: &str) -> anyhow::Result<U256> {
    let price = crate::liquidator::usd::UsdPrice::parse(price)
        .map_err(|e| anyhow::anyhow!("price: {e}"))?;
    let ten = U256::from(10u8);
    // raw base per raw asset = mantissa·10^base_dec / 10^(places + asset_dec)
    let num = U256::from(price.mantissa as u128) * ten.pow(U256::from(base.decimals));
    let places = u64::from(price.expo.unsigned_abs()) + u64::from(asset.decimals);
    let den = ten.pow(U256::from(places));
    // The oracle prices token1 per token0, token0 being the lower address.
    Ok(if asset.address < base.address {
        sqrt_price_x96(num, den)
    } else {
        sqrt_price_x96(den, num)
    })
}

/// Sets the oracle's price of `asset` in `base` (see [`pair_sqrt_price`]); `provider`
/// signs as the oracle's owner. Returns the `sqrtPriceX96` set.
pub async fn set_price<P: Provider>(
    provider: &P,
    oracle: Address,
    base: Token,
    asset: Token,
    price: &str,
) -> anyhow::Result<U256> {
    let sqrt = pair_sqrt_price(base, asset, price)?;
    MarginOracle::new(oracle, provider)
        .setSqrtPriceX96(base.address, asset.address, sqrt.to())
        .send()
        .await
        .context("setSqrtPriceX96")?
        .get_receipt()
        .await
        .context("setSqrtPriceX96's receipt")?;
    Ok(sqrt)
}

/// Approves `spender` for the whole balance of `token` (seeding only).
pub async fn approve_all<P: Provider>(
    provider: &P,
    token: Address,
    spender: Address,
) -> anyhow::Result<()> {
    let token = crate::chain::contracts::TestToken::new(token, provider);
    mined(token.approve(spender, U256::MAX), "approve").await?;
    Ok(())
}

/// The lender creates `params`' order and deposits `deposit` of its base asset; returns
/// the order id. `provider` signs as the lender.
pub async fn open_order<P: Provider>(
    provider: &P,
    module: Address,
    params: crate::liquidator::abi::OrderParams,
    deposit: U256,
) -> anyhow::Result<U256> {
    let margin = crate::liquidator::abi::IMarginModule::new(module, provider);
    approve_all(provider, params.asset, module).await?;
    let id = margin.orderIndex().call().await.context("orderIndex")?;
    mined(margin.createOrder(params), "createOrder").await?;
    if !deposit.is_zero() {
        mined(margin.orderDepositToken(id, deposit), "orderDepositToken").await?;
    }
    Ok(id)
}

/// A borrower takes `amount` from `order` against `collateral_amount` of its collateral
/// `collateral_idx`, paying `eth_reward` wei when the order's reward is in ETH (an ERC-20
/// reward and the collateral are approved first). Returns the position id.
pub async fn take_loan<P: Provider>(
    provider: &P,
    module: Address,
    order: U256,
    amount: U256,
    collateral_idx: usize,
    collateral_amount: U256,
) -> anyhow::Result<U256> {
    let margin = crate::liquidator::abi::IMarginModule::new(module, provider);
    let collaterals = margin
        .getCollaterals(order)
        .call()
        .await
        .context("getCollaterals")?;
    let collateral = *collaterals
        .get(collateral_idx)
        .context("collateral_idx: the order has no such collateral")?;
    approve_all(provider, collateral, module).await?;
    let (reward_amount, reward_asset, _) = {
        let r = margin
            .getOrderExpirationData(order)
            .call()
            .await
            .context("getOrderExpirationData")?;
        (r._0, r._1, r._2)
    };
    let value = if reward_asset == Address::ZERO {
        reward_amount
    } else {
        if reward_asset != collateral {
            approve_all(provider, reward_asset, module).await?;
        }
        U256::ZERO
    };
    let id = margin
        .positionIndex()
        .call()
        .await
        .context("positionIndex")?;
    mined(
        margin
            .takeLoan(order, amount, U256::from(collateral_idx), collateral_amount)
            .value(value),
        "takeLoan",
    )
    .await?;
    Ok(id)
}

/// The position's owner trades `amount` of its holding `sell` for `buy` at the oracle's
/// price (`marginSwap`; `buy` must be the base asset, the initial collateral or on the
/// order's whitelist). `provider` signs as the owner.
pub async fn margin_swap<P: Provider>(
    provider: &P,
    module: Address,
    position: U256,
    sell: Address,
    amount: U256,
    buy: Address,
) -> anyhow::Result<()> {
    let margin = MarginModule::new(module, provider);
    let sell_index = margin
        .getAssetId(position, sell)
        .call()
        .await
        .context("getAssetId")?;
    let p = margin
        .positions(position)
        .call()
        .await
        .context("positions")?;
    let order = margin.orders(p.orderId).call().await.context("orders")?;
    let whitelist = margin
        .getTokenlist(order.whitelist)
        .call()
        .await
        .context("getTokenlist")?;
    let buy_index = whitelist.iter().position(|t| *t == buy).unwrap_or(0);
    mined(
        margin.marginSwap(
            position,
            sell_index,
            U256::ZERO,
            U256::from(buy_index),
            amount,
            buy,
            alloy::primitives::Uint::<24, 1>::from(3000u32),
            U256::ZERO,
            alloy::primitives::U160::ZERO,
        ),
        "marginSwap",
    )
    .await?;
    Ok(())
}

/// A decimal amount of whole tokens (`"0.5"`) in base units of a token with `decimals`;
/// more decimal places than the token has is an error.
pub fn units(text: &str, decimals: u8) -> anyhow::Result<U256> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    anyhow::ensure!(
        !whole.is_empty()
            && whole.chars().all(|c| c.is_ascii_digit())
            && fraction.chars().all(|c| c.is_ascii_digit()),
        "amount: expected a decimal number of tokens, got {text:?}"
    );
    anyhow::ensure!(
        fraction.len() <= usize::from(decimals),
        "amount: {text:?} has more than {decimals} decimal places"
    );
    let padded = format!("{whole}{fraction:0<width$}", width = usize::from(decimals));
    padded
        .parse::<U256>()
        .map_err(|e| anyhow::anyhow!("amount: {text:?}: {e}"))
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
