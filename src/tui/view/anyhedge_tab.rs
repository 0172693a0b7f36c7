//! The AnyHedge tab: the watchtower's offers (amounts, terms, deadlines), its hedge contracts
//! (funding, where the last price sits between the liquidation bounds, maturity, projected
//! payouts, redemption signatures, the newest action), the settlements, and a footer with
//! the oracles and the desk's journal. Enter opens the detail of a contract or an offer.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::table::{Columns, fitted_table, visible};
use super::widgets::{self, detail_popup, empty, journal_line, label, section};
use crate::anyhedge::pane::{
    AnyHedgeSnapshot, OfferRow, OracleRow, PositionRow, PositionState, RedemptionRow,
    SettlementRow, bch, price, short_text,
};
use crate::tui::format::{self, countdown};
use crate::tui::keymap::Command;
use crate::tui::state::{AnyHedgeFocus, AnyHedgeItem, AppState};
use crate::tui::theme::Theme;

/// Cells on each side of the start in the price gauge.
const HALF: usize = 5;
/// Most oracle and journal lines in the footer.
const MAX_ORACLES: usize = 3;
const MAX_JOURNAL: usize = 3;

pub fn render(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = &state.theme;
    let snap = &state.anyhedge;
    let title = match snap.factory {
        Some(factory) => format!(
            " AnyHedge · HedgeFactory {} on {} ",
            format::short_address(&factory.to_checksum(None)),
            snap.chain
        ),
        None => format!(" AnyHedge · no HedgeFactory on {} yet ", snap.chain),
    };
    let block = super::widgets::tab_frame(t, title)
        .title_bottom(Line::from(key_hint(state)).alignment(Alignment::Right));
    let inner = block.inner(area);
    frame.render_widget(block, area);

    let header = header_lines(state, snap);
    let header_height = (header.len() as u16).min(inner.height);
    let roomy = inner.height >= 16;
    let oracle_lines = snap.oracles.len().clamp(1, MAX_ORACLES);
    let journal_lines = snap.journal.len().min(if roomy { MAX_JOURNAL } else { 1 });
    let footer_height = (1 + oracle_lines + journal_lines) as u16;
    let footer_height = footer_height.min(inner.height.saturating_sub(header_height));
    let [header_area, body, footer_area] = Layout::vertical([
        Constraint::Length(header_height),
        Constraint::Min(0),
        Constraint::Length(footer_height),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(header), header_area);
    render_footer(frame, footer_area, state, snap);

    if snap.factory.is_none() && snap.offers.is_empty() && snap.positions.is_empty() {
        let hint = format!(
            "No HedgeFactory known on {}: run `hedgedesk devnet up` on a devnet, or set \
             [anyhedge].factory and [anyhedge].collateral to their addresses. Offers, hedge \
             contracts and settlements show here once the desk runs.",
            snap.chain
        );
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(hint, Style::new().fg(t.muted))))
                .wrap(Wrap { trim: true }),
            body,
        );
        return;
    }

    // A section is its title line, the table's header and its rows (or one line saying
    // there are none).
    let want = |rows: usize| if rows == 0 { 2 } else { rows as u16 + 2 };
    let [offers_h, contracts_h, settlements_h] = share(
        body.height,
        [
            want(snap.offers.len()),
            want(snap.positions.len()),
            want(snap.settlements.len()),
        ],
    );
    let [offers_area, contracts_area, settlements_area] = Layout::vertical([
        Constraint::Length(offers_h),
        Constraint::Length(contracts_h),
        Constraint::Length(settlements_h),
    ])
    .areas(body);
    render_offers(frame, offers_area, state, snap);
    render_contracts(frame, contracts_area, state, snap);
    render_settlements(frame, settlements_area, state, snap);
}

/// Lines for the offers, contracts and settlements sections out of `total`: each gets up
/// to three (title, header, a row) first, then contracts get two rows for every one the
/// others get, until each has what it wants; what is left goes to the contracts.
fn share(total: u16, want: [u16; 3]) -> [u16; 3] {
    widgets::share(total, want, &[1, 0, 2], &[1, 0, 1, 2])
}

