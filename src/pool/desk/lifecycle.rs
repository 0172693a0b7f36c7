//! A policy's life on chain: the Vault's aggregate lock for a new policy
//! (`lock_collateral`), and at expiry either the release of its lock (`expire_policy`, out
//! of the money) or the payout to its buyer (`settle_policy`, in the money, at a fresh
//! BTC/USD price noted on the policy so the settlement-paid event records it). The books
//! follow the Vault's events: a release expires the policy in the books and credits its
//! premium as yield; a settlement debits its backers, after which the desk credits the
//! premium and releases what is left of the policy's lock (`release_settled`).

use alloy::primitives::{Address, U256};
use alloy::sol_types::SolCall as _;

use super::PoolDesk;
use crate::actions::{Action, ActionKind, ActionPlan, ActionState, Estimate, NewAction};
use crate::chain::contracts::LiquidityVault;
use crate::pool::math::settlement::{in_the_money, payout_units};
use crate::pool::model::{Policy, PolicyStatus, Prices, Token, Units, format_usd};
use crate::store::pool::PolicyFilter;

pub const LOCK_PREFIX: &str = "lock_collateral:";
pub const EXPIRE_PREFIX: &str = "expire_policy:";
pub const SETTLE_PREFIX: &str = "settle_policy:";
/// What is left of a settled policy's lock, released (an `expire_policy` kind action).
pub const RELEASE_PREFIX: &str = "release_settled:";
/// The automatic cycle tries a failed on-chain step at most this many times.
const AUTO_ATTEMPTS: u32 = 3;

pub fn policy_key(prefix: &str, id: i64, attempt: u32) -> String {
    format!("{prefix}{id}:{attempt}")
}

/// Every attempt journaled under `<stem>:<n>`, oldest first, and the next number.
pub(super) async fn attempts_of(
    store: &crate::store::Store,
    stem: String,
) -> anyhow::Result<(Vec<Action>, u32)> {
    let found = store.action_attempts_of(&stem).await?;
    let next = u32::try_from(found.len())? + 1;
    Ok((found, next))
}

/// The policy a lifecycle action's key is about.
pub fn policy_of_key(key: &str) -> Option<i64> {
    [LOCK_PREFIX, EXPIRE_PREFIX, SETTLE_PREFIX, RELEASE_PREFIX]
        .iter()
        .find_map(|p| key.strip_prefix(p))?
        .split(':')
        .next()?
        .parse()
        .ok()
}

fn stands(action: &Action) -> bool {
    !matches!(action.state, ActionState::Rejected | ActionState::Failed)
}

fn in_flight(action: &Action) -> bool {
    matches!(
        action.state,
        ActionState::Proposed | ActionState::Approved | ActionState::Sent
    )
}

/// Who asked: the cycle, or the operator for one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ask {
    Cycle,
    Settle,
    Expire,
}

/// A step's outcome: done (journal it), nothing to do now, or refused/waiting with why.
pub(super) type Step = Result<Option<String>, String>;

impl PoolDesk {
    async fn attempts(&self, prefix: &str, id: i64) -> anyhow::Result<(Vec<Action>, u32)> {
        attempts_of(&self.store, format!("{prefix}{id}")).await
    }

    /// The next attempt's number, `None` when one stands (or the cycle gave up).
    async fn next_attempt(
        &self,
        prefix: &str,
        id: i64,
        ask: Ask,
    ) -> anyhow::Result<Result<u32, String>> {
        let (attempts, next) = self.attempts(prefix, id).await?;
        if let Some(last) = attempts.last() {
            if stands(last) {
                return Ok(Err(if last.state == ActionState::Confirmed {
                    format!(
                        "action #{} confirmed on chain, waiting for the Vault's event",
                        last.id
                    )
                } else {
                    format!("action #{} ({}) is already on its way", last.id, last.state)
                }));
            }
            if ask == Ask::Cycle && (last.state == ActionState::Rejected || next > AUTO_ATTEMPTS) {
                return Ok(Err(format!(
                    "action #{} was {}; not retried automatically",
                    last.id, last.state
                )));
            }
        }
        Ok(Ok(next))
    }

    /// Any lifecycle action about policy `id` still on its way.
    async fn on_its_way(&self, id: i64) -> anyhow::Result<Option<Action>> {
        for prefix in [LOCK_PREFIX, EXPIRE_PREFIX, SETTLE_PREFIX, RELEASE_PREFIX] {
            let (attempts, _) = self.attempts(prefix, id).await?;
            if let Some(a) = attempts.into_iter().rev().find(in_flight) {
                return Ok(Some(a));
            }
        }
        Ok(None)
    }

