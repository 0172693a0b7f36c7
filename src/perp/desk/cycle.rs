//! One cycle of the perp desk: read DePerp, price the markets, evaluate the flags, settle
//! orphaned orders, let the hedger decide, propose (or withdraw) actions, answer the
//! operator, compare the venue with the journal, and build the pane's snapshot.
//!
//! Proposals are keyed per attempt ([`proposals`]), so a restart finds what it already
//! proposed. A new attempt is proposed on the desk's own only when the last one is
//! finished: after a failure, once its back-off has passed; after the operator rejected it,
//! only once the risk has cleared and come back (a rejection is an answer, not noise to
//! retry); the operator's own `o` and `c` skip both waits.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

use alloy::primitives::Address;
use rust_decimal::Decimal;

use super::executor::{hedge_of_close_key, position_of_open_key};
use super::prices::market_prices;
use super::proposals::{
    self, OPERATOR_ASKED, OrderSpec, close_action, close_key, open_action, open_key,
    retry_after_secs, trailing_failures,
};
use super::reconcile::{self, Settled};
use super::snapshot::{self, Inputs};
use super::{Contracts, PerpDesk};
use crate::actions::{Action, ActionKind, ActionState};
use crate::desks::{Desk, Severity};
use crate::perp::hedger::{
    CloseReason, Decision, HedgeAction, HedgeView, HedgerInput, PositionView, RiskSignal, decide,
};
use crate::perp::pane::PerpSnapshot;
use crate::perp::reader::DePerpReader;
use crate::perp::requests::PerpRequest;
use crate::perp::risk::{RiskFactors, evaluate};
use crate::perp::venue::{VenuePosition, lot};
use crate::store::perp::{Hedge, HedgeState};
use crate::tui::format::short_address;

/// How often the venue's positions are read (the pane's marks and the journal check).
const VENUE_CHECK_SECS: i64 = 10;
/// Finished hedges the pane lists after the live ones.
const RECENT_HEDGES: usize = 20;

/// What the desk keeps between cycles; everything else is read again each cycle, and all of
/// this can be lost on a restart without doing anything twice.
pub struct Memory {
    reader: DePerpReader,
    /// The line last said under each key, so a standing condition is said once.
    said: HashMap<String, String>,
    /// When each position was last seen with no flag (unix seconds).
    last_clear: HashMap<String, i64>,
    venue_positions: Vec<VenuePosition>,
    venue_checked_at: Option<i64>,
}

impl Memory {
    pub fn new(registry: Address) -> Memory {
        Memory {
            reader: DePerpReader::new(registry),
            said: HashMap::new(),
            last_clear: HashMap::new(),
            venue_positions: Vec::new(),
            venue_checked_at: None,
        }
    }

    /// Whether `line` is new under `key` (then it is remembered).
    pub fn say_once(&mut self, key: &str, line: &str) -> bool {
        if self.said.get(key).is_some_and(|said| said == line) {
            return false;
        }
        self.said.insert(key.to_string(), line.to_string());
        true
    }

    fn forget(&mut self, key: &str) {
        self.said.remove(key);
    }
}

/// `BTC-USD long of 0xf39F…2266`.
fn describe(view: &PositionView) -> String {
    let user = view.position_key.split(':').next().unwrap_or_default();
    format!(
        "{} {} of {}",
        view.market,
        if view.is_long { "long" } else { "short" },
        short_address(user)
    )
}

fn hedge_view(h: &Hedge) -> HedgeView {
    HedgeView {
        position_key: h.position_key.clone(),
        symbol: h.symbol.clone(),
        side: h.side,
        quantity: h.quantity,
        state: h.state,
        last_flag_at: h.last_flag_at,
    }
}

fn operator_asked(action: &Action) -> bool {
    action.summary.contains(OPERATOR_ASKED)
}

