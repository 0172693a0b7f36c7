//! An RPC log as a stream's handler sees it, and decoding it with `sol!` event types.

use alloy::primitives::B256;
use alloy::rpc::types::Log;
use alloy::sol_types::SolEvent;

use super::IngestError;
use crate::store::IngestedLog;

impl IngestedLog {
    /// The log's first topic (the event signature hash, for non-anonymous events).
    pub fn topic0(&self) -> Option<B256> {
        self.topics.first().copied()
    }

    /// Whether the log is an `E` event (by its signature hash).
    pub fn is<E: SolEvent>(&self) -> bool {
        self.topic0() == Some(E::SIGNATURE_HASH)
    }

    /// Decodes the log as event `E` (a `sol!` event type), checking its signature.
    pub fn decode<E: SolEvent>(&self) -> Result<E, alloy::sol_types::Error> {
        E::decode_raw_log(self.topics.iter().copied(), &self.data)
    }

    /// A node's log for `stream`, refusing one that lacks its block or position
    /// (pending logs have none).
    pub(crate) fn from_rpc(stream: &str, chain_id: u64, log: Log) -> Result<Self, IngestError> {
        Ok(IngestedLog {
            stream: stream.to_string(),
            chain_id,
            block_number: log
                .block_number
                .ok_or(IngestError::IncompleteLog("a block number"))?,
            block_hash: log
                .block_hash
                .ok_or(IngestError::IncompleteLog("a block hash"))?,
            block_timestamp: log.block_timestamp,
            log_index: log
                .log_index
                .ok_or(IngestError::IncompleteLog("a log index"))?,
            tx_hash: log
                .transaction_hash
                .ok_or(IngestError::IncompleteLog("a transaction hash"))?,
            address: log.inner.address,
            topics: log.inner.data.topics().to_vec(),
            data: log.inner.data.data.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{Address, LogData, U256};
    use alloy::sol;

    sol! {
        #[derive(Debug, PartialEq)]
        event Transfer(address indexed from, address indexed to, uint256 value);
        event Approval(address indexed owner, address indexed spender, uint256 value);
    }

    #[test]
    fn decodes_a_typed_event_and_refuses_another() {
        let event = Transfer {
            from: Address::repeat_byte(1),
            to: Address::repeat_byte(2),
            value: U256::from(42),
        };
        let data: LogData = event.encode_log_data();
        let rpc = Log {
            inner: alloy::primitives::Log {
                address: Address::repeat_byte(9),
                data,
            },
            block_hash: Some(B256::repeat_byte(3)),
            block_number: Some(7),
            block_timestamp: None,
            transaction_hash: Some(B256::repeat_byte(4)),
            transaction_index: Some(0),
            log_index: Some(1),
            removed: false,
        };
        let log = IngestedLog::from_rpc("t.transfers", 31_337, rpc.clone()).unwrap();
        assert!(log.is::<Transfer>());
        assert_eq!(log.decode::<Transfer>().unwrap(), event);
        assert!(log.decode::<Approval>().is_err());

        let pending = Log {
            block_number: None,
            ..rpc
        };
        assert!(matches!(
            IngestedLog::from_rpc("t", 1, pending),
            Err(IngestError::IncompleteLog(_))
        ));
    }
}
