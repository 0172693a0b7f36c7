//! `hedgedesk oracle decode` over every real fixture in tests/fixtures/pyth: the valid ones
//! verify (13 of 19 guardians, the Pythnet emitter, every Merkle proof) with the right
//! values; the BAD one fails on message 1's proof; TWAP messages are reported skipped;
//! P2WH batch attestations decode (issue 5, Done-when 1).

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::Desk;
use serde_json::Value;

const LEGACY_P2W: &str = "0xf8cd23c2ab91237730770bbea08d61005cdda0984348f3f6eecb559638c0bba0";

fn fixture(name: &str) -> PathBuf {
    common::repo().join("tests/fixtures/pyth").join(name)
}

fn decode(desk: &Desk, args: &[&str], stdin: Option<&str>) -> (Output, Value) {
    let mut cmd = desk.cmd();
    cmd.args(["oracle", "decode"]).args(args);
    let out = match stdin {
        Some(text) => common::output_with_stdin(cmd, text),
        None => cmd.output().unwrap(),
    };
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, report)
}

fn decode_file(desk: &Desk, name: &str) -> (Output, Value) {
    decode(desk, &[fixture(name).to_str().unwrap()], None)
}

const VALID_PNAU: &[&str] = &[
    "hermes_doc_example_pnau.b64",
    "pnau_gs3_2feeds_fuel_valid.hex",
    "pnau_gs4_1feed_pythnet_sdk_wire_test.hex",
    "pnau_gs4_1feed_stylus_2025_a.hex",
    "pnau_gs4_3feeds_jssdk_test.b64",
    "pnau_gs4_btc_c964_2feeds_devhub.hex",
    "pnau_gs4_btc_devhub_137.hex",
    "pnau_gs4_btc_eth_ton.hex",
    "pnau_gs4_btc_stylus_2025_b.hex",
];

#[test]
fn every_valid_update_verifies() {
    let desk = Desk::new("oracle_decode_valid");
    for name in VALID_PNAU {
        let (out, r) = decode_file(&desk, name);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(r["ok"], true, "{name}: {r:#}");
        assert_eq!(r["kind"], "accumulator_update");
        assert_eq!(r["signature_check"]["ok"], true);
        assert!(
            r["signature_check"]["valid"].as_u64().unwrap() >= 13,
            "{name}"
        );
        assert_eq!(r["signature_check"]["quorum"], 13);
        assert_eq!(r["emitter_check"]["ok"], true);
        assert_eq!(r["vaa"]["emitter_chain"], 26);
        let set = r["vaa"]["guardian_set_index"].as_u64().unwrap();
        assert!(set == 3 || set == 4, "{name}: set {set}");
        for m in r["messages"].as_array().unwrap() {
            assert_eq!(m["merkle_proof"], "ok", "{name}: {m}");
            assert_eq!(m["type"], "price_feed", "{name}: {m}");
        }
    }
}

#[test]
fn values_match_what_hermes_parsed() {
    let desk = Desk::new("oracle_decode_values");
    let (_, r) = decode_file(&desk, "pnau_gs4_btc_c964_2feeds_devhub.hex");
    let btc = &r["messages"][0];
    assert_eq!(
        btc["feed_id"],
        "0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43"
    );
    assert_eq!(btc["price"], 6_140_993_501_000i64);
    assert_eq!(btc["conf"], 3_287_868_567u64);
    assert_eq!(btc["exponent"], -8);
    assert_eq!(btc["publish_time"], 1_714_746_101);
    assert_eq!(btc["prev_publish_time"], 1_714_746_101);
    assert_eq!(btc["ema_price"], 6_094_004_700_000i64);
    assert_eq!(btc["ema_conf"], 3_792_887_800u64);
    let second = &r["messages"][1];
    assert_eq!(second["price"], 4_959_503);
    assert_eq!(second["conf"], 5_465);
    assert_eq!(r["merkle_root"]["slot"], 138_881_186);
    assert_eq!(r["guardian_set"]["index"], 4);
    assert_eq!(r["guardian_set"]["guardians"], 19);
}

#[test]
fn the_bad_fixture_fails_on_message_1s_merkle_proof() {
    let desk = Desk::new("oracle_decode_bad");
    let (out, r) = decode_file(&desk, "pnau_gs3_2feeds_fuel_BAD_merkle_msg1.hex");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(r["ok"], false);
    assert_eq!(r["signature_check"]["ok"], true, "the VAA itself is fine");
    assert_eq!(r["messages"][0]["merkle_proof"], "ok");
    assert_eq!(r["messages"][1]["merkle_proof"], "FAILED");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("message 1: Merkle proof"), "{stderr}");
}

