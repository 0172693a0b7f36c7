//! Everything the console draws, in one place. Views read it; `update` changes it.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::Arc;

use alloy::primitives::Address;

use crate::actions::{Action, ActionId, ActionState, ActionsSnapshot};
use crate::anyhedge::pane::{AnyHedgeSnapshot, OfferRow, PositionRow, PositionState};
use crate::anyhedge::requests::AnyHedgeRequest;
use crate::app::log_buffer::LogBuffer;
use crate::app::supervisor::HealthMap;
use crate::chain::ChainStatus;
use crate::config::Config;
use crate::desks::Desk;
use crate::liquidator::pane::{CandidateRow, LiquidatorSnapshot};
use crate::perp::pane::{Flag, HedgeRow, PerpSnapshot, TraderRow};
use crate::perp::requests::PerpRequest;
use crate::pool::pane::{PolicyRow, PoolSnapshot, ProviderRow, WithdrawalRow};
use crate::pool::requests::PoolRequest;

use super::keymap::Keymap;
use super::secret_input::SecretInput;
use super::theme::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Desk(Desk),
    Actions,
    Logs,
}

impl Tab {
    pub const ALL: [Tab; 7] = [
        Tab::Desk(Desk::Oracle),
        Tab::Desk(Desk::Liquidator),
        Tab::Desk(Desk::AnyHedge),
        Tab::Desk(Desk::Perp),
        Tab::Desk(Desk::Pool),
        Tab::Actions,
        Tab::Logs,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Desk(d) => d.title(),
            Tab::Actions => "Actions",
            Tab::Logs => "Logs",
        }
    }

    /// 1-based, as the number keys select it.
    pub fn number(self) -> u8 {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0) as u8 + 1
    }

    pub fn from_number(n: u8) -> Option<Tab> {
        Tab::ALL.get(usize::from(n).checked_sub(1)?).copied()
    }
}

/// The keystore screen shown before anything else.
#[derive(Debug)]
pub enum UnlockPhase {
    /// Trying the keyring / passphrase file / env without asking.
    Auto,
    Prompt {
        input: SecretInput,
        failures: u32,
        error: Option<String>,
        busy: bool,
    },
    /// No keystore yet: offer to create one.
    OfferCreate,
    Create {
        first: SecretInput,
        second: SecretInput,
        confirming: bool,
        error: Option<String>,
        busy: bool,
    },
}

#[derive(Debug)]
pub enum Phase {
    Unlock(UnlockPhase),
    Main,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmKind {
    Approve,
    Reject,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmState {
    pub kind: ConfirmKind,
    pub action: Action,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaletteState {
    pub query: String,
    pub selected: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    Help,
    Palette(PaletteState),
    Confirm(Box<ConfirmState>),
    /// A desk command that sends transactions but is not an action (bootstrap, reset),
    /// or one that approves its own actions (liquidate).
    DeskConfirm(Box<DeskConfirm>),
    /// The Liquidations tab's detail of this position (Enter on a row).
    LiquidationDetail(u64),
    /// The AnyHedge tab's detail of a contract or an offer (Enter on a row).
    AnyHedgeDetail(AnyHedgeItem),
    /// The Perp tab's detail of a trader position or a hedge (Enter on a row).
    PerpDetail(PerpItem),
    /// The Pool tab's detail of a provider or a policy (Enter on a row).
    PoolDetail(PoolItem),
}

impl Overlay {
    /// The command that toggles this overlay when it is a desk tab's detail (Enter on a
    /// row); its key, Esc, Enter or quit close it.
    pub fn detail_command(&self) -> Option<super::keymap::Command> {
        use super::keymap::Command;
        match self {
            Overlay::LiquidationDetail(_) => Some(Command::LiquidatorDetail),
            Overlay::AnyHedgeDetail(_) => Some(Command::AnyHedgeDetail),
            Overlay::PerpDetail(_) => Some(Command::PerpDetail),
            Overlay::PoolDetail(_) => Some(Command::PoolDetail),
            Overlay::Help | Overlay::Palette(_) | Overlay::Confirm(_) | Overlay::DeskConfirm(_) => {
                None
            }
        }
    }
}

/// A row of the Perp tab, by what identifies it across snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PerpItem {
    /// A trader position, by its key.
    Position(String),
    /// A hedge, by its id.
    Hedge(i64),
}

/// Which Perp table the selection keys move in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PerpFocus {
    #[default]
    Positions,
    Hedges,
}

/// A row of the Pool tab, by what identifies it across snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolItem {
    /// A provider, by address.
    Provider(String),
    /// A policy, by id.
    Policy(i64),
}

