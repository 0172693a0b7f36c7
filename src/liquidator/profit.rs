//! Is a liquidation worth it? The order's reward, valued in US cents, minus the gas of
//! the calls still to make (freeze and confirm) at current fees; and the rules from
//! config: `min_profit`, `always_liquidate_reward_above`, `max_fee_per_gas`. The verdict
//! says why, for the pane.

use alloy::primitives::U256;

use super::usd::UsdPrice;

pub use crate::tui::format::usd_cents as dollars;

/// What the rule weighs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfitInputs {
    pub reward_amount: U256,
    pub reward_decimals: u8,
    /// `None`: no configured price for the reward asset.
    pub reward_price: Option<UsdPrice>,
    /// USD per native coin, for the gas; `None`: not configured.
    pub native_price: Option<UsdPrice>,
    /// Gas of the calls still to make (freeze + confirm, or only the confirm).
    pub gas: u64,
    /// What one gas costs now (base fee + tip), in wei.
    pub fee_per_gas: u128,
}

/// The desk's rules (from `[liquidator]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfitRules {
    pub min_profit_cents: i64,
    /// 0: off.
    pub always_above_cents: i64,
    pub max_fee_per_gas_wei: u128,
}

/// Worth it or not, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Worth(String),
    NotWorth(String),
    /// Cannot be judged (a price is missing).
    Unknown(String),
}

impl Verdict {
    pub fn is_worth(&self) -> bool {
        matches!(self, Verdict::Worth(_))
    }

    pub fn reason(&self) -> &str {
        match self {
            Verdict::Worth(r) | Verdict::NotWorth(r) | Verdict::Unknown(r) => r,
        }
    }
}

/// The estimate behind a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profitability {
    pub reward_usd_cents: Option<i64>,
    pub gas_wei: U256,
    pub gas_usd_cents: Option<i64>,
    pub profit_usd_cents: Option<i64>,
    pub verdict: Verdict,
}

