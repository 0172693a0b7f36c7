//! The policy for an action kind decides what a proposal becomes: approved at once,
//! waiting for the operator, or dropped.

use super::{ActionState, Actor, Estimate, PolicyMode};
use crate::config::ActionPolicyConfig;

const WEI_PER_GWEI: u128 = 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub state: ActionState,
    pub actor: Actor,
    pub note: Option<String>,
}

pub fn decide(policy: &ActionPolicyConfig, estimate: &Estimate) -> Decision {
    match policy.mode {
        PolicyMode::Off => Decision {
            state: ActionState::Rejected,
            actor: Actor::Policy,
            note: Some("policy is off for this kind".into()),
        },
        PolicyMode::Confirm => Decision {
            state: ActionState::Proposed,
            actor: Actor::Policy,
            note: None,
        },
        PolicyMode::Auto => match auto_blocker(policy, estimate) {
            // Above a threshold an auto action does not run blind: a person looks first.
            Some(reason) => Decision {
                state: ActionState::Proposed,
                actor: Actor::Policy,
                note: Some(reason),
            },
            None => Decision {
                state: ActionState::Approved,
                actor: Actor::Policy,
                note: Some("auto policy".into()),
            },
        },
    }
}

fn auto_blocker(policy: &ActionPolicyConfig, estimate: &Estimate) -> Option<String> {
    let cap_wei = u128::from(policy.max_gas_cost_gwei) * WEI_PER_GWEI;
    if policy.max_gas_cost_gwei > 0 && estimate.gas_cost_wei > cap_wei {
        return Some(format!(
            "fee {} gwei is above the auto cap of {} gwei; waiting for confirmation",
            estimate.gas_cost_wei.div_ceil(WEI_PER_GWEI),
            policy.max_gas_cost_gwei
        ));
    }
    match estimate.profit_usd_cents {
        Some(profit) if policy.min_profit_usd_cents > 0 && profit < policy.min_profit_usd_cents => {
            Some(format!(
                "profit {profit} US cents is below the auto floor of {} US cents; waiting for confirmation",
                policy.min_profit_usd_cents
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(mode: PolicyMode, cap_gwei: u64, min_cents: i64) -> ActionPolicyConfig {
        ActionPolicyConfig {
            mode,
            max_gas_cost_gwei: cap_gwei,
            min_profit_usd_cents: min_cents,
        }
    }

    fn est(gas_wei: u128, profit: Option<i64>) -> Estimate {
        Estimate {
            gas_cost_wei: gas_wei,
            profit_usd_cents: profit,
        }
    }

    #[test]
    fn modes_map_to_states() {
        let e = est(0, None);
        assert_eq!(
            decide(&policy(PolicyMode::Auto, 0, 0), &e).state,
            ActionState::Approved
        );
        assert_eq!(
            decide(&policy(PolicyMode::Confirm, 0, 0), &e).state,
            ActionState::Proposed
        );
        assert_eq!(
            decide(&policy(PolicyMode::Off, 0, 0), &e).state,
            ActionState::Rejected
        );
    }

    #[test]
    fn gas_cap_is_inclusive_and_exact_to_the_wei() {
        let p = policy(PolicyMode::Auto, 21, 0);
        assert_eq!(
            decide(&p, &est(21_000_000_000, None)).state,
            ActionState::Approved
        );
        let d = decide(&p, &est(21_000_000_001, None));
        assert_eq!(d.state, ActionState::Proposed);
        assert_eq!(
            d.note.unwrap(),
            "fee 22 gwei is above the auto cap of 21 gwei; waiting for confirmation"
        );
    }

    #[test]
    fn profit_floor_only_applies_to_actions_that_estimate_profit() {
        let p = policy(PolicyMode::Auto, 0, 500);
        assert_eq!(decide(&p, &est(0, Some(499))).state, ActionState::Proposed);
        assert_eq!(decide(&p, &est(0, Some(500))).state, ActionState::Approved);
        assert_eq!(decide(&p, &est(0, None)).state, ActionState::Approved);
        assert_eq!(decide(&p, &est(0, Some(-1))).state, ActionState::Proposed);
    }
}
