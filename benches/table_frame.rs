//! Drawing one frame of the Actions tab with 100,000 actions in the queue.
//! Target: ≤ 2 ms per frame (figures in BENCHMARKS.md).

use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use hedgedesk::actions::{Action, ActionKind, ActionPlan, ActionState, ActionsSnapshot, Estimate};
use hedgedesk::app::log_buffer::LogBuffer;
use hedgedesk::config::Config;
use hedgedesk::tui::state::{AppState, Phase, Tab};
use hedgedesk::tui::theme::Theme;
use hedgedesk::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const ROWS: usize = 100_000;

fn state() -> AppState {
    let mut s = AppState::new(
        Arc::new(Config::default()),
        Theme::built_in_default(),
        PathBuf::from("/nonexistent"),
        PathBuf::from("/nonexistent/operator.json"),
        LogBuffer::new(100),
        1_795_253_400_000,
    );
    s.phase = Phase::Main;
    s.tab = Tab::Actions;
    s.account = Some("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".into());
    let actions = (0..ROWS as i64)
        .rev()
        .map(|id| {
            let kind = ActionKind::ALL[id as usize % ActionKind::ALL.len()];
            Action {
                id,
                key: format!("{kind}:{id}"),
                desk: kind.desk(),
                kind,
                state: ActionState::ALL[id as usize % ActionState::ALL.len()],
                summary: format!("position {id}: debt 1,204.55 USDC, value 1,150.10 USDC"),
                plan: ActionPlan::ContractCall {
                    chain: "devnet".into(),
                    contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3".into(),
                    contract_name: "MarginModule".into(),
                    function: "liquidate(uint256,address)".into(),
                    args: vec![("positionId".into(), id.to_string())],
                    value_wei: "0".into(),
                    gas_limit: 300_000,
                    calldata: String::new(),
                },
                estimate: Estimate {
                    gas_cost_wei: 900_000_000_000_000,
                    profit_usd_cents: Some(id),
                },
                note: None,
                tx_hash: None,
                created_at: 1_795_253_400_000 - id * 1_000,
                updated_at: 1_795_253_400_000 - id * 1_000,
            }
        })
        .collect();
    s.set_actions(Arc::new(ActionsSnapshot::new(actions)));
    s.actions_pos.selected = ROWS / 2;
    s
}

fn bench(c: &mut Criterion) {
    let s = state();
    let mut term = Terminal::new(TestBackend::new(200, 60)).unwrap();
    c.bench_function("actions tab frame, 100k rows, 200x60", |b| {
        b.iter(|| {
            term.draw(|f| view::render(f, &s)).unwrap();
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
