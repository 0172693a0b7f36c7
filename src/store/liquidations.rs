//! The liquidator desk's own liquidations: one row per freeze round it starts on a
//! position, moved through freezing → frozen → confirming → confirmed (or recovered,
//! expired, failed, lost), with what it cost and earned. Totals per day come from here.

use std::str::FromStr;

use alloy::primitives::{Address, U256};
use rusqlite::{Connection, OptionalExtension, params};

use super::writer::{StoreError, now_ms};

/// Where one liquidation round stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LiquidationState {
    /// The freeze is proposed or on its way.
    Freezing,
    /// Frozen by us: the confirm may be sent from the next block, within the hour.
    Frozen,
    /// The confirm is proposed or on its way.
    Confirming,
    /// Liquidated by our confirm; the reward went to the receiver.
    Confirmed,
    /// Frozen by us, but the position is healthy again: not confirmed (it may go back to
    /// frozen if it falls again within the hour).
    Recovered,
    /// Our hour ran out without a confirm.
    Expired,
    /// A freeze or confirm failed (reverted, refused, rejected).
    Failed,
    /// Someone else froze or liquidated it first.
    Lost,
}

impl LiquidationState {
    pub const ALL: [LiquidationState; 8] = [
        LiquidationState::Freezing,
        LiquidationState::Frozen,
        LiquidationState::Confirming,
        LiquidationState::Confirmed,
        LiquidationState::Recovered,
        LiquidationState::Expired,
        LiquidationState::Failed,
        LiquidationState::Lost,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LiquidationState::Freezing => "freezing",
            LiquidationState::Frozen => "frozen",
            LiquidationState::Confirming => "confirming",
            LiquidationState::Confirmed => "confirmed",
            LiquidationState::Recovered => "recovered",
            LiquidationState::Expired => "expired",
            LiquidationState::Failed => "failed",
            LiquidationState::Lost => "lost",
        }
    }

    /// No further move: the round is history.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            LiquidationState::Confirmed
                | LiquidationState::Expired
                | LiquidationState::Failed
                | LiquidationState::Lost
        )
    }
}

impl FromStr for LiquidationState {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        LiquidationState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| StoreError::Invalid(format!("unknown liquidation state {s:?}")))
    }
}

/// One liquidation round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiquidationRecord {
    pub id: i64,
    pub position_id: u64,
    pub round: u32,
    pub state: LiquidationState,
    /// The operator asked for it (`l`): its confirm is approved on their behalf.
    pub by_operator: bool,
    pub freeze_action: Option<i64>,
    pub confirm_action: Option<i64>,
    /// The module's `frozenTime` of our freeze.
    pub frozen_time: Option<u64>,
    pub reward_asset: Address,
    pub reward_amount: U256,
    pub reward_usd_cents: Option<i64>,
    /// Σ gas used × effective gas price of our mined transactions for it.
    pub gas_wei: U256,
    pub gas_usd_cents: Option<i64>,
    /// Realised: reward minus gas, once confirmed.
    pub profit_usd_cents: Option<i64>,
    pub note: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// Changes to one round; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiquidationUpdate {
    pub state: Option<LiquidationState>,
    pub freeze_action: Option<i64>,
    pub confirm_action: Option<i64>,
    pub frozen_time: Option<u64>,
    pub gas_wei: Option<U256>,
    pub gas_usd_cents: Option<i64>,
    pub profit_usd_cents: Option<i64>,
    pub note: Option<String>,
}

/// Confirmed liquidations and their outcome on one UTC day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayTotals {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub confirmed: u64,
    pub failed: u64,
    pub reward_usd_cents: i64,
    pub gas_usd_cents: i64,
    pub profit_usd_cents: i64,
}

const COLUMNS: &str = "id, position_id, round, state, by_operator, freeze_action, confirm_action, \
     frozen_time, reward_asset, reward_amount, reward_usd_cents, gas_wei, gas_usd_cents, \
     profit_usd_cents, note, created_at, updated_at";

