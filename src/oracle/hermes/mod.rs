//! Hermes, Pyth's price service: latest updates, the live stream, feed discovery.

pub mod client;
pub mod model;
pub mod stream;

pub use client::{HermesClient, HermesError};
pub use model::{FeedInfo, ParsedFeed, ParsedPrice, PriceUpdate};
pub use stream::{StreamEvent, StreamOptions, stream_prices};
