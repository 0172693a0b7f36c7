//! Pyth and Wormhole wire formats, parsed by us: big-endian, bounds-checked, every error
//! naming the field. Parsing never verifies; see `oracle::verify`.

pub mod accumulator;
pub mod encode;
pub mod governance;
pub mod message;
pub mod p2wh;
pub mod reader;
pub mod vaa;

pub use reader::{Reader, WireError};
