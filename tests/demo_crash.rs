//! The crash test (`make crash`, not in the default suite): the demo's devnet and market run
//! in one process, the desks headless in another, and the desks are SIGKILLed ten times at
//! seeded random seconds (sends, confirmations, the scripted fall, liquidations, hedges,
//! settlements) and restarted each time; a last clean run resolves what the kills left in
//! flight. Then the journal (SQLite) and the chain must agree: nothing sent twice, nothing
//! sent without the journal, nothing lost.
//!
//! `CRASH_SEED=N` picks the market's seed and the kill times (default 1).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use alloy::consensus::Transaction as _;
use alloy::network::TransactionResponse as _;
use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use common::{Desk, Killed};
use hedgedesk::chain::contracts::MarginModule::Liquidation;
use rusqlite::{Connection, OpenFlags};
use rust_decimal::Decimal;

const KILLS: usize = 10;
const FINAL_RUN: Duration = Duration::from_secs(60);
/// Below this many confirmed actions (or three desks) the run did too little to prove anything.
const MIN_CONFIRMED: i64 = 30;

/// A tiny seeded generator (splitmix64): the kill times follow from `CRASH_SEED`.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

fn signal(child: &Child, sig: i32) {
    assert_eq!(
        unsafe { libc::kill(child.id() as i32, sig) },
        0,
        "kill {sig}"
    );
}

fn wait_exit(child: &mut Child, within: Duration, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            start.elapsed() < within,
            "{what}: still running after {within:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Demo {
    desk: Desk,
    config: PathBuf,
    pass_file: PathBuf,
}

impl Demo {
    /// `demo --market-only`: returns once it prints how to run the desks.
    fn start(seed: u64) -> (Demo, Killed, Instant) {
        let desk = Desk::new("demo_crash");
        let out_path = desk.root.join("market.out");
        let out = std::fs::File::create(&out_path).unwrap();
        let child = Command::new(common::bin())
            .arg("--data-dir")
            .arg(&desk.data)
            .args(["demo", "--market-only", "--port", "0", "--api-port", "0"])
            .args(["--seed", &seed.to_string()])
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let market = Killed(child);
        common::wait_until("the market to start", Duration::from_secs(300), || {
            std::fs::read_to_string(&out_path).is_ok_and(|t| t.contains("Run the desks:"))
        });
        let demo = Demo {
            config: desk.data.join("demo.toml"),
            pass_file: desk.data.join("demo-passphrase.txt"),
            desk,
        };
        (demo, market, Instant::now())
    }

