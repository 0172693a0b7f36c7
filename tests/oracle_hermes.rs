//! The Hermes client against a real HTTP server on 127.0.0.1 serving recorded Hermes
//! responses and SSE events (tests/fixtures/pyth).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::B256;
use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hedgedesk::oracle::hermes::{
    HermesClient, HermesError, StreamEvent, StreamOptions, stream_prices,
};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

const LATEST: &str = include_str!("fixtures/pyth/hermes_v2_latest_response_example.json");
const SSE: &str = include_str!("fixtures/pyth/hermes_v2_sse_stream_example.txt");
const BTC: &str = "e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43";

#[derive(Default)]
struct Seen {
    queries: Vec<String>,
    auth: Vec<Option<String>>,
    stream_connections: usize,
}

type Shared = Arc<Mutex<Seen>>;

fn record(seen: &Shared, query: Option<String>, headers: &HeaderMap) {
    let mut s = seen.lock().unwrap();
    s.queries.push(query.unwrap_or_default());
    s.auth.push(
        headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_string()),
    );
}

async fn latest(State(seen): State<Shared>, RawQuery(q): RawQuery, h: HeaderMap) -> Response {
    record(&seen, q.clone(), &h);
    let q = q.unwrap_or_default();
    if q.contains(&"00".repeat(32)) {
        return (StatusCode::NOT_FOUND, "Price ids not found: 0000…").into_response();
    }
    if q.contains(&"11".repeat(32)) {
        return (StatusCode::OK, "{\"binary\": 42}").into_response();
    }
    (StatusCode::OK, LATEST).into_response()
}

async fn feeds(State(seen): State<Shared>, RawQuery(q): RawQuery, h: HeaderMap) -> Response {
    record(&seen, q, &h);
    let body = format!(
        r#"[{{"id":"{BTC}","attributes":{{"symbol":"Crypto.BTC/USD","asset_type":"Crypto","description":"BITCOIN / US DOLLAR"}}}}]"#
    );
    (StatusCode::OK, body).into_response()
}

/// Sends the recorded events, then closes (as Hermes does after 24 h), so the client must
/// reconnect. The third connection stalls: headers, then nothing.
async fn stream(State(seen): State<Shared>, RawQuery(q): RawQuery, h: HeaderMap) -> Response {
    record(&seen, q, &h);
    let n = {
        let mut s = seen.lock().unwrap();
        s.stream_connections += 1;
        s.stream_connections
    };
    if n >= 3 {
        let pending = futures::stream::pending::<Result<String, std::convert::Infallible>>();
        return Response::new(Body::from_stream(pending));
    }
    let mut events: Vec<Result<String, std::convert::Infallible>> = vec![Ok(": hello\n\n".into())];
    for line in SSE.lines().filter(|l| l.starts_with("data:")) {
        // Split each event across two chunks, as a network would.
        let (a, b) = line.split_at(line.len() / 2);
        events.push(Ok(a.to_string()));
        events.push(Ok(format!("{b}\n\n")));
    }
    events.push(Ok("data:{not json}\n\n".into()));
    Response::new(Body::from_stream(futures::stream::iter(events)))
}

