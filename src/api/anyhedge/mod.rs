//! The AnyHedge watchtower's API: hedge positions, offers, oracles and their price
//! messages, and the per-wallet WebSocket. Paths end in `/` as in the watchtower (Django);
//! the same path without it works too.

pub mod json;
pub mod offers;
pub mod oracles;
pub mod positions;
pub mod price_messages;
pub mod ws;

use std::str::FromStr;

use alloy::primitives::Address;
use axum::Router;
use axum::routing::{MethodRouter, get, post};

use super::ApiState;
use super::error::ApiError;
use crate::anyhedge::chain::Side;
use crate::anyhedge::message;

/// The routes, for [`super::router`]. Hedge positions answer under `hedge-position` (the
/// watchtower's README) and `hedge-positions` (its router).
pub fn routes() -> Router<ApiState> {
    let mut routes: Vec<(String, MethodRouter<ApiState>)> = Vec::new();
    for prefix in ["/anyhedge/hedge-position", "/anyhedge/hedge-positions"] {
        let position_routes: [(&str, MethodRouter<ApiState>); 8] = [
            ("/", get(positions::list).post(positions::create)),
            ("/summary/", get(positions::summary)),
            (
                "/submit_funding_proposal/",
                post(positions::submit_funding_proposal),
            ),
            ("/{address}/", get(positions::detail)),
            (
                "/{address}/complete_funding/",
                post(positions::complete_funding),
            ),
            (
                "/{address}/validate_contract_funding/",
                post(positions::validate_contract_funding),
            ),
            (
                "/{address}/mutual_redemption/",
                post(positions::mutual_redemption),
            ),
            (
                "/{address}/complete_mutual_redemption/",
                post(positions::complete_mutual_redemption),
            ),
        ];
        routes.extend(
            position_routes
                .into_iter()
                .map(|(path, method)| (format!("{prefix}{path}"), method)),
        );
    }
    let others: [(&str, MethodRouter<ApiState>); 10] = [
        (
            "/anyhedge/hedge-position-offers/",
            get(offers::list).post(offers::create),
        ),
        (
            "/anyhedge/hedge-position-offers/find_match/",
            post(offers::find_match),
        ),
        ("/anyhedge/hedge-position-offers/{id}/", get(offers::detail)),
        (
            "/anyhedge/hedge-position-offers/{id}/accept_offer/",
            post(offers::accept_offer),
        ),
        (
            "/anyhedge/hedge-position-offers/{id}/settle_offer/",
            post(offers::settle_offer),
        ),
        (
            "/anyhedge/hedge-position-offers/{id}/cancel_hedge_request/",
            post(offers::cancel_hedge_request),
        ),
        ("/anyhedge/oracles/", get(oracles::list)),
        ("/anyhedge/oracles/{pubkey}/", get(oracles::detail)),
        ("/anyhedge/price-messages/", get(price_messages::list)),
        ("/ws/anyhedge/updates/{wallet_hash}/", get(ws::updates)),
    ];
    routes.extend(others.into_iter().map(|(p, m)| (p.to_string(), m)));
    routes
        .into_iter()
        .fold(Router::new(), |router, (path, method)| {
            router
                .route(&path, method.clone())
                .route(path.trim_end_matches('/'), method)
        })
}

/// Unix seconds now.
pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A non-zero EVM address.
pub fn parse_address(field: &str, s: &str) -> Result<Address, ApiError> {
    let address = Address::from_str(s.trim())
        .map_err(|e| ApiError::field(field, format!("not an EVM address ({e}): {s:?}")))?;
    if address == Address::ZERO {
        return Err(ApiError::field(field, "the zero address is not a party"));
    }
    Ok(address)
}

/// `short` or `long` (`hedge` is the watchtower's name for the short).
pub fn parse_side(field: &str, s: &str) -> Result<Side, ApiError> {
    match s.trim() {
        "short" | "hedge" => Ok(Side::Short),
        "long" => Ok(Side::Long),
        other => Err(ApiError::field(
            field,
            format!("must be \"short\" or \"long\", got {other:?}"),
        )),
    }
}

/// A compressed secp256k1 public key, as lower-case hex.
pub fn parse_pubkey(field: &str, s: &str) -> Result<String, ApiError> {
    let bytes =
        message::verify::decode_hex("pubkey", s).map_err(|e| ApiError::field(field, e.reason()))?;
    message::parse_pubkey(&bytes).map_err(|e| ApiError::field(field, e.reason()))?;
    Ok(hex::encode(bytes))
}

/// Hex bytes (`0x` optional).
pub fn parse_hex(field: &str, s: &str) -> Result<Vec<u8>, ApiError> {
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    hex::decode(t).map_err(|e| ApiError::field(field, format!("not hex: {e}")))
}

/// A wallet hash: not empty, at most 100 characters (the watchtower's column).
pub fn parse_wallet_hash(field: &str, s: &str) -> Result<String, ApiError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(ApiError::field(field, "must not be empty"));
    }
    if s.len() > 100 {
        return Err(ApiError::field(field, "at most 100 characters"));
    }
    Ok(s.to_string())
}

/// An amount that the store keeps as a signed 64-bit integer.
pub fn check_amount(field: &str, v: u64, min: u64) -> Result<u64, ApiError> {
    if v < min {
        return Err(ApiError::field(field, format!("at least {min}, got {v}")));
    }
    if v > i64::MAX as u64 {
        return Err(ApiError::field(field, format!("{v} is too large")));
    }
    Ok(v)
}

/// The liquidation multipliers: `0 < low < 1 < high`, finite.
pub fn check_multipliers(low: f64, high: f64) -> Result<(), ApiError> {
    if !(low.is_finite() && low > 0.0 && low < 1.0) {
        return Err(ApiError::field(
            "low_liquidation_multiplier",
            format!("must be between 0 and 1 (exclusive), got {low}"),
        ));
    }
    if !(high.is_finite() && high > 1.0) {
        return Err(ApiError::field(
            "high_liquidation_multiplier",
            format!("must be greater than 1, got {high}"),
        ));
    }
    Ok(())
}

/// The oracle must be one the desk follows (and active).
pub async fn known_oracle(state: &ApiState, field: &str, pubkey: &str) -> Result<String, ApiError> {
    let pubkey = parse_pubkey(field, pubkey)?;
    match state.store.anyhedge_oracle(&pubkey).await? {
        Some(o) if o.active => Ok(pubkey),
        Some(_) => Err(ApiError::field(
            field,
            format!("oracle {pubkey} is not active"),
        )),
        None => Err(ApiError::field(field, format!("unknown oracle {pubkey}"))),
    }
}
