//! Parse + verify a real 13-of-19 mainnet VAA (the one inside `pnau_gs4_btc_eth_ton.hex`):
//! VAA v1 parse, double-keccak digest, 13 secp256k1 recoveries against guardian set 4.
//! Target: ≤ 1 ms on one core (figures in BENCHMARKS.md).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use hedgedesk::oracle::verify::guardians::{AcceptedEmitter, GuardianSets};
use hedgedesk::oracle::verify::signatures::{verify_emitter, verify_with_sets};
use hedgedesk::oracle::wire::vaa::Vaa;

/// The VAA inside a PNAU: "PNAU" major minor trailing-header-len (+bytes) proof-type vaa-len
/// (u16) vaa.
fn pnau_vaa(update: &[u8]) -> Vec<u8> {
    let mut at = 7 + usize::from(update[6]) + 1;
    let len = usize::from(u16::from_be_bytes([update[at], update[at + 1]]));
    at += 2;
    update[at..at + len].to_vec()
}

fn bench(c: &mut Criterion) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/pyth/pnau_gs4_btc_eth_ton.hex"
    ))
    .unwrap();
    let raw = pnau_vaa(&hex::decode(text.trim()).unwrap());
    let sets = GuardianSets::mainnet();
    let now = u64::from(Vaa::parse(&raw).unwrap().timestamp);
    c.bench_function("vaa_parse_verify_13_sigs", |b| {
        b.iter(|| {
            let vaa = Vaa::parse(black_box(&raw)).unwrap();
            let report = verify_with_sets(&vaa, &sets, now).unwrap();
            verify_emitter(&vaa, &AcceptedEmitter::PYTHNET).unwrap();
            assert_eq!(report.valid, 13);
            report
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
