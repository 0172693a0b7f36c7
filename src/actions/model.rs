//! What an action is: a desk's proposal to spend money or sign something, the plan
//! that will be signed, its estimates, and the states it moves through.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::desks::Desk;

/// Row id of an action in the journal.
pub type ActionId = i64;

/// Every kind of action a desk may propose. The config keys a policy by the snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    PublishPrices,
    FreezePosition,
    Liquidate,
    FundContract,
    SettleContract,
    MutualRedeem,
    OpenHedge,
    CloseHedge,
    SettlePolicy,
    ApproveWithdrawal,
    /// Pool desk: `lockCollateralAggregate` for newly sold policies (no funds move).
    LockCollateral,
    /// Pool desk: expire a policy and `releaseCollateralAggregate` its collateral.
    ExpirePolicy,
}

impl ActionKind {
    /// Whether this kind is a transaction (a contract call) rather than an exchange order.
    pub fn is_on_chain(self) -> bool {
        !matches!(self, ActionKind::OpenHedge | ActionKind::CloseHedge)
    }

    pub const ALL: [ActionKind; 12] = [
        ActionKind::PublishPrices,
        ActionKind::FreezePosition,
        ActionKind::Liquidate,
        ActionKind::FundContract,
        ActionKind::SettleContract,
        ActionKind::MutualRedeem,
        ActionKind::OpenHedge,
        ActionKind::CloseHedge,
        ActionKind::SettlePolicy,
        ActionKind::ApproveWithdrawal,
        ActionKind::LockCollateral,
        ActionKind::ExpirePolicy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::PublishPrices => "publish_prices",
            ActionKind::FreezePosition => "freeze_position",
            ActionKind::Liquidate => "liquidate",
            ActionKind::FundContract => "fund_contract",
            ActionKind::SettleContract => "settle_contract",
            ActionKind::MutualRedeem => "mutual_redeem",
            ActionKind::OpenHedge => "open_hedge",
            ActionKind::CloseHedge => "close_hedge",
            ActionKind::SettlePolicy => "settle_policy",
            ActionKind::ApproveWithdrawal => "approve_withdrawal",
            ActionKind::LockCollateral => "lock_collateral",
            ActionKind::ExpirePolicy => "expire_policy",
        }
    }

    /// The desk that proposes this kind.
    pub fn desk(self) -> Desk {
        match self {
            ActionKind::PublishPrices => Desk::Oracle,
            ActionKind::FreezePosition | ActionKind::Liquidate => Desk::Liquidator,
            ActionKind::FundContract | ActionKind::SettleContract | ActionKind::MutualRedeem => {
                Desk::AnyHedge
            }
            ActionKind::OpenHedge | ActionKind::CloseHedge => Desk::Perp,
            ActionKind::SettlePolicy
            | ActionKind::ApproveWithdrawal
            | ActionKind::LockCollateral
            | ActionKind::ExpirePolicy => Desk::Pool,
        }
    }

    /// Relaying prices and settling matured contracts are routine and time-critical, and
    /// the Vault's aggregate lock moves no funds (it records collateral of policies already
    /// sold); everything else moves the desk's own money and waits for the operator by
    /// default.
    pub fn default_mode(self) -> PolicyMode {
        match self {
            ActionKind::PublishPrices | ActionKind::SettleContract | ActionKind::LockCollateral => {
                PolicyMode::Auto
            }
            _ => PolicyMode::Confirm,
        }
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ActionKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActionKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown action kind `{s}`"))
    }
}

/// What the policy for a kind does with a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyMode {
    Auto,
    Confirm,
    Off,
}

/// proposed -> approved | rejected; approved -> sent | failed; sent -> confirmed | failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionState {
    Proposed,
    Approved,
    Rejected,
    Sent,
    Confirmed,
    Failed,
}

impl ActionState {
    pub const ALL: [ActionState; 6] = [
        ActionState::Proposed,
        ActionState::Approved,
        ActionState::Rejected,
        ActionState::Sent,
        ActionState::Confirmed,
        ActionState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionState::Proposed => "proposed",
            ActionState::Approved => "approved",
            ActionState::Rejected => "rejected",
            ActionState::Sent => "sent",
            ActionState::Confirmed => "confirmed",
            ActionState::Failed => "failed",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ActionState::Rejected | ActionState::Confirmed | ActionState::Failed
        )
    }

    pub fn can_move_to(self, next: ActionState) -> bool {
        use ActionState::*;
        matches!(
            (self, next),
            (Proposed, Approved)
                | (Proposed, Rejected)
                | (Approved, Sent)
                | (Approved, Failed)
                | (Sent, Confirmed)
                | (Sent, Failed)
        )
    }
}

