//! The oracle desk's cycle log and what it adds up to: cycles, publications, refusals,
//! cycle time, and the publishing transactions' outcomes and fees (from the tx journal).

use rusqlite::{Connection, params};

use super::writer::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleOutcome {
    Proposed,
    NothingDue,
    Refused,
}

impl CycleOutcome {
    fn as_str(self) -> &'static str {
        match self {
            CycleOutcome::Proposed => "proposed",
            CycleOutcome::NothingDue => "nothing_due",
            CycleOutcome::Refused => "refused",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleRecord {
    pub chain_id: u64,
    pub at_ms: i64,
    pub duration_us: u64,
    pub verified: u32,
    pub due: u32,
    pub outcome: CycleOutcome,
    pub action_id: Option<i64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CycleStats {
    pub cycles: u64,
    pub proposed: u64,
    pub refused: u64,
    pub mean_duration_us: u64,
    pub max_duration_us: u64,
    pub tx_confirmed: u64,
    pub tx_failed: u64,
    /// Σ gas used × effective gas price of the publishing transactions that were mined.
    pub fees_wei: u128,
}

impl crate::store::Store {
    pub async fn record_oracle_cycle(&self, record: CycleRecord) -> Result<(), StoreError> {
        self.call(move |c| insert(c, &record)).await
    }

    pub async fn oracle_cycle_stats(&self, chain_id: u64) -> Result<CycleStats, StoreError> {
        self.call(move |c| stats(c, chain_id)).await
    }
}

fn insert(c: &Connection, r: &CycleRecord) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO oracle_cycles(chain_id, at_ms, duration_us, verified, due, outcome, action_id, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            r.chain_id as i64,
            r.at_ms,
            r.duration_us as i64,
            r.verified,
            r.due,
            r.outcome.as_str(),
            r.action_id,
            r.error
        ],
    )?;
    Ok(())
}

fn stats(c: &Connection, chain_id: u64) -> Result<CycleStats, StoreError> {
    let mut s = c.query_row(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE outcome = 'proposed'),
                COUNT(*) FILTER (WHERE outcome = 'refused'),
                COALESCE(SUM(duration_us) / COUNT(*), 0), COALESCE(MAX(duration_us), 0)
         FROM oracle_cycles WHERE chain_id = ?1",
        [chain_id as i64],
        |r| {
            Ok(CycleStats {
                cycles: r.get::<_, i64>(0)? as u64,
                proposed: r.get::<_, i64>(1)? as u64,
                refused: r.get::<_, i64>(2)? as u64,
                mean_duration_us: r.get::<_, i64>(3)? as u64,
                max_duration_us: r.get::<_, i64>(4)? as u64,
                ..CycleStats::default()
            })
        },
    )?;
    // The publishing transactions: each proposed action's journal entry `action:<id>`.
    let mut stmt = c.prepare(
        "SELECT t.state, t.gas_used, t.effective_gas_price
         FROM tx_sends t JOIN actions a ON t.idem_key = 'action:' || a.id
         WHERE a.kind = 'publish_prices' AND t.chain_id = ?1",
    )?;
    let rows = stmt.query_map([chain_id as i64], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<i64>>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    for row in rows {
        let (state, gas_used, price) = row?;
        match state.as_str() {
            "confirmed" => s.tx_confirmed += 1,
            "failed" | "dropped" | "rejected" => s.tx_failed += 1,
            _ => {}
        }
        if let (Some(gas), Some(price)) = (gas_used, price) {
            let price: u128 = price.parse().map_err(|_| {
                StoreError::Invalid(format!("tx_sends.effective_gas_price {price:?}"))
            })?;
            s.fees_wei += gas as u128 * price;
        }
    }
    Ok(s)
}