fn key_hint(state: &AppState) -> Vec<Span<'static>> {
    super::key_hint::key_hint(
        state,
        true,
        &[
            (Command::AnyHedgeFund, "fund", "fund"),
            (Command::AnyHedgeRedeem, "redeem", "redeem"),
            (Command::AnyHedgeSettle, "settle", "settle"),
            (Command::AnyHedgeDetail, "detail", "detail"),
            (
                Command::AnyHedgeFocus,
                "offers/contracts",
                "offers/contracts",
            ),
        ],
    )
}

/// The API, auto settle and the last cycle; the desk's note when it is waiting.
fn header_lines(state: &AppState, snap: &AnyHedgeSnapshot) -> Vec<Line<'static>> {
    let t = &state.theme;
    let muted = Style::new().fg(t.muted);
    let sep = || Span::styled(" · ", muted);
    let mut first = match &snap.api {
        Some(listen) => vec![
            Span::raw("API on "),
            Span::styled(listen.clone(), Style::new().fg(t.accent)),
        ],
        None => vec![Span::styled("API off", muted)],
    };
    first.push(sep());
    let (auto, style) = if state.config.anyhedge.auto_settle {
        ("ON", Style::new().fg(t.ok))
    } else {
        ("OFF", Style::new().fg(t.warn))
    };
    first.push(Span::raw("auto settle "));
    first.push(Span::styled(auto, style.add_modifier(Modifier::BOLD)));
    first.push(sep());
    first.push(match snap.last_cycle_ms {
        Some(at) => Span::raw(format!("last cycle {} ago", format::age(state.now_ms, at))),
        None => Span::styled("no cycle yet", muted),
    });
    let mut lines = vec![Line::from(first)];
    if let Some(note) = &snap.note {
        lines.push(Line::from(Span::styled(
            note.clone(),
            Style::new().fg(t.warn),
        )));
    }
    lines
}

