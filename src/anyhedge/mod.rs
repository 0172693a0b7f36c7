//! The AnyHedge desk: a watchtower for hedge contracts ported from AnyHedge v0.12 (Bitcoin
//! Cash) to EVM. Hedge (short) and long parties lock collateral in a contract that pays out at
//! maturity or on liquidation from signed oracle price messages.
//!
//! - `math`: contract parameters and payouts, bit-exact with the reference library.
//! - `message`: the 16-byte oracle price message and its signatures (BCH Schnorr, ECDSA).
//! - `relay`: a General Protocols-style oracle relay client and the per-oracle poller.

pub mod chain;
pub mod cli;
pub mod desk;
pub mod math;
pub mod message;
pub mod offers;
pub mod pane;
pub mod relay;
pub mod requests;
pub mod updates;
