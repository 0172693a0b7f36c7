//! Sending against a real anvil: the journal survives a crash (the sender is killed in a
//! child process) without a second send, 50 concurrent sends share one nonce manager,
//! stuck transactions are replaced with higher fees, reverts are refused with decoded
//! reasons, a stale nonce resyncs, and the tracker follows failed, dropped and reorged
//! transactions.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{Provider, ProviderBuilder, RootProvider};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolError};
use hedgedesk::chain::contracts::{TestToken, artifact};
use hedgedesk::chain::send::{
    AttemptState, Fees, NonceManager, Payload, RevertDecoder, SendError, SendOutcome, SendStage,
    Sender, Tracker, TxRecord, TxRequest, TxState, run_tracker, sign_eip1559,
};
use hedgedesk::config::ChainConfig;
use hedgedesk::devnet::{AnvilNode, AnvilOptions, DevnetControl};
use hedgedesk::store::Store;
use tokio_util::sync::CancellationToken;

/// Set in the child process: which crash to stage (`before_broadcast` / `after_broadcast`).
const CHILD_MODE: &str = "CHAIN_SEND_CHILD_MODE";
const CHILD_RPC: &str = "CHAIN_SEND_CHILD_RPC";
const CHILD_DB: &str = "CHAIN_SEND_CHILD_DB";
const CRASH_KEY: &str = "action:42";
const CRASH_VALUE: u64 = 123_456_789;
/// A fresh address with no history: its balance shows how many transfers arrived.
const RECIPIENT: Address = Address::repeat_byte(0x42);
const GWEI: u128 = 1_000_000_000;

fn chain_config() -> ChainConfig {
    ChainConfig {
        chain_id: 31_337,
        confirmations: 1,
        poll_interval_ms: 50,
        stuck_after_secs: 60,
        fee_bump_percent: 25,
        max_fee_gwei: 300,
        max_priority_fee_gwei: 3,
        ..ChainConfig::default()
    }
}

struct Env {
    node: AnvilNode,
    provider: RootProvider,
    control: DevnetControl,
    store: Store,
    db: PathBuf,
    chain: ChainConfig,
}

impl Env {
    fn start(name: &str, extra_args: &[&str]) -> Env {
        let node = AnvilNode::start(&AnvilOptions {
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            ..AnvilOptions::default()
        })
        .expect("anvil starts");
        let dir = common::repo()
            .join("target/test-data/chain_send")
            .join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("hedgedesk.sqlite");
        let store = Store::open(&db, Duration::from_secs(5)).unwrap();
        let provider = node.provider();
        Env {
            control: DevnetControl::new(provider.clone()),
            provider,
            node,
            store,
            db,
            chain: chain_config(),
        }
    }

    /// A sender for dev account `index` with its own (new) nonce manager.
    fn sender(&self, index: usize) -> Sender {
        let signer = self.node.signer(index);
        let nonces = NonceManager::new(self.chain.chain_id, signer.address());
        Sender::new(
            self.provider.clone(),
            self.store.clone(),
            signer,
            nonces,
            &self.chain,
        )
        .unwrap()
    }

    fn tracker(&self) -> Tracker {
        Tracker::new(self.provider.clone(), self.store.clone(), &self.chain)
            .with_signer(self.node.signer(0))
            .with_signer(self.node.signer(1))
    }

    async fn nonce(&self, index: usize) -> u64 {
        self.provider
            .get_transaction_count(self.node.address(index))
            .await
            .unwrap()
    }

    async fn record(&self, key: &str) -> TxRecord {
        self.store
            .tx_by_key(key.into())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{key} is journaled"))
    }

    async fn journal_len(&self) -> usize {
        self.store.tx_recent(1_000).await.unwrap().len()
    }

    /// Ticks the tracker, mining a block between ticks, until `key` is final.
    async fn mine_until_final(&self, tracker: &Tracker, key: &str) -> TxRecord {
        for _ in 0..20 {
            tracker.tick().await.unwrap();
            let record = self.record(key).await;
            if record.state.is_final() {
                return record;
            }
            self.control.mine().await.unwrap();
        }
        panic!("{key} never became final: {:?}", self.record(key).await);
    }

