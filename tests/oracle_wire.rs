//! The Pyth wire formats over the real fixtures in `tests/fixtures/pyth/`: every accumulator
//! update parses and every message's Merkle proof reaches the root its VAA carries (except
//! the BAD fixture's message 1), TWAP messages are recognised, P2WH batches decode, values
//! match Hermes's own parse, and malformed input fails with an error naming the field.

mod common;

use std::path::PathBuf;

use alloy::primitives::B256;
use hedgedesk::oracle::verify::merkle::{check_updates, verify_proof};
use hedgedesk::oracle::wire::WireError;
use hedgedesk::oracle::wire::accumulator::{
    AccumulatorUpdate, WormholeMerkleRoot, parse_merkle_root,
};
use hedgedesk::oracle::wire::message::{Message, PriceFeedMessage};
use hedgedesk::oracle::wire::p2wh::BatchPriceAttestation;

fn load(name: &str) -> Vec<u8> {
    common::pyth::fixture(name)
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pyth")
}

/// All `.hex` and `.b64` files (the one-VAA-per-line upgrade list is `.hex.txt`, not here).
fn fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".hex") || n.ends_with(".b64"))
        .collect();
    names.sort();
    names
}

fn pnau_fixtures() -> Vec<String> {
    fixtures()
        .into_iter()
        .filter(|n| !n.starts_with("p2wh_"))
        .collect()
}

/// The payload of a Wormhole VAA v1 (test-only locator; `wire::vaa` parses VAAs properly).
fn vaa_payload(vaa: &[u8]) -> &[u8] {
    assert_eq!(vaa[0], 1, "VAA version");
    let sigs = usize::from(vaa[5]);
    let body = 6 + 66 * sigs;
    // timestamp 4, nonce 4, emitter chain 2, emitter address 32, sequence 8, consistency 1
    &vaa[body + 51..]
}

fn vaa_emitter(vaa: &[u8]) -> (u16, String) {
    let body = 6 + 66 * usize::from(vaa[5]);
    let chain = u16::from_be_bytes([vaa[body + 8], vaa[body + 9]]);
    (chain, hex::encode(&vaa[body + 10..body + 42]))
}

