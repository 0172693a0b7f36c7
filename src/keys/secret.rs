//! Holders for secret material: a keystore passphrase and a raw private key.
//!
//! Both zeroize their memory on drop and print `<redacted>` in `Debug`; neither
//! implements `Display`, so a secret cannot reach a log line or an error message by
//! accident.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::error::KeysError;

/// A keystore passphrase. Zeroized on drop; `Debug` prints `Passphrase(<redacted>)`.
#[derive(Clone)]
pub struct Passphrase(SecretString);

impl Passphrase {
    /// Takes ownership of the string; its buffer is zeroized when the passphrase drops.
    pub fn new(s: String) -> Self {
        Self(SecretString::from(s))
    }

    /// The passphrase text, for handing to the KDF or the keyring. Do not copy it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }

    /// Length in characters (not bytes).
    pub fn char_len(&self) -> usize {
        self.expose().chars().count()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// A raw secp256k1 private key parsed from hex, for importing. Zeroized on drop;
/// `Debug` prints `PrivateKey(<redacted>)`.
pub struct PrivateKey(Zeroizing<[u8; 32]>);

impl PrivateKey {
    /// Parses a hex private key: surrounding whitespace and a `0x` prefix are allowed.
    /// `source_name` says where the key came from (e.g. `stdin`, a file path) and is the
    /// only input echoed in an error; the key text never is.
    pub fn from_hex(text: &str, source_name: &str) -> Result<Self, KeysError> {
        let invalid = |reason: &'static str| KeysError::InvalidPrivateKey {
            source_name: source_name.to_string(),
            reason,
        };
        let trimmed = text.trim();
        let digits = trimmed
            .strip_prefix("0x")
            .or_else(|| trimmed.strip_prefix("0X"))
            .unwrap_or(trimmed);
        if digits.is_empty() {
            return Err(invalid("empty"));
        }
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid("not hex (expected 64 hex digits, 0x optional)"));
        }
        if digits.len() != 64 {
            return Err(invalid("wrong length (expected 32 bytes = 64 hex digits)"));
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(digits, bytes.as_mut_slice())
            .map_err(|_| invalid("not hex (expected 64 hex digits, 0x optional)"))?;
        if bytes.iter().all(|b| *b == 0) {
            return Err(invalid("the zero key is not a valid private key"));
        }
        // Rejects keys at or above the curve order.
        alloy_signer_local::PrivateKeySigner::from_slice(bytes.as_slice())
            .map_err(|_| invalid("not a valid secp256k1 private key (out of range)"))?;
        Ok(Self(bytes))
    }

    /// Wraps key bytes that are already known to be valid (e.g. freshly generated).
    pub(crate) fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    #[test]
    fn passphrase_debug_is_redacted() {
        let p = Passphrase::new("hunter2-correct-horse".into());
        let dbg = format!("{p:?}");
        assert_eq!(dbg, "Passphrase(<redacted>)");
        assert!(!dbg.contains("hunter2"));
        assert_eq!(p.expose(), "hunter2-correct-horse");
        assert_eq!(p.char_len(), 21);
    }

    #[test]
    fn private_key_parses_with_prefix_and_whitespace() {
        let a = PrivateKey::from_hex(&format!("  0x{KEY}\n"), "stdin").unwrap();
        let b = PrivateKey::from_hex(KEY, "stdin").unwrap();
        assert_eq!(a.as_bytes(), b.as_bytes());
        assert_eq!(format!("{a:?}"), "PrivateKey(<redacted>)");
    }

    #[test]
    fn private_key_errors_never_echo_the_key() {
        let cases = [
            format!("{KEY}zz"),
            KEY[..60].to_string(),
            format!("{KEY}00"),
            format!("0x{}g", &KEY[..63]),
            "0".repeat(64),
            "f".repeat(64),
            String::new(),
        ];
        for case in cases {
            let err = PrivateKey::from_hex(&case, "key.txt").unwrap_err();
            let msg = format!("{err} {err:?}");
            assert!(msg.contains("key.txt"), "{msg}");
            if case.len() >= 8 {
                assert!(!msg.contains(&case[..8]), "error echoes key: {msg}");
            }
            assert!(!msg.contains("ac0974be"), "error echoes key: {msg}");
        }
    }
}
