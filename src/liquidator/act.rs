//! Turning decisions into actions and journal updates: the freeze and the confirm are
//! both `liquidate(positionId, receiver)` calls proposed through the action queue (keyed
//! by position and round, so a restart never proposes one twice); a round follows its
//! actions to the outcome and records what it really cost and earned.

use alloy::primitives::{Address, U256};

use super::desk::LiquidatorDesk;
use super::onchain::{OnChain, liquidate_calldata};
use super::pass::DeskState;
use super::profit::{Profitability, dollars};
use super::strategy::{ChainCheck, Decision};
use crate::actions::{Action, ActionKind, ActionPlan, ActionState, Estimate, NewAction};
use crate::store::{LiquidationRecord, LiquidationState, LiquidationUpdate};

fn plan(desk: &LiquidatorDesk, module: Address, id: u64, receiver: Address) -> ActionPlan {
    ActionPlan::ContractCall {
        chain: desk.chain.name().to_string(),
        contract: module.to_checksum(None),
        contract_name: "MarginModule".into(),
        function: "liquidate(uint256,address)".into(),
        args: vec![
            ("positionId".into(), id.to_string()),
            ("receiver".into(), receiver.to_checksum(None)),
        ],
        value_wei: "0".into(),
        gas_limit: 0,
        calldata: liquidate_calldata(id, receiver).to_string(),
    }
}

async fn action(desk: &LiquidatorDesk, id: Option<i64>) -> anyhow::Result<Option<Action>> {
    Ok(match id {
        Some(id) => desk.store.action(id).await?,
        None => None,
    })
}

fn update(state: LiquidationState, note: impl Into<String>) -> LiquidationUpdate {
    LiquidationUpdate {
        state: Some(state),
        note: Some(note.into()),
        ..LiquidationUpdate::default()
    }
}

/// Moves `round` to `to` with `note`; `None` when that is final.
async fn move_round(
    desk: &LiquidatorDesk,
    round: &LiquidationRecord,
    to: LiquidationState,
    note: impl Into<String>,
) -> anyhow::Result<Option<LiquidationRecord>> {
    let r = desk
        .store
        .update_liquidation(round.id, update(to, note))
        .await?;
    Ok((!r.state.is_final()).then_some(r))
}