impl PerpDesk {
    fn factors(&self) -> anyhow::Result<RiskFactors> {
        let p = &self.config.perp;
        let parse = |field: &str, text: &str| {
            Decimal::from_str(text.trim())
                .map_err(|_| anyhow::anyhow!("perp.{field}: not a decimal: {text:?}"))
        };
        RiskFactors::new(
            parse("vault_factor", &p.vault_factor)?,
            parse("vault_profit_limit_factor", &p.vault_profit_limit_factor)?,
            parse("profit_limit_interest", &p.profit_limit_interest)?,
        )
        .map_err(|e| anyhow::anyhow!("perp.{}: {}", e.field(), e.reason()))
    }

    fn say(&self, memory: &mut Memory, key: &str, severity: Severity, line: String) {
        if memory.say_once(key, &line) {
            self.journal(severity, line);
        }
    }

    /// Runs one cycle at `now` (unix seconds) with the requests that arrived since the last.
    pub async fn cycle(
        &self,
        contracts: &Contracts,
        asked: &[PerpRequest],
        memory: &mut Memory,
        now: i64,
    ) -> anyhow::Result<PerpSnapshot> {
        let p = &self.config.perp;
        let assets: Vec<(Address, u8)> =
            contracts.assets.iter().map(|(a, d, _)| (*a, *d)).collect();
        let provider = self.chain.provider();
        let state = memory.reader.read(&provider, &assets).await?;
        memory.forget("cycle-failed");

        let prices = market_prices(
            &state.markets,
            &self.prices.snapshot(),
            p.price_decimals,
            now,
        );
        let traded: HashSet<&str> = state.positions.iter().map(|p| p.market.as_str()).collect();
        for market in &state.markets {
            let key = format!("no-price:{}", market.name);
            match prices.missing.get(&market.name) {
                Some(why) if traded.contains(market.name.as_str()) => {
                    self.say(memory, &key, Severity::Failure, why.describe(market))
                }
                _ => memory.forget(&key),
            }
        }
        if let Some(marks) = &self.venue.paper_marks {
            for (market, symbol) in &p.markets {
                if let Some(usd) = prices.usd.get(market) {
                    marks.set(symbol, *usd);
                }
            }
        }

        let report = evaluate(&state, &|m| prices.scaled.get(m).copied(), &self.factors()?);
        let views: Vec<PositionView> = report.positions.iter().map(PositionView::from).collect();
        memory
            .last_clear
            .retain(|key, _| views.iter().any(|v| &v.position_key == key));
        for v in &views {
            if v.risk == RiskSignal::Clear {
                memory.last_clear.insert(v.position_key.clone(), now);
            }
        }

        self.settle_orphans(memory, now).await?;
        let venue_name = self.venue.venue.name().to_string();
        let mut ours = Vec::new();
        for h in self.store.perp_live_hedges().await? {
            if h.venue == venue_name {
                ours.push(h);
            } else {
                let line = format!(
                    "hedge #{} is on {}, not on the configured {venue_name}: left alone",
                    h.id, h.venue
                );
                self.say(
                    memory,
                    &format!("other-venue:{}", h.id),
                    Severity::Failure,
                    line,
                );
            }
        }
        let hedge_views: Vec<HedgeView> = ours.iter().map(hedge_view).collect();
        let decisions = decide(&HedgerInput {
            now,
            positions: &views,
            hedges: &hedge_views,
            symbols: &p.markets,
            prices: &prices.usd,
            expiry_secs: i64::try_from(p.expiry_secs).unwrap_or(i64::MAX),
            auto: self.auto(),
        });
        for decision in &decisions {
            if let Err(e) = self.act(decision, &views, &ours, memory, now).await {
                let line = format!("{}: {e:#}", decision.action.position_key());
                self.say(
                    memory,
                    &format!("act:{}", decision.action.position_key()),
                    Severity::Failure,
                    line,
                );
            }
        }
        for request in asked {
            if let Err(e) = self
                .answer(
                    request,
                    &views,
                    &ours,
                    &hedge_views,
                    &prices.usd,
                    memory,
                    now,
                )
                .await
            {
                self.journal(Severity::Failure, format!("{request:?}: {e:#}"));
            }
        }
        self.withdraw_stale(&views, &ours).await?;
        self.check_venue(&ours, memory, now).await;

        let mut hedges = self.store.perp_live_hedges().await?;
        hedges.extend(
            self.store
                .perp_recent_hedges(RECENT_HEDGES)
                .await?
                .into_iter()
                .filter(|h| !h.state.is_live()),
        );
        let actions = self.queue.snapshot();
        let perp_actions: Vec<Action> = actions
            .actions
            .iter()
            .filter(|a| a.desk == Desk::Perp)
            .cloned()
            .collect();
        let asset_names: BTreeMap<Address, String> = contracts
            .assets
            .iter()
            .map(|(a, _, name)| (*a, name.clone()))
            .collect();
        let built = snapshot::build(&Inputs {
            report: &report,
            prices: &prices,
            hedges: &hedges,
            actions: &perp_actions,
            venue_positions: &memory.venue_positions,
            asset_names: &asset_names,
            symbols: &p.markets,
            price_decimals: p.price_decimals,
            expiry_secs: i64::try_from(p.expiry_secs).unwrap_or(i64::MAX),
            now,
        });
        Ok(PerpSnapshot {
            chain: self.chain.name().to_string(),
            venue: self.venue.label.clone(),
            auto: self.auto(),
            ..built
        })
    }

