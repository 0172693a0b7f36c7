//! Parsing of the flags the pool commands share: addresses, tokens and amounts, policy
//! kinds, BTC amounts, USD amounts and expiries. A bad flag is an error naming it.

use alloy::primitives::Address;

use super::format::btc;
use crate::cli::InputError;
use crate::pool::model::{PolicyKind, Token, Units, UsdE8, parse_scaled};

/// A 0x-prefixed address.
pub(super) fn parse_address(field: &str, text: &str) -> Result<Address, InputError> {
    text.trim().parse().map_err(|_| {
        InputError::new(
            field,
            format!("expected a 0x-prefixed address, got '{text}'"),
        )
    })
}

/// `eth` or `wbtc`.
pub(super) fn parse_token(text: &str) -> Result<Token, InputError> {
    Token::parse(text).ok_or_else(|| InputError::new("token", format!("eth or wbtc, got '{text}'")))
}

/// A positive amount of `token` in whole tokens, as base units.
pub(super) fn parse_token_amount(token: Token, text: &str) -> Result<Units, InputError> {
    let amount = token
        .parse_units(text)
        .map_err(|why| InputError::new("amount", why))?;
    if amount == 0 {
        return Err(InputError::new("amount", "must be above zero"));
    }
    Ok(amount)
}

/// `put` or `call`.
pub(super) fn parse_kind(text: &str) -> Result<PolicyKind, InputError> {
    PolicyKind::parse(text)
        .ok_or_else(|| InputError::new("kind", format!("put or call, got '{text}'")))
}

/// A positive protected amount in BTC (at most 8 decimals), as sats that the store can hold.
pub(super) fn parse_btc_amount(text: &str) -> Result<u64, InputError> {
    let amount =
        parse_scaled(text, 8).map_err(|why| InputError::new("amount", format!("BTC: {why}")))?;
    if amount == 0 {
        return Err(InputError::new("amount", "must be above zero"));
    }
    u64::try_from(amount)
        .ok()
        .filter(|a| *a <= i64::MAX as u64)
        .ok_or_else(|| InputError::new("amount", format!("at most {} BTC", btc(i64::MAX as u64))))
}

/// A positive USD amount with at most 8 decimals, as USD × 10^8.
pub(super) fn parse_usd(field: &str, text: &str) -> Result<UsdE8, InputError> {
    let value =
        parse_scaled(text, 8).map_err(|why| InputError::new(field, format!("USD: {why}")))?;
    if value == 0 {
        return Err(InputError::new(field, "must be above zero"));
    }
    Ok(value)
}

/// Seconds, or a duration like `30d`, `12h`, `1d12h` (units w, d, h, m, s).
pub(super) fn parse_expiry(text: &str) -> Result<u64, InputError> {
    let t = text.trim();
    let bad = || {
        InputError::new(
            "expiry",
            format!(
                "seconds until expiry (2592000) or a duration in w, d, h, m, s (30d, 12h, 1d12h), got '{text}'"
            ),
        )
    };
    let too_far = || InputError::new("expiry", format!("'{text}' is too far away"));
    let secs = if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse::<u64>().map_err(|_| too_far())?
    } else {
        let mut total: u64 = 0;
        let mut digits = String::new();
        let mut any = false;
        for c in t.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let size: u64 = match c.to_ascii_lowercase() {
                'w' => 7 * 86_400,
                'd' => 86_400,
                'h' => 3_600,
                'm' => 60,
                's' => 1,
                _ => return Err(bad()),
            };
            if digits.is_empty() {
                return Err(bad());
            }
            let n: u64 = digits.parse().map_err(|_| too_far())?;
            total = n
                .checked_mul(size)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(too_far)?;
            digits.clear();
            any = true;
        }
        if !any || !digits.is_empty() {
            return Err(bad());
        }
        total
    };
    if secs == 0 {
        return Err(InputError::new("expiry", "must be in the future"));
    }
    // A century is far beyond any policy, and keeps every product in range.
    if secs > 100 * 365 * 86_400 {
        return Err(InputError::new(
            "expiry",
            format!("at most 100 years away, got {secs} s"),
        ));
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::cli::format::expiry_text;

    #[test]
    fn expiries_are_seconds_or_durations() {
        assert_eq!(parse_expiry("2592000"), Ok(2_592_000));
        assert_eq!(parse_expiry("30d"), Ok(2_592_000));
        assert_eq!(parse_expiry("1d12h"), Ok(129_600));
        assert_eq!(parse_expiry("2w"), Ok(1_209_600));
        assert_eq!(parse_expiry(" 90m "), Ok(5_400));
        for bad in ["", "d", "30x", "30d5", "-5", "1.5d", "0", "0d", "101y"] {
            let e = parse_expiry(bad).unwrap_err();
            assert_eq!(e.field, "expiry", "{bad:?}");
        }
        assert!(parse_expiry("36600d").is_err());
        assert_eq!(expiry_text(129_600), "1d 12h (129,600 s)");
    }
}
