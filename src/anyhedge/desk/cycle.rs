//! One cycle of the AnyHedge desk, in the watchtower's order: offer deadlines, funding
//! completion, funding validation from the chain, settlement of matured and liquidatable
//! contracts, mutual redemptions. Every transaction is an action keyed by contract (and
//! attempt), so a restart never proposes one twice; every failure lands on the journal.
//! What the cycle needs of many contracts (their actions, their events, their oracles'
//! messages) is read once for all of them at its start, so its cost stays flat in the
//! number of contracts (`make soak`: a thousand).

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::{Address, Bytes, U256};
use serde_json::json;

use super::onchain::{ContractLogs, EventLog, ReadLimits};
use super::windows::Windows;
use super::{AnyHedgeDesk, Contracts};
use crate::actions::{Action, ActionKind, ActionPlan, ActionState, Estimate, NewAction};
use crate::anyhedge::chain::{
    SignedFunding, build_params, create_and_fund_calldata, predict_address,
};
use crate::anyhedge::offers::lifecycle::OfferBook;
use crate::anyhedge::pane::Severity;
use crate::anyhedge::requests::AnyHedgeRequest;
use crate::store::anyhedge::{Funding, Position};

/// The resource name of hedge position updates on the WebSocket.
pub const POSITION_RESOURCE: &str = "hedge_position";
/// How often contracts nobody asked about are read from the chain (funded or settled by
/// their parties or by someone else). A cycle expecting news (our transaction confirmed, the
/// operator or a wallet asking) reads at once.
const CHAIN_CHECK_SECS: i64 = 15;

/// What the desk remembers between cycles (rebuilt from the store and chain on restart).
#[derive(Debug, Default)]
pub struct Memory {
    /// Journal lines already written, so a standing failure is said once.
    pub(super) said: BTreeSet<String>,
    /// Per contract: the newest message timestamp already scanned for a liquidation.
    pub(super) scanned: BTreeMap<Address, i64>,
    /// When contracts were last read from the chain without a reason.
    last_chain_check: i64,
    /// The contracts' events read so far (each check reads only what is new).
    events: EventLog,
}

/// What a cycle read at its start about every contract in view.
pub(super) struct InView {
    /// The attempts of each contract's actions, by key prefix.
    attempts: BTreeMap<String, Vec<Action>>,
    /// The contracts' events, taken from [`Memory`] for the cycle and given back after it.
    events: EventLog,
    /// Whether this cycle read the chain (only then are the events news).
    pub(super) chain_read: bool,
    /// The oracles' recent messages, for the running contracts' liquidation scans.
    pub(super) windows: Windows,
}

pub(super) fn unhex(text: &str) -> anyhow::Result<Vec<u8>> {
    Ok(::hex::decode(text.trim().trim_start_matches("0x"))?)
}

impl AnyHedgeDesk {
    pub(super) fn say_once(
        &self,
        memory: &mut Memory,
        key: String,
        severity: Severity,
        message: String,
    ) {
        if memory.said.insert(key) {
            self.journal(severity, message);
        }
    }

    pub(super) fn fund_prefix(&self, p: &Position) -> String {
        format!(
            "fund_contract:{}:{}",
            self.chain.chain_id(),
            p.address.to_checksum(None)
        )
    }

    pub(super) fn settle_prefix(&self, p: &Position) -> String {
        format!(
            "settle_contract:{}:{}",
            self.chain.chain_id(),
            p.address.to_checksum(None)
        )
    }

    /// The newest attempt of an action (`<prefix>:<n>`, n from 1) and the next free key,
    /// from what the cycle read at its start (or from the store for a prefix it did not).
    pub(super) async fn attempts(
        &self,
        view: &InView,
        prefix: &str,
    ) -> anyhow::Result<(Option<Action>, String)> {
        // Only the newest is copied: this runs for every contract in every cycle.
        let (last, count) = match view.attempts.get(prefix) {
            Some(run) => (run.last().cloned(), run.len()),
            None => {
                let mut run = self.store.action_attempts_of(prefix).await?;
                let count = run.len();
                (run.pop(), count)
            }
        };
        Ok((last, format!("{prefix}:{}", count + 1)))
    }

    pub(super) fn redeem_prefix(&self, p: &Position) -> Option<String> {
        let terms = &p.mutual_redemption.as_ref()?.terms;
        Some(format!(
            "mutual_redeem:{}:{}:{}",
            self.chain.chain_id(),
            p.address.to_checksum(None),
            terms.deadline
        ))
    }

