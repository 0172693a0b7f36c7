//! Every tab, overlay and keystore screen rendered on ratatui's TestBackend and pinned
//! with insta. The state is driven through the same key handling the console uses.

use std::path::PathBuf;
use std::sync::Arc;

use alloy::primitives::{Address, B256, U256};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use hedgedesk::actions::{Action, ActionKind, ActionPlan, ActionState, ActionsSnapshot, Estimate};
use hedgedesk::app::log_buffer::{LogBuffer, LogLine};
use hedgedesk::app::supervisor::{HealthMap, WorkerHealth, WorkerStatus};
use hedgedesk::chain::{ChainStatus, EndpointState, EndpointStatus, HeadInfo};
use hedgedesk::config::Config;
use hedgedesk::liquidator::pane::{
    CandidateRow, LiquidatorSnapshot, Metrics, PositionDetail, RowState, TokenInfo, Totals,
};
use hedgedesk::liquidator::requests::DeskRequest as LiquidatorRequest;
use hedgedesk::oracle::pane::{CycleSummary, OracleSnapshot, RequestOutcome, SlotRow};
use hedgedesk::oracle::slot::{PriceSlot, normalize};
use hedgedesk::store::{
    CycleStats, DayTotals, MarginEvent, MarginOrder, MarginPosition, PositionStatus,
};
use hedgedesk::tui::state::{AppState, Phase, UnlockPhase};
use hedgedesk::tui::theme::Theme;
use hedgedesk::tui::update::{self, Effect};
use hedgedesk::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// 2026-11-21 09:30:00 UTC
const NOW: i64 = 1_795_253_400_000;

fn action(
    id: i64,
    kind: ActionKind,
    state: ActionState,
    summary: &str,
    plan: ActionPlan,
    est: Estimate,
) -> Action {
    Action {
        id,
        key: format!("{kind}:{id}"),
        desk: kind.desk(),
        kind,
        state,
        summary: summary.into(),
        plan,
        estimate: est,
        note: None,
        tx_hash: None,
        created_at: NOW - id * 47_000,
        updated_at: NOW - id * 47_000,
    }
}

fn liquidation_plan() -> ActionPlan {
    ActionPlan::ContractCall {
        chain: "devnet".into(),
        contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3".into(),
        contract_name: "MarginModule".into(),
        function: "liquidate(uint256,address)".into(),
        args: vec![
            ("positionId".into(), "42".into()),
            (
                "receiver".into(),
                "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".into(),
            ),
        ],
        value_wei: "0".into(),
        gas_limit: 310_000,
        calldata: "0x5fae8b3d000000000000000000000000000000000000000000000000000000000000002a000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266".into(),
    }
}

fn hedge_plan() -> ActionPlan {
    ActionPlan::ExchangeOrder {
        venue: "binance-usdm (paper)".into(),
        symbol: "BTCUSDT".into(),
        side: "SELL".into(),
        quantity: "0.125".into(),
        order_type: "MARKET".into(),
        reduce_only: false,
        client_order_id: "hd-open-7".into(),
        market: "BTC-USD".into(),
    }
}

fn sample_actions() -> Vec<Action> {
    let fee = |gwei: u128| Estimate {
        gas_cost_wei: gwei * 1_000_000_000,
        profit_usd_cents: None,
    };
    let mut v = vec![
        action(
            5,
            ActionKind::Liquidate,
            ActionState::Proposed,
            "liquidate position 42 (debt 1,204 USDC, value 1,150 USDC)",
            liquidation_plan(),
            Estimate {
                gas_cost_wei: 310_000 * 3_000_000_000,
                profit_usd_cents: Some(4_210),
            },
        ),
        action(
            4,
            ActionKind::OpenHedge,
            ActionState::Proposed,
            "short 0.125 BTC: vault drawdown flag on BTC/USD",
            hedge_plan(),
            fee(0),
        ),
        action(
            3,
            ActionKind::PublishPrices,
            ActionState::Sent,
            "publish 3 price slots (BTC, ETH, SOL)",
            liquidation_plan(),
            fee(412_000),
        ),
        action(
            2,
            ActionKind::SettleContract,
            ActionState::Confirmed,
            "settle AnyHedge contract 0x8a3f… at maturity",
            liquidation_plan(),
            fee(95_000),
        ),
        action(
            1,
            ActionKind::ApproveWithdrawal,
            ActionState::Rejected,
            "withdraw 2.5 ETH for provider 0x70997970…",
            liquidation_plan(),
            fee(60_000),
        ),
    ];
    v[4].note = Some("rejected by operator".into());
    v[2].tx_hash = Some("0xabc123".into());
    v
}

fn logs() -> Arc<LogBuffer> {
    let buf = LogBuffer::new(100);
    let lines = [
        (
            tracing::Level::INFO,
            "hedgedesk::app",
            "keystore unlocked address=0xf39F…2266",
        ),
        (
            tracing::Level::INFO,
            "hedgedesk::app::runtime",
            "runtime started workers=1",
        ),
        (
            tracing::Level::WARN,
            "hedgedesk::actions::runner",
            "approved actions wait: no executor for this kind yet kind=open_hedge",
        ),
        (
            tracing::Level::ERROR,
            "hedgedesk::app::supervisor",
            "worker crashed; restarting worker=oracle restarts=1",
        ),
    ];
    for (i, (level, target, message)) in lines.into_iter().enumerate() {
        buf.push(LogLine {
            at: NOW - 60_000 + i as i64 * 1_000,
            level,
            target: target.into(),
            message: message.into(),
        });
    }
    buf
}

fn unlocked_state() -> AppState {
    let mut s = locked_state(UnlockPhase::Auto);
    s.phase = Phase::Main;
    s.account = Some("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".into());
    s.set_actions(Arc::new(ActionsSnapshot::new(sample_actions())));
    let mut health = HealthMap::new();
    health.insert(
        "actions",
        WorkerHealth {
            status: WorkerStatus::Running,
            restarts: 0,
            last_error: None,
        },
    );
    s.health = health;
    s.chains = vec![devnet_status(0)];
    s.oracle = Arc::new(oracle_snapshot());
    s
}

const MODULE: &str = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const OPERATOR: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const BORROWER: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const LENDER: &str = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const RIVAL: &str = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

fn addr(s: &str) -> Address {
    s.parse().unwrap()
}

fn usdc() -> TokenInfo {
    TokenInfo {
        address: addr("0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"),
        symbol: "USDC".into(),
        decimals: 6,
    }
}

fn weth() -> TokenInfo {
    TokenInfo {
        address: addr("0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9"),
        symbol: "WETH".into(),
        decimals: 18,
    }
}

/// `whole.fraction` USDC (6 decimals) as base units.
fn usdc_units(whole: u64, cents: u64) -> U256 {
    U256::from(whole * 1_000_000 + cents * 10_000)
}

/// A USDC-based position valued at the next block, with a 25 USDC reward.
#[allow(clippy::too_many_arguments)]
fn candidate(
    position_id: u64,
    value: Option<(u64, u64)>,
    debt: (u64, u64),
    health_bps: Option<u32>,
    insolvent_in: Option<i64>,
    gas_cents: i64,
    state: RowState,
    reason: &str,
) -> CandidateRow {
    let valued_at = (NOW / 1000 + 5) as u64;
    CandidateRow {
        position_id,
        order_id: 7,
        owner: addr(BORROWER),
        base: usdc(),
        value: value.map(|(w, c)| usdc_units(w, c)),
        debt: usdc_units(debt.0, debt.1),
        health_bps,
        insolvent_at: insolvent_in.map(|s| (valued_at as i64 + s) as u64),
        reward: usdc(),
        reward_amount: usdc_units(25, 0),
        reward_usd_cents: Some(2_500),
        gas_usd_cents: Some(gas_cents),
        profit_usd_cents: Some(2_500 - gas_cents),
        state,
        reason: reason.into(),
    }
}

/// One row in each state the desk shows, lowest health first, with totals and metrics.
fn liquidator_snapshot() -> LiquidatorSnapshot {
    let mut weth_reward = candidate(
        8,
        Some((2_410, 50)),
        (2_422, 80),
        Some(9_949),
        Some(-30),
        118,
        RowState::Watching,
        "profit $30.14 (reward $31.32 − gas $1.18) ≥ min_profit $0.00; auto is off (l to liquidate)",
    );
    weth_reward.reward = weth();
    weth_reward.reward_amount = U256::from(10_000_000_000_000_000u64);
    weth_reward.reward_usd_cents = Some(3_132);
    weth_reward.profit_usd_cents = Some(3_014);
    let mut no_price = candidate(
        51,
        None,
        (640, 0),
        None,
        None,
        0,
        RowState::Watching,
        "no USD price for the reward asset (add it to [[liquidator.prices]])",
    );
    no_price.gas_usd_cents = None;
    no_price.profit_usd_cents = None;
    let rows = vec![
        candidate(
            42,
            Some((1_133, 25)),
            (1_204, 6),
            Some(9_412),
            Some(-600),
            96,
            RowState::Confirming,
            "confirm is action #18 (approved)",
        ),
        candidate(
            17,
            Some((4_861, 0)),
            (5_034, 90),
            Some(9_654),
            Some(-1_800),
            101,
            RowState::FrozenByUs,
            "frozen by us until 1795256941; auto is off (l to confirm)",
        ),
        candidate(
            23,
            Some((985, 12)),
            (998, 0),
            Some(9_870),
            Some(-60),
            99,
            RowState::FrozenByOther,
            &format!("frozen by {RIVAL} until 1795256400"),
        ),
        weth_reward,
        candidate(
            64,
            Some((12_030, 0)),
            (12_000, 0),
            Some(10_025),
            Some(720),
            104,
            RowState::Freezing,
            "freeze proposed as action #21 (approved)",
        ),
        candidate(
            5,
            Some((880, 0)),
            (861, 30),
            Some(10_217),
            None,
            96,
            RowState::Confirmed,
            "confirmed: liquidated by us, profit $24.04",
        ),
        candidate(
            31,
            Some((3_072, 40)),
            (2_996, 10),
            Some(10_254),
            Some(3 * 86_400 + 4 * 3_600 + 120),
            97,
            RowState::Watching,
            "healthy on chain",
        ),
        candidate(
            12,
            Some((1_561, 75)),
            (1_502, 0),
            Some(10_397),
            Some(5 * 3_600 + 12 * 60 + 9),
            95,
            RowState::Recovered,
            "recovered; still ours until the hour ends",
        ),
        candidate(
            19,
            Some((2_300, 0)),
            (2_150, 0),
            Some(10_697),
            Some(9 * 86_400),
            98,
            RowState::Failed,
            &format!("lost: frozen first by {RIVAL}"),
        ),
        candidate(
            3,
            Some((20_000, 0)),
            (5_000, 0),
            Some(40_000),
            None,
            93,
            RowState::Watching,
            "healthy on chain",
        ),
        no_price,
    ];
    LiquidatorSnapshot {
        chain: "devnet".into(),
        module: Some(addr(MODULE)),
        note: Some("liquidating position #8 as asked".into()),
        auto: false,
        head: Some((18_204, (NOW / 1000 - 7) as u64)),
        valued_at: (NOW / 1000 + 5) as u64,
        rows,
        totals: Totals {
            monitored: 128,
            candidates: 6,
            liquidatable: 3,
            confirmed: 12,
            failed: 2,
            realised_profit_cents: 1_600,
        },
        metrics: Metrics {
            revalue_us: 412,
            last_pass_calls: 9,
            last_pass_checks: 6,
            passes: 57,
            total_calls: 1_024,
        },
        days: vec![
            DayTotals {
                day: "2026-11-21".into(),
                confirmed: 2,
                failed: 1,
                reward_usd_cents: 5_000,
                gas_usd_cents: 392,
                profit_usd_cents: 4_608,
            },
            DayTotals {
                day: "2026-11-20".into(),
                confirmed: 10,
                failed: 1,
                reward_usd_cents: 2_500,
                gas_usd_cents: 3_508,
                profit_usd_cents: -1_008,
            },
        ],
        detail: None,
    }
}

/// Position #17 as the desk reads it for the detail overlay.
fn position_detail() -> PositionDetail {
    let valued_at = (NOW / 1000 + 5) as u64;
    let frozen_at = valued_at - 659;
    let event = |block: u64, name: &str, detail: String| MarginEvent {
        block_number: block,
        log_index: 1,
        tx_hash: B256::repeat_byte(0x5a),
        position_id: Some(17),
        order_id: None,
        name: name.into(),
        detail,
    };
    let (usdc, weth) = (usdc(), weth());
    PositionDetail {
        position: MarginPosition {
            position_id: 17,
            order_id: Some(7),
            owner: addr(BORROWER),
            base_asset: usdc.address,
            initial_balance: usdc_units(5_000, 0),
            interest: Some(U256::from(150)),
            created_at: Some(valued_at - 9 * 86_400),
            deadline: Some(valued_at + 21 * 86_400 + 3 * 3_600),
            holdings: vec![
                (usdc.address, usdc_units(1_204, 50)),
                (weth.address, U256::from(1_250_000_000_000_000_000u64)),
            ],
            status: PositionStatus::Open,
            frozen_time: frozen_at,
            liquidator: Some(addr(OPERATOR)),
            stale: false,
            opened_block: 17_015,
            closed_block: None,
        },
        order: Some(MarginOrder {
            order_id: 7,
            owner: addr(LENDER),
            base_asset: usdc.address,
            whitelist: B256::ZERO,
            interest_rate: U256::from(150),
            duration: 30 * 86_400,
            min_loan: usdc_units(100, 0),
            leverage: 5,
            oracle: addr("0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9"),
            collaterals: vec![weth.address],
            alive: true,
            reward: Some((usdc.address, usdc_units(25, 0))),
            deadline: Some(valued_at + 60 * 86_400),
            currency_limit: Some(4),
            stale: false,
            created_block: 16_990,
        }),
        tokens: vec![usdc.clone(), weth.clone()],
        events: vec![
            event(
                17_015,
                "PositionOpened",
                format!(
                    "owner {BORROWER} loan 5000000000 collateral 1000000000 of {}",
                    usdc.address
                ),
            ),
            event(
                17_020,
                "MarginSwap",
                format!(
                    "3795500000 of {} for 1250000000000000000 of {}",
                    usdc.address, weth.address
                ),
            ),
            event(17_020, "NewAsset", weth.address.to_string()),
            event(
                18_151,
                "PositionFrozen",
                format!("by {OPERATOR} at {frozen_at}"),
            ),
        ],
    }
}

