//! One nonce manager per (chain, account), shared (`Arc`) by every sender of the account.
//! A sender holds the manager's lock from taking a nonce until the node has answered the
//! broadcast, so concurrent sends get distinct consecutive nonces and a refused send
//! leaves no gap: its nonce is handed out again after a resync.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use alloy::primitives::Address;
use alloy::providers::{Provider, RootProvider};
use tokio::sync::{Mutex, MutexGuard};

use super::error::SendError;
use crate::store::Store;

#[derive(Debug)]
pub struct NonceManager {
    chain_id: u64,
    address: Address,
    /// The next nonce to hand out; `None` until synced (and after a failure that leaves
    /// it unknown).
    next: Mutex<Option<u64>>,
    resyncs: AtomicU64,
}

impl NonceManager {
    pub fn new(chain_id: u64, address: Address) -> Arc<NonceManager> {
        Arc::new(NonceManager {
            chain_id,
            address,
            next: Mutex::new(None),
            resyncs: AtomicU64::new(0),
        })
    }

    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    pub fn address(&self) -> Address {
        self.address
    }

    /// Exclusive use of the account's nonces until the guard is dropped.
    pub async fn lock(&self) -> NonceGuard<'_> {
        NonceGuard {
            manager: self,
            next: self.next.lock().await,
        }
    }

    /// The nonce the next send will take, if known (waits for a running send).
    pub async fn peek(&self) -> Option<u64> {
        *self.next.lock().await
    }

    /// How many times the manager re-read the account's nonce (the first sync included).
    pub fn resyncs(&self) -> u64 {
        self.resyncs.load(Ordering::Relaxed)
    }

    /// Re-reads the nonce now (e.g. after sending from the account by other means).
    pub async fn resync(&self, provider: &RootProvider, store: &Store) -> Result<u64, SendError> {
        self.lock().await.resync(provider, store).await
    }
}

/// A held nonce lock.
pub struct NonceGuard<'a> {
    manager: &'a NonceManager,
    next: MutexGuard<'a, Option<u64>>,
}

impl NonceGuard<'_> {
    /// The nonce to use now, syncing first when it is unknown.
    pub async fn current(
        &mut self,
        provider: &RootProvider,
        store: &Store,
    ) -> Result<u64, SendError> {
        match *self.next {
            Some(n) => Ok(n),
            None => self.resync(provider, store).await,
        }
    }

    /// `nonce` is journaled: the next send takes the one after.
    pub fn consume(&mut self, nonce: u64) {
        *self.next = Some(nonce + 1);
    }

    /// Forget the nonce; the next use re-reads it.
    pub fn invalidate(&mut self) {
        *self.next = None;
    }

    /// `max(node's pending nonce, highest open journaled nonce + 1)`: the node knows what
    /// reached it, the journal what we signed (including transactions the tracker has yet
    /// to re-broadcast).
    pub async fn resync(
        &mut self,
        provider: &RootProvider,
        store: &Store,
    ) -> Result<u64, SendError> {
        let m = self.manager;
        *self.next = None;
        let on_node = provider.get_transaction_count(m.address).pending().await?;
        let journaled = store
            .tx_highest_open_nonce(m.chain_id, m.address)
            .await?
            .map_or(0, |n| n + 1);
        let next = on_node.max(journaled);
        m.resyncs.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            account = %m.address,
            on_node,
            journaled,
            next,
            "nonce manager synced"
        );
        *self.next = Some(next);
        Ok(next)
    }
}
