//! Wormhole VAA verification against the real Pyth fixtures in `tests/fixtures/pyth/`:
//! guardian sets derived from the mainnet upgrade VAAs, every PNAU's VAA and the legacy P2WH
//! VAAs verified, and each kind of bad input refused with an error naming what failed.

mod common;

use std::path::PathBuf;

use alloy::primitives::{Address, B256, Signature, U256, keccak256};
use hedgedesk::oracle::verify::guardians::{
    AcceptedEmitter, GUARDIAN_SET_EXPIRY_SECS, GuardianSet, GuardianSets, derive_guardian_sets,
};
use hedgedesk::oracle::verify::signatures::{
    VerifyError, recover_address, verify_emitter, verify_signatures, verify_with_sets,
};
use hedgedesk::oracle::wire::vaa::Vaa;

const SHIPPED: &str = "src/oracle/data/guardian_sets_mainnet.json";
const SHIPPED_NOTE: &str = "Wormhole mainnet guardian sets 0..=7, derived by verifying the Core governance upgrade VAAs (tests/fixtures/pyth/mainnet_guardian_set_upgrade_vaas.hex.txt) from the genesis key. expiration_time: superseded sets = upgrade VAA timestamp + 86400 (earliest possible on-chain expiry), newest = 0 (never). Regenerate: cargo test --test oracle_verify -- --ignored write_shipped_mainnet_sets";

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pyth")
        .join(name)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    common::pyth::fixture(name)
}

