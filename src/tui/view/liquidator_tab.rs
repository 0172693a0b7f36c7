//! The Liquidations tab: the desk's state (auto, head, valuation time, note), its totals
//! and last pass, every position by health (value, debt, a health bar, time to
//! insolvency, reward, gas, estimated profit, state and why), per-day totals when there
//! is room, and the detail overlay of one position (Enter).

use alloy::primitives::{Address, U256};
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};

use super::table::window;
use super::widgets::{DETAIL_FOOTER, detail_inner_width, detail_popup, label, wrapped_height};
use crate::liquidator::pane::{
    CandidateRow, LiquidatorSnapshot, PositionDetail, RowState, TokenInfo, format_units,
};
use crate::liquidator::strategy::FREEZE_WINDOW_SECS;
use crate::store::DayTotals;
use crate::tui::format;
use crate::tui::keymap::Command;
use crate::tui::state::AppState;
use crate::tui::theme::Theme;

/// Cells of the health bar; it is full at [`BAR_FULL_BPS`].
const BAR_CELLS: u32 = 5;
const BAR_FULL_BPS: u32 = 20_000;
/// Newest days shown under the table.
const MAX_DAYS: usize = 3;
/// Table lines kept before the per-day block is given room.
const MIN_TABLE_LINES: u16 = 6;

pub fn render(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = &state.theme;
    let snap = &state.liquidator;
    let title = match snap.module {
        Some(module) => format!(
            " Liquidations · MarginModule {} on {} ",
            format::short_address(&module.to_checksum(None)),
            snap.chain
        ),
        None => format!(" Liquidations · no margin module on {} yet ", snap.chain),
    };
    let block = super::widgets::tab_frame(t, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let header = header_lines(state, snap);
    let header_height = header.len() as u16;
    let days = snap.days.len().min(MAX_DAYS) as u16;
    let days_height = if days > 0 && !snap.rows.is_empty() {
        days + 2
    } else {
        0
    };
    let days_height = if inner.height >= header_height + MIN_TABLE_LINES + days_height {
        days_height
    } else {
        0
    };
    let [header_area, table_area, days_area] = Layout::vertical([
        Constraint::Length(header_height),
        Constraint::Min(1),
        Constraint::Length(days_height),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(header), header_area);

    if snap.module.is_none() {
        let hint = format!(
            "No margin module known on {}: run `hedgedesk devnet up` on a devnet, or set \
             [liquidator].module to the module's address.",
            snap.chain
        );
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(hint, Style::new().fg(t.muted))))
                .wrap(Wrap { trim: true }),
            table_area,
        );
    } else if snap.rows.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(
                "No open positions on the margin module.",
                Style::new().fg(t.muted),
            ))),
            table_area,
        );
    } else if table_area.height < 3 {
        render_table(frame, table_area, state, snap);
    } else {
        // The table, then the selected row's reason in full right under it.
        let shown = (snap.rows.len() as u16 + 1).min(table_area.height - 1);
        let [table, why, _] = Layout::vertical([
            Constraint::Length(shown),
            Constraint::Length(1),
            Constraint::Min(0),
        ])
        .areas(table_area);
        render_table(frame, table, state, snap);
        render_why(frame, why, state);
    }
    if days_height > 0 {
        render_days(frame, days_area, t, &snap.days[..usize::from(days)]);
    }
}

