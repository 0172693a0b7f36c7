//! The paper venue: market orders fill at once at the symbol's mark price (which the desk
//! sets from the oracle prices it reads), less a taker fee, and every fill is persisted, so
//! dry runs and the demo hedge exactly as the desk would on Binance, restarts included.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use rust_decimal::{Decimal, RoundingStrategy};

use super::lot::round_down;
use super::{
    LotRule, OrderReport, OrderRequest, OrderSide, OrderStatus, Venue, VenueError, VenueFuture,
    VenuePosition,
};
use crate::store::Store;
use crate::store::perp::PaperFill;

/// Paper quantities are kept to this many decimals (Binance's BTCUSDT step is 0.001).
pub const QUANTITY_DP: u32 = 3;
const NAME: &str = "paper";

/// Every paper symbol's rule: steps of 10^-[`QUANTITY_DP`] (rounded toward zero), at least
/// one step, no maximum.
pub fn lot_rule() -> LotRule {
    let step = Decimal::new(1, QUANTITY_DP);
    LotRule {
        step,
        min_qty: step,
        max_qty: Decimal::ZERO,
    }
}

/// Mark prices by symbol, shared between the desk (which sets them) and the venue.
#[derive(Debug, Clone, Default)]
pub struct PaperMarks(Arc<RwLock<BTreeMap<String, Decimal>>>);

impl PaperMarks {
    pub fn set(&self, symbol: &str, price: Decimal) {
        self.0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(symbol.to_string(), price);
    }

    pub fn get(&self, symbol: &str) -> Option<Decimal> {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(symbol)
            .copied()
    }
}

#[derive(Debug, Clone)]
pub struct PaperVenue {
    store: Store,
    marks: PaperMarks,
    /// Taker fee in basis points of the notional.
    fee_bps: u32,
    leverage: Arc<RwLock<BTreeMap<String, u32>>>,
}

fn refused(message: impl Into<String>) -> VenueError {
    VenueError::Refused {
        venue: NAME.into(),
        message: message.into(),
    }
}

fn unavailable(e: impl std::fmt::Display) -> VenueError {
    VenueError::Unavailable {
        venue: NAME.into(),
        message: format!("the paper journal: {e}"),
    }
}

/// A symbol's net position from its fills, with the average-cost entry price.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Net {
    pub quantity: Decimal,
    pub entry_price: Decimal,
}

impl Net {
    pub fn apply(&mut self, side: OrderSide, quantity: Decimal, price: Decimal) {
        let delta = side.signed(quantity);
        let next = self.quantity + delta;
        if self.quantity.is_zero() || self.quantity.is_sign_positive() == delta.is_sign_positive() {
            // Adding: the entry is the size-weighted average.
            let total = self.quantity.abs() + quantity;
            self.entry_price = (self.entry_price * self.quantity.abs() + price * quantity) / total;
        } else if next.is_zero() {
            self.entry_price = Decimal::ZERO;
        } else if next.is_sign_positive() != self.quantity.is_sign_positive() {
            // Flipped through zero: what remains was opened at this fill.
            self.entry_price = price;
        }
        self.quantity = next;
    }
}

impl PaperVenue {
    pub fn new(store: Store, marks: PaperMarks, fee_bps: u32) -> Self {
        PaperVenue {
            store,
            marks,
            fee_bps,
            leverage: Arc::default(),
        }
    }

    pub fn marks(&self) -> &PaperMarks {
        &self.marks
    }

    async fn nets(&self) -> Result<BTreeMap<String, Net>, VenueError> {
        let mut nets: BTreeMap<String, Net> = BTreeMap::new();
        for f in self.store.paper_fills().await.map_err(unavailable)? {
            nets.entry(f.symbol)
                .or_default()
                .apply(f.side, f.quantity, f.price);
        }
        Ok(nets)
    }

    fn report(fill: &PaperFill) -> OrderReport {
        OrderReport {
            client_order_id: fill.client_order_id.clone(),
            venue_order_id: Some(format!("paper-{}", fill.client_order_id)),
            symbol: fill.symbol.clone(),
            side: fill.side,
            status: OrderStatus::Filled,
            quantity: fill.quantity,
            executed_qty: fill.quantity,
            avg_price: fill.price,
            fee: Some(fill.fee),
        }
    }

