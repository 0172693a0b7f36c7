//! The running desks: store, action queue, and the supervised workers.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use alloy_signer_local::PrivateKeySigner;
use tokio::sync::watch;

use super::supervisor::{Backoff, HealthMap, Supervisor};
use crate::actions::{self, ActionQueue, Executors};
use crate::config::Config;
use crate::store::Store;

pub struct Runtime {
    pub config: Arc<Config>,
    pub store: Store,
    pub queue: ActionQueue,
    pub health: watch::Receiver<HealthMap>,
    pub account: Address,
    /// Handed to executors as desks register them.
    pub signer: Arc<PrivateKeySigner>,
    pub executors: Executors,
    supervisor: Supervisor,
}

impl Runtime {
    pub async fn start(
        config: Arc<Config>,
        store: Store,
        signer: PrivateKeySigner,
    ) -> anyhow::Result<Runtime> {
        let queue = ActionQueue::open(store.clone(), config.clone()).await?;
        let mut supervisor = Supervisor::new(Backoff {
            initial: Duration::from_millis(config.workers.restart_backoff_ms),
            max: Duration::from_millis(config.workers.restart_backoff_max_ms),
        });
        let executors = Executors::default();
        {
            let queue = queue.clone();
            let executors = executors.clone();
            supervisor.spawn("actions", move |cancel| {
                actions::runner::run(queue.clone(), executors.clone(), cancel)
            });
        }
        let account = signer.address();
        tracing::info!(%account, workers = 1, "runtime started");
        Ok(Runtime {
            health: supervisor.health(),
            config,
            store,
            queue,
            account,
            signer: Arc::new(signer),
            executors,
            supervisor,
        })
    }

    /// Stops every worker, giving them `headless.shutdown_grace_ms` to finish.
    pub async fn shutdown(self) -> Vec<&'static str> {
        let grace = Duration::from_millis(self.config.headless.shutdown_grace_ms);
        let abandoned = self.supervisor.shutdown(grace).await;
        if abandoned.is_empty() {
            tracing::info!("all workers stopped");
        } else {
            tracing::warn!(
                ?abandoned,
                "workers did not stop in time; their work stays journaled"
            );
        }
        abandoned
    }
}