fn liquidations_state() -> AppState {
    let mut s = unlocked_state();
    s.set_liquidator(Arc::new(liquidator_snapshot()));
    s
}

/// Three slots: BTC published 7 s ago, C964 two and a half minutes ago (stale), ETH never.
fn oracle_snapshot() -> OracleSnapshot {
    let now = NOW / 1000;
    let slot = |asset_id: u64, price: i64, conf: u64, ema: i64, age: i64| PriceSlot {
        asset_id,
        normalized_price: normalize(price, -8, 8).unwrap_or(0),
        price,
        confidence: conf,
        exponent: -8,
        ema_price: ema,
        ema_confidence: conf,
        publish_time: (now - age) as u64,
        prev_publish_time: (now - age - 1) as u64,
    };
    let row = |n: u8, symbol: &str, feed: u8, on_chain: PriceSlot, tx: Option<&str>| SlotRow {
        slot: n,
        symbol: symbol.into(),
        asset_id: on_chain.asset_id,
        decimals: 8,
        price_id: B256::repeat_byte(feed),
        on_chain,
        latest: None,
        stale_after_secs: 60,
        last_tx: tx.map(String::from),
    };
    let mut snap = OracleSnapshot {
        chain: "devnet".into(),
        price_caster: "0x5FbDB2315678afecb367f032d93F642f64180aa3".parse().ok(),
        rows: vec![
            row(
                0,
                "BTC/USD",
                0xe6,
                slot(1, 6_140_993_501_000, 3_287_868_567, 6_094_004_700_000, 7),
                Some("0x8a3f21c4d9e0b7a6f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8"),
            ),
            row(
                1,
                "C964/USD",
                0xc9,
                slot(2, 4_959_503, 5_465, 4_982_594, 150),
                None,
            ),
            row(
                2,
                "ETH/USD",
                0xff,
                PriceSlot {
                    asset_id: 3,
                    ..PriceSlot::default()
                },
                None,
            ),
        ],
        last_cycle: Some(CycleSummary {
            at_ms: NOW - 3_000,
            due: vec!["BTC/USD: 61s newer".into()],
            action: Some(12),
            error: None,
        }),
        last_request: Some(RequestOutcome {
            request: "bootstrap",
            outcome: CycleSummary {
                at_ms: NOW - 95_000,
                due: vec!["3 slot(s) in place".into()],
                action: None,
                error: None,
            },
        }),
        history: Default::default(),
        stats: CycleStats {
            cycles: 42,
            proposed: 9,
            refused: 1,
            mean_duration_us: 3_400,
            max_duration_us: 9_100,
            tx_confirmed: 8,
            tx_failed: 1,
            fees_wei: 2_150_000_000_000_000,
        },
    };
    for p in [6_090, 6_110, 6_105, 6_130, 6_150, 6_120, 6_141] {
        snap.rows[0].on_chain.price = p * 1_000_000_000;
        snap.remember_prices();
    }
    snap.rows[0].on_chain.price = 6_140_993_501_000;
    snap.remember_prices();
    snap
}

/// A devnet with a primary and a backup endpoint; `serving` is the one in use, and an
/// endpoint before it is down.
fn devnet_status(serving: usize) -> ChainStatus {
    let endpoint = |name: &str, port: u16, state: EndpointState| EndpointStatus {
        name: name.into(),
        url_redacted: format!("http://127.0.0.1:{port}"),
        state,
        head: (state != EndpointState::Down).then_some(18_204),
        lag: Some(0),
        latency_ms: (state != EndpointState::Down).then_some(3),
        consecutive_errors: if state == EndpointState::Down { 4 } else { 0 },
        total_errors: if state == EndpointState::Down { 4 } else { 0 },
        last_error: (state == EndpointState::Down).then(|| "connection refused".into()),
    };
    let primary_state = if serving == 0 {
        EndpointState::Healthy
    } else {
        EndpointState::Down
    };
    ChainStatus {
        name: "devnet".into(),
        chain_id: 31_337,
        head: Some(HeadInfo {
            number: 18_204,
            timestamp_secs: (NOW / 1000 - 7) as u64,
            seen_at: std::time::UNIX_EPOCH,
        }),
        active: Some(serving),
        endpoints: vec![
            endpoint("primary", 8545, primary_state),
            endpoint("backup", 8546, EndpointState::Healthy),
        ],
        account: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".parse().ok(),
        balance_wei: Some(U256::from(9_999_870_000_000_000_000_000u128)),
    }
}

fn locked_state(phase: UnlockPhase) -> AppState {
    let mut s = AppState::new(
        Arc::new(Config::default()),
        Theme::built_in_default(),
        PathBuf::from("/nonexistent/hedgedesk/themes"),
        PathBuf::from("/home/desk/.local/share/hedgedesk/keystore/operator.json"),
        logs(),
        NOW,
    );
    s.phase = Phase::Unlock(phase);
    s
}

fn draw(state: &AppState) -> String {
    let mut term = Terminal::new(TestBackend::new(120, 30)).unwrap();
    term.draw(|f| view::render(f, state)).unwrap();
    term.backend().to_string()
}

fn press(state: &mut AppState, code: KeyCode) -> Option<Effect> {
    update::on_key(state, KeyEvent::new(code, KeyModifiers::NONE))
}

fn type_text(state: &mut AppState, text: &str) {
    for c in text.chars() {
        press(state, KeyCode::Char(c));
    }
}

#[test]
fn the_chain_line_says_when_the_primary_endpoint_is_down() {
    let mut s = unlocked_state();
    s.chains = vec![devnet_status(1)];
    let screen = draw(&s);
    let line = screen.lines().rev().nth(1).unwrap().to_string();
    assert!(line.contains("✕ primary down"), "{line}");
    assert!(line.contains("▸● backup"), "{line}");
    assert!(line.contains("(failover)"), "{line}");
    insta::assert_snapshot!("chain_line_failover", screen);
}

#[test]
fn the_oracle_pane_shows_slots_prices_and_ages() {
    let mut s = unlocked_state();
    press(&mut s, KeyCode::Char('1'));
    let screen = draw(&s);
    for needle in [
        "PriceCaster 0x5FbD…0aa3 on devnet · 3 slot(s)",
        "61,409.93501000",
        "±32.87868567",
        "614099350",
        "0.04959503",
        "7s",
        "2m",
        "never",
        "BTC/USD · 8 publications",
        "last cycle 3s ago: BTC/USD: 61s newer → action #12",
        "42 cycles, 9 proposed, 1 refused, mean 3 ms · txs 8 ok 1 failed, fees 0.00215 ETH",
    ] {
        assert!(
            screen.contains(needle),
            "{needle:?} not on screen:\n{screen}"
        );
    }
    insta::assert_snapshot!("oracle_pane", screen);
    // Moving the selection moves the chart to that feed.
    press(&mut s, KeyCode::Down);
    assert!(draw(&s).contains("C964/USD · 1 publications"));
}

#[test]
fn oracle_commands_ask_first_and_only_on_the_oracle_tab() {
    use hedgedesk::oracle::desk::DeskRequest;
    let mut s = unlocked_state();
    s.config = Arc::new({
        let mut c = Config::default();
        c.oracle.feeds = vec![hedgedesk::config::FeedConfig {
            symbol: "BTC/USD".into(),
            asset_id: 1,
            decimals: 8,
            price_id: "0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43".into(),
            ..Default::default()
        }];
        c
    });
    press(&mut s, KeyCode::Char('6'));
    assert!(press(&mut s, KeyCode::Char('b')).is_none());
    assert!(draw(&s).contains("that key works on the Oracle tab (1)"));

    press(&mut s, KeyCode::Char('1'));
    assert!(press(&mut s, KeyCode::Char('R')).is_none());
    insta::assert_snapshot!("oracle_reset_confirm", draw(&s));
    assert!(press(&mut s, KeyCode::Char('n')).is_none(), "n cancels");
    assert!(s.overlay.is_none());

    press(&mut s, KeyCode::Char('b'));
    assert!(draw(&s).contains("slot 0: BTC/USD (asset 1, 8 decimals)"));
    assert!(matches!(
        press(&mut s, KeyCode::Char('y')),
        Some(Effect::Oracle(DeskRequest::Bootstrap))
    ));
    press(&mut s, KeyCode::Char('p'));
    assert!(matches!(
        press(&mut s, KeyCode::Char('y')),
        Some(Effect::Oracle(DeskRequest::PublishNow))
    ));
}

#[test]
fn the_liquidations_pane_shows_candidates_with_their_states() {
    let mut s = liquidations_state();
    press(&mut s, KeyCode::Char('2'));
    let screen = draw(&s);
    for needle in [
        "MarginModule 0xe7f1…0512 on devnet",
        "auto OFF (A)",
        "head #18204 at 09:29:53 UTC",
        "valued at 09:30:05 UTC",
        "pass: 9 node calls, 6 checks, revalue 412 µs",
        "128 monitored · 6 candidates · 3 liquidatable · 12 confirmed · 2 failed",
        "realised profit $16.00",
        "liquidating position #8 as asked",
        "1,133.25 USDC",
        "1,204.06 USDC",
        "94.12%",
        "102.54%",
        "400.00%",
        "3d 4h",
        "5h 12m",
        "12m",
        "0.01 WETH",
        "$1.18",
        "$30.14",
        "confirming",
        "frozen by us",
        "frozen by other",
        "freezing",
        "watching",
        "recovered",
        "confirmed",
        "failed",
        "no price",
        "2026-11-20",
        "-$10.08",
    ] {
        assert!(
            screen.contains(needle),
            "{needle:?} not on screen:\n{screen}"
        );
    }
    // Long reasons are cut to the room left, never wrapped.
    assert!(!screen.contains(RIVAL), "{screen}");
    insta::assert_snapshot!("liquidations_pane", screen);

    // The selection stays on its position when the next pass re-sorts the rows.
    press(&mut s, KeyCode::Down);
    assert_eq!(s.selected_candidate().unwrap().position_id, 17);
    let mut next = liquidator_snapshot();
    next.rows.swap(0, 1);
    s.set_liquidator(Arc::new(next));
    assert_eq!(s.liquidator_pos.selected, 0);
    assert_eq!(s.selected_candidate().unwrap().position_id, 17);

    // `A` asks the desk to switch auto, without a popup.
    assert!(matches!(
        press(&mut s, KeyCode::Char('A')),
        Some(Effect::Liquidator(LiquidatorRequest::ToggleAuto))
    ));
    assert!(s.overlay.is_none());
}

#[test]
fn the_liquidations_pane_says_what_is_missing() {
    let mut s = unlocked_state();
    press(&mut s, KeyCode::Char('2'));
    assert!(draw(&s).contains("run `hedgedesk devnet up` on a devnet, or set"));
    s.set_liquidator(Arc::new(LiquidatorSnapshot {
        chain: "devnet".into(),
        module: Some(addr(MODULE)),
        ..Default::default()
    }));
    assert!(draw(&s).contains("No open positions on the margin module."));
    assert!(press(&mut s, KeyCode::Enter).is_none());
    assert!(press(&mut s, KeyCode::Char('l')).is_none());
    assert!(s.overlay.is_none());
}

#[test]
fn the_liquidation_detail_overlay() {
    let mut s = liquidations_state();
    press(&mut s, KeyCode::Char('2'));
    press(&mut s, KeyCode::Down);
    assert!(matches!(
        press(&mut s, KeyCode::Enter),
        Some(Effect::Liquidator(LiquidatorRequest::Detail(Some(17))))
    ));
    assert!(draw(&s).contains("loading…"));

    // The desk answers on its next snapshot.
    let mut snap = liquidator_snapshot();
    snap.detail = Some(position_detail());
    s.set_liquidator(Arc::new(snap));
    let screen = draw(&s);
    for needle in [
        "Position #17 · open",
        "#17 · order #7 · open",
        BORROWER,
        "09:19:06 UTC by 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 (us), confirmable until 10:19:06 UTC",
        "2026-11-12 09:30 UTC · deadline 2026-12-12 12:30 UTC (in 21d 3h)",
        "1,204.5 USDC",
        "1.25 WETH",
        "interest 150 bps/30d · leverage 5x · reward 25 USDC · deadline 2027-01-20 09:30 UTC",
        LENDER,
        "4, oldest first",
        "block    18151  PositionFrozen",
    ] {
        assert!(
            screen.contains(needle),
            "{needle:?} not on screen:\n{screen}"
        );
    }
    insta::assert_snapshot!("liquidation_detail", screen);

    // A long history keeps its newest events and the close hint on screen.
    let mut snap = liquidator_snapshot();
    let mut detail = position_detail();
    let last = detail.events[3].clone();
    for i in 0..40 {
        let mut e = last.clone();
        e.block_number = 18_160 + i;
        e.name = "PositionDeposit".into();
        detail.events.push(e);
    }
    snap.detail = Some(detail);
    s.set_liquidator(Arc::new(snap));
    let screen = draw(&s);
    assert!(screen.contains("earlier event(s)"), "{screen}");
    assert!(
        screen.contains("block    18199  PositionDeposit"),
        "{screen}"
    );
    assert!(screen.contains("esc / enter close"), "{screen}");

    // Other keys leave it open; Esc closes it and tells the desk.
    assert!(press(&mut s, KeyCode::Char('l')).is_none());
    assert!(s.overlay.is_some());
    assert!(matches!(
        press(&mut s, KeyCode::Esc),
        Some(Effect::Liquidator(LiquidatorRequest::Detail(None)))
    ));
    assert!(s.overlay.is_none());
    press(&mut s, KeyCode::Enter);
    assert!(matches!(
        press(&mut s, KeyCode::Enter),
        Some(Effect::Liquidator(LiquidatorRequest::Detail(None)))
    ));
    assert!(s.overlay.is_none());
}

