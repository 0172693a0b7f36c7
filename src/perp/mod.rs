//! The perp desk (DeHedge): reads DePerp's trader positions, vault and shield balances,
//! evaluates the three risk flags, and hedges the positions that put the vault at risk on a
//! perp venue (Binance USDT-M futures, or paper), closing the hedges once the risk is gone.

pub mod cli;
pub mod desk;
pub mod hedger;
pub mod model;
pub mod pane;
pub mod reader;
pub mod requests;
pub mod risk;
pub mod venue;
