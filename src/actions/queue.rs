//! The approval queue: desks propose, the policy decides, the operator approves or
//! rejects, executors report progress. Every change is journaled before anyone is
//! told about it, then a fresh snapshot is published for the UI.

use std::sync::Arc;

use tokio::sync::watch;

use super::{Action, ActionId, ActionKind, ActionState, Actor, NewAction, policy};
use crate::config::Config;
use crate::store::{ProposeOutcome, Store, StoreError};

/// What the UI and the runner see: every open action and the recent finished ones,
/// newest first, with counts taken once per change rather than on every frame.
#[derive(Debug, Clone, Default)]
pub struct ActionsSnapshot {
    pub actions: Vec<Action>,
    counts: [usize; ActionState::ALL.len()],
    /// (open, shown) per kind, indexed like `ActionKind::ALL`.
    kind_counts: [(usize, usize); ActionKind::ALL.len()],
}

impl ActionsSnapshot {
    pub fn new(actions: Vec<Action>) -> Self {
        let mut counts = [0; ActionState::ALL.len()];
        let mut kind_counts = [(0, 0); ActionKind::ALL.len()];
        for a in &actions {
            counts[a.state as usize] += 1;
            let per_kind = &mut kind_counts[a.kind as usize];
            per_kind.0 += usize::from(!a.state.is_terminal());
            per_kind.1 += 1;
        }
        ActionsSnapshot {
            actions,
            counts,
            kind_counts,
        }
    }

    /// (open, shown) actions of one kind.
    pub fn of_kind(&self, kind: ActionKind) -> (usize, usize) {
        self.kind_counts[kind as usize]
    }

    pub fn count(&self, state: ActionState) -> usize {
        self.counts[state as usize]
    }

    /// Actions not yet confirmed, failed or rejected.
    pub fn open(&self) -> usize {
        self.count(ActionState::Proposed)
            + self.count(ActionState::Approved)
            + self.count(ActionState::Sent)
    }
}

#[derive(Clone)]
pub struct ActionQueue {
    store: Store,
    config: Arc<Config>,
    snapshot: Arc<watch::Sender<Arc<ActionsSnapshot>>>,
}

impl ActionQueue {
    pub async fn open(store: Store, config: Arc<Config>) -> Result<Self, StoreError> {
        let (tx, _) = watch::channel(Arc::new(ActionsSnapshot::default()));
        let queue = ActionQueue {
            store,
            config,
            snapshot: Arc::new(tx),
        };
        queue.refresh().await?;
        Ok(queue)
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<ActionsSnapshot>> {
        self.snapshot.subscribe()
    }

    pub fn snapshot(&self) -> Arc<ActionsSnapshot> {
        self.snapshot.borrow().clone()
    }

    /// Journals a desk's proposal with the policy's decision for its kind.
    pub async fn propose(&self, new: NewAction) -> Result<ProposeOutcome, StoreError> {
        let decision = policy::decide(self.config.policy(new.kind), &new.estimate);
        let kind = new.kind;
        let outcome = self
            .store
            .propose_action(new, decision.state, decision.actor, decision.note)
            .await?;
        if let ProposeOutcome::Created(a) = &outcome {
            tracing::info!(id = a.id, kind = %kind, state = %a.state, "action proposed");
            self.refresh().await?;
        }
        Ok(outcome)
    }

    pub async fn approve(&self, id: ActionId) -> Result<Action, StoreError> {
        self.move_to(
            id,
            ActionState::Approved,
            Actor::Operator,
            Some("approved by operator".into()),
            None,
        )
        .await
    }

    pub async fn reject(&self, id: ActionId, reason: &str) -> Result<Action, StoreError> {
        self.move_to(
            id,
            ActionState::Rejected,
            Actor::Operator,
            Some(reason.to_string()),
            None,
        )
        .await
    }

    /// A desk takes back a proposal that no longer makes sense (the position recovered,
    /// the window closed) before anyone approved it.
    pub async fn withdraw(&self, id: ActionId, reason: &str) -> Result<Action, StoreError> {
        self.move_to(
            id,
            ActionState::Rejected,
            Actor::Desk,
            Some(reason.to_string()),
            None,
        )
        .await
    }

    pub async fn mark_sent(&self, id: ActionId, tx_hash: &str) -> Result<Action, StoreError> {
        self.move_to(
            id,
            ActionState::Sent,
            Actor::Executor,
            None,
            Some(tx_hash.to_string()),
        )
        .await
    }

    pub async fn mark_confirmed(&self, id: ActionId) -> Result<Action, StoreError> {
        self.move_to(id, ActionState::Confirmed, Actor::Executor, None, None)
            .await
    }

    pub async fn mark_failed(&self, id: ActionId, reason: &str) -> Result<Action, StoreError> {
        self.move_to(
            id,
            ActionState::Failed,
            Actor::Executor,
            Some(reason.to_string()),
            None,
        )
        .await
    }

    async fn move_to(
        &self,
        id: ActionId,
        to: ActionState,
        actor: Actor,
        note: Option<String>,
        tx_hash: Option<String>,
    ) -> Result<Action, StoreError> {
        let action = self
            .store
            .transition_action(id, to, actor, note, tx_hash)
            .await?;
        tracing::info!(id, kind = %action.kind, state = %to, actor = actor.as_str(), "action moved");
        self.refresh().await?;
        Ok(action)
    }

    /// Re-reads the live set from the journal and publishes it.
    pub async fn refresh(&self) -> Result<(), StoreError> {
        let actions = self
            .store
            .live_actions(self.config.store.recent_actions)
            .await?;
        self.snapshot
            .send_replace(Arc::new(ActionsSnapshot::new(actions)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{ActionPlan, Estimate};

    fn action(id: i64, kind: ActionKind, state: ActionState) -> Action {
        Action {
            id,
            key: id.to_string(),
            desk: kind.desk(),
            kind,
            state,
            summary: String::new(),
            plan: ActionPlan::ExchangeOrder {
                venue: "paper".into(),
                symbol: "BTCUSDT".into(),
                side: "SELL".into(),
                quantity: "1".into(),
                order_type: "MARKET".into(),
                reduce_only: false,
                client_order_id: id.to_string(),
                market: "BTC-USD".into(),
            },
            estimate: Estimate::default(),
            note: None,
            tx_hash: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn counts_by_state_and_kind_are_taken_once() {
        use ActionState::*;
        let snap = ActionsSnapshot::new(vec![
            action(4, ActionKind::Liquidate, Proposed),
            action(3, ActionKind::Liquidate, Sent),
            action(2, ActionKind::Liquidate, Confirmed),
            action(1, ActionKind::OpenHedge, Rejected),
        ]);
        assert_eq!(snap.count(Proposed), 1);
        assert_eq!(snap.count(Confirmed), 1);
        assert_eq!(snap.open(), 2);
        assert_eq!(snap.of_kind(ActionKind::Liquidate), (2, 3));
        assert_eq!(snap.of_kind(ActionKind::OpenHedge), (0, 1));
        assert_eq!(snap.of_kind(ActionKind::PublishPrices), (0, 0));
    }
}
