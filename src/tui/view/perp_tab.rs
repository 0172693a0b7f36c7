//! The Perp tab (DeHedge): the venue and the last read of DePerp, each vault with gauges of
//! what is left of vault + shield and of the shield, the flags with their numbers, the
//! trader positions (PnL, flags, hedge), the hedges on the venue, and the desk's journal.
//! Enter opens the detail of a position or a hedge.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{LineGauge, Paragraph, Wrap};

use super::table::{Columns, fitted_table, visible};
use super::widgets::{self, detail_popup, empty, label, section};
use crate::actions::ActionKind;
use crate::perp::pane::{Flag, HedgeRow, PerpSnapshot, TraderRow, VaultRow};
use crate::tui::format::{self, countdown, percent_bps, signed};
use crate::tui::keymap::Command;
use crate::tui::state::{AppState, PerpFocus, PerpItem, flag_labels, trader_label, trader_numbers};
use crate::tui::theme::Theme;

/// Most journal lines in the footer (one when the screen is short).
const MAX_JOURNAL: usize = 5;
/// Most flag lines per vault when there is room for one line each.
const MAX_FLAG_LINES: usize = 3;
/// Below this many lines inside the tab, everything is condensed.
const ROOMY: u16 = 24;
/// Below this width, the gauges leave out the amounts.
const WIDE: u16 = 100;

pub fn render(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = &state.theme;
    let snap = &state.perp;
    let block = super::widgets::tab_frame(t, format!(" Perp desk · DePerp on {} ", snap.chain))
        .title_bottom(Line::from(key_hint(state, area.width)).alignment(Alignment::Right));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }

    let roomy = inner.height >= ROOMY;
    let header = header_lines(state, snap, inner.width);
    let header_height = (header.len() as u16).min(inner.height);
    let journal_lines = snap.journal.len().min(if roomy { MAX_JOURNAL } else { 1 });
    let footer_height =
        ((1 + journal_lines) as u16).min(inner.height.saturating_sub(header_height));
    let [header_area, body, footer_area] = Layout::vertical([
        Constraint::Length(header_height),
        Constraint::Min(0),
        Constraint::Length(footer_height),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(header), header_area);
    widgets::journal_footer(frame, footer_area, &state.theme, &snap.journal);

    let idle = snap.block.is_none()
        && snap.vaults.is_empty()
        && snap.positions.is_empty()
        && snap.hedges.is_empty();
    if idle {
        let hint = format!(
            "Nothing read from DePerp on {} yet: run `hedgedesk devnet up` on a devnet, or set \
             [perp].registry to DePerp's DataRegistry address and list the collateral under \
             [[perp.assets]]. Vaults and shields, trader positions with their flags, and the \
             hedges on the venue show here once the desk runs.",
            snap.chain
        );
        let mode = |kind| format!("{:?}", state.config.policy(kind).mode).to_lowercase();
        let policies = format!(
            "Policies: open_hedge {}, close_hedge {} ([actions.open_hedge], \
             [actions.close_hedge]); the Actions tab (6) lists what waits.",
            mode(ActionKind::OpenHedge),
            mode(ActionKind::CloseHedge)
        );
        frame.render_widget(
            Paragraph::new(vec![
                Line::from(Span::styled(hint, Style::new().fg(t.muted))),
                Line::from(""),
                Line::from(Span::styled(policies, Style::new().fg(t.muted))),
            ])
            .wrap(Wrap { trim: true }),
            body,
        );
        return;
    }

    // The vaults first (full when there is room, one flag line per vault otherwise), the
    // rest shared by the two tables, the positions getting two rows for each hedge row.
    let full = vaults_height(snap, false);
    let compact = vaults_height(snap, true);
    let condensed = !roomy || body.height < full + 8;
    let vaults_h = if condensed { compact } else { full }.min(body.height);
    let tables = body.height - vaults_h;
    let want = |rows: usize| if rows == 0 { 2 } else { rows as u16 + 2 };
    let wants = [want(snap.positions.len()), want(snap.hedges.len())];
    let [positions_h, hedges_h] = share(tables, wants);
    // When everything fits, the hedges follow the positions and the slack goes below.
    let positions_h = positions_h.min(wants[0]);
    let [vaults_area, positions_area, hedges_area, _] = Layout::vertical([
        Constraint::Length(vaults_h),
        Constraint::Length(positions_h),
        Constraint::Length(hedges_h),
        Constraint::Min(0),
    ])
    .areas(body);
    render_vaults(frame, vaults_area, state, snap, condensed);
    render_positions(frame, positions_area, state, snap);
    render_hedges(frame, hedges_area, state, snap);
}

