//! The Oracle tab: one row per PriceCaster slot (asset, feed, price, confidence, exponent,
//! normalised price, EMA, publish time, age coloured when stale, last tx), the selected
//! feed's price chart, and the last publishing cycle.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Sparkline, Table};

use super::table::window;
use crate::oracle::pane::{CycleSummary, OracleSnapshot, decimal};
use crate::tui::format;
use crate::tui::state::AppState;

pub fn render(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = &state.theme;
    let snap = &state.oracle;
    let title = match snap.price_caster {
        Some(address) => format!(
            " Oracle · PriceCaster {} on {} · {} slot(s) ",
            format::short_address(&address.to_checksum(None)),
            snap.chain,
            snap.rows.len()
        ),
        None => format!(" Oracle · no PriceCaster on {} yet ", snap.chain),
    };
    let block = super::widgets::tab_frame(t, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [table_area, chart_area, cycle_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(5),
        Constraint::Length(3),
    ])
    .areas(inner);

    if snap.rows.is_empty() {
        let hint = if snap.price_caster.is_some() {
            "No slots yet: list feeds under [[oracle.feeds]] and run `hedgedesk oracle bootstrap`."
        } else {
            "Deploy a PriceCaster (`hedgedesk devnet up` on a devnet) and list feeds under [[oracle.feeds]]."
        };
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(hint, Style::new().fg(t.muted)))),
            table_area,
        );
    } else {
        render_table(frame, table_area, state, snap);
        render_chart(frame, chart_area, state, snap);
    }
    render_cycle(frame, cycle_area, state, snap);
}

fn render_table(frame: &mut Frame, area: Rect, state: &AppState, snap: &OracleSnapshot) {
    let t = &state.theme;
    let now_secs = state.now_ms / 1000;
    let visible = area.height.saturating_sub(1) as usize;
    let selected = state.oracle_pos.selected.min(snap.rows.len() - 1);
    let range = window(snap.rows.len(), selected, &state.oracle_pos.offset, visible);
    let (first, last) = (range.start, range.end);
    let rows = snap.rows[first..last].iter().map(|row| {
        let s = &row.on_chain;
        let published = s.publish_time != 0;
        let age_secs = now_secs.saturating_sub(s.publish_time as i64).max(0) as u64;
        let age_style = if !published || age_secs > row.stale_after_secs * 2 {
            Style::new().fg(t.error)
        } else if age_secs > row.stale_after_secs {
            Style::new().fg(t.warn)
        } else {
            Style::new().fg(t.ok)
        };
        let cell = |text: String| ratatui::widgets::Cell::from(text);
        let mut cells = vec![
            cell(row.slot.to_string()),
            cell(row.symbol.clone()),
            cell(format::short_address(&row.price_id.to_string())),
        ];
        if published {
            cells.extend([
                cell(decimal(s.price, s.exponent)),
                cell(format!("±{}", decimal(s.confidence as i64, s.exponent))),
                cell(s.exponent.to_string()),
                cell(s.normalized_price.to_string()),
                cell(decimal(s.ema_price, s.exponent)),
                cell(
                    chrono::DateTime::from_timestamp(s.publish_time as i64, 0)
                        .map(|d| d.format("%H:%M:%S").to_string())
                        .unwrap_or_default(),
                ),
                ratatui::widgets::Cell::from(format::age(
                    state.now_ms,
                    s.publish_time as i64 * 1000,
                ))
                .style(age_style),
            ]);
        } else {
            cells.extend((0..6).map(|_| cell("-".into())));
            cells.push(ratatui::widgets::Cell::from("never").style(age_style));
        }
        cells.push(cell(
            row.last_tx
                .as_deref()
                .map(format::short_address)
                .unwrap_or_else(|| "-".into()),
        ));
        Row::new(cells)
    });
    let header = Row::new([
        "slot",
        "asset",
        "feed",
        "price",
        "conf",
        "expo",
        "normalised",
        "EMA",
        "UTC",
        "age",
        "last tx",
    ])
    .style(Style::new().fg(t.muted).add_modifier(Modifier::BOLD));
    let widths = [
        Constraint::Length(4),
        Constraint::Length(8),
        Constraint::Length(11),
        Constraint::Length(15),
        Constraint::Length(13),
        Constraint::Length(4),
        Constraint::Length(11),
        Constraint::Length(15),
        Constraint::Length(8),
        Constraint::Length(5),
        Constraint::Length(11),
    ];
    let mut table_state =
        ratatui::widgets::TableState::default().with_selected(Some(selected - first));
    frame.render_stateful_widget(
        Table::new(rows, widths)
            .header(header)
            .row_highlight_style(Style::new().fg(t.selection_fg).bg(t.selection_bg)),
        area,
        &mut table_state,
    );
}

