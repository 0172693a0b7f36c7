//! The live demo, the real binary as a newcomer runs it, twice (one after the other):
//! - `hedgedesk demo --headless`: within a minute of the market starting every desk has rows
//!   to show, and within three minutes the desks have liquidated a margin position, opened
//!   and closed a perp hedge, settled an AnyHedge contract and settled a pool policy, all on
//!   their own (the demo's policy); then SIGTERM stops it cleanly, anvil with it;
//! - `hedgedesk demo --confirm-all` in a real terminal (tmux), every action waiting for the
//!   operator: every desk's tab shows live rows within a minute; the operator approves what
//!   the desks propose through the confirm popup on the Actions tab (and a provider's
//!   withdrawal with `w` on the Pool tab), one action of each kind at least; each approved
//!   on-chain action's transaction succeeded with the event it was for (read back with
//!   `cast`), and the perp hedges are the paper venue's fills.
//!
//! Needs anvil, cast and tmux (`scripts/bootstrap` installs them).

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Desk;
use rusqlite::{Connection, OpenFlags};
use std::collections::BTreeMap;
use std::process::Command as Cmd;

use alloy::sol_types::SolEvent;
use common::tmux::Tmux;
use hedgedesk::chain::contracts::{HedgeContract, LiquidityVault, MarginModule, PriceCaster};

/// One demo at a time: each runs a devnet, a market and five desks, and its deadlines are
/// the (a minute, three minutes) on a 2-core machine.
static ONE_DEMO: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Kills the demo if the test fails before stopping it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn count(db: &Path, sql: &str) -> i64 {
    let Ok(c) = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return 0;
    };
    c.busy_timeout(Duration::from_secs(2)).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap_or(0)
}

fn confirmed(db: &Path, kind: &str) -> i64 {
    count(
        db,
        &format!("SELECT count(*) FROM actions WHERE kind = '{kind}' AND state = 'confirmed'"),
    )
}

/// What the journal holds, for a failure's message.
fn journal(db: &Path) -> String {
    let Ok(c) = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return "no store".into();
    };
    let mut stmt = c
        .prepare("SELECT kind, state, count(*) FROM actions GROUP BY kind, state ORDER BY kind")
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok(format!(
                "{} {} {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?
            ))
        })
        .unwrap();
    rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
}

