//! Requests to Binance: signing, the server-time offset, rate-limit back-off and retries.
//!
//! Retries are only where they cannot place anything twice: reads and idempotent settings
//! are retried on 5xx and transport errors; an order POST is retried only after answers that
//! say it was refused (429/418 before the wait, -1021 after a time resync). A 5xx, a 408
//! (-1007, backend timeout), a -1006 ("execution status unknown") or a timeout after an
//! order POST left means the outcome is unknown: it comes back as [`VenueError::Unknown`]
//! for the caller to reconcile by client order id.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};

use super::wire::{ApiError, ServerTime};
use super::{BinanceSetupError, VENUE, query, sign};
use crate::perp::venue::VenueError;

pub const API_KEY_HEADER: &str = "X-MBX-APIKEY";
/// Binance's code for "Timestamp for this request is outside of the recvWindow."
pub const CODE_TIMESTAMP_OUTSIDE: i64 = -1021;
/// "An unexpected response was received from the message bus. Execution status unknown."
pub const CODE_EXECUTION_UNKNOWN: i64 = -1006;
/// "Timeout waiting for response from backend server. Send status unknown; execution
/// status unknown." (HTTP 408)
pub const CODE_BACKEND_TIMEOUT: i64 = -1007;

/// How many 429/418 waits one call sits through before giving up.
const MAX_RATE_LIMIT_WAITS: u32 = 3;
/// How many times a read is retried after a 5xx or a transport error.
const MAX_SERVER_RETRIES: u32 = 2;
const SERVER_RETRY_DELAY: Duration = Duration::from_millis(200);
/// A 429 without `Retry-After` (Binance always sends one).
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Error bodies are quoted in messages up to this many characters.
const BODY_EXCERPT: usize = 200;

/// What a request does, which decides what may be retried.
#[derive(Debug, Clone, Copy)]
pub enum Call<'a> {
    /// A read, or a setting that is the same when applied twice (leverage, margin type).
    Idempotent,
    /// A new order: never re-sent once it may have reached the matching engine.
    Order { client_order_id: &'a str },
}

/// A request's failure: Binance's own refusal (4xx with its code), or a venue error.
#[derive(Debug)]
pub enum CallError {
    Api {
        path: String,
        status: u16,
        code: i64,
        msg: String,
    },
    Venue(VenueError),
}

impl CallError {
    /// A refusal from Binance: nothing was done. The message carries the code and msg.
    pub fn into_venue(self) -> VenueError {
        match self {
            CallError::Api {
                path,
                status,
                code,
                msg,
            } => VenueError::Refused {
                venue: VENUE.into(),
                message: format!("{path}: HTTP {status}, code {code}: {msg}"),
            },
            CallError::Venue(e) => e,
        }
    }
}

impl From<VenueError> for CallError {
    fn from(e: VenueError) -> Self {
        CallError::Venue(e)
    }
}

pub struct Transport {
    base: String,
    http: reqwest::Client,
    /// The `X-MBX-APIKEY` value, checked once and marked sensitive (never logged).
    api_key: HeaderValue,
    api_secret: SecretString,
    recv_window_ms: u64,
    max_retry_wait: Duration,
    /// Server time minus local time, in milliseconds.
    offset_ms: AtomicI64,
    synced: AtomicBool,
    /// No request before this instant (after a 429/418).
    blocked_until: Mutex<Option<Instant>>,
}

pub struct TransportSettings {
    pub base: String,
    pub api_key: SecretString,
    pub api_secret: SecretString,
    pub recv_window_ms: u64,
    pub timeout: Duration,
    pub max_retry_wait: Duration,
}

/// A request's answer, with the local clock just before it was sent and just after it
/// was read (the attempt that got this answer only, retry waits excluded).
struct Answer {
    body: String,
    sent_ms: i64,
    received_ms: i64,
}