    /// The desks headless in their own process, logging to `desks-<run>.log`.
    fn desks(&self, run: usize) -> Child {
        let log = std::fs::File::create(self.desk.root.join(format!("desks-{run}.log"))).unwrap();
        common::hedgedesk(&self.config, &self.desk.data)
            .arg("--passphrase-file")
            .arg(&self.pass_file)
            .args(["run", "--headless"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    fn db(&self) -> Connection {
        let c =
            Connection::open_with_flags(self.desk.db(), OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        c.busy_timeout(Duration::from_secs(10)).unwrap();
        c
    }

    fn rpc_url(&self) -> String {
        let text = std::fs::read_to_string(&self.config).unwrap();
        let config: toml::Value = toml::from_str(&text).unwrap();
        config["chains"]["devnet"]["endpoints"][0]["url"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The desks' account, as its keystore file says.
    fn operator(&self) -> Address {
        let file = self.desk.data.join("keystore/demo.json");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        json["address"].as_str().unwrap().parse().unwrap()
    }
}

#[test]
#[ignore = "long: run with make crash"]
fn sigkilled_desks_lose_nothing_and_send_nothing_twice() {
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .map(|s| s.parse().expect("CRASH_SEED: an integer"))
        .unwrap_or(1);
    let began = Instant::now();
    let (demo, mut market, market_t0) = Demo::start(seed);
    println!(
        "crash test, seed {seed}: market up after {:.0?}",
        began.elapsed()
    );

    let mut rng = Rng(seed);
    let mut kills = Vec::new();
    let mut left_total = [0; 3];
    for run in 0..KILLS {
        let mut desks = demo.desks(run);
        let life = Duration::from_millis(3_000 + rng.below(22_001));
        std::thread::sleep(life);
        signal(&desks, libc::SIGKILL);
        desks.wait().unwrap();
        let at = market_t0.elapsed().as_secs_f64();
        let left = in_flight(&demo.db());
        println!(
            "kill {:>2}: SIGKILL after {:>4.1} s of run, at market second {at:.1}; left in \
             flight: {} actions, {} tx sends, {} hedge orders",
            run + 1,
            life.as_secs_f64(),
            left[0],
            left[1],
            left[2]
        );
        kills.push(at);
        left_total.iter_mut().zip(left).for_each(|(t, n)| *t += n);
    }

    let final_start = chrono::Utc::now().timestamp_millis();
    let mut desks = demo.desks(KILLS);
    std::thread::sleep(FINAL_RUN);
    signal(&desks, libc::SIGTERM);
    let status = wait_exit(
        &mut desks,
        Duration::from_secs(60),
        "the final run after SIGTERM",
    );
    assert!(status.success(), "the final run exited {status:?}");

    let db = demo.db();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let chain = rt.block_on(Chain::read(&demo.rpc_url(), demo.operator(), &db));
    let report = check(&db, &chain, final_start);

    signal(&market.0, libc::SIGINT);
    let status = wait_exit(
        &mut market.0,
        Duration::from_secs(60),
        "the market after SIGINT",
    );
    assert!(status.success(), "the market exited {status:?}");

    println!(
        "kills at market seconds {:?}, leaving in flight {} actions, {} tx sends, {} hedge \
         orders\nchecked {report}\nrun time {:.0?} (seed {seed})",
        kills.iter().map(|s| s.round() as i64).collect::<Vec<_>>(),
        left_total[0],
        left_total[1],
        left_total[2],
        began.elapsed()
    );
}

/// What a kill interrupted: actions approved or sent, tx sends not yet mined, hedge
/// orders not yet filled.
fn in_flight(db: &Connection) -> [i64; 3] {
    [
        "SELECT count(*) FROM actions WHERE state IN ('approved', 'sent')",
        "SELECT count(*) FROM tx_sends WHERE state IN ('signed', 'pending')",
        "SELECT count(*) FROM perp_hedges WHERE state IN ('opening', 'closing')",
    ]
    .map(|sql| db.query_row(sql, [], |r| r.get(0)).unwrap())
}

/// What the chain says about the desks' account.
struct Chain {
    head: u64,
    /// Every transaction from the operator: hash → (nonce, block).
    sent: BTreeMap<B256, (u64, u64)>,
    nonce: u64,
    /// Receipts of the journal's mined transactions: hash → (status, block, block hash).
    receipts: HashMap<B256, (bool, u64, B256)>,
    /// Liquidations by or paid to the operator: (position, tx hash, fee receiver).
    liquidations: Vec<(String, B256, Address)>,
}

impl Chain {
    async fn read(url: &str, operator: Address, db: &Connection) -> Chain {
        let provider: DynProvider = ProviderBuilder::new()
            .connect_http(url.parse().unwrap())
            .erased();
        let head = provider.get_block_number().await.unwrap();
        let mut sent = BTreeMap::new();
        for n in 0..=head {
            let block = provider
                .get_block_by_number(n.into())
                .full()
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("block {n} missing"));
            for tx in block.transactions.txns() {
                if tx.from() == operator {
                    sent.insert(tx.tx_hash(), (tx.nonce(), n));
                }
            }
        }
        let nonce = provider
            .get_transaction_count(operator)
            .block_id(head.into())
            .await
            .unwrap();
        let mut receipts = HashMap::new();
        for hash in column::<String>(
            db,
            "SELECT final_hash FROM tx_sends WHERE final_hash IS NOT NULL",
        ) {
            let hash: B256 = hash.parse().unwrap();
            if let Some(r) = provider.get_transaction_receipt(hash).await.unwrap() {
                let block = (r.block_number.unwrap(), r.block_hash.unwrap());
                receipts.insert(hash, (r.status(), block.0, block.1));
            }
        }
        let module: Address = db
            .query_row(
                "SELECT address FROM deployments WHERE name = 'margin.module'",
                [],
                |r| r.get::<_, String>(0),
            )
            .unwrap()
            .parse()
            .unwrap();
        let filter = Filter::new()
            .address(module)
            .event_signature(Liquidation::SIGNATURE_HASH)
            .from_block(0)
            .to_block(head);
        let liquidations = provider
            .get_logs(&filter)
            .await
            .unwrap()
            .iter()
            .map(|log| {
                let event = log.log_decode::<Liquidation>().unwrap();
                let data = &event.inner.data;
                (data.positionId, data.liquidator, data.feeReceiver, log)
            })
            .filter(|(_, liquidator, receiver, _)| *liquidator == operator || *receiver == operator)
            .map(|(id, _, receiver, log)| (id.to_string(), log.transaction_hash.unwrap(), receiver))
            .collect();
        Chain {
            head,
            sent,
            nonce,
            receipts,
            liquidations,
        }
    }
}

fn column<T: rusqlite::types::FromSql>(db: &Connection, sql: &str) -> Vec<T> {
    let mut stmt = db.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn rows(db: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = db.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        Ok((0..n)
            .map(|i| match r.get_ref(i).unwrap() {
                rusqlite::types::ValueRef::Null => "NULL".to_string(),
                rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
            .join(" | "))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Every disagreement, collected so one failure shows them all.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn rows(&mut self, what: &str, found: Vec<String>) {
        if !found.is_empty() {
            self.0.push(format!("{what}:\n  {}", found.join("\n  ")));
        }
    }

    fn expect(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }
}

/// Checks the journal against the chain; returns the figures checked.
fn check(db: &Connection, chain: &Chain, final_start: i64) -> String {
    let mut p = Problems::default();
    check_sends(db, chain, final_start, &mut p);
    check_actions(db, chain, final_start, &mut p);
    check_liquidations(db, chain, &mut p);
    let hedges = check_hedges(db, &mut p);

    let count = |sql: &str| db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    let confirmed = count("SELECT count(*) FROM actions WHERE state = 'confirmed'");
    let desks = rows(
        db,
        "SELECT desk || ' ' || count(*) FROM actions WHERE state = 'confirmed' GROUP BY desk",
    );
    p.expect(confirmed >= MIN_CONFIRMED && desks.len() >= 3, || {
        format!("the run did too little: {confirmed} confirmed actions, by desk {desks:?}")
    });
    let by_state = rows(
        db,
        "SELECT kind || ' ' || state || ' ' || count(*) FROM actions GROUP BY kind, state",
    );
    assert!(
        p.0.is_empty(),
        "the journal and the chain disagree:\n{}\n\nactions by kind and state:\n  {}",
        p.0.join("\n"),
        by_state.join("\n  ")
    );
    println!("actions by kind and state:\n  {}", by_state.join("\n  "));
    format!(
        "{} actions ({confirmed} confirmed; {}), {} tx sends, {} operator txs on chain in \
         {} blocks, {} liquidations, {hedges} perp hedges and {} paper fills",
        count("SELECT count(*) FROM actions"),
        desks.join(", "),
        count("SELECT count(*) FROM tx_sends"),
        chain.sent.len(),
        chain.head + 1,
        chain.liquidations.len(),
        count("SELECT count(*) FROM paper_fills"),
    )
}

/// Nothing sent twice, nothing sent without the journal, receipts as journaled.
fn check_sends(db: &Connection, chain: &Chain, final_start: i64, p: &mut Problems) {
    struct Send {
        key: String,
        state: String,
        final_hash: Option<String>,
        created_at: i64,
    }
    let mut stmt = db
        .prepare(
            "SELECT a.hash, s.idem_key, s.state, s.final_hash, s.created_at
             FROM tx_attempts a JOIN tx_sends s ON s.id = a.send_id",
        )
        .unwrap();
    let journaled: HashMap<B256, Send> = stmt
        .query_map([], |r| {
            let send = Send {
                key: r.get(1)?,
                state: r.get(2)?,
                final_hash: r.get(3)?,
                created_at: r.get(4)?,
            };
            Ok((r.get::<_, String>(0)?.parse().unwrap(), send))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut mined_per_send: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (hash, (nonce, block)) in &chain.sent {
        let tx = format!("{hash} (nonce {nonce}, block {block})");
        let Some(send) = journaled.get(hash) else {
            p.0.push(format!("on chain but not in tx_attempts: {tx}"));
            continue;
        };
        mined_per_send
            .entry(&send.key)
            .or_default()
            .push(tx.clone());
        let journals_it = send.final_hash.as_deref() == Some(&hash.to_string());
        // SIGTERM may stop the tracker between a send's broadcast and its receipt.
        let just_sent =
            send.created_at >= final_start && matches!(&*send.state, "signed" | "pending");
        p.expect(journals_it || just_sent, || {
            format!(
                "on chain, but its send {} ({}) journals final hash {:?}: {tx}",
                send.key, send.state, send.final_hash
            )
        });
    }
    p.rows(
        "one send mined more than once",
        mined_per_send
            .iter()
            .filter(|(_, v)| v.len() > 1)
            .map(|(k, v)| format!("{k}: {}", v.join(", ")))
            .collect(),
    );
    p.rows(
        "sends with two attempts journaled as mined",
        rows(
            db,
            "SELECT send_id, group_concat(hash) FROM tx_attempts WHERE state = 'mined'
             GROUP BY send_id HAVING count(*) > 1",
        ),
    );
    p.expect(chain.nonce as usize == chain.sent.len(), || {
        format!(
            "the operator's nonce is {} but {} of its txs are on chain",
            chain.nonce,
            chain.sent.len()
        )
    });
    let mined = rows(
        db,
        "SELECT id, idem_key, nonce, final_hash, block_number, block_hash, receipt_status, state
         FROM tx_sends WHERE final_hash IS NOT NULL ORDER BY id",
    );
    let mut disagree = Vec::new();
    for row in &mined {
        let f: Vec<&str> = row.split(" | ").collect();
        let hash: B256 = f[3].parse().unwrap();
        let journal = (
            f[6] == "1",
            f[4].parse::<u64>().ok(),
            f[5].parse::<B256>().ok(),
        );
        match chain.receipts.get(&hash) {
            Some(&(ok, block, block_hash))
                if journal == (ok, Some(block), Some(block_hash))
                    && chain.sent.contains_key(&hash) => {}
            other => disagree.push(format!("{row}  chain: {other:?}")),
        }
    }
    p.rows("journaled receipts the chain does not have", disagree);
    p.rows(
        "sends from before the final run left unresolved (signed, pending or mined)",
        rows(
            db,
            &format!(
                "SELECT id, idem_key, state, nonce, final_hash, error FROM tx_sends
                 WHERE state IN ('signed', 'pending', 'mined') AND created_at < {final_start}"
            ),
        ),
    );
}

/// Nothing lost: every action the kills touched is final; a confirmed contract call has one
/// successful transaction, the one its send journals.
fn check_actions(db: &Connection, chain: &Chain, final_start: i64, p: &mut Problems) {
    p.rows(
        "actions left in flight (approved or sent) from before the final run",
        rows(
            db,
            &format!(
                "SELECT id, kind, state, idem_key, tx_hash, note FROM actions
                 WHERE state IN ('approved', 'sent') AND created_at < {final_start}"
            ),
        ),
    );
    p.rows(
        "failed or rejected actions without a note",
        rows(
            db,
            "SELECT id, kind, state FROM actions
             WHERE state IN ('failed', 'rejected') AND coalesce(note, '') = ''",
        ),
    );
    let calls = rows(
        db,
        "SELECT a.id, a.kind, a.tx_hash, s.final_hash, s.state, s.receipt_status,
                (SELECT count(*) FROM tx_attempts t WHERE t.send_id = s.id AND t.hash = a.tx_hash)
         FROM actions a LEFT JOIN tx_sends s ON s.idem_key = 'action:' || a.id
         WHERE a.state = 'confirmed' AND json_extract(a.plan_json, '$.type') = 'contract_call'",
    );
    let mut bad = Vec::new();
    for row in calls {
        let f: Vec<&str> = row.split(" | ").collect();
        let ok = f[4] == "confirmed"
            && f[5] == "1"
            && f[6] == "1"
            && f[3]
                .parse::<B256>()
                .ok()
                .and_then(|h| chain.receipts.get(&h))
                .is_some_and(|r| r.0);
        if !ok {
            bad.push(row);
        }
    }
    p.rows(
        "confirmed actions without exactly one successful tx of their own \
         (id, kind, action tx, send final hash, send state, receipt status, action tx among attempts)",
        bad,
    );
}

/// Every liquidation the operator made on chain is a confirmed `liquidate` action's tx,
/// and every confirmed one is on chain.
fn check_liquidations(db: &Connection, chain: &Chain, p: &mut Problems) {
    let confirmed: BTreeSet<String> = column(
        db,
        "SELECT s.final_hash FROM actions a JOIN tx_sends s ON s.idem_key = 'action:' || a.id
         WHERE a.kind = 'liquidate' AND a.state = 'confirmed'",
    )
    .into_iter()
    .collect();
    let on_chain: BTreeSet<String> = chain
        .liquidations
        .iter()
        .map(|(_, hash, _)| hash.to_string())
        .collect();
    p.expect(confirmed == on_chain, || {
        format!(
            "liquidations: confirmed actions' txs {confirmed:?}, the operator's Liquidation \
             events {:?}",
            chain.liquidations
        )
    });
}

/// The perp journal against the paper venue's fills: every fill is a hedge's order, each
/// hedge's fills match its state, and the net position per symbol is the open hedges'.
fn check_hedges(db: &Connection, p: &mut Problems) -> usize {
    let fills: HashMap<String, (String, String, Decimal)> = {
        let mut stmt = db
            .prepare("SELECT client_order_id, symbol, side, quantity FROM paper_fills")
            .unwrap();
        stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                (
                    r.get(1)?,
                    r.get(2)?,
                    r.get::<_, String>(3)?.parse().unwrap(),
                ),
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let signed = |side: &str, q: Decimal| if side == "BUY" { q } else { -q };
    let mut net: BTreeMap<String, Decimal> = BTreeMap::new();
    for (symbol, side, q) in fills.values() {
        *net.entry(symbol.clone()).or_default() += signed(side, *q);
    }
    let mut stmt = db
        .prepare(
            "SELECT id, symbol, side, quantity, state, open_client_id, close_client_id
             FROM perp_hedges",
        )
        .unwrap();
    let hedges: Vec<[String; 7]> = stmt
        .query_map([], |r| {
            Ok(std::array::from_fn(|i| {
                r.get::<_, Option<String>>(i)
                    .or_else(|_| r.get::<_, i64>(i).map(|v| Some(v.to_string())))
                    .unwrap()
                    .unwrap_or_default()
            }))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut expected: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut ours = BTreeSet::new();
    let mut bad = String::new();
    for [id, symbol, side, quantity, state, open_id, close_id] in &hedges {
        ours.insert(open_id.clone());
        ours.insert(close_id.clone());
        let q: Decimal = quantity.parse().unwrap();
        let has = |cid: &str| fills.get(cid).map(|(_, _, fq)| *fq);
        let (want_open, want_close) = match state.as_str() {
            "open" | "closing" => (true, false),
            "closed" => (true, true),
            _ => (false, false),
        };
        if matches!(state.as_str(), "open" | "closing") {
            *expected.entry(symbol.clone()).or_default() += signed(side, q);
        }
        let fills_ok = has(open_id).is_some() == want_open
            && has(close_id).is_some() == want_close
            && has(open_id).is_none_or(|fq| fq == q)
            && has(close_id).is_none_or(|fq| fq == q);
        if !fills_ok {
            let _ = writeln!(
                bad,
                "hedge #{id} {state} {side} {quantity} {symbol}: open fill {:?}, close fill {:?}",
                fills.get(open_id.as_str()),
                fills.get(close_id.as_str())
            );
        }
    }
    p.expect(bad.is_empty(), || {
        format!("hedges whose fills disagree:\n{bad}")
    });
    let strays: Vec<String> = fills
        .keys()
        .filter(|k| !ours.contains(*k))
        .cloned()
        .collect();
    p.rows("paper fills no hedge journals", strays);
    net.retain(|_, v| !v.is_zero());
    expected.retain(|_, v| !v.is_zero());
    p.expect(net == expected, || {
        format!("net paper position per symbol {net:?}, open hedges say {expected:?}")
    });
    hedges.len()
}
