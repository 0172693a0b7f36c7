//! Scrape time: the live families plus what is read now from the journals, the price
//! cache, the supervisor and the chains.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::time::SystemTime;

use alloy::primitives::B256;
use prometheus_client::encoding::{EncodeLabelSet, prometheus_text};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use tokio::sync::watch;

use super::health::{HealthReport, health_report};
use super::journal::{self, ActionCount, FeeTotal};
use super::{Metrics, PREFIX};
use crate::actions::ActionState;
use crate::app::supervisor::{HealthMap, WorkerStatus};
use crate::chain::ChainStatus;
use crate::desks::Desk;
use crate::prices::PriceCache;
use crate::prices::PriceMap;
use crate::store::{Store, StoreError};

/// States in which an action waits: for a keystroke, for the runner, for its receipt.
const QUEUED: [ActionState; 3] = [
    ActionState::Proposed,
    ActionState::Approved,
    ActionState::Sent,
];

/// Everything `/metrics` and `/health` read. Cheap to clone.
#[derive(Clone)]
pub struct MonitorSources {
    pub metrics: Metrics,
    pub store: Store,
    pub prices: PriceCache,
    /// Feed id → symbol, from `[[oracle.feeds]]`.
    pub symbols: BTreeMap<B256, String>,
    pub workers: watch::Receiver<HealthMap>,
    pub chains: watch::Receiver<Vec<ChainStatus>>,
}

impl std::fmt::Debug for MonitorSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitorSources").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    desk: String,
    state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    desk: String,
    kind: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    desk: String,
    kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FeedLabels {
    feed_id: String,
    symbol: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkerLabels {
    worker: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChainLabels {
    chain: String,
}

impl MonitorSources {
    /// The whole `/metrics` body.
    pub async fn render(&self) -> Result<String, StoreError> {
        let actions = journal::action_counts(&self.store).await?;
        let fees = journal::fee_totals(&self.store).await?;
        let now = SystemTime::now();
        let read = Read {
            actions: &actions,
            fees: &fees,
            prices: &self.prices.snapshot(),
            symbols: &self.symbols,
            workers: &self.workers.borrow(),
            chains: &self.chains.borrow(),
            now,
        };
        let mut out = String::new();
        let encoded = self
            .metrics
            .encode(&mut out)
            .and_then(|()| prometheus_text::encode(&mut out, &read.registry()));
        encoded.map_err(|_| StoreError::Invalid("metrics: encoding failed".into()))?;
        Ok(out)
    }

    pub fn health(&self) -> HealthReport {
        health_report(
            &self.workers.borrow(),
            &self.chains.borrow(),
            SystemTime::now(),
        )
    }
}

/// One scrape's reads, turned into a registry of their own.
pub(crate) struct Read<'a> {
    pub actions: &'a [ActionCount],
    pub fees: &'a [FeeTotal],
    pub prices: &'a PriceMap,
    pub symbols: &'a BTreeMap<B256, String>,
    pub workers: &'a HealthMap,
    pub chains: &'a [ChainStatus],
    pub now: SystemTime,
}

impl Read<'_> {
    pub(crate) fn registry(&self) -> Registry {
        let mut registry = Registry::with_prefix(PREFIX);

        let queue = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "action_queue_length",
            "Journaled actions waiting: state=proposed (for a keystroke), approved (queued to send), sent (for a receipt)",
            queue.clone(),
        );
        for desk in Desk::ALL {
            for state in QUEUED {
                queue
                    .get_or_create(&QueueLabels {
                        desk: desk.as_str().into(),
                        state: state.as_str().into(),
                    })
                    .set(0);
            }
        }
        let outcomes = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "actions",
            "Journaled actions that ended, by desk, kind and outcome (confirmed, failed, rejected)",
            outcomes.clone(),
        );
        for a in self.actions {
            let count = i64::try_from(a.count).unwrap_or(i64::MAX);
            if QUEUED.iter().any(|s| s.as_str() == a.state) {
                queue
                    .get_or_create(&QueueLabels {
                        desk: a.desk.clone(),
                        state: a.state.clone(),
                    })
                    .inc_by(count);
            } else {
                outcomes
                    .get_or_create(&OutcomeLabels {
                        desk: a.desk.clone(),
                        kind: a.kind.clone(),
                        outcome: a.state.clone(),
                    })
                    .inc_by(a.count);
            }
        }

        let fees = Family::<KindLabels, Counter<f64, AtomicU64>>::default();
        registry.register(
            "tx_fees_paid_wei",
            "Fees paid by final transactions (gas used x effective gas price), in wei",
            fees.clone(),
        );
        for f in self.fees {
            // Summed exactly as integers; the exposition format itself is a float64.
            let wei = f.wei.to_string().parse::<f64>().unwrap_or(f64::MAX);
            fees.get_or_create(&KindLabels {
                desk: f.desk.clone(),
                kind: f.kind.clone(),
            })
            .inc_by(wei);
        }

        let ages = Family::<FeedLabels, Gauge>::default();
        registry.register_with_unit(
            "price_age",
            "Seconds since the publish time of each cached price",
            Unit::Seconds,
            ages.clone(),
        );
        let now_unix = unix_secs(self.now);
        for (id, price) in self.prices.iter() {
            ages.get_or_create(&FeedLabels {
                feed_id: id.to_string(),
                symbol: self.symbols.get(id).cloned().unwrap_or_default(),
            })
            .set(i64::try_from(price.age_secs(now_unix)).unwrap_or(i64::MAX));
        }

        let up = Family::<WorkerLabels, Gauge>::default();
        registry.register(
            "worker_up",
            "1 while a supervised worker runs, 0 while it waits to restart or has stopped",
            up.clone(),
        );
        let restarts = Family::<WorkerLabels, Counter>::default();
        registry.register(
            "worker_restarts",
            "Times the supervisor restarted a crashed worker",
            restarts.clone(),
        );
        for (name, w) in self.workers {
            let labels = WorkerLabels {
                worker: name.to_string(),
            };
            up.get_or_create(&labels)
                .set(i64::from(w.status == WorkerStatus::Running));
            restarts
                .get_or_create(&labels)
                .inc_by(u64::from(w.restarts));
        }

        let head_age = Family::<ChainLabels, Gauge>::default();
        registry.register_with_unit(
            "chain_head_age",
            "Seconds since the timestamp of the active endpoint's head block",
            Unit::Seconds,
            head_age.clone(),
        );
        for chain in self.chains {
            if let Some(head) = chain.head {
                head_age
                    .get_or_create(&ChainLabels {
                        chain: chain.name.clone(),
                    })
                    .set(i64::try_from(head.age_secs(self.now)).unwrap_or(i64::MAX));
            }
        }
        registry
    }
}

