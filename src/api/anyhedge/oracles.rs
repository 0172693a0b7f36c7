//! `/anyhedge/oracles/`: the oracles the desk follows (filter `asset_name`, exact and
//! case-insensitive, or `asset_name__icontains`), and one by public key.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use serde_json::{Value, json};

use super::json::oracle_json;
use super::parse_pubkey;
use crate::api::ApiState;
use crate::api::error::ApiError;
use crate::api::extract::QueryParams;
use crate::api::pagination::{PageRequest, page};

pub async fn list(
    State(state): State<ApiState>,
    query: QueryParams,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let request = PageRequest::from_query(&query)?;
    let exact = query
        .get("asset_name")
        .or(query.get("asset_name__iexact"))
        .map(str::to_lowercase);
    let contains = query.get("asset_name__icontains").map(str::to_lowercase);
    let oracles: Vec<_> = state
        .store
        .anyhedge_oracles(false)
        .await?
        .into_iter()
        .filter(|o| {
            let name = o.asset_name.to_lowercase();
            exact.as_ref().is_none_or(|e| &name == e)
                && contains.as_ref().is_none_or(|c| name.contains(c.as_str()))
        })
        .collect();
    let count = oracles.len() as u64;
    let results: Vec<Value> = oracles
        .iter()
        .skip(usize::try_from(request.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(request.limit).unwrap_or(usize::MAX))
        .map(oracle_json)
        .collect();
    Ok(Json(json!(page(request, count, results, &uri, &headers))))
}

pub async fn detail(
    State(state): State<ApiState>,
    Path(pubkey): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let pubkey = parse_pubkey("pubkey", &pubkey)
        .map_err(|_| ApiError::not_found(format!("no oracle {pubkey:?}")))?;
    let oracle = state
        .store
        .anyhedge_oracle(&pubkey)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("oracle {pubkey} does not exist")))?;
    Ok(Json(oracle_json(&oracle)))
}
