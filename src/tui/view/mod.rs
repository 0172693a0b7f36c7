//! Drawing: a pure function of `AppState`, so snapshot tests see what the operator sees.

mod actions_tab;
mod anyhedge_tab;
mod chain_bar;
mod confirm;
mod desk_tab;
mod help;
mod key_hint;
mod liquidator_tab;
mod logs_tab;
mod oracle_tab;
mod palette;
mod perp_tab;
mod pool_tab;
mod status_bar;
pub mod table;
mod unlock;
mod widgets;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear};

use super::state::{AppState, Overlay, Phase, Tab};

pub fn render(frame: &mut Frame, state: &AppState) {
    let area = frame.area();
    frame.render_widget(Block::new().style(base(state)), area);
    if let Phase::Unlock(phase) = &state.phase {
        unlock::render(frame, area, state, phase);
        return;
    }
    let [tabs, body, chain, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    render_tabs(frame, tabs, state);
    match state.tab {
        Tab::Desk(crate::desks::Desk::Oracle) => oracle_tab::render(frame, body, state),
        Tab::Desk(crate::desks::Desk::Liquidator) => liquidator_tab::render(frame, body, state),
        Tab::Desk(crate::desks::Desk::AnyHedge) => anyhedge_tab::render(frame, body, state),
        Tab::Desk(crate::desks::Desk::Perp) => perp_tab::render(frame, body, state),
        Tab::Desk(crate::desks::Desk::Pool) => pool_tab::render(frame, body, state),
        Tab::Actions => actions_tab::render(frame, body, state),
        Tab::Logs => logs_tab::render(frame, body, state),
    }
    chain_bar::render(frame, chain, state);
    status_bar::render(frame, status, state);
    match &state.overlay {
        None => {}
        Some(Overlay::Help) => help::render(frame, area, state),
        Some(Overlay::Palette(p)) => palette::render(frame, area, state, p),
        Some(Overlay::Confirm(c)) => confirm::render(frame, area, state, c),
        Some(Overlay::DeskConfirm(c)) => confirm::render_desk(frame, area, state, c),
        Some(Overlay::LiquidationDetail(id)) => {
            liquidator_tab::render_detail(frame, area, state, *id)
        }
        Some(Overlay::AnyHedgeDetail(item)) => {
            anyhedge_tab::render_detail(frame, area, state, *item)
        }
        Some(Overlay::PerpDetail(item)) => perp_tab::render_detail(frame, area, state, item),
        Some(Overlay::PoolDetail(item)) => pool_tab::render_detail(frame, area, state, item),
    }
}

pub(super) fn base(state: &AppState) -> Style {
    Style::new()
        .fg(state.theme.foreground)
        .bg(state.theme.background)
}

fn render_tabs(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = &state.theme;
    let mut spans = vec![Span::styled(
        " hedgedesk ",
        Style::new().fg(t.title).add_modifier(Modifier::BOLD),
    )];
    for tab in Tab::ALL {
        let label = format!(" {} {} ", tab.number(), tab.title());
        let style = if tab == state.tab {
            Style::new()
                .fg(t.tab_active)
                .bg(t.tab_active_bg)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().fg(t.muted)
        };
        spans.push(Span::styled(label, style));
    }
    frame.render_widget(Line::from(spans), area);
}

/// A centred popup of at most `width` x `height`, cleared underneath.
pub(super) fn popup(frame: &mut Frame, area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width.saturating_sub(2));
    let h = height.min(area.height.saturating_sub(2));
    let rect = Rect {
        x: area.x + (area.width.saturating_sub(w)) / 2,
        y: area.y + (area.height.saturating_sub(h)) / 2,
        width: w,
        height: h,
    };
    frame.render_widget(Clear, rect);
    rect
}
