//! The liquidator desk's index of a Dex223 margin module: orders and positions kept from
//! the module's events (and completed by reads of what no event carries), and each
//! position's decoded event history. The ingest handler writes through the `&Connection`
//! functions inside its cursor transaction; the desk reads and fixes up through `Store`.

use std::str::FromStr;

use alloy::primitives::{Address, B256, U256};
use rusqlite::{Connection, OptionalExtension, params};

use super::writer::StoreError;

/// Where a position stands in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PositionStatus {
    Open,
    Closed,
    Liquidated,
}

impl PositionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PositionStatus::Open => "open",
            PositionStatus::Closed => "closed",
            PositionStatus::Liquidated => "liquidated",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "open" => Ok(PositionStatus::Open),
            "closed" => Ok(PositionStatus::Closed),
            "liquidated" => Ok(PositionStatus::Liquidated),
            other => Err(StoreError::Invalid(format!(
                "unknown position status {other:?}"
            ))),
        }
    }
}

/// A lender's order as the index knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarginOrder {
    pub order_id: u64,
    pub owner: Address,
    pub base_asset: Address,
    pub whitelist: B256,
    /// Basis points per 30 days.
    pub interest_rate: U256,
    pub duration: u64,
    pub min_loan: U256,
    pub leverage: u8,
    pub oracle: Address,
    pub collaterals: Vec<Address>,
    pub alive: bool,
    /// The liquidation reward `(asset, amount)`; `Address::ZERO` is ETH. `None` until read.
    pub reward: Option<(Address, U256)>,
    pub deadline: Option<u64>,
    pub currency_limit: Option<u16>,
    /// Some field is not read from the module yet (or a reorg touched it).
    pub stale: bool,
    pub created_block: u64,
}

/// A borrower's position as the index knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarginPosition {
    pub position_id: u64,
    pub order_id: Option<u64>,
    pub owner: Address,
    pub base_asset: Address,
    pub initial_balance: U256,
    /// Basis points per 30 days, copied from the order at opening.
    pub interest: Option<U256>,
    pub created_at: Option<u64>,
    pub deadline: Option<u64>,
    /// `(asset, balance)` in the module's order; the base asset first.
    pub holdings: Vec<(Address, U256)>,
    pub status: PositionStatus,
    /// The module's `frozenTime` (0: not frozen).
    pub frozen_time: u64,
    pub liquidator: Option<Address>,
    pub stale: bool,
    pub opened_block: u64,
    pub closed_block: Option<u64>,
}

impl MarginPosition {
    /// Every term the valuation needs is known and fresh.
    pub fn is_complete(&self) -> bool {
        !self.stale
            && self.order_id.is_some()
            && self.interest.is_some()
            && self.created_at.is_some()
            && !self.holdings.is_empty()
    }
}

/// One decoded module event, for a position's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarginEvent {
    pub block_number: u64,
    pub log_index: u64,
    pub tx_hash: B256,
    pub position_id: Option<u64>,
    pub order_id: Option<u64>,
    pub name: String,
    pub detail: String,
}

/// What events changed since a point of the event history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    pub positions: std::collections::BTreeSet<u64>,
    pub orders: std::collections::BTreeSet<u64>,
    /// The newest event row seen (the next call's `after`).
    pub through: i64,
}

/// Where an event sits, for [`record_event`] and [`forget_event`].
#[derive(Debug, Clone, Copy)]
pub struct EventAt {
    pub chain_id: u64,
    pub module: Address,
    pub block_number: u64,
    pub block_hash: B256,
    pub log_index: u64,
    pub tx_hash: B256,
}

fn addr(s: &str) -> Result<Address, StoreError> {
    Address::from_str(s).map_err(|e| StoreError::Invalid(format!("bad address {s:?}: {e}")))
}

fn u256(s: &str) -> Result<U256, StoreError> {
    U256::from_str(s).map_err(|e| StoreError::Invalid(format!("bad amount {s:?}: {e}")))
}

fn holdings_json(holdings: &[(Address, U256)]) -> String {
    let rows: Vec<(String, String)> = holdings
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    serde_json::to_string(&rows).expect("strings serialize")
}

fn parse_holdings(json: &str) -> Result<Vec<(Address, U256)>, StoreError> {
    let rows: Vec<(String, String)> = serde_json::from_str(json)
        .map_err(|e| StoreError::Invalid(format!("bad holdings {json:?}: {e}")))?;
    rows.iter().map(|(a, b)| Ok((addr(a)?, u256(b)?))).collect()
}

