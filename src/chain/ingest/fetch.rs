//! How many blocks one `eth_getLogs` asks for: the configured chunk, halved when a node
//! refuses a range as too wide or too full, grown back slowly after successes.

use std::sync::atomic::{AtomicU64, Ordering};

use alloy::transports::TransportError;

/// Successes in a row before a halved chunk is allowed to double again.
const GROW_AFTER: u64 = 8;

/// The current chunk size of one stream (shared by its scans).
#[derive(Debug)]
pub(crate) struct ChunkSize {
    max: u64,
    current: AtomicU64,
    streak: AtomicU64,
}

impl ChunkSize {
    pub(crate) fn new(max: u64) -> Self {
        let max = max.max(1);
        Self {
            max,
            current: AtomicU64::new(max),
            streak: AtomicU64::new(0),
        }
    }

    pub(crate) fn get(&self) -> u64 {
        self.current.load(Ordering::Relaxed)
    }

    /// The last block of the chunk starting at `from`, at most `limit`.
    pub(crate) fn end(&self, from: u64, limit: u64) -> u64 {
        from.saturating_add(self.get() - 1).min(limit)
    }

    /// A range of `span` blocks was refused: the next try asks for half. `false` when a
    /// single block was refused, which halving cannot fix.
    pub(crate) fn halve(&self, span: u64) -> bool {
        self.streak.store(0, Ordering::Relaxed);
        if span <= 1 {
            return false;
        }
        let half = (span / 2).max(1);
        self.current.fetch_min(half, Ordering::Relaxed);
        true
    }

    pub(crate) fn succeeded(&self) {
        let current = self.get();
        if current >= self.max {
            return;
        }
        if self.streak.fetch_add(1, Ordering::Relaxed) + 1 >= GROW_AFTER {
            self.streak.store(0, Ordering::Relaxed);
            self.current
                .store(current.saturating_mul(2).min(self.max), Ordering::Relaxed);
        }
    }
}

/// Whether a node refused an `eth_getLogs` because of its range or result size (so a
/// narrower range may succeed), as opposed to any other failure.
pub(crate) fn is_range_error(error: &TransportError) -> bool {
    let Some(payload) = error.as_error_resp() else {
        return false;
    };
    // -32005: "limit exceeded" (Infura, Alchemy, geth's --rpc.logs... limits).
    if payload.code == -32005 {
        return true;
    }
    let message = payload.message.to_ascii_lowercase();
    [
        "too many",
        "block range",
        "range too",
        "range is too",
        "exceed",
        "more than",
        "too large",
        "limit",
        "response size",
        "query timeout",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::rpc::json_rpc::ErrorPayload;

    fn resp(code: i64, message: &'static str) -> TransportError {
        TransportError::ErrorResp(ErrorPayload {
            code,
            message: message.into(),
            data: None,
        })
    }

    #[test]
    fn range_and_size_refusals_are_recognised() {
        assert!(is_range_error(&resp(
            -32005,
            "query returned more than 10000 results"
        )));
        assert!(is_range_error(&resp(
            -32602,
            "eth_getLogs block range too large"
        )));
        assert!(is_range_error(&resp(-32000, "Log response size exceeded.")));
        assert!(is_range_error(&resp(
            -32600,
            "exceed maximum block range: 5000"
        )));
        assert!(!is_range_error(&resp(-32000, "header not found")));
        assert!(!is_range_error(&resp(-32601, "method not found")));
    }

    #[test]
    fn the_chunk_halves_on_refusal_and_grows_back() {
        let chunk = ChunkSize::new(1_000);
        assert_eq!(chunk.end(10, 100_000), 1_009);
        assert_eq!(chunk.end(10, 500), 500);
        assert!(chunk.halve(1_000));
        assert_eq!(chunk.get(), 500);
        assert!(chunk.halve(500));
        assert!(chunk.halve(250));
        assert_eq!(chunk.get(), 125);
        for _ in 0..GROW_AFTER {
            chunk.succeeded();
        }
        assert_eq!(chunk.get(), 250);
        for _ in 0..10 * GROW_AFTER {
            chunk.succeeded();
        }
        assert_eq!(chunk.get(), 1_000, "never above the configured size");
        assert!(!chunk.halve(1), "one block cannot be split");
    }
}
