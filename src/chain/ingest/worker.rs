//! The stream worker: scan, wait for a new head, scan again; back off on RPC errors;
//! stop promptly on cancellation.

use std::sync::Arc;
use std::time::Duration;

use alloy::providers::RootProvider;
use anyhow::Context as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::heads::{HeadSource, watch_heads};
use super::{IngestConfig, IngestNotice, Ingestor, LogHandler, StreamSpec};
use crate::store::Store;

/// The first pause after a failed scan; doubles up to `error_backoff_max`.
const ERROR_BACKOFF_START: Duration = Duration::from_millis(200);

impl Ingestor {
    /// Runs the stream until `cancel`: a scan at once (the backfill after downtime), then
    /// one per new head. RPC failures and a busy database are retried with backoff; a
    /// problem retrying cannot fix (a changed filter, a reorg deeper than the window,
    /// a failing handler, a closed store) ends the worker with the error.
    ///
    /// Cancellation is prompt, even in the middle of a request: every chunk commits
    /// whole, so the cursor is consistent wherever the scan stopped.
    pub async fn run(&self, cancel: CancellationToken) -> anyhow::Result<()> {
        let heads_cancel = cancel.child_token();
        let _stop_heads = heads_cancel.clone().drop_guard();
        let mut heads = watch_heads(
            HeadSource {
                provider: self.provider.clone(),
                ws_url: self.config.ws_url.clone(),
                poll_interval: self.config.poll_interval,
                ws_backoff_max: self.config.ws_backoff_max,
            },
            self.stats.clone(),
            heads_cancel,
        );
        let name = &self.spec.name;
        let mut backoff = ERROR_BACKOFF_START;
        tracing::info!(stream = %name, chain_id = self.spec.chain_id, "event ingestion started");
        loop {
            // Heads that arrive during the scan trigger the next one.
            heads.mark_unchanged();
            let scanned = tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                scanned = self.scan(&cancel) => scanned,
            };
            match scanned {
                Ok(report) => {
                    backoff = ERROR_BACKOFF_START;
                    if report.chunks > 0 || !report.rewound_to.is_empty() {
                        tracing::debug!(stream = %name, ?report, "scanned");
                    }
                    if !report.caught_up() {
                        // Stopped early (cancelled, or the head moved on): go again.
                        continue;
                    }
                }
                Err(error) if error.is_transient() => {
                    tracing::warn!(stream = %name, %error, retry_in_ms = backoff.as_millis() as u64,
                        "event scan failed; retrying");
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff =
                        (backoff * 2).min(self.config.error_backoff_max.max(ERROR_BACKOFF_START));
                    continue;
                }
                Err(error) => {
                    return Err(error).with_context(|| format!("event stream {name:?} stopped"));
                }
            }
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                changed = heads.changed() => {
                    if changed.is_err() {
                        // The head watcher is gone (it only ends on cancel): poll instead.
                        tokio::select! {
                            _ = cancel.cancelled() => break,
                            _ = tokio::time::sleep(self.config.poll_interval) => {}
                        }
                    }
                }
            }
        }
        tracing::info!(stream = %name, "event ingestion stopped");
        Ok(())
    }
}

/// Runs one stream's ingestion until `cancel` (see [`Ingestor::run`]).
pub async fn run_stream(
    provider: RootProvider,
    store: Store,
    spec: StreamSpec,
    handler: Arc<dyn LogHandler>,
    notices: mpsc::Sender<IngestNotice>,
    config: IngestConfig,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    Ingestor::new(provider, store, spec, handler, notices, config)?
        .run(cancel)
        .await
}
