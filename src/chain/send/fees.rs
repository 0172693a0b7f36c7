//! EIP-1559 fees: a quote from `eth_feeHistory`, the capped fees for a new transaction,
//! and the bumped fees of a replacement. All in wei per gas, integers only.

use alloy::eips::BlockNumberOrTag;
use alloy::providers::{Provider, RootProvider};

use super::error::SendError;
use crate::config::ChainConfig;

const GWEI: u128 = 1_000_000_000;
/// Blocks of history behind a tip suggestion.
const HISTORY_BLOCKS: u64 = 10;
/// The smallest raise nodes accept for a replacement (geth's and anvil's `price bump`).
pub const MIN_REPLACEMENT_BUMP_PERCENT: u64 = 10;

/// The fee limits of one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeePolicy {
    /// Cap on `max_fee_per_gas`. A send whose base fee is above it waits.
    pub max_fee_per_gas: u128,
    /// Cap on `max_priority_fee_per_gas` (the tip).
    pub max_priority_fee_per_gas: u128,
    /// Floor on the tip when recent blocks paid less (an empty devnet pays 0).
    pub min_priority_fee_per_gas: u128,
    /// A replacement raises both fees by at least this many percent.
    pub bump_percent: u64,
}

impl FeePolicy {
    pub fn from_config(chain: &ChainConfig) -> FeePolicy {
        let tip_cap = u128::from(chain.max_priority_fee_gwei) * GWEI;
        FeePolicy {
            max_fee_per_gas: u128::from(chain.max_fee_gwei) * GWEI,
            max_priority_fee_per_gas: tip_cap,
            min_priority_fee_per_gas: GWEI.min(tip_cap),
            bump_percent: chain.fee_bump_percent,
        }
    }

    /// The fees of a new transaction: tip = the suggestion within [floor, cap];
    /// `max_fee = min(2 * base + tip, cap)`. A base fee above the cap is refused.
    pub fn fees_for(&self, quote: FeeQuote) -> Result<Fees, SendError> {
        if quote.base_fee > self.max_fee_per_gas {
            return Err(SendError::FeeCapExceeded {
                base_fee: quote.base_fee,
                cap: self.max_fee_per_gas,
            });
        }
        let tip = quote
            .suggested_tip
            .max(self.min_priority_fee_per_gas)
            .min(self.max_priority_fee_per_gas);
        let max_fee = quote
            .base_fee
            .saturating_mul(2)
            .saturating_add(tip)
            .min(self.max_fee_per_gas);
        Ok(Fees {
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: tip.min(max_fee),
        })
    }

    /// The fees of a replacement for a transaction that paid `old`: both raised by
    /// `bump_percent` (at least 1 wei), the max fee also to what the current base fee
    /// needs, each within its cap. `None` when the caps leave less than the raise nodes
    /// require to accept a replacement.
    pub fn bump(&self, old: Fees, base_fee: u128) -> Option<Fees> {
        let percent = self.bump_percent.max(MIN_REPLACEMENT_BUMP_PERCENT);
        let tip = raise(old.max_priority_fee_per_gas, percent).min(self.max_priority_fee_per_gas);
        let max_fee = raise(old.max_fee_per_gas, percent)
            .max(base_fee.saturating_mul(2).saturating_add(tip))
            .min(self.max_fee_per_gas);
        let tip = tip.min(max_fee);
        let enough = |new: u128, old: u128| {
            new > old
                && new.saturating_mul(100)
                    >= old.saturating_mul(100 + u128::from(MIN_REPLACEMENT_BUMP_PERCENT))
        };
        (enough(tip, old.max_priority_fee_per_gas) && enough(max_fee, old.max_fee_per_gas))
            .then_some(Fees {
                max_fee_per_gas: max_fee,
                max_priority_fee_per_gas: tip,
            })
    }
}

/// `value` raised by `percent`, rounded up, and by at least 1.
fn raise(value: u128, percent: u64) -> u128 {
    let raised = value
        .saturating_mul(100 + u128::from(percent))
        .div_ceil(100);
    raised.max(value.saturating_add(1))
}

/// What a transaction pays per gas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fees {
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
}

/// The market: the next block's base fee and the tip recent blocks paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeQuote {
    pub base_fee: u128,
    /// The median over recent blocks of each block's median tip.
    pub suggested_tip: u128,
}

