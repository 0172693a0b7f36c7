//! What the metrics read from the action and tx journals at scrape time.

use alloy::primitives::U256;
use rusqlite::params;

use crate::desks::Desk;
use crate::store::{Store, StoreError};

/// How many journaled actions of one desk and kind are in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionCount {
    pub desk: String,
    pub kind: String,
    pub state: String,
    pub count: u64,
}

/// Fees paid by the transactions of one desk and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeTotal {
    pub desk: String,
    pub kind: String,
    pub wei: U256,
}

pub async fn action_counts(store: &Store) -> Result<Vec<ActionCount>, StoreError> {
    store
        .call(|c| {
            let mut stmt = c.prepare(
                "SELECT desk, kind, state, COUNT(*) FROM actions \
                 GROUP BY desk, kind, state ORDER BY desk, kind, state",
            )?;
            let rows = stmt.query_map(params![], |r| {
                Ok(ActionCount {
                    desk: r.get(0)?,
                    kind: r.get(1)?,
                    state: r.get(2)?,
                    count: r.get::<_, i64>(3)?.max(0) as u64,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
}

/// A final send: its action's desk and kind (if it is an action's), key, gas used and
/// effective gas price (decimal text).
type SendFee = (Option<String>, Option<String>, String, i64, String);

/// Gas used × effective gas price of every send with a final receipt (confirmed, or
/// reverted: a revert pays too), by the desk and kind of its action. Sends that are not an
/// action's (`oracle:alloc:…`) count under the desk and word their key starts with.
pub async fn fee_totals(store: &Store) -> Result<Vec<FeeTotal>, StoreError> {
    let rows: Vec<SendFee> = store
        .call(|c| {
            let mut stmt = c.prepare(
                "SELECT a.desk, a.kind, s.idem_key, s.gas_used, s.effective_gas_price \
                 FROM tx_sends s LEFT JOIN actions a \
                   ON s.idem_key LIKE 'action:%' AND a.id = CAST(substr(s.idem_key, 8) AS INTEGER) \
                 WHERE s.state IN ('confirmed', 'failed') \
                   AND s.gas_used IS NOT NULL AND s.effective_gas_price IS NOT NULL",
            )?;
            let rows = stmt.query_map(params![], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await?;
    let mut totals: Vec<FeeTotal> = Vec::new();
    for (desk, kind, key, gas_used, price) in rows {
        let (desk, kind) = match (desk, kind) {
            (Some(desk), Some(kind)) => (desk, kind),
            _ => key_labels(&key),
        };
        let Ok(price) = price.parse::<U256>() else {
            tracing::warn!(key, "metrics: a tx's effective gas price is not an integer");
            continue;
        };
        let fee = U256::from(gas_used.max(0) as u64).saturating_mul(price);
        match totals.iter_mut().find(|t| t.desk == desk && t.kind == kind) {
            Some(t) => t.wei = t.wei.saturating_add(fee),
            None => totals.push(FeeTotal {
                desk,
                kind,
                wei: fee,
            }),
        }
    }
    totals.sort_by(|a, b| (&a.desk, &a.kind).cmp(&(&b.desk, &b.kind)));
    Ok(totals)
}

/// Desk and kind of a send that is not an action's, from its key (`oracle:alloc:…`),
/// bounded to known desks and plain words so a key never becomes an unbounded label.
fn key_labels(key: &str) -> (String, String) {
    let mut parts = key.split(':');
    let desk = parts.next().unwrap_or_default();
    let kind = parts.next().unwrap_or_default();
    if !Desk::ALL.iter().any(|d| d.as_str() == desk) {
        return ("other".into(), "other".into());
    }
    let plain = !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    (desk.into(), if plain { kind } else { "other" }.into())
}

#[cfg(test)]
mod tests {
    use super::key_labels;

    #[test]
    fn keys_outside_the_action_journal_get_bounded_labels() {
        let pair = |d: &str, k: &str| (d.to_string(), k.to_string());
        assert_eq!(
            key_labels("oracle:alloc:31337:0xabc:3:1"),
            pair("oracle", "alloc")
        );
        assert_eq!(key_labels("oracle:0xabc"), pair("oracle", "other"));
        assert_eq!(key_labels("pay-1"), pair("other", "other"));
        assert_eq!(key_labels("action:abc"), pair("other", "other"));
    }
}
