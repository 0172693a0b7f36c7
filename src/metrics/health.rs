//! The `/health` report: every worker's state from the supervisor, and each chain's head.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;

use crate::app::supervisor::{HealthMap, WorkerStatus};
use crate::chain::ChainStatus;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    /// `ok` when every worker runs, `degraded` otherwise.
    pub status: &'static str,
    pub workers: BTreeMap<String, WorkerReport>,
    pub chains: Vec<ChainReport>,
}

impl HealthReport {
    pub fn ok(&self) -> bool {
        self.status == "ok"
    }
}

/// The last error is left out on purpose: the TUI and the log have it, and an HTTP
/// answer is no place to risk an error text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkerReport {
    /// `running`, `restarting` or `stopped`.
    pub state: &'static str,
    pub restarts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub name: String,
    pub chain_id: u64,
    /// The active endpoint's head, once probed.
    pub head: Option<u64>,
    /// Seconds since that head block's timestamp.
    pub head_age_secs: Option<u64>,
    /// How many endpoints are configured, and which one (config order) serves.
    pub endpoints: usize,
    pub active_endpoint: Option<usize>,
}

pub fn worker_state(status: &WorkerStatus) -> &'static str {
    match status {
        WorkerStatus::Running => "running",
        WorkerStatus::Restarting { .. } => "restarting",
        WorkerStatus::Stopped => "stopped",
    }
}

pub fn health_report(workers: &HealthMap, chains: &[ChainStatus], now: SystemTime) -> HealthReport {
    let all_running =
        !workers.is_empty() && workers.values().all(|w| w.status == WorkerStatus::Running);
    HealthReport {
        status: if all_running { "ok" } else { "degraded" },
        workers: workers
            .iter()
            .map(|(name, w)| {
                (
                    name.to_string(),
                    WorkerReport {
                        state: worker_state(&w.status),
                        restarts: w.restarts,
                    },
                )
            })
            .collect(),
        chains: chains
            .iter()
            .map(|c| ChainReport {
                name: c.name.clone(),
                chain_id: c.chain_id,
                head: c.head.map(|h| h.number),
                head_age_secs: c.head.map(|h| h.age_secs(now)),
                endpoints: c.endpoints.len(),
                active_endpoint: c.active,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::supervisor::WorkerHealth;

    fn worker(status: WorkerStatus, restarts: u32) -> WorkerHealth {
        WorkerHealth {
            status,
            restarts,
            last_error: Some("boom at https://user:key@rpc.example.com".into()),
        }
    }

    #[test]
    fn healthy_only_when_every_worker_runs() {
        let mut map = HealthMap::new();
        map.insert("oracle", worker(WorkerStatus::Running, 0));
        map.insert("pool", worker(WorkerStatus::Running, 2));
        let report = health_report(&map, &[], SystemTime::now());
        assert!(report.ok());
        assert_eq!(report.workers["pool"].restarts, 2);

        map.insert("perp", worker(WorkerStatus::Restarting { in_ms: 500 }, 1));
        let report = health_report(&map, &[], SystemTime::now());
        assert!(!report.ok());
        assert_eq!(report.workers["perp"].state, "restarting");
        assert!(!serde_json::to_string(&report).unwrap().contains("key@"));

        map.insert("perp", worker(WorkerStatus::Stopped, 1));
        assert!(!health_report(&map, &[], SystemTime::now()).ok());
        assert!(!health_report(&HealthMap::new(), &[], SystemTime::now()).ok());
    }
}
