//! Contracts deployed on a chain, by name (`token.usdc`, `oracle.price_caster`, ...):
//! what the devnet deployed, so desks and commands find addresses by name.

use alloy::primitives::{Address, B256};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::writer::{StoreError, now_ms};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub chain_id: u64,
    pub name: String,
    pub address: Address,
    /// The artifact in `contracts/out/` it was deployed from.
    pub artifact: String,
    pub tx_hash: B256,
    pub block_number: u64,
    pub deployed_at_ms: i64,
}

impl crate::store::Store {
    /// Records a deployment, replacing an earlier one of the same name on the same chain
    /// (a fresh devnet reuses chain id 31337).
    pub async fn record_deployment(&self, deployment: Deployment) -> Result<(), StoreError> {
        self.call(move |c| record(c, &deployment)).await
    }

    /// Every deployment on `chain_id`, by name.
    pub async fn deployments(&self, chain_id: u64) -> Result<Vec<Deployment>, StoreError> {
        self.call(move |c| list(c, chain_id)).await
    }

    pub async fn deployment(
        &self,
        chain_id: u64,
        name: &str,
    ) -> Result<Option<Deployment>, StoreError> {
        let name = name.to_string();
        self.call(move |c| get(c, chain_id, &name)).await
    }

    /// A contract as the config names it: an address as given (block 0), or the deployment
    /// recorded under that name on `chain_id` with its block. `None` until it is deployed.
    pub async fn resolve_address(
        &self,
        chain_id: u64,
        what: &str,
    ) -> Result<Option<(alloy::primitives::Address, u64)>, StoreError> {
        if let Ok(address) = what.trim().parse::<alloy::primitives::Address>() {
            return Ok(Some((address, 0)));
        }
        Ok(self
            .deployment(chain_id, what.trim())
            .await?
            .map(|d| (d.address, d.block_number)))
    }
}

fn record(c: &Connection, d: &Deployment) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO deployments(chain_id, name, address, artifact, tx_hash, block_number, deployed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(chain_id, name) DO UPDATE SET address = excluded.address,
             artifact = excluded.artifact, tx_hash = excluded.tx_hash,
             block_number = excluded.block_number, deployed_at = excluded.deployed_at",
        params![
            d.chain_id as i64,
            d.name,
            d.address.to_string(),
            d.artifact,
            d.tx_hash.to_string(),
            d.block_number as i64,
            if d.deployed_at_ms == 0 { now_ms() } else { d.deployed_at_ms },
        ],
    )?;
    Ok(())
}

const COLUMNS: &str = "chain_id, name, address, artifact, tx_hash, block_number, deployed_at";

fn list(c: &Connection, chain_id: u64) -> Result<Vec<Deployment>, StoreError> {
    let mut stmt = c.prepare(&format!(
        "SELECT {COLUMNS} FROM deployments WHERE chain_id = ?1 ORDER BY name"
    ))?;
    let rows = stmt.query_map([chain_id as i64], from_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row??);
    }
    Ok(out)
}

fn get(c: &Connection, chain_id: u64, name: &str) -> Result<Option<Deployment>, StoreError> {
    c.query_row(
        &format!("SELECT {COLUMNS} FROM deployments WHERE chain_id = ?1 AND name = ?2"),
        params![chain_id as i64, name],
        from_row,
    )
    .optional()?
    .transpose()
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Result<Deployment, StoreError>> {
    let address: String = row.get(2)?;
    let tx_hash: String = row.get(4)?;
    let parsed = (|| {
        Ok(Deployment {
            chain_id: row.get::<_, i64>(0)? as u64,
            name: row.get(1)?,
            address: address.parse().map_err(|e| {
                StoreError::Invalid(format!("deployments.address {address:?}: {e}"))
            })?,
            artifact: row.get(3)?,
            tx_hash: tx_hash.parse().map_err(|e| {
                StoreError::Invalid(format!("deployments.tx_hash {tx_hash:?}: {e}"))
            })?,
            block_number: row.get::<_, i64>(5)? as u64,
            deployed_at_ms: row.get(6)?,
        })
    })();
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_replaces_and_lists_by_chain() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(
            &dir.path().join("db.sqlite"),
            std::time::Duration::from_secs(1),
        )
        .unwrap();
        let first = Deployment {
            chain_id: 31_337,
            name: "token.usdc".into(),
            address: Address::repeat_byte(1),
            artifact: "TestToken".into(),
            tx_hash: B256::repeat_byte(2),
            block_number: 1,
            deployed_at_ms: 0,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            store.record_deployment(first.clone()).await.unwrap();
            let again = Deployment {
                address: Address::repeat_byte(3),
                block_number: 7,
                ..first.clone()
            };
            store.record_deployment(again).await.unwrap();
            store
                .record_deployment(Deployment {
                    chain_id: 8453,
                    ..first.clone()
                })
                .await
                .unwrap();
            let listed = store.deployments(31_337).await.unwrap();
            assert_eq!(listed.len(), 1);
            assert_eq!(listed[0].address, Address::repeat_byte(3));
            assert_eq!(listed[0].block_number, 7);
            assert!(listed[0].deployed_at_ms > 0);
            assert!(
                store
                    .deployment(8453, "token.usdc")
                    .await
                    .unwrap()
                    .is_some()
            );
            assert!(store.deployment(1, "token.usdc").await.unwrap().is_none());
        });
    }
}