    fn token_address(token: Token, wbtc: Address) -> Address {
        match token {
            Token::Eth => Address::ZERO,
            Token::Wbtc => wbtc,
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn propose_call(
        &self,
        key: String,
        kind: ActionKind,
        vault: Address,
        function: &str,
        args: Vec<(String, String)>,
        calldata: Vec<u8>,
        summary: String,
    ) -> anyhow::Result<Action> {
        let plan = ActionPlan::ContractCall {
            chain: self.chain.name().to_string(),
            contract: vault.to_checksum(None),
            contract_name: "LiquidityVault".into(),
            function: function.into(),
            args,
            value_wei: "0".into(),
            gas_limit: 0,
            calldata: alloy::primitives::Bytes::from(calldata).to_string(),
        };
        let outcome = self
            .queue
            .propose(NewAction {
                key,
                kind,
                summary,
                plan,
                estimate: Estimate::default(),
            })
            .await?;
        Ok(outcome.action().clone())
    }

    /// `lockCollateralAggregate([id], amount, token)` or `releaseCollateralAggregate(…)`.
    #[allow(clippy::too_many_arguments)]
    async fn propose_aggregate(
        &self,
        lock: bool,
        key: String,
        kind: ActionKind,
        p: &Policy,
        amount: Units,
        vault: Address,
        wbtc: Address,
        summary: String,
    ) -> anyhow::Result<Action> {
        let token = Self::token_address(p.token, wbtc);
        let ids = vec![U256::from(p.id as u64)];
        let (function, calldata) = if lock {
            (
                "lockCollateralAggregate(uint256[],uint256,address)",
                LiquidityVault::lockCollateralAggregateCall {
                    policyIds: ids,
                    amount: U256::from(amount),
                    token,
                }
                .abi_encode(),
            )
        } else {
            (
                "releaseCollateralAggregate(uint256[],uint256,address)",
                LiquidityVault::releaseCollateralAggregateCall {
                    policyIds: ids,
                    amount: U256::from(amount),
                    token,
                }
                .abi_encode(),
            )
        };
        let symbol = p.token.symbol();
        let args = vec![
            ("policyIds".into(), format!("[{}]", p.id)),
            (
                "amount".into(),
                format!("{amount} ({} {symbol})", p.token.format_units(amount)),
            ),
            (
                "token".into(),
                format!("{} ({symbol})", token.to_checksum(None)),
            ),
        ];
        self.propose_call(key, kind, vault, function, args, calldata, summary)
            .await
    }

    /// Proposes the Vault's lock for an active policy it does not cover yet.
    async fn lock_policy(&self, p: &Policy, vault: Address, wbtc: Address) -> anyhow::Result<Step> {
        let id = p.id;
        let next = match self.next_attempt(LOCK_PREFIX, id, Ask::Cycle).await? {
            Ok(n) => n,
            Err(why) => return Ok(Err(format!("policy #{id}: lock: {why}"))),
        };
        let amount = p.token.format_units(p.collateral_locked);
        let symbol = p.token.symbol();
        let action = self
            .propose_aggregate(
                true,
                policy_key(LOCK_PREFIX, id, next),
                ActionKind::LockCollateral,
                p,
                p.collateral_locked,
                vault,
                wbtc,
                format!("lock {amount} {symbol} in the Vault for policy #{id}"),
            )
            .await?;
        Ok(Ok(Some(format!(
            "policy #{id}: proposed action #{} ({}) locking {amount} {symbol} on chain",
            action.id, action.state
        ))))
    }

    /// An active policy at or past expiry: settled when in the money at a fresh BTC/USD,
    /// expired (its lock released) when not.
    pub(super) async fn at_expiry(
        &self,
        p: &Policy,
        prices: Option<Prices>,
        vault: Address,
        wbtc: Address,
        ask: Ask,
    ) -> anyhow::Result<Step> {
        let id = p.id;
        let now_ms = chrono::Utc::now().timestamp_millis();
        if p.status != PolicyStatus::Active {
            return Ok(Err(format!("policy #{id}: it is {}, not active", p.status)));
        }
        if now_ms < p.expires_at_ms {
            return Ok(Err(format!(
                "policy #{id}: not expired yet (expires {})",
                chrono::DateTime::from_timestamp_millis(p.expires_at_ms)
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default()
            )));
        }
        if let Some(a) = self.on_its_way(id).await? {
            return Ok(Err(format!(
                "policy #{id}: action #{} ({}, {}) is already on its way",
                a.id, a.kind, a.state
            )));
        }
        let Some(prices) = prices else {
            return Ok(Err(format!(
                "cannot judge policy #{id} at expiry: no fresh BTC/USD"
            )));
        };
        let price = prices.btc_usd;
        let payout = if in_the_money(p.kind, p.strike_usd, price) {
            payout_units(
                p.kind,
                p.strike_usd,
                p.amount_sats,
                price,
                p.token,
                prices.of(p.token),
            )?
        } else {
            0
        };
        let at = format!("BTC/USD {} USD", format_usd(price));
        if payout > 0 {
            if ask == Ask::Expire {
                return Ok(Err(format!(
                    "policy #{id}: in the money at {at}; settle it instead"
                )));
            }
            // The Vault's settlePolicy lowers the aggregate lock by the payout: settling a
            // policy it never locked would take from other policies' locks. Lock it first.
            if !p.onchain_locked {
                return self.lock_policy(p, vault, wbtc).await;
            }
            return self.settle(p, payout, price, vault, wbtc, ask).await;
        }
        if ask == Ask::Settle {
            return Ok(Err(format!(
                "policy #{id}: out of the money at {at}; expire it instead"
            )));
        }
        let (expires, _) = self.attempts(EXPIRE_PREFIX, id).await?;
        let released = expires
            .last()
            .is_some_and(|a| a.state == ActionState::Confirmed);
        if !p.onchain_locked {
            let (locks, _) = self.attempts(LOCK_PREFIX, id).await?;
            let locked_unseen = locks
                .last()
                .is_some_and(|a| a.state == ActionState::Confirmed);
            if locked_unseen && !released {
                return Ok(Err(format!(
                    "policy #{id}: waiting for the Vault's lock event before releasing it"
                )));
            }
            // Released on chain (its event applied), or never locked there: the books.
            self.store.pool_expire_policy(id, now_ms).await?;
            self.store.pool_accrue_yield(id, now_ms).await?;
            return Ok(Ok(Some(format!(
                "policy #{id}: expired out of the money at {at}; {} {} released, premium credited as yield",
                p.token.format_units(p.collateral_locked),
                p.token.symbol()
            ))));
        }
        let next = match self.next_attempt(EXPIRE_PREFIX, id, ask).await? {
            Ok(n) => n,
            Err(why) => return Ok(Err(format!("policy #{id}: expire: {why}"))),
        };
        let amount = p.token.format_units(p.collateral_locked);
        let symbol = p.token.symbol();
        let action = self
            .propose_aggregate(
                false,
                policy_key(EXPIRE_PREFIX, id, next),
                ActionKind::ExpirePolicy,
                p,
                p.collateral_locked,
                vault,
                wbtc,
                format!(
                    "expire policy #{id} out of the money at {at}: release {amount} {symbol} in the Vault"
                ),
            )
            .await?;
        Ok(Ok(Some(format!(
            "policy #{id}: out of the money at {at}; proposed action #{} ({}) releasing {amount} {symbol}",
            action.id, action.state
        ))))
    }

    async fn settle(
        &self,
        p: &Policy,
        payout: Units,
        price: u128,
        vault: Address,
        wbtc: Address,
        ask: Ask,
    ) -> anyhow::Result<Step> {
        let id = p.id;
        let next = match self.next_attempt(SETTLE_PREFIX, id, ask).await? {
            Ok(n) => n,
            Err(why) => return Ok(Err(format!("policy #{id}: settle: {why}"))),
        };
        let now_ms = chrono::Utc::now().timestamp_millis();
        // Noted first: the settlement-paid event's application records it.
        self.store
            .pool_note_settlement_price(id, price, now_ms)
            .await?;
        let token = Self::token_address(p.token, wbtc);
        let symbol = p.token.symbol();
        let amount = p.token.format_units(payout);
        let at = format!("BTC/USD {} USD", format_usd(price));
        let calldata = LiquidityVault::settlePolicyCall {
            policyId: U256::from(id as u64),
            buyer: p.buyer,
            amount: U256::from(payout),
            token,
        }
        .abi_encode();
        let args = vec![
            ("policyId".into(), id.to_string()),
            ("buyer".into(), p.buyer.to_checksum(None)),
            ("amount".into(), format!("{payout} ({amount} {symbol})")),
            (
                "token".into(),
                format!("{} ({symbol})", token.to_checksum(None)),
            ),
        ];
        let action = self
            .propose_call(
                policy_key(SETTLE_PREFIX, id, next),
                ActionKind::SettlePolicy,
                vault,
                "settlePolicy(uint256,address,uint256,address)",
                args,
                calldata,
                format!(
                    "settle policy #{id} in the money at {at} (price_e8 {price}): pay {amount} {symbol} to {}",
                    p.buyer.to_checksum(None)
                ),
            )
            .await?;
        Ok(Ok(Some(format!(
            "policy #{id}: in the money at {at}; proposed action #{} ({}) paying {amount} {symbol} to {}",
            action.id, action.state, p.buyer
        ))))
    }

    /// After a settlement the books applied: the premium as yield, and what is left of the
    /// policy's lock released in the Vault.
    async fn after_settlement(
        &self,
        p: &Policy,
        vault: Address,
        wbtc: Address,
    ) -> anyhow::Result<Step> {
        let id = p.id;
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut done = None;
        if p.yield_accrued_at_ms.is_none() && self.store.pool_accrue_yield(id, now_ms).await? {
            done = Some(format!(
                "policy #{id}: settled; premium {} {} credited as yield",
                p.token.format_units(p.premium),
                p.token.symbol()
            ));
        }
        let paid = p.payout.unwrap_or(0);
        let rest = p.collateral_locked.saturating_sub(paid);
        if !p.onchain_locked || rest == 0 {
            return Ok(Ok(done));
        }
        let next = match self.next_attempt(RELEASE_PREFIX, id, Ask::Cycle).await? {
            Ok(n) => n,
            Err(why) => {
                return Ok(done
                    .map(Some)
                    .ok_or(format!("policy #{id}: release: {why}")));
            }
        };
        let amount = p.token.format_units(rest);
        let symbol = p.token.symbol();
        let action = self
            .propose_aggregate(
                false,
                policy_key(RELEASE_PREFIX, id, next),
                ActionKind::ExpirePolicy,
                p,
                rest,
                vault,
                wbtc,
                format!("release the {amount} {symbol} left of settled policy #{id}'s lock"),
            )
            .await?;
        let line = format!(
            "policy #{id}: proposed action #{} ({}) releasing the {amount} {symbol} left of its lock",
            action.id, action.state
        );
        Ok(Ok(Some(match done {
            Some(d) => format!("{d}; {line}"),
            None => line,
        })))
    }

    /// The tab's `s` / `x` for one policy.
    pub(super) async fn policy_request(
        &self,
        id: i64,
        ask: Ask,
        vault: Address,
        wbtc: Address,
        prices: Option<Prices>,
    ) -> anyhow::Result<Step> {
        let Some(book) = self.store.pool_policy(id).await? else {
            return Ok(Err(format!("policy #{id}: no such policy")));
        };
        self.at_expiry(&book.policy, prices, vault, wbtc, ask).await
    }

    /// Every cycle: lock new policies, judge expired ones, finish settled ones. Returns
    /// lines to journal (`Ok`) and reasons nothing was done (`Err`), by policy.
    pub(super) async fn policy_cycle(
        &self,
        vault: Address,
        wbtc: Address,
        prices: Option<Prices>,
    ) -> anyhow::Result<Vec<(i64, Result<String, String>)>> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut out = Vec::new();
        let active = self
            .store
            .pool_policies(PolicyFilter {
                status: Some(PolicyStatus::Active),
                provider: None,
                limit: None,
            })
            .await?;
        for p in &active {
            let step = if now_ms < p.expires_at_ms {
                if p.onchain_locked {
                    continue;
                }
                self.lock_policy(p, vault, wbtc).await?
            } else {
                self.at_expiry(p, prices, vault, wbtc, Ask::Cycle).await?
            };
            match step {
                Ok(Some(line)) => out.push((p.id, Ok(line))),
                Ok(None) => {}
                Err(why) => out.push((p.id, Err(why))),
            }
        }
        let settled = self
            .store
            .pool_policies(PolicyFilter {
                status: Some(PolicyStatus::Settled),
                provider: None,
                limit: Some(200),
            })
            .await?;
        for p in settled
            .iter()
            .filter(|p| p.yield_accrued_at_ms.is_none() || p.onchain_locked)
        {
            match self.after_settlement(p, vault, wbtc).await? {
                Ok(Some(line)) => out.push((p.id, Ok(line))),
                Ok(None) => {}
                Err(why) => out.push((p.id, Err(why))),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_policy_and_attempt() {
        assert_eq!(policy_key(LOCK_PREFIX, 7, 2), "lock_collateral:7:2");
        assert_eq!(policy_of_key("settle_policy:7:1"), Some(7));
        assert_eq!(policy_of_key("expire_policy:3:1"), Some(3));
        assert_eq!(policy_of_key("release_settled:4:1"), Some(4));
        assert_eq!(policy_of_key("approve_withdrawal:7:1"), None);
        assert_eq!(policy_of_key("settle_policy:x:1"), None);
    }
}
