//! Binance USDT-M futures as a [`Venue`](super::Venue): signed REST requests over reqwest
//! (no SDK). Quantities go through the symbol's `exchangeInfo` filters before an order is
//! sent; leverage and isolated margin are set once per symbol; an order whose outcome is
//! unknown (503, 408/-1007, -1006, a timeout, an unreadable answer) is reported as such and
//! found again with [`Venue::order`](super::Venue::order) by its client order id, never
//! re-sent blindly.

pub mod filters;
pub mod query;
pub mod sign;
mod transport;
mod venue;
pub mod wire;

use std::time::Duration;

use secrecy::SecretString;

pub use filters::{FilterRefusal, LotRule, SymbolFilters};
pub use transport::{API_KEY_HEADER, CODE_TIMESTAMP_OUTSIDE};
pub use venue::BinanceVenue;

/// What the journal and the pane call this venue.
pub const VENUE: &str = "binance";
/// USDT-M futures mainnet.
pub const MAINNET_URL: &str = "https://fapi.binance.com";
/// Binance accepts a recvWindow up to this (ms).
pub const MAX_RECV_WINDOW_MS: u64 = 60_000;

/// Where and how to reach Binance. The key and secret never appear in `Debug` output.
#[derive(Clone)]
pub struct BinanceSettings {
    /// `https://fapi.binance.com`, a testnet, or a local server.
    pub base_url: String,
    pub recv_window_ms: u64,
    pub api_key: SecretString,
    pub api_secret: SecretString,
    /// Per request (connect and whole answer).
    pub timeout: Duration,
    /// The longest `Retry-After` the client waits out by itself; a longer one is returned
    /// as [`VenueError::RateLimited`](super::VenueError::RateLimited).
    pub max_retry_wait: Duration,
}

impl BinanceSettings {
    /// `base_url` with recvWindow 5 s, a 10 s timeout and waits up to 10 s.
    pub fn new(base_url: &str, api_key: SecretString, api_secret: SecretString) -> Self {
        Self {
            base_url: base_url.to_string(),
            recv_window_ms: 5_000,
            api_key,
            api_secret,
            timeout: Duration::from_secs(10),
            max_retry_wait: Duration::from_secs(10),
        }
    }
}

impl std::fmt::Debug for BinanceSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinanceSettings")
            .field("base_url", &crate::chain::redact_url(&self.base_url))
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BinanceSetupError {
    #[error("binance base_url {url:?}: expected an http or https URL")]
    BaseUrl { url: String },
    #[error("binance recv_window_ms: must be 1..={MAX_RECV_WINDOW_MS}, got {0}")]
    RecvWindow(u64),
    #[error("binance api_key and api_secret: must not be empty")]
    MissingCredentials,
    #[error(
        "binance api_key: not a valid HTTP header value (it is sent as {API_KEY_HEADER}; \
         no control characters)"
    )]
    ApiKey,
    #[error("binance HTTP client: {0}")]
    Http(String),
}
