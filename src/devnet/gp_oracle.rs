//! A devnet price oracle in the General Protocols mould: it holds a secp256k1 key, signs
//! 16-byte price messages with increasing message and price sequences (ECDSA by default,
//! as our EVM hedge contract checks; BCH Schnorr optionally), can sign metadata messages,
//! publishes a live feed from a price source, and serves the relay REST endpoint
//! (`/api/v1/oracleMessages`) from memory on 127.0.0.1.
//!
//! The key is never logged or printed: `Debug` shows only the public key.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use k256::SecretKey;
use k256::ecdsa::SigningKey;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::anyhedge::message::{
    OracleMessage, Scheme, VerifiedMessage, VerifyError, ecdsa, schnorr, verify,
};
use crate::anyhedge::relay::client::{MESSAGES_PATH, OracleMessagesResponse, RelayMessage};
use crate::devnet::serve::serve_local;

/// The most messages one request is answered with.
pub const MAX_SERVED: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OracleError {
    #[error("secret key: not a valid secp256k1 scalar (zero or not below the curve order)")]
    InvalidKey,
    #[error("price: must be positive, got {0}")]
    NotPositivePrice(i32),
    #[error("timestamp: {got} is before the previous message's {last}")]
    TimestampBackwards { last: i32, got: i32 },
    #[error("metadata_type: must not be positive, got {0}")]
    MetadataType(i32),
    #[error("sequence: the {0} sequence is exhausted")]
    SequenceExhausted(&'static str),
    #[error("signing failed: {0}")]
    Sign(String),
}

/// A price message the oracle signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedMessage {
    pub pubkey: [u8; 33],
    pub message: OracleMessage,
    pub bytes: [u8; 16],
    pub signature: Vec<u8>,
    pub scheme: Scheme,
}

impl SignedMessage {
    pub fn pubkey_hex(&self) -> String {
        hex::encode(self.pubkey)
    }

    pub fn message_hex(&self) -> String {
        hex::encode(self.bytes)
    }

    pub fn signature_hex(&self) -> String {
        hex::encode(&self.signature)
    }

    /// The message through the same verification as any relay's (to store it directly).
    pub fn verified(&self) -> Result<VerifiedMessage, VerifyError> {
        verify(&self.pubkey, &self.bytes, &self.signature)
    }
}

/// A metadata message the oracle signed (not a price).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedMetadata {
    pub bytes: Vec<u8>,
    pub signature: Vec<u8>,
}

struct Entry {
    bytes: Vec<u8>,
    signature: Vec<u8>,
    timestamp: i32,
    message_sequence: i32,
    data_sequence: i32,
}

struct Feed {
    scheme: Scheme,
    entries: Vec<Entry>,
    last_message_sequence: i32,
    last_price_sequence: i32,
}

/// What the relay endpoint reads.
struct Shared {
    pubkey_hex: String,
    feed: Mutex<Feed>,
}

impl Shared {
    fn feed(&self) -> MutexGuard<'_, Feed> {
        // A panic while holding the lock leaves the feed consistent (entries are pushed
        // last), so a poisoned lock is still usable.
        self.feed.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct Inner {
    secret: SecretKey,
    pubkey: [u8; 33],
    shared: Arc<Shared>,
    /// Stops the servers when the last handle goes.
    shutdown: CancellationToken,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The oracle. Clones share the key and the feed.
#[derive(Clone)]
pub struct DevnetOracle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for DevnetOracle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevnetOracle")
            .field("pubkey", &self.inner.shared.pubkey_hex)
            .finish_non_exhaustive()
    }
}

