//! The Pyth accumulator update (`PNAU`): a Wormhole VAA carrying a Merkle root (`AUWV`
//! payload) and the price messages, each with its keccak-160 Merkle proof.
//!
//! Layout (big-endian): magic `PNAU`, major u8 (= 1), minor u8, trailing-header length u8 and
//! that many bytes (skipped, forward compatible), proof type u8 (0 = Wormhole Merkle), VAA
//! length u16 and the VAA, number of updates u8, then per update: message length u16 and the
//! message, proof length u8 and that many 20-byte nodes. Nothing may follow.
//!
//! The VAA stays opaque here (see `wire::vaa`); its payload is the `AUWV` root parsed by
//! [`parse_merkle_root`].

use super::message::Message;
use super::reader::{Reader, WireError};

pub const ACCUMULATOR_MAGIC: &[u8; 4] = b"PNAU";
/// The only major version we understand; minor versions are forward compatible.
pub const ACCUMULATOR_MAJOR: u8 = 1;
/// `proof_type` of a Wormhole-Merkle accumulator update (the only one defined).
pub const PROOF_TYPE_WORMHOLE_MERKLE: u8 = 0;

pub const MERKLE_ROOT_MAGIC: &[u8; 4] = b"AUWV";
/// `update_type` of an `AUWV` payload carrying a Wormhole Merkle root.
pub const UPDATE_TYPE_WORMHOLE_MERKLE: u8 = 0;

/// A keccak-160 Merkle node: the first 20 bytes of a keccak256.
pub type MerkleNode = [u8; 20];

/// A parsed `PNAU` accumulator update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccumulatorUpdate {
    pub major: u8,
    pub minor: u8,
    /// Header bytes of later minor versions, kept but not interpreted.
    pub trailing_header: Vec<u8>,
    /// Always [`PROOF_TYPE_WORMHOLE_MERKLE`] after a successful parse.
    pub proof_type: u8,
    /// The Wormhole VAA, unparsed; its payload is an `AUWV` Merkle root.
    pub vaa: Vec<u8>,
    pub updates: Vec<MerkleUpdate>,
}

/// One message of an accumulator update with its Merkle proof (leaf to root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleUpdate {
    /// The raw message (type byte first); see [`Message::parse`].
    pub message: Vec<u8>,
    pub proof: Vec<MerkleNode>,
}

impl MerkleUpdate {
    /// Parses the message bytes (a price feed, a TWAP or an unknown type).
    pub fn parse_message(&self) -> Result<Message, WireError> {
        Message::parse(&self.message)
    }
}

impl AccumulatorUpdate {
    /// Parses a whole `PNAU` update; trailing bytes are an error.
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        r.expect(ACCUMULATOR_MAGIC, "accumulator.magic")?;
        let at = r.offset();
        let major = r.u8("accumulator.major_version")?;
        if major != ACCUMULATOR_MAJOR {
            return Err(r.invalid(
                "accumulator.major_version",
                at,
                format!("unsupported major version {major} (expected {ACCUMULATOR_MAJOR})"),
            ));
        }
        let minor = r.u8("accumulator.minor_version")?;
        let trailing_len = r.u8("accumulator.trailing_header_len")?;
        let trailing_header = r
            .bytes(trailing_len.into(), "accumulator.trailing_header")?
            .to_vec();
        let at = r.offset();
        let proof_type = r.u8("accumulator.proof_type")?;
        if proof_type != PROOF_TYPE_WORMHOLE_MERKLE {
            return Err(r.invalid(
                "accumulator.proof_type",
                at,
                format!("unsupported proof type {proof_type} (expected 0 = WormholeMerkle)"),
            ));
        }
        let vaa_len = r.u16("accumulator.vaa_len")?;
        let vaa = r.bytes(vaa_len.into(), "accumulator.vaa")?.to_vec();
        let count = r.u8("accumulator.num_updates")?;
        let mut updates = Vec::with_capacity(count.into());
        for i in 0..usize::from(count) {
            let update = parse_update(&mut r).map_err(|e| name_item(e, "accumulator.update", i))?;
            updates.push(update);
        }
        r.finish("accumulator")?;
        Ok(Self {
            major,
            minor,
            trailing_header,
            proof_type,
            vaa,
            updates,
        })
    }
}

fn parse_update(r: &mut Reader<'_>) -> Result<MerkleUpdate, WireError> {
    let len = r.u16("accumulator.update.message_len")?;
    let message = r.bytes(len.into(), "accumulator.update.message")?.to_vec();
    let depth = r.u8("accumulator.update.proof_len")?;
    let mut proof = Vec::with_capacity(depth.into());
    for _ in 0..depth {
        proof.push(r.array::<20>("accumulator.update.proof")?);
    }
    Ok(MerkleUpdate { message, proof })
}

