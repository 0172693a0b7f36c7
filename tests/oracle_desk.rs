//! The oracle desk as the runtime runs it: it finds the PriceCaster recorded for its chain,
//! streams the configured feeds from a Hermes on 127.0.0.1, publishes what is due through
//! the action queue (auto policy) and shows the slots in its pane snapshot.

mod common;

use std::sync::Arc;
use std::time::Duration;

use alloy::providers::Provider;
use alloy::sol_types::SolEvent;
use hedgedesk::app::Runtime;
use hedgedesk::chain::contracts::PriceCaster;
use hedgedesk::config::{ChainConfig, Config, DEVNET_CHAIN, EndpointConfig, FeedConfig};
use hedgedesk::devnet::{AnvilNode, AnvilOptions};
use hedgedesk::oracle::desk::{DeskRequest, PRICE_CASTER};
use hedgedesk::oracle::pane::{CycleSummary, OracleSnapshot};
use hedgedesk::oracle::verify::guardians::{GuardianSet, GuardianSets};
use hedgedesk::store::{Deployment, Store};

const BTC: &str = "0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43";
const C964: &str = "0xc96458d393fe9deb7a7d63a0ac41e2898a67a7750dbd166673279e06c868df0a";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_streams_publishes_and_shows_its_slots() {
    let node = AnvilNode::start(&AnvilOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite"), Duration::from_secs(5)).unwrap();

    // The devnet PriceCaster runs guardian set 4 as its current set; so does the desk.
    let set4 = GuardianSets::mainnet().get(4).unwrap().clone();
    let caster = PriceCaster::new(
        common::pyth::deploy_price_caster_set4(&node).await,
        node.provider(),
    );
    store
        .record_deployment(Deployment {
            chain_id: node.chain_id,
            name: PRICE_CASTER.into(),
            address: *caster.address(),
            artifact: "PriceCaster".into(),
            tx_hash: Default::default(),
            block_number: 1,
            deployed_at_ms: 0,
        })
        .await
        .unwrap();
    let sets_file = dir.path().join("guardian-sets.json");
    let current = GuardianSets::new([GuardianSet {
        expiration_time: 0,
        ..set4
    }])
    .unwrap();
    std::fs::write(&sets_file, current.to_json("devnet: set 4 is current")).unwrap();

    let mut config = Config::default();
    config.chains.insert(
        DEVNET_CHAIN.into(),
        ChainConfig {
            chain_id: node.chain_id,
            endpoints: vec![EndpointConfig {
                name: "anvil".into(),
                url: node.http_url(),
                ws_url: String::new(),
            }],
            confirmations: 0,
            poll_interval_ms: 100,
            ..ChainConfig::default()
        },
    );
    config.oracle.hermes_url = common::pyth::recorded_hermes().await;
    config.oracle.guardian_sets = sets_file.to_str().unwrap().into();
    let feed = |symbol: &str, asset_id, id: &str| FeedConfig {
        symbol: symbol.into(),
        asset_id,
        decimals: 8,
        price_id: id.into(),
        ..FeedConfig::default()
    };
    config.oracle.feeds = vec![feed("BTC/USD", 1, BTC), feed("C964/USD", 2, C964)];
    let config = Arc::new(config);
    let rt = Runtime::start(config.clone(), store.clone(), node.signer(0))
        .await
        .unwrap();

    // The operator's `b` on the Oracle tab: the desk allocates the configured slots.
    rt.oracle_requests.send(DeskRequest::Bootstrap).unwrap();

    // The stream replays on every reconnection, so the desk publishes once the layout is in.
    let mut pane = rt.oracle.clone();
    let snapshot = tokio::time::timeout(Duration::from_secs(40), async {
        loop {
            {
                let snap = pane.borrow_and_update().clone();
                // The slot is on chain as soon as the block is mined; the action's tx hash
                // reaches the pane on the refresh after the runner journals it.
                if snap.rows.len() == 2
                    && snap.rows[0].on_chain.publish_time == 1_714_748_300
                    && snap.rows[0].last_tx.is_some()
                {
                    return snap;
                }
            }
            pane.changed().await.unwrap();
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the desk never showed BTC published with its tx: pane {:#?}\nactions {:#?}",
            pane.borrow().rows,
            rt.queue.snapshot().actions
        )
    });
    assert_eq!(snapshot.price_caster, Some(*caster.address()));
    assert_eq!(snapshot.rows[0].symbol, "BTC/USD");
    assert_eq!(snapshot.rows[0].on_chain.price, 6_163_260_000_000);
    assert!(snapshot.rows[0].last_tx.is_some());
    assert_eq!(
        snapshot.rows[1].on_chain.publish_time, 0,
        "no C964 price in the stream"
    );
    assert!(snapshot.history[&0].contains(&6_163_260_000_000));
    assert!(snapshot.last_cycle.is_some());
    let stats = store.oracle_cycle_stats(node.chain_id).await.unwrap();
    assert!(stats.cycles >= 2, "{stats:?}");
    assert!(stats.proposed >= 1, "{stats:?}");
    assert!(stats.max_duration_us > 0);
    assert_eq!(store.oracle_slots(node.chain_id).await.unwrap().len(), 2);

    // `p`: publish every slotted feed now, due or not (here an older price: the contract
    // keeps the newer one and says so).
    let before = rt.queue.snapshot().actions.len();
    rt.oracle_requests.send(DeskRequest::PublishNow).unwrap();
    let cycle = wait_request(&mut pane, "publish now").await;
    assert!(
        cycle.due.iter().any(|d| d.contains("operator asked")),
        "{cycle:?}"
    );
    assert!(cycle.action.is_some(), "{cycle:?}");
    assert!(rt.queue.snapshot().actions.len() > before);

    // `R`: reset the contract and allocate again.
    rt.oracle_requests.send(DeskRequest::Reset).unwrap();
    let cycle = wait_request(&mut pane, "reset").await;
    assert_eq!(cycle.due, ["2 slot(s) in place"], "{cycle:?}");
    assert!(cycle.error.is_none());
    let resets = node
        .provider()
        .get_logs(
            &alloy::rpc::types::Filter::new()
                .address(*caster.address())
                .event_signature(PriceCaster::Reset::SIGNATURE_HASH)
                .from_block(0),
        )
        .await
        .unwrap();
    assert_eq!(resets.len(), 1, "one reset on chain");
    assert_eq!(caster.slotCount().call().await.unwrap(), 2);
    assert_eq!(
        rt.prices.get(&BTC.parse().unwrap()).unwrap().publish_time,
        1_714_748_301,
        "the cache holds the newest verified price, published or not"
    );
    rt.shutdown().await;
}

/// Waits for the outcome of the operator request sent just before (the pane keeps the
/// last one apart from the streamed cycles, which may follow it at any moment).
async fn wait_request(
    pane: &mut tokio::sync::watch::Receiver<Arc<OracleSnapshot>>,
    request: &str,
) -> CycleSummary {
    pane.borrow_and_update();
    tokio::time::timeout(Duration::from_secs(40), async {
        loop {
            if let Some(r) = pane.borrow_and_update().last_request.clone()
                && r.request == request
            {
                return r.outcome;
            }
            pane.changed().await.unwrap();
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the desk never answered the {request} request"))
}

/// The operator is away (publish_prices waits for a keystroke) while the price keeps
/// moving: each newer update's proposal withdraws the one it supersedes, so one publication
/// waits, not a queue of stale ones; approved, it lands with the newest price.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_proposal_withdraws_the_one_still_waiting_for_the_operator() {
    use hedgedesk::actions::{ActionKind, ActionState, PolicyMode};
    use hedgedesk::config::ActionPolicyConfig;
    use hedgedesk::devnet::Devnet;
    use hedgedesk::devnet::hermes::{DevnetFeed, DevnetHermes};
    use hedgedesk::devnet::pyth::DevnetPythSource;
    use hedgedesk::devnet::scenario::{
        DEVNET_GUARDIAN_SEED, DEVNET_GUARDIANS, PYTH_BTC_USD, PYTH_ETH_USD, PriceCasterSpec,
        Scenario,
    };
    use hedgedesk::oracle::wire::message::PriceFeedMessage;

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite"), Duration::from_secs(5)).unwrap();
    let mut devnet = Devnet::start(AnvilOptions::default(), store.clone())
        .await
        .unwrap();
    let mut scenario = Scenario::empty();
    scenario.price_caster = Some(PriceCasterSpec::devnet());
    devnet.seed(&scenario).await.unwrap();

    let source = DevnetPythSource::new(DEVNET_GUARDIAN_SEED, DEVNET_GUARDIANS, 0);
    let sets_file = dir.path().join("sets.json");
    std::fs::write(&sets_file, source.guardian_sets().to_json("devnet")).unwrap();
    let emitter = source.emitter;
    let hermes = DevnetHermes::new(
        source,
        vec![DevnetFeed {
            id: PYTH_BTC_USD,
            symbol: "BTC/USD".into(),
        }],
    );
    let now = chrono::Utc::now().timestamp();
    let eth = |t: i64| PriceFeedMessage {
        feed_id: PYTH_ETH_USD,
        price: 300_000_000_000,
        conf: 100_000,
        exponent: -8,
        publish_time: t,
        prev_publish_time: t - 1,
        ema_price: 300_000_000_000,
        ema_conf: 100_000,
    };
    let btc = |price: i64, t: i64| PriceFeedMessage {
        feed_id: PYTH_BTC_USD,
        price,
        conf: 1_000_000,
        exponent: -8,
        publish_time: t,
        prev_publish_time: t - 1,
        ema_price: price,
        ema_conf: 1_000_000,
    };
    let mut config = Config::default();
    let mut chain = devnet.chain_config();
    chain.confirmations = 0;
    chain.poll_interval_ms = 100;
    config.chains.insert(DEVNET_CHAIN.into(), chain);
    config.api.enabled = false;
    config.oracle.hermes_url = hermes.serve_on(0).await.unwrap();
    config.oracle.guardian_sets = sets_file.to_str().unwrap().into();
    config.oracle.emitter_chain = emitter.chain;
    config.oracle.emitter_address = emitter.address.to_string();
    // ETH at 18 decimals (wei) normalises to 0 picodollars: never proposed.
    config.oracle.feeds = vec![
        FeedConfig {
            symbol: "BTC/USD".into(),
            asset_id: 1,
            decimals: 8,
            price_id: PYTH_BTC_USD.to_string(),
            ..FeedConfig::default()
        },
        FeedConfig {
            symbol: "ETH/USD".into(),
            asset_id: 2,
            decimals: 18,
            price_id: PYTH_ETH_USD.to_string(),
            ..FeedConfig::default()
        },
    ];
    config.actions.insert(
        ActionKind::PublishPrices,
        ActionPolicyConfig {
            mode: PolicyMode::Confirm,
            ..ActionPolicyConfig::default()
        },
    );
    let rt = Runtime::start(Arc::new(config), store.clone(), devnet.node.signer(0))
        .await
        .unwrap();
    rt.oracle_requests.send(DeskRequest::Bootstrap).unwrap();

    let publishes = |state: ActionState| {
        rt.queue
            .snapshot()
            .actions
            .iter()
            .filter(|a| a.kind == ActionKind::PublishPrices && a.state == state)
            .cloned()
            .collect::<Vec<_>>()
    };
    async fn until(what: &str, rt: &Runtime, check: impl Fn() -> bool) {
        let start = std::time::Instant::now();
        while !check() {
            assert!(
                start.elapsed() < Duration::from_secs(40),
                "timed out waiting for {what}: {:#?}",
                rt.queue.snapshot().actions
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let slots = || {
        let store = store.clone();
        let chain_id = devnet.node.chain_id;
        async move { store.oracle_slots(chain_id).await.unwrap().len() }
    };
    let start = std::time::Instant::now();
    while slots().await == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "no slot allocated"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The slot is in: the stream's next price is due (never published).
    hermes.publish(vec![btc(6_000_000_000_000, now), eth(now)]);
    until("the first publication proposed", &rt, || {
        publishes(ActionState::Proposed).len() == 1
    })
    .await;
    let first = publishes(ActionState::Proposed)[0].clone();
    assert!(
        first.summary.contains("BTC/USD") && !first.summary.contains("ETH/USD"),
        "{}",
        first.summary
    );
    let first = first.id;

    // Two newer prices, each moved beyond the threshold from the one before.
    hermes.publish(vec![btc(6_100_000_000_000, now + 1)]);
    until("the second proposal", &rt, || {
        publishes(ActionState::Proposed)
            .iter()
            .any(|a| a.id != first)
    })
    .await;
    hermes.publish(vec![btc(6_200_000_000_000, now + 2)]);
    until("one proposal waiting, the two older withdrawn", &rt, || {
        publishes(ActionState::Proposed).len() == 1 && publishes(ActionState::Rejected).len() == 2
    })
    .await;
    let last = publishes(ActionState::Proposed)[0].clone();
    for old in publishes(ActionState::Rejected) {
        let shown = store.action(old.id).await.unwrap().unwrap();
        assert!(
            shown
                .note
                .as_deref()
                .is_some_and(|n| n.starts_with("superseded by #")),
            "{shown:#?}"
        );
    }

    rt.queue.approve(last.id).await.unwrap();
    until("the approved publication confirmed", &rt, || {
        publishes(ActionState::Confirmed).len() == 1
    })
    .await;
    let caster = PriceCaster::new(
        devnet.address(PRICE_CASTER).unwrap(),
        devnet.node.provider(),
    );
    assert_eq!(
        caster.getSlot(0).call().await.unwrap().price,
        6_200_000_000_000
    );
    rt.shutdown().await;
}
