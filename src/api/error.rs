//! The API's errors: always JSON, `{"error": "...", "field": "..."}` (`field` null when no
//! one input is at fault). 400 for a bad payload or query (naming the field), 404 for what
//! does not exist, 409 for a request the current state refuses, 503 for what is not ready
//! yet (the factory, an oracle's price, the desk).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::anyhedge::offers::lifecycle::OfferError;
use crate::store::StoreError;
use crate::store::anyhedge::Refused;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: String,
    pub field: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{} ({field}): {}", self.status, self.error),
            None => write!(f, "{}: {}", self.status, self.error),
        }
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub fn new(status: StatusCode, error: impl Into<String>, field: Option<String>) -> Self {
        ApiError {
            status,
            error: error.into(),
            field,
        }
    }

    /// 400, naming the input at fault.
    pub fn field(field: impl Into<String>, error: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, error, Some(field.into()))
    }

    /// 400 about the request as a whole.
    pub fn bad_request(error: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, error, None)
    }

    pub fn not_found(error: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, error, None)
    }

    pub fn conflict(error: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, error, None)
    }

    pub fn unavailable(error: impl Into<String>) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error, None)
    }

    pub fn internal(error: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, error, None)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error": self.error, "field": self.field})),
        )
            .into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "anyhedge api: store error");
        match e {
            StoreError::Closed => ApiError::unavailable("the store is shutting down"),
            other => ApiError::internal(format!("store error: {other}")),
        }
    }
}

impl From<Refused> for ApiError {
    fn from(r: Refused) -> Self {
        match r {
            Refused::NoOffer(_) | Refused::NoPosition(_) => ApiError::not_found(r.to_string()),
            _ => ApiError::conflict(r.to_string()),
        }
    }
}

impl From<OfferError> for ApiError {
    fn from(e: OfferError) -> Self {
        match e {
            OfferError::Refused(r) => r.into(),
            OfferError::OwnOffer(_) => ApiError::field("wallet_hash", e.to_string()),
            OfferError::Funding { field, reason } => {
                let field = match field {
                    "signature" | "deadline" => format!("counter_party_funding_proposal.{field}"),
                    other => other.to_string(),
                };
                ApiError::field(field, reason)
            }
            OfferError::NoFactory
            | OfferError::NoCollateral
            | OfferError::NoPrice(_)
            | OfferError::StalePrice { .. } => ApiError::unavailable(e.to_string()),
            OfferError::BadOracleKey { .. } | OfferError::Terms(_) | OfferError::Contract(_) => {
                ApiError::conflict(e.to_string())
            }
            OfferError::Store(s) => s.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::Address;

    #[test]
    fn refusals_map_to_not_found_and_conflict() {
        assert_eq!(
            ApiError::from(Refused::NoOffer(3)).status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            ApiError::from(Refused::AlreadyFunded(Address::ZERO)).status,
            StatusCode::CONFLICT
        );
        let e = ApiError::from(OfferError::OwnOffer("w".into()));
        assert_eq!(
            (e.status, e.field.as_deref()),
            (StatusCode::BAD_REQUEST, Some("wallet_hash"))
        );
    }
}
