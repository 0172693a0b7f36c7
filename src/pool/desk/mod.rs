//! The pool desk's worker: finds the Vault, keeps the tiers in the store in step with the
//! config, follows the Vault's events into the books ([`crate::pool::sync`]), and every
//! cycle reconciles the Vault's on-chain totals with the providers' books (a difference is
//! an alert on the pane and in the log, never corrected), runs the health monitor on its
//! schedule (status transitions with their time; stale prices → unknown, never healthy),
//! and publishes the Pool tab's snapshot.

pub mod lifecycle;
pub mod snapshot;
pub mod withdrawals;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use alloy::providers::Provider as _;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::model::{Prices, Token};
use super::pane::PoolSnapshot;
use super::params::PoolParams;
use super::requests::PoolRequest;
use super::sync::{VaultHandler, vault_stream};
use crate::actions::ActionQueue;
use crate::chain::Chain;
use crate::chain::contracts::LiquidityVault;
use crate::chain::ingest::{IngestConfig, run_stream};
use crate::config::Config;
use crate::desks::Pane;
use crate::desks::Severity;
use crate::prices::PriceCache;
use crate::store::Store;
use crate::store::pool::PolicyFilter;

/// How often to look again for a Vault that is not deployed yet.
const WAIT_FOR_CONTRACT: Duration = Duration::from_secs(3);
/// A cycle at least this often.
const TICK: Duration = Duration::from_secs(2);
/// Active policies the pane lists.
const POLICIES_SHOWN: u64 = 200;

#[derive(Clone)]
pub struct PoolDesk {
    pub config: Arc<Config>,
    pub chain: Chain,
    pub store: Store,
    pub queue: ActionQueue,
    pub prices: PriceCache,
    /// Where the worker loop records its cycle times (`/metrics`).
    pub cycle_timer: crate::metrics::CycleTimer,
    pane: Pane<PoolSnapshot>,
    requests: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<PoolRequest>>>,
    requests_tx: mpsc::UnboundedSender<PoolRequest>,
}

/// What the desk remembers between cycles (all of it can be lost on a restart).
#[derive(Default)]
struct Memory {
    /// Tokens whose books disagree with the Vault right now (said once per change).
    mismatched: BTreeSet<(Token, String)>,
    last_health_ms: Option<i64>,
    said_stale: bool,
    /// Per policy, the last reason nothing was done (said once per change).
    said: BTreeMap<i64, String>,
}

impl PoolDesk {
    pub fn new(
        config: Arc<Config>,
        chain: Chain,
        store: Store,
        queue: ActionQueue,
        prices: PriceCache,
    ) -> Self {
        let empty = PoolSnapshot {
            chain: chain.name().to_string(),
            ..PoolSnapshot::default()
        };
        let (requests_tx, requests) = mpsc::unbounded_channel();
        Self {
            config,
            chain,
            store,
            queue,
            prices,
            cycle_timer: crate::metrics::CycleTimer::default(),
            pane: Pane::new("pool", empty),
            requests: Arc::new(tokio::sync::Mutex::new(requests)),
            requests_tx,
        }
    }

