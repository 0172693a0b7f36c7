//! The oracle desk's worker: finds the PriceCaster on its chain, streams the configured
//! feeds from Hermes, runs every update through the publishing cycle, and keeps the pane's
//! snapshot fresh (slots as the contract holds them, the last cycle, price history).

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::hermes::{HermesClient, StreamEvent, StreamOptions, stream_prices};
use super::pane::{CycleSummary, OracleSnapshot, RequestOutcome, SlotRow};
use super::publish::Publisher;
use super::slot::PriceSlot;
use crate::actions::{ActionKind, ActionQueue};
use crate::chain::Chain;
use crate::chain::contracts::PriceCaster;
use crate::chain::send::{Sender, Tracker};
use crate::config::Config;
use crate::prices::PriceCache;
use crate::store::{CycleOutcome, CycleRecord, Store};

/// The name the PriceCaster is recorded under in `deployments`.
pub const PRICE_CASTER: &str = "oracle.price_caster";
/// How often the pane re-reads the slots from the contract.
const REFRESH: Duration = Duration::from_secs(2);
/// How often to look again for a PriceCaster that is not deployed yet.
const WAIT_FOR_CONTRACT: Duration = Duration::from_secs(5);

/// What the operator asks the desk to do from the Oracle tab (each confirmed first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeskRequest {
    /// Fetch the latest update and propose publishing every slotted feed.
    PublishNow,
    /// Allocate the configured slots the contract lacks.
    Bootstrap,
    /// Reset the contract and the layout, then allocate again.
    Reset,
}

impl DeskRequest {
    pub fn label(self) -> &'static str {
        match self {
            DeskRequest::PublishNow => "publish now",
            DeskRequest::Bootstrap => "bootstrap",
            DeskRequest::Reset => "reset",
        }
    }
}

#[derive(Clone)]
pub struct OracleDesk {
    pub config: Arc<Config>,
    pub chain: Chain,
    pub store: Store,
    pub queue: ActionQueue,
    pub prices: PriceCache,
    pub pane: Arc<watch::Sender<Arc<OracleSnapshot>>>,
    /// The operator's sender and tracker on the desk's chain (for bootstrap and reset).
    pub sender: Option<(Sender, Arc<Tracker>)>,
    /// Hermes API token, if the endpoint needs one.
    pub hermes_token: Option<secrecy::SecretString>,
    /// Where the worker loop records its cycle times (`/metrics`).
    pub cycle_timer: crate::metrics::CycleTimer,
    requests: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<DeskRequest>>>,
    requests_tx: mpsc::UnboundedSender<DeskRequest>,
}

impl OracleDesk {
    pub fn new(
        config: Arc<Config>,
        chain: Chain,
        store: Store,
        queue: ActionQueue,
        prices: PriceCache,
    ) -> Self {
        let empty = OracleSnapshot {
            chain: chain.name().to_string(),
            ..OracleSnapshot::default()
        };
        let (requests_tx, requests) = mpsc::unbounded_channel();
        Self {
            config,
            chain,
            store,
            queue,
            prices,
            pane: Arc::new(watch::channel(Arc::new(empty)).0),
            sender: None,
            hermes_token: None,
            cycle_timer: crate::metrics::CycleTimer::default(),
            requests: Arc::new(tokio::sync::Mutex::new(requests)),
            requests_tx,
        }
    }