/// Lines for the positions and hedges sections out of `total`: each gets up to three
/// (title, header, a row) first, then positions get two rows for every hedge row, until
/// each has what it wants; what is left goes to the positions.
fn share(total: u16, want: [u16; 2]) -> [u16; 2] {
    widgets::share(total, want, &[0, 1], &[0, 0, 1])
}

/// The vault section's lines: its title, then per vault a summary and the gauges, and its
/// flags (one line each, or all on one line when `condensed`).
fn vaults_height(snap: &PerpSnapshot, condensed: bool) -> u16 {
    if snap.vaults.is_empty() {
        return 2;
    }
    1 + snap
        .vaults
        .iter()
        .map(|v| 2 + flag_lines(v, condensed) as u16)
        .sum::<u16>()
}

/// A vault's flag lines: one per flag (up to [`MAX_FLAG_LINES`]), or one for all of them
/// when `condensed`.
fn flag_lines(v: &VaultRow, condensed: bool) -> usize {
    match v.flags.len() {
        0 => 0,
        _ if condensed => 1,
        n => n.min(MAX_FLAG_LINES),
    }
}

/// The keys, shorter on a narrow screen.
fn key_hint(state: &AppState, width: u16) -> Vec<Span<'static>> {
    super::key_hint::key_hint(
        state,
        width >= WIDE,
        &[
            (Command::PerpOpen, "open hedge", "open"),
            (Command::PerpClose, "close hedge", "close"),
            (Command::PerpAuto, "auto", "auto"),
            (Command::PerpDetail, "detail", "detail"),
            (Command::PerpFocus, "positions/hedges", "focus"),
        ],
    )
}

/// The venue, auto, the last read; the desk's note when it is idle. On two lines when one
/// is too narrow.
fn header_lines(state: &AppState, snap: &PerpSnapshot, width: u16) -> Vec<Line<'static>> {
    let t = &state.theme;
    let muted = Style::new().fg(t.muted);
    let sep = || Span::styled(" · ", muted);
    let venue = if snap.venue.is_empty() {
        vec![Span::styled("no venue", muted)]
    } else {
        vec![
            Span::raw("venue "),
            Span::styled(snap.venue.clone(), Style::new().fg(t.accent)),
        ]
    };
    let (auto, style) = if snap.auto {
        ("ON", Style::new().fg(t.ok))
    } else {
        ("OFF", Style::new().fg(t.warn))
    };
    let mut rest = vec![
        Span::raw("auto hedging "),
        Span::styled(auto, style.add_modifier(Modifier::BOLD)),
        sep(),
    ];
    rest.push(match (snap.block, snap.read_at_ms) {
        (Some(block), Some(at)) => {
            let stale = state.now_ms - at > 30_000;
            Span::styled(
                format!(
                    "read block {} {} ago",
                    format::group_digits(&block.to_string()),
                    format::age(state.now_ms, at)
                ),
                if stale {
                    Style::new().fg(t.warn)
                } else {
                    Style::new()
                },
            )
        }
        (Some(block), None) => Span::raw(format!(
            "read block {}",
            format::group_digits(&block.to_string())
        )),
        (None, _) => Span::styled("no read yet", muted),
    });
    let together: usize = venue.iter().chain(&rest).map(Span::width).sum::<usize>() + 3;
    let mut lines = if together <= width as usize {
        let mut one = venue;
        one.push(sep());
        one.extend(rest);
        vec![Line::from(one)]
    } else {
        vec![Line::from(venue), Line::from(rest)]
    };
    if let Some(note) = &snap.note {
        lines.push(Line::from(Span::styled(
            note.clone(),
            Style::new().fg(t.warn),
        )));
    }
    lines
}

