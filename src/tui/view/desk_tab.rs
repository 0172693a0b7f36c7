//! A desk's tab. Until the desk's worker lands it says what will live here, and
//! already shows the desk's policies and its actions in the journal.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::actions::ActionKind;
use crate::desks::Desk;
use crate::tui::state::AppState;

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, desk: Desk) {
    let t = &state.theme;
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(Style::new().fg(t.border))
        .title(Span::styled(
            format!(" {} desk ", desk.title()),
            Style::new().fg(t.title).add_modifier(Modifier::BOLD),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let [about, policies] =
        Layout::vertical([Constraint::Length(6), Constraint::Min(3)]).areas(inner);
    let text = vec![
        Line::from(desk.purpose()),
        Line::from(""),
        Line::from(Span::styled(
            format!(
                "The desk's worker and live pane arrive with issue #{}.",
                desk.issue()
            ),
            Style::new().fg(t.muted),
        )),
    ];
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), about);

    let mut lines = vec![Line::from(Span::styled(
        "Action kind          policy    open  in journal view",
        Style::new().fg(t.muted).add_modifier(Modifier::BOLD),
    ))];
    for kind in ActionKind::ALL.into_iter().filter(|k| k.desk() == desk) {
        let mode = format!("{:?}", state.config.policy(kind).mode).to_lowercase();
        let (open, all) = state.actions.of_kind(kind);
        lines.push(Line::from(format!(
            "{:<20} {:<9} {:>4}  {:>4}",
            kind.as_str(),
            mode,
            open,
            all
        )));
    }
    frame.render_widget(Paragraph::new(lines), policies);
}
