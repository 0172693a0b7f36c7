//! The Wormhole VAA v1: a header of guardian signatures over a body.
//!
//! ```text
//! header: version u8 (= 1) | guardian_set_index u32 | signature count u8
//!         | count × (guardian_index u8 | r 32 | s 32 | v 1)
//! body:   timestamp u32 | nonce u32 | emitter_chain u16 | emitter_address 32
//!         | sequence u64 | consistency_level u8 | payload (the rest)
//! ```
//!
//! Guardians sign `keccak256(keccak256(body))` ([`Vaa::digest`]). Parsing checks only the
//! layout; signatures, quorum and emitter are checked by `oracle::verify::signatures`.

use alloy::primitives::{B256, keccak256};

use super::reader::{Reader, WireError};

/// The only VAA version there is.
pub const VAA_VERSION: u8 = 1;
/// One signature on the wire: guardian index, r, s, v.
pub const SIGNATURE_WIRE_LEN: usize = 66;
/// Bytes of the body before the payload.
pub const BODY_HEADER_LEN: usize = 51;

/// One guardian's signature: `signature` is `r ‖ s ‖ v` (v is 0/1, or 27/28).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardianSignature {
    pub index: u8,
    pub signature: [u8; 65],
}

/// A parsed VAA v1. `body` keeps the signed bytes verbatim (timestamp through payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vaa {
    pub version: u8,
    pub guardian_set_index: u32,
    pub signatures: Vec<GuardianSignature>,
    pub timestamp: u32,
    pub nonce: u32,
    pub emitter_chain: u16,
    pub emitter_address: B256,
    pub sequence: u64,
    pub consistency_level: u8,
    pub payload: Vec<u8>,
    pub body: Vec<u8>,
}

impl Vaa {
    /// Parses a whole VAA; the payload is everything after the body header, so nothing can
    /// trail. Errors name the field (`vaa.signatures[3]`, `vaa.body.sequence`, …).
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let at = r.offset();
        let version = r.u8("vaa.version")?;
        if version != VAA_VERSION {
            return Err(r.invalid(
                "vaa.version",
                at,
                format!("unsupported VAA version {version} (only {VAA_VERSION} is known)"),
            ));
        }
        let guardian_set_index = r.u32("vaa.guardian_set_index")?;
        let count = r.u8("vaa.signature_count")? as usize;
        let mut signatures = Vec::with_capacity(count);
        for i in 0..count {
            let raw = r
                .bytes(SIGNATURE_WIRE_LEN, "vaa.signatures")
                .map_err(|e| rename(e, || format!("vaa.signatures[{i}] (of {count})")))?;
            let mut signature = [0u8; 65];
            signature.copy_from_slice(&raw[1..]);
            signatures.push(GuardianSignature {
                index: raw[0],
                signature,
            });
        }
        let body = r.rest();
        let timestamp = r.u32("vaa.body.timestamp")?;
        let nonce = r.u32("vaa.body.nonce")?;
        let emitter_chain = r.u16("vaa.body.emitter_chain")?;
        let emitter_address = r.b256("vaa.body.emitter_address")?;
        let sequence = r.u64("vaa.body.sequence")?;
        let consistency_level = r.u8("vaa.body.consistency_level")?;
        let payload = r.rest().to_vec();
        Ok(Self {
            version,
            guardian_set_index,
            signatures,
            timestamp,
            nonce,
            emitter_chain,
            emitter_address,
            sequence,
            consistency_level,
            payload,
            body: body.to_vec(),
        })
    }

    /// What the guardians sign: `keccak256(keccak256(body))`.
    pub fn digest(&self) -> B256 {
        body_digest(&self.body)
    }
}

/// The double keccak over a VAA body.
pub fn body_digest(body: &[u8]) -> B256 {
    keccak256(keccak256(body))
}

/// Puts a more precise field name on an error (only built on the error path).
fn rename(err: WireError, what: impl FnOnce() -> String) -> WireError {
    match err {
        WireError::Truncated {
            offset,
            needed,
            available,
            ..
        } => WireError::Truncated {
            what: what(),
            offset,
            needed,
            available,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut v = vec![1, 0, 0, 0, 4, 2];
        for i in [0u8, 3] {
            v.push(i);
            v.extend([0xaa; 64]);
            v.push(27);
        }
        let body_start = v.len();
        v.extend(0x6000_0000u32.to_be_bytes());
        v.extend(7u32.to_be_bytes());
        v.extend(26u16.to_be_bytes());
        v.extend([0x11; 32]);
        v.extend(42u64.to_be_bytes());
        v.push(1);
        v.extend(b"hello");
        assert_eq!(v.len() - body_start, BODY_HEADER_LEN + 5);
        v
    }

    #[test]
    fn parses_header_body_and_payload() {
        let bytes = sample();
        let vaa = Vaa::parse(&bytes).unwrap();
        assert_eq!(vaa.guardian_set_index, 4);
        assert_eq!(vaa.signatures.len(), 2);
        assert_eq!(vaa.signatures[1].index, 3);
        assert_eq!(vaa.signatures[1].signature[64], 27);
        assert_eq!(vaa.timestamp, 0x6000_0000);
        assert_eq!(vaa.nonce, 7);
        assert_eq!(vaa.emitter_chain, 26);
        assert_eq!(vaa.emitter_address, B256::repeat_byte(0x11));
        assert_eq!(vaa.sequence, 42);
        assert_eq!(vaa.consistency_level, 1);
        assert_eq!(vaa.payload, b"hello");
        assert_eq!(vaa.body, &bytes[6 + 2 * 66..]);
        assert_eq!(vaa.digest(), keccak256(keccak256(&vaa.body)));
    }

    #[test]
    fn truncation_and_version_are_named() {
        let bytes = sample();
        let err = Vaa::parse(&bytes[..6 + 66 + 10]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("vaa.signatures[1] (of 2): truncated"),
            "{err}"
        );
        let err = Vaa::parse(&bytes[..6 + 2 * 66 + 45]).unwrap_err();
        assert!(
            err.to_string().starts_with("vaa.body.sequence: truncated"),
            "{err}"
        );
        let mut v2 = bytes.clone();
        v2[0] = 2;
        let err = Vaa::parse(&v2).unwrap_err();
        assert!(
            err.to_string().contains("unsupported VAA version 2"),
            "{err}"
        );
        assert!(
            Vaa::parse(&[])
                .unwrap_err()
                .to_string()
                .starts_with("vaa.version")
        );
    }
}