/// Moves `round` on from what its actions did: the round as it stands, or `None` once it
/// reached a final state.
pub async fn follow(
    desk: &LiquidatorDesk,
    state: &DeskState,
    round: &LiquidationRecord,
    check: &ChainCheck,
) -> anyhow::Result<Option<LiquidationRecord>> {
    let store = &desk.store;
    let done = |r: LiquidationRecord| (!r.state.is_final()).then_some(r);
    match round.state {
        LiquidationState::Freezing => {
            let Some(freeze) = action(desk, round.freeze_action).await? else {
                return Ok(Some(round.clone()));
            };
            let why = freeze.note.clone().unwrap_or_default();
            match freeze.state {
                ActionState::Rejected | ActionState::Failed => {
                    move_round(
                        desk,
                        round,
                        LiquidationState::Failed,
                        format!("freeze {}: {why}", freeze.state),
                    )
                    .await
                }
                ActionState::Proposed if !check.liquidatable && check.frozen_time == 0 => {
                    desk.queue
                        .withdraw(freeze.id, "the position is healthy again on chain")
                        .await?;
                    move_round(
                        desk,
                        round,
                        LiquidationState::Failed,
                        "withdrawn: healthy on chain again before the freeze was approved",
                    )
                    .await
                }
                _ => Ok(Some(round.clone())),
            }
        }
        LiquidationState::Confirming => {
            let Some(confirm) = action(desk, round.confirm_action).await? else {
                return Ok(Some(round.clone()));
            };
            let why = confirm.note.clone().unwrap_or_default();
            match confirm.state {
                ActionState::Rejected | ActionState::Failed => {
                    move_round(
                        desk,
                        round,
                        LiquidationState::Failed,
                        format!("confirm {}: {why}", confirm.state),
                    )
                    .await
                }
                ActionState::Confirmed if check.closed => {
                    let mut gas = U256::ZERO;
                    for id in [round.freeze_action, round.confirm_action]
                        .into_iter()
                        .flatten()
                    {
                        gas += store.action_fee_wei(id).await?.unwrap_or_default();
                    }
                    let gas_usd = state.native_usd(desk).and_then(|p| p.cents(gas, 18));
                    let profit = round.reward_usd_cents.zip(gas_usd).map(|(r, g)| r - g);
                    let note = match profit {
                        Some(p) => format!("liquidated; realised profit {}", dollars(p)),
                        None => "liquidated; profit unknown (no USD price)".into(),
                    };
                    let r = store
                        .update_liquidation(
                            round.id,
                            LiquidationUpdate {
                                state: Some(LiquidationState::Confirmed),
                                gas_wei: Some(gas),
                                gas_usd_cents: gas_usd,
                                profit_usd_cents: profit,
                                note: Some(note),
                                ..LiquidationUpdate::default()
                            },
                        )
                        .await?;
                    tracing::info!(
                        position = round.position_id,
                        ?profit,
                        "liquidator: liquidation confirmed"
                    );
                    Ok(done(r))
                }
                ActionState::Confirmed => {
                    move_round(
                        desk,
                        round,
                        LiquidationState::Failed,
                        "the confirm was mined but did not liquidate (the hour had run out?)",
                    )
                    .await
                }
                ActionState::Proposed if !check.liquidatable => {
                    desk.queue
                        .withdraw(confirm.id, "the position is healthy again on chain")
                        .await?;
                    move_round(
                        desk,
                        round,
                        LiquidationState::Recovered,
                        "healthy again before the confirm: not confirmed",
                    )
                    .await
                }
                _ => Ok(Some(round.clone())),
            }
        }
        _ => Ok(Some(round.clone())),
    }
}