fn read_fixture(name: &str) -> String {
    std::fs::read_to_string(fixture_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The VAA inside a PNAU: "PNAU" major minor trailing-header-len (+bytes) proof-type vaa-len
/// (u16) vaa.
fn pnau_vaa(update: &[u8]) -> Vec<u8> {
    assert_eq!(&update[..4], b"PNAU");
    let trailing = usize::from(update[6]);
    let mut at = 7 + trailing;
    assert_eq!(update[at], 0, "proof type: Wormhole Merkle");
    at += 1;
    let len = usize::from(u16::from_be_bytes([update[at], update[at + 1]]));
    at += 2;
    update[at..at + len].to_vec()
}

const PNAU_FIXTURES: &[(&str, u32)] = &[
    ("hermes_doc_example_pnau.b64", 3),
    ("pnau_gs3_2feeds_fuel_valid.hex", 3),
    // Only message 1 was altered; the VAA (the signed root) is intact.
    ("pnau_gs3_2feeds_fuel_BAD_merkle_msg1.hex", 3),
    ("pnau_gs4_1feed_pythnet_sdk_wire_test.hex", 4),
    ("pnau_gs4_1feed_stylus_2025_a.hex", 4),
    ("pnau_gs4_btc_stylus_2025_b.hex", 4),
    ("pnau_gs4_btc_c964_2feeds_devhub.hex", 4),
    ("pnau_gs4_btc_devhub_137.hex", 4),
    ("pnau_gs4_btc_eth_ton.hex", 4),
    ("pnau_gs4_3feeds_jssdk_test.b64", 4),
    ("pnau_gs4_twap_msgs_jssdk_test.b64", 4),
];

const P2WH_FIXTURES: &[&str] = &[
    "p2wh_batch_attestation_vaa_gs3_fuel_line59.hex",
    "p2wh_batch_attestation_vaa_gs3_fuel_line60.hex",
];

fn sample_vaa() -> Vaa {
    Vaa::parse(&pnau_vaa(&fixture_bytes("pnau_gs4_btc_eth_ton.hex"))).unwrap()
}

/// Verifies at the VAA's own time (sets 3 and 4 are long superseded).
fn verify_at_own_time(vaa: &Vaa) -> Result<(), VerifyError> {
    verify_with_sets(vaa, &GuardianSets::mainnet(), u64::from(vaa.timestamp)).map(|_| ())
}

fn genesis() -> GuardianSet {
    GuardianSet {
        index: 0,
        keys: vec![
            "0x58cc3ae5c097b213ce3c81979e1b9f9570746aa5"
                .parse()
                .unwrap(),
        ],
        expiration_time: 0,
    }
}

fn upgrade_vaas() -> Vec<Vec<u8>> {
    read_fixture("mainnet_guardian_set_upgrade_vaas.hex.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| hex::decode(l.trim().trim_start_matches("0x")).unwrap())
        .collect()
}

fn derived() -> GuardianSets {
    GuardianSets::new(derive_guardian_sets(genesis(), &upgrade_vaas()).unwrap()).unwrap()
}

#[test]
fn upgrade_vaas_derive_the_fixture_guardian_sets() {
    let sets = derive_guardian_sets(genesis(), &upgrade_vaas()).unwrap();
    assert_eq!(sets.len(), 8);
    let expected = GuardianSets::from_json(&read_fixture("derived_guardian_sets.json")).unwrap();
    assert_eq!(expected.len(), 8);
    for set in &sets {
        assert_eq!(
            set.keys,
            expected.get(set.index).unwrap().keys,
            "set {}",
            set.index
        );
    }
    for pair in sets.windows(2) {
        assert_eq!(pair[1].index, pair[0].index + 1);
        assert!(
            pair[0].expiration_time > GUARDIAN_SET_EXPIRY_SECS,
            "superseded sets expire"
        );
    }
    assert_eq!(sets[7].expiration_time, 0);
    assert_eq!(sets[3].keys.len(), 19);
}

#[test]
fn shipped_mainnet_sets_equal_the_derivation() {
    assert_eq!(GuardianSets::mainnet(), derived());
    let on_disk =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(SHIPPED)).unwrap();
    assert_eq!(
        on_disk,
        derived().to_json(SHIPPED_NOTE),
        "regenerate {SHIPPED}"
    );
}

/// Writes the shipped data from the derivation (run once, then commit the file).
#[test]
#[ignore = "writes src/oracle/data/guardian_sets_mainnet.json"]
fn write_shipped_mainnet_sets() {
    std::fs::write(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(SHIPPED),
        derived().to_json(SHIPPED_NOTE),
    )
    .unwrap();
}

#[test]
fn a_broken_upgrade_chain_is_refused() {
    let vaas = upgrade_vaas();
    // Skipping an upgrade: VAA for 1->2 checked against set 0.
    let err = derive_guardian_sets(genesis(), &vaas[1..]).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "upgrade VAA 0: VAA is signed by guardian set 1, but was checked against set 0"
        ),
        "{err}"
    );
    // A forged genesis key.
    let mut fake = genesis();
    fake.keys[0] = Address::repeat_byte(0x11);
    let err = derive_guardian_sets(fake, &vaas).unwrap_err();
    assert!(
        err.to_string()
            .contains("upgrade VAA 0: signature 0 (guardian 0): forged"),
        "{err}"
    );
}

#[test]
fn every_pnau_fixture_vaa_verifies_with_the_mainnet_sets() {
    for &(name, set) in PNAU_FIXTURES {
        let vaa =
            Vaa::parse(&pnau_vaa(&fixture_bytes(name))).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(vaa.guardian_set_index, set, "{name}");
        let report = verify_with_sets(&vaa, &GuardianSets::mainnet(), u64::from(vaa.timestamp))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(report.total_guardians, 19, "{name}");
        assert_eq!(report.quorum, 13, "{name}");
        assert!(report.valid >= 13, "{name}");
        verify_emitter(&vaa, &AcceptedEmitter::PYTHNET).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(verify_emitter(&vaa, &AcceptedEmitter::PYTHNET_LEGACY_P2W).is_err());
    }
}

