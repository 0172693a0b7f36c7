//! What the operator asks the liquidator desk from the Liquidations tab.

/// Sent by the UI to the desk worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeskRequest {
    /// Freeze the position now and confirm it in a later block (asked in a confirm popup
    /// first; the desk still refuses a position that is not liquidatable on chain).
    Liquidate(u64),
    /// Switch automatic freezing and confirming on or off.
    ToggleAuto,
    /// Show this position's detail in the snapshot (`None`: close it).
    Detail(Option<u64>),
}
