//! Typed config: TOML file + `HEDGEDESK_*` env overrides + defaults, validated as a whole.
//!
//! - [`load`] / [`load_for_cli`]: read, merge, decode and validate; every problem at once.
//! - `model`: the typed [`Config`] and its defaults.
//! - `paths`: where the data dir, keystores, database, logs and themes live.
//! - [`cli`]: `hedgedesk config check | init | show`.
//! - [`EXAMPLE_TOML`]: `config.example.toml`, every key documented at its default.

pub mod cli;
mod decode;
mod env;
mod error;
mod keypath;
mod load;
mod model;
mod paths;
mod source;
mod validate;

pub use env::{ENV_PREFIX, ENV_SEPARATOR};
pub use error::{ConfigErrors, Origin, Problem};
pub use load::{LoadedConfig, default_config_path, load, load_for_cli, process_env};
pub use model::*;
pub use paths::expand_tilde;
pub use validate::{KEYRING_BACKENDS, check_log_level};

/// The commented example config (`config.example.toml`): what `config init` writes.
pub const EXAMPLE_TOML: &str = include_str!("../../config.example.toml");

#[cfg(test)]
mod example_tests;
