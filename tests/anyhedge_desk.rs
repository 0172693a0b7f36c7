//! The AnyHedge desk as the runtime runs it on a devnet, driven only the way wallets drive
//! the watchtower: over its HTTP API and WebSocket. A devnet oracle signs prices and serves
//! them from its relay on 127.0.0.1; the desk polls it, funds contracts with the parties'
//! signed permits, and settles them on-chain: a liquidation after the whole offer lifecycle,
//! a maturation, and a mutual early maturation, with the payouts checked on the chain
//! against the AnyHedge math.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use futures::StreamExt;
use hedgedesk::actions::{ActionKind, PolicyMode};
use hedgedesk::anyhedge::chain::{
    DUST, MutualRedemption, Params, RedemptionKind, Side, build_params, predict_address,
};
use hedgedesk::anyhedge::math::{self, ContractParameters, ContractTerms};
use hedgedesk::anyhedge::pane::AnyHedgeSnapshot;
use hedgedesk::app::Runtime;
use hedgedesk::chain::contracts::TestToken;
use hedgedesk::config::{ActionPolicyConfig, AnyHedgeOracleConfig, Config, DEVNET_CHAIN};
use hedgedesk::devnet::anyhedge::{
    AnyHedgeContracts, deploy_anyhedge, mint_and_approve, sign_funding, sign_redemption,
};
use hedgedesk::devnet::gp_oracle::DevnetOracle;
use hedgedesk::devnet::{AnvilOptions, Devnet};
use hedgedesk::store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// The dev account the runtime signs with (not a party, not the collateral's minter).
const DESK_KEY: usize = 9;
const START_PRICE: i32 = 10_944;
const LOW_MULT: f64 = 0.75;
const HIGH_MULT: f64 = 4.0;
/// The short's offer; at low 0.75 a long of a third of it matches.
const SHORT_SATS: u64 = 30_000_000;
const LONG_SATS: u64 = 10_000_000;
const WAIT: Duration = Duration::from_secs(60);

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

struct Desk {
    _dir: tempfile::TempDir,
    store: Store,
    devnet: Devnet,
    oracle: DevnetOracle,
    rt: Option<Runtime>,
    contracts: AnyHedgeContracts,
    http: reqwest::Client,
    base: String,
    ws_base: String,
}

/// One side of a contract as the tests play it: a dev account and a wallet hash.
#[derive(Clone, Copy)]
struct Party {
    dev: usize,
    wallet: &'static str,
}