fn parse(name: &str) -> (AccumulatorUpdate, WormholeMerkleRoot) {
    let update = AccumulatorUpdate::parse(&load(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let root =
        parse_merkle_root(vaa_payload(&update.vaa)).unwrap_or_else(|e| panic!("{name}: {e}"));
    (update, root)
}

fn price_feeds(update: &AccumulatorUpdate) -> Vec<PriceFeedMessage> {
    update
        .updates
        .iter()
        .filter_map(|u| u.parse_message().unwrap().as_price_feed().copied())
        .collect()
}

fn id(hex_id: &str) -> B256 {
    hex_id.parse().unwrap()
}

const PYTHNET_EMITTER: &str = "e101faedac5851e32b9b23b5f9411a8c2bac4aae3ed4dd7b811dd1a72ea4aa71";

#[test]
fn every_fixture_decodes_from_hex_or_base64() {
    let names = fixtures();
    assert_eq!(names.len(), 13, "{names:?}");
    for name in &names {
        let bytes = load(name);
        let magic = &bytes[..4];
        if name.starts_with("p2wh_") {
            assert_eq!(bytes[0], 1, "{name}: a bare VAA v1");
        } else {
            assert_eq!(magic, b"PNAU", "{name}");
        }
    }
    // The input decoder against a known prefix, in both encodings.
    let read = hedgedesk::oracle::decode::read_input;
    assert_eq!(read("UE5BVQ==").unwrap(), b"PNAU");
    assert_eq!(read("0x504e415501").unwrap(), b"PNAU\x01");
}

#[test]
fn every_valid_pnau_parses_and_every_proof_reaches_the_signed_root() {
    let names = pnau_fixtures();
    assert_eq!(names.len(), 11);
    let mut checked = 0;
    for name in &names {
        let (update, root) = parse(name);
        assert_eq!((update.major, update.proof_type), (1, 0), "{name}");
        assert!(!update.updates.is_empty(), "{name}");
        assert_eq!(
            vaa_emitter(&update.vaa),
            (26, PYTHNET_EMITTER.into()),
            "{name}"
        );
        assert_eq!(root.ring_size, 10_000, "{name}");
        let results = check_updates(&update.updates, &root.root);
        for (i, result) in results.iter().enumerate() {
            if name.contains("BAD") && i == 1 {
                let err = result.as_ref().expect_err("the BAD fixture's message 1");
                assert_eq!((err.index, err.expected), (1, root.root));
                assert!(
                    err.to_string().starts_with("message 1: Merkle proof"),
                    "{err}"
                );
            } else {
                assert!(result.is_ok(), "{name} message {i}: {result:?}");
                checked += 1;
            }
        }
        for u in &update.updates {
            let message = u.parse_message().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                matches!(message, Message::PriceFeed(_) | Message::Twap(_)),
                "{name}"
            );
        }
    }
    assert_eq!(checked, 18, "proofs that verified");
}

#[test]
fn the_bad_fixture_fails_on_message_1_only() {
    let (bad, root) = parse("pnau_gs3_2feeds_fuel_BAD_merkle_msg1.hex");
    let (good, good_root) = parse("pnau_gs3_2feeds_fuel_valid.hex");
    assert_eq!(bad.vaa, good.vaa, "the same signed VAA");
    assert_eq!(root, good_root);
    let m0 = &bad.updates[0];
    let m1 = &bad.updates[1];
    assert!(verify_proof(&m0.message, &m0.proof, &root.root));
    assert!(!verify_proof(&m1.message, &m1.proof, &root.root));
    assert_eq!(m0, &good.updates[0]);
    // The README says message 1 "was altered"; the bytes show the alteration is the last byte
    // of the file, i.e. the final node of message 1's proof: the message itself is intact.
    assert_eq!(m1.message, good.updates[1].message);
    assert_ne!(m1.proof, good.updates[1].proof, "the tampered proof");
    assert_eq!(m1.proof[..9], good.updates[1].proof[..9]);
    assert!(verify_proof(
        &good.updates[1].message,
        &good.updates[1].proof,
        &root.root
    ));
    // Message 1 still parses: only the Merkle check catches the tampering.
    assert!(matches!(m1.parse_message(), Ok(Message::PriceFeed(_))));
    let results = check_updates(&bad.updates, &root.root);
    assert!(results[0].is_ok());
    assert_eq!(results[1].as_ref().unwrap_err().index, 1);
}

#[test]
fn the_twap_fixture_yields_type_1_messages_reported_as_skipped() {
    let (update, root) = parse("pnau_gs4_twap_msgs_jssdk_test.b64");
    assert_eq!(update.updates.len(), 3);
    let expected_ids = [
        "49f6b65cb1de6b10eaf75e7c03ca029c306d0357e91b5311b175084a5ad55688",
        "2b9ab1e972a281585084148ba1389800799bd4be63b957507db1349314e47445",
        "2a01deaec9e51a579277b34b122399984d0bbf57e2458a7e42fecd2829867a0d",
    ];
    for (u, want) in update.updates.iter().zip(expected_ids) {
        assert_eq!(u.message.len(), 101);
        assert!(verify_proof(&u.message, &u.proof, &root.root));
        let message = u.parse_message().unwrap();
        assert_eq!(message.kind(), 1);
        assert_eq!(message.feed_id(), Some(id(want)));
        assert!(message.as_price_feed().is_none());
        let note = message.skip_note().unwrap();
        assert!(
            note.contains("TWAP message (type 1)") && note.contains("skipped"),
            "{note}"
        );
        let Message::Twap(t) = message else {
            panic!("not a TWAP")
        };
        assert!(t.exponent < 0 && t.exponent > -20, "{t:?}");
        assert!(t.publish_time > 1_600_000_000 && t.prev_publish_time <= t.publish_time);
        assert!(t.cumulative_price > 0 && t.publish_slot > 0, "{t:?}");
    }
    assert!(price_feeds(&update).is_empty());
}

#[test]
fn values_match_hermes_parsed_response() {
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_dir().join("hermes_v2_latest_response_example.json"))
            .unwrap(),
    )
    .unwrap();
    let binary = hex::decode(json["binary"]["data"][0].as_str().unwrap()).unwrap();
    assert_eq!(binary, load("pnau_gs4_btc_c964_2feeds_devhub.hex"));
    let update = AccumulatorUpdate::parse(&binary).unwrap();
    let root = parse_merkle_root(vaa_payload(&update.vaa)).unwrap();
    let feeds = price_feeds(&update);
    let parsed = json["parsed"].as_array().unwrap();
    assert_eq!(feeds.len(), parsed.len());
    let num = |v: &serde_json::Value| -> i128 {
        match v {
            serde_json::Value::String(s) => s.parse().unwrap(),
            other => other.as_i64().unwrap().into(),
        }
    };
    for (feed, want) in feeds.iter().zip(parsed) {
        assert_eq!(feed.feed_id, id(want["id"].as_str().unwrap()));
        assert_eq!(i128::from(feed.price), num(&want["price"]["price"]));
        assert_eq!(i128::from(feed.conf), num(&want["price"]["conf"]));
        assert_eq!(i128::from(feed.exponent), num(&want["price"]["expo"]));
        assert_eq!(
            i128::from(feed.publish_time),
            num(&want["price"]["publish_time"])
        );
        assert_eq!(i128::from(feed.ema_price), num(&want["ema_price"]["price"]));
        assert_eq!(i128::from(feed.ema_conf), num(&want["ema_price"]["conf"]));
        assert_eq!(
            i128::from(feed.prev_publish_time),
            num(&want["metadata"]["prev_publish_time"])
        );
        assert_eq!(i128::from(root.slot), num(&want["metadata"]["slot"]));
    }
}

