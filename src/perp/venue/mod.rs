//! Where hedges are placed: the [`Venue`] trait and what it speaks. Quantities and prices
//! are decimals as the venue takes them (`rust_decimal`), never floats.

pub mod binance;
pub mod lot;
pub mod paper;

use std::future::Future;
use std::pin::Pin;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use lot::{LotRefusal, LotRule};

/// Buy opens or adds to a long; Sell a short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OrderSide {
    Buy,
    Sell,
}

impl OrderSide {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderSide::Buy => "BUY",
            OrderSide::Sell => "SELL",
        }
    }

    pub fn opposite(self) -> OrderSide {
        match self {
            OrderSide::Buy => OrderSide::Sell,
            OrderSide::Sell => OrderSide::Buy,
        }
    }

    /// `quantity` as a change of the net position: positive for a buy, negative for a sell.
    pub fn signed(self, quantity: Decimal) -> Decimal {
        match self {
            OrderSide::Buy => quantity,
            OrderSide::Sell => -quantity,
        }
    }

    pub fn parse(s: &str) -> Option<OrderSide> {
        match s.to_ascii_uppercase().as_str() {
            "BUY" => Some(OrderSide::Buy),
            "SELL" => Some(OrderSide::Sell),
            _ => None,
        }
    }
}

/// A market order. `client_order_id` is ours, journaled before sending, so an order whose
/// outcome is unknown is found again by it instead of being sent twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub symbol: String,
    pub side: OrderSide,
    /// Base-asset quantity. The desk proposes it already on the symbol's step
    /// ([`Venue::lot_rule`]); [`Venue::place_order`] still rounds down to the step and
    /// refuses what falls below its minimums, whoever asks.
    pub quantity: Decimal,
    pub reduce_only: bool,
    pub client_order_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderStatus {
    New,
    PartiallyFilled,
    Filled,
    Canceled,
    Rejected,
    Expired,
}

impl OrderStatus {
    /// Whether the order will not change any more.
    pub fn is_final(self) -> bool {
        !matches!(self, OrderStatus::New | OrderStatus::PartiallyFilled)
    }
}

/// An order as the venue reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderReport {
    pub client_order_id: String,
    /// The venue's own id (Binance `orderId`), when it has one.
    pub venue_order_id: Option<String>,
    pub symbol: String,
    pub side: OrderSide,
    pub status: OrderStatus,
    /// The quantity actually sent (after step rounding).
    pub quantity: Decimal,
    pub executed_qty: Decimal,
    /// Average fill price; zero when nothing filled.
    pub avg_price: Decimal,
    /// Fee paid in the quote asset (USDT), when the venue says it on the order.
    pub fee: Option<Decimal>,
}

/// A position the venue holds for us: signed quantity (negative is short).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenuePosition {
    pub symbol: String,
    pub quantity: Decimal,
    pub entry_price: Decimal,
    pub mark_price: Decimal,
    pub unrealized_pnl: Decimal,
    pub leverage: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VenueError {
    /// The request was refused and nothing was placed (bad quantity, filter, auth, ...).
    #[error("{venue} refused: {message}")]
    Refused { venue: String, message: String },
    /// The order may or may not have been placed (timeout, 503 "unknown"): reconcile by
    /// client order id before doing anything else with it.
    #[error("{venue}: outcome unknown for client order {client_order_id}: {message}")]
    Unknown {
        venue: String,
        client_order_id: String,
        message: String,
    },
    /// Rate limited or banned for a while (429/418); try again after `retry_after_secs`.
    #[error("{venue}: rate limited, retry after {retry_after_secs}s")]
    RateLimited {
        venue: String,
        retry_after_secs: u64,
    },
    /// The venue could not be reached or answered garbage; nothing is known to be placed.
    #[error("{venue} unavailable: {message}")]
    Unavailable { venue: String, message: String },
}

pub type VenueFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, VenueError>> + Send + 'a>>;

/// A perp venue. Implementations are cheap to share (`Arc<dyn Venue>`).
pub trait Venue: Send + Sync {
    /// `binance`, `paper`: what the journal and the pane call it.
    fn name(&self) -> &str;

    /// Sets leverage and isolated margin for `symbol` (idempotent; done before the first
    /// order on a symbol).
    fn prepare_symbol<'a>(&'a self, symbol: &'a str, leverage: u32) -> VenueFuture<'a, ()>;

    /// How `symbol`'s market-order quantities are rounded (toward zero, to the step) and
    /// bounded: the rule [`Venue::place_order`] applies, so the desk proposes exactly what
    /// will trade. `None`: the venue has no rule for it (a quantity is sent as it is).
    fn lot_rule<'a>(&'a self, symbol: &'a str) -> VenueFuture<'a, Option<LotRule>>;

    /// Places a market order, rounding the quantity down to the symbol's step and refusing
    /// one below its minimum quantity or notional (nothing is sent then).
    fn place_order<'a>(&'a self, order: &'a OrderRequest) -> VenueFuture<'a, OrderReport>;

    /// The order with our `client_order_id`, or `None` when the venue never received it.
    fn order<'a>(
        &'a self,
        symbol: &'a str,
        client_order_id: &'a str,
    ) -> VenueFuture<'a, Option<OrderReport>>;

    /// Our open positions (non-zero quantity), every symbol.
    fn positions(&self) -> VenueFuture<'_, Vec<VenuePosition>>;

    /// The mark price of `symbol`.
    fn mark_price<'a>(&'a self, symbol: &'a str) -> VenueFuture<'a, Decimal>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_side_signs_a_quantity() {
        let q: Decimal = "0.015".parse().unwrap();
        assert_eq!(OrderSide::Buy.signed(q), q);
        assert_eq!(OrderSide::Sell.signed(q), -q);
        assert_eq!(
            OrderSide::Sell.signed(q),
            OrderSide::Buy.opposite().signed(q)
        );
    }
}