#[test]
fn liquidate_asks_first_and_only_on_the_liquidations_tab() {
    let mut s = liquidations_state();
    for tab in ['1', '6', '7'] {
        press(&mut s, KeyCode::Char(tab));
        assert!(press(&mut s, KeyCode::Char('l')).is_none());
        assert!(s.overlay.is_none(), "l on tab {tab} opens nothing");
        assert!(draw(&s).contains("that key works on tab 2 (Liquidations)"));
        assert!(press(&mut s, KeyCode::Char('A')).is_none());
        assert!(press(&mut s, KeyCode::Enter).is_none());
        assert!(s.overlay.is_none());
    }

    press(&mut s, KeyCode::Char('2'));
    // #42 is being confirmed already: nothing to ask.
    assert!(press(&mut s, KeyCode::Char('l')).is_none());
    assert!(s.overlay.is_none());
    assert!(draw(&s).contains("position #42: our confirm is on its way"));

    // #8: watching, underwater, auto off.
    s.flash = None;
    for _ in 0..3 {
        press(&mut s, KeyCode::Down);
    }
    assert!(press(&mut s, KeyCode::Char('l')).is_none());
    let screen = draw(&s);
    for needle in [
        "Liquidate position #8?",
        "MarginModule 0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
        "liquidate(uint256,address)",
        "positionId  8",
        "receiver    0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 (your account)",
        "the same call in a later block",
    ] {
        assert!(
            screen.contains(needle),
            "{needle:?} not on screen:\n{screen}"
        );
    }
    insta::assert_snapshot!("liquidate_confirm", screen);
    assert!(press(&mut s, KeyCode::Esc).is_none(), "esc cancels");
    assert!(s.overlay.is_none());
    press(&mut s, KeyCode::Char('l'));
    assert!(matches!(
        press(&mut s, KeyCode::Char('y')),
        Some(Effect::Liquidator(LiquidatorRequest::Liquidate(8)))
    ));
    assert!(s.overlay.is_none());

    // A configured receiver is named as such; frozen by us, `l` confirms.
    s.config = Arc::new({
        let mut c = Config::default();
        c.liquidator.receiver = LENDER.into();
        c
    });
    press(&mut s, KeyCode::Char('g'));
    press(&mut s, KeyCode::Down);
    press(&mut s, KeyCode::Char('l'));
    let screen = draw(&s);
    assert!(
        screen.contains(&format!("{LENDER} (the configured receiver)")),
        "{screen}"
    );
    assert!(screen.contains("We froze it already: this call confirms the liquidation."));
    assert!(matches!(
        press(&mut s, KeyCode::Char('y')),
        Some(Effect::Liquidator(LiquidatorRequest::Liquidate(17)))
    ));
}

#[test]
fn every_tab() {
    let mut s = unlocked_state();
    for n in 1..=7u8 {
        press(&mut s, KeyCode::Char(char::from(b'0' + n)));
        insta::assert_snapshot!(format!("tab_{n}"), draw(&s));
    }
}

#[test]
fn tab_and_shift_tab_cycle_through_all_seven() {
    let mut s = unlocked_state();
    press(&mut s, KeyCode::Char('7'));
    press(&mut s, KeyCode::Tab);
    assert_eq!(s.tab.number(), 1);
    press(&mut s, KeyCode::BackTab);
    assert_eq!(s.tab.number(), 7);
}

#[test]
fn help_overlay() {
    let mut s = unlocked_state();
    press(&mut s, KeyCode::Char('?'));
    insta::assert_snapshot!(draw(&s));
    press(&mut s, KeyCode::Esc);
    assert!(s.overlay.is_none());
}

#[test]
fn palette_filters_and_switches_theme() {
    let mut s = unlocked_state();
    press(&mut s, KeyCode::Char(':'));
    insta::assert_snapshot!("palette_open", draw(&s));
    type_text(&mut s, "theme li");
    insta::assert_snapshot!("palette_filtered", draw(&s));
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.theme.name, "light");
    assert!(s.overlay.is_none());
}

#[test]
fn confirm_popup_shows_what_will_be_signed() {
    let mut s = unlocked_state();
    press(&mut s, KeyCode::Char('6'));
    assert!(press(&mut s, KeyCode::Char('a')).is_none());
    insta::assert_snapshot!("confirm_contract_call", draw(&s));
    match press(&mut s, KeyCode::Char('y')) {
        Some(Effect::Approve(5)) => {}
        _ => panic!("y in the confirm popup approves action 5"),
    }
    assert!(s.overlay.is_none());
}

#[test]
fn confirm_popup_for_an_exchange_order_and_cancel() {
    let mut s = unlocked_state();
    press(&mut s, KeyCode::Char('6'));
    press(&mut s, KeyCode::Char('j'));
    press(&mut s, KeyCode::Char('r'));
    insta::assert_snapshot!("confirm_exchange_order_reject", draw(&s));
    assert!(press(&mut s, KeyCode::Esc).is_none());
    assert!(s.overlay.is_none());
}

#[test]
fn only_proposed_actions_can_be_approved() {
    let mut s = unlocked_state();
    press(&mut s, KeyCode::Char('6'));
    press(&mut s, KeyCode::Char('j'));
    press(&mut s, KeyCode::Char('j'));
    assert!(press(&mut s, KeyCode::Char('a')).is_none());
    assert!(s.overlay.is_none());
    insta::assert_snapshot!("approve_refused_flash", draw(&s));
}

#[test]
fn unlock_prompt_with_a_wrong_passphrase() {
    let mut s = locked_state(UnlockPhase::Prompt {
        input: Default::default(),
        failures: 0,
        error: None,
        busy: false,
    });
    type_text(&mut s, "not-the-passphrase");
    insta::assert_snapshot!("unlock_typing", draw(&s));
    assert!(matches!(
        press(&mut s, KeyCode::Enter),
        Some(Effect::Unlock(_))
    ));
    update::on_unlock_failed(&mut s, true, "wrong passphrase".into());
    insta::assert_snapshot!("unlock_wrong_passphrase", draw(&s));
    assert!(!s.quit);
    for _ in 0..2 {
        type_text(&mut s, "again");
        press(&mut s, KeyCode::Enter);
        update::on_unlock_failed(&mut s, true, "wrong passphrase".into());
    }
    assert!(s.quit, "the third wrong passphrase exits");
}

#[test]
fn no_keystore_offers_to_create_one() {
    let mut s = locked_state(UnlockPhase::OfferCreate);
    insta::assert_snapshot!("offer_create", draw(&s));
    press(&mut s, KeyCode::Char('y'));
    type_text(&mut s, "short");
    press(&mut s, KeyCode::Enter);
    insta::assert_snapshot!("create_too_short", draw(&s));
    type_text(&mut s, "correct horse battery");
    press(&mut s, KeyCode::Enter);
    type_text(&mut s, "correct horse battery");
    assert!(matches!(
        press(&mut s, KeyCode::Enter),
        Some(Effect::CreateKeystore(_))
    ));
}

#[test]
fn secrets_typed_into_the_console_never_show_in_debug_or_on_screen() {
    let mut s = locked_state(UnlockPhase::Prompt {
        input: Default::default(),
        failures: 0,
        error: None,
        busy: false,
    });
    type_text(&mut s, "hunter2-secret");
    let screen = draw(&s);
    let debug = format!("{s:?}");
    assert!(!screen.contains("hunter2"), "{screen}");
    assert!(!debug.contains("hunter2"), "{debug}");
}

#[test]
fn every_theme_renders() {
    for name in ["default", "light", "high-contrast"] {
        let mut s = unlocked_state();
        s.theme = Theme::load(name, std::path::Path::new("/nonexistent")).unwrap();
        press(&mut s, KeyCode::Char('6'));
        let mut term = Terminal::new(TestBackend::new(100, 24)).unwrap();
        term.draw(|f| view::render(f, &s)).unwrap();
        let bg = term.backend().buffer()[(0, 23)].bg;
        assert_eq!(
            bg, s.theme.status_bg,
            "{name}: the status bar uses the theme"
        );
    }
}

// ---- AnyHedge tab ----

const FACTORY: &str = "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707";
const BCH_ORACLE: &str = "02d09db08af1ff4e8453919cc866a4be427d7bfe18f2c05e5444c196fcf6fd2818";
const BTC_ORACLE: &str = "03a1f5c2e6b0d4987c3e21f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9";

/// An address as the tab shortens it.
fn short(address: &str) -> String {
    hedgedesk::tui::format::short_address(&addr(address).to_checksum(None))
}

fn draw_sized(state: &AppState, width: u16, height: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(width, height)).unwrap();
    term.draw(|f| view::render(f, state)).unwrap();
    term.backend().to_string()
}

/// A 64-hex wallet hash that starts with `tag`.
fn wallet(tag: &str) -> String {
    format!("{tag}{}", "7c4e9a1f03b5d82e".repeat(4))[..64].to_string()
}

/// The parameters of a simple hedge of `cents` US cents from `start` (2 decimals), with the
/// reference math.
fn hedge(
    cents: f64,
    start: u32,
    (low, high): (f64, f64),
) -> hedgedesk::anyhedge::math::ContractParameters {
    hedgedesk::anyhedge::math::create(&hedgedesk::anyhedge::math::ContractTerms {
        nominal_units: cents,
        start_price: start,
        low_mult: low,
        high_mult: high,
        leveraged: false,
    })
    .unwrap()
}

/// A contract of [`hedge`]'s, the oracle's last price `last` seen 12 s ago, started
/// `started_h` hours ago for `days` days.
#[allow(clippy::too_many_arguments)]
fn contract(
    address: &str,
    cents: f64,
    start: u32,
    mults: (f64, f64),
    last: Option<u32>,
    started_h: i64,
    days: i64,
    state: hedgedesk::anyhedge::pane::PositionState,
) -> hedgedesk::anyhedge::pane::PositionRow {
    let p = hedge(cents, start, mults);
    let start_ms = NOW - started_h * 3_600_000;
    hedgedesk::anyhedge::pane::PositionRow {
        address: addr(address),
        short_wallet: wallet("a1"),
        long_wallet: wallet("b2"),
        oracle_pubkey: BCH_ORACLE.into(),
        price_decimals: 2,
        start_ms,
        maturity_ms: start_ms + days * 86_400_000,
        start_price: p.start_price,
        low_price: p.low_price,
        high_price: p.high_price,
        last_price: last.map(|l| (l, NOW - 12_000)),
        payout_sats: p.payout_sats,
        short_input_sats: p.short_input_sats,
        long_input_sats: p.long_input_sats,
        projected: last.map(|l| {
            let payout = p.settle(l);
            (payout.short_sats, payout.long_sats)
        }),
        state,
        redemption: None,
        action: None,
    }
}

/// (cents, start, multipliers) of the settled contracts.
const MATURATION: (f64, u32, (f64, f64)) = (8_247.0, 40_500, (0.75, 5.0));
const LIQUIDATED: (f64, u32, (f64, f64)) = (4_123.0, 47_120, (0.9, 1.25));
const REDEEMED: (f64, u32, (f64, f64)) = (2_061.0, 41_020, (0.5, 10.0));

const C_AWAITING: &str = "0x1aE0EA34a72D944a8C7603FfB3eC30a6669E454C";
const C_FUNDING: &str = "0x2bD5f1Ac2Fe3C71eb6Ef6F4d5c96f1EbB6Fa9E8b";
const C_REDEEMING: &str = "0x3c8A71f3D0b1e2C4d5E6f7A8b9C0d1E2f3A4b5C6";
const C_NEAR_LOW: &str = "0x4D2e9B8c7A6f5E4d3C2b1A0f9E8d7C6b5A4f3E2d";
const C_MATURED: &str = "0x5e1F0a9B8c7D6e5F4a3B2c1D0e9F8a7B6c5D4e3F";
const C_SETTLING: &str = "0x6F0a1B2c3D4e5F6a7B8c9D0e1F2a3B4c5D6e7F8a";
const C_MATURATION: &str = "0x7a9B8c7D6e5F4a3B2c1D0e9F8a7B6c5D4e3F2a1B";
const C_LIQUIDATED: &str = "0x8b8C7d6E5f4A3b2C1d0E9f8A7b6C5d4E3f2A1b0C";
const C_REDEEMED: &str = "0x9c7D6e5F4a3B2c1D0e9F8a7B6c5D4e3F2a1B0c9D";