/// How bad a flag is: drawdown and shield are errors, hedge (the profit limit) a warning.
fn flag_style(t: &Theme, kind: &str) -> Style {
    match kind {
        "drawdown" | "shield" => Style::new().fg(t.error),
        _ => Style::new().fg(t.warn),
    }
}

/// `DD`, `SH`, `HG`: a flag in a table cell.
fn flag_short(kind: &str) -> &str {
    match kind {
        "drawdown" => "DD",
        "shield" => "SH",
        "hedge" => "HG",
        other => other,
    }
}

fn render_vaults(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    snap: &PerpSnapshot,
    condensed: bool,
) {
    let t = &state.theme;
    let flags: usize = snap.vaults.iter().map(|v| v.flags.len()).sum();
    let mut title = format!("Vaults and shields ({})", snap.vaults.len());
    match flags {
        0 => title.push_str(" · no flags"),
        1 => title.push_str(" · 1 flag"),
        n => title.push_str(&format!(" · {n} flags")),
    }
    let block = section(t, title, None);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if snap.vaults.is_empty() {
        empty(frame, inner, t, "No vault read yet.");
        return;
    }
    // Per vault: its summary, the gauges, then its flags, one line each while lines last.
    let mut at = (inner.y..inner.y + inner.height).map(|y| Rect::new(inner.x, y, inner.width, 1));
    for v in &snap.vaults {
        let Some(line) = at.next() else { return };
        frame.render_widget(vault_summary(t, v, inner.width), line);
        let Some(line) = at.next() else { return };
        render_gauges(frame, line, t, v);
        for i in 0..flag_lines(v, condensed) {
            let Some(line) = at.next() else { return };
            let flags = if condensed {
                condensed_flags(t, &v.flags, inner.width)
            } else {
                flag_line(t, &v.flags[i], inner.width)
            };
            frame.render_widget(flags, line);
        }
    }
}

