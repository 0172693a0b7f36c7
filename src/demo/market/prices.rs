//! The market's prices: BTC, ETH and BCH in USD on a seeded random walk, a scripted first
//! act (a sharp fall at 40 s, the recovery at 110 s: liquidations, a perp hedge opened and
//! closed, an in-the-money pool policy), then shocks at random. Each second's prices go out
//! as a signed devnet Pyth update (the oracle desk's Hermes); the margin module's oracle
//! follows when a price has moved enough; the AnyHedge oracle signs BCH/USD every few
//! seconds.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use rand::RngExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{MarketContext, MarketPrices};
use crate::devnet::gp_oracle::DevnetOracle;
use crate::devnet::hermes::DevnetHermes;
use crate::devnet::margin::{Token, pair_sqrt_price};
use crate::devnet::receipt::mined;
use crate::devnet::scenario::{PYTH_BTC_USD, PYTH_ETH_USD};
use crate::oracle::wire::message::PriceFeedMessage;

/// Seconds between ticks.
const TICK: Duration = Duration::from_secs(1);
/// The AnyHedge oracle signs every this many ticks.
const BCH_EVERY: u64 = 3;
/// The margin oracle is moved when a price is this many bps from what it holds...
const MARGIN_MOVE_BPS: i64 = 30;
/// ... or after this many ticks.
const MARGIN_EVERY: u64 = 15;

/// Where prices go, and where the walk starts.
pub struct PriceFeeds {
    pub hermes: DevnetHermes,
    pub gp_oracle: DevnetOracle,
    pub margin_oracle: Address,
    pub usdc: Token,
    pub weth: Token,
    pub wbtc: Token,
    pub prices: watch::Sender<MarketPrices>,
}

/// One asset's walk, in basis points of movement per tick.
#[derive(Debug, Clone)]
pub struct Walk {
    pub price: i64,
    /// The largest ordinary step, bps.
    pub step_bps: i64,
    /// A shock in progress: bps per tick and ticks left.
    shock: Option<(i64, u32)>,
}

impl Walk {
    pub fn new(price: i64, step_bps: i64) -> Self {
        Walk {
            price,
            step_bps,
            shock: None,
        }
    }

    /// Starts a move of `total_bps` spread over `ticks`.
    pub fn shock(&mut self, total_bps: i64, ticks: u32) {
        self.shock = Some((total_bps / i64::from(ticks.max(1)), ticks.max(1)));
    }

    /// The next price: the shock's share if one is running, else a random step.
    pub fn step(&mut self, rng: &mut impl rand::Rng) -> i64 {
        let bps = match &mut self.shock {
            Some((per_tick, left)) => {
                let bps = *per_tick;
                *left -= 1;
                if *left == 0 {
                    self.shock = None;
                }
                bps
            }
            None => rng.random_range(-self.step_bps..=self.step_bps),
        };
        self.price = (self.price * (10_000 + bps) / 10_000).max(1);
        self.price
    }
}

/// The scripted first act, by second since the market started: `(second, total bps,
/// ticks)` applied to BTC, ETH and BCH alike.
const SCRIPT: [(u64, i64, u32); 2] = [(40, -1_400, 5), (110, 1_500, 5)];
/// After the script, a shock starts on a tick with probability 1 / this.
const SHOCK_ODDS: u32 = 120;

