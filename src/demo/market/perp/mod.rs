//! The demo market's perp actor: DePerp traders on the devnet copy, where every position
//! call is the owner's ([`MarketContext::as_owner`]).
//!
//! - The anchor: at 10–25 s the shield is drawn down to 50,000 USDC and dev 14 opens a
//!   714,000 USDC 10x short on BTC-USD, so the scripted fall at 40 s takes its PnL past the
//!   shield (the desk hedges) and the recovery at 110 s clears it (the desk closes the hedge
//!   once `expiry_secs` pass). From about 3 minutes on the anchor is rolled every 100–160 s:
//!   closed (a live hedge closes as its position vanished) and opened again at the market
//!   on a market and side drawn, so a large shock that way flags it again.
//! - Traders (devs 14 and 15) open, resize and close modest positions every 20–40 s, at
//!   most [`plan::MAX_OPEN`] at once.

mod plan;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use alloy::eips::BlockId;
use alloy::primitives::{Address, I256, U256};
use alloy::providers::DynProvider;
use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::MarketContext;
use crate::devnet::perp::{self as deperp, CONTRACTS, DePerpContracts};
use crate::perp::model::TraderPosition;
use crate::perp::reader::read_funding_tracers;
use plan::{PerpMarket, Step, Trade, USDC};

/// Seconds before a failed anchor roll is tried again.
const ROLL_RETRY: u64 = 5;

/// A position the actor opened: its key on the chain and what it is.
#[derive(Debug, Clone)]
struct Opened {
    key: String,
    trade: Trade,
}

struct Actor {
    contracts: DePerpContracts,
    usdc: Address,
    /// The anchor, once open.
    anchor: Option<Opened>,
    /// The traders' positions, oldest first.
    trades: Vec<Opened>,
    shield_set: bool,
}

pub async fn run(ctx: Arc<MarketContext>, cancel: CancellationToken) {
    let mut actor = match Actor::new(&ctx) {
        Ok(actor) => actor,
        Err(e) => {
            tracing::warn!(actor = "perp", error = %format!("{e:#}"), "demo market: the perp actor cannot start");
            return;
        }
    };
    let mut anchor_rng = ctx.rng("perp.anchor");
    let mut rng = ctx.rng("perp");
    let mut roll_at = plan::draw_secs(&mut anchor_rng, plan::ANCHOR_AT);
    let mut next_anchor = Some(plan::first_anchor());
    let mut trade_at = roll_at + plan::draw_secs(&mut rng, plan::TRADE_EVERY);
    loop {
        let due = Duration::from_secs(roll_at.min(trade_at));
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(due.saturating_sub(ctx.elapsed())) => {}
        }
        if roll_at <= trade_at {
            let trade = *next_anchor.get_or_insert_with(|| plan::rolled_anchor(&mut anchor_rng));
            match actor.roll(&ctx, trade).await {
                Ok(()) => {
                    next_anchor = None;
                    roll_at = plan::next_roll_at(&mut anchor_rng, roll_at);
                }
                Err(e) => {
                    tracing::warn!(actor = "perp", error = %format!("{e:#}"), "demo market: the perp anchor was not rolled");
                    roll_at += ROLL_RETRY;
                }
            }
        } else {
            let open: Vec<Trade> = actor.trades.iter().map(|o| o.trade).collect();
            let step = plan::next_step(&mut rng, &open);
            if let Err(e) = actor.step(&ctx, step).await {
                tracing::warn!(actor = "perp", error = %format!("{e:#}"), "demo market: a perp trade failed");
            }
            trade_at += plan::draw_secs(&mut rng, plan::TRADE_EVERY);
        }
    }
}

impl Actor {
    fn new(ctx: &MarketContext) -> anyhow::Result<Actor> {
        let mut addresses = [Address::ZERO; 6];
        for (slot, (name, _, _)) in addresses.iter_mut().zip(CONTRACTS) {
            *slot = ctx.deployed(name)?;
        }
        Ok(Actor {
            contracts: DePerpContracts::from_addresses(addresses),
            usdc: ctx.deployed("token.usdc")?,
            anchor: None,
            trades: Vec::new(),
            shield_set: false,
        })
    }

