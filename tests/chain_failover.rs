//! RPC failover and endpoint health against real anvil nodes, with the primary endpoint
//! behind a loopback proxy the test cuts (issue 4, Done-when 3).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use alloy::eips::eip2718::Encodable2718;
use alloy::network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder};
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::transports::RpcError;
use common::proxy::Proxy;
use hedgedesk::chain::send::{NonceManager, Sender, Tracker, TxRequest, TxState, run_tracker};
use hedgedesk::chain::{Chain, ChainStatus, EndpointState, run_health};
use hedgedesk::config::{ChainConfig, EndpointConfig};
use hedgedesk::devnet::{AnvilNode, AnvilOptions, DevnetControl};
use tokio_util::sync::CancellationToken;

const CHAIN_ID: u64 = 31_337;

/// The console's chain line for `status`, as the operator would see it.
fn chain_line(status: &ChainStatus) -> String {
    use hedgedesk::tui::state::{AppState, Phase};
    let mut state = AppState::new(
        std::sync::Arc::new(hedgedesk::config::Config::default()),
        hedgedesk::tui::theme::Theme::built_in_default(),
        std::path::PathBuf::from("/nonexistent/themes"),
        std::path::PathBuf::from("/nonexistent/keystore/operator.json"),
        hedgedesk::app::log_buffer::LogBuffer::new(10),
        chrono::Utc::now().timestamp_millis(),
    );
    state.phase = Phase::Main;
    state.chains = vec![status.clone()];
    let mut term =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 12)).expect("terminal");
    term.draw(|f| hedgedesk::tui::view::render(f, &state))
        .expect("draw");
    let screen = term.backend().to_string();
    screen
        .lines()
        .find(|l| l.contains("rpc"))
        .unwrap_or_default()
        .to_string()
}

fn anvil(chain_id: u64) -> AnvilNode {
    AnvilNode::start(&AnvilOptions {
        chain_id,
        accounts: 2,
        ..AnvilOptions::default()
    })
    .expect("anvil starts (run scripts/bootstrap)")
}

fn addr(node: &AnvilNode) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], node.port))
}

fn config(endpoints: &[(&str, String)]) -> ChainConfig {
    ChainConfig {
        chain_id: CHAIN_ID,
        endpoints: endpoints
            .iter()
            .map(|(name, url)| EndpointConfig {
                name: name.to_string(),
                url: url.clone(),
                ws_url: String::new(),
            })
            .collect(),
        request_timeout_ms: 1_000,
        health_interval_ms: 100,
        max_head_lag_blocks: 3,
        ..ChainConfig::default()
    }
}

fn states(status: &ChainStatus) -> Vec<EndpointState> {
    status.endpoints.iter().map(|e| e.state).collect()
}

