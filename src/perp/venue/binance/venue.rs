//! [`BinanceVenue`]: the [`Venue`] trait over Binance's USDT-M futures endpoints.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::Method;
use rust_decimal::Decimal;
use secrecy::ExposeSecret;

use super::filters::SymbolFilters;
use super::transport::{Call, CallError, Transport, TransportSettings, parse, unavailable};
use super::{BinanceSettings, BinanceSetupError, MAX_RECV_WINDOW_MS, VENUE, wire};
use crate::perp::venue::{
    LotRule, OrderReport, OrderRequest, OrderSide, OrderStatus, Venue, VenueError, VenueFuture,
    VenuePosition,
};

/// "Order does not exist."
const CODE_NO_SUCH_ORDER: i64 = -2013;
/// "No need to change margin type." (it is already what we asked for)
const CODE_MARGIN_TYPE_UNCHANGED: i64 = -4046;
/// A symbol missing from `exchangeInfo` is refused without reloading it for this long.
const UNKNOWN_SYMBOL_RECHECK: Duration = Duration::from_secs(60);

/// A Binance USDT-M futures account. Share it as `Arc<dyn Venue>`.
pub struct BinanceVenue {
    transport: Transport,
    /// Per symbol, from `exchangeInfo` (loaded once, reloaded for a symbol it lacks).
    filters: Mutex<HashMap<String, SymbolFilters>>,
    /// Symbols the last `exchangeInfo` lacked, with when it was loaded: asked for again,
    /// they are refused without a reload until [`UNKNOWN_SYMBOL_RECHECK`] has passed.
    unknown_symbols: Mutex<HashMap<String, Instant>>,
    /// Symbols whose leverage and margin type are set, with that leverage.
    prepared: Mutex<HashMap<String, u32>>,
}

impl std::fmt::Debug for BinanceVenue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinanceVenue")
            .field("base_url", &crate::chain::redact_url(self.transport.base()))
            .finish_non_exhaustive()
    }
}

