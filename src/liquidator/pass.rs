//! One pass of the desk: catch the index up, revalue every open position locally at the
//! next block's time, check only the flagged ones on chain, decide with
//! [`strategy`](super::strategy), act through the action queue, and build the snapshot.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use alloy::primitives::{Address, B256, U256};

use super::act;
use super::desk::LiquidatorDesk;
use super::index::sync;
use super::onchain::OnChain;
use super::pane::{
    CandidateRow, LiquidatorSnapshot, MAX_ROWS, Metrics, PositionDetail, RowState, TokenInfo,
    Totals,
};
use super::profit::{self, ProfitInputs, ProfitRules, Profitability, Verdict};
use super::requests::DeskRequest;
use super::strategy::{self, ChainCheck, Decision, Freeze, Situation};
use super::usd::UsdPrice;
use super::valuation::{Book, DebtMath, PositionTerms, Queue, Valuation};
use crate::store::{
    LiquidationRecord, LiquidationState, MarginOrder, MarginPosition, PositionStatus,
};

/// Where the USD price of an asset comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PriceSource {
    Feed(B256),
    Fixed(UsdPrice),
}

/// What the desk keeps between passes.
pub struct DeskState {
    module: Address,
    chain_id: u64,
    me: Address,
    receiver: Address,
    pub auto: bool,
    book: Book,
    /// Open positions and all orders, as indexed.
    positions: BTreeMap<u64, MarginPosition>,
    orders: BTreeMap<u64, MarginOrder>,
    /// Oracles whose maths (exact or legacy) has been read.
    oracles_known: BTreeSet<Address>,
    tokens: HashMap<Address, TokenInfo>,
    prices: HashMap<Address, PriceSource>,
    dirty: bool,
    /// The working set was loaded whole once; later changes come incrementally.
    loaded: bool,
    /// The newest event row the working set reflects.
    events_through: i64,
    /// Positions the last sync wrote, to refresh in the working set.
    synced: std::collections::BTreeSet<u64>,
    /// The last sync read orders (no event says so).
    orders_synced: bool,
    scanned: bool,
    last_head: Option<u64>,
    head_interval: u64,
    prev_head_time: Option<u64>,
    asked: BTreeSet<u64>,
    detail: Option<u64>,
    note: Option<String>,
    metrics: Metrics,
    last_pass: Option<PassResult>,
    /// This pass's valuations of the positions checked on chain.
    current: HashMap<u64, Valuation>,
    /// A freeze's simulated gas, by position.
    freeze_gas: HashMap<u64, u64>,
}

impl DeskState {
    pub async fn new(desk: &LiquidatorDesk, module: Address) -> Self {
        let l = &desk.config.liquidator;
        let receiver = l.receiver.trim().parse().unwrap_or(desk.account);
        let chain_id = desk.chain.chain_id();
        let mut prices = HashMap::new();
        for entry in &l.prices {
            let asset = if entry.asset.trim().eq_ignore_ascii_case("eth") {
                Some(Address::ZERO)
            } else if let Ok(address) = entry.asset.trim().parse::<Address>() {
                Some(address)
            } else {
                desk.store
                    .deployment(chain_id, entry.asset.trim())
                    .await
                    .ok()
                    .flatten()
                    .map(|d| d.address)
            };
            let Some(asset) = asset else {
                tracing::warn!(asset = %entry.asset, "liquidator: no such deployment for a price; ignored");
                continue;
            };
            let source = if !entry.usd.trim().is_empty() {
                UsdPrice::parse(&entry.usd).ok().map(PriceSource::Fixed)
            } else {
                let feed = entry.feed.trim();
                desk.config
                    .oracle
                    .feeds
                    .iter()
                    .find(|f| f.symbol == feed)
                    .map(|f| f.price_id.as_str())
                    .unwrap_or(feed)
                    .parse::<B256>()
                    .ok()
                    .map(PriceSource::Feed)
            };
            if let Some(source) = source {
                prices.insert(asset, source);
            }
        }
        Self {
            module,
            chain_id,
            me: desk.account,
            receiver,
            auto: desk.config.liquidator.auto,
            book: Book::new(DebtMath::default()),
            positions: BTreeMap::new(),
            orders: BTreeMap::new(),
            oracles_known: BTreeSet::new(),
            tokens: HashMap::new(),
            prices,
            dirty: true,
            loaded: false,
            events_through: 0,
            synced: Default::default(),
            orders_synced: false,
            scanned: false,
            last_head: None,
            head_interval: 1,
            prev_head_time: None,
            asked: BTreeSet::new(),
            detail: None,
            note: None,
            metrics: Metrics::default(),
            last_pass: None,
            current: HashMap::new(),
            freeze_gas: HashMap::new(),
        }
    }