fn render_offers(frame: &mut Frame, area: Rect, state: &AppState, snap: &AnyHedgeSnapshot) {
    let t = &state.theme;
    let focused = state.anyhedge_focus == AnyHedgeFocus::Offers;
    let mut title = format!("Offers ({})", snap.offers.len());
    for status in ["pending", "accepted"] {
        let n = snap.count_offers(status);
        if n > 0 {
            title.push_str(&format!(" · {n} {status}"));
        }
    }
    let block = section(t, title, Some(focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if snap.offers.is_empty() {
        empty(frame, inner, t, "No offers yet.");
        return;
    }
    let (range, selected) = visible(
        snap.offers.len(),
        &state.anyhedge_offers_pos,
        inner.height,
        focused,
    );
    let rows = snap.offers[range]
        .iter()
        .map(|o| offer_cells(t, state.now_ms, o))
        .collect();
    const COLUMNS: Columns = Columns {
        titles: &[
            "#",
            "status",
            "side",
            "wallet",
            "amount",
            "duration",
            "liq. low/high",
            "deadline",
            "age",
        ],
        right: &[false, false, false, false, true, true, false, true, true],
        drop: &[],
        note: false,
    };
    fitted_table(frame, inner, t, &COLUMNS, rows, selected);
}

fn offer_cells(t: &Theme, now_ms: i64, o: &OfferRow) -> Vec<Line<'static>> {
    let muted = Style::new().fg(t.muted);
    let deadline = match o.settlement_deadline_ms {
        Some(at) if at > now_ms => Line::from(countdown((at - now_ms) as u64 / 1000)),
        Some(_) => Line::from(Span::styled("passed", Style::new().fg(t.warn))),
        None => Line::from(Span::styled("-", muted)),
    };
    vec![
        Line::from(format!("#{}", o.id)),
        Line::from(Span::styled(o.status.clone(), offer_style(t, &o.status))),
        Line::from(o.side.as_str()),
        Line::from(short_text(&o.wallet_hash)),
        Line::from(format!("{} BCH", bch(o.satoshis))),
        Line::from(duration(o.duration_secs)),
        Line::from(format!("×{} / ×{}", o.low_mult, o.high_mult)),
        deadline,
        Line::from(format::age(now_ms, o.created_at_ms)),
    ]
}

fn render_contracts(frame: &mut Frame, area: Rect, state: &AppState, snap: &AnyHedgeSnapshot) {
    let t = &state.theme;
    let focused = state.anyhedge_focus == AnyHedgeFocus::Contracts;
    let mut title = format!("Hedge contracts ({})", snap.positions.len());
    let needing = snap.positions_needing_funding();
    if needing > 0 {
        title.push_str(&format!(" · {needing} funding"));
    }
    for s in [PositionState::Live, PositionState::Settling] {
        let n = snap.count_positions(&s);
        if n > 0 {
            title.push_str(&format!(" · {n} {}", s.label()));
        }
    }
    title.push_str(" · gauge: ├ low  ┼ start  ┤ high  ● last");
    let block = section(t, title, Some(focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if snap.positions.is_empty() {
        empty(frame, inner, t, "No hedge contracts yet.");
        return;
    }
    let (range, selected) = visible(
        snap.positions.len(),
        &state.anyhedge_contracts_pos,
        inner.height,
        focused,
    );
    let rows = snap.positions[range]
        .iter()
        .map(|p| contract_cells(t, state.now_ms, p))
        .collect();
    const COLUMNS: Columns = Columns {
        titles: &[
            "contract",
            "state",
            "low",
            "gauge",
            "high",
            "last",
            "matures",
            "short@last",
            "long@last",
            "redemption",
            "action",
        ],
        right: &[
            false, false, true, false, false, true, true, true, true, false, false,
        ],
        drop: &[],
        note: false,
    };
    fitted_table(frame, inner, t, &COLUMNS, rows, selected);
}

fn contract_cells(t: &Theme, now_ms: i64, p: &PositionRow) -> Vec<Line<'static>> {
    let muted = Style::new().fg(t.muted);
    let dash = || Line::from(Span::styled("-", muted));
    let d = p.price_decimals;
    let drift_style = drift_style(t, p.drift_bps());
    let settled = p.state == PositionState::Settled;
    let last = match p.last_price {
        Some((last, _)) if !settled => Line::from(Span::styled(price(last, d), drift_style)),
        _ => dash(),
    };
    let matures = match p.state {
        PositionState::Settled => dash(),
        _ if p.maturity_ms > now_ms => {
            Line::from(countdown((p.maturity_ms - now_ms) as u64 / 1000))
        }
        PositionState::Live => Line::from(Span::styled("matured", Style::new().fg(t.warn))),
        _ => Line::from("matured"),
    };
    let (short, long) = match p.projected {
        Some((short, long)) if !settled => (Line::from(bch(short)), Line::from(bch(long))),
        _ => (dash(), dash()),
    };
    let action = match p.action {
        Some((id, s)) => Line::from(Span::styled(format!("#{id} {s}"), t.action_state(s))),
        None => dash(),
    };
    vec![
        Line::from(format::short_address(&p.address.to_checksum(None))),
        Line::from(Span::styled(p.state.label(), position_style(t, &p.state))),
        Line::from(price(p.low_price, d)),
        gauge(t, p),
        Line::from(price(p.high_price, d)),
        last,
        matures,
        short,
        long,
        redemption_cell(t, p.redemption.as_ref()),
        action,
    ]
}

/// `├────┼──●─┤`: the start in the middle, low and high at the ends, each half scaled to
/// its own side, so a price near a liquidation bound sits near that end. `◀`/`▶` when a
/// bound is crossed; no marker before the first price or once settled.
fn gauge(t: &Theme, p: &PositionRow) -> Line<'static> {
    let muted = Style::new().fg(t.muted);
    let mut cells: Vec<char> = std::iter::once('├')
        .chain(std::iter::repeat_n('─', HALF * 2 - 1))
        .chain(std::iter::once('┤'))
        .collect();
    cells[HALF] = '┼';
    // A settled contract's last price no longer moves anything.
    let drift = p.drift_bps().filter(|_| p.state != PositionState::Settled);
    let Some(drift) = drift else {
        return Line::from(Span::styled(cells.into_iter().collect::<String>(), muted));
    };
    let (at, mark) = gauge_mark(drift);
    let before: String = cells[..at].iter().collect();
    let after: String = cells[at + 1..].iter().collect();
    Line::from(vec![
        Span::styled(before, muted),
        Span::styled(
            mark.to_string(),
            drift_style(t, Some(drift)).add_modifier(Modifier::BOLD),
        ),
        Span::styled(after, muted),
    ])
}

/// The gauge cell and marker for a drift in basis points (see [`PositionRow::drift_bps`]).
fn gauge_mark(drift: i64) -> (usize, char) {
    let half = HALF as i64;
    if drift < -10_000 {
        return (0, '◀');
    }
    if drift > 10_000 {
        return (HALF * 2, '▶');
    }
    let cells = (drift.abs() * half * 2 + 10_000) / 20_000;
    let at = if drift < 0 {
        half - cells
    } else {
        half + cells
    };
    (at.clamp(0, half * 2) as usize, '●')
}

fn redemption_cell(t: &Theme, r: Option<&RedemptionRow>) -> Line<'static> {
    let Some(r) = r else {
        return Line::from(Span::styled("-", Style::new().fg(t.muted)));
    };
    let mark = |signed: bool| {
        if signed {
            Span::styled("✓", Style::new().fg(t.ok))
        } else {
            Span::styled("✗", Style::new().fg(t.warn))
        }
    };
    let kind = match r.kind.as_str() {
        "early_maturation" => "early",
        other => other,
    };
    Line::from(vec![
        Span::raw(format!("{kind} S")),
        mark(r.short_signed),
        Span::raw(" L"),
        mark(r.long_signed),
    ])
}

