//! AnyHedge oracle messages: the 16-byte format, BCH Schnorr against published test
//! vectors and real General Protocols messages, ECDSA with recovery cross-checked with
//! alloy, and the `anyhedge verify-message` command.

use std::process::Command;

use alloy::primitives::{B256, Signature as AlloySignature};
use alloy::signers::local::PrivateKeySigner;
use hedgedesk::anyhedge::message::{
    MessageError, OracleMessage, Scheme, VerifyError, ecdsa, oracle_address, schnorr, verify,
    verify_message_json,
};
use k256::ecdsa::SigningKey;
use k256::{PublicKey, SecretKey};
use sha2::{Digest, Sha256};

/// The 2018 bip-schnorr draft's test vectors (33-byte compressed keys, Jacobi symbol on
/// R.y), which the Bitcoin Cash 2019-05-15 Schnorr spec adopted. Copied verbatim from
/// jonasnick/bips, `bip-schnorr/test-vectors.csv` at commit
/// 7c771aa952e358c74d36e9c38172c09780eebb76. `message` is the 32-byte `m` that is signed.
const BIP_SCHNORR_2018: &str = "\
index,secret key,public key,message,signature,verification result,comment
1,0000000000000000000000000000000000000000000000000000000000000001,0279BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,0000000000000000000000000000000000000000000000000000000000000000,787A848E71043D280C50470E8E1532B2DD5D20EE912A45DBDD2BD1DFBF187EF67031A98831859DC34DFFEEDDA86831842CCD0079E1F92AF177F7F22CC1DCED05,TRUE,
2,B7E151628AED2A6ABF7158809CF4F3C762E7160F38B4DA56A784D9045190CFEF,02DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659,243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89,2A298DACAE57395A15D0795DDBFD1DCB564DA82B0F269BC70A74F8220429BA1D1E51A22CCEC35599B8F266912281F8365FFC2D035A230434A1A64DC59F7013FD,TRUE,
3,C90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B14E5C7,03FAC2114C2FBB091527EB7C64ECB11F8021CB45E8E7809D3C0938E4B8C0E5F84B,5E2D58D8B3BCDF1ABADEC7829054F90DDA9805AAB56C77333024B9D0A508B75C,00DA9B08172A9B6F0466A2DEFD817F2D7AB437E0D253CB5395A963866B3574BE00880371D01766935B92D2AB4CD5C8A2A5837EC57FED7660773A05F0DE142380,TRUE,
4,,03DEFDEA4CDB677750A420FEE807EACF21EB9898AE79B9768766E4FAA04A2D4A34,4DF3C3F68FCC83B27E9D42C90431A72499F17875C81A599B566C9889B9696703,00000000000000000000003B78CE563F89A0ED9414F5AA28AD0D96D6795F9C6302A8DC32E64E86A333F20EF56EAC9BA30B7246D6D25E22ADB8C6BE1AEB08D49D,TRUE,
5,,031B84C5567B126440995D3ED5AABA0565D71E1834604819FF9C17F5E9D5DD078F,0000000000000000000000000000000000000000000000000000000000000000,52818579ACA59767E3291D91B76B637BEF062083284992F2D95F564CA6CB4E3530B1DA849C8E8304ADC0CFE870660334B3CFC18E825EF1DB34CFAE3DFC5D8187,TRUE,\"test fails if jacobi symbol of x(R) instead of y(R) is used\"
6,,03FAC2114C2FBB091527EB7C64ECB11F8021CB45E8E7809D3C0938E4B8C0E5F84B,FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF,570DD4CA83D4E6317B8EE6BAE83467A1BF419D0767122DE409394414B05080DCE9EE5F237CBD108EABAE1E37759AE47F8E4203DA3532EB28DB860F33D62D49BD,TRUE,\"test fails if msg is reduced modulo p or n\"
7,,03EEFDEA4CDB677750A420FEE807EACF21EB9898AE79B9768766E4FAA04A2D4A34,4DF3C3F68FCC83B27E9D42C90431A72499F17875C81A599B566C9889B9696703,00000000000000000000003B78CE563F89A0ED9414F5AA28AD0D96D6795F9C6302A8DC32E64E86A333F20EF56EAC9BA30B7246D6D25E22ADB8C6BE1AEB08D49D,FALSE,\"public key not on the curve\"
8,,02DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659,243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89,2A298DACAE57395A15D0795DDBFD1DCB564DA82B0F269BC70A74F8220429BA1DFA16AEE06609280A19B67A24E1977E4697712B5FD2943914ECD5F730901B4AB7,FALSE,\"incorrect R residuosity\"
9,,03FAC2114C2FBB091527EB7C64ECB11F8021CB45E8E7809D3C0938E4B8C0E5F84B,5E2D58D8B3BCDF1ABADEC7829054F90DDA9805AAB56C77333024B9D0A508B75C,00DA9B08172A9B6F0466A2DEFD817F2D7AB437E0D253CB5395A963866B3574BED092F9D860F1776A1F7412AD8A1EB50DACCC222BC8C0E26B2056DF2F273EFDEC,FALSE,\"negated message\"
10,,0279BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,0000000000000000000000000000000000000000000000000000000000000000,787A848E71043D280C50470E8E1532B2DD5D20EE912A45DBDD2BD1DFBF187EF68FCE5677CE7A623CB20011225797CE7A8DE1DC6CCD4F754A47DA6C600E59543C,FALSE,\"negated s value\"
11,,03DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659,243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89,2A298DACAE57395A15D0795DDBFD1DCB564DA82B0F269BC70A74F8220429BA1D1E51A22CCEC35599B8F266912281F8365FFC2D035A230434A1A64DC59F7013FD,FALSE,\"negated public key\"
12,,02DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659,243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89,00000000000000000000000000000000000000000000000000000000000000009E9D01AF988B5CEDCE47221BFA9B222721F3FA408915444A4B489021DB55775F,FALSE,\"sG - eP is infinite. Test fails in single verification if jacobi(y(inf)) is defined as 1 and x(inf) as 0\"
13,,02DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659,243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89,0000000000000000000000000000000000000000000000000000000000000001D37DDF0254351836D84B1BD6A795FD5D523048F298C4214D187FE4892947F728,FALSE,\"sG - eP is infinite. Test fails in single verification if jacobi(y(inf)) is defined as 1 and x(inf) as 1\"
14,,02DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659,243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89,4A298DACAE57395A15D0795DDBFD1DCB564DA82B0F269BC70A74F8220429BA1D1E51A22CCEC35599B8F266912281F8365FFC2D035A230434A1A64DC59F7013FD,FALSE,\"sig[0:32] is not an X coordinate on the curve\"
15,,02DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659,243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89,FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC2F1E51A22CCEC35599B8F266912281F8365FFC2D035A230434A1A64DC59F7013FD,FALSE,\"sig[0:32] is equal to field size\"
16,,02DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659,243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89,2A298DACAE57395A15D0795DDBFD1DCB564DA82B0F269BC70A74F8220429BA1DFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,FALSE,\"sig[32:64] is equal to curve order\"
";

