//! The pool desk's arithmetic, pure and exact: integers for every amount (`u128` base units,
//! USD × 10^8), `U256` for intermediate products, `rust_decimal` for the premium model.
//! No `f64` anywhere. Each file does one job:
//!
//! - [`convert`]: USD ⇄ token units at a price, basis points, `mul_div` with its rounding;
//! - [`split`]: an exact pro-rata split (largest remainder; the shares always sum to the total);
//! - [`collateral`]: what a policy could need (coverage) and the collateral it locks;
//! - [`allocation`]: a policy's collateral across the matching providers;
//! - [`capacity`]: tier capacity checks (deposits, new policies);
//! - [`settlement`]: payouts, in-the-money, the backers' debits;
//! - [`health`]: collateral value, health ratio, status, maximum withdrawal;
//! - [`premium`]: the premium quote (Black-Scholes, as the premium calculator spec);
//! - [`decimal_fns`]: exp, ln, sqrt and the normal CDF on `Decimal`.
//!
//! Rounding always favours the pool's solvency: what the pool is owed or must hold
//! (collateral, coverage, premiums) rounds up; what it pays or credits (payouts, value of a
//! provider's collateral, withdrawable amounts) rounds down.

pub mod allocation;
pub mod capacity;
pub mod collateral;
pub mod convert;
pub mod decimal_fns;
pub mod health;
pub mod premium;
pub mod settlement;
pub mod split;

use super::model::Token;

/// Why a calculation could not be done. Each names what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MathError {
    #[error("{what} overflows")]
    Overflow { what: &'static str },
    #[error("no {token} price (zero)")]
    ZeroPrice { token: Token },
    #[error("nothing to split {total} across: every weight is zero")]
    NoWeight { total: u128 },
    #[error("{field}: {why}")]
    Invalid { field: &'static str, why: String },
    #[error("not enough capital: {required} needed, {available} available")]
    InsufficientCapital { required: u128, available: u128 },
    #[error(
        "backer #{index} cannot cover its share: {need} is due, only {have} is not locked elsewhere"
    )]
    Shortfall {
        index: usize,
        need: u128,
        have: u128,
    },
}

impl MathError {
    pub(crate) fn invalid(field: &'static str, why: impl Into<String>) -> MathError {
        MathError::Invalid {
            field,
            why: why.into(),
        }
    }
}