fn addresses_json(list: &[Address]) -> String {
    serde_json::to_string(&list.iter().map(|a| a.to_string()).collect::<Vec<_>>())
        .expect("strings serialize")
}

fn parse_addresses(json: &str) -> Result<Vec<Address>, StoreError> {
    let rows: Vec<String> = serde_json::from_str(json)
        .map_err(|e| StoreError::Invalid(format!("bad address list {json:?}: {e}")))?;
    rows.iter().map(|a| addr(a)).collect()
}

const ORDER_COLUMNS: &str = "order_id, owner, base_asset, whitelist, interest_rate, duration, \
     min_loan, leverage, oracle, collaterals, alive, reward_amount, reward_asset, deadline, \
     currency_limit, stale, created_block";

fn order_row(r: &rusqlite::Row<'_>) -> Result<MarginOrder, StoreError> {
    let reward_amount: Option<String> = r.get(11)?;
    let reward_asset: Option<String> = r.get(12)?;
    let reward = match (reward_asset, reward_amount) {
        (Some(asset), Some(amount)) => Some((addr(&asset)?, u256(&amount)?)),
        _ => None,
    };
    Ok(MarginOrder {
        order_id: r.get::<_, i64>(0)? as u64,
        owner: addr(&r.get::<_, String>(1)?)?,
        base_asset: addr(&r.get::<_, String>(2)?)?,
        whitelist: B256::from_str(&r.get::<_, String>(3)?)
            .map_err(|e| StoreError::Invalid(format!("bad whitelist id: {e}")))?,
        interest_rate: u256(&r.get::<_, String>(4)?)?,
        duration: r.get::<_, i64>(5)? as u64,
        min_loan: u256(&r.get::<_, String>(6)?)?,
        leverage: r.get::<_, i64>(7)? as u8,
        oracle: addr(&r.get::<_, String>(8)?)?,
        collaterals: parse_addresses(&r.get::<_, String>(9)?)?,
        alive: r.get::<_, i64>(10)? != 0,
        reward,
        deadline: r.get::<_, Option<i64>>(13)?.map(|d| d as u64),
        currency_limit: r.get::<_, Option<i64>>(14)?.map(|d| d as u16),
        stale: r.get::<_, i64>(15)? != 0,
        created_block: r.get::<_, i64>(16)? as u64,
    })
}

const POSITION_COLUMNS: &str = "position_id, order_id, owner, base_asset, initial_balance, \
     interest, created_at, deadline, holdings, status, frozen_time, liquidator, stale, \
     opened_block, closed_block";

fn position_row(r: &rusqlite::Row<'_>) -> Result<MarginPosition, StoreError> {
    Ok(MarginPosition {
        position_id: r.get::<_, i64>(0)? as u64,
        order_id: r.get::<_, Option<i64>>(1)?.map(|v| v as u64),
        owner: addr(&r.get::<_, String>(2)?)?,
        base_asset: addr(&r.get::<_, String>(3)?)?,
        initial_balance: u256(&r.get::<_, String>(4)?)?,
        interest: r
            .get::<_, Option<String>>(5)?
            .map(|s| u256(&s))
            .transpose()?,
        created_at: r.get::<_, Option<i64>>(6)?.map(|v| v as u64),
        deadline: r.get::<_, Option<i64>>(7)?.map(|v| v as u64),
        holdings: parse_holdings(&r.get::<_, String>(8)?)?,
        status: PositionStatus::parse(&r.get::<_, String>(9)?)?,
        frozen_time: r.get::<_, i64>(10)? as u64,
        liquidator: r
            .get::<_, Option<String>>(11)?
            .map(|s| addr(&s))
            .transpose()?,
        stale: r.get::<_, i64>(12)? != 0,
        opened_block: r.get::<_, i64>(13)? as u64,
        closed_block: r.get::<_, Option<i64>>(14)?.map(|v| v as u64),
    })
}

fn collect<T>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    row: fn(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = c.prepare(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(row(r)?);
    }
    Ok(out)
}

// ---- written by the ingest handler, inside its transaction ----

