//! The five desks, as names the rest of the app can point at. Each desk's own code
//! lives in its folder (`oracle/`, `liquidator/`, ...) as its issue lands.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Desk {
    Oracle,
    Liquidator,
    #[serde(rename = "anyhedge")]
    AnyHedge,
    Perp,
    Pool,
}

impl Desk {
    pub const ALL: [Desk; 5] = [
        Desk::Oracle,
        Desk::Liquidator,
        Desk::AnyHedge,
        Desk::Perp,
        Desk::Pool,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Desk::Oracle => "oracle",
            Desk::Liquidator => "liquidator",
            Desk::AnyHedge => "anyhedge",
            Desk::Perp => "perp",
            Desk::Pool => "pool",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Desk::Oracle => "Oracle",
            Desk::Liquidator => "Liquidations",
            Desk::AnyHedge => "AnyHedge",
            Desk::Perp => "Perp",
            Desk::Pool => "Pool",
        }
    }

    /// What the desk's pane will show once its worker lands.
    pub fn purpose(self) -> &'static str {
        match self {
            Desk::Oracle => {
                "Relays Pyth prices: pulls signed updates from Hermes, verifies them against the \
                 Wormhole guardian set, keeps the slot layout and writes 92-byte price slots to \
                 the PriceCaster contract. Its verified prices feed every other desk."
            }
            Desk::Liquidator => {
                "Watches Dex223 margin positions, values each one locally every tick, freezes the \
                 profitable liquidations and confirms them in a later block."
            }
            Desk::AnyHedge => {
                "AnyHedge watchtower: offers and matching, contract funding, maturity and \
                 liquidation settlement from signed oracle messages, mutual redemption, and the \
                 REST + WebSocket API."
            }
            Desk::Perp => {
                "DeHedge: reads DePerp positions and vault/shield balances, evaluates the three \
                 risk flags and opens or closes hedges on Binance USDT-M futures (or paper)."
            }
            Desk::Pool => {
                "BitHedge liquidity pool: provider accounts, risk tiers, policy collateral, yield, \
                 collateral health and settlement against the on-chain Vault."
            }
        }
    }

    /// The issue that builds this desk.
    pub fn issue(self) -> u32 {
        match self {
            Desk::Oracle => 5,
            Desk::Liquidator => 6,
            Desk::AnyHedge => 7,
            Desk::Perp => 8,
            Desk::Pool => 9,
        }
    }
}

impl fmt::Display for Desk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of a desk's journal on its pane, newest first there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalLine {
    pub at_ms: i64,
    pub severity: Severity,
    pub message: String,
}

/// Whether a journal line reports something that went wrong or something the desk is
/// still waiting for (a signature, a message, the chain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Failure,
    Waiting,
}

/// Journal lines a desk's pane keeps.
pub const JOURNAL_LINES: usize = 50;

/// A pane snapshot with a journal (newest first).
pub trait Journaled {
    fn journal_mut(&mut self) -> &mut Vec<JournalLine>;
}

/// A desk's pane: the snapshot its tab watches, changed by copy and swap so the tab never
/// sees half an update, and its journal.
pub struct Pane<S> {
    desk: &'static str,
    tx: Arc<watch::Sender<Arc<S>>>,
}

impl<S> Clone for Pane<S> {
    fn clone(&self) -> Self {
        Pane {
            desk: self.desk,
            tx: self.tx.clone(),
        }
    }
}

impl<S: Clone + Journaled> Pane<S> {
    pub fn new(desk: &'static str, initial: S) -> Pane<S> {
        Pane {
            desk,
            tx: Arc::new(watch::channel(Arc::new(initial)).0),
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<S>> {
        self.tx.subscribe()
    }

    pub fn publish(&self, change: impl FnOnce(&mut S)) {
        self.tx.send_modify(|snapshot| {
            let mut next = (**snapshot).clone();
            change(&mut next);
            *snapshot = Arc::new(next);
        });
    }

    /// Says what went wrong, or what the desk is waiting for, on the pane's journal and in
    /// the log.
    pub fn journal(&self, severity: Severity, message: String) {
        match severity {
            Severity::Failure => tracing::warn!(desk = self.desk, "{message}"),
            Severity::Waiting => tracing::info!(desk = self.desk, "{message}"),
        }
        let at_ms = chrono::Utc::now().timestamp_millis();
        self.publish(|s| {
            let journal = s.journal_mut();
            journal.insert(
                0,
                JournalLine {
                    at_ms,
                    severity,
                    message,
                },
            );
            journal.truncate(JOURNAL_LINES);
        });
    }
}
