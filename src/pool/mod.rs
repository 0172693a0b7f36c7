//! The pool desk (BitHedge liquidity pool): a minimal on-chain Vault holds the pooled funds
//! (native ETH and an 8-decimal wrapped BTC); the desk keeps every provider's accounting,
//! the risk tiers, the policies and their collateral allocation, yield and health in SQLite,
//! and drives the Vault with the backend key.

pub mod cli;
pub mod deposit;
pub mod desk;
pub mod math;
pub mod model;
pub mod params;

pub mod pane;
pub mod requests;
pub mod sync;
