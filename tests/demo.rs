//! `hedgedesk demo --headless`, the real binary as a newcomer runs it (without the screen):
//! within a minute of the market starting every desk has rows to show, and within three
//! minutes the desks have liquidated a margin position, opened and closed a perp hedge,
//! settled an AnyHedge contract and settled a pool policy, all on their own (the demo's
//! policy); then SIGTERM stops it cleanly, anvil with it.
//!
//! Needs anvil (`scripts/bootstrap` installs it in `.tools/bin`).

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Desk;
use rusqlite::{Connection, OpenFlags};

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
