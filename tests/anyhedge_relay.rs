//! The AnyHedge oracle relay path end to end: a devnet oracle signing a feed and serving the
//! General Protocols relay endpoint on 127.0.0.1, the poller fetching only what is missing,
//! verifying and storing into a real SQLite file, and everything it refuses reported.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::RawQuery;
use axum::routing::get;
use hedgedesk::anyhedge::message::{OracleMessage, Scheme, ecdsa};
use hedgedesk::anyhedge::relay::client::{OracleMessagesResponse, RelayMessage};
use hedgedesk::anyhedge::relay::{PollError, RelayClient, poll_once, run_poller};
use hedgedesk::devnet::gp_oracle::DevnetOracle;
use hedgedesk::store::Store;
use hedgedesk::store::anyhedge_oracles::{OracleSpec, PriceMessageFilter};
use k256::ecdsa::SigningKey;
use tokio_util::sync::CancellationToken;

const T0: i32 = 1_700_000_000;
const KEY: [u8; 32] = [0x42; 32];

fn open_store(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("desk.sqlite"), Duration::from_secs(5)).unwrap()
}

fn client(url: &str) -> RelayClient {
    RelayClient::new(url, Duration::from_secs(5)).unwrap()
}

/// Serves a fixed list of messages whatever the query, and remembers the queries.
async fn fixed_relay(messages: Vec<RelayMessage>) -> (String, Arc<Mutex<Vec<String>>>) {
    let queries = Arc::new(Mutex::new(Vec::new()));
    let seen = queries.clone();
    let app = Router::new().route(
        "/api/v1/oracleMessages",
        get(move |RawQuery(query): RawQuery| {
            seen.lock().unwrap().push(query.unwrap_or_default());
            let body = OracleMessagesResponse {
                oracle_messages: messages.clone(),
            };
            async move { axum::Json(body) }
        }),
    );
    (serve(app).await, queries)
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn served(pubkey: &str, message: &[u8], signature: &[u8]) -> RelayMessage {
    RelayMessage {
        message: hex::encode(message),
        public_key: pubkey.to_string(),
        signature: hex::encode(signature),
    }
}

#[tokio::test]
async fn first_poll_fetches_ten_then_only_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir);
    let oracle = DevnetOracle::from_seed(b"relay test");
    for i in 0..15 {
        oracle.publish(T0 + i * 60, 10_000 + i).unwrap();
    }
    let url = oracle.serve().await.unwrap();
    let pubkey = oracle.pubkey_hex();
    store
        .anyhedge_upsert_oracle(OracleSpec {
            pubkey: pubkey.clone(),
            relay_url: url.clone(),
            asset_name: "BCH".into(),
            asset_currency: "USD".into(),
            asset_decimals: 2,
            active: true,
        })
        .await
        .unwrap();
    let relay = client(&url);

    // Nothing stored: the ten latest.
    let first = poll_once(&store, &relay, &pubkey, i64::from(T0 + 14 * 60 + 30))
        .await
        .unwrap();
    assert_eq!(first.requested, 10);
    assert_eq!(first.fetched, 10);
    assert_eq!(first.new.len(), 10);
    assert!(first.duplicates.is_empty() && first.rejected.is_empty());
    let mut sequences: Vec<i32> = first.new.iter().map(|m| m.message_sequence).collect();
    sequences.sort();
    assert_eq!(sequences, (6..=15).collect::<Vec<_>>());

    // Three more minutes of prices: the next poll asks for exactly those three.
    for i in 15..18 {
        oracle.publish(T0 + i * 60, 10_000 + i).unwrap();
    }
    let second = poll_once(&store, &relay, &pubkey, i64::from(T0 + 17 * 60))
        .await
        .unwrap();
    assert_eq!(second.requested, 3);
    assert_eq!(second.fetched, 3);
    let mut new: Vec<i32> = second.new.iter().map(|m| m.price_sequence).collect();
    new.sort();
    assert_eq!(new, vec![16, 17, 18]);
    assert!(second.duplicates.is_empty());

    // Right after: one message asked for, already stored.
    let third = poll_once(&store, &relay, &pubkey, i64::from(T0 + 17 * 60 + 5))
        .await
        .unwrap();
    assert_eq!(third.requested, 1);
    assert!(third.new.is_empty());
    assert_eq!(third.duplicates, vec![18]);

    let page = store
        .anyhedge_price_messages(PriceMessageFilter {
            pubkey: Some(pubkey.clone()),
            ..PriceMessageFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 13);
    let latest = store
        .anyhedge_latest_price_message(&pubkey)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.price, 10_017);
    assert_eq!(latest.scheme, Scheme::Ecdsa);
    // What is stored still verifies.
    assert_eq!(latest.reverify().unwrap().message().price_sequence, 18);
}

