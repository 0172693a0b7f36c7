//! A symbol's order filters from `exchangeInfo`, applied to a market order before it is
//! sent: the quantity is rounded down to the step, and refused below the minimum quantity,
//! above the maximum, or below the minimum notional at the mark price.

use rust_decimal::Decimal;

use super::wire::Filter;

/// LOT_SIZE or MARKET_LOT_SIZE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LotRule {
    pub step: Decimal,
    pub min_qty: Decimal,
    pub max_qty: Decimal,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SymbolFilters {
    pub lot: Option<LotRule>,
    pub market_lot: Option<LotRule>,
    /// MIN_NOTIONAL's `notional` (quote asset).
    pub min_notional: Option<Decimal>,
}

/// Why a market order is not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterRefusal {
    #[error("quantity {0} is not positive")]
    NotPositive(Decimal),
    #[error("quantity {requested} rounds down to {rounded}, below the minimum {min_qty}")]
    BelowMinQty {
        requested: Decimal,
        rounded: Decimal,
        min_qty: Decimal,
    },
    #[error("quantity {rounded} is above the maximum {max_qty} for a market order")]
    AboveMaxQty { rounded: Decimal, max_qty: Decimal },
    #[error("notional {notional} (quantity {quantity} at mark {mark}) is below the minimum {min}")]
    BelowMinNotional {
        quantity: Decimal,
        mark: Decimal,
        notional: Decimal,
        min: Decimal,
    },
}

impl SymbolFilters {
    pub fn from_exchange_filters(filters: &[Filter]) -> Self {
        let mut out = SymbolFilters::default();
        for filter in filters {
            match *filter {
                Filter::LotSize {
                    step_size,
                    min_qty,
                    max_qty,
                } => {
                    out.lot = Some(LotRule {
                        step: step_size,
                        min_qty,
                        max_qty,
                    })
                }
                Filter::MarketLotSize {
                    step_size,
                    min_qty,
                    max_qty,
                } => {
                    out.market_lot = Some(LotRule {
                        step: step_size,
                        min_qty,
                        max_qty,
                    })
                }
                Filter::MinNotional { notional } => out.min_notional = Some(notional),
                Filter::Other => {}
            }
        }
        out
    }

    /// The rule a market order follows: MARKET_LOT_SIZE, else LOT_SIZE. A zero step in
    /// MARKET_LOT_SIZE (Binance writes that for "same as LOT_SIZE") takes LOT_SIZE's step.
    pub fn market_rule(&self) -> Option<LotRule> {
        match (self.market_lot, self.lot) {
            (Some(market), Some(lot)) if market.step.is_zero() => Some(LotRule {
                step: lot.step,
                ..market
            }),
            (Some(market), _) => Some(market),
            (None, lot) => lot,
        }
    }

    /// `requested` rounded down to the market step, refused when it falls below the minimum
    /// quantity or lies above the maximum (refused, not clamped: a silently smaller hedge
    /// would leave the vault under-hedged without anyone knowing).
    pub fn market_quantity(&self, requested: Decimal) -> Result<Decimal, FilterRefusal> {
        if requested <= Decimal::ZERO {
            return Err(FilterRefusal::NotPositive(requested));
        }
        let Some(rule) = self.market_rule() else {
            return Ok(requested.normalize());
        };
        let rounded = round_down(requested, rule.step);
        if rounded.is_zero() || rounded < rule.min_qty {
            return Err(FilterRefusal::BelowMinQty {
                requested,
                rounded,
                min_qty: rule.min_qty,
            });
        }
        if rule.max_qty > Decimal::ZERO && rounded > rule.max_qty {
            return Err(FilterRefusal::AboveMaxQty {
                rounded,
                max_qty: rule.max_qty,
            });
        }
        Ok(rounded)
    }

    /// Whether the MIN_NOTIONAL filter needs the mark price for this order (a reduce-only
    /// close is exempt, as on Binance).
    pub fn needs_mark_price(&self, reduce_only: bool) -> bool {
        !reduce_only && self.min_notional.is_some()
    }

