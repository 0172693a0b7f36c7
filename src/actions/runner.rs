//! The runner hands approved actions to the executor registered for their kind.
//! Desks register executors as they land; an approved action with no executor waits
//! in the journal (shown as such) rather than being dropped.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::{Action, ActionId, ActionKind, ActionQueue, ActionState};

/// What an executor did with an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecOutcome {
    /// Broadcast; the tx tracker will confirm or fail it later.
    Sent { tx_hash: String },
    /// Done and final already (e.g. an exchange order filled).
    Confirmed { reference: String },
    /// Not done, and nothing was sent: a passing condition (node unreachable, base fee
    /// above the cap). The action stays approved and is tried again.
    Deferred { reason: String },
}

/// How long a deferred action waits before it is tried again.
pub const RETRY_DEFERRED: std::time::Duration = std::time::Duration::from_secs(5);

pub type ExecFuture<'a> = Pin<Box<dyn Future<Output = Result<ExecOutcome, String>> + Send + 'a>>;

/// Carries out one kind of action.
///
/// Executors must be idempotent by action id: the runner may hand the same approved
/// action over again after a crash between broadcast and journaling `sent`, so an
/// executor journals what it signs (keyed by the action id) before broadcasting and
/// returns that transaction instead of signing a second one.
pub trait Executor: Send + Sync {
    fn execute<'a>(&'a self, action: &'a Action) -> ExecFuture<'a>;
}

#[derive(Clone, Default)]
pub struct Executors {
    by_kind: HashMap<ActionKind, Arc<dyn Executor>>,
}

impl Executors {
    pub fn register(&mut self, kind: ActionKind, executor: Arc<dyn Executor>) {
        self.by_kind.insert(kind, executor);
    }
}

/// Runs until cancelled. Between actions it checks the token, so on shutdown the
/// action in hand finishes and everything else stays approved in the journal.
pub async fn run(
    queue: ActionQueue,
    executors: Executors,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let mut updates = queue.subscribe();
    let mut unserved: HashSet<ActionKind> = HashSet::new();
    loop {
        let approved: Vec<Action> = {
            let snap = updates.borrow_and_update();
            let mut v: Vec<Action> = snap
                .actions
                .iter()
                .filter(|a| a.state == ActionState::Approved)
                .cloned()
                .collect();
            v.sort_by_key(|a| a.id);
            v
        };
        for action in approved {
            if cancel.is_cancelled() {
                return Ok(());
            }
            let Some(executor) = executors.by_kind.get(&action.kind) else {
                if unserved.insert(action.kind) {
                    tracing::warn!(kind = %action.kind, "approved actions wait: no executor for this kind yet");
                }
                continue;
            };
            execute_one(&queue, executor.as_ref(), &action).await;
        }
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            changed = updates.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
            }
            // Approved actions that were deferred get another try.
            _ = tokio::time::sleep(RETRY_DEFERRED) => {}
        }
    }
}

