//! One cycle of the AnyHedge desk, in the watchtower's order: offer deadlines, funding
//! completion, funding validation from the chain, settlement of matured and liquidatable
//! contracts, mutual redemptions. Every transaction is an action keyed by contract (and
//! attempt), so a restart never proposes one twice; every failure lands on the journal.

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::{Address, Bytes, U256};
use serde_json::json;

use super::onchain::{self, ChainSettlement};
use super::settlement::{self, Msg, SettleKind, Terms};
use super::{AnyHedgeDesk, Contracts};
use crate::actions::{Action, ActionKind, ActionPlan, ActionState, Estimate, NewAction};
use crate::anyhedge::chain::{
    MutualRedemption, RedemptionKind, SignedFunding, build_params, create_and_fund_calldata,
    mutual_redeem_calldata, predict_address, settle_calldata,
};
use crate::anyhedge::message::verify::Scheme;
use crate::anyhedge::offers::lifecycle::{OfferBook, parameters_of};
use crate::anyhedge::pane::Severity;
use crate::anyhedge::requests::AnyHedgeRequest;
use crate::store::anyhedge::{Funding, Position, RedemptionType, Settlement, SettlementType};

/// The resource name of hedge position updates on the WebSocket.
pub const POSITION_RESOURCE: &str = "hedge_position";
/// How often contracts nobody asked about are read from the chain (funded or settled by
/// their parties or by someone else).
const CHAIN_CHECK_SECS: i64 = 15;
/// Messages looked at before the window a contract needs (a settlement pair straddles it).
const LOOKBACK_SECS: i64 = 600;

/// What the desk remembers between cycles (rebuilt from the store and chain on restart).
#[derive(Debug, Default)]
pub struct Memory {
    /// Journal lines already written, so a standing failure is said once.
    said: BTreeSet<String>,
    /// Per contract: the newest message timestamp already scanned for a liquidation.
    scanned: BTreeMap<Address, i64>,
    /// When contracts were last read from the chain without a reason.
    last_chain_check: i64,
}

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

fn unhex(text: &str) -> anyhow::Result<Vec<u8>> {
    Ok(::hex::decode(text.trim().trim_start_matches("0x"))?)
}

impl AnyHedgeDesk {
    fn say_once(&self, memory: &mut Memory, key: String, severity: Severity, message: String) {
        if memory.said.insert(key) {
            self.journal(severity, message);
        }
    }

    /// The newest attempt of an action (`<prefix>:<n>`, n from 1) and the next free key.
    async fn attempts(&self, prefix: &str) -> anyhow::Result<(Option<Action>, String)> {
        let mut last = None;
        for n in 1.. {
            let key = format!("{prefix}:{n}");
            match self.store.action_by_key(&key).await? {
                Some(action) => last = Some(action),
                None => return Ok((last, key)),
            }
        }
        unreachable!("the attempts loop returns")
    }

    fn contract_call(
        &self,
        contract: Address,
        contract_name: &str,
        function: &str,
        args: Vec<(String, String)>,
        calldata: Bytes,
    ) -> ActionPlan {
        ActionPlan::ContractCall {
            chain: self.chain.name().to_string(),
            contract: contract.to_checksum(None),
            contract_name: contract_name.into(),
            function: function.into(),
            args,
            value_wei: "0".into(),
            gas_limit: 0,
            calldata: calldata.to_string(),
        }
    }

    fn notify(&self, p: &Position, action: &str, meta: serde_json::Value) {
        let mut body = json!({"address": p.address.to_checksum(None)});
        if let (Some(m), serde_json::Value::Object(extra)) = (body.as_object_mut(), meta) {
            m.extend(extra);
        }
        self.updates
            .publish_to(p.wallet_hashes(), POSITION_RESOURCE, action, body);
    }

