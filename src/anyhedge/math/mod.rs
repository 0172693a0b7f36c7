//! Contract parameters and payouts (AnyHedge v0.12 arithmetic).
//!
//! The reference library takes three IEEE-754 double products rounded like JS `Math.round`
//! (the liquidation prices and the compound nominal value); everything after them is integer
//! arithmetic on sats. [`create`] reproduces those parameters bit for bit,
//! [`ContractParameters::validate`] checks a parameter set received from outside, and
//! [`ContractParameters::settle`] computes the payouts at an oracle price.

mod contract;
mod error;
mod leverage;
mod round;
mod settle;

pub use contract::{ContractParameters, ContractTerms, create};
pub use error::CreateError;
pub use leverage::Leverage;
pub use round::{js_round, js_round_product};
pub use settle::Payout;

/// The smallest payout of a side (sats).
pub const DUST: u64 = 1332;

/// Sats in one BCH (the collateral token has 8 decimals).
pub const SATS_PER_BCH: u64 = 100_000_000;

/// The least `sats_for_nominal_units_at_high` a leveraged contract may have.
pub const MIN_SATS_AT_HIGH: u64 = 500;

/// The largest price an oracle message can carry (prices are positive int32).
pub const MAX_ORACLE_PRICE: u32 = i32::MAX as u32;
