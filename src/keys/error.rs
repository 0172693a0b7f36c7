//! Error types of the keys module.
//!
//! Every message names the field, path or source involved and never carries secret
//! material: no passphrase, no private key, not even a fragment of one. Keyring errors
//! that could hold the stored bytes are mapped to a description without them.

use std::path::PathBuf;

use thiserror::Error;

/// Why a keystore did not unlock.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum UnlockError {
    #[error("keystore {} not found", .0.display())]
    NotFound(PathBuf),
    /// The MAC did not match: the passphrase is wrong (or the file was altered).
    #[error("wrong passphrase")]
    WrongPassphrase,
    #[error("malformed keystore: {0}")]
    Malformed(String),
    #[error("cannot read keystore: {0}")]
    Io(String),
}

/// Everything that can go wrong creating, importing, listing or unlocking keystores,
/// reading passphrases or using the OS keyring.
#[derive(Debug, Error)]
pub enum KeysError {
    /// A user-supplied value (keystore name, backend, ...) is not acceptable.
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },

    #[error("keystore {} already exists; choose another --name or move it away", .0.display())]
    AlreadyExists(PathBuf),

    #[error("keystore {} not found; create one with `hedgedesk keys new` or `hedgedesk keys import`", .0.display())]
    NotFound(PathBuf),

    /// The raw private key is unusable. The reason never quotes the key.
    #[error("invalid private key ({source_name}): {reason}")]
    InvalidPrivateKey {
        source_name: String,
        reason: &'static str,
    },

    #[error("cannot unlock {}: {source}", path.display())]
    Unlock {
        path: PathBuf,
        #[source]
        source: UnlockError,
    },

    /// A keystore file that is not a usable V3 keystore.
    #[error("keystore {}: {reason}", path.display())]
    Keystore { path: PathBuf, reason: String },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The passphrase file could not be used. Names the path, never the content.
    #[error("passphrase file {}: {reason}", path.display())]
    PassphraseFile { path: PathBuf, reason: String },

    #[error(
        "no passphrase available: stdin is not a terminal, so give one with \
         --passphrase-file PATH, the HEDGEDESK_PASSPHRASE environment variable, \
         or --keyring (after it was cached once)"
    )]
    NoPassphraseSource,

    #[error("passphrases do not match")]
    PassphraseMismatch,

    #[error("passphrase too short: use at least {min} characters")]
    PassphraseTooShort { min: usize },

    #[error("passphrase prompt failed: {0}")]
    Prompt(String),

    #[error("OS keyring ({backend}): {reason}")]
    Keyring {
        backend: &'static str,
        reason: String,
    },

    #[error("OS keyring not supported on this platform yet")]
    KeyringUnsupported,
}

impl KeysError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn unlock(path: impl Into<PathBuf>, source: UnlockError) -> Self {
        Self::Unlock {
            path: path.into(),
            source,
        }
    }

    /// True when the error is a wrong passphrase (the caller may ask again).
    pub fn is_wrong_passphrase(&self) -> bool {
        matches!(
            self,
            Self::Unlock {
                source: UnlockError::WrongPassphrase,
                ..
            }
        )
    }
}
