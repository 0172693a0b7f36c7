//! The oracle desk (Pricecaster on EVM): Pyth updates pulled from Hermes, verified against
//! the Wormhole guardian set, normalised into 92-byte price slots and published to our
//! PriceCaster contract.

pub mod admin;
pub mod bootstrap;
pub mod cli;
pub mod decode;
pub mod desk;
pub mod hermes;
pub mod pane;
pub mod policy;
pub mod publish;
pub mod slot;
pub mod verified;
pub mod verify;
pub mod wire;
