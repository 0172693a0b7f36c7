//! The Pool tab's `w`: a provider's withdrawal request, checked again against their
//! maximum with the desk's fresh prices, becomes an `approve_withdrawal` action that calls
//! the Vault's `approveWithdrawal(provider, amount, token)` (the allowance the provider's
//! own `withdrawFunds` then spends). The books are debited when the Vault's
//! `FundsWithdrawn` event is applied, never here.

use alloy::primitives::{Address, U256};
use alloy::sol_types::SolCall as _;

use super::PoolDesk;
use crate::actions::{Action, ActionKind, ActionPlan, ActionState, Estimate, NewAction};
use crate::chain::contracts::LiquidityVault;
use crate::pool::model::Token;
use crate::pool::params::PoolParams;
use crate::store::pool::{Withdrawal, WithdrawalStatus};

/// Keys of this desk's `approve_withdrawal` actions start with this.
pub const APPROVE_PREFIX: &str = "approve_withdrawal:";

/// The idempotency key of attempt `attempt` (1, 2, …) at approving withdrawal `id`.
pub fn approve_key(id: i64, attempt: u32) -> String {
    format!("{APPROVE_PREFIX}{id}:{attempt}")
}

/// The withdrawal an `approve_withdrawal` key is about.
pub fn withdrawal_of_key(key: &str) -> Option<i64> {
    key.strip_prefix(APPROVE_PREFIX)?
        .split(':')
        .next()?
        .parse()
        .ok()
}

/// Whether an attempt still stands (on its way or done): a rejected or failed one does not,
/// and a new attempt may follow it.
fn stands(action: &Action) -> bool {
    !matches!(action.state, ActionState::Rejected | ActionState::Failed)
}

impl PoolDesk {
    /// Every attempt journaled for withdrawal `id`, oldest first, and the next number.
    async fn approve_attempts(&self, id: i64) -> anyhow::Result<(Vec<Action>, u32)> {
        super::lifecycle::attempts_of(&self.store, format!("{APPROVE_PREFIX}{id}")).await
    }

    async fn withdrawal(&self, id: i64) -> anyhow::Result<Option<Withdrawal>> {
        // Every request, not only the open ones: a closed one is refused by name.
        let all = self.store.pool_withdrawals(false, i64::MAX as u64).await?;
        Ok(all.into_iter().find(|w| w.id == id))
    }

    /// Checks withdrawal `id` again and proposes its on-chain approval. `Ok` is what was
    /// done, `Err` why nothing was (both for the journal).
    pub(super) async fn approve_withdrawal(
        &self,
        id: i64,
        vault: Address,
        wbtc: Address,
        params: &PoolParams,
    ) -> anyhow::Result<Result<String, String>> {
        let Some(w) = self.withdrawal(id).await? else {
            return Ok(Err(format!("withdrawal #{id}: no such request")));
        };
        if w.status != WithdrawalStatus::Requested {
            return Ok(Err(format!(
                "withdrawal #{id}: it is {}, not open",
                w.status.as_str()
            )));
        }
        let (attempts, next) = self.approve_attempts(id).await?;
        if let Some(last) = attempts.last().filter(|a| stands(a)) {
            return Ok(Err(if last.state == ActionState::Confirmed {
                format!(
                    "withdrawal #{id}: already approved on chain by action #{}, waiting for the provider to withdraw",
                    last.id
                )
            } else {
                format!(
                    "withdrawal #{id}: action #{} ({}) is already on its way",
                    last.id, last.state
                )
            }));
        }
        let now = chrono::Utc::now();
        let prices = params.fresh_prices(&self.prices.snapshot(), now.timestamp());
        let check = match self
            .store
            .pool_withdrawal_check(w.provider, w.token, prices, params.withdrawal_buffer_bps)
            .await
        {
            Ok(check) => check,
            Err(crate::store::StoreError::Invalid(why)) if prices.is_none() => {
                return Ok(Err(format!("withdrawal #{id}: no fresh prices ({why})")));
            }
            Err(crate::store::StoreError::Invalid(why)) => {
                return Ok(Err(format!("withdrawal #{id}: {why}")));
            }
            Err(e) => return Err(e.into()),
        };
        let amount = w.token.format_units(w.amount);
        let max = w.token.format_units(check.max_withdrawable);
        let symbol = w.token.symbol();
        if w.amount > check.max_withdrawable {
            return Ok(Err(format!(
                "withdrawal #{id}: {amount} {symbol} is above {}'s maximum now, {max} {symbol}",
                w.provider
            )));
        }

        let token = match w.token {
            Token::Eth => Address::ZERO,
            Token::Wbtc => wbtc,
        };
        let calldata = LiquidityVault::approveWithdrawalCall {
            provider: w.provider,
            amount: U256::from(w.amount),
            token,
        }
        .abi_encode();
        let plan = ActionPlan::ContractCall {
            chain: self.chain.name().to_string(),
            contract: vault.to_checksum(None),
            contract_name: "LiquidityVault".into(),
            function: "approveWithdrawal(address,uint256,address)".into(),
            args: vec![
                ("provider".into(), w.provider.to_checksum(None)),
                ("amount".into(), format!("{} ({amount} {symbol})", w.amount)),
                (
                    "token".into(),
                    format!("{} ({symbol})", token.to_checksum(None)),
                ),
            ],
            value_wei: "0".into(),
            gas_limit: 0,
            calldata: alloy::primitives::Bytes::from(calldata).to_string(),
        };
        let outcome = self
            .queue
            .propose(NewAction {
                key: approve_key(id, next),
                kind: ActionKind::ApproveWithdrawal,
                summary: format!(
                    "approve withdrawal #{id}: {} may withdraw {amount} {symbol} (maximum now {max} {symbol})",
                    w.provider.to_checksum(None)
                ),
                plan,
                estimate: Estimate::default(),
            })
            .await?;
        let action = outcome.action();
        self.store
            .pool_set_withdrawal_action(id, action.id, now.timestamp_millis())
            .await?;
        Ok(Ok(format!(
            "withdrawal #{id}: proposed action #{} ({}) approving {amount} {symbol} for {} (maximum now {max} {symbol})",
            action.id, action.state, w.provider
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_withdrawal_and_attempt() {
        assert_eq!(approve_key(7, 2), "approve_withdrawal:7:2");
        assert_eq!(withdrawal_of_key(&approve_key(7, 2)), Some(7));
        assert_eq!(withdrawal_of_key("settle_policy:7:1"), None);
        assert_eq!(withdrawal_of_key("approve_withdrawal:x:1"), None);
    }
}