    /// Closes the anchor (if one is open) and opens `trade` as the new one.
    async fn roll(&mut self, ctx: &MarketContext, trade: Trade) -> anyhow::Result<()> {
        let (_guard, owner) = ctx.as_owner().await;
        if !self.shield_set {
            deperp::set_shield_balance(&owner, &self.contracts, self.usdc, usdc(plan::SHIELD_USDC))
                .await?;
            self.shield_set = true;
            tracing::info!(
                actor = "perp",
                shield_usdc = plan::SHIELD_USDC,
                "demo market: DePerp's shield drawn down"
            );
        }
        if let Some(old) = &self.anchor {
            self.close(&owner, &old.key).await?;
            tracing::info!(actor = "perp", t_secs = ctx.elapsed().as_secs(), position = %old.key, "demo market: perp anchor closed");
            self.anchor = None;
        }
        let opened = self.open(ctx, &owner, trade).await?;
        tracing::info!(
            actor = "perp",
            t_secs = ctx.elapsed().as_secs(),
            position = %opened.key,
            size_usdc = trade.size,
            trigger_bps = plan::TRIGGER_BPS,
            "demo market: perp anchor opened (its PnL reaches the shield on a move of trigger_bps against the vault)"
        );
        self.anchor = Some(opened);
        Ok(())
    }

    async fn step(&mut self, ctx: &MarketContext, step: Step) -> anyhow::Result<()> {
        let (_guard, owner) = ctx.as_owner().await;
        match step {
            Step::Open(trade) => {
                let opened = self.open(ctx, &owner, trade).await?;
                tracing::info!(actor = "perp", t_secs = ctx.elapsed().as_secs(), position = %opened.key, size_usdc = trade.size, leverage = trade.leverage, "demo market: perp position opened");
                self.trades.push(opened);
            }
            Step::Close(index) => {
                self.close(&owner, &self.trades[index].key).await?;
                let closed = self.trades.remove(index);
                tracing::info!(actor = "perp", t_secs = ctx.elapsed().as_secs(), position = %closed.key, "demo market: perp position closed");
            }
            Step::Resize { index, size } => {
                let opened = &mut self.trades[index];
                let at = deperp::position_index(&owner, &self.contracts, &opened.key)
                    .await?
                    .with_context(|| format!("{} is not open", opened.key))?;
                let resized = Trade {
                    size,
                    ..opened.trade
                };
                deperp::resize_position(
                    &owner,
                    &self.contracts,
                    at,
                    usdc(size),
                    usdc(resized.collateral()),
                )
                .await?;
                tracing::info!(actor = "perp", t_secs = ctx.elapsed().as_secs(), position = %opened.key, from_usdc = opened.trade.size, to_usdc = size, "demo market: perp position resized");
                opened.trade = resized;
            }
        }
        Ok(())
    }

    /// Opens `trade` at the market's price now and its funding tracer; returns it keyed.
    async fn open(
        &self,
        ctx: &MarketContext,
        owner: &DynProvider,
        trade: Trade,
    ) -> anyhow::Result<Opened> {
        let market = trade.market.name();
        let prices = ctx.now_prices();
        let price = match trade.market {
            PerpMarket::Btc => prices.btc_usd_e8,
            PerpMarket::Eth => prices.eth_usd_e8,
        };
        let tracers = read_funding_tracers(
            owner,
            self.contracts.funding_rate,
            &BTreeSet::from([(self.usdc, market)]),
            BlockId::latest(),
        )
        .await?;
        let funding_tracer = tracers.first().map_or(I256::ZERO, |(_, _, t)| *t);
        let mut position = TraderPosition {
            user: ctx.address_of(trade.trader),
            asset: self.usdc,
            market: market.to_string(),
            is_long: trade.is_long,
            size: usdc(trade.size),
            collateral: usdc(trade.collateral()),
            funding_tracer,
            // DePerp's price scale is Pyth's 8 decimals, as the market's.
            price: U256::from(u64::try_from(price).context("a negative price")?),
            timestamp: U256::from(chrono::Utc::now().timestamp()),
        };
        // A key is the trader, market, side and second: never reuse one of ours.
        while self.keys().any(|k| k == position.key()) {
            position.timestamp += U256::from(1u8);
        }
        deperp::open_position(owner, &self.contracts, &position).await?;
        Ok(Opened {
            key: position.key(),
            trade,
        })
    }

    /// Closes the position `key`; one already gone is closed.
    async fn close(&self, owner: &DynProvider, key: &str) -> anyhow::Result<()> {
        match deperp::position_index(owner, &self.contracts, key).await? {
            Some(index) => {
                deperp::close_position(owner, &self.contracts, index).await?;
            }
            None => {
                tracing::warn!(actor = "perp", position = %key, "demo market: the perp position was already gone")
            }
        }
        Ok(())
    }

    fn keys(&self) -> impl Iterator<Item = &str> {
        self.anchor
            .iter()
            .chain(&self.trades)
            .map(|o| o.key.as_str())
    }
}

/// Whole USDC in base units.
fn usdc(whole: u64) -> U256 {
    U256::from(whole) * U256::from(USDC)
}
