//! Every tab, overlay and keystore screen rendered on ratatui's TestBackend and pinned
//! with insta. The state is driven through the same key handling the console uses.

use std::path::PathBuf;
use std::sync::Arc;

use alloy::primitives::{B256, U256};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use hedgedesk::actions::{Action, ActionKind, ActionPlan, ActionState, ActionsSnapshot, Estimate};
use hedgedesk::app::log_buffer::{LogBuffer, LogLine};
use hedgedesk::app::supervisor::{HealthMap, WorkerHealth, WorkerStatus};
use hedgedesk::chain::{ChainStatus, EndpointState, EndpointStatus, HeadInfo};
use hedgedesk::config::Config;
use hedgedesk::oracle::pane::{CycleSummary, OracleSnapshot, SlotRow};
use hedgedesk::oracle::slot::{PriceSlot, normalize};
use hedgedesk::store::CycleStats;
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