fn render_settlements(frame: &mut Frame, area: Rect, state: &AppState, snap: &AnyHedgeSnapshot) {
    let t = &state.theme;
    let block = section(t, format!("Settlements ({})", snap.settlements.len()), None);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if snap.settlements.is_empty() {
        empty(frame, inner, t, "No settlements yet.");
        return;
    }
    // Newest first and not selectable: the first rows that fit.
    let shown = (inner.height.saturating_sub(1) as usize).min(snap.settlements.len());
    let rows = snap.settlements[..shown]
        .iter()
        .map(|s| settlement_cells(t, state.now_ms, snap, s))
        .collect();
    const COLUMNS: Columns = Columns {
        titles: &[
            "contract",
            "kind",
            "price",
            "short got",
            "long got",
            "tx",
            "age",
        ],
        right: &[false, false, true, true, true, false, true],
        drop: &[],
        note: false,
    };
    fitted_table(frame, inner, t, &COLUMNS, rows, None);
}

fn settlement_cells(
    t: &Theme,
    now_ms: i64,
    snap: &AnyHedgeSnapshot,
    s: &SettlementRow,
) -> Vec<Line<'static>> {
    let muted = Style::new().fg(t.muted);
    let kind_style = match s.kind.as_str() {
        "liquidation" => Style::new().fg(t.warn),
        "mutual_redemption" => Style::new().fg(t.accent),
        _ => Style::new(),
    };
    let at_price = match (s.price, snap.price_decimals_of(s.address)) {
        (Some(p), Some(d)) => Line::from(price(p, d)),
        (Some(p), None) => Line::from(p.to_string()),
        (None, _) => Line::from(Span::styled("-", muted)),
    };
    vec![
        Line::from(format::short_address(&s.address.to_checksum(None))),
        Line::from(Span::styled(s.kind.clone(), kind_style)),
        at_price,
        Line::from(bch(s.short_sats)),
        Line::from(bch(s.long_sats)),
        Line::from(
            s.tx_hash
                .as_deref()
                .map(format::short_address)
                .unwrap_or_else(|| "-".into()),
        ),
        Line::from(format::age(now_ms, s.at_ms)),
    ]
}

