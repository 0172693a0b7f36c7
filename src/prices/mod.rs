//! The one price cache every desk reads. The oracle desk feeds it verified Pyth prices;
//! desks read snapshots (never a half-applied update) and wait for changes on a watch.
//! A price never moves backwards in time: an update older than what is held is refused.

use std::collections::BTreeMap;
use std::sync::Arc;

use alloy::primitives::B256;
use tokio::sync::watch;

/// One feed's latest verified price, as Pyth publishes it: `price·10^expo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    pub feed_id: B256,
    pub price: i64,
    pub conf: u64,
    pub expo: i32,
    pub ema_price: i64,
    pub ema_conf: u64,
    /// Unix seconds at which Pyth published it.
    pub publish_time: i64,
}

impl Price {
    /// Seconds between publication and `now` (0 if published "in the future").
    pub fn age_secs(&self, now_unix: i64) -> u64 {
        now_unix.saturating_sub(self.publish_time).max(0) as u64
    }

    /// The price scaled to `decimals` decimal places, truncated toward zero: exact integer
    /// arithmetic (e.g. US cents with `decimals = 2`). `None` on overflow.
    pub fn scaled(&self, decimals: u32) -> Option<i128> {
        let shift = i64::from(decimals) + i64::from(self.expo);
        let price = i128::from(self.price);
        if shift >= 0 {
            10i128
                .checked_pow(u32::try_from(shift).ok()?)
                .and_then(|m| price.checked_mul(m))
        } else {
            match 10i128.checked_pow(u32::try_from(-shift).ok()?) {
                Some(d) => Some(price / d),
                None => Some(0),
            }
        }
    }
}

/// Every feed's latest price, by feed id.
pub type PriceMap = BTreeMap<B256, Price>;

/// What an update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    New,
    Newer,
    /// Not newer than what is held: ignored.
    Stale {
        held_publish_time: i64,
    },
}

/// Cheap to clone; all clones share one cache.
#[derive(Clone)]
pub struct PriceCache {
    tx: Arc<watch::Sender<Arc<PriceMap>>>,
}

impl Default for PriceCache {
    fn default() -> Self {
        Self::new()
    }
}

impl PriceCache {
    pub fn new() -> Self {
        Self {
            tx: Arc::new(watch::channel(Arc::new(PriceMap::new())).0),
        }
    }

    /// Applies verified prices; returns what happened to each, in order. Readers see all
    /// of a batch or none of it.
    pub fn apply(&self, prices: &[Price]) -> Vec<Applied> {
        let mut outcomes = Vec::with_capacity(prices.len());
        self.tx.send_if_modified(|map| {
            let mut next: Option<PriceMap> = None;
            for price in prices {
                let current = next.as_ref().unwrap_or(map).get(&price.feed_id).copied();
                let outcome = match current {
                    Some(held) if held.publish_time >= price.publish_time => Applied::Stale {
                        held_publish_time: held.publish_time,
                    },
                    Some(_) => Applied::Newer,
                    None => Applied::New,
                };
                if !matches!(outcome, Applied::Stale { .. }) {
                    next.get_or_insert_with(|| (**map).clone())
                        .insert(price.feed_id, *price);
                }
                outcomes.push(outcome);
            }
            match next {
                Some(next) => {
                    *map = Arc::new(next);
                    true
                }
                None => false,
            }
        });
        outcomes
    }

    pub fn get(&self, feed_id: &B256) -> Option<Price> {
        self.tx.borrow().get(feed_id).copied()
    }

    pub fn snapshot(&self) -> Arc<PriceMap> {
        self.tx.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<PriceMap>> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn btc(price: i64, publish_time: i64) -> Price {
        Price {
            feed_id: B256::repeat_byte(0xe6),
            price,
            conf: 3_287_868_567,
            expo: -8,
            ema_price: price,
            ema_conf: 1,
            publish_time,
        }
    }

    #[test]
    fn prices_only_move_forward_in_time() {
        let cache = PriceCache::new();
        let mut rx = cache.subscribe();
        assert_eq!(cache.apply(&[btc(6_140_993_501_000, 100)]), [Applied::New]);
        assert!(rx.has_changed().unwrap());
        rx.mark_unchanged();
        assert_eq!(
            cache.apply(&[btc(1, 100), btc(2, 99)]),
            [
                Applied::Stale {
                    held_publish_time: 100
                },
                Applied::Stale {
                    held_publish_time: 100
                }
            ]
        );
        assert!(!rx.has_changed().unwrap(), "nothing changed, nobody woken");
        assert_eq!(cache.apply(&[btc(7, 101)]), [Applied::Newer]);
        assert_eq!(cache.get(&B256::repeat_byte(0xe6)).unwrap().price, 7);
        assert_eq!(cache.snapshot().len(), 1);
    }

    #[test]
    fn scaled_prices_are_exact() {
        let p = btc(6_140_993_501_000, 100);
        assert_eq!(p.scaled(2), Some(6_140_993), "US cents, truncated");
        assert_eq!(p.scaled(8), Some(6_140_993_501_000));
        assert_eq!(p.scaled(10), Some(614_099_350_100_000));
        assert_eq!(p.scaled(0), Some(61_409));
        assert_eq!(btc(i64::MAX, 1).scaled(40), None, "overflow is None");
        assert_eq!(p.age_secs(130), 30);
        assert_eq!(p.age_secs(90), 0);
    }
}
