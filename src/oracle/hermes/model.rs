//! Hermes's JSON, as served by `/v2/updates/price/latest`, the `/v2/updates/price/stream`
//! events and `/v2/price_feeds`, turned into typed values with integers for money.

use alloy::primitives::B256;
use serde::Deserialize;

/// A batch of updates: the signed binary (what gets verified and published) and Hermes's
/// own parse of it (shown, never trusted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceUpdate {
    /// Each entry one accumulator update (`PNAU…`), decoded from hex.
    pub binary: Vec<Vec<u8>>,
    pub parsed: Vec<ParsedFeed>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedFeed {
    pub id: B256,
    pub price: ParsedPrice,
    pub ema_price: ParsedPrice,
    pub slot: Option<u64>,
    pub prev_publish_time: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedPrice {
    pub price: i64,
    pub conf: u64,
    pub expo: i32,
    pub publish_time: i64,
}

/// One feed Hermes knows about (`/v2/price_feeds`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FeedInfo {
    pub id: B256,
    pub symbol: String,
    pub asset_type: String,
    pub description: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("Hermes response: {field}: {message}")]
pub struct ModelError {
    pub field: String,
    pub message: String,
}

fn bad(field: impl Into<String>, message: impl Into<String>) -> ModelError {
    ModelError {
        field: field.into(),
        message: message.into(),
    }
}

#[derive(Deserialize)]
struct RawUpdate {
    binary: RawBinary,
    #[serde(default)]
    parsed: Vec<RawParsed>,
}

#[derive(Deserialize)]
struct RawBinary {
    encoding: String,
    data: Vec<String>,
}

#[derive(Deserialize)]
struct RawParsed {
    id: String,
    price: RawPrice,
    ema_price: RawPrice,
    #[serde(default)]
    metadata: Option<RawMetadata>,
}

#[derive(Deserialize)]
struct RawPrice {
    price: String,
    conf: String,
    expo: i32,
    publish_time: i64,
}

#[derive(Deserialize)]
struct RawMetadata {
    slot: Option<u64>,
    prev_publish_time: Option<i64>,
}

#[derive(Deserialize)]
struct RawFeed {
    id: String,
    #[serde(default)]
    attributes: std::collections::BTreeMap<String, String>,
}

impl PriceUpdate {
    /// Parses one latest-price response or one stream event's JSON.
    pub fn from_json(text: &str) -> Result<PriceUpdate, ModelError> {
        let raw: RawUpdate = serde_json::from_str(text)
            .map_err(|e| bad("body", format!("not the JSON Hermes sends: {e}")))?;
        if raw.binary.encoding != "hex" {
            return Err(bad(
                "binary.encoding",
                format!("expected \"hex\", got {:?}", raw.binary.encoding),
            ));
        }
        let binary = raw
            .binary
            .data
            .iter()
            .enumerate()
            .map(|(i, data)| {
                hex::decode(data.trim_start_matches("0x"))
                    .map_err(|e| bad(format!("binary.data[{i}]"), format!("not hex: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let parsed = raw
            .parsed
            .iter()
            .enumerate()
            .map(|(i, p)| p.typed(&format!("parsed[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PriceUpdate { binary, parsed })
    }
}

impl RawParsed {
    fn typed(&self, at: &str) -> Result<ParsedFeed, ModelError> {
        Ok(ParsedFeed {
            id: parse_id(&self.id).map_err(|m| bad(format!("{at}.id"), m))?,
            price: self.price.typed(&format!("{at}.price"))?,
            ema_price: self.ema_price.typed(&format!("{at}.ema_price"))?,
            slot: self.metadata.as_ref().and_then(|m| m.slot),
            prev_publish_time: self.metadata.as_ref().and_then(|m| m.prev_publish_time),
        })
    }
}

impl RawPrice {
    fn typed(&self, at: &str) -> Result<ParsedPrice, ModelError> {
        Ok(ParsedPrice {
            price: self.price.parse().map_err(|_| {
                bad(
                    format!("{at}.price"),
                    format!("not an integer: {:?}", self.price),
                )
            })?,
            conf: self.conf.parse().map_err(|_| {
                bad(
                    format!("{at}.conf"),
                    format!("not an integer: {:?}", self.conf),
                )
            })?,
            expo: self.expo,
            publish_time: self.publish_time,
        })
    }
}

/// Parses `/v2/price_feeds`.
pub fn feeds_from_json(text: &str) -> Result<Vec<FeedInfo>, ModelError> {
    let raw: Vec<RawFeed> = serde_json::from_str(text)
        .map_err(|e| bad("body", format!("not a list of price feeds: {e}")))?;
    raw.into_iter()
        .enumerate()
        .map(|(i, f)| {
            let attr = |k: &str| f.attributes.get(k).cloned().unwrap_or_default();
            Ok(FeedInfo {
                id: parse_id(&f.id).map_err(|m| bad(format!("[{i}].id"), m))?,
                symbol: attr("symbol"),
                asset_type: attr("asset_type"),
                description: attr("description"),
            })
        })
        .collect()
}

/// A feed id: 32 bytes hex, with or without `0x`.
pub fn parse_id(text: &str) -> Result<B256, String> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    if digits.len() != 64 {
        return Err(format!("expected 64 hex digits, got {text:?}"));
    }
    digits
        .parse::<B256>()
        .map_err(|_| format!("expected 64 hex digits, got {text:?}"))
}
