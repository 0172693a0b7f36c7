//! The OS keyring as a passphrase cache, one entry per keystore: service `hedgedesk`,
//! user = the keystore's canonical path.
//!
//! Backends (Linux): the kernel keyutils session keyring (always there, in memory until
//! reboot or logout) and the freedesktop Secret Service (GNOME Keyring, KWallet) where a
//! desktop session exists. Other platforms get [`KeysError::KeyringUnsupported`].
//!
//! All calls block (the Secret Service talks D-Bus): call them from `spawn_blocking`
//! in async code.

use std::fmt;
use std::path::{Path, PathBuf};

use super::error::KeysError;
use super::secret::Passphrase;

/// The keyring service name of every hedgedesk entry.
pub const KEYRING_SERVICE: &str = "hedgedesk";

/// Which OS keyring holds the entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyringBackend {
    Keyutils,
    SecretService,
}

impl KeyringBackend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Keyutils => "keyutils",
            Self::SecretService => "secret-service",
        }
    }
}

impl fmt::Display for KeyringBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The keyring user for a keystore: its canonical path, or, for a keystore not written
/// yet, its canonical directory joined with the file name.
pub fn keyring_user(keystore_path: &Path) -> String {
    let canonical = std::fs::canonicalize(keystore_path).ok().or_else(|| {
        let parent = keystore_path.parent()?;
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        Some(
            std::fs::canonicalize(parent)
                .ok()?
                .join(keystore_path.file_name()?),
        )
    });
    let path: PathBuf = canonical
        .or_else(|| std::path::absolute(keystore_path).ok())
        .unwrap_or_else(|| keystore_path.to_path_buf());
    path.to_string_lossy().into_owned()
}

/// The passphrase cache entry of one keystore. `Debug` shows backend and user only.
pub struct KeyringCache {
    backend: KeyringBackend,
    user: String,
    /// The Secret Service connection (shared by [`KeyringCache::for_keystore`]);
    /// keyutils needs none.
    #[cfg(target_os = "linux")]
    store: Option<std::sync::Arc<keyring_core::CredentialStore>>,
    #[cfg(target_os = "linux")]
    entry: keyring_core::Entry,
}

impl fmt::Debug for KeyringCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyringCache")
            .field("backend", &self.backend)
            .field("user", &self.user)
            .finish()
    }
}

impl KeyringCache {
    pub fn backend(&self) -> KeyringBackend {
        self.backend
    }

