//! `/anyhedge/hedge-position/`: list (`short_wallet_hash`, `long_wallet_hash`, `wallet_hash`,
//! `oracle_pubkey`, `settled`, `funding`), create, retrieve by address, `summary`,
//! `submit_funding_proposal`, `{address}/complete_funding`,
//! `{address}/validate_contract_funding`, `{address}/mutual_redemption`,
//! `{address}/complete_mutual_redemption`.
//!
//! Funding and redemption are signed by the parties (EIP-712 permits, checked here against
//! the party's address) and carried out by the desk: once both parties' signatures are in,
//! the desk is asked to send the transaction.

use alloy::primitives::{Address, U256};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::json::position_json;
use super::{
    check_amount, check_multipliers, known_oracle, now_secs, parse_address, parse_hex, parse_side,
};
use crate::anyhedge::chain::{
    self, DUST, HedgeParties, MutualRedemption as RedemptionPermit, RedemptionKind, Side,
    build_params, predict_address, redemption_signing_hash,
};
use crate::anyhedge::message;
use crate::anyhedge::offers::lifecycle::{
    CONTRACT_VERSION, OfferError, SignedFundingProposal, check_funding_proposal, compute_terms,
    parameters_of, signature_reason,
};
use crate::anyhedge::requests::AnyHedgeRequest;
use crate::api::ApiState;
use crate::api::error::ApiError;
use crate::api::extract::{Payload, QueryParams};
use crate::api::pagination::{PageRequest, page};
use crate::store::anyhedge::{
    FundingStatus, NewPosition, Position, PositionFee, PositionFilter, PositionMetadata,
    RedemptionProposal, RedemptionType,
};

/// The resource name of position updates.
pub const POSITION_RESOURCE: &str = "hedge_position";
pub const REDEMPTION_RESOURCE: &str = "mutual_redemption";

/// Tells both parties of `p` about a change.
fn publish(state: &ApiState, p: &Position, resource: &str, action: &str, meta: Value) {
    state.updates.publish_to_parties(p, resource, action, meta);
}

fn lookup_address(address: &str) -> Result<Address, ApiError> {
    address
        .trim()
        .parse::<Address>()
        .map_err(|_| ApiError::not_found(format!("no hedge position at {address:?}")))
}

async fn load(state: &ApiState, address: &str) -> Result<Position, ApiError> {
    let address = lookup_address(address)?;
    state
        .store
        .anyhedge_position(address)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("hedge position {address} does not exist")))
}

fn with_status(status: StatusCode, header: &'static str, value: &str, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(value) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(header), v);
    }
    response
}

fn position_filter(q: &QueryParams) -> Result<PositionFilter, ApiError> {
    Ok(PositionFilter {
        short_wallet_hash: q
            .string("short_wallet_hash")
            .or(q.string("hedge_wallet_hash")),
        long_wallet_hash: q.string("long_wallet_hash"),
        wallet_hash: q.string("wallet_hash"),
        oracle_pubkey: q
            .get("oracle_pubkey")
            .map(|p| super::parse_pubkey("oracle_pubkey", p))
            .transpose()?,
        settled: q.boolean("settled")?,
        funding: q
            .get("funding")
            .map(|f| {
                FundingStatus::parse(f).ok_or_else(|| {
                    ApiError::field(
                        "funding",
                        format!("expected pending, partial, ready or complete, got {f:?}"),
                    )
                })
            })
            .transpose()?,
        limit: None,
        offset: 0,
    })
}

pub async fn list(
    State(state): State<ApiState>,
    query: QueryParams,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let request = PageRequest::from_query(&query)?;
    let filter = PositionFilter {
        limit: Some(request.limit),
        offset: request.offset,
        ..position_filter(&query)?
    };
    let (positions, count) = state.store.anyhedge_positions(filter).await?;
    let results: Vec<Value> = positions.iter().map(position_json).collect();
    Ok(Json(json!(page(request, count, results, &uri, &headers))))
}