/// Carries out `decision` for position `id`; returns the reason to show.
#[allow(clippy::too_many_arguments)]
pub async fn carry_out(
    desk: &LiquidatorDesk,
    state: &DeskState,
    onchain: &OnChain,
    id: u64,
    check: &ChainCheck,
    round: Option<&LiquidationRecord>,
    decision: &Decision,
    profitability: &Profitability,
) -> anyhow::Result<String> {
    let store = &desk.store;
    let chain_id = desk.chain.chain_id();
    let module = onchain.module;
    match decision {
        Decision::Watch(why) | Decision::Wait(why) => Ok(why.clone()),
        Decision::Mark(to, note) => {
            let Some(round) = round else {
                return Ok(note.clone());
            };
            let mut change = update(*to, note.clone());
            if *to == LiquidationState::Frozen {
                change.frozen_time = Some(check.frozen_time);
            }
            store.update_liquidation(round.id, change).await?;
            tracing::info!(position = id, state = to.as_str(), %note, "liquidator: round moved");
            Ok(note.clone())
        }
        Decision::Adopt { frozen_time } => {
            let Some(reward) = state.reward_of(id) else {
                return Ok("frozen by us; the order's reward is not read yet".into());
            };
            let r = store
                .start_liquidation(
                    chain_id,
                    module,
                    id,
                    false,
                    reward,
                    profitability.reward_usd_cents,
                )
                .await?;
            let mut change = update(LiquidationState::Frozen, "our freeze, found on chain");
            change.frozen_time = Some(*frozen_time);
            store.update_liquidation(r.id, change).await?;
            Ok("frozen by us (found on chain)".into())
        }
        Decision::Freeze => {
            let Some(reward) = state.reward_of(id) else {
                return Ok("the order's reward is not read yet".into());
            };
            let by_operator = state.asked(id);
            let r = store
                .start_liquidation(
                    chain_id,
                    module,
                    id,
                    by_operator,
                    reward,
                    profitability.reward_usd_cents,
                )
                .await?;
            let summary = format!(
                "Freeze margin position #{id} ({}; reward {}; est. profit {})",
                state.health_text(id),
                state.reward_text(reward),
                profitability
                    .profit_usd_cents
                    .map(dollars)
                    .unwrap_or_else(|| "unknown".into()),
            );
            let action = propose(
                desk,
                NewAction {
                    key: format!("liquidator:freeze:{chain_id}:{module}:{id}:{}", r.round),
                    kind: ActionKind::FreezePosition,
                    summary,
                    plan: plan(desk, module, id, state.receiver()),
                    estimate: estimate(profitability),
                },
                by_operator,
            )
            .await?;
            store
                .update_liquidation(
                    r.id,
                    LiquidationUpdate {
                        freeze_action: Some(action.id),
                        note: Some(format!(
                            "freeze is action #{} ({})",
                            action.id, action.state
                        )),
                        ..LiquidationUpdate::default()
                    },
                )
                .await?;
            tracing::info!(
                position = id,
                action = action.id,
                "liquidator: freeze proposed"
            );
            Ok(format!(
                "freeze proposed as action #{} ({})",
                action.id, action.state
            ))
        }
        Decision::Confirm => {
            let Some(round) = round else {
                return Ok("no round to confirm".into());
            };
            // Never propose a confirm the chain would refuse: gas is not wasted on a
            // recovered position.
            if let Err(why) = onchain
                .simulate_liquidate(state.me(), id, state.receiver())
                .await
            {
                if why.contains("Not liquidatable") {
                    store
                        .update_liquidation(
                            round.id,
                            update(LiquidationState::Recovered, format!("simulation: {why}")),
                        )
                        .await?;
                }
                return Ok(format!(
                    "confirm not proposed, the simulation reverts: {why}"
                ));
            }
            let summary = format!(
                "Liquidate margin position #{id} frozen by us ({}; reward {}; est. profit {})",
                state.health_text(id),
                state.reward_text((round.reward_asset, round.reward_amount)),
                profitability
                    .profit_usd_cents
                    .map(dollars)
                    .unwrap_or_else(|| "unknown".into()),
            );
            let action = propose(
                desk,
                NewAction {
                    key: format!(
                        "liquidator:confirm:{chain_id}:{module}:{id}:{}:{}",
                        round.round, check.frozen_time
                    ),
                    kind: ActionKind::Liquidate,
                    summary,
                    plan: plan(desk, module, id, state.receiver()),
                    estimate: estimate(profitability),
                },
                round.by_operator || state.asked(id),
            )
            .await?;
            store
                .update_liquidation(
                    round.id,
                    LiquidationUpdate {
                        state: Some(LiquidationState::Confirming),
                        confirm_action: Some(action.id),
                        frozen_time: Some(check.frozen_time),
                        note: Some(format!(
                            "confirm is action #{} ({})",
                            action.id, action.state
                        )),
                        ..LiquidationUpdate::default()
                    },
                )
                .await?;
            tracing::info!(
                position = id,
                action = action.id,
                "liquidator: confirm proposed"
            );
            Ok(format!(
                "confirm proposed as action #{} ({})",
                action.id, action.state
            ))
        }
    }
}

fn estimate(p: &Profitability) -> Estimate {
    Estimate {
        gas_cost_wei: u128::try_from(p.gas_wei).unwrap_or(u128::MAX),
        profit_usd_cents: p.profit_usd_cents,
    }
}

/// Proposes; the operator's own request is approved on their behalf (they confirmed it
/// in the popup that showed the call).
async fn propose(
    desk: &LiquidatorDesk,
    new: NewAction,
    by_operator: bool,
) -> anyhow::Result<Action> {
    let action = desk.queue.propose(new).await?.action().clone();
    if by_operator && action.state == ActionState::Proposed {
        return Ok(desk.queue.approve(action.id).await?);
    }
    Ok(action)
}