/// Auto, head, valuation time and the last pass; the totals; the desk's note.
fn header_lines(state: &AppState, snap: &LiquidatorSnapshot) -> Vec<Line<'static>> {
    let t = &state.theme;
    let muted = Style::new().fg(t.muted);
    let sep = || Span::styled(" · ", muted);
    let (auto, auto_style) = if snap.auto {
        ("ON", Style::new().fg(t.ok).add_modifier(Modifier::BOLD))
    } else {
        ("OFF", Style::new().fg(t.warn).add_modifier(Modifier::BOLD))
    };
    let mut first = vec![
        Span::raw("auto "),
        Span::styled(auto, auto_style),
        Span::styled(
            format!(" ({})", state.keymap.keys_for(Command::LiquidatorAuto)),
            muted,
        ),
        sep(),
    ];
    match snap.head {
        Some((number, time)) => first.push(Span::raw(format!(
            "head #{number} at {} UTC",
            format::clock(ms(time))
        ))),
        None => first.push(Span::styled("no head yet", muted)),
    }
    if snap.valued_at != 0 {
        first.push(sep());
        first.push(Span::raw(format!(
            "valued at {} UTC",
            format::clock(ms(snap.valued_at))
        )));
    }
    let m = &snap.metrics;
    if m.passes > 0 {
        first.push(sep());
        first.push(Span::styled(
            format!(
                "pass: {} node calls, {} checks, revalue {}",
                m.last_pass_calls,
                m.last_pass_checks,
                micros(m.revalue_us)
            ),
            muted,
        ));
    }

    let s = &snap.totals;
    let count = |n: String, style: Style, label: &str| {
        [
            Span::styled(n, style.add_modifier(Modifier::BOLD)),
            Span::raw(format!(" {label}")),
        ]
    };
    let plain = Style::new();
    let mut second = Vec::new();
    second.extend(count(s.monitored.to_string(), plain, "monitored"));
    second.push(sep());
    second.extend(count(s.candidates.to_string(), plain, "candidates"));
    second.push(sep());
    let liquidatable = if s.liquidatable > 0 {
        Style::new().fg(t.warn)
    } else {
        plain
    };
    second.extend(count(
        s.liquidatable.to_string(),
        liquidatable,
        "liquidatable",
    ));
    second.push(sep());
    let confirmed = if s.confirmed > 0 {
        Style::new().fg(t.ok)
    } else {
        plain
    };
    second.extend(count(s.confirmed.to_string(), confirmed, "confirmed"));
    second.push(sep());
    let failed = if s.failed > 0 {
        Style::new().fg(t.error)
    } else {
        plain
    };
    second.extend(count(s.failed.to_string(), failed, "failed"));
    second.push(sep());
    second.push(Span::raw("realised profit "));
    second.push(Span::styled(
        format::usd_cents(s.realised_profit_cents),
        cents_style(t, s.realised_profit_cents).add_modifier(Modifier::BOLD),
    ));

    let mut lines = vec![Line::from(first), Line::from(second)];
    if let Some(note) = &snap.note {
        lines.push(Line::from(Span::styled(
            note.clone(),
            Style::new().fg(t.warn),
        )));
    }
    lines
}