    async fn act(
        &self,
        decision: &Decision,
        views: &[PositionView],
        ours: &[Hedge],
        memory: &mut Memory,
        now: i64,
    ) -> anyhow::Result<()> {
        let view = |key: &str| views.iter().find(|v| v.position_key == key);
        match &decision.action {
            HedgeAction::Open {
                position_key,
                symbol,
                side,
                quantity,
                reason,
            } => {
                if decision.needs_operator {
                    return Ok(());
                }
                let Some(view) = view(position_key) else {
                    return Ok(());
                };
                let spec = OrderSpec {
                    venue: self.venue.venue.name(),
                    market: &view.market,
                    symbol,
                    side: *side,
                    quantity: *quantity,
                };
                self.propose_open(view, &spec, reason, false, memory, now)
                    .await
            }
            HedgeAction::Refresh { position_key } => {
                for h in ours.iter().filter(|h| {
                    &h.position_key == position_key
                        && matches!(h.state, HedgeState::Opening | HedgeState::Open)
                        && h.last_flag_at < now
                }) {
                    self.store.perp_refresh_hedge(h.id, now).await?;
                }
                Ok(())
            }
            HedgeAction::Close {
                position_key,
                reason,
                ..
            } => {
                if decision.needs_operator {
                    return Ok(());
                }
                let Some(hedge) = ours
                    .iter()
                    .find(|h| &h.position_key == position_key && h.state == HedgeState::Open)
                else {
                    return Ok(());
                };
                self.propose_close(hedge, Some(*reason), reason.as_str(), false, memory, now)
                    .await
            }
            HedgeAction::Unhedgeable {
                position_key,
                reason,
            } => {
                let who = view(position_key).map(describe).unwrap_or_default();
                let line = format!("{who} is flagged but cannot be hedged: {reason}");
                self.say(
                    memory,
                    &format!("unhedgeable:{position_key}"),
                    Severity::Failure,
                    line,
                );
                Ok(())
            }
        }
    }

    /// Proposes the next attempt at hedging `view`, unless one is on its way or the last
    /// one says to wait (see the module's rules; `operator` skips the waits).
    async fn propose_open(
        &self,
        view: &PositionView,
        spec: &OrderSpec<'_>,
        why: &str,
        operator: bool,
        memory: &mut Memory,
        now: i64,
    ) -> anyhow::Result<()> {
        let key = &view.position_key;
        let (attempts, next) = proposals::attempts(&self.store, |n| open_key(n, key)).await?;
        if let Some(last) = attempts.last() {
            if !last.state.is_terminal() {
                return Ok(());
            }
            let cleared_since = memory
                .last_clear
                .get(key)
                .is_some_and(|at| at * 1_000 > last.updated_at);
            if !operator && !self.may_retry(memory, last, &attempts, key, now, cleared_since) {
                return Ok(());
            }
        }
        let what = describe(view);
        let Some(quantity) = self
            .on_step(spec, &format!("hedge {what}"), key, operator, memory)
            .await?
        else {
            return Ok(());
        };
        let spec = OrderSpec { quantity, ..*spec };
        let action = open_action(next, key, &what, &spec, why);
        self.queue.propose(action).await?;
        memory.forget(&format!("retry:{key}"));
        Ok(())
    }

