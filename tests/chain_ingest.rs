//! Event ingestion against a real anvil and a real SQLite file (issue 4, Done-when 2 and
//! 5): backfill after downtime applies every event exactly once, a reorged event is
//! retracted and the desk told, confirmations hold logs back, and heads arrive over a
//! WebSocket or by polling.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::eips::eip2718::Encodable2718;
use alloy::network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder};
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{Provider, ProviderBuilder, RootProvider};
use alloy::rpc::json_rpc::{
    ErrorPayload, RequestPacket, Response, ResponsePacket, ResponsePayload,
};
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::sol_types::{SolCall, SolEvent};
use common::proxy::Proxy;
use hedgedesk::chain::contracts::TestToken;
use hedgedesk::chain::ingest::{
    IngestConfig, IngestNotice, IngestStats, IngestedLog, Ingestor, LogHandler, LogState,
    StreamSpec,
};
use hedgedesk::devnet::{AnvilNode, AnvilOptions, DevnetControl};
use hedgedesk::store::{Store, StoreError};
use rusqlite::{Transaction, params};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const CHAIN_ID: u64 = 31_337;
const STREAM: &str = "test.transfers";

/// The desk under test: records each applied Transfer in its own table, in the
/// ingestion's transaction, and counts every call.
struct TransferDesk;

impl TransferDesk {
    async fn install(store: &Store) {
        store
            .call(|conn| {
                conn.execute_batch(
                    "CREATE TABLE IF NOT EXISTS desk_transfers (
                         block_hash   TEXT    NOT NULL,
                         log_index    INTEGER NOT NULL,
                         block_number INTEGER NOT NULL,
                         recipient    TEXT    NOT NULL,
                         value        TEXT    NOT NULL,
                         UNIQUE (block_hash, log_index)
                     );
                     CREATE TABLE IF NOT EXISTS desk_calls (
                         kind TEXT PRIMARY KEY,
                         n    INTEGER NOT NULL
                     );",
                )?;
                Ok(())
            })
            .await
            .unwrap();
    }

    fn count(tx: &Transaction<'_>, kind: &str) -> Result<(), StoreError> {
        tx.execute(
            "INSERT INTO desk_calls (kind, n) VALUES (?1, 1)
             ON CONFLICT (kind) DO UPDATE SET n = n + 1",
            params![kind],
        )?;
        Ok(())
    }
}

impl LogHandler for TransferDesk {
    fn apply(&self, tx: &Transaction<'_>, log: &IngestedLog) -> Result<(), StoreError> {
        let transfer = log
            .decode::<TestToken::Transfer>()
            .map_err(|e| StoreError::Invalid(format!("not a Transfer: {e}")))?;
        Self::count(tx, "apply")?;
        // OR IGNORE: a second apply of the same log would show as calls > rows.
        tx.execute(
            "INSERT OR IGNORE INTO desk_transfers
                 (block_hash, log_index, block_number, recipient, value)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                log.block_hash.to_string(),
                log.log_index as i64,
                log.block_number as i64,
                transfer.to.to_string(),
                transfer.value.to_string()
            ],
        )?;
        Ok(())
    }

    fn retract(&self, tx: &Transaction<'_>, log: &IngestedLog) -> Result<(), StoreError> {
        Self::count(tx, "retract")?;
        tx.execute(
            "DELETE FROM desk_transfers WHERE block_hash = ?1 AND log_index = ?2",
            params![log.block_hash.to_string(), log.log_index as i64],
        )?;
        Ok(())
    }
}

#[derive(Debug, PartialEq, Eq)]
struct DeskState {
    apply_calls: u64,
    retract_calls: u64,
    rows: u64,
}

async fn desk_state(store: &Store) -> DeskState {
    store
        .call(|conn| {
            let calls = |kind: &str| -> rusqlite::Result<u64> {
                conn.query_row(
                    "SELECT COALESCE((SELECT n FROM desk_calls WHERE kind = ?1), 0)",
                    [kind],
                    |r| r.get::<_, i64>(0).map(|n| n as u64),
                )
            };
            Ok(DeskState {
                apply_calls: calls("apply")?,
                retract_calls: calls("retract")?,
                rows: conn.query_row("SELECT COUNT(*) FROM desk_transfers", [], |r| {
                    r.get::<_, i64>(0).map(|n| n as u64)
                })?,
            })
        })
        .await
        .unwrap()
}

