//! A client of a General Protocols-style oracle relay:
//! `GET /api/v1/oracleMessages?publicKey=<hex>&count=<n>&minMessageTimestamp=...` answers
//! `{"oracleMessages": [{"message": hex, "publicKey": hex, "signature": hex}, ...]}`, newest
//! (highest message sequence) first. The optional bounds are `min/maxMessageTimestamp`,
//! `min/maxMessageSequence` and `min/maxDataSequence` (the price sequence of a price
//! message; metadata messages have a non-positive one).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The path of the messages endpoint.
pub const MESSAGES_PATH: &str = "/api/v1/oracleMessages";

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("relay URL {url:?}: {message}")]
    Url { url: String, message: String },
    #[error("relay {MESSAGES_PATH}: {0}")]
    Http(String),
    #[error("relay {MESSAGES_PATH}: HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("relay {MESSAGES_PATH}: bad JSON at {path}: {message}")]
    Json { path: String, message: String },
}

/// One signed message as a relay serves it (all hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayMessage {
    pub message: String,
    pub public_key: String,
    pub signature: String,
}

/// The body of a messages response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OracleMessagesResponse {
    pub oracle_messages: Vec<RelayMessage>,
}

/// The optional parameters of a messages request; every bound is inclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageQuery {
    /// How many messages, newest first.
    pub count: Option<u32>,
    pub min_message_timestamp: Option<i64>,
    pub max_message_timestamp: Option<i64>,
    pub min_message_sequence: Option<i64>,
    pub max_message_sequence: Option<i64>,
    pub min_data_sequence: Option<i64>,
    pub max_data_sequence: Option<i64>,
}

impl MessageQuery {
    /// The query string for `public_key` (hex, which needs no escaping).
    pub fn to_query_string(&self, public_key: &str) -> String {
        let mut out = format!("publicKey={public_key}");
        let params = [
            ("count", self.count.map(i64::from)),
            ("minMessageTimestamp", self.min_message_timestamp),
            ("maxMessageTimestamp", self.max_message_timestamp),
            ("minMessageSequence", self.min_message_sequence),
            ("maxMessageSequence", self.max_message_sequence),
            ("minDataSequence", self.min_data_sequence),
            ("maxDataSequence", self.max_data_sequence),
        ];
        for (name, value) in params {
            if let Some(value) = value {
                out.push_str(&format!("&{name}={value}"));
            }
        }
        out
    }
}

/// A relay endpoint. Cheap to clone.
#[derive(Clone)]
pub struct RelayClient {
    base: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for RelayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayClient")
            .field("base", &crate::chain::redact_url(&self.base))
            .finish()
    }
}

impl RelayClient {
    /// `base` like `https://oracles.generalprotocols.com`.
    pub fn new(base: &str, timeout: Duration) -> Result<Self, RelayError> {
        let trimmed = base.trim().trim_end_matches('/');
        let url_err = |message: String| RelayError::Url {
            url: crate::chain::redact_url(base),
            message,
        };
        let host = trimmed
            .strip_prefix("http://")
            .or_else(|| trimmed.strip_prefix("https://"));
        if host.is_none_or(str::is_empty) {
            return Err(url_err("expected an http or https URL".into()));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| url_err(e.to_string()))?;
        Ok(Self {
            base: trimmed.to_string(),
            http,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The messages of the oracle `public_key` (hex) matching `query`, as served.
    pub async fn oracle_messages(
        &self,
        public_key: &str,
        query: &MessageQuery,
    ) -> Result<Vec<RelayMessage>, RelayError> {
        let url = format!(
            "{}{MESSAGES_PATH}?{}",
            self.base,
            query.to_query_string(public_key)
        );
        let response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| RelayError::Http(e.without_url().to_string()))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| RelayError::Http(e.without_url().to_string()))?;
        if !status.is_success() {
            return Err(RelayError::Status {
                status: status.as_u16(),
                body: body.chars().take(200).collect(),
            });
        }
        parse_oracle_messages(&body)
    }
}

/// Parses a messages response; an error names where in the JSON it went wrong.
pub fn parse_oracle_messages(body: &str) -> Result<Vec<RelayMessage>, RelayError> {
    let de = &mut serde_json::Deserializer::from_str(body);
    serde_path_to_error::deserialize::<_, OracleMessagesResponse>(de)
        .map(|r| r.oracle_messages)
        .map_err(|e| RelayError::Json {
            path: match e.path().to_string() {
                p if p == "." => "the top level".to_string(),
                p => p,
            },
            message: e.into_inner().to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_string_carries_only_the_given_bounds() {
        let q = MessageQuery {
            count: Some(3),
            min_message_timestamp: Some(1_700_000_000),
            min_data_sequence: Some(1),
            ..MessageQuery::default()
        };
        assert_eq!(
            q.to_query_string("02ab"),
            "publicKey=02ab&count=3&minMessageTimestamp=1700000000&minDataSequence=1"
        );
    }

    #[test]
    fn json_errors_say_where() {
        let ok = r#"{"oracleMessages":[{"message":"00","publicKey":"02","signature":"11"}]}"#;
        assert_eq!(parse_oracle_messages(ok).unwrap().len(), 1);

        let bad = r#"{"oracleMessages":[{"message":"00","publicKey":"02","signature":5}]}"#;
        let err = parse_oracle_messages(bad).unwrap_err().to_string();
        assert!(err.contains("oracleMessages[0].signature"), "{err}");

        let missing = r#"{"oracleMessages":[{"message":"00","signature":"11"}]}"#;
        let err = parse_oracle_messages(missing).unwrap_err().to_string();
        assert!(err.contains("publicKey"), "{err}");

        let err = parse_oracle_messages("[]").unwrap_err().to_string();
        assert!(err.contains("the top level"), "{err}");
    }
}