    pub fn index_changed(&mut self) {
        self.dirty = true;
    }

    /// `true` when `head` is a head this state has not passed over yet.
    pub fn new_head(&mut self, head: Option<u64>) -> bool {
        head.is_some() && head != self.last_head
    }

    pub fn request(&mut self, request: DeskRequest, auto: &AtomicBool) {
        match request {
            DeskRequest::Liquidate(id) => {
                self.asked.insert(id);
                self.note = Some(format!("liquidating position #{id} as asked"));
            }
            DeskRequest::ToggleAuto => {
                let now = !auto.load(Ordering::Relaxed);
                auto.store(now, Ordering::Relaxed);
                tracing::info!(auto = now, "liquidator: auto switched by the operator");
            }
            DeskRequest::Detail(id) => self.detail = id,
        }
    }

    pub fn me(&self) -> Address {
        self.me
    }

    pub fn receiver(&self) -> Address {
        self.receiver
    }

    pub fn asked(&self, id: u64) -> bool {
        self.asked.contains(&id)
    }

    /// The order's liquidation reward of position `id`, once read.
    pub fn reward_of(&self, id: u64) -> Option<(Address, U256)> {
        let order = self.positions.get(&id)?.order_id?;
        self.orders.get(&order)?.reward
    }

    /// `health 93.21%` from the last valuation, for a summary.
    pub fn health_text(&self, id: u64) -> String {
        let health = self.current.get(&id).and_then(|v| v.health_bps);
        match health {
            Some(bps) => format!("health {}.{:02}%", bps / 100, bps % 100),
            None => "health unknown".into(),
        }
    }

    /// `25 USDC ≈ $25.00`, for a summary.
    pub fn reward_text(&self, reward: (Address, U256)) -> String {
        match self.tokens.get(&reward.0) {
            Some(t) => t.amount(reward.1, 6),
            None => format!("{} of {}", reward.1, reward.0),
        }
    }

    pub fn native_usd(&self, desk: &LiquidatorDesk) -> Option<UsdPrice> {
        self.usd_price(desk, Address::ZERO)
    }

    fn usd_price(&self, desk: &LiquidatorDesk, asset: Address) -> Option<UsdPrice> {
        match self.prices.get(&asset)? {
            PriceSource::Fixed(price) => Some(*price),
            PriceSource::Feed(id) => desk.prices.get(id).and_then(|p| UsdPrice::from_pyth(&p)),
        }
    }

    async fn token(&mut self, onchain: &OnChain, address: Address) -> TokenInfo {
        if let Some(info) = self.tokens.get(&address) {
            return info.clone();
        }
        let info = onchain.token(address).await;
        self.tokens.insert(address, info.clone());
        info
    }