/// Offers in each status, a contract in every state (one with a half-signed redemption,
/// one whose last price is near low), settlements of each kind, two oracles (one whose
/// relay fails) and the desk's journal.
fn anyhedge_snapshot() -> hedgedesk::anyhedge::pane::AnyHedgeSnapshot {
    use hedgedesk::anyhedge::pane::{
        AnyHedgeSnapshot, JournalLine, OfferRow, OracleRow, PositionState, RedemptionRow,
        SettlementRow, Severity, Side,
    };
    let offer =
        |id: i64, status: &str, side, sats, days_h: (u64, u64), mults: (f64, f64), ago_s: i64| {
            OfferRow {
                id,
                status: status.into(),
                side,
                wallet_hash: wallet(&format!("{id:02}")),
                satoshis: sats,
                duration_secs: days_h.0 * 86_400 + days_h.1 * 3_600,
                low_mult: mults.0,
                high_mult: mults.1,
                oracle_pubkey: BCH_ORACLE.into(),
                settlement_deadline_ms: None,
                created_at_ms: NOW - ago_s * 1000,
            }
        };
    let mut offers = vec![
        offer(
            15,
            "pending",
            Side::Short,
            150_000_000,
            (30, 0),
            (0.75, 5.0),
            190,
        ),
        offer(
            14,
            "accepted",
            Side::Long,
            25_000_000,
            (7, 0),
            (0.5, 10.0),
            260,
        ),
        offer(
            13,
            "pending",
            Side::Long,
            1_234_567_890,
            (1, 12),
            (0.8, 2.0),
            3_700,
        ),
        offer(
            12,
            "settled",
            Side::Short,
            200_000_000,
            (1, 0),
            (0.9, 1.5),
            2 * 86_400,
        ),
        offer(
            11,
            "cancelled",
            Side::Long,
            10_000_000,
            (0, 6),
            (0.75, 5.0),
            3 * 86_400,
        ),
    ];
    offers[1].settlement_deadline_ms = Some(NOW + 11 * 60_000 + 40_000);

    let bch = 41_235;
    let mut awaiting = contract(
        C_AWAITING,
        61_852.0,
        bch,
        (0.75, 5.0),
        Some(41_180),
        0,
        30,
        PositionState::AwaitingFunding {
            short: true,
            long: false,
        },
    );
    awaiting.short_wallet = wallet("15");
    let mut funding = contract(
        C_FUNDING,
        10_309.0,
        41_236,
        (0.5, 10.0),
        Some(41_180),
        0,
        7,
        PositionState::Funding,
    );
    funding.action = Some((16, ActionState::Failed));
    let mut redeeming = contract(
        C_REDEEMING,
        20_060.0,
        40_120,
        (0.8, 2.0),
        Some(bch - 55),
        50,
        14,
        PositionState::Live,
    );
    redeeming.redemption = Some(RedemptionRow {
        kind: "refund".into(),
        short_sats: redeeming.short_input_sats,
        long_sats: redeeming.long_input_sats,
        short_signed: true,
        long_signed: false,
    });
    redeeming.action = Some((18, ActionState::Confirmed));
    let mut near_low = contract(
        C_NEAR_LOW,
        247_410.0,
        52_880,
        (0.75, 4.0),
        Some(41_180),
        96,
        30,
        PositionState::Live,
    );
    near_low.action = Some((20, ActionState::Confirmed));
    let mut matured = contract(
        C_MATURED,
        4_123.0,
        40_990,
        (0.9, 1.5),
        Some(41_180),
        24,
        1,
        PositionState::Live,
    );
    matured.maturity_ms = NOW - 95_000;
    let mut settling = contract(
        C_SETTLING,
        8_247.0,
        43_900,
        (0.9, 1.2),
        Some(41_180),
        30,
        2,
        PositionState::Settling,
    );
    settling.maturity_ms = NOW - 300_000;
    settling.action = Some((22, ActionState::Sent));
    let settled = |address, cents, start, mults, started_h, days, action| {
        let mut c = contract(
            address,
            cents,
            start,
            mults,
            Some(41_180),
            started_h,
            days,
            PositionState::Settled,
        );
        c.action = Some((action, ActionState::Confirmed));
        c
    };
    let positions = vec![
        awaiting,
        funding,
        redeeming,
        near_low,
        matured,
        settling,
        settled(
            C_MATURATION,
            MATURATION.0,
            MATURATION.1,
            MATURATION.2,
            26,
            1,
            17,
        ),
        settled(
            C_LIQUIDATED,
            LIQUIDATED.0,
            LIQUIDATED.1,
            LIQUIDATED.2,
            48,
            7,
            15,
        ),
        settled(C_REDEEMED, REDEEMED.0, REDEEMED.1, REDEEMED.2, 80, 30, 12),
    ];
    let paid = |terms: (f64, u32, (f64, f64)), price: u32| {
        let payout = hedge(terms.0, terms.1, terms.2).settle(price);
        (payout.short_sats, payout.long_sats)
    };
    let ((maturation_short, maturation_long), (liquidation_short, liquidation_long)) =
        (paid(MATURATION, 41_102), paid(LIQUIDATED, 42_408));
    let refund = hedge(REDEEMED.0, REDEEMED.1, REDEEMED.2);
    let settlements = vec![
        SettlementRow {
            address: addr(C_MATURATION),
            kind: "maturation".into(),
            price: Some(41_102),
            short_sats: maturation_short,
            long_sats: maturation_long,
            tx_hash: Some(
                "0x4f1c9e0b7a2d6c83e5f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6".into(),
            ),
            at_ms: NOW - 2 * 3_600_000,
        },
        SettlementRow {
            address: addr(C_LIQUIDATED),
            kind: "liquidation".into(),
            price: Some(42_408),
            short_sats: liquidation_short,
            long_sats: liquidation_long,
            tx_hash: Some(
                "0x9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9".into(),
            ),
            at_ms: NOW - 26 * 3_600_000,
        },
        SettlementRow {
            address: addr(C_REDEEMED),
            kind: "mutual_redemption".into(),
            price: None,
            short_sats: refund.short_input_sats,
            long_sats: refund.long_input_sats,
            tx_hash: Some(
                "0x1d2c3b4a59687766554433221100ffeeddccbbaa99887766554433221100ffee".into(),
            ),
            at_ms: NOW - 3 * 86_400_000,
        },
    ];
    AnyHedgeSnapshot {
        chain: "devnet".into(),
        factory: Some(addr(FACTORY)),
        api: Some("127.0.0.1:8787".into()),
        offers,
        positions,
        settlements,
        oracles: vec![
            OracleRow {
                pubkey: BCH_ORACLE.into(),
                asset_name: "BCH/USD".into(),
                price_decimals: 2,
                last_price: Some((41_180, NOW - 12_000)),
                messages: 18_240,
                last_poll: Some("2 new, 18 known".into()),
            },
            OracleRow {
                pubkey: BTC_ORACLE.into(),
                asset_name: "BTC/USD".into(),
                price_decimals: 2,
                last_price: Some((6_140_993, NOW - 340_000)),
                messages: 911,
                last_poll: Some("failed: relay answered 503 Service Unavailable".into()),
            },
        ],
        journal: vec![
            JournalLine {
                at_ms: NOW - 20_000,
                severity: Severity::Failure,
                message:
                    "oracle 03a1f5c2e6…: relay poll failed: relay answered 503 Service Unavailable"
                        .into(),
            },
            JournalLine {
                at_ms: NOW - 95_000,
                severity: Severity::Failure,
                message: format!(
                    "funding {C_FUNDING} failed (action #16): execution reverted: permit expired; `f` or complete_funding tries again"
                ),
            },
            JournalLine {
                at_ms: NOW - 180_000,
                severity: Severity::Waiting,
                message: format!("mutual redemption of {C_REDEEMING} needs both signatures"),
            },
        ],
        note: None,
        last_cycle_ms: Some(NOW - 1_000),
    }
}

fn anyhedge_state() -> AppState {
    let mut s = unlocked_state();
    s.set_anyhedge(Arc::new(anyhedge_snapshot()));
    press(&mut s, KeyCode::Char('3'));
    s
}

/// Moves the contract selection to `address`.
fn select_contract(s: &mut AppState, address: &str) {
    press(s, KeyCode::Char('g'));
    while s.selected_contract().unwrap().address != addr(address) {
        press(s, KeyCode::Down);
    }
}

#[test]
fn the_anyhedge_pane_shows_offers_contracts_and_settlements() {
    let mut s = anyhedge_state();
    let screen = draw_sized(&s, 120, 40);
    for needle in [
        "AnyHedge · HedgeFactory 0x5FC8…5707 on devnet",
        "API on 127.0.0.1:8787 · auto settle ON · last cycle 1s ago",
        "Offers (5) · 2 pending · 1 accepted",
        "1.50000000 BCH",
        "12.34567890 BCH",
        "1d 12h",
        "×0.75 / ×5",
        "11m 40s",
        "Hedge contracts (9) · 2 funding · 3 live · 1 settling",
        "awaiting long",
        "refund S✓ L✗",
        "#16 failed",
        "#22 sent",
        "matured",
        "Settlements (3)",
        "mutual_redemption",
        "424.08",
        "BCH/USD",
        "411.80 12s ago · 18,240 messages · last poll 2 new, 18 known",
        "last poll failed: relay answered 503 Service Unavailable",
        "needs both signatures",
    ] {
        assert!(
            screen.contains(needle),
            "{needle:?} not on screen:\n{screen}"
        );
    }
    insta::assert_snapshot!("anyhedge_pane", screen);
    // At 30 lines the tables shrink to what fits, the selection still on screen.
    select_contract(&mut s, C_REDEEMED);
    let small = draw(&s);
    assert!(small.contains(&short(C_REDEEMED)), "{small}");
    insta::assert_snapshot!("anyhedge_pane_30_lines", small);

    // The selection stays on its contract when the next snapshot re-orders the rows.
    select_contract(&mut s, C_NEAR_LOW);
    let mut next = anyhedge_snapshot();
    next.positions.reverse();
    s.set_anyhedge(Arc::new(next));
    assert_eq!(s.selected_contract().unwrap().address, addr(C_NEAR_LOW));

    // Left/right moves the selection keys between the tables.
    press(&mut s, KeyCode::Right);
    press(&mut s, KeyCode::Down);
    assert_eq!(s.selected_offer().unwrap().id, 14);
    assert_eq!(s.selected_contract().unwrap().address, addr(C_NEAR_LOW));
    press(&mut s, KeyCode::Left);
    press(&mut s, KeyCode::Down);
    assert_eq!(s.selected_offer().unwrap().id, 14);
    assert_ne!(s.selected_contract().unwrap().address, addr(C_NEAR_LOW));
}

#[test]
fn the_anyhedge_detail_overlay() {
    use hedgedesk::tui::state::{AnyHedgeItem, Overlay};
    let mut s = anyhedge_state();
    select_contract(&mut s, C_REDEEMING);
    assert!(press(&mut s, KeyCode::Enter).is_none());
    assert_eq!(
        s.overlay,
        Some(Overlay::AnyHedgeDetail(AnyHedgeItem::Contract(addr(
            C_REDEEMING
        ))))
    );
    let screen = draw_sized(&s, 120, 40);
    for needle in [
        &format!("Contract {} · live", short(C_REDEEMING)),
        C_REDEEMING,
        "#18 confirmed",
        &wallet("a1"),
        BCH_ORACLE,
        "BCH/USD",
        "2026-11-19 07:30 UTC at 401.20",
        "(in 11d 22h)",
        "low 320.96",
        "802.40 high",
        "411.80",
        "of the way from start to high",
        "short gets",
        &format!(
            "refund: short gets {} BCH",
            hedgedesk::anyhedge::pane::bch(hedge(20_060.0, 40_120, (0.8, 2.0)).short_input_sats)
        ),
        "short signed",
        "long not signed yet",
    ] {
        assert!(
            screen.contains(needle),
            "{needle:?} not on screen:\n{screen}"
        );
    }
    insta::assert_snapshot!("anyhedge_contract_detail", screen);
    // Other keys leave it open; esc closes it.
    assert!(press(&mut s, KeyCode::Char('f')).is_none());
    assert!(s.overlay.is_some());
    press(&mut s, KeyCode::Esc);
    assert!(s.overlay.is_none());

    // On the offers, Enter shows the selected offer.
    press(&mut s, KeyCode::Right);
    press(&mut s, KeyCode::Down);
    press(&mut s, KeyCode::Enter);
    let screen = draw_sized(&s, 120, 40);
    for needle in [
        "Offer #14 · accepted",
        "takes the long side",
        "0.25000000 BCH (25,000,000 sats)",
        "7d (604,800 s)",
        "low ×0.5 · high ×10",
        "09:41:40 UTC (in 11m 40s)",
    ] {
        assert!(
            screen.contains(needle),
            "{needle:?} not on screen:\n{screen}"
        );
    }
    insta::assert_snapshot!("anyhedge_offer_detail", screen);
    press(&mut s, KeyCode::Enter);
    assert!(s.overlay.is_none());
}

