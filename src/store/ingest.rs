//! Event ingestion's tables: per-stream cursors, the hashes of recently scanned blocks,
//! and every log delivered to a desk (`sql/003_event_ingest.sql`).
//!
//! The chain side (`chain::ingest`) decides what to record; this module records it, and
//! runs the desk's handler inside the same transaction that records a log and moves the
//! cursor, so a crash can neither apply a log twice nor skip one.

use std::str::FromStr;

use alloy::primitives::{Address, B256, Bytes};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::writer::{Store, StoreError, now_ms};

/// One log as a stream's handler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestedLog {
    /// The stream's name ("liquidator.margin").
    pub stream: String,
    pub chain_id: u64,
    pub block_number: u64,
    pub block_hash: B256,
    /// When the node reports it (`blockTimestamp` in the log object).
    pub block_timestamp: Option<u64>,
    /// The log's index in its block.
    pub log_index: u64,
    pub tx_hash: B256,
    pub address: Address,
    pub topics: Vec<B256>,
    pub data: Bytes,
}

/// Where a recorded log stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogState {
    /// Delivered to the handler and still canonical as far as the stream knows.
    Applied,
    /// Its block left the canonical chain; the handler's `retract` ran.
    Retracted,
}

impl LogState {
    /// The stored name (`applied`, `retracted`).
    pub fn name(self) -> &'static str {
        match self {
            LogState::Applied => "applied",
            LogState::Retracted => "retracted",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "applied" => Ok(LogState::Applied),
            "retracted" => Ok(LogState::Retracted),
            other => Err(StoreError::Invalid(format!("unknown log state {other:?}"))),
        }
    }
}

/// A stream's persisted position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamCursor {
    pub chain_id: u64,
    pub name: String,
    /// The next block to scan: every block below it has been scanned.
    pub next_block: u64,
    pub start_block: u64,
    /// Unix milliseconds of the last change.
    pub updated_at: i64,
}

impl StreamCursor {
    /// The last block whose logs have all been applied; `None` before the first scan (the
    /// blocks below `start_block` were never the stream's to scan: a contract deployed at
    /// `start_block` does not exist at the block before it).
    pub fn applied_through(&self) -> Option<u64> {
        (self.next_block > self.start_block).then(|| self.next_block - 1)
    }
}

/// What a stream filters on, in the stored (canonical, comparable) form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StreamKey<'a> {
    pub chain_id: u64,
    pub name: &'a str,
    /// Sorted, comma-separated lowercase addresses.
    pub addresses: String,
    /// Sorted, comma-separated topic0 values; empty means any.
    pub topic0: String,
}

/// A handler callback run inside the recording transaction.
pub(crate) type LogCallback<'a> =
    &'a mut dyn FnMut(&Transaction<'_>, &IngestedLog) -> Result<(), StoreError>;

/// A batch of scanned blocks to record.
pub(crate) struct Batch<'a> {
    /// The cursor the scan started from; the commit is refused if it moved meanwhile
    /// (a second worker on the same stream).
    pub expected_next: u64,
    /// The new cursor (one past the batch's last block).
    pub next_block: u64,
    pub logs: &'a [IngestedLog],
    /// Block hashes to remember: every block with a log and the batch's last block.
    pub blocks: &'a [(u64, B256)],
    /// Remembered hashes below this block are dropped.
    pub prune_below: u64,
}

pub(crate) fn hex_b256(value: &B256) -> String {
    format!("{value:#x}")
}

pub(crate) fn hex_address(value: &Address) -> String {
    format!("{value:#x}")
}

fn parse_b256(s: &str) -> Result<B256, StoreError> {
    B256::from_str(s).map_err(|e| StoreError::Invalid(format!("bad hash {s:?} in the store: {e}")))
}

fn parse_address(s: &str) -> Result<Address, StoreError> {
    Address::from_str(s)
        .map_err(|e| StoreError::Invalid(format!("bad address {s:?} in the store: {e}")))
}

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Invalid(format!("{value} does not fit the store")))
}