    /// The keyring user of the entry (the keystore's canonical path).
    pub fn user(&self) -> &str {
        &self.user
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::sync::Arc;

    use keyring_core::{CredentialStore, Entry, Error};
    use zeroize::{Zeroize, Zeroizing};

    use super::*;

    /// keyring-core errors in words, dropping the payloads that can hold stored bytes.
    fn keyring_error(backend: KeyringBackend, op: &str, e: Error) -> KeysError {
        let reason = match e {
            Error::PlatformFailure(inner) => format!("{op}: platform failure: {inner}"),
            Error::NoStorageAccess(inner) => format!("{op}: no access to the keyring: {inner}"),
            Error::NoEntry => format!("{op}: no entry"),
            Error::BadEncoding(mut bytes) => {
                bytes.zeroize();
                format!("{op}: the stored value is not UTF-8")
            }
            Error::BadDataFormat(mut bytes, _) => {
                bytes.zeroize();
                format!("{op}: the stored value has an unexpected format")
            }
            Error::BadStoreFormat(what) => format!("{op}: bad store format: {what}"),
            Error::TooLong(attr, limit) => format!("{op}: {attr} longer than {limit}"),
            Error::Invalid(attr, why) => format!("{op}: invalid {attr}: {why}"),
            Error::Ambiguous(entries) => {
                format!("{op}: {} entries match", entries.len())
            }
            Error::NoDefaultStore => format!("{op}: no credential store"),
            Error::NotSupportedByStore(what) => format!("{op}: not supported: {what}"),
            _ => format!("{op}: keyring error"),
        };
        KeysError::Keyring {
            backend: backend.name(),
            reason,
        }
    }

    fn open_secret_service() -> Result<Arc<CredentialStore>, KeysError> {
        let store: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new()
            .map_err(|e| keyring_error(KeyringBackend::SecretService, "open", e))?;
        Ok(store)
    }

    /// A keyutils entry in the session keyring (see `keys/keyutils.rs`).
    fn keyutils_entry(user: &str) -> Result<Entry, KeysError> {
        let cred = crate::keys::keyutils::KeyutilsCred::new(KEYRING_SERVICE, user)
            .map_err(|e| keyring_error(KeyringBackend::Keyutils, "open", e))?;
        Ok(cred.into_entry())
    }

    impl KeyringCache {
        /// The cache entry for `keystore_path`. `backend`: `auto` (Secret Service when
        /// `DBUS_SESSION_BUS_ADDRESS` is set and the service answers, else keyutils),
        /// `keyutils` or `secret-service`.
        pub fn new(backend: &str, keystore_path: &Path) -> Result<Self, KeysError> {
            let (backend, store) = match backend {
                "keyutils" => (KeyringBackend::Keyutils, None),
                "secret-service" => (KeyringBackend::SecretService, Some(open_secret_service()?)),
                "auto" => {
                    let has_bus =
                        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty());
                    match has_bus.then(open_secret_service) {
                        Some(Ok(store)) => (KeyringBackend::SecretService, Some(store)),
                        Some(Err(e)) => {
                            tracing::debug!(error = %e, "secret service unavailable; using keyutils");
                            (KeyringBackend::Keyutils, None)
                        }
                        None => (KeyringBackend::Keyutils, None),
                    }
                }
                other => {
                    return Err(KeysError::Invalid {
                        field: "keys.keyring_backend",
                        reason: format!("{other:?} is not one of auto, keyutils, secret-service"),
                    });
                }
            };
            Self::with_store(backend, store, keystore_path)
        }

        fn with_store(
            backend: KeyringBackend,
            store: Option<Arc<CredentialStore>>,
            keystore_path: &Path,
        ) -> Result<Self, KeysError> {
            let user = keyring_user(keystore_path);
            let entry = match &store {
                Some(store) => store
                    .build(KEYRING_SERVICE, &user, None)
                    .map_err(|e| keyring_error(backend, "open entry", e))?,
                None => keyutils_entry(&user)?,
            };
            Ok(Self {
                backend,
                user,
                store,
                entry,
            })
        }

        /// The entry for another keystore in the same keyring backend.
        pub fn for_keystore(&self, keystore_path: &Path) -> Result<Self, KeysError> {
            Self::with_store(self.backend, self.store.clone(), keystore_path)
        }

        /// The cached passphrase, or `None` when there is no entry.
        pub fn get(&self) -> Result<Option<Passphrase>, KeysError> {
            match self.entry.get_secret() {
                Ok(bytes) => {
                    let bytes = Zeroizing::new(bytes);
                    let text = std::str::from_utf8(&bytes).map_err(|_| KeysError::Keyring {
                        backend: self.backend.name(),
                        reason: "read: the stored value is not UTF-8".into(),
                    })?;
                    if text.is_empty() {
                        return Ok(None);
                    }
                    Ok(Some(Passphrase::new(text.to_owned())))
                }
                Err(Error::NoEntry) => Ok(None),
                Err(e) => Err(keyring_error(self.backend, "read", e)),
            }
        }

        /// Stores (or replaces) the passphrase.
        pub fn set(&self, pass: &Passphrase) -> Result<(), KeysError> {
            self.entry
                .set_secret(pass.expose().as_bytes())
                .map_err(|e| keyring_error(self.backend, "write", e))?;
            tracing::info!(backend = %self.backend, user = %self.user, "passphrase cached in the OS keyring");
            Ok(())
        }

        /// Removes the entry; removing a missing entry is fine.
        pub fn delete(&self) -> Result<(), KeysError> {
            match self.entry.delete_credential() {
                Ok(()) | Err(Error::NoEntry) => Ok(()),
                Err(e) => Err(keyring_error(self.backend, "delete", e)),
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
impl KeyringCache {
    /// Not available on this platform yet: always [`KeysError::KeyringUnsupported`].
    pub fn new(_backend: &str, _keystore_path: &Path) -> Result<Self, KeysError> {
        Err(KeysError::KeyringUnsupported)
    }

    pub fn for_keystore(&self, _keystore_path: &Path) -> Result<Self, KeysError> {
        Err(KeysError::KeyringUnsupported)
    }

    pub fn get(&self) -> Result<Option<Passphrase>, KeysError> {
        Err(KeysError::KeyringUnsupported)
    }

    pub fn set(&self, _pass: &Passphrase) -> Result<(), KeysError> {
        Err(KeysError::KeyringUnsupported)
    }

    pub fn delete(&self) -> Result<(), KeysError> {
        Err(KeysError::KeyringUnsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_is_canonical_even_before_the_file_exists() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("sub/../op.json");
        std::fs::create_dir(tmp.path().join("sub")).unwrap();
        let want = std::fs::canonicalize(tmp.path()).unwrap().join("op.json");
        assert_eq!(keyring_user(&p), want.to_string_lossy());
        std::fs::write(&want, "{}").unwrap();
        assert_eq!(keyring_user(&p), want.to_string_lossy());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn bad_backend_names_the_field() {
        let err = KeyringCache::new("gnome", Path::new("/tmp/x.json")).unwrap_err();
        assert!(err.to_string().contains("keys.keyring_backend"), "{err}");
    }

    /// Kernel keyutils works in this sandbox and on CI (no desktop needed).
    #[cfg(target_os = "linux")]
    #[test]
    fn keyutils_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let ks = tmp.path().join("roundtrip.json");
        let cache = KeyringCache::new("keyutils", &ks).unwrap();
        assert_eq!(cache.backend(), KeyringBackend::Keyutils);
        assert!(!format!("{cache:?}").contains("unit-test-pass"));
        assert!(cache.get().unwrap().is_none());
        cache
            .set(&Passphrase::new("unit-test-pass-1".into()))
            .unwrap();
        assert_eq!(cache.get().unwrap().unwrap().expose(), "unit-test-pass-1");
        cache
            .set(&Passphrase::new("unit-test-pass-2".into()))
            .unwrap();
        assert_eq!(cache.get().unwrap().unwrap().expose(), "unit-test-pass-2");
        let other = cache.for_keystore(&tmp.path().join("other.json")).unwrap();
        assert!(other.get().unwrap().is_none());
        cache.delete().unwrap();
        assert!(cache.get().unwrap().is_none());
        cache.delete().unwrap();
    }
}
