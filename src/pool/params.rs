//! The pool desk's parameters as the math and the store take them, built from `[pool]`.

use std::str::FromStr;

use alloy::primitives::B256;
use rust_decimal::Decimal;

use super::math::premium::PremiumModel;
use super::model::{Prices, TierParams, Token, USD_E8};
use crate::config::PoolConfig;
use crate::prices::PriceMap;

/// `[pool]`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolParams {
    /// Provider tiers in order of preference.
    pub tiers: Vec<TierParams>,
    /// Buyer tier → provider tiers that may back it, in order of preference.
    pub buyer_tiers: Vec<(String, Vec<String>)>,
    pub default_tier: String,
    pub withdrawal_buffer_bps: u32,
    pub margin_call_grace_ms: i64,
    pub max_price_age_secs: u64,
    pub health_interval_secs: u64,
    pub btc_usd_feed: B256,
    pub eth_usd_feed: B256,
    pub premium: PremiumModel,
}

fn decimal(field: &str, text: &str) -> Result<Decimal, String> {
    Decimal::from_str(text.trim())
        .map_err(|_| format!("pool.{field}: expected a decimal, got {text:?}"))
}

fn capacity(field: &str, token: Token, text: &str) -> Result<Option<u128>, String> {
    let units = token
        .parse_units(text)
        .map_err(|why| format!("pool.{field}: {why}"))?;
    Ok((units > 0).then_some(units))
}