/// An anvil with a deployed TestToken (owned by dev account 0).
struct Devnet {
    node: AnvilNode,
    provider: RootProvider,
    control: DevnetControl,
    token: Address,
    deployed_at: u64,
}

impl Devnet {
    async fn start() -> Devnet {
        Self::start_with(&[]).await
    }

    async fn start_with(extra_args: &[&str]) -> Devnet {
        let node = AnvilNode::start(&AnvilOptions {
            accounts: 2,
            extra_args: extra_args.iter().map(|a| a.to_string()).collect(),
            ..AnvilOptions::default()
        })
        .expect("anvil starts (run scripts/bootstrap)");
        let provider = node.provider();
        let wallet = ProviderBuilder::new()
            .wallet(EthereumWallet::from(node.signer(0)))
            .connect_http(node.http_url().parse().unwrap());
        let token = TestToken::deploy(
            &wallet,
            "Test Dollar".into(),
            "TUSD".into(),
            6,
            U256::from(1_000_000_000_000u64),
        )
        .await
        .expect("TestToken deploys");
        let deployed_at = provider.get_block_number().await.unwrap();
        Devnet {
            control: DevnetControl::new(provider.clone()),
            token: *token.address(),
            node,
            provider,
            deployed_at,
        }
    }

    fn spec(&self) -> StreamSpec {
        StreamSpec::new(STREAM, CHAIN_ID, vec![self.token])
            .with_event::<TestToken::Transfer>()
            .starting_at(self.deployed_at)
    }

    /// `count` signed `mint` transactions from the owner, nonces from `first_nonce`.
    async fn signed_mints(&self, first_nonce: u64, count: u64) -> Vec<Vec<u8>> {
        let wallet = EthereumWallet::from(self.node.signer(0));
        let mut out = Vec::with_capacity(count as usize);
        for i in 0..count {
            let call = TestToken::mintCall {
                to: self.node.address(1),
                amount: U256::from(1 + i),
            };
            let envelope = TransactionRequest::default()
                .with_from(self.node.address(0))
                .with_to(self.token)
                .with_input(call.abi_encode())
                .with_nonce(first_nonce + i)
                .with_chain_id(CHAIN_ID)
                .with_gas_limit(100_000)
                .with_max_fee_per_gas(50_000_000_000)
                .with_max_priority_fee_per_gas(1_000_000_000)
                .build(&wallet)
                .await
                .unwrap();
            out.push(envelope.encoded_2718());
        }
        out
    }

    async fn nonce(&self) -> u64 {
        self.provider
            .get_transaction_count(self.node.address(0))
            .await
            .unwrap()
    }

    /// Mints once and returns the block the Transfer landed in.
    async fn mint(&self) -> u64 {
        let raw = self.signed_mints(self.nonce().await, 1).await;
        let hash = *self
            .provider
            .send_raw_transaction(&raw[0])
            .await
            .unwrap()
            .tx_hash();
        self.receipt_block(hash).await
    }