/// `USDC 0x8335…2913 · vault 1,000,000.00 · shield 100,000.00 · traders' PnL +73,352.74`
fn vault_summary(t: &Theme, v: &VaultRow, width: u16) -> Line<'static> {
    let muted = Style::new().fg(t.muted);
    let sep = || Span::styled(" · ", muted);
    let positive = !is_negative_or_zero(&v.total_pnl);
    let mut spans = vec![Span::styled(
        v.symbol.clone(),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    let rest = vec![
        sep(),
        Span::styled("vault ", muted),
        Span::raw(v.vault.clone()),
        sep(),
        Span::styled("shield ", muted),
        Span::raw(v.shield.clone()),
        sep(),
        Span::styled("traders' PnL ", muted),
        // The traders' gain is the vault's loss.
        Span::styled(
            signed(&v.total_pnl, positive),
            pnl_style(t, &v.total_pnl, positive, false),
        ),
    ];
    let address = format!(" {}", format::short_address(&v.asset));
    let used: usize = spans.iter().chain(&rest).map(Span::width).sum();
    if used + address.chars().count() <= width as usize && !v.asset.is_empty() {
        spans.push(Span::styled(address, muted));
    }
    spans.extend(rest);
    Line::from(spans)
}

fn is_negative_or_zero(amount: &str) -> bool {
    amount.starts_with('-') || amount.chars().all(|c| matches!(c, '0' | '.' | ',' | '+'))
}

/// A PnL's colour: ok when it is good for whoever the column speaks for (`gain_good`:
/// the hedge's own PnL; not: the traders', whose gain is the vault's loss), error when
/// bad, plain when zero.
fn pnl_style(t: &Theme, amount: &str, positive: bool, gain_good: bool) -> Style {
    if !positive && !amount.starts_with('-') && is_negative_or_zero(amount) {
        Style::new()
    } else if positive == gain_good {
        Style::new().fg(t.ok)
    } else {
        Style::new().fg(t.error)
    }
}

/// Two line gauges side by side: what remains of vault + shield, and of the shield.
fn render_gauges(frame: &mut Frame, area: Rect, t: &Theme, v: &VaultRow) {
    let muted = Style::new().fg(t.muted);
    let worst = v
        .flags
        .iter()
        .map(|f| flag_style(t, f.kind))
        .find(|s| *s == Style::new().fg(t.error))
        .or_else(|| v.flags.first().map(|f| flag_style(t, f.kind)))
        .unwrap_or(Style::new().fg(t.ok));
    let shield_style = match v.shield_left_bps {
        0 => Style::new().fg(t.error),
        1..=4_999 => Style::new().fg(t.warn),
        _ => Style::new().fg(t.ok),
    };
    let wide = area.width >= WIDE;
    let mut remaining = vec![Span::styled("  remaining ", muted)];
    if wide {
        remaining.push(Span::raw(format!("{} ", v.remaining)));
    }
    remaining.push(Span::styled(percent_bps(v.remaining_bps), worst));
    let shield = vec![
        Span::styled("shield left ", muted),
        Span::styled(percent_bps(v.shield_left_bps), shield_style),
    ];
    let [left, _, right] = Layout::horizontal([
        Constraint::Percentage(55),
        Constraint::Length(2),
        Constraint::Fill(1),
    ])
    .areas(area);
    let gauge = |label: Vec<Span<'static>>, bps: u32, style: Style| {
        LineGauge::default()
            .ratio(f64::from(bps.min(10_000)) / 10_000.0)
            .label(Line::from(label))
            .filled_symbol(symbols::line::THICK_HORIZONTAL)
            .unfilled_symbol(symbols::line::HORIZONTAL)
            .filled_style(style)
            .unfilled_style(muted)
    };
    frame.render_widget(gauge(remaining, v.remaining_bps, worst), left);
    frame.render_widget(gauge(shield, v.shield_left_bps, shield_style), right);
}

/// `  ● drawdown  vault drawdown: vault 1,000,000.00 × 1.05 > remaining 1,026,647.26`
fn flag_line(t: &Theme, f: &Flag, width: u16) -> Line<'static> {
    let style = flag_style(t, f.kind);
    let head = format!("  ● {:<10}", f.kind);
    let room = (width as usize).saturating_sub(head.chars().count());
    Line::from(vec![
        Span::styled(head, style.add_modifier(Modifier::BOLD)),
        Span::styled(format::truncate(&f.reason, room), style),
    ])
}

/// Every flag's reason on one line, cut to the width.
fn condensed_flags(t: &Theme, flags: &[Flag], width: u16) -> Line<'static> {
    let mut spans = vec![Span::raw("  ")];
    let mut used = 2usize;
    for (i, f) in flags.iter().enumerate() {
        let style = flag_style(t, f.kind);
        let text = format!("{}● {}", if i > 0 { " " } else { "" }, f.reason);
        let room = (width as usize).saturating_sub(used);
        if room == 0 {
            break;
        }
        let text = format::truncate(&text, room);
        used += Span::raw(text.as_str()).width();
        spans.push(Span::styled(text, style));
    }
    Line::from(spans)
}