#[tokio::test]
async fn schnorr_feed_with_metadata_stores_only_prices() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir);
    let oracle = DevnetOracle::from_seed(b"schnorr feed").with_scheme(Scheme::BchSchnorr);
    oracle.publish_metadata(T0, -1, b"BCH").unwrap();
    oracle.publish(T0 + 60, 25_000).unwrap();
    oracle.publish_metadata(T0 + 61, -2, b"USD").unwrap();
    oracle.publish(T0 + 120, 25_100).unwrap();
    let url = oracle.serve().await.unwrap();

    let report = poll_once(
        &store,
        &client(&url),
        &oracle.pubkey_hex(),
        i64::from(T0 + 130),
    )
    .await
    .unwrap();
    assert_eq!(report.new.len(), 2);
    let latest = store
        .anyhedge_latest_price_message(&oracle.pubkey_hex())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(latest.scheme, Scheme::BchSchnorr);
    assert_eq!((latest.message_sequence, latest.price_sequence), (4, 2));
}

#[tokio::test]
async fn tampered_and_foreign_messages_are_rejected_with_reasons_and_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir);
    let oracle = DevnetOracle::from_secret_bytes(&KEY).unwrap();
    let pubkey = oracle.pubkey_hex();
    let good = oracle.publish(T0, 30_000).unwrap();
    let later = oracle.publish(T0 + 60, 30_100).unwrap();
    let meta = oracle.publish_metadata(T0 + 61, -1, b"BCH").unwrap();

    let mut tampered = later.bytes;
    tampered[12] ^= 0x01; // the price's lowest bit
    let stranger = DevnetOracle::from_seed(b"someone else");
    let foreign = stranger.publish(T0, 1).unwrap();
    // A zero price, properly signed by the oracle's key.
    let zero = OracleMessage {
        message_timestamp: T0 + 90,
        message_sequence: 9,
        price_sequence: 9,
        price: 0,
    }
    .to_bytes();
    let zero_sig = ecdsa::sign(&SigningKey::from_slice(&KEY).unwrap(), &zero).unwrap();

    let (url, queries) = fixed_relay(vec![
        served(&pubkey, &tampered, &later.signature),
        served(&pubkey, &meta.bytes, &meta.signature),
        served(&foreign.pubkey_hex(), &foreign.bytes, &foreign.signature),
        served(&pubkey, &good.bytes, &good.signature[..64]),
        served(&pubkey, &zero, &zero_sig),
        served(&pubkey, &good.bytes, &good.signature),
    ])
    .await;

    let report = poll_once(&store, &client(&url), &pubkey, i64::from(T0 + 100))
        .await
        .unwrap();
    assert_eq!(report.fetched, 6);
    assert_eq!(report.new, vec![good.message]);
    assert_eq!(report.metadata_skipped, vec![Some(3)]);
    let reasons: Vec<&str> = report.rejected.iter().map(|r| r.reason.as_str()).collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(
        reasons[0].starts_with("signature: does not verify (ecdsa)"),
        "{reasons:?}"
    );
    assert!(reasons[1].starts_with("publicKey: "), "{reasons:?}");
    assert!(
        reasons[2].starts_with("signature: does not verify (bch-schnorr)"),
        "{reasons:?}"
    );
    assert_eq!(reasons[3], "message: price must be positive, got 0");
    assert_eq!(report.rejected[0].message, hex::encode(tampered));

    // Only the good message is stored.
    let page = store
        .anyhedge_price_messages(PriceMessageFilter::default())
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.rows[0].message, good.message_hex());

    // The request mirrors the watchtower's: ten with nothing stored, prices only.
    let query = queries.lock().unwrap()[0].clone();
    assert_eq!(
        query,
        format!("publicKey={pubkey}&count=10&minDataSequence=1")
    );
}

