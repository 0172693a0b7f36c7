//! The bottom line: account, pending actions, worker health, a flash message, clock.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::actions::ActionState;
use crate::app::supervisor::WorkerStatus;
use crate::tui::format;
use crate::tui::state::{AppState, FlashLevel};

pub fn render(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = &state.theme;
    let bar = Style::new().fg(t.status_fg).bg(t.status_bg);
    let clock = chrono::DateTime::from_timestamp_millis(state.now_ms)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default();
    let [left, right] = Layout::horizontal([
        Constraint::Min(10),
        Constraint::Length(clock.len() as u16 + 2),
    ])
    .areas(area);

    let account = state
        .account
        .as_deref()
        .map(format::short_address)
        .unwrap_or_else(|| "locked".into());
    let pending = state.actions.count(ActionState::Proposed);
    let approved = state.actions.count(ActionState::Approved);
    let pending_style = if pending > 0 {
        bar.fg(t.warn).add_modifier(Modifier::BOLD)
    } else {
        bar
    };
    let total = state.health.len();
    let healthy = state
        .health
        .values()
        .filter(|h| h.status == WorkerStatus::Running)
        .count();
    let worker_style = if healthy == total {
        bar.fg(t.ok)
    } else {
        bar.fg(t.error)
    };
    let mut spans = vec![
        Span::styled(format!(" ● {account} "), bar.add_modifier(Modifier::BOLD)),
        Span::styled("│", bar.fg(t.border)),
        Span::styled(format!(" pending {pending} "), pending_style),
        Span::styled(format!("approved {approved} "), bar),
        Span::styled("│", bar.fg(t.border)),
        Span::styled(format!(" workers {healthy}/{total} "), worker_style),
    ];
    for (name, h) in &state.health {
        if let WorkerStatus::Restarting { in_ms } = h.status {
            spans.push(Span::styled(
                format!("{name} restarting in {}s ", in_ms.div_ceil(1000)),
                bar.fg(t.error),
            ));
        }
    }
    if let Some((msg, level)) = &state.flash {
        let color = match level {
            FlashLevel::Info => t.accent,
            FlashLevel::Error => t.error,
        };
        spans.push(Span::styled("│ ", bar.fg(t.border)));
        spans.push(Span::styled(msg.clone(), bar.fg(color)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(bar), left);
    frame.render_widget(Paragraph::new(format!(" {clock} ")).style(bar), right);
}