fn unix_secs(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use alloy::primitives::U256;

    use super::*;
    use crate::app::supervisor::WorkerHealth;
    use crate::prices::Price;

    #[test]
    fn scrape_time_reads_encode_with_their_values() {
        let feed = B256::repeat_byte(0xe6);
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000);
        let mut prices = PriceMap::new();
        prices.insert(
            feed,
            Price {
                feed_id: feed,
                price: 1,
                conf: 1,
                expo: -8,
                ema_price: 1,
                ema_conf: 1,
                publish_time: 993,
            },
        );
        let mut workers = HealthMap::new();
        workers.insert(
            "perp",
            WorkerHealth {
                status: WorkerStatus::Restarting { in_ms: 10 },
                restarts: 3,
                last_error: None,
            },
        );
        let count = |state: &str, count| ActionCount {
            desk: "pool".into(),
            kind: "settle_policy".into(),
            state: state.into(),
            count,
        };
        let read = Read {
            actions: &[count("proposed", 2), count("confirmed", 5)],
            fees: &[FeeTotal {
                desk: "pool".into(),
                kind: "settle_policy".into(),
                wei: U256::from(21_000u64 * 1_000_000_007),
            }],
            prices: &prices,
            symbols: &BTreeMap::from([(feed, "BTC/USD".to_string())]),
            workers: &workers,
            chains: &[],
            now,
        };
        let mut out = String::new();
        prometheus_text::encode(&mut out, &read.registry()).unwrap();
        for line in [
            "hedgedesk_action_queue_length{desk=\"pool\",state=\"proposed\"} 2",
            "hedgedesk_action_queue_length{desk=\"oracle\",state=\"sent\"} 0",
            "# TYPE hedgedesk_actions_total counter",
            "hedgedesk_actions_total{desk=\"pool\",kind=\"settle_policy\",outcome=\"confirmed\"} 5",
            "hedgedesk_tx_fees_paid_wei_total{desk=\"pool\",kind=\"settle_policy\"} 21000000147000.0",
            "hedgedesk_price_age_seconds{feed_id=\"0xe6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6\",symbol=\"BTC/USD\"} 7",
            "hedgedesk_worker_up{worker=\"perp\"} 0",
            "hedgedesk_worker_restarts_total{worker=\"perp\"} 3",
        ] {
            assert!(
                out.lines().any(|l| l == line),
                "missing {line:?} in:\n{out}"
            );
        }
    }
}
