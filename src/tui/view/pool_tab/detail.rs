//! The overlay Enter opens on the Pool tab: everything about a provider (its balances,
//! value, yield, ratio, health and since when, its tier, its pending withdrawals) or a
//! policy (its terms, the price it is valued at, its payout and what is due).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::super::widgets::{bar, detail_popup, label};
use super::tables::{RATIO_FULL_BPS, ratio_cell, status_style};
use crate::pool::pane::{HealthStatus, PolicyRow, PoolSnapshot, ProviderRow};
use crate::tui::format;
use crate::tui::keymap::Command;
use crate::tui::pool_keys::{expiry_text, provider_label};
use crate::tui::state::{AppState, PoolItem};

pub fn render_detail(frame: &mut Frame, area: Rect, state: &AppState, item: &PoolItem) {
    let t = &state.theme;
    let snap = &state.pool;
    let gone = |what: String| {
        vec![Line::from(Span::styled(
            format!("{what} is no longer in the desk's pane."),
            Style::new().fg(t.muted),
        ))]
    };
    let (title, lines) = match item {
        PoolItem::Provider(address) => {
            match snap.providers.iter().find(|p| &p.address == address) {
                Some(p) => (
                    format!(" Provider {} · {} ", provider_label(p), p.status.label()),
                    provider_detail(state, snap, p),
                ),
                None => (
                    " Provider ".to_string(),
                    gone(format!("Provider {address}")),
                ),
            }
        }
        PoolItem::Policy(id) => match snap.policies.iter().find(|p| p.id == *id) {
            Some(p) => (
                format!(
                    " Policy #{id} {} · {} ",
                    p.kind,
                    if p.in_the_money {
                        "in the money"
                    } else {
                        "out of the money"
                    }
                ),
                policy_detail(state, snap, p),
            ),
            None => (format!(" Policy #{id} "), gone(format!("Policy #{id}"))),
        },
    };
    detail_popup(frame, area, state, title, lines);
}

fn provider_detail(state: &AppState, snap: &PoolSnapshot, p: &ProviderRow) -> Vec<Line<'static>> {
    let t = &state.theme;
    let muted = Style::new().fg(t.muted);
    let row = |name: &str, value: Span<'static>| Line::from(vec![label(t, name), value]);
    let mut lines = vec![row("address", Span::raw(p.address.clone()))];
    if p.balances.is_empty() {
        lines.push(row("balances", Span::styled("nothing deposited", muted)));
    }
    for (i, (token, total, locked)) in p.balances.iter().enumerate() {
        lines.push(row(
            if i == 0 { "balances" } else { "" },
            Span::raw(format!("{total} {token} · locked {locked} {token}")),
        ));
    }
    lines.push(match (&p.value_usd, &p.locked_usd) {
        (Some(value), Some(locked)) => {
            row("value", Span::raw(format!("{value} · locked {locked}")))
        }
        (Some(value), None) => row("value", Span::raw(value.clone())),
        _ => row(
            "value",
            Span::styled("unknown: no fresh prices", Style::new().fg(t.warn)),
        ),
    });
    lines.push(row("yield", Span::raw(p.yield_earned.clone())));
    let mut ratio = vec![label(t, "ratio")];
    match (&p.ratio, p.ratio_bps) {
        (Some(text), Some(bps)) => {
            let style = status_style(t, p.status);
            ratio.push(Span::styled(format!("{text} "), style));
            ratio.extend(bar(bps, RATIO_FULL_BPS, 20, style, t));
            ratio.push(Span::styled(" (full at 200%)", muted));
        }
        _ => ratio.extend(ratio_cell(t, p).spans),
    }
    lines.push(Line::from(ratio));
    let style = status_style(t, p.status);
    let mut status = vec![
        label(t, "status"),
        Span::styled(p.status.label(), style.add_modifier(Modifier::BOLD)),
    ];
    if let Some(since) = p.status_since_ms {
        status.push(Span::raw(format!(
            " since {} UTC ({} ago)",
            format::date_time(since),
            format::age(state.now_ms, since)
        )));
    }
    lines.push(Line::from(status));
    let why = match p.status {
        HealthStatus::Unknown => Some(
            "the oracle's prices are missing or stale: its health is not judged, never taken as healthy",
        ),
        HealthStatus::Warning => Some("its collateral ratio is below its tier's warning line"),
        HealthStatus::MarginCall => Some(
            "its collateral ratio is below its tier's margin call line: no new policies for it",
        ),
        HealthStatus::Liquidating => Some("in margin call past the grace period"),
        HealthStatus::Healthy => None,
    };
    if let Some(why) = why {
        lines.push(row("", Span::styled(why, style)));
    }
    lines.push(Line::from(""));
    if let Some(tier) = snap.tiers.iter().find(|tier| tier.name == p.tier) {
        let fill = super::sections::fill_style(t, tier.utilisation_bps);
        let mut spans = vec![
            label(t, "tier"),
            Span::styled(tier.name.clone(), Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(format!(
                " · collateral ratio {} · utilisation ",
                tier.collateral_ratio
            )),
        ];
        spans.extend(bar(tier.utilisation_bps, 10_000, 10, fill, t));
        spans.push(Span::styled(
            format!(" {}", format::percent_bps(tier.utilisation_bps)),
            fill,
        ));
        lines.push(Line::from(spans));
        lines.push(row(
            "",
            Span::raw(format!(
                "{} · {} · capital {} · locked {} · capacity limit {}",
                counted(tier.providers, "provider"),
                counted(tier.active_policies, "active policy"),
                tier.capital,
                tier.locked,
                tier.capacity_limit
            )),
        ));
    } else {
        lines.push(row("tier", Span::raw(p.tier.clone())));
    }
    let withdrawals: Vec<_> = snap
        .withdrawals
        .iter()
        .filter(|w| w.provider == p.address)
        .collect();
    if withdrawals.is_empty() {
        lines.push(row("withdrawals", Span::styled("none pending", muted)));
    }
    for (i, w) in withdrawals.into_iter().enumerate() {
        let head = format!(
            "#{} {} {} (max {} {}) ",
            w.id, w.amount, w.token, w.max_withdrawable, w.token
        );
        let check = match &w.refused {
            Some(why) => Span::styled(format!("refused: {why}"), Style::new().fg(t.error)),
            None => Span::styled("within the maximum", Style::new().fg(t.ok)),
        };
        lines.push(Line::from(vec![
            label(t, if i == 0 { "withdrawals" } else { "" }),
            Span::raw(head),
            check,
        ]));
    }
    lines
}

