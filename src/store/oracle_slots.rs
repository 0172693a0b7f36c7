//! The oracle desk's slot layout: `(slot, asset_id, decimals, price_id)` per chain, the
//! local mirror that the pre-flight check compares with the PriceCaster contract.

use alloy::primitives::B256;
use rusqlite::{Connection, params};

use super::writer::{StoreError, now_ms};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleSlot {
    pub slot: u8,
    pub asset_id: u64,
    pub decimals: u8,
    pub price_id: B256,
    /// For people: `BTC/USD`.
    pub symbol: String,
}

impl crate::store::Store {
    /// The layout on `chain_id`, by slot.
    pub async fn oracle_slots(&self, chain_id: u64) -> Result<Vec<OracleSlot>, StoreError> {
        self.call(move |c| list(c, chain_id)).await
    }

    /// Appends `slot` to the layout. It must be the next free index, and its asset and feed
    /// must not be registered already; nothing is written otherwise.
    pub async fn register_oracle_slot(
        &self,
        chain_id: u64,
        slot: OracleSlot,
    ) -> Result<(), StoreError> {
        self.call(move |c| register(c, chain_id, &slot)).await
    }

    /// Forgets the whole layout of `chain_id` (after the contract was reset).
    pub async fn reset_oracle_slots(&self, chain_id: u64) -> Result<usize, StoreError> {
        self.call(move |c| {
            Ok(c.execute(
                "DELETE FROM oracle_slots WHERE chain_id = ?1",
                [chain_id as i64],
            )?)
        })
        .await
    }
}

fn list(c: &Connection, chain_id: u64) -> Result<Vec<OracleSlot>, StoreError> {
    let mut stmt = c.prepare(
        "SELECT slot, asset_id, decimals, price_id, symbol FROM oracle_slots
         WHERE chain_id = ?1 ORDER BY slot",
    )?;
    let rows = stmt.query_map([chain_id as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (slot, asset_id, decimals, price_id, symbol) = row?;
        out.push(OracleSlot {
            slot: slot as u8,
            asset_id: asset_id as u64,
            decimals: decimals as u8,
            price_id: price_id.parse().map_err(|e| {
                StoreError::Invalid(format!("oracle_slots.price_id {price_id:?}: {e}"))
            })?,
            symbol,
        });
    }
    Ok(out)
}

fn register(c: &mut Connection, chain_id: u64, slot: &OracleSlot) -> Result<(), StoreError> {
    let tx = c.transaction()?;
    let next: i64 = tx.query_row(
        "SELECT COUNT(*) FROM oracle_slots WHERE chain_id = ?1",
        [chain_id as i64],
        |r| r.get(0),
    )?;
    if i64::from(slot.slot) != next {
        return Err(StoreError::Invalid(format!(
            "slot: the next free slot is {next}, not {}",
            slot.slot
        )));
    }
    let taken: Option<i64> = tx
        .query_row(
            "SELECT slot FROM oracle_slots WHERE chain_id = ?1 AND (asset_id = ?2 OR price_id = ?3)",
            params![
                chain_id as i64,
                slot.asset_id as i64,
                slot.price_id.to_string()
            ],
            |r| r.get(0),
        )
        .ok();
    if let Some(existing) = taken {
        return Err(StoreError::Invalid(format!(
            "asset_id/price_id: asset {} or feed {} is already in slot {existing}",
            slot.asset_id, slot.price_id
        )));
    }
    tx.execute(
        "INSERT INTO oracle_slots(chain_id, slot, asset_id, decimals, price_id, symbol, registered_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            chain_id as i64,
            i64::from(slot.slot),
            slot.asset_id as i64,
            i64::from(slot.decimals),
            slot.price_id.to_string(),
            slot.symbol,
            now_ms()
        ],
    )?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(n: u8, asset: u64, feed: u8) -> OracleSlot {
        OracleSlot {
            slot: n,
            asset_id: asset,
            decimals: 8,
            price_id: B256::repeat_byte(feed),
            symbol: format!("A{asset}/USD"),
        }
    }

    #[test]
    fn slots_are_appended_in_order_and_never_twice() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(
            &dir.path().join("db.sqlite"),
            std::time::Duration::from_secs(1),
        )
        .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            store.register_oracle_slot(1, slot(0, 10, 1)).await.unwrap();
            store.register_oracle_slot(1, slot(1, 11, 2)).await.unwrap();
            let gap = store.register_oracle_slot(1, slot(3, 12, 3)).await;
            assert!(gap.unwrap_err().to_string().contains("next free slot is 2"));
            let dup_asset = store.register_oracle_slot(1, slot(2, 10, 4)).await;
            assert!(
                dup_asset
                    .unwrap_err()
                    .to_string()
                    .contains("already in slot 0")
            );
            let dup_feed = store.register_oracle_slot(1, slot(2, 13, 2)).await;
            assert!(
                dup_feed
                    .unwrap_err()
                    .to_string()
                    .contains("already in slot 1")
            );
            // Another chain has its own layout.
            store.register_oracle_slot(2, slot(0, 10, 1)).await.unwrap();
            let listed = store.oracle_slots(1).await.unwrap();
            assert_eq!(listed, vec![slot(0, 10, 1), slot(1, 11, 2)]);
            assert_eq!(store.reset_oracle_slots(1).await.unwrap(), 2);
            assert!(store.oracle_slots(1).await.unwrap().is_empty());
            assert_eq!(store.oracle_slots(2).await.unwrap().len(), 1);
        });
    }
}
