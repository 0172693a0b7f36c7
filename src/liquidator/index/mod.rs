//! The index of one margin module: its events applied to SQLite as they are ingested
//! ([`handler`]), and the reads that complete what no event carries ([`sync`]).

pub mod handler;
pub mod holdings;
pub mod sync;

pub use handler::{MarginHandler, margin_stream};
