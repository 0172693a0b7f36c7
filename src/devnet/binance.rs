//! A local Binance USDT-M futures server: in memory, on 127.0.0.1, speaking Binance's paths
//! and JSON shapes for what the perp desk uses (time, exchangeInfo, leverage, marginType,
//! MARKET orders, order lookup by client order id, positionRisk v3, premiumIndex).
//!
//! It checks what Binance checks: the `X-MBX-APIKEY` header, the HMAC-SHA256 signature
//! over the exact query or body bytes, the timestamp against its own clock and the
//! recvWindow, the lot step / min / max quantity and the minimum notional, duplicate client
//! order ids and reduce-only orders that would grow or flip the position. Tests inject
//! faults ([`Fault`]: 429, 418, -1021, 503 with and without the order placed, 408/-1007
//! and -1006 "execution status unknown" after placing), skew its clock, and read
//! [`Counters`] of what reached it and what it refused.
//!
//! One net position per symbol (one-way mode); MARKET orders fill at once, in full, at the
//! symbol's mark price set by [`LocalBinance::set_mark_price`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio_util::sync::{CancellationToken, DropGuard};

use super::serve::serve_local;
use crate::perp::venue::OrderSide;
use crate::perp::venue::binance::filters::is_multiple_of_step;
use crate::perp::venue::binance::{API_KEY_HEADER, sign};
use crate::perp::venue::paper::Net;

/// The `Retry-After` of a [`Fault::Banned`] answer (Binance bans for 2 minutes and more).
pub const BAN_RETRY_AFTER_SECS: u64 = 120;
/// Leverage of a symbol nobody set one for.
pub const DEFAULT_LEVERAGE: u32 = 20;
const DEFAULT_RECV_WINDOW_MS: i64 = 5_000;
const MAX_RECV_WINDOW_MS: i64 = 60_000;
const UNKNOWN_ERROR_MSG: &str = "Unknown error, please check your request or try again later.";
const TIMEOUT_MSG: &str = "Timeout waiting for response from backend server. Send status \
                           unknown; execution status unknown.";
const MESSAGE_BUS_MSG: &str = "An unexpected response was received from the message bus. \
                               Execution status unknown.";
const ORDER_PATH: &str = "/fapi/v1/order";

/// A failure the next matching request gets instead of (or on top of) its normal answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 429 with `Retry-After`; nothing is done.
    RateLimited { retry_after_secs: u64 },
    /// HTTP 418 (IP banned) with `Retry-After: 120`; nothing is done.
    Banned,
    /// -1021 "Timestamp for this request is outside of the recvWindow."; nothing is done.
    TimestampOutside,
    /// The request is carried out as usual (an acceptable order IS placed), but the answer
    /// is 503 "Unknown error, ..." whatever happened.
    UnknownAfterPlacing,
    /// 503 "Unknown error, ..." and nothing is done.
    UnknownNotPlaced,
    /// The request is carried out as usual (an acceptable order IS placed), but the answer
    /// is HTTP 408 with -1007 "Timeout waiting for response from backend server. Send
    /// status unknown; execution status unknown."
    UnknownTimeout408,
    /// The request is carried out as usual (an acceptable order IS placed), but the answer
    /// is -1006 "An unexpected response was received from the message bus. Execution
    /// status unknown." with HTTP 400, so only the code says the outcome is unknown.
    UnknownMessageBus1006,
}

/// Why the server refused a request (or answered with an injected failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Refusal {
    /// -2014/-2015: no or another API key.
    ApiKey,
    /// -1022: the HMAC does not match the bytes received.
    Signature,
    /// -1021: timestamp outside the recvWindow of the server's clock (or injected).
    Timestamp,
    /// Missing or malformed parameters, unsupported order types.
    BadRequest,
    /// -1121.
    UnknownSymbol,
    /// -1111: quantity not a multiple of the step.
    Precision,
    /// -4003/-4004: quantity not above zero or below the minimum quantity.
    MinQty,
    /// -4005.
    MaxQty,
    /// -4164.
    MinNotional,
    /// -4116.
    DuplicateClientOrderId,
    /// -2022: a reduce-only order that would grow or flip the position.
    ReduceOnly,
    /// -2013 on an order lookup.
    NoSuchOrder,
    /// -4046: margin type already the one asked for (clients treat it as success).
    MarginTypeUnchanged,
    /// -4028.
    BadLeverage,
    /// Injected 429.
    RateLimited,
    /// Injected 418.
    Banned,
    /// Injected "unknown" answers: 503 (with or without the order placed), 408/-1007 and
    /// -1006 (after placing).
    Unknown,
}

/// What reached the server, for tests to assert on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Requests per `"METHOD /path"`, every answer included.
    pub requests: BTreeMap<String, u64>,
    /// Orders that were placed (filled).
    pub orders_placed: u64,
    pub refused: BTreeMap<Refusal, u64>,
}

