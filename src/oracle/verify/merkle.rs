//! Pyth's keccak-160 Merkle proofs: each accumulator message is a leaf under the root the
//! guardians signed (the VAA's `AUWV` payload).
//!
//! leaf = keccak256(0x00 ‖ message)[..20]; node = keccak256(0x01 ‖ min(a, b) ‖ max(a, b))[..20]
//! with the pair sorted byte-wise, so a proof is just the sibling hashes from leaf to root.

use alloy::primitives::keccak256;

use crate::oracle::wire::accumulator::{MerkleNode, MerkleUpdate};

const LEAF_PREFIX: u8 = 0;
const NODE_PREFIX: u8 = 1;

/// A message whose proof does not lead to the signed root.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "message {index}: Merkle proof ({depth} node(s)) leads to 0x{computed}, not the signed root 0x{expected}",
    computed = hex::encode(.computed),
    expected = hex::encode(.expected)
)]
pub struct MerkleError {
    /// Index of the message within its update.
    pub index: usize,
    /// Number of proof nodes.
    pub depth: usize,
    pub computed: MerkleNode,
    pub expected: MerkleNode,
}

fn truncate(hash: &[u8; 32]) -> MerkleNode {
    let mut out = [0u8; 20];
    out.copy_from_slice(&hash[..20]);
    out
}

/// The leaf hash of a message.
pub fn leaf_hash(message: &[u8]) -> MerkleNode {
    let mut buf = Vec::with_capacity(1 + message.len());
    buf.push(LEAF_PREFIX);
    buf.extend_from_slice(message);
    truncate(&keccak256(&buf).0)
}

/// The parent of two nodes (order-independent).
pub fn node_hash(a: &MerkleNode, b: &MerkleNode) -> MerkleNode {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut buf = [0u8; 41];
    buf[0] = NODE_PREFIX;
    buf[1..21].copy_from_slice(lo);
    buf[21..].copy_from_slice(hi);
    truncate(&keccak256(buf).0)
}

/// The root a proof leads to from `message`.
pub fn root_from_proof(message: &[u8], proof: &[MerkleNode]) -> MerkleNode {
    proof
        .iter()
        .fold(leaf_hash(message), |acc, sibling| node_hash(&acc, sibling))
}

/// Whether `proof` leads from `message` to `root`.
pub fn verify_proof(message: &[u8], proof: &[MerkleNode], root: &MerkleNode) -> bool {
    root_from_proof(message, proof) == *root
}

/// [`verify_proof`] with an error saying which message failed and what it led to.
pub fn check_proof(
    index: usize,
    message: &[u8],
    proof: &[MerkleNode],
    root: &MerkleNode,
) -> Result<(), MerkleError> {
    let computed = root_from_proof(message, proof);
    if computed == *root {
        Ok(())
    } else {
        Err(MerkleError {
            index,
            depth: proof.len(),
            computed,
            expected: *root,
        })
    }
}

/// Checks every update's proof against the signed root, one result per message.
pub fn check_updates(updates: &[MerkleUpdate], root: &MerkleNode) -> Vec<Result<(), MerkleError>> {
    updates
        .iter()
        .enumerate()
        .map(|(i, u)| check_proof(i, &u.message, &u.proof, root))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_and_node_follow_the_pyth_definition() {
        let mut pre = vec![0u8];
        pre.extend(b"abc");
        assert_eq!(leaf_hash(b"abc"), keccak256(&pre)[..20]);
        let (a, b) = ([1u8; 20], [2u8; 20]);
        let mut pair = vec![1u8];
        pair.extend(a);
        pair.extend(b);
        assert_eq!(node_hash(&a, &b), keccak256(&pair)[..20]);
        assert_eq!(node_hash(&b, &a), node_hash(&a, &b), "pairs are sorted");
    }

    #[test]
    fn one_leaf_tree_root_is_the_leaf() {
        let root = leaf_hash(b"only");
        assert!(verify_proof(b"only", &[], &root));
        assert!(!verify_proof(b"other", &[], &root));
    }

    #[test]
    fn two_leaf_tree() {
        let (l0, l1) = (leaf_hash(b"m0"), leaf_hash(b"m1"));
        let root = node_hash(&l0, &l1);
        assert!(verify_proof(b"m0", &[l1], &root));
        assert!(verify_proof(b"m1", &[l0], &root));
        assert!(!verify_proof(b"m1", &[l1], &root));
        assert!(!verify_proof(b"m0", &[], &root), "a missing node fails");
    }

    #[test]
    fn three_leaf_tree_and_the_error_names_the_message() {
        // root = node(node(l0, l1), l2)
        let (l0, l1, l2) = (leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c"));
        let n01 = node_hash(&l0, &l1);
        let root = node_hash(&n01, &l2);
        assert!(verify_proof(b"a", &[l1, l2], &root));
        assert!(verify_proof(b"b", &[l0, l2], &root));
        assert!(verify_proof(b"c", &[n01], &root));
        assert!(!verify_proof(b"c", &[l0, l1], &root));

        let updates = vec![
            MerkleUpdate {
                message: b"a".to_vec(),
                proof: vec![l1, l2],
            },
            MerkleUpdate {
                message: b"B".to_vec(),
                proof: vec![l0, l2],
            },
        ];
        let results = check_updates(&updates, &root);
        assert!(results[0].is_ok());
        let err = results[1].clone().unwrap_err();
        assert_eq!((err.index, err.depth, err.expected), (1, 2, root));
        let text = err.to_string();
        assert!(
            text.starts_with("message 1: Merkle proof (2 node(s)) leads to 0x"),
            "{text}"
        );
        assert!(text.ends_with(&format!("not the signed root 0x{}", hex::encode(root))));
    }
}