#[tokio::test]
async fn a_second_message_with_a_stored_sequence_is_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir);
    // Two feeds under one key: the same sequence numbers, different prices.
    let honest = DevnetOracle::from_secret_bytes(&KEY).unwrap();
    let forked = DevnetOracle::from_secret_bytes(&KEY).unwrap();
    let first = honest.publish(T0, 100).unwrap();
    let twin = forked.publish(T0, 200).unwrap();
    store
        .anyhedge_insert_price_messages(vec![first.verified().unwrap()])
        .await
        .unwrap();

    let (url, _) = fixed_relay(vec![
        served(&twin.pubkey_hex(), &twin.bytes, &twin.signature),
        served(&first.pubkey_hex(), &first.bytes, &first.signature),
    ])
    .await;
    let report = poll_once(&store, &client(&url), &honest.pubkey_hex(), i64::from(T0))
        .await
        .unwrap();
    assert!(report.new.is_empty());
    assert_eq!(report.duplicates, vec![1]);
    assert_eq!(report.rejected.len(), 1);
    assert!(
        report.rejected[0]
            .reason
            .contains("conflicts with the stored message"),
        "{}",
        report.rejected[0].reason
    );
    let stored = store
        .anyhedge_price_message_by_price_sequence(&honest.pubkey_hex(), 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.price, 100);
}

#[tokio::test]
async fn relay_failures_are_errors_that_say_what_was_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir);
    let pubkey = DevnetOracle::from_secret_bytes(&KEY).unwrap().pubkey_hex();
    let app = Router::new()
        .route(
            "/bad-json/api/v1/oracleMessages",
            get(|| async { r#"{"oracleMessages":[{"message":"00","publicKey":"02"}]}"# }),
        )
        .route(
            "/down/api/v1/oracleMessages",
            get(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "maintenance") }),
        );
    let url = serve(app).await;

    let err = poll_once(&store, &client(&format!("{url}/bad-json")), &pubkey, 0)
        .await
        .unwrap_err();
    assert!(matches!(err, PollError::Relay(_)));
    let text = err.to_string();
    assert!(
        text.contains("oracleMessages[0]") && text.contains("signature"),
        "{text}"
    );

    let err = poll_once(&store, &client(&format!("{url}/down")), &pubkey, 0)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("HTTP 503: maintenance"), "{err}");

    let err = poll_once(&store, &client(&url), "02abcd", 0)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "pubkey: expected 33 bytes (a compressed secp256k1 key), got 3"
    );
    assert!(RelayClient::new("ftp://relay", Duration::from_secs(1)).is_err());
}

