//! Prometheus metrics on the API listener's `/metrics`, and the `/health` report.
//!
//! Each [`Metrics`] owns its registry (no global recorder: several runtimes may share a
//! process). Live families are counted where things happen: desk cycle times
//! ([`CycleTimer`]) and RPC calls ([`EndpointCounters`], in the chain transport). The rest
//! is read at scrape time from what already holds it, so it survives restarts: the action
//! and tx journals in the store, the price cache, the supervisor's worker health
//! ([`scrape`]).
//!
//! Output is the Prometheus text format 0.0.4, not OpenMetrics: `promtool check metrics`
//! parses OpenMetrics counters (`# TYPE x counter` over `x_total` samples) as help-less
//! untyped families and fails the lint.

pub mod cycle;
pub mod health;
pub mod journal;
pub mod labels;
pub mod liquidator;
pub mod rpc;
pub mod scrape;

use std::sync::Arc;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

pub use cycle::CycleTimer;
pub use health::{HealthReport, health_report};
pub use liquidator::PassCounters;
pub use rpc::{EndpointCounters, RpcMetrics};
pub use scrape::MonitorSources;

use crate::desks::Desk;
use labels::DeskLabels;

/// Every metric name starts with this (and `_`).
pub const PREFIX: &str = "hedgedesk";

/// The `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Desk cycles take from a millisecond (nothing to do) to seconds (RPC round trips).
const CYCLE_BUCKETS: [f64; 13] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The live families of one runtime. Cheap to clone; clones share the registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    cycles: Family<DeskLabels, Histogram>,
    rpc: RpcMetrics,
    liquidator: PassCounters,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix(PREFIX);
        let cycles =
            Family::<DeskLabels, Histogram>::new_with_constructor(|| Histogram::new(CYCLE_BUCKETS));
        registry.register_with_unit(
            "desk_cycle_duration",
            "How long one desk cycle took (read the chain and the store, decide, propose)",
            Unit::Seconds,
            cycles.clone(),
        );
        let rpc = RpcMetrics::register(&mut registry);
        let liquidator = PassCounters::register(&mut registry);
        Metrics {
            registry: Arc::new(registry),
            cycles,
            rpc,
            liquidator,
        }
    }

    /// The timer `desk`'s worker loop records its cycles with.
    pub fn cycle_timer(&self, desk: Desk) -> CycleTimer {
        CycleTimer::new(self.cycles.get_or_create(&DeskLabels::new(desk)).clone())
    }

    /// Where the liquidator counts its passes' node calls.
    pub fn liquidator(&self) -> PassCounters {
        self.liquidator.clone()
    }

    /// Where the chain transports count their requests.
    pub fn rpc(&self) -> &RpcMetrics {
        &self.rpc
    }

    /// The live families, in the Prometheus text format.
    pub fn encode(&self, out: &mut String) -> std::fmt::Result {
        prometheus_text::encode(out, &self.registry)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_small_registry_encodes_as_prometheus_text() {
        let metrics = Metrics::new();
        metrics
            .cycle_timer(Desk::Perp)
            .observe(Duration::from_millis(30));
        let endpoint =
            metrics
                .rpc()
                .endpoint("devnet", "local", "http://user:pw@127.0.0.1:8545/key?x=1");
        endpoint.request();
        endpoint.request();
        endpoint.transport_error();
        let mut out = String::new();
        metrics.encode(&mut out).unwrap();

        for line in [
            "# HELP hedgedesk_desk_cycle_duration_seconds How long one desk cycle took",
            "# TYPE hedgedesk_desk_cycle_duration_seconds histogram",
            "hedgedesk_desk_cycle_duration_seconds_bucket{desk=\"perp\",le=\"0.025\"} 0",
            "hedgedesk_desk_cycle_duration_seconds_bucket{desk=\"perp\",le=\"0.05\"} 1",
            "hedgedesk_desk_cycle_duration_seconds_bucket{desk=\"perp\",le=\"+Inf\"} 1",
            "hedgedesk_desk_cycle_duration_seconds_count{desk=\"perp\"} 1",
            "# TYPE hedgedesk_rpc_requests_total counter",
            "hedgedesk_rpc_requests_total{chain=\"devnet\",endpoint=\"local\",url=\"http://127.0.0.1:8545\"} 2",
            "hedgedesk_rpc_errors_total{chain=\"devnet\",endpoint=\"local\",url=\"http://127.0.0.1:8545\",kind=\"transport\"} 1",
            "hedgedesk_rpc_errors_total{chain=\"devnet\",endpoint=\"local\",url=\"http://127.0.0.1:8545\",kind=\"rpc\"} 0",
        ] {
            assert!(
                out.lines().any(|l| l.starts_with(line)),
                "missing {line:?} in:\n{out}"
            );
        }
        // Text format 0.0.4: no OpenMetrics trailer or unit lines, which promtool rejects.
        assert!(!out.contains("# EOF") && !out.contains("# UNIT"), "{out}");
        assert!(!out.contains("pw") && !out.contains("key"), "{out}");
    }
}
