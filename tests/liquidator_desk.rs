//! The liquidator desk as the runtime runs it, on a devnet margin market: a lender's
//! orders, several leveraged borrowers, a price drop. The desk freezes and then
//! liquidates exactly the underwater positions worth it, confirming each in a later
//! block; the receiver holds the rewards. A position that recovers between freeze and
//! confirm is not confirmed; an unprofitable one is skipped unless its reward is above
//! the threshold; a restart between freeze and confirm confirms once.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use hedgedesk::actions::{ActionKind, ActionState, PolicyMode};
use hedgedesk::app::Runtime;
use hedgedesk::config::{ActionPolicyConfig, AssetPriceConfig, Config, DEVNET_CHAIN};
use hedgedesk::devnet::margin::{self, Token};
use hedgedesk::devnet::scenario::{Holder, MarginLoanSpec, MarginOrderSpec, MarginSpec, TokenSpec};
use hedgedesk::devnet::{AnvilOptions, Devnet, Scenario};
use hedgedesk::liquidator::pane::{LiquidatorSnapshot, RowState};
use hedgedesk::store::{LiquidationRecord, LiquidationState, Store};

const RECEIVER: Address = Address::repeat_byte(0x77);

fn s(v: &str) -> String {
    v.to_string()
}

fn order(reward_usdc: &str) -> MarginOrderSpec {
    MarginOrderSpec {
        lender: 1,
        collaterals: vec![s("weth")],
        whitelist: vec![s("usdc"), s("weth")],
        deposit: s("200000"),
        interest_bps: 300,
        duration_days: 30,
        leverage: 10,
        currency_limit: 4,
        min_loan: s("100"),
        reward: (s("usdc"), s(reward_usdc)),
    }
}

/// A long of `loan` USDC on 1 WETH collateral, all traded into WETH: it holds
/// `1 + loan/3000` WETH against a debt of `loan`.
fn long(borrower: usize, order: usize, loan: &str) -> MarginLoanSpec {
    MarginLoanSpec {
        borrower,
        order,
        amount: s(loan),
        collateral: 0,
        collateral_amount: s("1"),
        buy: Some(s("weth")),
    }
}

struct Market {
    devnet: Devnet,
    store: Store,
    _dir: tempfile::TempDir,
    usdc: Token,
    weth: Token,
    module: Address,
    oracle: Address,
}

impl Market {
    /// Order 0 pays a 50 USDC reward, order 1 only 2 USDC. At 3,000 USDC per WETH every
    /// position is healthy; at 1,900, the longs of 8,000 and 6,000 (and the 2-USDC-reward
    /// 8,000) are underwater, the 1,000 one is not.
    async fn start() -> Market {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite"), Duration::from_secs(5)).unwrap();
        let mut devnet = Devnet::start(AnvilOptions::default(), store.clone())
            .await
            .unwrap();
        let mut scenario = Scenario::empty()
            .token(TokenSpec::new("usdc", "USD Coin", "USDC", 6, 100_000_000))
            .token(TokenSpec::new(
                "weth",
                "Wrapped Ether",
                "WETH",
                18,
                1_000_000,
            ));
        for dev in 1..=5 {
            scenario = scenario
                .mint_whole("usdc", Holder::Dev(dev), 1_000_000)
                .mint_whole("weth", Holder::Dev(dev), 1_000);
        }
        scenario.margin = Some(MarginSpec {
            base: s("usdc"),
            prices: vec![(s("weth"), s("3000"))],
            inventory: vec![(s("usdc"), s("10000000")), (s("weth"), s("100000"))],
            orders: vec![order("50"), order("2")],
            loans: vec![
                long(2, 0, "8000"),
                long(3, 0, "6000"),
                long(4, 0, "1000"),
                long(5, 1, "8000"),
            ],
        });
        devnet.seed(&scenario).await.unwrap();
        let usdc = Token {
            address: devnet.address("token.usdc").unwrap(),
            decimals: 6,
        };
        let weth = Token {
            address: devnet.address("token.weth").unwrap(),
            decimals: 18,
        };
        let module = devnet.address("margin.module").unwrap();
        let oracle = devnet.address("margin.oracle").unwrap();
        Market {
            devnet,
            store,
            _dir: dir,
            usdc,
            weth,
            module,
            oracle,
        }
    }

