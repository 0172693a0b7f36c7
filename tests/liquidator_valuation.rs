//! The desk's local valuation against the contract: ≥ 1,000 random positions on a devnet
//! margin market (random loans, collaterals, trades into 1–4 assets, interest rates and
//! prices, time moved on), valued locally at a block's timestamp by the desk's `Book`
//! from what its index reads, and on chain by `getPositionStatus` at that block. Debt and
//! value must be identical, and a position the oracle cannot value on chain (the legacy
//! 5-digit maths dividing by zero) must be unpriceable locally too.

use std::time::Duration;

use alloy::eips::BlockId;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider};
use futures::StreamExt as _;
use hedgedesk::chain::contracts::MarginOracle;
use hedgedesk::devnet::margin::{self, Token};
use hedgedesk::devnet::scenario::{Holder, MarginOrderSpec, MarginSpec, TokenSpec};
use hedgedesk::devnet::{AnvilOptions, Devnet, Scenario};
use hedgedesk::liquidator::abi::IMarginModule;
use hedgedesk::liquidator::index::sync;
use hedgedesk::liquidator::valuation::{Book, DebtMath, OracleMath, PositionTerms};
use hedgedesk::store::Store;

const POSITIONS: usize = 1_000;
const BORROWERS: usize = 10;

/// xorshift64*: reproducible without a dependency; the seed is printed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Market {
    devnet: Devnet,
    module: Address,
    oracle: Address,
    base: Token,
    /// Non-base tokens with their USDC price as a whole-token decimal.
    others: Vec<(Token, &'static str)>,
    wallets: Vec<DynProvider>,
}

async fn market() -> Market {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite"), Duration::from_secs(5)).unwrap();
    std::mem::forget(dir);
    let mut devnet = Devnet::start(
        AnvilOptions {
            accounts: BORROWERS as u32 + 2,
            ..AnvilOptions::default()
        },
        store,
    )
    .await
    .unwrap();
    let tokens = [
        ("usdc", "USDC", 6),
        ("wbtc", "WBTC", 8),
        ("weth", "WETH", 18),
        ("link", "LINK", 18),
        ("gold", "GOLD", 2),
    ];
    let mut scenario = Scenario::empty();
    for (key, symbol, decimals) in tokens {
        scenario = scenario.token(TokenSpec::new(key, symbol, symbol, decimals, 1_000_000_000));
    }
    for dev in 2..BORROWERS + 2 {
        for (key, _, _) in tokens {
            scenario = scenario.mint_whole(key, Holder::Dev(dev), 10_000_000);
        }
    }
    let s = |v: &str| v.to_string();
    let order = |interest_bps| MarginOrderSpec {
        lender: 1,
        collaterals: vec![s("wbtc"), s("weth"), s("link"), s("gold")],
        whitelist: vec![s("usdc"), s("wbtc"), s("weth"), s("link"), s("gold")],
        deposit: s("100000000"),
        interest_bps,
        duration_days: 30,
        leverage: 10,
        currency_limit: 5,
        min_loan: s("1"),
        reward: (s("usdc"), s("0")),
    };
    scenario = scenario.mint_whole("usdc", Holder::Dev(1), 500_000_000);
    scenario.margin = Some(MarginSpec {
        base: s("usdc"),
        prices: vec![
            (s("wbtc"), s("61409.93")),
            (s("weth"), s("3012.5")),
            (s("link"), s("14.217")),
            (s("gold"), s("2650.1")),
        ],
        inventory: ["usdc", "wbtc", "weth", "link", "gold"]
            .iter()
            .map(|k| (s(k), s("100000000")))
            .collect(),
        orders: vec![order(0), order(37), order(500), order(2_750), order(9_999)],
        loans: Vec::new(),
    });
    devnet.seed(&scenario).await.unwrap();
    let token = |key: &str, decimals| Token {
        address: devnet.address(&format!("token.{key}")).unwrap(),
        decimals,
    };
    let others = vec![
        (token("wbtc", 8), "61409.93"),
        (token("weth", 18), "3012.5"),
        (token("link", 18), "14.217"),
        (token("gold", 2), "2650.1"),
    ];
    let wallets = (0..BORROWERS)
        .map(|i| devnet.wallet(i + 2).unwrap())
        .collect();
    Market {
        module: devnet.address("margin.module").unwrap(),
        oracle: devnet.address("margin.oracle").unwrap(),
        base: token("usdc", 6),
        others,
        wallets,
        devnet,
    }
}

/// `whole` (a decimal with up to 6 places) of a token, in base units.
fn units(whole_micro: u64, decimals: u8) -> U256 {
    U256::from(whole_micro) * U256::from(10u8).pow(U256::from(decimals)) / U256::from(1_000_000u64)
}