impl Desk {
    /// A devnet with the AnyHedge contracts, an oracle relay and the whole runtime, with
    /// funding, settlement and redemption on auto and the API on a free port.
    async fn start(settlement_deadline_secs: u64) -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("desk.sqlite"), Duration::from_secs(5)).unwrap();
        let devnet = Devnet::start(AnvilOptions::default(), store.clone())
            .await
            .unwrap();
        let (contracts, _) =
            deploy_anyhedge(&devnet.wallet(0).unwrap(), devnet.node.address(0), &store)
                .await
                .unwrap();
        let oracle = DevnetOracle::from_seed(b"anyhedge desk test");
        let relay = oracle.serve().await.unwrap();

        let mut config = Config::default();
        let mut chain = devnet.chain_config();
        chain.confirmations = 0;
        chain.poll_interval_ms = 100;
        chain.health_interval_ms = 200;
        config.chains.insert(DEVNET_CHAIN.into(), chain);
        let a = &mut config.anyhedge;
        a.settlement_deadline_secs = settlement_deadline_secs;
        a.poll_interval_secs = 1;
        a.oracles = vec![AnyHedgeOracleConfig {
            pubkey: oracle.pubkey_hex(),
            relay,
            asset_name: "USD".into(),
            asset_currency: "USD".into(),
            asset_decimals: 2,
        }];
        config.api.listen = "127.0.0.1:0".into();
        for kind in [
            ActionKind::FundContract,
            ActionKind::SettleContract,
            ActionKind::MutualRedeem,
        ] {
            config.actions.insert(
                kind,
                ActionPolicyConfig {
                    mode: PolicyMode::Auto,
                    ..ActionPolicyConfig::default()
                },
            );
        }
        let rt = Runtime::start(
            Arc::new(config),
            store.clone(),
            devnet.node.signer(DESK_KEY),
        )
        .await
        .unwrap();
        let mut api_addr = rt.api_addr.clone();
        let addr = tokio::time::timeout(WAIT, api_addr.wait_for(Option::is_some))
            .await
            .expect("the API listens")
            .unwrap()
            .unwrap();
        Desk {
            _dir: dir,
            store,
            devnet,
            oracle,
            rt: Some(rt),
            contracts,
            http: reqwest::Client::new(),
            base: format!("http://{addr}"),
            ws_base: format!("ws://{addr}"),
        }
    }

    fn pane(&self) -> Arc<AnyHedgeSnapshot> {
        self.rt.as_ref().unwrap().anyhedge.borrow().clone()
    }

    /// Polls `probe` every 100 ms until it yields; on timeout, fails with the desk's journal.
    async fn until<T, F, Fut>(&self, what: &str, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(found) = probe().await {
                return found;
            }
            if tokio::time::Instant::now() > deadline {
                let journal: Vec<String> = self
                    .pane()
                    .journal
                    .iter()
                    .map(|j| j.message.clone())
                    .collect();
                panic!("timed out waiting for {what}; the desk's journal: {journal:#?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        common::http::get_json(&self.http, format!("{}{path}", self.base)).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        common::http::post_json(&self.http, format!("{}{path}", self.base), &body).await
    }

    async fn ok(&self, path: &str, body: Value) -> Value {
        let (status, value) = self.post(path, body).await;
        assert!(status.is_success(), "POST {path}: {status} {value}");
        value
    }

    async fn position(&self, address: &str) -> Value {
        let (status, p) = self
            .get(&format!("/anyhedge/hedge-position/{address}/"))
            .await;
        assert_eq!(status, StatusCode::OK, "{p}");
        p
    }

    async fn offer(&self, id: u64) -> Value {
        self.get(&format!("/anyhedge/hedge-position-offers/{id}/"))
            .await
            .1
    }

    /// The oracle signs `price` now and the desk's poller stores it.
    async fn publish(&self, price: i32) -> i64 {
        let at = now();
        let signed = self.oracle.publish(at as i32, price).unwrap();
        let path = format!(
            "/anyhedge/price-messages/?pubkey={}&message_sequence={}",
            self.oracle.pubkey_hex(),
            signed.message.message_sequence
        );
        self.until("the poller to store the message", || async {
            (self.get(&path).await.1["count"] == 1).then_some(())
        })
        .await;
        at
    }

    async fn create_offer(&self, short: Party, duration_seconds: u64) -> u64 {
        let offer = self
            .ok(
                "/anyhedge/hedge-position-offers/",
                json!({
                    "position": "short",
                    "wallet_hash": short.wallet,
                    "address": self.devnet.node.address(short.dev).to_string(),
                    "satoshis": SHORT_SATS,
                    "duration_seconds": duration_seconds,
                    "low_liquidation_multiplier": LOW_MULT,
                    "high_liquidation_multiplier": HIGH_MULT,
                    "oracle_pubkey": self.oracle.pubkey_hex(),
                }),
            )
            .await;
        assert_eq!(offer["status"], "pending");
        offer["id"].as_u64().unwrap()
    }

    /// The long's `find_match` finds exactly offer `id`.
    async fn find_match(&self, long: Party, duration_seconds: u64, id: u64) {
        let found = self
            .ok(
                "/anyhedge/hedge-position-offers/find_match/",
                json!({
                    "wallet_hash": long.wallet,
                    "position": "long",
                    "satoshis": LONG_SATS,
                    "duration_seconds": duration_seconds,
                    "low_liquidation_multiplier": LOW_MULT,
                    "high_liquidation_multiplier": HIGH_MULT,
                    "oracle_pubkey": self.oracle.pubkey_hex(),
                }),
            )
            .await;
        assert_eq!(found["matching_position_offer"]["id"], id, "{found}");
    }

    async fn accept(&self, id: u64, long: Party) -> Value {
        let accepted = self
            .ok(
                &format!("/anyhedge/hedge-position-offers/{id}/accept_offer/"),
                json!({
                    "wallet_hash": long.wallet,
                    "address": self.devnet.node.address(long.dev).to_string(),
                }),
            )
            .await;
        assert_eq!(accepted["status"], "accepted");
        accepted
    }

    async fn settle_offer(&self, id: u64) -> Value {
        self.ok(
            &format!("/anyhedge/hedge-position-offers/{id}/settle_offer/"),
            json!({}),
        )
        .await
    }

    /// The contract's parameters as the desk stored them (what the parties sign).
    async fn params(&self, address: &str) -> Params {
        let p = self
            .store
            .anyhedge_position(address.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        build_params(&p.parties, &p.terms)
    }

    /// Each party gets its funding minted, approves the contract's predicted address and
    /// submits a signed funding proposal; the desk funds the contract. Returns the position
    /// once the desk has read the funding back from the chain.
    async fn fund(&self, position: &Value, short: Party, long: Party) -> Value {
        let address = position["address"].as_str().unwrap();
        let hedge: Address = address.parse().unwrap();
        let params = self.params(address).await;
        assert_eq!(predict_address(self.contracts.factory, &params), hedge);
        let minter = self.devnet.wallet(0).unwrap();
        let chain_id = self.devnet.node.chain_id;
        let deadline = (now() + 3_600) as u64;
        for (side, party, sats) in [
            (Side::Short, short, &position["short_funding_sats"]),
            (Side::Long, long, &position["long_funding_sats"]),
        ] {
            let sats = sats.as_u64().unwrap();
            let wallet = self.devnet.wallet(party.dev).unwrap();
            let signer = self.devnet.node.signer(party.dev);
            mint_and_approve(
                &minter,
                &wallet,
                signer.address(),
                self.contracts.collateral,
                hedge,
                sats,
            )
            .await
            .unwrap();
            let signed = sign_funding(&signer, chain_id, hedge, &params, side, deadline).unwrap();
            self.ok(
                "/anyhedge/hedge-position/submit_funding_proposal/",
                json!({
                    "address": address,
                    "position": side.as_str(),
                    "signature": signed.signature.to_string(),
                    "deadline": deadline,
                }),
            )
            .await;
        }
        self.until("the desk to fund the contract", || async {
            let p = self.position(address).await;
            (p["funding"]["validated"] == true).then_some(p)
        })
        .await
    }

    /// An offer made, matched, accepted, settled and funded, starting at `START_PRICE`.
    async fn open(&self, short: Party, long: Party, duration_seconds: u64) -> (u64, Value) {
        self.publish(START_PRICE).await;
        let id = self.create_offer(short, duration_seconds).await;
        self.find_match(long, duration_seconds, id).await;
        self.accept(id, long).await;
        let position = self.settle_offer(id).await;
        (id, self.fund(&position, short, long).await)
    }

    async fn settled(&self, address: &str) -> Value {
        self.until("the desk to settle the contract", || async {
            let p = self.position(address).await;
            (!p["settlement"].is_null()).then_some(p)
        })
        .await
    }

    async fn balance(&self, holder: Address) -> u64 {
        let token = TestToken::new(self.contracts.collateral, self.devnet.node.provider());
        token.balanceOf(holder).call().await.unwrap().to::<u64>()
    }

    /// The two parties hold exactly the payouts (they held nothing else) and the contract
    /// nothing: the long also gets its posted DUST, the remainder of the contract's holding.
    async fn assert_paid_out(&self, position: &Value, short: Party, long: Party, payout: &Payout) {
        let hedge: Address = position["address"].as_str().unwrap().parse().unwrap();
        let (short_sats, long_sats) = payout;
        assert_eq!(
            self.balance(self.devnet.node.address(short.dev)).await,
            *short_sats
        );
        assert_eq!(
            self.balance(self.devnet.node.address(long.dev)).await,
            terms_of(position).payout_sats + DUST - short_sats
        );
        assert!(*long_sats <= terms_of(position).payout_sats + DUST - short_sats);
        assert_eq!(self.balance(hedge).await, 0);
    }

    async fn stop(mut self) {
        let abandoned = self.rt.take().unwrap().shutdown().await;
        assert!(abandoned.is_empty(), "{abandoned:?}");
    }
}

type Payout = (u64, u64);

/// The AnyHedge parameters for a short of `SHORT_SATS` at `START_PRICE`.
fn expected_terms() -> ContractParameters {
    math::create(&ContractTerms {
        nominal_units: SHORT_SATS as f64 * f64::from(START_PRICE) / 1e8,
        start_price: START_PRICE as u32,
        low_mult: LOW_MULT,
        high_mult: HIGH_MULT,
        leveraged: false,
    })
    .unwrap()
}

/// The parameters as a position's JSON states them.
fn terms_of(p: &Value) -> ContractParameters {
    let u = |f: &str| {
        p[f].as_u64()
            .unwrap_or_else(|| panic!("{f} is not a u64: {p}"))
    };
    ContractParameters {
        start_price: u("start_price") as u32,
        low_price: u("low_liquidation_price") as u32,
        high_price: u("high_liquidation_price") as u32,
        nominal_units_x_sats_per_bch: u("nominal_units_x_sats_per_bch"),
        sats_for_nominal_units_at_high: u("sats_for_nominal_units_at_high"),
        payout_sats: u("payout_sats"),
        short_input_sats: u("short_input_sats"),
        long_input_sats: u("long_input_sats"),
    }
}

fn settlement_payout(p: &Value) -> Payout {
    let s = &p["settlement"];
    (
        s["short_satoshis"].as_u64().unwrap(),
        s["long_satoshis"].as_u64().unwrap(),
    )
}

#[tokio::test]
async fn an_offer_goes_from_creation_to_an_onchain_liquidation_through_the_api() {
    let desk = Desk::start(3).await;
    let (maker, taker) = (
        Party {
            dev: 1,
            wallet: "maker",
        },
        Party {
            dev: 2,
            wallet: "taker",
        },
    );
    let start = desk.publish(START_PRICE).await;
    let id = desk.create_offer(maker, 86_400).await;
    desk.find_match(taker, 86_400, id).await;

    // Accepted, then left past its 3-second settlement deadline: the desk returns it.
    let accepted = desk.accept(id, taker).await;
    let deadline = accepted["counter_party_info"]["settlement_deadline"]
        .as_i64()
        .unwrap();
    assert!((deadline - now() - 3).abs() <= 1, "{accepted}");
    let pending = desk
        .until("the desk's sweep to return the offer", || async {
            let offer = desk.offer(id).await;
            (offer["status"] == "pending").then_some(offer)
        })
        .await;
    assert!(now() >= deadline);
    assert_eq!(pending["counter_party_info"], Value::Null);
    desk.find_match(taker, 86_400, id).await;

    // Accepted again and settled in time: a position with the AnyHedge parameters.
    desk.accept(id, taker).await;
    let position = desk.settle_offer(id).await;
    let expected = expected_terms();
    assert_eq!(terms_of(&position), expected);
    assert_eq!(position["start_timestamp"], start);
    assert_eq!(position["maturity_timestamp"], start + 86_400);
    assert_eq!(desk.offer(id).await["status"], "settled");

    let funded = desk.fund(&position, maker, taker).await;
    let address = funded["address"].as_str().unwrap().to_string();
    let hedge: Address = address.parse().unwrap();
    assert_eq!(
        funded["funding"]["short_funding_satoshis"],
        expected.short_input_sats
    );
    assert_eq!(
        funded["funding"]["long_funding_satoshis"],
        expected.long_input_sats + DUST
    );
    assert_eq!(
        desk.balance(hedge).await,
        expected.payout_sats + DUST,
        "the contract holds both sides' funding"
    );

    // The price crosses the low bound: the next message liquidates the contract.
    assert_eq!(expected.low_price, 8_208);
    desk.publish(8_100).await;
    let settled = desk.settled(&address).await;
    assert_eq!(settled["settlement"]["settlement_type"], "liquidation");
    assert_eq!(settled["settlement"]["settlement_price"], 8_100);
    let at_low = expected.settle(8_100);
    assert_eq!(at_low.clamped_price, 8_208);
    assert_eq!(
        settlement_payout(&settled),
        (at_low.short_sats, at_low.long_sats)
    );
    desk.assert_paid_out(
        &settled,
        maker,
        taker,
        &(at_low.short_sats, at_low.long_sats),
    )
    .await;
    assert!(
        !settled["settlement"]["spending_transaction"].is_null(),
        "{settled}"
    );

    // The tab shows it settled, with the API's address.
    let pane = desk
        .until("the pane to list the settlement", || async {
            let pane = desk.pane();
            (!pane.settlements.is_empty()).then_some(pane)
        })
        .await;
    assert_eq!(
        pane.api.as_deref(),
        Some(desk.base.trim_start_matches("http://"))
    );
    assert_eq!(pane.settlements.len(), 1);
    desk.stop().await;
}

/// Reads JSON text frames until none arrives for a second.
async fn drain<S>(ws: &mut S) -> Vec<Value>
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let mut out = Vec::new();
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(Duration::from_secs(1), ws.next()).await {
        if let Message::Text(text) = frame {
            out.push(serde_json::from_str(&text).unwrap());
        }
    }
    out
}

/// Which contract or offer an update is about.
fn subject(update: &Value) -> (Option<u64>, Option<String>) {
    let meta = &update["meta"];
    (
        meta["id"].as_u64(),
        meta["address"].as_str().map(str::to_ascii_lowercase),
    )
}

#[tokio::test]
async fn one_contract_matures_another_is_redeemed_and_each_wallet_hears_only_its_own() {
    let desk = Desk::start(900).await;
    let m_short = Party {
        dev: 3,
        wallet: "mat-short",
    };
    let m_long = Party {
        dev: 4,
        wallet: "mat-long",
    };
    let r_short = Party {
        dev: 5,
        wallet: "red-short",
    };
    let r_long = Party {
        dev: 6,
        wallet: "red-long",
    };
    let connect = |wallet: &str| {
        let url = format!("{}/ws/anyhedge/updates/{wallet}/", desk.ws_base);
        async move { tokio_tungstenite::connect_async(url).await.unwrap().0 }
    };
    let mut m_ws = connect(m_long.wallet).await;
    let mut r_ws = connect(r_short.wallet).await;

    // A contract maturing 30 s after its start, and one for a day.
    let (m_offer, matured) = desk.open(m_short, m_long, 30).await;
    let (r_offer, redeemed) = desk.open(r_short, r_long, 86_400).await;
    let m_address = matured["address"].as_str().unwrap().to_string();
    let r_address = redeemed["address"].as_str().unwrap().to_string();
    let maturity = matured["maturity_timestamp"].as_i64().unwrap();

    // Both parties of the second sign an early maturation at 11,500; the desk sends it.
    let price = 11_500u32;
    let early = expected_terms().settle(price);
    let deadline = (now() + 3_600) as u64;
    let permit = MutualRedemption {
        hedge: r_address.parse().unwrap(),
        kind: RedemptionKind::EarlyMaturation as u8,
        price,
        shortSats: early.short_sats,
        longSats: early.long_sats,
        deadline: U256::from(deadline),
    };
    let chain_id = desk.devnet.node.chain_id;
    let redeem = format!("/anyhedge/hedge-position/{r_address}/mutual_redemption/");
    for (party, field) in [(r_short, "short_signature"), (r_long, "long_signature")] {
        let sig = sign_redemption(&desk.devnet.node.signer(party.dev), chain_id, &permit).unwrap();
        let mut body = json!({
            "redemption_type": "early_maturation",
            "settlement_price": price,
            "short_satoshis": early.short_sats,
            "long_satoshis": early.long_sats,
            "deadline": deadline,
        });
        body[field] = json!(sig.to_string());
        desk.ok(&redeem, body).await;
    }
    let r_settled = desk.settled(&r_address).await;
    assert_eq!(
        r_settled["settlement"]["settlement_type"],
        "mutual_redemption"
    );
    assert_eq!(
        settlement_payout(&r_settled),
        (early.short_sats, early.long_sats)
    );
    assert!(r_settled["mutual_redemption"]["tx_hash"].is_string());
    desk.assert_paid_out(
        &r_settled,
        r_short,
        r_long,
        &(early.short_sats, early.long_sats),
    )
    .await;

    // The first matures: the oracle's first message at or after maturity settles it.
    let wait = (maturity - now()).max(0) as u64;
    tokio::time::sleep(Duration::from_secs(wait)).await;
    desk.until("the wall clock to pass maturity", || async {
        (now() >= maturity).then_some(())
    })
    .await;
    desk.publish(12_000).await;
    let m_settled = desk.settled(&m_address).await;
    assert_eq!(m_settled["settlement"]["settlement_type"], "maturation");
    assert_eq!(m_settled["settlement"]["settlement_price"], 12_000);
    let at_maturity = expected_terms().settle(12_000);
    assert_eq!(
        settlement_payout(&m_settled),
        (at_maturity.short_sats, at_maturity.long_sats)
    );
    desk.assert_paid_out(
        &m_settled,
        m_short,
        m_long,
        &(at_maturity.short_sats, at_maturity.long_sats),
    )
    .await;

    // Each wallet heard its own contract's life and nothing of the other's.
    for (ws, offer, address, settled_as) in [
        (&mut m_ws, m_offer, &m_address, "maturation"),
        (&mut r_ws, r_offer, &r_address, "mutual_redemption"),
    ] {
        let updates = drain(ws).await;
        let actions: Vec<&str> = updates
            .iter()
            .filter(|u| u["resource"] == "hedge_position")
            .map(|u| u["action"].as_str().unwrap())
            .collect();
        for expected in ["funding_proposed", "funded", "settled"] {
            assert!(actions.contains(&expected), "{expected} in {actions:?}");
        }
        let settled = updates
            .iter()
            .find(|u| u["resource"] == "hedge_position" && u["action"] == "settled")
            .unwrap();
        assert_eq!(settled["meta"]["settlement_type"], settled_as);
        for update in &updates {
            let (id, addr) = subject(update);
            assert!(
                id == Some(offer) || addr.as_deref() == Some(&address.to_ascii_lowercase()),
                "an update about someone else's contract: {update}"
            );
        }
    }
    desk.stop().await;
}
