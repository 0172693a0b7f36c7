//! The Pool tab's three tables the selection keys move in: providers, policies and
//! pending withdrawals (only their visible rows are built).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::super::table::{Columns, fitted_table, visible};
use super::super::widgets::{bar, empty, section};
use crate::pool::pane::{HealthStatus, PolicyRow, ProviderRow, WithdrawalRow};
use crate::tui::format;
use crate::tui::pool_keys::expiry_text;
use crate::tui::state::{AppState, PoolFocus};
use crate::tui::theme::Theme;

/// A collateral ratio bar is full at 200%.
pub(super) const RATIO_FULL_BPS: u32 = 20_000;
/// The ratio bar's width.
const RATIO_BAR: usize = 8;

/// A provider's health as every part of the tab colours it: healthy ok, warning warn,
/// margin call and liquidating error, unknown (stale prices) a dim warn, never ok.
pub(super) fn status_style(t: &Theme, s: HealthStatus) -> Style {
    match s {
        HealthStatus::Healthy => Style::new().fg(t.ok),
        HealthStatus::Warning => Style::new().fg(t.warn).add_modifier(Modifier::BOLD),
        HealthStatus::MarginCall | HealthStatus::Liquidating => {
            Style::new().fg(t.error).add_modifier(Modifier::BOLD)
        }
        HealthStatus::Unknown => Style::new().fg(t.warn).add_modifier(Modifier::DIM),
    }
}

/// `182.40% ━━━━━━━─`, or why there is no ratio.
pub(super) fn ratio_cell(t: &Theme, p: &ProviderRow) -> Line<'static> {
    match (&p.ratio, p.ratio_bps) {
        (Some(ratio), Some(bps)) => {
            let style = status_style(t, p.status);
            let mut spans = vec![Span::styled(format!("{ratio:>8} "), style)];
            spans.extend(bar(bps, RATIO_FULL_BPS, RATIO_BAR, style, t));
            Line::from(spans)
        }
        (Some(ratio), None) => Line::from(ratio.clone()),
        (None, _) if p.status == HealthStatus::Unknown => Line::from(Span::styled(
            "no prices",
            status_style(t, HealthStatus::Unknown),
        )),
        (None, _) => Line::from(Span::styled("nothing locked", Style::new().fg(t.muted))),
    }
}

/// `12.50 ETH · 1.20 WBTC`: a provider's totals (or locked amounts) per token.
fn per_token(p: &ProviderRow, locked: bool) -> String {
    if p.balances.is_empty() {
        return "-".into();
    }
    p.balances
        .iter()
        .map(|(token, total, l)| format!("{} {token}", if locked { l } else { total }))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// `#71 proposed` in its state's colour.
fn action_cell(t: &Theme, action: Option<(i64, crate::actions::ActionState)>) -> Line<'static> {
    match action {
        Some((id, s)) => Line::from(Span::styled(format!("#{id} {s}"), t.action_state(s))),
        None => Line::from(""),
    }
}

/// ` · 1 warning · 1 margin call`: what a title counts, the non-zero ones.
fn counted(title: &mut String, counts: &[(usize, &str)]) {
    for (n, what) in counts {
        if *n > 0 {
            title.push_str(&format!(" · {n} {what}"));
        }
    }
}