    async fn set_weth_price(&self, price: &str) {
        let owner = self.devnet.wallet(0).unwrap();
        margin::set_price(&owner, self.oracle, self.usdc, self.weth, price)
            .await
            .unwrap();
    }

    fn config(&self, always_above_cents: i64) -> Arc<Config> {
        let mut config = Config::default();
        let mut chain = self.devnet.chain_config();
        chain.confirmations = 0;
        chain.poll_interval_ms = 100;
        chain.health_interval_ms = 200;
        config.chains.insert(DEVNET_CHAIN.into(), chain);
        let l = &mut config.liquidator;
        l.auto = true;
        l.receiver = RECEIVER.to_string();
        l.min_profit = 500;
        l.always_liquidate_reward_above = always_above_cents;
        l.prices = vec![
            AssetPriceConfig {
                asset: s("eth"),
                usd: s("3000"),
                ..AssetPriceConfig::default()
            },
            AssetPriceConfig {
                asset: s("token.usdc"),
                usd: s("1.00"),
                ..AssetPriceConfig::default()
            },
        ];
        for kind in [ActionKind::FreezePosition, ActionKind::Liquidate] {
            config.actions.insert(
                kind,
                ActionPolicyConfig {
                    mode: PolicyMode::Auto,
                    ..ActionPolicyConfig::default()
                },
            );
        }
        Arc::new(config)
    }

    async fn runtime(&self, always_above_cents: i64) -> Runtime {
        Runtime::start(
            self.config(always_above_cents),
            self.store.clone(),
            self.devnet.node.signer(0),
        )
        .await
        .unwrap()
    }

    async fn rounds(&self) -> Vec<LiquidationRecord> {
        self.store
            .liquidation_history(self.devnet.node.chain_id, self.module, 100)
            .await
            .unwrap()
    }

