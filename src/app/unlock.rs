//! Unlocking the operator's keystore, shared by the console and headless mode.

use std::path::PathBuf;

use alloy_signer_local::PrivateKeySigner;

use crate::keys::{self, KeyringCache, Passphrase, PassphraseOrigin, UnlockError};

/// Decrypts the keystore off the async executor (scrypt is deliberately slow). On
/// success the passphrase is cached in the keyring when asked; a cached passphrase
/// that no longer works is removed so it is not tried again.
pub async fn unlock(
    path: PathBuf,
    pass: Passphrase,
    origin: PassphraseOrigin,
    cache: Option<KeyringCache>,
) -> Result<PrivateKeySigner, UnlockError> {
    let result = tokio::task::spawn_blocking(move || {
        let result = keys::unlock(&path, &pass);
        if let Some(cache) = &cache {
            match (&result, origin) {
                (Ok(_), PassphraseOrigin::Keyring) => {}
                (Ok(_), _) => {
                    if let Err(e) = cache.set(&pass) {
                        tracing::warn!(error = %e, "could not cache the passphrase in the OS keyring");
                    }
                }
                (Err(UnlockError::WrongPassphrase), PassphraseOrigin::Keyring) => {
                    let _ = cache.delete();
                    tracing::warn!("the passphrase cached in the OS keyring no longer unlocks the keystore; removed it");
                }
                (Err(_), _) => {}
            }
        }
        result
    })
    .await
    .map_err(|e| UnlockError::Io(format!("unlock task failed: {e}")))?;
    if let Ok(signer) = &result {
        tracing::info!(address = %signer.address(), "keystore unlocked");
    }
    result
}