/// A real message of General Protocols' production USD/BCH oracle: the starting message of an
/// AnyHedge v0.12 contract (startTimestamp 1720889301, startPrice 37114), from the contract
/// dump in henryf3/bch_mutual_redemption_tool `readme.md`.
const GP_USD_PUBKEY: &str = "02d09db08af1ff4e8453919cc866a4be427d7bfe18f2c05e5444c196fcf6fd2818";
const GP_USD_MESSAGE: &str = "d5af92662aa30a0013a30a00fa900000";
const GP_USD_SIGNATURE: &str = "6b319b5280b9b0b0ca7668c84aa26536c87c5b3977900fbf363cfe3c2d7eb465ac023cf1c750ed1840b6221aa3e7ed1b47a58afdd24857e843d9ef063f50a3e9";

/// The fake oracle message of watchtower-cash's AnyHedge test contract and the test key it
/// publishes (paytaca/watchtower-cash `anyhedge/tests/data/anyhedge-test-data.json`). Its
/// generator (`anyhedge/tests/data/factory.py`) signs with pybitcointools' `ecdsa_sign`, a
/// Bitcoin signed-message signature (header byte first), not a GP oracle signature.
const WT_PRIVKEY: &str = "d7f20d9171d58b335a1f1d592e6d0938c0d04a05c1f6ee26594863439026aa35";
const WT_PUBKEY: &str = "02e2a7f6e2df82c403f231fd9930d19fb0015174cefe5bc1e9c7b1fb6bfda833b3";
const WT_MESSAGE: &str = "1e31db639e0daa019b0daa01c02a0000";
const WT_SIGNATURE: &str = "1bb941ffbcad479aaf725120b7153a3d619a0361e0a10d0cd678fffd18e1e30f992f4cca3dc936fd74d4a523c9fcb25b5f2b6122607b51c7bb91bed49aac37725b";

