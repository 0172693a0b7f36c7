//! The demo's devnet Hermes, spoken to by the oracle desk's own Hermes client: the latest
//! update for the feeds asked for, signed by the devnet guardian set (and verified by the
//! same decoder the desk uses), the stream's events (the current prices, then each new one),
//! the feed list, and the errors Hermes gives for unknown ids.

use std::time::Duration;

use alloy::primitives::B256;
use hedgedesk::devnet::hermes::{DevnetFeed, DevnetHermes};
use hedgedesk::devnet::pyth::DevnetPythSource;
use hedgedesk::devnet::scenario::{PYTH_BTC_USD, PYTH_ETH_USD};
use hedgedesk::oracle::decode::decode;
use hedgedesk::oracle::hermes::client::HermesClient;
use hedgedesk::oracle::hermes::stream::{StreamEvent, StreamOptions, stream_prices};
use hedgedesk::oracle::wire::message::PriceFeedMessage;
use tokio_util::sync::CancellationToken;

fn message(feed_id: B256, price: i64, t: i64) -> PriceFeedMessage {
    PriceFeedMessage {
        feed_id,
        price,
        conf: 1_000,
        exponent: -8,
        publish_time: t,
        prev_publish_time: t - 1,
        ema_price: price,
        ema_conf: 1_000,
    }
}

#[tokio::test]
async fn the_oracle_desks_client_reads_and_verifies_what_the_devnet_hermes_publishes() {
    let source = DevnetPythSource::new(1, 5, 0);
    let (sets, emitter) = (source.guardian_sets(), source.emitter);
    let hermes = DevnetHermes::new(
        source,
        vec![DevnetFeed {
            id: PYTH_BTC_USD,
            symbol: "BTC/USD".into(),
        }],
    );
    let url = hermes.serve_on(0).await.unwrap();
    let client = HermesClient::new(&url, None, 8, Duration::from_secs(5)).unwrap();
    let now = chrono::Utc::now().timestamp();

    // Nothing published yet: the id is unknown, as Hermes says for a feed it lacks.
    assert!(client.latest(&[PYTH_BTC_USD]).await.is_err());

    hermes.publish(vec![
        message(PYTH_BTC_USD, 6_000_000_000_000, now),
        message(PYTH_ETH_USD, 300_000_000_000, now),
    ]);
    let updates = client.latest(&[PYTH_BTC_USD, PYTH_ETH_USD]).await.unwrap();
    assert_eq!(updates.len(), 1);
    let parsed: Vec<_> = updates[0]
        .parsed
        .iter()
        .map(|p| (p.id, p.price.price))
        .collect();
    assert_eq!(
        parsed,
        vec![
            (PYTH_BTC_USD, 6_000_000_000_000),
            (PYTH_ETH_USD, 300_000_000_000)
        ]
    );
    let decoded = decode(&updates[0].binary[0], &sets, &emitter, now as u64);
    assert!(decoded.ok, "{:#}", decoded.report);
    assert_eq!(decoded.report["messages"][0]["price"], 6_000_000_000_000i64);

    // The stream carries each new price of the feeds it asked for, and only those.
    let cancel = CancellationToken::new();
    let mut events = stream_prices(
        client.clone(),
        vec![PYTH_ETH_USD],
        StreamOptions::default(),
        cancel.clone(),
    );
    assert!(matches!(events.recv().await, Some(StreamEvent::Connected)));
    // As Hermes does, the stream opens with the current price of what it asked for.
    let Some(StreamEvent::Update(current)) = events.recv().await else {
        panic!("no opening event")
    };
    let got: Vec<_> = current
        .parsed
        .iter()
        .map(|p| (p.id, p.price.price))
        .collect();
    assert_eq!(got, vec![(PYTH_ETH_USD, 300_000_000_000)]);
    hermes.publish(vec![message(PYTH_BTC_USD, 6_100_000_000_000, now + 1)]);
    hermes.publish(vec![
        message(PYTH_BTC_USD, 6_200_000_000_000, now + 2),
        message(PYTH_ETH_USD, 310_000_000_000, now + 2),
    ]);
    let event = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap();
    let Some(StreamEvent::Update(update)) = event else {
        panic!("{event:?}")
    };
    let got: Vec<_> = update
        .parsed
        .iter()
        .map(|p| (p.id, p.price.price))
        .collect();
    assert_eq!(got, vec![(PYTH_ETH_USD, 310_000_000_000)]);
    assert!(decode(&update.binary[0], &sets, &emitter, now as u64 + 2).ok);
    cancel.cancel();

    let feeds = client.feeds("BTC").await.unwrap();
    assert_eq!(feeds.len(), 1);
    assert_eq!(feeds[0].id, PYTH_BTC_USD);
}