fn render_positions(frame: &mut Frame, area: Rect, state: &AppState, snap: &PerpSnapshot) {
    let t = &state.theme;
    let focused = state.perp_focus == PerpFocus::Positions;
    let mut title = format!("Trader positions ({})", snap.positions.len());
    let counts = snap.positions.iter().fold([0; 3], |mut n, p| {
        n[0] += usize::from(!p.flags.is_empty());
        n[1] += usize::from(p.hedge.is_some());
        n[2] += usize::from(p.price.is_none());
        n
    });
    for (n, what) in counts
        .into_iter()
        .zip(["flagged", "hedged", "without price"])
    {
        if n > 0 {
            title.push_str(&format!(" · {n} {what}"));
        }
    }
    // The legend of the flags column, when the line has room for it.
    const LEGEND: &str = " · flags: DD drawdown, SH shield, HG hedge";
    if title.chars().count() + LEGEND.chars().count() + 4 <= area.width as usize {
        title.push_str(LEGEND);
    }
    let block = section(t, title, Some(focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if snap.positions.is_empty() {
        empty(frame, inner, t, "No trader positions on DePerp.");
        return;
    }
    let (range, selected) = visible(
        snap.positions.len(),
        &state.perp_positions_pos,
        inner.height,
        focused,
    );
    let rows = snap.positions[range]
        .iter()
        .map(|p| position_cells(t, p))
        .collect();
    const COLUMNS: Columns = Columns {
        titles: &[
            "user",
            "market",
            "side",
            "size",
            "entry",
            "price",
            "trader PnL",
            "flags",
            "hedge",
            "action",
        ],
        right: &[
            false, false, false, true, true, true, true, false, false, false,
        ],
        drop: &[4, 3, 0, 9],
        note: false,
    };
    fitted_table(frame, inner, t, &COLUMNS, rows, selected);
}

fn position_cells(t: &Theme, p: &TraderRow) -> Vec<Line<'static>> {
    let muted = Style::new().fg(t.muted);
    let dash = || Line::from(Span::styled("-", muted));
    let price = match &p.price {
        Some(price) => Line::from(price.clone()),
        None => Line::from(Span::styled("no price", Style::new().fg(t.warn))),
    };
    let pnl = match &p.pnl {
        Some(pnl) => Line::from(Span::styled(
            signed(pnl, p.pnl_positive),
            pnl_style(t, pnl, p.pnl_positive, false),
        )),
        None => dash(),
    };
    let flags = if p.flags.is_empty() {
        dash()
    } else {
        let mut spans = Vec::new();
        for (i, f) in p.flags.iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw(" "));
            }
            spans.push(Span::styled(
                flag_short(f.kind).to_string(),
                flag_style(t, f.kind).add_modifier(Modifier::BOLD),
            ));
        }
        Line::from(spans)
    };
    vec![
        Line::from(format::short_address(&p.user)),
        Line::from(p.market.clone()),
        Line::from(if p.is_long { "long" } else { "short" }),
        Line::from(p.size.clone()),
        Line::from(p.entry.clone()),
        price,
        pnl,
        flags,
        hedge_cell(t, p),
        match p.action {
            Some((id, s)) => Line::from(Span::styled(format!("#{id} {s}"), t.action_state(s))),
            None => Line::from(""),
        },
    ]
}

/// The position's hedge: `#43 opening`, `unmapped market`, `not hedged` when flagged.
fn hedge_cell(t: &Theme, p: &TraderRow) -> Line<'static> {
    match (&p.symbol, &p.hedge) {
        (None, _) => Line::from(Span::styled("unmapped market", Style::new().fg(t.warn))),
        (Some(_), Some((id, state))) => Line::from(Span::styled(
            format!("#{id} {state}"),
            hedge_state_style(t, state),
        )),
        (Some(_), None) if !p.flags.is_empty() => {
            Line::from(Span::styled("not hedged", Style::new().fg(t.warn)))
        }
        (Some(_), None) => Line::from(Span::styled("-", Style::new().fg(t.muted))),
    }
}

fn hedge_state_style(t: &Theme, state: &str) -> Style {
    match state {
        "opening" => Style::new().fg(t.accent),
        "open" => Style::new().fg(t.ok),
        "closing" => Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
        "failed" => Style::new().fg(t.error),
        _ => Style::new().fg(t.muted),
    }
}

