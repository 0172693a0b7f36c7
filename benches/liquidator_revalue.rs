//! Revaluing 100,000 Dex223 margin positions locally (`liquidator::valuation::Book::revalue`):
//! 1-4 non-base holdings each over real token pairs (6, 8 and 18 decimals), then the queue and
//! the on-chain candidates. Target: ≤ 50 ms per full pass on the 2-core machine; the 1-thread
//! runs give positions/s per core (figures in BENCHMARKS.md).

use std::hint::black_box;

use alloy::primitives::{Address, U256, address};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hedgedesk::liquidator::valuation::{
    Book, OracleMath, PositionTerms, Queue, Revaluation, candidates, top_by_health, top_by_priority,
};

const POSITIONS: u64 = 100_000;
const NOW: u64 = 1_795_253_400;
const ORACLE: Address = address!("0x000000000000000000000000000000000000dEaD");

/// Address, decimals, USD price.
type Token = (Address, u8, f64);

/// Mainnet tokens. WBTC/SHIB's sqrtPriceX96 is above 2^128 (the oracle's ratioX128 branch,
/// and an overflow for the legacy math).
#[rustfmt::skip]
const TOKENS: [Token; 8] = [
    (address!("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"), 6, 1.0),        // USDC
    (address!("0xdAC17F958D2ee523a2206206994597C13D831ec7"), 6, 1.0),        // USDT
    (address!("0x6B175474E89094C44Da98b954EedeAC495271d0F"), 18, 1.0),       // DAI
    (address!("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"), 18, 3_000.0),   // WETH
    (address!("0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599"), 8, 95_000.0),   // WBTC
    (address!("0x514910771AF9Ca656af840dff83E8264EcF986CA"), 18, 14.5),      // LINK
    (address!("0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984"), 18, 7.2),       // UNI
    (address!("0x95aD61b0a150d79219dCF64E1E6Cc01f0B64C4cE"), 18, 0.000_012), // SHIB
];

/// Loans are in the first four (stablecoins and WETH).
const BASES: usize = 4;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Units of a token worth `usd`.
fn units(token: usize, usd: f64) -> U256 {
    let (_, decimals, price) = TOKENS[token];
    U256::from((usd / price * 10f64.powi(i32::from(decimals))) as u128)
}

/// The pair's sqrtPriceX96: token1 units per token0 unit, token0 the lower address. f64 math
/// (about 53 significant bits), which is all a benchmark needs.
fn sqrt_price_x96(a: Token, b: Token) -> U256 {
    let ((_, d0, p0), (_, d1, p1)) = if a.0 < b.0 { (a, b) } else { (b, a) };
    let sqrt = (p0 / p1 * 10f64.powi(i32::from(d1) - i32::from(d0))).sqrt();
    // sqrt * 2^e is about 2^100: a u128 with every bit of the f64, then scaled to 2^96.
    let e = 100 - sqrt.log2().ceil() as i32;
    let mantissa = U256::from((sqrt * 2f64.powi(e)) as u128);
    if e <= 96 {
        mantissa << (96 - e) as usize
    } else {
        mantissa >> (e - 96) as usize
    }
}

fn book(math: OracleMath) -> Book {
    let mut book = Book::default();
    book.set_oracle_math(ORACLE, math);
    for (i, &a) in TOKENS.iter().enumerate() {
        for &b in &TOKENS[i + 1..] {
            book.set_price(ORACLE, a.0, b.0, sqrt_price_x96(a, b));
        }
    }
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    for id in 0..POSITIONS {
        let base = (rng.next() % BASES as u64) as usize;
        let mut holdings = Vec::new();
        let mut usd = 0.0;
        for _ in 0..1 + rng.next() % 4 {
            let token = (rng.next() % TOKENS.len() as u64) as usize;
            if token == base || holdings.iter().any(|&(asset, _)| asset == TOKENS[token].0) {
                continue;
            }
            // $10 to $1M, log-uniform.
            let worth = 10f64.powf(1.0 + 5.0 * rng.unit());
            usd += worth;
            holdings.push((TOKENS[token].0, units(token, worth)));
        }
        if holdings.is_empty() {
            let token = (base + 1 + (rng.next() % 3) as usize) % TOKENS.len();
            let worth = 1_000.0;
            usd += worth;
            holdings.push((TOKENS[token].0, units(token, worth)));
        }
        let base_usd = usd * 0.2 * rng.unit();
        // Health from 0.8 to 2.0 at opening.
        let loan_usd = (usd + base_usd) / (0.8 + 1.2 * rng.unit());
        book.upsert(PositionTerms {
            id,
            order_id: id % 500,
            oracle: ORACLE,
            base: TOKENS[base].0,
            initial_balance: units(base, loan_usd),
            interest: U256::from(rng.next() % 2_000),
            created_at: NOW - rng.next() % (180 * 86_400),
            base_balance: units(base, base_usd),
            holdings,
        });
    }
    book
}

