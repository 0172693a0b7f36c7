//! Keeps an oracle's price messages up to date from its relay, the way the AnyHedge
//! watchtower does (paytaca/watchtower-cash `check_new_oracle_price_messages`): each poll
//! asks for the latest messages since the newest one stored, at most ten, and as many as
//! minutes have passed since that message (oracles publish about one price a minute).
//!
//! Every message is verified against the oracle's key before it is stored. Nothing is
//! dropped silently: the [`PollReport`] lists what was new, already stored, skipped as
//! metadata, and rejected with the reason, for the desk to journal.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::client::{MessageQuery, RelayClient, RelayError, RelayMessage};
use crate::anyhedge::message::{OracleMessage, VerifiedMessage, is_metadata, verify};
use crate::store::anyhedge_oracles::InsertOutcome;
use crate::store::{Store, StoreError};

/// The most messages one poll asks for.
pub const MAX_FETCH: u32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("pubkey: {0}")]
    Pubkey(String),
    #[error(transparent)]
    Relay(#[from] RelayError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A message the poller refused, as the relay served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub message: String,
    pub public_key: String,
    pub signature: String,
    pub reason: String,
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    pub pubkey: String,
    /// The `count` asked of the relay.
    pub requested: u32,
    /// How many messages the relay returned.
    pub fetched: usize,
    /// Verified and stored for the first time.
    pub new: Vec<OracleMessage>,
    /// Verified, already stored (by message sequence).
    pub duplicates: Vec<i32>,
    /// Signed metadata messages (not prices): not verified, not stored. The message
    /// sequence when the message is long enough to carry one.
    pub metadata_skipped: Vec<Option<i32>>,
    pub rejected: Vec<Rejection>,
}

/// How many messages to ask for: [`MAX_FETCH`] with nothing stored, otherwise the minutes
/// since the newest stored message, rounded up (an extra duplicate costs nothing, a missed
/// message leaves a gap in the price sequence), between 1 and [`MAX_FETCH`].
pub fn fetch_count(newest_timestamp: Option<i64>, now_secs: i64) -> u32 {
    match newest_timestamp {
        None => MAX_FETCH,
        Some(newest) => {
            let elapsed = now_secs.saturating_sub(newest).max(0);
            let minutes = (elapsed + 59) / 60;
            minutes.clamp(1, i64::from(MAX_FETCH)) as u32
        }
    }
}

/// One poll of one oracle at `now_secs` (unix seconds).
pub async fn poll_once(
    store: &Store,
    client: &RelayClient,
    pubkey: &str,
    now_secs: i64,
) -> Result<PollReport, PollError> {
    let pubkey_bytes =
        hex::decode(pubkey.trim()).map_err(|e| PollError::Pubkey(format!("not hex: {e}")))?;
    crate::anyhedge::message::parse_pubkey(&pubkey_bytes)
        .map_err(|e| PollError::Pubkey(e.reason()))?;
    let pubkey = hex::encode(&pubkey_bytes);

    let newest = store.anyhedge_latest_price_message(&pubkey).await?;
    let newest_timestamp = newest.as_ref().map(|m| i64::from(m.message_timestamp));
    let count = fetch_count(newest_timestamp, now_secs);
    let query = MessageQuery {
        count: Some(count),
        min_message_timestamp: newest_timestamp,
        // Price messages only, as the watchtower asks; metadata a relay sends anyway is
        // skipped below.
        min_data_sequence: Some(1),
        ..MessageQuery::default()
    };
    let served = client.oracle_messages(&pubkey, &query).await?;

    let mut report = PollReport {
        pubkey: pubkey.clone(),
        requested: count,
        fetched: served.len(),
        ..PollReport::default()
    };
    let mut verified: Vec<VerifiedMessage> = Vec::new();
    for item in served {
        match classify(&pubkey_bytes, &item) {
            Classified::Price(message) => verified.push(*message),
            Classified::Metadata(sequence) => report.metadata_skipped.push(sequence),
            Classified::Rejected(reason) => report.rejected.push(rejection(&item, reason)),
        }
    }

    let by_sequence: Vec<(i32, VerifiedMessage)> = verified
        .iter()
        .map(|m| (m.message().message_sequence, m.clone()))
        .collect();
    let inserted = store.anyhedge_insert_price_messages(verified).await?;
    for ((sequence, outcome), (_, message)) in inserted.outcomes.into_iter().zip(by_sequence) {
        match outcome {
            InsertOutcome::New => report.new.push(*message.message()),
            InsertOutcome::Duplicate => report.duplicates.push(sequence),
            InsertOutcome::Conflict { stored_message } => report.rejected.push(Rejection {
                message: hex::encode(message.bytes()),
                public_key: pubkey.clone(),
                signature: hex::encode(message.signature()),
                reason: format!(
                    "message_sequence {sequence}: conflicts with the stored message \
                     {stored_message} (the oracle signed two messages with one sequence)"
                ),
            }),
        }
    }
    for r in &report.rejected {
        tracing::warn!(
            oracle = %pubkey,
            message = %r.message,
            reason = %r.reason,
            "anyhedge relay: oracle message rejected"
        );
    }
    Ok(report)
}