    /// Where the UI sends [`DeskRequest`]s.
    pub fn requests(&self) -> mpsc::UnboundedSender<DeskRequest> {
        self.requests_tx.clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<OracleSnapshot>> {
        self.pane.subscribe()
    }

    /// Runs until `cancel`.
    pub async fn run(self, cancel: CancellationToken) -> anyhow::Result<()> {
        let chain_id = self.chain.chain_id();
        let price_caster = loop {
            if let Some(d) = self.store.deployment(chain_id, PRICE_CASTER).await? {
                break d.address;
            }
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                _ = tokio::time::sleep(WAIT_FOR_CONTRACT) => {}
            }
        };
        let oracle = &self.config.oracle;
        let publisher = Publisher::from_config(
            oracle,
            &self.chain,
            price_caster,
            self.store.clone(),
            self.queue.clone(),
            self.prices.clone(),
        )?;
        let mut snapshot = OracleSnapshot {
            chain: self.chain.name().to_string(),
            price_caster: Some(price_caster),
            ..OracleSnapshot::default()
        };
        self.refresh(&mut snapshot, price_caster).await;

        let ids: Vec<B256> = publisher.feeds.keys().copied().collect();
        let mut events = if ids.is_empty() {
            tracing::info!("oracle: no [[oracle.feeds]] configured; nothing to stream");
            None
        } else {
            let client = HermesClient::new(
                &oracle.hermes_url,
                self.hermes_token.clone(),
                oracle.batch_size as usize,
                Duration::from_secs(15),
            )?;
            Some(stream_prices(
                client,
                ids,
                StreamOptions::default(),
                cancel.child_token(),
            ))
        };
        let mut refresh = tokio::time::interval(REFRESH);
        let requests = self.requests.clone();
        let mut requests = requests.lock().await;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                Some(request) = requests.recv() => {
                    let summary = self.serve(request, &publisher).await;
                    snapshot.last_request = Some(RequestOutcome {
                        request: request.label(),
                        outcome: summary.clone(),
                    });
                    snapshot.last_cycle = Some(summary);
                    self.refresh(&mut snapshot, price_caster).await;
                }
                event = next(&mut events) => match event {
                    Some(StreamEvent::Update(update)) => {
                        for binary in &update.binary {
                            let now = chrono::Utc::now();
                            let started = std::time::Instant::now();
                            let result = publisher
                                .cycle(binary, now.timestamp().max(0) as u64, false)
                                .await;
                            self.cycle_timer.observe(started.elapsed());
                            let record = CycleRecord {
                                chain_id,
                                at_ms: now.timestamp_millis(),
                                duration_us: started.elapsed().as_micros() as u64,
                                verified: result.as_ref().map(|r| r.verified_prices as u32).unwrap_or(0),
                                due: result.as_ref().map(|r| r.due.len() as u32).unwrap_or(0),
                                outcome: match &result {
                                    Err(_) => CycleOutcome::Refused,
                                    Ok(r) if r.action.is_some() => CycleOutcome::Proposed,
                                    Ok(_) => CycleOutcome::NothingDue,
                                },
                                action_id: result.as_ref().ok().and_then(|r| r.action),
                                error: result.as_ref().err().map(|e| e.to_string()),
                            };
                            if let Err(e) = self.store.record_oracle_cycle(record).await {
                                tracing::warn!(error = %e, "oracle: cycle not recorded");
                            }
                            let summary = match result {
                                Ok(report) => CycleSummary {
                                    at_ms: now.timestamp_millis(),
                                    due: report.due,
                                    action: report.action,
                                    error: None,
                                },
                                Err(e) => {
                                    tracing::warn!(error = %e, "oracle: update not published");
                                    CycleSummary {
                                        at_ms: now.timestamp_millis(),
                                        due: Vec::new(),
                                        action: None,
                                        error: Some(e.to_string()),
                                    }
                                }
                            };
                            snapshot.last_cycle = Some(summary);
                        }
                        self.refresh(&mut snapshot, price_caster).await;
                    }
                    Some(StreamEvent::Garbage { reason }) => {
                        tracing::warn!(%reason, "oracle: Hermes sent an event that does not parse");
                    }
                    Some(_) => {}
                    None => events = None,
                },
                _ = refresh.tick() => self.refresh(&mut snapshot, price_caster).await,
            }
        }
    }

    /// Carries out one operator request; the outcome shows as the pane's last cycle.
    async fn serve(&self, request: DeskRequest, publisher: &Publisher) -> CycleSummary {
        let now = chrono::Utc::now();
        let result: anyhow::Result<CycleSummary> = async {
            match request {
                DeskRequest::PublishNow => {
                    let client = HermesClient::new(
                        &self.config.oracle.hermes_url,
                        self.hermes_token.clone(),
                        self.config.oracle.batch_size as usize,
                        Duration::from_secs(15),
                    )?;
                    let ids: Vec<B256> = publisher.feeds.keys().copied().collect();
                    let mut due = Vec::new();
                    let mut action = None;
                    for update in client.latest(&ids).await? {
                        for binary in &update.binary {
                            let report = publisher
                                .cycle_with(binary, now.timestamp().max(0) as u64, false, true)
                                .await?;
                            due.extend(report.due);
                            action = report.action.or(action);
                        }
                    }
                    Ok(CycleSummary {
                        at_ms: now.timestamp_millis(),
                        due,
                        action,
                        error: None,
                    })
                }
                DeskRequest::Bootstrap | DeskRequest::Reset => {
                    let (sender, tracker) = self
                        .sender
                        .clone()
                        .ok_or_else(|| anyhow::anyhow!("no sender on {}", self.chain.name()))?;
                    let layout = super::bootstrap::layout_from_config(&self.config.oracle.feeds)
                        .map_err(anyhow::Error::msg)?;
                    let bootstrap = super::bootstrap::Bootstrap {
                        chain_id: self.chain.chain_id(),
                        price_caster: publisher.price_caster,
                        provider: self.chain.provider(),
                        store: self.store.clone(),
                        sender,
                        tracker,
                    };
                    if request == DeskRequest::Reset {
                        bootstrap.reset().await?;
                    }
                    bootstrap.run(&layout).await?;
                    Ok(CycleSummary {
                        at_ms: now.timestamp_millis(),
                        due: vec![format!("{} slot(s) in place", layout.len())],
                        action: None,
                        error: None,
                    })
                }
            }
        }
        .await;
        result.unwrap_or_else(|e| {
            tracing::warn!(?request, error = %e, "oracle: request failed");
            CycleSummary {
                at_ms: now.timestamp_millis(),
                due: Vec::new(),
                action: None,
                error: Some(format!("{request:?}: {e}")),
            }
        })
    }

    /// Re-reads the layout and every slot from the contract, then publishes the snapshot.
    async fn refresh(&self, snapshot: &mut OracleSnapshot, price_caster: Address) {
        match self.rows(price_caster).await {
            Ok(rows) => {
                snapshot.rows = rows;
                snapshot.remember_prices();
            }
            Err(e) => tracing::debug!(error = %e, "oracle: pane refresh failed"),
        }
        if let Ok(stats) = self.store.oracle_cycle_stats(self.chain.chain_id()).await {
            snapshot.stats = stats;
        }
        self.pane.send_replace(Arc::new(snapshot.clone()));
    }

    async fn rows(&self, price_caster: Address) -> anyhow::Result<Vec<SlotRow>> {
        let layout = self.store.oracle_slots(self.chain.chain_id()).await?;
        let contract = PriceCaster::new(price_caster, self.chain.provider());
        let last_tx = self
            .queue
            .snapshot()
            .actions
            .iter()
            .filter(|a| a.kind == ActionKind::PublishPrices && a.tx_hash.is_some())
            .max_by_key(|a| a.id)
            .and_then(|a| a.tx_hash.clone());
        let mut rows = Vec::with_capacity(layout.len());
        for slot in layout {
            let s = contract.getSlot(slot.slot).call().await?;
            let on_chain = PriceSlot {
                asset_id: s.assetId,
                normalized_price: s.normalizedPrice,
                price: s.price,
                confidence: s.confidence,
                exponent: s.exponent,
                ema_price: s.emaPrice,
                ema_confidence: s.emaConfidence,
                publish_time: s.publishTime,
                prev_publish_time: s.prevPublishTime,
            };
            let stale_after_secs = self
                .config
                .oracle
                .feeds
                .iter()
                .find(|f| f.price_id.parse::<B256>().ok() == Some(slot.price_id))
                .map(|f| f.time_difference_secs)
                .unwrap_or(60);
            rows.push(SlotRow {
                slot: slot.slot,
                symbol: slot.symbol,
                asset_id: slot.asset_id,
                decimals: slot.decimals,
                price_id: slot.price_id,
                latest: self.prices.get(&slot.price_id),
                on_chain,
                stale_after_secs,
                last_tx: if s.publishTime != 0 {
                    last_tx.clone()
                } else {
                    None
                },
            });
        }
        Ok(rows)
    }
}

async fn next(
    events: &mut Option<tokio::sync::mpsc::Receiver<StreamEvent>>,
) -> Option<StreamEvent> {
    match events {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
