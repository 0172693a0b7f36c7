//! The liquidator's passes as Prometheus counts: its node calls (the design holds them to the
//! candidates plus a constant, not the positions), the on-chain checks among them, and how
//! many positions it watches and flags.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone)]
struct Families {
    node_calls: Counter,
    checks: Counter,
    monitored: Gauge,
    candidates: Gauge,
}

/// Where the liquidator counts its passes. The default records nowhere (a desk built outside
/// a runtime).
#[derive(Debug, Clone, Default)]
pub struct PassCounters(Option<Families>);

impl PassCounters {
    pub(super) fn register(registry: &mut Registry) -> PassCounters {
        let families = Families {
            node_calls: Counter::default(),
            checks: Counter::default(),
            monitored: Gauge::default(),
            candidates: Gauge::default(),
        };
        registry.register(
            "liquidator_node_calls",
            "Node calls the liquidator's passes made (prices, candidate checks, simulations, fees)",
            families.node_calls.clone(),
        );
        registry.register(
            "liquidator_candidate_checks",
            "subjectToLiquidationExtended calls: only positions the local valuation flagged",
            families.checks.clone(),
        );
        registry.register(
            "liquidator_positions_monitored",
            "Open positions the last pass valued locally",
            families.monitored.clone(),
        );
        registry.register(
            "liquidator_candidates",
            "Positions the last pass checked on chain",
            families.candidates.clone(),
        );
        PassCounters(Some(families))
    }

    /// One pass: its node calls and checks, and what it watched.
    pub fn pass(&self, node_calls: u64, checks: u64) {
        if let Some(f) = &self.0 {
            f.node_calls.inc_by(node_calls);
            f.checks.inc_by(checks);
        }
    }

    /// What the last pass watched and flagged.
    pub fn watched(&self, monitored: usize, candidates: usize) {
        if let Some(f) = &self.0 {
            f.monitored
                .set(i64::try_from(monitored).unwrap_or(i64::MAX));
            f.candidates
                .set(i64::try_from(candidates).unwrap_or(i64::MAX));
        }
    }
}