    /// Proposes the next attempt at closing `hedge` (same rules as opening).
    async fn propose_close(
        &self,
        hedge: &Hedge,
        reason: Option<CloseReason>,
        why: &str,
        operator: bool,
        memory: &mut Memory,
        now: i64,
    ) -> anyhow::Result<()> {
        let (attempts, next) = proposals::attempts(&self.store, |n| close_key(hedge.id, n)).await?;
        if let Some(last) = attempts.last() {
            if !last.state.is_terminal() {
                return Ok(());
            }
            // A rejected close for a cleared risk is proposed again only once the risk came
            // back and cleared again; one for a vanished position waits for `c`.
            let key = format!("hedge:{}", hedge.id);
            let came_back = hedge.last_flag_at * 1_000 > last.updated_at;
            let again = reason == Some(CloseReason::RiskCleared) && came_back;
            if !operator && !self.may_retry(memory, last, &attempts, &key, now, again) {
                return Ok(());
            }
        }
        let venue = self.venue.venue.name();
        let spec = OrderSpec {
            venue,
            market: &hedge.market,
            symbol: &hedge.symbol,
            side: hedge.side.opposite(),
            quantity: hedge.quantity,
        };
        let what = format!("close hedge #{}", hedge.id);
        let key = format!("hedge:{}", hedge.id);
        let Some(quantity) = self.on_step(&spec, &what, &key, operator, memory).await? else {
            return Ok(());
        };
        self.queue
            .propose(close_action(hedge, next, venue, quantity, why))
            .await?;
        Ok(())
    }

    /// `spec`'s quantity as the venue will trade it: rounded toward zero to the symbol's
    /// step ([`Venue::lot_rule`](crate::perp::venue::Venue::lot_rule)), so the action says
    /// what is sent. `None` when it falls below the venue's minimum (or above its maximum):
    /// nothing is proposed, and the pane says why (once per reason under `key`, unless the
    /// operator asked).
    async fn on_step(
        &self,
        spec: &OrderSpec<'_>,
        what: &str,
        key: &str,
        operator: bool,
        memory: &mut Memory,
    ) -> anyhow::Result<Option<Decimal>> {
        let rule = self.venue.venue.lot_rule(spec.symbol).await?;
        let said = format!("lot:{key}");
        match lot::market_quantity(rule, spec.quantity) {
            Ok(quantity) => {
                memory.forget(&said);
                Ok(Some(quantity))
            }
            Err(refusal) => {
                let line = format!(
                    "cannot {what} on {}: {} {refusal}; nothing proposed",
                    spec.venue, spec.symbol
                );
                if operator {
                    self.journal(Severity::Failure, line);
                } else {
                    self.say(memory, &said, Severity::Failure, line);
                }
                Ok(None)
            }
        }
    }

    /// Whether the desk may propose again after `last` (finished): a confirmed attempt is
    /// history; a failed one waits out its back-off (said once); a rejected one waits for
    /// `after_rejection`.
    fn may_retry(
        &self,
        memory: &mut Memory,
        last: &Action,
        attempts: &[Action],
        key: &str,
        now: i64,
        after_rejection: bool,
    ) -> bool {
        match last.state {
            ActionState::Failed => {
                let failures = trailing_failures(attempts);
                let at = last.updated_at / 1_000 + retry_after_secs(failures);
                if now >= at {
                    return true;
                }
                let line = format!(
                    "{}: attempt {} failed ({}); the desk tries again in {}s (o or c on the tab asks now)",
                    last.summary,
                    attempts.len(),
                    last.note.as_deref().unwrap_or("no reason given"),
                    at - now
                );
                let said_key = format!("retry:{key}");
                if !memory.said.contains_key(&said_key) {
                    self.say(memory, &said_key, Severity::Failure, line);
                }
                false
            }
            ActionState::Rejected => after_rejection,
            _ => true,
        }
    }