fn join_topics(topics: &[B256]) -> String {
    topics.iter().map(hex_b256).collect::<Vec<_>>().join(",")
}

fn split_topics(s: &str) -> Result<Vec<B256>, StoreError> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(',').map(parse_b256).collect()
}

/// Creates the stream's cursor at `start_block` if it has none, and returns it. A stream
/// recorded with another filter is refused: its cursor says nothing about the new one.
pub(crate) fn open_stream(
    conn: &mut Connection,
    key: &StreamKey<'_>,
    start_block: u64,
) -> Result<StreamCursor, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let existing: Option<(String, String)> = tx
        .query_row(
            "SELECT addresses, topic0 FROM ingest_streams WHERE chain_id = ?1 AND name = ?2",
            params![to_i64(key.chain_id)?, key.name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match existing {
        Some((addresses, topic0)) => {
            if addresses != key.addresses || topic0 != key.topic0 {
                return Err(StoreError::Invalid(format!(
                    "event stream {:?} on chain {} was recorded for addresses [{addresses}] \
                     and topic0 [{topic0}], not addresses [{}] and topic0 [{}]; give the new \
                     filter its own stream name",
                    key.name, key.chain_id, key.addresses, key.topic0
                )));
            }
        }
        None => {
            let now = now_ms();
            tx.execute(
                "INSERT INTO ingest_streams
                     (chain_id, name, addresses, topic0, start_block, next_block, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?6)",
                params![
                    to_i64(key.chain_id)?,
                    key.name,
                    key.addresses,
                    key.topic0,
                    to_i64(start_block)?,
                    now
                ],
            )?;
        }
    }
    let cursor = read_cursor(&tx, key.chain_id, key.name)?
        .ok_or_else(|| StoreError::Invalid(format!("stream {:?} vanished", key.name)))?;
    tx.commit()?;
    Ok(cursor)
}

pub(crate) fn read_cursor(
    conn: &Connection,
    chain_id: u64,
    name: &str,
) -> Result<Option<StreamCursor>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT next_block, start_block, updated_at FROM ingest_streams
             WHERE chain_id = ?1 AND name = ?2",
            params![to_i64(chain_id)?, name],
            |r| {
                Ok(StreamCursor {
                    chain_id,
                    name: name.to_string(),
                    next_block: r.get::<_, i64>(0)? as u64,
                    start_block: r.get::<_, i64>(1)? as u64,
                    updated_at: r.get(2)?,
                })
            },
        )
        .optional()?)
}

/// The remembered block hashes of a stream, highest first.
pub(crate) fn recorded_blocks(
    conn: &Connection,
    chain_id: u64,
    stream: &str,
) -> Result<Vec<(u64, B256)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT number, hash FROM ingest_blocks WHERE chain_id = ?1 AND stream = ?2
         ORDER BY number DESC",
    )?;
    let rows = stmt.query_map(params![to_i64(chain_id)?, stream], |r| {
        Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (number, hash) = row?;
        out.push((number, parse_b256(&hash)?));
    }
    Ok(out)
}

/// The highest remembered block of a stream (the last one scanned).
pub(crate) fn recorded_tip(
    conn: &Connection,
    chain_id: u64,
    stream: &str,
) -> Result<Option<(u64, B256)>, StoreError> {
    let row: Option<(i64, String)> = conn
        .query_row(
            "SELECT number, hash FROM ingest_blocks WHERE chain_id = ?1 AND stream = ?2
             ORDER BY number DESC LIMIT 1",
            params![to_i64(chain_id)?, stream],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(number, hash)| Ok((number as u64, parse_b256(&hash)?)))
        .transpose()
}

