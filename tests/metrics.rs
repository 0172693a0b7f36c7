//! `/metrics` and `/health` on the API listener of a real runtime over a devnet anvil: the
//! families are there with values that follow what happened (a confirmed action's fee to
//! the wei, RPC calls to the devnet endpoint, desk cycles, queue lengths, price ages), no
//! URL secret leaks into a label, and `promtool check metrics` accepts the body.
//!
//! Needs anvil and promtool (`scripts/bootstrap` installs both in `.tools/bin`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{B256, U256};
use alloy::sol_types::SolCall;
use hedgedesk::actions::{ActionKind, ActionPlan, ActionState, Estimate, NewAction};
use hedgedesk::app::Runtime;
use hedgedesk::chain::contracts::TestToken;
use hedgedesk::config::{Config, DEVNET_CHAIN};
use hedgedesk::devnet::anyhedge::deploy_anyhedge;
use hedgedesk::devnet::{AnvilOptions, Devnet, Scenario};
use hedgedesk::prices::Price;
use hedgedesk::store::Store;
use reqwest::StatusCode;

const WAIT: Duration = Duration::from_secs(60);
/// Put in the endpoint URL's user info and query, where providers put API keys.
const SECRET: &str = "s3cretKey42";
const FEED: B256 = B256::repeat_byte(0xe6);

fn transfer(key: &str, token: &str, to: alloy::primitives::Address, amount: u64) -> NewAction {
    let calldata = TestToken::transferCall {
        to,
        value: U256::from(amount),
    }
    .abi_encode();
    NewAction {
        key: key.into(),
        kind: ActionKind::SettlePolicy,
        summary: format!("pay {amount} to {to}"),
        plan: ActionPlan::ContractCall {
            chain: DEVNET_CHAIN.into(),
            contract: token.into(),
            contract_name: "TestToken".into(),
            function: "transfer(address,uint256)".into(),
            args: vec![],
            value_wei: "0".into(),
            gas_limit: 0,
            calldata: format!("0x{}", hex::encode(calldata)),
        },
        estimate: Estimate::default(),
    }
}

/// `name{labels}` → value of every sample line.
fn samples(body: &str) -> BTreeMap<String, f64> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("a sample line");
            (series.to_string(), value.parse().expect("a float value"))
        })
        .collect()
}

fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no {series} in {:#?}", samples.keys()))
}

fn promtool() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/promtool");
    assert!(
        path.exists(),
        "{} is missing: run scripts/bootstrap",
        path.display()
    );
    path
}