enum Classified {
    Price(Box<VerifiedMessage>),
    Metadata(Option<i32>),
    Rejected(String),
}

fn classify(oracle: &[u8], item: &RelayMessage) -> Classified {
    let served_key = match hex::decode(item.public_key.trim()) {
        Ok(k) => k,
        Err(e) => return Classified::Rejected(format!("publicKey: not hex: {e}")),
    };
    if served_key != oracle {
        return Classified::Rejected(format!(
            "publicKey: the relay sent a message of {} for oracle {}",
            item.public_key,
            hex::encode(oracle)
        ));
    }
    let message = match hex::decode(item.message.trim()) {
        Ok(m) => m,
        Err(e) => return Classified::Rejected(format!("message: not hex: {e}")),
    };
    if is_metadata(&message) {
        let sequence = message
            .get(4..8)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        return Classified::Metadata(sequence);
    }
    let signature = match hex::decode(item.signature.trim()) {
        Ok(s) => s,
        Err(e) => return Classified::Rejected(format!("signature: not hex: {e}")),
    };
    match verify(oracle, &message, &signature) {
        Ok(m) => Classified::Price(Box::new(m)),
        Err(e) => Classified::Rejected(e.to_string()),
    }
}

fn rejection(item: &RelayMessage, reason: String) -> Rejection {
    Rejection {
        message: item.message.clone(),
        public_key: item.public_key.clone(),
        signature: item.signature.clone(),
        reason,
    }
}

/// Polls the oracle now and then every `interval` until `cancel` fires, handing each
/// outcome to `on_report` (which should journal rejections). A failed poll is reported
/// and the loop goes on.
pub async fn run_poller(
    store: Store,
    client: RelayClient,
    pubkey: String,
    interval: Duration,
    cancel: CancellationToken,
    mut on_report: impl FnMut(Result<PollReport, PollError>) + Send,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let now = chrono::Utc::now().timestamp();
        let outcome = tokio::select! {
            _ = cancel.cancelled() => return,
            outcome = poll_once(&store, &client, &pubkey, now) => outcome,
        };
        if let Err(e) = &outcome {
            tracing::warn!(oracle = %pubkey, error = %e, "anyhedge relay: poll failed");
        }
        on_report(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_follows_minutes_since_the_newest_message() {
        assert_eq!(fetch_count(None, 1_000_000), 10);
        assert_eq!(fetch_count(Some(1_000_000), 1_000_000), 1);
        assert_eq!(fetch_count(Some(1_000_000), 1_000_030), 1);
        assert_eq!(fetch_count(Some(1_000_000), 1_000_180), 3);
        assert_eq!(fetch_count(Some(1_000_000), 1_000_181), 4);
        assert_eq!(fetch_count(Some(1_000_000), 1_003_600), 10);
        // A clock behind the oracle's still asks for one.
        assert_eq!(fetch_count(Some(1_000_000), 999_000), 1);
    }
}