impl Transport {
    pub fn new(settings: TransportSettings) -> Result<Self, BinanceSetupError> {
        let mut api_key = HeaderValue::from_str(settings.api_key.expose_secret())
            .map_err(|_| BinanceSetupError::ApiKey)?;
        api_key.set_sensitive(true);
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .build()
            .map_err(|e| BinanceSetupError::Http(e.without_url().to_string()))?;
        Ok(Self {
            base: settings.base,
            http,
            api_key,
            api_secret: settings.api_secret,
            recv_window_ms: settings.recv_window_ms,
            max_retry_wait: settings.max_retry_wait,
            offset_ms: AtomicI64::new(0),
            synced: AtomicBool::new(false),
            blocked_until: Mutex::new(None),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    /// Measures the server-time offset (`GET /fapi/v1/time`), halving the round trip of
    /// the attempt that was answered (waits before it, for a rate limit or a retry, do not
    /// count).
    pub async fn sync_time(&self) -> Result<i64, VenueError> {
        let answer = self
            .send(Method::GET, "/fapi/v1/time", &[], false, Call::Idempotent)
            .await
            .map_err(CallError::into_venue)?;
        let time: ServerTime = parse(&answer.body, "/fapi/v1/time")?;
        let offset = time.server_time - midpoint(answer.sent_ms, answer.received_ms);
        self.offset_ms.store(offset, Ordering::Relaxed);
        self.synced.store(true, Ordering::Relaxed);
        tracing::debug!(offset_ms = offset, "binance: server time offset");
        Ok(offset)
    }

    /// An unsigned market-data request.
    pub async fn public_get(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<String, CallError> {
        self.send(Method::GET, path, params, false, Call::Idempotent)
            .await
            .map(|answer| answer.body)
    }

    /// A signed request. The time offset is measured before the first one, and measured
    /// again when Binance answers -1021; the request is then sent once more (it was
    /// refused, so nothing was done).
    pub async fn signed(
        &self,
        method: Method,
        path: &str,
        params: &[(&str, String)],
        call: Call<'_>,
    ) -> Result<String, CallError> {
        if !self.synced.load(Ordering::Relaxed) {
            self.sync_time().await?;
        }
        let answer = match self.send(method.clone(), path, params, true, call).await {
            Err(CallError::Api { code, .. }) if code == CODE_TIMESTAMP_OUTSIDE => {
                tracing::warn!(
                    path,
                    "binance: timestamp outside recvWindow, resyncing time"
                );
                self.sync_time().await?;
                self.send(method, path, params, true, call).await
            }
            other => other,
        };
        answer.map(|answer| answer.body)
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        params: &[(&str, String)],
        signed: bool,
        call: Call<'_>,
    ) -> Result<Answer, CallError> {
        let mut rate_limit_waits = 0;
        let mut server_retries = 0;
        loop {
            self.wait_if_blocked().await?;
            let payload = if signed {
                self.signed_payload(params)
            } else {
                query::encode(params)
            };
            let sent_ms = local_ms();
            let outcome = self.dispatch(&method, path, payload).await;
            let received_ms = local_ms();
            let (status, retry_after, body) = match outcome {
                Ok(answer) => answer,
                Err(e) => {
                    if let Call::Order { client_order_id } = call
                        && !e.is_connect()
                        && !e.is_builder()
                    {
                        // The order may have reached Binance before the connection failed.
                        return Err(unknown(client_order_id, transport_message(&e)).into());
                    }
                    if matches!(call, Call::Idempotent)
                        && !e.is_builder()
                        && server_retries < MAX_SERVER_RETRIES
                    {
                        server_retries += 1;
                        tokio::time::sleep(SERVER_RETRY_DELAY * server_retries).await;
                        continue;
                    }
                    return Err(unavailable(format!("{path}: {}", transport_message(&e))).into());
                }
            };
            match status {
                200..=299 => {
                    return Ok(Answer {
                        body,
                        sent_ms,
                        received_ms,
                    });
                }
                429 | 418 => {
                    let wait = retry_after.unwrap_or(DEFAULT_RETRY_AFTER);
                    self.block_for(wait);
                    tracing::warn!(
                        path,
                        status,
                        retry_after_secs = wait.as_secs(),
                        "binance: rate limited"
                    );
                    if wait > self.max_retry_wait || rate_limit_waits >= MAX_RATE_LIMIT_WAITS {
                        return Err(rate_limited(wait).into());
                    }
                    // Binance refuses a rate-limited request, orders included: sending it
                    // again after the wait cannot place anything twice.
                    rate_limit_waits += 1;
                }
                500..=599 => {
                    let message = format!("{path}: HTTP {status}: {}", describe_body(&body));
                    if let Call::Order { client_order_id } = call {
                        return Err(unknown(client_order_id, message).into());
                    }
                    if server_retries >= MAX_SERVER_RETRIES {
                        return Err(unavailable(message).into());
                    }
                    server_retries += 1;
                    tokio::time::sleep(SERVER_RETRY_DELAY * server_retries).await;
                }
                _ => {
                    let (code, msg) = match serde_json::from_str::<ApiError>(&body) {
                        Ok(api) => (api.code, api.msg),
                        Err(_) => (0, excerpt(&body)),
                    };
                    if let Call::Order { client_order_id } = call
                        && execution_unknown(status, code)
                    {
                        // Binance does not know whether the order was placed: reconcile.
                        let message = format!("{path}: HTTP {status}, code {code}: {msg}");
                        return Err(unknown(client_order_id, message).into());
                    }
                    return Err(CallError::Api {
                        path: path.to_string(),
                        status,
                        code,
                        msg,
                    });
                }
            }
        }
    }

    /// `params&recvWindow=..&timestamp=..&signature=..`, signed over exactly these bytes.
    fn signed_payload(&self, params: &[(&str, String)]) -> String {
        let timestamp = local_ms() + self.offset_ms();
        let mut all = params.to_vec();
        all.push(("recvWindow", self.recv_window_ms.to_string()));
        all.push(("timestamp", timestamp.to_string()));
        sign::signed(
            self.api_secret.expose_secret().as_bytes(),
            &query::encode(&all),
        )
    }

    /// Sends `payload` as the query string (GET, DELETE) or the form body (POST, PUT).
    async fn dispatch(
        &self,
        method: &Method,
        path: &str,
        payload: String,
    ) -> Result<(u16, Option<Duration>, String), reqwest::Error> {
        let in_body = matches!(*method, Method::POST | Method::PUT);
        let url = if in_body || payload.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}{path}?{payload}", self.base)
        };
        let mut request = self
            .http
            .request(method.clone(), url)
            .header(API_KEY_HEADER, self.api_key.clone());
        if in_body {
            request = request
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(payload);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.text().await?;
        Ok((status, retry_after, body))
    }

    fn block_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut blocked = self.blocked_until.lock().expect("not poisoned");
        if blocked.is_none_or(|b| b < until) {
            *blocked = Some(until);
        }
    }

    /// Sleeps out a rate-limit block, or refuses without sending when it is longer than
    /// the configured maximum (hammering a limited API turns a 429 into a ban).
    async fn wait_if_blocked(&self) -> Result<(), VenueError> {
        let remaining = {
            let blocked = self.blocked_until.lock().expect("not poisoned");
            blocked.and_then(|until| until.checked_duration_since(Instant::now()))
        };
        match remaining {
            None => Ok(()),
            Some(wait) if wait > self.max_retry_wait => Err(rate_limited(wait)),
            Some(wait) => {
                tokio::time::sleep(wait).await;
                Ok(())
            }
        }
    }
}

pub fn parse<T: serde::de::DeserializeOwned>(body: &str, what: &str) -> Result<T, VenueError> {
    serde_json::from_str(body).map_err(|e| {
        unavailable(format!(
            "{what}: unexpected answer ({e}): {}",
            excerpt(body)
        ))
    })
}

pub fn unavailable(message: String) -> VenueError {
    VenueError::Unavailable {
        venue: VENUE.into(),
        message,
    }
}

fn unknown(client_order_id: &str, message: String) -> VenueError {
    VenueError::Unknown {
        venue: VENUE.into(),
        client_order_id: client_order_id.into(),
        message,
    }
}

fn rate_limited(wait: Duration) -> VenueError {
    VenueError::RateLimited {
        venue: VENUE.into(),
        retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    }
}

/// A transport error without its URL (a signed GET's URL carries the signature).
fn transport_message(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "connection failed"
    };
    let mut message = kind.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

fn describe_body(body: &str) -> String {
    match serde_json::from_str::<ApiError>(body) {
        Ok(api) => format!("code {}: {}", api.code, api.msg),
        Err(_) => excerpt(body),
    }
}

fn excerpt(body: &str) -> String {
    let trimmed = body.trim();
    match trimmed.char_indices().nth(BODY_EXCERPT) {
        Some((at, _)) => format!("{}…", &trimmed[..at]),
        None => trimmed.to_string(),
    }
}

/// Whether an error answer leaves the outcome unknown: HTTP 408 (Binance's backend timeout,
/// -1007) or Binance's "execution status unknown" codes, whatever the status.
fn execution_unknown(status: u16, code: i64) -> bool {
    status == 408 || code == CODE_EXECUTION_UNKNOWN || code == CODE_BACKEND_TIMEOUT
}

/// The middle of `[sent_ms, received_ms]`: when the server most likely read its clock.
fn midpoint(sent_ms: i64, received_ms: i64) -> i64 {
    sent_ms + (received_ms - sent_ms) / 2
}

fn local_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(api_key: &str) -> TransportSettings {
        TransportSettings {
            base: "http://127.0.0.1:9".into(),
            api_key: SecretString::from(api_key.to_string()),
            api_secret: SecretString::from("secret".to_string()),
            recv_window_ms: 5_000,
            timeout: Duration::from_secs(1),
            max_retry_wait: Duration::from_secs(1),
        }
    }

    #[test]
    fn the_api_key_header_is_built_once_and_sensitive() {
        let transport = Transport::new(settings("key-123")).unwrap();
        assert!(transport.api_key.is_sensitive());
        assert_eq!(transport.api_key, "key-123");
        assert!(!format!("{:?}", transport.api_key).contains("key-123"));
        assert!(matches!(
            Transport::new(settings("key\r\n-123")),
            Err(BinanceSetupError::ApiKey)
        ));
    }

    #[test]
    fn execution_status_unknown_answers() {
        assert!(execution_unknown(408, CODE_BACKEND_TIMEOUT));
        assert!(execution_unknown(408, 0));
        assert!(execution_unknown(400, CODE_EXECUTION_UNKNOWN));
        assert!(execution_unknown(400, CODE_BACKEND_TIMEOUT));
        assert!(!execution_unknown(400, CODE_TIMESTAMP_OUTSIDE));
        assert!(!execution_unknown(400, -2022));
    }

    #[test]
    fn the_offset_is_taken_at_the_middle_of_the_round_trip() {
        assert_eq!(midpoint(1_000, 1_010), 1_005);
        assert_eq!(midpoint(1_000, 1_000), 1_000);
    }
}
