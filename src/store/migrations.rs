//! Versioned, forward-only schema migrations. Append new steps; never edit old ones:
//! a database at version N runs exactly the steps after N, each in its own transaction.

use rusqlite::{Connection, params};

/// Migration `i` brings the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: the action journal and its audit trail.
    r#"
    CREATE TABLE actions (
        id                INTEGER PRIMARY KEY,
        idem_key          TEXT    NOT NULL UNIQUE,
        desk              TEXT    NOT NULL,
        kind              TEXT    NOT NULL,
        state             TEXT    NOT NULL CHECK (state IN
                              ('proposed','approved','rejected','sent','confirmed','failed')),
        summary           TEXT    NOT NULL,
        plan_json         TEXT    NOT NULL,
        gas_cost_wei      TEXT    NOT NULL,
        profit_usd_cents  INTEGER,
        note              TEXT,
        tx_hash           TEXT,
        created_at        INTEGER NOT NULL,
        updated_at        INTEGER NOT NULL
    );
    CREATE INDEX actions_state ON actions(state, id);
    CREATE INDEX actions_desk ON actions(desk, id);

    CREATE TABLE action_events (
        id         INTEGER PRIMARY KEY,
        action_id  INTEGER NOT NULL REFERENCES actions(id),
        from_state TEXT,
        to_state   TEXT    NOT NULL,
        actor      TEXT    NOT NULL,
        note       TEXT,
        at         INTEGER NOT NULL
    );
    CREATE INDEX action_events_action ON action_events(action_id, id);
    "#,
    // 2: contracts the devnet (or an operator) deployed, by chain and name.
    include_str!("sql/002_deployments.sql"),
    // 3: event ingestion: per-stream cursors, scanned block hashes, applied logs.
    include_str!("sql/003_event_ingest.sql"),
    // 4: the transaction journal: every signed tx before it is sent.
    include_str!("sql/004_tx_journal.sql"),
    // 5: the oracle desk's slot layout.
    include_str!("sql/005_oracle_slots.sql"),
    // 6: the oracle desk's per-cycle statistics.
    include_str!("sql/006_oracle_cycles.sql"),
    // 7: the liquidator desk's margin index and its liquidations.
    include_str!("sql/007_margin.sql"),
    // 8: the AnyHedge desk's oracles and price messages.
    include_str!("sql/008_anyhedge_oracles.sql"),
    // 9: the AnyHedge desk's offers and hedge positions.
    include_str!("sql/009_anyhedge.sql"),
    // 10: the perp desk's hedges and the paper venue's fills.
    include_str!("sql/010_perp.sql"),
    // 11: when a hedge's current order was last sent.
    include_str!("sql/011_perp_sent_at.sql"),
    // 12: the pool desk's providers, tiers, policies, allocations and Vault events.
    include_str!("sql/012_pool.sql"),
];

pub fn schema_version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Runs every step after the database's `user_version`. A database newer than this
/// binary is refused rather than guessed at.
pub fn migrate(conn: &mut Connection) -> Result<u32, String> {
    let current = schema_version(conn).map_err(|e| e.to_string())? as usize;
    if current > MIGRATIONS.len() {
        return Err(format!(
            "database schema version {current} is newer than this hedgedesk understands ({}); \
             upgrade hedgedesk",
            MIGRATIONS.len()
        ));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let version = index + 1;
        let tx = conn.transaction().map_err(|e| e.to_string())?;
        tx.execute_batch(sql)
            .map_err(|e| format!("migration {version} failed: {e}"))?;
        tx.pragma_update(None, "user_version", version as u32)
            .map_err(|e| e.to_string())?;
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_history (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
            [],
        )
        .map_err(|e| e.to_string())?;
        tx.execute(
            "INSERT INTO schema_history(version, applied_at) VALUES (?1, ?2)",
            params![version as i64, crate::store::writer::now_ms()],
        )
        .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
    }
    Ok(MIGRATIONS.len() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_are_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), MIGRATIONS.len() as u32);
        assert_eq!(schema_version(&conn).unwrap() as usize, MIGRATIONS.len());
        // A second run finds nothing to do and leaves the history alone.
        migrate(&mut conn).unwrap();
        let applied: i64 = conn
            .query_row("SELECT COUNT(*) FROM schema_history", [], |r| r.get(0))
            .unwrap();
        assert_eq!(applied as usize, MIGRATIONS.len());
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(err.contains("newer"), "{err}");
    }
}
