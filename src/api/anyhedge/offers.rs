//! `/anyhedge/hedge-position-offers/`: list (`wallet_hash`, `exclude_wallet_hash`,
//! `statuses`, `position`, `counter_party_wallet_hash`), create, retrieve, `find_match`,
//! `{id}/accept_offer`, `{id}/settle_offer`, `{id}/cancel_hedge_request`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use serde::Deserialize;
use serde_json::{Value, json};

use super::json::{offer_json, position_json};
use super::{
    check_amount, check_multipliers, known_oracle, now_secs, parse_address, parse_hex, parse_side,
    parse_wallet_hash,
};
use crate::anyhedge::chain::DUST;
use crate::anyhedge::offers::lifecycle::{AcceptRequest, SignedFundingProposal};
use crate::anyhedge::offers::matching::{self, MatchQuery};
use crate::api::ApiState;
use crate::api::error::ApiError;
use crate::api::extract::{Payload, QueryParams};
use crate::api::pagination::{PageRequest, page};
use crate::store::anyhedge::{NewOffer, Offer, OfferFilter, OfferStatus};

/// An offer with its hedge position (when settled) loaded.
async fn render(state: &ApiState, offer: &Offer) -> Result<Value, ApiError> {
    let position = match offer.hedge_position {
        Some(address) => state.store.anyhedge_position(address).await?,
        None => None,
    };
    Ok(offer_json(offer, position.as_ref()))
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.trim()
        .parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("no hedge position offer {id:?}")))
}