#[tokio::test]
async fn price_message_filters_ranges_paging_and_lookups() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir);
    let a = DevnetOracle::from_seed(b"oracle a");
    let b = DevnetOracle::from_seed(b"oracle b").with_scheme(Scheme::BchSchnorr);
    let mut batch = Vec::new();
    for i in 0..20 {
        batch.push(
            a.publish(T0 + i * 60, 1_000 + i)
                .unwrap()
                .verified()
                .unwrap(),
        );
        if i % 5 == 4 {
            a.publish_metadata(T0 + i * 60 + 1, -1, b"meta").unwrap();
        }
    }
    for i in 0..5 {
        batch.push(
            b.publish(T0 + i * 60, 5_000 + i)
                .unwrap()
                .verified()
                .unwrap(),
        );
    }
    let inserted = store
        .anyhedge_insert_price_messages(batch.clone())
        .await
        .unwrap();
    assert_eq!(inserted.new_count(), 25);
    let again = store.anyhedge_insert_price_messages(batch).await.unwrap();
    assert_eq!(again.new_count(), 0);

    let filter = |f: PriceMessageFilter| {
        let store = store.clone();
        async move { store.anyhedge_price_messages(f).await.unwrap() }
    };
    let a_key = Some(a.pubkey_hex());

    let all = filter(PriceMessageFilter::default()).await;
    assert_eq!(all.total, 25);
    let only_a = filter(PriceMessageFilter {
        pubkey: a_key.clone(),
        ..Default::default()
    })
    .await;
    assert_eq!(only_a.total, 20);
    // Newest first.
    assert_eq!(only_a.rows[0].price_sequence, 20);
    assert_eq!(only_a.rows[19].price_sequence, 1);

    let by_time = filter(PriceMessageFilter {
        pubkey: a_key.clone(),
        min_timestamp: Some(i64::from(T0 + 60)),
        max_timestamp: Some(i64::from(T0 + 180)),
        ..Default::default()
    })
    .await;
    let prices: Vec<i32> = by_time.rows.iter().map(|r| r.price).collect();
    assert_eq!(prices, vec![1_003, 1_002, 1_001]);

    let by_price_seq = filter(PriceMessageFilter {
        pubkey: a_key.clone(),
        min_price_sequence: Some(6),
        max_price_sequence: Some(10),
        ..Default::default()
    })
    .await;
    assert_eq!(by_price_seq.total, 5);
    // Metadata took message sequences 6, 12 and 18: price sequences 6..=10 are
    // message sequences 7..=11.
    let message_seqs: Vec<i32> = by_price_seq
        .rows
        .iter()
        .map(|r| r.message_sequence)
        .collect();
    assert_eq!(message_seqs, vec![11, 10, 9, 8, 7]);

    let by_message_seq = filter(PriceMessageFilter {
        pubkey: a_key.clone(),
        min_message_sequence: Some(5),
        max_message_sequence: Some(7),
        ..Default::default()
    })
    .await;
    let price_seqs: Vec<i32> = by_message_seq
        .rows
        .iter()
        .map(|r| r.price_sequence)
        .collect();
    assert_eq!(price_seqs, vec![6, 5]);

    let page = filter(PriceMessageFilter {
        pubkey: a_key.clone(),
        limit: Some(4),
        offset: 8,
        ..Default::default()
    })
    .await;
    assert_eq!(page.total, 20);
    let price_seqs: Vec<i32> = page.rows.iter().map(|r| r.price_sequence).collect();
    assert_eq!(price_seqs, vec![12, 11, 10, 9]);

    let err = store
        .anyhedge_price_messages(PriceMessageFilter {
            min_price_sequence: Some(9),
            max_price_sequence: Some(3),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "min_price_sequence: 9 is greater than max_price_sequence 3"
    );
    let err = store
        .anyhedge_price_messages(PriceMessageFilter {
            pubkey: Some("02zz".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("pubkey: not hex"), "{err}");

    // Settlement lookups: a message by price sequence and the one before it.
    let at = store
        .anyhedge_price_message_by_price_sequence(&a.pubkey_hex(), 12)
        .await
        .unwrap()
        .unwrap();
    let before = store
        .anyhedge_price_message_by_price_sequence(&a.pubkey_hex(), 11)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((at.price, before.price), (1_011, 1_010));
    assert!(before.message_timestamp < at.message_timestamp);
    assert!(
        store
            .anyhedge_price_message_by_price_sequence(&a.pubkey_hex(), 21)
            .await
            .unwrap()
            .is_none()
    );

    let after = store
        .anyhedge_price_messages_after(&b.pubkey_hex(), i64::from(T0 + 60), 2)
        .await
        .unwrap();
    let prices: Vec<i32> = after.iter().map(|r| r.price).collect();
    assert_eq!(prices, vec![5_002, 5_003]);
    assert!(after.iter().all(|r| r.scheme == Scheme::BchSchnorr));
}

#[tokio::test]
async fn the_oracle_registry_validates_and_upserts() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir);
    let oracle = DevnetOracle::from_seed(b"registry");
    let spec = OracleSpec {
        pubkey: oracle.pubkey_hex().to_uppercase(),
        relay_url: "http://127.0.0.1:7083/".into(),
        asset_name: "BCH".into(),
        asset_currency: "USD".into(),
        asset_decimals: 2,
        active: true,
    };
    let created = store.anyhedge_upsert_oracle(spec.clone()).await.unwrap();
    assert_eq!(created.pubkey, oracle.pubkey_hex());
    assert_eq!(created.relay_url, "http://127.0.0.1:7083");

    let updated = store
        .anyhedge_upsert_oracle(OracleSpec {
            active: false,
            asset_currency: "EUR".into(),
            ..spec.clone()
        })
        .await
        .unwrap();
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.created_at, created.created_at);
    assert!(!updated.active);
    assert_eq!(store.anyhedge_oracles(false).await.unwrap().len(), 1);
    assert!(store.anyhedge_oracles(true).await.unwrap().is_empty());
    assert_eq!(
        store
            .anyhedge_oracle(&oracle.pubkey_hex())
            .await
            .unwrap()
            .unwrap()
            .asset_currency,
        "EUR"
    );

    for (bad, expected) in [
        (
            OracleSpec {
                pubkey: "04".repeat(33),
                ..spec.clone()
            },
            "pubkey: a compressed key starts with 02 or 03, got 04",
        ),
        (
            OracleSpec {
                relay_url: "oracles.example".into(),
                ..spec.clone()
            },
            "relay_url: expected an http:// or https:// URL, got \"oracles.example\"",
        ),
        (
            OracleSpec {
                asset_decimals: 19,
                ..spec.clone()
            },
            "asset_decimals: at most 18, got 19",
        ),
        (
            OracleSpec {
                asset_name: " ".into(),
                ..spec.clone()
            },
            "asset_name: must not be empty",
        ),
    ] {
        let err = store.anyhedge_upsert_oracle(bad).await.unwrap_err();
        assert_eq!(err.to_string(), expected);
    }
    assert_eq!(store.anyhedge_oracles(false).await.unwrap().len(), 1);
}