/// secp256k1's group order n.
const CURVE_ORDER: &str = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141";

struct Vector {
    index: u32,
    secret: Option<Vec<u8>>,
    pubkey: Vec<u8>,
    digest: [u8; 32],
    signature: [u8; 64],
    valid: bool,
}

fn vectors() -> Vec<Vector> {
    BIP_SCHNORR_2018
        .lines()
        .skip(1)
        .map(|line| {
            let cols: Vec<&str> = line.splitn(7, ',').collect();
            Vector {
                index: cols[0].parse().unwrap(),
                secret: (!cols[1].is_empty()).then(|| hex::decode(cols[1]).unwrap()),
                pubkey: hex::decode(cols[2]).unwrap(),
                digest: hex::decode(cols[3]).unwrap().try_into().unwrap(),
                signature: hex::decode(cols[4]).unwrap().try_into().unwrap(),
                valid: cols[5] == "TRUE",
            }
        })
        .collect()
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

#[test]
fn bip_schnorr_2018_vectors_verify_as_published() {
    let all = vectors();
    assert_eq!(all.len(), 16);
    for v in all {
        let outcome = match PublicKey::from_sec1_bytes(&v.pubkey) {
            Ok(key) => {
                schnorr::verify_digest(&key, &v.digest, &v.signature).map_err(|e| e.to_string())
            }
            Err(_) => Err("public key not on the curve".to_string()),
        };
        assert_eq!(
            outcome.is_ok(),
            v.valid,
            "vector {}: expected {}, got {outcome:?}",
            v.index,
            v.valid
        );
    }
}

#[test]
fn bip_schnorr_2018_vectors_fail_for_the_stated_reason() {
    let by_index = |i: u32| vectors().into_iter().find(|v| v.index == i).unwrap();
    let reason = |i: u32| {
        let v = by_index(i);
        let key = PublicKey::from_sec1_bytes(&v.pubkey).unwrap();
        schnorr::verify_digest(&key, &v.digest, &v.signature).unwrap_err()
    };
    assert_eq!(reason(8), schnorr::SchnorrError::RNotSquare);
    assert_eq!(reason(12), schnorr::SchnorrError::RInfinite);
    assert_eq!(reason(13), schnorr::SchnorrError::RInfinite);
    assert_eq!(reason(15), schnorr::SchnorrError::RNotBelowP);
    assert_eq!(reason(16), schnorr::SchnorrError::SNotBelowN);
    // The off-curve key is refused before any signature check, naming the pubkey.
    let v = by_index(7);
    let err = verify(&v.pubkey, &[1u8; 16], &v.signature).unwrap_err();
    assert_eq!(err.field(), "pubkey");
    assert_eq!(err.to_string(), "pubkey: not a point on secp256k1");
}

#[test]
fn deterministic_signer_reproduces_the_draft_vectors() {
    for v in vectors().into_iter().filter(|v| v.secret.is_some()) {
        let secret = SecretKey::from_slice(v.secret.as_ref().unwrap()).unwrap();
        assert_eq!(
            secret.public_key().to_sec1_bytes().as_ref(),
            v.pubkey.as_slice()
        );
        let signature = schnorr::sign_digest(&secret, &v.digest).unwrap();
        assert_eq!(
            hex::encode_upper(signature),
            hex::encode_upper(v.signature),
            "vector {}",
            v.index
        );
    }
}

#[test]
fn a_real_general_protocols_usd_message_verifies() {
    let verified = verify(
        &unhex(GP_USD_PUBKEY),
        &unhex(GP_USD_MESSAGE),
        &unhex(GP_USD_SIGNATURE),
    )
    .unwrap();
    assert_eq!(verified.scheme(), Scheme::BchSchnorr);
    assert_eq!(
        *verified.message(),
        OracleMessage {
            message_timestamp: 1720889301,
            message_sequence: 697130,
            price_sequence: 697107,
            price: 37114,
        }
    );
    assert_eq!(verified.pubkey_hex(), GP_USD_PUBKEY);
}

#[test]
fn a_bitcoin_signed_message_signature_is_refused_as_malformed() {
    // 65 bytes, but laid out header ‖ r ‖ s: its last byte is no `v`.
    let err = verify(&unhex(WT_PUBKEY), &unhex(WT_MESSAGE), &unhex(WT_SIGNATURE)).unwrap_err();
    assert_eq!(err.to_string(), "signature: v must be 27 or 28, got 91");
    // The fixture's private key is the fixture oracle's.
    let secret = SecretKey::from_slice(&unhex(WT_PRIVKEY)).unwrap();
    assert_eq!(hex::encode(secret.public_key().to_sec1_bytes()), WT_PUBKEY);
}

#[test]
fn schnorr_negatives_flipped_bit_wrong_key_s_at_order_r_at_field_size() {
    let pubkey = unhex(GP_USD_PUBKEY);
    let message = unhex(GP_USD_MESSAGE);
    let signature = unhex(GP_USD_SIGNATURE);

    let mut flipped = message.clone();
    flipped[12] ^= 0x01; // the price's lowest bit
    let err = verify(&pubkey, &flipped, &signature).unwrap_err();
    assert!(err.is_invalid_signature(), "{err}");
    assert_eq!(err.field(), "signature");

    let err = verify(&unhex(WT_PUBKEY), &message, &signature).unwrap_err();
    assert!(err.is_invalid_signature(), "{err}");

    let mut s_at_n = signature.clone();
    s_at_n[32..].copy_from_slice(&unhex(CURVE_ORDER));
    let err = verify(&pubkey, &message, &s_at_n).unwrap_err();
    assert_eq!(
        err,
        VerifyError::Invalid {
            scheme: Scheme::BchSchnorr,
            reason: "s is not below the curve order n".into()
        }
    );

    let mut flipped_sig = signature.clone();
    flipped_sig[63] ^= 0x80;
    assert!(
        verify(&pubkey, &message, &flipped_sig)
            .unwrap_err()
            .is_invalid_signature()
    );
}

#[test]
fn schnorr_signer_round_trips_through_verify() {
    let secret = SecretKey::from_slice(&unhex(WT_PRIVKEY)).unwrap();
    for price in [1, 10944, i32::MAX] {
        let message = OracleMessage {
            message_timestamp: 1_700_000_000,
            message_sequence: 42,
            price_sequence: 40,
            price,
        }
        .to_bytes();
        let signature = schnorr::sign(&secret, &message).unwrap();
        let verified = verify(&unhex(WT_PUBKEY), &message, &signature).unwrap();
        assert_eq!(verified.message().price, price);
    }
}

#[test]
fn ecdsa_signatures_recover_like_ecrecover() {
    let key = SigningKey::from_slice(&unhex(WT_PRIVKEY)).unwrap();
    let message = unhex(WT_MESSAGE);
    let signature = ecdsa::sign(&key, &message).unwrap();
    let verified = verify(&unhex(WT_PUBKEY), &message, &signature).unwrap();
    assert_eq!(verified.scheme(), Scheme::Ecdsa);

    // alloy's own key handling agrees on the address, and recovers the same signer from
    // the 65 bytes over sha256(message), as `ecrecover(sha256(message), v, r, s)` would.
    let signer = PrivateKeySigner::from_bytes(&B256::from_slice(&unhex(WT_PRIVKEY))).unwrap();
    assert_eq!(verified.oracle_address(), signer.address());
    assert_eq!(oracle_address(&unhex(WT_PUBKEY)).unwrap(), signer.address());
    let digest = B256::from_slice(&Sha256::digest(&message));
    let alloy_sig = AlloySignature::from_raw(&signature).unwrap();
    assert_eq!(
        alloy_sig.recover_address_from_prehash(&digest).unwrap(),
        signer.address()
    );
}

#[test]
fn ecdsa_negatives_flipped_bit_wrong_key_bad_v_high_s() {
    let key = SigningKey::from_slice(&unhex(WT_PRIVKEY)).unwrap();
    let pubkey = unhex(WT_PUBKEY);
    let message = unhex(WT_MESSAGE);
    let signature = ecdsa::sign(&key, &message).unwrap();

    let mut flipped = message.clone();
    flipped[0] ^= 0x01;
    assert!(
        verify(&pubkey, &flipped, &signature)
            .unwrap_err()
            .is_invalid_signature()
    );

    let err = verify(&unhex(GP_USD_PUBKEY), &message, &signature).unwrap_err();
    assert!(err.is_invalid_signature());
    assert!(err.to_string().contains("is not the oracle's"), "{err}");

    let mut bad_v = signature;
    bad_v[64] = 1;
    assert_eq!(
        verify(&pubkey, &message, &bad_v).unwrap_err().to_string(),
        "signature: v must be 27 or 28, got 1"
    );

    // The same signature with s replaced by n - s and v flipped: ecrecover would accept it,
    // we refuse the malleated twin.
    let n = alloy::primitives::U256::from_str_radix(CURVE_ORDER, 16).unwrap();
    let s = alloy::primitives::U256::from_be_slice(&signature[32..64]);
    let mut high = signature;
    high[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
    high[64] = if signature[64] == 27 { 28 } else { 27 };
    let err = verify(&pubkey, &message, &high).unwrap_err();
    assert!(err.is_invalid_signature());
    assert!(err.to_string().contains("low-s"), "{err}");

    let mut s_at_n = signature;
    s_at_n[32..64].copy_from_slice(&unhex(CURVE_ORDER));
    assert!(
        verify(&pubkey, &message, &s_at_n)
            .unwrap_err()
            .is_invalid_signature()
    );
}

#[test]
fn malformed_inputs_name_the_part_at_fault() {
    let pubkey = unhex(GP_USD_PUBKEY);
    let message = unhex(GP_USD_MESSAGE);
    let signature = unhex(GP_USD_SIGNATURE);

    let err = verify(&pubkey[..32], &message, &signature).unwrap_err();
    assert_eq!(
        err.to_string(),
        "pubkey: expected 33 bytes (a compressed secp256k1 key), got 32"
    );
    let mut uncompressed_prefix = pubkey.clone();
    uncompressed_prefix[0] = 0x04;
    assert_eq!(
        verify(&uncompressed_prefix, &message, &signature)
            .unwrap_err()
            .field(),
        "pubkey"
    );
    assert_eq!(
        verify(&pubkey, &message[..15], &signature)
            .unwrap_err()
            .to_string(),
        "message: expected 16 bytes, got 15"
    );
    assert_eq!(
        verify(&pubkey, &message, &signature[..63])
            .unwrap_err()
            .to_string(),
        "signature: expected 64 bytes (BCH Schnorr) or 65 bytes (ECDSA r||s||v), got 63"
    );
    let zero_price = OracleMessage {
        message_timestamp: 1,
        message_sequence: 1,
        price_sequence: 1,
        price: 0,
    };
    let err = verify(&pubkey, &zero_price.to_bytes(), &signature).unwrap_err();
    assert_eq!(
        err,
        VerifyError::Message(MessageError::NotPositive {
            field: "price",
            value: 0
        })
    );
    assert_eq!(err.to_string(), "message: price must be positive, got 0");
}

#[test]
fn verify_message_json_describes_valid_and_invalid() {
    let out = verify_message_json(GP_USD_PUBKEY, GP_USD_MESSAGE, GP_USD_SIGNATURE).unwrap();
    assert_eq!(out["valid"], true);
    assert_eq!(out["scheme"], "bch-schnorr");
    assert_eq!(out["pubkey"], GP_USD_PUBKEY);
    assert_eq!(
        out["oracle_address"],
        oracle_address(&unhex(GP_USD_PUBKEY)).unwrap().to_string()
    );
    assert_eq!(out["message"]["message_timestamp"], 1720889301);
    assert_eq!(out["message"]["message_sequence"], 697130);
    assert_eq!(out["message"]["price_sequence"], 697107);
    assert_eq!(out["message"]["price"], 37114);
    assert!(out.get("reason").is_none());

    // Upper-case hex with 0x works; a wrong key gives a description with valid: false.
    let out = verify_message_json(
        WT_PUBKEY,
        &format!("0x{}", GP_USD_MESSAGE.to_uppercase()),
        GP_USD_SIGNATURE,
    )
    .unwrap();
    assert_eq!(out["valid"], false);
    assert!(
        out["reason"]
            .as_str()
            .unwrap()
            .starts_with("does not verify (bch-schnorr)")
    );

    let err = verify_message_json("zz", GP_USD_MESSAGE, GP_USD_SIGNATURE).unwrap_err();
    assert_eq!(err.field(), "pubkey");
    assert!(err.to_string().starts_with("pubkey: not hex"), "{err}");
}

fn hedgedesk(args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_hedgedesk"))
        .args(args)
        .env("HEDGEDESK_CONFIG", dir.path().join("none.toml"))
        .env("HEDGEDESK_DATA_DIR", dir.path())
        .output()
        .unwrap()
}

#[test]
fn cli_verify_message_prints_json_and_exit_codes() {
    let ok = hedgedesk(&[
        "anyhedge",
        "verify-message",
        "--pubkey",
        GP_USD_PUBKEY,
        "--message",
        GP_USD_MESSAGE,
        "--signature",
        GP_USD_SIGNATURE,
    ]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let out: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(out["valid"], true);
    assert_eq!(out["message"]["price"], 37114);

    let invalid = hedgedesk(&[
        "anyhedge",
        "verify-message",
        "--pubkey",
        WT_PUBKEY,
        "--message",
        GP_USD_MESSAGE,
        "--signature",
        GP_USD_SIGNATURE,
    ]);
    assert_eq!(invalid.status.code(), Some(1));
    let out: serde_json::Value = serde_json::from_slice(&invalid.stdout).unwrap();
    assert_eq!(out["valid"], false);
    assert_eq!(out["scheme"], "bch-schnorr");

    let malformed = hedgedesk(&[
        "anyhedge",
        "verify-message",
        "--pubkey",
        GP_USD_PUBKEY,
        "--message",
        &GP_USD_MESSAGE[..30],
        "--signature",
        GP_USD_SIGNATURE,
    ]);
    assert_eq!(malformed.status.code(), Some(2));
    assert!(malformed.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&malformed.stderr).trim(),
        "error: message: expected 16 bytes, got 15"
    );
}
