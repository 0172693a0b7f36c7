//! [`CycleTimer`]: what a desk's worker loop times its cycles with.

use std::future::Future;
use std::time::{Duration, Instant};

use prometheus_client::metrics::histogram::Histogram;

/// One desk's cycle-time histogram. The default records nowhere (a desk built outside a
/// runtime, as in unit tests).
#[derive(Debug, Clone, Default)]
pub struct CycleTimer(Option<Histogram>);

impl CycleTimer {
    pub fn new(histogram: Histogram) -> Self {
        CycleTimer(Some(histogram))
    }

    pub fn observe(&self, took: Duration) {
        if let Some(h) = &self.0 {
            h.observe(took.as_secs_f64());
        }
    }

    /// Runs `cycle` and records how long it took.
    pub async fn time<F: Future>(&self, cycle: F) -> F::Output {
        let started = Instant::now();
        let out = cycle.await;
        self.observe(started.elapsed());
        out
    }
}