pub async fn detail(
    State(state): State<ApiState>,
    Path(address): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(position_json(&load(&state, &address).await?)))
}

/// Per oracle: the short side's nominal units × 1e8 and the long side's sats, with the
/// oracle's asset.
pub async fn summary(
    State(state): State<ApiState>,
    query: QueryParams,
) -> Result<Json<Value>, ApiError> {
    let rows = state
        .store
        .anyhedge_position_summary(position_filter(&query)?)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let oracle = state.store.anyhedge_oracle(&row.oracle_pubkey).await?;
        out.push(json!({
            "oracle_pubkey": row.oracle_pubkey,
            "asset_name": oracle.as_ref().map(|o| o.asset_name.clone()),
            "asset_currency": oracle.as_ref().map(|o| o.asset_currency.clone()),
            "asset_decimals": oracle.as_ref().map(|o| o.asset_decimals),
            "total_short_unit_sats": row.total_short_unit_sats,
            "total_long_sats": row.total_long_sats,
            "positions": row.positions,
        }));
    }
    Ok(Json(Value::Array(out)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeBody {
    address: String,
    satoshis: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataBody {
    #[serde(default)]
    position_taker: Option<String>,
    #[serde(default)]
    liquidity_fee: Option<i64>,
    #[serde(default)]
    network_fee: Option<i64>,
    #[serde(default)]
    total_short_funding_sats: Option<u64>,
    #[serde(default)]
    total_long_funding_sats: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePosition {
    /// When given, must be the address the terms make.
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    short_wallet_hash: String,
    short_address: String,
    #[serde(default)]
    long_wallet_hash: String,
    long_address: String,
    /// The short's input.
    satoshis: u64,
    maturity_timestamp: u64,
    low_liquidation_multiplier: f64,
    high_liquidation_multiplier: f64,
    #[serde(default)]
    leveraged: bool,
    oracle_pubkey: String,
    starting_oracle_message: String,
    starting_oracle_signature: String,
    #[serde(default)]
    fee: Option<FeeBody>,
    #[serde(default)]
    metadata: Option<MetadataBody>,
}

fn optional_wallet(field: &str, s: &str) -> Result<String, ApiError> {
    let s = s.trim();
    if s.len() > 100 {
        return Err(ApiError::field(field, "at most 100 characters"));
    }
    Ok(s.to_string())
}

/// The terms' input the math's error is about, as this payload names it.
fn terms_field(math_field: &str) -> &'static str {
    match math_field {
        "low_mult" => "low_liquidation_multiplier",
        "high_mult" => "high_liquidation_multiplier",
        "start_price" => "starting_oracle_message",
        _ => "satoshis",
    }
}

/// A hedge position from its terms and the signed starting price (both parties agreed on
/// them elsewhere): the contract is computed and its address predicted here.
pub async fn create(
    State(state): State<ApiState>,
    Payload(body): Payload<CreatePosition>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let short_wallet_hash = optional_wallet("short_wallet_hash", &body.short_wallet_hash)?;
    let long_wallet_hash = optional_wallet("long_wallet_hash", &body.long_wallet_hash)?;
    let short_party = parse_address("short_address", &body.short_address)?;
    let long_party = parse_address("long_address", &body.long_address)?;
    let satoshis = check_amount("satoshis", body.satoshis, DUST)?;
    check_multipliers(
        body.low_liquidation_multiplier,
        body.high_liquidation_multiplier,
    )?;
    let oracle_pubkey = known_oracle(&state, "oracle_pubkey", &body.oracle_pubkey).await?;
    let message_bytes = parse_hex("starting_oracle_message", &body.starting_oracle_message)?;
    let signature_bytes = parse_hex("starting_oracle_signature", &body.starting_oracle_signature)?;
    let key = hex::decode(&oracle_pubkey).expect("normalised hex");
    let verified = message::verify(&key, &message_bytes, &signature_bytes).map_err(|e| {
        let field = match e.field() {
            "message" => "starting_oracle_message",
            "signature" => "starting_oracle_signature",
            _ => "oracle_pubkey",
        };
        ApiError::field(field, e.reason())
    })?;
    let start = verified.message();
    let start_timestamp = i64::from(start.message_timestamp);
    let duration = i64::try_from(body.maturity_timestamp)
        .ok()
        .and_then(|m| m.checked_sub(start_timestamp))
        .filter(|d| *d > 0)
        .ok_or_else(|| {
            ApiError::field(
                "maturity_timestamp",
                format!(
                    "must be after the starting message's timestamp {start_timestamp}, got {}",
                    body.maturity_timestamp
                ),
            )
        })?;
    let terms = compute_terms(
        satoshis,
        start.price as u32,
        start_timestamp,
        duration as u64,
        body.low_liquidation_multiplier,
        body.high_liquidation_multiplier,
        body.leveraged,
    )
    .map_err(|e| match e {
        OfferError::Terms(m) => ApiError::field(terms_field(m.field()), m.to_string()),
        other => ApiError::from(other),
    })?;
    let (factory, collateral) = state.contracts().await?;
    let factory = factory.ok_or(ApiError::from(OfferError::NoFactory))?;
    let collateral = collateral.ok_or(ApiError::from(OfferError::NoCollateral))?;
    let parties = HedgeParties {
        collateral,
        oracle: verified.oracle_address(),
        short_party,
        long_party,
    };
    let address = predict_address(factory, &build_params(&parties, &terms));
    if let Some(given) = &body.address {
        let given = parse_address("address", given)?;
        if given != address {
            return Err(ApiError::field(
                "address",
                format!("{given} is not the contract these terms make ({address})"),
            ));
        }
    }
    let fee = body
        .fee
        .map(|f| {
            Ok::<_, ApiError>(PositionFee {
                address: parse_address("fee.address", &f.address)?,
                satoshis: check_amount("fee.satoshis", f.satoshis, 1)?,
            })
        })
        .transpose()?;
    let metadata = body
        .metadata
        .map(|m| {
            Ok::<_, ApiError>(PositionMetadata {
                position_taker: m
                    .position_taker
                    .as_deref()
                    .map(|t| parse_side("metadata.position_taker", t))
                    .transpose()?,
                liquidity_fee: m.liquidity_fee,
                network_fee: m.network_fee,
                total_short_funding_sats: m
                    .total_short_funding_sats
                    .map(|v| check_amount("metadata.total_short_funding_sats", v, 0))
                    .transpose()?,
                total_long_funding_sats: m
                    .total_long_funding_sats
                    .map(|v| check_amount("metadata.total_long_funding_sats", v, 0))
                    .transpose()?,
            })
        })
        .transpose()?;
    let created = state
        .store
        .anyhedge_create_position(NewPosition {
            address,
            anyhedge_contract_version: CONTRACT_VERSION.to_string(),
            factory,
            parties,
            terms,
            short_wallet_hash,
            long_wallet_hash,
            oracle_pubkey,
            low_liquidation_multiplier: body.low_liquidation_multiplier,
            high_liquidation_multiplier: body.high_liquidation_multiplier,
            leveraged: body.leveraged,
            starting_oracle_message: hex::encode(verified.bytes()),
            starting_oracle_signature: hex::encode(verified.signature()),
            fee,
            metadata,
        })
        .await??;
    publish(&state, &created, POSITION_RESOURCE, "created", json!({}));
    Ok((StatusCode::CREATED, Json(position_json(&created))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitFundingProposal {
    address: String,
    position: String,
    signature: String,
    deadline: u64,
}

/// A party's signed `Funding` permit. Once both are in, the desk is asked to create and fund
/// the contract; the `funding-status` header says whether it was (`queued`), is waiting for
/// the other party (`incomplete`), or could not be asked (`desk unavailable`).
pub async fn submit_funding_proposal(
    State(state): State<ApiState>,
    Payload(body): Payload<SubmitFundingProposal>,
) -> Result<Response, ApiError> {
    let address = parse_address("address", &body.address)?;
    let side = parse_side("position", &body.position)?;
    let signature = parse_hex("signature", &body.signature)?;
    let p = state
        .store
        .anyhedge_position(address)
        .await?
        .ok_or_else(|| {
            ApiError::field(
                "address",
                format!("hedge position {address} does not exist"),
            )
        })?;
    if p.settlement.is_some() {
        return Err(ApiError::conflict(format!(
            "hedge position {address} is already settled"
        )));
    }
    if p.funding_tx_hash.is_some() {
        return Err(ApiError::conflict(format!(
            "hedge position {address} is already funded"
        )));
    }
    let params = build_params(&p.parties, &p.terms);
    let proposal = check_funding_proposal(
        state.settings.chain_id,
        p.address,
        &params,
        side,
        &SignedFundingProposal {
            signature,
            deadline: body.deadline,
        },
        now_secs(),
    )
    .map_err(|e| match e {
        OfferError::Funding { field, reason } => ApiError::field(field, reason),
        other => ApiError::from(other),
    })?;
    let updated = state
        .store
        .anyhedge_record_funding_proposal(address, side, proposal)
        .await??;
    publish(
        &state,
        &updated,
        POSITION_RESOURCE,
        "funding_proposal",
        json!({"updated_position": side.as_str()}),
    );
    let status =
        if updated.short_funding_proposal.is_some() && updated.long_funding_proposal.is_some() {
            if state.ask_desk(AnyHedgeRequest::CompleteFunding {
                address: address.to_string(),
            }) {
                "queued"
            } else {
                "desk unavailable"
            }
        } else {
            "incomplete"
        };
    Ok(with_status(
        StatusCode::OK,
        "funding-status",
        status,
        position_json(&updated),
    ))
}

/// Asks the desk to create and fund the contract from both stored proposals.
pub async fn complete_funding(
    State(state): State<ApiState>,
    Path(address): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let p = load(&state, &address).await?;
    if p.settlement.is_some() {
        return Err(ApiError::conflict(format!(
            "hedge position {} is already settled",
            p.address
        )));
    }
    if p.funding_tx_hash.is_some() {
        return Err(ApiError::conflict(format!(
            "hedge position {} is already funded",
            p.address
        )));
    }
    let missing: Vec<&str> = [Side::Short, Side::Long]
        .into_iter()
        .filter(|s| p.funding_proposal(*s).is_none())
        .map(Side::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::conflict(format!(
            "incomplete funding proposals: none from the {} side",
            missing.join(" and ")
        )));
    }
    if !state.ask_desk(AnyHedgeRequest::CompleteFunding {
        address: p.address.to_string(),
    }) {
        return Err(ApiError::unavailable(
            "the AnyHedge desk is not running; try again later",
        ));
    }
    Ok((StatusCode::ACCEPTED, Json(position_json(&p))))
}

/// Asks the desk to read the contract's funding from the chain and record it.
pub async fn validate_contract_funding(
    State(state): State<ApiState>,
    Path(address): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let p = load(&state, &address).await?;
    if !state.ask_desk(AnyHedgeRequest::ValidateFunding {
        address: p.address.to_string(),
    }) {
        return Err(ApiError::unavailable(
            "the AnyHedge desk is not running; try again later",
        ));
    }
    Ok((StatusCode::ACCEPTED, Json(position_json(&p))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MutualRedemptionBody {
    redemption_type: String,
    short_satoshis: u64,
    long_satoshis: u64,
    #[serde(default)]
    settlement_price: Option<u32>,
    deadline: u64,
    #[serde(default)]
    initiator: Option<String>,
    #[serde(default, alias = "short_schnorr_sig")]
    short_signature: Option<String>,
    #[serde(default, alias = "long_schnorr_sig")]
    long_signature: Option<String>,
}

/// Checks the amounts of a redemption against the contract's rules (`_checkRedemption`).
fn check_redemption_amounts(
    p: &Position,
    kind: RedemptionType,
    short_sats: u64,
    long_sats: u64,
    price: u32,
) -> Result<(), ApiError> {
    let params = build_params(&p.parties, &p.terms);
    match kind {
        RedemptionType::Refund => {
            let short_posted = chain::funding_sats(&params, Side::Short).unwrap_or(u64::MAX);
            let long_posted = chain::funding_sats(&params, Side::Long).unwrap_or(u64::MAX);
            if short_sats != short_posted {
                return Err(ApiError::field(
                    "short_satoshis",
                    format!("a refund pays the short what it posted: {short_posted}"),
                ));
            }
            if long_sats != long_posted {
                return Err(ApiError::field(
                    "long_satoshis",
                    format!("a refund pays the long what it posted: {long_posted}"),
                ));
            }
        }
        RedemptionType::EarlyMaturation => {
            let (low, high) = (p.terms.low_price, p.terms.high_price);
            if price <= low || price >= high {
                return Err(ApiError::field(
                    "settlement_price",
                    format!(
                        "an early maturation needs a price strictly between {low} and {high}, got {price}"
                    ),
                ));
            }
            let payout = parameters_of(&p.terms).settle(price);
            if short_sats != payout.short_sats {
                return Err(ApiError::field(
                    "short_satoshis",
                    format!("at price {price} the short gets {}", payout.short_sats),
                ));
            }
            if long_sats != payout.long_sats {
                return Err(ApiError::field(
                    "long_satoshis",
                    format!("at price {price} the long gets {}", payout.long_sats),
                ));
            }
        }
        RedemptionType::Arbitrary => {
            let held = p.terms.payout_sats.saturating_add(DUST);
            if u128::from(short_sats) + u128::from(long_sats) != u128::from(held) {
                return Err(ApiError::field(
                    "long_satoshis",
                    format!(
                        "the payouts must add up to what the contract holds ({held}), got {short_sats} + {long_sats}"
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn redemption_kind(kind: RedemptionType) -> RedemptionKind {
    match kind {
        RedemptionType::Refund => RedemptionKind::Refund,
        RedemptionType::EarlyMaturation => RedemptionKind::EarlyMaturation,
        RedemptionType::Arbitrary => RedemptionKind::Split,
    }
}

/// Creates or updates the mutual redemption proposal, with the parties' signatures over it
/// as they come; once both are in, the desk is asked to send it (`redemption-status`
/// header: `queued`, `incomplete` or `desk unavailable`).
pub async fn mutual_redemption(
    State(state): State<ApiState>,
    Path(address): Path<String>,
    Payload(body): Payload<MutualRedemptionBody>,
) -> Result<Response, ApiError> {
    let p = load(&state, &address).await?;
    if p.settlement.is_some() {
        return Err(ApiError::conflict(format!(
            "hedge position {} is already settled",
            p.address
        )));
    }
    if p.mutual_redemption
        .as_ref()
        .is_some_and(|r| r.tx_hash.is_some())
    {
        return Err(ApiError::conflict(format!(
            "the mutual redemption of {} is already completed",
            p.address
        )));
    }
    if p.funding_tx_hash.is_none() {
        return Err(ApiError::conflict(format!(
            "hedge position {} is not funded yet",
            p.address
        )));
    }
    let kind = RedemptionType::parse(body.redemption_type.trim()).ok_or_else(|| {
        ApiError::field(
            "redemption_type",
            format!(
                "expected refund, early_maturation or arbitrary, got {:?}",
                body.redemption_type
            ),
        )
    })?;
    check_amount("short_satoshis", body.short_satoshis, 0)?;
    check_amount("long_satoshis", body.long_satoshis, 0)?;
    let price = body.settlement_price.unwrap_or(0);
    let now = now_secs();
    let deadline = i64::try_from(body.deadline)
        .map_err(|_| ApiError::field("deadline", format!("{} is too large", body.deadline)))?;
    if deadline <= now {
        return Err(ApiError::field(
            "deadline",
            format!("{deadline} is not in the future (now {now})"),
        ));
    }
    check_redemption_amounts(&p, kind, body.short_satoshis, body.long_satoshis, price)?;
    let permit = RedemptionPermit {
        hedge: p.address,
        kind: redemption_kind(kind) as u8,
        price,
        shortSats: body.short_satoshis,
        longSats: body.long_satoshis,
        deadline: U256::from(body.deadline),
    };
    let digest = redemption_signing_hash(state.settings.chain_id, &permit);
    let mut signatures: [Option<String>; 2] = [None, None];
    for (i, (side, field, given)) in [
        (Side::Short, "short_signature", &body.short_signature),
        (Side::Long, "long_signature", &body.long_signature),
    ]
    .into_iter()
    .enumerate()
    {
        let Some(given) = given.as_deref().filter(|s| !s.trim().is_empty()) else {
            continue;
        };
        let bytes = parse_hex(field, given)?;
        chain::check_signature(digest, &bytes, p.party(side))
            .map_err(|e| ApiError::field(field, signature_reason(&e, side)))?;
        signatures[i] = Some(format!("0x{}", hex::encode(&bytes)));
    }
    let initiator = match body.initiator.as_deref() {
        Some(i) => Side::parse(i.trim()).ok_or_else(|| {
            ApiError::field(
                "initiator",
                format!("must be \"short\" or \"long\", got {i:?}"),
            )
        })?,
        None if signatures[0].is_none() && signatures[1].is_some() => Side::Long,
        None => Side::Short,
    };
    let [short_signature, long_signature] = signatures;
    let created = p.mutual_redemption.is_none();
    let updated = state
        .store
        .anyhedge_upsert_redemption(
            p.address,
            RedemptionProposal {
                redemption_type: kind,
                initiator,
                short_satoshis: body.short_satoshis,
                long_satoshis: body.long_satoshis,
                settlement_price: price,
                deadline: body.deadline,
            },
            short_signature,
            long_signature,
        )
        .await??;
    publish(
        &state,
        &updated,
        REDEMPTION_RESOURCE,
        if created { "created" } else { "updated" },
        json!({"redemption_type": kind.as_str()}),
    );
    let signed = updated
        .mutual_redemption
        .as_ref()
        .is_some_and(|r| r.is_signed_by_both());
    let status = if signed {
        if state.ask_desk(AnyHedgeRequest::CompleteRedemption {
            address: p.address.to_string(),
        }) {
            "queued"
        } else {
            "desk unavailable"
        }
    } else {
        "incomplete"
    };
    Ok(with_status(
        StatusCode::OK,
        "redemption-status",
        status,
        position_json(&updated),
    ))
}

/// Asks the desk to send the mutual redemption both parties signed.
pub async fn complete_mutual_redemption(
    State(state): State<ApiState>,
    Path(address): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let p = load(&state, &address).await?;
    let Some(redemption) = &p.mutual_redemption else {
        return Err(ApiError::conflict(format!(
            "hedge position {} has no mutual redemption proposal",
            p.address
        )));
    };
    if p.settlement.is_some() {
        return Err(ApiError::conflict(format!(
            "hedge position {} is already settled",
            p.address
        )));
    }
    if redemption.tx_hash.is_some() {
        return Err(ApiError::conflict(format!(
            "the mutual redemption of {} is already completed",
            p.address
        )));
    }
    if !redemption.is_signed_by_both() {
        return Err(ApiError::conflict(
            "incomplete signatures: both parties must sign",
        ));
    }
    if !state.ask_desk(AnyHedgeRequest::CompleteRedemption {
        address: p.address.to_string(),
    }) {
        return Err(ApiError::unavailable(
            "the AnyHedge desk is not running; try again later",
        ));
    }
    Ok((StatusCode::ACCEPTED, Json(position_json(&p))))
}
