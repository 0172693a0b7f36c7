//! The demo market's AnyHedge actor: two wallets (dev accounts 16 and 17) trading hedges
//! with each other over the desks' HTTP API. Every 20–40 s (seeded) one posts an offer and
//! the other finds, accepts and settles it into a contract maturing 60–120 s after its
//! start; both approve and sign their funding, and the desk funds the contract and settles
//! it at maturity, or at a liquidation. The first round is near the money, so the scripted
//! fall at 40 s liquidates it; later ones are near it a third of the time. At most
//! [`MAX_LIVE`] contracts run at once. After [`REDEEM_AFTER`] both parties of one sign an
//! early maturation for the operator to approve (the first round that can, then now and then).

pub mod api;
pub mod plan;
pub mod round;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rand::RngExt;
use tokio_util::sync::CancellationToken;

use super::MarketContext;
use crate::devnet::anyhedge::COLLATERAL;
use api::Api;
use round::{Desk, WALLETS};

/// Unsettled contracts of the actor beyond which no new one is opened.
pub const MAX_LIVE: usize = 4;
/// The pause after a failed round (the desks may still be starting).
const RETRY: Duration = Duration::from_secs(3);
/// How often the API is asked whether it is up.
const READY_POLL: Duration = Duration::from_secs(1);
/// Early maturations start after the first act's contracts are under way...
const REDEEM_AFTER: Duration = Duration::from_secs(90);
/// ... the first as soon as a contract qualifies, later ones at one round in this many.
const REDEEM_ODDS: u32 = 5;

pub async fn run(ctx: Arc<MarketContext>, cancel: CancellationToken) {
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = act(&ctx) => {}
    }
}

async fn act(ctx: &MarketContext) {
    let mut rng = ctx.rng("anyhedge");
    let desk = ready(ctx).await;
    tracing::info!(
        actor = "anyhedge",
        oracle = %desk.oracle_pubkey,
        after_ms = ctx.elapsed().as_millis() as u64,
        "demo market: the AnyHedge API is up"
    );
    for dev in WALLETS {
        if let Err(e) = desk.ensure_collateral(dev, 1).await {
            tracing::warn!(actor = "anyhedge", error = %format!("{e:#}"), "demo market: collateral not minted");
        }
    }
    let (mut first, mut redeemed) = (true, false);
    loop {
        let redeem = !first
            && ctx.elapsed() >= REDEEM_AFTER
            && (!redeemed || rng.random_ratio(1, REDEEM_ODDS));
        let pause = match step(&desk, &mut rng, first, redeem).await {
            Ok(done) => {
                first &= !done.opened;
                redeemed |= done.redeemed;
                plan::gap(&mut rng)
            }
            Err(e) => {
                tracing::warn!(actor = "anyhedge", error = %format!("{e:#}"), "demo market: a step failed");
                RETRY
            }
        };
        tokio::time::sleep(pause).await;
    }
}

/// Waits until the API answers with the oracle the desk follows and one of its prices
/// (a contract starts from it).
async fn ready(ctx: &MarketContext) -> Desk<'_> {
    let mut said = false;
    loop {
        match try_ready(ctx).await {
            Ok(Some(desk)) => return desk,
            Ok(None) => {}
            Err(e) if !said => {
                said = true;
                tracing::debug!(actor = "anyhedge", error = %format!("{e:#}"), "demo market: waiting for the AnyHedge API");
            }
            Err(_) => {}
        }
        tokio::time::sleep(READY_POLL).await;
    }
}

async fn try_ready(ctx: &MarketContext) -> anyhow::Result<Option<Desk<'_>>> {
    let api = Api::new(&ctx.api_url)?;
    let oracles = api.get("/anyhedge/oracles/").await?;
    let Some(pubkey) = oracles["results"][0]["pubkey"].as_str().map(str::to_string) else {
        return Ok(None);
    };
    let prices = api
        .get(&format!(
            "/anyhedge/price-messages/?pubkey={pubkey}&limit=1"
        ))
        .await?;
    if prices["count"].as_u64().unwrap_or(0) == 0 {
        return Ok(None);
    }
    Ok(Some(Desk {
        ctx,
        api,
        oracle_pubkey: pubkey,
        collateral: ctx
            .deployed(COLLATERAL)
            .context("the AnyHedge collateral")?,
    }))
}

/// What a round did.
#[derive(Debug, Default)]
struct Done {
    opened: bool,
    redeemed: bool,
}

/// One round: an early maturation if `redeem`, then a new contract unless enough are live.
async fn step(
    desk: &Desk<'_>,
    rng: &mut impl rand::Rng,
    first: bool,
    redeem: bool,
) -> anyhow::Result<Done> {
    let ctx = desk.ctx;
    let now = chrono::Utc::now().timestamp();
    let live = desk.live(now).await?;
    let mut done = Done::default();
    if redeem {
        let price = ctx.now_prices().bch_usd_cents.max(1) as u32;
        match desk.propose_redemption(&live, now, price).await {
            Ok(Some((hedge, price))) => {
                done.redeemed = true;
                tracing::info!(
                    actor = "anyhedge",
                    contract = %hedge,
                    price,
                    "demo market: both parties signed an early maturation (waits for the operator)"
                )
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(actor = "anyhedge", error = %format!("{e:#}"), "demo market: no early maturation")
            }
        }
    }
    if live.len() >= MAX_LIVE {
        return Ok(done);
    }
    let round = plan::draw(rng, first);
    let (hedge, params) = desk.open(&round).await?;
    tracing::info!(
        actor = "anyhedge",
        contract = %hedge,
        maker = WALLETS[round.maker],
        side = round.side.as_str(),
        satoshis = round.satoshis,
        start_price = params.startPrice,
        low_price = params.lowPrice,
        high_price = params.highPrice,
        maturity = params.maturityTimestamp,
        at_ms = ctx.elapsed().as_millis() as u64,
        "demo market: a hedge agreed and both fundings signed"
    );
    done.opened = true;
    Ok(done)
}
