//! The AnyHedge desk's worker: finds the HedgeFactory, polls each oracle's relay, and every
//! cycle (a tick, a new price message or a request) sweeps offer deadlines, completes
//! fundings, validates them from the chain, settles matured and liquidatable contracts,
//! completes mutual redemptions, follows its actions, and publishes the pane's snapshot.

pub mod cycle;
pub mod endings;
pub mod onchain;
pub mod settlement;
pub mod snapshot;
pub mod windows;

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::pane::{AnyHedgeSnapshot, Severity};
use super::requests::AnyHedgeRequest;
use crate::actions::ActionQueue;
use crate::anyhedge::offers::lifecycle::{OfferBook, OfferSettings};
use crate::anyhedge::relay::client::RelayClient;
use crate::anyhedge::relay::poller::{PollError, PollReport, run_poller};
use crate::anyhedge::updates::Updates;
use crate::chain::Chain;
use crate::config::Config;
use crate::desks::Pane;
use crate::store::Store;
use crate::store::anyhedge_oracles::OracleSpec;

/// The names the devnet records the factory and the collateral token under.
pub const FACTORY: &str = "anyhedge.factory";
pub const COLLATERAL: &str = "anyhedge.collateral";
/// How often to look again for a factory that is not deployed yet.
const WAIT_FOR_CONTRACT: Duration = Duration::from_secs(3);
/// A cycle at least this often (deadlines and maturities pass without any event).
const TICK: Duration = Duration::from_secs(1);
/// A relay poll's outcome, by oracle public key.
type PollOutcome = (String, Result<PollReport, PollError>);

#[derive(Clone)]
pub struct AnyHedgeDesk {
    pub config: Arc<Config>,
    pub chain: Chain,
    pub store: Store,
    pub queue: ActionQueue,
    /// Per-wallet updates (the API's WebSocket).
    pub updates: Updates,
    /// Where the worker loop records its cycle times (`/metrics`).
    pub cycle_timer: crate::metrics::CycleTimer,
    pane: Pane<AnyHedgeSnapshot>,
    /// The last poll of each oracle, as the pane says it.
    polls: Arc<std::sync::Mutex<std::collections::BTreeMap<String, String>>>,
    requests: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<AnyHedgeRequest>>>,
    requests_tx: mpsc::UnboundedSender<AnyHedgeRequest>,
    /// Where the API listens, once it does (the pane shows it).
    api_addr: watch::Receiver<Option<std::net::SocketAddr>>,
}

/// The contracts the desk works with, once found.
#[derive(Debug, Clone, Copy)]
pub struct Contracts {
    pub factory: Address,
    pub collateral: Address,
    /// The block the factory was deployed at (where log searches start).
    pub from_block: u64,
}

impl AnyHedgeDesk {
    pub fn new(
        config: Arc<Config>,
        chain: Chain,
        store: Store,
        queue: ActionQueue,
        updates: Updates,
    ) -> Self {
        let empty = AnyHedgeSnapshot {
            chain: chain.name().to_string(),
            ..AnyHedgeSnapshot::default()
        };
        let (requests_tx, requests) = mpsc::unbounded_channel();
        Self {
            config,
            chain,
            store,
            queue,
            updates,
            cycle_timer: crate::metrics::CycleTimer::default(),
            pane: Pane::new("anyhedge", empty),
            polls: Arc::default(),
            requests: Arc::new(tokio::sync::Mutex::new(requests)),
            requests_tx,
            api_addr: watch::channel(None).1,
        }
    }

    /// The API's bound address as the runtime learns it, for the pane.
    pub fn with_api_addr(
        mut self,
        api_addr: watch::Receiver<Option<std::net::SocketAddr>>,
    ) -> Self {
        self.api_addr = api_addr;
        self
    }