fn render_table(frame: &mut Frame, area: Rect, state: &AppState, snap: &LiquidatorSnapshot) {
    let t = &state.theme;
    let visible = area.height.saturating_sub(1) as usize;
    let selected = state.liquidator_pos.selected.min(snap.rows.len() - 1);
    let range = window(
        snap.rows.len(),
        selected,
        &state.liquidator_pos.offset,
        visible,
    );
    let first = range.start;
    // Only the visible rows are built; the columns fit what they show.
    let built: Vec<(Vec<Line<'static>>, &str)> = snap.rows[range]
        .iter()
        .map(|row| (cells(t, snap.valued_at, row), row.reason.as_str()))
        .collect();
    const TITLES: [&str; 10] = [
        "#pos",
        "value",
        "debt",
        "health",
        "insolv.",
        "reward",
        "gas",
        "est. profit",
        "state",
        "reason",
    ];
    const RIGHT: [bool; 9] = [false, true, true, false, true, true, true, true, false];
    let mut widths = [0u16; 9];
    for (i, title) in TITLES[..9].iter().enumerate() {
        widths[i] = title.len() as u16;
    }
    for (cells, _) in &built {
        for (w, cell) in widths.iter_mut().zip(cells) {
            *w = (*w).max(cell.width() as u16);
        }
    }
    let used: u16 = widths.iter().sum::<u16>() + widths.len() as u16;
    let reason_width = area.width.saturating_sub(used) as usize;

    let rows = built.into_iter().map(|(cells, reason)| {
        let mut out: Vec<Cell> = cells
            .into_iter()
            .zip(RIGHT)
            .map(|(line, right)| Cell::from(if right { line.right_aligned() } else { line }))
            .collect();
        out.push(Cell::from(format::truncate(reason, reason_width)));
        Row::new(out)
    });
    let header = Row::new(TITLES.iter().enumerate().map(|(i, title)| {
        let line = Line::from(*title);
        Cell::from(if RIGHT.get(i).copied().unwrap_or(false) {
            line.alignment(Alignment::Right)
        } else {
            line
        })
    }))
    .style(Style::new().fg(t.muted).add_modifier(Modifier::BOLD));
    let constraints: Vec<Constraint> = widths
        .iter()
        .map(|w| Constraint::Length(*w))
        .chain([Constraint::Fill(1)])
        .collect();
    let mut table_state = TableState::default().with_selected(Some(selected - first));
    frame.render_stateful_widget(
        Table::new(rows, constraints)
            .header(header)
            .row_highlight_style(Style::new().fg(t.selection_fg).bg(t.selection_bg)),
        area,
        &mut table_state,
    );
}

/// `#8 watching: <the whole reason>` for the selected row.
fn render_why(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = &state.theme;
    let Some(row) = state.selected_candidate() else {
        return;
    };
    let head = format!("#{} ", row.position_id);
    let label = row.state.label();
    let room = (area.width as usize).saturating_sub(head.len() + label.len() + 2);
    let line = Line::from(vec![
        Span::styled(head, Style::new().fg(t.muted).add_modifier(Modifier::BOLD)),
        Span::styled(label, state_style(t, row.state)),
        Span::styled(": ", Style::new().fg(t.muted)),
        Span::raw(format::truncate(&row.reason, room)),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

/// A row's cells before the reason.
fn cells(t: &Theme, valued_at: u64, row: &CandidateRow) -> Vec<Line<'static>> {
    let muted = Style::new().fg(t.muted);
    let value = match row.value {
        Some(v) => Line::from(units(v, &row.base, 2)),
        None => Line::from(Span::styled("no price", muted)),
    };
    let health = match row.health_bps {
        Some(bps) => {
            let style = Style::new().fg(health_color(t, bps));
            Line::from(vec![
                Span::styled(health_bar(bps), style),
                Span::raw(" "),
                Span::styled(format!("{:>7}", format::percent_bps(bps)), style),
            ])
        }
        None => Line::from(Span::styled("?", muted)),
    };
    let money = |cents: Option<i64>| match cents {
        Some(c) => Line::from(format::usd_cents(c)),
        None => Line::from(Span::styled("-", muted)),
    };
    let profit = match row.profit_usd_cents {
        Some(c) => Line::from(Span::styled(format::usd_cents(c), cents_style(t, c))),
        None => Line::from(Span::styled("-", muted)),
    };
    vec![
        Line::from(format!("#{}", row.position_id)),
        value,
        Line::from(units(row.debt, &row.base, 2)),
        health,
        Line::from(until(valued_at, row.insolvent_at)),
        Line::from(units(row.reward_amount, &row.reward, 4)),
        money(row.gas_usd_cents),
        profit,
        Line::from(Span::styled(row.state.label(), state_style(t, row.state))),
    ]
}

fn render_days(frame: &mut Frame, area: Rect, t: &Theme, days: &[DayTotals]) {
    let block = Block::new()
        .borders(Borders::TOP)
        .border_style(Style::new().fg(t.border))
        .title(Span::styled(
            " confirmed liquidations per day (UTC) ",
            Style::new().fg(t.accent),
        ));
    let right = |s: String| Cell::from(Line::from(s).right_aligned());
    let rows = days.iter().map(|d| {
        Row::new([
            Cell::from(d.day.clone()),
            right(d.confirmed.to_string()),
            right(d.failed.to_string()),
            right(format::usd_cents(d.reward_usd_cents)),
            right(format::usd_cents(d.gas_usd_cents)),
            Cell::from(
                Line::from(Span::styled(
                    format::usd_cents(d.profit_usd_cents),
                    cents_style(t, d.profit_usd_cents),
                ))
                .right_aligned(),
            ),
        ])
    });
    let header = Row::new([
        Cell::from("day"),
        right("confirmed".into()),
        right("failed".into()),
        right("reward".into()),
        right("gas".into()),
        right("profit".into()),
    ])
    .style(Style::new().fg(t.muted).add_modifier(Modifier::BOLD));
    let widths = [
        Constraint::Length(10),
        Constraint::Length(9),
        Constraint::Length(6),
        Constraint::Length(12),
        Constraint::Length(10),
        Constraint::Length(12),
    ];
    frame.render_widget(Table::new(rows, widths).header(header).block(block), area);
}

/// The overlay Enter opens: the position, its holdings, its order's terms and its event
/// history, once the desk has sent them.
pub fn render_detail(frame: &mut Frame, area: Rect, state: &AppState, id: u64) {
    let t = &state.theme;
    let snap = &state.liquidator;
    let inner_width = usize::from(detail_inner_width(area));
    let mut lines: Vec<Line<'static>> = Vec::new();
    let row = snap.rows.iter().find(|r| r.position_id == id);
    let title;
    match snap
        .detail
        .as_ref()
        .filter(|d| d.position.position_id == id)
    {
        None => {
            title = format!(" Position #{id} ");
            if let Some(row) = row {
                lines.push(Line::from(vec![
                    label(t, "position"),
                    Span::raw(format!(
                        "#{id} · order #{} · owner {}",
                        row.order_id,
                        row.owner.to_checksum(None)
                    )),
                ]));
            }
            lines.push(Line::from(Span::styled(
                "loading…",
                Style::new().fg(t.muted),
            )));
        }
        Some(detail) => {
            title = format!(" Position #{id} · {} ", detail.position.status.as_str());
            detail_lines(state, detail, row, &mut lines, inner_width);
        }
    }
    // Too many events for the screen: keep the newest, say how many are left out (the
    // popup adds a blank line and the close hint after them).
    let shown = usize::from(wrapped_height(&lines, detail_inner_width(area))) + DETAIL_FOOTER;
    let room = usize::from(area.height.saturating_sub(4));
    if shown > room {
        let marker = lines
            .iter()
            .position(|l| {
                l.spans
                    .first()
                    .is_some_and(|s| s.content.starts_with("events"))
            })
            .unwrap_or(0);
        let cut = shown - room + 1;
        let start = marker + 1;
        let end = (start + cut).min(lines.len()).max(start);
        let dropped = end - start;
        lines.splice(
            start..end,
            [Line::from(Span::styled(
                format!("  … {dropped} earlier event(s)"),
                Style::new().fg(t.muted),
            ))],
        );
    }
    detail_popup(frame, area, state, title, lines);
}

fn detail_lines(
    state: &AppState,
    detail: &PositionDetail,
    row: Option<&CandidateRow>,
    lines: &mut Vec<Line<'static>>,
    width: usize,
) {
    let t = &state.theme;
    let label = |s: &str| label(t, s);
    let muted = Style::new().fg(t.muted);
    let p = &detail.position;
    let token = |address: Address| -> TokenInfo {
        detail
            .tokens
            .iter()
            .chain(row.map(|r| &r.reward))
            .chain(row.map(|r| &r.base))
            .find(|t| t.address == address)
            .cloned()
            .unwrap_or_else(|| {
                if address == Address::ZERO {
                    TokenInfo {
                        address,
                        symbol: "ETH".into(),
                        decimals: 18,
                    }
                } else {
                    TokenInfo::unknown(address)
                }
            })
    };
    let me: Option<Address> = state.account.as_deref().and_then(|a| a.parse().ok());

    let mut position = format!(
        "#{} · order {} · {}",
        p.position_id,
        p.order_id
            .map(|o| format!("#{o}"))
            .unwrap_or_else(|| "unknown".into()),
        p.status.as_str()
    );
    if p.stale {
        position.push_str(" · some fields not read from the module yet");
    }
    lines.push(Line::from(vec![label("position"), Span::raw(position)]));
    lines.push(Line::from(vec![
        label("owner"),
        Span::raw(p.owner.to_checksum(None)),
    ]));
    let frozen = if p.frozen_time == 0 {
        Span::styled("not frozen", muted)
    } else {
        let by = match p.liquidator {
            Some(l) if Some(l) == me => format!("{} (us)", l.to_checksum(None)),
            Some(l) => l.to_checksum(None),
            None => "unknown".into(),
        };
        Span::raw(format!(
            "{} UTC by {by}, confirmable until {} UTC",
            format::clock(ms(p.frozen_time)),
            format::clock(ms(p.frozen_time.saturating_add(FREEZE_WINDOW_SECS)))
        ))
    };
    lines.push(Line::from(vec![label("frozen"), frozen]));
    let when = |at: Option<u64>| {
        at.map(|s| format!("{} UTC", format::date_time(ms(s))))
            .unwrap_or_else(|| "unknown".into())
    };
    let mut created = format!("{} · deadline {}", when(p.created_at), when(p.deadline));
    if let Some(deadline) = p.deadline
        && deadline > state.liquidator.valued_at
        && state.liquidator.valued_at != 0
    {
        created.push_str(&format!(
            " (in {})",
            duration(deadline - state.liquidator.valued_at)
        ));
    }
    lines.push(Line::from(vec![label("created"), Span::raw(created)]));
    if p.holdings.is_empty() {
        lines.push(Line::from(vec![
            label("holdings"),
            Span::styled("none known", muted),
        ]));
    }
    for (i, (asset, amount)) in p.holdings.iter().enumerate() {
        let info = token(*asset);
        lines.push(Line::from(vec![
            label(if i == 0 { "holdings" } else { "" }),
            Span::raw(format!("{:>18}", format_units(*amount, info.decimals, 6))),
            Span::raw(format!(" {}", info.symbol)),
            Span::styled(
                if *asset == p.base_asset {
                    "  (base)"
                } else {
                    ""
                },
                muted,
            ),
        ]));
    }
    lines.push(Line::from(""));
    match &detail.order {
        None => lines.push(Line::from(vec![
            label("order"),
            Span::styled("not indexed", muted),
        ])),
        Some(o) => {
            let reward = match o.reward {
                Some((asset, amount)) => {
                    let info = token(asset);
                    units(amount, &info, 6)
                }
                None => "not read yet".into(),
            };
            lines.push(Line::from(vec![
                label(&format!("order #{}", o.order_id)),
                Span::raw(format!(
                    "interest {} bps/30d · leverage {}x · reward {reward} · deadline {}",
                    o.interest_rate,
                    o.leverage,
                    when(o.deadline)
                )),
            ]));
            lines.push(Line::from(vec![
                label("oracle"),
                Span::raw(o.oracle.to_checksum(None)),
            ]));
            lines.push(Line::from(vec![
                label("lender"),
                Span::raw(o.owner.to_checksum(None)),
            ]));
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        label("events"),
        Span::styled(format!("{}, oldest first", detail.events.len()), muted),
    ]));
    let name_width = detail
        .events
        .iter()
        .map(|e| e.name.len())
        .max()
        .unwrap_or(0);
    for e in &detail.events {
        let head = format!("  block {:>8}  {:<name_width$}  ", e.block_number, e.name);
        let rest = width.saturating_sub(head.len());
        lines.push(Line::from(vec![
            Span::raw(head),
            Span::styled(format::truncate(&e.detail, rest), muted),
        ]));
    }
}

fn health_color(t: &Theme, bps: u32) -> ratatui::style::Color {
    if bps < 10_000 {
        t.error
    } else if bps < 10_500 {
        t.warn
    } else {
        t.ok
    }
}

fn state_style(t: &Theme, state: RowState) -> Style {
    match state {
        RowState::Watching => Style::new().fg(t.foreground),
        RowState::Freezing | RowState::Confirming => Style::new().fg(t.accent),
        RowState::FrozenByUs => Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
        RowState::FrozenByOther => Style::new().fg(t.warn),
        RowState::Confirmed => Style::new().fg(t.ok),
        RowState::Recovered => Style::new().fg(t.muted),
        RowState::Failed => Style::new().fg(t.error),
    }
}

fn cents_style(t: &Theme, cents: i64) -> Style {
    match cents {
        c if c > 0 => Style::new().fg(t.ok),
        c if c < 0 => Style::new().fg(t.error),
        _ => Style::new(),
    }
}

/// `1,234.5 USDC`
fn units(amount: U256, token: &TokenInfo, places: usize) -> String {
    token.amount(amount, places)
}

/// A bar of [`BAR_CELLS`] cells in eighths, full at [`BAR_FULL_BPS`] (200%).
fn health_bar(bps: u32) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = bps.min(BAR_FULL_BPS) as u64 * u64::from(BAR_CELLS * 8) / u64::from(BAR_FULL_BPS);
    let full = (eighths / 8) as usize;
    let mut bar = "█".repeat(full);
    if full < BAR_CELLS as usize {
        bar.push(PARTS[(eighths % 8) as usize]);
    }
    while bar.chars().count() < BAR_CELLS as usize {
        bar.push(' ');
    }
    bar
}

/// Time until `at` from `from`: `now`, `-` (never), `3d 4h`, `5h 12m`, `12m`, `40s`.
fn until(from: u64, at: Option<u64>) -> String {
    match at {
        None => "-".into(),
        Some(at) if at <= from => "now".into(),
        Some(at) => duration(at - from),
    }
}

fn duration(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{secs}s")
    }
}