/// `OrderCreated`: a new order (idempotent: a replayed event rewrites the same row).
pub fn upsert_order(
    c: &Connection,
    chain_id: u64,
    module: Address,
    o: &MarginOrder,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO margin_orders(chain_id, module, order_id, owner, base_asset, whitelist,
             interest_rate, duration, min_loan, leverage, oracle, collaterals, alive,
             reward_amount, reward_asset, deadline, currency_limit, stale, created_block)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
         ON CONFLICT(chain_id, module, order_id) DO UPDATE SET
             owner = excluded.owner, base_asset = excluded.base_asset,
             whitelist = excluded.whitelist, interest_rate = excluded.interest_rate,
             duration = excluded.duration, min_loan = excluded.min_loan,
             leverage = excluded.leverage, oracle = excluded.oracle,
             collaterals = excluded.collaterals, alive = excluded.alive,
             reward_amount = excluded.reward_amount, reward_asset = excluded.reward_asset,
             deadline = excluded.deadline, currency_limit = excluded.currency_limit,
             stale = excluded.stale",
        params![
            chain_id as i64,
            module.to_string(),
            o.order_id as i64,
            o.owner.to_string(),
            o.base_asset.to_string(),
            o.whitelist.to_string(),
            o.interest_rate.to_string(),
            o.duration as i64,
            o.min_loan.to_string(),
            o.leverage,
            o.oracle.to_string(),
            addresses_json(&o.collaterals),
            o.alive as i64,
            o.reward.map(|r| r.1.to_string()),
            o.reward.map(|r| r.0.to_string()),
            o.deadline.map(|d| d as i64),
            o.currency_limit.map(i64::from),
            o.stale as i64,
            o.created_block as i64,
        ],
    )?;
    Ok(())
}

pub fn set_order_collaterals(
    c: &Connection,
    chain_id: u64,
    module: Address,
    order_id: u64,
    collaterals: &[Address],
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE margin_orders SET collaterals = ?4
         WHERE chain_id = ?1 AND module = ?2 AND order_id = ?3",
        params![
            chain_id as i64,
            module.to_string(),
            order_id as i64,
            addresses_json(collaterals)
        ],
    )?;
    Ok(())
}

pub fn set_order_alive(
    c: &Connection,
    chain_id: u64,
    module: Address,
    order_id: u64,
    alive: bool,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE margin_orders SET alive = ?4 WHERE chain_id = ?1 AND module = ?2 AND order_id = ?3",
        params![
            chain_id as i64,
            module.to_string(),
            order_id as i64,
            alive as i64
        ],
    )?;
    Ok(())
}

/// The order must be read from the module again (modified, or touched by a reorg).
pub fn mark_order_stale(
    c: &Connection,
    chain_id: u64,
    module: Address,
    order_id: u64,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE margin_orders SET stale = 1 WHERE chain_id = ?1 AND module = ?2 AND order_id = ?3",
        params![chain_id as i64, module.to_string(), order_id as i64],
    )?;
    Ok(())
}

pub fn order(
    c: &Connection,
    chain_id: u64,
    module: Address,
    order_id: u64,
) -> Result<Option<MarginOrder>, StoreError> {
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM margin_orders WHERE chain_id = ?1 AND module = ?2 AND order_id = ?3"
    );
    Ok(collect(
        c,
        &sql,
        params![chain_id as i64, module.to_string(), order_id as i64],
        order_row,
    )?
    .pop())
}

/// Writes the whole position (a new one, or one just read from the module).
pub fn upsert_position(
    c: &Connection,
    chain_id: u64,
    module: Address,
    p: &MarginPosition,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO margin_positions(chain_id, module, position_id, order_id, owner, base_asset,
             initial_balance, interest, created_at, deadline, holdings, status, frozen_time,
             liquidator, stale, opened_block, closed_block)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
         ON CONFLICT(chain_id, module, position_id) DO UPDATE SET
             order_id = excluded.order_id, owner = excluded.owner,
             base_asset = excluded.base_asset, initial_balance = excluded.initial_balance,
             interest = excluded.interest, created_at = excluded.created_at,
             deadline = excluded.deadline, holdings = excluded.holdings,
             status = excluded.status, frozen_time = excluded.frozen_time,
             liquidator = excluded.liquidator, stale = excluded.stale,
             closed_block = excluded.closed_block",
        params![
            chain_id as i64,
            module.to_string(),
            p.position_id as i64,
            p.order_id.map(|v| v as i64),
            p.owner.to_string(),
            p.base_asset.to_string(),
            p.initial_balance.to_string(),
            p.interest.map(|v| v.to_string()),
            p.created_at.map(|v| v as i64),
            p.deadline.map(|v| v as i64),
            holdings_json(&p.holdings),
            p.status.as_str(),
            p.frozen_time as i64,
            p.liquidator.map(|a| a.to_string()),
            p.stale as i64,
            p.opened_block as i64,
            p.closed_block.map(|v| v as i64),
        ],
    )?;
    Ok(())
}

