//! Amounts in an asset's base units written out for a person: exact, signed, thousands
//! grouped, at least two decimal places and never fewer than needed (no rounding).

use alloy::primitives::I256;

use crate::tui::format::group_digits;

/// `amount` base units of an asset with `decimals`: `1,000,000.00`, `-12.345678`.
pub fn format_amount(amount: I256, decimals: u8) -> String {
    let sign = if amount.is_negative() { "-" } else { "" };
    let digits = amount.unsigned_abs().to_string();
    let decimals = usize::from(decimals);
    let padded = format!("{digits:0>width$}", width = decimals + 1);
    let (whole, fraction) = padded.split_at(padded.len() - decimals);
    let mut fraction = fraction.trim_end_matches('0').to_string();
    while fraction.len() < 2 {
        fraction.push('0');
    }
    format!("{sign}{}.{fraction}", group_digits(whole))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(amount: i128, decimals: u8) -> String {
        format_amount(I256::try_from(amount).unwrap(), decimals)
    }

    #[test]
    fn amounts_are_exact_with_at_least_two_places() {
        assert_eq!(fmt(1_000_000_000_000, 6), "1,000,000.00");
        assert_eq!(fmt(950_000_500_000, 6), "950,000.50");
        assert_eq!(fmt(999_999_999_999, 6), "999,999.999999");
        assert_eq!(fmt(-12_345_678, 6), "-12.345678");
        assert_eq!(fmt(5, 6), "0.000005");
        assert_eq!(fmt(0, 6), "0.00");
        assert_eq!(fmt(1_500_000_000_000_000_000, 18), "1.50");
        assert_eq!(fmt(1234, 0), "1,234.00");
    }
}
