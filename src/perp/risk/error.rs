//! What can go wrong evaluating risk: always an error naming the field, never a panic.

use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {}", self.field(), self.reason())]
pub enum RiskError {
    /// A checked operation left the integer range (`I256`, or `I512` for the factors).
    Overflow { field: &'static str },
    /// PnL divides by the entry price.
    ZeroEntryPrice,
    /// Factors scale the vault; a negative one would turn a flag upside down.
    NegativeFactor { field: &'static str, value: Decimal },
}

impl RiskError {
    /// The input or intermediate the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            RiskError::Overflow { field } | RiskError::NegativeFactor { field, .. } => field,
            RiskError::ZeroEntryPrice => "price",
        }
    }

    /// What is wrong with it.
    pub fn reason(&self) -> String {
        match self {
            RiskError::Overflow { .. } => "arithmetic overflow".into(),
            RiskError::ZeroEntryPrice => "the entry price is zero".into(),
            RiskError::NegativeFactor { value, .. } => format!("must not be negative, got {value}"),
        }
    }

    pub(super) fn overflow(field: &'static str) -> impl FnOnce() -> RiskError {
        move || RiskError::Overflow { field }
    }
}
