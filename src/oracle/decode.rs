//! `hedgedesk oracle decode`: a Pyth update (PNAU accumulator update or a bare Wormhole VAA,
//! hex or base64) parsed and verified, reported as JSON: the VAA header, the guardian set,
//! the signature check, the emitter, and per message its fields and Merkle check.
//!
//! Guardian sets are checked as of the VAA's own timestamp (the set that signed a
//! historical update was valid then); whether that set is still current is reported too.

use alloy::primitives::B256;
use base64::Engine;
use serde_json::{Value, json};

use super::verify::guardians::{AcceptedEmitter, GuardianSets};
use super::verify::merkle::check_updates;
use super::verify::signatures::{verify_emitter, verify_with_sets};
use super::wire::accumulator::{ACCUMULATOR_MAGIC, AccumulatorUpdate, parse_merkle_root};
use super::wire::message::Message;
use super::wire::p2wh::{BatchPriceAttestation, P2WH_MAGIC};
use super::wire::vaa::Vaa;

/// The report, and whether everything verified.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub report: Value,
    pub ok: bool,
}

/// Hex (with or without `0x`, whitespace ignored) or standard base64.
pub fn read_input(text: &str) -> Result<Vec<u8>, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err("input: empty".into());
    }
    let hexish = compact.strip_prefix("0x").unwrap_or(&compact);
    if hexish.len().is_multiple_of(2) && hexish.chars().all(|c| c.is_ascii_hexdigit()) {
        return hex::decode(hexish).map_err(|e| format!("input: not hex: {e}"));
    }
    base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .map_err(|e| format!("input: neither hex nor base64 ({e})"))
}

/// Decodes and verifies `bytes` against `sets`, accepting only `emitter`.
pub fn decode(bytes: &[u8], sets: &GuardianSets, emitter: &AcceptedEmitter, now: u64) -> Decoded {
    let mut errors: Vec<String> = Vec::new();
    let mut report = serde_json::Map::new();
    let vaa_bytes = if bytes.starts_with(ACCUMULATOR_MAGIC) {
        match AccumulatorUpdate::parse(bytes) {
            Ok(update) => {
                report.insert("kind".into(), "accumulator_update".into());
                report.insert(
                    "accumulator".into(),
                    json!({
                        "major": update.major,
                        "minor": update.minor,
                        "proof_type": "wormhole_merkle",
                        "updates": update.updates.len(),
                    }),
                );
                Some((update.vaa.clone(), Some(update)))
            }
            Err(e) => {
                errors.push(e.to_string());
                None
            }
        }
    } else {
        report.insert("kind".into(), "vaa".into());
        Some((bytes.to_vec(), None))
    };

    if let Some((vaa_bytes, update)) = vaa_bytes {
        match Vaa::parse(&vaa_bytes) {
            Err(e) => errors.push(format!("vaa: {e}")),
            Ok(vaa) => decode_vaa(
                &vaa,
                update.as_ref(),
                sets,
                emitter,
                now,
                &mut report,
                &mut errors,
            ),
        }
    }
    let ok = errors.is_empty();
    report.insert("ok".into(), ok.into());
    report.insert("errors".into(), errors.into());
    Decoded {
        report: Value::Object(report),
        ok,
    }
}