/// 10,000 WETH longs in USDC, 1 % of them within half a percent of the line and the rest
/// above 120 % health: what one pass of the desk checks on chain.
fn edge_book() -> Book {
    let (usdc, weth) = (TOKENS[0], TOKENS[3]);
    let mut book = Book::default();
    book.set_price(ORACLE, usdc.0, weth.0, sqrt_price_x96(usdc, weth));
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for id in 0..10_000u64 {
        let worth = 1_000.0 + 99_000.0 * rng.unit();
        let health = if id % 100 == 0 {
            0.996 + 0.008 * rng.unit()
        } else {
            1.2 + rng.unit()
        };
        book.upsert(PositionTerms {
            id,
            order_id: 0,
            oracle: ORACLE,
            base: usdc.0,
            initial_balance: units(0, worth / health),
            interest: U256::ZERO,
            created_at: NOW,
            base_balance: U256::ZERO,
            holdings: vec![(weth.0, units(3, worth))],
        });
    }
    book
}

fn summary(name: &str, rev: &Revaluation) {
    let liquidatable = rev.valuations().iter().filter(|v| v.liquidatable).count();
    let unpriceable = rev.valuations().iter().filter(|v| v.unpriceable()).count();
    eprintln!(
        "{name}: {} positions, {liquidatable} liquidatable, {unpriceable} unpriceable, {} candidates within 5 %",
        rev.len(),
        candidates(rev, 500).len(),
    );
}

fn bench(c: &mut Criterion) {
    let exact = book(OracleMath::Exact);
    let legacy = book(OracleMath::LEGACY);
    let holdings: usize = (0..POSITIONS)
        .map(|id| exact.get(id).unwrap().holdings.len())
        .sum();
    eprintln!("{holdings} non-base holdings over {POSITIONS} positions");
    summary("exact", &exact.revalue(NOW));
    summary("legacy", &legacy.revalue(NOW));
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();

    let mut group = c.benchmark_group("liquidator_revalue");
    group.throughput(Throughput::Elements(POSITIONS));
    group.bench_function("revalue_100k_exact", |b| {
        b.iter(|| exact.revalue(black_box(NOW)))
    });
    group.bench_function("revalue_100k_exact_1_thread", |b| {
        b.iter(|| one.install(|| exact.revalue(black_box(NOW))))
    });
    group.bench_function("revalue_100k_legacy", |b| {
        b.iter(|| legacy.revalue(black_box(NOW)))
    });
    group.bench_function("revalue_100k_legacy_1_thread", |b| {
        b.iter(|| one.install(|| legacy.revalue(black_box(NOW))))
    });

    let rev = exact.revalue(NOW);
    group.bench_function("candidates_100k", |b| {
        b.iter(|| candidates(black_box(&rev), 500))
    });
    group.bench_function("top_50_by_priority_and_health_100k", |b| {
        b.iter(|| {
            (
                top_by_priority(black_box(&rev), 50).len(),
                top_by_health(black_box(&rev), 50).len(),
            )
        })
    });
    group.bench_function("queue_build_100k", |b| {
        b.iter_batched(
            || rev.clone(),
            |rev| Queue::build(rev, 50, 500),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("revalue_and_queue_100k", |b| {
        b.iter(|| Queue::build(exact.revalue(black_box(NOW)), 50, 500))
    });
    group.finish();

    // Node calls per block for 10,000 positions, 1 % near the edge: the desk checks only
    // the candidates (`subjectToLiquidationExtended`), plus a constant: the head, one price
    // per pair, the fee quote (tests/liquidator_desk.rs asserts checks == candidates).
    let edge = edge_book();
    let queue = Queue::build(edge.revalue(NOW), 50, 50);
    eprintln!(
        "10,000 positions, 1 % within 0.4 % of the line: {} candidates checked on chain \
         (naive: 10,000); calls per block = {} + 1 head + 1 pair price + 1 fee quote",
        queue.candidates().len(),
        queue.candidates().len()
    );
    let mut group = c.benchmark_group("liquidator_edge");
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("revalue_and_flag_10k", |b| {
        b.iter(|| {
            Queue::build(edge.revalue(black_box(NOW)), 50, 50)
                .candidates()
                .len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
