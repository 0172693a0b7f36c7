//! Reading the journal of every flow.

use rusqlite::Connection;

use super::types::JournalEntry;
use crate::store::StoreError;

// ---------------------------------------------------------------------------------------
// Journal

/// The journal, newest first.
pub fn journal_entries(c: &Connection, limit: u64) -> Result<Vec<JournalEntry>, StoreError> {
    let mut stmt = c.prepare(
        "SELECT id, at, flow, subject, detail FROM pool_journal ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok(JournalEntry {
            id: r.get(0)?,
            at_ms: r.get(1)?,
            flow: r.get(2)?,
            subject: r.get(3)?,
            detail: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