    /// Brings the working set up to the index: whole the first time, then only the
    /// positions and orders events (or the last sync) touched.
    async fn refresh_working_set(&mut self, desk: &LiquidatorDesk) -> anyhow::Result<()> {
        if !self.loaded {
            return self.reload(desk).await;
        }
        let touched = desk
            .store
            .margin_touched_since(self.chain_id, self.module, self.events_through)
            .await?;
        let mut ids = std::mem::take(&mut self.synced);
        ids.extend(&touched.positions);
        if !touched.orders.is_empty() || std::mem::take(&mut self.orders_synced) {
            self.orders = desk
                .store
                .margin_orders(self.chain_id, self.module)
                .await?
                .into_iter()
                .map(|o| (o.order_id, o))
                .collect();
            // Their positions, and any still missing a term, may only now have them all.
            ids.extend(
                self.positions
                    .values()
                    .filter(|p| {
                        p.order_id.is_some_and(|o| touched.orders.contains(&o))
                            || self.book.get(p.position_id).is_none()
                    })
                    .map(|p| p.position_id),
            );
        }
        let rows = desk
            .store
            .margin_positions_with_ids(self.chain_id, self.module, ids.iter().copied().collect())
            .await?;
        for id in &ids {
            self.positions.remove(id);
            self.book.remove(*id);
        }
        for p in rows
            .into_iter()
            .filter(|p| p.status == PositionStatus::Open)
        {
            if let Some(terms) = terms_of(&p, &self.orders) {
                self.book.upsert(terms);
            }
            self.positions.insert(p.position_id, p);
        }
        self.events_through = touched.through;
        self.dirty = false;
        Ok(())
    }

    /// Loads the whole working set from the index and compiles the book.
    async fn reload(&mut self, desk: &LiquidatorDesk) -> anyhow::Result<()> {
        // Read the event mark first: whatever lands meanwhile is refreshed next time.
        self.events_through = desk
            .store
            .margin_touched_since(self.chain_id, self.module, self.events_through)
            .await?
            .through;
        let open = desk
            .store
            .margin_positions(self.chain_id, self.module, PositionStatus::Open)
            .await?;
        self.orders = desk
            .store
            .margin_orders(self.chain_id, self.module)
            .await?
            .into_iter()
            .map(|o| (o.order_id, o))
            .collect();
        self.positions = open.into_iter().map(|p| (p.position_id, p)).collect();
        let mut book = Book::new(DebtMath::default());
        for oracle in &self.oracles_known {
            book.set_oracle_math(*oracle, self.book.oracle_math(*oracle));
        }
        for p in self.positions.values() {
            let Some(terms) = terms_of(p, &self.orders) else {
                continue;
            };
            for (asset, _) in &terms.holdings {
                if let Some(price) = self.book.price(terms.oracle, terms.base, *asset) {
                    book.set_price(terms.oracle, terms.base, *asset, price);
                }
            }
            book.upsert(terms);
        }
        self.book = book;
        self.dirty = false;
        self.loaded = true;
        self.synced.clear();
        self.orders_synced = false;
        Ok(())
    }

    /// One pass; the snapshot it ends with.
    pub async fn pass(&mut self, desk: &LiquidatorDesk, onchain: &OnChain) -> LiquidatorSnapshot {
        if let Err(e) = self.try_pass(desk, onchain).await {
            tracing::warn!(error = %format!("{e:#}"), "liquidator: pass failed");
            self.note = Some(format!("{e:#}"));
        }
        self.snapshot(desk, onchain).await
    }

