//! `eth_sendRawTransaction` and what its answer means for the journal.

use alloy::providers::{Provider, RootProvider};
use alloy::rpc::json_rpc::RpcError;

/// The node's answer to a broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broadcast {
    /// In the node's pool (or it already was).
    Accepted,
    /// The node answered with an error: it does not hold this transaction.
    Rejected(String),
    /// No usable answer (timeout, connection lost): the node may or may not hold it. The
    /// journal keeps it `signed` and the tracker re-broadcasts the same bytes.
    Uncertain(String),
}

pub async fn broadcast(provider: &RootProvider, raw: &[u8]) -> Broadcast {
    match provider.send_raw_transaction(raw).await {
        Ok(_) => Broadcast::Accepted,
        Err(RpcError::ErrorResp(payload)) if is_already_known(&payload.message) => {
            Broadcast::Accepted
        }
        Err(RpcError::ErrorResp(payload)) => Broadcast::Rejected(payload.message.to_string()),
        Err(e) => Broadcast::Uncertain(e.to_string()),
    }
}

fn is_already_known(message: &str) -> bool {
    let m = message.to_lowercase();
    m.contains("already known")
        || m.contains("known transaction")
        || m.contains("already imported")
        || m.contains("already exists")
}

/// A refusal that a fresh nonce can cure: our nonce was stale.
pub fn is_nonce_error(message: &str) -> bool {
    let m = message.to_lowercase();
    m.contains("nonce too low")
        || m.contains("nonce too high")
        || m.contains("invalid nonce")
        || m.contains("nonce has already been used")
        // Another transaction of the account holds this nonce in the pool.
        || m.contains("replacement transaction underpriced")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_node_messages() {
        assert!(is_already_known("already known"));
        assert!(is_already_known("Known transaction: 0xab"));
        assert!(is_nonce_error("nonce too low"));
        assert!(is_nonce_error("replacement transaction underpriced"));
        assert!(!is_nonce_error(
            "Insufficient funds for gas * price + value"
        ));
    }
}