impl Counters {
    /// Requests to `method path`, e.g. `requests_to("POST", "/fapi/v1/order")`.
    pub fn requests_to(&self, method: &str, path: &str) -> u64 {
        self.requests
            .get(&format!("{method} {path}"))
            .copied()
            .unwrap_or(0)
    }

    /// Order placement requests that reached the server (placed or not).
    pub fn order_requests(&self) -> u64 {
        self.requests_to("POST", ORDER_PATH)
    }

    pub fn refused(&self, reason: Refusal) -> u64 {
        self.refused.get(&reason).copied().unwrap_or(0)
    }

    pub fn total_refused(&self) -> u64 {
        self.refused.values().sum()
    }
}

/// A symbol's filters and mark price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSymbol {
    pub step: Decimal,
    pub min_qty: Decimal,
    pub max_qty: Decimal,
    pub min_notional: Decimal,
    pub mark_price: Option<Decimal>,
}

/// An order the server placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalOrder {
    pub order_id: i64,
    pub symbol: String,
    pub client_order_id: String,
    pub side: OrderSide,
    /// The quantity as received.
    pub quantity: Decimal,
    pub avg_price: Decimal,
    pub reduce_only: bool,
    pub time_ms: i64,
}

/// A net position (negative is short).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LocalPosition {
    pub quantity: Decimal,
    pub entry_price: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarginType {
    Crossed,
    Isolated,
}

#[derive(Default)]
struct State {
    symbols: BTreeMap<String, LocalSymbol>,
    leverage: HashMap<String, u32>,
    isolated: HashMap<String, bool>,
    positions: BTreeMap<String, LocalPosition>,
    orders: Vec<LocalOrder>,
    next_order_id: i64,
    order_faults: VecDeque<Fault>,
    request_faults: VecDeque<Fault>,
    clock_offset_ms: i64,
    counters: Counters,
}

impl State {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis() + self.clock_offset_ms
    }

    fn refuse(&mut self, reason: Refusal, status: StatusCode, code: i64, msg: &str) -> Response {
        *self.counters.refused.entry(reason).or_default() += 1;
        api_error(status, code, msg)
    }
}

struct Shared {
    api_key: String,
    api_secret: String,
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The server; it stops when this is dropped.
pub struct LocalBinance {
    shared: Arc<Shared>,
    url: String,
    _stop: DropGuard,
}

impl std::fmt::Debug for LocalBinance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBinance")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl LocalBinance {
    /// Serves on a free port of 127.0.0.1, accepting requests signed with this key pair.
    pub async fn start(api_key: &str, api_secret: &str) -> std::io::Result<Self> {
        Self::start_on(0, api_key, api_secret).await
    }

