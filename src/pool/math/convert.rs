//! `a·b/d` with a chosen rounding (through `U256`, so the product never overflows), and the
//! conversions between token units and USD × 10^8 at a price.

use alloy::primitives::U256;

use super::MathError;
use crate::pool::model::{BPS, Token, Units, UsdE8};

/// Which way a division rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    Down,
    Up,
}

/// `a·b/d`, rounded as asked. `d = 0` or a result above `u128::MAX` is an error naming `what`.
pub fn mul_div(
    a: u128,
    b: u128,
    d: u128,
    rounding: Rounding,
    what: &'static str,
) -> Result<u128, MathError> {
    if d == 0 {
        return Err(MathError::invalid(what, "division by zero"));
    }
    let product = U256::from(a) * U256::from(b);
    let d = U256::from(d);
    let mut q = product / d;
    if rounding == Rounding::Up && !(product % d).is_zero() {
        q += U256::from(1u8);
    }
    u128::try_from(q).map_err(|_| MathError::Overflow { what })
}

/// `x · bps / 10000`.
pub fn apply_bps(x: u128, bps: u32, rounding: Rounding) -> Result<u128, MathError> {
    mul_div(x, u128::from(bps), BPS, rounding, "amount × ratio")
}

/// The USD value (× 10^8) of `units` of `token` at `price` (USD × 10^8 per whole token):
/// `units · price / 10^decimals`.
pub fn units_to_usd(
    units: Units,
    token: Token,
    price: UsdE8,
    rounding: Rounding,
) -> Result<UsdE8, MathError> {
    mul_div(units, price, token.one(), rounding, "USD value")
}

/// The `token` units worth `usd` (× 10^8) at `price`: `usd · 10^decimals / price`.
pub fn usd_to_units(
    usd: UsdE8,
    token: Token,
    price: UsdE8,
    rounding: Rounding,
) -> Result<Units, MathError> {
    if price == 0 {
        return Err(MathError::ZeroPrice { token });
    }
    mul_div(usd, token.one(), price, rounding, "token amount")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_as_asked() {
        assert_eq!(mul_div(7, 3, 2, Rounding::Down, "x"), Ok(10));
        assert_eq!(mul_div(7, 3, 2, Rounding::Up, "x"), Ok(11));
        assert_eq!(mul_div(6, 3, 2, Rounding::Up, "x"), Ok(9));
        assert!(mul_div(1, 1, 0, Rounding::Down, "x").is_err());
        // The product may exceed u128; only the result must fit.
        assert_eq!(
            mul_div(u128::MAX, 10, 10, Rounding::Down, "x"),
            Ok(u128::MAX)
        );
        assert_eq!(
            mul_div(u128::MAX, 2, 1, Rounding::Down, "x"),
            Err(MathError::Overflow { what: "x" })
        );
    }

    #[test]
    fn usd_and_units_at_a_price() {
        // 1.5 BTC at 60,000 USD is 90,000 USD.
        let btc = 6_000_000_000_000;
        assert_eq!(
            units_to_usd(150_000_000, Token::Wbtc, btc, Rounding::Down),
            Ok(9_000_000_000_000)
        );
        // 3,000 USD at 2,000 USD/ETH is 1.5 ETH.
        let eth = 200_000_000_000;
        assert_eq!(
            usd_to_units(300_000_000_000, Token::Eth, eth, Rounding::Down),
            Ok(1_500_000_000_000_000_000)
        );
        // 1 USD at 60,000 USD/BTC is 1666.67 sats: down 1666, up 1667.
        assert_eq!(
            usd_to_units(100_000_000, Token::Wbtc, btc, Rounding::Down),
            Ok(1666)
        );
        assert_eq!(
            usd_to_units(100_000_000, Token::Wbtc, btc, Rounding::Up),
            Ok(1667)
        );
        assert_eq!(
            usd_to_units(1, Token::Eth, 0, Rounding::Up),
            Err(MathError::ZeroPrice { token: Token::Eth })
        );
        assert_eq!(apply_bps(1000, 12_500, Rounding::Up), Ok(1250));
        assert_eq!(apply_bps(3, 12_500, Rounding::Up), Ok(4));
        assert_eq!(apply_bps(3, 12_500, Rounding::Down), Ok(3));
    }
}
