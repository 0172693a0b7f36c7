//! Windowing for long lists: only the rows that fit are ever built, so a table of
//! 100k actions costs the same to draw as one of 30.

use std::cell::Cell;
use std::ops::Range;

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