    /// Runs one cycle at `now` (unix seconds) with the requests that arrived since the last.
    pub async fn cycle(
        &self,
        contracts: &Contracts,
        offers: &OfferBook,
        asked: &[AnyHedgeRequest],
        memory: &mut Memory,
        now: i64,
    ) -> anyhow::Result<()> {
        let swept = offers.sweep_expired_deadlines(now).await?;
        if !swept.is_empty() {
            tracing::info!(
                count = swept.len(),
                "anyhedge: accepted offers past their deadline are pending again"
            );
        }
        let chain_check = now - memory.last_chain_check >= CHAIN_CHECK_SECS;
        if chain_check {
            memory.last_chain_check = now;
        }
        let wants = |f: &dyn Fn(&AnyHedgeRequest) -> bool| asked.iter().any(f);

        // Funding: both proposals in → createAndFund; confirmed (or asked, or now and then)
        // → read the funding back from the chain.
        for p in self.store.anyhedge_positions_ready_to_fund().await? {
            let address = p.address.to_checksum(None);
            let complete = wants(
                &|r| matches!(r, AnyHedgeRequest::CompleteFunding { address: a } if a.eq_ignore_ascii_case(&address)),
            );
            let validate = wants(
                &|r| matches!(r, AnyHedgeRequest::ValidateFunding { address: a } if a.eq_ignore_ascii_case(&address)),
            );
            let (last, next_key) = self
                .attempts(&format!(
                    "fund_contract:{}:{address}",
                    self.chain.chain_id()
                ))
                .await?;
            let confirmed = last
                .as_ref()
                .is_some_and(|a| a.state == ActionState::Confirmed);
            if confirmed || validate || chain_check {
                if self.validate_funding(contracts, &p, now).await? {
                    continue;
                }
                if validate {
                    self.journal(
                        Severity::Waiting,
                        format!("{address} is not funded on chain yet"),
                    );
                }
            }
            let retry = match &last {
                None => true,
                Some(a) if matches!(a.state, ActionState::Failed | ActionState::Rejected) => {
                    self.say_once(
                        memory,
                        format!("fund-failed:{}", a.id),
                        Severity::Failure,
                        format!(
                            "funding {address} failed (action #{}): {}; `f` or complete_funding tries again",
                            a.id,
                            a.note.clone().unwrap_or_default()
                        ),
                    );
                    complete
                }
                Some(_) => false,
            };
            if retry {
                self.propose_funding(memory, &p, next_key, now).await?;
            }
        }
        for p in self.store.anyhedge_positions_unvalidated_funding().await? {
            if chain_check {
                self.validate_funding(contracts, &p, now).await?;
            }
        }

        // Settlement and redemption follow-up of open contracts.
        for p in self.store.anyhedge_positions_open().await? {
            let address = p.address.to_checksum(None);
            let asked_settle = wants(
                &|r| matches!(r, AnyHedgeRequest::Settle { address: a } if a.eq_ignore_ascii_case(&address)),
            );
            self.settle_if_due(contracts, memory, &p, asked_settle, chain_check, now)
                .await?;
        }
        for p in self.store.anyhedge_redemptions_ready().await? {
            self.redeem(contracts, memory, &p, now).await?;
        }
        for request in asked {
            if let AnyHedgeRequest::CompleteRedemption { address } = request {
                let parsed: Option<Address> = address.parse().ok();
                let ready = match parsed {
                    Some(a) => self.store.anyhedge_position(a).await?,
                    None => None,
                };
                match ready.and_then(|p| p.mutual_redemption) {
                    Some(r) if r.is_signed_by_both() => {}
                    Some(_) => self.journal(
                        Severity::Waiting,
                        format!("mutual redemption of {address} needs both signatures"),
                    ),
                    None => self.journal(
                        Severity::Waiting,
                        format!("{address} has no mutual redemption proposal"),
                    ),
                }
            }
        }
        Ok(())
    }

