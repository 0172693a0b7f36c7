//! The Pool tab (BitHedge liquidity pool): the Vault and the prices the health monitor
//! used, the pool's totals per token against the providers' books (with the mismatch
//! alert), the tiers' utilisation, the providers with their balances, collateral ratio and
//! health, the policies near expiry or in the money, the pending withdrawals, and the desk's
//! journal. Enter opens a provider's or a policy's detail.

mod detail;
mod sections;
mod tables;

pub use detail::render_detail;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{desk_tab, widgets};
use crate::desks::Desk;
use crate::pool::pane::{PoolSnapshot, PriceLine};
use crate::tui::format;
use crate::tui::keymap::Command;
use crate::tui::state::{AppState, PoolFocus};
use crate::tui::theme::Theme;

/// Most journal lines in the footer (one when the screen is short).
const MAX_JOURNAL: usize = 5;
/// Below this many lines inside the tab, the journal keeps one line.
const ROOMY: u16 = 24;
/// Below this width, words get shorter.
const WIDE: u16 = 100;
/// A sync older than this is drawn in the warn colour.
const STALE_SYNC_MS: i64 = 30_000;

pub fn render(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = &state.theme;
    let snap = &state.pool;
    let block =
        super::widgets::tab_frame(t, format!(" Pool desk · LiquidityVault on {} ", snap.chain))
            .title_bottom(Line::from(key_hint(state, area.width)).alignment(Alignment::Right));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }

    let header = header_lines(state, snap, inner.width);
    let header_height = (header.len() as u16).min(inner.height);
    let journal_lines = snap.journal.len().min(if inner.height >= ROOMY {
        MAX_JOURNAL
    } else {
        1
    });
    let footer_height =
        ((1 + journal_lines) as u16).min(inner.height.saturating_sub(header_height));
    let [header_area, body, footer_area] = Layout::vertical([
        Constraint::Length(header_height),
        Constraint::Min(0),
        Constraint::Length(footer_height),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(header), header_area);
    widgets::journal_footer(frame, footer_area, t, &snap.journal);

    let idle = snap.block.is_none()
        && snap.tokens.is_empty()
        && snap.providers.is_empty()
        && snap.policies.is_empty();
    if idle {
        render_idle(frame, body, state);
        return;
    }

    // The totals always (they carry the mismatch alerts); every other section its title;
    // then the focused table, the tiers, and the other tables in turn.
    let totals_h = sections::totals_height(snap).min(body.height);
    let wants = [
        want(snap.tiers.len()),
        want(snap.providers.len()),
        want(snap.policies.len()),
        want(snap.withdrawals.len()),
    ];
    let focused = match state.pool_focus {
        PoolFocus::Providers => 1,
        PoolFocus::Policies => 2,
        PoolFocus::Withdrawals => 3,
    };
    let [tiers_h, providers_h, policies_h, withdrawals_h] =
        share(body.height - totals_h, wants, focused);
    let [totals, tiers, providers, policies, withdrawals, _] = Layout::vertical([
        Constraint::Length(totals_h),
        Constraint::Length(tiers_h),
        Constraint::Length(providers_h),
        Constraint::Length(policies_h),
        Constraint::Length(withdrawals_h),
        Constraint::Min(0),
    ])
    .areas(body);
    sections::render_totals(frame, totals, t, snap);
    sections::render_tiers(frame, tiers, t, snap);
    tables::render_providers(frame, providers, state);
    tables::render_policies(frame, policies, state);
    tables::render_withdrawals(frame, withdrawals, state);
}

/// The lines a table section would like: its title, the header and its rows (the title
/// and one line saying it is empty when it is).
fn want(rows: usize) -> u16 {
    if rows == 0 { 2 } else { rows as u16 + 2 }
}

/// Lines for the tiers, providers, policies and withdrawals sections out of `total`.
/// Each gets its title first (the titles carry the counts, the tiers' their utilisation),
/// then the `focused` table what it wants, then the tiers all they want or nothing more,
/// then the other tables a header and a row, and a row each in turn. What is left stays
/// below the tables.
fn share(total: u16, want: [u16; 4], focused: usize) -> [u16; 4] {
    let mut got = [0u16; 4];
    let mut left = total;
    let give = |got: &mut [u16; 4], left: &mut u16, i: usize, n: u16| {
        let n = n.min(want[i] - got[i]).min(*left);
        got[i] += n;
        *left -= n;
    };
    for i in [focused, 0, 1, 2, 3] {
        if got[i] == 0 {
            give(&mut got, &mut left, i, 1);
        }
    }
    give(&mut got, &mut left, focused, u16::MAX);
    if want[0] - got[0] <= left {
        give(&mut got, &mut left, 0, u16::MAX);
    }
    let others: Vec<usize> = (1..4).filter(|&i| i != focused).collect();
    for &i in &others {
        // A header and a row together (an empty table's one line), or nothing.
        let n = (want[i] - got[i]).min(2);
        if left >= n {
            give(&mut got, &mut left, i, n);
        }
    }
    while left > 0 {
        let before = left;
        for &i in &others {
            if got[i] >= 3 {
                give(&mut got, &mut left, i, 1);
            }
        }
        if left == before {
            break;
        }
    }
    got
}

