//! Runs workers as tokio tasks, restarts a crashed one with exponential backoff, and
//! publishes each worker's health for the status bar. A worker that panics or errors
//! never takes the app down.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerStatus {
    Running,
    /// Crashed; waiting this long before the next start.
    Restarting {
        in_ms: u64,
    },
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerHealth {
    pub status: WorkerStatus,
    pub restarts: u32,
    pub last_error: Option<String>,
}

pub type HealthMap = BTreeMap<&'static str, WorkerHealth>;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

pub struct Supervisor {
    cancel: CancellationToken,
    health: Arc<watch::Sender<HealthMap>>,
    tasks: JoinSet<()>,
    backoff: Backoff,
}

impl Supervisor {
    pub fn new(backoff: Backoff) -> Self {
        Supervisor {
            cancel: CancellationToken::new(),
            health: Arc::new(watch::channel(HealthMap::new()).0),
            tasks: JoinSet::new(),
            backoff,
        }
    }

    pub fn health(&self) -> watch::Receiver<HealthMap> {
        self.health.subscribe()
    }

    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Starts `make(token)` and keeps it running until shutdown.
    pub fn spawn<F, Fut>(&mut self, name: &'static str, make: F)
    where
        F: Fn(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let cancel = self.cancel.clone();
        let health = Arc::clone(&self.health);
        let backoff = self.backoff;
        self.tasks.spawn(async move {
            let mut restarts = 0u32;
            let mut wait = backoff.initial;
            loop {
                set(&health, name, WorkerStatus::Running, restarts, None);
                let run = AssertUnwindSafe(make(cancel.child_token())).catch_unwind().await;
                if cancel.is_cancelled() {
                    set(&health, name, WorkerStatus::Stopped, restarts, None);
                    return;
                }
                let error = match run {
                    Ok(Ok(())) => {
                        set(&health, name, WorkerStatus::Stopped, restarts, None);
                        return;
                    }
                    Ok(Err(e)) => format!("{e:#}"),
                    Err(panic) => panic_text(&panic),
                };
                restarts += 1;
                tracing::error!(worker = name, restarts, error = %error, "worker crashed; restarting");
                let in_ms = wait.as_millis() as u64;
                set(&health, name, WorkerStatus::Restarting { in_ms }, restarts, Some(error));
                tokio::select! {
                    _ = cancel.cancelled() => {
                        set(&health, name, WorkerStatus::Stopped, restarts, None);
                        return;
                    }
                    _ = tokio::time::sleep(wait) => {}
                }
                wait = (wait * 2).min(backoff.max);
            }
        });
    }

    /// Cancels every worker and waits up to `grace` for them to finish. Returns the
    /// names of workers that had to be abandoned; what they held stays journaled.
    pub async fn shutdown(mut self, grace: Duration) -> Vec<&'static str> {
        self.cancel.cancel();
        let drained = tokio::time::timeout(grace, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_ok() {
            return Vec::new();
        }
        self.tasks.abort_all();
        self.health
            .borrow()
            .iter()
            .filter(|(_, h)| h.status != WorkerStatus::Stopped)
            .map(|(name, _)| *name)
            .collect()
    }
}

fn set(
    health: &watch::Sender<HealthMap>,
    name: &'static str,
    status: WorkerStatus,
    restarts: u32,
    last_error: Option<String>,
) {
    health.send_modify(|map| {
        let entry = map.entry(name).or_insert(WorkerHealth {
            status: WorkerStatus::Running,
            restarts: 0,
            last_error: None,
        });
        entry.status = status;
        entry.restarts = restarts;
        if last_error.is_some() {
            entry.last_error = last_error;
        }
    });
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        format!("panic: {s}")
    } else if let Some(s) = panic.downcast_ref::<String>() {
        format!("panic: {s}")
    } else {
        "panic".into()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn fast() -> Backoff {
        Backoff {
            initial: Duration::from_millis(5),
            max: Duration::from_millis(20),
        }
    }

    #[tokio::test]
    async fn a_panicking_worker_is_restarted_and_reported() {
        let mut sup = Supervisor::new(fast());
        let runs = Arc::new(AtomicU32::new(0));
        let r = runs.clone();
        sup.spawn("flaky", move |cancel| {
            let n = r.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    panic!("boom {n}");
                }
                cancel.cancelled().await;
                Ok(())
            }
        });
        let mut health = sup.health();
        let h = loop {
            health.changed().await.unwrap();
            let h = health.borrow().get("flaky").cloned().unwrap();
            if h.restarts == 2 && h.status == WorkerStatus::Running {
                break h;
            }
        };
        assert_eq!(h.last_error.as_deref(), Some("panic: boom 1"));
        assert!(sup.shutdown(Duration::from_secs(1)).await.is_empty());
    }

    #[tokio::test]
    async fn shutdown_reports_workers_that_ignore_cancellation() {
        let mut sup = Supervisor::new(fast());
        sup.spawn("stubborn", |_cancel| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        });
        sup.spawn("polite", |cancel| async move {
            cancel.cancelled().await;
            Ok(())
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            sup.shutdown(Duration::from_millis(50)).await,
            vec!["stubborn"]
        );
    }
}
