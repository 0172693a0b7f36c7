//! The perp desk end to end on a real anvil: our DePerp contracts, the real `Runtime`
//! (desk, action runner, hedge executor, SQLite journal), prices fed into its Pyth cache,
//! and the venue either paper or the local Binance over HTTP.
//!
//! - A trader position pushes the vault into risk → one hedge opens; the risk clears → it
//!   closes once the expiry has passed; the risk comes back → a new hedge; the position
//!   vanishes → one closing order. The runtime is killed and restarted while a hedge is
//!   open and again right after the position vanished: no hedge is lost or doubled.
//! - Through Binance's faults (429 with Retry-After, -1021 from a skewed clock, 503 with
//!   the order placed, 503 without it): the desk opens, reconciles and closes exactly once.
//!
//! Needs anvil (`scripts/bootstrap` installs it in `.tools/bin`).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, I256, U256};
use hedgedesk::actions::{ActionKind, ActionPlan, ActionState, PolicyMode};
use hedgedesk::app::{Runtime, Secrets};
use hedgedesk::config::{ActionPolicyConfig, Config, DEVNET_CHAIN, PerpAssetConfig};
use hedgedesk::devnet::binance::{Fault, LocalBinance};
use hedgedesk::devnet::perp::{self as devnet_perp, DePerpContracts, deploy_deperp};
use hedgedesk::devnet::{AnvilNode, AnvilOptions};
use hedgedesk::perp::desk::BinanceCredentials;
use hedgedesk::perp::model::{Market, TraderPosition};
use hedgedesk::prices::Price;
use hedgedesk::store::Store;
use hedgedesk::store::perp::{Hedge, HedgeState};
use rust_decimal::Decimal;

use common::wallet;

const OWNER: usize = 0;
const TRADER: usize = 2;
/// The collateral asset the vault is kept in (the contracts only key balances by it).
const USDC: Address = Address::repeat_byte(0x0c);
const BTC_FEED: B256 = B256::repeat_byte(0xb7);
const EXPIRY_SECS: u64 = 3;
const API_KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
const API_SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
const WAIT: Duration = Duration::from_secs(40);

fn usdc(whole: u64) -> U256 {
    U256::from(whole) * U256::from(1_000_000u64)
}