    async fn try_pass(&mut self, desk: &LiquidatorDesk, onchain: &OnChain) -> anyhow::Result<()> {
        let module = onchain.module();
        // 1. The index: what events could not tell.
        if !self.scanned {
            let report = sync::startup_scan(&desk.store, self.chain_id, &module).await?;
            onchain.calls.add(report.calls);
            if report.at_block.is_some() {
                self.scanned = true;
                self.loaded = false;
                tracing::info!(?report, "liquidator: start-up scan done");
            }
        }
        let report = sync::sync_stale(&desk.store, self.chain_id, &module).await?;
        onchain.calls.add(report.calls);
        if report.orders_read + report.positions_read > 0 {
            self.synced.extend(&report.written_positions);
            self.orders_synced |= report.orders_read > 0;
            self.dirty = true;
        }
        if self.dirty || !self.loaded {
            self.refresh_working_set(desk).await?;
        }

        // 2. Prices at the head, and the time the next block will have.
        let (head, head_time) = onchain.head().await?;
        if let Some(prev) = self.prev_head_time
            && head_time > prev
            && self.last_head.is_some_and(|h| head > h)
        {
            self.head_interval = (head_time - prev).clamp(1, 60);
        }
        self.prev_head_time = Some(head_time);
        self.last_head = Some(head);
        let at = head_time + self.head_interval;
        let mut pairs = BTreeSet::new();
        let mut oracles = BTreeSet::new();
        for p in self.positions.values() {
            let Some(terms) = terms_of(p, &self.orders) else {
                continue;
            };
            oracles.insert(terms.oracle);
            for (asset, _) in &terms.holdings {
                pairs.insert((terms.oracle, terms.base, *asset));
            }
        }
        for oracle in oracles {
            if self.oracles_known.insert(oracle) {
                let math = onchain.oracle_math(oracle).await;
                self.book.set_oracle_math(oracle, math);
            }
        }
        for (oracle, base, asset) in pairs {
            let price = onchain.pair_price(oracle, base, asset, head).await;
            self.book
                .set_price(oracle, base, asset, price.unwrap_or(U256::ZERO));
        }

        // 3. Every position, locally.
        let started = Instant::now();
        let revaluation = self.book.revalue(at);
        self.metrics.revalue_us = started.elapsed().as_micros() as u64;
        let queue = Queue::build(revaluation, MAX_ROWS, desk.config.liquidator.near_edge_bps);

        // 4. On chain: only the flagged ones, ours in flight, and what the operator asked.
        let rounds: BTreeMap<u64, LiquidationRecord> = desk
            .store
            .active_liquidations(self.chain_id, self.module)
            .await?
            .into_iter()
            .map(|r| (r.position_id, r))
            .collect();
        let mut to_check: BTreeSet<u64> = queue.candidates().iter().copied().collect();
        to_check.extend(rounds.keys());
        to_check.extend(self.asked.iter());
        self.current = to_check
            .iter()
            .filter_map(|id| queue.revaluation().find(*id).map(|v| (*id, *v)))
            .collect();
        let calls_before_checks = onchain.calls.take();
        let mut checks = BTreeMap::new();
        for id in &to_check {
            match onchain.check(*id).await {
                Ok(check) => {
                    checks.insert(*id, check);
                }
                Err(e) => tracing::warn!(position = id, error = %e, "liquidator: check failed"),
            }
        }
        let checks_made = to_check.len() as u64;
        let fee_per_gas = if checks.values().any(|c| c.liquidatable) || !rounds.is_empty() {
            onchain.fee_per_gas().await.ok()
        } else {
            None
        };

        // 5. Decide and act.
        let mut evaluations = BTreeMap::new();
        for (&id, check) in &checks {
            let round = match rounds.get(&id) {
                Some(r) => act::follow(desk, self, r, check).await?,
                None => None,
            };
            let profitability = self
                .profitability(desk, onchain, id, check, round.as_ref(), fee_per_gas)
                .await;
            let verdict = &profitability.verdict;
            let order_owner = self
                .positions
                .get(&id)
                .and_then(|p| p.order_id)
                .and_then(|o| self.orders.get(&o))
                .map(|o| o.owner)
                .unwrap_or_default();
            let situation = Situation {
                check,
                ours: round.as_ref(),
                me: self.me,
                head_time,
                order_owner,
                lender_mode: desk.config.liquidator.lender_mode,
                auto: self.auto,
                operator_asked: self.asked.contains(&id),
                worth: verdict.is_worth(),
                worth_reason: verdict.reason(),
            };
            let decision = strategy::decide(&situation);
            let reason = act::carry_out(
                desk,
                self,
                onchain,
                id,
                check,
                round.as_ref(),
                &decision,
                &profitability,
            )
            .await
            .unwrap_or_else(|e| format!("{e:#}"));
            if self.asked.remove(&id) && !matches!(decision, Decision::Freeze | Decision::Confirm) {
                self.note = Some(format!("position #{id}: {reason}"));
            }
            evaluations.insert(id, (*check, profitability, reason));
        }
        let total = onchain.calls.take() + calls_before_checks;
        self.metrics.last_pass_calls = total;
        self.metrics.last_pass_checks = checks_made;
        self.metrics.passes += 1;
        self.metrics.total_calls += total;
        desk.pass_counters.pass(total, checks_made);
        desk.pass_counters
            .watched(queue.revaluation().len(), evaluations.len());
        self.last_pass = Some(PassResult {
            head: (head, head_time),
            at,
            queue,
            evaluations,
        });
        Ok(())
    }