impl fmt::Display for ActionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ActionState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActionState::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("unknown action state `{s}` (expected proposed, approved, rejected, sent, confirmed or failed)")
            })
    }
}

/// Who moved an action: recorded in the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Desk,
    Policy,
    Operator,
    Executor,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Desk => "desk",
            Actor::Policy => "policy",
            Actor::Operator => "operator",
            Actor::Executor => "executor",
        }
    }
}

/// Exactly what will be signed or sent, shown in the confirm popup before it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ActionPlan {
    /// A contract call signed by the operator's key.
    ContractCall {
        chain: String,
        /// 0x-prefixed checksummed address.
        contract: String,
        /// Human name of the contract, e.g. "PriceCaster".
        contract_name: String,
        /// Solidity signature, e.g. `liquidate(uint256,address)`.
        function: String,
        /// Argument name and rendered value, in call order.
        args: Vec<(String, String)>,
        /// Native value sent with the call, in wei (decimal string: may exceed u64).
        value_wei: String,
        gas_limit: u64,
        /// The exact call data that is signed, 0x-hex (selector and ABI-encoded arguments);
        /// `args` above is its rendering for people.
        #[serde(default)]
        calldata: String,
    },
    /// An order on an exchange venue.
    ExchangeOrder {
        venue: String,
        symbol: String,
        side: String,
        /// Decimal quantity as the venue takes it.
        quantity: String,
        order_type: String,
        reduce_only: bool,
        client_order_id: String,
        /// What the order hedges, e.g. DePerp's "BTC-USD" market (empty for none).
        #[serde(default)]
        market: String,
    },
}

/// Estimates the policy weighs. Integers only: wei and US cents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Estimate {
    /// Estimated total fee in wei (gas limit x max fee per gas).
    pub gas_cost_wei: u128,
    /// Expected profit in US cents, when the desk can estimate one.
    pub profit_usd_cents: Option<i64>,
}

/// A proposal as a desk submits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAction {
    /// Idempotency key chosen by the desk (e.g. `liquidate:31337:42`): proposing the
    /// same key twice returns the first action instead of journaling a second one.
    pub key: String,
    pub kind: ActionKind,
    pub summary: String,
    pub plan: ActionPlan,
    pub estimate: Estimate,
}

/// An action as the journal holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub id: ActionId,
    pub key: String,
    pub desk: Desk,
    pub kind: ActionKind,
    pub state: ActionState,
    pub summary: String,
    pub plan: ActionPlan,
    pub estimate: Estimate,
    /// Why it is in its state (policy reason, rejection, failure).
    pub note: Option<String>,
    pub tx_hash: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

/// One line of an action's audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionEvent {
    pub action_id: ActionId,
    pub from: Option<ActionState>,
    pub to: ActionState,
    pub actor: Actor,
    pub note: Option<String>,
    pub at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_allows_only_forward_moves() {
        use ActionState::*;
        assert!(Proposed.can_move_to(Approved));
        assert!(Proposed.can_move_to(Rejected));
        assert!(Approved.can_move_to(Sent));
        assert!(Sent.can_move_to(Confirmed));
        assert!(Sent.can_move_to(Failed));
        assert!(!Proposed.can_move_to(Sent));
        assert!(!Approved.can_move_to(Proposed));
        assert!(!Confirmed.can_move_to(Failed));
        assert!(!Rejected.can_move_to(Approved));
        for s in ActionState::ALL {
            if s.is_terminal() {
                assert!(ActionState::ALL.iter().all(|n| !s.can_move_to(*n)), "{s}");
            }
        }
    }

    #[test]
    fn all_lists_variants_in_declaration_order() {
        // Snapshot counts index arrays by `variant as usize`.
        for (i, k) in ActionKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i, "{k}");
        }
        for (i, s) in ActionState::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i, "{s}");
        }
    }

    #[test]
    fn kinds_and_states_round_trip_through_their_names() {
        for k in ActionKind::ALL {
            assert_eq!(k.as_str().parse::<ActionKind>().unwrap(), k);
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{k}\""));
        }
        for s in ActionState::ALL {
            assert_eq!(s.as_str().parse::<ActionState>().unwrap(), s);
        }
        assert!("liquidat".parse::<ActionKind>().is_err());
    }
}
