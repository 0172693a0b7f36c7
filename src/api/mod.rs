//! The HTTP API (axum): the AnyHedge watchtower's REST endpoints and WebSocket updates,
//! and the runtime's Prometheus `/metrics` and `/health`.
//!
//! Handlers read and write through the store and ask the AnyHedge desk for anything that
//! sends a transaction ([`AnyHedgeRequest`]); they never send one themselves.

pub mod anyhedge;
pub mod error;
pub mod extract;
pub mod monitor;
pub mod pagination;

use std::sync::Arc;

use alloy::primitives::Address;
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::anyhedge::desk::{COLLATERAL, FACTORY};
use crate::anyhedge::offers::lifecycle::{
    DEFAULT_MAX_START_PRICE_AGE_SECS, DEFAULT_SETTLEMENT_DEADLINE_SECS, OfferBook, OfferSettings,
};
use crate::anyhedge::requests::AnyHedgeRequest;
use crate::anyhedge::updates::Updates;
use crate::metrics::MonitorSources;
use crate::store::{Store, StoreError};

/// What the AnyHedge API needs to know about the chain and its rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnyHedgeApiSettings {
    /// The chain of the EIP-712 domains the parties sign in.
    pub chain_id: u64,
    /// The `HedgeFactory`; when `None`, the deployment recorded under
    /// `anyhedge.factory` for `chain_id` (once the devnet deploys it).
    pub factory: Option<Address>,
    /// The collateral token; when `None`, the deployment `anyhedge.collateral`.
    pub collateral: Option<Address>,
    /// How long an accepted offer has to settle.
    pub settlement_deadline_secs: u64,
    /// How old the oracle's latest price may be to start a contract from.
    pub max_start_price_age_secs: u64,
}

impl AnyHedgeApiSettings {
    pub fn new(chain_id: u64) -> Self {
        AnyHedgeApiSettings {
            chain_id,
            factory: None,
            collateral: None,
            settlement_deadline_secs: DEFAULT_SETTLEMENT_DEADLINE_SECS,
            max_start_price_age_secs: DEFAULT_MAX_START_PRICE_AGE_SECS,
        }
    }
}

/// Everything a handler works with; cheap to clone.
#[derive(Debug, Clone)]
pub struct ApiState {
    pub store: Store,
    pub updates: Updates,
    pub desk: UnboundedSender<AnyHedgeRequest>,
    pub settings: AnyHedgeApiSettings,
    /// What `/metrics` and `/health` read; without it they answer 503.
    pub monitor: Option<Arc<MonitorSources>>,
}

impl ApiState {
    pub fn new(
        store: Store,
        updates: Updates,
        desk: UnboundedSender<AnyHedgeRequest>,
        settings: AnyHedgeApiSettings,
    ) -> Self {
        ApiState {
            store,
            updates,
            desk,
            settings,
            monitor: None,
        }
    }

    /// Serves `/metrics` and `/health` from `sources`.
    pub fn with_monitor(mut self, sources: MonitorSources) -> Self {
        self.monitor = Some(Arc::new(sources));
        self
    }

    /// The factory and collateral, as configured or as deployed.
    pub async fn contracts(&self) -> Result<(Option<Address>, Option<Address>), StoreError> {
        let s = &self.settings;
        let factory = match s.factory {
            Some(a) => Some(a),
            None => self
                .store
                .deployment(s.chain_id, FACTORY)
                .await?
                .map(|d| d.address),
        };
        let collateral = match s.collateral {
            Some(a) => Some(a),
            None => self
                .store
                .deployment(s.chain_id, COLLATERAL)
                .await?
                .map(|d| d.address),
        };
        Ok((factory, collateral))
    }

    /// The offers, with the contracts as known now.
    pub async fn offers(&self) -> Result<OfferBook, StoreError> {
        let (factory, collateral) = self.contracts().await?;
        Ok(OfferBook::new(
            self.store.clone(),
            self.updates.clone(),
            OfferSettings {
                chain_id: self.settings.chain_id,
                factory,
                collateral,
                settlement_deadline_secs: self.settings.settlement_deadline_secs,
                max_start_price_age_secs: self.settings.max_start_price_age_secs,
            },
        ))
    }

    /// Queues `request` for the desk; `false` (and a warning) when the desk is gone.
    pub fn ask_desk(&self, request: AnyHedgeRequest) -> bool {
        match self.desk.send(request) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(request = ?e.0, "anyhedge api: the desk is not running; request not queued");
                false
            }
        }
    }
}

/// Signals long-lived connections (the WebSockets) that the server is stopping.
#[derive(Debug, Clone)]
pub struct Shutdown(pub CancellationToken);

/// Every route of the API.
pub fn router(state: ApiState) -> Router {
    anyhedge::routes()
        .merge(monitor::routes())
        .fallback(|| async { error::ApiError::not_found("no such endpoint") })
        .with_state(state)
}

/// Serves `router` on `listener` until `cancel`; open WebSockets are closed then too.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    let app = router.layer(Extension(Shutdown(cancel.clone())));
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { cancel.cancelled().await })
        .await
}