impl BinanceVenue {
    /// Checks the settings; nothing is sent until the first call.
    pub fn new(settings: BinanceSettings) -> Result<Self, BinanceSetupError> {
        let base = settings.base_url.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(BinanceSetupError::BaseUrl {
                url: crate::chain::redact_url(&settings.base_url),
            });
        }
        if !(1..=MAX_RECV_WINDOW_MS).contains(&settings.recv_window_ms) {
            return Err(BinanceSetupError::RecvWindow(settings.recv_window_ms));
        }
        if settings.api_key.expose_secret().trim().is_empty()
            || settings.api_secret.expose_secret().is_empty()
        {
            return Err(BinanceSetupError::MissingCredentials);
        }
        let transport = Transport::new(TransportSettings {
            base,
            api_key: settings.api_key,
            api_secret: settings.api_secret,
            recv_window_ms: settings.recv_window_ms,
            timeout: settings.timeout,
            max_retry_wait: settings.max_retry_wait,
        })?;
        Ok(Self {
            transport,
            filters: Mutex::new(HashMap::new()),
            unknown_symbols: Mutex::new(HashMap::new()),
            prepared: Mutex::new(HashMap::new()),
        })
    }

    /// Measures the server-time offset now (it is otherwise measured before the first
    /// signed request and after a -1021). Returns server minus local time in ms.
    pub async fn sync_time(&self) -> Result<i64, VenueError> {
        self.transport.sync_time().await
    }

    /// The last measured server-time offset (ms; 0 before the first measurement).
    pub fn time_offset_ms(&self) -> i64 {
        self.transport.offset_ms()
    }

    /// `symbol`'s filters, from the cache or a fresh `exchangeInfo`.
    pub async fn symbol_filters(&self, symbol: &str) -> Result<SymbolFilters, VenueError> {
        if let Some(cached) = self.cached_filters(symbol) {
            return Ok(cached);
        }
        let not_listed = || VenueError::Refused {
            venue: VENUE.into(),
            message: format!("{symbol} is not a symbol of this exchange (exchangeInfo)"),
        };
        if self.recently_unknown(symbol) {
            return Err(not_listed());
        }
        self.reload_exchange_info().await?;
        match self.cached_filters(symbol) {
            Some(filters) => Ok(filters),
            None => {
                self.unknown_symbols
                    .lock()
                    .expect("not poisoned")
                    .insert(symbol.to_string(), Instant::now());
                Err(not_listed())
            }
        }
    }

    /// Whether `symbol` was missing from an `exchangeInfo` loaded less than
    /// [`UNKNOWN_SYMBOL_RECHECK`] ago.
    fn recently_unknown(&self, symbol: &str) -> bool {
        let mut unknown = self.unknown_symbols.lock().expect("not poisoned");
        match unknown.get(symbol) {
            Some(at) if at.elapsed() < UNKNOWN_SYMBOL_RECHECK => true,
            Some(_) => {
                unknown.remove(symbol);
                false
            }
            None => false,
        }
    }

    /// Reloads every symbol's filters from `GET /fapi/v1/exchangeInfo`.
    pub async fn reload_exchange_info(&self) -> Result<(), VenueError> {
        let path = "/fapi/v1/exchangeInfo";
        let body = self
            .transport
            .public_get(path, &[])
            .await
            .map_err(CallError::into_venue)?;
        let info: wire::ExchangeInfo = parse(&body, path)?;
        let loaded: HashMap<String, SymbolFilters> = info
            .symbols
            .into_iter()
            .map(|s| (s.symbol, SymbolFilters::from_exchange_filters(&s.filters)))
            .collect();
        self.unknown_symbols
            .lock()
            .expect("not poisoned")
            .retain(|symbol, _| !loaded.contains_key(symbol));
        *self.filters.lock().expect("not poisoned") = loaded;
        Ok(())
    }

    fn cached_filters(&self, symbol: &str) -> Option<SymbolFilters> {
        self.filters
            .lock()
            .expect("not poisoned")
            .get(symbol)
            .cloned()
    }

    fn prepared_leverage(&self, symbol: &str) -> Option<u32> {
        self.prepared
            .lock()
            .expect("not poisoned")
            .get(symbol)
            .copied()
    }

    async fn set_up_symbol(&self, symbol: &str, leverage: u32) -> Result<(), VenueError> {
        if self.prepared_leverage(symbol) == Some(leverage) {
            return Ok(());
        }
        let symbol_param = ("symbol", symbol.to_string());
        self.transport
            .signed(
                Method::POST,
                "/fapi/v1/leverage",
                &[symbol_param.clone(), ("leverage", leverage.to_string())],
                Call::Idempotent,
            )
            .await
            .map_err(CallError::into_venue)?;
        let margin = self
            .transport
            .signed(
                Method::POST,
                "/fapi/v1/marginType",
                &[symbol_param, ("marginType", "ISOLATED".into())],
                Call::Idempotent,
            )
            .await;
        match margin {
            Ok(_) => {}
            Err(CallError::Api { code, .. }) if code == CODE_MARGIN_TYPE_UNCHANGED => {}
            Err(e) => return Err(e.into_venue()),
        }
        self.prepared
            .lock()
            .expect("not poisoned")
            .insert(symbol.to_string(), leverage);
        Ok(())
    }

    async fn send_order(&self, order: &OrderRequest) -> Result<OrderReport, VenueError> {
        let filters = self.symbol_filters(&order.symbol).await?;
        let refused = |reason: super::FilterRefusal| VenueError::Refused {
            venue: VENUE.into(),
            message: format!("{} {}: {reason}", order.symbol, order.client_order_id),
        };
        let quantity = filters.market_quantity(order.quantity).map_err(refused)?;
        if filters.needs_mark_price(order.reduce_only) {
            let mark = self.fetch_mark_price(&order.symbol).await?;
            filters
                .check_notional(quantity, mark, order.reduce_only)
                .map_err(refused)?;
        }
        let mut params = vec![
            ("symbol", order.symbol.clone()),
            ("side", order.side.as_str().to_string()),
            ("type", "MARKET".to_string()),
            ("quantity", quantity.to_string()),
            ("newClientOrderId", order.client_order_id.clone()),
            ("newOrderRespType", "RESULT".to_string()),
        ];
        if order.reduce_only {
            params.push(("reduceOnly", "true".to_string()));
        }
        tracing::info!(
            symbol = %order.symbol,
            side = order.side.as_str(),
            %quantity,
            reduce_only = order.reduce_only,
            client_order_id = %order.client_order_id,
            "binance: placing market order"
        );
        let path = "/fapi/v1/order";
        let body = self
            .transport
            .signed(
                Method::POST,
                path,
                &params,
                Call::Order {
                    client_order_id: &order.client_order_id,
                },
            )
            .await
            .map_err(CallError::into_venue)?;
        placed_report(&body, &order.client_order_id)
    }

    async fn find_order(
        &self,
        symbol: &str,
        client_order_id: &str,
    ) -> Result<Option<OrderReport>, VenueError> {
        let path = "/fapi/v1/order";
        let answer = self
            .transport
            .signed(
                Method::GET,
                path,
                &[
                    ("symbol", symbol.to_string()),
                    ("origClientOrderId", client_order_id.to_string()),
                ],
                Call::Idempotent,
            )
            .await;
        match answer {
            Ok(body) => report(parse(&body, path)?).map(Some),
            Err(CallError::Api { code, .. }) if code == CODE_NO_SUCH_ORDER => Ok(None),
            Err(e) => Err(e.into_venue()),
        }
    }

    async fn fetch_positions(&self) -> Result<Vec<VenuePosition>, VenueError> {
        let path = "/fapi/v3/positionRisk";
        let body = self
            .transport
            .signed(Method::GET, path, &[], Call::Idempotent)
            .await
            .map_err(CallError::into_venue)?;
        let rows: Vec<wire::PositionRisk> = parse(&body, path)?;
        Ok(rows
            .into_iter()
            .filter(|row| !row.position_amt.is_zero())
            .map(|row| VenuePosition {
                leverage: self
                    .prepared_leverage(&row.symbol)
                    .or_else(|| row.implied_leverage())
                    .unwrap_or(0),
                symbol: row.symbol,
                quantity: row.position_amt.normalize(),
                entry_price: row.entry_price.normalize(),
                mark_price: row.mark_price.normalize(),
                unrealized_pnl: row.un_realized_profit.normalize(),
            })
            .collect())
    }

    async fn fetch_mark_price(&self, symbol: &str) -> Result<Decimal, VenueError> {
        let path = "/fapi/v1/premiumIndex";
        let body = self
            .transport
            .public_get(path, &[("symbol", symbol.to_string())])
            .await
            .map_err(CallError::into_venue)?;
        let index: wire::PremiumIndex = parse(&body, path)?;
        if index.mark_price <= Decimal::ZERO {
            return Err(unavailable(format!(
                "{path}: mark price of {symbol} is {}",
                index.mark_price
            )));
        }
        Ok(index.mark_price.normalize())
    }
}