/// Records a scanned batch in one transaction: each new log is inserted and handed to
/// `apply` (a log already recorded as applied is skipped; one recorded as retracted and
/// canonical again is re-applied), the block hashes are remembered and pruned, and the
/// cursor moves. Returns how many logs were applied. Nothing is kept if any step fails.
pub(crate) fn commit_batch(
    conn: &mut Connection,
    chain_id: u64,
    stream: &str,
    batch: &Batch<'_>,
    apply: LogCallback<'_>,
) -> Result<usize, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let chain = to_i64(chain_id)?;
    let now = now_ms();
    let moved = tx.execute(
        "UPDATE ingest_streams SET next_block = ?3, updated_at = ?4
         WHERE chain_id = ?1 AND name = ?2 AND next_block = ?5",
        params![
            chain,
            stream,
            to_i64(batch.next_block)?,
            now,
            to_i64(batch.expected_next)?
        ],
    )?;
    if moved != 1 {
        return Err(StoreError::Invalid(format!(
            "the cursor of event stream {stream:?} on chain {chain_id} moved while it was \
             scanned (is a second worker running it?)"
        )));
    }
    let mut applied = 0;
    {
        let mut upsert = tx.prepare_cached(
            "INSERT INTO ingest_logs
                 (chain_id, stream, block_number, block_hash, block_timestamp, log_index,
                  tx_hash, address, topics, data, state, applied_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'applied', ?11)
             ON CONFLICT (chain_id, stream, block_hash, log_index) DO UPDATE
                 SET state = 'applied', applied_at = excluded.applied_at, retracted_at = NULL
                 WHERE state = 'retracted'",
        )?;
        for log in batch.logs {
            let changed = upsert.execute(params![
                chain,
                stream,
                to_i64(log.block_number)?,
                hex_b256(&log.block_hash),
                log.block_timestamp.map(to_i64).transpose()?,
                to_i64(log.log_index)?,
                hex_b256(&log.tx_hash),
                hex_address(&log.address),
                join_topics(&log.topics),
                log.data.as_ref(),
                now,
            ])?;
            if changed == 1 {
                apply(&tx, log)?;
                applied += 1;
            }
        }
        let mut remember = tx.prepare_cached(
            "INSERT OR REPLACE INTO ingest_blocks (chain_id, stream, number, hash)
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (number, hash) in batch.blocks {
            remember.execute(params![chain, stream, to_i64(*number)?, hex_b256(hash)])?;
        }
    }
    tx.execute(
        "DELETE FROM ingest_blocks WHERE chain_id = ?1 AND stream = ?2 AND number < ?3",
        params![chain, stream, to_i64(batch.prune_below)?],
    )?;
    tx.commit()?;
    Ok(applied)
}

/// Undoes everything from `first_invalid` up in one transaction: every applied log in
/// such a block is marked retracted and handed to `retract` (newest first), the
/// remembered hashes from there up are dropped and the cursor goes back to
/// `first_invalid` (never forward). Returns the retracted logs, oldest first.
pub(crate) fn rewind_to(
    conn: &mut Connection,
    chain_id: u64,
    stream: &str,
    first_invalid: u64,
    retract: LogCallback<'_>,
) -> Result<Vec<IngestedLog>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let chain = to_i64(chain_id)?;
    let from = to_i64(first_invalid)?;
    let now = now_ms();
    let mut logs = select_logs(
        &tx,
        "WHERE chain_id = ?1 AND stream = ?2 AND block_number >= ?3 AND state = 'applied'
         ORDER BY block_number DESC, log_index DESC",
        params![chain, stream, from],
    )?
    .into_iter()
    .map(|(log, _)| log)
    .collect::<Vec<_>>();
    tx.execute(
        "UPDATE ingest_logs SET state = 'retracted', retracted_at = ?4
         WHERE chain_id = ?1 AND stream = ?2 AND block_number >= ?3 AND state = 'applied'",
        params![chain, stream, from, now],
    )?;
    for log in &logs {
        retract(&tx, log)?;
    }
    tx.execute(
        "DELETE FROM ingest_blocks WHERE chain_id = ?1 AND stream = ?2 AND number >= ?3",
        params![chain, stream, from],
    )?;
    tx.execute(
        "UPDATE ingest_streams SET next_block = MIN(next_block, ?3), updated_at = ?4
         WHERE chain_id = ?1 AND name = ?2",
        params![chain, stream, from, now],
    )?;
    tx.commit()?;
    logs.reverse();
    Ok(logs)
}

