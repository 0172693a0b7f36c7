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
