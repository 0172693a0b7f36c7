//! The confirm popup: exactly what will be signed or sent, before it is.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::popup;
use super::widgets::wrapped_height;
use crate::actions::ActionPlan;
use crate::tui::format;
use crate::tui::state::{AppState, ConfirmKind, ConfirmState, DeskConfirm};

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, c: &ConfirmState) {
    let t = &state.theme;
    let a = &c.action;
    let label = |s: &str| Span::styled(format!("{s:<14}"), Style::new().fg(t.muted));
    let mut lines = vec![
        Line::from(vec![
            label("action"),
            Span::raw(format!("#{} {} ({} desk)", a.id, a.kind, a.desk)),
        ]),
        Line::from(vec![label("summary"), Span::raw(a.summary.clone())]),
        Line::from(""),
    ];
    match &a.plan {
        ActionPlan::ContractCall {
            chain,
            contract,
            contract_name,
            function,
            args,
            value_wei,
            gas_limit,
            calldata,
        } => {
            lines.push(Line::from(Span::styled(
                "will sign and send this transaction:",
                Style::new().add_modifier(Modifier::BOLD),
            )));
            lines.push(Line::from(vec![label("chain"), Span::raw(chain.clone())]));
            lines.push(Line::from(vec![
                label("contract"),
                Span::raw(format!("{contract_name} {contract}")),
            ]));
            lines.push(Line::from(vec![
                label("function"),
                Span::raw(function.clone()),
            ]));
            for (name, value) in args {
                lines.push(Line::from(vec![
                    label(&format!("  {name}")),
                    Span::raw(value.clone()),
                ]));
            }
            let value = value_wei
                .parse::<u128>()
                .map(|w| format!("{} ({value_wei} wei)", format::eth(w, 18)))
                .unwrap_or_else(|_| format!("{value_wei} wei"));
            lines.push(Line::from(vec![label("value"), Span::raw(value)]));
            lines.push(Line::from(vec![
                label("gas limit"),
                Span::raw(gas_limit.to_string()),
            ]));
            if !calldata.is_empty() {
                lines.push(Line::from(vec![
                    label("calldata"),
                    Span::raw(calldata_summary(calldata)),
                ]));
            }
        }
        ActionPlan::ExchangeOrder {
            venue,
            symbol,
            side,
            quantity,
            order_type,
            reduce_only,
            client_order_id,
            market,
        } => {
            lines.push(Line::from(Span::styled(
                "will place this order:",
                Style::new().add_modifier(Modifier::BOLD),
            )));
            lines.push(Line::from(vec![label("venue"), Span::raw(venue.clone())]));
            lines.push(Line::from(vec![
                label("order"),
                Span::raw(format!(
                    "{side} {quantity} {symbol} {order_type}{}",
                    if *reduce_only { " reduce-only" } else { "" }
                )),
            ]));
            if !market.is_empty() {
                lines.push(Line::from(vec![label("hedges"), Span::raw(market.clone())]));
            }
            lines.push(Line::from(vec![
                label("client id"),
                Span::raw(client_order_id.clone()),
            ]));
        }
    }
    lines.push(Line::from(vec![
        label("est. fee"),
        Span::raw(format!(
            "{} ({})",
            format::eth(a.estimate.gas_cost_wei, 8),
            format::gwei(a.estimate.gas_cost_wei)
        )),
    ]));
    if let Some(p) = a.estimate.profit_usd_cents {
        lines.push(Line::from(vec![
            label("exp. profit"),
            Span::raw(format::usd_cents(p)),
        ]));
    }
    lines.push(Line::from(""));
    let (verb, color) = match c.kind {
        ConfirmKind::Approve => ("approve", t.ok),
        ConfirmKind::Reject => ("reject", t.error),
    };
    lines.push(Line::from(vec![
        Span::styled("y", Style::new().fg(color).add_modifier(Modifier::BOLD)),
        Span::raw(format!(" {verb}   ")),
        Span::styled(
            "n / esc",
            Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
        ),
        Span::raw(" cancel"),
    ]));
    let width = 86.min(area.width.saturating_sub(2));
    let height = wrapped_height(&lines, width.saturating_sub(2)).saturating_add(2);
    let rect = popup(frame, area, width, height);
    let title = format!(
        " {} action #{}? ",
        if c.kind == ConfirmKind::Approve {
            "Approve"
        } else {
            "Reject"
        },
        a.id
    );
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(Style::new().fg(color))
        .title(Span::styled(
            title,
            Style::new().fg(color).add_modifier(Modifier::BOLD),
        ))
        .style(super::base(state));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        rect,
    );
}

/// `0x1a2b3c4d… (1,234 bytes)`: the selector and the size of what is signed.
fn calldata_summary(calldata: &str) -> String {
    let hex = calldata.strip_prefix("0x").unwrap_or(calldata);
    let bytes = hex.len() / 2;
    let selector = &hex[..hex.len().min(8)];
    format!("0x{selector}… ({bytes} bytes)")
}

/// The popup before a desk command that sends transactions (bootstrap, reset, publish now).
pub fn render_desk(frame: &mut Frame, area: Rect, state: &AppState, c: &DeskConfirm) {
    let t = &state.theme;
    let mut lines: Vec<Line> = c.lines.iter().map(|l| Line::from(l.clone())).collect();
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::styled("y", Style::new().fg(t.accent).add_modifier(Modifier::BOLD)),
        Span::raw(" go ahead   "),
        Span::styled(
            "n / esc",
            Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
        ),
        Span::raw(" cancel"),
    ]));
    // Long lines wrap: the popup is as tall as they take, so the keys stay in view.
    let width = 92.min(area.width.saturating_sub(2));
    let height = wrapped_height(&lines, width.saturating_sub(2)).saturating_add(2);
    let inner = popup(frame, area, width, height);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(Style::new().fg(t.warn))
        .title(Span::styled(
            format!(" {} ", c.title),
            Style::new().fg(t.warn).add_modifier(Modifier::BOLD),
        ));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        inner,
    );
}