/// The oracles (price, age, messages, last poll) and the newest journal lines.
fn render_footer(frame: &mut Frame, area: Rect, state: &AppState, snap: &AnyHedgeSnapshot) {
    if area.height == 0 {
        return;
    }
    let t = &state.theme;
    let muted = Style::new().fg(t.muted);
    let title = match snap.journal.len() {
        0 => "Oracles · journal: nothing went wrong".to_string(),
        n => format!("Oracles · journal ({n}, newest first)"),
    };
    let block = section(t, title, None);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let mut lines: Vec<Line<'static>> = Vec::new();
    if snap.oracles.is_empty() {
        lines.push(Line::from(Span::styled(
            "No oracles: list them under [[anyhedge.oracles]].",
            muted,
        )));
    }
    for o in snap.oracles.iter().take(MAX_ORACLES) {
        lines.push(oracle_line(t, state.now_ms, o, width));
    }
    let journal_room = (inner.height as usize).saturating_sub(lines.len());
    for j in snap.journal.iter().take(journal_room) {
        lines.push(journal_line(t, j, width));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn oracle_line(t: &Theme, now_ms: i64, o: &OracleRow, width: usize) -> Line<'static> {
    let muted = Style::new().fg(t.muted);
    let mut spans = vec![
        Span::styled(
            format!("{:<8} ", o.asset_name),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!("{} ", short_text(&o.pubkey)), muted),
    ];
    match o.last_price {
        Some((p, at)) => {
            spans.push(Span::raw(price(p, o.price_decimals)));
            spans.push(Span::styled(
                format!(" {} ago", format::age(now_ms, at)),
                muted,
            ));
        }
        None => spans.push(Span::styled("no price yet", muted)),
    }
    spans.push(Span::styled(
        format!(
            " · {} messages · last poll ",
            format::group_digits(&o.messages.to_string())
        ),
        muted,
    ));
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let room = width.saturating_sub(used);
    spans.push(match &o.last_poll {
        Some(poll) if poll.starts_with("failed") => {
            Span::styled(format::truncate(poll, room), Style::new().fg(t.error))
        }
        Some(poll) => Span::raw(format::truncate(poll, room)),
        None => Span::styled("not yet", muted),
    });
    Line::from(spans)
}

/// The overlay Enter opens: every term of a contract or an offer.
pub fn render_detail(frame: &mut Frame, area: Rect, state: &AppState, item: AnyHedgeItem) {
    let t = &state.theme;
    let snap = &state.anyhedge;
    let (title, lines) = match item {
        AnyHedgeItem::Contract(address) => match snap.position(address) {
            Some(p) => (
                format!(
                    " Contract {} · {} ",
                    format::short_address(&address.to_checksum(None)),
                    p.state.label()
                ),
                contract_detail(state, snap, p),
            ),
            None => (
                " Contract ".to_string(),
                vec![Line::from(Span::styled(
                    format!(
                        "{} is no longer in the desk's pane.",
                        address.to_checksum(None)
                    ),
                    Style::new().fg(t.muted),
                ))],
            ),
        },
        AnyHedgeItem::Offer(id) => match snap.offers.iter().find(|o| o.id == id) {
            Some(o) => (
                format!(" Offer #{id} · {} ", o.status),
                offer_detail(state, snap, o),
            ),
            None => (
                format!(" Offer #{id} "),
                vec![Line::from(Span::styled(
                    "no longer in the desk's pane.",
                    Style::new().fg(t.muted),
                ))],
            ),
        },
    };
    detail_popup(frame, area, state, title, lines);
}

fn contract_detail(
    state: &AppState,
    snap: &AnyHedgeSnapshot,
    p: &PositionRow,
) -> Vec<Line<'static>> {
    let t = &state.theme;
    let muted = Style::new().fg(t.muted);
    let d = p.price_decimals;
    let now = state.now_ms;
    let row = |name: &str, value: Span<'static>| Line::from(vec![label(t, name), value]);
    let mut lines = vec![row("address", Span::raw(p.address.to_checksum(None)))];

    let mut status = vec![
        label(t, "state"),
        Span::styled(p.state.label(), position_style(t, &p.state)),
    ];
    status.push(Span::raw(match &p.state {
        PositionState::AwaitingFunding { short, long } => format!(
            ": short proposal {}, long proposal {}",
            if *short { "in" } else { "missing" },
            if *long { "in" } else { "missing" }
        ),
        PositionState::Funding => {
            ": both funding proposals in; the funding is proposed or on its way".into()
        }
        PositionState::Live => ": funded on chain".into(),
        PositionState::Settling => ": a settlement or redemption is on its way".into(),
        PositionState::Settled => String::new(),
    }));
    lines.push(Line::from(status));
    lines.push(match p.action {
        Some((id, s)) => row(
            "action",
            Span::styled(
                format!("#{id} {s} (the newest about this contract)"),
                t.action_state(s),
            ),
        ),
        None => row("action", Span::styled("none yet", muted)),
    });
    lines.push(Line::from(""));

    lines.push(row(
        "short",
        Span::raw(format!(
            "{} · in {} BCH",
            p.short_wallet,
            bch(p.short_input_sats)
        )),
    ));
    lines.push(row(
        "long",
        Span::raw(format!(
            "{} · in {} BCH",
            p.long_wallet,
            bch(p.long_input_sats)
        )),
    ));
    lines.push(row(
        "payout",
        Span::raw(format!(
            "{} BCH in total, shared at settlement",
            bch(p.payout_sats)
        )),
    ));
    let oracle = snap.oracle(&p.oracle_pubkey);
    lines.push(row(
        "oracle",
        Span::raw(format!(
            "{} · {} ({d} decimals)",
            oracle
                .map(|o| o.asset_name.as_str())
                .unwrap_or("unknown asset"),
            p.oracle_pubkey
        )),
    ));
    lines.push(Line::from(""));

    lines.push(row(
        "start",
        Span::raw(format!(
            "{} UTC at {}",
            format::date_time(p.start_ms),
            price(p.start_price, d)
        )),
    ));
    let maturity = if p.maturity_ms > now {
        format!(
            "{} UTC (in {})",
            format::date_time(p.maturity_ms),
            countdown((p.maturity_ms - now) as u64 / 1000)
        )
    } else {
        format!("{} UTC (passed)", format::date_time(p.maturity_ms))
    };
    lines.push(row("maturity", Span::raw(maturity)));
    let mut range = vec![
        label(t, "range"),
        Span::raw(format!("low {} ", price(p.low_price, d))),
    ];
    range.extend(gauge(t, p).spans);
    range.push(Span::raw(format!(" {} high", price(p.high_price, d))));
    lines.push(Line::from(range));
    lines.push(match p.last_price {
        Some((last, at)) => {
            let drift = p.drift_bps();
            let mut spans = vec![
                label(t, "last price"),
                Span::styled(price(last, d), drift_style(t, drift)),
                Span::styled(format!(" ({} ago)", format::age(now, at)), muted),
            ];
            if let Some(drift) = drift {
                spans.push(Span::raw(format!(" · {}", drift_text(drift))));
            }
            Line::from(spans)
        }
        None => row("last price", Span::styled("no oracle message yet", muted)),
    });
    lines.push(match p.projected {
        Some((short, long)) => row(
            "at last",
            Span::raw(format!(
                "short gets {} BCH · long gets {} BCH",
                bch(short),
                bch(long)
            )),
        ),
        None => row(
            "at last",
            Span::styled("unknown until a price arrives", muted),
        ),
    });
    lines.push(Line::from(""));

    match &p.redemption {
        None => lines.push(row(
            "redemption",
            Span::styled("no mutual redemption proposed", muted),
        )),
        Some(r) => {
            lines.push(row(
                "redemption",
                Span::raw(format!(
                    "{}: short gets {} BCH, long gets {} BCH",
                    r.kind,
                    bch(r.short_sats),
                    bch(r.long_sats)
                )),
            ));
            let signed = |side: &str, yes: bool| {
                if yes {
                    Span::styled(format!("{side} signed"), Style::new().fg(t.ok))
                } else {
                    Span::styled(format!("{side} not signed yet"), Style::new().fg(t.warn))
                }
            };
            lines.push(Line::from(vec![
                label(t, "signatures"),
                signed("short", r.short_signed),
                Span::raw(" · "),
                signed("long", r.long_signed),
            ]));
        }
    }
    if let Some(s) = snap.settlements.iter().find(|s| s.address == p.address) {
        let at_price = s
            .price
            .map(|x| format!(" at {}", price(x, d)))
            .unwrap_or_default();
        lines.push(row(
            "settled",
            Span::raw(format!(
                "{}{at_price}, {} UTC: short got {} BCH, long got {} BCH",
                s.kind,
                format::date_time(s.at_ms),
                bch(s.short_sats),
                bch(s.long_sats)
            )),
        ));
        if let Some(tx) = &s.tx_hash {
            lines.push(row("tx", Span::raw(tx.clone())));
        }
    }
    lines
}

