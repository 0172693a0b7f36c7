//! Guardian signature verification of a VAA (the Wormhole core `verifyVM` rules) and the
//! accepted-emitter check.
//!
//! Rules, in order: the VAA names the set it is verified against; the set is not expired at
//! `now`; at least a quorum (floor(2n/3) + 1) of signatures is present; guardian indexes are
//! strictly ascending (no duplicate, no descending) and inside the set; every signature
//! (v = 0/1 or 27/28) recovers, over `keccak256(keccak256(body))`, to its guardian's address.
//! A single bad signature fails the whole VAA.
//!
//! Recovery is done here over k256's arithmetic ([`recover_address`]) rather than through
//! `Signature::recover_address_from_prehash`: the ecdsa crate re-verifies every recovered key
//! (a second full scalar multiplication), which doubles the cost of a 13-signature VAA. The
//! result is the same as `ecrecover` (high-s accepted, like the on-chain Wormhole contract);
//! a test compares the two on the fixtures and on malleated signatures.

use alloy::primitives::{Address, B256};
use alloy::signers::k256::elliptic_curve::PrimeField;
use alloy::signers::k256::elliptic_curve::group::Group;
use alloy::signers::k256::elliptic_curve::ops::{LinearCombination, Reduce};
use alloy::signers::k256::elliptic_curve::point::DecompressPoint;
use alloy::signers::k256::elliptic_curve::sec1::ToEncodedPoint;
use alloy::signers::k256::elliptic_curve::subtle::Choice;
use alloy::signers::k256::{AffinePoint, FieldBytes, ProjectivePoint, Scalar, U256};

use super::guardians::{AcceptedEmitter, GuardianSet, GuardianSets};
use crate::oracle::wire::vaa::Vaa;

/// The outcome of a successful check: `valid` signatures out of `total_guardians`, `quorum`
/// needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SignatureReport {
    pub valid: usize,
    pub quorum: usize,
    pub total_guardians: usize,
}

/// Why a VAA did not verify. `position` is the signature's place in the VAA (0-based),
/// `index` the guardian index it claims.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("unknown guardian set {0}")]
    UnknownGuardianSet(u32),
    #[error("VAA is signed by guardian set {vaa}, but was checked against set {set}")]
    GuardianSetMismatch { vaa: u32, set: u32 },
    #[error("guardian set {index} expired at {expiration_time} (now {now})")]
    GuardianSetExpired {
        index: u32,
        expiration_time: u32,
        now: u64,
    },
    #[error("no quorum: {signatures} signature(s) of {total_guardians} guardians, {quorum} needed")]
    NoQuorum {
        signatures: usize,
        quorum: usize,
        total_guardians: usize,
    },
    #[error(
        "signature {position}: guardian index {index} duplicated (indexes must be strictly ascending)"
    )]
    DuplicatedIndex { position: usize, index: u8 },
    #[error(
        "signature {position}: guardian index {index} after {previous} is descending (indexes must be strictly ascending)"
    )]
    DescendingIndex {
        position: usize,
        index: u8,
        previous: u8,
    },
    #[error("signature {position}: guardian index {index} is outside the set of {set_size}")]
    IndexOutOfRange {
        position: usize,
        index: u8,
        set_size: usize,
    },
    #[error("signature {position} (guardian {index}): invalid recovery id v = {v}")]
    InvalidRecoveryId { position: usize, index: u8, v: u8 },
    #[error(
        "signature {position} (guardian {index}): forged or invalid, recovers to {recovered}, expected {expected}"
    )]
    Forged {
        position: usize,
        index: u8,
        /// `Nothing` when recovery itself failed (r or s out of range, no such point).
        recovered: RecoveredAddress,
        expected: Address,
    },
    #[error(
        "wrong emitter: chain {chain} address 0x{address:x}, expected chain {expected_chain} address 0x{expected_address:x}"
    )]
    WrongEmitter {
        chain: u16,
        address: B256,
        expected_chain: u16,
        expected_address: B256,
    },
}