    pub fn requests(&self) -> mpsc::UnboundedSender<PoolRequest> {
        self.requests_tx.clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<PoolSnapshot>> {
        self.pane.subscribe()
    }

    fn publish(&self, change: impl FnOnce(&mut PoolSnapshot)) {
        self.pane.publish(change);
    }

    /// Says something on the pane's journal and in the log.
    pub fn journal(&self, severity: Severity, message: String) {
        self.pane.journal(severity, message);
    }

    async fn resolve(&self, what: &str) -> anyhow::Result<Option<(Address, u64)>> {
        Ok(self
            .store
            .resolve_address(self.chain.chain_id(), what)
            .await?)
    }

    /// The Vault (and its deployment block) and the WBTC token, once both are known.
    async fn find_contracts(
        &self,
        cancel: &CancellationToken,
    ) -> anyhow::Result<Option<(Address, u64, Address)>> {
        let p = &self.config.pool;
        loop {
            if let (Some((vault, block)), Some((wbtc, _))) =
                (self.resolve(&p.vault).await?, self.resolve(&p.wbtc).await?)
            {
                return Ok(Some((vault, block.max(p.start_block), wbtc)));
            }
            self.publish(|s| {
                s.note = Some(format!(
                    "waiting for {:?} and {:?} on {} (hedgedesk devnet up deploys them)",
                    p.vault,
                    p.wbtc,
                    self.chain.name()
                ))
            });
            tokio::select! {
                _ = cancel.cancelled() => return Ok(None),
                _ = tokio::time::sleep(WAIT_FOR_CONTRACT) => {}
            }
        }
    }

    /// Runs until `cancel`.
    pub async fn run(self, cancel: CancellationToken) -> anyhow::Result<()> {
        let params = PoolParams::from_config(&self.config.pool)
            .map_err(|e| anyhow::anyhow!("[pool]: {e}"))?;
        let Some((vault, from_block, wbtc)) = self.find_contracts(&cancel).await? else {
            return Ok(());
        };
        self.store
            .pool_sync_tiers(params.tiers.clone(), chrono::Utc::now().timestamp_millis())
            .await?;
        self.publish(|s| {
            s.vault = Some(vault.to_checksum(None));
            s.note = None;
        });

        let chain_config = self
            .config
            .chains
            .get(self.chain.name())
            .cloned()
            .unwrap_or_default();
        let (notices_tx, mut notices) = mpsc::channel(64);
        let stream_cancel = cancel.child_token();
        let _stop_stream = stream_cancel.clone().drop_guard();
        let mut stream = tokio::spawn(run_stream(
            self.chain.provider(),
            self.store.clone(),
            vault_stream(self.chain.chain_id(), vault, from_block),
            Arc::new(VaultHandler {
                vault,
                wbtc,
                default_tier: params.default_tier.clone(),
            }),
            notices_tx,
            IngestConfig::from_chain(&chain_config),
            stream_cancel,
        ));

        let mut memory = Memory::default();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let requests = self.requests.clone();
        let mut requests = requests.lock().await;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                ended = &mut stream => {
                    return match ended {
                        Ok(Ok(())) => Ok(()),
                        Ok(Err(e)) => Err(e),
                        Err(e) => Err(anyhow::anyhow!("the vault event stream panicked: {e}")),
                    };
                }
                Some(_) = notices.recv() => {}
                Some(request) = requests.recv() => self.answer(request, vault, wbtc, &params).await,
                _ = tick.tick() => {}
            }
            while notices.try_recv().is_ok() {}
            let cycle = self.cycle(vault, wbtc, &params, &mut memory);
            if let Err(e) = self.cycle_timer.time(cycle).await {
                self.journal(Severity::Failure, format!("cycle failed: {e:#}"));
            }
        }
    }

    /// The tab's `w` proposes the withdrawal's on-chain approval after checking it again
    /// ([`withdrawals`]); `s` and `x` settle or expire one expired policy now
    /// ([`lifecycle`]), refused with a reason when that is not what it needs.
    async fn answer(
        &self,
        request: PoolRequest,
        vault: Address,
        wbtc: Address,
        params: &PoolParams,
    ) {
        match request {
            PoolRequest::ApproveWithdrawal { withdrawal_id } => {
                match self
                    .approve_withdrawal(withdrawal_id, vault, wbtc, params)
                    .await
                {
                    Ok(Ok(done)) => self.journal(Severity::Waiting, done),
                    Ok(Err(why)) => self.journal(Severity::Failure, format!("refused: {why}")),
                    Err(e) => self.journal(
                        Severity::Failure,
                        format!("withdrawal #{withdrawal_id}: approving it failed: {e:#}"),
                    ),
                }
            }
            PoolRequest::SettlePolicy { policy_id } | PoolRequest::ExpirePolicy { policy_id } => {
                let ask = if matches!(request, PoolRequest::SettlePolicy { .. }) {
                    lifecycle::Ask::Settle
                } else {
                    lifecycle::Ask::Expire
                };
                let prices =
                    params.fresh_prices(&self.prices.snapshot(), chrono::Utc::now().timestamp());
                match self
                    .policy_request(policy_id, ask, vault, wbtc, prices)
                    .await
                {
                    Ok(Ok(Some(done))) => self.journal(Severity::Waiting, done),
                    Ok(Ok(None)) => {}
                    Ok(Err(why)) => self.journal(Severity::Failure, format!("refused: {why}")),
                    Err(e) => self.journal(
                        Severity::Failure,
                        format!("policy #{policy_id}: {request:?} failed: {e:#}"),
                    ),
                }
            }
        }
    }

    async fn cycle(
        &self,
        vault: Address,
        wbtc: Address,
        params: &PoolParams,
        memory: &mut Memory,
    ) -> anyhow::Result<()> {
        let now = chrono::Utc::now();
        let now_ms = now.timestamp_millis();
        self.reconcile(vault, wbtc, memory, now_ms).await?;

        let cache = self.prices.snapshot();
        let prices: Option<Prices> = params.fresh_prices(&cache, now.timestamp());
        let health_every = i64::try_from(self.config.pool.health_interval_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000);
        if memory
            .last_health_ms
            .is_none_or(|at| now_ms - at >= health_every)
        {
            memory.last_health_ms = Some(now_ms);
            let grace_ms = i64::try_from(self.config.pool.margin_call_grace_secs)
                .unwrap_or(i64::MAX)
                .saturating_mul(1_000);
            let transitions = self
                .store
                .pool_health_check(prices, grace_ms, now_ms)
                .await?;
            for t in transitions {
                let severity = match t.to {
                    crate::pool::model::ProviderStatus::Healthy => Severity::Waiting,
                    _ => Severity::Failure,
                };
                self.journal(
                    severity,
                    format!(
                        "provider {}: {} → {}{}",
                        t.provider,
                        t.from.label(),
                        t.to.label(),
                        t.ratio_bps
                            .map(|r| format!(" (collateral ratio {}.{:02}%)", r / 100, r % 100))
                            .unwrap_or_default()
                    ),
                );
            }
            if prices.is_none() && !memory.said_stale {
                self.journal(
                    Severity::Failure,
                    format!(
                        "no fresh BTC/USD and ETH/USD prices (older than {}s or missing): provider health is unknown",
                        self.config.pool.max_price_age_secs
                    ),
                );
            }
            memory.said_stale = prices.is_none();
        }

        for (id, step) in self.policy_cycle(vault, wbtc, prices).await? {
            match step {
                Ok(line) => {
                    memory.said.remove(&id);
                    self.journal(Severity::Waiting, line);
                }
                Err(why) => {
                    if memory.said.get(&id) != Some(&why) {
                        self.journal(Severity::Failure, why.clone());
                        memory.said.insert(id, why);
                    }
                }
            }
        }

        let age = |feed: &alloy::primitives::B256| {
            cache.get(feed).and_then(|p| {
                let scaled = u128::try_from(p.scaled(8)?).ok()?;
                Some((scaled, p.age_secs(now.timestamp())))
            })
        };
        let metrics = self.store.pool_metrics().await?;
        let tiers = self.store.pool_tiers().await?;
        let providers = self.store.pool_providers().await?;
        let policies = self
            .store
            .pool_policies(PolicyFilter {
                status: Some(crate::pool::model::PolicyStatus::Active),
                provider: None,
                limit: Some(POLICIES_SHOWN),
            })
            .await?;
        let withdrawals = self.store.pool_withdrawals(true, 100).await?;
        let actions = self.queue.snapshot();
        let head = self.chain.provider().get_block_number().await.ok();
        self.publish(|s| {
            s.block = head;
            s.synced_at_ms = Some(now_ms);
            s.prices = snapshot::price_lines(
                age(&params.btc_usd_feed),
                age(&params.eth_usd_feed),
                self.config.pool.max_price_age_secs,
            );
            s.tokens = snapshot::token_rows(&metrics);
            s.tiers = snapshot::tier_rows(&tiers, prices);
            s.providers = snapshot::provider_rows(&providers);
            s.policies = snapshot::policy_rows(&policies, prices, &actions.actions);
            s.withdrawals = snapshot::withdrawal_rows(&withdrawals, &actions.actions);
        });
        Ok(())
    }

    /// Reads the Vault's totals at the last block whose events the books hold, records
    /// them, and compares them with the sum of the providers' books: each difference is an
    /// alert (said once per change), never a correction. Reading at the head instead would
    /// report every deposit still waiting for its confirmations as a difference.
    async fn reconcile(
        &self,
        vault: Address,
        wbtc: Address,
        memory: &mut Memory,
        now_ms: i64,
    ) -> anyhow::Result<()> {
        let provider = self.chain.provider();
        let cursor = self
            .store
            .ingest_cursor(self.chain.chain_id(), crate::pool::sync::STREAM)
            .await?;
        // Nothing scanned yet: nothing to compare.
        let Some(block) = cursor.and_then(|c| c.applied_through()) else {
            return Ok(());
        };
        let instance = LiquidityVault::new(vault, &provider);
        for (token, address) in [(Token::Eth, Address::ZERO), (Token::Wbtc, wbtc)] {
            let total = instance
                .totalBalance(address)
                .block(block.into())
                .call()
                .await?;
            let locked = instance
                .totalLocked(address)
                .block(block.into())
                .call()
                .await?;
            let (total, locked) = (
                u128::try_from(total).map_err(|_| anyhow::anyhow!("{token} total overflows"))?,
                u128::try_from(locked).map_err(|_| anyhow::anyhow!("{token} locked overflows"))?,
            );
            self.store
                .pool_set_onchain_totals(token, total, locked, block, now_ms)
                .await?;
        }
        let metrics = self.store.pool_metrics().await?;
        let now: BTreeSet<(Token, String)> = metrics
            .iter()
            .filter_map(|m| {
                m.mismatch()
                    .map(|d| (m.token, snapshot::mismatch_line(m, d)))
            })
            .collect();
        for (_, line) in now.difference(&memory.mismatched) {
            self.journal(Severity::Failure, format!("reconciliation: {line}"));
        }
        for (token, _) in memory.mismatched.difference(&now) {
            if !now.iter().any(|(t, _)| t == token) {
                self.journal(
                    Severity::Waiting,
                    format!("reconciliation: {token} agrees with the books again"),
                );
            }
        }
        memory.mismatched = now;
        Ok(())
    }
}
