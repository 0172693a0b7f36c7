//! The whole oracle path offline: `devnet up` deploys a PriceCaster for the devnet guardian
//! set, a local Hermes serves updates signed by the devnet price source, `oracle bootstrap`
//! allocates the slots, `oracle publish --dry-run` decides without journaling,
//! `oracle publish` journals a publish_prices action, and `run --headless` (auto policy)
//! stores it on chain.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use alloy::primitives::B256;
use axum::Router;
use axum::routing::get;
use common::{ANVIL_KEY_0, Desk};
use hedgedesk::devnet::pyth::DevnetPythSource;
use hedgedesk::oracle::wire::message::PriceFeedMessage;

const BTC: &str = "0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43";
const ETH: &str = "0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace";

/// A Hermes serving one update signed by the devnet price source (the set `devnet up` uses).
async fn devnet_hermes(now: i64) -> String {
    let mut source = DevnetPythSource::new(1, 5, 0);
    let message = |id: &str, price: i64| PriceFeedMessage {
        feed_id: id.parse::<B256>().unwrap(),
        price,
        conf: price as u64 / 2_000,
        exponent: -8,
        publish_time: now,
        prev_publish_time: now - 1,
        ema_price: price,
        ema_conf: price as u64 / 2_000,
    };
    let update = source.update(
        &[
            message(BTC, 6_512_345_678_901),
            message(ETH, 345_678_000_000),
        ],
        now as u32,
        None,
    );
    let body = format!(
        r#"{{"binary":{{"encoding":"hex","data":["{}"]}},"parsed":[]}}"#,
        hex::encode(update)
    );
    let app = Router::new().route(
        "/v2/updates/price/latest",
        get(move || {
            let body = body.clone();
            async move { body }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn run(mut cmd: Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    common::transcript(&cmd, &out);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_devnet_price_source_runs_the_whole_path_offline() {
    let desk = Desk::new("oracle_devnet_source");
    let now = chrono::Utc::now().timestamp();
    let hermes = devnet_hermes(now).await;
    let pass = desk.pass_file.clone();

    let import = {
        let mut c = desk.cmd();
        c.args(["keys", "import", "--private-key-stdin", "--passphrase-file"])
            .arg(&pass);
        c
    };
    let out = tokio::task::spawn_blocking(move || common::output_with_stdin(import, ANVIL_KEY_0))
        .await
        .unwrap();
    assert!(out.status.success());

    let (_up, json) = {
        let desk = desk.clone();
        tokio::task::spawn_blocking(move || common::devnet_up(&desk))
            .await
            .unwrap()
    };
    let rpc = json["rpc_url"].as_str().unwrap().to_string();
    let sets = desk.data.join("devnet-guardian-sets.json");
    let emitter = DevnetPythSource::new(1, 5, 0).emitter.address;
    std::fs::write(
        &desk.config,
        format!(
            "[chains.devnet]\nchain_id = 31337\nconfirmations = 0\npoll_interval_ms = 100\n\
             [[chains.devnet.endpoints]]\nname = \"anvil\"\nurl = \"{rpc}\"\nws_url = \"\"\n\n\
             [oracle]\nhermes_url = \"{hermes}\"\nguardian_sets = \"{}\"\nemitter_address = \"{emitter}\"\n\n\
             [[oracle.feeds]]\nsymbol = \"BTC/USD\"\nasset_id = 1\ndecimals = 8\nprice_id = \"{BTC}\"\n\n\
             [[oracle.feeds]]\nsymbol = \"ETH/USD\"\nasset_id = 2\ndecimals = 9\nprice_id = \"{ETH}\"\n",
            sets.display()
        ),
    )
    .unwrap();

    let cmd = |args: &[&str]| {
        let mut c = desk.cmd();
        c.args(args).arg("--passphrase-file").arg(&desk.pass_file);
        c
    };
    let bootstrap = cmd(&["oracle", "bootstrap", "--yes"]);
    let out = tokio::task::spawn_blocking(move || run(bootstrap))
        .await
        .unwrap();
    assert!(out.status.success());

    let dry = cmd(&["oracle", "publish", "--dry-run", "--json"]);
    let out = tokio::task::spawn_blocking(move || run(dry)).await.unwrap();
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verified_prices"], 2);
    assert_eq!(report["due"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(report["action"], serde_json::Value::Null);

    let publish = cmd(&["oracle", "publish", "--json"]);
    let out = tokio::task::spawn_blocking(move || run(publish))
        .await
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let action = report["action"].as_i64().expect("an action was journaled");

    // Headless runs auto actions: the publication lands on chain.
    let headless = cmd(&["run", "--headless"]);
    let child = tokio::task::spawn_blocking(move || {
        let mut headless = headless;
        headless
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    })
    .await
    .unwrap();
    let _headless = common::Killed(child);
    let db = desk.db();
    let state = tokio::task::spawn_blocking(move || {
        for _ in 0..200 {
            let conn = rusqlite::Connection::open(&db).unwrap();
            let state: String = conn
                .query_row("SELECT state FROM actions WHERE id = ?1", [action], |r| {
                    r.get(0)
                })
                .unwrap();
            if state == "confirmed" || state == "failed" {
                return state;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        "timeout".to_string()
    })
    .await
    .unwrap();
    assert_eq!(state, "confirmed");
    let caster = json["contracts"]["oracle.price_caster"]
        .as_str()
        .unwrap()
        .to_string();
    let cast = common::repo().join(".tools/bin/cast");
    let out = Command::new(cast)
        .args([
            "call",
            &caster,
            "getSlot(uint8)((uint64,uint64,int64,uint64,int32,int64,uint64,uint64,uint64))",
            "0",
            "--rpc-url",
            &rpc,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("6512345678901"), "{text}");
    assert!(text.contains(&now.to_string()), "{text}");
}
