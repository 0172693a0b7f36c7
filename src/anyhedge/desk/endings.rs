//! How open contracts end: settlement at maturity or on a liquidating price (found in the
//! oracles' messages by `settlement::find`), mutual redemption signed by both parties, and
//! recording whichever the chain says happened, whoever sent it.

use alloy::primitives::U256;
use serde_json::json;

use super::AnyHedgeDesk;
use super::cycle::{InView, Memory, unhex};
use super::onchain::ChainSettlement;
use super::settlement::{self, Msg, SettleKind, Terms};
use super::windows::{Windows, running_from};
use crate::actions::{ActionKind, ActionState, Estimate, NewAction};
use crate::anyhedge::chain::{
    MutualRedemption, RedemptionKind, mutual_redeem_calldata, settle_calldata,
};
use crate::anyhedge::message::verify::Scheme;
use crate::anyhedge::offers::lifecycle::parameters_of;
use crate::anyhedge::pane::Severity;
use crate::store::anyhedge::{Position, RedemptionType, Settlement, SettlementType};

fn redemption_kind(t: RedemptionType) -> RedemptionKind {
    match t {
        RedemptionType::Refund => RedemptionKind::Refund,
        RedemptionType::EarlyMaturation => RedemptionKind::EarlyMaturation,
        RedemptionType::Arbitrary => RedemptionKind::Split,
    }
}

fn hex(bytes: &[u8]) -> String {
    format!("0x{}", ::hex::encode(bytes))
}

impl AnyHedgeDesk {
    pub(super) async fn settle_if_due(
        &self,
        view: &InView,
        memory: &mut Memory,
        p: &Position,
        asked: bool,
        now: i64,
    ) -> anyhow::Result<()> {
        let address = p.address.to_checksum(None);
        let (last, next_key) = self.attempts(view, &self.settle_prefix(p)).await?;
        let redeeming = p
            .mutual_redemption
            .as_ref()
            .is_some_and(|r| r.tx_hash.is_some());
        let in_flight = last.as_ref().is_some_and(|a| {
            matches!(
                a.state,
                ActionState::Proposed | ActionState::Approved | ActionState::Sent
            )
        });
        let settled_by_us = last
            .as_ref()
            .is_some_and(|a| a.state == ActionState::Confirmed);
        let chain_check = view.chain_read;
        if (settled_by_us || redeeming || chain_check || asked)
            && self.record_settlement(view, p, now).await?
        {
            return Ok(());
        }
        if in_flight || redeeming {
            return Ok(());
        }
        if let Some(a) = &last
            && matches!(a.state, ActionState::Failed | ActionState::Rejected)
        {
            self.say_once(
                memory,
                format!("settle-failed:{}", a.id),
                Severity::Failure,
                format!(
                    "settling {address} failed (action #{}): {}; `s` tries again",
                    a.id,
                    a.note.clone().unwrap_or_default()
                ),
            );
            if !asked {
                return Ok(());
            }
        }
        if !(self.config.anyhedge.auto_settle || asked) {
            return Ok(());
        }

        let t = &p.terms;
        let (start, maturity) = (t.start_timestamp as i64, t.maturity_timestamp as i64);
        let matured_rows;
        let rows = if now >= maturity {
            matured_rows = Windows::matured(&self.store, p).await?;
            &matured_rows[..]
        } else {
            view.windows
                .after(&p.oracle_pubkey, running_from(p, &memory.scanned))
        };
        if let Some(newest) = rows.iter().map(|r| i64::from(r.message_timestamp)).max() {
            memory.scanned.insert(p.address, newest);
        }
        let msgs: Vec<Msg> = rows
            .iter()
            .map(|r| Msg {
                timestamp: i64::from(r.message_timestamp),
                price_sequence: i64::from(r.price_sequence),
                price: i64::from(r.price),
            })
            .collect();
        let terms = Terms {
            start,
            maturity,
            low: i64::from(t.low_price),
            high: i64::from(t.high_price),
        };
        let Some((prev, msg, kind)) = settlement::find(&msgs, &terms) else {
            if asked {
                self.journal(Severity::Waiting, format!(
                    "nothing settles {address} yet: it matures at {maturity} and no stored message crosses {} or {}",
                    t.low_price, t.high_price
                ));
            }
            return Ok(());
        };
        let (prev, msg) = (&rows[prev], &rows[msg]);
        if prev.scheme != Scheme::Ecdsa || msg.scheme != Scheme::Ecdsa {
            self.say_once(
                memory,
                format!("schnorr:{address}"),
                Severity::Failure,
                format!(
                    "{address} is due for {} but its oracle signs with BCH Schnorr, which the EVM contract cannot check",
                    kind.as_str()
                ),
            );
            return Ok(());
        }
        let price = u32::try_from(msg.price).unwrap_or(0);
        let payout = parameters_of(t).settle(price);
        let calldata = settle_calldata(
            &unhex(&prev.message)?,
            &unhex(&prev.signature)?,
            &unhex(&msg.message)?,
            &unhex(&msg.signature)?,
        );
        let plan = self.contract_call(
            p.address,
            "HedgeContract",
            "settle(bytes,bytes,bytes,bytes)",
            vec![
                (
                    "prevMessage".into(),
                    format!(
                        "{} (price seq {}, at {})",
                        prev.message, prev.price_sequence, prev.message_timestamp
                    ),
                ),
                (
                    "settlementMessage".into(),
                    format!(
                        "{} (price {}, seq {}, at {})",
                        msg.message, msg.price, msg.price_sequence, msg.message_timestamp
                    ),
                ),
            ],
            calldata,
        );
        let action = self
            .queue
            .propose(NewAction {
                key: next_key,
                kind: ActionKind::SettleContract,
                summary: format!(
                    "{} of {address} at {price}: short {} sats, long {} sats",
                    kind.as_str(),
                    payout.short_sats,
                    payout.long_sats
                ),
                plan,
                estimate: Estimate::default(),
            })
            .await?;
        self.notify(
            p,
            "settlement_proposed",
            json!({"action": action.action().id, "settlement_type": kind.as_str(), "price": price}),
        );
        Ok(())
    }

