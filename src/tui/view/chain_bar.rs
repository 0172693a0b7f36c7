//! The chain line above the status bar, one segment per configured chain: chain id,
//! head block and its age, every RPC endpoint's health (the serving one marked), and the
//! unlocked account's balance there.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::chain::{ChainStatus, EndpointState};
use crate::tui::format;
use crate::tui::state::AppState;
use crate::tui::theme::Theme;

pub fn render(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = &state.theme;
    let bar = Style::new().fg(t.status_fg).bg(t.status_bg);
    let mut spans = Vec::new();
    if state.chains.is_empty() {
        spans.push(Span::styled(" no chain configured", bar.fg(t.warn)));
    }
    for (i, chain) in state.chains.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" ┃", bar.fg(t.border)));
        }
        spans.extend(chain_spans(chain, state.now_ms, t, bar));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(bar), area);
}

fn chain_spans(chain: &ChainStatus, now_ms: i64, t: &Theme, bar: Style) -> Vec<Span<'static>> {
    let mut spans = vec![Span::styled(
        format!(" {} #{} ", chain.name, chain.chain_id),
        bar.add_modifier(Modifier::BOLD),
    )];
    match &chain.head {
        Some(head) => {
            let age = format::age(now_ms, head.timestamp_secs as i64 * 1000);
            spans.push(Span::styled(
                format!("head {} ({age} ago) ", head.number),
                bar,
            ));
        }
        None => spans.push(Span::styled("head ? ", bar.fg(t.warn))),
    }
    spans.push(Span::styled("│ rpc", bar.fg(t.border)));
    for (i, endpoint) in chain.endpoints.iter().enumerate() {
        let serving = chain.active == Some(i);
        let (mark, color) = match endpoint.state {
            EndpointState::Healthy => ("●", t.ok),
            EndpointState::Unknown => ("○", t.status_fg),
            EndpointState::Lagging => ("◐", t.warn),
            EndpointState::Down | EndpointState::WrongChain => ("✕", t.error),
        };
        let detail = match endpoint.state {
            EndpointState::Healthy => endpoint
                .latency_ms
                .map(|ms| format!(" {ms}ms"))
                .unwrap_or_default(),
            EndpointState::Lagging => endpoint
                .lag
                .map(|lag| format!(" -{lag}"))
                .unwrap_or_default(),
            EndpointState::Unknown => String::new(),
            other => format!(" {}", other.label()),
        };
        let style = if serving {
            bar.fg(color).add_modifier(Modifier::BOLD)
        } else {
            bar.fg(color)
        };
        let arrow = if serving { "▸" } else { " " };
        spans.push(Span::styled(
            format!(" {arrow}{mark} {}{detail}", endpoint.name),
            style,
        ));
    }
    if chain.active.is_none() && !chain.endpoints.is_empty() {
        spans.push(Span::styled(" no usable endpoint", bar.fg(t.error)));
    } else if chain.failed_over() {
        spans.push(Span::styled(" (failover)", bar.fg(t.warn)));
    }
    if let Some(balance) = chain.balance_wei {
        let text = match u128::try_from(balance) {
            Ok(wei) => format::eth(wei, 4),
            Err(_) => format!("{balance} wei"),
        };
        spans.push(Span::styled(" │ ", bar.fg(t.border)));
        spans.push(Span::styled(text, bar));
    }
    spans
}
