//! `?`: every key, generated from the keymap so it can never disagree with it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::popup;
use crate::tui::state::AppState;

pub fn render(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = &state.theme;
    let rows: Vec<_> = state.keymap.rows().collect();
    let mut lines: Vec<Line> = rows
        .iter()
        .map(|(_, keys, desc, _)| {
            Line::from(vec![
                Span::styled(
                    format!("{keys:>16}  "),
                    Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
                ),
                Span::raw(*desc),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "Confirm popup: y confirm · n or esc cancel.",
        Style::new().fg(t.muted),
    )));
    lines.push(Line::from(Span::styled(
        "Palette: type to filter · up/down choose · enter runs · esc closes.",
        Style::new().fg(t.muted),
    )));
    lines.push(Line::from(Span::styled(
        "Rebind keys in the config under [ui.keys], e.g. quit = [\"q\", \"ctrl-c\"].",
        Style::new().fg(t.muted),
    )));
    let rect = popup(frame, area, 80, lines.len() as u16 + 2);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(Style::new().fg(t.accent))
        .title(Span::styled(
            " Keys ",
            Style::new().fg(t.title).add_modifier(Modifier::BOLD),
        ))
        .style(super::base(state));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