    async fn place(&self, order: &OrderRequest) -> Result<OrderReport, VenueError> {
        if let Some(done) = self
            .store
            .paper_fill(&order.client_order_id)
            .await
            .map_err(unavailable)?
        {
            return Ok(Self::report(&done));
        }
        let price = self
            .marks
            .get(&order.symbol)
            .ok_or_else(|| refused(format!("no mark price for {}", order.symbol)))?;
        let step = lot_rule().step;
        let mut quantity = round_down(order.quantity, step);
        if order.reduce_only {
            let held = self
                .nets()
                .await?
                .get(&order.symbol)
                .map_or(Decimal::ZERO, |n| n.quantity);
            let reduces =
                !held.is_zero() && held.is_sign_positive() == (order.side == OrderSide::Sell);
            if !reduces {
                return Err(refused(format!(
                    "reduceOnly {} {} would not reduce the position ({held})",
                    order.side.as_str(),
                    order.symbol
                )));
            }
            quantity = quantity.min(held.abs());
        }
        if quantity <= Decimal::ZERO {
            return Err(refused(format!(
                "quantity {} is below the step {step}",
                order.quantity
            )));
        }
        let fee = (quantity * price * Decimal::from(self.fee_bps) / Decimal::from(10_000))
            .round_dp_with_strategy(8, RoundingStrategy::AwayFromZero);
        let fill = self
            .store
            .paper_record_fill(PaperFill {
                client_order_id: order.client_order_id.clone(),
                symbol: order.symbol.clone(),
                side: order.side,
                quantity,
                price,
                fee,
                reduce_only: order.reduce_only,
                filled_at: chrono::Utc::now().timestamp(),
            })
            .await
            .map_err(unavailable)?;
        Ok(Self::report(&fill))
    }
}

impl Venue for PaperVenue {
    fn name(&self) -> &str {
        NAME
    }

    fn prepare_symbol<'a>(&'a self, symbol: &'a str, leverage: u32) -> VenueFuture<'a, ()> {
        Box::pin(async move {
            self.leverage
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(symbol.to_string(), leverage);
            Ok(())
        })
    }

    fn lot_rule<'a>(&'a self, _symbol: &'a str) -> VenueFuture<'a, Option<LotRule>> {
        Box::pin(async { Ok(Some(lot_rule())) })
    }

    fn place_order<'a>(&'a self, order: &'a OrderRequest) -> VenueFuture<'a, OrderReport> {
        Box::pin(self.place(order))
    }