    /// Records how the chain says `p` ended; true when it has.
    async fn record_settlement(
        &self,
        view: &InView,
        p: &Position,
        now: i64,
    ) -> anyhow::Result<bool> {
        let Some(logs) = self.logs(view, p) else {
            return Ok(false);
        };
        let Some(ended) = logs.settlement()? else {
            return Ok(false);
        };
        let settlement = match &ended {
            ChainSettlement::Settled { tx_hash, event } => {
                let message = self
                    .store
                    .anyhedge_price_messages(crate::store::anyhedge_oracles::PriceMessageFilter {
                        pubkey: Some(p.oracle_pubkey.clone()),
                        min_message_sequence: Some(i64::from(event.messageSequence)),
                        max_message_sequence: Some(i64::from(event.messageSequence)),
                        ..Default::default()
                    })
                    .await?
                    .rows
                    .into_iter()
                    .next();
                Settlement {
                    spending_transaction: *tx_hash,
                    settlement_type: if event.kind == SettleKind::Liquidation as u8 {
                        SettlementType::Liquidation
                    } else {
                        SettlementType::Maturation
                    },
                    short_satoshis: event.shortSats,
                    long_satoshis: event.longSats,
                    oracle_pubkey: p.oracle_pubkey.clone(),
                    settlement_price: Some(event.price),
                    settlement_price_sequence: Some(i64::from(event.priceSequence)),
                    settlement_message_sequence: Some(i64::from(event.messageSequence)),
                    settlement_message_timestamp: Some(i64::from(event.messageTimestamp)),
                    settlement_message: message.as_ref().map(|m| m.message.clone()),
                    settlement_signature: message.map(|m| m.signature),
                    recorded_at: now,
                }
            }
            ChainSettlement::Redeemed { tx_hash, event } => {
                if p.mutual_redemption
                    .as_ref()
                    .is_some_and(|r| r.tx_hash.is_none())
                    && let Err(refused) = self
                        .store
                        .anyhedge_record_redemption_tx(p.address, *tx_hash)
                        .await?
                {
                    self.journal(
                        Severity::Failure,
                        format!("redemption of {} not recorded: {refused}", p.address),
                    );
                }
                Settlement {
                    spending_transaction: *tx_hash,
                    settlement_type: SettlementType::MutualRedemption,
                    short_satoshis: event.shortSats,
                    long_satoshis: event.longSats,
                    oracle_pubkey: p.oracle_pubkey.clone(),
                    settlement_price: (event.price > 0).then_some(event.price),
                    settlement_price_sequence: None,
                    settlement_message_sequence: None,
                    settlement_message_timestamp: None,
                    settlement_message: None,
                    settlement_signature: None,
                    recorded_at: now,
                }
            }
        };
        let kind = settlement.settlement_type.as_str();
        let (short, long) = (settlement.short_satoshis, settlement.long_satoshis);
        let tx = settlement.spending_transaction.to_string();
        match self
            .store
            .anyhedge_record_settlement(p.address, settlement)
            .await?
        {
            Ok(_) => {
                self.notify(
                    p,
                    "settled",
                    json!({"settlement_type": kind, "short_satoshis": short, "long_satoshis": long, "tx_hash": tx}),
                );
                Ok(true)
            }
            Err(refused) => {
                self.journal(
                    Severity::Failure,
                    format!("settlement of {} not recorded: {refused}", p.address),
                );
                Ok(false)
            }
        }
    }

