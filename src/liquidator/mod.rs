//! The liquidator desk (Dex223 margin): an index of orders and positions, a local valuation
//! of every position on every block and price change, and freeze-then-confirm liquidation
//! of the profitable underwater ones.

pub mod abi;
pub mod index;
pub mod usd;
pub mod profit;
pub mod strategy;
pub mod valuation;
pub mod pane;
pub mod requests;
pub mod onchain;
pub mod pass;
pub mod act;
pub mod desk;
