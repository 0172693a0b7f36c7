//! A keyring-core credential in the Linux kernel keyutils session keyring.
//!
//! The session keyring is the user-session keyring when the process has none of its own,
//! so every process of the user (each `hedgedesk` run) sees the same entries until
//! logout or reboot. Keys are `user` keys named `keyring:<user>@<service>`, the naming of
//! `linux-keyutils-keyring-store`, readable only by their possessor.
//!
//! We do not use `linux_keyutils_keyring_store::Store`: it calls
//! `KEYCTL_GET_PERSISTENT` and links every key into the persistent keyring. In
//! containers the kernel denies that link, and after `KEYCTL_GET_PERSISTENT` it also
//! answers every later search of the process with `EACCES`, so no entry could be read.
//! A passphrase cache should not outlive the session anyway.

use std::any::Any;
use std::sync::Arc;

use keyring_core::api::CredentialApi;
use keyring_core::{Credential, Error, Result};
use linux_keyutils::{KeyError, KeyRing, KeyRingIdentifier};

pub(crate) struct KeyutilsCred {
    session: KeyRing,
    description: String,
    specifiers: (String, String),
}

impl std::fmt::Debug for KeyutilsCred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyutilsCred")
            .field("description", &self.description)
            .finish()
    }
}

fn map_err(e: KeyError) -> Error {
    match e {
        KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked => Error::NoEntry,
        KeyError::AccessDenied | KeyError::PermissionDenied | KeyError::KeyringDoesNotExist => {
            Error::NoStorageAccess(Box::new(e))
        }
        other => Error::PlatformFailure(Box::new(other)),
    }
}

impl KeyutilsCred {
    pub(crate) fn new(service: &str, user: &str) -> Result<Self> {
        let session = KeyRing::from_special_id(KeyRingIdentifier::Session, false)
            .map_err(|e| Error::NoStorageAccess(Box::new(e)))?;
        Ok(Self {
            session,
            description: format!("keyring:{user}@{service}"),
            specifiers: (service.to_string(), user.to_string()),
        })
    }

    pub(crate) fn into_entry(self) -> keyring_core::Entry {
        keyring_core::Entry::new_with_credential(Arc::new(self))
    }
}

impl CredentialApi for KeyutilsCred {
    fn set_secret(&self, secret: &[u8]) -> Result<()> {
        if secret.is_empty() {
            return Err(Error::Invalid("secret".into(), "cannot be empty".into()));
        }
        // add_key replaces the payload of an existing key with the same description.
        self.session
            .add_key(&self.description, secret)
            .map_err(map_err)?;
        Ok(())
    }

    fn get_secret(&self) -> Result<Vec<u8>> {
        let key = self.session.search(&self.description).map_err(map_err)?;
        key.read_to_vec().map_err(map_err)
    }

    fn delete_credential(&self) -> Result<()> {
        let key = self.session.search(&self.description).map_err(map_err)?;
        // Invalidate while we still possess the key (the kernel hides it from searches
        // at once and frees the payload), then drop our link; the key may already be
        // gone from the keyring by then.
        key.invalidate().map_err(map_err)?;
        let _ = self.session.unlink_key(key);
        Ok(())
    }

    fn get_credential(&self) -> Result<Option<Arc<Credential>>> {
        self.session.search(&self.description).map_err(map_err)?;
        Ok(None)
    }

    fn get_specifiers(&self) -> Option<(String, String)> {
        Some(self.specifiers.clone())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn debug_fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}