    /// Waits until `done` holds for the rounds, mining a block every `mine_every` if set.
    async fn wait_rounds(
        &self,
        rt: &Runtime,
        what: &str,
        mine_every: Option<Duration>,
        done: impl Fn(&[LiquidationRecord]) -> bool,
    ) -> Vec<LiquidationRecord> {
        let control = self.devnet.control();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut next_block = tokio::time::Instant::now();
        loop {
            let rounds = self.rounds().await;
            if done(&rounds) {
                return rounds;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "{what}: rounds {rounds:#?}\npane {:#?}\nactions {:#?}",
                    rt.liquidator.borrow(),
                    rt.queue.snapshot().actions
                );
            }
            if let Some(every) = mine_every
                && tokio::time::Instant::now() >= next_block
            {
                control.mine().await.unwrap();
                next_block = tokio::time::Instant::now() + every;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn usdc_of(&self, who: Address) -> U256 {
        self.devnet.token_balance("token.usdc", who).await.unwrap()
    }

    /// Block numbers of a position's `PositionFrozen` and `Liquidation` events.
    async fn event_blocks(&self, position: u64, name: &str) -> Vec<u64> {
        self.store
            .margin_events(self.devnet.node.chain_id, self.module, position)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.name == name)
            .map(|e| e.block_number)
            .collect()
    }

    async fn actions_of(&self, rt: &Runtime, kind: ActionKind) -> Vec<hedgedesk::actions::Action> {
        rt.queue.refresh().await.unwrap();
        rt.queue
            .snapshot()
            .actions
            .iter()
            .filter(|a| a.kind == kind)
            .cloned()
            .collect()
    }
}

fn state_of(rounds: &[LiquidationRecord], position: u64) -> Option<LiquidationState> {
    rounds
        .iter()
        .find(|r| r.position_id == position)
        .map(|r| r.state)
}

async fn pane_row(
    rt: &Runtime,
    position: u64,
    want: impl Fn(&LiquidatorSnapshot) -> bool,
) -> LiquidatorSnapshot {
    let mut pane = rt.liquidator.clone();
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let snap = pane.borrow_and_update().clone();
            if want(&snap) {
                return (*snap).clone();
            }
            pane.changed().await.unwrap();
        }
    })
    .await
    .unwrap_or_else(|_| panic!("position {position}: pane {:#?}", rt.liquidator.borrow()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_freezes_then_liquidates_exactly_the_underwater_profitable_positions() {
    let market = Market::start().await;
    let rt = market.runtime(0).await;

    // Before the drop every position is watched and none is touched.
    pane_row(&rt, 0, |s| s.totals.monitored == 4 && s.rows.len() == 4).await;
    assert!(market.rounds().await.is_empty());

    market.set_weth_price("1900").await;
    let rounds = market
        .wait_rounds(
            &rt,
            "positions 0 and 1 confirmed",
            Some(Duration::from_millis(700)),
            |r| {
                state_of(r, 0) == Some(LiquidationState::Confirmed)
                    && state_of(r, 1) == Some(LiquidationState::Confirmed)
            },
        )
        .await;
    assert_eq!(
        rounds.len(),
        2,
        "only the two profitable underwater positions: {rounds:#?}"
    );
    for round in &rounds {
        assert_eq!(round.round, 1);
        assert_eq!(round.reward_usd_cents, Some(5_000));
        let profit = round.profit_usd_cents.expect("realised profit");
        let gas = round.gas_usd_cents.expect("gas in USD");
        assert_eq!(profit, 5_000 - gas);
        assert!(round.gas_wei > U256::ZERO);
        // Freeze and confirm in two blocks, the confirm later.
        let frozen = market
            .event_blocks(round.position_id, "PositionFrozen")
            .await;
        let liquidated = market.event_blocks(round.position_id, "Liquidation").await;
        assert_eq!(frozen.len(), 1, "{frozen:?}");
        assert_eq!(liquidated.len(), 1, "{liquidated:?}");
        assert!(liquidated[0] > frozen[0], "{frozen:?} then {liquidated:?}");
    }
    // The receiver holds both rewards.
    assert_eq!(market.usdc_of(RECEIVER).await, U256::from(100_000_000u64));
    assert_eq!(
        market
            .actions_of(&rt, ActionKind::FreezePosition)
            .await
            .len(),
        2
    );
    let confirms = market.actions_of(&rt, ActionKind::Liquidate).await;
    assert_eq!(confirms.len(), 2);
    assert!(confirms.iter().all(|a| a.state == ActionState::Confirmed));

    // The healthy one is watched; the 2-USDC reward is not worth the gas at min_profit $5.
    let snap = pane_row(&rt, 3, |s| {
        s.rows
            .iter()
            .any(|r| r.position_id == 3 && r.reason.contains("below min_profit"))
    })
    .await;
    let row = |id: u64| snap.rows.iter().find(|r| r.position_id == id).unwrap();
    assert_eq!(row(3).state, RowState::Watching);
    assert!(row(3).health_bps.unwrap() < 10_000);
    assert_eq!(row(2).state, RowState::Watching);
    assert!(row(2).health_bps.unwrap() > 10_000);
    assert_eq!(row(0).state, RowState::Confirmed);
    assert_eq!(snap.totals.confirmed, 2);
    // Node calls grow with the flagged positions, not with the monitored ones.
    assert_eq!(
        snap.metrics.last_pass_checks as usize, snap.totals.candidates,
        "only candidates are checked: {:?}",
        snap.metrics
    );
    // The same counts on /metrics.
    let mut text = String::new();
    rt.metrics.encode(&mut text).unwrap();
    let sample = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
    };
    let calls = sample("hedgedesk_liquidator_node_calls_total");
    assert!(
        calls >= snap.metrics.total_calls as f64,
        "{calls} {:?}",
        snap.metrics
    );
    assert!(sample("hedgedesk_liquidator_candidate_checks_total") < calls);
    assert!(sample("hedgedesk_liquidator_positions_monitored") > 0.0);
    rt.shutdown().await;

    // With `always_liquidate_reward_above` under its $2 reward, it is liquidated at a loss.
    let rt = market.runtime(100).await;
    let rounds = market
        .wait_rounds(
            &rt,
            "position 3 confirmed",
            Some(Duration::from_millis(700)),
            |r| state_of(r, 3) == Some(LiquidationState::Confirmed),
        )
        .await;
    assert_eq!(rounds.len(), 3);
    assert!(
        state_of(&rounds, 2).is_none(),
        "the healthy position is never touched"
    );
    assert_eq!(market.usdc_of(RECEIVER).await, U256::from(102_000_000u64));
    rt.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_that_recovers_between_freeze_and_confirm_is_not_confirmed() {
    let market = Market::start().await;
    // Only position 0 (8,000 on 3.67 WETH) goes under at 2,100 (below 2,182); position 1
    // (6,000 on 3 WETH) holds until 2,000.
    market.set_weth_price("2100").await;
    let rt = market.runtime(0).await;
    // No block is mined but by transactions: the freeze cannot be confirmed before the
    // borrower's deposit, which is the next block.
    market
        .wait_rounds(&rt, "position 0 frozen", None, |r| {
            state_of(r, 0) == Some(LiquidationState::Frozen)
        })
        .await;
    let borrower = market.devnet.wallet(2).unwrap();
    let module = hedgedesk::liquidator::abi::IMarginModule::new(market.module, &borrower);
    module
        .positionDeposit(
            U256::ZERO,
            market.weth.address,
            U256::ZERO,
            U256::from(10).pow(U256::from(18)),
        )
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let rounds = market
        .wait_rounds(&rt, "position 0 recovered", None, |r| {
            state_of(r, 0) == Some(LiquidationState::Recovered)
        })
        .await;
    assert_eq!(rounds.len(), 1, "{rounds:#?}");
    // More blocks: still healthy, never confirmed.
    for _ in 0..5 {
        market.devnet.control().mine().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(
        state_of(&market.rounds().await, 0),
        Some(LiquidationState::Recovered)
    );
    assert!(
        market
            .actions_of(&rt, ActionKind::Liquidate)
            .await
            .is_empty()
    );
    assert!(market.event_blocks(0, "Liquidation").await.is_empty());
    let snap = pane_row(&rt, 0, |s| {
        s.rows
            .iter()
            .any(|r| r.position_id == 0 && r.state == RowState::Recovered)
    })
    .await;
    assert!(snap.rows.iter().any(|r| r.position_id == 0));
    rt.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_between_freeze_and_confirm_confirms_once() {
    let market = Market::start().await;
    market.set_weth_price("2100").await;
    let rt = market.runtime(0).await;
    market
        .wait_rounds(&rt, "position 0 frozen", None, |r| {
            state_of(r, 0) == Some(LiquidationState::Frozen)
        })
        .await;
    // Stopped after the freeze, before any later block could carry the confirm.
    rt.shutdown().await;
    assert!(market.event_blocks(0, "Liquidation").await.is_empty());

    let rt = market.runtime(0).await;
    let rounds = market
        .wait_rounds(
            &rt,
            "position 0 confirmed after the restart",
            Some(Duration::from_millis(700)),
            |r| state_of(r, 0) == Some(LiquidationState::Confirmed),
        )
        .await;
    assert_eq!(rounds.len(), 1, "{rounds:#?}");
    // Keep mining a little: nothing is sent twice.
    for _ in 0..3 {
        market.devnet.control().mine().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(
        market
            .actions_of(&rt, ActionKind::FreezePosition)
            .await
            .len(),
        1
    );
    assert_eq!(market.actions_of(&rt, ActionKind::Liquidate).await.len(), 1);
    assert_eq!(market.event_blocks(0, "PositionFrozen").await.len(), 1);
    assert_eq!(market.event_blocks(0, "Liquidation").await.len(), 1);
    assert_eq!(market.usdc_of(RECEIVER).await, U256::from(50_000_000u64));
    rt.shutdown().await;
}