/// The report of a 2xx answer to an order. Binance took the order, so an answer we cannot
/// read (not JSON of an order, an unknown status or side) leaves its outcome unknown: the
/// caller reconciles by client order id.
fn placed_report(body: &str, client_order_id: &str) -> Result<OrderReport, VenueError> {
    let path = "/fapi/v1/order";
    parse::<wire::Order>(body, path)
        .and_then(report)
        .map_err(|e| VenueError::Unknown {
            venue: VENUE.into(),
            client_order_id: client_order_id.to_string(),
            message: match e {
                VenueError::Unavailable { message, .. } => message,
                other => other.to_string(),
            },
        })
}

fn report(order: wire::Order) -> Result<OrderReport, VenueError> {
    let side = OrderSide::parse(&order.side)
        .ok_or_else(|| unavailable(format!("order {}: side {:?}", order.order_id, order.side)))?;
    let status = parse_status(&order.status).ok_or_else(|| {
        unavailable(format!(
            "order {}: status {:?}",
            order.order_id, order.status
        ))
    })?;
    Ok(OrderReport {
        client_order_id: order.client_order_id,
        venue_order_id: Some(order.order_id.to_string()),
        symbol: order.symbol,
        side,
        status,
        quantity: order.orig_qty.normalize(),
        executed_qty: order.executed_qty.normalize(),
        avg_price: order.avg_price.normalize(),
        fee: None,
    })
}

fn parse_status(status: &str) -> Option<OrderStatus> {
    Some(match status {
        "NEW" => OrderStatus::New,
        "PARTIALLY_FILLED" => OrderStatus::PartiallyFilled,
        "FILLED" => OrderStatus::Filled,
        "CANCELED" => OrderStatus::Canceled,
        "REJECTED" => OrderStatus::Rejected,
        "EXPIRED" | "EXPIRED_IN_MATCH" => OrderStatus::Expired,
        _ => return None,
    })
}

impl Venue for BinanceVenue {
    fn name(&self) -> &str {
        VENUE
    }

    fn prepare_symbol<'a>(&'a self, symbol: &'a str, leverage: u32) -> VenueFuture<'a, ()> {
        Box::pin(self.set_up_symbol(symbol, leverage))
    }

    /// MARKET_LOT_SIZE, else LOT_SIZE, from `exchangeInfo` (what an order is
    /// rounded to before it is sent).
    fn lot_rule<'a>(&'a self, symbol: &'a str) -> VenueFuture<'a, Option<LotRule>> {
        Box::pin(async move { Ok(self.symbol_filters(symbol).await?.market_rule()) })
    }

    fn place_order<'a>(&'a self, order: &'a OrderRequest) -> VenueFuture<'a, OrderReport> {
        Box::pin(self.send_order(order))
    }

