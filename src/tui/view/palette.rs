//! `:`: type to filter commands and themes, enter runs the highlighted one.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::popup;
use crate::tui::palette;
use crate::tui::state::{AppState, PaletteState};

const SHOWN: usize = 12;

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, p: &PaletteState) {
    let t = &state.theme;
    let matches = palette::filtered(state, &p.query);
    let first = p.selected.saturating_sub(SHOWN - 1);
    let mut lines = vec![Line::from(vec![
        Span::styled(":", Style::new().fg(t.accent).add_modifier(Modifier::BOLD)),
        Span::raw(p.query.clone()),
        Span::styled("▏", Style::new().fg(t.accent)),
    ])];
    if matches.is_empty() {
        lines.push(Line::from(Span::styled(
            "no matching command",
            Style::new().fg(t.muted),
        )));
    }
    for (i, e) in matches.iter().enumerate().skip(first).take(SHOWN) {
        let style = if i == p.selected {
            Style::new().fg(t.selection_fg).bg(t.selection_bg)
        } else {
            Style::new()
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{:<22}", e.label),
                style.add_modifier(Modifier::BOLD),
            ),
            Span::styled(format!(" {}", e.hint), style),
        ]));
    }
    let rect = popup(frame, area, 72, SHOWN as u16 + 3);
    let rect = Rect {
        y: area.y + 2.min(area.height),
        ..rect
    };
    frame.render_widget(ratatui::widgets::Clear, rect);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(Style::new().fg(t.accent))
        .title(Span::styled(
            " Command palette ",
            Style::new().fg(t.title).add_modifier(Modifier::BOLD),
        ))
        .style(super::base(state));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
