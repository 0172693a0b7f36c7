//! of every position on every block and price change, and freeze-then-confirm liquidation
//! of the profitable underwater ones.

pub mod abi;
pub mod index;
pub mod usd;
pub mod profit;
pub mod strategy;