#[test]
fn anyhedge_keys_ask_first_and_refuse_what_a_contract_does_not_allow() {
    use hedgedesk::anyhedge::requests::AnyHedgeRequest;
    let mut s = anyhedge_state();
    for tab in ['1', '2', '7'] {
        press(&mut s, KeyCode::Char(tab));
        for key in ['f', 's'] {
            assert!(press(&mut s, KeyCode::Char(key)).is_none());
            assert!(s.overlay.is_none(), "{key} on tab {tab} opens nothing");
            assert!(draw(&s).contains("that key works on tab 3 (AnyHedge)"));
        }
    }
    press(&mut s, KeyCode::Char('3'));

    // `f`: the long side has not proposed its funding yet.
    select_contract(&mut s, C_AWAITING);
    assert!(press(&mut s, KeyCode::Char('f')).is_none());
    assert!(s.overlay.is_none());
    insta::assert_snapshot!("anyhedge_fund_refused", draw(&s));
    assert!(draw(&s).contains(&format!("{}: no long funding proposal", short(C_AWAITING))));

    // `f` on the contract whose funding failed asks to try again.
    select_contract(&mut s, C_FUNDING);
    press(&mut s, KeyCode::Char('f'));
    let screen = draw(&s);
    for needle in [
        &format!("Fund contract {}?", short(C_FUNDING)),
        &format!("HedgeFactory {FACTORY}"),
        "createAndFund",
        "One fund_contract action",
        "The last attempt, action #16, failed: this tries again.",
    ] {
        assert!(
            screen.contains(needle),
            "{needle:?} not on screen:\n{screen}"
        );
    }
    insta::assert_snapshot!("anyhedge_fund_confirm", screen);
    let funding = addr(C_FUNDING).to_checksum(None);
    assert_eq!(
        press(&mut s, KeyCode::Char('y')).map(|e| match e {
            Effect::AnyHedge(r) => r,
            _ => panic!("y sends an AnyHedge request"),
        }),
        Some(AnyHedgeRequest::CompleteFunding { address: funding })
    );
    assert!(s.overlay.is_none());
    assert!(draw(&s).contains(&format!("asked the desk to fund {}", short(C_FUNDING))));

    // `s` on a live contract near low: it says the desk will liquidate.
    select_contract(&mut s, C_NEAR_LOW);
    press(&mut s, KeyCode::Char('s'));
    let screen = draw(&s);
    for needle in [
        &format!("Settle contract {} now?", short(C_NEAR_LOW)),
        "Not matured",
        "the desk settles only if a stored message crosses",
        "At the last price 411.80: short gets",
        "One settle_contract action, policy auto.",
    ] {
        assert!(
            screen.contains(needle),
            "{needle:?} not on screen:\n{screen}"
        );
    }
    insta::assert_snapshot!("anyhedge_settle_confirm", screen);
    assert!(press(&mut s, KeyCode::Esc).is_none(), "esc cancels");
    assert!(s.overlay.is_none());
    select_contract(&mut s, C_MATURED);
    press(&mut s, KeyCode::Char('s'));
    assert!(draw(&s).contains("the desk settles at maturity"));
    assert!(matches!(
        press(&mut s, KeyCode::Char('y')),
        Some(Effect::AnyHedge(AnyHedgeRequest::Settle { .. }))
    ));

    // `s` refuses what is not live.
    for (contract, why) in [
        (C_SETTLING, ": settling, #22 sent"),
        (C_MATURATION, " is settled already"),
        (C_FUNDING, " is not funded yet"),
    ] {
        let why = format!("{}{why}", short(contract));
        select_contract(&mut s, contract);
        s.flash = None;
        assert!(press(&mut s, KeyCode::Char('s')).is_none());
        assert!(s.overlay.is_none());
        assert!(draw(&s).contains(&why), "{why}:\n{}", draw(&s));
    }

    // `r`: one signature is missing; once both are in it asks.
    select_contract(&mut s, C_REDEEMING);
    assert!(press(&mut s, KeyCode::Char('r')).is_none());
    assert!(s.overlay.is_none());
    assert!(draw(&s).contains(&format!("{}: long has not signed yet", short(C_REDEEMING))));
    let mut next = anyhedge_snapshot();
    for p in &mut next.positions {
        if let Some(r) = &mut p.redemption {
            r.long_signed = true;
        }
    }
    s.set_anyhedge(Arc::new(next));
    press(&mut s, KeyCode::Char('r'));
    let screen = draw(&s);
    for needle in [
        &format!("Redeem contract {} now?", short(C_REDEEMING)),
        "Mutual redemption (refund), signed by both parties:",
        "mutualRedeem",
        "One mutual_redeem action, policy confirm; approve it on the Actions tab (6).",
    ] {
        assert!(
            screen.contains(needle),
            "{needle:?} not on screen:\n{screen}"
        );
    }
    insta::assert_snapshot!("anyhedge_redeem_confirm", screen);
    assert!(matches!(
        press(&mut s, KeyCode::Char('y')),
        Some(Effect::AnyHedge(AnyHedgeRequest::CompleteRedemption { .. }))
    ));

    // On the offers, the contract keys say where they work.
    press(&mut s, KeyCode::Right);
    assert!(press(&mut s, KeyCode::Char('f')).is_none());
    assert!(s.overlay.is_none());
    assert!(draw(&s).contains("select a contract first (left/right)"));
}

#[test]
fn the_anyhedge_pane_while_the_desk_waits() {
    let mut s = unlocked_state();
    s.set_anyhedge(Arc::new(hedgedesk::anyhedge::pane::AnyHedgeSnapshot {
        chain: "devnet".into(),
        note: Some(
            "waiting for \"anyhedge.factory\" and \"anyhedge.collateral\" on devnet (hedgedesk devnet up deploys them)"
                .into(),
        ),
        ..Default::default()
    }));
    press(&mut s, KeyCode::Char('3'));
    let screen = draw(&s);
    for needle in [
        "AnyHedge · no HedgeFactory on devnet yet",
        "API off · auto settle ON · no cycle yet",
        "waiting for \"anyhedge.factory\"",
        "No HedgeFactory known on devnet: run `hedgedesk devnet up`",
        "No oracles: list them under [[anyhedge.oracles]].",
    ] {
        assert!(
            screen.contains(needle),
            "{needle:?} not on screen:\n{screen}"
        );
    }
    insta::assert_snapshot!("anyhedge_waiting", screen);
    assert!(press(&mut s, KeyCode::Enter).is_none());
    assert!(press(&mut s, KeyCode::Char('s')).is_none());
    assert!(s.overlay.is_none());
    assert!(draw(&s).contains("no contract selected"));

    // The factory is found, nothing has happened yet.
    s.set_anyhedge(Arc::new(hedgedesk::anyhedge::pane::AnyHedgeSnapshot {
        chain: "devnet".into(),
        factory: Some(addr(FACTORY)),
        api: Some("127.0.0.1:8787".into()),
        last_cycle_ms: Some(NOW - 2_000),
        ..Default::default()
    }));
    let screen = draw(&s);
    for needle in [
        "No offers yet.",
        "No hedge contracts yet.",
        "No settlements yet.",
    ] {
        assert!(
            screen.contains(needle),
            "{needle:?} not on screen:\n{screen}"
        );
    }
    insta::assert_snapshot!("anyhedge_empty", screen);
}

// ---------------------------------------------------------------------------------------
// Perp tab (DeHedge)

const PERP_USDC: &str = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";
const TRADER_A: &str = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";
const TRADER_B: &str = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
const TRADER_C: &str = "0x976EA74026E726554dB657fA54763abd0C3a0aa9";
const TRADER_D: &str = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955";
const TRADER_E: &str = "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f";
const TRADER_F: &str = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720";

/// A trader position's key as the desk makes it: `user:asset:market:side:timestamp`.
fn perp_key(user: &str, market: &str, is_long: bool, opened_s_ago: i64) -> String {
    format!(
        "{user}:{PERP_USDC}:{market}:{}:{}",
        if is_long { "long" } else { "short" },
        NOW / 1000 - opened_s_ago
    )
}

fn drawdown(remaining: &str) -> hedgedesk::perp::pane::Flag {
    hedgedesk::perp::pane::Flag {
        kind: "drawdown",
        reason: format!("vault drawdown: vault 1,000,000.00 × 1.05 > remaining {remaining}"),
    }
}

fn profit_limit(remaining: &str) -> hedgedesk::perp::pane::Flag {
    hedgedesk::perp::pane::Flag {
        kind: "hedge",
        reason: format!(
            "profit limit: vault 1,000,000.00 × 1.08 × 0.4 > remaining {remaining} × 0.4"
        ),
    }
}

/// A USDC vault of 1,000,000 with a 100,000 shield and the factors 1.05 (drawdown) and
/// 1.08 × 0.4 (profit limit): the traders' 73,278.18 of PnL set the drawdown and hedge
/// flags. Six positions: BTC-USD long flagged and not hedged yet, ETH-USD short flagged
/// with its hedge opening, SOL-USD flagged on an unmapped market, a BTC-USD long whose
/// risk cleared (its hedge closes in 42 s), a losing BTC-USD short, and XAU-USD with no
/// price. Three hedges (opening, open, closing for a position that vanished) and the
/// journal with both severities.
fn perp_snapshot() -> hedgedesk::perp::pane::PerpSnapshot {
    use hedgedesk::desks::{JournalLine, Severity};
    use hedgedesk::perp::pane::{HedgeRow, PerpSnapshot, TraderRow, VaultRow};
    #[allow(clippy::too_many_arguments)]
    let trader = |user: &str,
                  market: &str,
                  is_long: bool,
                  size: &str,
                  entry: &str,
                  price: Option<&str>,
                  pnl: Option<(&str, bool)>,
                  flags: Vec<hedgedesk::perp::pane::Flag>,
                  symbol: Option<&str>,
                  opened_s_ago: i64| TraderRow {
        key: perp_key(user, market, is_long, opened_s_ago),
        user: user.into(),
        market: market.into(),
        is_long,
        size: size.into(),
        entry: entry.into(),
        price: price.map(Into::into),
        pnl: pnl.map(|(p, _)| p.into()),
        pnl_positive: pnl.is_some_and(|(_, positive)| positive),
        flags,
        symbol: symbol.map(Into::into),
        hedge: None,
        action: None,
    };
    let a = trader(
        TRADER_A,
        "BTC-USD",
        true,
        "500,000.00",
        "88,000.00",
        Some("98,771.20"),
        Some(("61,200.00", true)),
        vec![drawdown("1,038,800.00"), profit_limit("1,038,800.00")],
        Some("BTCUSDT"),
        6 * 3_600,
    );
    let mut b = trader(
        TRADER_B,
        "ETH-USD",
        false,
        "240,000.00",
        "3,400.00",
        Some("3,047.68"),
        Some(("24,869.64", true)),
        vec![profit_limit("1,075,130.36")],
        Some("ETHUSDT"),
        26 * 3_600,
    );
    b.hedge = Some((43, "opening".into()));
    b.action = Some((58, ActionState::Sent));
    let d = trader(
        TRADER_D,
        "SOL-USD",
        true,
        "80,000.00",
        "142.10",
        Some("181.18"),
        Some(("22,001.40", true)),
        vec![profit_limit("1,077,998.60")],
        None,
        3 * 86_400,
    );
    let mut f = trader(
        TRADER_F,
        "BTC-USD",
        true,
        "120,000.00",
        "95,900.00",
        Some("98,771.20"),
        Some(("3,592.74", true)),
        vec![],
        Some("BTCUSDT"),
        2 * 3_600,
    );
    f.hedge = Some((39, "open".into()));
    f.action = Some((51, ActionState::Confirmed));
    let c = trader(
        TRADER_C,
        "BTC-USD",
        false,
        "150,000.00",
        "78,645.50",
        Some("98,771.20"),
        Some(("-38,385.60", false)),
        vec![],
        Some("BTCUSDT"),
        9 * 86_400,
    );
    let e = trader(
        TRADER_E,
        "XAU-USD",
        true,
        "60,000.00",
        "2,650.00",
        None,
        None,
        vec![],
        Some("XAUUSDT"),
        4 * 86_400,
    );
    let hedge = |id: i64, key: String, symbol: &str, side: &str, qty: &str| HedgeRow {
        id,
        position_key: key,
        symbol: symbol.into(),
        side: side.into(),
        quantity: qty.into(),
        entry: None,
        mark: None,
        pnl: None,
        pnl_positive: false,
        since_ms: NOW,
        state: "open".into(),
        closes_in_secs: None,
        note: None,
    };
    let mut opening = hedge(43, b.key.clone(), "ETHUSDT", "SELL", "78.748");
    opening.mark = Some("3,047.91".into());
    opening.since_ms = NOW - 4_000;
    opening.state = "opening".into();
    opening.note = Some("order hd-perp-43 sent, waiting for the fill".into());
    let mut open = hedge(39, f.key.clone(), "BTCUSDT", "BUY", "1.275");
    open.entry = Some("94,120.50".into());
    open.mark = Some("98,790.10".into());
    open.pnl = Some("5,953.74".into());
    open.pnl_positive = true;
    open.since_ms = NOW - 47 * 60_000;
    open.closes_in_secs = Some(42);
    open.note = Some("risk cleared 18s ago".into());
    let mut closing = hedge(
        36,
        perp_key(RIVAL, "BTC-USD", false, 5 * 3_600),
        "BTCUSDT",
        "SELL",
        "0.640",
    );
    closing.entry = Some("101,210.00".into());
    closing.mark = Some("98,790.10".into());
    closing.pnl = Some("1,548.74".into());
    closing.pnl_positive = true;
    closing.since_ms = NOW - (3 * 60 + 12) * 60_000;
    closing.state = "closing".into();
    closing.note = Some("position vanished: reduce-only BUY 0.640 sent (hd-perp-36-close)".into());
    let journal = |ago_s: i64, severity, message: &str| JournalLine {
        at_ms: NOW - ago_s * 1000,
        severity,
        message: message.into(),
    };
    PerpSnapshot {
        chain: "devnet".into(),
        venue: "binance https://testnet.binancefuture.com".into(),
        auto: true,
        block: Some(18_204),
        read_at_ms: Some(NOW - 2_000),
        vaults: vec![VaultRow {
            asset: PERP_USDC.into(),
            symbol: "USDC".into(),
            vault: "1,000,000.00".into(),
            shield: "100,000.00".into(),
            total_pnl: "73,278.18".into(),
            remaining: "1,026,721.82".into(),
            remaining_bps: 9_333,
            shield_left_bps: 2_672,
            flags: vec![drawdown("1,026,721.82"), profit_limit("1,026,721.82")],
        }],
        positions: vec![a, b, d, f, c, e],
        hedges: vec![opening, open, closing],
        journal: vec![
            journal(
                4,
                Severity::Waiting,
                "hedge #43 ETHUSDT: order hd-perp-43 sent, waiting for the fill",
            ),
            journal(
                21,
                Severity::Failure,
                "SOL-USD long of 0x14dC…9955 is flagged (profit limit) but SOL-USD has no venue symbol in [perp.markets]: not hedged",
            ),
            journal(
                130,
                Severity::Failure,
                "no price for XAU-USD for 3m: its position is not evaluated",
            ),
            journal(
                190,
                Severity::Waiting,
                "hedge #36 BTCUSDT: the closing order answered 503 (unknown), reconciling by client order id hd-perp-36-close",
            ),
        ],
        note: None,
    }
}

fn perp_state() -> AppState {
    let mut s = unlocked_state();
    s.set_perp(Arc::new(perp_snapshot()));
    press(&mut s, KeyCode::Char('4'));
    s
}

/// Moves the position selection to the one of `user`.
fn select_trader(s: &mut AppState, user: &str) {
    press(s, KeyCode::Char('g'));
    while s.selected_trader().unwrap().user != user {
        press(s, KeyCode::Down);
    }
}

/// Moves the hedge selection to hedge `id`.
fn select_hedge(s: &mut AppState, id: i64) {
    press(s, KeyCode::Char('g'));
    while s.selected_hedge().unwrap().id != id {
        press(s, KeyCode::Down);
    }
}

fn assert_on_screen(screen: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            screen.contains(needle),
            "{needle:?} not on screen:\n{screen}"
        );
    }
}

