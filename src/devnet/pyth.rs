//! A devnet price source: Pyth accumulator updates signed by a devnet guardian set, so the
//! whole oracle path (verify, publish to PriceCaster, read back) runs offline. The keys are
//! derived from a seed and are public: never trust this set outside a devnet.

use alloy::primitives::{B256, keccak256};
use alloy::signers::SignerSync;
use alloy_signer_local::PrivateKeySigner;

use crate::oracle::verify::guardians::{AcceptedEmitter, GuardianSet, GuardianSets};
use crate::oracle::wire::encode::{
    VaaBody, accumulator_update, merkle_root_payload, merkle_tree, price_feed_message, vaa,
};
use crate::oracle::wire::message::PriceFeedMessage;

/// The emitter the devnet source signs as: Wormhole chain 26 with an address no real
/// emitter has (`keccak256("hedgedesk devnet pyth emitter")`).
pub fn devnet_emitter() -> AcceptedEmitter {
    AcceptedEmitter {
        chain: 26,
        address: keccak256(b"hedgedesk devnet pyth emitter"),
    }
}

/// A guardian set of `size` keys derived from `seed`, and a signer for updates.
pub struct DevnetPythSource {
    pub set: GuardianSet,
    keys: Vec<PrivateKeySigner>,
    pub emitter: AcceptedEmitter,
    sequence: u64,
    slot: u64,
}

impl DevnetPythSource {
    pub fn new(seed: u64, size: usize, guardian_set_index: u32) -> Self {
        assert!((1..=19).contains(&size), "a guardian set has 1 to 19 keys");
        let keys: Vec<PrivateKeySigner> = (0..size)
            .map(|i| {
                let secret = keccak256(format!("hedgedesk devnet guardian {seed} {i}").as_bytes());
                PrivateKeySigner::from_bytes(&secret).expect("a keccak hash is a valid key")
            })
            .collect();
        Self {
            set: GuardianSet {
                index: guardian_set_index,
                keys: keys.iter().map(|k| k.address()).collect(),
                expiration_time: 0,
            },
            keys,
            emitter: devnet_emitter(),
            sequence: 0,
            slot: 1_000,
        }
    }

    pub fn guardian_sets(&self) -> GuardianSets {
        GuardianSets::new([self.set.clone()]).expect("one set is a valid list")
    }

    /// A `PNAU` update carrying `messages`, signed by the first `signers` guardians (all
    /// when `None`), timestamped `timestamp`.
    pub fn update(
        &mut self,
        messages: &[PriceFeedMessage],
        timestamp: u32,
        signers: Option<usize>,
    ) -> Vec<u8> {
        let encoded: Vec<Vec<u8>> = messages.iter().map(price_feed_message).collect();
        let (root, proofs) = merkle_tree(&encoded);
        self.sequence += 1;
        self.slot += 1;
        let body = VaaBody {
            timestamp,
            nonce: 0,
            emitter_chain: self.emitter.chain,
            emitter_address: self.emitter.address,
            sequence: self.sequence,
            consistency_level: 1,
            payload: merkle_root_payload(self.slot, 10_000, &root),
        }
        .encode();
        let digest = keccak256(keccak256(&body));
        let count = signers.unwrap_or(self.keys.len()).min(self.keys.len());
        let signatures: Vec<(u8, [u8; 65])> = self.keys[..count]
            .iter()
            .enumerate()
            .map(|(i, key)| (i as u8, sign(key, digest)))
            .collect();
        let vaa = vaa(self.set.index, &signatures, &body);
        let updates: Vec<_> = encoded.into_iter().zip(proofs).collect();
        accumulator_update(&vaa, &updates)
    }
}

/// `r ‖ s ‖ v` with v the recovery id (0 or 1), as guardians sign.
fn sign(key: &PrivateKeySigner, digest: B256) -> [u8; 65] {
    let signature = key
        .sign_hash_sync(&digest)
        .expect("signing a hash cannot fail");
    let mut out = [0u8; 65];
    out[..32].copy_from_slice(&signature.r().to_be_bytes::<32>());
    out[32..64].copy_from_slice(&signature.s().to_be_bytes::<32>());
    out[64] = u8::from(signature.v());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::decode::decode;

    fn btc(price: i64, t: i64) -> PriceFeedMessage {
        PriceFeedMessage {
            feed_id: B256::repeat_byte(0xe6),
            price,
            conf: 3_000_000,
            exponent: -8,
            publish_time: t,
            prev_publish_time: t - 1,
            ema_price: price,
            ema_conf: 2_000_000,
        }
    }

    #[test]
    fn synthetic_updates_verify_like_real_ones() {
        let mut source = DevnetPythSource::new(7, 5, 0);
        let messages: Vec<_> = (0..5)
            .map(|i| PriceFeedMessage {
                feed_id: B256::repeat_byte(i as u8 + 1),
                ..btc(6_000_000_000_000 + i, 1_800_000_000)
            })
            .collect();
        let update = source.update(&messages, 1_800_000_000, None);
        let decoded = decode(
            &update,
            &source.guardian_sets(),
            &source.emitter,
            1_800_000_000,
        );
        assert!(decoded.ok, "{:#}", decoded.report);
        assert_eq!(decoded.report["signature_check"]["valid"], 5);
        assert_eq!(decoded.report["signature_check"]["quorum"], 4);
        let out = decoded.report["messages"].as_array().unwrap();
        assert_eq!(out.len(), 5);
        assert_eq!(out[4]["price"], 6_000_000_000_004i64);
        assert!(out.iter().all(|m| m["merkle_proof"] == "ok"));
        // Same seed, same keys; another seed, another set.
        assert_eq!(DevnetPythSource::new(7, 5, 0).set.keys, source.set.keys);
        assert_ne!(DevnetPythSource::new(8, 5, 0).set.keys, source.set.keys);
    }

    #[test]
    fn too_few_signers_and_a_foreign_emitter_fail() {
        let mut source = DevnetPythSource::new(7, 5, 0);
        let update = source.update(&[btc(1, 100)], 100, Some(3));
        let decoded = decode(&update, &source.guardian_sets(), &source.emitter, 100);
        assert!(!decoded.ok);
        assert!(
            decoded.report["errors"][0]
                .as_str()
                .unwrap()
                .contains("quorum")
        );
        let update = source.update(&[btc(1, 100)], 100, None);
        let decoded = decode(
            &update,
            &source.guardian_sets(),
            &AcceptedEmitter::PYTHNET,
            100,
        );
        assert!(!decoded.ok);
        assert_eq!(decoded.report["emitter_check"]["ok"], false);
    }
}