fn policy_detail(state: &AppState, snap: &PoolSnapshot, p: &PolicyRow) -> Vec<Line<'static>> {
    let t = &state.theme;
    let muted = Style::new().fg(t.muted);
    let warn = Style::new().fg(t.warn);
    let now = state.now_ms;
    let row = |name: &str, value: Span<'static>| Line::from(vec![label(t, name), value]);
    let formula = match p.kind.as_str() {
        "PUT" => " pays max(0, strike − price) × amount",
        "CALL" => " pays max(0, price − strike) × amount",
        _ => "",
    };
    let mut lines = vec![
        Line::from(vec![
            label(t, "kind"),
            Span::styled(p.kind.clone(), Style::new().add_modifier(Modifier::BOLD)),
            Span::styled(formula, muted),
        ]),
        row("buyer", Span::raw(p.buyer.clone())),
        row(
            "backed by",
            Span::raw(format!("{} tier providers, in {}", p.tier, p.token)),
        ),
        row("strike", Span::raw(format!("{} USD", p.strike))),
        row("amount", Span::raw(format!("{} BTC", p.amount))),
        row("premium", Span::raw(format!("{} {}", p.premium, p.token))),
        Line::from(vec![
            label(t, "expiry"),
            Span::raw(format!("{} UTC ", format::date_time(p.expiry_ms))),
            Span::styled(
                format!("({})", expiry_text(now, p.expiry_ms)),
                if p.expiry_ms <= now {
                    warn
                } else {
                    Style::new()
                },
            ),
        ]),
        Line::from(""),
    ];
    for price in snap.prices.iter().filter(|x| x.pair.starts_with("BTC")) {
        let age = price
            .age_secs
            .map(|s| format!(" ({} old)", format::countdown(s)))
            .unwrap_or_default();
        let text = match &price.price {
            Some(v) => format!("{} {v}{age}", price.pair),
            None => format!("{} none", price.pair),
        };
        let stale = price.stale || price.price.is_none();
        lines.push(Line::from(vec![
            label(t, "price"),
            Span::styled(text, if stale { warn } else { Style::new() }),
            Span::styled(if price.stale { " stale" } else { "" }, warn),
        ]));
    }
    lines.push(match &p.payout {
        Some(payout) if p.in_the_money => Line::from(vec![
            label(t, "payout"),
            Span::styled(
                format!("{payout} · ● in the money"),
                Style::new().fg(t.error).add_modifier(Modifier::BOLD),
            ),
        ]),
        Some(payout) => row(
            "payout",
            Span::styled(format!("{payout} · out of the money"), muted),
        ),
        None => row("payout", Span::styled("unknown: no price", warn)),
    });
    lines.push(row("status", Span::raw(p.status.clone())));
    let expired = p.expiry_ms <= now;
    lines.push(match p.action {
        Some((id, s)) => row(
            "action",
            Span::styled(
                format!("#{id} {s} (the newest about this policy)"),
                t.action_state(s),
            ),
        ),
        None if expired && p.in_the_money => row(
            "action",
            Span::styled(
                format!(
                    "none yet: settle due ({})",
                    state.keymap.keys_for(Command::PoolSettle)
                ),
                warn,
            ),
        ),
        None if expired && p.payout.is_some() => row(
            "action",
            Span::styled(
                format!(
                    "none yet: expire due ({})",
                    state.keymap.keys_for(Command::PoolExpire)
                ),
                warn,
            ),
        ),
        None => row("action", Span::styled("none", muted)),
    });
    lines
}

/// `1 provider`, `2 providers`, `2 active policies`.
fn counted(n: usize, what: &str) -> String {
    match (n, what.strip_suffix('y')) {
        (1, _) => format!("1 {what}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        (_, None) => format!("{n} {what}s"),
    }
}