#[test]
fn the_perp_pane_shows_vaults_positions_flags_and_hedges() {
    use hedgedesk::tui::state::PerpFocus;
    let mut s = perp_state();
    let screen = draw_sized(&s, 120, 40);
    assert_on_screen(
        &screen,
        &[
            "Perp desk · DePerp on devnet",
            "venue binance https://testnet.binancefuture.com · auto hedging ON · read block 18,204 2s ago",
            "Vaults and shields (1) · 2 flags",
            "USDC 0x9fE4…a6e0 · vault 1,000,000.00 · shield 100,000.00 · traders' PnL +73,278.18",
            "remaining 1,026,721.82 93.33%",
            "shield left 26.72%",
            "drawdown  vault drawdown: vault 1,000,000.00 × 1.05 > remaining 1,026,721.82",
            "hedge     profit limit: vault 1,000,000.00 × 1.08 × 0.4 > remaining 1,026,721.82 × 0.4",
            "Trader positions (6) · 3 flagged · 2 hedged · 1 without price",
            "0x15d3…6A65",
            "+61,200.00",
            "-38,385.60",
            "DD HG",
            "not hedged",
            "#43 opening",
            "#58 sent",
            "unmapped market",
            "no price",
            "Hedges on the venue (3) · 1 opening · 1 open · 1 closing",
            "78.748",
            "+5,953.74",
            "47m",
            "closes in 42s",
            "risk cleared 18s ago",
            "position vanished",
            "Journal (4, newest first) · 2 failures",
            "09:29:56 hedge #43 ETHUSDT: order hd-perp-43 sent, waiting for the fill",
            "no venue symbol in [perp.markets]",
            "o open hedge · c close hedge · a auto · enter detail · left/right positions/hedges",
        ],
    );
    insta::assert_snapshot!("perp_pane", screen);

    // At 80x24 the flags share one line, the tables keep what matters.
    let small = draw_sized(&s, 80, 24);
    assert_on_screen(
        &small,
        &[
            "venue binance https://testnet.binancefuture.com",
            "auto hedging ON · read block 18,204 2s ago",
            "remaining 93.33%",
            "shield left 26.72%",
            "● vault drawdown: vault 1,000,000.00 × 1.05 > remaining 1,026,721.82",
            "+61,200.00",
            "unmapped market",
            "#43 opening",
            "closes in 42s",
            "Journal (4, newest first) · 2 failures",
        ],
    );
    insta::assert_snapshot!("perp_pane_80x24", small);
    // Any size draws, down to almost nothing.
    for (w, h) in [(200, 60), (60, 16), (40, 12), (20, 6), (4, 4)] {
        draw_sized(&s, w, h);
    }

    // The selection stays on its position when the next snapshot re-orders the rows.
    select_trader(&mut s, TRADER_F);
    let mut next = perp_snapshot();
    next.positions.reverse();
    next.hedges.reverse();
    s.set_perp(Arc::new(next));
    assert_eq!(s.selected_trader().unwrap().user, TRADER_F);

    // Left/right moves the selection keys between the tables.
    press(&mut s, KeyCode::Right);
    assert_eq!(s.perp_focus, PerpFocus::Hedges);
    select_hedge(&mut s, 39);
    assert_eq!(s.selected_trader().unwrap().user, TRADER_F);
    press(&mut s, KeyCode::Left);
    assert_eq!(s.perp_focus, PerpFocus::Positions);
    press(&mut s, KeyCode::Down);
    assert_eq!(s.selected_hedge().unwrap().id, 39);
    assert_ne!(s.selected_trader().unwrap().user, TRADER_F);

    // A snapshot without rows leaves nothing selected.
    s.set_perp(Arc::new(hedgedesk::perp::pane::PerpSnapshot::default()));
    assert!(s.selected_trader().is_none());
    assert!(s.selected_hedge().is_none());
}

#[test]
fn the_perp_tables_build_only_the_visible_rows() {
    let mut s = perp_state();
    let mut snap = perp_snapshot();
    let template = snap.positions[4].clone();
    snap.positions = (0..10_000)
        .map(|i| {
            let mut p = template.clone();
            p.user = format!("0x{i:040x}");
            p.key = format!("{}:{i}", p.user);
            p
        })
        .collect();
    s.set_perp(Arc::new(snap));
    press(&mut s, KeyCode::Char('G'));
    assert_eq!(
        s.selected_trader().unwrap().user,
        format!("0x{:040x}", 9_999)
    );
    let started = std::time::Instant::now();
    let screen = draw_sized(&s, 120, 40);
    assert!(
        started.elapsed() < std::time::Duration::from_millis(500),
        "drawing 10k positions took {:?}",
        started.elapsed()
    );
    assert!(screen.contains("Trader positions (10000)"), "{screen}");
    assert!(
        screen.contains("0x0000…270f"),
        "the last row is on screen:\n{screen}"
    );
    assert!(
        !screen.contains("0x0000…0000"),
        "the first is not:\n{screen}"
    );
}

#[test]
fn the_perp_detail_overlay() {
    use hedgedesk::tui::state::{Overlay, PerpItem};
    let mut s = perp_state();
    select_trader(&mut s, TRADER_A);
    assert!(press(&mut s, KeyCode::Enter).is_none());
    let key_a = perp_key(TRADER_A, "BTC-USD", true, 6 * 3_600);
    assert_eq!(
        s.overlay,
        Some(Overlay::PerpDetail(PerpItem::Position(key_a.clone())))
    );
    let screen = draw_sized(&s, 120, 40);
    assert_on_screen(
        &screen,
        &[
            "Position 0x15d3…6A65 BTC-USD long",
            TRADER_A,
            &key_a,
            "BTC-USD → BTCUSDT on the venue",
            "long: a hedge BUYs it",
            "500,000.00 USDC · entry 88,000.00",
            "+61,200.00 USDC (the vault's loss)",
            "drawdown  vault drawdown: vault 1,000,000.00 × 1.05 > remaining 1,038,800.00",
            "hedge     profit limit",
            "USDC 1,000,000.00 · shield 100,000.00 · remaining 1,026,721.82 (93.33%)",
            "none: flagged and not hedged",
        ],
    );
    insta::assert_snapshot!("perp_position_detail", screen);
    // On a small screen the key wraps and the popup still ends with how to close it.
    let small = draw_sized(&s, 80, 40);
    assert!(small.contains("esc / enter close"), "{small}");
    // Other keys leave it open; esc closes it.
    assert!(press(&mut s, KeyCode::Char('o')).is_none());
    assert!(s.overlay.is_some());
    press(&mut s, KeyCode::Esc);
    assert!(s.overlay.is_none());

    // On the hedges, Enter shows the selected hedge.
    press(&mut s, KeyCode::Right);
    select_hedge(&mut s, 36);
    press(&mut s, KeyCode::Enter);
    let screen = draw_sized(&s, 120, 40);
    assert_on_screen(
        &screen,
        &[
            "Hedge #36 BTCUSDT · closing",
            "SELL 0.640 BTCUSDT on binance https://testnet.binancefuture.com",
            "entry 101,210.00 · mark 98,790.10",
            "+1,548.74 USDT (unrealised)",
            "2026-11-21 06:18 UTC (3h ago)",
            "position vanished: reduce-only BUY 0.640 sent",
            "no longer on DePerp: the hedge is closed once",
        ],
    );
    insta::assert_snapshot!("perp_hedge_detail", screen);
    press(&mut s, KeyCode::Enter);
    assert!(s.overlay.is_none());
}

#[test]
fn perp_keys_ask_first_and_refuse_what_a_row_does_not_allow() {
    use hedgedesk::perp::requests::PerpRequest;
    let mut s = perp_state();
    for tab in ['1', '3', '7'] {
        press(&mut s, KeyCode::Char(tab));
        for key in ['o', 'c'] {
            assert!(press(&mut s, KeyCode::Char(key)).is_none());
            assert!(s.overlay.is_none(), "{key} on tab {tab} opens nothing");
            assert!(draw(&s).contains("that key works on tab 4 (Perp)"));
        }
    }
    press(&mut s, KeyCode::Char('4'));

    // `o` on the flagged, unhedged BTC-USD long asks, then sends its key.
    select_trader(&mut s, TRADER_A);
    assert!(press(&mut s, KeyCode::Char('o')).is_none());
    let screen = draw(&s);
    assert_on_screen(
        &screen,
        &[
            "Open a hedge for 0x15d3…6A65 BTC-USD long?",
            "size 500,000.00 · entry 88,000.00 · price 98,771.20 · trader PnL +61,200.00",
            "Flags     drawdown, hedge",
            "vault drawdown: vault 1,000,000.00 × 1.05 > remaining 1,038,800.00",
            "BUY BTCUSDT at market for the position's notional at the mark price",
            "the trader's way (the vault is the counterparty)",
            "venue  binance https://testnet.binancefuture.com",
            "One open_hedge action, policy confirm; approve it on the Actions tab (6).",
        ],
    );
    insta::assert_snapshot!("perp_open_confirm", screen);
    assert_eq!(
        press(&mut s, KeyCode::Char('y')).map(|e| match e {
            Effect::Perp(r) => r,
            _ => panic!("y sends a Perp request"),
        }),
        Some(PerpRequest::OpenHedge {
            position_key: perp_key(TRADER_A, "BTC-USD", true, 6 * 3_600)
        })
    );
    assert!(s.overlay.is_none());
    assert!(draw(&s).contains("asked to hedge 0x15d3…6A65 BTC-USD long"));

    // n cancels.
    press(&mut s, KeyCode::Char('o'));
    assert!(s.overlay.is_some());
    assert!(press(&mut s, KeyCode::Char('n')).is_none());
    assert!(s.overlay.is_none());

    // `o` refuses what cannot or need not be hedged.
    for (user, why) in [
        (TRADER_B, "already hedged: #43 opening"),
        (TRADER_D, "SOL-USD is unmapped: never hedged"),
        (TRADER_E, "no price for XAU-USD: cannot size it"),
    ] {
        select_trader(&mut s, user);
        s.flash = None;
        assert!(press(&mut s, KeyCode::Char('o')).is_none());
        assert!(s.overlay.is_none());
        assert!(draw(&s).contains(why), "{why}:\n{}", draw(&s));
    }

    // `c` on the open hedge whose risk cleared asks, then sends its id.
    press(&mut s, KeyCode::Right);
    assert!(press(&mut s, KeyCode::Char('o')).is_none());
    assert!(draw(&s).contains("select a position first (left/right)"));
    select_hedge(&mut s, 39);
    press(&mut s, KeyCode::Char('c'));
    let screen = draw(&s);
    assert_on_screen(
        &screen,
        &[
            "Close hedge #39 BTCUSDT?",
            "#39 BUY 1.275 BTCUSDT · entry 94,120.50 · mark 98,790.10 · PnL +5,953.74 USDT",
            "0xa0Ee…9720 BTC-USD long · no flags",
            "the desk closes it in 42 s",
            "reduce-only SELL 1.275 BTCUSDT at market",
            "One close_hedge action, policy confirm",
        ],
    );
    insta::assert_snapshot!("perp_close_confirm", screen);
    assert!(matches!(
        press(&mut s, KeyCode::Char('y')),
        Some(Effect::Perp(PerpRequest::CloseHedge { hedge_id: 39 }))
    ));
    assert!(draw(&s).contains("asked the desk to close hedge #39"));

    // `c` refuses a hedge that is not open.
    for (id, why) in [
        (43, "hedge #43 is opening, not filled yet"),
        (36, "hedge #36 is closing already"),
    ] {
        select_hedge(&mut s, id);
        s.flash = None;
        assert!(press(&mut s, KeyCode::Char('c')).is_none());
        assert!(s.overlay.is_none());
        assert!(draw(&s).contains(why), "{why}:\n{}", draw(&s));
    }

    // On the positions, `c` closes the selected position's hedge.
    press(&mut s, KeyCode::Left);
    select_trader(&mut s, TRADER_F);
    press(&mut s, KeyCode::Char('c'));
    assert!(draw(&s).contains("Close hedge #39 BTCUSDT?"));
    press(&mut s, KeyCode::Esc);
    select_trader(&mut s, TRADER_C);
    s.flash = None;
    assert!(press(&mut s, KeyCode::Char('c')).is_none());
    assert!(draw(&s).contains("no hedge on this position (left/right)"));

    // `a` asks before switching automatic hedging off, and on again.
    assert!(press(&mut s, KeyCode::Char('a')).is_none());
    let screen = draw(&s);
    assert_on_screen(
        &screen,
        &[
            "Turn automatic hedging OFF?",
            "stops proposing hedges and their closes on its own",
            "Flagged and unhedged now: 2.",
            "y go ahead",
        ],
    );
    insta::assert_snapshot!("perp_auto_confirm", screen);
    assert!(matches!(
        press(&mut s, KeyCode::Char('y')),
        Some(Effect::Perp(PerpRequest::SetAuto(false)))
    ));
    assert!(draw(&s).contains("asked the desk to turn auto hedging OFF"));
    let mut off = perp_snapshot();
    off.auto = false;
    s.set_perp(Arc::new(off));
    assert!(draw(&s).contains("auto hedging OFF"));
    press(&mut s, KeyCode::Char('a'));
    assert!(draw(&s).contains("Turn automatic hedging ON?"));
    assert!(matches!(
        press(&mut s, KeyCode::Char('y')),
        Some(Effect::Perp(PerpRequest::SetAuto(true)))
    ));
    // `a` stays approve on the Actions tab.
    press(&mut s, KeyCode::Char('6'));
    press(&mut s, KeyCode::Char('a'));
    assert!(matches!(
        s.overlay,
        Some(hedgedesk::tui::state::Overlay::Confirm(_))
    ));
}