    /// The reward against the gas still to spend on `id`.
    async fn profitability(
        &mut self,
        desk: &LiquidatorDesk,
        onchain: &OnChain,
        id: u64,
        check: &ChainCheck,
        round: Option<&LiquidationRecord>,
        fee_per_gas: Option<u128>,
    ) -> Profitability {
        let l = &desk.config.liquidator;
        let rules = ProfitRules {
            min_profit_cents: l.min_profit,
            always_above_cents: l.always_liquidate_reward_above,
            max_fee_per_gas_wei: u128::from(l.max_fee_per_gas) * 1_000_000_000,
        };
        let position = self.positions.get(&id).cloned();
        let reward = position
            .as_ref()
            .and_then(|p| p.order_id)
            .and_then(|o| self.orders.get(&o))
            .and_then(|o| o.reward);
        let unknown = |why: &str| Profitability {
            reward_usd_cents: None,
            gas_wei: U256::ZERO,
            gas_usd_cents: None,
            profit_usd_cents: None,
            verdict: Verdict::Unknown(why.into()),
        };
        let Some((reward_asset, reward_amount)) = reward else {
            return unknown("the order's reward is not read yet");
        };
        let Some(fee_per_gas) = fee_per_gas else {
            return unknown("no fee quote from the node");
        };
        let sold = position
            .as_ref()
            .map_or(0, |p| p.holdings.len().saturating_sub(1)) as u64;
        let confirm_gas = l.confirm_gas + l.confirm_gas_per_asset * sold;
        let frozen_by_us = matches!(
            check.freeze(self.me, self.prev_head_time.unwrap_or(0)),
            Freeze::Ours { .. }
        );
        let gas = if frozen_by_us {
            confirm_gas
        } else if check.liquidatable && round.is_none() {
            // Simulated once per position: a freeze costs the same every block, and node
            // calls per block must not grow with the positions left underwater.
            let freeze = match self.freeze_gas.get(&id) {
                Some(gas) => *gas,
                None => {
                    let gas = onchain
                        .simulate_liquidate(self.me, id, self.receiver)
                        .await
                        .unwrap_or(l.freeze_gas);
                    self.freeze_gas.insert(id, gas);
                    gas
                }
            };
            freeze + confirm_gas
        } else {
            l.freeze_gas + confirm_gas
        };
        let reward_token = self.token(onchain, reward_asset).await;
        let inputs = ProfitInputs {
            reward_amount,
            reward_decimals: reward_token.decimals,
            reward_price: self.usd_price(desk, reward_asset),
            native_price: self.usd_price(desk, Address::ZERO),
            gas,
            fee_per_gas,
        };
        profit::judge(&inputs, &rules)
    }
}

/// What the last pass saw, for the snapshot.
pub struct PassResult {
    pub head: (u64, u64),
    pub at: u64,
    pub queue: Queue,
    pub evaluations: BTreeMap<u64, (ChainCheck, Profitability, String)>,
}

/// The valuation terms of an indexed position, once everything is known.
fn terms_of(p: &MarginPosition, orders: &BTreeMap<u64, MarginOrder>) -> Option<PositionTerms> {
    if !p.is_complete() {
        return None;
    }
    let order = orders.get(&p.order_id?)?;
    let (base, base_balance) = *p.holdings.first()?;
    Some(PositionTerms {
        id: p.position_id,
        order_id: order.order_id,
        oracle: order.oracle,
        base,
        initial_balance: p.initial_balance,
        interest: p.interest?,
        created_at: p.created_at?,
        base_balance,
        holdings: p.holdings[1..].to_vec(),
    })
}

