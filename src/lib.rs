//! hedgedesk: a terminal operator console for a DeFi risk desk.
//!
//! The binary is a thin shell over this library so that integration tests and
//! benchmarks drive the same code the operator runs.

pub mod actions;
pub mod anyhedge;
pub mod api;
pub mod app;
pub mod chain;
pub mod cli;
pub mod config;
pub mod demo;
pub mod desks;
pub mod devnet;
pub mod keys;
pub mod liquidator;
pub mod metrics;
pub mod net;
pub mod oracle;
pub mod perp;
pub mod pool;
pub mod prices;
pub mod store;
pub mod tui;
