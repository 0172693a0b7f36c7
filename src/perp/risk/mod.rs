//! The risk engine: trader PnL, the three flags with their reasons, per position and per
//! asset. Pure integer arithmetic (`I256`, `I512` for factor products), no floats, no I/O.

mod amount;
mod error;
mod factors;
mod flags;
mod pnl;
mod report;

pub use amount::format_amount;
pub use error::RiskError;
pub use factors::RiskFactors;
pub use flags::{FlagCheck, FlagKind, FlagNumbers, RiskFlags, evaluate_flags};
pub use pnl::{Pnl, funding_fee, position_pnl, price_pnl};
pub use report::{
    AssetRisk, AssetRow, PositionRisk, PositionRow, PositionStatus, RiskReport, evaluate,
    evaluate_asset, evaluate_position,
};
