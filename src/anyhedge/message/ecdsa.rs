//! ECDSA oracle signatures as our EVM hedge contract checks them: secp256k1 over
//! `sha256(message)`, 65 bytes `r ‖ s ‖ v` with `v` 27 or 28 (what `ecrecover` takes), and
//! the recovered key compared with the oracle's public key.

use alloy::primitives::Address;
use k256::PublicKey;
use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use k256::elliptic_curve::sec1::ToEncodedPoint;
use sha2::{Digest, Sha256};

/// The length of a recoverable ECDSA signature.
pub const SIGNATURE_LEN: usize = 65;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EcdsaError {
    /// The signature is malformed: `ecrecover` takes only 27 and 28.
    #[error("v must be 27 or 28, got {0}")]
    BadV(u8),
    #[error("r or s is zero or not below the curve order")]
    Scalars,
    /// Both `s` and `n - s` verify; like Ethereum transactions we accept only the low one,
    /// so one message has one signature.
    #[error("s is in the upper half of the curve order (not low-s normalised)")]
    HighS,
    #[error("no public key recovers from this signature")]
    NoRecovery,
    #[error("the recovered key (address {recovered}) is not the oracle's")]
    WrongKey { recovered: Address },
    #[error("cannot sign: {0}")]
    Sign(String),
}

/// Signs `sha256(message)`: RFC6979 deterministic nonce, low `s`, `v` 27 or 28.
pub fn sign(key: &SigningKey, message: &[u8]) -> Result<[u8; SIGNATURE_LEN], EcdsaError> {
    sign_digest(key, &Sha256::digest(message).into())
}

/// Signs a 32-byte digest; see [`sign`].
pub fn sign_digest(key: &SigningKey, digest: &[u8; 32]) -> Result<[u8; SIGNATURE_LEN], EcdsaError> {
    let (signature, recovery) = key
        .sign_prehash_recoverable(digest)
        .map_err(|e| EcdsaError::Sign(e.to_string()))?;
    // An x-reduced R (probability about 2^-128) has no `v` that `ecrecover` understands.
    if recovery.is_x_reduced() {
        return Err(EcdsaError::Sign("R.x is not below the curve order".into()));
    }
    let mut out = [0u8; SIGNATURE_LEN];
    out[..64].copy_from_slice(&signature.to_bytes());
    out[64] = 27 + recovery.to_byte();
    Ok(out)
}

/// The key that signed `digest`, as `ecrecover` would find it (low `s` only).
pub fn recover_digest(
    digest: &[u8; 32],
    signature: &[u8; SIGNATURE_LEN],
) -> Result<VerifyingKey, EcdsaError> {
    let v = signature[64];
    if v != 27 && v != 28 {
        return Err(EcdsaError::BadV(v));
    }
    let sig = Signature::from_slice(&signature[..64]).map_err(|_| EcdsaError::Scalars)?;
    if sig.normalize_s().is_some() {
        return Err(EcdsaError::HighS);
    }
    let recovery = RecoveryId::from_byte(v - 27).ok_or(EcdsaError::BadV(v))?;
    VerifyingKey::recover_from_prehash(digest, &sig, recovery).map_err(|_| EcdsaError::NoRecovery)
}

/// Verifies that `signature` over `sha256(message)` recovers to `pubkey`.
pub fn verify(
    pubkey: &PublicKey,
    message: &[u8],
    signature: &[u8; SIGNATURE_LEN],
) -> Result<(), EcdsaError> {
    let recovered = recover_digest(&Sha256::digest(message).into(), signature)?;
    if recovered.as_affine() != pubkey.as_affine() {
        return Err(EcdsaError::WrongKey {
            recovered: address(&PublicKey::from(&recovered)),
        });
    }
    Ok(())
}

/// The Ethereum address of a key: the last 20 bytes of keccak256 of its uncompressed
/// coordinates. This is what the hedge contract stores as the oracle.
pub fn address(pubkey: &PublicKey) -> Address {
    let uncompressed = pubkey.to_encoded_point(false);
    Address::from_raw_public_key(&uncompressed.as_bytes()[1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_recovers_and_rejects_tampering() {
        let key = SigningKey::from_slice(&[9u8; 32]).unwrap();
        let public = PublicKey::from(key.verifying_key());
        let mut signature = sign(&key, b"sixteen byte msg").unwrap();
        assert!(signature[64] == 27 || signature[64] == 28);
        verify(&public, b"sixteen byte msg", &signature).unwrap();
        assert!(matches!(
            verify(&public, b"sixteen byte msG", &signature),
            Err(EcdsaError::WrongKey { .. }) | Err(EcdsaError::NoRecovery)
        ));
        signature[64] = 29;
        assert_eq!(
            verify(&public, b"sixteen byte msg", &signature),
            Err(EcdsaError::BadV(29))
        );
    }

    #[test]
    fn address_of_the_generator_key() {
        // Private key 1: the well-known address 0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf.
        let mut one = [0u8; 32];
        one[31] = 1;
        let key = SigningKey::from_slice(&one).unwrap();
        assert_eq!(
            address(&PublicKey::from(key.verifying_key())).to_string(),
            "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
        );
    }
}
