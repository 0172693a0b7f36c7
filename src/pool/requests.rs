//! What the Pool tab asks the pool desk to do (each after the operator confirmed it).

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolRequest {
    /// Approve a provider's withdrawal (`w`): the desk checks the maximum again and
    /// proposes the on-chain withdrawal.
    ApproveWithdrawal { withdrawal_id: i64 },
    /// Settle an in-the-money policy at expiry (`s`).
    SettlePolicy { policy_id: i64 },
    /// Expire a policy and release its collateral (`x`).
    ExpirePolicy { policy_id: i64 },
}