/// What a bad signature recovered to (for the error message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveredAddress {
    Address(Address),
    Nothing,
}

impl std::fmt::Display for RecoveredAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Address(a) => write!(f, "{a}"),
            Self::Nothing => f.write_str("no key"),
        }
    }
}

/// Verifies `vaa` against `set` at `now_unix` (seconds).
pub fn verify_signatures(
    vaa: &Vaa,
    set: &GuardianSet,
    now_unix: u64,
) -> Result<SignatureReport, VerifyError> {
    if vaa.guardian_set_index != set.index {
        return Err(VerifyError::GuardianSetMismatch {
            vaa: vaa.guardian_set_index,
            set: set.index,
        });
    }
    if set.is_expired(now_unix) {
        return Err(VerifyError::GuardianSetExpired {
            index: set.index,
            expiration_time: set.expiration_time,
            now: now_unix,
        });
    }
    let total_guardians = set.keys.len();
    let quorum = set.quorum();
    if vaa.signatures.len() < quorum {
        return Err(VerifyError::NoQuorum {
            signatures: vaa.signatures.len(),
            quorum,
            total_guardians,
        });
    }
    // Index checks first: they are cheap and say more than a failed recovery would.
    let mut previous: Option<u8> = None;
    for (position, sig) in vaa.signatures.iter().enumerate() {
        let index = sig.index;
        if let Some(previous) = previous {
            if index == previous {
                return Err(VerifyError::DuplicatedIndex { position, index });
            }
            if index < previous {
                return Err(VerifyError::DescendingIndex {
                    position,
                    index,
                    previous,
                });
            }
        }
        if usize::from(index) >= total_guardians {
            return Err(VerifyError::IndexOutOfRange {
                position,
                index,
                set_size: total_guardians,
            });
        }
        previous = Some(index);
    }
    let digest = vaa.digest();
    for (position, sig) in vaa.signatures.iter().enumerate() {
        let index = sig.index;
        let v = sig.signature[64];
        let parity = match v {
            0 | 27 => false,
            1 | 28 => true,
            _ => return Err(VerifyError::InvalidRecoveryId { position, index, v }),
        };
        let expected = set.keys[usize::from(index)];
        let recovered = match recover_address(&digest, &sig.signature[..64], parity) {
            Some(address) if address == expected => continue,
            Some(address) => RecoveredAddress::Address(address),
            None => RecoveredAddress::Nothing,
        };
        return Err(VerifyError::Forged {
            position,
            index,
            recovered,
            expected,
        });
    }
    Ok(SignatureReport {
        valid: vaa.signatures.len(),
        quorum,
        total_guardians,
    })
}

/// `ecrecover`: the address whose key signed `prehash` with `rs` (`r ‖ s`, 64 bytes) and the
/// y parity of R. `None` when r or s is 0 or not below the group order, when no curve point
/// has x = r, or when the key would be the identity.
///
/// Q = r⁻¹(s·R − z·G). Any Q computed so satisfies the ECDSA equation by construction
/// (s⁻¹z·G + s⁻¹r·Q = R), which is why the ecdsa crate's extra verification is skipped.
pub fn recover_address(prehash: &B256, rs: &[u8], y_odd: bool) -> Option<Address> {
    let scalar = |bytes: &[u8]| -> Option<Scalar> {
        let repr = FieldBytes::clone_from_slice(bytes);
        let k = Option::<Scalar>::from(Scalar::from_repr(repr))?;
        (!bool::from(k.is_zero())).then_some(k)
    };
    if rs.len() != 64 {
        return None;
    }
    let r = scalar(&rs[..32])?;
    let s = scalar(&rs[32..])?;
    // r < n < p, so r is a valid x coordinate candidate (the "x reduced" case, r + n as x,
    // is never produced by an honest signer and ecrecover's recovery ids 0/1 exclude it).
    let big_r = Option::<AffinePoint>::from(AffinePoint::decompress(
        &r.to_repr(),
        Choice::from(u8::from(y_odd)),
    ))?;
    let z = <Scalar as Reduce<U256>>::reduce_bytes(FieldBytes::from_slice(prehash.as_slice()));
    let r_inv = Option::<Scalar>::from(r.invert())?;
    let u1 = -(r_inv * z);
    let u2 = r_inv * s;
    let q = ProjectivePoint::lincomb(
        &ProjectivePoint::GENERATOR,
        &u1,
        &ProjectivePoint::from(big_r),
        &u2,
    );
    if bool::from(q.is_identity()) {
        return None;
    }
    let encoded = q.to_affine().to_encoded_point(false);
    Some(Address::from_raw_public_key(&encoded.as_bytes()[1..]))
}