/// Which Pool table the selection keys move in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PoolFocus {
    #[default]
    Providers,
    Policies,
    Withdrawals,
}

impl PoolFocus {
    const ORDER: [PoolFocus; 3] = [
        PoolFocus::Providers,
        PoolFocus::Policies,
        PoolFocus::Withdrawals,
    ];

    /// The next table (`back`: the previous one), round the three.
    pub fn cycle(self, back: bool) -> PoolFocus {
        let i = PoolFocus::ORDER
            .iter()
            .position(|f| *f == self)
            .unwrap_or(0);
        let step = if back { PoolFocus::ORDER.len() - 1 } else { 1 };
        PoolFocus::ORDER[(i + step) % PoolFocus::ORDER.len()]
    }
}

/// A row of the AnyHedge tab, by what identifies it across snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnyHedgeItem {
    Offer(i64),
    Contract(Address),
}

/// Which AnyHedge table the selection keys move in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AnyHedgeFocus {
    Offers,
    #[default]
    Contracts,
}

/// What the AnyHedge tab's keys ask about the selected contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnyHedgeOp {
    Fund,
    Redeem,
    Settle,
}

/// The request `op` sends about `row`, or why the tab refuses it (short: it is flashed on
/// the status line). The desk checks again; this only keeps pointless requests back.
pub fn anyhedge_request(row: &PositionRow, op: AnyHedgeOp) -> Result<AnyHedgeRequest, String> {
    let address = row.address.to_checksum(None);
    let short = super::format::short_address(&address);
    let action = row.action;
    let state = match &row.state {
        PositionState::AwaitingFunding {
            short: true,
            long: true,
        } => PositionState::Funding,
        other => other.clone(),
    };
    match (op, &state) {
        (_, PositionState::Settled) => Err(format!("{short} is settled already")),
        (AnyHedgeOp::Fund, PositionState::AwaitingFunding { short: s, long: l }) => {
            Err(match (s, l) {
                (false, false) => format!("{short}: no funding proposals yet"),
                (false, true) => format!("{short}: no short funding proposal"),
                (true, _) => format!("{short}: no long funding proposal"),
            })
        }
        (AnyHedgeOp::Fund, PositionState::Funding) => match action {
            Some(a) if in_flight(a).is_some() => Err(format!(
                "{short}: funding {}",
                in_flight(a).unwrap_or_default()
            )),
            // Sent and mined but not recorded yet: read it back instead of funding again.
            Some((_, ActionState::Confirmed)) => Ok(AnyHedgeRequest::ValidateFunding { address }),
            _ => Ok(AnyHedgeRequest::CompleteFunding { address }),
        },
        (AnyHedgeOp::Fund, _) => Err(format!("{short} is funded already")),
        (_, PositionState::AwaitingFunding { .. } | PositionState::Funding) => {
            Err(format!("{short} is not funded yet"))
        }
        (_, PositionState::Settling) => Err(match action.and_then(in_flight) {
            Some(what) => format!("{short}: settling, {what}"),
            None => format!("{short}: redemption on its way"),
        }),
        (AnyHedgeOp::Settle, PositionState::Live) => Ok(AnyHedgeRequest::Settle { address }),
        (AnyHedgeOp::Redeem, PositionState::Live) => match &row.redemption {
            None => Err(format!("{short}: no redemption proposal")),
            Some(r) => match r.missing_signatures() {
                Some("both") => Err(format!("{short}: neither side has signed yet")),
                Some(side) => Err(format!("{short}: {side} has not signed yet")),
                None => Ok(AnyHedgeRequest::CompleteRedemption { address }),
            },
        },
    }
}

/// `0x3C44…93BC BTC-USD long`: a trader position as the Perp tab names it.
pub fn trader_label(row: &TraderRow) -> String {
    format!(
        "{} {} {}",
        super::format::short_address(&row.user),
        row.market,
        if row.is_long { "long" } else { "short" }
    )
}

/// An action still on its way, as the refusals name it: `#57 proposed`.
pub(super) fn in_flight((id, s): (i64, ActionState)) -> Option<String> {
    (!s.is_terminal()).then(|| format!("#{id} {s}"))
}

/// `size 500,000.00 · entry 88,000.00 · price 98,771.20 · trader PnL +61,200.00`
pub fn trader_numbers(row: &TraderRow) -> String {
    let price = row.price.as_deref().unwrap_or("none");
    let pnl = row
        .pnl
        .as_deref()
        .map(|p| super::format::signed(p, row.pnl_positive))
        .unwrap_or_else(|| "unknown".into());
    format!(
        "size {} · entry {} · price {price} · trader PnL {pnl}",
        row.size, row.entry
    )
}