impl DevnetOracle {
    /// An oracle whose key is derived from `seed` (the same seed, the same oracle).
    pub fn from_seed(seed: &[u8]) -> DevnetOracle {
        let mut counter = 0u32;
        loop {
            let mut hasher = Sha256::new();
            hasher.update(b"hedgedesk devnet gp oracle");
            hasher.update(counter.to_be_bytes());
            hasher.update(seed);
            let digest: [u8; 32] = hasher.finalize().into();
            // Fails only for a digest of zero or at least n, about 2^-128.
            if let Ok(oracle) = DevnetOracle::from_secret_bytes(&digest) {
                return oracle;
            }
            counter += 1;
        }
    }

    /// An oracle with this 32-byte secret key.
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Result<DevnetOracle, OracleError> {
        let secret = SecretKey::from_slice(secret).map_err(|_| OracleError::InvalidKey)?;
        let pubkey: [u8; 33] = secret
            .public_key()
            .to_sec1_bytes()
            .as_ref()
            .try_into()
            .map_err(|_| OracleError::InvalidKey)?;
        let shared = Arc::new(Shared {
            pubkey_hex: hex::encode(pubkey),
            feed: Mutex::new(Feed {
                scheme: Scheme::Ecdsa,
                entries: Vec::new(),
                last_message_sequence: 0,
                last_price_sequence: 0,
            }),
        });
        Ok(DevnetOracle {
            inner: Arc::new(Inner {
                secret,
                pubkey,
                shared,
                shutdown: CancellationToken::new(),
            }),
        })
    }

    /// Signs later messages with `scheme` (ECDSA until changed).
    pub fn with_scheme(self, scheme: Scheme) -> DevnetOracle {
        self.inner.shared.feed().scheme = scheme;
        self
    }

    pub fn scheme(&self) -> Scheme {
        self.inner.shared.feed().scheme
    }

    /// The compressed public key.
    pub fn pubkey(&self) -> [u8; 33] {
        self.inner.pubkey
    }

    pub fn pubkey_hex(&self) -> String {
        self.inner.shared.pubkey_hex.clone()
    }

    /// The oracle's Ethereum address, as the hedge contract stores it.
    pub fn address(&self) -> alloy::primitives::Address {
        ecdsa::address(&self.inner.secret.public_key())
    }

    /// Signs the next price message: message and price sequences one above the last,
    /// stamped `timestamp` (unix seconds, not before the previous message's).
    pub fn publish(&self, timestamp: i32, price: i32) -> Result<SignedMessage, OracleError> {
        if price <= 0 {
            return Err(OracleError::NotPositivePrice(price));
        }
        let mut feed = self.inner.shared.feed();
        check_timestamp(&feed, timestamp)?;
        let message = OracleMessage {
            message_timestamp: timestamp,
            message_sequence: next(feed.last_message_sequence, "message")?,
            price_sequence: next(feed.last_price_sequence, "price")?,
            price,
        };
        let bytes = message.to_bytes();
        let signature = self.sign(feed.scheme, &bytes)?;
        feed.last_message_sequence = message.message_sequence;
        feed.last_price_sequence = message.price_sequence;
        feed.entries.push(Entry {
            bytes: bytes.to_vec(),
            signature: signature.clone(),
            timestamp,
            message_sequence: message.message_sequence,
            data_sequence: message.price_sequence,
        });
        Ok(SignedMessage {
            pubkey: self.inner.pubkey,
            message,
            bytes,
            signature,
            scheme: feed.scheme,
        })
    }

    /// Signs a metadata message (General Protocols' layout: timestamp, message sequence,
    /// a non-positive metadata type, then `content`). It takes a message sequence but no
    /// price sequence.
    pub fn publish_metadata(
        &self,
        timestamp: i32,
        metadata_type: i32,
        content: &[u8],
    ) -> Result<SignedMetadata, OracleError> {
        if metadata_type > 0 {
            return Err(OracleError::MetadataType(metadata_type));
        }
        let mut feed = self.inner.shared.feed();
        check_timestamp(&feed, timestamp)?;
        let message_sequence = next(feed.last_message_sequence, "message")?;
        let mut bytes = Vec::with_capacity(12 + content.len());
        bytes.extend_from_slice(&timestamp.to_le_bytes());
        bytes.extend_from_slice(&message_sequence.to_le_bytes());
        bytes.extend_from_slice(&metadata_type.to_le_bytes());
        bytes.extend_from_slice(content);
        let signature = self.sign(feed.scheme, &bytes)?;
        feed.last_message_sequence = message_sequence;
        feed.entries.push(Entry {
            bytes: bytes.clone(),
            signature: signature.clone(),
            timestamp,
            message_sequence,
            data_sequence: metadata_type,
        });
        Ok(SignedMetadata { bytes, signature })
    }

