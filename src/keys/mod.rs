//! Operator keys: Ethereum V3 keystores (scrypt), passphrase sources, OS keyring cache.
//!
//! - [`keystore`]: create / import / list / unlock `<keystore_dir>/<name>.json` files,
//!   compatible with geth and Foundry's `cast wallet`.
//! - [`passphrase`]: where a passphrase comes from (file > env > keyring, or a prompt).
//! - [`keyring_cache`]: the passphrase cached in the OS keyring (keyutils / Secret Service).
//! - [`secret`]: `Passphrase` and `PrivateKey`, zeroized on drop and redacted in `Debug`.
//! - [`cli`]: the `hedgedesk keys ...` subcommands.
//!
//! Secrets never reach a log line, an error message or `Debug` output: `tracing` calls
//! here log paths and addresses only.

pub mod cli;
mod error;
mod fsutil;
pub mod keyring_cache;
pub mod keystore;
#[cfg(target_os = "linux")]
mod keyutils;
pub mod passphrase;
pub mod secret;

pub use cli::KeysContext;
pub use error::{KeysError, UnlockError};
pub use keyring_cache::{KEYRING_SERVICE, KeyringBackend, KeyringCache, keyring_user};
pub use keystore::{
    KeystoreInfo, create_keystore, import_keystore_file, import_private_key, keystore_path, list,
    read_address, unlock, validate_name,
};
pub use passphrase::{
    MIN_PASSPHRASE_CHARS, PASSPHRASE_ENV, PassphraseOrigin, PassphraseSources,
    check_new_passphrase, prompt_new_passphrase, prompt_passphrase, read_passphrase_file,
};
pub use secret::{Passphrase, PrivateKey};