pub async fn run(ctx: Arc<MarketContext>, feeds: PriceFeeds, cancel: CancellationToken) {
    let mut rng = ctx.rng("prices");
    let start = ctx.now_prices();
    let mut btc = Walk::new(start.btc_usd_e8, 12);
    let mut eth = Walk::new(start.eth_usd_e8, 15);
    let mut bch = Walk::new(i64::from(start.bch_usd_cents), 20);
    let mut margin_held: Option<(i64, i64)> = None;
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for tick in 0u64.. {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let second = ctx.elapsed().as_secs();
        if let Some((_, bps, n)) = SCRIPT.iter().find(|(at, _, _)| *at == second) {
            for w in [&mut btc, &mut eth, &mut bch] {
                w.shock(*bps, *n);
            }
        } else if second > SCRIPT[SCRIPT.len() - 1].0 + 30 && rng.random_ratio(1, SHOCK_ODDS) {
            let size = rng.random_range(500..=1_200) * if rng.random_bool(0.5) { 1 } else { -1 };
            for w in [&mut btc, &mut eth, &mut bch] {
                w.shock(size, 5);
            }
            tracing::info!(bps = size, "demo market: a shock");
        }
        let now_ms = chrono::Utc::now().timestamp_millis();
        let prices = MarketPrices {
            btc_usd_e8: btc.step(&mut rng),
            eth_usd_e8: eth.step(&mut rng),
            bch_usd_cents: bch.step(&mut rng).clamp(1, i64::from(i32::MAX)) as i32,
            at_ms: now_ms,
        };
        feeds.prices.send_replace(prices);
        let now = now_ms / 1_000;
        feeds.hermes.publish(vec![
            pyth_message(PYTH_BTC_USD, prices.btc_usd_e8, now),
            pyth_message(PYTH_ETH_USD, prices.eth_usd_e8, now),
        ]);
        if tick % BCH_EVERY == 0
            && let Err(e) = feeds.gp_oracle.publish(now as i32, prices.bch_usd_cents)
        {
            tracing::warn!(error = %e, "demo market: BCH/USD not signed");
        }
        let moved = |held: i64, now: i64| (now - held).abs() * 10_000 >= held * MARGIN_MOVE_BPS;
        let due = match margin_held {
            None => true,
            Some((b, e)) => {
                tick % MARGIN_EVERY == 0
                    || moved(b, prices.btc_usd_e8)
                    || moved(e, prices.eth_usd_e8)
            }
        };
        if due {
            match set_margin_prices(&ctx, &feeds, &prices).await {
                Ok(()) => margin_held = Some((prices.btc_usd_e8, prices.eth_usd_e8)),
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "demo market: margin oracle not moved")
                }
            }
        }
    }
}

fn pyth_message(feed_id: alloy::primitives::B256, price: i64, now: i64) -> PriceFeedMessage {
    PriceFeedMessage {
        feed_id,
        price,
        conf: (price / 2_000) as u64,
        exponent: -8,
        publish_time: now,
        prev_publish_time: now - 1,
        ema_price: price,
        ema_conf: (price / 2_000) as u64,
    }
}

/// WETH and WBTC in USDC on the margin module's oracle, as the owner.
async fn set_margin_prices(
    ctx: &MarketContext,
    feeds: &PriceFeeds,
    prices: &MarketPrices,
) -> anyhow::Result<()> {
    let (_guard, owner) = ctx.as_owner().await;
    let oracle = crate::chain::contracts::MarginOracle::new(feeds.margin_oracle, &owner);
    for (asset, usd_e8) in [
        (feeds.weth, prices.eth_usd_e8),
        (feeds.wbtc, prices.btc_usd_e8),
    ] {
        let sqrt = pair_sqrt_price(feeds.usdc, asset, &usd_text(usd_e8))?;
        mined(
            oracle.setSqrtPriceX96(feeds.usdc.address, asset.address, sqrt.to()),
            "MarginOracle.setSqrtPriceX96",
        )
        .await?;
    }
    Ok(())
}

/// USD × 10^8 as a decimal (`6012345678900` → `"60123.456789"`).
fn usd_text(e8: i64) -> String {
    let whole = e8 / 100_000_000;
    let frac = e8 % 100_000_000;
    format!("{whole}.{frac:08}")
}

/// The walk's start for `seed`-independent defaults: 60,000 a BTC, 3,000 an ETH, 300 a BCH
/// (the devnet scenario's prices).
pub fn opening_prices() -> MarketPrices {
    MarketPrices {
        btc_usd_e8: 6_000_000_000_000,
        eth_usd_e8: 300_000_000_000,
        bch_usd_cents: 30_000,
        at_ms: chrono::Utc::now().timestamp_millis(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_walk_is_replayed_by_its_seed_and_stays_within_its_step() {
        let run = |seed| {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut w = Walk::new(6_000_000_000_000, 12);
            (0..500).map(|_| w.step(&mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let mut last = 6_000_000_000_000i64;
        for p in run(7) {
            assert!(
                (p - last).abs() * 10_000 <= last * 12 + 10_000,
                "{last} -> {p}"
            );
            last = p;
        }
    }

    #[test]
    fn a_shock_moves_the_price_by_its_size_over_its_ticks() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut w = Walk::new(1_000_000, 0);
        w.shock(-1_400, 5);
        let path: Vec<i64> = (0..6).map(|_| w.step(&mut rng)).collect();
        // -280 bps five times, compounding, then back to the (zero) walk.
        assert_eq!(
            path,
            vec![972_000, 944_784, 918_330, 892_616, 867_622, 867_622]
        );
    }

    #[test]
    fn usd_text_keeps_every_digit() {
        assert_eq!(usd_text(6_012_345_678_900), "60123.45678900");
        assert_eq!(usd_text(300_000_000_000), "3000.00000000");
    }
}