    /// Every price message signed so far, oldest first.
    pub fn messages(&self) -> Vec<SignedMessage> {
        let feed = self.inner.shared.feed();
        feed.entries
            .iter()
            .filter_map(|e| {
                let message = OracleMessage::parse(&e.bytes).ok()?;
                Some(SignedMessage {
                    pubkey: self.inner.pubkey,
                    message,
                    bytes: e.bytes.as_slice().try_into().ok()?,
                    signature: e.signature.clone(),
                    scheme: Scheme::for_signature_len(e.signature.len())?,
                })
            })
            .collect()
    }

    /// Publishes `price_source()` stamped with the current time every `interval` until
    /// `cancel` fires; `None` skips a tick. Returns how many messages were published.
    pub async fn run_live(
        &self,
        mut price_source: impl FnMut() -> Option<i32>,
        interval: Duration,
        cancel: CancellationToken,
    ) -> usize {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut published = 0;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return published,
                _ = self.inner.shutdown.cancelled() => return published,
                _ = ticks.tick() => {}
            }
            let Some(price) = price_source() else {
                continue;
            };
            let now = i32::try_from(chrono::Utc::now().timestamp()).unwrap_or(i32::MAX);
            match self.publish(now, price) {
                Ok(_) => published += 1,
                Err(e) => tracing::warn!(
                    oracle = %self.inner.shared.pubkey_hex,
                    error = %e,
                    "devnet oracle: price not published"
                ),
            }
        }
    }

    /// Serves the relay endpoint on 127.0.0.1 (a free port) until every handle of this
    /// oracle is dropped; returns the base URL, e.g. `http://127.0.0.1:40123`.
    pub async fn serve(&self) -> std::io::Result<String> {
        self.serve_on(0).await
    }

    /// [`serve`](Self::serve) on `port` of 127.0.0.1 (0: a free one).
    pub async fn serve_on(&self, port: u16) -> std::io::Result<String> {
        let app = Router::new()
            .route(MESSAGES_PATH, get(oracle_messages))
            .with_state(self.inner.shared.clone());
        let addr = serve_local(
            port,
            app,
            self.inner.shutdown.clone(),
            "devnet oracle: relay endpoint",
        )
        .await?;
        Ok(format!("http://{addr}"))
    }

    fn sign(&self, scheme: Scheme, bytes: &[u8]) -> Result<Vec<u8>, OracleError> {
        match scheme {
            Scheme::Ecdsa => ecdsa::sign(&SigningKey::from(&self.inner.secret), bytes)
                .map(|s| s.to_vec())
                .map_err(|e| OracleError::Sign(e.to_string())),
            Scheme::BchSchnorr => schnorr::sign(&self.inner.secret, bytes)
                .map(|s| s.to_vec())
                .map_err(|e| OracleError::Sign(e.to_string())),
        }
    }
}

fn check_timestamp(feed: &Feed, timestamp: i32) -> Result<(), OracleError> {
    match feed.entries.last() {
        Some(last) if timestamp < last.timestamp => Err(OracleError::TimestampBackwards {
            last: last.timestamp,
            got: timestamp,
        }),
        _ => Ok(()),
    }
}

fn next(last: i32, which: &'static str) -> Result<i32, OracleError> {
    last.checked_add(1)
        .ok_or(OracleError::SequenceExhausted(which))
}

