//! Each DePerp market's current price, from the oracle desk's Pyth cache by the market's
//! `pythFeed`: in DePerp's integer scale for the risk engine, and in USD for sizing hedges
//! and marking paper fills. A price older than the market's `feedMaxAge` is no price.

use std::collections::BTreeMap;

use alloy::primitives::U256;
use rust_decimal::Decimal;

use crate::perp::model::Market;
use crate::prices::{Price, PriceMap};

/// Why a market has no usable price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoPrice {
    /// The cache has nothing for its feed (not among the oracle desk's feeds, or not yet).
    Missing,
    /// Older than the market's `feedMaxAge`.
    Stale { age_secs: u64, max_age_secs: u64 },
    /// Zero, negative, or out of range once scaled.
    Unusable(i64),
}

impl NoPrice {
    pub fn describe(&self, market: &Market) -> String {
        match self {
            NoPrice::Missing => format!(
                "no price for {}: Pyth feed {} is not in the oracle desk's cache (is it among [oracle] feeds?)",
                market.name, market.pyth_feed
            ),
            NoPrice::Stale {
                age_secs,
                max_age_secs,
            } => format!(
                "no price for {}: its Pyth price is {age_secs}s old, past the market's feedMaxAge of {max_age_secs}s",
                market.name
            ),
            NoPrice::Unusable(price) => format!(
                "no price for {}: its Pyth price {price} is not positive or does not scale",
                market.name
            ),
        }
    }
}

/// One read's prices by market name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MarketPrices {
    /// DePerp's scale (`price_decimals`).
    pub scaled: BTreeMap<String, U256>,
    /// USD per one unit of the market's base asset.
    pub usd: BTreeMap<String, Decimal>,
    /// When each price was published (unix seconds).
    pub published: BTreeMap<String, i64>,
    pub missing: BTreeMap<String, NoPrice>,
}

/// The price of every market in `markets` from `cache` at `now` (unix seconds).
pub fn market_prices(
    markets: &[Market],
    cache: &PriceMap,
    price_decimals: u8,
    now: i64,
) -> MarketPrices {
    let mut out = MarketPrices::default();
    for market in markets {
        match market_price(market, cache.get(&market.pyth_feed), price_decimals, now) {
            Ok((scaled, usd, published)) => {
                out.scaled.insert(market.name.clone(), scaled);
                out.usd.insert(market.name.clone(), usd);
                out.published.insert(market.name.clone(), published);
            }
            Err(why) => {
                out.missing.insert(market.name.clone(), why);
            }
        }
    }
    out
}

fn market_price(
    market: &Market,
    price: Option<&Price>,
    price_decimals: u8,
    now: i64,
) -> Result<(U256, Decimal, i64), NoPrice> {
    let price = price.ok_or(NoPrice::Missing)?;
    let max_age_secs = u64::try_from(market.feed_max_age).unwrap_or(u64::MAX);
    let age_secs = price.age_secs(now);
    if max_age_secs > 0 && age_secs > max_age_secs {
        return Err(NoPrice::Stale {
            age_secs,
            max_age_secs,
        });
    }
    let unusable = || NoPrice::Unusable(price.price);
    let scaled = price
        .scaled(u32::from(price_decimals))
        .filter(|p| *p > 0)
        .ok_or_else(unusable)?;
    let usd = usd(price)
        .filter(|p| *p > Decimal::ZERO)
        .ok_or_else(unusable)?;
    Ok((U256::from(scaled as u128), usd, price.publish_time))
}

/// `price·10^expo` exactly.
fn usd(price: &Price) -> Option<Decimal> {
    if price.expo <= 0 {
        let scale = u32::try_from(-price.expo).ok()?;
        Decimal::try_from_i128_with_scale(i128::from(price.price), scale).ok()
    } else {
        let factor = 10i64.checked_pow(u32::try_from(price.expo).ok()?)?;
        Some(Decimal::from(price.price.checked_mul(factor)?))
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, B256};

    use super::*;

    fn market(name: &str, feed: u8, max_age: u64) -> Market {
        Market {
            name: name.into(),
            category: "crypto".into(),
            de_feed: Address::ZERO,
            max_leverage: U256::from(50),
            max_price_shift: U256::ZERO,
            fee: U256::ZERO,
            liq_threshold: U256::ZERO,
            funding_factor: U256::ZERO,
            min_order_age: U256::ZERO,
            feed_max_age: U256::from(max_age),
            pyth_feed: B256::repeat_byte(feed),
            market_live: true,
            is_reduce_only: false,
        }
    }

    fn pyth(feed: u8, price: i64, expo: i32, publish_time: i64) -> Price {
        Price {
            feed_id: B256::repeat_byte(feed),
            price,
            conf: 0,
            expo,
            ema_price: price,
            ema_conf: 0,
            publish_time,
        }
    }

    #[test]
    fn a_pyth_price_is_scaled_to_deperp_and_written_in_usd() {
        // BTC at 66,123.45678901 with Pyth's usual expo of -8.
        let cache = PriceMap::from([(B256::repeat_byte(1), pyth(1, 6_612_345_678_901, -8, 100))]);
        let prices = market_prices(&[market("BTC-USD", 1, 60)], &cache, 6, 130);
        assert_eq!(prices.scaled["BTC-USD"], U256::from(66_123_456_789u64));
        assert_eq!(prices.usd["BTC-USD"].to_string(), "66123.45678901");
        assert_eq!(prices.published["BTC-USD"], 100);
        let at_18 = market_prices(&[market("BTC-USD", 1, 60)], &cache, 18, 130);
        assert_eq!(
            at_18.scaled["BTC-USD"],
            U256::from(66_123_456_789_010_000_000_000u128)
        );
    }

    #[test]
    fn a_missing_stale_or_negative_price_is_no_price_with_its_reason() {
        let cache = PriceMap::from([
            (B256::repeat_byte(1), pyth(1, 300_000, -2, 100)),
            (B256::repeat_byte(2), pyth(2, -5, -2, 100)),
        ]);
        let markets = [
            market("ETH-USD", 1, 60),
            market("BAD-USD", 2, 0),
            market("SOL-USD", 3, 0),
        ];
        let prices = market_prices(&markets, &cache, 8, 161);
        assert_eq!(
            prices.missing["ETH-USD"],
            NoPrice::Stale {
                age_secs: 61,
                max_age_secs: 60
            }
        );
        assert_eq!(prices.missing["BAD-USD"], NoPrice::Unusable(-5));
        assert_eq!(prices.missing["SOL-USD"], NoPrice::Missing);
        assert!(prices.scaled.is_empty() && prices.usd.is_empty());
        // At the limit it is still fresh; a feedMaxAge of 0 never expires.
        let fresh = market_prices(&markets[..1], &cache, 8, 160);
        assert_eq!(fresh.usd["ETH-USD"].to_string(), "3000.00");
        assert!(
            NoPrice::Missing
                .describe(&markets[2])
                .contains("is not in the oracle desk's cache")
        );
    }
}