    /// The operator's `o` (hedge this position now, flags or not) and `c` (close this
    /// hedge now).
    #[allow(clippy::too_many_arguments)]
    async fn answer(
        &self,
        request: &PerpRequest,
        views: &[PositionView],
        ours: &[Hedge],
        hedge_views: &[HedgeView],
        usd: &BTreeMap<String, Decimal>,
        memory: &mut Memory,
        now: i64,
    ) -> anyhow::Result<()> {
        match request {
            PerpRequest::OpenHedge { position_key } => {
                let Some(view) = views.iter().find(|v| &v.position_key == position_key) else {
                    self.journal(
                        Severity::Failure,
                        format!("cannot hedge {position_key}: it is no longer on DePerp"),
                    );
                    return Ok(());
                };
                let why = match &view.risk {
                    RiskSignal::Flagged(reasons) => {
                        format!("{}; {OPERATOR_ASKED}", reasons.join("; "))
                    }
                    _ => OPERATOR_ASKED.to_string(),
                };
                let mut asked = view.clone();
                asked.risk = RiskSignal::Flagged(vec![why.clone()]);
                let decisions = decide(&HedgerInput {
                    now,
                    positions: std::slice::from_ref(&asked),
                    hedges: hedge_views,
                    symbols: &self.config.perp.markets,
                    prices: usd,
                    expiry_secs: i64::try_from(self.config.perp.expiry_secs).unwrap_or(i64::MAX),
                    auto: true,
                });
                match decisions.into_iter().next().map(|d| d.action) {
                    Some(HedgeAction::Open {
                        symbol,
                        side,
                        quantity,
                        ..
                    }) => {
                        let spec = OrderSpec {
                            venue: self.venue.venue.name(),
                            market: &view.market,
                            symbol: &symbol,
                            side,
                            quantity,
                        };
                        self.propose_open(view, &spec, &why, true, memory, now)
                            .await
                    }
                    Some(HedgeAction::Unhedgeable { reason, .. }) => {
                        self.journal(
                            Severity::Failure,
                            format!("cannot hedge {}: {reason}", describe(view)),
                        );
                        Ok(())
                    }
                    _ => {
                        self.journal(
                            Severity::Waiting,
                            format!("{} is hedged already", describe(view)),
                        );
                        Ok(())
                    }
                }
            }
            PerpRequest::CloseHedge { hedge_id } => match ours.iter().find(|h| h.id == *hedge_id) {
                Some(hedge) if hedge.state == HedgeState::Open => {
                    self.propose_close(hedge, None, OPERATOR_ASKED, true, memory, now)
                        .await
                }
                Some(hedge) => {
                    self.journal(
                        Severity::Failure,
                        format!(
                            "hedge #{hedge_id} is {}: only an open hedge can be closed",
                            hedge.state.as_str()
                        ),
                    );
                    Ok(())
                }
                None => {
                    self.journal(
                        Severity::Failure,
                        format!(
                            "hedge #{hedge_id} is not live on {}",
                            self.venue.venue.name()
                        ),
                    );
                    Ok(())
                }
            },
            PerpRequest::SetAuto(_) => Ok(()),
        }
    }