#[test]
fn twap_messages_are_reported_skipped() {
    let desk = Desk::new("oracle_decode_twap");
    let (out, r) = decode_file(&desk, "pnau_gs4_twap_msgs_jssdk_test.b64");
    assert!(out.status.success(), "{r:#}");
    let messages = r["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    for m in messages {
        assert_eq!(m["type"], "twap", "{m}");
        assert!(m["note"].as_str().unwrap().contains("skipped"), "{m}");
        assert_eq!(m["merkle_proof"], "ok");
    }
}

#[test]
fn p2wh_batch_attestations_decode_and_verify_with_their_emitter() {
    let desk = Desk::new("oracle_decode_p2wh");
    // With the accumulator emitter (the default) the legacy emitter is refused...
    let (out, r) = decode_file(&desk, "p2wh_batch_attestation_vaa_gs3_fuel_line59.hex");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(r["signature_check"]["ok"], true);
    assert_eq!(r["emitter_check"]["ok"], false);
    assert_eq!(r["p2wh"]["attestations"].as_array().unwrap().len(), 5);
    // ... and accepted when configured.
    std::fs::write(
        &desk.config,
        format!("[oracle]\nemitter_address = \"{LEGACY_P2W}\"\n"),
    )
    .unwrap();
    for name in [
        "p2wh_batch_attestation_vaa_gs3_fuel_line59.hex",
        "p2wh_batch_attestation_vaa_gs3_fuel_line60.hex",
    ] {
        let (out, r) = decode_file(&desk, name);
        assert!(out.status.success(), "{name}: {r:#}");
        assert_eq!(r["kind"], "vaa");
        assert_eq!(r["p2wh"]["attestations"].as_array().unwrap().len(), 5);
    }
}

#[test]
fn stdin_base64_and_a_custom_guardian_set_file() {
    let desk = Desk::new("oracle_decode_stdin");
    let b64 = std::fs::read_to_string(fixture("pnau_gs4_3feeds_jssdk_test.b64")).unwrap();
    let (out, r) = decode(&desk, &["-"], Some(&b64));
    assert!(out.status.success(), "{r:#}");
    assert_eq!(r["messages"].as_array().unwrap().len(), 3);

    // A guardian-set file without set 4: the update cannot be verified, and says why.
    let sets = desk.root.join("sets.json");
    let mainnet: Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("src/oracle/data/guardian_sets_mainnet.json"))
            .unwrap(),
    )
    .unwrap();
    let only_3: Vec<Value> = mainnet["sets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["index"] == 3)
        .cloned()
        .collect();
    std::fs::write(&sets, serde_json::json!({ "sets": only_3 }).to_string()).unwrap();
    let (out, r) = decode(
        &desk,
        &[
            "--guardian-set",
            sets.to_str().unwrap(),
            fixture("pnau_gs4_btc_eth_ton.hex").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        r["errors"][0]
            .as_str()
            .unwrap()
            .contains("unknown guardian set 4"),
        "{r:#}"
    );
}

#[test]
fn bad_input_is_named_and_fails() {
    let desk = Desk::new("oracle_decode_bad_input");
    let valid = std::fs::read_to_string(fixture("pnau_gs4_btc_eth_ton.hex")).unwrap();
    let valid = valid.trim();
    // Truncated in the middle of the VAA's signatures.
    let (out, r) = decode(&desk, &["-"], Some(&valid[..300]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        r["errors"][0].as_str().unwrap().contains("truncated"),
        "{r:#}"
    );
    // Not hex, not base64.
    let out = common::output_with_stdin(
        {
            let mut c = desk.cmd();
            c.args(["oracle", "decode", "-"]);
            c
        },
        "this is not an update!",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("neither hex nor base64"));
    // A forged signature: flip one byte of the first signature's s.
    let mut bytes = hex::decode(valid).unwrap();
    let vaa_start = 4 + 1 + 1 + 1 + usize::from(bytes[6]) + 1 + 2;
    bytes[vaa_start + 6 + 1 + 40] ^= 0x01;
    let (out, r) = decode(&desk, &["-"], Some(&hex::encode(&bytes)));
    assert_eq!(out.status.code(), Some(1), "{r:#}");
    assert_eq!(r["signature_check"]["ok"], false, "{r:#}");
}
