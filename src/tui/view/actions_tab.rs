//! The approval queue: every open action and the recent finished ones. Only the rows
//! on screen are built.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, TableState};

use super::table::window;
use crate::actions::Action;
use crate::tui::format;
use crate::tui::keymap::Command;
use crate::tui::state::AppState;

pub fn render(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = &state.theme;
    let actions = &state.actions.actions;
    let [list, detail] = Layout::vertical([Constraint::Min(4), Constraint::Length(4)]).areas(area);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(Style::new().fg(t.border))
        .title(Span::styled(
            format!(
                " Actions: {} open, {} shown ",
                state.actions.open(),
                actions.len()
            ),
            Style::new().fg(t.title).add_modifier(Modifier::BOLD),
        ));
    let inner = block.inner(list);
    frame.render_widget(block, list);

    if actions.is_empty() {
        frame.render_widget(
            Paragraph::new("No actions yet. Desks propose actions here; those that need you wait for a keystroke.")
                .style(Style::new().fg(t.muted)),
            inner,
        );
    } else {
        let height = inner.height.saturating_sub(1) as usize;
        let rows_range = window(
            actions.len(),
            state.actions_pos.selected,
            &state.actions_pos.offset,
            height,
        );
        let first = rows_range.start;
        let rows = actions[rows_range].iter().map(|a| row(a, state));
        let table = Table::new(
            rows,
            [
                Constraint::Length(7),
                Constraint::Length(10),
                Constraint::Length(18),
                Constraint::Length(10),
                Constraint::Length(13),
                Constraint::Length(11),
                Constraint::Length(5),
                Constraint::Min(10),
            ],
        )
        .header(
            Row::new([
                "#", "desk", "kind", "state", "est. fee", "profit", "age", "summary",
            ])
            .style(Style::new().fg(t.muted).add_modifier(Modifier::BOLD)),
        )
        .row_highlight_style(Style::new().fg(t.selection_fg).bg(t.selection_bg));
        let mut ts = TableState::new().with_selected(Some(state.actions_pos.selected - first));
        frame.render_stateful_widget(table, inner, &mut ts);
    }

    let hint = format!(
        "{} approve · {} reject · {}/{} move · {} help",
        state.keymap.keys_for(Command::Approve),
        state.keymap.keys_for(Command::Reject),
        state.keymap.keys_for(Command::Up),
        state.keymap.keys_for(Command::Down),
        state.keymap.keys_for(Command::Help),
    );
    let mut lines = match state.selected_action() {
        Some(a) => vec![
            Line::from(vec![
                Span::styled(
                    format!("#{} ", a.id),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
                Span::raw(a.summary.clone()),
            ]),
            Line::from(Span::styled(
                a.note.clone().unwrap_or_else(|| format!("key {}", a.key)),
                Style::new().fg(t.muted),
            )),
        ],
        None => vec![Line::from(""), Line::from("")],
    };
    lines.push(Line::from(Span::styled(hint, Style::new().fg(t.muted))));
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::new()
                .borders(Borders::LEFT)
                .border_style(Style::new().fg(t.border)),
        ),
        detail,
    );
}

fn row<'a>(a: &'a Action, state: &AppState) -> Row<'a> {
    let t = &state.theme;
    Row::new(vec![
        ratatui::widgets::Cell::from(a.id.to_string()),
        a.desk.as_str().into(),
        a.kind.as_str().into(),
        ratatui::widgets::Cell::from(a.state.as_str()).style(t.action_state(a.state)),
        format::eth(a.estimate.gas_cost_wei, 6).into(),
        a.estimate
            .profit_usd_cents
            .map(format::usd_cents)
            .unwrap_or_else(|| "-".into())
            .into(),
        format::age(state.now_ms, a.created_at).into(),
        a.summary.as_str().into(),
    ])
}