fn offer_detail(state: &AppState, snap: &AnyHedgeSnapshot, o: &OfferRow) -> Vec<Line<'static>> {
    let t = &state.theme;
    let muted = Style::new().fg(t.muted);
    let now = state.now_ms;
    let row = |name: &str, value: Span<'static>| Line::from(vec![label(t, name), value]);
    let mut lines = vec![
        Line::from(vec![
            label(t, "offer"),
            Span::raw(format!("#{} · ", o.id)),
            Span::styled(o.status.clone(), offer_style(t, &o.status)),
            Span::raw(format!(
                " · takes the {} side{}",
                o.side.as_str(),
                if o.side.as_str() == "short" {
                    " (the hedge)"
                } else {
                    ""
                }
            )),
        ]),
        row("wallet", Span::raw(o.wallet_hash.clone())),
        row(
            "amount",
            Span::raw(format!(
                "{} BCH ({} sats) from the offerer",
                bch(o.satoshis),
                format::group_digits(&o.satoshis.to_string())
            )),
        ),
        row(
            "duration",
            Span::raw(format!(
                "{} ({} s)",
                duration(o.duration_secs),
                format::group_digits(&o.duration_secs.to_string())
            )),
        ),
        row(
            "liquidation",
            Span::raw(format!(
                "low ×{} · high ×{} of the start price",
                o.low_mult, o.high_mult
            )),
        ),
    ];
    let oracle = snap.oracle(&o.oracle_pubkey);
    lines.push(row(
        "oracle",
        Span::raw(format!(
            "{} · {}",
            oracle
                .map(|x| x.asset_name.as_str())
                .unwrap_or("unknown asset"),
            o.oracle_pubkey
        )),
    ));
    if let Some(x) = oracle
        && let Some((last, at)) = x.last_price
    {
        lines.push(row(
            "last price",
            Span::raw(format!(
                "{} ({} ago)",
                price(last, x.price_decimals),
                format::age(now, at)
            )),
        ));
    }
    lines.push(row(
        "created",
        Span::raw(format!(
            "{} UTC ({} ago)",
            format::date_time(o.created_at_ms),
            format::age(now, o.created_at_ms)
        )),
    ));
    lines.push(match o.settlement_deadline_ms {
        Some(at) if at > now => row(
            "deadline",
            Span::raw(format!(
                "{} UTC (in {}): accepted, it returns to pending unless settled by then",
                format::clock(at),
                countdown((at - now) as u64 / 1000)
            )),
        ),
        Some(at) => row(
            "deadline",
            Span::styled(
                format!("{} UTC passed: it returns to pending", format::clock(at)),
                Style::new().fg(t.warn),
            ),
        ),
        None => row("deadline", Span::styled("none (not accepted)", muted)),
    });
    lines
}

