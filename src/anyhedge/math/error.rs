//! Why a set of terms or parameters is not a valid contract.

use super::{DUST, MAX_ORACLE_PRICE, MIN_SATS_AT_HIGH, SATS_PER_BCH};

/// One failed bound or bad input. [`CreateError::field`] names the input to change; the
/// message names the bound and the values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CreateError {
    #[error("{field} must be a finite number above 0, got {value}")]
    NotPositiveFinite { field: &'static str, value: f64 },

    #[error("start price must be at least 1, got 0")]
    StartPriceZero,

    /// A rounded product beyond 2^53: the reference library could not hold it exactly.
    #[error("{field} × {factor} = {product:e} exceeds 2^53, the largest exact integer of a double")]
    ProductTooLarge {
        field: &'static str,
        factor: &'static str,
        product: f64,
    },

    #[error("low liquidation price {low} must be at least 1")]
    LowBelowOne { low: u64 },

    #[error("low liquidation price {low} must be below the start price {start}")]
    LowNotBelowStart { low: u64, start: u32 },

    #[error("high liquidation price {high} must be above the start price {start}")]
    HighNotAboveStart { high: u64, start: u32 },

    #[error(
        "high liquidation price {high} exceeds the int32 oracle price range (at most {})",
        MAX_ORACLE_PRICE
    )]
    HighAboveOracleRange { high: u64 },

    #[error("nominal units × 1e8 = {value} must be at least {}", SATS_PER_BCH)]
    NominalTooSmall { value: u64 },

    #[error("payout {payout} sats is below dust {}", DUST)]
    PayoutBelowDust { payout: u64 },

    #[error(
        "sats at high {sats} must be at least {} for a leveraged contract",
        MIN_SATS_AT_HIGH
    )]
    SatsAtHighTooSmall { sats: u64 },

    /// `sats_for_nominal_units_at_high` is neither 0 (simple) nor `nXS / high` (leveraged).
    #[error(
        "sats at high {actual} must be 0 for a simple contract or \
         nominal_units_x_sats_per_bch / high_price = {leveraged} for a leveraged one"
    )]
    SatsAtHighMismatch { actual: u64, leveraged: u64 },

    /// A derived amount of a received parameter set that does not follow from the others.
    #[error("{field} {actual} does not match {formula} = {expected}")]
    Inconsistent {
        field: &'static str,
        formula: &'static str,
        actual: u64,
        expected: u64,
    },
}

impl CreateError {
    /// The input (contract term or parameter) the error is about, as the CLI and API name it.
    pub fn field(&self) -> &'static str {
        match self {
            CreateError::NotPositiveFinite { field, .. }
            | CreateError::ProductTooLarge { field, .. }
            | CreateError::Inconsistent { field, .. } => field,
            CreateError::StartPriceZero => "start_price",
            CreateError::LowBelowOne { .. } | CreateError::LowNotBelowStart { .. } => "low_mult",
            CreateError::HighNotAboveStart { .. } | CreateError::HighAboveOracleRange { .. } => {
                "high_mult"
            }
            CreateError::NominalTooSmall { .. }
            | CreateError::PayoutBelowDust { .. }
            | CreateError::SatsAtHighTooSmall { .. } => "nominal_units",
            CreateError::SatsAtHighMismatch { .. } => "sats_for_nominal_units_at_high",
        }
    }
}