    /// Deploys a TestToken from dev account 0 holding `supply`.
    async fn deploy_token(&self, supply: u64) -> Address {
        let wallet = ProviderBuilder::new()
            .wallet(EthereumWallet::from(self.node.signer(0)))
            .connect_http(self.node.http_url().parse().unwrap());
        let token = TestToken::deploy(
            wallet,
            "Test USD".into(),
            "TUSD".into(),
            6,
            U256::from(supply),
        )
        .await
        .expect("TestToken deploys");
        *token.address()
    }

    /// Signs and broadcasts a transaction from dev account `index` with an explicit nonce
    /// and tip, behind every nonce manager's back and without simulation.
    async fn send_behind_the_back(
        &self,
        index: usize,
        nonce: u64,
        to: Address,
        input: Vec<u8>,
        tip_gwei: u128,
    ) -> B256 {
        let attempt = sign_eip1559(
            &self.node.signer(index),
            &Payload {
                chain_id: self.chain.chain_id,
                nonce,
                to,
                value: if input.is_empty() {
                    U256::from(1u64)
                } else {
                    U256::ZERO
                },
                input: input.into(),
                gas_limit: 100_000,
            },
            Fees {
                max_fee_per_gas: 100 * GWEI,
                max_priority_fee_per_gas: tip_gwei * GWEI,
            },
        )
        .unwrap();
        let _pending = self
            .provider
            .send_raw_transaction(&attempt.raw)
            .await
            .expect("the node takes the side transaction");
        attempt.hash
    }
}

fn token_call(token: Address, key: &str, call: impl SolCall) -> TxRequest {
    TxRequest::call(key, token, call.abi_encode())
}

// ---------------------------------------------------------------------------------------
// (a) crash after journaling, before the receipt

/// Not a test of its own: the crash tests run this test binary again with only this test
/// and `CHAIN_SEND_CHILD_MODE` set. It sends one transfer and aborts the process at the
/// chosen point, like a `kill -9` of the console.
#[tokio::test]
#[ignore = "a child process of the crash tests"]
async fn child_send_then_abort() {
    let Ok(mode) = std::env::var(CHILD_MODE) else {
        return;
    };
    let abort_at = match mode.as_str() {
        "before_broadcast" => SendStage::Journaled,
        "after_broadcast" => SendStage::Broadcast,
        other => panic!("unknown child mode {other}"),
    };
    let rpc = std::env::var(CHILD_RPC).unwrap();
    let db = PathBuf::from(std::env::var(CHILD_DB).unwrap());
    let provider = ProviderBuilder::default().connect_http(rpc.parse().unwrap());
    let store = Store::open(&db, Duration::from_secs(5)).unwrap();
    let signer: PrivateKeySigner = common::ANVIL_KEY_0.parse().unwrap();
    let chain = chain_config();
    let nonces = NonceManager::new(chain.chain_id, signer.address());
    let sender = Sender::new(provider, store, signer, nonces, &chain)
        .unwrap()
        .with_hook(move |stage, hash| {
            if stage == abort_at {
                eprintln!("child: aborting at {stage:?} of {hash}");
                std::process::abort();
            }
        });
    let outcome = sender
        .send(TxRequest::transfer(
            CRASH_KEY,
            RECIPIENT,
            U256::from(CRASH_VALUE),
        ))
        .await;
    panic!("the hook should have aborted the process, the send returned {outcome:?}");
}

fn run_child(mode: &str, rpc: &str, db: &Path) {
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_send_then_abort",
            "--nocapture",
            "--include-ignored",
        ])
        .env(CHILD_MODE, mode)
        .env(CHILD_RPC, rpc)
        .env(CHILD_DB, db)
        .status()
        .expect("the child test process runs");
    assert!(!status.success(), "the child must die mid-send: {status}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        const SIGABRT: i32 = 6;
        assert_eq!(status.signal(), Some(SIGABRT), "{status}");
    }
}