fn drift_text(drift: i64) -> String {
    let pct = |bps: i64| format!("{}.{}%", bps / 100, bps % 100 / 10);
    match drift {
        0 => "at the start price".into(),
        d if d <= -10_000 => "at or below low: liquidatable".into(),
        d if d >= 10_000 => "at or above high: liquidatable".into(),
        d if d < 0 => format!("{} of the way from start to low", pct(-d)),
        d => format!("{} of the way from start to high", pct(d)),
    }
}

fn drift_style(t: &Theme, drift: Option<i64>) -> Style {
    match drift.map(i64::abs) {
        Some(d) if d >= 7_500 => Style::new().fg(t.error),
        Some(d) if d >= 5_000 => Style::new().fg(t.warn),
        Some(_) => Style::new().fg(t.ok),
        None => Style::new().fg(t.muted),
    }
}

fn position_style(t: &Theme, s: &PositionState) -> Style {
    match s {
        PositionState::AwaitingFunding { .. } => Style::new().fg(t.warn),
        PositionState::Funding => Style::new().fg(t.accent),
        PositionState::Live => Style::new().fg(t.ok),
        PositionState::Settling => Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
        PositionState::Settled => Style::new().fg(t.muted),
    }
}

fn offer_style(t: &Theme, status: &str) -> Style {
    match status {
        "accepted" => Style::new().fg(t.accent),
        "settled" => Style::new().fg(t.ok),
        "cancelled" => Style::new().fg(t.muted),
        _ => Style::new(),
    }
}

