//! Everything the console draws, in one place. Views read it; `update` changes it.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::Arc;

use crate::actions::{Action, ActionId, ActionsSnapshot};
use crate::app::log_buffer::LogBuffer;
use crate::app::supervisor::HealthMap;
use crate::chain::ChainStatus;
use crate::config::Config;
use crate::desks::Desk;
use crate::liquidator::pane::{CandidateRow, LiquidatorSnapshot};

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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskConfirm {
    pub title: String,
    pub lines: Vec<String>,
    pub command: DeskCommand,
}

/// What a confirmed [`DeskConfirm`] sends, and to which desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeskCommand {
    Oracle(crate::oracle::desk::DeskRequest),
    Liquidator(crate::liquidator::requests::DeskRequest),
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
        if let Some(id) = keep
            && let Some(i) = self.actions.actions.iter().position(|a| a.id == id)
        {
            self.actions_pos.selected = i;
        }
        let len = self.actions.actions.len();
        if self.actions_pos.selected >= len {
            self.actions_pos.selected = len.saturating_sub(1);
        }
    }

    /// The Liquidations tab's selected row.
    pub fn selected_candidate(&self) -> Option<&CandidateRow> {
        let rows = &self.liquidator.rows;
        rows.get(
            self.liquidator_pos
                .selected
                .min(rows.len().saturating_sub(1)),
        )
    }

    /// Keeps the selection on the same position when a new snapshot arrives (rows are
    /// sorted by health, so they move between passes).
    pub fn set_liquidator(&mut self, snap: Arc<LiquidatorSnapshot>) {
        let keep = self.selected_candidate().map(|r| r.position_id);
        self.liquidator = snap;
        if let Some(id) = keep
            && let Some(i) = self
                .liquidator
                .rows
                .iter()
                .position(|r| r.position_id == id)
        {
            self.liquidator_pos.selected = i;
        }
        let len = self.liquidator.rows.len();
        if self.liquidator_pos.selected >= len {
            self.liquidator_pos.selected = len.saturating_sub(1);
        }
    }

    pub fn flash_info(&mut self, msg: impl Into<String>) {
        self.flash = Some((msg.into(), FlashLevel::Info));
    }

    pub fn flash_error(&mut self, msg: impl Into<String>) {
        self.flash = Some((msg.into(), FlashLevel::Error));
    }
}