async fn execute_one(queue: &ActionQueue, executor: &dyn Executor, action: &Action) {
    let id: ActionId = action.id;
    let result = match executor.execute(action).await {
        Ok(ExecOutcome::Sent { tx_hash }) => queue.mark_sent(id, &tx_hash).await.map(|_| ()),
        Ok(ExecOutcome::Deferred { reason }) => {
            tracing::info!(id, kind = %action.kind, %reason, "action deferred; it stays approved");
            Ok(())
        }
        Ok(ExecOutcome::Confirmed { reference }) => match queue.mark_sent(id, &reference).await {
            Ok(_) => queue.mark_confirmed(id).await.map(|_| ()),
            Err(e) => Err(e),
        },
        Err(reason) => {
            tracing::warn!(id, kind = %action.kind, %reason, "action failed");
            queue.mark_failed(id, &reason).await.map(|_| ())
        }
    };
    if let Err(e) = result {
        tracing::error!(id, error = %e, "could not journal the outcome of an action");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::actions::{ActionPlan, Estimate, NewAction};
    use crate::config::Config;
    use crate::store::Store;

    /// Records what it is asked to do and answers with a fixed outcome: a test double
    /// for a desk's executor, so the runner's bookkeeping can be checked.
    struct Recorder {
        seen: Mutex<Vec<ActionId>>,
        outcome: Result<ExecOutcome, String>,
    }

    impl Executor for Recorder {
        fn execute<'a>(&'a self, action: &'a Action) -> ExecFuture<'a> {
            self.seen.lock().unwrap().push(action.id);
            let out = self.outcome.clone();
            Box::pin(async move { out })
        }
    }

    fn new_action(key: &str, kind: ActionKind) -> NewAction {
        NewAction {
            key: key.into(),
            kind,
            summary: key.into(),
            plan: ActionPlan::ExchangeOrder {
                venue: "paper".into(),
                symbol: "BTCUSDT".into(),
                side: "SELL".into(),
                quantity: "0.010".into(),
                order_type: "MARKET".into(),
                reduce_only: false,
                client_order_id: key.into(),
                market: "BTC-USD".into(),
            },
            estimate: Estimate::default(),
        }
    }

    async fn wait_for(queue: &ActionQueue, id: ActionId, state: ActionState) {
        for _ in 0..200 {
            if queue
                .snapshot()
                .actions
                .iter()
                .any(|a| a.id == id && a.state == state)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("action {id} never reached {state}");
    }

    #[tokio::test]
    async fn runs_only_approved_actions_and_journals_the_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.sqlite"), Duration::from_secs(5)).unwrap();
        let queue = ActionQueue::open(store, Arc::new(Config::default()))
            .await
            .unwrap();
        // open_hedge defaults to confirm, close_hedge to confirm too; publish_prices is auto.
        let waiting = queue
            .propose(new_action("wait", ActionKind::OpenHedge))
            .await
            .unwrap();
        let auto = queue
            .propose(new_action("auto", ActionKind::PublishPrices))
            .await
            .unwrap();
        assert_eq!(waiting.action().state, ActionState::Proposed);
        assert_eq!(auto.action().state, ActionState::Approved);

        let rec = Arc::new(Recorder {
            seen: Mutex::new(vec![]),
            outcome: Ok(ExecOutcome::Sent {
                tx_hash: "0xfeed".into(),
            }),
        });
        let mut ex = Executors::default();
        ex.register(ActionKind::PublishPrices, rec.clone());
        ex.register(ActionKind::OpenHedge, rec.clone());
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(queue.clone(), ex, cancel.clone()));

        wait_for(&queue, auto.action().id, ActionState::Sent).await;
        assert_eq!(*rec.seen.lock().unwrap(), vec![auto.action().id]);

        // The operator approves the waiting one; the runner picks it up.
        queue.approve(waiting.action().id).await.unwrap();
        wait_for(&queue, waiting.action().id, ActionState::Sent).await;
        assert_eq!(rec.seen.lock().unwrap().len(), 2);

        cancel.cancel();
        task.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn an_executor_error_fails_the_action_with_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.sqlite"), Duration::from_secs(5)).unwrap();
        let queue = ActionQueue::open(store, Arc::new(Config::default()))
            .await
            .unwrap();
        let a = queue
            .propose(new_action("x", ActionKind::PublishPrices))
            .await
            .unwrap();
        let mut ex = Executors::default();
        ex.register(
            ActionKind::PublishPrices,
            Arc::new(Recorder {
                seen: Mutex::new(vec![]),
                outcome: Err("execution reverted: stale price".into()),
            }),
        );
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(queue.clone(), ex, cancel.clone()));
        wait_for(&queue, a.action().id, ActionState::Failed).await;
        let failed = queue.snapshot().actions[0].clone();
        assert_eq!(
            failed.note.as_deref(),
            Some("execution reverted: stale price")
        );
        cancel.cancel();
        task.await.unwrap().unwrap();
    }
}