    async fn propose_funding(
        &self,
        memory: &mut Memory,
        p: &Position,
        key: String,
        now: i64,
    ) -> anyhow::Result<()> {
        let address = p.address.to_checksum(None);
        let (Some(short), Some(long)) = (&p.short_funding_proposal, &p.long_funding_proposal)
        else {
            return Ok(());
        };
        for (side, proposal) in [("short", short), ("long", long)] {
            if proposal.deadline <= now as u64 {
                self.say_once(
                    memory,
                    format!("permit-expired:{address}:{side}:{}", proposal.deadline),
                    Severity::Failure,
                    format!(
                        "cannot fund {address}: the {side} side's funding permit expired at {}; it must submit a new one",
                        proposal.deadline
                    ),
                );
                return Ok(());
            }
        }
        let params = build_params(&p.parties, &p.terms);
        let predicted = predict_address(p.factory, &params);
        if predicted != p.address {
            self.say_once(
                memory,
                format!("address-mismatch:{address}"),
                Severity::Failure,
                format!(
                    "cannot fund {address}: its terms create {} at factory {}",
                    predicted.to_checksum(None),
                    p.factory.to_checksum(None)
                ),
            );
            return Ok(());
        }
        let signed =
            |proposal: &crate::store::anyhedge::FundingProposal| -> anyhow::Result<SignedFunding> {
                Ok(SignedFunding {
                    deadline: U256::from(proposal.deadline),
                    signature: unhex(&proposal.signature)?.into(),
                })
            };
        let calldata = create_and_fund_calldata(&params, &signed(short)?, &signed(long)?);
        let t = &p.terms;
        let plan = self.contract_call(
            p.factory,
            "HedgeFactory",
            "createAndFund((address,address,address,address,uint64,uint64,uint32,uint32,uint32,uint64,uint64,uint64,uint64,uint64),uint256,bytes,uint256,bytes)",
            vec![
                ("hedge".into(), address.clone()),
                ("shortParty".into(), p.parties.short_party.to_checksum(None)),
                ("longParty".into(), p.parties.long_party.to_checksum(None)),
                ("start/low/high".into(), format!("{} / {} / {}", t.start_price, t.low_price, t.high_price)),
                ("maturity".into(), t.maturity_timestamp.to_string()),
                ("shortSats".into(), short.sats.to_string()),
                ("longSats".into(), long.sats.to_string()),
            ],
            calldata,
        );
        let action = self
            .queue
            .propose(NewAction {
                key,
                kind: ActionKind::FundContract,
                summary: format!(
                    "fund hedge {address}: short {} + long {} sats, payout {} sats",
                    short.sats, long.sats, t.payout_sats
                ),
                plan,
                estimate: Estimate::default(),
            })
            .await?;
        self.notify(p, "funding_proposed", json!({"action": action.action().id}));
        Ok(())
    }

    /// Reads the funding from the chain and records it; true when the contract is live.
    async fn validate_funding(
        &self,
        contracts: &Contracts,
        p: &Position,
        now: i64,
    ) -> anyhow::Result<bool> {
        let provider = self.chain.provider();
        let Some(f) = onchain::funding(&provider, p.address, contracts.from_block).await? else {
            return Ok(false);
        };
        let recorded = self
            .store
            .anyhedge_record_funding(
                p.address,
                Funding {
                    tx_hash: f.tx_hash,
                    block_number: f.block_number,
                    short_funding_satoshis: f.short_sats,
                    long_funding_satoshis: f.long_sats,
                    gas_fee_wei: f.gas_fee_wei,
                    validated: true,
                    recorded_at: now,
                },
            )
            .await?;
        match recorded {
            Ok(_) => {
                if !p.funding_tx_hash_validated {
                    self.notify(
                        p,
                        "funded",
                        json!({"tx_hash": f.tx_hash.to_string(), "funding_satoshis": f.short_sats + f.long_sats}),
                    );
                }
                Ok(true)
            }
            Err(refused) => {
                self.journal(
                    Severity::Failure,
                    format!("funding of {} not recorded: {refused}", p.address),
                );
                Ok(false)
            }
        }
    }

    async fn settle_if_due(
        &self,
        contracts: &Contracts,
        memory: &mut Memory,
        p: &Position,
        asked: bool,
        chain_check: bool,
        now: i64,
    ) -> anyhow::Result<()> {
        let address = p.address.to_checksum(None);
        let prefix = format!("settle_contract:{}:{address}", self.chain.chain_id());
        let (last, next_key) = self.attempts(&prefix).await?;
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
        if (settled_by_us || redeeming || chain_check || asked)
            && self.record_settlement(contracts, p, now).await?
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
        let from = if now >= maturity {
            maturity - LOOKBACK_SECS
        } else {
            memory.scanned.get(&p.address).copied().unwrap_or(start) - LOOKBACK_SECS
        };
        let rows = self
            .store
            .anyhedge_price_messages_after(&p.oracle_pubkey, from, 10_000)
            .await?;
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
        contracts: &Contracts,
        p: &Position,
        now: i64,
    ) -> anyhow::Result<bool> {
        let provider = self.chain.provider();
        let Some(ended) = onchain::settlement(&provider, p.address, contracts.from_block).await?
        else {
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

    async fn redeem(
        &self,
        contracts: &Contracts,
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
        let prefix = format!(
            "mutual_redeem:{}:{address}:{}",
            self.chain.chain_id(),
            terms.deadline
        );
        let (last, next_key) = self.attempts(&prefix).await?;
        match &last {
            Some(a) if a.state == ActionState::Confirmed => {
                self.record_settlement(contracts, p, now).await?;
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