fn render_chart(frame: &mut Frame, area: Rect, state: &AppState, snap: &OracleSnapshot) {
    let t = &state.theme;
    let selected = state.oracle_pos.selected.min(snap.rows.len() - 1);
    let row = &snap.rows[selected];
    let history = snap.history.get(&row.slot);
    let (data, range) = match history {
        Some(h) if !h.is_empty() => {
            let min = *h.iter().min().unwrap_or(&0);
            let max = *h.iter().max().unwrap_or(&0);
            // Exact: distances above the window's minimum, never floats.
            let data: Vec<u64> = h.iter().map(|p| (p - min) as u64 + 1).collect();
            (
                data,
                format!(
                    "{} … {}",
                    decimal(min, row.on_chain.exponent),
                    decimal(max, row.on_chain.exponent)
                ),
            )
        }
        _ => (Vec::new(), "no history yet".into()),
    };
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(Style::new().fg(t.border))
        .title(Span::styled(
            format!(" {} · {} publications · {range} ", row.symbol, data.len()),
            Style::new().fg(t.accent),
        ));
    frame.render_widget(
        Sparkline::default()
            .block(block)
            .data(&data)
            .style(Style::new().fg(t.accent)),
        area,
    );
}

fn render_cycle(frame: &mut Frame, area: Rect, state: &AppState, snap: &OracleSnapshot) {
    let t = &state.theme;
    let line = match &snap.last_cycle {
        None => Line::from(Span::styled(
            "no publishing cycle yet",
            Style::new().fg(t.muted),
        )),
        Some(c) => outcome_line(state, "last cycle", c),
    };
    let s = &snap.stats;
    let mut lines = vec![line];
    if s.cycles > 0 {
        lines.push(Line::from(Span::styled(
            format!(
                "{} cycles, {} proposed, {} refused, mean {} ms · txs {} ok {} failed, fees {}",
                s.cycles,
                s.proposed,
                s.refused,
                s.mean_duration_us / 1000,
                s.tx_confirmed,
                s.tx_failed,
                format::eth(s.fees_wei, 6)
            ),
            Style::new().fg(t.muted),
        )));
    }
    if let Some(r) = &snap.last_request {
        lines.push(outcome_line(
            state,
            &format!("request {}", r.request),
            &r.outcome,
        ));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// "<what> 3s ago: <due> → action #n", or the refusal in the error colour.
fn outcome_line(state: &AppState, what: &str, c: &CycleSummary) -> Line<'static> {
    let ago = format::age(state.now_ms, c.at_ms);
    match (&c.error, c.due.is_empty(), c.action) {
        (Some(error), _, _) => Line::from(Span::styled(
            format!("{what} {ago} ago refused: {error}"),
            Style::new().fg(state.theme.error),
        )),
        (None, true, _) => Line::from(format!("{what} {ago} ago: nothing due")),
        (None, false, action) => Line::from(format!(
            "{what} {ago} ago: {}{}",
            c.due.join(", "),
            action
                .map(|id| format!(" → action #{id}"))
                .unwrap_or_default()
        )),
    }
}