/// The relay's query parameters; unknown ones are ignored, as a web API would.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessagesParams {
    public_key: Option<String>,
    count: Option<usize>,
    min_message_timestamp: Option<i64>,
    max_message_timestamp: Option<i64>,
    min_message_sequence: Option<i64>,
    max_message_sequence: Option<i64>,
    min_data_sequence: Option<i64>,
    max_data_sequence: Option<i64>,
}

async fn oracle_messages(
    State(shared): State<Arc<Shared>>,
    params: Result<Query<MessagesParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(params) = match params {
        Ok(p) => p,
        Err(e) => return bad_request(e.body_text()),
    };
    let Some(public_key) = params.public_key.as_deref() else {
        return bad_request("publicKey is required".into());
    };
    if !public_key.eq_ignore_ascii_case(&shared.pubkey_hex) {
        return Json(OracleMessagesResponse::default()).into_response();
    }
    let within = |value: i64, min: Option<i64>, max: Option<i64>| {
        min.is_none_or(|m| value >= m) && max.is_none_or(|m| value <= m)
    };
    let count = params.count.unwrap_or(1).min(MAX_SERVED);
    let feed = shared.feed();
    // Entries are in message-sequence order, so newest first is the reverse.
    let oracle_messages: Vec<RelayMessage> = feed
        .entries
        .iter()
        .rev()
        .filter(|e| {
            within(
                i64::from(e.timestamp),
                params.min_message_timestamp,
                params.max_message_timestamp,
            ) && within(
                i64::from(e.message_sequence),
                params.min_message_sequence,
                params.max_message_sequence,
            ) && within(
                i64::from(e.data_sequence),
                params.min_data_sequence,
                params.max_data_sequence,
            )
        })
        .take(count)
        .map(|e| RelayMessage {
            message: hex::encode(&e.bytes),
            public_key: shared.pubkey_hex.clone(),
            signature: hex::encode(&e.signature),
        })
        .collect();
    Json(OracleMessagesResponse { oracle_messages }).into_response()
}

fn bad_request(error: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "error": error })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_increase_and_signatures_verify_in_both_schemes() {
        let oracle = DevnetOracle::from_seed(b"unit");
        let first = oracle.publish(1_700_000_000, 100).unwrap();
        oracle.publish_metadata(1_700_000_010, -1, b"BCH").unwrap();
        let oracle = oracle.with_scheme(Scheme::BchSchnorr);
        let second = oracle.publish(1_700_000_060, 101).unwrap();
        assert_eq!(first.message.message_sequence, 1);
        assert_eq!(first.message.price_sequence, 1);
        assert_eq!(second.message.message_sequence, 3);
        assert_eq!(second.message.price_sequence, 2);
        assert_eq!(first.verified().unwrap().scheme(), Scheme::Ecdsa);
        assert_eq!(second.verified().unwrap().scheme(), Scheme::BchSchnorr);
        assert_eq!(oracle.messages().len(), 2);
    }

    #[test]
    fn bad_prices_and_backward_timestamps_are_refused() {
        let oracle = DevnetOracle::from_seed(b"unit");
        assert_eq!(oracle.publish(10, 0), Err(OracleError::NotPositivePrice(0)));
        oracle.publish(10, 5).unwrap();
        assert_eq!(
            oracle.publish(9, 5),
            Err(OracleError::TimestampBackwards { last: 10, got: 9 })
        );
        assert_eq!(
            DevnetOracle::from_secret_bytes(&[0; 32]).unwrap_err(),
            OracleError::InvalidKey
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let secret = [0x11u8; 32];
        let oracle = DevnetOracle::from_secret_bytes(&secret).unwrap();
        let shown = format!("{oracle:?}");
        assert!(shown.contains(&oracle.pubkey_hex()));
        assert!(!shown.contains(&hex::encode(secret)));
    }
}
