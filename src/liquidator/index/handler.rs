//! Applies the margin module's events to the index, inside the ingest transaction.
//!
//! What the events tell: orders (terms, collaterals, alive), positions opening, every
//! change of their holdings, freezes, liquidations and closes. What they do not: a
//! position's order, interest and creation time, an order's reward and deadline. Rows
//! created from events are `stale` until [`super::sync`] reads those from the module.

use alloy::primitives::{Address, U256};
use alloy::sol_types::SolEvent;

use crate::chain::ingest::{LogHandler, StreamSpec};
use crate::liquidator::abi::IMarginModule::{
    AssetRemoved, Liquidation, MarginSwap, NewAsset, OrderAliveStatus, OrderCollateralsSet,
    OrderCreated, PositionClosed, PositionDeposit, PositionFrozen, PositionOpened,
    PositionWithdrawal,
};
use crate::liquidator::abi::IMarginOrderAdmin::OrderModified;
use crate::store::margin::{self, EventAt, MarginOrder, MarginPosition, PositionStatus};
use crate::store::{IngestedLog, StoreError};

use super::holdings;

/// The stream of every event the index applies, from `start_block`.
pub fn margin_stream(chain_id: u64, module: Address, start_block: u64) -> StreamSpec {
    StreamSpec::new("liquidator.margin", chain_id, vec![module])
        .with_event::<OrderCreated>()
        .with_event::<OrderModified>()
        .with_event::<OrderCollateralsSet>()
        .with_event::<OrderAliveStatus>()
        .with_event::<PositionOpened>()
        .with_event::<NewAsset>()
        .with_event::<AssetRemoved>()
        .with_event::<PositionDeposit>()
        .with_event::<MarginSwap>()
        .with_event::<PositionWithdrawal>()
        .with_event::<PositionFrozen>()
        .with_event::<Liquidation>()
        .with_event::<PositionClosed>()
        .starting_at(start_block)
}

/// The ingest handler of one module.
pub struct MarginHandler {
    pub module: Address,
}

fn id(v: U256) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Invalid(format!("id {v} does not fit in 64 bits")))
}

fn bad(log: &IngestedLog, e: alloy::sol_types::Error) -> StoreError {
    StoreError::Invalid(format!(
        "undecodable margin event in block {} (log {}): {e}",
        log.block_number, log.log_index
    ))
}

impl MarginHandler {
    fn at(&self, log: &IngestedLog) -> EventAt {
        EventAt {
            chain_id: log.chain_id,
            module: self.module,
            block_number: log.block_number,
            block_hash: log.block_hash,
            log_index: log.log_index,
            tx_hash: log.tx_hash,
        }
    }

    fn update(
        &self,
        c: &rusqlite::Connection,
        log: &IngestedLog,
        position_id: u64,
        f: impl FnOnce(&mut MarginPosition),
    ) -> Result<(), StoreError> {
        margin::update_position(c, log.chain_id, self.module, position_id, f).map(|_| ())
    }
}