#[test]
fn the_perp_pane_while_the_desk_waits() {
    let mut s = unlocked_state();
    press(&mut s, KeyCode::Char('4'));
    // Before the desk publishes: what the config says.
    let screen = draw(&s);
    assert_on_screen(
        &screen,
        &[
            "Perp desk · DePerp on devnet",
            "venue paper · auto hedging ON · no read yet",
            "Nothing read from DePerp on devnet yet",
            "Policies: open_hedge confirm, close_hedge confirm",
            "Journal: nothing to report",
        ],
    );
    insta::assert_snapshot!("perp_waiting", screen);
    assert!(press(&mut s, KeyCode::Enter).is_none());
    assert!(draw(&s).contains("no position selected"));
    assert!(press(&mut s, KeyCode::Char('o')).is_none());
    assert!(s.overlay.is_none());

    // Read, nothing on DePerp yet, the desk's note.
    s.set_perp(Arc::new(hedgedesk::perp::pane::PerpSnapshot {
        chain: "devnet".into(),
        venue: "paper".into(),
        auto: true,
        block: Some(18_190),
        read_at_ms: Some(NOW - 45_000),
        note: Some("no trader position on DePerp yet".into()),
        ..Default::default()
    }));
    let screen = draw(&s);
    assert_on_screen(
        &screen,
        &[
            "read block 18,190 45s ago",
            "no trader position on DePerp yet",
            "No vault read yet.",
            "No trader positions on DePerp.",
            "No hedges on the venue.",
        ],
    );
    insta::assert_snapshot!("perp_empty", screen);
}

// ---- Pool tab ----

const VAULT: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const PROVIDER_SAFE: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const PROVIDER_WARN: &str = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const PROVIDER_CALL: &str = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
const PROVIDER_STALE: &str = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";
const POLICY_BUYER: &str = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";

/// The pool as the desk publishes it: ETH and WBTC, the Vault's WBTC 0.0500 above the
/// books (the mismatch alert); three tiers; four providers (a healthy conservative one,
/// a balanced one in warning, an aggressive one in margin call, all in WBTC, and a
/// balanced one in ETH whose health is unknown because ETH/USD is stale); four policies
/// soonest expiry first (a CALL expired out of the money, a PUT expired in the money, a
/// PUT and a CALL to come, the last without a price); two withdrawals, one within its
/// maximum and one above it.
fn pool_snapshot() -> hedgedesk::pool::pane::PoolSnapshot {
    use hedgedesk::desks::{JournalLine, Severity};
    use hedgedesk::pool::pane::{
        HealthStatus, PolicyRow, PoolSnapshot, PriceLine, ProviderRow, TierRow, TokenRow,
        WithdrawalRow,
    };
    let price = |pair: &str, price: &str, age_secs: u64, stale: bool| PriceLine {
        pair: pair.into(),
        price: Some(price.into()),
        age_secs: Some(age_secs),
        stale,
    };
    let tier = |name: &str,
                ratio: &str,
                [capital, locked, limit, earned]: [&str; 4],
                utilisation_bps: u32,
                providers: usize,
                active_policies: usize| TierRow {
        name: name.into(),
        collateral_ratio: ratio.into(),
        capital: capital.into(),
        locked: locked.into(),
        capacity_limit: limit.into(),
        yield_earned: earned.into(),
        utilisation_bps,
        providers,
        active_policies,
    };
    #[allow(clippy::too_many_arguments)]
    let provider = |address: &str,
                    tier: &str,
                    (token, total, locked): (&str, &str, &str),
                    usd: Option<(&str, &str)>,
                    earned: &str,
                    ratio: Option<(&str, u32)>,
                    status: HealthStatus,
                    since_s_ago: i64| ProviderRow {
        address: address.into(),
        tier: tier.into(),
        balances: vec![(token.into(), total.into(), locked.into())],
        value_usd: usd.map(|(v, _)| v.into()),
        locked_usd: usd.map(|(_, l)| l.into()),
        yield_earned: earned.into(),
        ratio: ratio.map(|(r, _)| r.into()),
        ratio_bps: ratio.map(|(_, bps)| bps),
        status,
        status_since_ms: Some(NOW - since_s_ago * 1000),
    };
    #[allow(clippy::too_many_arguments)]
    let policy = |id: i64,
                  kind: &str,
                  tier: &str,
                  token: &str,
                  [strike, amount, premium]: [&str; 3],
                  expires_in_s: i64,
                  payout: Option<&str>,
                  in_the_money: bool| PolicyRow {
        id,
        kind: kind.into(),
        buyer: POLICY_BUYER.into(),
        tier: tier.into(),
        token: token.into(),
        strike: strike.into(),
        amount: amount.into(),
        premium: premium.into(),
        expiry_ms: NOW + expires_in_s * 1000,
        payout: payout.map(Into::into),
        in_the_money,
        status: "active".into(),
        action: None,
    };
    let journal = |ago_s: i64, severity, message: &str| JournalLine {
        at_ms: NOW - ago_s * 1000,
        severity,
        message: message.into(),
    };
    PoolSnapshot {
        chain: "devnet".into(),
        vault: Some(VAULT.into()),
        block: Some(18_204),
        synced_at_ms: Some(NOW - 2_000),
        prices: vec![
            price("BTC/USD", "97,012.55", 4, false),
            price("ETH/USD", "3,047.68", 372, true),
        ],
        tokens: vec![
            TokenRow {
                token: "ETH".into(),
                onchain_total: "40.0000".into(),
                onchain_locked: "12.0000".into(),
                books_total: "40.0000".into(),
                books_locked: "12.0000".into(),
                available: "28.0000".into(),
                locked_bps: 3_000,
                mismatch: None,
            },
            TokenRow {
                token: "WBTC".into(),
                onchain_total: "4.3500".into(),
                onchain_locked: "2.0500".into(),
                books_total: "4.3000".into(),
                books_locked: "2.0500".into(),
                available: "2.2500".into(),
                locked_bps: 4_767,
                mismatch: Some(
                    "the Vault holds 4.3500 WBTC, the books add up to 4.3000 (+0.0500 unaccounted): not corrected"
                        .into(),
                ),
            },
        ],
        tiers: vec![
            tier(
                "conservative",
                "125%",
                ["$242,531.38", "$77,610.04", "no limit", "$1,204.50"],
                3_200,
                1,
                1,
            ),
            tier(
                "balanced",
                "135%",
                ["$116,415.06", "$67,908.79", "$400,000.00", "$2,950.75"],
                5_833,
                2,
                2,
            ),
            tier(
                "aggressive",
                "155%",
                ["$58,207.53", "$53,356.90", "$150,000.00", "$3,870.20"],
                9_167,
                1,
                1,
            ),
        ],
        providers: vec![
            provider(
                PROVIDER_SAFE,
                "conservative",
                ("WBTC", "2.5000", "0.8000"),
                Some(("$242,531.38", "$77,610.04")),
                "$1,204.50",
                Some(("312.50%", 31_250)),
                HealthStatus::Healthy,
                2 * 86_400,
            ),
            provider(
                PROVIDER_WARN,
                "balanced",
                ("WBTC", "1.2000", "0.7000"),
                Some(("$116,415.06", "$67,908.79")),
                "$2,310.75",
                Some(("128.40%", 12_840)),
                HealthStatus::Warning,
                18 * 60,
            ),
            provider(
                PROVIDER_CALL,
                "aggressive",
                ("WBTC", "0.6000", "0.5500"),
                Some(("$58,207.53", "$53,356.90")),
                "$3,870.20",
                Some(("121.80%", 12_180)),
                HealthStatus::MarginCall,
                4 * 60,
            ),
            provider(
                PROVIDER_STALE,
                "balanced",
                ("ETH", "40.0000", "12.0000"),
                None,
                "$640.00",
                None,
                HealthStatus::Unknown,
                6 * 60,
            ),
        ],
        policies: vec![
            policy(
                9,
                "CALL",
                "balanced",
                "WBTC",
                ["105,000.00", "0.2500", "0.0011"],
                -12 * 60,
                Some("$0.00"),
                false,
            ),
            policy(
                12,
                "PUT",
                "aggressive",
                "WBTC",
                ["100,000.00", "0.5000", "0.0042"],
                -4 * 60,
                Some("$1,493.73"),
                true,
            ),
            policy(
                14,
                "PUT",
                "conservative",
                "WBTC",
                ["92,000.00", "1.0000", "0.0065"],
                3 * 3_600 + 12 * 60,
                Some("$0.00"),
                false,
            ),
            policy(
                15,
                "CALL",
                "balanced",
                "ETH",
                ["99,000.00", "0.3000", "0.0950"],
                30 * 3_600,
                None,
                false,
            ),
        ],
        withdrawals: vec![
            WithdrawalRow {
                id: 7,
                provider: PROVIDER_WARN.into(),
                token: "WBTC".into(),
                amount: "0.2000".into(),
                max_withdrawable: "0.3400".into(),
                refused: None,
                requested_at_ms: NOW - 9 * 60_000,
                action: None,
            },
            WithdrawalRow {
                id: 8,
                provider: PROVIDER_CALL.into(),
                token: "WBTC".into(),
                amount: "0.1000".into(),
                max_withdrawable: "0.0000".into(),
                refused: Some(
                    "above the maximum 0.0000 WBTC (its policies need 0.5500 WBTC plus the 5% buffer)"
                        .into(),
                ),
                requested_at_ms: NOW - 3 * 60_000,
                action: None,
            },
        ],
        journal: vec![
            journal(
                2,
                Severity::Failure,
                "reconciliation: WBTC Vault 4.3500 vs books 4.3000 (+0.0500): not corrected",
            ),
            journal(
                240,
                Severity::Failure,
                "0x90F7…b906 (aggressive) margin call: collateral ratio 121.80% below 130%",
            ),
            journal(
                360,
                Severity::Waiting,
                "ETH/USD is 6m 12s old (max 2m): 1 provider's health unknown",
            ),
            journal(
                1_080,
                Severity::Waiting,
                "0x3C44…93BC (balanced) warning: collateral ratio 128.40% below 135%",
            ),
        ],
        note: None,
    }
}

fn pool_state() -> AppState {
    let mut s = unlocked_state();
    s.set_pool(Arc::new(pool_snapshot()));
    press(&mut s, KeyCode::Char('5'));
    s
}

/// Moves the selection to the `focus` table's row that `is` picks.
fn select_pool_row(
    s: &mut AppState,
    focus: hedgedesk::tui::state::PoolFocus,
    is: impl Fn(&AppState) -> bool,
) {
    while s.pool_focus != focus {
        press(s, KeyCode::Right);
    }
    press(s, KeyCode::Char('g'));
    for _ in 0..100 {
        if is(s) {
            return;
        }
        press(s, KeyCode::Down);
    }
    panic!("no such row");
}

fn select_policy(s: &mut AppState, id: i64) {
    select_pool_row(s, hedgedesk::tui::state::PoolFocus::Policies, |s| {
        s.selected_policy().unwrap().id == id
    });
}

fn select_withdrawal(s: &mut AppState, id: i64) {
    select_pool_row(s, hedgedesk::tui::state::PoolFocus::Withdrawals, |s| {
        s.selected_withdrawal().unwrap().id == id
    });
}

fn select_provider(s: &mut AppState, address: &str) {
    select_pool_row(s, hedgedesk::tui::state::PoolFocus::Providers, |s| {
        s.selected_provider().unwrap().address == address
    });
}

#[test]
fn the_pool_pane_shows_totals_tiers_providers_with_statuses_and_policies() {
    use hedgedesk::tui::state::PoolFocus;
    let mut s = pool_state();
    let screen = draw_sized(&s, 120, 40);
    assert_on_screen(
        &screen,
        &[
            "Pool desk · LiquidityVault on devnet",
            "Vault 0x5FbDB2315678afecb367f032d93F642f64180aa3 · synced block 18,204 2s ago",
            "prices BTC/USD 97,012.55 (4s) · ETH/USD 3,047.68 (6m 12s, stale)",
            "Pool totals per token (2): Vault / books · 1 mismatch",
            "ETH   Vault 40.0000 locked 12.0000 · books 40.0000 locked 12.0000 · available 28.0000",
            "locked 30.00%",
            "locked 47.67%",
            "✕ WBTC the Vault holds 4.3500 WBTC, the books add up to 4.3000 (+0.0500 unaccounted): not corrected",
            "Tiers (3)",
            "conservative",
            "32.00%",
            "91.67%",
            "no limit",
            "Providers (4) · 1 warning · 1 margin call · 1 unknown",
            "0x7099…79C8",
            "2.5000 WBTC",
            "312.50%",
            "healthy",
            "warning",
            "margin call",
            "unknown (stale prices)",
            "no prices",
            "Policies near expiry or in the money (4) · 1 in the money · 2 expired",
            "12m ago",
            "3h 12m",
            "$1,493.73",
            "● ITM",
            "settle due",
            "expire due",
            "no price",
            "Pending withdrawals (2) · 1 above the maximum",
            "0.2000 WBTC",
            "within the maximum",
            "refused: above the maximum 0.0000 WBTC",
            "Journal (4, newest first) · 2 failures",
            "09:29:58 reconciliation: WBTC Vault 4.3500 vs books 4.3000 (+0.0500): not corrected",
            "w approve withdrawal · s settle · x expire · enter detail · left/right providers/policies/withdrawals",
        ],
    );
    insta::assert_snapshot!("pool_pane", screen);

    // At 80x24 the tiers keep their title with the utilisation, the focused table its rows.
    let small = draw_sized(&s, 80, 24);
    assert_on_screen(
        &small,
        &[
            "Pool desk · LiquidityVault on devnet",
            "1 mismatch",
            "✕ WBTC the Vault holds 4.3500 WBTC",
            "locked 47.67%",
            "conservative 32.00%",
            "aggressive 91.67%",
            "Providers (4) · 1 warning · 1 margin call · 1 unknown",
            "healthy",
            "warning",
            "margin call",
            "unknown (stale prices)",
            "Policies near expiry or in the money (4)",
            "Pending withdrawals (2)",
            "Journal (4, newest first) · 2 failures",
        ],
    );
    insta::assert_snapshot!("pool_pane_80x24", small);
    // Any size draws, down to almost nothing, whichever table has the focus.
    for _ in 0..3 {
        for (w, h) in [(200, 60), (60, 16), (40, 12), (20, 6), (4, 4)] {
            draw_sized(&s, w, h);
        }
        press(&mut s, KeyCode::Right);
    }

    // The selection stays on its rows when the next snapshot re-orders them.
    select_provider(&mut s, PROVIDER_CALL);
    select_policy(&mut s, 14);
    select_withdrawal(&mut s, 8);
    let mut next = pool_snapshot();
    next.providers.reverse();
    next.policies.reverse();
    next.withdrawals.reverse();
    s.set_pool(Arc::new(next));
    assert_eq!(s.selected_provider().unwrap().address, PROVIDER_CALL);
    assert_eq!(s.selected_policy().unwrap().id, 14);
    assert_eq!(s.selected_withdrawal().unwrap().id, 8);

    // Right goes round providers, policies, withdrawals; left goes back; up and down move
    // in the focused table only.
    assert_eq!(s.pool_focus, PoolFocus::Withdrawals);
    press(&mut s, KeyCode::Right);
    assert_eq!(s.pool_focus, PoolFocus::Providers);
    press(&mut s, KeyCode::Left);
    assert_eq!(s.pool_focus, PoolFocus::Withdrawals);
    press(&mut s, KeyCode::Left);
    assert_eq!(s.pool_focus, PoolFocus::Policies);
    press(&mut s, KeyCode::Down);
    assert_ne!(s.selected_policy().unwrap().id, 14);
    assert_eq!(s.selected_provider().unwrap().address, PROVIDER_CALL);
    assert_eq!(s.selected_withdrawal().unwrap().id, 8);
    // Left and right stay the AnyHedge and Perp tabs' there.
    press(&mut s, KeyCode::Char('4'));
    press(&mut s, KeyCode::Left);
    assert_eq!(s.pool_focus, PoolFocus::Policies);

    // A snapshot without rows leaves nothing selected.
    s.set_pool(Arc::new(hedgedesk::pool::pane::PoolSnapshot::default()));
    assert!(s.selected_provider().is_none());
    assert!(s.selected_policy().is_none());
    assert!(s.selected_withdrawal().is_none());
}

