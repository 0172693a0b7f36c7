//! What the Perp tab asks the perp desk to do (each after the operator confirmed it).

/// A request to the perp desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PerpRequest {
    /// Propose a hedge for this trader position now, flags or not.
    OpenHedge { position_key: String },
    /// Propose closing this hedge now.
    CloseHedge { hedge_id: i64 },
    /// Turn automatic hedging on or off (until the next start, which reads `perp.auto`).
    SetAuto(bool),
}
