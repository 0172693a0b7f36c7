//! The Vault's events into the books: one ingestion stream per Vault (`pool.vault`), each
//! confirmed log decoded into a [`VaultEvent`] and applied in the ingestion's own
//! transaction (so the books and the stream's cursor commit together), exactly once by
//! (tx hash, log index) even if the same log is delivered again.

use alloy::primitives::{Address, U256};
use alloy::sol_types::SolEvent;

use crate::chain::contracts::LiquidityVault::{
    CollateralLocked, CollateralReleased, FundsDeposited, FundsWithdrawn, SettlementPaid,
};
use crate::chain::ingest::{LogHandler, StreamSpec};
use crate::pool::model::Token;
use crate::store::StoreError;
use crate::store::ingest::IngestedLog;
use crate::store::pool::{EventKey, EventOutcome, VaultEvent, apply_event_in};

/// The stream's name (one per chain).
pub const STREAM: &str = "pool.vault";

/// The Vault's fund and collateral events, from `start_block`.
pub fn vault_stream(chain_id: u64, vault: Address, start_block: u64) -> StreamSpec {
    StreamSpec::new(STREAM, chain_id, vec![vault])
        .with_event::<FundsDeposited>()
        .with_event::<FundsWithdrawn>()
        .with_event::<CollateralLocked>()
        .with_event::<CollateralReleased>()
        .with_event::<SettlementPaid>()
        .starting_at(start_block)
}

/// Applies the Vault's logs to the books.
pub struct VaultHandler {
    pub vault: Address,
    pub wbtc: Address,
    /// The tier a depositor the books do not know yet starts in.
    pub default_tier: String,
}

fn bad(log: &IngestedLog, what: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!(
        "vault log {}#{}: {what}",
        log.tx_hash, log.log_index
    ))
}

fn policy_id(log: &IngestedLog, id: U256) -> Result<i64, StoreError> {
    i64::try_from(id).map_err(|_| bad(log, format!("policy id {id} is out of range")))
}

fn units(log: &IngestedLog, amount: U256) -> Result<u128, StoreError> {
    u128::try_from(amount).map_err(|_| bad(log, format!("amount {amount} is out of range")))
}

impl VaultHandler {
    fn token(&self, log: &IngestedLog, token: Address) -> Result<Token, StoreError> {
        if token == Address::ZERO {
            Ok(Token::Eth)
        } else if token == self.wbtc {
            Ok(Token::Wbtc)
        } else {
            Err(bad(
                log,
                format!("token {token} is neither ETH nor the pool's WBTC"),
            ))
        }
    }

    /// The event a log carries, `None` for one this handler does not follow.
    pub fn decode(&self, log: &IngestedLog) -> Result<Option<VaultEvent>, StoreError> {
        if log.address != self.vault {
            return Ok(None);
        }
        let Some(topic0) = log.topic0() else {
            return Ok(None);
        };
        let decode_err = |e: alloy::sol_types::Error| bad(log, e);
        Ok(Some(match topic0 {
            FundsDeposited::SIGNATURE_HASH => {
                let e = log.decode::<FundsDeposited>().map_err(decode_err)?;
                VaultEvent::Deposited {
                    provider: e.depositor,
                    token: self.token(log, e.token)?,
                    amount: units(log, e.amount)?,
                }
            }
            FundsWithdrawn::SIGNATURE_HASH => {
                let e = log.decode::<FundsWithdrawn>().map_err(decode_err)?;
                VaultEvent::Withdrawn {
                    provider: e.withdrawer,
                    token: self.token(log, e.token)?,
                    amount: units(log, e.amount)?,
                }
            }
            CollateralLocked::SIGNATURE_HASH => {
                let e = log.decode::<CollateralLocked>().map_err(decode_err)?;
                VaultEvent::CollateralLocked {
                    policy_ids: e
                        .policyIds
                        .iter()
                        .map(|id| policy_id(log, *id))
                        .collect::<Result<_, _>>()?,
                    token: self.token(log, e.token)?,
                    amount: units(log, e.amount)?,
                }
            }
            CollateralReleased::SIGNATURE_HASH => {
                let e = log.decode::<CollateralReleased>().map_err(decode_err)?;
                VaultEvent::CollateralReleased {
                    policy_ids: e
                        .policyIds
                        .iter()
                        .map(|id| policy_id(log, *id))
                        .collect::<Result<_, _>>()?,
                    token: self.token(log, e.token)?,
                    amount: units(log, e.amount)?,
                }
            }
            SettlementPaid::SIGNATURE_HASH => {
                let e = log.decode::<SettlementPaid>().map_err(decode_err)?;
                VaultEvent::SettlementPaid {
                    policy_id: policy_id(log, e.policyId)?,
                    buyer: e.buyer,
                    token: self.token(log, e.token)?,
                    amount: units(log, e.amount)?,
                    settlement_price: None,
                }
            }
            _ => return Ok(None),
        }))
    }

    /// Applies one log in `tx`; what it did to the books.
    pub fn apply_in(
        &self,
        tx: &rusqlite::Connection,
        log: &IngestedLog,
    ) -> Result<Option<EventOutcome>, StoreError> {
        let Some(event) = self.decode(log)? else {
            return Ok(None);
        };
        let key = EventKey {
            tx_hash: log.tx_hash,
            log_index: log.log_index,
            block_number: log.block_number,
        };
        let now = chrono::Utc::now().timestamp_millis();
        apply_event_in(tx, key, &event, &self.default_tier, now).map(Some)
    }
}

impl LogHandler for VaultHandler {
    fn apply(&self, tx: &rusqlite::Transaction<'_>, log: &IngestedLog) -> Result<(), StoreError> {
        match self.apply_in(tx, log)? {
            Some(EventOutcome::Anomaly(why)) => {
                tracing::warn!(desk = "pool", tx = %log.tx_hash, index = log.log_index, "vault event the books cannot follow: {why}");
            }
            Some(EventOutcome::Duplicate) => {
                tracing::info!(desk = "pool", tx = %log.tx_hash, index = log.log_index, "vault event already applied");
            }
            _ => {}
        }
        Ok(())
    }

    /// The books are not unwound: the event stays recorded and the mirrored totals and
    /// the providers' books will disagree with the Vault, which reconciliation reports
    /// for the operator to look at (a reorg deeper than the confirmation depth).
    fn retract(
        &self,
        _tx: &rusqlite::Transaction<'_>,
        log: &IngestedLog,
    ) -> Result<(), StoreError> {
        tracing::error!(
            desk = "pool",
            tx = %log.tx_hash,
            index = log.log_index,
            block = log.block_number,
            "a vault event the books applied was retracted by a reorg; reconciliation will show the difference"
        );
        Ok(())
    }
}