fn decode_vaa(
    vaa: &Vaa,
    update: Option<&AccumulatorUpdate>,
    sets: &GuardianSets,
    emitter: &AcceptedEmitter,
    now: u64,
    report: &mut serde_json::Map<String, Value>,
    errors: &mut Vec<String>,
) {
    report.insert(
        "vaa".into(),
        json!({
            "version": vaa.version,
            "guardian_set_index": vaa.guardian_set_index,
            "signatures": vaa.signatures.len(),
            "timestamp": vaa.timestamp,
            "nonce": vaa.nonce,
            "emitter_chain": vaa.emitter_chain,
            "emitter_address": vaa.emitter_address.to_string(),
            "sequence": vaa.sequence,
            "consistency_level": vaa.consistency_level,
            "digest": vaa.digest().to_string(),
        }),
    );
    let set = sets.get(vaa.guardian_set_index);
    report.insert(
        "guardian_set".into(),
        match set {
            Some(set) => json!({
                "index": set.index,
                "guardians": set.keys.len(),
                "quorum": set.quorum(),
                "expiration_time": set.expiration_time,
                "current_now": !set.is_expired(now),
            }),
            None => Value::Null,
        },
    );
    let signatures = verify_with_sets(vaa, sets, u64::from(vaa.timestamp));
    report.insert(
        "signature_check".into(),
        match &signatures {
            Ok(r) => json!({ "ok": true, "valid": r.valid, "quorum": r.quorum, "guardians": r.total_guardians }),
            Err(e) => json!({ "ok": false, "error": e.to_string() }),
        },
    );
    if let Err(e) = signatures {
        errors.push(format!("signatures: {e}"));
    }
    let emitter_ok = verify_emitter(vaa, emitter);
    report.insert(
        "emitter_check".into(),
        json!({
            "ok": emitter_ok.is_ok(),
            "accepted_chain": emitter.chain,
            "accepted_address": emitter.address.to_string(),
        }),
    );
    if let Err(e) = emitter_ok {
        errors.push(format!("emitter: {e}"));
    }

    match update {
        Some(update) => decode_messages(vaa, update, report, errors),
        None if vaa.payload.starts_with(P2WH_MAGIC) => {
            match BatchPriceAttestation::parse(&vaa.payload) {
                Ok(batch) => {
                    report.insert(
                        "p2wh".into(),
                        serde_json::to_value(&batch).unwrap_or_default(),
                    );
                }
                Err(e) => errors.push(format!("payload: {e}")),
            }
        }
        None => {
            report.insert(
                "payload".into(),
                format!("0x{}", hex::encode(&vaa.payload)).into(),
            );
        }
    }
}

fn decode_messages(
    vaa: &Vaa,
    update: &AccumulatorUpdate,
    report: &mut serde_json::Map<String, Value>,
    errors: &mut Vec<String>,
) {
    let root = match parse_merkle_root(&vaa.payload) {
        Ok(root) => root,
        Err(e) => {
            errors.push(format!("payload: {e}"));
            return;
        }
    };
    report.insert(
        "merkle_root".into(),
        serde_json::to_value(root).unwrap_or_default(),
    );
    let proofs = check_updates(&update.updates, &root.root);
    let mut messages = Vec::new();
    for (i, (u, proof)) in update.updates.iter().zip(proofs).enumerate() {
        let mut entry = serde_json::Map::new();
        entry.insert("index".into(), i.into());
        match Message::parse(&u.message) {
            Ok(message) => {
                if let Ok(Value::Object(fields)) = serde_json::to_value(&message) {
                    entry.extend(fields);
                }
                if let Some(note) = message.skip_note() {
                    entry.insert("note".into(), note.into());
                }
            }
            Err(e) => errors.push(format!("message {i}: {e}")),
        }
        match proof {
            Ok(()) => {
                entry.insert("merkle_proof".into(), "ok".into());
            }
            Err(e) => {
                entry.insert("merkle_proof".into(), "FAILED".into());
                errors.push(e.to_string());
            }
        }
        messages.push(Value::Object(entry));
    }
    report.insert("messages".into(), messages.into());
}

/// Guardian sets by name: `mainnet` (shipped) or a JSON file.
pub fn load_sets(name: &str) -> Result<GuardianSets, String> {
    if name == "mainnet" {
        return Ok(GuardianSets::mainnet());
    }
    let text = std::fs::read_to_string(name)
        .map_err(|e| format!("--guardian-set {name}: cannot read: {e}"))?;
    GuardianSets::from_json(&text).map_err(|e| format!("--guardian-set {name}: {e}"))
}

/// The accepted emitter from config (`emitter_chain`, `emitter_address`).
pub fn emitter(chain: u16, address: &str) -> Result<AcceptedEmitter, String> {
    let address: B256 = address
        .parse()
        .map_err(|_| format!("oracle.emitter_address: not 32 bytes of hex: {address:?}"))?;
    Ok(AcceptedEmitter { chain, address })
}
