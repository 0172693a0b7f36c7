//! The Pool tab's upper sections: the totals per token (the Vault against the books, a
//! locked gauge, the mismatch alerts) and the tiers with their utilisation gauges.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{LineGauge, Paragraph};

use super::super::table::{Columns, fitted_table};
use super::super::widgets::{bar, empty, section};
use crate::pool::pane::{PoolSnapshot, TierRow, TokenRow};
use crate::tui::format::{self, percent_bps};
use crate::tui::theme::Theme;

/// The narrowest locked gauge worth drawing next to a token's numbers.
const MIN_GAUGE: usize = 18;
/// The utilisation bar's width in the tiers' table.
const TIER_BAR: usize = 10;

/// How full something is: ok below 75%, warn below 90%, error from there.
pub(super) fn fill_style(t: &Theme, bps: u32) -> Style {
    match bps {
        0..7_500 => Style::new().fg(t.ok),
        7_500..9_000 => Style::new().fg(t.warn),
        _ => Style::new().fg(t.error),
    }
}

/// The totals section's lines: its title, a line per token (one saying there are none),
/// and an alert line per mismatch.
pub(super) fn totals_height(snap: &PoolSnapshot) -> u16 {
    let mismatches = snap.tokens.iter().filter(|r| r.mismatch.is_some()).count();
    1 + snap.tokens.len().max(1) as u16 + mismatches as u16
}

pub(super) fn render_totals(frame: &mut Frame, area: Rect, t: &Theme, snap: &PoolSnapshot) {
    let mismatches = snap.tokens.iter().filter(|r| r.mismatch.is_some()).count();
    let mut title = format!(
        "Pool totals per token ({}): Vault / books",
        snap.tokens.len()
    );
    match mismatches {
        0 if !snap.tokens.is_empty() => title.push_str(" · in agreement"),
        0 => {}
        1 => title.push_str(" · 1 mismatch"),
        n => title.push_str(&format!(" · {n} mismatches")),
    }
    let block = section(t, title, None);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if snap.tokens.is_empty() {
        empty(frame, inner, t, "No token totals read from the Vault yet.");
        return;
    }
    let widths = column_widths(&snap.tokens);
    let mut at = (inner.y..inner.y + inner.height).map(|y| Rect::new(inner.x, y, inner.width, 1));
    for row in &snap.tokens {
        let Some(line) = at.next() else { return };
        render_token(frame, line, t, row, &widths);
        if let Some(why) = &row.mismatch {
            let Some(line) = at.next() else { return };
            let head = format!("  ✕ {} ", row.token);
            let room = (line.width as usize).saturating_sub(head.chars().count());
            let style = Style::new().fg(t.error);
            frame.render_widget(
                Line::from(vec![
                    Span::styled(head, style.add_modifier(Modifier::BOLD)),
                    Span::styled(format::truncate(why, room), style),
                ]),
                line,
            );
        }
    }
}

/// The widest token, Vault total, Vault locked, books total, books locked and available,
/// so the tokens' numbers line up.
fn column_widths(rows: &[TokenRow]) -> [usize; 6] {
    let mut w = [0usize; 6];
    for r in rows {
        let cells = [
            &r.token,
            &r.onchain_total,
            &r.onchain_locked,
            &r.books_total,
            &r.books_locked,
            &r.available,
        ];
        for (w, c) in w.iter_mut().zip(cells) {
            *w = (*w).max(c.chars().count());
        }
    }
    w
}