impl DeskState {
    /// The pane's snapshot from the last pass and the journal.
    async fn snapshot(&mut self, desk: &LiquidatorDesk, onchain: &OnChain) -> LiquidatorSnapshot {
        let mut snapshot = LiquidatorSnapshot {
            chain: desk.chain.name().to_string(),
            module: Some(self.module),
            note: self.note.clone(),
            auto: self.auto,
            ..LiquidatorSnapshot::default()
        };
        let rounds: BTreeMap<u64, LiquidationRecord> = desk
            .store
            .liquidation_history(self.chain_id, self.module, 200)
            .await
            .unwrap_or_default()
            .into_iter()
            .rev()
            .map(|r| (r.position_id, r))
            .collect();
        if let Some(pass) = self.last_pass.take() {
            snapshot.head = Some(pass.head);
            snapshot.valued_at = pass.at;
            let mut shown = BTreeSet::new();
            let valuations: Vec<Valuation> = pass.queue.top_by_health(MAX_ROWS).copied().collect();
            for v in &valuations {
                shown.insert(v.id);
                let row = self
                    .row(
                        onchain,
                        v.id,
                        Some(v),
                        pass.evaluations.get(&v.id),
                        rounds.get(&v.id),
                    )
                    .await;
                snapshot.rows.extend(row);
            }
            // Positions that left the working set with one of our rounds (confirmed, lost).
            for (id, round) in rounds.iter().rev().take(50) {
                if shown.contains(id) || !self.recent(round) {
                    continue;
                }
                let row = self
                    .row(onchain, *id, None, pass.evaluations.get(id), Some(round))
                    .await;
                snapshot.rows.extend(row);
            }
            snapshot.totals.monitored = pass.queue.revaluation().len();
            snapshot.totals.candidates = pass.evaluations.len();
            snapshot.totals.liquidatable = pass
                .evaluations
                .values()
                .filter(|(c, _, _)| c.liquidatable && !c.closed)
                .count();
            self.last_pass = Some(pass);
        }
        snapshot.days = desk
            .store
            .liquidation_days(self.chain_id, self.module)
            .await
            .unwrap_or_default();
        snapshot.totals = Totals {
            confirmed: snapshot.days.iter().map(|d| d.confirmed).sum(),
            failed: snapshot.days.iter().map(|d| d.failed).sum(),
            realised_profit_cents: snapshot.days.iter().map(|d| d.profit_usd_cents).sum(),
            ..snapshot.totals
        };
        snapshot.metrics = self.metrics.clone();
        if let Some(id) = self.detail {
            snapshot.detail = self.detail(desk, onchain, id).await;
        }
        snapshot
    }

    /// A round finished within the last day stays on the pane.
    fn recent(&self, round: &LiquidationRecord) -> bool {
        !round.state.is_final()
            || chrono::Utc::now().timestamp_millis() - round.updated_at_ms < 86_400_000
    }

