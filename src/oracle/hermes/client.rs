//! Requests to Hermes: the latest signed update for a set of feeds (batched), and feed
//! discovery. An optional bearer token is sent as `Authorization: Bearer`, never logged.

use std::time::Duration;

use alloy::primitives::B256;
use secrecy::{ExposeSecret, SecretString};

use super::model::{FeedInfo, ModelError, PriceUpdate, feeds_from_json};
use crate::net::percent_encode_component;

/// The environment variable an API token for Hermes may come from.
pub const TOKEN_ENV: &str = "HEDGEDESK_HERMES_TOKEN";

#[derive(Debug, thiserror::Error)]
pub enum HermesError {
    #[error("Hermes {path}: {message}")]
    Http { path: String, message: String },
    #[error("Hermes {path}: HTTP {status}: {body}")]
    Status {
        path: String,
        status: u16,
        body: String,
    },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("Hermes base URL {url:?}: {message}")]
    Url { url: String, message: String },
}

/// A Hermes endpoint. Cheap to clone.
#[derive(Clone)]
pub struct HermesClient {
    base: String,
    http: reqwest::Client,
    token: Option<SecretString>,
    batch_size: usize,
}

impl std::fmt::Debug for HermesClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HermesClient")
            .field("base", &crate::chain::redact_url(&self.base))
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("batch_size", &self.batch_size)
            .finish()
    }
}

impl HermesClient {
    /// `base` like `https://hermes.pyth.network`; `batch_size` feed ids per request.
    pub fn new(
        base: &str,
        token: Option<SecretString>,
        batch_size: usize,
        timeout: Duration,
    ) -> Result<Self, HermesError> {
        let trimmed = base.trim_end_matches('/');
        if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
            return Err(HermesError::Url {
                url: crate::chain::redact_url(base),
                message: "expected an http or https URL".into(),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| HermesError::Url {
                url: crate::chain::redact_url(base),
                message: e.to_string(),
            })?;
        Ok(Self {
            base: trimmed.to_string(),
            http,
            token,
            batch_size: batch_size.max(1),
        })
    }

    /// The token from [`TOKEN_ENV`], if set and not empty.
    pub fn token_from_env() -> Option<SecretString> {
        std::env::var(TOKEN_ENV)
            .ok()
            .filter(|t| !t.trim().is_empty())
            .map(|t| SecretString::from(t.trim().to_string()))
    }

    pub(super) fn request(&self, path_and_query: &str) -> reqwest::RequestBuilder {
        let mut request = self.http.get(format!("{}{path_and_query}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose_secret());
        }
        request
    }

    /// The latest update for `ids`, one request per `batch_size` ids, in order.
    pub async fn latest(&self, ids: &[B256]) -> Result<Vec<PriceUpdate>, HermesError> {
        let mut out = Vec::new();
        for batch in ids.chunks(self.batch_size) {
            let path = format!(
                "/v2/updates/price/latest?{}&encoding=hex&parsed=true",
                ids_query(batch)
            );
            let body = self.get_text(&path).await?;
            out.push(PriceUpdate::from_json(&body)?);
        }
        Ok(out)
    }

    /// Feeds whose symbol or description matches `query` (`BTC`, `ETH/USD`).
    pub async fn feeds(&self, query: &str) -> Result<Vec<FeedInfo>, HermesError> {
        let path = format!("/v2/price_feeds?query={}", percent_encode_component(query));
        let body = self.get_text(&path).await?;
        Ok(feeds_from_json(&body)?)
    }

    async fn get_text(&self, path: &str) -> Result<String, HermesError> {
        let shown = path.split('?').next().unwrap_or(path).to_string();
        let response = self
            .request(path)
            .send()
            .await
            .map_err(|e| HermesError::Http {
                path: shown.clone(),
                message: e.without_url().to_string(),
            })?;
        let status = response.status();
        let body = response.text().await.map_err(|e| HermesError::Http {
            path: shown.clone(),
            message: e.without_url().to_string(),
        })?;
        if !status.is_success() {
            return Err(HermesError::Status {
                path: shown,
                status: status.as_u16(),
                body: body.chars().take(200).collect(),
            });
        }
        Ok(body)
    }
}

/// `ids[]=<hex>&ids[]=<hex>` (Hermes takes ids without `0x`).
pub(super) fn ids_query(ids: &[B256]) -> String {
    ids.iter()
        .map(|id| format!("ids%5B%5D={}", hex::encode(id)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_encoded() {
        let id = B256::repeat_byte(0xab);
        assert_eq!(ids_query(&[id]), format!("ids%5B%5D={}", "ab".repeat(32)));
        assert_eq!(percent_encode_component("BTC/USD x"), "BTC%2FUSD%20x");
    }

    #[test]
    fn the_token_never_shows_in_debug() {
        let client = HermesClient::new(
            "https://hermes.example/v2/secret-path",
            Some(SecretString::from("tok-123-secret".to_string())),
            8,
            Duration::from_secs(1),
        )
        .unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("tok-123-secret"), "{shown}");
        assert!(!shown.contains("secret-path"), "{shown}");
        assert!(HermesClient::new("hermes.example", None, 8, Duration::from_secs(1)).is_err());
    }
}