    async fn receipt_block(&self, hash: B256) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(receipt) = self.provider.get_transaction_receipt(hash).await.unwrap() {
                assert!(receipt.status(), "mint reverted");
                return receipt.block_number.unwrap();
            }
            if Instant::now() > deadline {
                let head = self.provider.get_block_number().await.unwrap();
                let nonce = self.nonce().await;
                panic!(
                    "tx {hash} not mined (head {head}, nonce {nonce}); anvil says:\n{}",
                    self.node.output_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Every Transfer of the token on the canonical chain, by an independent getLogs.
    async fn transfers_on_chain(&self) -> Vec<(B256, u64)> {
        let head = self.provider.get_block_number().await.unwrap();
        let filter = Filter::new()
            .address(self.token)
            .event_signature(TestToken::Transfer::SIGNATURE_HASH)
            .from_block(0)
            .to_block(head);
        self.provider
            .get_logs(&filter)
            .await
            .unwrap()
            .into_iter()
            .map(|log| (log.block_hash.unwrap(), log.log_index.unwrap()))
            .collect()
    }
}

fn open_store(path: &Path) -> Store {
    Store::open(path, Duration::from_secs(5)).unwrap()
}

fn config(confirmations: u64) -> IngestConfig {
    IngestConfig {
        confirmations,
        log_chunk_blocks: 500,
        poll_interval: Duration::from_millis(50),
        ws_url: None,
        ..IngestConfig::default()
    }
}

async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct Worker {
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    stats: Arc<IngestStats>,
}

impl Worker {
    fn spawn(ingestor: Ingestor) -> Worker {
        let cancel = CancellationToken::new();
        let stats = ingestor.stats();
        let task = tokio::spawn({
            let cancel = cancel.clone();
            async move { ingestor.run(cancel).await }
        });
        Worker {
            cancel,
            task,
            stats,
        }
    }

    /// Cancels and waits; the worker must stop promptly and cleanly.
    async fn stop(self) -> Arc<IngestStats> {
        self.cancel.cancel();
        tokio::time::timeout(Duration::from_secs(2), self.task)
            .await
            .expect("the worker stops promptly on cancel")
            .unwrap()
            .expect("the worker stops without an error");
        self.stats
    }
}

fn ingestor(
    devnet: &Devnet,
    store: &Store,
    config: IngestConfig,
    notices: mpsc::Sender<IngestNotice>,
) -> Ingestor {
    Ingestor::new(
        devnet.provider.clone(),
        store.clone(),
        devnet.spec(),
        Arc::new(TransferDesk),
        notices,
        config,
    )
    .unwrap()
}

/// Applied logs below the cursor match the desk's rows one for one: whatever point the
/// worker stopped at, nothing is half-recorded.
async fn assert_consistent(store: &Store) -> u64 {
    let cursor = store
        .ingest_cursor(CHAIN_ID, STREAM)
        .await
        .unwrap()
        .unwrap();
    let logs = store.ingested_logs(CHAIN_ID, STREAM).await.unwrap();
    let applied = logs
        .iter()
        .filter(|(_, state)| *state == LogState::Applied)
        .count() as u64;
    assert!(
        logs.iter()
            .all(|(log, _)| log.block_number < cursor.next_block),
        "no log recorded at or above the cursor"
    );
    let desk = desk_state(store).await;
    assert_eq!(desk.rows, applied, "desk rows == applied logs");
    assert_eq!(
        desk.apply_calls - desk.retract_calls,
        applied,
        "apply calls net of retractions == applied logs"
    );
    cursor.next_block
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restarted_worker_backfills_5000_blocks_of_events_exactly_once() {
    let started = Instant::now();
    // Without the state of every past block, anvil mines thousands of blocks faster.
    let devnet = Devnet::start_with(&["--prune-history"]).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.sqlite");
    let (notices, mut notice_rx) = mpsc::channel(4_096);
    tokio::spawn(async move { while notice_rx.recv().await.is_some() {} });
    let confirmations = 2;

    // Live: a few events, processed as they come.
    let store = open_store(&db);
    TransferDesk::install(&store).await;
    let worker = Worker::spawn(ingestor(
        &devnet,
        &store,
        config(confirmations),
        notices.clone(),
    ));
    for _ in 0..5 {
        devnet.mint().await;
    }
    devnet.control.mine_blocks(confirmations).await.unwrap();
    let live = devnet.transfers_on_chain().await.len() as u64;
    assert_eq!(live, 6, "the constructor's mint and five more");
    wait_for("the live events", Duration::from_secs(10), || async {
        desk_state(&store).await.rows == live
    })
    .await;
    worker.stop().await;
    drop(store);

    // Down: 5,000 blocks, each with a Transfer.
    let produce = Instant::now();
    let first_block = devnet.provider.get_block_number().await.unwrap() + 1;
    let mut nonce = devnet.nonce().await;
    let raw = devnet.signed_mints(nonce, 5_000).await;
    nonce += raw.len() as u64;
    let signed_in = produce.elapsed();
    // One transaction per block, mined on demand: with automine, thousands of pending
    // transactions make anvil slow to pick each block's.
    devnet.control.set_automine(false).await.unwrap();
    for tx in &raw {
        let _ = devnet.provider.send_raw_transaction(tx).await.unwrap();
        devnet.control.mine().await.unwrap();
    }
    devnet.control.set_automine(true).await.unwrap();
    let last_block = devnet.provider.get_block_number().await.unwrap();
    eprintln!("signed in {signed_in:?}, mined in {:?}", produce.elapsed());
    devnet.control.mine_blocks(confirmations).await.unwrap();
    assert_eq!(nonce, devnet.nonce().await);
    let blocks_with_events = {
        let mut blocks: Vec<B256> = devnet
            .transfers_on_chain()
            .await
            .into_iter()
            .map(|(hash, _)| hash)
            .collect();
        blocks.dedup();
        blocks.len() as u64 - live
    };
    assert!(
        last_block - first_block + 1 >= 5_000 && blocks_with_events >= 5_000,
        "{blocks_with_events} blocks with events in {first_block}..={last_block}"
    );
    eprintln!(
        "produced {blocks_with_events} blocks with events in {:?}",
        produce.elapsed()
    );

    // Restarted on the same file; stopped once mid-backfill (one log per block and a
    // chunk size of 1 slow it down enough), then restarted again to finish.
    let store = open_store(&db);
    let slow = IngestConfig {
        log_chunk_blocks: 1,
        ..config(confirmations)
    };
    let cursor_before = assert_consistent(&store).await;
    let worker = Worker::spawn(ingestor(&devnet, &store, slow, notices.clone()));
    wait_for(
        "a few blocks of backfill",
        Duration::from_secs(10),
        || async { IngestStats::get(&worker.stats.next_block) > cursor_before + 20 },
    )
    .await;
    worker.stop().await;
    let cursor_mid = assert_consistent(&store).await;
    assert!(cursor_mid > cursor_before && cursor_mid < first_block + 4_000);
    drop(store);

    let backfill = Instant::now();
    let store = open_store(&db);
    let worker = Worker::spawn(ingestor(&devnet, &store, config(confirmations), notices));
    let safe_head = devnet.provider.get_block_number().await.unwrap() - confirmations;
    wait_for("the backfill", Duration::from_secs(20), || async {
        IngestStats::get(&worker.stats.next_block) > safe_head
    })
    .await;
    let stats = worker.stop().await;
    eprintln!("backfilled in {:?}", backfill.elapsed());

    let on_chain = devnet.transfers_on_chain().await;
    let desk = desk_state(&store).await;
    assert_eq!(
        desk,
        DeskState {
            apply_calls: on_chain.len() as u64,
            retract_calls: 0,
            rows: on_chain.len() as u64,
        },
        "every Transfer applied exactly once"
    );
    let recorded = store.ingested_logs(CHAIN_ID, STREAM).await.unwrap();
    let recorded: Vec<(B256, u64)> = recorded
        .iter()
        .map(|(log, state)| {
            assert_eq!(*state, LogState::Applied);
            (log.block_hash, log.log_index)
        })
        .collect();
    assert_eq!(recorded, on_chain, "the same logs, in chain order");
    assert_consistent(&store).await;

    // The backfill went in chunks of at most 500 blocks.
    let span = safe_head + 1 - cursor_mid;
    let calls = IngestStats::get(&stats.get_logs_calls);
    assert_eq!(IngestStats::get(&stats.max_chunk_blocks), 500);
    assert!(
        calls >= span.div_ceil(500) && calls <= span.div_ceil(500) + 5,
        "{calls} eth_getLogs calls for {span} blocks"
    );
    eprintln!("whole test {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorged_event_is_retracted_and_the_desk_told() {
    let devnet = Devnet::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("desk.sqlite"));
    TransferDesk::install(&store).await;
    let (notices, mut notice_rx) = mpsc::channel(64);
    let ingestor = ingestor(&devnet, &store, config(0), notices);

    // Two events a few blocks apart, both applied at once (no confirmations).
    let kept_block = devnet.mint().await;
    devnet.control.mine_blocks(3).await.unwrap();
    let doomed_block = devnet.mint().await;
    let report = ingestor.scan_once().await.unwrap();
    assert_eq!(report.applied, 3, "constructor mint + two: {report:?}");
    assert!(report.caught_up());
    let doomed = store
        .ingested_logs(CHAIN_ID, STREAM)
        .await
        .unwrap()
        .into_iter()
        .map(|(log, _)| log)
        .find(|log| log.block_number == doomed_block)
        .unwrap();
    assert!(matches!(
        notice_rx.try_recv(),
        Ok(IngestNotice::Applied { count: 3, .. })
    ));

    // Replace the last two blocks (the doomed event's among them) with empty ones.
    devnet.control.mine().await.unwrap();
    devnet.control.reorg(2).await.unwrap();
    assert!(
        !devnet
            .transfers_on_chain()
            .await
            .contains(&(doomed.block_hash, doomed.log_index)),
        "the event left the chain"
    );

    let report = ingestor.scan_once().await.unwrap();
    assert_eq!(report.retracted, 1, "{report:?}");
    assert_eq!(report.rewound_to.len(), 1);
    assert!(
        report.rewound_to[0] > kept_block && report.rewound_to[0] <= doomed_block,
        "rewound to the fork: {report:?}"
    );
    assert!(report.caught_up());
    let logs = store.ingested_logs(CHAIN_ID, STREAM).await.unwrap();
    let state_of = |block: u64| {
        logs.iter()
            .find(|(log, _)| log.block_number == block)
            .map(|(_, state)| *state)
    };
    assert_eq!(state_of(doomed_block), Some(LogState::Retracted));
    assert_eq!(state_of(kept_block), Some(LogState::Applied));
    assert_eq!(
        desk_state(&store).await,
        DeskState {
            apply_calls: 3,
            retract_calls: 1,
            rows: 2
        },
        "the handler's retract ran and undid the row"
    );
    match notice_rx.try_recv() {
        Ok(IngestNotice::Retracted { stream, logs }) => {
            assert_eq!(stream, STREAM);
            assert_eq!(logs, vec![doomed.clone()]);
        }
        other => panic!("expected a Retracted notice, got {other:?}"),
    }

    // A new event after the reorg is applied as usual.
    let after = devnet.mint().await;
    let report = ingestor.scan_once().await.unwrap();
    assert_eq!(report.applied, 1, "{report:?}");
    assert!(report.rewound_to.is_empty());
    assert_eq!(
        desk_state(&store).await,
        DeskState {
            apply_calls: 4,
            retract_calls: 1,
            rows: 3
        }
    );
    assert!(matches!(
        notice_rx.try_recv(),
        Ok(IngestNotice::Applied { up_to_block, count: 1, .. }) if up_to_block == after
    ));
    let on_chain = devnet.transfers_on_chain().await;
    let applied: Vec<(B256, u64)> = store
        .ingested_logs(CHAIN_ID, STREAM)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, state)| *state == LogState::Applied)
        .map(|(log, _)| (log.block_hash, log.log_index))
        .collect();
    assert_eq!(applied, on_chain, "what is applied is what is on chain");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_waits_for_its_confirmations() {
    let devnet = Devnet::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("desk.sqlite"));
    TransferDesk::install(&store).await;
    let (notices, _notice_rx) = mpsc::channel(64);
    let confirmations = 3;
    let ingestor = ingestor(&devnet, &store, config(confirmations), notices);
    devnet.control.mine_blocks(confirmations).await.unwrap();
    ingestor.scan_once().await.unwrap();
    let before = desk_state(&store).await.rows;
    assert_eq!(before, 1, "the constructor's mint, confirmed");

    let block = devnet.mint().await;
    for on_top in 0..confirmations {
        let report = ingestor.scan_once().await.unwrap();
        assert_eq!(report.applied, 0, "{on_top} blocks on top: {report:?}");
        assert_eq!(report.safe, Some(block + on_top - confirmations));
        assert_eq!(desk_state(&store).await.rows, before);
        devnet.control.mine().await.unwrap();
    }
    let report = ingestor.scan_once().await.unwrap();
    assert_eq!(
        report.applied, 1,
        "{confirmations} blocks on top: {report:?}"
    );
    assert_eq!(report.next_block, block + 1);
    assert_eq!(desk_state(&store).await.rows, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_heads_wake_the_scanner_without_polling() {
    let devnet = Devnet::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("desk.sqlite"));
    TransferDesk::install(&store).await;
    let (notices, mut notice_rx) = mpsc::channel(64);
    let config = IngestConfig {
        poll_interval: Duration::from_secs(3_600),
        ws_url: Some(devnet.node.ws_url()),
        ..config(0)
    };
    let worker = Worker::spawn(ingestor(&devnet, &store, config, notices));
    wait_for(
        "the newHeads subscription",
        Duration::from_secs(10),
        || async {
            worker
                .stats
                .ws_up
                .load(std::sync::atomic::Ordering::Relaxed)
        },
    )
    .await;
    wait_for("the first scan", Duration::from_secs(10), || async {
        desk_state(&store).await.rows == 1
    })
    .await;

    let block = devnet.mint().await;
    let notice = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match notice_rx.recv().await.unwrap() {
                IngestNotice::Applied { up_to_block, .. } if up_to_block >= block => break,
                _ => continue,
            }
        }
    })
    .await;
    assert!(notice.is_ok(), "the new event was not picked up");
    assert_eq!(desk_state(&store).await.rows, 2);
    let stats = worker.stop().await;
    assert!(IngestStats::get(&stats.ws_heads) >= 1);
    assert_eq!(IngestStats::get(&stats.head_polls), 0, "no polling");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_takes_over_while_the_websocket_is_unreachable() {
    let devnet = Devnet::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("desk.sqlite"));
    TransferDesk::install(&store).await;
    let (notices, _notice_rx) = mpsc::channel(64);
    // A port nothing listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("ws://{}", dead.local_addr().unwrap());
    drop(dead);
    let config = IngestConfig {
        poll_interval: Duration::from_millis(50),
        ws_url: Some(dead_url),
        ..config(0)
    };
    let worker = Worker::spawn(ingestor(&devnet, &store, config, notices));
    wait_for("the first scan", Duration::from_secs(10), || async {
        desk_state(&store).await.rows == 1
    })
    .await;
    devnet.mint().await;
    wait_for(
        "the new event, by polling",
        Duration::from_secs(10),
        || async { desk_state(&store).await.rows == 2 },
    )
    .await;
    let stats = worker.stop().await;
    assert!(IngestStats::get(&stats.head_polls) >= 2);
    assert_eq!(IngestStats::get(&stats.ws_connects), 0);
    assert_consistent(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_websocket_falls_back_to_polling_and_reconnects() {
    let devnet = Devnet::start().await;
    let proxy = Proxy::start(std::net::SocketAddr::from((
        [127, 0, 0, 1],
        devnet.node.port,
    )));
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("desk.sqlite"));
    TransferDesk::install(&store).await;
    let (notices, _notice_rx) = mpsc::channel(64);
    let config = IngestConfig {
        poll_interval: Duration::from_millis(50),
        ws_url: Some(format!("ws://{}", proxy.addr())),
        ws_backoff_max: Duration::from_millis(500),
        ..config(0)
    };
    let worker = Worker::spawn(ingestor(&devnet, &store, config, notices));
    let ws_up = || {
        worker
            .stats
            .ws_up
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    wait_for(
        "the newHeads subscription",
        Duration::from_secs(10),
        || async { ws_up() },
    )
    .await;
    wait_for("the first scan", Duration::from_secs(10), || async {
        desk_state(&store).await.rows == 1
    })
    .await;
    assert_eq!(IngestStats::get(&worker.stats.head_polls), 0);

    // The socket drops: heads come from polling meanwhile.
    proxy.cut();
    wait_for(
        "the subscription to drop",
        Duration::from_secs(10),
        || async { !ws_up() },
    )
    .await;
    devnet.mint().await;
    wait_for(
        "the new event, by polling",
        Duration::from_secs(10),
        || async { desk_state(&store).await.rows == 2 },
    )
    .await;
    assert!(IngestStats::get(&worker.stats.head_polls) >= 1);

    // It comes back: subscribed again, and heads arrive over it.
    proxy.restore();
    wait_for("the resubscription", Duration::from_secs(10), || async {
        ws_up() && IngestStats::get(&worker.stats.ws_connects) == 2
    })
    .await;
    let ws_heads = IngestStats::get(&worker.stats.ws_heads);
    devnet.mint().await;
    wait_for("the next event", Duration::from_secs(10), || async {
        desk_state(&store).await.rows == 3
    })
    .await;
    wait_for(
        "its head over the socket",
        Duration::from_secs(10),
        || async { IngestStats::get(&worker.stats.ws_heads) > ws_heads },
    )
    .await;
    worker.stop().await;
    assert_consistent(&store).await;
}

/// An HTTP transport to anvil that refuses `eth_getLogs` over more than `max_span`
/// blocks the way hosted nodes do ("-32005 query returned more than 10000 results").
#[derive(Clone)]
struct RangeLimited {
    inner: alloy::transports::http::Http<alloy::transports::http::reqwest::Client>,
    max_span: u64,
    refused: Arc<std::sync::atomic::AtomicU64>,
}

impl tower::Service<RequestPacket> for RangeLimited {
    type Response = ResponsePacket;
    type Error = alloy::transports::TransportError;
    type Future = alloy::transports::TransportFut<'static>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        if let RequestPacket::Single(single) = &request
            && single.method() == "eth_getLogs"
        {
            let [filter]: [Filter; 1] =
                serde_json::from_str(single.params().unwrap().get()).unwrap();
            let span = filter.get_to_block().unwrap() - filter.get_from_block().unwrap() + 1;
            if span > self.max_span {
                self.refused
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let id = single.id().clone();
                return Box::pin(async move {
                    Ok(ResponsePacket::Single(Response {
                        id,
                        payload: ResponsePayload::Failure(ErrorPayload {
                            code: -32005,
                            message: "query returned more than 10000 results".into(),
                            data: None,
                        }),
                    }))
                });
            }
        }
        self.inner.call(request)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_log_range_is_halved_until_the_node_accepts_it() {
    let devnet = Devnet::start().await;
    for _ in 0..3 {
        devnet.mint().await;
        devnet.control.mine_blocks(30).await.unwrap();
    }
    let refused = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let transport = RangeLimited {
        inner: alloy::transports::http::Http::new(devnet.node.http_url().parse().unwrap()),
        max_span: 20,
        refused: refused.clone(),
    };
    let limited = RootProvider::new(alloy::rpc::client::RpcClient::new(transport, true));
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir.path().join("desk.sqlite"));
    TransferDesk::install(&store).await;
    let (notices, _notice_rx) = mpsc::channel(64);
    let ingestor = Ingestor::new(
        limited,
        store.clone(),
        devnet.spec(),
        Arc::new(TransferDesk),
        notices,
        IngestConfig {
            log_chunk_blocks: 100,
            ..config(0)
        },
    )
    .unwrap();

    let report = ingestor.scan_once().await.unwrap();
    assert!(report.caught_up(), "{report:?}");
    assert_eq!(report.applied, 4, "{report:?}");
    let stats = ingestor.stats();
    // 100 -> 50 -> 25 -> 12 blocks: three refusals, then chunks of 12.
    assert_eq!(refused.load(std::sync::atomic::Ordering::Relaxed), 3);
    assert_eq!(IngestStats::get(&stats.chunk_halvings), 3);
    assert_eq!(report.get_logs_calls, report.chunks + 3);
    assert_eq!(
        devnet.transfers_on_chain().await.len() as u64,
        desk_state(&store).await.rows
    );
}
