//! The oracle desk end to end on a devnet (issue 5, Done-when 2): recorded Hermes responses
//! and an SSE stream served from 127.0.0.1, verified updates proposed as `publish_prices`,
//! executed by the runtime (auto policy) into a PriceCaster deployed with the mainnet
//! guardian set 4, and read back equal.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::B256;
use hedgedesk::actions::ActionState;
use hedgedesk::app::Runtime;
use hedgedesk::chain::contracts::PriceCaster;
use hedgedesk::config::{Config, DEVNET_CHAIN, FeedConfig};
use hedgedesk::devnet::{AnvilNode, AnvilOptions, DevnetControl};
use hedgedesk::oracle::bootstrap::{Bootstrap, layout_from_config};
use hedgedesk::oracle::hermes::{HermesClient, StreamEvent, StreamOptions, stream_prices};
use hedgedesk::oracle::publish::{PublishError, Publisher};
use hedgedesk::oracle::slot::normalize;
use hedgedesk::oracle::verify::guardians::{AcceptedEmitter, GuardianSet, GuardianSets};
use hedgedesk::prices::PriceCache;
use hedgedesk::store::{OracleSlot, Store};
use tokio_util::sync::CancellationToken;

const BTC: &str = "0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43";
const C964: &str = "0xc96458d393fe9deb7a7d63a0ac41e2898a67a7750dbd166673279e06c868df0a";

fn feed(symbol: &str, asset_id: u64, decimals: u8, price_id: &str) -> FeedConfig {
    FeedConfig {
        symbol: symbol.into(),
        asset_id,
        decimals,
        price_id: price_id.into(),
        ..FeedConfig::default()
    }
}

