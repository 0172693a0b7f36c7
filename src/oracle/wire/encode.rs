//! The encoding side of the Pyth wire formats: what a devnet price source signs and what
//! tests forge. Byte for byte the inverse of the parsers in this module.

use alloy::primitives::B256;

use super::accumulator::{ACCUMULATOR_MAGIC, MERKLE_ROOT_MAGIC, MerkleNode};
use super::message::{MESSAGE_TYPE_PRICE_FEED, PriceFeedMessage};
use crate::oracle::verify::merkle::{leaf_hash, node_hash};

/// A price-feed message (type 0, 85 bytes).
pub fn price_feed_message(m: &PriceFeedMessage) -> Vec<u8> {
    let mut out = Vec::with_capacity(85);
    out.push(MESSAGE_TYPE_PRICE_FEED);
    out.extend_from_slice(m.feed_id.as_slice());
    out.extend_from_slice(&m.price.to_be_bytes());
    out.extend_from_slice(&m.conf.to_be_bytes());
    out.extend_from_slice(&m.exponent.to_be_bytes());
    out.extend_from_slice(&m.publish_time.to_be_bytes());
    out.extend_from_slice(&m.prev_publish_time.to_be_bytes());
    out.extend_from_slice(&m.ema_price.to_be_bytes());
    out.extend_from_slice(&m.ema_conf.to_be_bytes());
    out
}

/// A keccak-160 Merkle tree over `messages`: the root and each message's proof (sibling
/// hashes from the leaf up). An odd node at the end of a level is carried up unpaired, so
/// its proof is one node shorter; verification (sorted-pair hashing) does not care.
pub fn merkle_tree(messages: &[Vec<u8>]) -> (MerkleNode, Vec<Vec<MerkleNode>>) {
    let mut proofs: Vec<Vec<MerkleNode>> = vec![Vec::new(); messages.len()];
    // Which leaves sit under each node of the current level.
    let mut level: Vec<(MerkleNode, Vec<usize>)> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| (leaf_hash(m), vec![i]))
        .collect();
    if level.is_empty() {
        return ([0u8; 20], proofs);
    }
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        let mut pairs = level.into_iter();
        while let Some((a, under_a)) = pairs.next() {
            match pairs.next() {
                Some((b, under_b)) => {
                    for &leaf in &under_a {
                        proofs[leaf].push(b);
                    }
                    for &leaf in &under_b {
                        proofs[leaf].push(a);
                    }
                    let mut under = under_a;
                    under.extend(under_b);
                    next.push((node_hash(&a, &b), under));
                }
                None => next.push((a, under_a)),
            }
        }
        level = next;
    }
    (level[0].0, proofs)
}

/// The `AUWV` payload a Wormhole VAA carries: the Merkle root of one Pythnet slot.
pub fn merkle_root_payload(slot: u64, ring_size: u32, root: &MerkleNode) -> Vec<u8> {
    let mut out = Vec::with_capacity(37);
    out.extend_from_slice(MERKLE_ROOT_MAGIC);
    out.push(0);
    out.extend_from_slice(&slot.to_be_bytes());
    out.extend_from_slice(&ring_size.to_be_bytes());
    out.extend_from_slice(root);
    out
}

/// The signed part of a VAA.
#[derive(Debug, Clone)]
pub struct VaaBody {
    pub timestamp: u32,
    pub nonce: u32,
    pub emitter_chain: u16,
    pub emitter_address: B256,
    pub sequence: u64,
    pub consistency_level: u8,
    pub payload: Vec<u8>,
}

impl VaaBody {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(51 + self.payload.len());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.nonce.to_be_bytes());
        out.extend_from_slice(&self.emitter_chain.to_be_bytes());
        out.extend_from_slice(self.emitter_address.as_slice());
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.push(self.consistency_level);
        out.extend_from_slice(&self.payload);
        out
    }
}

/// A VAA v1 from its body and `(guardian index, r ‖ s ‖ v)` signatures, in index order.
pub fn vaa(guardian_set_index: u32, signatures: &[(u8, [u8; 65])], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(6 + 66 * signatures.len() + body.len());
    out.push(1);
    out.extend_from_slice(&guardian_set_index.to_be_bytes());
    out.push(signatures.len() as u8);
    for (index, signature) in signatures {
        out.push(*index);
        out.extend_from_slice(signature);
    }
    out.extend_from_slice(body);
    out
}

/// A `PNAU` accumulator update: the VAA and each message with its proof.
pub fn accumulator_update(vaa: &[u8], updates: &[(Vec<u8>, Vec<MerkleNode>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(ACCUMULATOR_MAGIC);
    out.extend_from_slice(&[1, 0, 0, 0]); // major 1, minor 0, no trailing header, WormholeMerkle
    out.extend_from_slice(&(vaa.len() as u16).to_be_bytes());
    out.extend_from_slice(vaa);
    out.push(updates.len() as u8);
    for (message, proof) in updates {
        out.extend_from_slice(&(message.len() as u16).to_be_bytes());
        out.extend_from_slice(message);
        out.push(proof.len() as u8);
        for node in proof {
            out.extend_from_slice(node);
        }
    }
    out
}
