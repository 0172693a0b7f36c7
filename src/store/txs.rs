//! The transaction journal's SQL (`tx_sends` + `tx_attempts`, see `sql/004_tx_journal.sql`).
//! Every write that touches both tables runs in one transaction, so a crash leaves either
//! the whole journal entry or none of it. The sending logic lives in `chain::send`.

use std::str::FromStr;

use alloy::primitives::{Address, B256, Bytes, U256};
use rusqlite::types::Type;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, params};

use super::writer::{Store, StoreError};
use crate::chain::send::{
    AttemptState, JournalOutcome, MinedInfo, NewAttempt, NewTx, TxAttempt, TxRecord, TxState,
};

const SEND_COLUMNS: &str = "id, idem_key, chain_id, from_addr, nonce, to_addr, value_wei, input, \
     gas_limit, state, final_hash, block_number, block_hash, gas_used, effective_gas_price, \
     receipt_status, error, created_at, updated_at";
const ATTEMPT_COLUMNS: &str = "id, attempt, nonce, hash, raw_tx, max_fee_per_gas, \
     max_priority_fee_per_gas, state, error, created_at, sent_at";
/// States in which a send still holds its nonce and may yet be mined.
const OPEN_STATES: &str = "('signed','pending','mined')";

impl Store {
    /// Journals a new send and its first signed transaction, unless the key is already
    /// journaled (then returns that record) or a live send of the account holds the nonce.
    pub async fn tx_journal(&self, new: NewTx, now: i64) -> Result<JournalOutcome, StoreError> {
        self.call(move |c| journal(c, &new, now)).await
    }

    /// Gives a send the node refused (`rejected`) a new nonce and a new signed transaction
    /// of the same payload. A send that is no longer rejected comes back as `Existing`.
    pub async fn tx_rearm(
        &self,
        send_id: i64,
        gas_limit: u64,
        attempt: NewAttempt,
        now: i64,
    ) -> Result<JournalOutcome, StoreError> {
        self.call(move |c| rearm(c, send_id, gas_limit, &attempt, now))
            .await
    }