async fn serve() -> (String, Shared) {
    let seen = Shared::default();
    let app = Router::new()
        .route("/v2/updates/price/latest", get(latest))
        .route("/v2/updates/price/stream", get(stream))
        .route("/v2/price_feeds", get(feeds))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn id(hex: &str) -> B256 {
    hex.parse().unwrap()
}

#[tokio::test]
async fn latest_updates_are_batched_typed_and_authorised() {
    let (url, seen) = serve().await;
    let token = SecretString::from("hermes-test-token-7".to_string());
    let client = HermesClient::new(&url, Some(token), 2, Duration::from_secs(5)).unwrap();
    let ids = [id(BTC), B256::repeat_byte(0xc9), B256::repeat_byte(0x42)];
    let updates = client.latest(&ids).await.unwrap();
    assert_eq!(updates.len(), 2, "3 ids at 2 per request");
    let first = &updates[0];
    assert_eq!(&first.binary[0][..4], b"PNAU");
    assert_eq!(first.parsed[0].id, id(BTC));
    assert_eq!(first.parsed[0].price.price, 6_140_993_501_000);
    assert_eq!(first.parsed[0].price.conf, 3_287_868_567);
    assert_eq!(first.parsed[0].price.expo, -8);
    assert_eq!(first.parsed[0].price.publish_time, 1_714_746_101);
    assert_eq!(first.parsed[0].ema_price.price, 6_094_004_700_000);
    assert_eq!(first.parsed[0].slot, Some(138_881_186));

    let seen = seen.lock().unwrap();
    assert_eq!(seen.queries.len(), 2);
    assert_eq!(
        seen.queries[0],
        format!(
            "ids%5B%5D={BTC}&ids%5B%5D={}&encoding=hex&parsed=true",
            "c9".repeat(32)
        )
    );
    assert!(seen.queries[1].starts_with(&format!("ids%5B%5D={}", "42".repeat(32))));
    assert!(
        seen.auth
            .iter()
            .all(|a| a.as_deref() == Some("Bearer hermes-test-token-7"))
    );
}

#[tokio::test]
async fn a_404_and_garbage_are_clear_errors() {
    let (url, _) = serve().await;
    let client = HermesClient::new(&url, None, 8, Duration::from_secs(5)).unwrap();
    let err = client.latest(&[B256::ZERO]).await.unwrap_err();
    assert!(
        matches!(err, HermesError::Status { status: 404, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("/v2/updates/price/latest: HTTP 404"),
        "{err}"
    );
    let err = client.latest(&[B256::repeat_byte(0x11)]).await.unwrap_err();
    assert!(matches!(err, HermesError::Model(_)), "{err}");
    assert!(
        err.to_string().contains("not the JSON Hermes sends"),
        "{err}"
    );
    // Nothing listens here.
    let dead = HermesClient::new("http://127.0.0.1:9", None, 8, Duration::from_secs(2)).unwrap();
    assert!(matches!(
        dead.latest(&[id(BTC)]).await.unwrap_err(),
        HermesError::Http { .. }
    ));
}

#[tokio::test]
async fn feeds_are_discovered_by_query() {
    let (url, seen) = serve().await;
    let client = HermesClient::new(&url, None, 8, Duration::from_secs(5)).unwrap();
    let feeds = client.feeds("BTC/USD").await.unwrap();
    assert_eq!(feeds.len(), 1);
    assert_eq!(feeds[0].id, id(BTC));
    assert_eq!(feeds[0].symbol, "Crypto.BTC/USD");
    assert_eq!(seen.lock().unwrap().queries[0], "query=BTC%2FUSD");
    assert_eq!(seen.lock().unwrap().auth[0], None, "no token, no header");
}

#[tokio::test]
async fn the_stream_reconnects_after_a_close_and_after_a_stall() {
    let (url, seen) = serve().await;
    let client = HermesClient::new(&url, None, 8, Duration::from_secs(5)).unwrap();
    let cancel = CancellationToken::new();
    let options = StreamOptions {
        stall_timeout: Duration::from_millis(400),
        backoff_initial: Duration::from_millis(20),
        backoff_max: Duration::from_millis(100),
    };
    let mut events = stream_prices(client, vec![id(BTC)], options, cancel.clone());
    let mut log = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while seen.lock().unwrap().stream_connections < 3 || !log.iter().any(is_stall) {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("the stream kept going")
            .expect("the stream task is alive");
        log.push(event);
    }
    cancel.cancel();
    let updates: Vec<_> = log
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Update(u) => Some(u),
            _ => None,
        })
        .collect();
    assert_eq!(
        updates.len(),
        4,
        "two recorded events on each of two connections: {log:#?}"
    );
    assert!(updates.iter().all(|u| u.parsed[0].id == id(BTC)));
    assert!(updates.iter().all(|u| &u.binary[0][..4] == b"PNAU"));
    let garbage = log
        .iter()
        .filter(|e| matches!(e, StreamEvent::Garbage { .. }))
        .count();
    assert_eq!(garbage, 2, "a bad event is reported and the stream goes on");
    assert!(log.iter().any(
        |e| matches!(e, StreamEvent::Reconnecting { reason, .. } if reason.contains("closed"))
    ));
    assert_eq!(
        seen.lock().unwrap().queries[0],
        format!("ids%5B%5D={BTC}&encoding=hex&parsed=true")
    );
}

fn is_stall(event: &StreamEvent) -> bool {
    matches!(event, StreamEvent::Reconnecting { reason, .. } if reason.contains("stalled"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oracle_feeds_lists_what_hermes_finds() {
    let (url, seen) = serve().await;
    let desk = common::Desk::new("oracle_feeds_cli");
    std::fs::write(&desk.config, format!("[oracle]\nhermes_url = \"{url}\"\n")).unwrap();
    let mut cmd = desk.cmd();
    cmd.args(["oracle", "feeds", "--query", "BTC", "--json"])
        .env("HEDGEDESK_HERMES_TOKEN", "cli-token-5");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let feeds: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(feeds[0]["symbol"], "Crypto.BTC/USD");
    assert_eq!(feeds[0]["id"], format!("0x{BTC}"));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.queries, ["query=BTC"]);
    assert_eq!(seen.auth, [Some("Bearer cli-token-5".to_string())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_can_live_in_the_os_keyring() {
    let (url, seen) = serve().await;
    let desk = common::Desk::new("oracle_token_keyring");
    std::fs::write(&desk.config, format!("[oracle]\nhermes_url = \"{url}\"\n")).unwrap();
    let run = |args: &'static [&'static str], stdin: Option<&'static str>| {
        let mut cmd = desk.cmd();
        cmd.args(args);
        async move {
            tokio::task::spawn_blocking(move || match stdin {
                Some(text) => common::output_with_stdin(cmd, text),
                None => cmd.output().unwrap(),
            })
            .await
            .unwrap()
        }
    };
    // Without --keyring there is nowhere to keep it.
    let out = run(&["oracle", "token", "set"], Some("kr-token-9\n")).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--keyring"));

    let out = run(
        &["--keyring", "oracle", "token", "set"],
        Some("kr-token-9\n"),
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["--keyring", "oracle", "feeds", "--query", "BTC"], None).await;
    assert!(out.status.success());
    let out = run(&["--keyring", "oracle", "token", "clear"], None).await;
    assert!(out.status.success());
    let out = run(&["--keyring", "oracle", "feeds", "--query", "BTC"], None).await;
    assert!(out.status.success());
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.auth,
        [Some("Bearer kr-token-9".to_string()), None],
        "sent while stored, not after clear"
    );
}