/// `ETH   Vault 1,250.00 locked 320.00 · books 1,250.00 locked 320.00 · available 930.00`
/// and the locked gauge; without the locked amounts when that does not leave room.
fn render_token(frame: &mut Frame, area: Rect, t: &Theme, r: &TokenRow, w: &[usize; 6]) {
    let muted = Style::new().fg(t.muted);
    let books = if r.mismatch.is_some() {
        Style::new().fg(t.error).add_modifier(Modifier::BOLD)
    } else {
        Style::new()
    };
    let num = |s: &str, width: usize, style: Style| Span::styled(format!("{s:>width$}"), style);
    let full = vec![
        Span::styled(
            format!("{:<width$}  ", r.token, width = w[0]),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::styled("Vault ", muted),
        num(&r.onchain_total, w[1], Style::new()),
        Span::styled(" locked ", muted),
        num(&r.onchain_locked, w[2], Style::new()),
        Span::styled(" · books ", muted),
        num(&r.books_total, w[3], books),
        Span::styled(" locked ", muted),
        num(&r.books_locked, w[4], books),
        Span::styled(" · available ", muted),
        num(&r.available, w[5], Style::new()),
    ];
    let short = vec![
        full[0].clone(),
        full[1].clone(),
        full[2].clone(),
        full[5].clone(),
        full[6].clone(),
        Span::styled(" · avail ", muted),
        full[10].clone(),
    ];
    let room = area.width as usize;
    let fits = |spans: &[Span]| Line::from(spans.to_vec()).width() + 2 + MIN_GAUGE <= room;
    let text = if fits(&full) { full } else { short };
    let text_w = (Line::from(text.clone()).width() + 2).min(room) as u16;
    let [left, right] =
        Layout::horizontal([Constraint::Length(text_w), Constraint::Fill(1)]).areas(area);
    frame.render_widget(Paragraph::new(Line::from(text)), left);
    if right.width as usize >= MIN_GAUGE {
        let style = fill_style(t, r.locked_bps);
        frame.render_widget(
            LineGauge::default()
                .ratio(f64::from(r.locked_bps.min(10_000)) / 10_000.0)
                .label(Line::from(vec![
                    Span::styled("locked ", muted),
                    Span::styled(percent_bps(r.locked_bps), style),
                ]))
                .filled_symbol(symbols::line::THICK_HORIZONTAL)
                .unfilled_symbol(symbols::line::HORIZONTAL)
                .filled_style(style)
                .unfilled_style(muted),
            right,
        );
    }
}

/// The tiers' table with a utilisation gauge each; with room for its title only, the
/// title carries every tier's utilisation.
pub(super) fn render_tiers(frame: &mut Frame, area: Rect, t: &Theme, snap: &PoolSnapshot) {
    let mut title = format!("Tiers ({})", snap.tiers.len());
    let condensed = area.height == 1 && !snap.tiers.is_empty();
    if condensed {
        title.push_str(" · utilisation");
        for tier in &snap.tiers {
            title.push_str(&format!(
                " {} {}",
                tier.name,
                percent_bps(tier.utilisation_bps)
            ));
        }
    }
    let block = section(t, title, None);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if snap.tiers.is_empty() {
        empty(frame, inner, t, "No tiers configured.");
        return;
    }
    let rows = snap.tiers.iter().map(|tier| tier_cells(t, tier)).collect();
    const COLUMNS: Columns = Columns {
        titles: &[
            "tier",
            "collateral ratio",
            "utilisation",
            "capital",
            "locked",
            "capacity limit",
            "yield",
            "providers",
            "policies",
        ],
        right: &[false, true, false, true, true, true, true, true, true],
        drop: &[5, 6, 1, 4],
        note: false,
    };
    fitted_table(frame, inner, t, &COLUMNS, rows, None);
}

fn tier_cells(t: &Theme, tier: &TierRow) -> Vec<Line<'static>> {
    let style = fill_style(t, tier.utilisation_bps);
    let mut gauge = bar(tier.utilisation_bps, 10_000, TIER_BAR, style, t);
    gauge.push(Span::styled(
        format!(" {:>7}", percent_bps(tier.utilisation_bps)),
        style,
    ));
    vec![
        Line::from(Span::styled(
            tier.name.clone(),
            Style::new().add_modifier(Modifier::BOLD),
        )),
        Line::from(tier.collateral_ratio.clone()),
        Line::from(gauge),
        Line::from(tier.capital.clone()),
        Line::from(tier.locked.clone()),
        Line::from(tier.capacity_limit.clone()),
        Line::from(tier.yield_earned.clone()),
        Line::from(tier.providers.to_string()),
        Line::from(tier.active_policies.to_string()),
    ]
}