/// DePerp's price scale in the test config: 8 decimals.
fn price8(whole: u64) -> U256 {
    U256::from(whole) * U256::from(100_000_000u64)
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

enum VenueKind {
    Paper,
    Binance(LocalBinance),
}

struct World {
    node: AnvilNode,
    _dir: tempfile::TempDir,
    store: Store,
    contracts: DePerpContracts,
    venue: VenueKind,
    /// Publish times handed to the price cache only move forward.
    last_publish: std::sync::atomic::AtomicI64,
}

impl World {
    /// DePerp with a BTC-USD market, a 1,000,000 USDC vault and a 100,000 USDC shield.
    async fn start(venue: VenueKind) -> World {
        let node = AnvilNode::start(&AnvilOptions::default()).expect("anvil");
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite"), Duration::from_secs(5)).unwrap();
        let (contracts, _) = deploy_deperp(&wallet(&node, OWNER), node.address(OWNER), &store)
            .await
            .expect("deploy DePerp");
        let market = Market {
            name: "BTC-USD".into(),
            category: "crypto".into(),
            de_feed: Address::ZERO,
            max_leverage: U256::from(50),
            max_price_shift: U256::ZERO,
            fee: U256::ZERO,
            liq_threshold: U256::ZERO,
            funding_factor: U256::ZERO,
            min_order_age: U256::ZERO,
            feed_max_age: U256::from(600),
            pyth_feed: BTC_FEED,
            market_live: true,
            is_reduce_only: false,
        };
        devnet_perp::set_market(&wallet(&node, OWNER), &contracts, &market)
            .await
            .unwrap();
        devnet_perp::set_vault_available(&wallet(&node, OWNER), &contracts, USDC, usdc(1_000_000))
            .await
            .unwrap();
        devnet_perp::set_shield_balance(&wallet(&node, OWNER), &contracts, USDC, usdc(100_000))
            .await
            .unwrap();
        if let VenueKind::Binance(local) = &venue {
            local.add_symbol(
                "BTCUSDT",
                dec("0.001"),
                dec("0.001"),
                dec("1000"),
                dec("100"),
            );
            local.set_mark_price("BTCUSDT", dec("60000"));
        }
        World {
            node,
            _dir: dir,
            store,
            contracts,
            venue,
            last_publish: std::sync::atomic::AtomicI64::new(0),
        }
    }

    /// Opens a trader's BTC-USD long of `size` USDC at `entry`; returns its position key.
    async fn open_long(&self, size: u64, entry: u64) -> String {
        let position = TraderPosition {
            user: self.node.address(TRADER),
            asset: USDC,
            market: "BTC-USD".into(),
            is_long: true,
            size: usdc(size),
            collateral: usdc(size / 10),
            funding_tracer: I256::ZERO,
            price: price8(entry),
            timestamp: U256::from(chrono::Utc::now().timestamp()),
        };
        devnet_perp::open_position(&wallet(&self.node, OWNER), &self.contracts, &position)
            .await
            .unwrap();
        position.key()
    }

    async fn close_position(&self, key: &str) {
        devnet_perp::close_position_by_key(&wallet(&self.node, OWNER), &self.contracts, key)
            .await
            .unwrap();
    }

    fn config(&self) -> Arc<Config> {
        let mut config = Config::default();
        let mut chain = hedgedesk::config::ChainConfig {
            chain_id: self.node.chain_id,
            endpoints: vec![hedgedesk::config::EndpointConfig {
                name: "anvil".into(),
                url: self.node.http_url(),
                ws_url: self.node.ws_url(),
            }],
            ..Default::default()
        };
        chain.confirmations = 0;
        chain.poll_interval_ms = 100;
        chain.health_interval_ms = 200;
        config.chains.insert(DEVNET_CHAIN.into(), chain);
        config.api.enabled = false;
        let p = &mut config.perp;
        p.registry = self.contracts.registry.to_checksum(None);
        p.assets = vec![PerpAssetConfig {
            asset: USDC.to_checksum(None),
            decimals: 6,
        }];
        p.refresh_ms = 200;
        p.price_decimals = 8;
        p.expiry_secs = EXPIRY_SECS;
        p.auto = true;
        p.markets = [("BTC-USD".to_string(), "BTCUSDT".to_string())].into();
        if let VenueKind::Binance(local) = &self.venue {
            p.venue = "binance".into();
            p.binance.base_url = local.url().to_string();
            // A lost request is sent again after 1 s + 1 s of grace.
            p.binance.recv_window_ms = 1_000;
            p.binance.timeout_ms = 5_000;
            p.binance.max_retry_wait_secs = 5;
        }
        for kind in [ActionKind::OpenHedge, ActionKind::CloseHedge] {
            config.actions.insert(
                kind,
                ActionPolicyConfig {
                    mode: PolicyMode::Auto,
                    ..ActionPolicyConfig::default()
                },
            );
        }
        Arc::new(config)
    }

    async fn runtime(&self) -> Runtime {
        let secrets = Secrets {
            binance: Some(BinanceCredentials {
                api_key: API_KEY.to_string().into(),
                api_secret: API_SECRET.to_string().into(),
            }),
            ..Secrets::default()
        };
        Runtime::start_with(
            self.config(),
            self.store.clone(),
            self.node.signer(0),
            secrets,
        )
        .await
        .unwrap()
    }

    /// BTC at `usd` in the runtime's Pyth cache (and as the local Binance's mark).
    fn set_price(&self, rt: &Runtime, usd: u64) {
        let now = chrono::Utc::now().timestamp();
        let last = self
            .last_publish
            .fetch_max(now, std::sync::atomic::Ordering::SeqCst);
        let publish_time = now.max(last + 1);
        self.last_publish
            .store(publish_time, std::sync::atomic::Ordering::SeqCst);
        rt.prices.apply(&[Price {
            feed_id: BTC_FEED,
            price: i64::try_from(usd).unwrap() * 100_000_000,
            conf: 0,
            expo: -8,
            ema_price: 0,
            ema_conf: 0,
            publish_time,
        }]);
        if let VenueKind::Binance(local) = &self.venue {
            local.set_mark_price("BTCUSDT", Decimal::from(usd));
        }
    }

    async fn hedges_of(&self, position_key: &str) -> Vec<Hedge> {
        let mut all = self.store.perp_recent_hedges(1_000).await.unwrap();
        all.retain(|h| h.position_key == position_key);
        all.reverse();
        all
    }

    async fn wait_hedge(
        &self,
        position_key: &str,
        what: &str,
        check: impl Fn(&[Hedge]) -> bool,
    ) -> Vec<Hedge> {
        let start = Instant::now();
        loop {
            let hedges = self.hedges_of(position_key).await;
            if check(&hedges) {
                return hedges;
            }
            assert!(
                start.elapsed() < WAIT,
                "timed out waiting for {what}; hedges: {hedges:#?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Orders that reached the venue: (side, quantity, reduce_only), oldest first.
    async fn orders(&self) -> Vec<(String, Decimal, bool)> {
        match &self.venue {
            VenueKind::Paper => self
                .store
                .paper_fills()
                .await
                .unwrap()
                .into_iter()
                .map(|f| (f.side.as_str().to_string(), f.quantity, f.reduce_only))
                .collect(),
            VenueKind::Binance(local) => local
                .orders()
                .into_iter()
                .map(|o| (o.side.as_str().to_string(), o.quantity, o.reduce_only))
                .collect(),
        }
    }

    async fn actions(&self, rt: &Runtime, kind: ActionKind) -> Vec<hedgedesk::actions::Action> {
        rt.queue.refresh().await.unwrap();
        rt.queue
            .snapshot()
            .actions
            .iter()
            .filter(|a| a.kind == kind)
            .cloned()
            .collect()
    }
}

/// Waits until the Perp tab's snapshot satisfies `check`.
async fn wait_pane(
    rt: &Runtime,
    what: &str,
    check: impl Fn(&hedgedesk::perp::pane::PerpSnapshot) -> bool,
) {
    let start = Instant::now();
    loop {
        let snap = rt.perp.borrow().clone();
        if check(&snap) {
            return;
        }
        assert!(
            start.elapsed() < WAIT,
            "timed out waiting for {what}; pane: {snap:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn state_of(hedges: &[Hedge], index: usize) -> Option<HedgeState> {
    hedges.get(index).map(|h| h.state)
}

/// The `open_hedge` actions' quantity as the plan says it and as the summary says it.
fn proposed_quantities(actions: &[hedgedesk::actions::Action]) -> Vec<(Decimal, String)> {
    actions
        .iter()
        .map(|a| {
            let ActionPlan::ExchangeOrder { quantity, .. } = &a.plan else {
                panic!("not an exchange order: {a:#?}")
            };
            (dec(quantity), a.summary.clone())
        })
        .collect()
}

async fn hedge_lifecycle(world: World) {
    let key = world.open_long(500_000, 60_000).await;
    let rt = world.runtime().await;
    world.set_price(&rt, 60_000);

    // At the entry price nothing is at risk: the pane shows the position, unflagged.
    wait_pane(&rt, "the position valued with no flag", |s| {
        s.positions
            .iter()
            .any(|p| p.key == key && p.price.is_some() && p.flags.is_empty())
    })
    .await;
    assert!(world.actions(&rt, ActionKind::OpenHedge).await.is_empty());

    // +20%: the trader's 100,000 PnL eats the whole shield → shield PnL risk → a BUY hedge
    // of 500,000 / 72,000 = 6.944 BTC.
    world.set_price(&rt, 72_000);
    let hedges = world
        .wait_hedge(&key, "the hedge open", |h| {
            state_of(h, 0) == Some(HedgeState::Open)
        })
        .await;
    assert_eq!(hedges.len(), 1);
    assert_eq!(hedges[0].quantity, dec("6.944"));
    assert!(
        hedges[0].reason.contains("shield PnL risk"),
        "{}",
        hedges[0].reason
    );
    assert_eq!(
        world.orders().await,
        vec![("BUY".into(), dec("6.944"), false)]
    );
    // What was proposed (and approved) is what traded: the venue's step, not 6.94444444.
    let proposed = proposed_quantities(&world.actions(&rt, ActionKind::OpenHedge).await);
    assert_eq!(proposed.len(), 1, "{proposed:?}");
    assert_eq!(proposed[0].0, dec("6.944"), "{proposed:?}");
    assert!(
        proposed[0].1.contains("BUY 6.944 BTCUSDT"),
        "{}",
        proposed[0].1
    );
    wait_pane(&rt, "the flag and the hedge on the pane", |s| {
        s.positions.iter().any(|p| {
            p.key == key
                && p.flags.iter().any(|f| f.kind == "shield")
                && p.hedge.as_ref().is_some_and(|(_, state)| state == "open")
        }) && s
            .hedges
            .iter()
            .any(|h| h.state == "open" && h.quantity == "6.944")
    })
    .await;

    // Killed and restarted while hedged and still at risk: the hedge is neither lost nor
    // opened again.
    rt.shutdown().await;
    let rt = world.runtime().await;
    world.set_price(&rt, 72_000);
    wait_pane(&rt, "the hedge after the restart", |s| {
        s.positions
            .iter()
            .any(|p| p.key == key && p.hedge.as_ref().is_some_and(|(_, st)| st == "open"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(world.hedges_of(&key).await.len(), 1);
    assert_eq!(world.orders().await.len(), 1, "no second opening order");
    assert_eq!(world.actions(&rt, ActionKind::OpenHedge).await.len(), 1);

    // The risk clears: the hedge stays until the expiry has passed, then closes once.
    world.set_price(&rt, 60_000);
    let cleared = Instant::now();
    let hedges = world
        .wait_hedge(&key, "the hedge closed", |h| {
            state_of(h, 0) == Some(HedgeState::Closed)
        })
        .await;
    assert!(
        // Flag times are whole seconds and the last flagged cycle ran just before the
        // price moved: at least the expiry less those 1.5 s.
        cleared.elapsed() >= Duration::from_millis(EXPIRY_SECS * 1_000 - 1_500),
        "closed {:?} after the risk cleared, before the {EXPIRY_SECS}s expiry",
        cleared.elapsed()
    );
    assert!(
        hedges[0]
            .close_reason
            .as_deref()
            .unwrap()
            .contains("risk cleared")
    );
    assert_eq!(
        world.orders().await,
        vec![
            ("BUY".into(), dec("6.944"), false),
            ("SELL".into(), dec("6.944"), true)
        ]
    );

    // The risk comes back: a new hedge. Then the position vanishes from DePerp while the
    // desk is down: after the restart, exactly one closing order.
    world.set_price(&rt, 72_000);
    let hedges = world
        .wait_hedge(&key, "a second hedge open", |h| {
            state_of(h, 1) == Some(HedgeState::Open)
        })
        .await;
    assert_ne!(hedges[0].id, hedges[1].id);
    rt.shutdown().await;
    world.close_position(&key).await;
    let rt = world.runtime().await;
    world.set_price(&rt, 72_000);
    let hedges = world
        .wait_hedge(&key, "the second hedge closed", |h| {
            state_of(h, 1) == Some(HedgeState::Closed)
        })
        .await;
    assert!(
        hedges[1]
            .close_reason
            .as_deref()
            .unwrap()
            .contains("position vanished")
    );
    // More cycles change nothing: the close was sent once.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let orders = world.orders().await;
    assert_eq!(orders.len(), 4, "{orders:?}");
    assert_eq!(orders.iter().filter(|o| o.2).count(), 2, "{orders:?}");
    let closes = world.actions(&rt, ActionKind::CloseHedge).await;
    assert_eq!(closes.len(), 2, "{closes:#?}");
    assert!(closes.iter().all(|a| a.state == ActionState::Confirmed));
    wait_pane(&rt, "the position gone and the hedges closed", |s| {
        !s.positions.iter().any(|p| p.key == key)
            && s.hedges.iter().filter(|h| h.state == "closed").count() == 2
    })
    .await;
    rt.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paper_a_hedge_opens_on_risk_closes_after_expiry_and_once_when_the_position_vanishes() {
    hedge_lifecycle(World::start(VenueKind::Paper).await).await;
}

/// The desk proposes the quantity the venue will trade, rounded toward zero to its step
/// (500,000 / 72,000 = 6.9444… BTC → 6.944 at the paper venue's 0.001), so the action the
/// operator approves, the hedge journaled from it and the paper fill all say the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paper_the_proposed_hedge_quantity_is_the_quantity_that_fills() {
    let world = World::start(VenueKind::Paper).await;
    let key = world.open_long(500_000, 60_000).await;
    let rt = world.runtime().await;
    world.set_price(&rt, 60_000);
    wait_pane(&rt, "the position valued", |s| {
        s.positions
            .iter()
            .any(|p| p.key == key && p.price.is_some())
    })
    .await;
    world.set_price(&rt, 72_000);
    let hedges = world
        .wait_hedge(&key, "the hedge open", |h| {
            state_of(h, 0) == Some(HedgeState::Open)
        })
        .await;
    let fills = world.store.paper_fills().await.unwrap();
    assert_eq!(fills.len(), 1, "{fills:?}");
    let filled = fills[0].quantity;
    assert_eq!(filled, dec("6.944"));

    let opens = world.actions(&rt, ActionKind::OpenHedge).await;
    let proposed = proposed_quantities(&opens);
    assert_eq!(proposed.len(), 1, "{proposed:?}");
    assert_eq!(
        proposed[0].0, filled,
        "the approved quantity is not what filled"
    );
    assert_eq!(proposed[0].0.to_string(), "6.944");
    assert!(
        proposed[0]
            .1
            .contains(&format!("BUY {filled} BTCUSDT on paper")),
        "{}",
        proposed[0].1
    );
    assert_eq!(hedges[0].quantity, filled);
    rt.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binance_a_hedge_opens_on_risk_closes_after_expiry_and_once_when_the_position_vanishes() {
    let local = LocalBinance::start(API_KEY, API_SECRET).await.unwrap();
    hedge_lifecycle(World::start(VenueKind::Binance(local)).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_429_a_skewed_clock_and_503s_a_hedge_opens_and_closes_exactly_once() {
    let local = LocalBinance::start(API_KEY, API_SECRET).await.unwrap();
    let world = World::start(VenueKind::Binance(local)).await;
    let VenueKind::Binance(local) = &world.venue else {
        unreachable!()
    };
    let key = world.open_long(500_000, 60_000).await;
    let rt = world.runtime().await;
    world.set_price(&rt, 60_000);
    wait_pane(&rt, "the position valued", |s| {
        s.positions
            .iter()
            .any(|p| p.key == key && p.price.is_some())
    })
    .await;

    // The opening order: first a 429 (Retry-After 1 s, waited out), then the venue's clock
    // runs 3 s ahead of ours (-1021 until the client measures the offset again), then a
    // 503 although the order WAS placed: found by its client order id, not sent again.
    local.fail_next(Fault::RateLimited {
        retry_after_secs: 1,
    });
    local.fail_next(Fault::UnknownAfterPlacing);
    local.set_clock_offset_ms(3_000);
    world.set_price(&rt, 72_000);
    let hedges = world
        .wait_hedge(&key, "the hedge open", |h| {
            state_of(h, 0) == Some(HedgeState::Open)
        })
        .await;
    let open_id = hedges[0].open_client_id.clone();
    assert_eq!(local.orders_with_client_id(&open_id).len(), 1);
    assert_eq!(local.orders().len(), 1);
    assert_eq!(local.position("BTCUSDT").quantity, dec("6.944"));
    assert_eq!(local.leverage("BTCUSDT"), 10);
    let counters = local.counters();
    use hedgedesk::devnet::binance::Refusal;
    assert!(counters.refused(Refusal::RateLimited) >= 1, "{counters:?}");
    assert!(counters.refused(Refusal::Unknown) >= 1, "{counters:?}");
    assert!(counters.refused(Refusal::Timestamp) >= 1, "{counters:?}");

    // The closing order gets a 503 and is NOT placed: the desk waits out the grace, asks by
    // client order id, finds nothing, and sends it again with the same id — once.
    local.fail_next(Fault::UnknownNotPlaced);
    world.set_price(&rt, 60_000);
    let hedges = world
        .wait_hedge(&key, "the hedge closed", |h| {
            state_of(h, 0) == Some(HedgeState::Closed)
        })
        .await;
    let close_id = hedges[0].close_client_id.clone().unwrap();
    assert_eq!(local.orders_with_client_id(&close_id).len(), 1);
    assert_eq!(local.orders().len(), 2);
    assert_eq!(local.position("BTCUSDT").quantity, Decimal::ZERO);
    assert_eq!(local.pending_faults(), 0);
    let opens = world.actions(&rt, ActionKind::OpenHedge).await;
    let closes = world.actions(&rt, ActionKind::CloseHedge).await;
    assert_eq!((opens.len(), closes.len()), (1, 1));
    assert!(
        opens
            .iter()
            .chain(&closes)
            .all(|a| a.state == ActionState::Confirmed)
    );
    rt.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_start_an_unanswered_order_is_settled_from_the_venue_and_a_stray_position_reported() {
    use hedgedesk::perp::venue::binance::{BinanceSettings, BinanceVenue};
    use hedgedesk::perp::venue::{OrderRequest, OrderSide, Venue};
    use hedgedesk::store::perp::NewHedge;

    let local = LocalBinance::start(API_KEY, API_SECRET).await.unwrap();
    local.add_symbol("ETHUSDT", dec("0.01"), dec("0.01"), dec("10000"), dec("5"));
    local.set_mark_price("ETHUSDT", dec("3000"));
    let world = World::start(VenueKind::Binance(local)).await;
    let VenueKind::Binance(local) = &world.venue else {
        unreachable!()
    };
    let key = world.open_long(500_000, 60_000).await;

    // The process journaled a hedge and sent its order, then died before hearing back and
    // before its action was journaled as sent: the hedge says "opening", no action owns it.
    let client_id = "hd-o-1-crashed";
    world
        .store
        .perp_insert_hedge(NewHedge {
            position_key: key.clone(),
            venue: "binance".into(),
            market: "BTC-USD".into(),
            symbol: "BTCUSDT".into(),
            side: OrderSide::Buy,
            quantity: dec("2.5"),
            open_client_id: client_id.into(),
            open_action_id: None,
            reason: "shield PnL risk".into(),
            now: chrono::Utc::now().timestamp(),
        })
        .await
        .unwrap()
        .unwrap();
    let venue = BinanceVenue::new(BinanceSettings::new(
        local.url(),
        API_KEY.to_string().into(),
        API_SECRET.to_string().into(),
    ))
    .unwrap();
    venue
        .place_order(&OrderRequest {
            symbol: "BTCUSDT".into(),
            side: OrderSide::Buy,
            quantity: dec("2.5"),
            reduce_only: false,
            client_order_id: client_id.into(),
        })
        .await
        .unwrap();
    // And someone else holds ETH on the same account.
    local.set_position("ETHUSDT", dec("2"), dec("3000"));

    let rt = world.runtime().await;
    world.set_price(&rt, 60_000);
    // The order is found filled by its client order id: the hedge is open, nothing resent.
    let hedges = world
        .wait_hedge(&key, "the orphaned hedge settled", |h| {
            state_of(h, 0) == Some(HedgeState::Open)
        })
        .await;
    assert_eq!(hedges[0].entry_price, Some(dec("60000")));
    assert_eq!(local.orders_with_client_id(client_id).len(), 1);
    wait_pane(&rt, "the stray ETH position reported", |s| {
        s.journal.iter().any(|j| {
            j.message
                .starts_with("binance holds 2 ETHUSDT but the hedge journal expects 0")
        }) && s
            .journal
            .iter()
            .any(|j| j.message.contains("was found filled on binance"))
    })
    .await;
    // Not flagged at 60,000: past the expiry the recovered hedge closes like any other.
    let hedges = world
        .wait_hedge(&key, "the recovered hedge closed", |h| {
            state_of(h, 0) == Some(HedgeState::Closed)
        })
        .await;
    assert!(
        hedges[0]
            .close_reason
            .as_deref()
            .unwrap()
            .contains("risk cleared")
    );
    assert_eq!(local.position("BTCUSDT").quantity, Decimal::ZERO);
    assert_eq!(
        local.position("ETHUSDT").quantity,
        dec("2"),
        "never corrected"
    );
    rt.shutdown().await;
}
