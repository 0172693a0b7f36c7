//! The perp desk's pure work per block with 1,000 DePerp positions (the soak's size): the
//! risk engine over every position and asset (`risk::evaluate`), each position's view for
//! the hedger, and the hedger's decisions. Target: ≤ 5 ms per block on one core.

use std::collections::BTreeMap;

use alloy::primitives::{Address, I256, U256};
use criterion::{Criterion, criterion_group, criterion_main};
use hedgedesk::perp::hedger::{HedgeView, HedgerInput, PositionView, decide};
use hedgedesk::perp::model::{AssetVault, DePerpState, TraderPosition};
use hedgedesk::perp::risk::{RiskFactors, evaluate};
use rust_decimal::Decimal;

const USDC: Address = Address::repeat_byte(0x0c);
const MARKETS: [(&str, u64); 4] = [
    ("BTC-USD", 60_000),
    ("ETH-USD", 3_000),
    ("SOL-USD", 150),
    ("XAU-USD", 2_400),
];

/// 1,000 positions over four markets, sizes $1k to $500k, entries within ±20 % of the price
/// (8 decimals), so some are flagged against a 1,000,000 USDC vault and 100,000 shield.
fn state() -> DePerpState {
    let mut positions = Vec::with_capacity(1_000);
    for i in 0..1_000u64 {
        let (market, price) = MARKETS[(i % 4) as usize];
        let entry = price * (80 + (i * 7) % 41) / 100;
        positions.push(TraderPosition {
            user: Address::left_padding_from(&i.to_be_bytes()),
            asset: USDC,
            market: market.into(),
            is_long: i % 3 != 0,
            size: U256::from(1_000 + (i * 7_919) % 499_000) * U256::from(1_000_000u64),
            collateral: U256::from(100u64) * U256::from(1_000_000u64),
            funding_tracer: I256::try_from((i % 50) as i64 - 25).unwrap(),
            price: U256::from(entry) * U256::from(100_000_000u64),
            timestamp: U256::from(1_700_000_000 + i),
        });
    }
    DePerpState {
        block: 1,
        positions,
        vaults: vec![AssetVault {
            asset: USDC,
            decimals: 6,
            vault: U256::from(1_000_000u64) * U256::from(1_000_000u64),
            shield: U256::from(100_000u64) * U256::from(1_000_000u64),
        }],
        markets: Vec::new(),
        funding_tracers: MARKETS
            .iter()
            .map(|(m, _)| (USDC, m.to_string(), I256::try_from(10).unwrap()))
            .collect(),
    }
}

fn bench(c: &mut Criterion) {
    let state = state();
    let prices: BTreeMap<String, U256> = MARKETS
        .iter()
        .map(|(m, p)| (m.to_string(), U256::from(*p) * U256::from(100_000_000u64)))
        .collect();
    let usd: BTreeMap<String, Decimal> = MARKETS
        .iter()
        .map(|(m, p)| (m.to_string(), Decimal::from(*p)))
        .collect();
    let symbols: BTreeMap<String, String> = MARKETS
        .iter()
        .map(|(m, _)| (m.to_string(), m.replace("-USD", "USDT")))
        .collect();
    let factors = RiskFactors::default();
    let hedges: Vec<HedgeView> = Vec::new();
    c.bench_function("perp cycle: evaluate only, 1,000 positions", |b| {
        b.iter(|| {
            let report = evaluate(&state, &|m| prices.get(m).copied(), &factors);
            std::hint::black_box(report.positions.len())
        })
    });
    c.bench_function("perp cycle: evaluate and decide, 1,000 positions", |b| {
        b.iter(|| {
            let report = evaluate(&state, &|m| prices.get(m).copied(), &factors);
            let views: Vec<PositionView> =
                report.positions.iter().map(PositionView::from).collect();
            let decisions = decide(&HedgerInput {
                now: 1_700_100_000,
                positions: &views,
                hedges: &hedges,
                symbols: &symbols,
                prices: &usd,
                expiry_secs: 60,
                auto: true,
            });
            std::hint::black_box(decisions.len())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
