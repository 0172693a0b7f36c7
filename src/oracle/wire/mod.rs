//! Pyth and Wormhole wire formats, parsed by us: big-endian, bounds-checked, every error
//! naming the field. Parsing never verifies; see `oracle::verify`.

pub mod reader;

pub use reader::{Reader, WireError};
