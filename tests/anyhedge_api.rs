//! The AnyHedge API over real HTTP: a SQLite file in a tempdir, the router served on
//! 127.0.0.1:0, oracle price messages signed (ECDSA) and stored through the store, funding
//! and redemption permits signed with EIP-712 as a wallet would, WebSocket clients.

mod common;

use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use futures::StreamExt;
use hedgedesk::anyhedge::chain::{
    self, DUST, HedgeParties, HedgeTerms, MutualRedemption, Params, RedemptionKind, Side,
    build_params, funding_permit, funding_signing_hash, predict_address, redemption_signing_hash,
    sign_digest,
};
use hedgedesk::anyhedge::math::{self, ContractTerms};
use hedgedesk::anyhedge::message::{OracleMessage, ecdsa, oracle_address, verify};
use hedgedesk::anyhedge::offers::lifecycle::{OfferBook, OfferSettings};
use hedgedesk::anyhedge::requests::AnyHedgeRequest;
use hedgedesk::anyhedge::updates::Updates;
use hedgedesk::api::{AnyHedgeApiSettings, ApiState, router, serve};
use hedgedesk::store::Store;
use hedgedesk::store::anyhedge::Funding;
use hedgedesk::store::anyhedge_oracles::OracleSpec;
use k256::ecdsa::SigningKey;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

const CHAIN_ID: u64 = 31_337;
const FACTORY: Address = Address::repeat_byte(0xfa);
const COLLATERAL: Address = Address::repeat_byte(0xc0);

struct Api {
    _dir: tempfile::TempDir,
    store: Store,
    updates: Updates,
    settings: AnyHedgeApiSettings,
    base: String,
    ws_base: String,
    http: reqwest::Client,
    desk: mpsc::UnboundedReceiver<AnyHedgeRequest>,
    cancel: CancellationToken,
    oracle_key: SigningKey,
    pubkey: String,
}

impl Drop for Api {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn start() -> Api {
    start_with(AnyHedgeApiSettings::new(CHAIN_ID).settlement_deadline_secs).await
}

async fn start_with(settlement_deadline_secs: u64) -> Api {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("desk.sqlite"), Duration::from_secs(5)).unwrap();
    let oracle_key = SigningKey::from_slice(&[0x42; 32]).unwrap();
    let pubkey = hex::encode(oracle_key.verifying_key().to_encoded_point(true).as_bytes());
    store
        .anyhedge_upsert_oracle(OracleSpec {
            pubkey: pubkey.clone(),
            relay_url: "http://relay.invalid".into(),
            asset_name: "USD".into(),
            asset_currency: "USD".into(),
            asset_decimals: 2,
            active: true,
        })
        .await
        .unwrap();
    let settings = AnyHedgeApiSettings {
        factory: Some(FACTORY),
        collateral: Some(COLLATERAL),
        settlement_deadline_secs,
        ..AnyHedgeApiSettings::new(CHAIN_ID)
    };
    let updates = Updates::default();
    let (desk_tx, desk) = mpsc::unbounded_channel();
    let state = ApiState::new(store.clone(), updates.clone(), desk_tx, settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cancel = CancellationToken::new();
    tokio::spawn(serve(listener, router(state), cancel.clone()));
    Api {
        _dir: dir,
        store,
        updates,
        settings,
        base: format!("http://{addr}"),
        ws_base: format!("ws://{addr}"),
        http: reqwest::Client::new(),
        desk,
        cancel,
        oracle_key,
        pubkey,
    }
}

impl Api {
    /// Stores a price message the oracle signed, timestamped `timestamp`.
    async fn price(&self, timestamp: i64, sequence: i32, price: i32) -> (String, String) {
        let m = OracleMessage {
            message_timestamp: timestamp as i32,
            message_sequence: sequence,
            price_sequence: sequence,
            price,
        };
        let bytes = m.to_bytes();
        let sig = ecdsa::sign(&self.oracle_key, &bytes).unwrap();
        let verified = verify(&hex::decode(&self.pubkey).unwrap(), &bytes, &sig).unwrap();
        self.store
            .anyhedge_insert_price_messages(vec![verified])
            .await
            .unwrap();
        (hex::encode(bytes), hex::encode(sig))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        common::http::get_json(&self.http, format!("{}{path}", self.base)).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        common::http::post_json(&self.http, format!("{}{path}", self.base), &body).await
    }

    async fn post_raw(&self, path: &str, body: &'static str) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap())
    }

    async fn create_offer(&self, body: Value) -> Value {
        let (status, offer) = self.post("/anyhedge/hedge-position-offers/", body).await;
        assert_eq!(status, StatusCode::CREATED, "{offer}");
        offer
    }