/// `drawdown, hedge`, or `no flags`.
pub fn flag_labels(flags: &[Flag]) -> String {
    if flags.is_empty() {
        return "no flags".into();
    }
    flags.iter().map(|f| f.kind).collect::<Vec<_>>().join(", ")
}

/// The request `o` sends about a trader position, or why the tab refuses it (short: it is
/// flashed on the status line, next to the position's row). The desk checks again; this only keeps pointless requests
/// back.
pub fn perp_open_request(row: &TraderRow) -> Result<PerpRequest, String> {
    if row.symbol.is_none() {
        return Err(format!("{} is unmapped: never hedged", row.market));
    }
    if let Some((id, state)) = &row.hedge {
        return Err(format!("already hedged: #{id} {state}"));
    }
    if let Some(what) = row.action.and_then(in_flight) {
        return Err(format!("action {what} is on its way"));
    }
    if row.price.is_none() {
        return Err(format!("no price for {}: cannot size it", row.market));
    }
    Ok(PerpRequest::OpenHedge {
        position_key: row.key.clone(),
    })
}

/// The request `c` sends about a hedge, or why the tab refuses it: only an open hedge can
/// be closed (an opening one waits for its fill, a closing one is on its way).
pub fn perp_close_request(hedge: &HedgeRow) -> Result<PerpRequest, String> {
    let id = hedge.id;
    match hedge.state.as_str() {
        "open" => Ok(PerpRequest::CloseHedge { hedge_id: id }),
        "opening" => Err(format!("hedge #{id} is opening, not filled yet")),
        "closing" => Err(format!("hedge #{id} is closing already")),
        "closed" => Err(format!("hedge #{id} is closed")),
        "failed" => Err(format!("hedge #{id} failed: nothing on the venue")),
        other => Err(format!("hedge #{id} is {other}")),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskConfirm {
    pub title: String,
    pub lines: Vec<String>,
    pub command: DeskCommand,
}

/// What a confirmed [`DeskConfirm`] sends, and to which desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeskCommand {
    Oracle(crate::oracle::desk::DeskRequest),
    Liquidator(crate::liquidator::requests::DeskRequest),
    AnyHedge(AnyHedgeRequest),
    Perp(PerpRequest),
    Pool(PoolRequest),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashLevel {
    Info,
    Error,
}

/// A scrollable list: the selected row, and the first visible row which the view
/// adjusts as it draws (so the selection stays on screen without jumping).
#[derive(Debug, Default)]
pub struct ListPosition {
    pub selected: usize,
    pub offset: Cell<usize>,
}

impl ListPosition {
    /// The selected row of `rows` (the last one when the selection is past the end).
    pub fn pick<'a, T>(&self, rows: &'a [T]) -> Option<&'a T> {
        rows.get(self.selected.min(rows.len().saturating_sub(1)))
    }

    /// After new `rows` arrived: the selection moves to the row whose `key` is `kept` (the
    /// selected row's key before), and stays within the rows.
    pub fn follow<T, K: PartialEq + ?Sized>(
        &mut self,
        rows: &[T],
        kept: Option<&K>,
        key: impl Fn(&T) -> &K,
    ) {
        if let Some(i) = kept.and_then(|k| rows.iter().position(|r| key(r) == k)) {
            self.selected = i;
        }
        self.selected = self.selected.min(rows.len().saturating_sub(1));
    }

    /// Moves the selection `delta` rows in a list of `len`, stopping at either end.
    pub fn step(&mut self, len: usize, delta: isize) {
        let next = self.selected as isize + delta;
        self.selected = next.clamp(0, len.saturating_sub(1) as isize) as usize;
    }
}

