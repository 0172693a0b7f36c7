//! Endpoint health: every `health_interval_ms` each endpoint is probed directly (not through
//! failover) with `eth_chainId` (until it answers once) and `eth_blockNumber`; latency,
//! errors and lag behind the best head decide its state, and the state decides which
//! endpoint serves ([`select_active`]): the first usable one in config order, so an earlier
//! endpoint that recovers takes the traffic back. The round also reads the active head's
//! timestamp and the watched account's balance (through the failover provider).
//!
//! The decisions are pure functions ([`apply_probes`], [`select_active`],
//! [`failover_order`]) so they are tested without a network.

use std::time::{Duration, Instant, SystemTime};

use alloy::eips::BlockNumberOrTag;
use alloy::providers::Provider;
use tokio_util::sync::CancellationToken;

use super::client::Chain;
use super::failover::EndpointPool;
use super::status::{ChainStatus, EndpointState, EndpointStatus, HeadInfo};

/// What one probe learned about one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// On the right chain; its head and the `eth_blockNumber` round trip.
    Head { head: u64, latency_ms: u64 },
    /// It reports this other chain id.
    WrongChain { chain_id: u64 },
    /// It did not answer; the error is already scrubbed of URLs.
    Failed { error: String },
}

/// Applies one round of probes (one per endpoint, same order) to the endpoints' states.
/// Lag is measured against the best head among the endpoints that answered this round.
pub fn apply_probes(
    endpoints: &mut [EndpointStatus],
    probes: &[Probe],
    chain_id: u64,
    max_head_lag_blocks: u64,
) {
    let best = probes
        .iter()
        .filter_map(|p| match p {
            Probe::Head { head, .. } => Some(*head),
            _ => None,
        })
        .max();
    for (ep, probe) in endpoints.iter_mut().zip(probes) {
        match probe {
            Probe::Head { head, latency_ms } => {
                let lag = best.unwrap_or(*head).saturating_sub(*head);
                ep.head = Some(*head);
                ep.lag = Some(lag);
                ep.latency_ms = Some(*latency_ms);
                ep.consecutive_errors = 0;
                ep.state = if lag > max_head_lag_blocks {
                    EndpointState::Lagging
                } else {
                    EndpointState::Healthy
                };
            }
            Probe::WrongChain { chain_id: reported } => {
                ep.state = EndpointState::WrongChain;
                ep.head = None;
                ep.lag = None;
                ep.last_error = Some(format!("chain id {reported}, expected {chain_id}"));
            }
            Probe::Failed { error } => record_failure(ep, error.clone()),
        }
    }
}

/// One failure of an endpoint (probe or live request): it is Down until it answers again.
/// A WrongChain endpoint stays WrongChain.
pub fn record_failure(ep: &mut EndpointStatus, error: String) {
    ep.consecutive_errors = ep.consecutive_errors.saturating_add(1);
    ep.total_errors = ep.total_errors.saturating_add(1);
    ep.last_error = Some(error);
    ep.lag = None;
    ep.latency_ms = None;
    if ep.state != EndpointState::WrongChain {
        ep.state = EndpointState::Down;
    }
}

/// The endpoint requests go to: the first usable one (Unknown or Healthy) in config order.
pub fn select_active(endpoints: &[EndpointStatus]) -> Option<usize> {
    endpoints.iter().position(|ep| ep.state.is_usable())
}

/// The order one request tries endpoints in: the usable ones in config order, then as a
/// last resort the lagging ones (stale beats nothing), then the down ones (they may be
/// back). Never an endpoint on the wrong chain.
pub fn failover_order(endpoints: &[EndpointStatus]) -> Vec<usize> {
    let pick = |wanted: fn(EndpointState) -> bool| {
        endpoints
            .iter()
            .enumerate()
            .filter(move |(_, ep)| wanted(ep.state))
            .map(|(i, _)| i)
    };
    pick(EndpointState::is_usable)
        .chain(pick(|s| s == EndpointState::Lagging))
        .chain(pick(|s| s == EndpointState::Down))
        .collect()
}