pub(super) fn render_providers(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = &state.theme;
    let snap = &state.pool;
    let focused = state.pool_focus == PoolFocus::Providers;
    let mut title = format!("Providers ({})", snap.providers.len());
    let count = |s: HealthStatus| snap.providers.iter().filter(|p| p.status == s).count();
    counted(
        &mut title,
        &[
            (count(HealthStatus::Warning), "warning"),
            (count(HealthStatus::MarginCall), "margin call"),
            (count(HealthStatus::Liquidating), "liquidating"),
            (count(HealthStatus::Unknown), "unknown"),
        ],
    );
    let block = section(t, title, Some(focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if snap.providers.is_empty() {
        empty(frame, inner, t, "No providers have deposited yet.");
        return;
    }
    let (range, selected) = visible(
        snap.providers.len(),
        &state.pool_providers_pos,
        inner.height,
        focused,
    );
    let rows = snap.providers[range]
        .iter()
        .map(|p| provider_cells(t, p))
        .collect();
    const COLUMNS: Columns = Columns {
        titles: &[
            "provider",
            "tier",
            "balances",
            "locked",
            "value",
            "yield",
            "collateral ratio",
            "status",
        ],
        right: &[false, false, true, true, true, true, false, false],
        drop: &[4, 3, 5, 1],
        note: false,
    };
    fitted_table(frame, inner, t, &COLUMNS, rows, selected);
}

fn provider_cells(t: &Theme, p: &ProviderRow) -> Vec<Line<'static>> {
    let muted = Style::new().fg(t.muted);
    vec![
        Line::from(format::short_address(&p.address)),
        Line::from(p.tier.clone()),
        Line::from(per_token(p, false)),
        Line::from(per_token(p, true)),
        match &p.value_usd {
            Some(v) => Line::from(v.clone()),
            None => Line::from(Span::styled("-", muted)),
        },
        Line::from(p.yield_earned.clone()),
        ratio_cell(t, p),
        Line::from(Span::styled(p.status.label(), status_style(t, p.status))),
    ]
}

pub(super) fn render_policies(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = &state.theme;
    let snap = &state.pool;
    let now = state.now_ms;
    let focused = state.pool_focus == PoolFocus::Policies;
    let mut title = format!(
        "Policies near expiry or in the money ({})",
        snap.policies.len()
    );
    let itm = snap.policies.iter().filter(|p| p.in_the_money).count();
    let expired = snap.policies.iter().filter(|p| p.expiry_ms <= now).count();
    counted(&mut title, &[(itm, "in the money"), (expired, "expired")]);
    let block = section(t, title, Some(focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if snap.policies.is_empty() {
        empty(frame, inner, t, "No active policies.");
        return;
    }
    let (range, selected) = visible(
        snap.policies.len(),
        &state.pool_policies_pos,
        inner.height,
        focused,
    );
    let rows = snap.policies[range]
        .iter()
        .map(|p| policy_cells(t, now, p))
        .collect();
    const COLUMNS: Columns = Columns {
        titles: &[
            "#",
            "kind",
            "tier",
            "backed in",
            "strike USD",
            "BTC",
            "premium",
            "expiry",
            "payout",
            "ITM",
            "action",
        ],
        right: &[
            false, false, false, false, true, true, true, false, true, false, false,
        ],
        drop: &[2, 6, 3, 5],
        note: false,
    };
    fitted_table(frame, inner, t, &COLUMNS, rows, selected);
}

fn policy_cells(t: &Theme, now: i64, p: &PolicyRow) -> Vec<Line<'static>> {
    let muted = Style::new().fg(t.muted);
    let warn = Style::new().fg(t.warn);
    let expired = p.expiry_ms <= now;
    let expiry = expiry_text(now, p.expiry_ms);
    let expiry = expiry
        .strip_prefix("expires ")
        .unwrap_or(&expiry)
        .to_string();
    let payout = match &p.payout {
        Some(payout) if p.in_the_money => Line::from(Span::styled(
            payout.clone(),
            warn.add_modifier(Modifier::BOLD),
        )),
        Some(payout) => Line::from(Span::styled(payout.clone(), muted)),
        None => Line::from(Span::styled("no price", warn)),
    };
    // What the operator can do about it when nothing is on its way yet.
    let action = match (p.action, expired, p.in_the_money) {
        (Some(_), _, _) => action_cell(t, p.action),
        (None, true, true) => Line::from(Span::styled("settle due", warn)),
        (None, true, false) if p.payout.is_some() => Line::from(Span::styled("expire due", warn)),
        (None, _, _) => Line::from(""),
    };
    vec![
        Line::from(format!("#{}", p.id)),
        Line::from(Span::styled(
            p.kind.clone(),
            Style::new().add_modifier(Modifier::BOLD),
        )),
        Line::from(p.tier.clone()),
        Line::from(p.token.clone()),
        Line::from(p.strike.clone()),
        Line::from(p.amount.clone()),
        Line::from(p.premium.clone()),
        Line::from(Span::styled(
            expiry,
            if expired { warn } else { Style::new() },
        )),
        payout,
        if p.in_the_money {
            Line::from(Span::styled(
                "● ITM",
                Style::new().fg(t.error).add_modifier(Modifier::BOLD),
            ))
        } else {
            Line::from(Span::styled("-", muted))
        },
        action,
    ]
}

pub(super) fn render_withdrawals(frame: &mut Frame, area: Rect, state: &AppState) {
    let t = &state.theme;
    let snap = &state.pool;
    let focused = state.pool_focus == PoolFocus::Withdrawals;
    let mut title = format!("Pending withdrawals ({})", snap.withdrawals.len());
    let refused = snap
        .withdrawals
        .iter()
        .filter(|w| w.refused.is_some())
        .count();
    counted(&mut title, &[(refused, "above the maximum")]);
    let block = section(t, title, Some(focused));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if snap.withdrawals.is_empty() {
        empty(frame, inner, t, "No withdrawals waiting.");
        return;
    }
    let (range, selected) = visible(
        snap.withdrawals.len(),
        &state.pool_withdrawals_pos,
        inner.height,
        focused,
    );
    let rows = snap.withdrawals[range]
        .iter()
        .map(|w| withdrawal_cells(t, state.now_ms, w))
        .collect();
    const COLUMNS: Columns = Columns {
        titles: &[
            "#",
            "provider",
            "amount",
            "max withdrawable",
            "asked",
            "action",
            "check",
        ],
        right: &[false, false, true, true, true, false, false],
        drop: &[4, 5],
        note: true,
    };
    fitted_table(frame, inner, t, &COLUMNS, rows, selected);
}

fn withdrawal_cells(t: &Theme, now: i64, w: &WithdrawalRow) -> Vec<Line<'static>> {
    let amount = format!("{} {}", w.amount, w.token);
    let (amount, check) = match &w.refused {
        Some(why) => {
            let style = Style::new().fg(t.error);
            (
                Line::from(Span::styled(amount, style.add_modifier(Modifier::BOLD))),
                Line::from(Span::styled(format!("refused: {why}"), style)),
            )
        }
        None => (
            Line::from(amount),
            Line::from(Span::styled("within the maximum", Style::new().fg(t.ok))),
        ),
    };
    vec![
        Line::from(format!("#{}", w.id)),
        Line::from(format::short_address(&w.provider)),
        amount,
        Line::from(format!("{} {}", w.max_withdrawable, w.token)),
        Line::from(format::age(now, w.requested_at_ms)),
        action_cell(t, w.action),
        check,
    ]
}