async fn crash_and_restart(mode: &str) {
    let env = Env::start(&format!("crash_{mode}"), &[]);
    env.control.set_automine(false).await.unwrap();
    let recipient_before = env.provider.get_balance(RECIPIENT).await.unwrap();

    run_child(mode, &env.node.http_url(), &env.db);

    // "Restart": the same SQLite file, a new tracker and sender.
    let record = env.record(CRASH_KEY).await;
    assert_eq!(
        record.state,
        TxState::Signed,
        "journaled before the broadcast"
    );
    assert_eq!((record.nonce, record.attempts.len()), (0, 1));
    let hash = record.attempts[0].hash;
    let in_pool = env
        .provider
        .get_transaction_by_hash(hash)
        .await
        .unwrap()
        .is_some();
    assert_eq!(
        in_pool,
        mode == "after_broadcast",
        "broadcast before the crash?"
    );

    let tracker = env.tracker();
    let report = tracker.reconcile().await.unwrap();
    if mode == "after_broadcast" {
        assert_eq!(
            (report.found_pending, report.rebroadcast),
            (1, 0),
            "{report:?}"
        );
    } else {
        assert_eq!(
            (report.found_pending, report.rebroadcast),
            (0, 1),
            "{report:?}"
        );
    }
    assert_eq!(env.record(CRASH_KEY).await.state, TxState::Pending);
    // The node holds exactly the journaled bytes (same hash); reconciling again sends nothing.
    assert!(
        env.provider
            .get_transaction_by_hash(hash)
            .await
            .unwrap()
            .is_some()
    );
    let again = tracker.reconcile().await.unwrap();
    assert_eq!(
        (again.rebroadcast, again.found_pending),
        (0, 0),
        "{again:?}"
    );

    let done = env.mine_until_final(&tracker, CRASH_KEY).await;
    assert_eq!(done.state, TxState::Confirmed);
    assert_eq!(done.final_hash, Some(hash));
    assert_eq!(done.receipt_status, Some(true));
    assert_eq!(
        env.nonce(0).await,
        1,
        "exactly one transaction from the account"
    );
    assert_eq!(
        env.provider.get_balance(RECIPIENT).await.unwrap() - recipient_before,
        U256::from(CRASH_VALUE),
        "the transfer arrived exactly once"
    );

    // The same key again, from a fresh sender: the journaled record, no new transaction.
    let sender = env.sender(0);
    let outcome = sender
        .send(TxRequest::transfer(
            CRASH_KEY,
            RECIPIENT,
            U256::from(CRASH_VALUE),
        ))
        .await
        .unwrap();
    assert!(
        matches!(&outcome, SendOutcome::Existing(r) if r.final_hash == Some(hash)),
        "{outcome:?}"
    );
    env.control.mine().await.unwrap();
    assert_eq!(env.nonce(0).await, 1);
    assert_eq!(
        env.provider
            .get_transaction_count(env.node.address(0))
            .pending()
            .await
            .unwrap(),
        1,
        "nothing new in the pool"
    );
    // A new key takes the next nonce.
    let next = sender
        .send(TxRequest::transfer(
            "action:43",
            RECIPIENT,
            U256::from(1u64),
        ))
        .await
        .unwrap();
    assert_eq!(next.record().nonce, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_broadcast_is_found_not_resent() {
    crash_and_restart("after_broadcast").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_before_broadcast_rebroadcasts_the_same_bytes_once() {
    crash_and_restart("before_broadcast").await;
}

// ---------------------------------------------------------------------------------------
// (b) 50 concurrent sends from one account

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_sends_get_distinct_consecutive_nonces() {
    let env = Env::start("concurrent", &[]);
    let sender = env.sender(0);
    let started = Instant::now();
    let sends = (0..50u64).map(|i| {
        let sender = sender.clone();
        async move {
            sender
                .send(TxRequest::transfer(
                    format!("burst:{i}"),
                    RECIPIENT,
                    U256::from(i + 1),
                ))
                .await
        }
    });
    let outcomes = futures::future::join_all(sends).await;
    let sent = started.elapsed();
    let mut nonces = Vec::new();
    for outcome in outcomes {
        let outcome = outcome.expect("no send fails");
        assert!(outcome.is_new());
        let record = outcome.record();
        assert_eq!(
            record.attempts.len(),
            1,
            "no collision, no retry: {record:?}"
        );
        nonces.push(record.nonce);
    }
    nonces.sort_unstable();
    assert_eq!(nonces, (0..50).collect::<Vec<_>>());
    assert_eq!(
        sender.nonce_manager().resyncs(),
        1,
        "synced once, never resynced"
    );
    assert_eq!(sender.nonce_manager().peek().await, Some(50));

    let tracker = Arc::new(env.tracker());
    let cancel = CancellationToken::new();
    let worker = tokio::spawn(run_tracker(tracker.clone(), cancel.clone()));
    env.control.mine().await.unwrap(); // the confirmation of the last one
    let mut hashes = std::collections::HashSet::new();
    for i in 0..50 {
        let record = tracker
            .wait_final(&format!("burst:{i}"), Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(record.state, TxState::Confirmed, "{record:?}");
        assert!(hashes.insert(record.final_hash.unwrap()));
    }
    cancel.cancel();
    worker.await.unwrap().unwrap();
    assert_eq!(env.nonce(0).await, 50);
    assert_eq!(
        env.provider.get_balance(RECIPIENT).await.unwrap(),
        U256::from((1..=50u64).sum::<u64>())
    );
    eprintln!("50 sends journaled and broadcast in {sent:?}");
}

// ---------------------------------------------------------------------------------------
// (c) a stuck transaction is replaced with higher fees

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_transaction_is_replaced_with_higher_fees() {
    let mut env = Env::start("stuck", &[]);
    env.chain.stuck_after_secs = 1;
    env.control.set_automine(false).await.unwrap();
    let skew = Arc::new(AtomicI64::new(0));
    let tracker = {
        let skew = skew.clone();
        env.tracker().with_clock(move || {
            chrono::Utc::now().timestamp_millis() + skew.load(Ordering::Relaxed)
        })
    };
    let sender = env.sender(0);
    let sent = sender
        .send(TxRequest::transfer("stuck:1", RECIPIENT, U256::from(7u64)))
        .await
        .unwrap()
        .into_record();
    assert_eq!(sent.state, TxState::Pending);
    let original = sent.attempts[0].clone();

    // Not stuck yet.
    let report = tracker.tick().await.unwrap();
    assert_eq!(report.replaced, 0, "{report:?}");

    // Two seconds later (the tracker's clock) it is.
    skew.store(2_000, Ordering::Relaxed);
    let report = tracker.tick().await.unwrap();
    assert_eq!(report.replaced, 1, "{report:?}");
    let record = env.record("stuck:1").await;
    assert_eq!(record.attempts.len(), 2);
    let replacement = record.attempts[1].clone();
    assert_eq!(replacement.nonce, original.nonce);
    assert_eq!(replacement.state, AttemptState::Pending);
    assert_ne!(replacement.hash, original.hash);
    assert!(
        replacement.max_fee_per_gas * 100 >= original.max_fee_per_gas * 125,
        "max fee {} -> {}",
        original.max_fee_per_gas,
        replacement.max_fee_per_gas
    );
    assert!(
        replacement.max_priority_fee_per_gas * 100 >= original.max_priority_fee_per_gas * 125,
        "tip {} -> {}",
        original.max_priority_fee_per_gas,
        replacement.max_priority_fee_per_gas
    );
    assert!(replacement.max_fee_per_gas <= 300 * GWEI);
    // The node holds the replacement.
    assert!(
        env.provider
            .get_transaction_by_hash(replacement.hash)
            .await
            .unwrap()
            .is_some()
    );

    // Right after a replacement it is not stuck again.
    assert_eq!(tracker.tick().await.unwrap().replaced, 0);

    let done = env.mine_until_final(&tracker, "stuck:1").await;
    assert_eq!(done.state, TxState::Confirmed);
    assert_eq!(done.final_hash, Some(replacement.hash));
    assert_eq!(done.attempts[0].state, AttemptState::Replaced);
    assert_eq!(done.attempts[1].state, AttemptState::Mined);
    assert!(
        env.provider
            .get_transaction_receipt(original.hash)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(env.nonce(0).await, 1);
    assert_eq!(
        env.provider.get_balance(RECIPIENT).await.unwrap(),
        U256::from(7u64)
    );
}

// ---------------------------------------------------------------------------------------
// (d) reverts are refused with the decoded reason; nothing is journaled

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reverting_calls_are_refused_with_the_decoded_reason() {
    let env = Env::start("reverts", &[]);
    let token = env.deploy_token(1_000).await;
    let nonce_before = env.nonce(1).await;
    // Account 1 holds no tokens.
    let sender = env.sender(1);
    let transfer = TestToken::transferCall {
        to: RECIPIENT,
        value: U256::from(5u64),
    };
    let err = sender
        .send(token_call(token, "revert:transfer", transfer))
        .await
        .unwrap_err();
    match &err {
        SendError::Reverted { reason, .. } => {
            assert_eq!(reason, "TestToken: insufficient balance")
        }
        other => panic!("expected a revert, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "the transaction would revert: TestToken: insufficient balance"
    );

    // A custom error: by name and arguments with the ABI, by selector without.
    let mint = || TestToken::mintCall {
        to: RECIPIENT,
        amount: U256::from(1u64),
    };
    let caller = env.node.address(1);
    let abi = artifact("TestToken").unwrap().abi();
    let with_abi = sender
        .send_with(
            token_call(token, "revert:mint", mint()),
            &RevertDecoder::from_abi(&abi),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&with_abi, SendError::Reverted { reason, .. } if *reason == format!("NotOwner({caller})")),
        "{with_abi}"
    );
    let with_signature = sender
        .clone()
        .with_revert_decoder(RevertDecoder::from_signatures(["NotOwner(address)"]).unwrap())
        .send(token_call(token, "revert:mint", mint()))
        .await
        .unwrap_err();
    assert!(
        with_signature
            .to_string()
            .contains(&format!("NotOwner({caller})")),
        "{with_signature}"
    );
    let bare = sender
        .send(token_call(token, "revert:mint", mint()))
        .await
        .unwrap_err();
    match &bare {
        SendError::Reverted { reason, data } => {
            assert!(reason.starts_with("custom error 0x245aecd3"), "{reason}");
            assert_eq!(&data[..4], TestToken::NotOwner::SELECTOR.as_slice());
        }
        other => panic!("expected a revert, got {other:?}"),
    }

    assert_eq!(
        env.journal_len().await,
        0,
        "a refused send journals nothing"
    );
    assert_eq!(env.nonce(1).await, nonce_before);
    assert_eq!(
        sender.nonce_manager().peek().await,
        None,
        "no nonce was taken"
    );

    // The same key goes through once the call would succeed (account 0 owns the token).
    let owner = env.sender(0);
    let ok = owner
        .send(token_call(token, "revert:mint", mint()))
        .await
        .unwrap();
    assert!(ok.is_new());
    assert_eq!(env.journal_len().await, 1);
}

// ---------------------------------------------------------------------------------------
// (e) a stale nonce: the send is refused by the node, the manager resyncs

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nonce_used_behind_the_managers_back_resyncs_it() {
    let env = Env::start("resync", &[]);
    let sender = env.sender(0);
    let first = sender
        .send(TxRequest::transfer("gap:1", RECIPIENT, U256::from(1u64)))
        .await
        .unwrap();
    assert_eq!(first.record().nonce, 0);
    assert_eq!(sender.nonce_manager().peek().await, Some(1));

    // Someone else uses nonce 1 of the account (mined at once: automine).
    env.send_behind_the_back(0, 1, Address::repeat_byte(0x99), Vec::new(), 1)
        .await;
    // Automine mines in the background: wait for it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while env.nonce(0).await < 2 {
        assert!(
            Instant::now() < deadline,
            "the side transaction was not mined"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The manager still says 1: the node refuses it, the manager resyncs and the send
    // goes out with nonce 2, the refused attempt journaled as such.
    let second = sender
        .send(TxRequest::transfer("gap:2", RECIPIENT, U256::from(2u64)))
        .await
        .unwrap()
        .into_record();
    assert_eq!(second.nonce, 2);
    assert_eq!(second.attempts.len(), 2, "{second:?}");
    assert_eq!(second.attempts[0].nonce, 1);
    assert_eq!(second.attempts[0].state, AttemptState::Rejected);
    assert!(
        second.attempts[0]
            .error
            .as_deref()
            .unwrap()
            .contains("nonce too low"),
        "{second:?}"
    );
    assert_eq!(second.attempts[1].nonce, 2);
    assert_eq!(second.state, TxState::Pending);
    assert_eq!(
        sender.nonce_manager().resyncs(),
        2,
        "the first sync and one resync"
    );
    assert_eq!(sender.nonce_manager().peek().await, Some(3));

    let tracker = env.tracker();
    assert_eq!(
        env.mine_until_final(&tracker, "gap:2").await.state,
        TxState::Confirmed
    );
    assert_eq!(env.nonce(0).await, 3);

    // A second sender of the same account sharing the manager continues at 3.
    let twin = sender.clone();
    let third = twin
        .send(TxRequest::transfer("gap:3", RECIPIENT, U256::from(3u64)))
        .await
        .unwrap();
    assert_eq!(third.record().nonce, 3);
}

// ---------------------------------------------------------------------------------------
// More of the tracker and the fee cap

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base_fee_above_the_cap_waits_and_journals_nothing() {
    // 500 gwei base fee against the 300 gwei cap.
    let env = Env::start("fee_cap", &["--block-base-fee-per-gas", "500000000000"]);
    let err = env
        .sender(0)
        .send(TxRequest::transfer("cap:1", RECIPIENT, U256::from(1u64)))
        .await
        .unwrap_err();
    match err {
        SendError::FeeCapExceeded { base_fee, cap } => {
            assert!(base_fee > 300 * GWEI, "{base_fee}");
            assert_eq!(cap, 300 * GWEI);
        }
        other => panic!("expected FeeCapExceeded, got {other:?}"),
    }
    assert_eq!(env.journal_len().await, 0);
    assert_eq!(env.nonce(0).await, 0);
}

/// Passes the simulation, then reverts on chain because a higher-tipped transaction of
/// another account drains the balance first: the receipt's status 0 is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_reverting_on_chain_is_recorded_failed() {
    let env = Env::start("failed", &[]);
    let token = env.deploy_token(1_000).await;
    let owner = env.sender(0);
    let approve = TestToken::approveCall {
        spender: env.node.address(1),
        value: U256::from(1_000u64),
    };
    owner
        .send(token_call(token, "failed:approve", approve))
        .await
        .unwrap();
    env.control.set_automine(false).await.unwrap();

    // Account 1 pulls all of account 0's tokens: fine in simulation.
    let pull = TestToken::transferFromCall {
        from: env.node.address(0),
        to: RECIPIENT,
        value: U256::from(1_000u64),
    };
    let spender = env.sender(1);
    spender
        .send(token_call(token, "failed:pull", pull))
        .await
        .unwrap();
    // Account 0 moves them away first, with a far higher tip. (Sent raw: our sender
    // would refuse it, since its simulation at the pending state sees the pull.)
    let drain = TestToken::transferCall {
        to: Address::repeat_byte(0x77),
        value: U256::from(1_000u64),
    };
    let owner_nonce = env
        .provider
        .get_transaction_count(env.node.address(0))
        .pending()
        .await
        .unwrap();
    env.send_behind_the_back(0, owner_nonce, token, drain.abi_encode(), 50)
        .await;

    let tracker = env.tracker();
    let pulled = env.mine_until_final(&tracker, "failed:pull").await;
    assert_eq!(pulled.state, TxState::Failed);
    assert_eq!(pulled.receipt_status, Some(false));
    assert!(pulled.gas_used.unwrap() > 21_000);
    assert!(pulled.effective_gas_price.unwrap() > 0);
}

/// Our pending transaction is displaced by a stranger's transaction with the same nonce:
/// the send is `dropped`, not re-sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nonce_taken_by_a_foreign_transaction_is_dropped() {
    let env = Env::start("dropped", &[]);
    env.control.set_automine(false).await.unwrap();
    let sent = env
        .sender(0)
        .send(TxRequest::transfer(
            "dropped:1",
            RECIPIENT,
            U256::from(5u64),
        ))
        .await
        .unwrap()
        .into_record();
    // The same nonce, another payload, a higher fee: the pool keeps the stranger.
    env.send_behind_the_back(0, sent.nonce, Address::repeat_byte(0x55), Vec::new(), 3)
        .await;
    let tracker = env.tracker();
    let done = env.mine_until_final(&tracker, "dropped:1").await;
    assert_eq!(done.state, TxState::Dropped, "{done:?}");
    assert!(done.error.unwrap().contains("none of this send's attempts"));
    assert_eq!(done.attempts[0].state, AttemptState::Dropped);
    assert_eq!(
        env.provider.get_balance(RECIPIENT).await.unwrap(),
        U256::ZERO
    );
    assert_eq!(env.nonce(0).await, 1);
}

/// A mined transaction whose block is reorganised away goes back to pending, is
/// re-broadcast unchanged and confirmed in its new block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorged_transaction_is_followed_into_its_new_block() {
    let mut env = Env::start("reorg", &[]);
    env.chain.confirmations = 3;
    let tracker = env.tracker();
    let sent = env
        .sender(0)
        .send(TxRequest::transfer("reorg:1", RECIPIENT, U256::from(9u64)))
        .await
        .unwrap()
        .into_record();
    let hash = sent.attempts[0].hash;
    // Automine mines in the background: tick until the receipt is seen.
    let deadline = Instant::now() + Duration::from_secs(10);
    while tracker.tick().await.unwrap().mined == 0 {
        assert!(Instant::now() < deadline, "never mined");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mined = env.record("reorg:1").await;
    assert_eq!(mined.state, TxState::Mined);
    let first_block = mined.block_hash.unwrap();

    env.control.reorg(1).await.unwrap();
    let report = tracker.tick().await.unwrap();
    assert_eq!(report.reorged, 1, "{report:?}");
    assert_eq!(env.record("reorg:1").await.state, TxState::Pending);

    let done = env.mine_until_final(&tracker, "reorg:1").await;
    assert_eq!(done.state, TxState::Confirmed);
    assert_eq!(
        done.final_hash,
        Some(hash),
        "the same transaction, not a second one"
    );
    assert_ne!(done.block_hash, Some(first_block));
    assert_eq!(done.attempts.len(), 1);
    assert_eq!(env.nonce(0).await, 1);
    assert_eq!(
        env.provider.get_balance(RECIPIENT).await.unwrap(),
        U256::from(9u64)
    );
}

/// The node refuses a send for a reason other than its nonce (here: the account cannot pay
/// the gas on top of the value, which `eth_call` does not check). The send is journaled as
/// `rejected`, its nonce is handed out again, and the same key may try again later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_send_frees_its_nonce_and_its_key_can_retry() {
    use alloy::providers::ext::AnvilApi;

    let env = Env::start("refused", &[]);
    let sender = env.sender(2);
    let account = env.node.address(2);
    let balance = env.provider.get_balance(account).await.unwrap();
    let everything = TxRequest::transfer("refused:1", RECIPIENT, balance - U256::from(1u64));
    let err = sender.send(everything.clone()).await.unwrap_err();
    match &err {
        SendError::Rejected { idem_key, message } => {
            assert_eq!(idem_key, "refused:1");
            assert!(
                message.to_lowercase().contains("insufficient funds"),
                "{message}"
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    let refused = env.record("refused:1").await;
    assert_eq!(refused.state, TxState::Rejected);
    assert_eq!(refused.attempts[0].state, AttemptState::Rejected);
    assert_eq!(
        sender.nonce_manager().peek().await,
        Some(0),
        "nonce 0 is free again"
    );

    // Another key takes nonce 0 meanwhile.
    let other = sender
        .send(TxRequest::transfer(
            "refused:other",
            RECIPIENT,
            U256::from(1u64),
        ))
        .await
        .unwrap();
    assert_eq!(other.record().nonce, 0);

    // Funded, the same key goes through: a new attempt of the same journal entry.
    env.provider
        .anvil_set_balance(account, balance * U256::from(2u64))
        .await
        .unwrap();
    let retried = sender.send(everything.clone()).await.unwrap();
    assert!(retried.is_new());
    let record = retried.into_record();
    assert_eq!(record.id, refused.id);
    assert_eq!(record.nonce, 1);
    assert_eq!(record.attempts.len(), 2);
    assert_eq!(record.attempts[1].state, AttemptState::Pending);
    let tracker = env.tracker();
    assert_eq!(
        env.mine_until_final(&tracker, "refused:1").await.state,
        TxState::Confirmed
    );
    // And now the key is settled: a third call changes nothing.
    assert!(!sender.send(everything).await.unwrap().is_new());
}