async fn wait_confirmed(rt: &Runtime, control: &DevnetControl, id: i64) {
    for _ in 0..200 {
        let state = rt
            .queue
            .snapshot()
            .actions
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.state);
        match state {
            Some(ActionState::Confirmed) => return,
            Some(ActionState::Failed) => panic!(
                "publish action {id} failed: {:?}",
                rt.queue.snapshot().actions.iter().find(|a| a.id == id)
            ),
            _ => {}
        }
        control.mine().await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("publish action {id} never confirmed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_hermes_updates_are_stored_on_a_devnet_price_caster() {
    let node = AnvilNode::start(&AnvilOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite"), Duration::from_secs(5)).unwrap();
    let control = DevnetControl::new(node.provider());

    // PriceCaster with the mainnet guardian set 4 as its current set, Pythnet as emitter.
    let set4 = GuardianSets::mainnet().get(4).unwrap().clone();
    let caster = PriceCaster::new(
        common::pyth::deploy_price_caster_set4(&node).await,
        node.provider(),
    );
    let caster_address = *caster.address();

    let mut config = Config::default();
    let mut chain = hedgedesk::config::ChainConfig {
        chain_id: node.chain_id,
        ..Default::default()
    };
    chain.endpoints[0].url = node.http_url();
    chain.endpoints[0].ws_url = String::new();
    chain.confirmations = 1;
    chain.poll_interval_ms = 100;
    config.chains.insert(DEVNET_CHAIN.into(), chain);
    config.oracle.feeds = vec![feed("BTC/USD", 1, 8, BTC), feed("C964/USD", 2, 6, C964)];
    let config = Arc::new(config);
    let rt = Runtime::start(config.clone(), store.clone(), node.signer(0))
        .await
        .unwrap();

    // Bootstrap the slot layout from the config: allocated on chain, recorded in the store.
    let layout = layout_from_config(&config.oracle.feeds).unwrap();
    let bootstrap = Bootstrap {
        chain_id: node.chain_id,
        price_caster: caster_address,
        provider: node.provider(),
        store: store.clone(),
        sender: rt.senders[DEVNET_CHAIN].clone(),
        tracker: rt.trackers[DEVNET_CHAIN].clone(),
    };
    let mining = tokio::spawn({
        let control = control.clone();
        async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let _ = control.mine().await;
            }
        }
    });
    bootstrap.run(&layout).await.unwrap();
    bootstrap
        .run(&layout)
        .await
        .expect("a second bootstrap changes nothing");
    mining.abort();
    assert_eq!(caster.slotCount().call().await.unwrap(), 2);
    assert_eq!(store.oracle_slots(node.chain_id).await.unwrap(), layout);

    // The desk's verification: guardian set 4 as the devnet contract has it (current).
    let sets = GuardianSets::new([GuardianSet {
        expiration_time: 0,
        ..set4.clone()
    }])
    .unwrap();
    let prices = PriceCache::new();
    let publisher = Publisher {
        chain: DEVNET_CHAIN.into(),
        chain_id: node.chain_id,
        price_caster: caster_address,
        provider: node.provider(),
        store: store.clone(),
        queue: rt.queue.clone(),
        prices: prices.clone(),
        sets,
        emitter: AcceptedEmitter::PYTHNET,
        feeds: config
            .oracle
            .feeds
            .iter()
            .map(|f| (f.price_id.parse::<B256>().unwrap(), f.clone()))
            .collect::<BTreeMap<_, _>>(),
        checked_layout: Default::default(),
        in_flight: Default::default(),
    };
    let now = chrono::Utc::now().timestamp() as u64;

    // 1. The latest update from Hermes: a dry run decides but proposes nothing...
    let client = HermesClient::new(
        &common::pyth::recorded_hermes().await,
        None,
        8,
        Duration::from_secs(5),
    )
    .unwrap();
    let ids: Vec<B256> = [BTC, C964].iter().map(|i| i.parse().unwrap()).collect();
    let latest = client.latest(&ids).await.unwrap();
    let update = &latest[0].binary[0];
    let dry = publisher.cycle(update, now, true).await.unwrap();
    assert_eq!(dry.due.len(), 2, "{dry:?}");
    assert_eq!(dry.action, None);
    assert!(rt.queue.snapshot().actions.is_empty());

    // ... and the real cycle publishes both (auto policy), read back equal.
    let report = publisher.cycle(update, now, false).await.unwrap();
    let id = report.action.expect("an action was proposed");
    wait_confirmed(&rt, &control, id).await;
    let btc = caster.getSlot(0).call().await.unwrap();
    assert_eq!(btc.assetId, 1);
    assert_eq!(btc.price, 6_140_993_501_000);
    assert_eq!(btc.confidence, 3_287_868_567);
    assert_eq!(btc.exponent, -8);
    assert_eq!(btc.emaPrice, 6_094_004_700_000);
    assert_eq!(btc.emaConfidence, 3_792_887_800);
    assert_eq!(btc.publishTime, 1_714_746_101);
    assert_eq!(btc.prevPublishTime, 1_714_746_101);
    assert_eq!(
        btc.normalizedPrice,
        normalize(6_140_993_501_000, -8, 8).unwrap()
    );
    let c964 = caster.getSlot(1).call().await.unwrap();
    assert_eq!(c964.price, 4_959_503);
    assert_eq!(c964.normalizedPrice, normalize(4_959_503, -8, 6).unwrap());
    assert_eq!(
        prices.get(&BTC.parse().unwrap()).unwrap().price,
        6_140_993_501_000,
        "the verified price reached the shared cache"
    );
    // The same update again: nothing is due, nothing proposed.
    let again = publisher.cycle(update, now, false).await.unwrap();
    assert!(again.due.is_empty() && again.action.is_none(), "{again:?}");

    // 2. The SSE stream: the first event is 2,199 s newer (due); the next, 1 s later and
    // 0.003% away, is not.
    let cancel = CancellationToken::new();
    let mut events = stream_prices(
        client,
        ids.clone(),
        StreamOptions::default(),
        cancel.clone(),
    );
    let mut reports = Vec::new();
    while reports.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            StreamEvent::Update(u) => {
                let report = publisher.cycle(&u.binary[0], now, false).await.unwrap();
                if let Some(id) = report.action {
                    wait_confirmed(&rt, &control, id).await;
                }
                reports.push(report);
            }
            StreamEvent::Garbage { reason } => panic!("{reason}"),
            _ => {}
        }
    }
    cancel.cancel();
    assert_eq!(reports[0].due, ["BTC/USD: 2199s newer"]);
    assert!(reports[1].due.is_empty(), "{:?}", reports[1]);
    let btc = caster.getSlot(0).call().await.unwrap();
    assert_eq!(btc.publishTime, 1_714_748_300);
    assert_eq!(btc.price, 6_163_260_000_000);

    // 3. Pre-flight: a store that disagrees with the contract refuses to publish.
    store.reset_oracle_slots(node.chain_id).await.unwrap();
    store
        .register_oracle_slot(
            node.chain_id,
            OracleSlot {
                decimals: 18,
                ..layout[0].clone()
            },
        )
        .await
        .unwrap();
    let refused = publisher.cycle(update, now, false).await.unwrap_err();
    assert!(matches!(refused, PublishError::Layout(_)), "{refused}");
    rt.shutdown().await;
}
