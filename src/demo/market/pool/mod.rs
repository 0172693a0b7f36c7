//! The demo market's pool actor: BitHedge liquidity providers and policy buyers, so the
//! pool desk locks collateral, settles an in-the-money policy and expires others within
//! minutes of the start.
//!
//! - At the start, four providers in three tiers (dev accounts 18 and 19, and two keys the
//!   actor derives and funds) deposit WBTC and ETH: each deposit is prepared in the store
//!   (`pool_prepare_deposit`, as `hedgedesk pool deposit` does) and the provider signs
//!   exactly the transactions [`deposit_transactions`](crate::pool::deposit) lays out.
//! - At 15–20 s a buyer takes an at-the-money PUT on WBTC expiring at 95–103 s (after the
//!   scripted fall at 40–45 s, before the recovery at 110 s), which the desk settles in the
//!   money, and a CALL 5–9% out of the money on ETH expiring at 70–85 s, which it expires.
//! - Then every 30–60 s a purchase (PUT or CALL, WBTC or ETH, any buyer tier, 2–6 minutes;
//!   none while [`plan::MAX_ACTIVE`] are active), now and then a top-up, and rarely a
//!   withdrawal request that waits for the operator's `w`; once the Vault approves it, the
//!   provider withdraws.
//!
//! Policies are sold as `hedgedesk pool buy` sells them (the store's `pool_create_policy`
//! with the config's buyer tiers and premium model), at the market's current prices.

pub mod lp;
pub mod plan;

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use rand::RngExt;
use tokio_util::sync::CancellationToken;

use super::{MarketContext, every};
use crate::pool::model::{PolicyStatus, Prices, Token, format_scaled, format_usd};
use crate::pool::params::PoolParams;
use crate::store::StoreError;
use crate::store::pool::{NewPolicy, PolicyFilter, Underwriting, WithdrawalStatus};
use lp::Lp;
use plan::{Account, LPS, Purchase};

/// The demo's config, beside its store (`setup.rs` writes both into the data dir).
/// How often to look for the desk's tiers, and to retry the opening purchases.
const POLL: Duration = Duration::from_millis(500);
/// The opening purchases give up (and the market goes on) this long into the market.
const OPENING_DEADLINE: Duration = Duration::from_secs(38);
/// How often providers look for withdrawals the operator approved.
const WITHDRAW_EVERY: Duration = Duration::from_secs(3);

pub async fn run(ctx: Arc<MarketContext>, cancel: CancellationToken) {
    tokio::select! {
        _ = cancel.cancelled() => {}
        done = play(&ctx, &cancel) => {
            if let Err(e) = done {
                tracing::warn!(actor = "pool", error = %format!("{e:#}"), "demo market: the pool actor stopped");
            }
        }
    }
}

struct Actor {
    params: PoolParams,
    lps: Vec<Lp>,
    buyers: Vec<Address>,
    /// Policies sold so far (their idempotency keys count up).
    sold: u64,
}

