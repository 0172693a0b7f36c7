//! The executor for every on-chain action: it sends the plan's exact call data through the
//! operator's journaled [`Sender`] on the plan's chain, keyed `action:<id>` so a retried
//! action can never be signed twice; and the follower that closes a sent action once the
//! tx journal says its transaction is final.

use std::collections::BTreeMap;
use std::time::Duration;

use alloy::primitives::{Address, Bytes, U256};
use tokio_util::sync::CancellationToken;

use super::send::{Sender, TxRequest, TxState};
use crate::actions::runner::{ExecFuture, ExecOutcome, Executor};
use crate::actions::{Action, ActionPlan, ActionQueue, ActionState};
use crate::store::Store;

/// The tx journal key of an action's transaction.
pub fn action_tx_key(action: &Action) -> String {
    format!("action:{}", action.id)
}

/// Sends `ActionPlan::ContractCall` plans; one [`Sender`] per chain name.
pub struct ContractCallExecutor {
    senders: BTreeMap<String, Sender>,
}

impl ContractCallExecutor {
    pub fn new(senders: BTreeMap<String, Sender>) -> Self {
        Self { senders }
    }

    async fn send(&self, action: &Action) -> Result<ExecOutcome, String> {
        let ActionPlan::ContractCall {
            chain,
            contract,
            value_wei,
            gas_limit,
            calldata,
            ..
        } = &action.plan
        else {
            return Err("not a contract call: this executor only sends transactions".into());
        };
        let sender = self
            .senders
            .get(chain)
            .ok_or_else(|| format!("plan.chain: no [chains.{chain}] in the config"))?;
        let to: Address = contract
            .parse()
            .map_err(|_| format!("plan.contract: not an address: {contract:?}"))?;
        let value: U256 = value_wei
            .parse()
            .map_err(|_| format!("plan.value_wei: not an integer: {value_wei:?}"))?;
        let input: Bytes = calldata
            .parse()
            .map_err(|_| "plan.calldata: not 0x-hex".to_string())?;
        if input.is_empty() {
            return Err("plan.calldata: empty; nothing to sign".into());
        }
        let request = TxRequest {
            idem_key: action_tx_key(action),
            to,
            value,
            input,
            gas_limit: (*gas_limit > 0).then_some(*gas_limit),
        };
        let outcome = match sender.send(request).await {
            Ok(outcome) => outcome,
            Err(e) if e.is_transient() => {
                return Ok(ExecOutcome::Deferred {
                    reason: e.to_string(),
                });
            }
            Err(e) => return Err(e.to_string()),
        };
        let record = outcome.record();
        let hash = record
            .final_hash
            .or_else(|| record.live_attempt().map(|a| a.hash))
            .ok_or_else(|| format!("the journal has no transaction for {}", record.idem_key))?;
        Ok(ExecOutcome::Sent {
            tx_hash: hash.to_string(),
        })
    }
}

impl Executor for ContractCallExecutor {
    fn execute<'a>(&'a self, action: &'a Action) -> ExecFuture<'a> {
        Box::pin(self.send(action))
    }
}

/// Until cancelled: every sent contract-call action whose transaction the tracker has
/// settled becomes confirmed (mined, succeeded, deep enough) or failed (reverted,
/// dropped, refused).
pub async fn follow_sent_actions(
    queue: ActionQueue,
    store: Store,
    poll: Duration,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        let sent: Vec<Action> = queue
            .snapshot()
            .actions
            .iter()
            .filter(|a| {
                a.state == ActionState::Sent && matches!(a.plan, ActionPlan::ContractCall { .. })
            })
            .cloned()
            .collect();
        for action in sent {
            let Some(record) = store.tx_by_key(action_tx_key(&action)).await? else {
                continue;
            };
            match record.state {
                TxState::Confirmed => {
                    queue.mark_confirmed(action.id).await?;
                }
                TxState::Failed | TxState::Dropped | TxState::Rejected => {
                    let reason = record.error.clone().unwrap_or_else(|| match record.state {
                        TxState::Failed => "reverted on chain".into(),
                        TxState::Dropped => "dropped: its nonce was used by another tx".into(),
                        _ => "refused by the node".into(),
                    });
                    queue.mark_failed(action.id, &reason).await?;
                }
                _ => {}
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = tokio::time::sleep(poll) => {}
        }
    }
}
