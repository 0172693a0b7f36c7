//! Turning integers into what an operator reads. Exact: no floats anywhere.

use ratatui::text::{Line, Span};

const WEI_PER_ETH: u128 = 1_000_000_000_000_000_000;

/// Wei as ETH with at most `max_decimals` decimals, truncated, trailing zeros dropped.
pub fn eth(wei: u128, max_decimals: u32) -> String {
    let whole = wei / WEI_PER_ETH;
    let frac = wei % WEI_PER_ETH;
    let digits = format!("{frac:018}");
    let cut = &digits[..max_decimals.min(18) as usize];
    let cut = cut.trim_end_matches('0');
    if cut.is_empty() {
        format!("{whole} ETH")
    } else {
        format!("{whole}.{cut} ETH")
    }
}

/// Wei as gwei, rounded up so a cap is never understated.
pub fn gwei(wei: u128) -> String {
    format!("{} gwei", wei.div_ceil(1_000_000_000))
}

/// US cents as dollars: `-$12.05`.
pub fn usd_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}${}.{:02}", group(abs / 100), abs % 100)
}

fn group(n: u64) -> String {
    group_digits(&n.to_string())
}

/// A string of decimal digits with thousands separators: `61409` → `61,409`.
pub fn group_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `0xf39F…2266`
pub fn short_address(addr: &str) -> String {
    if addr.len() > 12 {
        format!("{}…{}", &addr[..6], &addr[addr.len() - 4..])
    } else {
        addr.to_string()
    }
}

/// How long ago, coarsely: `42s`, `5m`, `3h`, `2d`.
pub fn age(now_ms: i64, then_ms: i64) -> String {
    let s = (now_ms - then_ms).max(0) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// Unix milliseconds as `2026-11-21 09:30` (UTC).
pub fn date_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// Unix milliseconds as `09:30:12` (UTC).
pub fn clock(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%H:%M:%S").to_string())
        .unwrap_or_default()
}

/// `text` cut to `width` columns, ending in `…` when cut.
pub fn truncate(text: &str, width: usize) -> String {
    let columns = |s: &str| ratatui::text::Span::raw(s).width();
    if columns(text) <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut end = 0;
    for (i, c) in text.char_indices() {
        let next = i + c.len_utf8();
        if columns(&text[..next]) + 1 > width {
            break;
        }
        end = next;
    }
    format!("{}…", &text[..end])
}

/// `line` cut to `width` columns, ending in `…` when cut; the spans keep their styles.
pub fn truncate_line(line: Line<'static>, width: usize) -> Line<'static> {
    if line.width() <= width {
        return line;
    }
    let mut left = width;
    let mut spans = Vec::new();
    for span in line.spans {
        if left == 0 {
            break;
        }
        let w = span.width();
        if w < left {
            left -= w;
            spans.push(span);
        } else {
            let text = truncate(&span.content, left);
            spans.push(Span::styled(text, span.style));
            left = 0;
        }
    }
    Line::from(spans)
}

/// Basis points as a percentage with two decimals: `97.12%`.
pub fn percent_bps(bps: u32) -> String {
    format!("{}.{:02}%", bps / 100, bps % 100)
}

/// A signed amount as a desk rendered it, with `+` on a gain.
pub fn signed(amount: &str, positive: bool) -> String {
    if positive && !amount.starts_with(['+', '-']) {
        format!("+{amount}")
    } else {
        amount.to_string()
    }
}

/// Time left, to the second when it is short: `6d 4h`, `3h 12m`, `4m 05s`, `42s`.
pub fn countdown(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3_600,
        secs % 3_600 / 60,
        secs % 60,
    );
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_line_ends_in_an_ellipsis() {
        let line = Line::from(vec![Span::raw("order "), Span::raw("hd-open-43 sent")]);
        assert_eq!(truncate_line(line.clone(), 40).width(), 21);
        let short = truncate_line(line, 12);
        assert_eq!(short.width(), 12);
        assert_eq!(short.to_string(), "order hd-op…");
    }

    #[test]
    fn percentages_signs_and_countdowns() {
        assert_eq!(percent_bps(9_712), "97.12%");
        assert_eq!(percent_bps(9_333), "93.33%");
        assert_eq!(percent_bps(10_000), "100.00%");
        assert_eq!(percent_bps(5), "0.05%");
        assert_eq!(signed("61,200.00", true), "+61,200.00");
        assert_eq!(signed("-38,310.00", false), "-38,310.00");
        assert_eq!(signed("0.00", false), "0.00");
        assert_eq!(countdown(6 * 86_400 + 4 * 3_600 + 5), "6d 4h");
        assert_eq!(countdown(3 * 3_600 + 12 * 60), "3h 12m");
        assert_eq!(countdown(4 * 60 + 5), "4m 05s");
        assert_eq!(countdown(65), "1m 05s");
        assert_eq!(countdown(42), "42s");
    }

    #[test]
    fn eth_is_exact_and_truncates() {
        assert_eq!(eth(0, 6), "0 ETH");
        assert_eq!(eth(1, 18), "0.000000000000000001 ETH");
        assert_eq!(eth(1, 6), "0 ETH");
        assert_eq!(eth(1_500_000_000_000_000_000, 6), "1.5 ETH");
        assert_eq!(eth(123_456_789_000_000_000_000, 4), "123.4567 ETH");
        assert_eq!(eth(u128::MAX, 2), "340282366920938463463.37 ETH");
    }

    #[test]
    fn gwei_rounds_up() {
        assert_eq!(gwei(21_000_000_000), "21 gwei");
        assert_eq!(gwei(21_000_000_001), "22 gwei");
    }

    #[test]
    fn dollars_group_and_sign() {
        assert_eq!(usd_cents(0), "$0.00");
        assert_eq!(usd_cents(1_250), "$12.50");
        assert_eq!(usd_cents(-5), "-$0.05");
        assert_eq!(usd_cents(123_456_789), "$1,234,567.89");
        assert_eq!(usd_cents(i64::MIN), "-$92,233,720,368,547,758.08");
    }

    #[test]
    fn ages_and_addresses() {
        assert_eq!(age(61_000, 0), "1m");
        assert_eq!(age(0, 5_000), "0s");
        assert_eq!(age(90_000_000, 0), "1d");
        assert_eq!(
            short_address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
            "0xf39F…2266"
        );
    }
}