/// A duration as an operator says it: `30d`, `1d 12h`, `6h`, `2h 30m`, `45m`, `90s`.
fn duration(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) if secs.is_multiple_of(60) => format!("{m}m"),
        (0, 0, _) => format!("{secs}s"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gauge_puts_the_last_price_between_its_bounds() {
        assert_eq!(gauge_mark(0), (5, '●'));
        assert_eq!(gauge_mark(999), (5, '●'));
        assert_eq!(gauge_mark(1_000), (6, '●'));
        assert_eq!(gauge_mark(-1_000), (4, '●'));
        assert_eq!(gauge_mark(-10_000), (0, '●'));
        assert_eq!(gauge_mark(-9_000), (0, '●'));
        assert_eq!(gauge_mark(-7_999), (1, '●'));
        assert_eq!(gauge_mark(10_000), (10, '●'));
        assert_eq!(gauge_mark(-10_001), (0, '◀'));
        assert_eq!(gauge_mark(12_000), (10, '▶'));
    }

    #[test]
    fn sections_share_the_lines() {
        // Enough for everything: each gets what it wants, the rest goes to the contracts.
        assert_eq!(share(30, [5, 8, 4]), [5, 21, 4]);
        // Tight: three lines each first, then two contract rows for each other one.
        assert_eq!(share(12, [6, 9, 6]), [4, 5, 3]);
        assert_eq!(share(16, [6, 9, 6]), [5, 7, 4]);
        // Tiny: the contracts first.
        assert_eq!(share(4, [6, 9, 6]), [1, 3, 0]);
        assert_eq!(share(7, [2, 9, 2]), [2, 3, 2]);
    }

    #[test]
    fn durations_and_countdowns() {
        assert_eq!(duration(30 * 86_400), "30d");
        assert_eq!(duration(86_400 + 12 * 3_600), "1d 12h");
        assert_eq!(duration(6 * 3_600), "6h");
        assert_eq!(duration(2 * 3_600 + 30 * 60), "2h 30m");
        assert_eq!(duration(45 * 60), "45m");
        assert_eq!(duration(90), "90s");
        assert_eq!(countdown(6 * 86_400 + 4 * 3_600 + 5), "6d 4h");
        assert_eq!(countdown(3 * 3_600 + 12 * 60), "3h 12m");
        assert_eq!(countdown(4 * 60 + 5), "4m 05s");
        assert_eq!(countdown(42), "42s");
        assert_eq!(format::truncate("relay poll failed", 10), "relay pol…");
    }
}