fn wait_for(what: &str, by: Instant, db: &Path, mut done: impl FnMut() -> bool) {
    while !done() {
        assert!(
            Instant::now() < by,
            "{what}: not by its deadline; the journal:\n{}",
            journal(db)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn every_desk_is_busy_within_a_minute_and_each_flow_completes_within_three() {
    let _one = ONE_DEMO.lock().unwrap_or_else(|e| e.into_inner());
    let desk = Desk::new("demo_headless");
    let out = std::fs::File::create(desk.root.join("demo.out")).unwrap();
    let child = Command::new(common::bin())
        .args(["--data-dir"])
        .arg(&desk.data)
        .args([
            "demo",
            "--headless",
            "--port",
            "0",
            "--api-port",
            "0",
            "--seed",
            "1",
        ])
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let mut demo = Running(child);
    let db = desk.data.join("hedgedesk.sqlite");
    let printed = desk.root.join("demo.out");
    // Deploying and seeding takes a while on a cold machine; the clock starts with the market.
    common::wait_until(
        "the demo's market to start",
        Duration::from_secs(180),
        || std::fs::read_to_string(&printed).is_ok_and(|t| t.contains("  market     seed 1")),
    );
    let started = Instant::now();

    let minute = started + Duration::from_secs(60);
    wait_for("prices published on chain", minute, &db, || {
        confirmed(&db, "publish_prices") > 0
    });
    wait_for("margin positions indexed", minute, &db, || {
        count(&db, "SELECT count(*) FROM margin_positions") > 0
    });
    wait_for("AnyHedge offers", minute, &db, || {
        count(&db, "SELECT count(*) FROM anyhedge_offers") > 0
    });
    wait_for("pool providers", minute, &db, || {
        count(&db, "SELECT count(*) FROM pool_providers") > 0
    });
    wait_for("pool policies", minute, &db, || {
        count(&db, "SELECT count(*) FROM pool_policies") > 0
    });

    let three = started + Duration::from_secs(180);
    for kind in [
        "liquidate",
        "open_hedge",
        "close_hedge",
        "settle_contract",
        "settle_policy",
    ] {
        wait_for(kind, three, &db, || confirmed(&db, kind) > 0);
    }
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM actions WHERE state = 'failed' AND kind != 'publish_prices'"
        ),
        0,
        "failed actions:\n{}",
        journal(&db)
    );

    // SIGTERM: the desks stop cleanly and the demo exits 0.
    let pid = demo.0.id() as i32;
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let stop = Instant::now();
    let status = loop {
        if let Some(status) = demo.0.try_wait().unwrap() {
            break status;
        }
        assert!(stop.elapsed() < Duration::from_secs(30), "still running");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(status.success(), "{status:?}");
}

/// The kinds the demo's market makes the desks propose within its first minutes, and the
/// event their transaction must carry (`None`: an order on the paper venue, not a tx).
fn expected() -> Vec<(&'static str, Option<alloy::primitives::B256>)> {
    vec![
        ("publish_prices", Some(PriceCaster::Store::SIGNATURE_HASH)),
        (
            "freeze_position",
            Some(MarginModule::PositionFrozen::SIGNATURE_HASH),
        ),
        ("liquidate", Some(MarginModule::Liquidation::SIGNATURE_HASH)),
        ("fund_contract", Some(HedgeContract::Funded::SIGNATURE_HASH)),
        (
            "settle_contract",
            Some(HedgeContract::Settled::SIGNATURE_HASH),
        ),
        (
            "mutual_redeem",
            Some(HedgeContract::MutuallyRedeemed::SIGNATURE_HASH),
        ),
        ("open_hedge", None),
        ("close_hedge", None),
        (
            "lock_collateral",
            Some(LiquidityVault::CollateralLocked::SIGNATURE_HASH),
        ),
        (
            "settle_policy",
            Some(LiquidityVault::SettlementPaid::SIGNATURE_HASH),
        ),
        (
            "expire_policy",
            Some(LiquidityVault::CollateralReleased::SIGNATURE_HASH),
        ),
        (
            "approve_withdrawal",
            Some(LiquidityVault::WithdrawalApproved::SIGNATURE_HASH),
        ),
    ]
}

fn open(path: &Path) -> Option<Connection> {
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    c.busy_timeout(Duration::from_secs(2)).ok()?;
    Some(c)
}

/// Per kind: (operator approvals, confirmed) so far.
fn approvals(path: &Path) -> BTreeMap<String, (i64, i64)> {
    let Some(c) = open(path) else {
        return BTreeMap::new();
    };
    let mut stmt = c
        .prepare(
            "SELECT a.kind,
                    count(DISTINCT CASE WHEN e.actor = 'operator' AND e.to_state = 'approved'
                                        THEN a.id END),
                    count(DISTINCT CASE WHEN a.state = 'confirmed' AND e.actor = 'operator'
                                        AND e.to_state = 'approved' THEN a.id END)
             FROM actions a JOIN action_events e ON e.action_id = a.id
             GROUP BY a.kind",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Approves whatever the Actions tab offers first: the newest rows are tried in turn until
/// one is proposed. Returns whether one was approved.
fn approve_one(t: &Tmux) -> bool {
    for down in 0..6 {
        t.keys(&["g"]);
        for _ in 0..down {
            t.keys(&["j"]);
        }
        t.keys(&["a"]);
        std::thread::sleep(Duration::from_millis(150));
        if t.screen().contains("Approve action #") {
            t.keys(&["y"]);
            std::thread::sleep(Duration::from_millis(150));
            return true;
        }
    }
    false
}

fn cast(args: &[&str]) -> String {
    let out = Cmd::new("cast").args(args).output().expect("cast");
    assert!(
        out.status.success(),
        "cast {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn the_demo_in_a_terminal_every_tab_live_and_every_kind_approved_by_keystroke() {
    let _one = ONE_DEMO.lock().unwrap_or_else(|e| e.into_inner());
    if !Tmux::required() {
        return;
    }
    let desk = Desk::new("tui_demo");
    let t = Tmux::run(
        "demo",
        &format!(
            "{} --data-dir {} demo --confirm-all --port 0 --api-port 0 --seed 1",
            common::bin(),
            desk.data.display()
        ),
    );
    let store = desk.data.join("hedgedesk.sqlite");
    // Deploying and seeding takes a while on a cold machine; the console shows when done.
    t.wait_for_within("workers 10/10", Duration::from_secs(240));
    let started = Instant::now();

    // Every tab has live rows within a minute, while the operator approves what comes.
    let tabs = [
        ("1", "BTC/USD"),
        ("2", "watching"),
        ("3", " BCH "),
        ("4", "BTC-USD"),
        ("5", " PUT "),
    ];
    let mut live = BTreeMap::new();
    while live.len() < tabs.len() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "tabs without live rows after a minute: {:?}; last screen:\n{}",
            tabs.iter()
                .filter(|(k, _)| !live.contains_key(*k))
                .collect::<Vec<_>>(),
            t.screen()
        );
        for (key, text) in tabs {
            if live.contains_key(key) {
                continue;
            }
            t.keys(&[key]);
            std::thread::sleep(Duration::from_millis(300));
            if t.screen().contains(text) {
                live.insert(key, started.elapsed().as_secs());
            }
        }
        t.keys(&["6"]);
        approve_one(&t);
    }
    eprintln!("tabs live at seconds {live:?}");

    // A provider asks to withdraw; the operator proposes it with `w` on the Pool tab.
    let provider: String = open(&store)
        .unwrap()
        .query_row(
            "SELECT p.address FROM pool_providers p JOIN pool_balances b ON b.provider = p.address
             WHERE b.token = 'eth' AND b.total != '0' ORDER BY p.address LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let out = common::hedgedesk(&desk.data.join("demo.toml"), &desk.data)
        .args([
            "pool",
            "request-withdrawal",
            "--provider",
            &provider,
            "--token",
            "eth",
            "--amount",
            "0.01",
            "--btc-price",
            "60000",
            "--eth-price",
            "3000",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    t.keys(&["5"]);
    // The row, not the tab's key hint ("w approve withdrawal"): the desk lists the request
    // at its next cycle.
    let listed = Instant::now();
    while !t
        .screen()
        .lines()
        .any(|l| l.contains("Pending withdrawals (") && !l.contains("Pending withdrawals (0)"))
    {
        assert!(
            listed.elapsed() < Duration::from_secs(30),
            "the withdrawal is not listed:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Focus moves providers → policies → withdrawals; the first row `w` accepts is asked.
    t.keys(&["Right"]);
    t.keys(&["Right"]);
    let asked = (0..6).any(|_| {
        t.keys(&["w"]);
        std::thread::sleep(Duration::from_millis(300));
        if t.screen().contains("Approve withdrawal #") {
            t.keys(&["y"]);
            return true;
        }
        t.keys(&["j"]);
        false
    });
    assert!(asked, "no withdrawal to approve:\n{}", t.screen());

    // The operator approves everything proposed until each kind has one confirmed.
    let kinds = expected();
    t.keys(&["6"]);
    loop {
        let done = approvals(&store);
        let missing: Vec<&str> = kinds
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| done.get(*k).is_none_or(|(_, confirmed)| *confirmed == 0))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no confirmed operator approval of {missing:?}; so far {done:?}"
        );
        if !approve_one(&t) {
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    // Each kind's transaction succeeded on the devnet with its event; hedges are fills.
    let rpc = {
        let text = std::fs::read_to_string(desk.data.join("demo.toml")).unwrap();
        let config: hedgedesk::config::Config = toml::from_str(&text).unwrap();
        config.chains["devnet"].endpoints[0].url.clone()
    };
    let c = open(&store).unwrap();
    for (kind, event) in kinds {
        let (id, tx): (i64, Option<String>) = c
            .query_row(
                "SELECT id, tx_hash FROM actions WHERE kind = ?1 AND state = 'confirmed'
                 ORDER BY id LIMIT 1",
                [kind],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        match event {
            Some(topic) => {
                let hash = tx.unwrap_or_else(|| panic!("{kind} #{id}: no tx hash"));
                let status = cast(&["receipt", &hash, "status", "--rpc-url", &rpc]);
                // cast prints "1 (success)" or "true" by version.
                assert!(
                    status.starts_with('1') || status == "true",
                    "{kind} {hash}: status {status}"
                );
                let logs = cast(&["receipt", &hash, "logs", "--rpc-url", &rpc]);
                assert!(
                    logs.contains(&topic.to_string()),
                    "{kind} {hash}: no {topic} in its logs:\n{logs}"
                );
            }
            None => {
                let fills = count(
                    &store,
                    &format!(
                        "SELECT count(*) FROM paper_fills WHERE client_order_id IN
                         (SELECT json_extract(plan_json, '$.client_order_id') FROM actions
                          WHERE id = {id})"
                    ),
                );
                assert_eq!(fills, 1, "{kind} #{id}: its order is not one paper fill");
            }
        }
    }

    t.keys(&["q"]);
    common::wait_until("the demo to quit on q", Duration::from_secs(30), || {
        !t.alive()
    });
}