    fn order<'a>(
        &'a self,
        _symbol: &'a str,
        client_order_id: &'a str,
    ) -> VenueFuture<'a, Option<OrderReport>> {
        Box::pin(async move {
            Ok(self
                .store
                .paper_fill(client_order_id)
                .await
                .map_err(unavailable)?
                .as_ref()
                .map(Self::report))
        })
    }

    fn positions(&self) -> VenueFuture<'_, Vec<VenuePosition>> {
        Box::pin(async move {
            let leverage = self
                .leverage
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            Ok(self
                .nets()
                .await?
                .into_iter()
                .filter(|(_, n)| !n.quantity.is_zero())
                .map(|(symbol, n)| {
                    let mark = self.marks.get(&symbol).unwrap_or(n.entry_price);
                    VenuePosition {
                        leverage: leverage.get(&symbol).copied().unwrap_or(1),
                        unrealized_pnl: n.quantity * (mark - n.entry_price),
                        symbol,
                        quantity: n.quantity,
                        entry_price: n.entry_price,
                        mark_price: mark,
                    }
                })
                .collect())
        })
    }

    fn mark_price<'a>(&'a self, symbol: &'a str) -> VenueFuture<'a, Decimal> {
        Box::pin(async move {
            self.marks
                .get(symbol)
                .ok_or_else(|| refused(format!("no mark price for {symbol}")))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn order(client: &str, side: OrderSide, qty: &str, reduce_only: bool) -> OrderRequest {
        OrderRequest {
            symbol: "BTCUSDT".into(),
            side,
            quantity: d(qty),
            reduce_only,
            client_order_id: client.into(),
        }
    }

    #[test]
    fn average_cost_entry_through_adds_reductions_and_a_flip() {
        let mut n = Net::default();
        n.apply(OrderSide::Buy, d("1"), d("100"));
        n.apply(OrderSide::Buy, d("3"), d("200"));
        assert_eq!((n.quantity, n.entry_price), (d("4"), d("175")));
        n.apply(OrderSide::Sell, d("1"), d("300"));
        assert_eq!((n.quantity, n.entry_price), (d("3"), d("175")));
        n.apply(OrderSide::Sell, d("5"), d("250"));
        assert_eq!((n.quantity, n.entry_price), (d("-2"), d("250")));
        n.apply(OrderSide::Buy, d("2"), d("240"));
        assert_eq!((n.quantity, n.entry_price), (d("0"), d("0")));
    }

    /// The rule the desk rounds a proposal to is the rounding of a fill.
    #[tokio::test]
    async fn its_lot_rule_is_how_it_fills() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.sqlite"), Duration::from_secs(5)).unwrap();
        let marks = PaperMarks::default();
        marks.set("BTCUSDT", d("60000"));
        let venue = PaperVenue::new(store, marks, 4);
        let rule = venue.lot_rule("BTCUSDT").await.unwrap().unwrap();
        assert_eq!(rule.step, d("0.001"));
        let proposed = rule.market_quantity(d("12.9467831")).unwrap();
        assert_eq!(proposed.to_string(), "12.946");
        let filled = venue
            .place_order(&order("r", OrderSide::Buy, "12.9467831", false))
            .await
            .unwrap();
        assert_eq!(filled.executed_qty, proposed);
        // Below one step: refused by the rule, and by the venue, naming the step.
        assert!(rule.market_quantity(d("0.0009")).is_err());
        let e = venue
            .place_order(&order("s", OrderSide::Buy, "0.0009", false))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "paper refused: quantity 0.0009 is below the step 0.001"
        );
    }

    #[tokio::test]
    async fn fills_at_the_mark_with_a_fee_once_per_client_order_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.sqlite"), Duration::from_secs(5)).unwrap();
        let marks = PaperMarks::default();
        let venue = PaperVenue::new(store.clone(), marks.clone(), 4);
        assert!(matches!(
            venue
                .place_order(&order("a", OrderSide::Buy, "1", false))
                .await,
            Err(VenueError::Refused { .. })
        ));
        marks.set("BTCUSDT", d("60000"));
        let filled = venue
            .place_order(&order("a", OrderSide::Buy, "0.12345", false))
            .await
            .unwrap();
        assert_eq!(filled.status, OrderStatus::Filled);
        assert_eq!(
            (filled.executed_qty, filled.avg_price),
            (d("0.123"), d("60000"))
        );
        // 0.123 × 60,000 × 4 bps = 2.952
        assert_eq!(filled.fee, Some(d("2.952")));
        // The same client order id again: the same fill, nothing new.
        marks.set("BTCUSDT", d("61000"));
        let again = venue
            .place_order(&order("a", OrderSide::Buy, "0.5", false))
            .await
            .unwrap();
        assert_eq!(again, filled);
        assert_eq!(store.paper_fills().await.unwrap().len(), 1);
        let positions = venue.positions().await.unwrap();
        assert_eq!(positions.len(), 1);
        assert_eq!(positions[0].quantity, d("0.123"));
        assert_eq!(positions[0].unrealized_pnl, d("123.000"));

        // reduceOnly in the position's own direction is refused; a close is capped to it.
        assert!(matches!(
            venue
                .place_order(&order("b", OrderSide::Buy, "0.1", true))
                .await,
            Err(VenueError::Refused { .. })
        ));
        let closed = venue
            .place_order(&order("c", OrderSide::Sell, "1", true))
            .await
            .unwrap();
        assert_eq!(closed.executed_qty, d("0.123"));
        assert!(venue.positions().await.unwrap().is_empty());
        assert_eq!(
            venue
                .order("BTCUSDT", "c")
                .await
                .unwrap()
                .unwrap()
                .avg_price,
            d("61000")
        );
        assert_eq!(venue.order("BTCUSDT", "zz").await.unwrap(), None);
    }
}