    /// Takes back proposals nobody approved that no longer make sense: an open for a
    /// position that is gone (or whose risk cleared, unless the operator asked for it), a
    /// close for a hedge that is no longer open (or whose risk came back).
    async fn withdraw_stale(&self, views: &[PositionView], ours: &[Hedge]) -> anyhow::Result<()> {
        let snapshot = self.queue.snapshot();
        for action in snapshot
            .actions
            .iter()
            .filter(|a| a.state == ActionState::Proposed && a.desk == Desk::Perp)
        {
            let why = match action.kind {
                ActionKind::OpenHedge => {
                    let Some(key) = position_of_open_key(&action.key) else {
                        continue;
                    };
                    match views.iter().find(|v| v.position_key == key) {
                        None => Some("the position is no longer on DePerp".to_string()),
                        Some(v) if v.risk == RiskSignal::Clear && !operator_asked(action) => {
                            Some("the risk cleared before it was approved".to_string())
                        }
                        _ => None,
                    }
                }
                ActionKind::CloseHedge => {
                    let Some(id) = hedge_of_close_key(&action.key) else {
                        continue;
                    };
                    match ours.iter().find(|h| h.id == id) {
                        None => Some(format!("hedge #{id} is no longer live")),
                        Some(h) if h.state != HedgeState::Open => {
                            Some(format!("hedge #{id} is {}", h.state.as_str()))
                        }
                        Some(h) => {
                            let flagged = views.iter().any(|v| {
                                v.position_key == h.position_key
                                    && matches!(v.risk, RiskSignal::Flagged(_))
                            });
                            (flagged
                                && !operator_asked(action)
                                && action.summary.contains(CloseReason::RiskCleared.as_str()))
                            .then(|| "the risk is back".to_string())
                        }
                    }
                }
                _ => None,
            };
            if let Some(why) = why {
                self.queue.withdraw(action.id, &why).await?;
                self.journal(
                    Severity::Waiting,
                    format!("withdrew action #{} ({}): {why}", action.id, action.kind),
                );
            }
        }
        Ok(())
    }

    /// Settles hedges whose order is in flight but whose action will not run again.
    async fn settle_orphans(&self, memory: &mut Memory, now: i64) -> anyhow::Result<()> {
        let venue = self.venue.venue.as_ref();
        for hedge in self.store.perp_live_hedges().await? {
            if hedge.venue != venue.name() || !reconcile::is_orphan(&self.store, &hedge).await? {
                continue;
            }
            let key = format!("orphan:{}", hedge.id);
            match reconcile::settle_orphan(
                &self.store,
                venue,
                &hedge,
                self.venue.lost_order_grace_secs,
                now,
            )
            .await?
            {
                Settled::Done(line) => {
                    memory.forget(&key);
                    self.journal(Severity::Waiting, line);
                }
                Settled::Pending(line) => self.say(memory, &key, Severity::Waiting, line),
            }
        }
        Ok(())
    }

    /// Every [`VENUE_CHECK_SECS`]: the venue's positions (for the pane's marks) against the
    /// open hedges; a difference is said once per change, never corrected.
    async fn check_venue(&self, ours: &[Hedge], memory: &mut Memory, now: i64) {
        if memory
            .venue_checked_at
            .is_some_and(|at| now - at < VENUE_CHECK_SECS)
        {
            return;
        }
        memory.venue_checked_at = Some(now);
        let venue = self.venue.venue.as_ref();
        let positions = match venue.positions().await {
            Ok(positions) => positions,
            Err(e) => {
                let line = format!("cannot read positions on {}: {e}", venue.name());
                self.say(memory, "venue-positions", Severity::Failure, line);
                return;
            }
        };
        memory.forget("venue-positions");
        // The hedges as they are now (this cycle's proposals may have moved some).
        let hedges = match self.store.perp_live_hedges().await {
            Ok(hedges) => hedges
                .into_iter()
                .filter(|h| h.venue == venue.name())
                .collect(),
            Err(_) => ours.to_vec(),
        };
        let found = reconcile::mismatches(&hedges, &positions);
        let symbols: HashSet<String> = positions
            .iter()
            .map(|p| p.symbol.clone())
            .chain(hedges.iter().map(|h| h.symbol.clone()))
            .collect();
        for symbol in symbols {
            let key = format!("mismatch:{symbol}");
            match found.iter().find(|m| m.symbol == symbol) {
                Some(m) => self.say(memory, &key, Severity::Failure, m.describe(venue.name())),
                None => memory.forget(&key),
            }
        }
        memory.venue_positions = positions;
    }
}