impl LogHandler for MarginHandler {
    fn apply(&self, c: &rusqlite::Transaction<'_>, log: &IngestedLog) -> Result<(), StoreError> {
        let chain = log.chain_id;
        let at = self.at(log);
        let Some(topic0) = log.topic0() else {
            return Ok(());
        };
        // (position, order, name, detail) for the history.
        let (position_id, order_id, name, detail): (Option<u64>, Option<u64>, &str, String) =
            match topic0 {
                OrderCreated::SIGNATURE_HASH => {
                    let e = log.decode::<OrderCreated>().map_err(|e| bad(log, e))?;
                    let order_id = id(e.orderId)?;
                    let existing = margin::order(c, chain, self.module, order_id)?;
                    let order = MarginOrder {
                        order_id,
                        owner: e.owner,
                        base_asset: e.baseAsset,
                        whitelist: e.whitelistId,
                        interest_rate: e.interestRate,
                        duration: u64::try_from(e.duration).unwrap_or(u64::MAX),
                        min_loan: e.minLoan,
                        leverage: e.leverage,
                        oracle: e.oracle,
                        collaterals: existing.map(|o| o.collaterals).unwrap_or_default(),
                        alive: true,
                        reward: None,
                        deadline: None,
                        currency_limit: None,
                        stale: true,
                        created_block: log.block_number,
                    };
                    margin::upsert_order(c, chain, self.module, &order)?;
                    let detail = format!(
                        "owner {} base {} interest {} bps/30d leverage {} oracle {}",
                        e.owner, e.baseAsset, e.interestRate, e.leverage, e.oracle
                    );
                    (None, Some(order_id), "OrderCreated", detail)
                }
                OrderModified::SIGNATURE_HASH => {
                    let e = log.decode::<OrderModified>().map_err(|e| bad(log, e))?;
                    let order_id = id(e.orderId)?;
                    margin::mark_order_stale(c, chain, self.module, order_id)?;
                    let detail = format!("interest {} bps/30d", e.interestRate);
                    (None, Some(order_id), "OrderModified", detail)
                }
                OrderCollateralsSet::SIGNATURE_HASH => {
                    let e = log
                        .decode::<OrderCollateralsSet>()
                        .map_err(|e| bad(log, e))?;
                    let order_id = id(e.orderId)?;
                    margin::set_order_collaterals(c, chain, self.module, order_id, &e.collaterals)?;
                    let detail = format!("{} collateral assets", e.collaterals.len());
                    (None, Some(order_id), "OrderCollateralsSet", detail)
                }
                OrderAliveStatus::SIGNATURE_HASH => {
                    let e = log.decode::<OrderAliveStatus>().map_err(|e| bad(log, e))?;
                    let order_id = id(e.orderId)?;
                    margin::set_order_alive(c, chain, self.module, order_id, e.alive)?;
                    (
                        None,
                        Some(order_id),
                        "OrderAliveStatus",
                        format!("alive {}", e.alive),
                    )
                }
                PositionOpened::SIGNATURE_HASH => {
                    let e = log.decode::<PositionOpened>().map_err(|e| bad(log, e))?;
                    let position_id = id(e.positionId)?;
                    let mut holdings = vec![(e.baseAsset, e.loanAmount)];
                    holdings::add(&mut holdings, e.collateral, e.collateral_amount);
                    let position = MarginPosition {
                        position_id,
                        order_id: None,
                        owner: e.owner,
                        base_asset: e.baseAsset,
                        initial_balance: e.loanAmount,
                        interest: None,
                        created_at: log.block_timestamp,
                        deadline: None,
                        holdings,
                        status: PositionStatus::Open,
                        frozen_time: 0,
                        liquidator: None,
                        stale: true,
                        opened_block: log.block_number,
                        closed_block: None,
                    };
                    margin::upsert_position(c, chain, self.module, &position)?;
                    let detail = format!(
                        "owner {} loan {} collateral {} of {}",
                        e.owner, e.loanAmount, e.collateral_amount, e.collateral
                    );
                    (Some(position_id), None, "PositionOpened", detail)
                }
                NewAsset::SIGNATURE_HASH => {
                    let e = log.decode::<NewAsset>().map_err(|e| bad(log, e))?;
                    let position_id = id(e.positionId)?;
                    self.update(c, log, position_id, |p| {
                        holdings::ensure(&mut p.holdings, e.asset)
                    })?;
                    (Some(position_id), None, "NewAsset", format!("{}", e.asset))
                }
                AssetRemoved::SIGNATURE_HASH => {
                    // The balance that reached zero comes with the MarginSwap or
                    // PositionWithdrawal after it; that amount removes the entry.
                    let e = log.decode::<AssetRemoved>().map_err(|e| bad(log, e))?;
                    let position_id = id(e.positionId)?;
                    (
                        Some(position_id),
                        None,
                        "AssetRemoved",
                        format!("{}", e.asset),
                    )
                }
                PositionDeposit::SIGNATURE_HASH => {
                    let e = log.decode::<PositionDeposit>().map_err(|e| bad(log, e))?;
                    let position_id = id(e.positionId)?;
                    self.update(c, log, position_id, |p| {
                        holdings::add(&mut p.holdings, e.asset, e.amount)
                    })?;
                    let detail = format!("{} of {}", e.amount, e.asset);
                    (Some(position_id), None, "PositionDeposit", detail)
                }
                MarginSwap::SIGNATURE_HASH => {
                    let e = log.decode::<MarginSwap>().map_err(|e| bad(log, e))?;
                    let position_id = id(e.positionId)?;
                    self.update(c, log, position_id, |p| {
                        holdings::add(&mut p.holdings, e.assetOut, e.amountOut);
                        holdings::reduce(&mut p.holdings, e.assetIn, e.amountIn);
                    })?;
                    let detail = format!(
                        "{} of {} for {} of {}",
                        e.amountIn, e.assetIn, e.amountOut, e.assetOut
                    );
                    (Some(position_id), None, "MarginSwap", detail)
                }
                PositionWithdrawal::SIGNATURE_HASH => {
                    let e = log
                        .decode::<PositionWithdrawal>()
                        .map_err(|e| bad(log, e))?;
                    let position_id = id(e.positionId)?;
                    self.update(c, log, position_id, |p| {
                        holdings::reduce(&mut p.holdings, e.asset, e.quantity)
                    })?;
                    let detail = format!("{} of {}", e.quantity, e.asset);
                    (Some(position_id), None, "PositionWithdrawal", detail)
                }
                PositionFrozen::SIGNATURE_HASH => {
                    let e = log.decode::<PositionFrozen>().map_err(|e| bad(log, e))?;
                    let position_id = id(e.positionId)?;
                    let frozen = u64::try_from(e.timestamp).unwrap_or(u64::MAX);
                    self.update(c, log, position_id, |p| {
                        p.frozen_time = frozen;
                        p.liquidator = Some(e.liquidator);
                    })?;
                    let detail = format!("by {} at {}", e.liquidator, e.timestamp);
                    (Some(position_id), None, "PositionFrozen", detail)
                }
                Liquidation::SIGNATURE_HASH => {
                    let e = log.decode::<Liquidation>().map_err(|e| bad(log, e))?;
                    let position_id = id(e.positionId)?;
                    let block = log.block_number;
                    self.update(c, log, position_id, |p| {
                        p.status = PositionStatus::Liquidated;
                        p.closed_block = Some(block);
                    })?;
                    let detail = format!("by {} reward to {}", e.liquidator, e.feeReceiver);
                    (
                        Some(position_id),
                        Some(id(e.orderId)?),
                        "Liquidation",
                        detail,
                    )
                }
                PositionClosed::SIGNATURE_HASH => {
                    let e = log.decode::<PositionClosed>().map_err(|e| bad(log, e))?;
                    let position_id = id(e.positionId)?;
                    let block = log.block_number;
                    self.update(c, log, position_id, |p| {
                        p.status = PositionStatus::Closed;
                        p.closed_block = Some(block);
                    })?;
                    (
                        Some(position_id),
                        None,
                        "PositionClosed",
                        format!("by {}", e.closedBy),
                    )
                }
                _ => return Ok(()),
            };
        margin::record_event(c, &at, position_id, order_id, name, &detail)
    }

    fn retract(&self, c: &rusqlite::Transaction<'_>, log: &IngestedLog) -> Result<(), StoreError> {
        // Undoing an event's effect exactly would need the state before it; instead the
        // touched position or order goes back to `stale` and is read from the module.
        margin::forget_event(c, &self.at(log))
    }
}
