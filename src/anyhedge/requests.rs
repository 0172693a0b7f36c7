//! What the API and the AnyHedge tab ask the desk to do. The desk turns each into actions
//! (which cost gas and go through the approval policy) or chain reads; the caller sees the
//! outcome in the store, the pane and the WebSocket updates.

/// A request to the AnyHedge desk about one hedge contract (by its address, 0x-hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyHedgeRequest {
    /// Both funding proposals are in: create and fund the contract on chain.
    CompleteFunding { address: String },
    /// Read the contract's funding from the chain and record it.
    ValidateFunding { address: String },
    /// Both redemption signatures are in: send the mutual redemption.
    CompleteRedemption { address: String },
    /// Settle now (maturity or liquidation) if the stored price messages allow it.
    Settle { address: String },
}
