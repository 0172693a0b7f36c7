//! Pieces the desk tabs share: section titles, the empty-list line, the journal line, the
//! detail popup and its labels, and how a body's height is shared between sections.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::popup;
use crate::desks::{JournalLine, Severity};
use crate::tui::format;
use crate::tui::state::AppState;
use crate::tui::theme::Theme;

/// Widest a detail popup gets.
const DETAIL_WIDTH: u16 = 112;

/// A section's title line; the focused one is marked.
/// A desk tab's frame: the border and the bold title.
pub fn tab_frame(t: &Theme, title: String) -> Block<'static> {
    Block::new()
        .borders(Borders::ALL)
        .border_style(Style::new().fg(t.border))
        .title(Span::styled(
            title,
            Style::new().fg(t.title).add_modifier(Modifier::BOLD),
        ))
}

pub fn section(t: &Theme, title: String, focused: Option<bool>) -> Block<'static> {
    let (title, style) = match focused {
        Some(true) => (
            format!(" ▸ {title} "),
            Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
        ),
        _ => (format!(" {title} "), Style::new().fg(t.title)),
    };
    Block::new()
        .borders(Borders::TOP)
        .border_style(Style::new().fg(t.border))
        .title(Span::styled(title, style))
}

/// The one muted line a section shows when its list is empty.
pub fn empty(frame: &mut Frame, area: Rect, t: &Theme, text: &str) {
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(
            text.to_string(),
            Style::new().fg(t.muted),
        ))),
        area,
    );
}

/// `09:29:56 hedge #43 ETHUSDT: …`: a desk's journal line cut to `width`, failures in the
/// error colour, waiting in the warn colour.
pub fn journal_line(t: &Theme, j: &JournalLine, width: usize) -> Line<'static> {
    let style = match j.severity {
        Severity::Failure => Style::new().fg(t.error),
        Severity::Waiting => Style::new().fg(t.warn),
    };
    let clock = format!("{} ", format::clock(j.at_ms));
    let room = width.saturating_sub(clock.len());
    Line::from(vec![
        Span::styled(clock, Style::new().fg(t.muted)),
        Span::styled(format::truncate(&j.message, room), style),
    ])
}

/// A desk's journal as a tab's footer: its title counts the lines and the failures, the
/// newest lines below it as they fit.
pub fn journal_footer(frame: &mut Frame, area: Rect, t: &Theme, journal: &[JournalLine]) {
    if area.height == 0 {
        return;
    }
    let failures = journal
        .iter()
        .filter(|j| j.severity == Severity::Failure)
        .count();
    let title = match (journal.len(), failures) {
        (0, _) => "Journal: nothing to report".to_string(),
        (n, 0) => format!("Journal ({n}, newest first)"),
        (n, 1) => format!("Journal ({n}, newest first) · 1 failure"),
        (n, f) => format!("Journal ({n}, newest first) · {f} failures"),
    };
    let block = section(t, title, None);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let lines: Vec<Line<'static>> = journal
        .iter()
        .take(inner.height as usize)
        .map(|j| journal_line(t, j, width))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `━━━━━━────`: a gauge `width` columns wide for a table cell, `bps` of `full_bps`
/// filled (rounded down, so a sliver is never shown as more than it is).
pub fn bar(bps: u32, full_bps: u32, width: usize, filled: Style, t: &Theme) -> Vec<Span<'static>> {
    let full_bps = full_bps.max(1);
    let n = (u64::from(bps.min(full_bps)) * width as u64 / u64::from(full_bps)) as usize;
    vec![
        Span::styled("━".repeat(n), filled),
        Span::styled("─".repeat(width - n), Style::new().fg(t.muted)),
    ]
}

/// A detail row's label: muted, padded to 12 columns.
pub fn label(t: &Theme, s: &str) -> Span<'static> {
    Span::styled(format!("{s:<12}"), Style::new().fg(t.muted))
}

/// The inner width of a detail popup on `area`.
pub fn detail_inner_width(area: Rect) -> u16 {
    DETAIL_WIDTH
        .min(area.width.saturating_sub(2))
        .saturating_sub(2)
}