#[tokio::test]
async fn live_feed_and_poller_loop_until_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir);
    let oracle = DevnetOracle::from_seed(b"live");
    let url = oracle.serve().await.unwrap();
    let cancel = CancellationToken::new();

    let mut price = 40_000;
    let feed = {
        let oracle = oracle.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            oracle
                .run_live(
                    move || {
                        price += 1;
                        Some(price)
                    },
                    Duration::from_millis(20),
                    cancel,
                )
                .await
        })
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let poller = tokio::spawn(run_poller(
        store.clone(),
        client(&url),
        oracle.pubkey_hex(),
        Duration::from_millis(50),
        cancel.clone(),
        move |report| {
            let _ = tx.send(report);
        },
    ));

    let mut stored = 0;
    while stored < 3 {
        let report = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a poll report within 10 s")
            .unwrap()
            .unwrap();
        assert!(report.rejected.is_empty());
        stored += report.new.len();
    }
    cancel.cancel();
    let published = tokio::time::timeout(Duration::from_secs(5), feed)
        .await
        .unwrap()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), poller)
        .await
        .unwrap()
        .unwrap();
    assert!(published >= 3);
    let latest = store
        .anyhedge_latest_price_message(&oracle.pubkey_hex())
        .await
        .unwrap()
        .unwrap();
    assert!(latest.price > 40_000);
}