async fn play(ctx: &MarketContext, cancel: &CancellationToken) -> anyhow::Result<()> {
    let params = pool_params(ctx)?;
    wait_for_tiers(ctx, &params).await?;
    let tiers: Vec<String> = params.tiers.iter().map(|t| t.name.clone()).collect();
    let mut lps = Vec::new();
    for spec in LPS {
        let key = match spec.account {
            Account::Dev(i) => ctx.keys[i].clone(),
            Account::Derived(n) => lp::derived_key("provider", n)?,
        };
        let tier = plan::tier_name(spec.tier, &tiers, &params.default_tier)
            .ok_or_else(|| anyhow::anyhow!("[pool] has no tiers"))?;
        lps.push(Lp {
            account: spec.account,
            key,
            tier: tier.to_string(),
        });
    }
    let buyers = (0..plan::BUYERS as u8)
        .map(|n| lp::derived_key("buyer", n).map(|k| k.address()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut actor = Actor {
        params,
        lps,
        buyers,
        sold: 0,
    };
    let started_ms = chrono::Utc::now().timestamp_millis()
        - i64::try_from(ctx.elapsed().as_millis()).unwrap_or(0);
    tracing::info!(
        actor = "pool",
        market_started_ms = started_ms,
        providers = actor.lps.len(),
        t = ctx.elapsed().as_secs(),
        "demo market: pool actor opening"
    );
    let mut rng = ctx.rng("pool");
    actor.opening_deposits(ctx, &mut rng).await;
    actor.opening_policies(ctx, &mut rng).await;
    let lps = actor.lps.clone();
    tokio::join!(
        every("pool", WITHDRAW_EVERY, cancel, || lp::withdraw_approved(
            ctx, &lps
        )),
        actor.market(ctx, &mut rng, cancel),
    );
    Ok(())
}

/// `[pool]` as the desks read it.
fn pool_params(ctx: &MarketContext) -> anyhow::Result<PoolParams> {
    PoolParams::from_config(&ctx.config.pool).map_err(|e| anyhow::anyhow!("[pool]: {e}"))
}

/// Deposits need the tiers in the store: the pool desk puts them there when it starts.
async fn wait_for_tiers(ctx: &MarketContext, params: &PoolParams) -> anyhow::Result<()> {
    loop {
        let stored = ctx.store.pool_tiers().await?;
        let all_there = params
            .tiers
            .iter()
            .all(|t| stored.iter().any(|s| s.configured && s.tier.name == t.name));
        if all_there {
            return Ok(());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The market's prices as the pool's math takes them.
fn prices(ctx: &MarketContext) -> Prices {
    let p = ctx.now_prices();
    Prices {
        btc_usd: u128::try_from(p.btc_usd_e8).unwrap_or(0),
        eth_usd: u128::try_from(p.eth_usd_e8).unwrap_or(0),
    }
}

impl Actor {
    /// Every provider's opening deposits; the derived ones are first sent their ETH.
    async fn opening_deposits(&self, ctx: &MarketContext, rng: &mut impl rand::Rng) {
        let plans: Vec<Vec<(Token, u128)>> = LPS
            .iter()
            .map(|spec| {
                spec.opening
                    .iter()
                    .map(|&(token, low, high)| (token, plan::draw_amount(rng, token, low, high)))
                    .collect()
            })
            .collect();
        let funder = &self.lps[0];
        for (lp, deposits) in self.lps.iter().zip(&plans) {
            if let Account::Derived(_) = lp.account {
                let eth: u128 = deposits
                    .iter()
                    .filter(|(t, _)| *t == Token::Eth)
                    .map(|(_, a)| a)
                    .sum();
                if let Err(e) = lp::fund_eth(ctx, funder, lp.address(), eth).await {
                    tracing::warn!(actor = "pool", error = %format!("{e:#}"), "demo market: a provider was not funded");
                }
            }
            for &(token, amount) in deposits {
                if let Err(e) = lp::deposit(ctx, lp, &self.params.default_tier, token, amount).await
                {
                    tracing::warn!(actor = "pool", error = %format!("{e:#}"), "demo market: an opening deposit failed");
                }
            }
        }
    }

    /// The PUT that settles in the money and the CALL that expires out of it, bought as
    /// soon as the opening deposits are in the books.
    async fn opening_policies(&mut self, ctx: &MarketContext, rng: &mut impl rand::Rng) {
        let at = Duration::from_secs(plan::opening_second(rng));
        let put_tier =
            plan::buyer_tier_backed_by(&self.params.buyer_tiers, &self.params.default_tier);
        let call_tier = self
            .params
            .tiers
            .last()
            .and_then(|t| plan::buyer_tier_backed_by(&self.params.buyer_tiers, &t.name));
        let (Some(put_tier), Some(call_tier)) = (put_tier, call_tier) else {
            tracing::warn!(
                actor = "pool",
                "demo market: no buyer tier for the opening policies"
            );
            return;
        };
        if let Some(wait) = at.checked_sub(ctx.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let btc = prices(ctx).btc_usd;
        let put = plan::opening_put(rng, btc, put_tier);
        let call = plan::opening_call(rng, btc, call_tier);
        for p in [put, call] {
            while ctx.elapsed() < OPENING_DEADLINE {
                match self.buy(ctx, &p).await {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(actor = "pool", error = %format!("{e:#}"), "demo market: an opening purchase failed")
                    }
                }
                tokio::time::sleep(POLL).await;
            }
        }
    }

    /// Sells `p` in the books as `pool buy` does. `Ok(false)`: refused (logged the first
    /// time a reason is seen at info level; the caller may retry).
    async fn buy(&mut self, ctx: &MarketContext, p: &Purchase) -> anyhow::Result<bool> {
        let backing = self
            .params
            .backing_tiers(&p.buyer_tier)
            .map_err(anyhow::Error::msg)?
            .to_vec();
        let now = chrono::Utc::now().timestamp_millis();
        let new = NewPolicy {
            idem_key: format!("demo-pool:{}:{}", ctx.seed, self.sold + 1),
            kind: p.kind,
            buyer: self.buyers[p.buyer % self.buyers.len()],
            buyer_tier: p.buyer_tier.clone(),
            token: p.token,
            strike_usd: p.strike_usd,
            amount_sats: p.amount_sats,
            expires_at_ms: plan::expiry_ms(now, ctx.elapsed(), p.expires_at_secs),
            premium: None,
        };
        let u = Underwriting {
            backing_tiers: backing,
            prices: prices(ctx),
            premium: self.params.premium,
        };
        match ctx.store.pool_create_policy(new, u, now).await {
            Ok(created) => {
                self.sold += 1;
                let policy = &created.book().policy;
                tracing::info!(
                    actor = "pool",
                    policy = policy.id,
                    kind = %policy.kind,
                    strike = %format_usd(policy.strike_usd),
                    btc = %format_scaled(u128::from(policy.amount_sats), 8),
                    token = %policy.token,
                    tier = %policy.tier,
                    expires_in_secs = (policy.expires_at_ms - now) / 1_000,
                    t = ctx.elapsed().as_secs(),
                    "demo market: a buyer bought a policy"
                );
                Ok(true)
            }
            Err(StoreError::Invalid(why)) => {
                tracing::info!(actor = "pool", reason = %why, "demo market: a purchase was refused");
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The running market: a purchase every 30–60 s, the odd top-up and withdrawal request.
    async fn market(
        &mut self,
        ctx: &MarketContext,
        rng: &mut impl rand::Rng,
        cancel: &CancellationToken,
    ) {
        loop {
            let step = plan::next_step(rng);
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(step.pause) => {}
            }
            let purchase = plan::random_purchase(
                rng,
                prices(ctx).btc_usd,
                &self.params.buyer_tiers,
                ctx.elapsed().as_secs(),
            );
            if let Err(e) = self.market_step(ctx, rng, step, purchase).await {
                tracing::warn!(actor = "pool", error = %format!("{e:#}"), "demo market: a step failed");
            }
        }
    }

    async fn market_step(
        &mut self,
        ctx: &MarketContext,
        rng: &mut impl rand::Rng,
        step: plan::Step,
        purchase: Option<Purchase>,
    ) -> anyhow::Result<()> {
        let active = ctx
            .store
            .pool_policies(PolicyFilter {
                status: Some(PolicyStatus::Active),
                provider: None,
                limit: None,
            })
            .await?
            .len();
        if let Some(p) = purchase.filter(|_| active < plan::MAX_ACTIVE) {
            self.buy(ctx, &p).await?;
        }
        let providers = ctx.store.pool_providers().await?;
        let holding = |i: usize, token: Token| {
            providers
                .iter()
                .find(|p| p.address == self.lps[i].address())
                .map_or(0, |p| p.balance(token).total)
        };
        if step.deposit
            && let Some((i, token, amount)) = plan::top_up(rng, holding)
        {
            lp::deposit(ctx, &self.lps[i], &self.params.default_tier, token, amount).await?;
        }
        if step.withdraw {
            self.ask_to_withdraw(ctx, rng).await?;
        }
        Ok(())
    }

    /// A provider asks to withdraw part of what it may: the request waits for the operator.
    /// None while one of the actor's requests is still open.
    async fn ask_to_withdraw(
        &self,
        ctx: &MarketContext,
        rng: &mut impl rand::Rng,
    ) -> anyhow::Result<()> {
        let lp = &self.lps[rng.random_range(0..self.lps.len())];
        let token = if rng.random_bool(0.5) {
            Token::Wbtc
        } else {
            Token::Eth
        };
        let share = plan::withdrawal_share(rng);
        let open = ctx.store.pool_withdrawals(true, 100).await?;
        if open.iter().any(|w| {
            w.status == WithdrawalStatus::Requested
                && self.lps.iter().any(|l| l.address() == w.provider)
        }) {
            return Ok(());
        }
        let px = Some(prices(ctx));
        let buffer = self.params.withdrawal_buffer_bps;
        let check = match ctx
            .store
            .pool_withdrawal_check(lp.address(), token, px, buffer)
            .await
        {
            Ok(c) => c,
            Err(StoreError::Invalid(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let Some(amount) = plan::withdrawal_amount(token, share, check.max_withdrawable) else {
            return Ok(());
        };
        let now = chrono::Utc::now().timestamp_millis();
        let w = ctx
            .store
            .pool_request_withdrawal(lp.address(), token, amount, px, buffer, now)
            .await?;
        tracing::info!(
            actor = "pool",
            provider = %lp.address(),
            withdrawal = w.id,
            status = w.status.as_str(),
            t = ctx.elapsed().as_secs(),
            amount = %format!("{} {token}", token.format_units(amount)),
            "demo market: a provider asked to withdraw (the operator approves it with w)"
        );
        Ok(())
    }
}
