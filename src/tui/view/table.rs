//! Windowing for long lists: only the rows that fit are ever built, so a table of
//! 100k actions costs the same to draw as one of 30. And the desk tabs' tables, their
//! columns as wide as what they show.

use std::cell::Cell;
use std::ops::Range;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Cell as TableCell, Row, Table, TableState};

use crate::tui::format;
use crate::tui::state::ListPosition;
use crate::tui::theme::Theme;

/// The rows to draw for a list of `total` rows in `height` lines with `selected`
/// highlighted. `offset` is the previous first row; it moves only as far as needed to
/// keep the selection visible, so the view does not jump while the operator scrolls.
pub fn window(total: usize, selected: usize, offset: &Cell<usize>, height: usize) -> Range<usize> {
    if total == 0 || height == 0 {
        offset.set(0);
        return 0..0;
    }
    let selected = selected.min(total - 1);
    let mut first = offset.get().min(total.saturating_sub(1));
    if selected < first {
        first = selected;
    } else if selected >= first + height {
        first = selected + 1 - height;
    }
    // Do not leave blank lines at the bottom when the list could fill them.
    first = first.min(total.saturating_sub(height));
    offset.set(first);
    first..(first + height).min(total)
}

/// The visible slice of a list of `total` rows in a table of `height` lines (the header
/// first), and the selected row's index in it (when `focused`).
pub fn visible(
    total: usize,
    pos: &ListPosition,
    height: u16,
    focused: bool,
) -> (Range<usize>, Option<usize>) {
    let selected = pos.selected.min(total.saturating_sub(1));
    let range = window(
        total,
        selected,
        &pos.offset,
        height.saturating_sub(1) as usize,
    );
    let highlight = (focused && total > 0).then(|| selected - range.start);
    (range, highlight)
}

/// The columns of a [`fitted_table`].
pub struct Columns<'a> {
    pub titles: &'a [&'a str],
    /// Which columns are right-aligned (missing: left).
    pub right: &'a [bool],
    /// When the columns do not fit, these go first, in this order.
    pub drop: &'a [usize],
    /// Whether the last column is a note that takes what is left, its text cut to it.
    pub note: bool,
}

/// A table of pre-built rows, columns as wide as what they show, with `selected`
/// highlighted. When they do not fit, the columns in `drop` go; with a `note`, the last
/// column takes what is left, otherwise the slack goes after the last column.
pub fn fitted_table(
    frame: &mut Frame,
    area: Rect,
    t: &Theme,
    columns: &Columns,
    rows: Vec<Vec<Line<'static>>>,
    selected: Option<usize>,
) {
    let Columns {
        titles,
        right,
        drop,
        note,
    } = *columns;
    let mut widths: Vec<usize> = titles.iter().map(|s| s.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let last = titles.len() - 1;
    let in_note = |i: usize| note && i == last;
    // A note needs a few columns to say anything.
    let note_min = if note { widths[last].min(12) } else { 0 };
    let mut keep = vec![true; titles.len()];
    // The fixed columns' width with one column between each.
    let fixed = |keep: &[bool]| -> usize {
        let (sum, n) = (0..titles.len())
            .filter(|&i| keep[i] && !in_note(i))
            .fold((0usize, 0usize), |(sum, n), i| (sum + widths[i], n + 1));
        sum + n.saturating_sub(1)
    };
    let need = |keep: &[bool]| fixed(keep) + if note { 1 + note_min } else { 0 };
    for &i in drop {
        if need(&keep) <= area.width as usize {
            break;
        }
        keep[i] = false;
    }
    let note_width = (area.width as usize).saturating_sub(fixed(&keep) + 1);
    let align = |i: usize, line: Line<'static>| {
        if right.get(i).copied().unwrap_or(false) {
            line.alignment(Alignment::Right)
        } else {
            line
        }
    };
    let header = Row::new(
        titles
            .iter()
            .enumerate()
            .filter(|(i, _)| keep[*i])
            .map(|(i, s)| TableCell::from(align(i, Line::from(s.to_string())))),
    )
    .style(Style::new().fg(t.muted).add_modifier(Modifier::BOLD));
    let rows = rows.into_iter().map(|cells| {
        Row::new(
            cells
                .into_iter()
                .enumerate()
                .filter(|(i, _)| keep[*i])
                .map(|(i, line)| {
                    let line = if in_note(i) {
                        format::truncate_line(line, note_width)
                    } else {
                        line
                    };
                    TableCell::from(align(i, line))
                }),
        )
    });
    let constraints: Vec<Constraint> = (0..titles.len())
        .filter(|&i| keep[i])
        .map(|i| {
            if in_note(i) {
                Constraint::Fill(1)
            } else {
                Constraint::Length(widths[i] as u16)
            }
        })
        .chain((!note).then_some(Constraint::Fill(1)))
        .collect();
    let mut table_state = TableState::default().with_selected(selected);
    frame.render_stateful_widget(
        Table::new(rows, constraints)
            .header(header)
            .row_highlight_style(Style::new().fg(t.selection_fg).bg(t.selection_bg)),
        area,
        &mut table_state,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_follows_the_selection_without_jumping() {
        let off = Cell::new(0);
        assert_eq!(window(100, 0, &off, 10), 0..10);
        assert_eq!(window(100, 9, &off, 10), 0..10);
        assert_eq!(window(100, 10, &off, 10), 1..11);
        assert_eq!(window(100, 5, &off, 10), 1..11);
        assert_eq!(window(100, 0, &off, 10), 0..10);
        assert_eq!(window(100, 99, &off, 10), 90..100);
        assert_eq!(window(5, 3, &off, 10), 0..5);
        assert_eq!(window(0, 3, &off, 10), 0..0);
        assert_eq!(window(100_000, 54_321, &Cell::new(0), 40), 54_282..54_322);
    }
}