pub struct AppState {
    pub phase: Phase,
    pub tab: Tab,
    pub overlay: Option<Overlay>,
    pub theme: Theme,
    pub keymap: Keymap,
    pub config: Arc<Config>,
    pub themes_dir: PathBuf,
    /// Theme names found at start (built in + themes_dir), offered by the palette.
    pub theme_names: Vec<String>,
    pub keystore_path: PathBuf,
    pub account: Option<String>,
    pub actions: Arc<ActionsSnapshot>,
    pub actions_pos: ListPosition,
    pub health: HealthMap,
    /// One per configured chain, from the chain health workers.
    pub chains: Vec<ChainStatus>,
    /// The oracle desk's pane, from its worker.
    pub oracle: Arc<crate::oracle::pane::OracleSnapshot>,
    pub oracle_pos: ListPosition,
    /// The liquidator desk's pane, from its worker.
    pub liquidator: Arc<LiquidatorSnapshot>,
    pub liquidator_pos: ListPosition,
    /// The AnyHedge desk's pane, from its worker.
    pub anyhedge: Arc<AnyHedgeSnapshot>,
    pub anyhedge_focus: AnyHedgeFocus,
    pub anyhedge_offers_pos: ListPosition,
    pub anyhedge_contracts_pos: ListPosition,
    /// The perp desk's pane, from its worker.
    pub perp: Arc<PerpSnapshot>,
    pub perp_focus: PerpFocus,
    pub perp_positions_pos: ListPosition,
    pub perp_hedges_pos: ListPosition,
    /// The pool desk's pane, from its worker.
    pub pool: Arc<PoolSnapshot>,
    pub pool_focus: PoolFocus,
    pub pool_providers_pos: ListPosition,
    pub pool_policies_pos: ListPosition,
    pub pool_withdrawals_pos: ListPosition,
    pub logs: Arc<LogBuffer>,
    /// Lines scrolled up from the newest; 0 follows new lines.
    pub logs_scroll: usize,
    /// Unix milliseconds of the last tick: the clock and ages are drawn from it.
    pub now_ms: i64,
    pub flash: Option<(String, FlashLevel)>,
    pub quit: bool,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("phase", &self.phase)
            .field("tab", &self.tab)
            .field("overlay", &self.overlay)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(
        config: Arc<Config>,
        theme: Theme,
        themes_dir: PathBuf,
        keystore_path: PathBuf,
        logs: Arc<LogBuffer>,
        now_ms: i64,
    ) -> Self {
        let phase = if keystore_path.exists() {
            UnlockPhase::Auto
        } else {
            UnlockPhase::OfferCreate
        };
        let oracle_chain = config.oracle.chain.clone();
        let liquidator = LiquidatorSnapshot {
            chain: config.liquidator.chain.clone(),
            auto: config.liquidator.auto,
            ..Default::default()
        };
        let anyhedge = AnyHedgeSnapshot {
            chain: config.anyhedge.chain.clone(),
            ..Default::default()
        };
        // What the config says until the desk publishes its first snapshot.
        let perp = PerpSnapshot {
            chain: config.perp.chain.clone(),
            venue: match config.perp.venue.as_str() {
                "binance" => format!("binance {}", config.perp.binance.base_url),
                other => other.to_string(),
            },
            auto: config.perp.auto,
            ..Default::default()
        };
        let pool = PoolSnapshot {
            chain: config.pool.chain.clone(),
            ..Default::default()
        };
        AppState {
            phase: Phase::Unlock(phase),
            tab: Tab::Actions,
            overlay: None,
            theme,
            keymap: Keymap::new(&config.ui.keys),
            config,
            theme_names: super::theme::names(&themes_dir),
            themes_dir,
            keystore_path,
            account: None,
            actions: Arc::new(ActionsSnapshot::default()),
            actions_pos: ListPosition::default(),
            health: HealthMap::new(),
            chains: Vec::new(),
            oracle: Arc::new(crate::oracle::pane::OracleSnapshot {
                chain: oracle_chain,
                ..Default::default()
            }),
            oracle_pos: ListPosition::default(),
            liquidator: Arc::new(liquidator),
            liquidator_pos: ListPosition::default(),
            anyhedge: Arc::new(anyhedge),
            anyhedge_focus: AnyHedgeFocus::default(),
            anyhedge_offers_pos: ListPosition::default(),
            anyhedge_contracts_pos: ListPosition::default(),
            perp: Arc::new(perp),
            perp_focus: PerpFocus::default(),
            perp_positions_pos: ListPosition::default(),
            perp_hedges_pos: ListPosition::default(),
            pool: Arc::new(pool),
            pool_focus: PoolFocus::default(),
            pool_providers_pos: ListPosition::default(),
            pool_policies_pos: ListPosition::default(),
            pool_withdrawals_pos: ListPosition::default(),
            logs,
            logs_scroll: 0,
            now_ms,
            flash: None,
            quit: false,
        }
    }

    pub fn selected_action(&self) -> Option<&Action> {
        self.actions.actions.get(self.actions_pos.selected)
    }

    /// Keeps the selection on the same action id when a new snapshot arrives.
    pub fn set_actions(&mut self, snap: Arc<ActionsSnapshot>) {
        let keep: Option<ActionId> = self.selected_action().map(|a| a.id);
        self.actions = snap;
        self.actions_pos
            .follow(&self.actions.actions, keep.as_ref(), |a: &Action| &a.id);
    }