    async fn row(
        &mut self,
        onchain: &OnChain,
        id: u64,
        valuation: Option<&Valuation>,
        evaluation: Option<&(ChainCheck, Profitability, String)>,
        round: Option<&LiquidationRecord>,
    ) -> Option<CandidateRow> {
        let position = match self.positions.get(&id) {
            Some(p) => p.clone(),
            None => return self.closed_row(onchain, id, round).await,
        };
        let order = position.order_id.and_then(|o| self.orders.get(&o)).cloned();
        let base = self.token(onchain, position.base_asset).await;
        let (reward_asset, reward_amount) = order
            .as_ref()
            .and_then(|o| o.reward)
            .unwrap_or((Address::ZERO, U256::ZERO));
        let reward = self.token(onchain, reward_asset).await;
        let round_state = round.filter(|r| !r.state.is_final() || self.recent(r));
        let head_time = self.prev_head_time.unwrap_or(0);
        let (state, reason) = row_state(self.me, head_time, evaluation, round_state);
        let profitability = evaluation.map(|(_, p, _)| p);
        Some(CandidateRow {
            position_id: id,
            order_id: position.order_id.unwrap_or_default(),
            owner: position.owner,
            base,
            value: valuation.and_then(|v| v.value),
            debt: valuation
                .and_then(|v| v.debt)
                .unwrap_or(position.initial_balance),
            health_bps: valuation.and_then(|v| v.health_bps),
            insolvent_at: valuation.and_then(|v| v.insolvent_at),
            reward,
            reward_amount,
            reward_usd_cents: profitability.and_then(|p| p.reward_usd_cents),
            gas_usd_cents: profitability.and_then(|p| p.gas_usd_cents),
            profit_usd_cents: profitability.and_then(|p| p.profit_usd_cents),
            state,
            reason,
        })
    }

    async fn closed_row(
        &mut self,
        onchain: &OnChain,
        id: u64,
        round: Option<&LiquidationRecord>,
    ) -> Option<CandidateRow> {
        let round = round?;
        let reward = self.token(onchain, round.reward_asset).await;
        let (state, reason) = row_state(self.me, 0, None, Some(round));
        Some(CandidateRow {
            position_id: id,
            order_id: 0,
            owner: Address::ZERO,
            base: reward.clone(),
            value: None,
            debt: U256::ZERO,
            health_bps: None,
            insolvent_at: None,
            reward,
            reward_amount: round.reward_amount,
            reward_usd_cents: round.reward_usd_cents,
            gas_usd_cents: round.gas_usd_cents,
            profit_usd_cents: round.profit_usd_cents,
            state,
            reason,
        })
    }

    async fn detail(
        &mut self,
        desk: &LiquidatorDesk,
        onchain: &OnChain,
        id: u64,
    ) -> Option<PositionDetail> {
        let store = &desk.store;
        let position = store
            .margin_position(self.chain_id, self.module, id)
            .await
            .ok()??;
        let order = match position.order_id {
            Some(o) => store
                .margin_order(self.chain_id, self.module, o)
                .await
                .ok()?,
            None => None,
        };
        let mut tokens = Vec::new();
        for (asset, _) in &position.holdings {
            tokens.push(self.token(onchain, *asset).await);
        }
        let events = store
            .margin_events(self.chain_id, self.module, id)
            .await
            .unwrap_or_default();
        Some(PositionDetail {
            position,
            order,
            tokens,
            events,
        })
    }
}

/// The pane's state and reason for a position.
fn row_state(
    me: Address,
    head_time: u64,
    evaluation: Option<&(ChainCheck, Profitability, String)>,
    round: Option<&LiquidationRecord>,
) -> (RowState, String) {
    let reason = evaluation.map(|(_, _, r)| r.clone());
    if let Some(round) = round {
        let note = || round.note.clone().unwrap_or_default();
        let state = match round.state {
            LiquidationState::Freezing => RowState::Freezing,
            LiquidationState::Frozen => RowState::FrozenByUs,
            LiquidationState::Confirming => RowState::Confirming,
            LiquidationState::Confirmed => RowState::Confirmed,
            LiquidationState::Recovered => RowState::Recovered,
            LiquidationState::Failed | LiquidationState::Expired | LiquidationState::Lost => {
                RowState::Failed
            }
        };
        let reason = if round.state.is_final() {
            format!("{}: {}", round.state.as_str(), note())
        } else {
            reason.unwrap_or_else(note)
        };
        return (state, reason);
    }
    match evaluation {
        Some((check, _, reason)) => {
            let state = match check.freeze(me, head_time) {
                Freeze::Other { .. } => RowState::FrozenByOther,
                Freeze::Ours { .. } => RowState::FrozenByUs,
                Freeze::None | Freeze::Expired => RowState::Watching,
            };
            (state, reason.clone())
        }
        None => (RowState::Watching, String::new()),
    }
}
