//! A symbol's order filters from `exchangeInfo`, applied to a market order before it is
//! sent: the quantity is rounded down to the step, and refused below the minimum quantity,
//! above the maximum, or below the minimum notional at the mark price.

use rust_decimal::Decimal;

use super::wire::Filter;
pub use crate::perp::venue::lot::{LotRefusal, LotRule, is_multiple_of_step, round_down};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SymbolFilters {
    /// LOT_SIZE.
    pub lot: Option<LotRule>,
    /// MARKET_LOT_SIZE.
    pub market_lot: Option<LotRule>,
    /// MIN_NOTIONAL's `notional` (quote asset).
    pub min_notional: Option<Decimal>,
}

/// Why a market order is not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterRefusal {
    /// Off the lot rule (LOT_SIZE / MARKET_LOT_SIZE).
    #[error(transparent)]
    Quantity(#[from] LotRefusal),
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
    /// quantity or lies above the maximum (see [`LotRule::market_quantity`]).
    pub fn market_quantity(&self, requested: Decimal) -> Result<Decimal, FilterRefusal> {
        Ok(crate::perp::venue::lot::market_quantity(
            self.market_rule(),
            requested,
        )?)
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
    fn market_quantity_uses_market_lot_size() {
        let filters = btc();
        assert_eq!(filters.market_quantity(d("0.0159")), Ok(d("0.015")));
        assert_eq!(filters.market_quantity(d("0.0029")), Ok(d("0.002")));
        // 0.0019 rounds to 0.001, under MARKET_LOT_SIZE's 0.002 (LOT_SIZE would allow it).
        assert_eq!(
            filters.market_quantity(d("0.0019")),
            Err(FilterRefusal::Quantity(LotRefusal::BelowMinQty {
                requested: d("0.0019"),
                rounded: d("0.001"),
                step: d("0.001"),
                min_qty: d("0.002"),
            }))
        );
        assert_eq!(
            filters.market_quantity(d("120.5")),
            Err(FilterRefusal::Quantity(LotRefusal::AboveMaxQty {
                rounded: d("120.5"),
                max_qty: d("120"),
            }))
        );
        assert_eq!(filters.market_quantity(d("120")), Ok(d("120")));
        assert_eq!(
            filters.market_quantity(Decimal::ZERO),
            Err(FilterRefusal::Quantity(LotRefusal::NotPositive(
                Decimal::ZERO
            )))
        );
        // What the venue says is what the desk rounds a proposal to.
        assert_eq!(
            filters.market_rule(),
            Some(LotRule {
                step: d("0.001"),
                min_qty: d("0.002"),
                max_qty: d("120"),
            })
        );
        assert_eq!(filters.market_quantity(d("12.9467831")), Ok(d("12.946")));
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