#[test]
fn p2wh_fixtures_verify_from_the_legacy_emitter_only() {
    for &name in P2WH_FIXTURES {
        let vaa = Vaa::parse(&fixture_bytes(name)).unwrap();
        assert_eq!(vaa.guardian_set_index, 3);
        assert_eq!(vaa.signatures.len(), 13);
        assert_eq!(&vaa.payload[..4], b"P2WH", "{name}");
        let report = verify_with_sets(&vaa, &GuardianSets::mainnet(), u64::from(vaa.timestamp))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(report.valid, 13);
        verify_emitter(&vaa, &AcceptedEmitter::PYTHNET_LEGACY_P2W).unwrap();
        let err = verify_emitter(&vaa, &AcceptedEmitter::PYTHNET).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("wrong emitter: chain 26 address 0xf8cd23c2"),
            "{err}"
        );
    }
}

#[test]
fn a_forged_signature_is_named_by_its_index() {
    let mut vaa = sample_vaa();
    let position = 5;
    let index = vaa.signatures[position].index;
    vaa.signatures[position].signature[40] ^= 0x01; // a byte of s
    let err = verify_at_own_time(&vaa).unwrap_err();
    assert!(
        matches!(err, VerifyError::Forged { position: 5, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("signature 5 (guardian {index}): forged")),
        "{err}"
    );
    // A tampered body breaks every signature: the first is reported.
    let mut vaa = sample_vaa();
    let last = vaa.body.len() - 1;
    vaa.body[last] ^= 0x80;
    assert!(matches!(
        verify_at_own_time(&vaa),
        Err(VerifyError::Forged { position: 0, .. })
    ));
}

#[test]
fn a_duplicated_signature_is_refused() {
    let mut vaa = sample_vaa();
    let copy = vaa.signatures[3];
    vaa.signatures.insert(4, copy);
    let err = verify_at_own_time(&vaa).unwrap_err();
    assert!(
        err.to_string().contains("signature 4: guardian index"),
        "{err}"
    );
    assert!(err.to_string().contains("duplicated"), "{err}");
}

#[test]
fn descending_guardian_indexes_are_refused() {
    let mut vaa = sample_vaa();
    vaa.signatures.swap(2, 3);
    let err = verify_at_own_time(&vaa).unwrap_err();
    assert!(
        matches!(err, VerifyError::DescendingIndex { position: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("descending"), "{err}");
}

#[test]
fn too_few_signatures_miss_the_quorum() {
    let mut vaa = sample_vaa();
    vaa.signatures.truncate(12);
    let err = verify_at_own_time(&vaa).unwrap_err();
    assert_eq!(
        err,
        VerifyError::NoQuorum {
            signatures: 12,
            quorum: 13,
            total_guardians: 19
        }
    );
    assert_eq!(
        err.to_string(),
        "no quorum: 12 signature(s) of 19 guardians, 13 needed"
    );
}

#[test]
fn an_unknown_guardian_set_is_refused() {
    let mut vaa = sample_vaa();
    vaa.guardian_set_index = 99;
    let err = verify_at_own_time(&vaa).unwrap_err();
    assert_eq!(err, VerifyError::UnknownGuardianSet(99));
    assert_eq!(err.to_string(), "unknown guardian set 99");
    // The wrong set for the VAA.
    let vaa = sample_vaa();
    let err = verify_signatures(&vaa, GuardianSets::mainnet().get(3).unwrap(), 0).unwrap_err();
    assert!(
        err.to_string()
            .contains("signed by guardian set 4, but was checked against set 3")
    );
}

#[test]
fn an_expired_guardian_set_is_refused() {
    let vaa = sample_vaa();
    let sets = GuardianSets::mainnet();
    let set4 = sets.get(4).unwrap();
    assert_ne!(set4.expiration_time, 0, "set 4 was superseded by set 5");
    let now = u64::from(set4.expiration_time) + 1;
    let err = verify_with_sets(&vaa, &sets, now).unwrap_err();
    assert!(
        matches!(err, VerifyError::GuardianSetExpired { index: 4, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("guardian set 4 expired at"),
        "{err}"
    );
    // The latest set never expires.
    assert_eq!(sets.latest().unwrap().expiration_time, 0);
}

#[test]
fn a_wrong_emitter_is_refused() {
    let mut vaa = sample_vaa();
    verify_emitter(&vaa, &AcceptedEmitter::PYTHNET).unwrap();
    vaa.emitter_address = B256::repeat_byte(0xab);
    let err = verify_emitter(&vaa, &AcceptedEmitter::PYTHNET).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("wrong emitter: chain 26 address 0xabab"),
        "{err}"
    );
    let vaa = sample_vaa();
    let devnet = AcceptedEmitter {
        chain: 2,
        address: AcceptedEmitter::PYTHNET.address,
    };
    assert!(verify_emitter(&vaa, &devnet).is_err());
}

#[test]
fn a_truncated_vaa_names_the_field() {
    let raw = pnau_vaa(&fixture_bytes("pnau_gs4_btc_eth_ton.hex"));
    let err = Vaa::parse(&raw[..6 + 66 * 7 + 30]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("vaa.signatures[7] (of 13): truncated"),
        "{err}"
    );
    let body = 6 + 66 * 13;
    let err = Vaa::parse(&raw[..body + 45]).unwrap_err();
    assert!(
        err.to_string().starts_with("vaa.body.sequence: truncated"),
        "{err}"
    );
    let err = Vaa::parse(&raw[..3]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("vaa.guardian_set_index: truncated"),
        "{err}"
    );
}

/// Our ecrecover agrees with alloy's (ecdsa crate) on every fixture signature, on their
/// high-s twins, on tampered digests, and both refuse r or s out of range.
#[test]
fn recover_address_matches_alloy_recovery() {
    const N: U256 = U256::from_be_bytes(alloy::primitives::hex!(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
    ));
    let alloy_recover = |digest: &B256, rs: &[u8], parity: bool| {
        Signature::from_bytes_and_parity(rs, parity)
            .recover_address_from_prehash(digest)
            .ok()
    };
    let mut vaas: Vec<Vaa> = PNAU_FIXTURES
        .iter()
        .map(|(name, _)| Vaa::parse(&pnau_vaa(&fixture_bytes(name))).unwrap())
        .collect();
    vaas.extend(
        P2WH_FIXTURES
            .iter()
            .map(|name| Vaa::parse(&fixture_bytes(name)).unwrap()),
    );
    let mut checked = 0;
    for vaa in &vaas {
        let digest = vaa.digest();
        for sig in &vaa.signatures {
            let rs = &sig.signature[..64];
            let parity = matches!(sig.signature[64], 1 | 28);
            let ours = recover_address(&digest, rs, parity);
            assert!(ours.is_some());
            assert_eq!(ours, alloy_recover(&digest, rs, parity));
            // High-s twin: (r, n - s) with the other parity recovers the same key.
            let s = U256::from_be_slice(&rs[32..]);
            let mut twin = rs.to_vec();
            twin[32..].copy_from_slice(&(N - s).to_be_bytes::<32>());
            assert_eq!(recover_address(&digest, &twin, !parity), ours);
            assert_eq!(alloy_recover(&digest, &twin, !parity), ours);
            // Another digest: some other key, the same one in both.
            let other = keccak256(digest);
            assert_eq!(
                recover_address(&other, rs, parity),
                alloy_recover(&other, rs, parity)
            );
            checked += 1;
        }
    }
    assert!(checked >= 13 * 13, "{checked}");
    let digest = vaas[0].digest();
    let good = &vaas[0].signatures[0].signature[..64];
    for (range, bytes) in [
        (0..32, [0u8; 32]),
        (32..64, [0u8; 32]),
        (0..32, N.to_be_bytes::<32>()),
        (32..64, [0xff; 32]),
    ] {
        let mut bad = good.to_vec();
        bad[range].copy_from_slice(&bytes);
        assert_eq!(recover_address(&digest, &bad, false), None);
        assert_eq!(alloy_recover(&digest, &bad, false), None);
    }
}
