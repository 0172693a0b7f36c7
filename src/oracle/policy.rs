//! When a feed must be published, like Pyth's price pusher: the on-chain price is too old,
//! the price moved too far, or the confidence interval is too wide. Integer arithmetic in
//! basis points.

use crate::config::FeedConfig;

/// What is on chain for a feed (publish time 0: never published).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnChain {
    pub price: i64,
    pub publish_time: u64,
}

/// Why a feed is due, if it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    Never,
    TimeDifference {
        secs: u64,
    },
    PriceDeviation {
        bps: u128,
    },
    ConfidenceRatio {
        bps: u128,
    },
    /// The operator asked to publish now.
    Operator,
}

impl std::fmt::Display for Due {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Due::Never => f.write_str("never published"),
            Due::TimeDifference { secs } => write!(f, "{secs}s newer"),
            Due::PriceDeviation { bps } => write!(f, "moved {bps} bps"),
            Due::ConfidenceRatio { bps } => write!(f, "confidence {bps} bps of price"),
            Due::Operator => f.write_str("operator asked"),
        }
    }
}

/// Whether the fresh price (`price`, `conf`, `publish_time`) must go out for `feed`.
/// A fresh price not newer than the on-chain one is never due.
pub fn due(
    feed: &FeedConfig,
    on_chain: OnChain,
    price: i64,
    conf: u64,
    publish_time: i64,
) -> Option<Due> {
    let publish_time = u64::try_from(publish_time).ok()?;
    if on_chain.publish_time == 0 {
        return Some(Due::Never);
    }
    if publish_time <= on_chain.publish_time {
        return None;
    }
    let age = publish_time - on_chain.publish_time;
    if age >= feed.time_difference_secs {
        return Some(Due::TimeDifference { secs: age });
    }
    let old = i128::from(on_chain.price).unsigned_abs();
    let moved = (i128::from(price) - i128::from(on_chain.price)).unsigned_abs();
    // A zero price has no relative move or ratio: those triggers stay quiet.
    if let Some(bps) = (moved * 10_000).checked_div(old)
        && bps >= u128::from(feed.price_deviation_bps)
    {
        return Some(Due::PriceDeviation { bps });
    }
    let magnitude = i128::from(price).unsigned_abs();
    if let Some(bps) = (u128::from(conf) * 10_000).checked_div(magnitude)
        && bps >= u128::from(feed.confidence_ratio_bps)
    {
        return Some(Due::ConfidenceRatio { bps });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed() -> FeedConfig {
        FeedConfig {
            symbol: "BTC/USD".into(),
            asset_id: 1,
            decimals: 8,
            price_id: String::new(),
            time_difference_secs: 60,
            price_deviation_bps: 50,
            confidence_ratio_bps: 100,
        }
    }

    const HELD: OnChain = OnChain {
        price: 6_000_000_000_000,
        publish_time: 1_000,
    };

    #[test]
    fn each_trigger_and_its_threshold() {
        let f = feed();
        assert_eq!(
            due(
                &f,
                OnChain {
                    price: 0,
                    publish_time: 0
                },
                1,
                0,
                5
            ),
            Some(Due::Never)
        );
        // Not newer: never due, whatever moved.
        assert_eq!(due(&f, HELD, 1, 0, 1_000), None);
        // 59 s newer, price and confidence within bounds: not due.
        assert_eq!(due(&f, HELD, 6_000_000_000_000, 1, 1_059), None);
        assert_eq!(
            due(&f, HELD, 6_000_000_000_000, 1, 1_060),
            Some(Due::TimeDifference { secs: 60 })
        );
        // 0.49% moved: not due; 0.5%: due (either direction).
        assert_eq!(due(&f, HELD, 6_029_400_000_000, 1, 1_001), None);
        assert_eq!(
            due(&f, HELD, 6_030_000_000_000, 1, 1_001),
            Some(Due::PriceDeviation { bps: 50 })
        );
        assert_eq!(
            due(&f, HELD, 5_970_000_000_000, 1, 1_001),
            Some(Due::PriceDeviation { bps: 50 })
        );
        // Confidence at 1% of the price.
        assert_eq!(
            due(&f, HELD, 6_000_000_000_000, 60_000_000_000, 1_001),
            Some(Due::ConfidenceRatio { bps: 100 })
        );
        assert_eq!(
            due(&f, HELD, 6_000_000_000_000, 59_999_999_999, 1_001),
            None
        );
    }
}
