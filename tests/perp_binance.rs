//! The Binance USDT-M futures client against the local Binance server over real HTTP: the
//! server checks the API key, the signature over the exact bytes, the timestamp and the
//! filters, and answers the injected faults (429, 418, -1021, 503 unknown, 408/-1007 and
//! -1006 "execution status unknown"). Every test asserts on what reached the server, not
//! only on what the client returned.

use std::time::{Duration, Instant};

use hedgedesk::devnet::binance::{Fault, LocalBinance, MarginType, Refusal};
use hedgedesk::perp::venue::binance::{BinanceSettings, BinanceVenue, sign};
use hedgedesk::perp::venue::{OrderRequest, OrderSide, OrderStatus, Venue, VenueError};
use rust_decimal::Decimal;
use secrecy::SecretString;

const KEY: &str = "local-binance-test-key-0b5f1c";
const SECRET: &str = "local-binance-test-secret-7d2e94a1";
const BTC: &str = "BTCUSDT";

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// BTCUSDT: step 0.001, min 0.001, max 100, min notional 100, mark 60000.
async fn server() -> LocalBinance {
    let server = LocalBinance::start(KEY, SECRET).await.unwrap();
    server.add_symbol(BTC, d("0.001"), d("0.001"), d("100"), d("100"));
    server.set_mark_price(BTC, d("60000"));
    server
}

fn settings(server: &LocalBinance, key: &str, secret: &str) -> BinanceSettings {
    BinanceSettings {
        base_url: server.url().to_string(),
        recv_window_ms: 5_000,
        api_key: SecretString::from(key.to_string()),
        api_secret: SecretString::from(secret.to_string()),
        timeout: Duration::from_secs(5),
        max_retry_wait: Duration::from_secs(3),
    }
}

fn client(server: &LocalBinance) -> BinanceVenue {
    BinanceVenue::new(settings(server, KEY, SECRET)).unwrap()
}

fn order(id: &str, side: OrderSide, quantity: &str, reduce_only: bool) -> OrderRequest {
    OrderRequest {
        symbol: BTC.into(),
        side,
        quantity: d(quantity),
        reduce_only,
        client_order_id: id.into(),
    }
}

fn assert_no_secret(e: &VenueError) {
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(!shown.contains("signature="), "{shown}");
}

