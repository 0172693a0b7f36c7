//! BCH Schnorr signatures (the Bitcoin Cash 2019-05-15 upgrade; the same scheme as the
//! 2018 bip-schnorr draft): 64-byte `r ‖ s`, 33-byte compressed public keys, and `R` chosen
//! so that its y coordinate is a quadratic residue (Jacobi symbol 1). General Protocols
//! oracles sign `sha256(message)` with it.

use k256::elliptic_curve::PrimeField;
use k256::elliptic_curve::bigint::modular::runtime_mod::{DynResidue, DynResidueParams};
use k256::elliptic_curve::group::Group;
use k256::elliptic_curve::ops::Reduce;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::{AffinePoint, FieldBytes, ProjectivePoint, PublicKey, Scalar, SecretKey, U256};
use sha2::{Digest, Sha256};

/// The length of a BCH Schnorr signature.
pub const SIGNATURE_LEN: usize = 64;

/// The secp256k1 field size p.
const P: U256 =
    U256::from_be_hex("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F");

/// Why a signature does not verify (or cannot be made).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SchnorrError {
    #[error("r is not below the field size p")]
    RNotBelowP,
    #[error("s is not below the curve order n")]
    SNotBelowN,
    #[error("sG - eP is the point at infinity")]
    RInfinite,
    #[error("R.y is not a quadratic residue")]
    RNotSquare,
    #[error("R.x does not equal r")]
    RxMismatch,
    #[error("the nonce derived for this key and message is zero")]
    ZeroNonce,
}

/// Verifies `signature` by `pubkey` over the 32-byte `digest` (the spec's `m`).
pub fn verify_digest(
    pubkey: &PublicKey,
    digest: &[u8; 32],
    signature: &[u8; SIGNATURE_LEN],
) -> Result<(), SchnorrError> {
    let r_bytes = FieldBytes::clone_from_slice(&signature[..32]);
    let s_bytes = FieldBytes::clone_from_slice(&signature[32..]);
    if U256::from_be_slice(&r_bytes) >= P {
        return Err(SchnorrError::RNotBelowP);
    }
    let s = Option::<Scalar>::from(Scalar::from_repr(s_bytes)).ok_or(SchnorrError::SNotBelowN)?;
    let e = challenge(&r_bytes, pubkey, digest);
    let r_point = ProjectivePoint::GENERATOR * s - pubkey.to_projective() * e;
    if bool::from(r_point.is_identity()) {
        return Err(SchnorrError::RInfinite);
    }
    let (x, y) = coordinates(&r_point.to_affine());
    if !is_square(&y) {
        return Err(SchnorrError::RNotSquare);
    }
    if x != r_bytes {
        return Err(SchnorrError::RxMismatch);
    }
    Ok(())
}

/// Verifies `signature` by `pubkey` over `sha256(message)`, as oracles sign.
pub fn verify(
    pubkey: &PublicKey,
    message: &[u8],
    signature: &[u8; SIGNATURE_LEN],
) -> Result<(), SchnorrError> {
    verify_digest(pubkey, &Sha256::digest(message).into(), signature)
}

/// Signs the 32-byte `digest` deterministically, with the 2018 bip-schnorr draft's nonce
/// `k = int(sha256(bytes(d) ‖ m)) mod n` (negated when `R.y` is not a square), so the draft's
/// test vectors reproduce exactly. For tests and the devnet oracle: production oracles
/// should use the BCH spec's RFC6979-based nonce with extra entropy.
pub fn sign_digest(
    secret: &SecretKey,
    digest: &[u8; 32],
) -> Result<[u8; SIGNATURE_LEN], SchnorrError> {
    let d = *secret.to_nonzero_scalar();
    let mut hasher = Sha256::new();
    hasher.update(secret.to_bytes());
    hasher.update(digest);
    let k0 = <Scalar as Reduce<U256>>::reduce_bytes(&hasher.finalize());
    if bool::from(k0.is_zero()) {
        return Err(SchnorrError::ZeroNonce);
    }
    let (x, y) = coordinates(&(ProjectivePoint::GENERATOR * k0).to_affine());
    let k = if is_square(&y) { k0 } else { -k0 };
    let e = challenge(&x, &secret.public_key(), digest);
    let s = k + e * d;
    let mut out = [0u8; SIGNATURE_LEN];
    out[..32].copy_from_slice(&x);
    out[32..].copy_from_slice(&s.to_repr());
    Ok(out)
}

/// Signs `sha256(message)`; see [`sign_digest`] for the nonce (test and devnet use).
pub fn sign(secret: &SecretKey, message: &[u8]) -> Result<[u8; SIGNATURE_LEN], SchnorrError> {
    sign_digest(secret, &Sha256::digest(message).into())
}

/// `e = int(sha256(r ‖ compressed(P) ‖ m)) mod n`.
fn challenge(r: &FieldBytes, pubkey: &PublicKey, digest: &[u8; 32]) -> Scalar {
    let mut hasher = Sha256::new();
    hasher.update(r);
    hasher.update(pubkey.to_encoded_point(true).as_bytes());
    hasher.update(digest);
    <Scalar as Reduce<U256>>::reduce_bytes(&hasher.finalize())
}

/// The affine coordinates of a point that is not the identity.
fn coordinates(point: &AffinePoint) -> (FieldBytes, FieldBytes) {
    let encoded = point.to_encoded_point(false);
    let x = encoded.x().copied().unwrap_or_default();
    let y = encoded.y().copied().unwrap_or_default();
    (x, y)
}

/// Jacobi symbol 1, by Euler's criterion: `y^((p-1)/2) = 1 (mod p)`. `y` is never zero
/// for a point on secp256k1 (the group has no point of order 2).
fn is_square(y: &FieldBytes) -> bool {
    let params = DynResidueParams::new(&P);
    let exponent = P.shr_vartime(1);
    DynResidue::new(&U256::from_be_slice(y), params)
        .pow(&exponent)
        .retrieve()
        == U256::ONE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_a_message() {
        let secret = SecretKey::from_slice(&[7u8; 32]).unwrap();
        let signature = sign(&secret, b"sixteen byte msg").unwrap();
        verify(&secret.public_key(), b"sixteen byte msg", &signature).unwrap();
        assert!(verify(&secret.public_key(), b"sixteen byte msG", &signature).is_err());
    }
}