fn select_logs(
    conn: &Connection,
    clause: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<(IngestedLog, LogState)>, StoreError> {
    let sql = format!(
        "SELECT stream, chain_id, block_number, block_hash, block_timestamp, log_index,
                tx_hash, address, topics, data, state
         FROM ingest_logs {clause}"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let log = IngestedLog {
            stream: r.get(0)?,
            chain_id: r.get::<_, i64>(1)? as u64,
            block_number: r.get::<_, i64>(2)? as u64,
            block_hash: parse_b256(&r.get::<_, String>(3)?)?,
            block_timestamp: r.get::<_, Option<i64>>(4)?.map(|t| t as u64),
            log_index: r.get::<_, i64>(5)? as u64,
            tx_hash: parse_b256(&r.get::<_, String>(6)?)?,
            address: parse_address(&r.get::<_, String>(7)?)?,
            topics: split_topics(&r.get::<_, String>(8)?)?,
            data: Bytes::from(r.get::<_, Vec<u8>>(9)?),
        };
        let state = LogState::parse(&r.get::<_, String>(10)?)?;
        out.push((log, state));
    }
    Ok(out)
}

impl Store {
    /// A stream's cursor, if it was ever started.
    pub async fn ingest_cursor(
        &self,
        chain_id: u64,
        stream: &str,
    ) -> Result<Option<StreamCursor>, StoreError> {
        let stream = stream.to_string();
        self.call(move |conn| read_cursor(conn, chain_id, &stream))
            .await
    }

    /// Every log a stream recorded, in chain order, with its state.
    pub async fn ingested_logs(
        &self,
        chain_id: u64,
        stream: &str,
    ) -> Result<Vec<(IngestedLog, LogState)>, StoreError> {
        let stream = stream.to_string();
        self.call(move |conn| {
            select_logs(
                conn,
                "WHERE chain_id = ?1 AND stream = ?2 ORDER BY block_number, log_index, id",
                params![to_i64(chain_id)?, stream],
            )
        })
        .await
    }

    /// The block hashes a stream remembers for reorg detection, highest first.
    pub async fn ingest_recorded_blocks(
        &self,
        chain_id: u64,
        stream: &str,
    ) -> Result<Vec<(u64, B256)>, StoreError> {
        let stream = stream.to_string();
        self.call(move |conn| recorded_blocks(conn, chain_id, &stream))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::migrations;

    fn conn() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        migrations::migrate(&mut conn).unwrap();
        conn
    }

    #[test]
    fn a_stream_has_applied_nothing_until_its_first_block_is_scanned() {
        let cursor = |next_block| StreamCursor {
            chain_id: 1,
            name: "s".into(),
            next_block,
            start_block: 40,
            updated_at: 0,
        };
        assert_eq!(cursor(40).applied_through(), None);
        assert_eq!(cursor(41).applied_through(), Some(40));
        assert_eq!(cursor(100).applied_through(), Some(99));
        let genesis = StreamCursor {
            start_block: 0,
            ..cursor(0)
        };
        assert_eq!(genesis.applied_through(), None);
    }