/// `1,240 µs` or `3.4 ms`.
fn micros(us: u64) -> String {
    if us < 1_000 {
        format!("{us} µs")
    } else {
        format!("{}.{} ms", us / 1_000, us % 1_000 / 100)
    }
}

/// Unix seconds as the formatters' milliseconds.
fn ms(secs: u64) -> i64 {
    secs as i64 * 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_to_insolvency() {
        assert_eq!(until(1_000, None), "-");
        assert_eq!(until(1_000, Some(900)), "now");
        assert_eq!(until(1_000, Some(1_000)), "now");
        assert_eq!(until(1_000, Some(1_040)), "40s");
        assert_eq!(until(0, Some(12 * 60 + 5)), "12m");
        assert_eq!(until(0, Some(5 * 3_600 + 12 * 60)), "5h 12m");
        assert_eq!(until(0, Some(3 * 86_400 + 4 * 3_600 + 59)), "3d 4h");
    }

    #[test]
    fn health_bars_and_percentages() {
        assert_eq!(format::percent_bps(9_712), "97.12%");
        assert_eq!(format::percent_bps(10_000), "100.00%");
        assert_eq!(format::percent_bps(5), "0.05%");
        assert_eq!(health_bar(0), "     ");
        assert_eq!(health_bar(10_000), "██▌  ");
        assert_eq!(health_bar(20_000), "█████");
        assert_eq!(health_bar(u32::MAX), "█████");
        for bps in (0..25_000).step_by(37) {
            assert_eq!(health_bar(bps).chars().count(), 5, "{bps}");
        }
    }

    #[test]
    fn text_is_cut_to_width() {
        assert_eq!(format::truncate("healthy on chain", 40), "healthy on chain");
        assert_eq!(format::truncate("healthy on chain", 8), "healthy…");
        assert_eq!(format::truncate("healthy", 7), "healthy");
        assert_eq!(format::truncate("healthy", 0), "");
        assert_eq!(format::truncate("ab", 1), "…");
        assert_eq!(micros(412), "412 µs");
        assert_eq!(micros(3_456), "3.4 ms");
    }
}
