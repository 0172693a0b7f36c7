//! New heads that wake a stream's scanner.
//!
//! With a WebSocket URL: a `newHeads` subscription; when it cannot be opened or drops,
//! reconnection with exponential backoff, and `eth_blockNumber` polling over HTTP every
//! `poll_interval` while it is down. Without one: polling only. A head only wakes the
//! scanner; what is scanned is always decided from the cursor and `eth_getLogs`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use alloy::providers::{Provider, ProviderBuilder, RootProvider, WsConnect};
use futures::{Stream, StreamExt};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::IngestStats;

/// The first wait before reconnecting a dropped WebSocket.
const WS_BACKOFF_START: Duration = Duration::from_millis(250);
/// A subscription attempt (connect + `eth_subscribe`) that takes longer has failed.
const WS_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where heads come from.
#[derive(Debug, Clone)]
pub struct HeadSource {
    /// HTTP provider polled for `eth_blockNumber`.
    pub provider: RootProvider,
    /// `newHeads` subscription endpoint, if any.
    pub ws_url: Option<String>,
    pub poll_interval: Duration,
    pub ws_backoff_max: Duration,
}

/// Starts watching heads until `cancel`. The receiver changes on every new head (its
/// value is the head's number; a same-height replacement still counts as a change).
pub fn watch_heads(
    source: HeadSource,
    stats: Arc<IngestStats>,
    cancel: CancellationToken,
) -> watch::Receiver<u64> {
    let (tx, rx) = watch::channel(0u64);
    tokio::spawn(async move {
        let watcher = Watcher { source, stats, tx };
        match watcher.source.ws_url.clone() {
            Some(url) => watcher.subscribe_loop(&url, &cancel).await,
            None => watcher.poll_until(None, &cancel).await,
        }
    });
    rx
}

struct Watcher {
    source: HeadSource,
    stats: Arc<IngestStats>,
    tx: watch::Sender<u64>,
}

impl Watcher {
    fn wake(&self, head: u64) {
        self.tx.send_replace(head);
    }

    async fn subscribe_loop(&self, url: &str, cancel: &CancellationToken) {
        let mut backoff = WS_BACKOFF_START;
        loop {
            if cancel.is_cancelled() {
                return;
            }
            let attempt = tokio::time::timeout(WS_CONNECT_TIMEOUT, subscribe(url));
            let subscribed = tokio::select! {
                _ = cancel.cancelled() => return,
                result = attempt => result.unwrap_or_else(|_| Err("timed out".into())),
            };
            match subscribed {
                Ok((provider, mut heads)) => {
                    self.stats.ws_up.store(true, Ordering::Relaxed);
                    IngestStats::add(&self.stats.ws_connects, 1);
                    tracing::debug!(url, "newHeads subscription up");
                    backoff = WS_BACKOFF_START;
                    // Heads may have passed while it was down.
                    self.tx.send_modify(|_| {});
                    // Ends when the socket is gone for good (lagged items are skipped:
                    // the next head wakes the scanner all the same).
                    loop {
                        let item = tokio::select! {
                            _ = cancel.cancelled() => return,
                            item = heads.next() => item,
                        };
                        let Some(header) = item else { break };
                        IngestStats::add(&self.stats.ws_heads, 1);
                        self.wake(header.number);
                    }
                    drop(provider);
                    self.stats.ws_up.store(false, Ordering::Relaxed);
                    tracing::warn!(
                        url,
                        "newHeads subscription dropped; polling until it is back"
                    );
                }
                Err(error) => {
                    tracing::warn!(url, %error, retry_in_ms = backoff.as_millis() as u64,
                        "cannot subscribe to newHeads; polling meanwhile");
                }
            }
            self.poll_until(Some(Instant::now() + backoff), cancel)
                .await;
            backoff = (backoff * 2).min(self.source.ws_backoff_max.max(WS_BACKOFF_START));
        }
    }

    /// Polls `eth_blockNumber` every `poll_interval` (the first at once), waking on each
    /// new number, until `deadline` (forever when `None`) or cancellation.
    async fn poll_until(&self, deadline: Option<Instant>, cancel: &CancellationToken) {
        let mut last = None;
        loop {
            if cancel.is_cancelled() {
                return;
            }
            IngestStats::add(&self.stats.head_polls, 1);
            match self.source.provider.get_block_number().await {
                Ok(head) if last != Some(head) => {
                    last = Some(head);
                    self.wake(head);
                }
                Ok(_) => {}
                Err(error) => tracing::debug!(%error, "head poll failed"),
            }
            let mut wait = self.source.poll_interval;
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return;
                }
                wait = wait.min(left);
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return;
            }
        }
    }
}

/// Opens the socket and the `newHeads` subscription. The provider must outlive the
/// subscription. Reconnection is ours (with polling meanwhile), so alloy's own retry is
/// kept to one attempt.
async fn subscribe(
    url: &str,
) -> Result<
    (
        RootProvider,
        impl Stream<Item = alloy::rpc::types::Header> + Unpin + use<>,
    ),
    String,
> {
    let connect = WsConnect::new(url)
        .with_max_retries(1)
        .with_retry_interval(Duration::from_millis(100));
    let provider = ProviderBuilder::default()
        .connect_ws(connect)
        .await
        .map_err(|e| e.to_string())?;
    let heads = provider
        .subscribe_blocks()
        .await
        .map_err(|e| e.to_string())?;
    Ok((provider, heads.into_stream()))
}