pub fn judge(inputs: &ProfitInputs, rules: &ProfitRules) -> Profitability {
    let gas_wei = U256::from(inputs.gas) * U256::from(inputs.fee_per_gas);
    let reward_usd_cents = inputs
        .reward_price
        .and_then(|p| p.cents(inputs.reward_amount, inputs.reward_decimals));
    let gas_usd_cents = inputs.native_price.and_then(|p| p.cents(gas_wei, 18));
    let profit_usd_cents = match (reward_usd_cents, gas_usd_cents) {
        (Some(r), Some(g)) => r.checked_sub(g),
        _ => None,
    };
    let verdict = if inputs.fee_per_gas > rules.max_fee_per_gas_wei {
        Verdict::NotWorth(format!(
            "gas {} gwei is above max_fee_per_gas {} gwei",
            inputs.fee_per_gas / 1_000_000_000,
            rules.max_fee_per_gas_wei / 1_000_000_000
        ))
    } else {
        match (reward_usd_cents, gas_usd_cents, profit_usd_cents) {
            (None, _, _) if inputs.reward_price.is_none() => Verdict::Unknown(
                "no USD price for the reward asset (add it to [[liquidator.prices]])".into(),
            ),
            (_, None, _) if inputs.native_price.is_none() => Verdict::Unknown(
                "no USD price for the native coin to price gas (add asset = \"eth\" to [[liquidator.prices]])".into(),
            ),
            (Some(reward), Some(gas), Some(profit)) => {
                if profit >= rules.min_profit_cents {
                    Verdict::Worth(format!(
                        "profit {} (reward {} − gas {}) ≥ min_profit {}",
                        dollars(profit),
                        dollars(reward),
                        dollars(gas),
                        dollars(rules.min_profit_cents)
                    ))
                } else if rules.always_above_cents > 0 && reward > rules.always_above_cents {
                    Verdict::Worth(format!(
                        "reward {} is above always_liquidate_reward_above {} (profit {})",
                        dollars(reward),
                        dollars(rules.always_above_cents),
                        dollars(profit)
                    ))
                } else {
                    Verdict::NotWorth(format!(
                        "profit {} (reward {} − gas {}) is below min_profit {}",
                        dollars(profit),
                        dollars(reward),
                        dollars(gas),
                        dollars(rules.min_profit_cents)
                    ))
                }
            }
            _ => Verdict::Unknown("the reward or the gas is too large to value".into()),
        }
    };
    Profitability {
        reward_usd_cents,
        gas_wei,
        gas_usd_cents,
        profit_usd_cents,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GWEI: u128 = 1_000_000_000;

    fn inputs(reward_usdc: u64, gas: u64, gwei: u128) -> ProfitInputs {
        ProfitInputs {
            reward_amount: U256::from(reward_usdc * 1_000_000),
            reward_decimals: 6,
            reward_price: Some(UsdPrice::parse("1").unwrap()),
            native_price: Some(UsdPrice::parse("3000").unwrap()),
            gas,
            fee_per_gas: gwei * GWEI,
        }
    }

    fn rules(min: i64, always: i64) -> ProfitRules {
        ProfitRules {
            min_profit_cents: min,
            always_above_cents: always,
            max_fee_per_gas_wei: 200 * GWEI,
        }
    }

    #[test]
    fn reward_minus_gas_of_both_calls() {
        // 300,000 gas at 10 gwei = 0.003 ETH = $9.00; reward 25 USDC: profit $16.00.
        let p = judge(&inputs(25, 300_000, 10), &rules(1_000, 0));
        assert_eq!(p.reward_usd_cents, Some(2_500));
        assert_eq!(p.gas_wei, U256::from(3_000_000_000_000_000u64));
        assert_eq!(p.gas_usd_cents, Some(900));
        assert_eq!(p.profit_usd_cents, Some(1_600));
        assert_eq!(
            p.verdict,
            Verdict::Worth("profit $16.00 (reward $25.00 − gas $9.00) ≥ min_profit $10.00".into())
        );
    }

    #[test]
    fn a_loss_is_skipped_unless_the_reward_is_above_the_threshold() {
        // Reward $5, gas $9: a $4 loss.
        let skipped = judge(&inputs(5, 300_000, 10), &rules(0, 0));
        assert_eq!(skipped.profit_usd_cents, Some(-400));
        assert_eq!(
            skipped.verdict,
            Verdict::NotWorth(
                "profit -$4.00 (reward $5.00 − gas $9.00) is below min_profit $0.00".into()
            )
        );
        let forced = judge(&inputs(5, 300_000, 10), &rules(0, 400));
        assert_eq!(
            forced.verdict,
            Verdict::Worth(
                "reward $5.00 is above always_liquidate_reward_above $4.00 (profit -$4.00)".into()
            )
        );
        assert!(
            !judge(&inputs(5, 300_000, 10), &rules(0, 500))
                .verdict
                .is_worth(),
            "not above"
        );
    }

    #[test]
    fn fees_above_the_cap_and_missing_prices_say_so() {
        let capped = judge(&inputs(25, 300_000, 250), &rules(0, 0));
        assert_eq!(
            capped.verdict,
            Verdict::NotWorth("gas 250 gwei is above max_fee_per_gas 200 gwei".into())
        );
        let mut no_reward_price = inputs(25, 300_000, 10);
        no_reward_price.reward_price = None;
        assert!(
            matches!(judge(&no_reward_price, &rules(0, 0)).verdict, Verdict::Unknown(r) if r.contains("reward asset"))
        );
        let mut no_native = inputs(25, 300_000, 10);
        no_native.native_price = None;
        assert!(
            matches!(judge(&no_native, &rules(0, 0)).verdict, Verdict::Unknown(r) if r.contains("\"eth\""))
        );
        assert_eq!(dollars(-5), "-$0.05");
    }
}