fn render_hedges(frame: &mut Frame, area: Rect, state: &AppState, snap: &PerpSnapshot) {
    let t = &state.theme;
    let focused = state.perp_focus == PerpFocus::Hedges;
    let mut title = format!("Hedges on the venue ({})", snap.hedges.len());
    const STATES: [&str; 4] = ["opening", "open", "closing", "failed"];
    let counts = snap.hedges.iter().fold([0usize; 4], |mut n, h| {
        if let Some(i) = STATES.iter().position(|s| h.state == *s) {
            n[i] += 1;
        }
        n
    });
    for (n, s) in counts.into_iter().zip(STATES) {
        if n > 0 {
            title.push_str(&format!(" · {n} {s}"));
        }
    }
    let block = section(t, title, Some(focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if snap.hedges.is_empty() {
        empty(frame, inner, t, "No hedges on the venue.");
        return;
    }
    let (range, selected) = visible(
        snap.hedges.len(),
        &state.perp_hedges_pos,
        inner.height,
        focused,
    );
    let rows = snap.hedges[range]
        .iter()
        .map(|h| hedge_cells(t, state.now_ms, h))
        .collect();
    const COLUMNS: Columns = Columns {
        titles: &[
            "#", "symbol", "side", "qty", "entry", "mark", "PnL USDT", "age", "state", "expiry",
            "note",
        ],
        right: &[
            false, false, false, true, true, true, true, true, false, false, false,
        ],
        drop: &[4, 7, 2, 10],
        note: true,
    };
    fitted_table(frame, inner, t, &COLUMNS, rows, selected);
}

fn hedge_cells(t: &Theme, now_ms: i64, h: &HedgeRow) -> Vec<Line<'static>> {
    let muted = Style::new().fg(t.muted);
    let or_dash = |v: &Option<String>| match v {
        Some(v) => Line::from(v.clone()),
        None => Line::from(Span::styled("-", muted)),
    };
    let pnl = match &h.pnl {
        Some(pnl) => Line::from(Span::styled(
            signed(pnl, h.pnl_positive),
            pnl_style(t, pnl, h.pnl_positive, true),
        )),
        None => Line::from(Span::styled("-", muted)),
    };
    let expiry = match h.closes_in_secs {
        Some(secs) => Line::from(Span::styled(
            format!("closes in {}", countdown(secs.max(0) as u64)),
            Style::new().fg(t.warn),
        )),
        None => Line::from(Span::styled("-", muted)),
    };
    let note = match &h.note {
        Some(note) if h.state == "failed" => {
            Line::from(Span::styled(note.clone(), Style::new().fg(t.error)))
        }
        Some(note) => Line::from(note.clone()),
        None => Line::from(""),
    };
    vec![
        Line::from(format!("#{}", h.id)),
        Line::from(h.symbol.clone()),
        Line::from(h.side.clone()),
        Line::from(h.quantity.clone()),
        or_dash(&h.entry),
        or_dash(&h.mark),
        pnl,
        Line::from(format::age(now_ms, h.since_ms)),
        Line::from(Span::styled(
            h.state.clone(),
            hedge_state_style(t, &h.state),
        )),
        expiry,
        note,
    ]
}

/// The overlay Enter opens: everything about a trader position or a hedge.
pub fn render_detail(frame: &mut Frame, area: Rect, state: &AppState, item: &PerpItem) {
    let t = &state.theme;
    let snap = &state.perp;
    let gone = |what: String| {
        vec![Line::from(Span::styled(
            format!("{what} is no longer in the desk's pane."),
            Style::new().fg(t.muted),
        ))]
    };
    let (title, lines) = match item {
        PerpItem::Position(key) => match snap.positions.iter().find(|p| &p.key == key) {
            Some(p) => (
                format!(" Position {} ", trader_label(p)),
                position_detail(state, snap, p),
            ),
            None => (" Position ".to_string(), gone(key.clone())),
        },
        PerpItem::Hedge(id) => match snap.hedges.iter().find(|h| h.id == *id) {
            Some(h) => (
                format!(" Hedge #{id} {} · {} ", h.symbol, h.state),
                hedge_detail(state, snap, h),
            ),
            None => (format!(" Hedge #{id} "), gone(format!("Hedge #{id}"))),
        },
    };
    detail_popup(frame, area, state, title, lines);
}

/// The vault a position draws on: its key is `user:asset:market:side:timestamp`.
fn vault_of<'a>(snap: &'a PerpSnapshot, p: &TraderRow) -> Option<&'a VaultRow> {
    let asset = p.key.split(':').nth(1)?;
    snap.vaults
        .iter()
        .find(|v| v.asset.eq_ignore_ascii_case(asset))
}