/// The `AUWV` payload of an accumulator VAA: the Merkle root the guardians signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct WormholeMerkleRoot {
    pub slot: u64,
    pub ring_size: u32,
    #[serde(serialize_with = "serialize_node")]
    pub root: MerkleNode,
}

fn serialize_node<S: serde::Serializer>(node: &MerkleNode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("0x{}", hex::encode(node)))
}

/// Parses the `AUWV` payload of an accumulator VAA (the VAA body's payload bytes).
///
/// Bytes after the root are ignored, as Pyth's own receivers do, so a future payload
/// extension does not break verification (the payload is signed either way).
pub fn parse_merkle_root(payload: &[u8]) -> Result<WormholeMerkleRoot, WireError> {
    let mut r = Reader::new(payload);
    r.expect(MERKLE_ROOT_MAGIC, "merkle_root.magic")?;
    let at = r.offset();
    let update_type = r.u8("merkle_root.update_type")?;
    if update_type != UPDATE_TYPE_WORMHOLE_MERKLE {
        return Err(r.invalid(
            "merkle_root.update_type",
            at,
            format!("unsupported update type {update_type} (expected 0 = WormholeMerkle)"),
        ));
    }
    let slot = r.u64("merkle_root.slot")?;
    let ring_size = r.u32("merkle_root.ring_size")?;
    let root = r.array::<20>("merkle_root.root")?;
    Ok(WormholeMerkleRoot {
        slot,
        ring_size,
        root,
    })
}

/// Renames `prefix.field` to `prefix[index].field` in an error from the `index`-th item of a
/// repeated structure, so the error says which item was bad without formatting a name per
/// read on the happy path.
pub(crate) fn name_item(err: WireError, prefix: &str, index: usize) -> WireError {
    let rename = |what: String| match what.strip_prefix(prefix) {
        Some(rest) => format!("{prefix}[{index}]{rest}"),
        None => what,
    };
    match err {
        WireError::Truncated {
            what,
            offset,
            needed,
            available,
        } => WireError::Truncated {
            what: rename(what),
            offset,
            needed,
            available,
        },
        WireError::Invalid {
            what,
            offset,
            message,
        } => WireError::Invalid {
            what: rename(what),
            offset,
            message,
        },
        WireError::Trailing {
            what,
            offset,
            extra,
        } => WireError::Trailing {
            what: rename(what),
            offset,
            extra,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut b = b"PNAU".to_vec();
        b.extend([1, 7, 2, 0xaa, 0xbb, 0]); // major, minor, 2 trailing header bytes, proof type
        b.extend([0, 3, 9, 9, 9]); // vaa
        b.push(2); // updates
        b.extend([0, 2, 0x00, 0x01, 1]); // message of 2 bytes, 1 proof node
        b.extend([0x11; 20]);
        b.extend([0, 1, 0x05, 0]); // message of 1 byte, no proof
        b
    }

    #[test]
    fn parses_a_hand_built_update_and_skips_the_trailing_header() {
        let u = AccumulatorUpdate::parse(&sample()).unwrap();
        assert_eq!((u.major, u.minor), (1, 7));
        assert_eq!(u.trailing_header, vec![0xaa, 0xbb]);
        assert_eq!(u.vaa, vec![9, 9, 9]);
        assert_eq!(u.updates.len(), 2);
        assert_eq!(u.updates[0].message, vec![0, 1]);
        assert_eq!(u.updates[0].proof, vec![[0x11; 20]]);
        assert!(u.updates[1].proof.is_empty());
    }

    #[test]
    fn names_the_item_of_a_truncated_update() {
        let mut b = sample();
        b.truncate(b.len() - 2);
        let err = AccumulatorUpdate::parse(&b).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("accumulator.update[1].message: truncated"),
            "{err}"
        );
    }

    #[test]
    fn rejects_an_unknown_proof_type_and_update_type() {
        let mut b = sample();
        b[9] = 1;
        let err = AccumulatorUpdate::parse(&b).unwrap_err();
        assert!(
            err.to_string().contains("unsupported proof type 1"),
            "{err}"
        );

        let mut p = b"AUWV".to_vec();
        p.push(1);
        let err = parse_merkle_root(&p).unwrap_err();
        assert!(
            err.to_string().contains("unsupported update type 1"),
            "{err}"
        );
    }
}
