//! The store handle and the thread that owns the SQLite connection.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::migrations;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("the store thread has stopped")]
    Closed,
}

/// A cheap, cloneable handle to the store thread.
#[derive(Clone)]
pub struct Store {
    jobs: mpsc::Sender<Job>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed) the database file, applies pending migrations and
    /// starts the thread that owns the connection.
    pub fn open(path: &Path, busy_timeout: Duration) -> Result<Store, StoreError> {
        let open_err = |reason: String| StoreError::Open {
            path: path.to_path_buf(),
            reason,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| open_err(e.to_string()))?;
        }
        let mut conn = Connection::open(path).map_err(|e| open_err(e.to_string()))?;
        configure(&mut conn, busy_timeout).map_err(|e| open_err(e.to_string()))?;
        migrations::migrate(&mut conn).map_err(open_err)?;

        let (tx, rx) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("hedgedesk-store".into())
            .spawn(move || {
                // Jobs run in order until every handle is dropped.
                for job in rx {
                    job(&mut conn);
                }
            })
            .map_err(|e| open_err(e.to_string()))?;
        Ok(Store {
            jobs: tx,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the store thread and awaits its result.
    pub async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
    {
        self.submit(f)?.await.map_err(|_| StoreError::Closed)?
    }

    /// Same as [`Store::call`] for synchronous callers (CLI commands). Must not be
    /// called from inside an async task.
    pub fn call_blocking<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
    {
        self.submit(f)?
            .blocking_recv()
            .map_err(|_| StoreError::Closed)?
    }

    fn submit<R, F>(&self, f: F) -> Result<oneshot::Receiver<Result<R, StoreError>>, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move |conn| {
                let _ = tx.send(f(conn));
            }))
            .map_err(|_| StoreError::Closed)?;
        Ok(rx)
    }
}

fn configure(conn: &mut Connection, busy_timeout: Duration) -> rusqlite::Result<()> {
    conn.busy_timeout(busy_timeout)?;
    // WAL lets readers in other processes (the CLI) work while the console writes;
    // NORMAL sync in WAL mode loses nothing on a process crash, only on power loss.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Every flow reads then writes in one transaction, and another process (a CLI command
    // beside the console) may write in between: a deferred transaction would then fail at
    // its first write (SQLITE_BUSY_SNAPSHOT, which the busy timeout does not wait out).
    // Taking the write lock at BEGIN makes it wait its turn instead.
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    Ok(())
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_with_wal_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.sqlite"), Duration::from_secs(5)).unwrap();
        let (mode, fk): (String, i64) = store
            .call_blocking(|c| {
                let mode = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
                let fk = c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
                Ok((mode, fk))
            })
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(fk, 1);
    }

    #[test]
    fn a_flow_waits_for_another_process_writing_instead_of_failing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        let store = Store::open(&path, Duration::from_secs(5)).unwrap();
        store
            .call_blocking(|c| Ok(c.execute("CREATE TABLE t (n INTEGER)", [])?))
            .unwrap();
        // Another process holds the write lock...
        let other = Connection::open(&path).unwrap();
        other
            .execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (0);")
            .unwrap();
        // ...while a read-then-write flow starts here...
        let flow = {
            let store = store.clone();
            thread::spawn(move || {
                store.call_blocking(|c| {
                    let tx = c.transaction()?;
                    let n: i64 = tx.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
                    tx.execute("INSERT INTO t VALUES (?1)", [n])?;
                    tx.commit()?;
                    Ok(n)
                })
            })
        };
        thread::sleep(Duration::from_millis(300));
        other.execute_batch("COMMIT").unwrap();
        // ...and runs after it, seeing its row, instead of failing on a stale snapshot.
        assert_eq!(flow.join().unwrap().unwrap(), 1);
    }

    #[test]
    fn store_work_runs_off_the_calling_thread() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.sqlite"), Duration::from_secs(5)).unwrap();
        let caller = thread::current().id();
        let worker = store.call_blocking(|_| Ok(thread::current().id())).unwrap();
        assert_ne!(caller, worker);
    }
}
