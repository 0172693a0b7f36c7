//! A symbol's lot rule: the step its market-order quantities are multiples of, and their
//! minimum and maximum. Each venue says its own ([`Venue::lot_rule`](super::Venue::lot_rule));
//! the desk rounds a hedge to it before proposing it, so the action the operator approves
//! says exactly what will trade, and the venue applies the same rule when the order is sent.

use rust_decimal::Decimal;

/// Binance's LOT_SIZE or MARKET_LOT_SIZE; the paper venue's fixed step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LotRule {
    /// Quantities are rounded toward zero to a multiple of it (not positive: not rounded).
    pub step: Decimal,
    pub min_qty: Decimal,
    /// Not positive: no maximum.
    pub max_qty: Decimal,
}

/// Why a quantity is not traded (nothing is proposed or sent).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LotRefusal {
    #[error("quantity {0} is not positive")]
    NotPositive(Decimal),
    #[error(
        "quantity {requested} rounds down to {rounded} at step {step}, below the minimum {min_qty}"
    )]
    BelowMinQty {
        requested: Decimal,
        rounded: Decimal,
        step: Decimal,
        min_qty: Decimal,
    },
    #[error("quantity {rounded} is above the maximum {max_qty} for a market order")]
    AboveMaxQty { rounded: Decimal, max_qty: Decimal },
}

impl LotRule {
    /// `requested` rounded down to the step, refused when it falls below the minimum
    /// quantity (or to zero) or lies above the maximum (refused, not clamped: a silently
    /// smaller hedge would leave the vault under-hedged without anyone knowing).
    pub fn market_quantity(&self, requested: Decimal) -> Result<Decimal, LotRefusal> {
        if requested <= Decimal::ZERO {
            return Err(LotRefusal::NotPositive(requested));
        }
        let rounded = round_down(requested, self.step);
        if rounded.is_zero() || rounded < self.min_qty {
            return Err(LotRefusal::BelowMinQty {
                requested,
                rounded,
                step: self.step.normalize(),
                min_qty: self.min_qty.normalize(),
            });
        }
        if self.max_qty > Decimal::ZERO && rounded > self.max_qty {
            return Err(LotRefusal::AboveMaxQty {
                rounded,
                max_qty: self.max_qty.normalize(),
            });
        }
        Ok(rounded)
    }
}

/// `requested` as a market order of a symbol with `rule` trades it; with no rule (the
/// venue has none for the symbol) as it is, if positive.
pub fn market_quantity(rule: Option<LotRule>, requested: Decimal) -> Result<Decimal, LotRefusal> {
    match rule {
        Some(rule) => rule.market_quantity(requested),
        None if requested <= Decimal::ZERO => Err(LotRefusal::NotPositive(requested)),
        None => Ok(requested.normalize()),
    }
}

/// `quantity` rounded down to a multiple of `step` (unchanged when `step` is not positive).
pub fn round_down(quantity: Decimal, step: Decimal) -> Decimal {
    if step <= Decimal::ZERO {
        return quantity.normalize();
    }
    (quantity - quantity % step).normalize()
}

/// Whether `quantity` is a whole multiple of `step`.
pub fn is_multiple_of_step(quantity: Decimal, step: Decimal) -> bool {
    step <= Decimal::ZERO || (quantity % step).is_zero()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn btc() -> LotRule {
        LotRule {
            step: d("0.001"),
            min_qty: d("0.002"),
            max_qty: d("120"),
        }
    }

    #[test]
    fn rounds_down_to_the_step() {
        assert_eq!(round_down(d("0.0159"), d("0.001")), d("0.015"));
        assert_eq!(round_down(d("7"), d("5")), d("5"));
        assert_eq!(round_down(d("0.015"), d("0.001")), d("0.015"));
        assert_eq!(round_down(d("1.23"), Decimal::ZERO), d("1.23"));
        assert_eq!(round_down(d("0.015000"), d("0.001")).to_string(), "0.015");
    }

    #[test]
    fn multiple_of_step() {
        assert!(is_multiple_of_step(d("0.015"), d("0.001")));
        assert!(!is_multiple_of_step(d("0.0155"), d("0.001")));
        assert!(is_multiple_of_step(d("10"), d("5")));
    }

    /// The vectors the desk's proposals are pinned to: toward zero, never up.
    #[test]
    fn a_hedge_quantity_is_rounded_toward_zero_to_the_step_or_refused() {
        let rule = btc();
        for (requested, traded) in [
            ("12.9467831", "12.946"),
            ("6.94444444", "6.944"),
            ("0.0029999", "0.002"),
            ("0.002", "0.002"),
            ("120", "120"),
        ] {
            let rounded = rule.market_quantity(d(requested)).unwrap();
            assert_eq!(rounded.to_string(), traded, "{requested}");
        }

        // 0.0019 rounds to 0.001, under the minimum 0.002; 0.0004 rounds to nothing.
        let below = rule.market_quantity(d("0.0019")).unwrap_err();
        assert_eq!(
            below,
            LotRefusal::BelowMinQty {
                requested: d("0.0019"),
                rounded: d("0.001"),
                step: d("0.001"),
                min_qty: d("0.002"),
            }
        );
        assert_eq!(
            below.to_string(),
            "quantity 0.0019 rounds down to 0.001 at step 0.001, below the minimum 0.002"
        );
        let nothing = rule.market_quantity(d("0.0004")).unwrap_err();
        assert_eq!(
            nothing.to_string(),
            "quantity 0.0004 rounds down to 0 at step 0.001, below the minimum 0.002"
        );
        assert_eq!(
            rule.market_quantity(d("120.5")).unwrap_err().to_string(),
            "quantity 120.5 is above the maximum 120 for a market order"
        );
        assert_eq!(
            rule.market_quantity(Decimal::ZERO),
            Err(LotRefusal::NotPositive(Decimal::ZERO))
        );
    }

    #[test]
    fn without_a_rule_a_positive_quantity_is_taken_as_it_is() {
        assert_eq!(market_quantity(None, d("12.94678310")), Ok(d("12.9467831")));
        assert_eq!(
            market_quantity(None, d("-1")),
            Err(LotRefusal::NotPositive(d("-1")))
        );
        assert_eq!(
            market_quantity(Some(btc()), d("12.9467831")),
            Ok(d("12.946"))
        );
    }
}