    fn offer_body(&self, position: &str, wallet: &str, address: Address, satoshis: u64) -> Value {
        json!({
            "position": position,
            "wallet_hash": wallet,
            "address": address.to_string(),
            "satoshis": satoshis,
            "duration_seconds": 86_400,
            "low_liquidation_multiplier": 0.5,
            "high_liquidation_multiplier": 5.0,
            "oracle_pubkey": self.pubkey,
        })
    }

    fn book(&self) -> OfferBook {
        let mut settings = OfferSettings::new(CHAIN_ID, Some(FACTORY), Some(COLLATERAL));
        settings.settlement_deadline_secs = self.settings.settlement_deadline_secs;
        OfferBook::new(self.store.clone(), self.updates.clone(), settings)
    }

    async fn offer_count(&self) -> u64 {
        self.get("/anyhedge/hedge-position-offers/").await.1["count"]
            .as_u64()
            .unwrap()
    }
}

fn addr(v: &Value) -> Address {
    v.as_str().unwrap().parse().unwrap()
}

fn u64_of(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a u64: {v}"))
}

/// The contract's `Params` as the position JSON describes them (what a wallet signs for).
fn params_of(p: &Value) -> Params {
    build_params(
        &HedgeParties {
            collateral: addr(&p["collateral"]),
            oracle: addr(&p["oracle_address"]),
            short_party: addr(&p["short_address"]),
            long_party: addr(&p["long_address"]),
        },
        &HedgeTerms {
            start_timestamp: u64_of(&p["start_timestamp"]),
            maturity_timestamp: u64_of(&p["maturity_timestamp"]),
            start_price: u64_of(&p["start_price"]) as u32,
            low_price: u64_of(&p["low_liquidation_price"]) as u32,
            high_price: u64_of(&p["high_liquidation_price"]) as u32,
            nominal_units_x_sats_per_bch: u64_of(&p["nominal_units_x_sats_per_bch"]),
            sats_for_nominal_units_at_high: u64_of(&p["sats_for_nominal_units_at_high"]),
            payout_sats: u64_of(&p["payout_sats"]),
            short_input_sats: u64_of(&p["short_input_sats"]),
            long_input_sats: u64_of(&p["long_input_sats"]),
        },
    )
}

fn funding_signature(signer: &PrivateKeySigner, p: &Value, side: Side, deadline: u64) -> String {
    let hedge = addr(&p["address"]);
    let permit = funding_permit(hedge, &params_of(p), side, U256::from(deadline)).unwrap();
    let sig = sign_digest(signer, funding_signing_hash(CHAIN_ID, &permit)).unwrap();
    format!("0x{}", hex::encode(sig))
}

fn assert_field(response: &(StatusCode, Value), field: &str) {
    assert_eq!(response.0, StatusCode::BAD_REQUEST, "{}", response.1);
    assert_eq!(response.1["field"], json!(field), "{}", response.1);
    assert!(response.1["error"].as_str().is_some_and(|e| !e.is_empty()));
}

#[tokio::test]
async fn offers_are_listed_with_each_filter_and_paginated() {
    let api = start().await;
    let a = Address::repeat_byte(0xa1);
    for (position, wallet, sats) in [
        ("short", "alice", 1_000_000u64),
        ("long", "bob", 2_000_000),
        ("long", "alice", 3_000_000),
        ("short", "carol", 4_000_000),
        ("hedge", "bob", 5_000_000),
    ] {
        api.create_offer(api.offer_body(position, wallet, a, sats))
            .await;
    }
    let (status, cancelled) = api
        .post(
            "/anyhedge/hedge-position-offers/4/cancel_hedge_request/",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cancelled["status"], "cancelled");

    let ids = |page: &Value| -> Vec<u64> {
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| u64_of(&o["id"]))
            .collect()
    };
    let (_, all) = api.get("/anyhedge/hedge-position-offers/").await;
    assert_eq!(all["count"], 5);
    assert_eq!(ids(&all), vec![5, 4, 3, 2, 1]);
    assert_eq!(
        (all["next"].clone(), all["previous"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(all["results"][0]["position"], "short");
    assert_eq!(all["results"][0]["satoshis"], 5_000_000);

    let (_, alice) = api
        .get("/anyhedge/hedge-position-offers/?wallet_hash=alice")
        .await;
    assert_eq!(
        (alice["count"].clone(), ids(&alice)),
        (json!(2), vec![3, 1])
    );
    let (_, not_alice) = api
        .get("/anyhedge/hedge-position-offers/?exclude_wallet_hash=alice")
        .await;
    assert_eq!(ids(&not_alice), vec![5, 4, 2]);
    let (_, statuses) = api
        .get("/anyhedge/hedge-position-offers/?statuses=cancelled,settled")
        .await;
    assert_eq!(ids(&statuses), vec![4]);
    let (_, pending_longs) = api
        .get("/anyhedge/hedge-position-offers/?statuses=pending&position=long")
        .await;
    assert_eq!(ids(&pending_longs), vec![3, 2]);
    let bad = api
        .get("/anyhedge/hedge-position-offers/?statuses=pending,open")
        .await;
    assert_field(&bad, "statuses");

    let (_, page2) = api
        .get("/anyhedge/hedge-position-offers/?exclude_wallet_hash=nobody&limit=2&offset=2")
        .await;
    assert_eq!(page2["count"], 5);
    assert_eq!(ids(&page2), vec![3, 2]);
    assert_eq!(
        page2["next"],
        json!(format!(
            "{}/anyhedge/hedge-position-offers/?exclude_wallet_hash=nobody&limit=2&offset=4",
            api.base
        ))
    );
    assert_eq!(
        page2["previous"],
        json!(format!(
            "{}/anyhedge/hedge-position-offers/?exclude_wallet_hash=nobody&limit=2",
            api.base
        ))
    );
    let (_, last) = api
        .get("/anyhedge/hedge-position-offers/?limit=2&offset=4")
        .await;
    assert_eq!((ids(&last), last["next"].clone()), (vec![1], Value::Null));
    assert_field(
        &api.get("/anyhedge/hedge-position-offers/?limit=0").await,
        "limit",
    );
    assert_field(
        &api.get("/anyhedge/hedge-position-offers/?offset=x").await,
        "offset",
    );

    // Without the trailing slash too, and one by id.
    let (status, one) = api.get("/anyhedge/hedge-position-offers/2").await;
    assert_eq!(
        (status, one["wallet_hash"].clone()),
        (StatusCode::OK, json!("bob"))
    );
    let (status, missing) = api.get("/anyhedge/hedge-position-offers/99/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(missing["error"].as_str().unwrap().contains("99"));
}

#[tokio::test]
async fn find_match_takes_the_closest_offer_or_suggests_similar_ones() {
    let api = start().await;
    let a = Address::repeat_byte(0xa1);
    // A short of 1,000,000 at low 0.5 needs a long of about 1,000,000.
    api.create_offer(api.offer_body("long", "bob", a, 1_009_000))
        .await; // 1
    api.create_offer(api.offer_body("long", "carol", a, 995_000))
        .await; // 2: closest
    api.create_offer(api.offer_body("long", "me", a, 1_000_000))
        .await; // 3: own
    api.create_offer(api.offer_body("long", "dave", a, 1_010_001))
        .await; // 4: out of range
    let mut other_duration = api.offer_body("long", "erin", a, 1_000_000);
    other_duration["duration_seconds"] = json!(43_200);
    api.create_offer(other_duration).await; // 5
    api.create_offer(api.offer_body("short", "frank", a, 1_000_000))
        .await; // 6: same side

    let query = json!({
        "wallet_hash": "me",
        "position": "short",
        "satoshis": 1_000_000,
        "duration_seconds": 86_400,
        "low_liquidation_multiplier": 0.5,
        "high_liquidation_multiplier": 5.0,
        "oracle_pubkey": api.pubkey,
    });
    let (status, found) = api
        .post("/anyhedge/hedge-position-offers/find_match/", query.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["matching_position_offer"]["id"], 2);
    assert_eq!(found["similar_position_offers"], json!([]));
    assert_eq!(found["counter_party_satoshis"], 1_000_000);

    // Nothing within range at a different amount: similar offers instead, most alike first.
    let mut far = query.clone();
    far["satoshis"] = json!(1_500_000);
    let (_, suggested) = api
        .post("/anyhedge/hedge-position-offers/find_match/", far)
        .await;
    assert_eq!(suggested["matching_position_offer"], Value::Null);
    let ids: Vec<u64> = suggested["similar_position_offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| u64_of(&o["id"]))
        .collect();
    // 4 (1,010,001) is the largest, then 1, 2; 5 has half the duration.
    assert_eq!(ids, vec![4, 1, 2, 5]);

    let mut bad = query.clone();
    bad["position"] = json!("sideways");
    assert_field(
        &api.post("/anyhedge/hedge-position-offers/find_match/", bad)
            .await,
        "position",
    );
    let mut bad = query;
    bad["low_liquidation_multiplier"] = json!(1.5);
    assert_field(
        &api.post("/anyhedge/hedge-position-offers/find_match/", bad)
            .await,
        "low_liquidation_multiplier",
    );
}

#[tokio::test]
async fn an_offer_is_accepted_swept_accepted_again_settled_funded_and_redeemed() {
    let mut api = start().await;
    let maker = PrivateKeySigner::random();
    let taker = PrivateKeySigner::random();
    let start_time = now() - 5;
    api.price(start_time - 60, 1, 10_500).await;
    api.price(start_time, 2, 10_944).await;
    let offer = api
        .create_offer(json!({
            "position": "short",
            "wallet_hash": "maker",
            "address": maker.address().to_string(),
            "satoshis": 30_500_000,
            "duration_seconds": 86_400,
            "low_liquidation_multiplier": 0.75,
            "high_liquidation_multiplier": 4.0,
            "oracle_pubkey": api.pubkey,
        }))
        .await;
    let id = u64_of(&offer["id"]);
    assert_eq!(offer["status"], "pending");
    let accept_path = format!("/anyhedge/hedge-position-offers/{id}/accept_offer/");
    let taker_body = json!({"wallet_hash": "taker", "address": taker.address().to_string()});

    let (status, accepted) = api.post(&accept_path, taker_body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["status"], "accepted");
    let info = &accepted["counter_party_info"];
    let deadline = info["settlement_deadline"].as_i64().unwrap();
    assert!((deadline - now() - 900).abs() <= 2, "{deadline}");
    assert_eq!(info["price_value"], 10_944);
    assert_eq!(info["oracle_message_sequence"], 2);

    let (status, again) = api.post(&accept_path, taker_body.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert!(again["error"].as_str().unwrap().contains("accepted"));

    // The settlement deadline passes: the desk's sweep returns the offer to the pool.
    let swept = api.book().sweep_expired_deadlines(deadline).await.unwrap();
    assert_eq!(swept.len(), 1);
    let (_, pending) = api
        .get(&format!("/anyhedge/hedge-position-offers/{id}/"))
        .await;
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["counter_party_info"], Value::Null);

    let (status, accepted) = api.post(&accept_path, taker_body).await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    let contract = accepted["counter_party_info"]["contract_address"].clone();

    let (status, position) = api
        .post(
            &format!("/anyhedge/hedge-position-offers/{id}/settle_offer/"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{position}");
    assert_eq!(position["address"], contract);

    // The parameters are the math's for 30,500,000 sats at 10,944.
    let expected = math::create(&ContractTerms {
        nominal_units: 30_500_000.0 * 10_944.0 / 1e8,
        start_price: 10_944,
        low_mult: 0.75,
        high_mult: 4.0,
        leveraged: false,
    })
    .unwrap();
    for (field, value) in [
        ("low_liquidation_price", u64::from(expected.low_price)),
        ("high_liquidation_price", u64::from(expected.high_price)),
        (
            "nominal_units_x_sats_per_bch",
            expected.nominal_units_x_sats_per_bch,
        ),
        (
            "sats_for_nominal_units_at_high",
            expected.sats_for_nominal_units_at_high,
        ),
        ("payout_sats", expected.payout_sats),
        ("short_input_sats", expected.short_input_sats),
        ("long_input_sats", expected.long_input_sats),
        ("satoshis", expected.short_input_sats),
        ("start_timestamp", start_time as u64),
        ("maturity_timestamp", start_time as u64 + 86_400),
    ] {
        assert_eq!(position[field], json!(value), "{field}");
    }
    let oracle = oracle_address(&hex::decode(&api.pubkey).unwrap()).unwrap();
    let params = params_of(&position);
    assert_eq!(params.oracle, oracle);
    assert_eq!(params.collateral, COLLATERAL);
    assert_eq!(
        (params.shortParty, params.longParty),
        (maker.address(), taker.address())
    );
    assert_eq!(
        addr(&position["address"]),
        predict_address(FACTORY, &params)
    );
    assert_eq!(position["metadata"]["position_taker"], "long");
    let address = position["address"].as_str().unwrap().to_string();
    let (_, offer_now) = api
        .get(&format!("/anyhedge/hedge-position-offers/{id}/"))
        .await;
    assert_eq!(offer_now["status"], "settled");
    assert_eq!(offer_now["hedge_position"]["address"], json!(address));

    // Funding proposals: the long's signed by the wrong key is refused, nothing stored.
    let fund_deadline = (now() + 3_600) as u64;
    let submit = "/anyhedge/hedge-position/submit_funding_proposal/";
    let forged = api
        .post(
            submit,
            json!({
                "address": address,
                "position": "long",
                "signature": funding_signature(&maker, &position, Side::Long, fund_deadline),
                "deadline": fund_deadline,
            }),
        )
        .await;
    assert_field(&forged, "signature");
    let (_, unchanged) = api
        .get(&format!("/anyhedge/hedge-position/{address}/"))
        .await;
    assert_eq!(unchanged["long_funding_proposal"], Value::Null);

    let r = api
        .http
        .post(format!("{}{submit}", api.base))
        .json(&json!({
            "address": address,
            "position": "short",
            "signature": funding_signature(&maker, &position, Side::Short, fund_deadline),
            "deadline": fund_deadline,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["funding-status"], "incomplete");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["short_funding_proposal"]["sats"],
        json!(expected.short_input_sats)
    );
    assert!(api.desk.try_recv().is_err());

    let r = api
        .http
        .post(format!("{}{submit}", api.base))
        .json(&json!({
            "address": address,
            "position": "long",
            "signature": funding_signature(&taker, &position, Side::Long, fund_deadline),
            "deadline": fund_deadline,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["funding-status"], "queued");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["long_funding_proposal"]["sats"],
        json!(expected.long_input_sats + DUST)
    );
    assert_eq!(
        api.desk.try_recv().unwrap(),
        AnyHedgeRequest::CompleteFunding {
            address: address.clone()
        }
    );
    let (status, _) = api
        .post(
            &format!("/anyhedge/hedge-position/{address}/complete_funding/"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        api.desk.try_recv().unwrap(),
        AnyHedgeRequest::CompleteFunding {
            address: address.clone()
        }
    );
    let (status, _) = api
        .post(
            &format!("/anyhedge/hedge-positions/{address}/validate_contract_funding/"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        api.desk.try_recv().unwrap(),
        AnyHedgeRequest::ValidateFunding {
            address: address.clone()
        }
    );

    // A redemption needs the contract funded: the desk records that.
    let redeem = format!("/anyhedge/hedge-position/{address}/mutual_redemption/");
    let redemption_deadline = (now() + 3_600) as u64;
    let refund = |sig_short: Option<String>, sig_long: Option<String>| {
        let mut body = json!({
            "redemption_type": "refund",
            "short_satoshis": expected.short_input_sats,
            "long_satoshis": expected.long_input_sats + DUST,
            "deadline": redemption_deadline,
        });
        if let Some(s) = sig_short {
            body["short_signature"] = json!(s);
        }
        if let Some(s) = sig_long {
            body["long_signature"] = json!(s);
        }
        body
    };
    let (status, not_funded) = api.post(&redeem, refund(None, None)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{not_funded}");
    api.store
        .anyhedge_record_funding(
            addr(&json!(address)),
            Funding {
                tx_hash: B256::repeat_byte(0x77),
                block_number: Some(12),
                short_funding_satoshis: expected.short_input_sats,
                long_funding_satoshis: expected.long_input_sats + DUST,
                gas_fee_wei: None,
                validated: true,
                recorded_at: now(),
            },
        )
        .await
        .unwrap()
        .unwrap();
    let permit = MutualRedemption {
        hedge: addr(&json!(address)),
        kind: RedemptionKind::Refund as u8,
        price: 0,
        shortSats: expected.short_input_sats,
        longSats: expected.long_input_sats + DUST,
        deadline: U256::from(redemption_deadline),
    };
    let digest = redemption_signing_hash(CHAIN_ID, &permit);
    let short_sig = format!("0x{}", hex::encode(sign_digest(&maker, digest).unwrap()));
    let long_sig = format!("0x{}", hex::encode(sign_digest(&taker, digest).unwrap()));

    let mut wrong_amount = refund(None, None);
    wrong_amount["short_satoshis"] = json!(expected.short_input_sats - 1);
    assert_field(&api.post(&redeem, wrong_amount).await, "short_satoshis");
    assert_field(
        &api.post(&redeem, refund(None, Some(short_sig.clone())))
            .await,
        "long_signature",
    );

    let r = api
        .http
        .post(format!("{}{redeem}", api.base))
        .json(&refund(Some(short_sig), None))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["redemption-status"], "incomplete");
    assert!(api.desk.try_recv().is_err());
    let r = api
        .http
        .post(format!("{}{redeem}", api.base))
        .json(&refund(None, Some(long_sig)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["redemption-status"], "queued");
    let body: Value = r.json().await.unwrap();
    let redemption = &body["mutual_redemption"];
    assert_eq!(redemption["redemption_type"], "refund");
    assert!(redemption["short_signature"].is_string());
    assert!(redemption["long_signature"].is_string());
    assert_eq!(
        api.desk.try_recv().unwrap(),
        AnyHedgeRequest::CompleteRedemption {
            address: address.clone()
        }
    );
    let (status, _) = api
        .post(
            &format!("/anyhedge/hedge-position/{address}/complete_mutual_redemption/"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        api.desk.try_recv().unwrap(),
        AnyHedgeRequest::CompleteRedemption {
            address: address.clone()
        }
    );

    // Summary, and the position filters.
    let (status, summary) = api.get("/anyhedge/hedge-position/summary/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        summary,
        json!([{
            "oracle_pubkey": api.pubkey,
            "asset_name": "USD",
            "asset_currency": "USD",
            "asset_decimals": 2,
            "total_short_unit_sats": expected.nominal_units_x_sats_per_bch,
            "total_long_sats": expected.long_input_sats,
            "positions": 1,
        }])
    );
    let (_, none) = api
        .get("/anyhedge/hedge-position/summary/?short_wallet_hash=taker")
        .await;
    assert_eq!(none, json!([]));
    for (query, count) in [
        ("short_wallet_hash=maker", 1),
        ("long_wallet_hash=maker", 0),
        ("wallet_hash=taker", 1),
        ("funding=complete", 1),
        ("funding=pending", 0),
        ("settled=false", 1),
        ("settled=true", 0),
    ] {
        let (_, page) = api.get(&format!("/anyhedge/hedge-position/?{query}")).await;
        assert_eq!(page["count"], count, "{query}");
    }
    assert_field(
        &api.get("/anyhedge/hedge-position/?funding=soon").await,
        "funding",
    );
}

#[tokio::test]
async fn an_acceptance_lapses_after_a_short_settlement_deadline() {
    let api = start_with(1).await;
    api.price(now(), 1, 10_000).await;
    let mut maker_ws =
        tokio_tungstenite::connect_async(format!("{}/ws/anyhedge/updates/maker/", api.ws_base))
            .await
            .unwrap()
            .0;
    let offer = api
        .create_offer(api.offer_body("short", "maker", Address::repeat_byte(1), 30_000_000))
        .await;
    let id = offer["id"].clone();
    let (status, accepted) = api
        .post(
            &format!("/anyhedge/hedge-position-offers/{id}/accept_offer/"),
            json!({"wallet_hash": "taker", "address": Address::repeat_byte(2).to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    let deadline = accepted["counter_party_info"]["settlement_deadline"]
        .as_i64()
        .unwrap();
    assert!(deadline - now() <= 1);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    // Past the deadline it cannot settle, even before the sweep runs.
    let (status, late) = api
        .post(
            &format!("/anyhedge/hedge-position-offers/{id}/settle_offer/"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{late}");
    assert!(late["error"].as_str().unwrap().contains("deadline"));
    let swept = api.book().sweep_expired_deadlines(now()).await.unwrap();
    assert_eq!(swept.len(), 1);
    let (_, pending) = api
        .get(&format!("/anyhedge/hedge-position-offers/{id}/"))
        .await;
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["counter_party_info"], Value::Null);
    let (_, positions) = api.get("/anyhedge/hedge-position/").await;
    assert_eq!(positions["count"], 0);
    let first = next_text(&mut maker_ws).await.unwrap();
    let second = next_text(&mut maker_ws).await.unwrap();
    assert_eq!(
        (first["action"].clone(), second["action"].clone()),
        (json!("accepted"), json!("expired"))
    );
    assert_eq!(second["meta"]["id"], id);
}

#[tokio::test]
async fn a_stale_or_missing_price_refuses_acceptance() {
    let api = start().await;
    let offer = api
        .create_offer(api.offer_body("short", "maker", Address::repeat_byte(1), 30_000_000))
        .await;
    let path = format!(
        "/anyhedge/hedge-position-offers/{}/accept_offer/",
        offer["id"]
    );
    let body = json!({"wallet_hash": "taker", "address": Address::repeat_byte(2).to_string()});
    let (status, none) = api.post(&path, body.clone()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{none}");
    api.price(now() - 600, 1, 10_000).await;
    let (status, stale) = api.post(&path, body.clone()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{stale}");
    assert!(stale["error"].as_str().unwrap().contains("old"));
    // Its own maker cannot take it.
    api.price(now(), 2, 10_000).await;
    let own = api
        .post(
            &path,
            json!({"wallet_hash": "maker", "address": Address::repeat_byte(2).to_string()}),
        )
        .await;
    assert_field(&own, "wallet_hash");
    let (_, still) = api
        .get(&format!("/anyhedge/hedge-position-offers/{}/", offer["id"]))
        .await;
    assert_eq!(still["status"], "pending");
}

#[tokio::test]
async fn bad_payloads_name_the_field_and_write_nothing() {
    let api = start().await;
    let offers = "/anyhedge/hedge-position-offers/";
    let good = api.offer_body("short", "w", Address::repeat_byte(1), 1_000_000);
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    let without = |key: &str| {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(key);
        body
    };
    assert_field(
        &api.post(offers, without("wallet_hash")).await,
        "wallet_hash",
    );
    assert_field(
        &api.post(offers, with("surprise", json!(1))).await,
        "surprise",
    );
    assert_field(
        &api.post(offers, with("satoshis", json!("lots"))).await,
        "satoshis",
    );
    assert_field(
        &api.post(offers, with("satoshis", json!(-5))).await,
        "satoshis",
    );
    assert_field(
        &api.post(offers, with("satoshis", json!(1.5))).await,
        "satoshis",
    );
    assert_field(
        &api.post(offers, with("satoshis", json!(100))).await,
        "satoshis",
    );
    assert_field(
        &api.post(offers, with("address", json!("0x1234"))).await,
        "address",
    );
    assert_field(
        &api.post(offers, with("position", json!("up"))).await,
        "position",
    );
    assert_field(
        &api.post(offers, with("low_liquidation_multiplier", json!(0)))
            .await,
        "low_liquidation_multiplier",
    );
    assert_field(
        &api.post(offers, with("high_liquidation_multiplier", json!(0.9)))
            .await,
        "high_liquidation_multiplier",
    );
    assert_field(
        &api.post(offers, with("oracle_pubkey", json!("03".repeat(33))))
            .await,
        "oracle_pubkey",
    );
    assert_field(
        &api.post(offers, with("oracle_pubkey", json!("zz"))).await,
        "oracle_pubkey",
    );
    assert_field(
        &api.post(offers, with("expires_at", json!(1))).await,
        "expires_at",
    );
    assert_field(
        &api.post(offers, with("duration_seconds", json!(0))).await,
        "duration_seconds",
    );
    let (status, syntax) = api.post_raw(offers, r#"{"position": "short""#).await;
    assert_eq!(
        (status, syntax["field"].clone()),
        (StatusCode::BAD_REQUEST, Value::Null)
    );
    let (status, _) = api.post_raw(offers, "[1, 2]").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(api.offer_count().await, 0);

    // Nested: the settle payload's funding proposal names its own field.
    api.create_offer(good.clone()).await;
    let settle = api
        .post(
            "/anyhedge/hedge-position-offers/1/settle_offer/",
            json!({"counter_party_funding_proposal": {"signature": "0x00"}}),
        )
        .await;
    assert_field(&settle, "counter_party_funding_proposal.deadline");
    let accept = api
        .post(
            "/anyhedge/hedge-position-offers/1/accept_offer/",
            json!({"wallet_hash": "t", "address": "nope"}),
        )
        .await;
    assert_field(&accept, "address");
    let (status, _) = api
        .post(
            "/anyhedge/hedge-position-offers/7/accept_offer/",
            json!({"wallet_hash": "t", "address": Address::repeat_byte(3).to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, settle_pending) = api
        .post("/anyhedge/hedge-position-offers/1/settle_offer/", json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{settle_pending}");
    assert_eq!(api.offer_count().await, 1);

    let submit = api
        .post(
            "/anyhedge/hedge-position/submit_funding_proposal/",
            json!({
                "address": Address::repeat_byte(9).to_string(),
                "position": "short",
                "signature": "0x00",
                "deadline": now() + 100,
            }),
        )
        .await;
    assert_field(&submit, "address");
    let (status, missing) = api
        .get(&format!(
            "/anyhedge/hedge-position/{}/",
            Address::repeat_byte(9)
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(missing["error"].is_string());
    let (status, nowhere) = api.get("/anyhedge/nowhere/").await;
    assert_eq!(
        (status, nowhere["field"].clone()),
        (StatusCode::NOT_FOUND, Value::Null)
    );
}

#[tokio::test]
async fn positions_are_created_from_signed_terms_only() {
    let api = start().await;
    let short = Address::repeat_byte(0x51);
    let long = Address::repeat_byte(0x52);
    let start_time = now() - 10;
    let (message, signature) = api.price(start_time, 5, 10_944).await;
    let body = json!({
        "short_wallet_hash": "s",
        "short_address": short.to_string(),
        "long_wallet_hash": "l",
        "long_address": long.to_string(),
        "satoshis": 30_500_000,
        "maturity_timestamp": start_time + 3_600,
        "low_liquidation_multiplier": 0.75,
        "high_liquidation_multiplier": 4.0,
        "oracle_pubkey": api.pubkey,
        "starting_oracle_message": message,
        "starting_oracle_signature": signature,
        "fee": {"address": Address::repeat_byte(0xfe).to_string(), "satoshis": 5_000},
    });
    let path = "/anyhedge/hedge-position/";
    let mut forged = body.clone();
    let mut sig = hex::decode(&signature).unwrap();
    sig[10] ^= 1;
    forged["starting_oracle_signature"] = json!(hex::encode(sig));
    assert_field(&api.post(path, forged).await, "starting_oracle_signature");
    let mut wrong_address = body.clone();
    wrong_address["address"] = json!(Address::repeat_byte(0x99).to_string());
    assert_field(&api.post(path, wrong_address).await, "address");
    let mut early = body.clone();
    early["maturity_timestamp"] = json!(start_time);
    assert_field(&api.post(path, early).await, "maturity_timestamp");
    let (_, empty) = api.get(path).await;
    assert_eq!(empty["count"], 0);

    let (status, created) = api.post(path, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let params = params_of(&created);
    assert_eq!(addr(&created["address"]), predict_address(FACTORY, &params));
    assert_eq!(params.maturityTimestamp, start_time as u64 + 3_600);
    assert_eq!(created["fee"]["satoshis"], 5_000);
    assert_eq!(
        chain::funding_sats(&params, Side::Long),
        created["long_funding_sats"].as_u64()
    );
    let (status, dup) = api.post(path, body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{dup}");
    let (status, one) = api
        .get(&format!(
            "/anyhedge/hedge-position/{}",
            created["address"].as_str().unwrap().to_lowercase()
        ))
        .await;
    assert_eq!(
        (status, one["id"].clone()),
        (StatusCode::OK, created["id"].clone())
    );
}

#[tokio::test]
async fn oracles_and_price_messages_filter_like_the_watchtower() {
    let api = start().await;
    let t0 = now() - 1_000;
    for i in 0..5 {
        api.price(t0 + 60 * i64::from(i), 10 + i, 10_000 + i).await;
    }
    let (_, oracles) = api.get("/anyhedge/oracles/").await;
    assert_eq!(oracles["count"], 1);
    assert_eq!(oracles["results"][0]["pubkey"], json!(api.pubkey));
    assert_eq!(oracles["results"][0]["asset_decimals"], 2);
    let (_, none) = api.get("/anyhedge/oracles/?asset_name=EUR").await;
    assert_eq!(none["count"], 0);
    let (status, one) = api.get(&format!("/anyhedge/oracles/{}/", api.pubkey)).await;
    assert_eq!(
        (status, one["asset_name"].clone()),
        (StatusCode::OK, json!("USD"))
    );
    let (status, _) = api
        .get(&format!("/anyhedge/oracles/{}/", "03".repeat(33)))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let seqs = |page: &Value| -> Vec<u64> {
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| u64_of(&m["message_sequence"]))
            .collect()
    };
    let base = format!("/anyhedge/price-messages/?pubkey={}", api.pubkey);
    let (_, all) = api.get(&base).await;
    assert_eq!(
        (all["count"].clone(), seqs(&all)),
        (json!(5), vec![14, 13, 12, 11, 10])
    );
    assert_eq!(all["results"][0]["price_value"], 10_004);
    for (query, expected) in [
        (format!("&timestamp_after={}", t0 + 60), vec![14, 13, 12]),
        (format!("&timestamp_before={}", t0 + 60), vec![10]),
        (
            "&price_sequence_after=11&price_sequence_before=14".into(),
            vec![13, 12],
        ),
        ("&message_sequence=12".into(), vec![12]),
        ("&price_sequence=12".into(), vec![12]),
        ("&message_sequence_after=13".into(), vec![14]),
        ("&message_sequence_after=14".into(), vec![]),
        ("&limit=2&offset=1".into(), vec![13, 12]),
    ] {
        let (_, page) = api.get(&format!("{base}{query}")).await;
        assert_eq!(seqs(&page), expected, "{query}");
    }
    assert_field(
        &api.get("/anyhedge/price-messages/?timestamp_after=yesterday")
            .await,
        "timestamp_after",
    );
    assert_field(
        &api.get("/anyhedge/price-messages/?pubkey=02ff").await,
        "pubkey",
    );
}

async fn next_text<S>(ws: &mut S) -> Option<Value>
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match tokio::time::timeout(Duration::from_millis(500), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(serde_json::from_str(&t).unwrap()),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

#[tokio::test]
async fn each_websocket_client_gets_only_its_own_wallets_updates() {
    let api = start().await;
    api.price(now(), 1, 10_000).await;
    let (mut alice, _) =
        tokio_tungstenite::connect_async(format!("{}/ws/anyhedge/updates/alice/", api.ws_base))
            .await
            .unwrap();
    let (mut bob, _) =
        tokio_tungstenite::connect_async(format!("{}/ws/anyhedge/updates/bob", api.ws_base))
            .await
            .unwrap();

    let a = Address::repeat_byte(0xa1);
    let alices = api
        .create_offer(api.offer_body("short", "alice", a, 30_000_000))
        .await;
    let (status, _) = api
        .post(
            &format!(
                "/anyhedge/hedge-position-offers/{}/accept_offer/",
                alices["id"]
            ),
            json!({"wallet_hash": "carol", "address": Address::repeat_byte(0xc1).to_string()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let bobs = api
        .create_offer(api.offer_body("long", "bob", a, 30_000_000))
        .await;
    let (status, _) = api
        .post(
            &format!(
                "/anyhedge/hedge-position-offers/{}/cancel_hedge_request/",
                bobs["id"]
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let to_alice = next_text(&mut alice)
        .await
        .expect("alice hears of the acceptance");
    assert_eq!(
        to_alice,
        json!({
            "resource": "hedge_position_offer",
            "action": "accepted",
            "meta": to_alice["meta"].clone(),
        })
    );
    assert_eq!(to_alice["meta"]["id"], alices["id"]);
    assert_eq!(to_alice["meta"]["accepting_wallet_hash"], "carol");
    let to_bob = next_text(&mut bob).await.expect("bob hears of his cancel");
    assert_eq!(to_bob["action"], "cancelled");
    assert_eq!(to_bob["meta"]["id"], bobs["id"]);
    // Neither heard the other's.
    assert_eq!(next_text(&mut alice).await, None);
    assert_eq!(next_text(&mut bob).await, None);

    // The server stopping closes the sockets.
    api.cancel.cancel();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match alice.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the socket stayed open after shutdown");
}
