//! US-dollar values of token amounts, in integers: a price is `mantissa·10^expo` USD per
//! whole token (a Pyth price, or a fixed decimal from config), an amount is base units
//! of a token with `decimals`, and a value is whole US cents, truncated toward zero.

use alloy::primitives::U256;

/// USD per whole token: `mantissa · 10^expo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsdPrice {
    pub mantissa: i128,
    pub expo: i32,
}

impl UsdPrice {
    /// A fixed price written as a decimal: `"1"`, `"1.00"`, `"3012.5"`. Positive, at most
    /// 18 decimal places.
    pub fn parse(text: &str) -> Result<UsdPrice, String> {
        let text = text.trim();
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits_ok = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() || !digits_ok(whole) || !digits_ok(fraction) {
            return Err(format!(
                "expected a decimal number of US dollars such as \"1.00\", got {text:?}"
            ));
        }
        if fraction.len() > 18 {
            return Err(format!("expected at most 18 decimal places, got {text:?}"));
        }
        let mantissa: i128 = format!("{whole}{fraction}")
            .parse()
            .map_err(|_| format!("{text:?} is too large"))?;
        if mantissa <= 0 {
            return Err(format!("expected a price above 0, got {text:?}"));
        }
        Ok(UsdPrice {
            mantissa,
            expo: -(fraction.len() as i32),
        })
    }

    /// A Pyth price (`price · 10^expo`); `None` unless positive.
    pub fn from_pyth(price: &crate::prices::Price) -> Option<UsdPrice> {
        (price.price > 0).then_some(UsdPrice {
            mantissa: i128::from(price.price),
            expo: price.expo,
        })
    }

    /// The value of `amount` base units of a token with `decimals`, in US cents,
    /// truncated. `None` if it does not fit in an `i64`.
    pub fn cents(&self, amount: U256, decimals: u8) -> Option<i64> {
        // cents = amount · mantissa · 10^(expo + 2 − decimals)
        let product = amount.checked_mul(U256::from(self.mantissa.unsigned_abs()))?;
        let shift = i64::from(self.expo) + 2 - i64::from(decimals);
        let ten = U256::from(10u8);
        let scaled = if shift >= 0 {
            product.checked_mul(ten.checked_pow(U256::from(shift as u64))?)?
        } else {
            match ten.checked_pow(U256::from(shift.unsigned_abs())) {
                Some(divisor) => product / divisor,
                None => U256::ZERO,
            }
        };
        i64::try_from(scaled).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_prices_parse_exactly() {
        assert_eq!(
            UsdPrice::parse("1.00"),
            Ok(UsdPrice {
                mantissa: 100,
                expo: -2
            })
        );
        assert_eq!(
            UsdPrice::parse("3012.5"),
            Ok(UsdPrice {
                mantissa: 30125,
                expo: -1
            })
        );
        assert_eq!(
            UsdPrice::parse("7"),
            Ok(UsdPrice {
                mantissa: 7,
                expo: 0
            })
        );
        for bad in ["", "-1", "1.2.3", "abc", "0", "0.000", ".5", "1e3"] {
            assert!(UsdPrice::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn values_are_whole_cents_truncated() {
        let usdc = UsdPrice::parse("1.00").unwrap();
        // 12.345678 USDC (6 decimals) = 1234 cents.
        assert_eq!(usdc.cents(U256::from(12_345_678u64), 6), Some(1234));
        let eth = UsdPrice::parse("3000").unwrap();
        // 0.0021 ETH = 6.30 USD.
        assert_eq!(
            eth.cents(U256::from(2_100_000_000_000_000u64), 18),
            Some(630)
        );
        // A Pyth BTC price, expo -8: 61409.93501 USD; 0.5 WBTC (8 decimals).
        let btc = UsdPrice {
            mantissa: 6_140_993_501_000,
            expo: -8,
        };
        assert_eq!(btc.cents(U256::from(50_000_000u64), 8), Some(3_070_496));
        assert_eq!(eth.cents(U256::MAX, 18), None, "overflow is None");
    }
}
