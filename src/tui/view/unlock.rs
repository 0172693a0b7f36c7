//! The keystore screen: unlock, or create the first keystore.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::popup;
use crate::tui::state::{AppState, UnlockPhase};

pub fn render(frame: &mut Frame, area: Rect, state: &AppState, phase: &UnlockPhase) {
    let t = &state.theme;
    let path = state.keystore_path.display().to_string();
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let muted = Style::new().fg(t.muted);
    let err = |e: &Option<String>| match e {
        Some(e) => Line::from(Span::styled(
            e.clone(),
            Style::new().fg(t.error).add_modifier(Modifier::BOLD),
        )),
        None => Line::from(""),
    };
    let (title, lines) = match phase {
        UnlockPhase::Auto => (
            " Unlock keystore ",
            vec![
                Line::from(vec![Span::styled("keystore  ", muted), Span::raw(path)]),
                Line::from(""),
                Line::from("unlocking with the saved passphrase…"),
            ],
        ),
        UnlockPhase::Prompt {
            input, error, busy, ..
        } => (
            " Unlock keystore ",
            vec![
                Line::from(vec![Span::styled("keystore  ", muted), Span::raw(path)]),
                Line::from(""),
                Line::from(vec![
                    Span::styled("passphrase ", bold),
                    Span::raw(input.masked()),
                    Span::styled("▏", Style::new().fg(t.accent)),
                ]),
                Line::from(""),
                if *busy {
                    Line::from("unlocking…")
                } else {
                    err(error)
                },
                Line::from(Span::styled("enter unlock · esc quit", muted)),
            ],
        ),
        UnlockPhase::OfferCreate => (
            " No keystore yet ",
            vec![
                Line::from(vec![
                    Span::styled("no keystore at  ", muted),
                    Span::raw(path),
                ]),
                Line::from(""),
                Line::from("Create a new key now, encrypted with a passphrase you choose?"),
                Line::from(Span::styled(
                    "(or quit and run `hedgedesk keys import` to bring an existing key)",
                    muted,
                )),
                Line::from(""),
                Line::from(Span::styled("y create · n quit", muted)),
            ],
        ),
        UnlockPhase::Create {
            first,
            second,
            confirming,
            error,
            busy,
        } => (
            " Create keystore ",
            vec![
                Line::from(vec![Span::styled("new keystore  ", muted), Span::raw(path)]),
                Line::from(""),
                Line::from(vec![
                    Span::styled("passphrase        ", bold),
                    Span::raw(first.masked()),
                ]),
                Line::from(vec![
                    Span::styled("repeat passphrase ", bold),
                    Span::raw(if *confirming {
                        second.masked()
                    } else {
                        String::new()
                    }),
                ]),
                Line::from(""),
                if *busy {
                    Line::from("encrypting…")
                } else {
                    err(error)
                },
                Line::from(Span::styled(
                    "at least 8 characters · enter next · esc quit",
                    muted,
                )),
            ],
        ),
    };
    let rect = popup(frame, area, 84, lines.len() as u16 + 4);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(Style::new().fg(t.accent))
        .title(Span::styled(
            title,
            Style::new().fg(t.title).add_modifier(Modifier::BOLD),
        ))
        .title_bottom(Span::styled(" hedgedesk ", muted))
        .style(super::base(state));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let padded = Rect {
        x: inner.x + 1,
        y: inner.y + 1,
        width: inner.width.saturating_sub(2),
        height: inner.height.saturating_sub(1),
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), padded);
}