pub fn position(
    c: &Connection,
    chain_id: u64,
    module: Address,
    position_id: u64,
) -> Result<Option<MarginPosition>, StoreError> {
    let sql = format!(
        "SELECT {POSITION_COLUMNS} FROM margin_positions
         WHERE chain_id = ?1 AND module = ?2 AND position_id = ?3"
    );
    Ok(collect(
        c,
        &sql,
        params![chain_id as i64, module.to_string(), position_id as i64],
        position_row,
    )?
    .pop())
}

/// Changes one position through `f` and writes it back; `false` if it is not indexed.
pub fn update_position(
    c: &Connection,
    chain_id: u64,
    module: Address,
    position_id: u64,
    f: impl FnOnce(&mut MarginPosition),
) -> Result<bool, StoreError> {
    let Some(mut p) = position(c, chain_id, module, position_id)? else {
        return Ok(false);
    };
    f(&mut p);
    upsert_position(c, chain_id, module, &p)?;
    Ok(true)
}

/// Appends a decoded event to the history (idempotent by block hash and log index).
pub fn record_event(
    c: &Connection,
    at: &EventAt,
    position_id: Option<u64>,
    order_id: Option<u64>,
    name: &str,
    detail: &str,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT OR IGNORE INTO margin_events(chain_id, module, block_number, block_hash, log_index,
             tx_hash, position_id, order_id, name, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            at.chain_id as i64,
            at.module.to_string(),
            at.block_number as i64,
            at.block_hash.to_string(),
            at.log_index as i64,
            at.tx_hash.to_string(),
            position_id.map(|v| v as i64),
            order_id.map(|v| v as i64),
            name,
            detail,
        ],
    )?;
    Ok(())
}