/// Opens `POSITIONS` random positions: a loan from a random order against a random
/// collateral, then 0–3 trades of part of the base into other tokens.
async fn open_positions(m: &Market, rng: &mut Rng) -> usize {
    for wallet in &m.wallets {
        for (token, _) in &m.others {
            margin::approve_all(wallet, token.address, m.module)
                .await
                .unwrap();
        }
        margin::approve_all(wallet, m.base.address, m.module)
            .await
            .unwrap();
    }
    let mut opened = 0;
    while opened < POSITIONS {
        let wallet = &m.wallets[rng.below(BORROWERS as u64) as usize];
        let module = IMarginModule::new(m.module, wallet);
        let order = U256::from(rng.below(5));
        let collateral_idx = rng.below(4);
        let (collateral, price) = m.others[collateral_idx as usize];
        // A loan of 1 to 50,000 USDC (any cents), collateral worth 15% to 300% of it.
        let loan_micro = 1_000_000 + rng.below(50_000_000_000);
        let price_micro = (price.parse::<f64>().unwrap() * 1e6) as u64;
        let ratio_pct = 15 + rng.below(286);
        let collateral_micro = (u128::from(loan_micro) * u128::from(ratio_pct) / 100 * 1_000_000
            / u128::from(price_micro)) as u64;
        let collateral_amount = units(collateral_micro.max(1), collateral.decimals);
        let loan = U256::from(loan_micro);
        let id = module.positionIndex().call().await.unwrap();
        let take = module.takeLoan(order, loan, U256::from(collateral_idx), collateral_amount);
        // Simulated first: a refusal (leverage, dust) must not reach the wallet's nonce cache.
        if take.call().await.is_err() {
            continue;
        }
        let receipt = take.send().await.unwrap().get_receipt().await.unwrap();
        assert!(receipt.status());
        opened += 1;
        for _ in 0..rng.below(4) {
            let (buy, _) = m.others[rng.below(4) as usize];
            let balances = module.getPositionBalances(id).call().await.unwrap();
            let part = balances[0] * U256::from(1 + rng.below(60)) / U256::from(100u8);
            if part.is_zero() {
                continue;
            }
            let _ =
                margin::margin_swap(wallet, m.module, id, m.base.address, part, buy.address).await;
        }
    }
    opened
}

/// Values every position at the head both ways; returns how many were compared and how
/// many were unpriceable on both sides.
async fn compare(m: &Market, math: OracleMath) -> (usize, usize) {
    let provider = m.devnet.node.provider();
    let block = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap();
    let (number, at) = (block.header.number, block.header.timestamp);
    let module = IMarginModule::new(m.module, provider.clone());
    let count: u64 = module.positionIndex().call().await.unwrap().to();
    let mut book = Book::new(DebtMath::PeriodFirst);
    book.set_oracle_math(m.oracle, math);
    let oracle = MarginOracle::new(m.oracle, provider.clone());
    for (token, _) in &m.others {
        let sqrt = oracle
            .sqrtPriceX96Of(m.base.address, token.address)
            .call()
            .await
            .unwrap();
        book.set_price(m.oracle, m.base.address, token.address, U256::from(sqrt));
    }
    let reads: Vec<_> = futures::stream::iter(0..count)
        .map(|id| {
            let module = &module;
            async move {
                let position = sync::read_position(module, id, number).await.unwrap();
                let status = module
                    .getPositionStatus(U256::from(id))
                    .block(BlockId::number(number))
                    .call()
                    .await
                    .map(|s| (s.expected_balance, s.actual_balance));
                (position, status)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut unpriceable = 0;
    for (position, status) in &reads {
        let terms = PositionTerms {
            id: position.position_id,
            order_id: position.order_id.unwrap(),
            oracle: m.oracle,
            base: position.holdings[0].0,
            initial_balance: position.initial_balance,
            interest: position.interest.unwrap(),
            created_at: position.created_at.unwrap(),
            base_balance: position.holdings[0].1,
            holdings: position.holdings[1..].to_vec(),
        };
        book.upsert(terms.clone());
        let local = book.revalue_one(terms.id, at).unwrap();
        match status {
            Ok((debt, value)) => {
                assert_eq!(local.debt, Some(*debt), "debt of {terms:?} at {at}");
                assert_eq!(
                    local.value,
                    Some(*value),
                    "value of {terms:?} at {at} ({math:?})"
                );
                assert_eq!(local.liquidatable, value < debt, "{terms:?}");
            }
            Err(e) => {
                assert!(
                    local.unpriceable(),
                    "the chain cannot value {terms:?} ({e}) but the desk did: {local:?}"
                );
                unpriceable += 1;
            }
        }
    }
    (reads.len(), unpriceable)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_valuation_equals_get_position_status_on_random_positions() {
    let seed = std::env::var("LIQUIDATOR_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_1234_ABCD_0001u64);
    eprintln!("seed {seed:#x} (LIQUIDATOR_SEED to repeat)");
    let mut rng = Rng(seed);
    let m = market().await;
    let opened = open_positions(&m, &mut rng).await;
    assert!(opened >= POSITIONS);
    let control = m.devnet.control();

    // 1. Days later, exact oracle maths.
    control.advance(86_400 * (1 + rng.below(20))).await.unwrap();
    let (compared, _) = compare(&m, OracleMath::Exact).await;
    assert!(compared >= POSITIONS, "{compared}");

    // 2. New random prices (from a tenth to ten times), weeks later.
    let owner = m.devnet.wallet(0).unwrap();
    for (token, _) in &m.others {
        let price = format!("{}.{:04}", 1 + rng.below(100_000), rng.below(10_000));
        margin::set_price(&owner, m.oracle, m.base, *token, &price)
            .await
            .unwrap();
    }
    control
        .advance(86_400 * (7 + rng.below(60)) + rng.below(86_400))
        .await
        .unwrap();
    compare(&m, OracleMath::Exact).await;

    // 3. The legacy oracle keeping 5 digits of the amount.
    MarginOracle::new(m.oracle, &owner)
        .setPricePrecisionDecimals(U256::from(5u8))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    control.mine().await.unwrap();
    let (compared, unpriceable) = compare(&m, OracleMath::SignificantDigits(5)).await;
    eprintln!("legacy maths: {compared} compared, {unpriceable} unpriceable on both sides");
    assert!(
        unpriceable < compared,
        "the legacy pass must value positions, not only refuse"
    );
}