    pub fn check_notional(
        &self,
        quantity: Decimal,
        mark: Decimal,
        reduce_only: bool,
    ) -> Result<(), FilterRefusal> {
        let Some(min) = self.min_notional else {
            return Ok(());
        };
        let notional = quantity * mark;
        if reduce_only || notional >= min {
            Ok(())
        } else {
            Err(FilterRefusal::BelowMinNotional {
                quantity,
                mark,
                notional: notional.normalize(),
                min,
            })
        }
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

    fn btc() -> SymbolFilters {
        SymbolFilters {
            lot: Some(LotRule {
                step: d("0.001"),
                min_qty: d("0.001"),
                max_qty: d("1000"),
            }),
            market_lot: Some(LotRule {
                step: d("0.001"),
                min_qty: d("0.002"),
                max_qty: d("120"),
            }),
            min_notional: Some(d("100")),
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

    #[test]
    fn market_quantity_uses_market_lot_size() {
        let filters = btc();
        assert_eq!(filters.market_quantity(d("0.0159")), Ok(d("0.015")));
        assert_eq!(filters.market_quantity(d("0.0029")), Ok(d("0.002")));
        // 0.0019 rounds to 0.001, under MARKET_LOT_SIZE's 0.002 (LOT_SIZE would allow it).
        assert_eq!(
            filters.market_quantity(d("0.0019")),
            Err(FilterRefusal::BelowMinQty {
                requested: d("0.0019"),
                rounded: d("0.001"),
                min_qty: d("0.002"),
            })
        );
        assert_eq!(
            filters.market_quantity(d("120.5")),
            Err(FilterRefusal::AboveMaxQty {
                rounded: d("120.5"),
                max_qty: d("120"),
            })
        );
        assert_eq!(filters.market_quantity(d("120")), Ok(d("120")));
        assert_eq!(
            filters.market_quantity(Decimal::ZERO),
            Err(FilterRefusal::NotPositive(Decimal::ZERO))
        );
    }

    #[test]
    fn falls_back_to_lot_size() {
        let filters = SymbolFilters {
            market_lot: None,
            ..btc()
        };
        assert_eq!(filters.market_quantity(d("0.0019")), Ok(d("0.001")));
        assert_eq!(filters.market_quantity(d("999.9999")), Ok(d("999.999")));

        let zero_step = SymbolFilters {
            market_lot: Some(LotRule {
                step: Decimal::ZERO,
                min_qty: d("0.001"),
                max_qty: d("50"),
            }),
            ..btc()
        };
        assert_eq!(zero_step.market_quantity(d("0.0159")), Ok(d("0.015")));
        assert!(zero_step.market_quantity(d("51")).is_err());
    }

    #[test]
    fn min_notional_at_mark_price_and_reduce_only_exemption() {
        let filters = btc();
        assert!(filters.needs_mark_price(false));
        assert!(!filters.needs_mark_price(true));
        assert_eq!(
            filters.check_notional(d("0.002"), d("50000"), false),
            Ok(())
        );
        assert_eq!(
            filters.check_notional(d("0.001"), d("50000"), false),
            Err(FilterRefusal::BelowMinNotional {
                quantity: d("0.001"),
                mark: d("50000"),
                notional: d("50"),
                min: d("100"),
            })
        );
        assert_eq!(filters.check_notional(d("0.001"), d("50000"), true), Ok(()));
        let none = SymbolFilters {
            min_notional: None,
            ..btc()
        };
        assert!(!none.needs_mark_price(false));
        assert_eq!(none.check_notional(d("0.001"), d("1"), false), Ok(()));
    }

    #[test]
    fn reads_filters_from_exchange_info() {
        let filters = SymbolFilters::from_exchange_filters(&[
            Filter::Other,
            Filter::LotSize {
                step_size: d("0.001"),
                min_qty: d("0.001"),
                max_qty: d("1000"),
            },
            Filter::MarketLotSize {
                step_size: d("0.001"),
                min_qty: d("0.002"),
                max_qty: d("120"),
            },
            Filter::MinNotional { notional: d("100") },
        ]);
        assert_eq!(filters, btc());
    }
}
