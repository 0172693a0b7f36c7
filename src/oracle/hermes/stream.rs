//! The Hermes price stream (`/v2/updates/price/stream`, server-sent events), kept alive:
//! reconnects with backoff when the server closes (it does after 24 h, and drops slow
//! readers), and a stall watchdog reconnects when nothing arrives for too long.

use std::time::Duration;

use alloy::primitives::B256;
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::client::{HermesClient, ids_query};
use super::model::PriceUpdate;

#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Nothing (not even a keep-alive) for this long means the stream is dead.
    pub stall_timeout: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            stall_timeout: Duration::from_secs(30),
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// What the stream task reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    Connected,
    Update(PriceUpdate),
    /// An event that did not parse; the stream goes on.
    Garbage {
        reason: String,
    },
    /// The connection ended (closed, failed or stalled); the next try is after `wait`.
    Reconnecting {
        reason: String,
        wait: Duration,
    },
}

/// Streams `ids` until `cancel`, sending what happens to the returned channel.
pub fn stream_prices(
    client: HermesClient,
    ids: Vec<B256>,
    options: StreamOptions,
    cancel: CancellationToken,
) -> mpsc::Receiver<StreamEvent> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let path = format!(
            "/v2/updates/price/stream?{}&encoding=hex&parsed=true",
            ids_query(&ids)
        );
        let mut wait = options.backoff_initial;
        loop {
            let reason = tokio::select! {
                _ = cancel.cancelled() => return,
                reason = run_once(&client, &path, &options, &tx, &mut wait) => reason,
            };
            let Some(reason) = reason else { return };
            tracing::warn!(%reason, wait_ms = wait.as_millis() as u64, "Hermes stream reconnecting");
            if tx
                .send(StreamEvent::Reconnecting { reason, wait })
                .await
                .is_err()
            {
                return;
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(options.backoff_max);
        }
    });
    rx
}

/// One connection. Returns why it ended, or `None` when the receiver is gone.
async fn run_once(
    client: &HermesClient,
    path: &str,
    options: &StreamOptions,
    tx: &mpsc::Sender<StreamEvent>,
    wait: &mut Duration,
) -> Option<String> {
    let response = match tokio::time::timeout(
        options.stall_timeout,
        client
            .request(path)
            .header("Accept", "text/event-stream")
            .send(),
    )
    .await
    {
        Err(_) => return Some("no response (stalled)".into()),
        Ok(Err(e)) => return Some(e.without_url().to_string()),
        Ok(Ok(r)) => r,
    };
    if !response.status().is_success() {
        return Some(format!("HTTP {}", response.status().as_u16()));
    }
    tx.send(StreamEvent::Connected).await.ok()?;
    let mut body = response.bytes_stream();
    let mut parser = SseParser::default();
    loop {
        let chunk = match tokio::time::timeout(options.stall_timeout, body.next()).await {
            Err(_) => {
                return Some(format!(
                    "nothing for {}ms (stalled)",
                    options.stall_timeout.as_millis()
                ));
            }
            Ok(None) => return Some("closed by the server".into()),
            Ok(Some(Err(e))) => return Some(e.without_url().to_string()),
            Ok(Some(Ok(chunk))) => chunk,
        };
        for data in parser.push(&chunk) {
            let event = match PriceUpdate::from_json(&data) {
                Ok(update) => {
                    // A healthy event resets the backoff.
                    *wait = options.backoff_initial;
                    StreamEvent::Update(update)
                }
                Err(e) => StreamEvent::Garbage {
                    reason: e.to_string(),
                },
            };
            tx.send(event).await.ok()?;
        }
    }
}

/// Splits a server-sent-event byte stream into each event's `data` (joined lines).
#[derive(Debug, Default)]
pub struct SseParser {
    pending: Vec<u8>,
    data: Vec<String>,
}

impl SseParser {
    /// Feeds bytes; returns the data of every event they completed.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() {
                    out.push(self.data.join("\n"));
                    self.data.clear();
                }
            } else if let Some(value) = line.strip_prefix("data:") {
                self.data
                    .push(value.strip_prefix(' ').unwrap_or(value).to_string());
            }
            // Comments (`:`), `event:`, `id:` and `retry:` lines carry nothing we use.
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_and_lines() {
        let mut p = SseParser::default();
        assert!(p.push(b"data:{\"a\":").is_empty());
        assert!(p.push(b"1}\n").is_empty());
        assert_eq!(
            p.push(b"\n: keep-alive\n\ndata: x\r\ndata: y\r\n\r\n"),
            vec!["{\"a\":1}".to_string(), "x\ny".to_string()]
        );
        assert!(p.push(b"event: price\nid: 7\n").is_empty());
    }
}
