//! One accumulator update checked end to end before anything is done with it: parsed,
//! signed by a quorum of the guardian set it names (valid now), from the accepted emitter,
//! and every message proven against the signed Merkle root. All or nothing.

use super::verify::guardians::{AcceptedEmitter, GuardianSets};
use super::verify::merkle::check_updates;
use super::verify::signatures::{verify_emitter, verify_with_sets};
use super::wire::accumulator::{AccumulatorUpdate, parse_merkle_root};
use super::wire::message::{Message, PriceFeedMessage};
use super::wire::vaa::Vaa;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedUpdate {
    /// In the update's order, with their index in it.
    pub prices: Vec<(usize, PriceFeedMessage)>,
    /// Messages that verified but are not prices (TWAP, unknown), with a note.
    pub skipped: Vec<(usize, String)>,
    pub guardian_set_index: u32,
    pub signatures: usize,
}

/// Verifies `bytes` (a `PNAU` update) as of `now_unix`; the error says what failed.
pub fn verify_update(
    bytes: &[u8],
    sets: &GuardianSets,
    emitter: &AcceptedEmitter,
    now_unix: u64,
) -> Result<VerifiedUpdate, String> {
    let update = AccumulatorUpdate::parse(bytes).map_err(|e| e.to_string())?;
    let vaa = Vaa::parse(&update.vaa).map_err(|e| format!("vaa: {e}"))?;
    let report = verify_with_sets(&vaa, sets, now_unix).map_err(|e| format!("signatures: {e}"))?;
    verify_emitter(&vaa, emitter).map_err(|e| format!("emitter: {e}"))?;
    let root = parse_merkle_root(&vaa.payload).map_err(|e| format!("payload: {e}"))?;
    for result in check_updates(&update.updates, &root.root) {
        result.map_err(|e| e.to_string())?;
    }
    let mut prices = Vec::new();
    let mut skipped = Vec::new();
    for (i, u) in update.updates.iter().enumerate() {
        match Message::parse(&u.message).map_err(|e| format!("message {i}: {e}"))? {
            Message::PriceFeed(m) => prices.push((i, m)),
            other => skipped.push((i, other.skip_note().unwrap_or_else(|| "skipped".into()))),
        }
    }
    Ok(VerifiedUpdate {
        prices,
        skipped,
        guardian_set_index: vaa.guardian_set_index,
        signatures: report.valid,
    })
}
