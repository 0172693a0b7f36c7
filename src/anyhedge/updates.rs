//! Per-wallet updates, as the watchtower's WebSocket sends them: `{resource, action, meta}`
//! to the wallets a change concerns. The API and the desk publish into one [`Updates`] hub;
//! each WebSocket client subscribes and keeps only its own wallet's updates.

use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::anyhedge::chain::Side;
use crate::store::anyhedge::Position;

/// One update for one wallet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WalletUpdate {
    #[serde(skip)]
    pub wallet_hash: String,
    pub resource: String,
    pub action: String,
    pub meta: Value,
}

impl WalletUpdate {
    pub fn new(
        wallet_hash: impl Into<String>,
        resource: impl Into<String>,
        action: impl Into<String>,
        meta: Value,
    ) -> WalletUpdate {
        WalletUpdate {
            wallet_hash: wallet_hash.into(),
            resource: resource.into(),
            action: action.into(),
            meta,
        }
    }

    /// What the client receives: `{"resource", "action", "meta"}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a WalletUpdate serializes")
    }
}

/// How many updates a slow subscriber may fall behind before it misses some.
pub const DEFAULT_CAPACITY: usize = 1024;

/// The hub: cheap to clone, every clone publishes to the same subscribers.
#[derive(Debug, Clone)]
pub struct Updates {
    tx: broadcast::Sender<WalletUpdate>,
}

impl Default for Updates {
    fn default() -> Self {
        Updates::new(DEFAULT_CAPACITY)
    }
}

impl Updates {
    pub fn new(capacity: usize) -> Updates {
        Updates {
            tx: broadcast::channel(capacity.max(1)).0,
        }
    }

    /// Sends `update` to every subscriber; returns how many there are (none is normal: no
    /// client is connected).
    pub fn publish(&self, update: WalletUpdate) -> usize {
        if update.wallet_hash.is_empty() {
            return 0;
        }
        self.tx.send(update).unwrap_or(0)
    }

    /// The same `resource`/`action`/`meta` to each of `wallets` (empty and repeated wallet
    /// hashes skipped).
    pub fn publish_to<I, S>(&self, wallets: I, resource: &str, action: &str, meta: Value)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut seen: Vec<String> = Vec::new();
        for wallet in wallets {
            let wallet = wallet.into();
            if wallet.is_empty() || seen.contains(&wallet) {
                continue;
            }
            self.publish(WalletUpdate::new(
                wallet.clone(),
                resource,
                action,
                meta.clone(),
            ));
            seen.push(wallet);
        }
    }

    /// Tells both parties of a hedge position about a change: `meta` gains the contract's
    /// `address` and, per recipient, the `position` (side) it holds.
    pub fn publish_to_parties(
        &self,
        position: &Position,
        resource: &str,
        action: &str,
        meta: Value,
    ) {
        for side in [Side::Short, Side::Long] {
            let mut meta = meta.clone();
            if let Some(m) = meta.as_object_mut() {
                m.insert("address".into(), json!(position.address.to_string()));
                m.insert("position".into(), json!(side.as_str()));
            }
            self.publish_to(
                [position.wallet_hash(side).to_string()],
                resource,
                action,
                meta,
            );
        }
    }

    /// Every update, for every wallet.
    pub fn subscribe_all(&self) -> broadcast::Receiver<WalletUpdate> {
        self.tx.subscribe()
    }

    /// Only `wallet_hash`'s updates, from now on.
    pub fn subscribe(&self, wallet_hash: impl Into<String>) -> WalletUpdates {
        WalletUpdates {
            wallet_hash: wallet_hash.into(),
            rx: self.tx.subscribe(),
        }
    }
}

/// What a wallet's subscriber receives.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    Update(WalletUpdate),
    /// The subscriber fell behind and `missed` updates (for any wallet) were dropped; the
    /// client should refetch what it shows.
    Lagged {
        missed: u64,
    },
}

/// One wallet's updates.
#[derive(Debug)]
pub struct WalletUpdates {
    wallet_hash: String,
    rx: broadcast::Receiver<WalletUpdate>,
}

impl WalletUpdates {
    pub fn wallet_hash(&self) -> &str {
        &self.wallet_hash
    }

    /// The next update for this wallet; `None` once the hub is gone.
    pub async fn recv(&mut self) -> Option<Received> {
        loop {
            match self.rx.recv().await {
                Ok(update) if update.wallet_hash == self.wallet_hash => {
                    return Some(Received::Update(update));
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    return Some(Received::Lagged { missed });
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_subscriber_gets_only_its_wallet() {
        let hub = Updates::new(16);
        let mut a = hub.subscribe("wallet-a");
        let mut b = hub.subscribe("wallet-b");
        hub.publish(WalletUpdate::new(
            "wallet-b",
            "hedge_position_offer",
            "accepted",
            json!({"id": 1}),
        ));
        hub.publish(WalletUpdate::new(
            "wallet-a",
            "hedge_position",
            "funding_proposal",
            json!({"address": "0x1"}),
        ));
        let Some(Received::Update(got)) = a.recv().await else {
            panic!("no update for a")
        };
        assert_eq!(got.action, "funding_proposal");
        assert_eq!(
            serde_json::from_str::<Value>(&got.to_json()).unwrap(),
            json!({"resource": "hedge_position", "action": "funding_proposal", "meta": {"address": "0x1"}})
        );
        let Some(Received::Update(got)) = b.recv().await else {
            panic!("no update for b")
        };
        assert_eq!(
            (got.resource.as_str(), got.meta),
            ("hedge_position_offer", json!({"id": 1}))
        );
    }

    #[tokio::test]
    async fn publish_to_skips_empty_and_repeated_wallets() {
        let hub = Updates::new(16);
        let mut all = hub.subscribe_all();
        hub.publish_to(["w1", "", "w1", "w2"], "r", "a", json!(null));
        assert_eq!(all.recv().await.unwrap().wallet_hash, "w1");
        assert_eq!(all.recv().await.unwrap().wallet_hash, "w2");
        assert!(all.try_recv().is_err());
        assert_eq!(
            hub.publish(WalletUpdate::new("w3", "r", "a", json!(null))),
            1
        );
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_told_it_missed_updates() {
        let hub = Updates::new(2);
        let mut a = hub.subscribe("w");
        for i in 0..5 {
            hub.publish(WalletUpdate::new("w", "r", "a", json!(i)));
        }
        assert_eq!(a.recv().await, Some(Received::Lagged { missed: 3 }));
        let Some(Received::Update(next)) = a.recv().await else {
            panic!("no update after the lag")
        };
        assert_eq!(next.meta, json!(3));
    }
}