#[test]
fn concrete_values_of_three_more_fixtures() {
    let btc = id("e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43");
    let eth = id("ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace");

    // Hermes's doc example (base64, guardian set 3): slot 85480034 per the README.
    let (update, root) = parse("hermes_doc_example_pnau.b64");
    assert_eq!(root.slot, 85_480_034);
    let feeds = price_feeds(&update);
    assert_eq!(feeds.len(), 1);
    assert_eq!(feeds[0].feed_id, btc);
    assert_eq!(feeds[0].exponent, -8);

    // The TON fixture: BTC + ETH.
    let (update, _) = parse("pnau_gs4_btc_eth_ton.hex");
    let ids: Vec<B256> = price_feeds(&update).iter().map(|f| f.feed_id).collect();
    assert_eq!(ids, vec![btc, eth]);

    // The Fuel fixture (guardian set 3): ETH + eaa020c6.
    let (update, root) = parse("pnau_gs3_2feeds_fuel_valid.hex");
    assert_eq!(root.slot, 0x07c0_e25b);
    assert_eq!(
        hex::encode(root.root),
        "16cf8c2f2b7d5930db82bbc329e98403bec6b29b"
    );
    let feeds = price_feeds(&update);
    assert_eq!(feeds[0].feed_id, eth);
    assert_eq!(
        feeds[1].feed_id,
        id("eaa020c61cc479712813461ce153894a96a6c00b21ed0cfc2798d1f9a9e9c94a")
    );
    for f in &feeds {
        assert_eq!(f.exponent, -8);
        assert!(f.price > 0 && f.conf > 0 && f.ema_price > 0);
        assert!(f.prev_publish_time <= f.publish_time);
    }

    // The JS SDK fixture: three feeds (c964…, ETH, ef0d…).
    let (update, _) = parse("pnau_gs4_3feeds_jssdk_test.b64");
    let ids: Vec<B256> = price_feeds(&update).iter().map(|f| f.feed_id).collect();
    assert_eq!(
        ids,
        vec![
            id("c96458d393fe9deb7a7d63a0ac41e2898a67a7750dbd166673279e06c868df0a"),
            eth,
            id("ef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d"),
        ]
    );

    // The pythnet SDK wire test: one feed with a 12-node path.
    let (update, _) = parse("pnau_gs4_1feed_pythnet_sdk_wire_test.hex");
    assert_eq!(update.updates.len(), 1);
    assert_eq!(update.updates[0].proof.len(), 12);
}