    fn order<'a>(
        &'a self,
        symbol: &'a str,
        client_order_id: &'a str,
    ) -> VenueFuture<'a, Option<OrderReport>> {
        Box::pin(self.find_order(symbol, client_order_id))
    }

    fn positions(&self) -> VenueFuture<'_, Vec<VenuePosition>> {
        Box::pin(self.fetch_positions())
    }

    fn mark_price<'a>(&'a self, symbol: &'a str) -> VenueFuture<'a, Decimal> {
        Box::pin(self.fetch_mark_price(symbol))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    const KEY: &str = "dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83";
    const SECRET: &str = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9";

    fn settings(url: &str) -> BinanceSettings {
        BinanceSettings::new(
            url,
            SecretString::from(KEY.to_string()),
            SecretString::from(SECRET.to_string()),
        )
    }

    #[test]
    fn debug_shows_the_url_and_never_the_credentials() {
        let settings = settings("https://user:pw@fapi.binance.com");
        let venue = BinanceVenue::new(settings.clone()).unwrap();
        for shown in [
            format!("{settings:?}"),
            format!("{venue:?}"),
            format!("{venue:#?}"),
        ] {
            assert!(shown.contains("fapi.binance.com"), "{shown}");
            assert!(!shown.contains(KEY), "{shown}");
            assert!(!shown.contains(SECRET), "{shown}");
            assert!(!shown.contains("pw@"), "{shown}");
        }
    }

    #[test]
    fn new_refuses_bad_settings() {
        assert!(matches!(
            BinanceVenue::new(settings("fapi.binance.com")),
            Err(BinanceSetupError::BaseUrl { .. })
        ));
        let mut wide = settings(super::super::MAINNET_URL);
        wide.recv_window_ms = 60_001;
        assert_eq!(
            BinanceVenue::new(wide).unwrap_err(),
            BinanceSetupError::RecvWindow(60_001)
        );
        let mut empty = settings(super::super::MAINNET_URL);
        empty.api_secret = SecretString::from(String::new());
        assert_eq!(
            BinanceVenue::new(empty).unwrap_err(),
            BinanceSetupError::MissingCredentials
        );
        for bad_key in ["key\nwith-a-newline", "key-with-a-\u{7f}-delete"] {
            let mut bad = settings(super::super::MAINNET_URL);
            bad.api_key = SecretString::from(bad_key.to_string());
            let e = BinanceVenue::new(bad).unwrap_err();
            assert_eq!(e, BinanceSetupError::ApiKey);
            let shown = e.to_string();
            assert!(shown.contains("api_key"), "{shown}");
            assert!(!shown.contains(bad_key), "{shown}");
        }
    }

    #[test]
    fn maps_order_statuses() {
        assert_eq!(parse_status("FILLED"), Some(OrderStatus::Filled));
        assert_eq!(
            parse_status("PARTIALLY_FILLED"),
            Some(OrderStatus::PartiallyFilled)
        );
        assert_eq!(parse_status("EXPIRED_IN_MATCH"), Some(OrderStatus::Expired));
        assert_eq!(parse_status("filled"), None);
    }

    #[test]
    fn reports_an_order_answer() {
        let json = r#"{"clientOrderId":"hd-1","cumQty":"0.015","cumQuote":"900.00000",
            "executedQty":"0.015","orderId":22542179,"avgPrice":"60000.00","origQty":"0.015",
            "price":"0","reduceOnly":false,"side":"SELL","positionSide":"BOTH",
            "status":"FILLED","stopPrice":"0","closePosition":false,"symbol":"BTCUSDT",
            "timeInForce":"GTC","type":"MARKET","origType":"MARKET","updateTime":1}"#;
        let report = report(serde_json::from_str(json).unwrap()).unwrap();
        assert_eq!(report.client_order_id, "hd-1");
        assert_eq!(report.venue_order_id.as_deref(), Some("22542179"));
        assert_eq!(report.side, OrderSide::Sell);
        assert_eq!(report.status, OrderStatus::Filled);
        assert_eq!(report.executed_qty.to_string(), "0.015");
        assert_eq!(report.avg_price.to_string(), "60000");
    }

    #[test]
    fn an_unreadable_order_answer_leaves_the_outcome_unknown() {
        let answer = |status: &str, side: &str| {
            format!(
                r#"{{"clientOrderId":"hd-2","executedQty":"0.015","orderId":7,
                "avgPrice":"60000","origQty":"0.015","side":"{side}","status":"{status}",
                "symbol":"BTCUSDT","type":"MARKET"}}"#
            )
        };
        assert_eq!(
            placed_report(&answer("FILLED", "SELL"), "hd-2")
                .unwrap()
                .status,
            OrderStatus::Filled
        );
        for body in [
            answer("NEW_INSURANCE", "SELL"),
            answer("FILLED", "SIDEWAYS"),
            "<html>gateway</html>".to_string(),
        ] {
            match placed_report(&body, "hd-2") {
                Err(VenueError::Unknown {
                    client_order_id,
                    venue,
                    ..
                }) => {
                    assert_eq!(client_order_id, "hd-2");
                    assert_eq!(venue, VENUE);
                }
                other => panic!("expected Unknown for {body}, got {other:?}"),
            }
        }
    }
}
