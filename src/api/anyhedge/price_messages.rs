//! `/anyhedge/price-messages/`: stored oracle price messages, newest first, with the
//! watchtower's filters: `pubkey`, `price_sequence`, `message_sequence` (exact), and the
//! exclusive ranges `timestamp_after`/`timestamp_before`, `price_sequence_after`/`_before`,
//! `message_sequence_after`/`_before`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use serde_json::{Value, json};

use super::json::price_message_json;
use super::parse_pubkey;
use crate::api::ApiState;
use crate::api::error::ApiError;
use crate::api::extract::QueryParams;
use crate::api::pagination::{PageRequest, page};
use crate::store::anyhedge_oracles::PriceMessageFilter;

/// Tightens the inclusive bounds `(min, max)` by an exact value and exclusive bounds.
fn bounds(
    q: &QueryParams,
    exact: &str,
    after: &str,
    before: &str,
) -> Result<(Option<i64>, Option<i64>), ApiError> {
    let exact = q.number::<i64>(exact)?;
    let after = q
        .number::<i64>(after)?
        .map(|a| {
            a.checked_add(1)
                .ok_or_else(|| ApiError::field(after, "too large"))
        })
        .transpose()?;
    let before = q
        .number::<i64>(before)?
        .map(|b| {
            b.checked_sub(1)
                .ok_or_else(|| ApiError::field(before, "too small"))
        })
        .transpose()?;
    let min = [exact, after].into_iter().flatten().max();
    let max = [exact, before].into_iter().flatten().min();
    Ok((min, max))
}

pub async fn list(
    State(state): State<ApiState>,
    query: QueryParams,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let request = PageRequest::from_query(&query)?;
    let pubkey = query
        .get("pubkey")
        .map(|p| parse_pubkey("pubkey", p))
        .transpose()?;
    let (min_timestamp, max_timestamp) =
        bounds(&query, "timestamp", "timestamp_after", "timestamp_before")?;
    let (min_price_sequence, max_price_sequence) = bounds(
        &query,
        "price_sequence",
        "price_sequence_after",
        "price_sequence_before",
    )?;
    let (min_message_sequence, max_message_sequence) = bounds(
        &query,
        "message_sequence",
        "message_sequence_after",
        "message_sequence_before",
    )?;
    let empty = [
        (min_timestamp, max_timestamp),
        (min_price_sequence, max_price_sequence),
        (min_message_sequence, max_message_sequence),
    ]
    .iter()
    .any(|(lo, hi)| matches!((lo, hi), (Some(lo), Some(hi)) if lo > hi));
    if empty {
        // Ranges that exclude everything match nothing (the store refuses them as bounds).
        return Ok(Json(json!(page(
            request,
            0,
            Vec::<Value>::new(),
            &uri,
            &headers
        ))));
    }
    let result = state
        .store
        .anyhedge_price_messages(PriceMessageFilter {
            pubkey,
            min_timestamp,
            max_timestamp,
            min_price_sequence,
            max_price_sequence,
            min_message_sequence,
            max_message_sequence,
            limit: Some(u32::try_from(request.limit).unwrap_or(u32::MAX)),
            offset: u32::try_from(request.offset)
                .map_err(|_| ApiError::field("offset", "too large"))?,
        })
        .await?;
    let results: Vec<Value> = result.rows.iter().map(price_message_json).collect();
    Ok(Json(json!(page(
        request,
        result.total,
        results,
        &uri,
        &headers
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_ranges_become_inclusive_bounds() {
        let q = QueryParams::parse(Some("timestamp_after=10&timestamp_before=20"));
        assert_eq!(
            bounds(&q, "timestamp", "timestamp_after", "timestamp_before").unwrap(),
            (Some(11), Some(19))
        );
        let q = QueryParams::parse(Some("price_sequence=5&price_sequence_after=7"));
        assert_eq!(
            bounds(
                &q,
                "price_sequence",
                "price_sequence_after",
                "price_sequence_before"
            )
            .unwrap(),
            (Some(8), Some(5))
        );
        let q = QueryParams::parse(Some("message_sequence_before=x"));
        assert_eq!(
            bounds(
                &q,
                "message_sequence",
                "message_sequence_after",
                "message_sequence_before"
            )
            .unwrap_err()
            .field
            .as_deref(),
            Some("message_sequence_before")
        );
    }
}
