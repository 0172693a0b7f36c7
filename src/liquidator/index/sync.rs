//! Reads from the module what no event carries: a new position's order, interest and
//! creation time, an order's reward, deadline and currency limit; and, at start-up, a scan
//! of `0..positionIndex` so a position the stream never saw (or saw before a reorg) is
//! known as the module knows it.
//!
//! Reads are made at the last block the event stream has applied (`N`), and a row read at
//! `N` is written only if no event after `N` touched it meanwhile; otherwise it stays
//! stale and is read again at a later block. Events after `N` then apply on top of the
//! state at `N`, so nothing is counted twice or lost.

use alloy::eips::BlockId;
use alloy::primitives::{Address, U256};
use alloy::providers::RootProvider;
use futures::{StreamExt as _, TryStreamExt as _};
use rusqlite::params;

use crate::liquidator::abi::IMarginModule;
use crate::store::margin::{self, MarginOrder, MarginPosition, PositionStatus};
use crate::store::{Store, StoreError};

/// Reads in flight at once.
const CONCURRENCY: usize = 8;

/// The name of the module's event stream (see [`super::margin_stream`]).
pub const STREAM: &str = "liquidator.margin";

/// What one sync pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SyncReport {
    /// The block the reads were made at (`None`: the stream has not scanned anything yet).
    pub at_block: Option<u64>,
    pub orders_read: usize,
    pub positions_read: usize,
    /// Rows an event after the read block touched: left stale for the next pass.
    pub deferred: usize,
    /// `eth_call`s made.
    pub calls: u64,
    /// Ids of the positions written, for the desk's working set.
    pub written_positions: Vec<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("reading the margin module: {0}")]
    Rpc(#[from] alloy::contract::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads one order at `block`.
pub async fn read_order(
    module: &IMarginModule::IMarginModuleInstance<RootProvider>,
    order_id: u64,
    block: u64,
) -> Result<MarginOrder, SyncError> {
    let at = BlockId::number(block);
    let id = U256::from(order_id);
    let o = module.orders(id).block(at).call().await?;
    let collaterals = module.getCollaterals(id).block(at).call().await?;
    let alive = module.order_status(id).block(at).call().await?.alive;
    Ok(MarginOrder {
        order_id,
        owner: o.owner,
        base_asset: o.baseAsset,
        whitelist: o.whitelist,
        interest_rate: o.interestRate,
        duration: u64::try_from(o.duration).unwrap_or(u64::MAX),
        min_loan: o.minLoan,
        leverage: o.leverage,
        oracle: o.oracle,
        collaterals,
        alive,
        reward: Some((
            o.expirationData.liquidationRewardAsset,
            o.expirationData.liquidationRewardAmount,
        )),
        deadline: Some(u64::from(o.expirationData.deadline)),
        currency_limit: Some(o.currencyLimit),
        stale: false,
        created_block: 0,
    })
}

/// Reads one position at `block`. A closed position that was frozen was liquidated
/// (`positionClose` refuses a frozen one).
pub async fn read_position(
    module: &IMarginModule::IMarginModuleInstance<RootProvider>,
    position_id: u64,
    block: u64,
) -> Result<MarginPosition, SyncError> {
    let at = BlockId::number(block);
    let id = U256::from(position_id);
    let p = module.positions(id).block(at).call().await?;
    let assets = module.getPositionAssets(id).block(at).call().await?;
    let balances = module.getPositionBalances(id).block(at).call().await?;
    let frozen_time = u64::try_from(p.frozenTime).unwrap_or(u64::MAX);
    let status = match (p.open, frozen_time) {
        (true, _) => PositionStatus::Open,
        (false, 0) => PositionStatus::Closed,
        (false, _) => PositionStatus::Liquidated,
    };
    Ok(MarginPosition {
        position_id,
        order_id: Some(u64::try_from(p.orderId).unwrap_or(u64::MAX)),
        owner: p.owner,
        base_asset: assets.first().copied().unwrap_or_default(),
        initial_balance: p.initialBalance,
        interest: Some(p.interest),
        created_at: Some(u64::try_from(p.createdAt).unwrap_or(u64::MAX)),
        deadline: Some(u64::try_from(p.deadline).unwrap_or(u64::MAX)),
        holdings: assets.into_iter().zip(balances).collect(),
        status,
        frozen_time,
        liquidator: (p.liquidator != Address::ZERO).then_some(p.liquidator),
        stale: false,
        opened_block: 0,
        closed_block: None,
    })
}

/// The last block the stream has applied, if it has scanned any.
async fn applied_block(store: &Store, chain_id: u64) -> Result<Option<u64>, StoreError> {
    Ok(store
        .ingest_cursor(chain_id, STREAM)
        .await?
        .and_then(|cursor| cursor.applied_through()))
}

/// Reads every stale order and position (see the module docs).
pub async fn sync_stale(
    store: &Store,
    chain_id: u64,
    module: &IMarginModule::IMarginModuleInstance<RootProvider>,
) -> Result<SyncReport, SyncError> {
    let Some(block) = applied_block(store, chain_id).await? else {
        return Ok(SyncReport::default());
    };
    let address = *module.address();
    let (orders, positions) = store.margin_stale(chain_id, address).await?;
    read_and_write(store, chain_id, module, block, orders, positions).await
}

/// The start-up scan: every order and position id below the module's counters that the
/// index lacks or holds as open is read. Closed ones are history and are not read again.
pub async fn startup_scan(
    store: &Store,
    chain_id: u64,
    module: &IMarginModule::IMarginModuleInstance<RootProvider>,
) -> Result<SyncReport, SyncError> {
    let Some(block) = applied_block(store, chain_id).await? else {
        return Ok(SyncReport::default());
    };
    let at = BlockId::number(block);
    let order_count = module.orderIndex().block(at).call().await?;
    let position_count = module.positionIndex().block(at).call().await?;
    let address = *module.address();
    let known_orders: std::collections::BTreeSet<u64> = store
        .margin_orders(chain_id, address)
        .await?
        .into_iter()
        .filter(|o| !o.stale)
        .map(|o| o.order_id)
        .collect();
    let closed = store.margin_closed_ids(chain_id, address).await?;
    let to_u64 = |v: U256| u64::try_from(v).unwrap_or(u64::MAX);
    let orders = (0..to_u64(order_count))
        .filter(|id| !known_orders.contains(id))
        .collect();
    let positions = (0..to_u64(position_count))
        .filter(|id| !closed.contains(id))
        .collect();
    let mut report = read_and_write(store, chain_id, module, block, orders, positions).await?;
    report.calls += 2;
    Ok(report)
}

async fn read_and_write(
    store: &Store,
    chain_id: u64,
    module: &IMarginModule::IMarginModuleInstance<RootProvider>,
    block: u64,
    orders: Vec<u64>,
    positions: Vec<u64>,
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport {
        at_block: Some(block),
        ..SyncReport::default()
    };
    let read_orders: Vec<MarginOrder> = futures::stream::iter(orders)
        .map(|id| read_order(module, id, block))
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    report.calls += 3 * read_orders.len() as u64;
    let read_positions: Vec<MarginPosition> = futures::stream::iter(positions)
        .map(|id| read_position(module, id, block))
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    report.calls += 3 * read_positions.len() as u64;
    let address = *module.address();
    let (orders_read, written_positions, deferred) = store
        .call(move |c| {
            let tx = c.transaction()?;
            let (mut orders_read, mut written, mut deferred) = (0, Vec::new(), 0);
            let touched_since = |column: &str, id: u64| -> Result<bool, StoreError> {
                let sql = format!(
                    "SELECT EXISTS(SELECT 1 FROM margin_events WHERE chain_id = ?1 AND module = ?2
                     AND {column} = ?3 AND block_number > ?4)"
                );
                Ok(tx.query_row(
                    &sql,
                    params![
                        chain_id as i64,
                        address.to_string(),
                        id as i64,
                        block as i64
                    ],
                    |r| r.get::<_, bool>(0),
                )?)
            };
            for mut order in read_orders {
                if touched_since("order_id", order.order_id)? {
                    deferred += 1;
                    continue;
                }
                if let Some(known) = margin::order(&tx, chain_id, address, order.order_id)? {
                    order.created_block = known.created_block;
                }
                margin::upsert_order(&tx, chain_id, address, &order)?;
                orders_read += 1;
            }
            for mut position in read_positions {
                if touched_since("position_id", position.position_id)? {
                    deferred += 1;
                    continue;
                }
                if let Some(known) = margin::position(&tx, chain_id, address, position.position_id)?
                {
                    position.opened_block = known.opened_block;
                    position.closed_block = known.closed_block;
                }
                if position.status != PositionStatus::Open && position.closed_block.is_none() {
                    position.closed_block = Some(block);
                }
                margin::upsert_position(&tx, chain_id, address, &position)?;
                written.push(position.position_id);
            }
            tx.commit()?;
            Ok((orders_read, written, deferred))
        })
        .await?;
    report.orders_read = orders_read;
    report.positions_read = written_positions.len();
    report.written_positions = written_positions;
    report.deferred = deferred;
    Ok(report)
}