fn refused_message(e: VenueError) -> String {
    assert_no_secret(&e);
    match e {
        VenueError::Refused { message, .. } => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn opens_reads_back_and_closes_a_position() {
    let server = server().await;
    let venue = client(&server);

    venue.prepare_symbol(BTC, 10).await.unwrap();
    assert_eq!(server.leverage(BTC), 10);
    assert_eq!(server.margin_type(BTC), MarginType::Isolated);
    venue.prepare_symbol(BTC, 10).await.unwrap();
    let counters = server.counters();
    assert_eq!(
        counters.requests_to("POST", "/fapi/v1/leverage"),
        1,
        "prepared once"
    );
    assert_eq!(counters.requests_to("POST", "/fapi/v1/marginType"), 1);

    let open = venue
        .place_order(&order("hd-open-1", OrderSide::Sell, "0.015", false))
        .await
        .unwrap();
    assert_eq!(open.status, OrderStatus::Filled);
    assert_eq!(open.client_order_id, "hd-open-1");
    assert_eq!(open.quantity, d("0.015"));
    assert_eq!(open.executed_qty, d("0.015"));
    assert_eq!(open.avg_price, d("60000"));
    let placed = server.orders();
    assert_eq!(placed.len(), 1);
    assert_eq!(open.venue_order_id, Some(placed[0].order_id.to_string()));
    assert_eq!(server.position(BTC).quantity, d("-0.015"));

    server.set_mark_price(BTC, d("61000"));
    assert_eq!(venue.mark_price(BTC).await.unwrap(), d("61000"));
    let positions = venue.positions().await.unwrap();
    assert_eq!(positions.len(), 1);
    let short = &positions[0];
    assert_eq!(short.symbol, BTC);
    assert_eq!(short.quantity, d("-0.015"));
    assert_eq!(short.entry_price, d("60000"));
    assert_eq!(short.mark_price, d("61000"));
    assert_eq!(short.unrealized_pnl, d("-15"));
    assert_eq!(short.leverage, 10);

    // A reduce-only order that would flip the short into a long: Binance refuses it.
    let flip = venue
        .place_order(&order("hd-close-too-big", OrderSide::Buy, "0.02", true))
        .await
        .unwrap_err();
    assert!(refused_message(flip).contains("-2022"));
    assert_eq!(server.counters().refused(Refusal::ReduceOnly), 1);

    let close = venue
        .place_order(&order("hd-close-1", OrderSide::Buy, "0.015", true))
        .await
        .unwrap();
    assert_eq!(close.status, OrderStatus::Filled);
    assert_eq!(close.avg_price, d("61000"));
    assert!(server.orders()[1].reduce_only);
    assert!(server.position(BTC).quantity.is_zero());
    assert!(venue.positions().await.unwrap().is_empty());

    let found = venue.order(BTC, "hd-open-1").await.unwrap().unwrap();
    assert_eq!(found.status, OrderStatus::Filled);
    assert_eq!(found.executed_qty, d("0.015"));
    assert_eq!(venue.order(BTC, "hd-never-sent").await.unwrap(), None);
    let counters = server.counters();
    assert_eq!(counters.orders_placed, 2);
    assert_eq!(counters.refused(Refusal::NoSuchOrder), 1);
    assert_eq!(counters.refused(Refusal::Signature), 0);
    assert_eq!(counters.refused(Refusal::Timestamp), 0);
}

#[tokio::test]
async fn a_fresh_client_treats_margin_type_already_isolated_as_done() {
    let server = server().await;
    client(&server).prepare_symbol(BTC, 5).await.unwrap();
    // A restarted desk prepares again: Binance answers -4046 "No need to change margin type".
    let restarted = client(&server);
    restarted.prepare_symbol(BTC, 5).await.unwrap();
    let counters = server.counters();
    assert_eq!(counters.refused(Refusal::MarginTypeUnchanged), 1);
    assert_eq!(counters.requests_to("POST", "/fapi/v1/marginType"), 2);
    assert_eq!(server.margin_type(BTC), MarginType::Isolated);
    // positionRisk v3 has no leverage: a client that did not prepare reads it from the margin.
    server.set_position(BTC, d("0.01"), d("60000"));
    let fresh = client(&server);
    assert_eq!(fresh.positions().await.unwrap()[0].leverage, 5);
}

#[tokio::test]
async fn the_server_refuses_a_wrong_secret_or_key() {
    let server = server().await;
    let forged = BinanceVenue::new(settings(&server, KEY, "another-secret")).unwrap();
    let e = forged
        .place_order(&order("hd-forged", OrderSide::Sell, "0.015", false))
        .await
        .unwrap_err();
    assert!(refused_message(e).contains("-1022"));

    let stranger = BinanceVenue::new(settings(&server, "another-key", SECRET)).unwrap();
    let e = stranger.positions().await.unwrap_err();
    assert!(refused_message(e).contains("-2015"));

    let counters = server.counters();
    assert_eq!(counters.refused(Refusal::Signature), 1);
    assert_eq!(counters.refused(Refusal::ApiKey), 1);
    assert_eq!(counters.orders_placed, 0);
}

#[tokio::test]
async fn a_rate_limited_order_waits_retry_after_then_succeeds() {
    let server = server().await;
    let venue = client(&server);
    server.fail_next(Fault::RateLimited {
        retry_after_secs: 1,
    });
    let started = Instant::now();
    let report = venue
        .place_order(&order("hd-429", OrderSide::Sell, "0.015", false))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited Retry-After"
    );
    assert_eq!(report.status, OrderStatus::Filled);
    let counters = server.counters();
    assert_eq!(counters.refused(Refusal::RateLimited), 1);
    assert_eq!(
        counters.order_requests(),
        2,
        "sent again once after the wait"
    );
    assert_eq!(counters.orders_placed, 1);
    assert_eq!(server.orders_with_client_id("hd-429").len(), 1);
}

#[tokio::test]
async fn a_rate_limit_longer_than_the_maximum_wait_is_returned() {
    let server = server().await;
    let venue = client(&server);
    server.fail_next(Fault::RateLimited {
        retry_after_secs: 30,
    });
    let started = Instant::now();
    let e = venue
        .place_order(&order("hd-429-long", OrderSide::Sell, "0.015", false))
        .await
        .unwrap_err();
    assert_no_secret(&e);
    assert_eq!(
        e,
        VenueError::RateLimited {
            venue: "binance".into(),
            retry_after_secs: 30
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "did not sit out 30 s"
    );
    let counters = server.counters();
    assert_eq!(counters.order_requests(), 1);
    assert_eq!(counters.orders_placed, 0);

    // While limited, the client does not hammer the server.
    let before: u64 = server.counters().requests.values().sum();
    assert!(matches!(
        venue.positions().await,
        Err(VenueError::RateLimited { .. })
    ));
    let after: u64 = server.counters().requests.values().sum();
    assert_eq!(before, after, "no request sent while rate limited");
}

#[tokio::test]
async fn a_ban_418_is_returned_and_nothing_is_sent_during_it() {
    let server = server().await;
    let venue = client(&server);
    server.fail_next_request(Fault::Banned);
    let e = venue.mark_price(BTC).await.unwrap_err();
    assert_eq!(
        e,
        VenueError::RateLimited {
            venue: "binance".into(),
            retry_after_secs: 120
        }
    );
    assert_eq!(server.counters().refused(Refusal::Banned), 1);

    let before = server.counters();
    let e = venue
        .place_order(&order("hd-banned", OrderSide::Sell, "0.015", false))
        .await
        .unwrap_err();
    assert!(matches!(e, VenueError::RateLimited { .. }), "{e:?}");
    let after = server.counters();
    assert_eq!(
        before.requests, after.requests,
        "nothing reached the server"
    );
    assert_eq!(after.orders_placed, 0);
}

#[tokio::test]
async fn timestamp_outside_recv_window_resyncs_and_retries_once() {
    let server = server().await;
    let venue = client(&server);
    server.fail_next(Fault::TimestampOutside);
    let report = venue
        .place_order(&order("hd-1021", OrderSide::Sell, "0.015", false))
        .await
        .unwrap();
    assert_eq!(report.status, OrderStatus::Filled);
    let counters = server.counters();
    assert_eq!(
        counters.requests_to("GET", "/fapi/v1/time"),
        2,
        "start + resync"
    );
    assert_eq!(counters.refused(Refusal::Timestamp), 1);
    assert_eq!(counters.order_requests(), 2);
    assert_eq!(counters.orders_placed, 1);

    // Only once: a second -1021 right after the resync is returned.
    server.fail_next(Fault::TimestampOutside);
    server.fail_next(Fault::TimestampOutside);
    let e = venue
        .place_order(&order("hd-1021-twice", OrderSide::Sell, "0.015", false))
        .await
        .unwrap_err();
    assert!(refused_message(e).contains("-1021"));
    let counters = server.counters();
    assert_eq!(counters.order_requests(), 4);
    assert_eq!(counters.orders_placed, 1);
}

#[tokio::test]
async fn a_skewed_server_clock_is_followed() {
    let server = server().await;
    // The server's clock is 45 s behind: unsynced timestamps would be "in the future".
    server.set_clock_offset_ms(-45_000);
    let venue = client(&server);
    venue
        .place_order(&order("hd-skew-1", OrderSide::Sell, "0.015", false))
        .await
        .unwrap();
    assert!(
        (venue.time_offset_ms() + 45_000).abs() < 1_000,
        "offset {}",
        venue.time_offset_ms()
    );
    assert_eq!(server.counters().refused(Refusal::Timestamp), 0);

    // The server's clock jumps 30 s ahead: the next signed request is truly refused with
    // -1021, the client measures again and the order goes through.
    server.set_clock_offset_ms(30_000);
    venue
        .place_order(&order("hd-skew-2", OrderSide::Sell, "0.015", false))
        .await
        .unwrap();
    let counters = server.counters();
    assert_eq!(counters.refused(Refusal::Timestamp), 1);
    assert_eq!(counters.requests_to("GET", "/fapi/v1/time"), 2);
    assert_eq!(counters.orders_placed, 2);
    assert!((venue.time_offset_ms() - 30_000).abs() < 1_000);
}

#[tokio::test]
async fn unknown_after_placing_is_reconciled_by_client_order_id() {
    let server = server().await;
    let venue = client(&server);
    server.fail_next(Fault::UnknownAfterPlacing);
    let e = venue
        .place_order(&order("hd-503-placed", OrderSide::Sell, "0.015", false))
        .await
        .unwrap_err();
    assert_no_secret(&e);
    match &e {
        VenueError::Unknown {
            client_order_id,
            message,
            ..
        } => {
            assert_eq!(client_order_id, "hd-503-placed");
            assert!(
                message.contains("503") && message.contains("Unknown error"),
                "{message}"
            );
        }
        other => panic!("expected Unknown, got {other:?}"),
    }
    assert_eq!(
        server.counters().order_requests(),
        1,
        "never re-sent blindly"
    );

    let found = venue.order(BTC, "hd-503-placed").await.unwrap().unwrap();
    assert_eq!(found.status, OrderStatus::Filled);
    assert_eq!(found.executed_qty, d("0.015"));
    assert_eq!(server.orders_with_client_id("hd-503-placed").len(), 1);
    assert_eq!(server.counters().orders_placed, 1);
    assert_eq!(server.position(BTC).quantity, d("-0.015"));
}

/// Places `id` with the server answering `fault` after placing it: the client reports the
/// outcome unknown (never refused), sends it once, and finds the one order by its id.
async fn unknown_execution_is_reconciled(fault: Fault, id: &str, expected: &[&str]) {
    let server = server().await;
    let venue = client(&server);
    server.fail_next(fault);
    let e = venue
        .place_order(&order(id, OrderSide::Sell, "0.015", false))
        .await
        .unwrap_err();
    assert_no_secret(&e);
    match &e {
        VenueError::Unknown {
            client_order_id,
            message,
            ..
        } => {
            assert_eq!(client_order_id, id);
            for part in expected {
                assert!(message.contains(part), "{message}");
            }
        }
        other => panic!("expected Unknown, got {other:?}"),
    }
    assert_eq!(
        server.counters().order_requests(),
        1,
        "never re-sent blindly"
    );
    assert_eq!(server.counters().refused(Refusal::Unknown), 1);

    let found = venue.order(BTC, id).await.unwrap().unwrap();
    assert_eq!(found.status, OrderStatus::Filled);
    assert_eq!(found.executed_qty, d("0.015"));
    assert_eq!(server.orders_with_client_id(id).len(), 1);
    assert_eq!(server.orders().len(), 1);
    assert_eq!(server.counters().orders_placed, 1);
    assert_eq!(server.position(BTC).quantity, d("-0.015"));
}

#[tokio::test]
async fn a_408_backend_timeout_after_placing_is_unknown_and_reconciled() {
    unknown_execution_is_reconciled(
        Fault::UnknownTimeout408,
        "hd-408-placed",
        &["408", "-1007", "execution status unknown"],
    )
    .await;
}

#[tokio::test]
async fn a_1006_after_placing_is_unknown_and_reconciled_whatever_the_status() {
    // Answered with HTTP 400: only the code says the outcome is unknown.
    unknown_execution_is_reconciled(
        Fault::UnknownMessageBus1006,
        "hd-1006-placed",
        &["400", "-1006", "Execution status unknown"],
    )
    .await;
}

#[tokio::test]
async fn unknown_not_placed_is_found_absent_and_placed_again_with_the_same_id() {
    let server = server().await;
    let venue = client(&server);
    server.fail_next(Fault::UnknownNotPlaced);
    let e = venue
        .place_order(&order("hd-503-lost", OrderSide::Sell, "0.015", false))
        .await
        .unwrap_err();
    assert!(matches!(e, VenueError::Unknown { .. }), "{e:?}");
    assert_eq!(server.counters().order_requests(), 1);

    assert_eq!(venue.order(BTC, "hd-503-lost").await.unwrap(), None);
    let report = venue
        .place_order(&order("hd-503-lost", OrderSide::Sell, "0.015", false))
        .await
        .unwrap();
    assert_eq!(report.status, OrderStatus::Filled);
    // A third attempt with the same id is refused by the venue: it exists once.
    let again = venue
        .place_order(&order("hd-503-lost", OrderSide::Sell, "0.015", false))
        .await
        .unwrap_err();
    assert!(refused_message(again).contains("-4116"));
    assert_eq!(server.orders_with_client_id("hd-503-lost").len(), 1);
    let counters = server.counters();
    assert_eq!(counters.orders_placed, 1);
    assert_eq!(counters.refused(Refusal::DuplicateClientOrderId), 1);
    assert_eq!(server.position(BTC).quantity, d("-0.015"));
}

#[tokio::test]
async fn a_503_on_a_read_is_retried() {
    let server = server().await;
    let venue = client(&server);
    server.set_position(BTC, d("0.01"), d("60000"));
    venue.sync_time().await.unwrap();
    server.fail_next_request(Fault::UnknownNotPlaced);
    let positions = venue.positions().await.unwrap();
    assert_eq!(positions.len(), 1);
    let counters = server.counters();
    assert_eq!(counters.requests_to("GET", "/fapi/v3/positionRisk"), 2);
    assert_eq!(counters.refused(Refusal::Unknown), 1);
}

#[tokio::test]
async fn the_time_offset_is_measured_on_the_answered_attempt_only() {
    let server = server().await;
    server.set_clock_offset_ms(-45_000);
    let venue = client(&server);
    // The time request is answered 503 (retried after 200 ms), then 429 with Retry-After
    // 2 s, then OK: timed from the first attempt, the offset would be off by about 1.1 s.
    server.fail_next_request(Fault::UnknownNotPlaced);
    server.fail_next_request(Fault::RateLimited {
        retry_after_secs: 2,
    });
    let started = Instant::now();
    let offset = venue.sync_time().await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(2), "waited");
    assert_eq!(offset, venue.time_offset_ms());
    assert!((offset + 45_000).abs() < 300, "offset {offset}");
    let counters = server.counters();
    assert_eq!(counters.requests_to("GET", "/fapi/v1/time"), 3);
    assert_eq!(counters.refused(Refusal::Unknown), 1);
    assert_eq!(counters.refused(Refusal::RateLimited), 1);
}

#[tokio::test]
async fn an_unknown_symbol_does_not_reload_exchange_info_on_every_call() {
    let server = server().await;
    let venue = client(&server);
    let eth = OrderRequest {
        symbol: "ETHUSDT".into(),
        ..order("hd-eth", OrderSide::Sell, "0.1", false)
    };
    for _ in 0..3 {
        let e = venue.place_order(&eth).await.unwrap_err();
        assert!(refused_message(e).contains("ETHUSDT is not a symbol"));
    }
    // A listed symbol is still served from the same load.
    venue
        .place_order(&order("hd-btc", OrderSide::Sell, "0.015", false))
        .await
        .unwrap();
    let counters = server.counters();
    assert_eq!(counters.requests_to("GET", "/fapi/v1/exchangeInfo"), 1);
    assert_eq!(counters.order_requests(), 1);
    assert_eq!(counters.orders_placed, 1);
}

#[tokio::test]
async fn an_off_step_quantity_is_rounded_down_before_sending() {
    let server = server().await;
    let venue = client(&server);
    let report = venue
        .place_order(&order("hd-step", OrderSide::Sell, "0.0159", false))
        .await
        .unwrap();
    assert_eq!(report.quantity, d("0.015"));
    let placed = server.orders();
    assert_eq!(placed.len(), 1);
    assert_eq!(placed[0].quantity, d("0.015"));
    assert_eq!(server.counters().refused(Refusal::Precision), 0);

    // The server does refuse an off-step quantity (-1111): sent raw, signed correctly.
    let (status, body) = raw_signed_order(&server, "0.0155").await;
    assert_eq!(status, 400);
    assert!(body.contains("-1111"), "{body}");
    assert_eq!(server.counters().refused(Refusal::Precision), 1);
    assert_eq!(server.counters().orders_placed, 1);
}

#[tokio::test]
async fn below_the_minimums_nothing_reaches_the_order_endpoint() {
    let server = server().await;
    let venue = client(&server);

    // 0.0009 rounds down to 0: below minQty 0.001.
    let e = venue
        .place_order(&order("hd-tiny", OrderSide::Sell, "0.0009", false))
        .await
        .unwrap_err();
    assert!(refused_message(e).contains("minimum"));
    // 0.001 at 60000 is 60, below the 100 notional.
    let e = venue
        .place_order(&order("hd-small", OrderSide::Sell, "0.001", false))
        .await
        .unwrap_err();
    assert!(refused_message(e).contains("notional"));
    // Above maxQty 100.
    let e = venue
        .place_order(&order("hd-huge", OrderSide::Sell, "100.5", false))
        .await
        .unwrap_err();
    assert!(refused_message(e).contains("maximum"));
    let counters = server.counters();
    assert_eq!(counters.order_requests(), 0, "nothing sent");
    assert_eq!(counters.total_refused(), 0);

    // A reduce-only close below the notional is exempt, on the client and on the server.
    venue
        .place_order(&order("hd-open", OrderSide::Sell, "0.002", false))
        .await
        .unwrap();
    let close = venue
        .place_order(&order("hd-close-part", OrderSide::Buy, "0.001", true))
        .await
        .unwrap();
    assert_eq!(close.status, OrderStatus::Filled);
    let counters = server.counters();
    assert_eq!(counters.orders_placed, 2);
    assert_eq!(counters.refused(Refusal::MinNotional), 0);
    assert_eq!(server.position(BTC).quantity, d("-0.001"));
}

#[tokio::test]
async fn the_server_refuses_below_min_notional_and_stale_timestamps() {
    let server = server().await;
    let (status, body) = raw_signed_order(&server, "0.001").await;
    assert_eq!(status, 400);
    assert!(body.contains("-4164"), "{body}");
    assert_eq!(server.counters().refused(Refusal::MinNotional), 1);

    server.set_clock_offset_ms(10_000);
    let (status, body) = raw_order_at(&server, "0.002", server.now_ms() - 10_000).await;
    assert_eq!(status, 400);
    assert!(body.contains("-1021"), "{body}");
    assert_eq!(server.counters().refused(Refusal::Timestamp), 1);
    assert_eq!(server.counters().orders_placed, 0);
}

/// A MARKET sell of `quantity` with a correct signature and a fresh timestamp, sent
/// around the client (to show what the server refuses by itself).
async fn raw_signed_order(server: &LocalBinance, quantity: &str) -> (u16, String) {
    raw_order_at(server, quantity, server.now_ms()).await
}

async fn raw_order_at(server: &LocalBinance, quantity: &str, timestamp: i64) -> (u16, String) {
    let payload = format!(
        "symbol={BTC}&side=SELL&type=MARKET&quantity={quantity}&newClientOrderId=raw-{quantity}\
         &recvWindow=5000&timestamp={timestamp}"
    );
    let body = sign::signed(SECRET.as_bytes(), &payload);
    let response = reqwest::Client::new()
        .post(format!("{}/fapi/v1/order", server.url()))
        .header("X-MBX-APIKEY", KEY)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}