    /// The Liquidations tab's selected row.
    pub fn selected_candidate(&self) -> Option<&CandidateRow> {
        self.liquidator_pos.pick(&self.liquidator.rows)
    }

    /// Keeps the selection on the same position when a new snapshot arrives (rows are
    /// sorted by health, so they move between passes).
    pub fn set_liquidator(&mut self, snap: Arc<LiquidatorSnapshot>) {
        let keep = self.selected_candidate().map(|r| r.position_id);
        self.liquidator = snap;
        self.liquidator_pos
            .follow(&self.liquidator.rows, keep.as_ref(), |r: &CandidateRow| {
                &r.position_id
            });
    }

    /// The AnyHedge tab's selected offer.
    pub fn selected_offer(&self) -> Option<&OfferRow> {
        self.anyhedge_offers_pos.pick(&self.anyhedge.offers)
    }

    /// The AnyHedge tab's selected contract.
    pub fn selected_contract(&self) -> Option<&PositionRow> {
        self.anyhedge_contracts_pos.pick(&self.anyhedge.positions)
    }

    /// Keeps both selections on the same offer and contract when a new snapshot arrives.
    pub fn set_anyhedge(&mut self, snap: Arc<AnyHedgeSnapshot>) {
        let offer = self.selected_offer().map(|o| o.id);
        let contract = self.selected_contract().map(|p| p.address);
        self.anyhedge = snap;
        self.anyhedge_offers_pos
            .follow(&self.anyhedge.offers, offer.as_ref(), |o: &OfferRow| &o.id);
        self.anyhedge_contracts_pos.follow(
            &self.anyhedge.positions,
            contract.as_ref(),
            |p: &PositionRow| &p.address,
        );
    }

    /// The Perp tab's selected trader position.
    pub fn selected_trader(&self) -> Option<&TraderRow> {
        self.perp_positions_pos.pick(&self.perp.positions)
    }

    /// The Perp tab's selected hedge.
    pub fn selected_hedge(&self) -> Option<&HedgeRow> {
        self.perp_hedges_pos.pick(&self.perp.hedges)
    }

    /// Keeps both selections on the same position and hedge when a new snapshot arrives.
    pub fn set_perp(&mut self, snap: Arc<PerpSnapshot>) {
        let position = self.selected_trader().map(|p| p.key.clone());
        let hedge = self.selected_hedge().map(|h| h.id);
        self.perp = snap;
        self.perp_positions_pos.follow(
            &self.perp.positions,
            position.as_deref(),
            |p: &TraderRow| p.key.as_str(),
        );
        self.perp_hedges_pos
            .follow(&self.perp.hedges, hedge.as_ref(), |h: &HedgeRow| &h.id);
    }

    /// The Pool tab's selected provider.
    pub fn selected_provider(&self) -> Option<&ProviderRow> {
        self.pool_providers_pos.pick(&self.pool.providers)
    }

    /// The Pool tab's selected policy.
    pub fn selected_policy(&self) -> Option<&PolicyRow> {
        self.pool_policies_pos.pick(&self.pool.policies)
    }

    /// The Pool tab's selected withdrawal.
    pub fn selected_withdrawal(&self) -> Option<&WithdrawalRow> {
        self.pool_withdrawals_pos.pick(&self.pool.withdrawals)
    }

    /// Keeps the three selections on the same provider, policy and withdrawal when a new
    /// snapshot arrives (policies are sorted by expiry, providers may move).
    pub fn set_pool(&mut self, snap: Arc<PoolSnapshot>) {
        let provider = self.selected_provider().map(|p| p.address.clone());
        let policy = self.selected_policy().map(|p| p.id);
        let withdrawal = self.selected_withdrawal().map(|w| w.id);
        self.pool = snap;
        self.pool_providers_pos.follow(
            &self.pool.providers,
            provider.as_deref(),
            |p: &ProviderRow| p.address.as_str(),
        );
        self.pool_policies_pos
            .follow(&self.pool.policies, policy.as_ref(), |p: &PolicyRow| &p.id);
        self.pool_withdrawals_pos.follow(
            &self.pool.withdrawals,
            withdrawal.as_ref(),
            |w: &WithdrawalRow| &w.id,
        );
    }

    pub fn flash_info(&mut self, msg: impl Into<String>) {
        self.flash = Some((msg.into(), FlashLevel::Info));
    }