fn position_detail(state: &AppState, snap: &PerpSnapshot, p: &TraderRow) -> Vec<Line<'static>> {
    let t = &state.theme;
    let muted = Style::new().fg(t.muted);
    let row = |name: &str, value: Span<'static>| Line::from(vec![label(t, name), value]);
    let vault = vault_of(snap, p);
    let unit = vault.map(|v| format!(" {}", v.symbol)).unwrap_or_default();
    let side = if p.is_long { "long" } else { "short" };
    let mut lines = vec![
        Line::from(Span::styled(p.key.clone(), muted)),
        row("user", Span::raw(p.user.clone())),
        row(
            "market",
            match &p.symbol {
                Some(symbol) => Span::raw(format!("{} → {symbol} on the venue", p.market)),
                None => Span::styled(
                    format!(
                        "{}: unmapped market, no venue symbol in [perp.markets]: never hedged",
                        p.market
                    ),
                    Style::new().fg(t.warn),
                ),
            },
        ),
        row(
            "side",
            Span::raw(format!(
                "{side}: a hedge {}s it (the vault is the trader's counterparty)",
                if p.is_long { "BUY" } else { "SELL" }
            )),
        ),
        row(
            "size",
            Span::raw(format!("{}{unit} · entry {}", p.size, p.entry)),
        ),
        row(
            "price",
            match &p.price {
                Some(price) => Span::raw(price.clone()),
                None => Span::styled(
                    "no price: PnL and flags unknown, never taken as safe",
                    Style::new().fg(t.warn),
                ),
            },
        ),
    ];
    lines.push(match &p.pnl {
        Some(pnl) => Line::from(vec![
            label(t, "trader PnL"),
            Span::styled(
                format!("{}{unit}", signed(pnl, p.pnl_positive)),
                pnl_style(t, pnl, p.pnl_positive, false),
            ),
            Span::styled(
                if p.pnl_positive {
                    " (the vault's loss)"
                } else {
                    " (the vault's gain)"
                },
                muted,
            ),
        ]),
        None => row("trader PnL", Span::styled("unknown", muted)),
    });
    lines.push(Line::from(""));
    if p.flags.is_empty() {
        lines.push(row(
            "flags",
            Span::styled("none set", Style::new().fg(t.ok)),
        ));
    }
    for (i, f) in p.flags.iter().enumerate() {
        let style = flag_style(t, f.kind);
        lines.push(Line::from(vec![
            label(t, if i == 0 { "flags" } else { "" }),
            Span::styled(
                format!("● {:<10}", f.kind),
                style.add_modifier(Modifier::BOLD),
            ),
            Span::styled(f.reason.clone(), style),
        ]));
    }
    if let Some(v) = vault {
        lines.push(row(
            "vault",
            Span::raw(format!(
                "{} {} · shield {} · remaining {} ({})",
                v.symbol,
                v.vault,
                v.shield,
                v.remaining,
                percent_bps(v.remaining_bps)
            )),
        ));
    }
    lines.push(Line::from(""));
    match &p.hedge {
        Some((id, state_name)) => {
            let mut spans = vec![
                label(t, "hedge"),
                Span::styled(
                    format!("#{id} {state_name}"),
                    hedge_state_style(t, state_name),
                ),
            ];
            if let Some(h) = snap.hedges.iter().find(|h| h.id == *id) {
                spans.push(Span::raw(format!(
                    " · {} {} {} · PnL {}",
                    h.side,
                    h.quantity,
                    h.symbol,
                    h.pnl
                        .as_deref()
                        .map(|x| format!("{} USDT", signed(x, h.pnl_positive)))
                        .unwrap_or_else(|| "-".into())
                )));
            }
            lines.push(Line::from(spans));
        }
        None if p.symbol.is_some() => lines.push(row(
            "hedge",
            Span::styled(
                if p.flags.is_empty() {
                    "none"
                } else {
                    "none: flagged and not hedged"
                },
                if p.flags.is_empty() {
                    muted
                } else {
                    Style::new().fg(t.warn)
                },
            ),
        )),
        None => lines.push(row("hedge", Span::styled("never (unmapped market)", muted))),
    }
    lines.push(match p.action {
        Some((id, s)) => row(
            "action",
            Span::styled(
                format!("#{id} {s} (the newest about this position)"),
                t.action_state(s),
            ),
        ),
        None => row("action", Span::styled("none", muted)),
    });
    lines
}

