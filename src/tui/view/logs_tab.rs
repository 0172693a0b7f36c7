//! The Logs tab: what the tracing layer captured, newest at the bottom.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use tracing::Level;

use crate::tui::state::AppState;

pub fn render(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = &state.theme;
    let follow = if state.logs_scroll == 0 {
        "following".to_string()
    } else {
        format!("{} lines up", state.logs_scroll)
    };
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(Style::new().fg(t.border))
        .title(Span::styled(
            format!(" Logs: {} lines, {follow} ", state.logs.len()),
            Style::new().fg(t.title).add_modifier(Modifier::BOLD),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines: Vec<Line> = state
        .logs
        .window(state.logs_scroll, inner.height as usize)
        .into_iter()
        .map(|l| {
            let color = match l.level {
                Level::ERROR => t.error,
                Level::WARN => t.warn,
                Level::INFO => t.ok,
                _ => t.muted,
            };
            let time = chrono::DateTime::from_timestamp_millis(l.at)
                .map(|d| d.format("%H:%M:%S").to_string())
                .unwrap_or_default();
            Line::from(vec![
                Span::styled(format!("{time} "), Style::new().fg(t.muted)),
                Span::styled(format!("{:<5} ", l.level), Style::new().fg(color)),
                Span::styled(format!("{} ", l.target), Style::new().fg(t.muted)),
                Span::raw(l.message),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