/// Reads the market from `eth_feeHistory` over the last few blocks.
pub async fn quote(provider: &RootProvider) -> Result<FeeQuote, SendError> {
    let history = provider
        .get_fee_history(HISTORY_BLOCKS, BlockNumberOrTag::Latest, &[50.0])
        .await?;
    let base_fee = history.next_block_base_fee().ok_or_else(|| {
        SendError::Node("eth_feeHistory returned no base fee (not an EIP-1559 chain?)".into())
    })?;
    let mut tips: Vec<u128> = history
        .reward
        .unwrap_or_default()
        .iter()
        .filter_map(|block| block.first().copied())
        .collect();
    tips.sort_unstable();
    let suggested_tip = tips.get(tips.len() / 2).copied().unwrap_or(0);
    Ok(FeeQuote {
        base_fee,
        suggested_tip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> FeePolicy {
        FeePolicy::from_config(&ChainConfig {
            max_fee_gwei: 100,
            max_priority_fee_gwei: 3,
            fee_bump_percent: 25,
            ..ChainConfig::default()
        })
    }

    #[test]
    fn new_fees_follow_the_base_fee_within_the_caps() {
        let p = policy();
        let fees = p
            .fees_for(FeeQuote {
                base_fee: 10 * GWEI,
                suggested_tip: 0,
            })
            .unwrap();
        // Floor tip of 1 gwei on an empty chain; 2 * base + tip.
        assert_eq!(fees.max_priority_fee_per_gas, GWEI);
        assert_eq!(fees.max_fee_per_gas, 21 * GWEI);
        // A greedy market is capped at the tip cap.
        let fees = p
            .fees_for(FeeQuote {
                base_fee: 10 * GWEI,
                suggested_tip: 50 * GWEI,
            })
            .unwrap();
        assert_eq!(fees.max_priority_fee_per_gas, 3 * GWEI);
        // High base fee: max fee capped.
        let fees = p
            .fees_for(FeeQuote {
                base_fee: 60 * GWEI,
                suggested_tip: 0,
            })
            .unwrap();
        assert_eq!(fees.max_fee_per_gas, 100 * GWEI);
    }

    #[test]
    fn a_base_fee_over_the_cap_is_refused() {
        let err = policy()
            .fees_for(FeeQuote {
                base_fee: 101 * GWEI,
                suggested_tip: 0,
            })
            .unwrap_err();
        assert!(
            matches!(err, SendError::FeeCapExceeded { base_fee, cap } if base_fee == 101 * GWEI && cap == 100 * GWEI),
            "{err}"
        );
        assert!(err.to_string().contains("exceeds the max fee cap"));
    }

    #[test]
    fn bumps_raise_both_fees_by_the_percent_within_the_caps() {
        let p = policy();
        let old = Fees {
            max_fee_per_gas: 4 * GWEI,
            max_priority_fee_per_gas: GWEI,
        };
        let new = p.bump(old, GWEI).unwrap();
        assert_eq!(new.max_priority_fee_per_gas, GWEI * 125 / 100);
        assert_eq!(new.max_fee_per_gas, 5 * GWEI);
        // The max fee also covers a risen base fee.
        let new = p.bump(old, 10 * GWEI).unwrap();
        assert_eq!(new.max_fee_per_gas, 20 * GWEI + GWEI * 125 / 100);
        // A zero tip still rises.
        let new = p
            .bump(
                Fees {
                    max_fee_per_gas: 10,
                    max_priority_fee_per_gas: 0,
                },
                0,
            )
            .unwrap();
        assert_eq!((new.max_fee_per_gas, new.max_priority_fee_per_gas), (13, 1));
        // At the tip cap there is no valid replacement.
        assert_eq!(
            p.bump(
                Fees {
                    max_fee_per_gas: 10 * GWEI,
                    max_priority_fee_per_gas: 3 * GWEI,
                },
                GWEI
            ),
            None
        );
        // Near the max fee cap: less than 10% left is no replacement either.
        assert_eq!(
            p.bump(
                Fees {
                    max_fee_per_gas: 95 * GWEI,
                    max_priority_fee_per_gas: GWEI,
                },
                GWEI
            ),
            None
        );
    }
}