impl PoolParams {
    /// The parameters of a validated `[pool]` (an invalid one is an error naming the key).
    pub fn from_config(c: &PoolConfig) -> Result<PoolParams, String> {
        let tiers = c
            .tiers
            .iter()
            .enumerate()
            .map(|(i, t)| {
                Ok(TierParams {
                    name: t.name.clone(),
                    collateral_ratio_bps: t.collateral_ratio_bps,
                    warning_ratio_bps: t.warning_ratio_bps,
                    margin_call_ratio_bps: t.margin_call_ratio_bps,
                    premium_multiplier: decimal(
                        &format!("tiers[{i}].premium_multiplier"),
                        &t.premium_multiplier,
                    )?,
                    capacity_eth: capacity(
                        &format!("tiers[{i}].capacity_eth"),
                        Token::Eth,
                        &t.capacity_eth,
                    )?,
                    capacity_wbtc: capacity(
                        &format!("tiers[{i}].capacity_wbtc"),
                        Token::Wbtc,
                        &t.capacity_wbtc,
                    )?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let feed = |field: &str, text: &str| {
            B256::from_str(text.trim())
                .map_err(|_| format!("pool.{field}: expected 32 bytes hex, got {text:?}"))
        };
        Ok(PoolParams {
            tiers,
            buyer_tiers: c
                .buyer_tiers
                .iter()
                .map(|b| (b.name.clone(), b.backed_by.clone()))
                .collect(),
            default_tier: c.default_tier.clone(),
            withdrawal_buffer_bps: c.withdrawal_buffer_bps,
            margin_call_grace_ms: i64::try_from(c.margin_call_grace_secs.saturating_mul(1000))
                .unwrap_or(i64::MAX),
            max_price_age_secs: c.max_price_age_secs,
            health_interval_secs: c.health_interval_secs,
            btc_usd_feed: feed("btc_usd_feed", &c.btc_usd_feed)?,
            eth_usd_feed: feed("eth_usd_feed", &c.eth_usd_feed)?,
            premium: PremiumModel {
                volatility: decimal("premium.volatility", &c.premium.volatility)?,
                risk_free_rate: decimal("premium.risk_free_rate", &c.premium.risk_free_rate)?,
                risk_loading: decimal("premium.risk_loading", &c.premium.risk_loading)?,
                market_adjustment: decimal(
                    "premium.market_adjustment",
                    &c.premium.market_adjustment,
                )?,
            },
        })
    }

    pub fn tier(&self, name: &str) -> Option<&TierParams> {
        self.tiers.iter().find(|t| t.name == name)
    }

    /// The provider tiers that may back a policy of `buyer_tier`, in order of preference.
    pub fn backing_tiers(&self, buyer_tier: &str) -> Result<&[String], String> {
        self.buyer_tiers
            .iter()
            .find(|(name, _)| name == buyer_tier)
            .map(|(_, tiers)| tiers.as_slice())
            .ok_or_else(|| {
                format!(
                    "unknown buyer tier {buyer_tier:?} (expected one of {})",
                    self.buyer_tiers
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }

    /// BTC/USD and ETH/USD from the price cache as USD × 10^8, when both are there,
    /// positive and at most `max_price_age_secs` old at `now_unix`; otherwise `None`
    /// (health is then "unknown (stale prices)").
    pub fn fresh_prices(&self, prices: &PriceMap, now_unix: i64) -> Option<Prices> {
        let one = |feed: &B256| -> Option<u128> {
            let p = prices.get(feed)?;
            if p.age_secs(now_unix) > self.max_price_age_secs {
                return None;
            }
            let scaled = p.scaled(8)?;
            u128::try_from(scaled).ok().filter(|v| *v > 0)
        };
        debug_assert_eq!(USD_E8, 10u128.pow(8));
        Some(Prices {
            btc_usd: one(&self.btc_usd_feed)?,
            eth_usd: one(&self.eth_usd_feed)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prices::Price;

    #[test]
    fn the_default_config_parses() {
        let p = PoolParams::from_config(&PoolConfig::default()).unwrap();
        let names: Vec<&str> = p.tiers.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["conservative", "balanced", "aggressive"]);
        let balanced = p.tier("balanced").unwrap();
        assert_eq!(
            (
                balanced.collateral_ratio_bps,
                balanced.warning_ratio_bps,
                balanced.margin_call_ratio_bps
            ),
            (13_500, 13_500, 12_000)
        );
        assert_eq!(balanced.capacity(Token::Eth), None);
        assert_eq!(
            p.backing_tiers("standard").unwrap(),
            ["balanced", "conservative"]
        );
        assert!(
            p.backing_tiers("gold")
                .unwrap_err()
                .contains("crash_insurance")
        );
        assert_eq!(p.margin_call_grace_ms, 86_400_000);
        assert_eq!(p.premium.volatility, Decimal::from_str("0.5").unwrap());
    }

    #[test]
    fn capacities_are_whole_tokens() {
        let mut c = PoolConfig::default();
        c.tiers[0].capacity_wbtc = "2.5".into();
        let p = PoolParams::from_config(&c).unwrap();
        assert_eq!(p.tiers[0].capacity_wbtc, Some(250_000_000));
        c.tiers[0].capacity_wbtc = "lots".into();
        assert!(
            PoolParams::from_config(&c)
                .unwrap_err()
                .starts_with("pool.tiers[0].capacity_wbtc")
        );
    }

    #[test]
    fn prices_must_be_fresh() {
        let p = PoolParams::from_config(&PoolConfig::default()).unwrap();
        let price = |feed: B256, price: i64, at: i64| Price {
            feed_id: feed,
            price,
            conf: 0,
            expo: -8,
            ema_price: price,
            ema_conf: 0,
            publish_time: at,
        };
        let mut map = PriceMap::new();
        map.insert(
            p.btc_usd_feed,
            price(p.btc_usd_feed, 6_000_000_000_000, 1_000),
        );
        assert_eq!(p.fresh_prices(&map, 1_000), None, "no ETH price");
        map.insert(
            p.eth_usd_feed,
            Price {
                expo: -5,
                ..price(p.eth_usd_feed, 300_000_000, 1_000)
            },
        );
        assert_eq!(
            p.fresh_prices(&map, 1_120),
            Some(Prices {
                btc_usd: 6_000_000_000_000,
                eth_usd: 300_000_000_000
            })
        );
        assert_eq!(p.fresh_prices(&map, 1_121), None, "older than 120 s");
    }
}