    pub fn flash_error(&mut self, msg: impl Into<String>) {
        self.flash = Some((msg.into(), FlashLevel::Error));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anyhedge::pane::RedemptionRow;

    const ADDRESS: &str = "0x8A3f5c1bD0e7a9C2b4F6e8D0c2A4b6E8f0a2C21b";

    fn row(state: PositionState) -> PositionRow {
        PositionRow {
            address: ADDRESS.parse().unwrap(),
            short_wallet: "short".into(),
            long_wallet: "long".into(),
            oracle_pubkey: "02".into(),
            price_decimals: 2,
            start_ms: 0,
            maturity_ms: 0,
            start_price: 40_000,
            low_price: 30_000,
            high_price: 80_000,
            last_price: None,
            payout_sats: 0,
            short_input_sats: 0,
            long_input_sats: 0,
            projected: None,
            state,
            redemption: None,
            action: None,
        }
    }

    fn redemption(short_signed: bool, long_signed: bool) -> Option<RedemptionRow> {
        Some(RedemptionRow {
            kind: "refund".into(),
            short_sats: 1,
            long_sats: 2,
            short_signed,
            long_signed,
        })
    }

    #[test]
    fn anyhedge_keys_ask_only_what_the_contract_allows() {
        use AnyHedgeOp::{Fund, Redeem, Settle};
        let address = row(PositionState::Live).address.to_checksum(None);
        let awaiting = |short, long| row(PositionState::AwaitingFunding { short, long });
        let err = |r: PositionRow, op| anyhedge_request(&r, op).unwrap_err();

        // Funding needs both proposals and no funding on its way.
        assert_eq!(
            err(awaiting(true, false), Fund),
            "0x8a3F…c21B: no long funding proposal"
        );
        assert_eq!(
            err(awaiting(false, true), Fund),
            "0x8a3F…c21B: no short funding proposal"
        );
        assert_eq!(
            err(awaiting(false, false), Fund),
            "0x8a3F…c21B: no funding proposals yet"
        );
        assert_eq!(
            anyhedge_request(&awaiting(true, true), Fund),
            Ok(AnyHedgeRequest::CompleteFunding {
                address: address.clone()
            })
        );
        let mut funding = row(PositionState::Funding);
        assert_eq!(
            anyhedge_request(&funding, Fund),
            Ok(AnyHedgeRequest::CompleteFunding {
                address: address.clone()
            })
        );
        funding.action = Some((12, crate::actions::ActionState::Sent));
        assert_eq!(err(funding.clone(), Fund), "0x8a3F…c21B: funding #12 sent");
        funding.action = Some((12, crate::actions::ActionState::Failed));
        assert!(matches!(
            anyhedge_request(&funding, Fund),
            Ok(AnyHedgeRequest::CompleteFunding { .. })
        ));
        funding.action = Some((12, crate::actions::ActionState::Confirmed));
        assert_eq!(
            anyhedge_request(&funding, Fund),
            Ok(AnyHedgeRequest::ValidateFunding {
                address: address.clone()
            })
        );
        assert_eq!(
            err(row(PositionState::Live), Fund),
            "0x8a3F…c21B is funded already"
        );

        // Settling needs a live contract.
        assert_eq!(
            anyhedge_request(&row(PositionState::Live), Settle),
            Ok(AnyHedgeRequest::Settle {
                address: address.clone()
            })
        );
        assert_eq!(err(funding, Settle), "0x8a3F…c21B is not funded yet");
        assert_eq!(
            err(awaiting(true, false), Settle),
            "0x8a3F…c21B is not funded yet"
        );
        let mut settling = row(PositionState::Settling);
        settling.action = Some((14, crate::actions::ActionState::Approved));
        assert_eq!(
            err(settling.clone(), Settle),
            "0x8a3F…c21B: settling, #14 approved"
        );
        assert_eq!(err(settling, Redeem), "0x8a3F…c21B: settling, #14 approved");
        for op in [Fund, Settle, Redeem] {
            assert_eq!(
                err(row(PositionState::Settled), op),
                "0x8a3F…c21B is settled already"
            );
        }

        // Redeeming needs a proposal signed by both sides.
        let mut live = row(PositionState::Live);
        assert_eq!(
            err(live.clone(), Redeem),
            "0x8a3F…c21B: no redemption proposal"
        );
        live.redemption = redemption(true, false);
        assert_eq!(
            err(live.clone(), Redeem),
            "0x8a3F…c21B: long has not signed yet"
        );
        live.redemption = redemption(false, true);
        assert_eq!(
            err(live.clone(), Redeem),
            "0x8a3F…c21B: short has not signed yet"
        );
        live.redemption = redemption(false, false);
        assert_eq!(
            err(live.clone(), Redeem),
            "0x8a3F…c21B: neither side has signed yet"
        );
        live.redemption = redemption(true, true);
        assert_eq!(
            anyhedge_request(&live, Redeem),
            Ok(AnyHedgeRequest::CompleteRedemption { address })
        );
    }

    #[test]
    fn anyhedge_selection_follows_its_rows() {
        let mut state = AppState::new(
            Arc::new(Config::default()),
            Theme::built_in_default(),
            PathBuf::from("/nonexistent"),
            PathBuf::from("/nonexistent/keystore.json"),
            LogBuffer::new(100),
            0,
        );
        let mut a = row(PositionState::Live);
        let mut b = row(PositionState::Settled);
        a.address = Address::repeat_byte(0xaa);
        b.address = Address::repeat_byte(0xbb);
        state.set_anyhedge(Arc::new(AnyHedgeSnapshot {
            positions: vec![a.clone(), b.clone()],
            ..Default::default()
        }));
        state.anyhedge_contracts_pos.selected = 1;
        state.set_anyhedge(Arc::new(AnyHedgeSnapshot {
            positions: vec![b.clone(), a.clone()],
            ..Default::default()
        }));
        assert_eq!(state.selected_contract().unwrap().address, b.address);
        state.set_anyhedge(Arc::new(AnyHedgeSnapshot::default()));
        assert_eq!(state.anyhedge_contracts_pos.selected, 0);
        assert!(state.selected_contract().is_none());
    }

    fn trader(key: &str) -> TraderRow {
        TraderRow {
            key: key.into(),
            user: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65".into(),
            market: "BTC-USD".into(),
            is_long: true,
            size: "500,000.00".into(),
            entry: "88,000.00".into(),
            price: Some("98,771.20".into()),
            pnl: Some("61,200.00".into()),
            pnl_positive: true,
            flags: vec![],
            symbol: Some("BTCUSDT".into()),
            hedge: None,
            action: None,
        }
    }

    fn hedge_row(id: i64, state: &str) -> HedgeRow {
        HedgeRow {
            id,
            position_key: "k".into(),
            symbol: "BTCUSDT".into(),
            side: "BUY".into(),
            quantity: "1.0".into(),
            entry: None,
            mark: None,
            pnl: None,
            pnl_positive: false,
            since_ms: 0,
            state: state.into(),
            closes_in_secs: None,
            note: None,
        }
    }

    #[test]
    fn perp_keys_ask_only_what_a_row_allows() {
        let row = trader("k1");
        assert_eq!(trader_label(&row), "0x15d3…6A65 BTC-USD long");
        assert_eq!(
            perp_open_request(&row),
            Ok(PerpRequest::OpenHedge {
                position_key: "k1".into()
            })
        );
        let mut unmapped = row.clone();
        unmapped.symbol = None;
        assert_eq!(
            perp_open_request(&unmapped).unwrap_err(),
            "BTC-USD is unmapped: never hedged"
        );
        let mut hedged = row.clone();
        hedged.hedge = Some((43, "opening".into()));
        assert_eq!(
            perp_open_request(&hedged).unwrap_err(),
            "already hedged: #43 opening"
        );
        let mut asked = row.clone();
        asked.action = Some((58, ActionState::Proposed));
        assert_eq!(
            perp_open_request(&asked).unwrap_err(),
            "action #58 proposed is on its way"
        );
        // A finished action does not hold the next one back.
        asked.action = Some((58, ActionState::Rejected));
        assert!(perp_open_request(&asked).is_ok());
        let mut no_price = row;
        no_price.price = None;
        assert_eq!(
            perp_open_request(&no_price).unwrap_err(),
            "no price for BTC-USD: cannot size it"
        );

        assert_eq!(
            perp_close_request(&hedge_row(39, "open")),
            Ok(PerpRequest::CloseHedge { hedge_id: 39 })
        );
        for (state, why) in [
            ("opening", "hedge #7 is opening, not filled yet"),
            ("closing", "hedge #7 is closing already"),
            ("closed", "hedge #7 is closed"),
            ("failed", "hedge #7 failed: nothing on the venue"),
        ] {
            assert_eq!(perp_close_request(&hedge_row(7, state)).unwrap_err(), why);
        }
    }

    #[test]
    fn perp_selection_follows_its_rows() {
        let mut state = AppState::new(
            Arc::new(Config::default()),
            Theme::built_in_default(),
            PathBuf::from("/nonexistent"),
            PathBuf::from("/nonexistent/keystore.json"),
            LogBuffer::new(100),
            0,
        );
        assert_eq!(state.perp.venue, "paper");
        assert!(state.perp.auto);
        let snap = |keys: &[&str], ids: &[i64]| {
            Arc::new(PerpSnapshot {
                positions: keys.iter().map(|k| trader(k)).collect(),
                hedges: ids.iter().map(|id| hedge_row(*id, "open")).collect(),
                ..Default::default()
            })
        };
        state.set_perp(snap(&["a", "b", "c"], &[1, 2]));
        state.perp_positions_pos.selected = 1;
        state.perp_hedges_pos.selected = 1;
        state.set_perp(snap(&["c", "b", "a", "d"], &[2, 1]));
        assert_eq!(state.selected_trader().unwrap().key, "b");
        assert_eq!(state.selected_hedge().unwrap().id, 2);
        state.set_perp(snap(&["a", "c"], &[2]));
        assert_eq!(state.perp_positions_pos.selected, 1);
        assert_eq!(state.selected_hedge().unwrap().id, 2);
        state.set_perp(Arc::new(PerpSnapshot::default()));
        assert!(state.selected_trader().is_none());
        assert!(state.selected_hedge().is_none());
    }

    fn provider(address: &str) -> ProviderRow {
        ProviderRow {
            address: address.into(),
            tier: "Balanced".into(),
            balances: vec![("WBTC".into(), "1.2000".into(), "0.7000".into())],
            value_usd: None,
            locked_usd: None,
            yield_earned: "$0.00".into(),
            ratio: None,
            ratio_bps: None,
            status: crate::pool::pane::HealthStatus::Healthy,
            status_since_ms: None,
        }
    }

    fn policy(id: i64) -> PolicyRow {
        PolicyRow {
            id,
            kind: "PUT".into(),
            buyer: "0xbuyer".into(),
            tier: "Balanced".into(),
            token: "WBTC".into(),
            strike: "100,000.00".into(),
            amount: "0.5000".into(),
            premium: "0.0042".into(),
            expiry_ms: 0,
            payout: None,
            in_the_money: false,
            status: "active".into(),
            action: None,
        }
    }

    fn withdrawal(id: i64) -> WithdrawalRow {
        WithdrawalRow {
            id,
            provider: "0xa".into(),
            token: "WBTC".into(),
            amount: "0.1000".into(),
            max_withdrawable: "0.2000".into(),
            refused: None,
            requested_at_ms: 0,
            action: None,
        }
    }

    #[test]
    fn pool_selection_follows_its_rows() {
        let mut state = AppState::new(
            Arc::new(Config::default()),
            Theme::built_in_default(),
            PathBuf::from("/nonexistent"),
            PathBuf::from("/nonexistent/keystore.json"),
            LogBuffer::new(100),
            0,
        );
        // Until the desk publishes, the chain is the config's.
        assert_eq!(state.pool.chain, "devnet");
        assert!(state.selected_provider().is_none());
        let snap = |providers: &[&str], policies: &[i64], withdrawals: &[i64]| {
            Arc::new(PoolSnapshot {
                providers: providers.iter().map(|a| provider(a)).collect(),
                policies: policies.iter().map(|id| policy(*id)).collect(),
                withdrawals: withdrawals.iter().map(|id| withdrawal(*id)).collect(),
                ..Default::default()
            })
        };
        state.set_pool(snap(&["0xa", "0xb", "0xc"], &[9, 12, 14], &[7, 8]));
        state.pool_providers_pos.selected = 1;
        state.pool_policies_pos.selected = 2;
        state.pool_withdrawals_pos.selected = 1;
        // Re-ordered and grown: each selection stays on its row.
        state.set_pool(snap(&["0xd", "0xc", "0xa", "0xb"], &[14, 15, 9], &[8, 7]));
        assert_eq!(state.selected_provider().unwrap().address, "0xb");
        assert_eq!(state.selected_policy().unwrap().id, 14);
        assert_eq!(state.selected_withdrawal().unwrap().id, 8);
        // Its row gone: the selection stays where it was, within the rows.
        state.set_pool(snap(&["0xa"], &[15, 9], &[7]));
        assert_eq!(state.pool_providers_pos.selected, 0);
        assert_eq!(state.selected_policy().unwrap().id, 15);
        assert_eq!(state.selected_withdrawal().unwrap().id, 7);
        state.set_pool(Arc::new(PoolSnapshot::default()));
        assert!(state.selected_provider().is_none());
        assert!(state.selected_policy().is_none());
        assert!(state.selected_withdrawal().is_none());
    }

    #[test]
    fn pool_focus_cycles_both_ways() {
        use PoolFocus::*;
        assert_eq!(Providers.cycle(false), Policies);
        assert_eq!(Policies.cycle(false), Withdrawals);
        assert_eq!(Withdrawals.cycle(false), Providers);
        assert_eq!(Providers.cycle(true), Withdrawals);
        assert_eq!(Withdrawals.cycle(true), Policies);
    }
}