/// A retracted event leaves the history; the position or order it touched is marked
/// stale so the desk reads it from the module again.
pub fn forget_event(c: &Connection, at: &EventAt) -> Result<(), StoreError> {
    let touched: Option<(Option<i64>, Option<i64>)> = c
        .query_row(
            "DELETE FROM margin_events WHERE chain_id = ?1 AND block_hash = ?2 AND log_index = ?3
             RETURNING position_id, order_id",
            params![
                at.chain_id as i64,
                at.block_hash.to_string(),
                at.log_index as i64
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((position_id, order_id)) = touched else {
        return Ok(());
    };
    let (chain, module) = (at.chain_id as i64, at.module.to_string());
    if let Some(id) = position_id {
        c.execute(
            "UPDATE margin_positions SET stale = 1
             WHERE chain_id = ?1 AND module = ?2 AND position_id = ?3",
            params![chain, module, id],
        )?;
    }
    if let Some(id) = order_id {
        c.execute(
            "UPDATE margin_orders SET stale = 1 WHERE chain_id = ?1 AND module = ?2 AND order_id = ?3",
            params![chain, module, id],
        )?;
    }
    Ok(())
}

// ---- read and fixed up by the desk ----

impl crate::store::Store {
    /// Every order of `module`, by id.
    pub async fn margin_orders(
        &self,
        chain_id: u64,
        module: Address,
    ) -> Result<Vec<MarginOrder>, StoreError> {
        self.call(move |c| {
            let sql = format!(
                "SELECT {ORDER_COLUMNS} FROM margin_orders WHERE chain_id = ?1 AND module = ?2
                 ORDER BY order_id"
            );
            collect(
                c,
                &sql,
                params![chain_id as i64, module.to_string()],
                order_row,
            )
        })
        .await
    }

    /// The positions with `status`, by id.
    pub async fn margin_positions(
        &self,
        chain_id: u64,
        module: Address,
        status: PositionStatus,
    ) -> Result<Vec<MarginPosition>, StoreError> {
        self.call(move |c| {
            let sql = format!(
                "SELECT {POSITION_COLUMNS} FROM margin_positions
                 WHERE chain_id = ?1 AND module = ?2 AND status = ?3 ORDER BY position_id"
            );
            collect(
                c,
                &sql,
                params![chain_id as i64, module.to_string(), status.as_str()],
                position_row,
            )
        })
        .await
    }

    /// The positions and orders events touched since the event row `after` (a rowid, so
    /// events re-applied after a reorg count too), and the newest row seen.
    pub async fn margin_touched_since(
        &self,
        chain_id: u64,
        module: Address,
        after: i64,
    ) -> Result<Touched, StoreError> {
        self.call(move |c| {
            let mut stmt = c.prepare(
                "SELECT rowid, position_id, order_id FROM margin_events
                 WHERE chain_id = ?1 AND module = ?2 AND rowid > ?3",
            )?;
            let mut rows = stmt.query(params![chain_id as i64, module.to_string(), after])?;
            let mut touched = Touched {
                through: after,
                ..Touched::default()
            };
            while let Some(r) = rows.next()? {
                touched.through = touched.through.max(r.get(0)?);
                if let Some(id) = r.get::<_, Option<i64>>(1)? {
                    touched.positions.insert(id as u64);
                }
                if let Some(id) = r.get::<_, Option<i64>>(2)? {
                    touched.orders.insert(id as u64);
                }
            }
            Ok(touched)
        })
        .await
    }

    /// The positions with these ids, whatever their status.
    pub async fn margin_positions_with_ids(
        &self,
        chain_id: u64,
        module: Address,
        ids: Vec<u64>,
    ) -> Result<Vec<MarginPosition>, StoreError> {
        self.call(move |c| {
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.extend(position(c, chain_id, module, id)?);
            }
            Ok(out)
        })
        .await
    }

    /// Ids of the positions that are closed or liquidated: history, never read again.
    pub async fn margin_closed_ids(
        &self,
        chain_id: u64,
        module: Address,
    ) -> Result<std::collections::BTreeSet<u64>, StoreError> {
        self.call(move |c| {
            let mut stmt = c.prepare(
                "SELECT position_id FROM margin_positions
                 WHERE chain_id = ?1 AND module = ?2 AND status != 'open' AND stale = 0",
            )?;
            let rows = stmt
                .query_map(params![chain_id as i64, module.to_string()], |r| {
                    r.get::<_, i64>(0)
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows.into_iter().map(|v| v as u64).collect())
        })
        .await
    }

    /// Orders and positions that must be read from the module.
    pub async fn margin_stale(
        &self,
        chain_id: u64,
        module: Address,
    ) -> Result<(Vec<u64>, Vec<u64>), StoreError> {
        self.call(move |c| {
            let ids = |sql: &str| -> Result<Vec<u64>, StoreError> {
                let mut stmt = c.prepare(sql)?;
                let rows = stmt
                    .query_map(params![chain_id as i64, module.to_string()], |r| {
                        r.get::<_, i64>(0)
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows.into_iter().map(|v| v as u64).collect())
            };
            Ok((
                ids("SELECT order_id FROM margin_orders
                     WHERE chain_id = ?1 AND module = ?2 AND stale = 1 ORDER BY order_id")?,
                ids("SELECT position_id FROM margin_positions
                     WHERE chain_id = ?1 AND module = ?2 AND stale = 1 ORDER BY position_id")?,
            ))
        })
        .await
    }

    pub async fn margin_order(
        &self,
        chain_id: u64,
        module: Address,
        order_id: u64,
    ) -> Result<Option<MarginOrder>, StoreError> {
        self.call(move |c| order(c, chain_id, module, order_id))
            .await
    }

    pub async fn margin_position(
        &self,
        chain_id: u64,
        module: Address,
        position_id: u64,
    ) -> Result<Option<MarginPosition>, StoreError> {
        self.call(move |c| position(c, chain_id, module, position_id))
            .await
    }

    /// A position's event history, oldest first.
    pub async fn margin_events(
        &self,
        chain_id: u64,
        module: Address,
        position_id: u64,
    ) -> Result<Vec<MarginEvent>, StoreError> {
        self.call(move |c| {
            collect(
                c,
                "SELECT block_number, log_index, tx_hash, position_id, order_id, name, detail
                 FROM margin_events WHERE chain_id = ?1 AND module = ?2 AND position_id = ?3
                 ORDER BY block_number, log_index",
                params![chain_id as i64, module.to_string(), position_id as i64],
                |r| {
                    Ok(MarginEvent {
                        block_number: r.get::<_, i64>(0)? as u64,
                        log_index: r.get::<_, i64>(1)? as u64,
                        tx_hash: B256::from_str(&r.get::<_, String>(2)?)
                            .map_err(|e| StoreError::Invalid(format!("bad tx hash: {e}")))?,
                        position_id: r.get::<_, Option<i64>>(3)?.map(|v| v as u64),
                        order_id: r.get::<_, Option<i64>>(4)?.map(|v| v as u64),
                        name: r.get(5)?,
                        detail: r.get(6)?,
                    })
                },
            )
        })
        .await
    }
}
