//! The oracle messages a cycle's liquidation scans read: one query per oracle from the
//! earliest point any running contract still needs, instead of one per contract. A matured
//! contract reads the few messages around its maturity itself (`Windows::matured`).

use std::collections::BTreeMap;

use alloy::primitives::Address;

use crate::store::Store;
use crate::store::anyhedge::Position;
use crate::store::anyhedge_oracles::PriceMessageRow;

/// Messages looked at before the window a contract needs (a settlement pair straddles it).
pub const LOOKBACK_SECS: i64 = 600;
/// Messages one read returns at most; a scan further behind catches up over cycles.
const MESSAGES_PER_READ: u32 = 10_000;

/// Per oracle, its messages after the earliest point a running contract needs, in
/// timestamp order.
#[derive(Debug, Default)]
pub struct Windows {
    by_oracle: BTreeMap<String, Vec<PriceMessageRow>>,
}

/// Where a running contract's scan starts: just before what it has scanned already (a late
/// message may still fill a gap), or before its start.
pub fn running_from(p: &Position, scanned: &BTreeMap<Address, i64>) -> i64 {
    scanned
        .get(&p.address)
        .copied()
        .unwrap_or(p.terms.start_timestamp as i64)
        - LOOKBACK_SECS
}

/// Where a matured contract's scan starts: the pair that settles it straddles maturity.
pub fn matured_from(p: &Position) -> i64 {
    p.terms.maturity_timestamp as i64 - LOOKBACK_SECS
}

impl Windows {
    /// Reads each oracle's messages from the earliest `running_from` of its contracts not
    /// yet matured at `now`.
    pub async fn load(
        store: &Store,
        open: &[Position],
        scanned: &BTreeMap<Address, i64>,
        now: i64,
    ) -> anyhow::Result<Windows> {
        let mut earliest: BTreeMap<&str, i64> = BTreeMap::new();
        for p in open
            .iter()
            .filter(|p| now < p.terms.maturity_timestamp as i64)
        {
            let from = running_from(p, scanned);
            earliest
                .entry(p.oracle_pubkey.as_str())
                .and_modify(|e| *e = (*e).min(from))
                .or_insert(from);
        }
        let mut by_oracle = BTreeMap::new();
        for (pubkey, from) in earliest {
            let rows = store
                .anyhedge_price_messages_after(pubkey, from, MESSAGES_PER_READ)
                .await?;
            by_oracle.insert(pubkey.to_string(), rows);
        }
        Ok(Windows { by_oracle })
    }

    /// `pubkey`'s messages timestamped after `from`, as `anyhedge_price_messages_after`
    /// would return them (when the window reaches back that far).
    pub fn after(&self, pubkey: &str, from: i64) -> &[PriceMessageRow] {
        let Some(rows) = self.by_oracle.get(pubkey) else {
            return &[];
        };
        let start = rows.partition_point(|r| i64::from(r.message_timestamp) <= from);
        &rows[start..]
    }

    /// A matured contract's messages, read for it alone.
    pub async fn matured(store: &Store, p: &Position) -> anyhow::Result<Vec<PriceMessageRow>> {
        Ok(store
            .anyhedge_price_messages_after(&p.oracle_pubkey, matured_from(p), MESSAGES_PER_READ)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anyhedge::message::verify::Scheme;

    fn row(timestamp: i32, sequence: i32) -> PriceMessageRow {
        PriceMessageRow {
            id: i64::from(sequence),
            pubkey: "02aa".into(),
            message: String::new(),
            signature: String::new(),
            message_timestamp: timestamp,
            message_sequence: sequence,
            price_sequence: sequence,
            price: 10_000,
            scheme: Scheme::Ecdsa,
            received_at: 0,
        }
    }

    #[test]
    fn after_is_what_a_read_from_that_point_returns() {
        let windows = Windows {
            by_oracle: BTreeMap::from([(
                "02aa".to_string(),
                vec![row(100, 1), row(200, 2), row(200, 3), row(300, 4)],
            )]),
        };
        let sequences = |from| -> Vec<i32> {
            windows
                .after("02aa", from)
                .iter()
                .map(|r| r.message_sequence)
                .collect()
        };
        assert_eq!(sequences(0), [1, 2, 3, 4]);
        assert_eq!(
            sequences(100),
            [2, 3, 4],
            "strictly after, as the store's query"
        );
        assert_eq!(sequences(199), [2, 3, 4]);
        assert_eq!(sequences(200), [4]);
        assert!(sequences(300).is_empty());
        assert!(windows.after("02bb", 0).is_empty(), "another oracle");
    }
}