fn hedge_detail(state: &AppState, snap: &PerpSnapshot, h: &HedgeRow) -> Vec<Line<'static>> {
    let t = &state.theme;
    let muted = Style::new().fg(t.muted);
    let now = state.now_ms;
    let row = |name: &str, value: Span<'static>| Line::from(vec![label(t, name), value]);
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let mut lines = vec![
        row(
            "order",
            Span::raw(format!(
                "{} {} {} on {}",
                h.side, h.quantity, h.symbol, snap.venue
            )),
        ),
        row(
            "prices",
            Span::raw(format!(
                "entry {} · mark {}",
                or_dash(&h.entry),
                or_dash(&h.mark)
            )),
        ),
        match &h.pnl {
            Some(pnl) => row(
                "PnL",
                Span::styled(
                    format!("{} USDT (unrealised)", signed(pnl, h.pnl_positive)),
                    if h.pnl_positive {
                        Style::new().fg(t.ok)
                    } else {
                        Style::new().fg(t.error)
                    },
                ),
            ),
            None => row("PnL", Span::styled("-", muted)),
        },
        row(
            "since",
            Span::raw(format!(
                "{} UTC ({} ago)",
                format::date_time(h.since_ms),
                format::age(now, h.since_ms)
            )),
        ),
        Line::from(vec![
            label(t, "state"),
            Span::styled(h.state.clone(), hedge_state_style(t, &h.state)),
            Span::raw(match h.closes_in_secs {
                Some(secs) => format!(
                    ": no flag lately, it closes in {}",
                    countdown(secs.max(0) as u64)
                ),
                None => String::new(),
            }),
        ]),
    ];
    if let Some(note) = &h.note {
        lines.push(row("note", Span::raw(note.clone())));
    }
    lines.push(Line::from(""));
    match snap.positions.iter().find(|p| p.key == h.position_key) {
        Some(p) => {
            lines.push(row("position", Span::raw(trader_label(p))));
            lines.push(row("", Span::raw(trader_numbers(p))));
            let flags = if p.flags.is_empty() {
                Span::styled("none set", Style::new().fg(t.ok))
            } else {
                Span::raw(flag_labels(&p.flags))
            };
            lines.push(row("flags", flags));
        }
        None => lines.push(row(
            "position",
            Span::styled(
                "no longer on DePerp: the hedge is closed once",
                Style::new().fg(t.warn),
            ),
        )),
    }
    lines.push(Line::from(Span::styled(h.position_key.clone(), muted)));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_share_the_lines() {
        // Enough: each gets what it wants, the rest goes to the positions.
        assert_eq!(share(20, [8, 5]), [15, 5]);
        // Tight: three each first, then two position rows for each hedge row.
        assert_eq!(share(12, [8, 5]), [7, 5]);
        assert_eq!(share(9, [12, 12]), [5, 4]);
        // Tiny: the positions first.
        assert_eq!(share(4, [8, 5]), [3, 1]);
    }

    #[test]
    fn amounts_read_as_an_operator_expects() {
        // `signed`, `percent_bps` and `countdown` are tested in `format`.
        assert!(is_negative_or_zero("0.00"));
        assert!(is_negative_or_zero("-1.00"));
        assert!(!is_negative_or_zero("0.01"));
    }
}