    /// [`start`](Self::start) on `port` of 127.0.0.1 (0: a free one).
    pub async fn start_on(port: u16, api_key: &str, api_secret: &str) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            api_key: api_key.to_string(),
            api_secret: api_secret.to_string(),
            state: Mutex::new(State {
                next_order_id: 1_000_001,
                ..State::default()
            }),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let stop = CancellationToken::new();
        let addr = serve_local(port, app, stop.clone(), "local binance").await?;
        Ok(Self {
            shared,
            url: format!("http://{addr}"),
            _stop: stop.drop_guard(),
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:40123` (a client's `base_url`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Lists `symbol` in exchangeInfo with LOT_SIZE and MARKET_LOT_SIZE of `step`,
    /// `min_qty`, `max_qty` and MIN_NOTIONAL `min_notional` (replacing earlier filters,
    /// keeping the mark price).
    pub fn add_symbol(
        &self,
        symbol: &str,
        step: Decimal,
        min_qty: Decimal,
        max_qty: Decimal,
        min_notional: Decimal,
    ) {
        let mut state = self.shared.state();
        let mark_price = state.symbols.get(symbol).and_then(|s| s.mark_price);
        state.symbols.insert(
            symbol.to_string(),
            LocalSymbol {
                step,
                min_qty,
                max_qty,
                min_notional,
                mark_price,
            },
        );
    }

    /// The price MARKET orders on `symbol` fill at. Panics when the symbol was not added.
    pub fn set_mark_price(&self, symbol: &str, price: Decimal) {
        let mut state = self.shared.state();
        let Some(entry) = state.symbols.get_mut(symbol) else {
            panic!("local binance: add_symbol({symbol:?}) before setting its mark price");
        };
        entry.mark_price = Some(price);
    }

    /// Sets a position directly (as if opened earlier, e.g. before a desk restart).
    pub fn set_position(&self, symbol: &str, quantity: Decimal, entry_price: Decimal) {
        self.shared.state().positions.insert(
            symbol.to_string(),
            LocalPosition {
                quantity,
                entry_price,
            },
        );
    }

    /// Moves the server's clock by `offset_ms` from the local clock.
    pub fn set_clock_offset_ms(&self, offset_ms: i64) {
        self.shared.state().clock_offset_ms = offset_ms;
    }

    /// The server's clock (ms since the epoch).
    pub fn now_ms(&self) -> i64 {
        self.shared.state().now_ms()
    }

    /// The next order placement (`POST /fapi/v1/order`) gets `fault`. Faults queue up.
    pub fn fail_next(&self, fault: Fault) {
        self.shared.state().order_faults.push_back(fault);
    }

    /// The next request, whatever its endpoint, gets `fault` (before any order fault).
    pub fn fail_next_request(&self, fault: Fault) {
        self.shared.state().request_faults.push_back(fault);
    }

    /// Faults not yet consumed.
    pub fn pending_faults(&self) -> usize {
        let state = self.shared.state();
        state.order_faults.len() + state.request_faults.len()
    }

    pub fn counters(&self) -> Counters {
        self.shared.state().counters.clone()
    }

    /// Every order placed, oldest first.
    pub fn orders(&self) -> Vec<LocalOrder> {
        self.shared.state().orders.clone()
    }

    /// The orders placed with `client_order_id` (at most one: duplicates are refused).
    pub fn orders_with_client_id(&self, client_order_id: &str) -> Vec<LocalOrder> {
        self.shared
            .state()
            .orders
            .iter()
            .filter(|o| o.client_order_id == client_order_id)
            .cloned()
            .collect()
    }

    /// The net position on `symbol` (zero when none).
    pub fn position(&self, symbol: &str) -> LocalPosition {
        self.shared
            .state()
            .positions
            .get(symbol)
            .copied()
            .unwrap_or_default()
    }

    pub fn leverage(&self, symbol: &str) -> u32 {
        leverage_of(&self.shared.state(), symbol)
    }

    pub fn margin_type(&self, symbol: &str) -> MarginType {
        if self.shared.state().isolated.get(symbol).copied() == Some(true) {
            MarginType::Isolated
        } else {
            MarginType::Crossed
        }
    }
}

fn leverage_of(state: &State, symbol: &str) -> u32 {
    state
        .leverage
        .get(symbol)
        .copied()
        .unwrap_or(DEFAULT_LEVERAGE)
}

async fn handle(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let raw_query = uri.query().unwrap_or("").to_string();
    let mut state = shared.state();
    *state
        .counters
        .requests
        .entry(format!("{method} {path}"))
        .or_default() += 1;

    let is_order = method == Method::POST && path == ORDER_PATH;
    let fault = match state.request_faults.pop_front() {
        Some(fault) => Some(fault),
        None if is_order => state.order_faults.pop_front(),
        None => None,
    };
    // An answer that replaces the normal one once the request has been carried out.
    let mut unknown_after: Option<(StatusCode, i64, &str)> = None;
    match fault {
        Some(Fault::RateLimited { retry_after_secs }) => {
            let msg = "Too many requests; current limit is 2400 requests per minute. Please use \
                       the websocket for live updates to avoid polling the API.";
            let response = state.refuse(
                Refusal::RateLimited,
                StatusCode::TOO_MANY_REQUESTS,
                -1003,
                msg,
            );
            return with_retry_after(response, retry_after_secs);
        }
        Some(Fault::Banned) => {
            let until = state.now_ms() + 1000 * BAN_RETRY_AFTER_SECS as i64;
            let msg = format!(
                "Way too many requests; IP banned until {until}. Please use the websocket for \
                 live updates to avoid bans."
            );
            let teapot = StatusCode::from_u16(418).expect("418 is a status code");
            let response = state.refuse(Refusal::Banned, teapot, -1003, &msg);
            return with_retry_after(response, BAN_RETRY_AFTER_SECS);
        }
        Some(Fault::TimestampOutside) => {
            return state.refuse(
                Refusal::Timestamp,
                StatusCode::BAD_REQUEST,
                -1021,
                "Timestamp for this request is outside of the recvWindow.",
            );
        }
        Some(Fault::UnknownNotPlaced) => {
            return state.refuse(
                Refusal::Unknown,
                StatusCode::SERVICE_UNAVAILABLE,
                -1000,
                UNKNOWN_ERROR_MSG,
            );
        }
        Some(Fault::UnknownAfterPlacing) => {
            unknown_after = Some((StatusCode::SERVICE_UNAVAILABLE, -1000, UNKNOWN_ERROR_MSG));
        }
        Some(Fault::UnknownTimeout408) => {
            unknown_after = Some((StatusCode::REQUEST_TIMEOUT, -1007, TIMEOUT_MSG));
        }
        Some(Fault::UnknownMessageBus1006) => {
            unknown_after = Some((StatusCode::BAD_REQUEST, -1006, MESSAGE_BUS_MSG));
        }
        None => {}
    }

    let response = match (method.clone(), path.as_str()) {
        (Method::GET, "/fapi/v1/time") => {
            axum::Json(json!({ "serverTime": state.now_ms() })).into_response()
        }
        (Method::GET, "/fapi/v1/exchangeInfo") => exchange_info(&state),
        (Method::GET, "/fapi/v1/premiumIndex") => premium_index(&mut state, &raw_query),
        (Method::POST, "/fapi/v1/leverage")
        | (Method::POST, "/fapi/v1/marginType")
        | (Method::POST, ORDER_PATH)
        | (Method::GET, ORDER_PATH)
        | (Method::GET, "/fapi/v3/positionRisk") => {
            let now = state.now_ms();
            match authenticate(&shared, now, &headers, &raw_query, &body) {
                Err(r) => state.refuse(r.reason, r.status, r.code, r.msg),
                Ok(params) => match (method, path.as_str()) {
                    (Method::POST, "/fapi/v1/leverage") => set_leverage(&mut state, &params),
                    (Method::POST, "/fapi/v1/marginType") => set_margin_type(&mut state, &params),
                    (Method::POST, _) => place_order(&mut state, &params),
                    (_, ORDER_PATH) => query_order(&mut state, &params),
                    _ => position_risk(&state, &params),
                },
            }
        }
        _ => api_error(StatusCode::NOT_FOUND, -5000, "Path not found"),
    };
    match unknown_after {
        Some((status, code, msg)) => state.refuse(Refusal::Unknown, status, code, msg),
        None => response,
    }
}

/// Parameters of a request by name (last one wins, as it does nowhere important).
struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A refusal before the endpoint runs (counted when it is answered).
struct Rejection {
    reason: Refusal,
    status: StatusCode,
    code: i64,
    msg: &'static str,
}

impl Rejection {
    fn new(reason: Refusal, status: StatusCode, code: i64, msg: &'static str) -> Self {
        Self {
            reason,
            status,
            code,
            msg,
        }
    }
}

/// Checks the API key, the signature over the exact bytes and the timestamp; returns the
/// decoded parameters.
fn authenticate(
    shared: &Shared,
    now: i64,
    headers: &HeaderMap,
    raw_query: &str,
    body: &Bytes,
) -> Result<Params, Rejection> {
    let unauthorized = StatusCode::UNAUTHORIZED;
    match headers.get(API_KEY_HEADER).map(|v| v.to_str()) {
        None | Some(Err(_)) => {
            return Err(Rejection::new(
                Refusal::ApiKey,
                unauthorized,
                -2014,
                "API-key format invalid.",
            ));
        }
        Some(Ok(key)) if key != shared.api_key => {
            return Err(Rejection::new(
                Refusal::ApiKey,
                unauthorized,
                -2015,
                "Invalid API-key, IP, or permissions for action.",
            ));
        }
        Some(Ok(_)) => {}
    }
    let bad = StatusCode::BAD_REQUEST;
    let Ok(body) = std::str::from_utf8(body) else {
        return Err(Rejection::new(
            Refusal::BadRequest,
            bad,
            -1100,
            "Illegal characters found in a parameter.",
        ));
    };
    let Some(signed) = split_signed(raw_query, body) else {
        return Err(Rejection::new(
            Refusal::Signature,
            bad,
            -1102,
            "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
        ));
    };
    if !sign::verify(
        shared.api_secret.as_bytes(),
        &signed.payload(),
        signed.signature,
    ) {
        return Err(Rejection::new(
            Refusal::Signature,
            bad,
            -1022,
            "Signature for this request is not valid.",
        ));
    }
    let Some(params) = signed.params() else {
        return Err(Rejection::new(
            Refusal::BadRequest,
            bad,
            -1100,
            "Illegal characters found in a parameter.",
        ));
    };
    let params = Params(params);
    let Some(timestamp) = params.get("timestamp").and_then(|t| t.parse::<i64>().ok()) else {
        return Err(Rejection::new(
            Refusal::BadRequest,
            bad,
            -1102,
            "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
        ));
    };
    let recv_window = match params.get("recvWindow") {
        None => DEFAULT_RECV_WINDOW_MS,
        Some(w) => match w.parse::<i64>() {
            Ok(w) if (1..=MAX_RECV_WINDOW_MS).contains(&w) => w,
            _ => {
                return Err(Rejection::new(
                    Refusal::BadRequest,
                    bad,
                    -1131,
                    "recvWindow must be less than 60000",
                ));
            }
        },
    };
    // Binance's rule: not more than 1 s ahead of the server, not older than recvWindow.
    if !(timestamp < now + 1000 && now - timestamp <= recv_window) {
        return Err(Rejection::new(
            Refusal::Timestamp,
            bad,
            -1021,
            "Timestamp for this request is outside of the recvWindow.",
        ));
    }
    Ok(params)
}

/// A signed request split around its signature: `signature` must be the last parameter of
/// the body or, without a body, of the query string. `prefix` is the query string when the
/// signature is in the body (else empty), `rest` what precedes the signature in its carrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Signed<'a> {
    prefix: &'a str,
    rest: &'a str,
    signature: &'a str,
}

impl Signed<'_> {
    /// The signed bytes: the query string followed by the rest of the body, concatenated
    /// as Binance concatenates them.
    fn payload(&self) -> String {
        format!("{}{}", self.prefix, self.rest)
    }

    /// The parameters, the query string's and the body's each decoded on its own (a
    /// parameter never spans the two), in that order; `None` when either is malformed.
    fn params(&self) -> Option<Vec<(String, String)>> {
        let mut params = decode(self.prefix)?;
        params.extend(decode(self.rest)?);
        Some(params)
    }
}

fn split_signed<'a>(raw_query: &'a str, body: &'a str) -> Option<Signed<'a>> {
    let (prefix, carrier) = if body.is_empty() {
        ("", raw_query)
    } else {
        (raw_query, body)
    };
    let (rest, last) = match carrier.rsplit_once('&') {
        Some((rest, last)) => (rest, last),
        None => ("", carrier),
    };
    let signature = last.strip_prefix("signature=")?;
    if signature.is_empty() {
        return None;
    }
    Some(Signed {
        prefix,
        rest,
        signature,
    })
}

/// The signed bytes and the signature (see [`Signed`]).
#[cfg(test)]
fn split_signature<'a>(raw_query: &'a str, body: &'a str) -> Option<(String, &'a str)> {
    split_signed(raw_query, body).map(|signed| (signed.payload(), signed.signature))
}

/// The pairs of `k1=v1&k2=v2`, decoded (`+` is a space); `None` on a malformed escape or
/// invalid UTF-8.
fn decode(query: &str) -> Option<Vec<(String, String)>> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode_component(key)?, decode_component(value)?))
        })
        .collect()
}

fn decode_component(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn exchange_info(state: &State) -> Response {
    let symbols: Vec<Value> = state
        .symbols
        .iter()
        .map(|(symbol, s)| {
            let lot = |kind: &str| {
                json!({
                    "filterType": kind,
                    "stepSize": s.step.to_string(),
                    "minQty": s.min_qty.to_string(),
                    "maxQty": s.max_qty.to_string(),
                })
            };
            json!({
                "symbol": symbol,
                "pair": symbol,
                "contractType": "PERPETUAL",
                "status": "TRADING",
                "baseAsset": symbol.strip_suffix("USDT").unwrap_or(symbol),
                "quoteAsset": "USDT",
                "marginAsset": "USDT",
                "pricePrecision": 2,
                "quantityPrecision": s.step.normalize().scale(),
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "10000000",
                     "tickSize": "0.01"},
                    lot("LOT_SIZE"),
                    lot("MARKET_LOT_SIZE"),
                    {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                    {"filterType": "MIN_NOTIONAL", "notional": s.min_notional.to_string()},
                ],
                "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT",
                               "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
                "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
            })
        })
        .collect();
    axum::Json(json!({
        "timezone": "UTC",
        "serverTime": state.now_ms(),
        "futuresType": "U_MARGINED",
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
        ],
        "exchangeFilters": [],
        "assets": [],
        "symbols": symbols,
    }))
    .into_response()
}

fn premium_index(state: &mut State, raw_query: &str) -> Response {
    let Some(params) = decode(raw_query) else {
        return state.refuse(
            Refusal::BadRequest,
            StatusCode::BAD_REQUEST,
            -1100,
            "Illegal characters found in a parameter.",
        );
    };
    let now = state.now_ms();
    let row = |symbol: &str, mark: Decimal| {
        json!({
            "symbol": symbol,
            "markPrice": mark.to_string(),
            "indexPrice": mark.to_string(),
            "estimatedSettlePrice": mark.to_string(),
            "lastFundingRate": "0.00010000",
            "interestRate": "0.00010000",
            "nextFundingTime": now - now.rem_euclid(8 * 3600 * 1000) + 8 * 3600 * 1000,
            "time": now,
        })
    };
    match Params(params).get("symbol") {
        None => {
            let rows: Vec<Value> = state
                .symbols
                .iter()
                .filter_map(|(symbol, s)| s.mark_price.map(|mark| row(symbol, mark)))
                .collect();
            axum::Json(Value::Array(rows)).into_response()
        }
        Some(symbol) => match state.symbols.get(symbol).and_then(|s| s.mark_price) {
            Some(mark) => axum::Json(row(symbol, mark)).into_response(),
            None => state.refuse(
                Refusal::UnknownSymbol,
                StatusCode::BAD_REQUEST,
                -1121,
                "Invalid symbol.",
            ),
        },
    }
}

fn set_leverage(state: &mut State, params: &Params) -> Response {
    let bad = StatusCode::BAD_REQUEST;
    let Some(symbol) = known_symbol(state, params) else {
        return state.refuse(Refusal::UnknownSymbol, bad, -1121, "Invalid symbol.");
    };
    let leverage = params.get("leverage").unwrap_or("");
    match leverage.parse::<u32>() {
        Ok(l) if (1..=125).contains(&l) => {
            state.leverage.insert(symbol.clone(), l);
            axum::Json(json!({"leverage": l, "maxNotionalValue": "1000000", "symbol": symbol}))
                .into_response()
        }
        _ => state.refuse(
            Refusal::BadLeverage,
            bad,
            -4028,
            &format!("Leverage {leverage} is not valid"),
        ),
    }
}

fn set_margin_type(state: &mut State, params: &Params) -> Response {
    let bad = StatusCode::BAD_REQUEST;
    let Some(symbol) = known_symbol(state, params) else {
        return state.refuse(Refusal::UnknownSymbol, bad, -1121, "Invalid symbol.");
    };
    let isolated = match params.get("marginType") {
        Some("ISOLATED") => true,
        Some("CROSSED") => false,
        _ => {
            return state.refuse(
                Refusal::BadRequest,
                bad,
                -1130,
                "Data sent for parameter 'marginType' is not valid.",
            );
        }
    };
    if state.isolated.get(&symbol).copied().unwrap_or(false) == isolated {
        return state.refuse(
            Refusal::MarginTypeUnchanged,
            bad,
            -4046,
            "No need to change margin type.",
        );
    }
    state.isolated.insert(symbol, isolated);
    axum::Json(json!({"code": 200, "msg": "success"})).into_response()
}

fn place_order(state: &mut State, params: &Params) -> Response {
    let bad = StatusCode::BAD_REQUEST;
    let Some(symbol) = known_symbol(state, params) else {
        return state.refuse(Refusal::UnknownSymbol, bad, -1121, "Invalid symbol.");
    };
    let Some(side) = params.get("side").and_then(OrderSide::parse) else {
        return state.refuse(Refusal::BadRequest, bad, -1117, "Invalid side.");
    };
    if params.get("type") != Some("MARKET") {
        // Only what the desk sends: this server has no order book.
        return state.refuse(Refusal::BadRequest, bad, -1116, "Invalid orderType.");
    }
    let Some(quantity) = params
        .get("quantity")
        .and_then(|q| q.parse::<Decimal>().ok())
    else {
        return state.refuse(
            Refusal::BadRequest,
            bad,
            -1102,
            "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.",
        );
    };
    let reduce_only = match params.get("reduceOnly") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return state.refuse(
                Refusal::BadRequest,
                bad,
                -1130,
                "Data sent for parameter 'reduceOnly' is not valid.",
            );
        }
    };
    let order_id = state.next_order_id;
    let client_order_id = params
        .get("newClientOrderId")
        .map(str::to_string)
        .unwrap_or_else(|| format!("local-{order_id}"));
    if state
        .orders
        .iter()
        .any(|o| o.client_order_id == client_order_id)
    {
        return state.refuse(
            Refusal::DuplicateClientOrderId,
            bad,
            -4116,
            "ClientOrderId is duplicated.",
        );
    }
    let spec = state.symbols[&symbol].clone();
    if quantity <= Decimal::ZERO {
        return state.refuse(
            Refusal::MinQty,
            bad,
            -4003,
            "Quantity less than or equal to zero.",
        );
    }
    if !is_multiple_of_step(quantity, spec.step) {
        return state.refuse(
            Refusal::Precision,
            bad,
            -1111,
            "Precision is over the maximum defined for this asset.",
        );
    }
    if quantity < spec.min_qty {
        return state.refuse(
            Refusal::MinQty,
            bad,
            -4004,
            "Quantity less than min quantity.",
        );
    }
    if quantity > spec.max_qty {
        return state.refuse(
            Refusal::MaxQty,
            bad,
            -4005,
            "Quantity greater than max quantity.",
        );
    }
    let Some(mark) = spec.mark_price else {
        return state.refuse(
            Refusal::BadRequest,
            bad,
            -1000,
            "No mark price for this symbol on the local server (set_mark_price).",
        );
    };
    if !reduce_only && quantity * mark < spec.min_notional {
        let msg = format!(
            "Order's notional must be no smaller than {} (unless you choose reduce only).",
            spec.min_notional
        );
        return state.refuse(Refusal::MinNotional, bad, -4164, &msg);
    }
    let signed_qty = side.signed(quantity);
    let position = state.positions.get(&symbol).copied().unwrap_or_default();
    let reduces = !position.quantity.is_zero()
        && position.quantity.is_sign_negative() != signed_qty.is_sign_negative()
        && quantity <= position.quantity.abs();
    if reduce_only && !reduces {
        return state.refuse(
            Refusal::ReduceOnly,
            bad,
            -2022,
            "ReduceOnly Order is rejected.",
        );
    }

    state
        .positions
        .insert(symbol.clone(), fill(position, side, quantity, mark));
    let now = state.now_ms();
    let order = LocalOrder {
        order_id,
        symbol,
        client_order_id,
        side,
        quantity,
        avg_price: mark,
        reduce_only,
        time_ms: now,
    };
    state.next_order_id += 1;
    state.counters.orders_placed += 1;
    let ack_only = params.get("newOrderRespType") == Some("ACK");
    let answer = order_json(&order, !ack_only);
    state.orders.push(order);
    axum::Json(answer).into_response()
}

/// The position after filling `quantity` to `side` at `price`, as the paper venue nets
/// its fills ([`Net::apply`]): the entry averages when adding (to 8 decimals, as Binance
/// shows it), stays when reducing, restarts at `price` when flipping.
fn fill(
    position: LocalPosition,
    side: OrderSide,
    quantity: Decimal,
    price: Decimal,
) -> LocalPosition {
    let mut net = Net {
        quantity: position.quantity,
        entry_price: position.entry_price,
    };
    net.apply(side, quantity, price);
    LocalPosition {
        quantity: net.quantity,
        entry_price: net.entry_price.round_dp(8),
    }
}

fn query_order(state: &mut State, params: &Params) -> Response {
    let bad = StatusCode::BAD_REQUEST;
    let Some(symbol) = known_symbol(state, params) else {
        return state.refuse(Refusal::UnknownSymbol, bad, -1121, "Invalid symbol.");
    };
    let by_client = params.get("origClientOrderId");
    let by_id = params.get("orderId").and_then(|id| id.parse::<i64>().ok());
    if by_client.is_none() && by_id.is_none() {
        return state.refuse(
            Refusal::BadRequest,
            bad,
            -1102,
            "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
        );
    }
    let found = state.orders.iter().find(|o| {
        o.symbol == symbol
            && by_client.is_none_or(|c| o.client_order_id == c)
            && by_id.is_none_or(|id| o.order_id == id)
    });
    match found {
        Some(order) => {
            let mut answer = order_json(order, true);
            answer["time"] = json!(order.time_ms);
            axum::Json(answer).into_response()
        }
        None => state.refuse(Refusal::NoSuchOrder, bad, -2013, "Order does not exist."),
    }
}

fn position_risk(state: &State, params: &Params) -> Response {
    let only = params.get("symbol");
    let rows: Vec<Value> = state
        .positions
        .iter()
        .filter(|(symbol, p)| !p.quantity.is_zero() && only.is_none_or(|s| s == symbol.as_str()))
        .map(|(symbol, p)| {
            let mark = state
                .symbols
                .get(symbol)
                .and_then(|s| s.mark_price)
                .unwrap_or(p.entry_price);
            let notional = p.quantity * mark;
            let leverage = Decimal::from(leverage_of(state, symbol));
            let margin = (notional.abs() / leverage).round_dp(8);
            let pnl = ((mark - p.entry_price) * p.quantity).round_dp(8);
            let isolated = state.isolated.get(symbol).copied().unwrap_or(false);
            let isolated_wallet = if isolated { margin } else { Decimal::ZERO };
            json!({
                "symbol": symbol,
                "positionSide": "BOTH",
                "positionAmt": p.quantity.to_string(),
                "entryPrice": p.entry_price.to_string(),
                "breakEvenPrice": p.entry_price.to_string(),
                "markPrice": mark.to_string(),
                "unRealizedProfit": pnl.to_string(),
                "liquidationPrice": "0",
                "isolatedMargin": (isolated_wallet + if isolated { pnl } else { Decimal::ZERO }).to_string(),
                "notional": notional.to_string(),
                "marginAsset": "USDT",
                "isolatedWallet": isolated_wallet.to_string(),
                "initialMargin": margin.to_string(),
                "maintMargin": (margin / Decimal::from(10)).round_dp(8).to_string(),
                "positionInitialMargin": margin.to_string(),
                "openOrderInitialMargin": "0",
                "adl": 0,
                "bidNotional": "0",
                "askNotional": "0",
                "updateTime": state.now_ms(),
            })
        })
        .collect();
    axum::Json(Value::Array(rows)).into_response()
}

fn known_symbol(state: &State, params: &Params) -> Option<String> {
    let symbol = params.get("symbol")?;
    state
        .symbols
        .contains_key(symbol)
        .then(|| symbol.to_string())
}

/// An order as `POST /fapi/v1/order` (RESULT) and `GET /fapi/v1/order` show it; with
/// `filled` false, as an ACK (not yet executed) shows it.
fn order_json(order: &LocalOrder, filled: bool) -> Value {
    let (status, executed, avg) = if filled {
        ("FILLED", order.quantity, order.avg_price)
    } else {
        ("NEW", Decimal::ZERO, Decimal::ZERO)
    };
    json!({
        "orderId": order.order_id,
        "symbol": order.symbol,
        "status": status,
        "clientOrderId": order.client_order_id,
        "price": "0",
        "avgPrice": avg.to_string(),
        "origQty": order.quantity.to_string(),
        "executedQty": executed.to_string(),
        "cumQty": executed.to_string(),
        "cumQuote": (executed * avg).to_string(),
        "timeInForce": "GTC",
        "type": "MARKET",
        "reduceOnly": order.reduce_only,
        "closePosition": false,
        "side": order.side.as_str(),
        "positionSide": "BOTH",
        "stopPrice": "0",
        "workingType": "CONTRACT_PRICE",
        "priceProtect": false,
        "origType": "MARKET",
        "priceMatch": "NONE",
        "selfTradePreventionMode": "NONE",
        "goodTillDate": 0,
        "updateTime": order.time_ms,
    })
}

fn api_error(status: StatusCode, code: i64, msg: &str) -> Response {
    (status, axum::Json(json!({"code": code, "msg": msg}))).into_response()
}

fn with_retry_after(mut response: Response, secs: u64) -> Response {
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(secs));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn splits_the_signature_off_the_exact_bytes() {
        assert_eq!(
            split_signature("a=1&timestamp=2&signature=ab", ""),
            Some(("a=1&timestamp=2".to_string(), "ab"))
        );
        assert_eq!(
            split_signature("", "a=1&timestamp=2&signature=ab"),
            Some(("a=1&timestamp=2".to_string(), "ab"))
        );
        // Query and body are concatenated as Binance does.
        assert_eq!(
            split_signature("x=1", "a=1&signature=ab"),
            Some(("x=1a=1".to_string(), "ab"))
        );
        assert_eq!(split_signature("signature=ab&a=1", ""), None);
        assert_eq!(split_signature("a=1&signature=", ""), None);
        assert_eq!(split_signature("", ""), None);
    }

    #[test]
    fn query_and_body_are_decoded_each_on_its_own() {
        let signed = split_signed("x=1", "a=2&signature=ab").unwrap();
        assert_eq!(signed.payload(), "x=1a=2");
        // Concatenated, `x=1a=2` would read as one parameter x = "1a=2".
        assert_eq!(
            signed.params(),
            Some(vec![
                ("x".to_string(), "1".to_string()),
                ("a".to_string(), "2".to_string())
            ])
        );
        let only_query = split_signed("a=1&b=%20&signature=ab", "").unwrap();
        assert_eq!(
            only_query.params(),
            Some(vec![
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), " ".to_string())
            ])
        );
        assert_eq!(
            split_signed("x=%2", "a=1&signature=ab").unwrap().params(),
            None
        );
    }

    #[test]
    fn decode_inverts_encode() {
        let params = [
            ("a", "x y&z=1".to_string()),
            ("b", "é".to_string()),
            ("c", String::new()),
        ];
        let encoded = crate::perp::venue::binance::query::encode(&params);
        let decoded = decode(&encoded).unwrap();
        let expected: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        assert_eq!(decoded, expected);
        assert_eq!(
            decode("a=x+y").unwrap(),
            vec![("a".to_string(), "x y".to_string())]
        );
    }

    #[test]
    fn decode_refuses_malformed_escapes() {
        assert_eq!(decode("a=%2"), None);
        assert_eq!(decode("a=%zz"), None);
        assert_eq!(decode("a=%FF"), None);
    }

    #[test]
    fn an_averaged_entry_is_rounded_to_8_decimals() {
        let long = fill(LocalPosition::default(), OrderSide::Buy, d("1"), d("100"));
        let added = fill(long, OrderSide::Buy, d("2"), d("101"));
        assert_eq!(added.quantity, d("3"));
        // (100 + 202) / 3 = 100.6666…
        assert_eq!(added.entry_price, d("100.66666667"));
    }

    #[test]
    fn fills_average_reduce_and_flip() {
        let flat = LocalPosition::default();
        let long = fill(flat, OrderSide::Buy, d("1"), d("100"));
        assert_eq!(
            long,
            LocalPosition {
                quantity: d("1"),
                entry_price: d("100")
            }
        );
        let added = fill(long, OrderSide::Buy, d("1"), d("200"));
        assert_eq!(
            added,
            LocalPosition {
                quantity: d("2"),
                entry_price: d("150")
            }
        );
        let reduced = fill(added, OrderSide::Sell, d("0.5"), d("300"));
        assert_eq!(
            reduced,
            LocalPosition {
                quantity: d("1.5"),
                entry_price: d("150")
            }
        );
        let flipped = fill(reduced, OrderSide::Sell, d("2"), d("120"));
        assert_eq!(
            flipped,
            LocalPosition {
                quantity: d("-0.5"),
                entry_price: d("120")
            }
        );
        let closed = fill(flipped, OrderSide::Buy, d("0.5"), d("90"));
        assert_eq!(closed.quantity, Decimal::ZERO);
        assert_eq!(closed.entry_price, Decimal::ZERO);
    }
}