pub async fn list(
    State(state): State<ApiState>,
    query: QueryParams,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let request = PageRequest::from_query(&query)?;
    let statuses = match query.get("statuses") {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                OfferStatus::parse(s).ok_or_else(|| {
                    ApiError::field(
                        "statuses",
                        format!(
                            "unknown status {s:?}; expected a comma-separated list of pending, accepted, settled, cancelled"
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let filter = OfferFilter {
        wallet_hash: query.string("wallet_hash"),
        exclude_wallet_hash: query.string("exclude_wallet_hash"),
        statuses,
        position: query
            .get("position")
            .map(|p| parse_side("position", p))
            .transpose()?,
        counter_party_wallet_hash: query.string("counter_party_wallet_hash"),
        limit: Some(request.limit),
        offset: request.offset,
    };
    let (offers, count) = state.store.anyhedge_offers(filter).await?;
    let mut results = Vec::with_capacity(offers.len());
    for offer in &offers {
        results.push(render(&state, offer).await?);
    }
    Ok(Json(json!(page(request, count, results, &uri, &headers))))
}

pub async fn detail(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let offer =
        state.store.anyhedge_offer(id).await?.ok_or_else(|| {
            ApiError::not_found(format!("hedge position offer {id} does not exist"))
        })?;
    Ok(Json(render(&state, &offer).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateOffer {
    position: String,
    wallet_hash: String,
    address: String,
    satoshis: u64,
    duration_seconds: u64,
    low_liquidation_multiplier: f64,
    high_liquidation_multiplier: f64,
    oracle_pubkey: String,
    #[serde(default)]
    leveraged: bool,
    #[serde(default)]
    expires_at: Option<i64>,
}

pub async fn create(
    State(state): State<ApiState>,
    Payload(body): Payload<CreateOffer>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let now = now_secs();
    let new = NewOffer {
        position: parse_side("position", &body.position)?,
        wallet_hash: parse_wallet_hash("wallet_hash", &body.wallet_hash)?,
        address: parse_address("address", &body.address)?,
        satoshis: check_amount("satoshis", body.satoshis, DUST)?,
        duration_seconds: check_amount("duration_seconds", body.duration_seconds, 1)?,
        low_liquidation_multiplier: body.low_liquidation_multiplier,
        high_liquidation_multiplier: body.high_liquidation_multiplier,
        oracle_pubkey: known_oracle(&state, "oracle_pubkey", &body.oracle_pubkey).await?,
        leveraged: body.leveraged,
        expires_at: body.expires_at,
    };
    check_multipliers(
        new.low_liquidation_multiplier,
        new.high_liquidation_multiplier,
    )?;
    if let Some(at) = new.expires_at
        && at <= now
    {
        return Err(ApiError::field(
            "expires_at",
            format!("{at} is not in the future (now {now})"),
        ));
    }
    let offer = state.store.anyhedge_create_offer(new).await?;
    Ok((StatusCode::CREATED, Json(render(&state, &offer).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindMatch {
    #[serde(default)]
    wallet_hash: Option<String>,
    position: String,
    satoshis: u64,
    duration_seconds: u64,
    low_liquidation_multiplier: f64,
    high_liquidation_multiplier: f64,
    oracle_pubkey: String,
    #[serde(default)]
    leveraged: Option<bool>,
}

pub async fn find_match(
    State(state): State<ApiState>,
    Payload(body): Payload<FindMatch>,
) -> Result<Json<Value>, ApiError> {
    let position = parse_side("position", &body.position)?;
    check_amount("satoshis", body.satoshis, 1)?;
    check_amount("duration_seconds", body.duration_seconds, 1)?;
    check_multipliers(
        body.low_liquidation_multiplier,
        body.high_liquidation_multiplier,
    )?;
    let oracle_pubkey = super::parse_pubkey("oracle_pubkey", &body.oracle_pubkey)?;
    let now = now_secs();
    // As the watchtower does, free offers whose acceptance lapsed before matching.
    state.offers().await?.sweep_expired_deadlines(now).await?;
    let query = MatchQuery {
        position,
        satoshis: body.satoshis,
        duration_seconds: body.duration_seconds,
        low_liquidation_multiplier: body.low_liquidation_multiplier,
        high_liquidation_multiplier: body.high_liquidation_multiplier,
        oracle_pubkey: oracle_pubkey.clone(),
        wallet_hash: body.wallet_hash.clone(),
        leveraged: body.leveraged,
    };
    let candidates = state
        .store
        .anyhedge_pending_offers(position.opposite(), oracle_pubkey.clone())
        .await?;
    let matching = matching::find_match(&query, &candidates, now);
    let similar = match matching {
        Some(_) => Vec::new(),
        None => matching::similar_offers(&query, &candidates, now),
    };
    let mut similar_json = Vec::with_capacity(similar.len());
    for offer in similar {
        similar_json.push(render(&state, offer).await?);
    }
    let matching_json = match matching {
        Some(offer) => render(&state, offer).await?,
        None => Value::Null,
    };
    Ok(Json(json!({
        "wallet_hash": body.wallet_hash,
        "position": position.as_str(),
        "satoshis": body.satoshis,
        "duration_seconds": body.duration_seconds,
        "low_liquidation_multiplier": body.low_liquidation_multiplier,
        "high_liquidation_multiplier": body.high_liquidation_multiplier,
        "oracle_pubkey": oracle_pubkey,
        "leveraged": body.leveraged,
        "counter_party_satoshis": matching::counterparty_sats(position, body.satoshis, body.low_liquidation_multiplier).round() as u64,
        "matching_position_offer": matching_json,
        "similar_position_offers": similar_json,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptOffer {
    wallet_hash: String,
    address: String,
}

pub async fn accept_offer(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Payload(body): Payload<AcceptOffer>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let by = AcceptRequest {
        wallet_hash: parse_wallet_hash("wallet_hash", &body.wallet_hash)?,
        address: parse_address("address", &body.address)?,
    };
    let accepted = state.offers().await?.accept(id, by, now_secs()).await?;
    Ok(Json(render(&state, &accepted).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FundingProposalBody {
    signature: String,
    deadline: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettleOffer {
    #[serde(default)]
    counter_party_funding_proposal: Option<FundingProposalBody>,
}

pub async fn settle_offer(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Payload(body): Payload<SettleOffer>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let proposal = body
        .counter_party_funding_proposal
        .map(|p| {
            Ok::<_, ApiError>(SignedFundingProposal {
                signature: parse_hex("counter_party_funding_proposal.signature", &p.signature)?,
                deadline: p.deadline,
            })
        })
        .transpose()?;
    let (_, position) = state
        .offers()
        .await?
        .settle(id, proposal, now_secs())
        .await?;
    Ok(Json(position_json(&position)))
}

pub async fn cancel_hedge_request(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let cancelled = state.offers().await?.cancel(id).await?;
    Ok(Json(render(&state, &cancelled).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anyhedge::chain::Side;

    #[test]
    fn ids_that_are_not_numbers_are_not_found() {
        assert_eq!(parse_id(" 12 ").unwrap(), 12);
        assert_eq!(parse_id("abc").unwrap_err().status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn hedge_is_the_short() {
        assert_eq!(parse_side("position", "hedge").unwrap(), Side::Short);
        assert_eq!(
            parse_side("position", "sideways")
                .unwrap_err()
                .field
                .as_deref(),
            Some("position")
        );
    }
}