/// A signed EIP-1559 transfer of `wei` from dev account 0, as raw bytes.
async fn signed_transfer(
    node: &AnvilNode,
    provider: &impl Provider,
    to: Address,
    wei: u64,
) -> Vec<u8> {
    let from = node.address(0);
    let nonce = provider.get_transaction_count(from).await.unwrap();
    let request = TransactionRequest::default()
        .with_from(from)
        .with_to(to)
        .with_value(U256::from(wei))
        .with_nonce(nonce)
        .with_chain_id(CHAIN_ID)
        .with_gas_limit(21_000)
        .with_max_fee_per_gas(100_000_000_000)
        .with_max_priority_fee_per_gas(1_000_000_000);
    let envelope = request
        .build(&EthereumWallet::from(node.signer(0)))
        .await
        .unwrap();
    envelope.encoded_2718()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_primary_cut_reads_and_sends_continue_through_the_secondary_and_return() {
    let node = anvil(CHAIN_ID);
    let primary = Proxy::start(addr(&node));
    let secondary = Proxy::start(addr(&node));
    let chain = Chain::connect(
        "devnet",
        &config(&[("primary", primary.url()), ("secondary", secondary.url())]),
    )
    .unwrap();
    let provider = chain.provider();
    let status_rx = chain.status();

    // Normal operation: both healthy, traffic goes to the primary only.
    let status = chain.probe_once().await;
    assert_eq!(
        states(&status),
        [EndpointState::Healthy, EndpointState::Healthy]
    );
    assert_eq!(status.active, Some(0));
    assert!(status.endpoints.iter().all(|e| e.latency_ms.is_some()));
    let (a, b) = (primary.bytes_up(), secondary.bytes_up());
    provider.get_block_number().await.unwrap();
    provider.get_balance(node.address(0)).await.unwrap();
    assert!(primary.bytes_up() > a, "reads go to the primary");
    assert_eq!(secondary.bytes_up(), b, "nothing goes to the secondary");

    // A JSON-RPC error is the node's answer: it passes through and fails nothing over.
    let err = provider
        .raw_request::<_, serde_json::Value>("eth_noSuchMethod".into(), ())
        .await
        .unwrap_err();
    assert!(matches!(err, RpcError::ErrorResp(_)), "{err:?}");
    assert_eq!(chain.snapshot().endpoints[0].state, EndpointState::Healthy);
    assert_eq!(secondary.bytes_up(), b);

    // Cut the primary: reads and a real signed transfer carry on through the secondary.
    primary.cut();
    let b = secondary.bytes_up();
    let balance = provider.get_balance(node.address(0)).await.unwrap();
    assert!(balance > U256::ZERO);
    let head = provider.get_block_number().await.unwrap();
    let to = Address::repeat_byte(0x42);
    let raw = signed_transfer(&node, &provider, to, 1_234_567).await;
    let pending = provider.send_raw_transaction(&raw).await.unwrap();
    let receipt = pending
        .with_timeout(Some(Duration::from_secs(10)))
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    assert!(receipt.block_number.unwrap() > head);
    assert_eq!(
        node.provider().get_balance(to).await.unwrap(),
        U256::from(1_234_567u64),
        "the transfer landed"
    );

    // The desks' journaled sender works through the same failover provider.
    let db = tempfile::tempdir().unwrap();
    let store = hedgedesk::store::Store::open(&db.path().join("db.sqlite"), Duration::from_secs(5))
        .unwrap();
    let sender = Sender::new(
        provider.clone(),
        store.clone(),
        node.signer(1),
        NonceManager::new(CHAIN_ID, node.address(1)),
        chain.config(),
    )
    .unwrap();
    let sent = sender
        .send(TxRequest::transfer("failover:1", to, U256::from(1u64)))
        .await
        .expect("a journaled send through the secondary");
    assert!(sent.is_new());
    let tracker = std::sync::Arc::new(Tracker::new(provider.clone(), store, chain.config()));
    let stop = CancellationToken::new();
    let tracking = tokio::spawn(run_tracker(tracker.clone(), stop.clone()));
    DevnetControl::new(node.provider())
        .mine_blocks(chain.config().confirmations + 1)
        .await
        .unwrap();
    let record = tracker
        .wait_final("failover:1", Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(record.state, TxState::Confirmed, "{record:?}");
    stop.cancel();
    tracking.await.unwrap().unwrap();
    assert!(secondary.bytes_up() > b, "traffic moved to the secondary");
    assert!(primary.refused() > 0 || primary.connections() > 0);

    // The status says so, at once (the failed request marked the primary) and after a probe.
    {
        let now = status_rx.borrow();
        assert_eq!(now.endpoints[0].state, EndpointState::Down);
        assert_eq!(now.active, Some(1));
    }
    let status = chain.probe_once().await;
    assert_eq!(
        states(&status),
        [EndpointState::Down, EndpointState::Healthy]
    );
    assert_eq!(status.active, Some(1));
    assert_eq!(status.active_endpoint().unwrap().name, "secondary");
    assert!(status.failed_over());
    let down = &status.endpoints[0];
    assert!(down.consecutive_errors >= 2, "{down:?}");
    assert!(down.total_errors >= 2, "{down:?}");
    assert!(down.last_error.is_some());
    assert_eq!(down.latency_ms, None);
    assert_eq!(
        status.head.unwrap().number,
        node.provider().get_block_number().await.unwrap(),
        "the head is read through the secondary"
    );
    let line = chain_line(&status);
    assert!(line.contains("✕ primary down"), "{line}");
    assert!(line.contains("▸● secondary"), "{line}");
    assert!(line.contains("(failover)"), "{line}");

    // Restore: after a probe the primary is healthy and serves again.
    primary.restore();
    let status = chain.probe_once().await;
    let line = chain_line(&status);
    assert!(line.contains("▸● primary"), "{line}");
    assert!(!line.contains("failover"), "{line}");
    assert_eq!(
        states(&status),
        [EndpointState::Healthy, EndpointState::Healthy]
    );
    assert_eq!(status.active, Some(0));
    assert_eq!(status.endpoints[0].consecutive_errors, 0);
    assert!(status.endpoints[0].total_errors >= 2, "the total is kept");
    let (a, b) = (primary.bytes_up(), secondary.bytes_up());
    provider.get_balance(to).await.unwrap();
    provider.get_block_number().await.unwrap();
    assert!(primary.bytes_up() > a, "traffic is back on the primary");
    assert_eq!(secondary.bytes_up(), b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_on_another_chain_is_never_used_and_urls_stay_redacted() {
    let good = anvil(CHAIN_ID);
    let wrong = anvil(4_242);
    DevnetControl::new(wrong.provider())
        .mine_blocks(5)
        .await
        .unwrap();
    let secret_url = "http://127.0.0.1:1/v2/SECRETKEY0123456789".to_string();
    let chain = Chain::connect(
        "devnet",
        &config(&[
            ("other-chain", wrong.http_url()),
            ("good", good.http_url()),
            ("keyed", secret_url),
        ]),
    )
    .unwrap();
    let provider = chain.provider();

    // Before any probe the first request proves each endpoint's chain id first.
    assert_eq!(provider.get_chain_id().await.unwrap(), CHAIN_ID);
    assert_eq!(
        provider.get_block_number().await.unwrap(),
        0,
        "the good chain's head"
    );
    let status = chain.snapshot();
    assert_eq!(status.endpoints[0].state, EndpointState::WrongChain);
    assert_eq!(status.active, Some(1));

    let status = chain.probe_once().await;
    assert_eq!(
        states(&status),
        [
            EndpointState::WrongChain,
            EndpointState::Healthy,
            EndpointState::Down
        ]
    );
    assert_eq!(status.active, Some(1));
    assert_eq!(
        status.endpoints[0].last_error.as_deref(),
        Some("chain id 4242, expected 31337")
    );
    assert_eq!(status.endpoints[0].head, None);
    assert_eq!(
        status.endpoints[1].lag,
        Some(0),
        "the other chain's head does not count"
    );
    assert_eq!(provider.get_block_number().await.unwrap(), 0);

    // The keyed URL shows as scheme://host:port only, in the status and its errors.
    let keyed = &status.endpoints[2];
    assert_eq!(keyed.url_redacted, "http://127.0.0.1:1");
    assert!(keyed.last_error.is_some());
    let everything = format!("{status:?} {chain:?}");
    assert!(!everything.contains("SECRETKEY"), "{everything}");
    assert!(!everything.contains("/v2/"), "{everything}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_endpoint_is_skipped_until_it_catches_up() {
    let behind = anvil(CHAIN_ID);
    let ahead = anvil(CHAIN_ID);
    DevnetControl::new(ahead.provider())
        .mine_blocks(10)
        .await
        .unwrap();
    let chain = Chain::connect(
        "devnet",
        &config(&[("behind", behind.http_url()), ("ahead", ahead.http_url())]),
    )
    .unwrap();
    let provider = chain.provider();

    let status = chain.probe_once().await;
    assert_eq!(
        states(&status),
        [EndpointState::Lagging, EndpointState::Healthy]
    );
    assert_eq!(status.endpoints[0].lag, Some(10));
    assert_eq!(status.endpoints[0].head, Some(0));
    assert_eq!(status.active, Some(1));
    assert_eq!(status.head.unwrap().number, 10);
    assert_eq!(
        provider.get_block_number().await.unwrap(),
        10,
        "served by `ahead`"
    );

    // It catches up (and passes): healthy again, and preferred again.
    DevnetControl::new(behind.provider())
        .mine_blocks(12)
        .await
        .unwrap();
    let status = chain.probe_once().await;
    assert_eq!(
        states(&status),
        [EndpointState::Healthy, EndpointState::Healthy]
    );
    assert_eq!(status.endpoints[1].lag, Some(2));
    assert_eq!(status.active, Some(0));
    assert_eq!(
        provider.get_block_number().await.unwrap(),
        12,
        "served by `behind`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_worker_publishes_head_and_balance_and_follows_a_cut() {
    let node = anvil(CHAIN_ID);
    let primary = Proxy::start(addr(&node));
    let secondary = Proxy::start(addr(&node));
    let chain = Chain::connect(
        "devnet",
        &config(&[("primary", primary.url()), ("secondary", secondary.url())]),
    )
    .unwrap();
    chain.watch_account(node.address(1));
    DevnetControl::new(node.provider())
        .mine_blocks(3)
        .await
        .unwrap();

    let cancel = CancellationToken::new();
    let worker = tokio::spawn(run_health(chain.clone(), cancel.clone()));
    let mut rx = chain.status();
    let wait = Duration::from_secs(10);

    let status = tokio::time::timeout(
        wait,
        rx.wait_for(|s| s.balance_wei.is_some() && s.head.is_some()),
    )
    .await
    .expect("a first round")
    .unwrap()
    .clone();
    assert_eq!(status.account, Some(node.address(1)));
    assert_eq!(
        status.balance_wei,
        Some(node.provider().get_balance(node.address(1)).await.unwrap())
    );
    let head = status.head.unwrap();
    assert_eq!(head.number, 3);
    assert!(head.timestamp_secs > 0);
    assert!(head.age_secs(std::time::SystemTime::now()) < 600);
    assert_eq!(status.active, Some(0));

    // The worker alone (no request) notices the cut and the return.
    primary.cut();
    tokio::time::timeout(
        wait,
        rx.wait_for(|s| s.active == Some(1) && s.endpoints[0].state == EndpointState::Down),
    )
    .await
    .expect("the worker marks the primary down")
    .unwrap();
    primary.restore();
    tokio::time::timeout(
        wait,
        rx.wait_for(|s| s.active == Some(0) && s.endpoints[0].state == EndpointState::Healthy),
    )
    .await
    .expect("the worker brings the primary back")
    .unwrap();

    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), worker)
        .await
        .expect("the worker stops when cancelled")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_endpoint_times_out_and_fails_over() {
    let node = anvil(CHAIN_ID);
    // Accepts connections (the kernel's backlog does) but never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut cfg = config(&[
        ("silent", format!("http://{}", silent.local_addr().unwrap())),
        ("good", node.http_url()),
    ]);
    cfg.request_timeout_ms = 400;
    let chain = Chain::connect("devnet", &cfg).unwrap();

    let started = std::time::Instant::now();
    let balance = chain.provider().get_balance(node.address(0)).await.unwrap();
    assert!(balance > U256::ZERO);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(400), "{took:?}");
    assert!(
        took < Duration::from_secs(3),
        "one timeout, not more: {took:?}"
    );
    let status = chain.snapshot();
    assert_eq!(status.endpoints[0].state, EndpointState::Down);
    assert_eq!(status.active, Some(1));

    // Down now: the next request goes straight to the good endpoint.
    let started = std::time::Instant::now();
    chain.provider().get_block_number().await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[test]
fn connect_needs_endpoints_and_valid_urls_and_does_no_io() {
    let err = Chain::connect("devnet", &config(&[])).unwrap_err();
    assert!(err.to_string().contains("chains.devnet.endpoints"), "{err}");

    let err = Chain::connect(
        "devnet",
        &config(&[
            ("ok", "http://127.0.0.1:1".into()),
            ("bad", "ftp://h/KEYX".into()),
        ]),
    )
    .unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("chains.devnet.endpoints[1].url"), "{text}");
    assert!(!text.contains("KEYX"), "{text}");

    // Nothing listens there, and connect does not care.
    let chain = Chain::connect(
        "devnet",
        &config(&[("nowhere", "http://127.0.0.1:1".into())]),
    )
    .unwrap();
    assert_eq!(chain.name(), "devnet");
    assert_eq!(chain.chain_id(), CHAIN_ID);
    assert_eq!(chain.endpoint_count(), 1);
    let status = chain.snapshot();
    assert_eq!(status.active, Some(0));
    assert_eq!(states(&status), [EndpointState::Unknown]);
}