/// Probes endpoint `i` directly.
async fn probe_endpoint(pool: &EndpointPool, i: usize) -> Probe {
    let endpoint = &pool.endpoints[i];
    let chain_id = match pool.known_chain_id(i) {
        Some(id) => id,
        None => match endpoint.provider.get_chain_id().await {
            Ok(id) => {
                pool.set_chain_id(i, id, false);
                id
            }
            Err(e) => {
                return Probe::Failed {
                    error: endpoint.describe(&e),
                };
            }
        },
    };
    if chain_id != pool.chain_id {
        return Probe::WrongChain { chain_id };
    }
    let started = Instant::now();
    match endpoint.provider.get_block_number().await {
        Ok(head) => Probe::Head {
            head,
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        },
        Err(e) => Probe::Failed {
            error: endpoint.describe(&e),
        },
    }
}

/// One health round for `chain`: probe every endpoint at once, update states and the
/// active endpoint, read the active head's timestamp and the watched balance, publish.
pub(crate) async fn probe_round(chain: &Chain) -> ChainStatus {
    let pool = chain.pool();
    let probes =
        futures::future::join_all((0..pool.endpoints.len()).map(|i| probe_endpoint(pool, i))).await;
    let max_lag = chain.config().max_head_lag_blocks;
    let (active_head, known_head, account) = pool.update(false, |state| {
        apply_probes(&mut state.status.endpoints, &probes, pool.chain_id, max_lag);
        let active_head = select_active(&state.status.endpoints)
            .and_then(|i| state.status.endpoints[i].head.map(|head| (i, head)));
        (
            active_head,
            state.status.head.map(|h| h.number),
            state.status.account,
        )
    });

    if let Some((i, number)) = active_head
        && known_head != Some(number)
    {
        let endpoint = &pool.endpoints[i];
        match endpoint
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
        {
            Ok(Some(block)) => pool.update(false, |state| {
                state.status.head = Some(HeadInfo {
                    number,
                    timestamp_secs: block.header.timestamp,
                    seen_at: SystemTime::now(),
                });
            }),
            Ok(None) => tracing::debug!(
                chain = %pool.chain, endpoint = %endpoint.name, number,
                "head block not found (reorged away?)"
            ),
            Err(e) => tracing::debug!(
                chain = %pool.chain, endpoint = %endpoint.name, number,
                error = endpoint.describe(&e), "could not read the head block"
            ),
        }
    }

    if let Some(account) = account {
        match chain.provider().get_balance(account).await {
            Ok(balance) => pool.update(false, |state| {
                if state.status.account == Some(account) {
                    state.status.balance_wei = Some(balance);
                }
            }),
            Err(e) => tracing::debug!(
                chain = %pool.chain, %account,
                error = super::failover::describe_error(&e, ""),
                "could not read the balance"
            ),
        }
    }

    pool.publish();
    pool.snapshot()
}