async fn scrape(http: &reqwest::Client, base: &str) -> String {
    let response = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[reqwest::header::CONTENT_TYPE].clone();
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_health_on_the_api_listener() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite"), Duration::from_secs(5)).unwrap();
    let mut devnet = Devnet::start(AnvilOptions::default(), store.clone())
        .await
        .unwrap();
    devnet.seed(&Scenario::standard()).await.unwrap();
    // The AnyHedge desk cycles once its factory is deployed.
    deploy_anyhedge(&devnet.wallet(0).unwrap(), devnet.node.address(0), &store)
        .await
        .unwrap();
    let usdc = devnet.address("token.usdc").unwrap();

    let mut config = Config::default();
    let mut chain = devnet.chain_config();
    let url = chain.endpoints[0].url.clone();
    let port = url
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    chain.endpoints[0].url = format!("http://operator:{SECRET}@127.0.0.1:{port}/?apikey={SECRET}");
    chain.confirmations = 1;
    chain.poll_interval_ms = 100;
    chain.health_interval_ms = 200;
    config.chains.insert(DEVNET_CHAIN.into(), chain);
    config.api.enabled = true;
    config.api.listen = "127.0.0.1:0".into();
    let rt = Runtime::start(Arc::new(config), store.clone(), devnet.node.signer(0))
        .await
        .unwrap();
    let mut api_addr = rt.api_addr.clone();
    let addr = tokio::time::timeout(WAIT, api_addr.wait_for(Option::is_some))
        .await
        .expect("the API listens")
        .unwrap()
        .unwrap();
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();

    // One action confirmed on chain (it pays a fee), one waiting for a keystroke.
    let paid = rt
        .queue
        .propose(transfer(
            "pay-1",
            &usdc.to_string(),
            devnet.node.address(7),
            1_000,
        ))
        .await
        .unwrap()
        .action()
        .clone();
    rt.queue.approve(paid.id).await.unwrap();
    rt.queue
        .propose(transfer(
            "pay-2",
            &usdc.to_string(),
            devnet.node.address(8),
            2_000,
        ))
        .await
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    rt.prices.apply(&[Price {
        feed_id: FEED,
        price: 6_000_000_000_000,
        conf: 1,
        expo: -8,
        ema_price: 6_000_000_000_000,
        ema_conf: 1,
        publish_time: now - 5,
    }]);

    let control = devnet.control();
    let deadline = Instant::now() + WAIT;
    let body = loop {
        let state = rt
            .queue
            .snapshot()
            .actions
            .iter()
            .find(|a| a.id == paid.id)
            .map(|a| a.state);
        if state == Some(ActionState::Sent) {
            control.mine().await.unwrap();
        }
        let body = scrape(&http, &base).await;
        let s = samples(&body);
        let cycled = s
            .get("hedgedesk_desk_cycle_duration_seconds_count{desk=\"anyhedge\"}")
            .is_some_and(|n| *n > 0.0);
        if state == Some(ActionState::Confirmed) && cycled {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "no confirmed action or anyhedge cycle: {state:?}\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let s = samples(&body);

    assert!(!body.contains(SECRET), "a URL secret leaked:\n{body}");
    let endpoint = format!("chain=\"devnet\",endpoint=\"anvil\",url=\"http://127.0.0.1:{port}\"");
    assert!(value(&s, &format!("hedgedesk_rpc_requests_total{{{endpoint}}}")) > 0.0);
    assert_eq!(
        value(
            &s,
            &format!("hedgedesk_rpc_errors_total{{{endpoint},kind=\"transport\"}}")
        ),
        0.0
    );
    assert!(
        value(
            &s,
            "hedgedesk_desk_cycle_duration_seconds_bucket{desk=\"anyhedge\",le=\"+Inf\"}"
        ) > 0.0
    );

    let record = store
        .tx_by_key(format!("action:{}", paid.id))
        .await
        .unwrap()
        .unwrap();
    let fee = u128::from(record.gas_used.unwrap()) * record.effective_gas_price.unwrap();
    assert!(fee > 0);
    assert_eq!(
        value(
            &s,
            "hedgedesk_tx_fees_paid_wei_total{desk=\"pool\",kind=\"settle_policy\"}"
        ),
        fee as f64
    );
    assert_eq!(
        value(
            &s,
            "hedgedesk_actions_total{desk=\"pool\",kind=\"settle_policy\",outcome=\"confirmed\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "hedgedesk_action_queue_length{desk=\"pool\",state=\"proposed\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "hedgedesk_action_queue_length{desk=\"pool\",state=\"sent\"}"
        ),
        0.0
    );
    let age = value(
        &s,
        &format!("hedgedesk_price_age_seconds{{feed_id=\"{FEED}\",symbol=\"\"}}"),
    );
    assert!((5.0..60.0).contains(&age), "price age {age}");
    for worker in [
        "oracle",
        "liquidator",
        "anyhedge",
        "perp",
        "pool",
        "api",
        "actions",
    ] {
        assert_eq!(
            value(&s, &format!("hedgedesk_worker_up{{worker=\"{worker}\"}}")),
            1.0
        );
        assert_eq!(
            value(
                &s,
                &format!("hedgedesk_worker_restarts_total{{worker=\"{worker}\"}}")
            ),
            0.0
        );
    }
    assert!(s.contains_key("hedgedesk_chain_head_age_seconds{chain=\"devnet\"}"));
    for liquidator in [
        "hedgedesk_liquidator_node_calls_total",
        "hedgedesk_liquidator_candidate_checks_total",
        "hedgedesk_liquidator_positions_monitored",
        "hedgedesk_liquidator_candidates",
    ] {
        assert!(s.contains_key(liquidator), "no {liquidator}:\n{body}");
    }

    // promtool parses and lints the body: no complaint at all.
    let mut child = Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool: {said}\n{body}");
    assert!(said.trim().is_empty(), "promtool complained: {said}");

    // /health: every worker runs.
    let response = http.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let health: serde_json::Value = response.json().await.unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    let workers = health["workers"].as_object().unwrap();
    assert!(workers.len() >= 9, "{health}");
    for (name, w) in workers {
        assert_eq!(w["state"], "running", "{name}: {health}");
    }
    assert_eq!(health["chains"][0]["name"], "devnet");
    assert!(health["chains"][0]["head"].as_u64().is_some(), "{health}");

    // The AnyHedge API is still there beside them.
    let offers = http
        .get(format!("{base}/anyhedge/hedge-positions/"))
        .send()
        .await
        .unwrap();
    assert_eq!(offers.status(), StatusCode::OK);

    assert!(rt.shutdown().await.is_empty());
}