    pub(super) async fn redeem(
        &self,
        view: &InView,
        memory: &mut Memory,
        p: &Position,
        now: i64,
    ) -> anyhow::Result<()> {
        let Some(r) = &p.mutual_redemption else {
            return Ok(());
        };
        let (Some(short_sig), Some(long_sig)) = (&r.short_signature, &r.long_signature) else {
            return Ok(());
        };
        let address = p.address.to_checksum(None);
        let terms = &r.terms;
        let Some(prefix) = self.redeem_prefix(p) else {
            return Ok(());
        };
        let (last, next_key) = self.attempts(view, &prefix).await?;
        match &last {
            Some(a) if a.state == ActionState::Confirmed => {
                self.record_settlement(view, p, now).await?;
                return Ok(());
            }
            Some(a) if matches!(a.state, ActionState::Failed | ActionState::Rejected) => {
                self.say_once(
                    memory,
                    format!("redeem-failed:{}", a.id),
                    Severity::Failure,
                    format!(
                        "mutual redemption of {address} failed (action #{}): {}; the parties may sign new terms",
                        a.id,
                        a.note.clone().unwrap_or_default()
                    ),
                );
                return Ok(());
            }
            Some(_) => return Ok(()),
            None => {}
        }
        if terms.deadline <= now as u64 {
            self.say_once(
                memory,
                format!("redeem-expired:{address}:{}", terms.deadline),
                Severity::Failure,
                format!(
                    "mutual redemption of {address} expired at {}; the parties must sign again",
                    terms.deadline
                ),
            );
            return Ok(());
        }
        let redemption = MutualRedemption {
            hedge: p.address,
            kind: redemption_kind(terms.redemption_type) as u8,
            price: terms.settlement_price,
            shortSats: terms.short_satoshis,
            longSats: terms.long_satoshis,
            deadline: U256::from(terms.deadline),
        };
        let calldata = mutual_redeem_calldata(&redemption, &unhex(short_sig)?, &unhex(long_sig)?);
        let plan = self.contract_call(
            p.address,
            "HedgeContract",
            "mutualRedeem(uint8,uint32,uint64,uint64,uint256,bytes,bytes)",
            vec![
                ("kind".into(), terms.redemption_type.as_str().into()),
                ("price".into(), terms.settlement_price.to_string()),
                ("shortSats".into(), terms.short_satoshis.to_string()),
                ("longSats".into(), terms.long_satoshis.to_string()),
                ("deadline".into(), terms.deadline.to_string()),
                ("shortSig".into(), hex(&unhex(short_sig)?)),
                ("longSig".into(), hex(&unhex(long_sig)?)),
            ],
            calldata,
        );
        let action = self
            .queue
            .propose(NewAction {
                key: next_key,
                kind: ActionKind::MutualRedeem,
                summary: format!(
                    "mutual {} of {address}: short {} sats, long {} sats",
                    terms.redemption_type.as_str(),
                    terms.short_satoshis,
                    terms.long_satoshis
                ),
                plan,
                estimate: Estimate::default(),
            })
            .await?;
        self.notify(
            p,
            "redemption_proposed",
            json!({"action": action.action().id}),
        );
        Ok(())
    }
}