    fn key(name: &str) -> StreamKey<'_> {
        StreamKey {
            chain_id: 1,
            name,
            addresses: "0x0000000000000000000000000000000000000001".into(),
            topic0: String::new(),
        }
    }

    fn log(block: u64, hash: u8, index: u64) -> IngestedLog {
        IngestedLog {
            stream: "s".into(),
            chain_id: 1,
            block_number: block,
            block_hash: B256::repeat_byte(hash),
            block_timestamp: Some(1_700_000_000 + block),
            log_index: index,
            tx_hash: B256::repeat_byte(0xee),
            address: Address::repeat_byte(1),
            topics: vec![B256::repeat_byte(7), B256::repeat_byte(8)],
            data: Bytes::from_static(b"\x01\x02"),
        }
    }

    #[test]
    fn a_log_is_applied_once_and_reapplied_only_after_a_retraction() {
        let mut c = conn();
        let cursor = open_stream(&mut c, &key("s"), 10).unwrap();
        assert_eq!(cursor.next_block, 10);
        let logs = [log(11, 0xa1, 0), log(11, 0xa1, 1)];
        let mut calls = 0;
        let batch = Batch {
            expected_next: 10,
            next_block: 13,
            logs: &logs,
            blocks: &[(11, B256::repeat_byte(0xa1)), (12, B256::repeat_byte(0xa2))],
            prune_below: 0,
        };
        let n = commit_batch(&mut c, 1, "s", &batch, &mut |_, _| {
            calls += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!((n, calls), (2, 2));

        // The same logs again (a rescan) apply nothing.
        let again = Batch {
            expected_next: 13,
            next_block: 13,
            ..batch
        };
        let n = commit_batch(&mut c, 1, "s", &again, &mut |_, _| panic!("applied twice")).unwrap();
        assert_eq!(n, 0);

        let retracted = rewind_to(&mut c, 1, "s", 11, &mut |_, _| Ok(())).unwrap();
        assert_eq!(retracted.len(), 2);
        assert_eq!(retracted[0], logs[0], "round-trips through the table");
        assert_eq!(read_cursor(&c, 1, "s").unwrap().unwrap().next_block, 11);
        assert!(recorded_blocks(&c, 1, "s").unwrap().is_empty());

        // Canonical again (the chain went back): applied again, once.
        let back = Batch {
            expected_next: 11,
            next_block: 13,
            ..again
        };
        let n = commit_batch(&mut c, 1, "s", &back, &mut |_, _| Ok(())).unwrap();
        assert_eq!(n, 2);
    }

    #[test]
    fn a_failing_handler_keeps_nothing() {
        let mut c = conn();
        open_stream(&mut c, &key("s"), 0).unwrap();
        let logs = [log(1, 0xb1, 0)];
        let batch = Batch {
            expected_next: 0,
            next_block: 2,
            logs: &logs,
            blocks: &[(1, B256::repeat_byte(0xb1))],
            prune_below: 0,
        };
        let err = commit_batch(&mut c, 1, "s", &batch, &mut |_, _| {
            Err(StoreError::Invalid("desk says no".into()))
        })
        .unwrap_err();
        assert!(err.to_string().contains("desk says no"));
        assert_eq!(read_cursor(&c, 1, "s").unwrap().unwrap().next_block, 0);
        let count: i64 = c
            .query_row("SELECT COUNT(*) FROM ingest_logs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 0);
    }

    #[test]
    fn a_moved_cursor_or_changed_filter_is_refused() {
        let mut c = conn();
        open_stream(&mut c, &key("s"), 5).unwrap();
        let batch = Batch {
            expected_next: 4,
            next_block: 9,
            logs: &[],
            blocks: &[],
            prune_below: 0,
        };
        let err = commit_batch(&mut c, 1, "s", &batch, &mut |_, _| Ok(())).unwrap_err();
        assert!(err.to_string().contains("moved"), "{err}");

        let mut other = key("s");
        other.topic0 = hex_b256(&B256::repeat_byte(3));
        let err = open_stream(&mut c, &other, 5).unwrap_err();
        assert!(err.to_string().contains("own stream name"), "{err}");
    }

    #[test]
    fn remembered_hashes_are_pruned_below_the_window() {
        let mut c = conn();
        open_stream(&mut c, &key("s"), 0).unwrap();
        let blocks: Vec<(u64, B256)> = (0..10).map(|n| (n, B256::repeat_byte(n as u8))).collect();
        let batch = Batch {
            expected_next: 0,
            next_block: 10,
            logs: &[],
            blocks: &blocks,
            prune_below: 6,
        };
        commit_batch(&mut c, 1, "s", &batch, &mut |_, _| Ok(())).unwrap();
        let kept: Vec<u64> = recorded_blocks(&c, 1, "s")
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(kept, vec![9, 8, 7, 6]);
    }
}
