//! The shared text formatters: whole tokens and USD with grouped digits, times, addresses.

use alloy::primitives::Address;
use rust_decimal::Decimal;

use crate::pool::model::{Token, Units, UsdE8};
use crate::tui::format::{date_time, group_digits};

/// `value / 10^decimals`, exact, the whole part grouped, at least `min_places` decimals
/// (trailing zeros beyond them dropped): `1,234.5`, `0.00000001`, `54,000.00`.
pub(super) fn scaled(value: u128, decimals: u32, min_places: usize) -> String {
    let one = 10u128.pow(decimals);
    let whole = group_digits(&(value / one).to_string());
    let mut frac = format!("{:0width$}", value % one, width = decimals as usize);
    let kept = frac.trim_end_matches('0').len().max(min_places);
    frac.truncate(kept);
    while frac.len() < min_places {
        frac.push('0');
    }
    if frac.is_empty() {
        whole
    } else {
        format!("{whole}.{frac}")
    }
}

/// Whole tokens: `12.5`, `1,000`, `0.02170064`.
pub(super) fn tokens(token: Token, units: Units) -> String {
    scaled(units, token.decimals(), 0)
}

/// `tokens` with the symbol: `1.5 WBTC`.
pub(super) fn tokens_sym(token: Token, units: Units) -> String {
    format!("{} {}", tokens(token, units), token.symbol())
}

/// USD × 10^8 as dollars, at least to the cent: `54,000.00`, `1,302.03838453`.
pub(super) fn usd(value: UsdE8) -> String {
    scaled(value, 8, 2)
}

/// Sats as BTC: `0.5`, `1`.
pub(super) fn btc(sats: u64) -> String {
    scaled(u128::from(sats), 8, 0)
}

/// A signed difference in whole tokens: `+1.5`, `-0.25`, `0`.
pub(super) fn signed_tokens(token: Token, diff: i128) -> String {
    let text = tokens(token, diff.unsigned_abs());
    match diff.signum() {
        1 => format!("+{text}"),
        -1 => format!("-{text}"),
        _ => text,
    }
}

/// A Decimal in USD for people, to the cent (display only).
pub(super) fn usd_decimal(value: Decimal) -> String {
    let cents = value
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .max(Decimal::ZERO);
    let text = format!("{cents:.2}");
    let (whole, frac) = text.split_once('.').unwrap_or((&text, "00"));
    format!("{}.{frac}", group_digits(whole))
}

pub(super) fn when(ms: Option<i64>) -> String {
    ms.map(date_time).unwrap_or_else(|| "-".into())
}

pub(super) fn expiry_text(secs: u64) -> String {
    let mut parts = Vec::new();
    let mut left = secs;
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if left >= size {
            parts.push(format!("{}{unit}", left / size));
            left %= size;
        }
    }
    if parts.is_empty() {
        parts.push("0s".into());
    }
    format!(
        "{} ({} s)",
        parts.join(" "),
        group_digits(&secs.to_string())
    )
}

pub(super) fn addr_hex(a: &Address) -> String {
    format!("{a:#x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_and_grouped() {
        assert_eq!(
            scaled(123_456_789_012_345_678, 8, 0),
            "1,234,567,890.12345678"
        );
        assert_eq!(scaled(150_000_000, 8, 0), "1.5");
        assert_eq!(scaled(1, 8, 0), "0.00000001");
        assert_eq!(scaled(0, 8, 0), "0");
        assert_eq!(usd(5_400_000_000_000), "54,000.00");
        assert_eq!(usd(130_203_838_453), "1,302.03838453");
        assert_eq!(usd(150_000_000), "1.50");
        assert_eq!(tokens(Token::Eth, 10u128.pow(18) * 1234), "1,234");
        assert_eq!(signed_tokens(Token::Wbtc, -25_000_000), "-0.25");
        assert_eq!(signed_tokens(Token::Wbtc, 150_000_000), "+1.5");
        assert_eq!(signed_tokens(Token::Wbtc, 0), "0");
        assert_eq!(usd_decimal(Decimal::new(107_428_933, 5)), "1,074.29");
    }
}