fn row(r: &rusqlite::Row<'_>) -> Result<LiquidationRecord, StoreError> {
    let bad = |what: &str, e: String| StoreError::Invalid(format!("liquidations.{what}: {e}"));
    Ok(LiquidationRecord {
        id: r.get(0)?,
        position_id: r.get::<_, i64>(1)? as u64,
        round: r.get::<_, i64>(2)? as u32,
        state: r.get::<_, String>(3)?.parse()?,
        by_operator: r.get::<_, i64>(4)? != 0,
        freeze_action: r.get(5)?,
        confirm_action: r.get(6)?,
        frozen_time: r.get::<_, Option<i64>>(7)?.map(|v| v as u64),
        reward_asset: Address::from_str(&r.get::<_, String>(8)?)
            .map_err(|e| bad("reward_asset", e.to_string()))?,
        reward_amount: U256::from_str(&r.get::<_, String>(9)?)
            .map_err(|e| bad("reward_amount", e.to_string()))?,
        reward_usd_cents: r.get(10)?,
        gas_wei: U256::from_str(&r.get::<_, String>(11)?)
            .map_err(|e| bad("gas_wei", e.to_string()))?,
        gas_usd_cents: r.get(12)?,
        profit_usd_cents: r.get(13)?,
        note: r.get(14)?,
        created_at_ms: r.get(15)?,
        updated_at_ms: r.get(16)?,
    })
}

fn select(
    c: &Connection,
    filter: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<LiquidationRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM liquidations WHERE {filter}");
    let mut stmt = c.prepare(&sql)?;
    let mut rows = stmt.query(args)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(row(r)?);
    }
    Ok(out)
}

