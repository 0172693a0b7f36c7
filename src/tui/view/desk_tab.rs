//! A desk's action policies as a small table: each kind the desk proposes, its policy, how
//! many are open and how many the journal view holds. A desk tab shows it while its desk
//! has nothing else to show.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::actions::ActionKind;
use crate::desks::Desk;
use crate::tui::state::AppState;

pub fn policy_lines(state: &AppState, desk: Desk) -> Vec<Line<'static>> {
    let t = &state.theme;
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
    lines
}