/// The rows `lines` take in a paragraph wrapped at words to `inner_width` columns, as a
/// popup sizes itself (at least one each; a word too long for a row is broken).
pub fn wrapped_height(lines: &[Line], inner_width: u16) -> u16 {
    let width = usize::from(inner_width).max(1);
    let rows: usize = lines.iter().map(|l| wrapped_rows(l, width)).sum();
    u16::try_from(rows).unwrap_or(u16::MAX)
}

/// One line's rows, filled a word at a time: a word that does not fit starts a row.
fn wrapped_rows(line: &Line, width: usize) -> usize {
    if line.width() <= width {
        return 1;
    }
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    let (mut rows, mut col) = (1, 0);
    for (i, word) in text.split(' ').enumerate() {
        let space = usize::from(i > 0);
        let w = Span::raw(word).width();
        if col + space + w <= width {
            col += space + w;
        } else if w > 0 {
            if col > 0 {
                rows += 1;
            }
            col = w;
            while col > width {
                rows += 1;
                col -= width;
            }
        }
    }
    rows
}

/// The two lines a detail popup ends with: a blank one and the close hint.
pub const DETAIL_FOOTER: usize = 2;

/// The overlay Enter opens on a desk tab: `lines` in a bordered, centred popup, wrapped
/// to its width and as tall as they need (up to the screen), with the close hint last.
pub fn detail_popup(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    title: String,
    mut lines: Vec<Line<'static>>,
) {
    let t = &state.theme;
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::styled(
            "esc / enter",
            Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
        ),
        Span::raw(" close"),
    ]));
    let width = DETAIL_WIDTH.min(area.width.saturating_sub(2));
    let height = wrapped_height(&lines, width.saturating_sub(2))
        .saturating_add(2)
        .min(area.height.saturating_sub(2));
    let rect = popup(frame, area, width, height);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(Style::new().fg(t.accent))
        .title(Span::styled(
            title,
            Style::new().fg(t.title).add_modifier(Modifier::BOLD),
        ))
        .style(super::base(state));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}

/// Lines for a tab's table sections out of `total`. Each section gets up to three (title,
/// header, a row) first, in the order `first`; then the sections take turns in the order
/// `round` (a section named twice gets two rows for each the others get), one line each,
/// until each has what it `want`s. What is left goes to `first[0]`.
pub fn share<const N: usize>(
    total: u16,
    want: [u16; N],
    first: &[usize],
    round: &[usize],
) -> [u16; N] {
    let mut got = [0u16; N];
    let mut left = total;
    for &i in first {
        let n = want[i].min(3).min(left);
        got[i] = n;
        left -= n;
    }
    while left > 0 {
        let before = left;
        for &i in round {
            if left > 0 && got[i] < want[i] {
                got[i] += 1;
                left -= 1;
            }
        }
        if left == before {
            break;
        }
    }
    got[first[0]] += left;
    got
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_lines_are_counted() {
        let lines = [
            Line::from("x".repeat(25)),
            Line::from(""),
            Line::from("abc"),
        ];
        assert_eq!(wrapped_height(&lines, 10), 5);
        assert_eq!(wrapped_height(&lines, 0), 29);
        // A word that does not fit moves to the next row, leaving the rest of this one.
        let words = [Line::from(vec![Span::raw("aaaa bbbb "), Span::raw("cccc")])];
        assert_eq!(wrapped_height(&words, 9), 2);
        assert_eq!(wrapped_height(&words, 10), 2);
        assert_eq!(wrapped_height(&words, 6), 3);
        assert_eq!(wrapped_height(&words, 14), 1);
    }

    #[test]
    fn bars_fill_in_proportion_and_stop_full() {
        let t = Theme::built_in_default();
        let text = |bps| {
            bar(bps, 10_000, 10, Style::new(), &t)
                .iter()
                .map(|s| s.content.to_string())
                .collect::<String>()
        };
        assert_eq!(text(0), "──────────");
        assert_eq!(text(4_200), "━━━━──────");
        assert_eq!(text(999), "──────────");
        assert_eq!(text(10_000), "━━━━━━━━━━");
        assert_eq!(text(25_000), "━━━━━━━━━━");
    }
}
