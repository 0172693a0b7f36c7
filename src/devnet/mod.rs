//! The local devnet: a real anvil child process, our contracts deployed onto it and
//! recorded in the store, seeded through a typed scenario, and controls to move time,
//! mine and reorganise. `hedgedesk devnet up`, the demo and the integration tests all
//! use this same code, one anvil each.

pub mod anvil;
pub mod anyhedge;
pub mod binance;
pub mod cli;
pub mod control;
pub mod deploy;
pub mod gp_oracle;
pub mod hermes;
pub mod margin;
pub mod perp;
pub mod pool;
pub mod pyth;
pub mod receipt;
pub mod scenario;
pub mod serve;

pub use anvil::{AnvilError, AnvilNode, AnvilOptions, find_anvil, find_tool};
pub use control::DevnetControl;
pub use deploy::Devnet;
pub use scenario::{Holder, Mint, PriceCasterSpec, Scenario, TokenSpec};