#[test]
fn the_pool_detail_overlay() {
    use hedgedesk::tui::state::{Overlay, PoolItem};
    let mut s = pool_state();
    select_provider(&mut s, PROVIDER_CALL);
    assert!(press(&mut s, KeyCode::Enter).is_none());
    assert_eq!(
        s.overlay,
        Some(Overlay::PoolDetail(PoolItem::Provider(
            PROVIDER_CALL.into()
        )))
    );
    let screen = draw_sized(&s, 120, 40);
    assert_on_screen(
        &screen,
        &[
            "Provider 0x90F7…b906 (aggressive) · margin call",
            PROVIDER_CALL,
            "0.6000 WBTC · locked 0.5500 WBTC",
            "$58,207.53 · locked $53,356.90",
            "121.80%",
            "margin call since 2026-11-21 09:26 UTC (4m ago)",
            "aggressive · collateral ratio 155% · utilisation",
            "1 provider · 1 active policy · capital $58,207.53",
            "#8 0.1000 WBTC (max 0.0000 WBTC) refused: above the maximum",
        ],
    );
    insta::assert_snapshot!("pool_provider_detail", screen);
    // Other keys leave it open; esc closes it.
    assert!(press(&mut s, KeyCode::Char('w')).is_none());
    assert!(s.overlay.is_some());
    press(&mut s, KeyCode::Esc);
    assert!(s.overlay.is_none());

    // The stale provider says why its health is unknown.
    select_provider(&mut s, PROVIDER_STALE);
    press(&mut s, KeyCode::Enter);
    assert_on_screen(
        &draw_sized(&s, 120, 40),
        &[
            "unknown (stale prices)",
            "unknown: no fresh prices",
            "the oracle's prices are missing or stale",
        ],
    );
    press(&mut s, KeyCode::Esc);

    // On a withdrawal, Enter shows its provider.
    select_withdrawal(&mut s, 7);
    press(&mut s, KeyCode::Enter);
    assert_eq!(
        s.overlay,
        Some(Overlay::PoolDetail(PoolItem::Provider(
            PROVIDER_WARN.into()
        )))
    );
    press(&mut s, KeyCode::Enter);
    assert!(s.overlay.is_none());

    // On the policies, Enter shows the selected policy.
    select_policy(&mut s, 12);
    press(&mut s, KeyCode::Enter);
    let screen = draw_sized(&s, 120, 40);
    assert_on_screen(
        &screen,
        &[
            "Policy #12 PUT · in the money",
            "pays max(0, strike − price) × amount",
            POLICY_BUYER,
            "aggressive tier providers, in WBTC",
            "100,000.00 USD",
            "0.5000 BTC",
            "2026-11-21 09:26 UTC (expired 4m ago)",
            "BTC/USD 97,012.55 (4s old)",
            "$1,493.73 · ● in the money",
            "none yet: settle due (s)",
        ],
    );
    insta::assert_snapshot!("pool_policy_detail", screen);
    press(&mut s, KeyCode::Enter);
    assert!(s.overlay.is_none());
}

#[test]
fn pool_keys_ask_first_and_refuse_what_a_row_does_not_allow() {
    use hedgedesk::pool::requests::PoolRequest;
    let pool = |e: Option<Effect>| match e {
        Some(Effect::Pool(r)) => r,
        _ => panic!("y sends a Pool request"),
    };
    let mut s = pool_state();
    for tab in ['1', '4', '7'] {
        press(&mut s, KeyCode::Char(tab));
        for key in ['w', 'x'] {
            assert!(press(&mut s, KeyCode::Char(key)).is_none());
            assert!(s.overlay.is_none(), "{key} on tab {tab} opens nothing");
            assert!(draw(&s).contains("that key works on tab 5 (Pool)"));
        }
    }
    // The help overlay and the palette list the Pool tab's keys.
    press(&mut s, KeyCode::Char('?'));
    assert_on_screen(
        &draw(&s),
        &[
            "5 Pool",
            "w  approve the selected withdrawal (asks first)",
            "s  settle the selected in-the-money policy (asks first)",
            "x  expire the selected policy (asks first)",
            "move the selection: providers, policies, withdrawals",
        ],
    );
    press(&mut s, KeyCode::Esc);
    press(&mut s, KeyCode::Char(':'));
    type_text(&mut s, "pool");
    assert_on_screen(
        &draw(&s),
        &[
            "pool withdraw",
            "pool settle",
            "pool expire",
            "pool detail",
            "pool focus",
        ],
    );
    press(&mut s, KeyCode::Esc);
    // `s` stays the AnyHedge tab's settle there.
    press(&mut s, KeyCode::Char('3'));
    s.flash = None;
    press(&mut s, KeyCode::Char('s'));
    assert!(!draw(&s).contains("tab 5 (Pool)"));
    press(&mut s, KeyCode::Char('5'));

    // Each key wants its table.
    assert!(press(&mut s, KeyCode::Char('w')).is_none());
    assert!(draw(&s).contains("select a withdrawal first (left/right)"));
    assert!(press(&mut s, KeyCode::Char('s')).is_none());
    assert!(draw(&s).contains("select a policy first (left/right)"));

    // `w` on the withdrawal within its maximum asks, then sends its id.
    select_withdrawal(&mut s, 7);
    s.flash = None;
    assert!(press(&mut s, KeyCode::Char('w')).is_none());
    let screen = draw(&s);
    assert_on_screen(
        &screen,
        &[
            "Approve withdrawal #7 of 0.2000 WBTC?",
            &format!("Provider  {PROVIDER_WARN} · tier balanced · warning"),
            "WBTC 1.2000 (0.7000 locked)",
            "Amount    0.2000 WBTC · max withdrawable now 0.3400 WBTC",
            "Requested 2026-11-21 09:21 UTC (9m ago)",
            "check the maximum again at current prices",
            &format!("Vault     LiquidityVault {VAULT} on devnet"),
            "the Vault pays 0.2000 WBTC to the provider,",
            "One approve_withdrawal action, policy confirm; approve it on the Actions tab (6).",
        ],
    );
    insta::assert_snapshot!("pool_withdraw_confirm", screen);
    assert_eq!(
        pool(press(&mut s, KeyCode::Char('y'))),
        PoolRequest::ApproveWithdrawal { withdrawal_id: 7 }
    );
    assert!(s.overlay.is_none());
    assert!(draw(&s).contains("asked the desk to approve withdrawal #7"));

    // n cancels.
    press(&mut s, KeyCode::Char('w'));
    assert!(s.overlay.is_some());
    assert!(press(&mut s, KeyCode::Char('n')).is_none());
    assert!(s.overlay.is_none());

    // `w` refuses the withdrawal above its maximum, with the desk's reason.
    select_withdrawal(&mut s, 8);
    s.flash = None;
    assert!(press(&mut s, KeyCode::Char('w')).is_none());
    assert!(s.overlay.is_none());
    let screen = draw(&s);
    assert!(
        screen.contains("withdrawal #8 exceeds max 0.0000 WBTC"),
        "{screen}"
    );
    insta::assert_snapshot!("pool_withdraw_refused", screen);

    // `s` on the PUT expired in the money asks, then sends its id.
    select_policy(&mut s, 12);
    s.flash = None;
    assert!(press(&mut s, KeyCode::Char('s')).is_none());
    let screen = draw(&s);
    assert_on_screen(
        &screen,
        &[
            "Settle policy #12 PUT?",
            "Policy    #12 PUT · strike 100,000.00 USD · 0.5000 BTC · premium 0.0042 WBTC",
            &format!("Buyer     {POLICY_BUYER} · tier aggressive · backed in WBTC"),
            "Expiry    2026-11-21 09:26 UTC (expired 4m ago) · in the money",
            "Payout    $1,493.73 at BTC/USD 97,012.55 (4s old)",
            "settle_policy action",
            "backing providers are debited pro rata",
            "One settle_policy action, policy confirm",
        ],
    );
    insta::assert_snapshot!("pool_settle_confirm", screen);
    assert_eq!(
        pool(press(&mut s, KeyCode::Char('y'))),
        PoolRequest::SettlePolicy { policy_id: 12 }
    );
    assert!(draw(&s).contains("asked the desk to settle policy #12"));

    // `x` on the CALL expired out of the money asks, then sends its id.
    select_policy(&mut s, 9);
    s.flash = None;
    assert!(press(&mut s, KeyCode::Char('x')).is_none());
    let screen = draw(&s);
    assert_on_screen(
        &screen,
        &[
            "Expire policy #9 CALL?",
            "expired 12m ago) · out of the money",
            "propose an expire_policy action",
            "(releaseCollateralAggregate). Nothing is paid to the buyer.",
            "One expire_policy action, policy confirm",
        ],
    );
    insta::assert_snapshot!("pool_expire_confirm", screen);
    assert_eq!(
        pool(press(&mut s, KeyCode::Char('y'))),
        PoolRequest::ExpirePolicy { policy_id: 9 }
    );
    assert!(draw(&s).contains("asked the desk to expire policy #9"));

    // What `s` and `x` refuse.
    for (id, key, why) in [
        (9, 's', "policy #9 is not in the money"),
        (14, 's', "policy #14 is not in the money"),
        (15, 's', "policy #15: no price to value it"),
        (12, 'x', "policy #12 is in the money: settle it"),
        (14, 'x', "policy #14 expires in 3h 12m"),
        (15, 'x', "policy #15 expires in 1d 6h"),
    ] {
        select_policy(&mut s, id);
        s.flash = None;
        assert!(press(&mut s, KeyCode::Char(key)).is_none());
        assert!(s.overlay.is_none());
        assert!(draw(&s).contains(why), "{why}:\n{}", draw(&s));
    }

    // Once the settlement is on its way, neither key asks again.
    let mut next = pool_snapshot();
    next.policies[1].action = Some((71, ActionState::Sent));
    next.withdrawals[0].action = Some((70, ActionState::Proposed));
    s.set_pool(Arc::new(next));
    let screen = draw_sized(&s, 120, 40);
    assert!(screen.contains("#71 sent"), "{screen}");
    select_policy(&mut s, 12);
    for key in ['s', 'x'] {
        s.flash = None;
        press(&mut s, KeyCode::Char(key));
        assert!(s.overlay.is_none());
        assert!(draw(&s).contains("policy #12 on its way: #71 sent"));
    }
    select_withdrawal(&mut s, 7);
    s.flash = None;
    press(&mut s, KeyCode::Char('w'));
    assert!(s.overlay.is_none());
    assert!(draw(&s).contains("withdrawal #7 on its way: #70 proposed"));
}

#[test]
fn the_pool_pane_while_the_desk_waits() {
    let mut s = unlocked_state();
    press(&mut s, KeyCode::Char('5'));
    // Before the desk publishes: the chain from the config.
    let screen = draw(&s);
    assert_on_screen(
        &screen,
        &[
            "Pool desk · LiquidityVault on devnet",
            "no Vault found yet · no sync yet",
            "no prices yet",
            "Nothing synced from the LiquidityVault on devnet yet",
            "settle_policy        confirm",
            "approve_withdrawal   confirm",
            "Journal: nothing to report",
        ],
    );
    insta::assert_snapshot!("pool_waiting", screen);
    assert!(press(&mut s, KeyCode::Enter).is_none());
    assert!(draw(&s).contains("no provider selected"));
    press(&mut s, KeyCode::Right);
    press(&mut s, KeyCode::Char('s'));
    assert!(s.overlay.is_none());
    assert!(draw(&s).contains("no policy selected"));

    // Synced, nothing deposited yet, the desk's note.
    s.set_pool(Arc::new(hedgedesk::pool::pane::PoolSnapshot {
        chain: "devnet".into(),
        vault: Some(VAULT.into()),
        block: Some(18_190),
        synced_at_ms: Some(NOW - 45_000),
        note: Some("no provider has deposited yet".into()),
        ..Default::default()
    }));
    s.flash = None;
    let screen = draw(&s);
    assert_on_screen(
        &screen,
        &[
            "synced block 18,190 45s ago",
            "no provider has deposited yet",
            "No token totals read from the Vault yet.",
            "No tiers configured.",
            "No providers have deposited yet.",
            "No active policies.",
            "No withdrawals waiting.",
        ],
    );
    insta::assert_snapshot!("pool_empty", screen);
}