    /// Journals a replacement (same nonce, higher fees) of an open send.
    pub async fn tx_add_attempt(
        &self,
        send_id: i64,
        attempt: NewAttempt,
        now: i64,
    ) -> Result<TxRecord, StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let record = load_by_id(&tx, send_id)?
                .ok_or_else(|| StoreError::Invalid(format!("no tx send {send_id}")))?;
            if record.nonce != attempt.nonce {
                return Err(StoreError::Invalid(format!(
                    "a replacement of send {send_id} must keep nonce {}, not {}",
                    record.nonce, attempt.nonce
                )));
            }
            insert_attempt(&tx, send_id, &attempt, now)?;
            tx.execute(
                "UPDATE tx_sends SET updated_at = ?2 WHERE id = ?1",
                params![send_id, now],
            )?;
            let record = load_by_id(&tx, send_id)?.expect("just read");
            tx.commit()?;
            Ok(record)
        })
        .await
    }

    pub async fn tx_by_key(&self, idem_key: String) -> Result<Option<TxRecord>, StoreError> {
        self.call(move |c| load_by_key(c, &idem_key)).await
    }

    pub fn tx_by_key_blocking(&self, idem_key: String) -> Result<Option<TxRecord>, StoreError> {
        self.call_blocking(move |c| load_by_key(c, &idem_key))
    }

    /// Every send of `chain_id` that may still change (signed, pending, mined), oldest first.
    pub async fn tx_open(&self, chain_id: u64) -> Result<Vec<TxRecord>, StoreError> {
        self.call(move |c| {
            let ids: Vec<i64> = c
                .prepare(&format!(
                    "SELECT id FROM tx_sends WHERE chain_id = ?1 AND state IN {OPEN_STATES} ORDER BY id"
                ))?
                .query_map(params![int(chain_id)?], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            ids.into_iter()
                .map(|id| Ok(load_by_id(c, id)?.expect("listed")))
                .collect()
        })
        .await
    }

    /// The newest `limit` sends of every chain, newest first (for the UI and the CLI).
    pub async fn tx_recent(&self, limit: u32) -> Result<Vec<TxRecord>, StoreError> {
        self.call(move |c| {
            let ids: Vec<i64> = c
                .prepare("SELECT id FROM tx_sends ORDER BY id DESC LIMIT ?1")?
                .query_map(params![limit], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            ids.into_iter()
                .map(|id| Ok(load_by_id(c, id)?.expect("listed")))
                .collect()
        })
        .await
    }

    /// The highest nonce an open send of `from` holds.
    pub async fn tx_highest_open_nonce(
        &self,
        chain_id: u64,
        from: Address,
    ) -> Result<Option<u64>, StoreError> {
        self.call(move |c| {
            let n: Option<i64> = c.query_row(
                &format!(
                    "SELECT MAX(nonce) FROM tx_sends \
                     WHERE chain_id = ?1 AND from_addr = ?2 AND state IN {OPEN_STATES}"
                ),
                params![int(chain_id)?, from.to_string()],
                |r| r.get(0),
            )?;
            Ok(n.map(|n| n as u64))
        })
        .await
    }

    /// The node accepted (or already knows) this attempt: signed → pending, for the
    /// attempt and its send. Idempotent; keeps the first `sent_at`.
    pub async fn tx_mark_broadcast(&self, hash: B256, now: i64) -> Result<(), StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let send_id: Option<i64> = tx
                .query_row(
                    "SELECT send_id FROM tx_attempts WHERE hash = ?1",
                    params![hash.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(send_id) = send_id else {
                return Err(StoreError::Invalid(format!("no tx attempt {hash}")));
            };
            tx.execute(
                "UPDATE tx_attempts SET state = 'pending', sent_at = COALESCE(sent_at, ?2) \
                 WHERE hash = ?1 AND state = 'signed'",
                params![hash.to_string(), now],
            )?;
            tx.execute(
                "UPDATE tx_sends SET state = 'pending', updated_at = ?2 \
                 WHERE id = ?1 AND state = 'signed'",
                params![send_id, now],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// The node refused this attempt. With `reject_send` the send becomes `rejected` too
    /// (it holds no nonce any more; [`Store::tx_rearm`] may revive it).
    pub async fn tx_mark_rejected(
        &self,
        hash: B256,
        error: String,
        reject_send: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let send_id: i64 = tx.query_row(
                "SELECT send_id FROM tx_attempts WHERE hash = ?1",
                params![hash.to_string()],
                |r| r.get(0),
            )?;
            tx.execute(
                "UPDATE tx_attempts SET state = 'rejected', error = ?2 WHERE hash = ?1",
                params![hash.to_string(), error],
            )?;
            if reject_send {
                tx.execute(
                    "UPDATE tx_sends SET state = 'rejected', error = ?2, updated_at = ?3 WHERE id = ?1",
                    params![send_id, error, now],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// One attempt has a receipt: it is `mined`, every other live attempt `replaced`, and
    /// the send takes `state` (mined, confirmed or failed) with the receipt's facts.
    pub async fn tx_mark_mined(
        &self,
        send_id: i64,
        info: MinedInfo,
        state: TxState,
        now: i64,
    ) -> Result<(), StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let hash = info.hash.to_string();
            tx.execute(
                "UPDATE tx_attempts SET state = 'mined' WHERE send_id = ?1 AND hash = ?2",
                params![send_id, hash],
            )?;
            tx.execute(
                "UPDATE tx_attempts SET state = 'replaced' \
                 WHERE send_id = ?1 AND hash <> ?2 AND state IN ('signed','pending','mined')",
                params![send_id, hash],
            )?;
            tx.execute(
                "UPDATE tx_sends SET state = ?2, final_hash = ?3, block_number = ?4, \
                 block_hash = ?5, gas_used = ?6, effective_gas_price = ?7, receipt_status = ?8, \
                 updated_at = ?9 WHERE id = ?1",
                params![
                    send_id,
                    state.as_str(),
                    hash,
                    int(info.block_number)?,
                    info.block_hash.to_string(),
                    int(info.gas_used)?,
                    info.effective_gas_price.to_string(),
                    info.status,
                    now
                ],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// A reorg took the mined attempt's block away: back to pending, receipt forgotten.
    pub async fn tx_mark_unmined(&self, send_id: i64, now: i64) -> Result<(), StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE tx_attempts SET state = 'pending' \
                 WHERE send_id = ?1 AND state IN ('mined','replaced')",
                params![send_id],
            )?;
            tx.execute(
                "UPDATE tx_sends SET state = 'pending', final_hash = NULL, block_number = NULL, \
                 block_hash = NULL, gas_used = NULL, effective_gas_price = NULL, \
                 receipt_status = NULL, updated_at = ?2 WHERE id = ?1",
                params![send_id, now],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// The nonce was consumed by a transaction that is none of this send's attempts.
    pub async fn tx_mark_dropped(
        &self,
        send_id: i64,
        note: String,
        now: i64,
    ) -> Result<(), StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE tx_attempts SET state = 'dropped' \
                 WHERE send_id = ?1 AND state IN ('signed','pending')",
                params![send_id],
            )?;
            tx.execute(
                "UPDATE tx_sends SET state = 'dropped', error = ?2, updated_at = ?3 WHERE id = ?1",
                params![send_id, note, now],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }
}

fn journal(c: &mut Connection, new: &NewTx, now: i64) -> Result<JournalOutcome, StoreError> {
    let tx = c.transaction()?;
    if let Some(existing) = load_by_key(&tx, &new.idem_key)? {
        return Ok(JournalOutcome::Existing(existing));
    }
    let inserted = tx.execute(
        "INSERT INTO tx_sends (idem_key, chain_id, from_addr, nonce, to_addr, value_wei, input, \
         gas_limit, state, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'signed', ?9, ?9)",
        params![
            new.idem_key,
            int(new.chain_id)?,
            new.from.to_string(),
            int(new.attempt.nonce)?,
            new.to.to_string(),
            new.value.to_string(),
            new.input.to_string(),
            int(new.gas_limit)?,
            now
        ],
    );
    match inserted {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Ok(JournalOutcome::NonceTaken),
        Err(e) => return Err(e.into()),
    }
    let send_id = tx.last_insert_rowid();
    insert_attempt(&tx, send_id, &new.attempt, now)?;
    let record = load_by_id(&tx, send_id)?.expect("just inserted");
    tx.commit()?;
    Ok(JournalOutcome::Created(record))
}

fn rearm(
    c: &mut Connection,
    send_id: i64,
    gas_limit: u64,
    attempt: &NewAttempt,
    now: i64,
) -> Result<JournalOutcome, StoreError> {
    let tx = c.transaction()?;
    let record = load_by_id(&tx, send_id)?
        .ok_or_else(|| StoreError::Invalid(format!("no tx send {send_id}")))?;
    if record.state != TxState::Rejected {
        // Someone else re-armed it first.
        return Ok(JournalOutcome::Existing(record));
    }
    let updated = tx.execute(
        "UPDATE tx_sends SET nonce = ?2, gas_limit = ?3, state = 'signed', error = NULL, \
         updated_at = ?4 WHERE id = ?1",
        params![send_id, int(attempt.nonce)?, int(gas_limit)?, now],
    );
    match updated {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Ok(JournalOutcome::NonceTaken),
        Err(e) => return Err(e.into()),
    }
    insert_attempt(&tx, send_id, attempt, now)?;
    let record = load_by_id(&tx, send_id)?.expect("just updated");
    tx.commit()?;
    Ok(JournalOutcome::Created(record))
}

fn insert_attempt(
    c: &Connection,
    send_id: i64,
    attempt: &NewAttempt,
    now: i64,
) -> Result<(), StoreError> {
    let next: i64 = c.query_row(
        "SELECT COALESCE(MAX(attempt) + 1, 0) FROM tx_attempts WHERE send_id = ?1",
        params![send_id],
        |r| r.get(0),
    )?;
    c.execute(
        "INSERT INTO tx_attempts (send_id, attempt, nonce, hash, raw_tx, max_fee_per_gas, \
         max_priority_fee_per_gas, state, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'signed', ?8)",
        params![
            send_id,
            next,
            int(attempt.nonce)?,
            attempt.hash.to_string(),
            attempt.raw.to_string(),
            attempt.max_fee_per_gas.to_string(),
            attempt.max_priority_fee_per_gas.to_string(),
            now
        ],
    )?;
    Ok(())
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.code == ErrorCode::ConstraintViolation
            && f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

fn load_by_key(c: &Connection, idem_key: &str) -> Result<Option<TxRecord>, StoreError> {
    let id: Option<i64> = c
        .query_row(
            "SELECT id FROM tx_sends WHERE idem_key = ?1",
            params![idem_key],
            |r| r.get(0),
        )
        .optional()?;
    match id {
        Some(id) => load_by_id(c, id),
        None => Ok(None),
    }
}

fn load_by_id(c: &Connection, id: i64) -> Result<Option<TxRecord>, StoreError> {
    let record = c
        .query_row(
            &format!("SELECT {SEND_COLUMNS} FROM tx_sends WHERE id = ?1"),
            params![id],
            send_from_row,
        )
        .optional()?;
    let Some(mut record) = record else {
        return Ok(None);
    };
    record.attempts = c
        .prepare(&format!(
            "SELECT {ATTEMPT_COLUMNS} FROM tx_attempts WHERE send_id = ?1 ORDER BY attempt"
        ))?
        .query_map(params![id], attempt_from_row)?
        .collect::<Result<_, _>>()?;
    Ok(Some(record))
}

fn send_from_row(r: &Row<'_>) -> rusqlite::Result<TxRecord> {
    Ok(TxRecord {
        id: r.get(0)?,
        idem_key: r.get(1)?,
        chain_id: r.get::<_, i64>(2)? as u64,
        from: parse(r, 3)?,
        nonce: r.get::<_, i64>(4)? as u64,
        to: parse(r, 5)?,
        value: parse::<U256>(r, 6)?,
        input: parse::<Bytes>(r, 7)?,
        gas_limit: r.get::<_, i64>(8)? as u64,
        state: parse::<TxState>(r, 9)?,
        final_hash: parse_opt::<B256>(r, 10)?,
        block_number: r.get::<_, Option<i64>>(11)?.map(|n| n as u64),
        block_hash: parse_opt::<B256>(r, 12)?,
        gas_used: r.get::<_, Option<i64>>(13)?.map(|n| n as u64),
        effective_gas_price: parse_opt::<u128>(r, 14)?,
        receipt_status: r.get(15)?,
        error: r.get(16)?,
        created_at: r.get(17)?,
        updated_at: r.get(18)?,
        attempts: Vec::new(),
    })
}

fn attempt_from_row(r: &Row<'_>) -> rusqlite::Result<TxAttempt> {
    Ok(TxAttempt {
        id: r.get(0)?,
        attempt: r.get(1)?,
        nonce: r.get::<_, i64>(2)? as u64,
        hash: parse(r, 3)?,
        raw: parse(r, 4)?,
        max_fee_per_gas: parse(r, 5)?,
        max_priority_fee_per_gas: parse(r, 6)?,
        state: parse::<AttemptState>(r, 7)?,
        error: r.get(8)?,
        created_at: r.get(9)?,
        sent_at: r.get(10)?,
    })
}

fn parse<T>(r: &Row<'_>, index: usize) -> rusqlite::Result<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let text: String = r.get(index)?;
    text.parse::<T>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            Type::Text,
            format!("{text:?}: {e}").into(),
        )
    })
}

fn parse_opt<T>(r: &Row<'_>, index: usize) -> rusqlite::Result<Option<T>>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match r.get::<_, Option<String>>(index)? {
        None => Ok(None),
        Some(_) => parse(r, index).map(Some),
    }
}

/// SQLite integers are i64; nonces, gas and block numbers never come near the limit.
fn int(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Invalid(format!("{n} does not fit an SQLite integer")))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn attempt(nonce: u64, byte: u8) -> NewAttempt {
        NewAttempt {
            nonce,
            hash: B256::repeat_byte(byte),
            raw: Bytes::from(vec![2, byte]),
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
        }
    }

    fn new_tx(key: &str, nonce: u64, byte: u8) -> NewTx {
        NewTx {
            idem_key: key.into(),
            chain_id: 31_337,
            from: Address::repeat_byte(0xaa),
            to: Address::repeat_byte(0xbb),
            value: U256::from(10).pow(U256::from(30)),
            input: Bytes::from(vec![0xde, 0xad]),
            gas_limit: 21_000,
            attempt: attempt(nonce, byte),
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.sqlite"), Duration::from_secs(5)).unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn journal_round_trips_and_is_idempotent_by_key() {
        let (_dir, store) = store();
        let JournalOutcome::Created(created) = store
            .tx_journal(new_tx("action:1", 0, 1), 10)
            .await
            .unwrap()
        else {
            panic!("created")
        };
        assert_eq!(created.state, TxState::Signed);
        assert_eq!(created.value, U256::from(10).pow(U256::from(30)));
        assert_eq!(created.attempts.len(), 1);
        assert_eq!(created.attempts[0].raw, Bytes::from(vec![2, 1]));
        // Same key, another payload: the first record comes back, nothing is written.
        let again = store
            .tx_journal(new_tx("action:1", 5, 2), 11)
            .await
            .unwrap();
        assert_eq!(again, JournalOutcome::Existing(created.clone()));
        // Another key on a nonce a live send holds is refused.
        assert_eq!(
            store
                .tx_journal(new_tx("action:2", 0, 3), 12)
                .await
                .unwrap(),
            JournalOutcome::NonceTaken
        );
        assert_eq!(
            store
                .tx_highest_open_nonce(31_337, Address::repeat_byte(0xaa))
                .await
                .unwrap(),
            Some(0)
        );
    }

    #[tokio::test]
    async fn a_rejected_send_frees_its_nonce_and_can_be_rearmed() {
        let (_dir, store) = store();
        store.tx_journal(new_tx("k", 3, 1), 1).await.unwrap();
        store
            .tx_mark_rejected(B256::repeat_byte(1), "nonce too low".into(), true, 2)
            .await
            .unwrap();
        let from = Address::repeat_byte(0xaa);
        assert_eq!(
            store.tx_highest_open_nonce(31_337, from).await.unwrap(),
            None
        );
        // Another send may take nonce 3 now.
        assert!(matches!(
            store.tx_journal(new_tx("other", 3, 9), 3).await.unwrap(),
            JournalOutcome::Created(_)
        ));
        let rec = store.tx_by_key("k".into()).await.unwrap().unwrap();
        assert_eq!(
            store
                .tx_rearm(rec.id, 21_000, attempt(3, 2), 4)
                .await
                .unwrap(),
            JournalOutcome::NonceTaken
        );
        let JournalOutcome::Created(rec) = store
            .tx_rearm(rec.id, 21_000, attempt(4, 2), 4)
            .await
            .unwrap()
        else {
            panic!("rearmed")
        };
        assert_eq!((rec.nonce, rec.state), (4, TxState::Signed));
        // Only a rejected send is re-armed.
        assert!(matches!(
            store
                .tx_rearm(rec.id, 21_000, attempt(5, 3), 5)
                .await
                .unwrap(),
            JournalOutcome::Existing(_)
        ));
        assert_eq!(rec.attempts.len(), 2);
        assert_eq!(rec.attempts[0].state, AttemptState::Rejected);
        assert_eq!(rec.live_attempt().unwrap().nonce, 4);
    }

    #[tokio::test]
    async fn mined_replaced_unmined_and_dropped() {
        let (_dir, store) = store();
        let JournalOutcome::Created(rec) = store.tx_journal(new_tx("k", 0, 1), 1).await.unwrap()
        else {
            panic!()
        };
        store
            .tx_mark_broadcast(B256::repeat_byte(1), 5)
            .await
            .unwrap();
        store
            .tx_mark_broadcast(B256::repeat_byte(1), 9)
            .await
            .unwrap();
        let rec2 = store
            .tx_add_attempt(rec.id, attempt(0, 2), 6)
            .await
            .unwrap();
        assert!(
            store
                .tx_add_attempt(rec.id, attempt(1, 3), 6)
                .await
                .is_err()
        );
        assert_eq!(rec2.state, TxState::Pending);
        assert_eq!(rec2.attempts[0].sent_at, Some(5));
        assert_eq!(rec2.attempts[1].attempt, 1);
        let info = MinedInfo {
            hash: B256::repeat_byte(2),
            block_number: 7,
            block_hash: B256::repeat_byte(7),
            gas_used: 21_000,
            effective_gas_price: 1_500_000_000,
            status: true,
        };
        store
            .tx_mark_mined(rec.id, info, TxState::Mined, 8)
            .await
            .unwrap();
        let mined = store.tx_by_key("k".into()).await.unwrap().unwrap();
        assert_eq!(mined.final_hash, Some(B256::repeat_byte(2)));
        assert_eq!(mined.attempts[0].state, AttemptState::Replaced);
        assert_eq!(mined.attempts[1].state, AttemptState::Mined);
        assert_eq!(mined.effective_gas_price, Some(1_500_000_000));
        store.tx_mark_unmined(rec.id, 9).await.unwrap();
        let back = store.tx_by_key("k".into()).await.unwrap().unwrap();
        assert_eq!(back.state, TxState::Pending);
        assert_eq!(back.final_hash, None);
        assert!(
            back.attempts
                .iter()
                .all(|a| a.state == AttemptState::Pending)
        );
        store
            .tx_mark_dropped(rec.id, "nonce used elsewhere".into(), 10)
            .await
            .unwrap();
        let dropped = store.tx_by_key("k".into()).await.unwrap().unwrap();
        assert_eq!(dropped.state, TxState::Dropped);
        assert!(store.tx_open(31_337).await.unwrap().is_empty());
        assert_eq!(store.tx_recent(10).await.unwrap().len(), 1);
    }
}