/// Looks up the set the VAA names in `sets`, then [`verify_signatures`].
pub fn verify_with_sets(
    vaa: &Vaa,
    sets: &GuardianSets,
    now_unix: u64,
) -> Result<SignatureReport, VerifyError> {
    let set = sets
        .get(vaa.guardian_set_index)
        .ok_or(VerifyError::UnknownGuardianSet(vaa.guardian_set_index))?;
    verify_signatures(vaa, set, now_unix)
}

/// Fails unless the VAA comes from `accepted`.
pub fn verify_emitter(vaa: &Vaa, accepted: &AcceptedEmitter) -> Result<(), VerifyError> {
    if vaa.emitter_chain == accepted.chain && vaa.emitter_address == accepted.address {
        Ok(())
    } else {
        Err(VerifyError::WrongEmitter {
            chain: vaa.emitter_chain,
            address: vaa.emitter_address,
            expected_chain: accepted.chain,
            expected_address: accepted.address,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::wire::vaa::GuardianSignature;

    fn vaa(indexes: &[u8]) -> Vaa {
        Vaa {
            version: 1,
            guardian_set_index: 0,
            signatures: indexes
                .iter()
                .map(|&index| GuardianSignature {
                    index,
                    signature: [0; 65],
                })
                .collect(),
            timestamp: 0,
            nonce: 0,
            emitter_chain: 26,
            emitter_address: B256::ZERO,
            sequence: 0,
            consistency_level: 0,
            payload: vec![],
            body: vec![],
        }
    }

    fn set(n: usize) -> GuardianSet {
        GuardianSet {
            index: 0,
            keys: (0..n).map(|i| Address::repeat_byte(i as u8 + 1)).collect(),
            expiration_time: 0,
        }
    }

    #[test]
    fn index_rules_are_checked_before_recovery() {
        let err = verify_signatures(&vaa(&[0, 1, 1]), &set(4), 0).unwrap_err();
        assert!(
            err.to_string()
                .contains("signature 2: guardian index 1 duplicated"),
            "{err}"
        );
        let err = verify_signatures(&vaa(&[0, 2, 1]), &set(4), 0).unwrap_err();
        assert!(err.to_string().contains("descending"), "{err}");
        let err = verify_signatures(&vaa(&[0, 1, 4]), &set(4), 0).unwrap_err();
        assert!(err.to_string().contains("outside the set of 4"), "{err}");
        let err = verify_signatures(&vaa(&[0, 1]), &set(4), 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no quorum: 2 signature(s) of 4 guardians, 3 needed"
        );
        let err = verify_signatures(&vaa(&[0, 1, 2]), &set(4), 0).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("signature 0 (guardian 0): forged or invalid, recovers to no key"),
            "{err}"
        );
        let mut bad_v = vaa(&[0, 1, 2]);
        bad_v.signatures[0].signature[64] = 5;
        let err = verify_signatures(&bad_v, &set(4), 0).unwrap_err();
        assert!(
            err.to_string()
                .contains("signature 0 (guardian 0): invalid recovery id"),
            "{err}"
        );
    }
}