#[test]
fn p2wh_fixtures_decode_into_five_attestations() {
    for name in [
        "p2wh_batch_attestation_vaa_gs3_fuel_line59.hex",
        "p2wh_batch_attestation_vaa_gs3_fuel_line60.hex",
    ] {
        let vaa = load(name);
        assert_eq!(
            vaa_emitter(&vaa),
            (
                26,
                "f8cd23c2ab91237730770bbea08d61005cdda0984348f3f6eecb559638c0bba0".into()
            ),
            "{name}"
        );
        let batch = BatchPriceAttestation::parse(vaa_payload(&vaa))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((batch.major, batch.minor, batch.payload_id), (3, 1, 2));
        assert_eq!(batch.attestation_size, 157);
        assert_eq!(batch.attestations.len(), 5, "{name}");
        for a in &batch.attestations {
            assert_eq!(a.attestation_time, 1_695_132_706, "{name}");
            assert!(a.last_attested_publish_time.is_some());
        }
    }

    let vaa = load("p2wh_batch_attestation_vaa_gs3_fuel_line59.hex");
    let batch = BatchPriceAttestation::parse(vaa_payload(&vaa)).unwrap();
    let eth = &batch.attestations[2];
    assert_eq!(
        eth.price_id,
        id("ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace")
    );
    assert_eq!(
        (eth.price, eth.conf, eth.expo),
        (164_086_958_840, 70_061_350, -8)
    );
    assert_eq!((eth.ema_price, eth.ema_conf), (164_394_779_000, 59_268_206));
    assert_eq!(
        (eth.status, eth.num_publishers, eth.max_num_publishers),
        (1, 28, 32)
    );
    assert_eq!(
        (eth.publish_time, eth.prev_publish_time),
        (1_695_132_706, 1_695_132_705)
    );
    assert_eq!(
        (eth.prev_price, eth.prev_conf),
        (164_086_369_068, 66_563_182)
    );
    assert_eq!(eth.last_attested_publish_time, Some(1_695_132_705));
    // An attestation with no price yet (status unknown).
    let empty = &batch.attestations[4];
    assert_eq!(
        (empty.status, empty.price, empty.prev_publish_time),
        (0, 0, 0)
    );

    let vaa = load("p2wh_batch_attestation_vaa_gs3_fuel_line60.hex");
    let batch = BatchPriceAttestation::parse(vaa_payload(&vaa)).unwrap();
    let first = &batch.attestations[0];
    assert_eq!((first.price, first.conf, first.expo), (73_660, 95, -10));
    assert_eq!(
        batch.attestations[4].price_id,
        id("eaa020c61cc479712813461ce153894a96a6c00b21ed0cfc2798d1f9a9e9c94a")
    );
}

// ---- bad input --------------------------------------------------------------------------

fn what(err: &WireError) -> &str {
    match err {
        WireError::Truncated { what, .. }
        | WireError::Invalid { what, .. }
        | WireError::Trailing { what, .. } => what,
    }
}

#[test]
fn truncation_at_any_offset_is_an_error_naming_the_field() {
    let bytes = load("pnau_gs4_btc_c964_2feeds_devhub.hex");
    // header: magic 0..4, major 4, minor 5, trailing header len 6, proof type 7, vaa len 8..10,
    // vaa 10..962, count 962, message 0 len 963..965, message 965..1050, proof len 1050, …
    let cases = [
        (0, "accumulator.magic"),
        (3, "accumulator.magic"),
        (4, "accumulator.major_version"),
        (5, "accumulator.minor_version"),
        (6, "accumulator.trailing_header_len"),
        (7, "accumulator.proof_type"),
        (9, "accumulator.vaa_len"),
        (10, "accumulator.vaa"),
        (500, "accumulator.vaa"),
        (962, "accumulator.num_updates"),
        (964, "accumulator.update[0].message_len"),
        (1000, "accumulator.update[0].message"),
        (1050, "accumulator.update[0].proof_len"),
        (1060, "accumulator.update[0].proof"),
        (1538, "accumulator.update[1].proof"),
    ];
    for (len, field) in cases {
        let err = AccumulatorUpdate::parse(&bytes[..len]).unwrap_err();
        assert!(
            matches!(err, WireError::Truncated { .. }),
            "cut at {len}: {err}"
        );
        assert_eq!(what(&err), field, "cut at {len}: {err}");
        assert!(
            err.to_string()
                .starts_with(&format!("{field}: truncated at byte"))
        );
    }
    // Every other cut fails too, never panics.
    for len in 0..bytes.len() {
        assert!(
            AccumulatorUpdate::parse(&bytes[..len]).is_err(),
            "cut at {len}"
        );
    }
}

#[test]
fn oversized_input_is_rejected_as_trailing_bytes() {
    let mut bytes = load("pnau_gs4_btc_devhub_137.hex");
    let len = bytes.len();
    bytes.extend([0, 0, 0]);
    let err = AccumulatorUpdate::parse(&bytes).unwrap_err();
    assert_eq!(
        err,
        WireError::Trailing {
            what: "accumulator".into(),
            offset: len,
            extra: 3
        }
    );
    assert!(
        err.to_string().contains("3 unexpected trailing byte(s)"),
        "{err}"
    );

    let vaa = load("p2wh_batch_attestation_vaa_gs3_fuel_line59.hex");
    let mut payload = vaa_payload(&vaa).to_vec();
    payload.push(0);
    let err = BatchPriceAttestation::parse(&payload).unwrap_err();
    assert_eq!(what(&err), "p2wh");
    assert!(matches!(err, WireError::Trailing { extra: 1, .. }));
}

