//! Typed config: TOML file + `HEDGEDESK_*` env overrides + defaults, validated as a whole.

mod model;

pub use model::*;
