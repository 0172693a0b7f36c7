//! The liquidator desk (Dex223 margin): an index of orders and positions, a local valuation
//! of every position on every block and price change, and freeze-then-confirm liquidation
//! of the profitable underwater ones.

pub mod abi;
pub mod act;
pub mod desk;
pub mod index;
pub mod onchain;
pub mod pane;
pub mod pass;
pub mod profit;
pub mod requests;
pub mod strategy;
pub mod usd;
pub mod valuation;
