//! `?`: every key, generated from the keymap so it can never disagree with it. Keys that
//! work everywhere on the left, each tab's own keys under the tab's name on the right (one
//! list when the screen is too narrow for two). On a short screen the blank lines between
//! the tabs, then the one above the notes, make room, then each tab's name moves onto its
//! first key's line.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::popup;
use crate::tui::state::{AppState, Tab};

pub fn render(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = &state.theme;
    let rows: Vec<_> = state.keymap.rows().collect();
    let key_style = Style::new().fg(t.accent).add_modifier(Modifier::BOLD);
    let entry = |keys: &str, width: usize, desc: &str| {
        Line::from(vec![
            Span::styled(format!("{keys:>width$}  "), key_style),
            Span::raw(desc.to_string()),
        ])
    };
    let notes: Vec<Line> = [
        "Confirm popup: y confirm · n or esc cancel.",
        "Palette: type to filter · up/down choose · enter runs · esc closes.",
        "Rebind keys in the config under [ui.keys], e.g. quit = [\"q\", \"ctrl-c\"].",
    ]
    .into_iter()
    .map(|s| Line::from(Span::styled(s, Style::new().fg(t.muted))))
    .collect();

    let global: Vec<_> = rows.iter().filter(|r| r.3.tab().is_none()).collect();
    let mut tabs: Vec<u8> = rows.iter().filter_map(|r| r.3.tab()).collect();
    tabs.sort_unstable();
    tabs.dedup();
    let global_keys = global.iter().map(|r| r.1.len()).max().unwrap_or(0);
    let tab_keys = rows
        .iter()
        .filter(|r| r.3.tab().is_some())
        .map(|r| r.1.len())
        .max()
        .unwrap_or(0);
    let left: Vec<Line> = global
        .iter()
        .map(|(_, keys, desc, _)| entry(keys, global_keys, desc))
        .collect();
    // Each tab's keys under its name, a blank line between tabs.
    let sections: Vec<(String, Vec<(&str, &str)>)> = tabs
        .iter()
        .map(|&n| {
            let title = Tab::from_number(n).map(Tab::title).unwrap_or("");
            let prefix = format!("{title} tab: ");
            let entries = rows
                .iter()
                .filter(|r| r.3.tab() == Some(n))
                .map(|(_, keys, desc, _)| {
                    (keys.as_str(), desc.strip_prefix(&prefix).unwrap_or(desc))
                })
                .collect();
            (format!("{n} {title}"), entries)
        })
        .collect();
    let title_style = Style::new().fg(t.title).add_modifier(Modifier::BOLD);
    let stacked = |gaps: bool| {
        let mut lines: Vec<Line> = Vec::new();
        for (title, entries) in &sections {
            if gaps && !lines.is_empty() {
                lines.push(Line::from(""));
            }
            lines.push(Line::from(Span::styled(title.clone(), title_style)));
            lines.extend(
                entries
                    .iter()
                    .map(|(keys, desc)| entry(keys, tab_keys, desc)),
            );
        }
        lines
    };
    // Lines for the columns inside the popup: the screen less the popup's margin and
    // borders, the notes and the blank line above them.
    let room = area.height.saturating_sub(4 + notes.len() as u16) as usize;
    let fits = |lines: &[Line]| lines.len().max(left.len()) < room;
    let mut right = stacked(true);
    if !fits(&right) {
        right = stacked(false);
    }
    // Still too tall: each tab's name goes on its first key's line, left of the keys.
    if right.len() > room {
        let width = sections
            .iter()
            .filter_map(|(title, entries)| Some(title.len() + 1 + entries.first()?.0.len()))
            .chain([tab_keys])
            .max()
            .unwrap_or(0);
        right = Vec::new();
        for (title, entries) in &sections {
            for (i, (keys, desc)) in entries.iter().enumerate() {
                let mut line = entry(keys, width, desc);
                if i == 0 {
                    let pad = " ".repeat(width.saturating_sub(title.len() + keys.len()));
                    line.spans[0] = Span::styled(format!("{pad}{keys}  "), key_style);
                    line.spans
                        .insert(0, Span::styled(title.clone(), title_style));
                }
                right.push(line);
            }
        }
    }
    // The blank line above the notes goes last.
    let notes_gap = u16::from(fits(&right));
    let width_of = |lines: &[Line]| lines.iter().map(Line::width).max().unwrap_or(0) as u16;
    let (left_w, right_w) = (width_of(&left), width_of(&right));
    let two_columns = left_w + 3 + right_w + 2 <= area.width.saturating_sub(2);

    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(Style::new().fg(t.accent))
        .title(Span::styled(
            " Keys ",
            Style::new().fg(t.title).add_modifier(Modifier::BOLD),
        ))
        .style(super::base(state));
    if !two_columns {
        let mut lines: Vec<Line> = rows
            .iter()
            .map(|(_, keys, desc, _)| entry(keys, 16, desc))
            .collect();
        // The same rule: the blank line above the notes goes when it does not fit.
        if lines.len() < room {
            lines.push(Line::from(""));
        }
        lines.extend(notes);
        let rect = popup(frame, area, 80, lines.len() as u16 + 2);
        frame.render_widget(Paragraph::new(lines).block(block), rect);
        return;
    }
    let body = left.len().max(right.len()) as u16;
    let notes_width = width_of(&notes);
    let width = (left_w + 3 + right_w).max(notes_width) + 2;
    let height = body + notes_gap + notes.len() as u16 + 2;
    let rect = popup(frame, area, width, height);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [columns, _, notes_area] = Layout::vertical([
        Constraint::Length(body),
        Constraint::Length(notes_gap),
        Constraint::Min(0),
    ])
    .areas(inner);
    let [left_area, _, right_area] = Layout::horizontal([
        Constraint::Length(left_w),
        Constraint::Length(3),
        Constraint::Min(0),
    ])
    .areas(columns);
    frame.render_widget(Paragraph::new(left), left_area);
    frame.render_widget(Paragraph::new(right), right_area);
    frame.render_widget(Paragraph::new(notes), notes_area);
}
