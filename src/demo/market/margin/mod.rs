//! The demo market's margin actor: borrowers on the Dex223 margin module, so the liquidator
//! desk has positions to value and, after the scripted fall at 40 s, some to liquidate.
//!
//! At start it funds its accounts (dev 11 the lender, 12 and 13 the borrowers) and dev 11
//! opens an order lending USDC at up to 10×. Between 10 and 25 s the borrowers take two
//! leveraged longs on it (WETH at 9.5×, WBTC at 9×) that the fall sinks: the desk freezes
//! and liquidates them. Then every 15 to 30 s a borrower takes a modest loan (on either
//! order), trades part of a position, closes one, or does nothing; at most
//! [`plan::MAX_OPEN`] of its positions are open at once.

mod moves;
pub mod plan;

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::U256;
use tokio_util::sync::CancellationToken;

use super::MarketContext;
use moves::{Margin, SEEDED_ORDER};
use plan::{Borrow, Step};

/// Tries of an opening long before the act goes on without it.
const OPENING_TRIES: u32 = 3;

pub async fn run(ctx: Arc<MarketContext>, cancel: CancellationToken) {
    let mut rng = ctx.rng("margin");
    let times = plan::opening_times(&mut rng);
    let m = match Margin::of(&ctx) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(actor = "margin", error = %format!("{e:#}"), "demo market: no margin market");
            return;
        }
    };
    let order = loop {
        match setup(&ctx, &m).await {
            Ok(order) => break order,
            Err(e) => {
                tracing::warn!(actor = "margin", error = %format!("{e:#}"), "demo market: margin setup failed; retrying");
                if !pause(&cancel, Duration::from_secs(2)).await {
                    return;
                }
            }
        }
    };
    let mut book = Book {
        ctx: &ctx,
        m,
        order,
        ours: Vec::new(),
    };
    for (at, long) in times.into_iter().zip(plan::opening_longs()) {
        let wait = Duration::from_secs(at).saturating_sub(ctx.elapsed());
        if !pause(&cancel, wait).await {
            return;
        }
        for attempt in 1..=OPENING_TRIES {
            match book.borrow(&long).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(actor = "margin", attempt, error = %format!("{e:#}"), "demo market: an opening long failed");
                    if !pause(&cancel, Duration::from_secs(1)).await {
                        return;
                    }
                }
            }
        }
    }
    loop {
        if !pause(&cancel, plan::next_delay(&mut rng)).await {
            return;
        }
        let live = book.live().await;
        let step = plan::choose(&mut rng, book.ours.len());
        if let Err(e) = book.step(step, &live).await {
            tracing::warn!(actor = "margin", error = %format!("{e:#}"), "demo market: a margin step failed");
        }
    }
}

/// Funds the accounts and opens the lender's order; returns its id.
async fn setup(ctx: &MarketContext, m: &Margin) -> anyhow::Result<U256> {
    moves::fund_borrowers(ctx).await?;
    let order = moves::open_lender_order(ctx, m).await?;
    tracing::info!(actor = "margin", order = %order, "demo market: margin lender's order open (10×)");
    Ok(order)
}

/// Sleeps `wait`; false when cancelled.
async fn pause(cancel: &CancellationToken, wait: Duration) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => false,
        _ = tokio::time::sleep(wait) => true,
    }
}

/// The actor's order and its open positions (id, owner).
struct Book<'a> {
    ctx: &'a MarketContext,
    m: Margin,
    order: U256,
    ours: Vec<(U256, usize)>,
}

impl Book<'_> {
    async fn borrow(&mut self, b: &Borrow) -> anyhow::Result<()> {
        let order = if b.own_order {
            self.order
        } else {
            U256::from(SEEDED_ORDER)
        };
        let (id, loan) = moves::borrow(self.ctx, &self.m, order, b).await?;
        self.ours.push((id, b.borrower));
        tracing::info!(
            actor = "margin",
            second = self.ctx.elapsed().as_secs(),
            position = %id,
            order = %order,
            borrower = b.borrower,
            loan_usdc = %(loan / U256::from(1_000_000u64)),
            leverage_tenths = b.leverage_tenths,
            "demo market: a margin loan"
        );
        Ok(())
    }

    /// Forgets closed positions; the ones the borrowers may still move.
    async fn live(&mut self) -> Vec<(U256, moves::Live)> {
        let mut still = Vec::new();
        let mut movable = Vec::new();
        for (id, owner) in std::mem::take(&mut self.ours) {
            match moves::look(self.ctx, &self.m, id, owner).await {
                Ok(None) => {}
                Ok(Some((can_move, live))) => {
                    still.push((id, owner));
                    if can_move {
                        movable.push((id, live));
                    }
                }
                Err(e) => {
                    still.push((id, owner));
                    tracing::debug!(actor = "margin", position = %id, error = %format!("{e:#}"), "demo market: position not read");
                }
            }
        }
        self.ours = still;
        movable
    }

    async fn step(&mut self, step: Step, live: &[(U256, moves::Live)]) -> anyhow::Result<()> {
        let second = self.ctx.elapsed().as_secs();
        match step {
            Step::Borrow(b) => self.borrow(&b).await?,
            Step::Trade { pick, pct, to_base } => {
                let Some((id, position)) = pick_of(live, pick) else {
                    return Ok(());
                };
                let (sell, amount, buy) =
                    moves::trade(self.ctx, &self.m, *id, position, pick, pct, to_base).await?;
                tracing::info!(actor = "margin", second, position = %id, %sell, %amount, %buy, "demo market: a margin trade");
            }
            Step::Close { pick } => {
                let Some((id, position)) = pick_of(live, pick) else {
                    return Ok(());
                };
                moves::close(self.ctx, &self.m, *id, position.owner).await?;
                self.ours.retain(|(o, _)| o != id);
                tracing::info!(actor = "margin", second, position = %id, "demo market: a margin position closed");
            }
            Step::Idle => {}
        }
        Ok(())
    }
}

fn pick_of<T>(items: &[T], pick: u64) -> Option<&T> {
    (!items.is_empty()).then(|| &items[(pick % items.len() as u64) as usize])
}