/// Before the desk's first sync: what will show here, and the pool's action policies.
fn render_idle(frame: &mut Frame, area: Rect, state: &AppState) {
    let muted = Style::new().fg(state.theme.muted);
    let hint = format!(
        "Nothing synced from the LiquidityVault on {} yet. The pool's totals per token \
         against the providers' books, the tiers, the providers with their collateral \
         health, the policies near expiry or in the money and the pending withdrawals show \
         here once the desk runs; the Actions tab (6) lists what waits for approval.",
        state.pool.chain
    );
    let hint = vec![Line::from(Span::styled(hint, muted))];
    let hint_h = (widgets::wrapped_height(&hint, area.width) + 1).min(area.height);
    let hint = Paragraph::new(hint).wrap(Wrap { trim: true });
    let [top, policies] =
        Layout::vertical([Constraint::Length(hint_h), Constraint::Min(0)]).areas(area);
    frame.render_widget(hint, top);
    frame.render_widget(
        Paragraph::new(desk_tab::policy_lines(state, Desk::Pool)),
        policies,
    );
}

/// The keys, shorter on a narrow screen.
fn key_hint(state: &AppState, width: u16) -> Vec<Span<'static>> {
    super::key_hint::key_hint(
        state,
        width >= WIDE,
        &[
            (Command::PoolWithdraw, "approve withdrawal", "withdraw"),
            (Command::PoolSettle, "settle", "settle"),
            (Command::PoolExpire, "expire", "expire"),
            (Command::PoolDetail, "detail", "detail"),
            (
                Command::PoolFocus,
                "providers/policies/withdrawals",
                "focus",
            ),
        ],
    )
}

/// The Vault and the last sync, then the prices with their ages (on the same line when
/// both fit), then the desk's note.
fn header_lines(state: &AppState, snap: &PoolSnapshot, width: u16) -> Vec<Line<'static>> {
    let t = &state.theme;
    let muted = Style::new().fg(t.muted);
    let sep = || Span::styled(" · ", muted);
    let vault = |address: String| match &snap.vault {
        Some(_) => vec![
            Span::raw("Vault "),
            Span::styled(address, Style::new().fg(t.accent)),
        ],
        None => vec![Span::styled("no Vault found yet", Style::new().fg(t.warn))],
    };
    let sync = match (snap.block, snap.synced_at_ms) {
        (Some(block), Some(at)) => Span::styled(
            format!(
                "synced block {} {} ago",
                format::group_digits(&block.to_string()),
                format::age(state.now_ms, at)
            ),
            if state.now_ms - at > STALE_SYNC_MS {
                Style::new().fg(t.warn)
            } else {
                Style::new()
            },
        ),
        (Some(block), None) => Span::raw(format!(
            "synced block {}",
            format::group_digits(&block.to_string())
        )),
        (None, _) => Span::styled("no sync yet", muted),
    };
    let full = snap.vault.clone().unwrap_or_default();
    let mut first = vault(full);
    first.extend([sep(), sync.clone()]);
    if Line::from(first.clone()).width() > width as usize {
        first = vault(format::short_address(
            snap.vault.as_deref().unwrap_or_default(),
        ));
        first.extend([sep(), sync]);
    }
    let prices = price_spans(t, &snap.prices);
    let together = Line::from(first.clone()).width() + 3 + Line::from(prices.clone()).width();
    let mut lines = if together <= width as usize {
        first.push(sep());
        first.extend(prices);
        vec![Line::from(first)]
    } else {
        vec![Line::from(first), Line::from(prices)]
    };
    if let Some(note) = &snap.note {
        lines.push(Line::from(Span::styled(
            note.clone(),
            Style::new().fg(t.warn),
        )));
    }
    lines
}

/// `prices BTC/USD 97,012.55 (4s) · ETH/USD 3,047.68 (6m, stale)`: stale or missing
/// prices in the warn colour (health is unknown with them).
fn price_spans(t: &Theme, prices: &[PriceLine]) -> Vec<Span<'static>> {
    let muted = Style::new().fg(t.muted);
    if prices.is_empty() {
        return vec![Span::styled("no prices yet", Style::new().fg(t.warn))];
    }
    let mut spans = vec![Span::styled("prices ", muted)];
    for (i, p) in prices.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", muted));
        }
        let warn = Style::new().fg(t.warn);
        spans.push(Span::styled(format!("{} ", p.pair), muted));
        match &p.price {
            Some(price) => spans.push(Span::styled(
                price.clone(),
                if p.stale { warn } else { Style::new() },
            )),
            None => spans.push(Span::styled("none", warn)),
        }
        let age = p.age_secs.map(format::countdown);
        match (age, p.stale) {
            (Some(age), true) => spans.push(Span::styled(
                format!(" ({age}, stale)"),
                warn.add_modifier(Modifier::BOLD),
            )),
            (None, true) => spans.push(Span::styled(" (stale)", warn.add_modifier(Modifier::BOLD))),
            (Some(age), false) => spans.push(Span::styled(format!(" ({age})"), muted)),
            (None, false) => {}
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_share_the_lines() {
        // Enough: everyone gets what it wants, the rest stays below.
        assert_eq!(share(30, [5, 6, 6, 4], 1), [5, 6, 6, 4]);
        // Tight: titles, the focused table, the tiers, then a header and a row each.
        assert_eq!(share(18, [5, 6, 6, 4], 1), [5, 6, 4, 3]);
        assert_eq!(share(14, [5, 6, 6, 4], 2), [5, 1, 6, 1]);
        // Too tight for the tiers' table: their title only, the focused table first.
        assert_eq!(share(11, [5, 6, 6, 4], 1), [1, 6, 3, 1]);
        assert_eq!(share(7, [5, 6, 6, 4], 3), [1, 1, 1, 4]);
        // Tiny: the focused table's title first.
        assert_eq!(share(2, [5, 6, 6, 4], 2), [1, 0, 1, 0]);
        assert_eq!(share(0, [5, 6, 6, 4], 1), [0; 4]);
        // Empty tables want their title and the line that says so.
        assert_eq!(share(20, [5, 2, 2, 2], 2), [5, 2, 2, 2]);
        assert_eq!(share(6, [5, 2, 2, 2], 1), [1, 2, 2, 1]);
    }
}
