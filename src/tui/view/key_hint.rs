//! A desk tab's key hint, on its border's bottom: each key in the accent colour, then what
//! it does, in shorter words on a narrow screen.

use ratatui::style::{Modifier, Style};
use ratatui::text::Span;

use crate::tui::keymap::Command;
use crate::tui::state::AppState;

/// `hints` in order: the command, what it does, and the same in short (for `wide: false`).
pub fn key_hint(
    state: &AppState,
    wide: bool,
    hints: &[(Command, &'static str, &'static str)],
) -> Vec<Span<'static>> {
    let t = &state.theme;
    let muted = Style::new().fg(t.muted);
    let mut spans = vec![Span::styled(" ", muted)];
    for (n, (command, long, short)) in hints.iter().enumerate() {
        spans.push(Span::styled(
            state.keymap.all_keys_for(*command),
            Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
        ));
        let sep = if n + 1 == hints.len() { " " } else { " · " };
        let word = if wide { long } else { short };
        spans.push(Span::styled(format!(" {word}{sep}"), muted));
    }
    spans
}