    /// The events of `p`'s contract when this cycle read the chain.
    pub(super) fn logs<'v>(&self, view: &'v InView, p: &Position) -> Option<&'v ContractLogs> {
        view.chain_read
            .then(|| view.events.logs(p.address))
            .flatten()
    }

    pub(super) fn contract_call(
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

    pub(super) fn notify(&self, p: &Position, action: &str, meta: serde_json::Value) {
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
        let ready = self.store.anyhedge_positions_ready_to_fund().await?;
        let unvalidated = self.store.anyhedge_positions_unvalidated_funding().await?;
        let open = self.store.anyhedge_positions_open().await?;
        let redemptions = self.store.anyhedge_redemptions_ready().await?;
        let mut view = self
            .read_view(memory, &ready, &open, &redemptions, now)
            .await?;
        let due = now - memory.last_chain_check >= CHAIN_CHECK_SECS;
        let done = async {
            if due || self.expects_news(&view, asked, &ready, &open, &redemptions) {
                if due {
                    memory.last_chain_check = now;
                }
                self.read_chain(contracts, &mut view, &ready, &open).await?;
            }
            self.follow(
                &view,
                asked,
                memory,
                (ready, unvalidated, open, redemptions),
                now,
            )
            .await
        }
        .await;
        memory.events = std::mem::take(&mut view.events);
        done
    }

    /// Funding, settlement and redemption of the contracts in view, from what the cycle read.
    async fn follow(
        &self,
        view: &InView,
        asked: &[AnyHedgeRequest],
        memory: &mut Memory,
        (ready, unvalidated, mut open, redemptions): (
            Vec<Position>,
            Vec<Position>,
            Vec<Position>,
            Vec<Position>,
        ),
        now: i64,
    ) -> anyhow::Result<()> {
        let chain_read = view.chain_read;
        let wants = |f: &dyn Fn(&AnyHedgeRequest) -> bool| asked.iter().any(f);

        // Funding: both proposals in → createAndFund; confirmed (or asked, or now and then)
        // → read the funding back from the chain.
        let mut funded_now = false;
        for p in &ready {
            let address = p.address.to_checksum(None);
            let complete = wants(
                &|r| matches!(r, AnyHedgeRequest::CompleteFunding { address: a } if a.eq_ignore_ascii_case(&address)),
            );
            let validate = wants(
                &|r| matches!(r, AnyHedgeRequest::ValidateFunding { address: a } if a.eq_ignore_ascii_case(&address)),
            );
            let (last, next_key) = self.attempts(view, &self.fund_prefix(p)).await?;
            if chain_read {
                if self.validate_funding(view, p, now).await? {
                    funded_now = true;
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
                self.propose_funding(memory, p, next_key, now).await?;
            }
        }
        if chain_read {
            for p in &unvalidated {
                self.validate_funding(view, p, now).await?;
            }
        }
        if funded_now {
            open = self.store.anyhedge_positions_open().await?;
        }

        // Settlement and redemption follow-up of open contracts.
        for p in &open {
            let address = p.address.to_checksum(None);
            let asked_settle = wants(
                &|r| matches!(r, AnyHedgeRequest::Settle { address: a } if a.eq_ignore_ascii_case(&address)),
            );
            self.settle_if_due(view, memory, p, asked_settle, now)
                .await?;
        }
        for p in &redemptions {
            self.redeem(view, memory, p, now).await?;
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

    /// One read each of the contracts' actions and their oracles' messages since the
    /// earliest a running contract still needs.
    async fn read_view(
        &self,
        memory: &mut Memory,
        ready: &[Position],
        open: &[Position],
        redemptions: &[Position],
        now: i64,
    ) -> anyhow::Result<InView> {
        let prefixes = ready
            .iter()
            .map(|p| self.fund_prefix(p))
            .chain(open.iter().map(|p| self.settle_prefix(p)))
            .chain(redemptions.iter().filter_map(|p| self.redeem_prefix(p)))
            .collect();
        let attempts = self.store.action_attempts(prefixes).await?;
        let windows = Windows::load(&self.store, open, &memory.scanned, now).await?;
        Ok(InView {
            attempts,
            events: std::mem::take(&mut memory.events),
            chain_read: false,
            windows,
        })
    }

    /// Whether the chain has news for this cycle: a transaction of ours about a contract
    /// confirmed and not yet recorded, a redemption sent, or someone asked.
    fn expects_news(
        &self,
        view: &InView,
        asked: &[AnyHedgeRequest],
        ready: &[Position],
        open: &[Position],
        redemptions: &[Position],
    ) -> bool {
        let confirmed = |prefix: Option<String>| {
            prefix
                .and_then(|prefix| view.attempts.get(&prefix)?.last().map(|a| a.state))
                .is_some_and(|state| state == ActionState::Confirmed)
        };
        asked.iter().any(|r| {
            matches!(
                r,
                AnyHedgeRequest::ValidateFunding { .. } | AnyHedgeRequest::Settle { .. }
            )
        }) || ready.iter().any(|p| confirmed(Some(self.fund_prefix(p))))
            || open.iter().any(|p| {
                confirmed(Some(self.settle_prefix(p)))
                    || p.mutual_redemption
                        .as_ref()
                        .is_some_and(|r| r.tx_hash.is_some())
            })
            || redemptions.iter().any(|p| confirmed(self.redeem_prefix(p)))
    }

    /// Reads what is new on the chain for every contract in view (open includes the funded
    /// but unvalidated).
    async fn read_chain(
        &self,
        contracts: &Contracts,
        view: &mut InView,
        ready: &[Position],
        open: &[Position],
    ) -> anyhow::Result<()> {
        let hedges: Vec<(Address, u64)> = ready
            .iter()
            .chain(open)
            .map(|p| (p.address, p.terms.start_timestamp))
            .collect();
        let chain = self.chain.config();
        let limits = ReadLimits {
            floor: contracts.from_block,
            chunk_blocks: chain.log_chunk_blocks,
            confirmations: chain.confirmations,
        };
        view.events
            .refresh(&self.chain.provider(), &hedges, limits)
            .await?;
        view.chain_read = true;
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
        view: &InView,
        p: &Position,
        now: i64,
    ) -> anyhow::Result<bool> {
        let Some(logs) = self.logs(view, p) else {
            return Ok(false);
        };
        let Some(f) = logs.funding(&self.chain.provider()).await? else {
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
}