impl crate::store::Store {
    /// Starts the next round on a position (round 1, or one more than the last), in state
    /// `freezing`. Refused while the position has a round that is not final.
    pub async fn start_liquidation(
        &self,
        chain_id: u64,
        module: Address,
        position_id: u64,
        by_operator: bool,
        reward: (Address, U256),
        reward_usd_cents: Option<i64>,
    ) -> Result<LiquidationRecord, StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let (chain, m, pos) = (chain_id as i64, module.to_string(), position_id as i64);
            let open: Option<i64> = tx
                .query_row(
                    "SELECT id FROM liquidations WHERE chain_id = ?1 AND module = ?2
                     AND position_id = ?3 AND state IN ('freezing','frozen','confirming','recovered')",
                    params![chain, m, pos],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = open {
                return Err(StoreError::Invalid(format!(
                    "position {position_id} already has liquidation #{id} in progress"
                )));
            }
            let round: i64 = tx.query_row(
                "SELECT COALESCE(MAX(round), 0) + 1 FROM liquidations
                 WHERE chain_id = ?1 AND module = ?2 AND position_id = ?3",
                params![chain, m, pos],
                |r| r.get(0),
            )?;
            let now = now_ms();
            tx.execute(
                "INSERT INTO liquidations(chain_id, module, position_id, round, state, by_operator,
                     reward_asset, reward_amount, reward_usd_cents, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'freezing', ?5, ?6, ?7, ?8, ?9, ?9)",
                params![
                    chain,
                    m,
                    pos,
                    round,
                    by_operator as i64,
                    reward.0.to_string(),
                    reward.1.to_string(),
                    reward_usd_cents,
                    now
                ],
            )?;
            let id = tx.last_insert_rowid();
            let record = select(&tx, "id = ?1", [id])?.pop().expect("just inserted");
            tx.commit()?;
            Ok(record)
        })
        .await
    }

    /// Applies `update` to round `id` and returns it.
    pub async fn update_liquidation(
        &self,
        id: i64,
        update: LiquidationUpdate,
    ) -> Result<LiquidationRecord, StoreError> {
        self.call(move |c| {
            c.execute(
                "UPDATE liquidations SET
                     state = COALESCE(?2, state),
                     freeze_action = COALESCE(?3, freeze_action),
                     confirm_action = COALESCE(?4, confirm_action),
                     frozen_time = COALESCE(?5, frozen_time),
                     gas_wei = COALESCE(?6, gas_wei),
                     gas_usd_cents = COALESCE(?7, gas_usd_cents),
                     profit_usd_cents = COALESCE(?8, profit_usd_cents),
                     note = COALESCE(?9, note),
                     updated_at = ?10
                 WHERE id = ?1",
                params![
                    id,
                    update.state.map(|s| s.as_str()),
                    update.freeze_action,
                    update.confirm_action,
                    update.frozen_time.map(|v| v as i64),
                    update.gas_wei.map(|v| v.to_string()),
                    update.gas_usd_cents,
                    update.profit_usd_cents,
                    update.note,
                    now_ms()
                ],
            )?;
            select(c, "id = ?1", [id])?
                .pop()
                .ok_or_else(|| StoreError::Invalid(format!("no liquidation #{id}")))
        })
        .await
    }

    /// Rounds that are not final, oldest first.
    pub async fn active_liquidations(
        &self,
        chain_id: u64,
        module: Address,
    ) -> Result<Vec<LiquidationRecord>, StoreError> {
        self.call(move |c| {
            select(
                c,
                "chain_id = ?1 AND module = ?2
                 AND state IN ('freezing','frozen','confirming','recovered') ORDER BY id",
                params![chain_id as i64, module.to_string()],
            )
        })
        .await
    }

    /// Every round, newest first, at most `limit`.
    pub async fn liquidation_history(
        &self,
        chain_id: u64,
        module: Address,
        limit: u32,
    ) -> Result<Vec<LiquidationRecord>, StoreError> {
        self.call(move |c| {
            select(
                c,
                "chain_id = ?1 AND module = ?2 ORDER BY id DESC LIMIT ?3",
                params![chain_id as i64, module.to_string(), limit],
            )
        })
        .await
    }

    /// Confirmed and failed rounds per UTC day (by last update), newest day first.
    pub async fn liquidation_days(
        &self,
        chain_id: u64,
        module: Address,
    ) -> Result<Vec<DayTotals>, StoreError> {
        self.call(move |c| {
            let mut stmt = c.prepare(
                "SELECT date(updated_at / 1000, 'unixepoch') AS day,
                        COUNT(*) FILTER (WHERE state = 'confirmed'),
                        COUNT(*) FILTER (WHERE state = 'failed'),
                        COALESCE(SUM(reward_usd_cents) FILTER (WHERE state = 'confirmed'), 0),
                        COALESCE(SUM(gas_usd_cents), 0),
                        COALESCE(SUM(profit_usd_cents) FILTER (WHERE state = 'confirmed'), 0)
                 FROM liquidations
                 WHERE chain_id = ?1 AND module = ?2 AND state IN ('confirmed', 'failed')
                 GROUP BY day ORDER BY day DESC",
            )?;
            let rows = stmt
                .query_map(params![chain_id as i64, module.to_string()], |r| {
                    Ok(DayTotals {
                        day: r.get(0)?,
                        confirmed: r.get::<_, i64>(1)? as u64,
                        failed: r.get::<_, i64>(2)? as u64,
                        reward_usd_cents: r.get(3)?,
                        gas_usd_cents: r.get(4)?,
                        profit_usd_cents: r.get(5)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// What an action's transaction cost: gas used × effective gas price, once mined.
    pub async fn action_fee_wei(&self, action_id: i64) -> Result<Option<U256>, StoreError> {
        self.call(move |c| {
            let found: Option<(Option<i64>, Option<String>)> = c
                .query_row(
                    "SELECT gas_used, effective_gas_price FROM tx_sends WHERE idem_key = ?1",
                    [format!("action:{action_id}")],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            Ok(match found {
                Some((Some(gas), Some(price))) => U256::from_str(&price)
                    .ok()
                    .map(|p| p.saturating_mul(U256::from(gas as u64))),
                _ => None,
            })
        })
        .await
    }
}