/// The health worker: a probe round every `health_interval_ms` until `cancel`.
pub async fn run_health(chain: Chain, cancel: CancellationToken) -> anyhow::Result<()> {
    let interval = Duration::from_millis(chain.config().health_interval_ms.max(50));
    tracing::info!(
        chain = %chain.name(),
        endpoints = chain.config().endpoints.len(),
        interval_ms = interval.as_millis() as u64,
        "RPC health checks started"
    );
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = chain.probe_once() => {}
        }
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EndpointState::*;

    fn endpoints(states: &[EndpointState]) -> Vec<EndpointStatus> {
        states
            .iter()
            .enumerate()
            .map(|(i, state)| EndpointStatus {
                name: format!("ep{i}"),
                state: *state,
                ..EndpointStatus::default()
            })
            .collect()
    }

    fn states(eps: &[EndpointStatus]) -> Vec<EndpointState> {
        eps.iter().map(|e| e.state).collect()
    }

    fn head(head: u64) -> Probe {
        Probe::Head {
            head,
            latency_ms: 3,
        }
    }

    fn failed() -> Probe {
        Probe::Failed {
            error: "connection refused".into(),
        }
    }

    #[test]
    fn before_any_probe_the_first_endpoint_serves() {
        let eps = endpoints(&[Unknown, Unknown]);
        assert_eq!(select_active(&eps), Some(0));
        assert_eq!(failover_order(&eps), vec![0, 1]);
    }

    #[test]
    fn all_answering_in_step_are_healthy_and_the_first_serves() {
        let mut eps = endpoints(&[Unknown, Unknown, Unknown]);
        apply_probes(&mut eps, &[head(100), head(99), head(97)], 1, 3);
        assert_eq!(states(&eps), vec![Healthy, Healthy, Healthy]);
        assert_eq!(eps[1].lag, Some(1));
        assert_eq!(eps[2].lag, Some(3), "exactly max lag is still healthy");
        assert_eq!(eps[0].latency_ms, Some(3));
        assert_eq!(select_active(&eps), Some(0));
    }

    #[test]
    fn a_down_primary_fails_over_and_returns_when_it_answers() {
        let mut eps = endpoints(&[Healthy, Healthy]);
        apply_probes(&mut eps, &[failed(), head(10)], 1, 3);
        assert_eq!(states(&eps), vec![Down, Healthy]);
        assert_eq!(eps[0].consecutive_errors, 1);
        assert_eq!(eps[0].total_errors, 1);
        assert_eq!(eps[0].last_error.as_deref(), Some("connection refused"));
        assert_eq!(select_active(&eps), Some(1));
        assert_eq!(failover_order(&eps), vec![1, 0], "down is a last resort");

        apply_probes(&mut eps, &[failed(), head(11)], 1, 3);
        assert_eq!(eps[0].consecutive_errors, 2);
        assert_eq!(eps[0].total_errors, 2);

        apply_probes(&mut eps, &[head(11), head(11)], 1, 3);
        assert_eq!(states(&eps), vec![Healthy, Healthy]);
        assert_eq!(eps[0].consecutive_errors, 0);
        assert_eq!(eps[0].total_errors, 2, "the total is kept");
        assert_eq!(
            select_active(&eps),
            Some(0),
            "traffic returns to the primary"
        );
    }

    #[test]
    fn a_lagging_endpoint_is_skipped_until_it_catches_up() {
        let mut eps = endpoints(&[Unknown, Unknown]);
        apply_probes(&mut eps, &[head(50), head(60)], 1, 3);
        assert_eq!(states(&eps), vec![Lagging, Healthy]);
        assert_eq!(eps[0].lag, Some(10));
        assert_eq!(eps[1].lag, Some(0));
        assert_eq!(select_active(&eps), Some(1));
        assert_eq!(failover_order(&eps), vec![1, 0]);

        apply_probes(&mut eps, &[head(59), head(60)], 1, 3);
        assert_eq!(states(&eps), vec![Healthy, Healthy]);
        assert_eq!(select_active(&eps), Some(0));
    }

    #[test]
    fn lag_is_measured_against_endpoints_that_answered() {
        let mut eps = endpoints(&[Healthy, Healthy]);
        eps[0].head = Some(1_000);
        apply_probes(&mut eps, &[failed(), head(10)], 1, 3);
        assert_eq!(
            eps[1].lag,
            Some(0),
            "a down endpoint's old head does not count"
        );
        assert_eq!(eps[0].head, Some(1_000), "the last known head is kept");
        assert_eq!(eps[0].lag, None);
    }

    #[test]
    fn the_wrong_chain_is_never_used() {
        let mut eps = endpoints(&[Unknown, Unknown]);
        apply_probes(
            &mut eps,
            &[Probe::WrongChain { chain_id: 5 }, head(3)],
            1,
            3,
        );
        assert_eq!(states(&eps), vec![WrongChain, Healthy]);
        assert_eq!(eps[0].last_error.as_deref(), Some("chain id 5, expected 1"));
        assert_eq!(select_active(&eps), Some(1));
        assert_eq!(failover_order(&eps), vec![1]);

        record_failure(&mut eps[0], "timeout".into());
        assert_eq!(eps[0].state, WrongChain, "a failure does not clear it");
    }

    #[test]
    fn nothing_usable_means_no_active_but_a_last_resort_order() {
        let mut eps = endpoints(&[Unknown, Unknown, Unknown, Unknown]);
        apply_probes(
            &mut eps,
            &[
                failed(),
                head(1),
                Probe::WrongChain { chain_id: 9 },
                head(1),
            ],
            1,
            3,
        );
        // Make every answering one lag behind a (gone) better head.
        eps[1].state = Lagging;
        eps[3].state = Lagging;
        assert_eq!(select_active(&eps), None);
        assert_eq!(failover_order(&eps), vec![1, 3, 0]);
        assert!(failover_order(&endpoints(&[WrongChain])).is_empty());
    }

    #[test]
    fn a_failure_clears_latency_and_lag() {
        let mut eps = endpoints(&[Unknown]);
        apply_probes(&mut eps, &[head(5)], 1, 3);
        assert_eq!(eps[0].latency_ms, Some(3));
        record_failure(&mut eps[0], "reset".into());
        assert_eq!(eps[0].state, Down);
        assert_eq!(eps[0].latency_ms, None);
        assert_eq!(eps[0].lag, None);
    }
}
