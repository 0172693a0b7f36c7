//! Hermes event to signed `store` transaction, excluding the chain: the JSON of one SSE
//! event parsed, its accumulator update verified (13 signatures, Merkle proofs), the
//! `store(bytes,uint8[])` call encoded and an EIP-1559 transaction signed. Target: ≤ 20 ms.

use alloy::primitives::{Address, U256};
use alloy::sol_types::SolCall;
use alloy_signer_local::PrivateKeySigner;
use criterion::{Criterion, criterion_group, criterion_main};
use hedgedesk::chain::contracts::PriceCaster;
use hedgedesk::chain::send::{Fees, Payload, sign_eip1559};
use hedgedesk::oracle::hermes::PriceUpdate;
use hedgedesk::oracle::verified::verify_update;
use hedgedesk::oracle::verify::guardians::{AcceptedEmitter, GuardianSet, GuardianSets};

const SSE: &str = include_str!("../tests/fixtures/pyth/hermes_v2_sse_stream_example.txt");

fn event_to_signed_tx(c: &mut Criterion) {
    let event = SSE
        .lines()
        .find_map(|l| l.strip_prefix("data:"))
        .expect("a recorded event");
    let set4 = GuardianSets::mainnet().get(4).unwrap().clone();
    let sets = GuardianSets::new([GuardianSet {
        expiration_time: 0,
        ..set4
    }])
    .unwrap();
    let signer = PrivateKeySigner::random();
    let now = 1_714_748_400;
    c.bench_function("hermes_event_to_signed_store_tx", |b| {
        b.iter(|| {
            let update = PriceUpdate::from_json(event).unwrap();
            let bytes = &update.binary[0];
            let verified = verify_update(bytes, &sets, &AcceptedEmitter::PYTHNET, now).unwrap();
            let call = PriceCaster::storeCall {
                updateData: bytes.clone().into(),
                slots: vec![0; verified.prices.len()],
            };
            let payload = Payload {
                chain_id: 31_337,
                nonce: 7,
                to: Address::repeat_byte(0x5f),
                value: U256::ZERO,
                input: call.abi_encode().into(),
                gas_limit: 330_000,
            };
            sign_eip1559(
                &signer,
                &payload,
                Fees {
                    max_fee_per_gas: 2_000_000_000,
                    max_priority_fee_per_gas: 1_000_000_000,
                },
            )
            .unwrap()
        })
    });
}

criterion_group!(benches, event_to_signed_tx);
criterion_main!(benches);