    /// Where the API and the AnyHedge tab send their requests.
    pub fn requests(&self) -> mpsc::UnboundedSender<AnyHedgeRequest> {
        self.requests_tx.clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<AnyHedgeSnapshot>> {
        self.pane.subscribe()
    }

    fn publish(&self, change: impl FnOnce(&mut AnyHedgeSnapshot)) {
        self.pane.publish(change);
    }

    /// Records what went wrong, or what the desk is waiting for, on the pane's journal and
    /// in the log.
    pub fn journal(&self, severity: Severity, message: String) {
        self.pane.journal(severity, message);
    }

    /// An address as configured, or the deployment recorded under that name.
    async fn resolve(&self, what: &str) -> anyhow::Result<Option<(Address, u64)>> {
        Ok(self
            .store
            .resolve_address(self.chain.chain_id(), what)
            .await?)
    }

    async fn find_contracts(
        &self,
        cancel: &CancellationToken,
    ) -> anyhow::Result<Option<Contracts>> {
        let a = &self.config.anyhedge;
        loop {
            let factory = self.resolve(&a.factory).await?;
            let collateral = self.resolve(&a.collateral).await?;
            if let (Some((factory, block)), Some((collateral, _))) = (factory, collateral) {
                return Ok(Some(Contracts {
                    factory,
                    collateral,
                    from_block: block.max(a.start_block),
                }));
            }
            self.publish(|s| {
                s.note = Some(format!(
                    "waiting for {:?} and {:?} on {} (hedgedesk devnet up deploys them)",
                    a.factory,
                    a.collateral,
                    self.chain.name()
                ))
            });
            tokio::select! {
                _ = cancel.cancelled() => return Ok(None),
                _ = tokio::time::sleep(WAIT_FOR_CONTRACT) => {}
            }
        }
    }

    /// The offers as the desk and the API handle them, once the contracts are known.
    pub fn offer_settings(&self, contracts: Option<&Contracts>) -> OfferSettings {
        let mut settings = OfferSettings::new(
            self.chain.chain_id(),
            contracts.map(|c| c.factory),
            contracts.map(|c| c.collateral),
        );
        settings.settlement_deadline_secs = self.config.anyhedge.settlement_deadline_secs;
        settings
    }

    /// Records the configured oracles and starts one relay poller each; their reports come
    /// back on `reports`.
    async fn start_pollers(
        &self,
        cancel: &CancellationToken,
        reports: &mpsc::UnboundedSender<PollOutcome>,
    ) -> anyhow::Result<()> {
        for oracle in &self.config.anyhedge.oracles {
            let pubkey = oracle
                .pubkey
                .trim()
                .trim_start_matches("0x")
                .to_ascii_lowercase();
            self.store
                .anyhedge_upsert_oracle(OracleSpec {
                    pubkey: pubkey.clone(),
                    relay_url: oracle.relay.clone(),
                    asset_name: oracle.asset_name.clone(),
                    asset_currency: oracle.asset_currency.clone(),
                    asset_decimals: oracle.asset_decimals,
                    active: true,
                })
                .await?;
            let client = RelayClient::new(&oracle.relay, Duration::from_secs(15))?;
            let reports = reports.clone();
            let key = pubkey.clone();
            tokio::spawn(run_poller(
                self.store.clone(),
                client,
                pubkey,
                Duration::from_secs(self.config.anyhedge.poll_interval_secs),
                cancel.child_token(),
                move |outcome| {
                    let _ = reports.send((key.clone(), outcome));
                },
            ));
        }
        Ok(())
    }

    fn poll_reported(&self, pubkey: &str, outcome: Result<PollReport, PollError>) {
        let short = &pubkey[..pubkey.len().min(10)];
        let line = match outcome {
            Ok(report) => {
                for rejected in &report.rejected {
                    self.journal(
                        Severity::Failure,
                        format!(
                            "oracle {short}…: relay served a message that does not verify: {}",
                            rejected.reason
                        ),
                    );
                }
                format!(
                    "{} new, {} known{}",
                    report.new.len(),
                    report.duplicates.len(),
                    if report.rejected.is_empty() {
                        String::new()
                    } else {
                        format!(", {} rejected", report.rejected.len())
                    }
                )
            }
            Err(e) => {
                self.journal(
                    Severity::Failure,
                    format!("oracle {short}…: relay poll failed: {e}"),
                );
                format!("failed: {e}")
            }
        };
        self.polls
            .lock()
            .expect("the polls map is never poisoned")
            .insert(pubkey.to_string(), line);
    }

    /// Runs until `cancel`.
    pub async fn run(self, cancel: CancellationToken) -> anyhow::Result<()> {
        let Some(contracts) = self.find_contracts(&cancel).await? else {
            return Ok(());
        };
        self.publish(|s| {
            s.factory = Some(contracts.factory);
            s.note = None;
        });
        let offers = OfferBook::new(
            self.store.clone(),
            self.updates.clone(),
            self.offer_settings(Some(&contracts)),
        );
        let pollers = cancel.child_token();
        let _stop_pollers = pollers.clone().drop_guard();
        let (reports_tx, mut reports) = mpsc::unbounded_channel();
        self.start_pollers(&pollers, &reports_tx).await?;

        let mut memory = cycle::Memory::default();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let requests = self.requests.clone();
        let mut requests = requests.lock().await;
        loop {
            let mut asked = Vec::new();
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                Some(request) = requests.recv() => asked.push(request),
                Some((pubkey, outcome)) = reports.recv() => self.poll_reported(&pubkey, outcome),
                _ = tick.tick() => {}
            }
            while let Ok(request) = requests.try_recv() {
                asked.push(request);
            }
            while let Ok((pubkey, outcome)) = reports.try_recv() {
                self.poll_reported(&pubkey, outcome);
            }
            let now = chrono::Utc::now();
            let cycle = self.cycle(&contracts, &offers, &asked, &mut memory, now.timestamp());
            if let Err(e) = self.cycle_timer.time(cycle).await {
                self.journal(Severity::Failure, format!("cycle failed: {e:#}"));
            }
            match snapshot::build(&self.store, &self.queue).await {
                Ok(mut built) => self.publish(|s| {
                    let polls = self.polls.lock().expect("the polls map is never poisoned");
                    for oracle in &mut built.oracles {
                        oracle.last_poll = polls.get(&oracle.pubkey).cloned();
                    }
                    s.offers = built.offers;
                    s.positions = built.positions;
                    s.settlements = built.settlements;
                    s.oracles = built.oracles;
                    s.last_cycle_ms = Some(now.timestamp_millis());
                    s.api = self.api_addr.borrow().map(|a| a.to_string());
                }),
                Err(e) => tracing::warn!(error = %e, "anyhedge: pane not refreshed"),
            }
        }
    }
}