#[test]
fn a_wrong_magic_is_rejected() {
    let mut bytes = load("pnau_gs4_btc_devhub_137.hex");
    bytes[0] = b'X';
    let err = AccumulatorUpdate::parse(&bytes).unwrap_err();
    assert_eq!(what(&err), "accumulator.magic");
    assert!(
        err.to_string()
            .contains("expected 0x504e4155, got 0x584e4155"),
        "{err}"
    );

    // A P2WH VAA is not an accumulator update, nor is its payload an AUWV root.
    let vaa = load("p2wh_batch_attestation_vaa_gs3_fuel_line59.hex");
    assert_eq!(
        what(&AccumulatorUpdate::parse(&vaa).unwrap_err()),
        "accumulator.magic"
    );
    let err = parse_merkle_root(vaa_payload(&vaa)).unwrap_err();
    assert_eq!(what(&err), "merkle_root.magic");
    // Nor is an AUWV payload a P2WH batch.
    let (update, _) = parse("pnau_gs4_btc_devhub_137.hex");
    let err = BatchPriceAttestation::parse(vaa_payload(&update.vaa)).unwrap_err();
    assert_eq!(what(&err), "p2wh.magic");
}

#[test]
fn a_wrong_major_version_is_rejected() {
    let mut bytes = load("pnau_gs4_btc_devhub_137.hex");
    bytes[4] = 2;
    let err = AccumulatorUpdate::parse(&bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "accumulator.major_version: unsupported major version 2 (expected 1) (at byte 4)"
    );
    // A later minor version with extra header bytes still parses.
    let mut bytes = load("pnau_gs4_btc_devhub_137.hex");
    bytes[5] = 9;
    bytes[6] = 2;
    bytes.splice(7..7, [0xca, 0xfe]);
    let update = AccumulatorUpdate::parse(&bytes).unwrap();
    assert_eq!(
        (update.minor, update.trailing_header.clone()),
        (9, vec![0xca, 0xfe])
    );

    let vaa = load("p2wh_batch_attestation_vaa_gs3_fuel_line59.hex");
    let mut payload = vaa_payload(&vaa).to_vec();
    payload[5] = 2;
    let err = BatchPriceAttestation::parse(&payload).unwrap_err();
    assert_eq!(what(&err), "p2wh.major_version");
    assert!(
        err.to_string().contains("unsupported major version 2"),
        "{err}"
    );
}

#[test]
fn a_message_of_the_wrong_length_is_rejected() {
    let (update, _) = parse("pnau_gs4_btc_devhub_137.hex");
    let message = &update.updates[0].message;
    assert_eq!(message.len(), 85);
    let mut long = message.clone();
    long.push(0);
    let err = Message::parse(&long).unwrap_err();
    assert_eq!(what(&err), "price_feed_message");
    assert!(
        err.to_string()
            .contains("expected 84 bytes after the type byte, got 85")
    );
    let err = Message::parse(&message[..84]).unwrap_err();
    assert!(err.to_string().contains("got 83"), "{err}");

    // A TWAP message cut short is also an error, not a silent skip.
    let (twap, _) = parse("pnau_gs4_twap_msgs_jssdk_test.b64");
    let err = Message::parse(&twap.updates[0].message[..100]).unwrap_err();
    assert_eq!(what(&err), "twap_message");

    // An unknown type parses, so a decoder can report it.
    let mut unknown = message.clone();
    unknown[0] = 9;
    assert_eq!(
        Message::parse(&unknown).unwrap(),
        Message::Unknown { kind: 9, len: 85 }
    );
}

#[test]
fn a_truncated_merkle_root_names_the_field() {
    let (update, root) = parse("pnau_gs4_btc_devhub_137.hex");
    let payload = vaa_payload(&update.vaa);
    assert_eq!(payload.len(), 4 + 1 + 8 + 4 + 20);
    for (len, field) in [
        (4, "merkle_root.update_type"),
        (5, "merkle_root.slot"),
        (13, "merkle_root.ring_size"),
        (17, "merkle_root.root"),
        (36, "merkle_root.root"),
    ] {
        assert_eq!(
            what(&parse_merkle_root(&payload[..len]).unwrap_err()),
            field
        );
    }
    assert_eq!(root.slot, 0x0847_3bf6);
}
