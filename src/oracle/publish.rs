//! The oracle desk's publishing cycle: a Hermes update is verified, its prices go to the
//! shared price cache, the slot layout is checked against the contract (pre-flight), and
//! when any feed is due the whole update is proposed as one `publish_prices` action (the
//! feeds not due ride along in the same transaction).

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, keccak256};
use alloy::providers::RootProvider;
use alloy::sol_types::SolCall;

use super::policy::{Due, OnChain, due};
use super::verified::verify_update;
use super::verify::guardians::{AcceptedEmitter, GuardianSets};
use crate::actions::{ActionKind, ActionPlan, ActionQueue, Estimate, NewAction};
use crate::chain::contracts::PriceCaster;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::decode::{emitter, load_sets};
use crate::chain::Chain;
use crate::config::{FeedConfig, OracleConfig};
use crate::prices::{Price, PriceCache};
use crate::store::{OracleSlot, ProposeOutcome, Store};

/// Slot index that tells `store` to verify a message without storing it.
pub const SKIP_SLOT: u8 = 0xFF;
/// Gas limit proposed for a store of up to `batch_size` prices (measured: ~270k for two).
const STORE_GAS_BASE: u64 = 250_000;
const STORE_GAS_PER_PRICE: u64 = 80_000;

/// Everything one publishing cycle needs.
#[derive(Clone)]
pub struct Publisher {
    pub chain: String,
    pub chain_id: u64,
    pub price_caster: Address,
    pub provider: RootProvider,
    pub store: Store,
    pub queue: ActionQueue,
    pub prices: PriceCache,
    pub sets: GuardianSets,
    pub emitter: AcceptedEmitter,
    /// Publish thresholds by feed id.
    pub feeds: BTreeMap<B256, FeedConfig>,
    /// The last layout the contract was checked to agree with. The store's layout is read
    /// every cycle (cheap, local); the contract is read again only when it changed, since
    /// the contract itself refuses a store into a slot registered for another feed.
    pub checked_layout: Arc<Mutex<Option<Vec<OracleSlot>>>>,
    /// Prices proposed but not yet settled, by feed: (action, what it will write). While
    /// the action is open the policy compares against these, not the older on-chain
    /// values, so a stream of updates does not propose the same move twice.
    pub in_flight: Arc<Mutex<BTreeMap<B256, (i64, OnChain)>>>,
}

/// What one cycle decided.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CycleReport {
    pub verified_prices: usize,
    /// `symbol: why` for every feed that was due.
    pub due: Vec<String>,
    /// The action proposed (or found already journaled), when anything was due.
    pub action: Option<i64>,
    pub skipped: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("update refused: {0}")]
    Verify(String),
    #[error("pre-flight: {0}")]
    Layout(String),
    #[error("chain: {0}")]
    Chain(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl Publisher {
    /// A publisher for `[oracle]` on `chain`: guardian sets, accepted emitter and feeds
    /// from the config (a bad field is named).
    pub fn from_config(
        oracle: &OracleConfig,
        chain: &Chain,
        price_caster: Address,
        store: Store,
        queue: ActionQueue,
        prices: PriceCache,
    ) -> anyhow::Result<Publisher> {
        let feeds = oracle
            .feeds
            .iter()
            .enumerate()
            .map(|(i, f)| {
                f.price_id
                    .parse::<B256>()
                    .map(|id| (id, f.clone()))
                    .map_err(|_| anyhow::anyhow!("oracle.feeds[{i}].price_id: not 32 bytes of hex"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Publisher {
            chain: chain.name().to_string(),
            chain_id: chain.chain_id(),
            price_caster,
            provider: chain.provider(),
            store,
            queue,
            prices,
            sets: load_sets(&oracle.guardian_sets).map_err(anyhow::Error::msg)?,
            emitter: emitter(oracle.emitter_chain, &oracle.emitter_address)
                .map_err(anyhow::Error::msg)?,
            feeds,
            checked_layout: Arc::default(),
            in_flight: Arc::default(),
        })
    }

    /// One update through the cycle. `dry_run` verifies and decides but proposes nothing.
    pub async fn cycle(
        &self,
        update: &[u8],
        now_unix: u64,
        dry_run: bool,
    ) -> Result<CycleReport, PublishError> {
        self.cycle_with(update, now_unix, dry_run, false).await
    }

    /// [`Publisher::cycle`], and with `force` every slotted feed counts as due (the
    /// operator asked to publish now; newer-than-on-chain still applies in the contract).
    pub async fn cycle_with(
        &self,
        update: &[u8],
        now_unix: u64,
        dry_run: bool,
        force: bool,
    ) -> Result<CycleReport, PublishError> {
        let verified = verify_update(update, &self.sets, &self.emitter, now_unix)
            .map_err(PublishError::Verify)?;
        let prices: Vec<Price> = verified
            .prices
            .iter()
            .map(|(_, m)| Price {
                feed_id: m.feed_id,
                price: m.price,
                conf: m.conf,
                expo: m.exponent,
                ema_price: m.ema_price,
                ema_conf: m.ema_conf,
                publish_time: m.publish_time,
            })
            .collect();
        self.prices.apply(&prices);

        let layout = self.preflight().await?;
        let slot_of: BTreeMap<B256, u8> = layout.iter().map(|s| (s.price_id, s.slot)).collect();
        let contract = PriceCaster::new(self.price_caster, self.provider.clone());
        let mut report = CycleReport {
            verified_prices: prices.len(),
            skipped: verified
                .skipped
                .iter()
                .map(|(i, note)| format!("message {i}: {note}"))
                .collect(),
            ..CycleReport::default()
        };
        // Slot per message in update order; every message of the update is in `store`.
        let mut slots = vec![SKIP_SLOT; verified.prices.len() + verified.skipped.len()];
        for (index, message) in &verified.prices {
            let Some(&slot) = slot_of.get(&message.feed_id) else {
                continue;
            };
            slots[*index] = slot;
            let Some(feed) = self.feeds.get(&message.feed_id) else {
                continue;
            };
            // The contract stores nothing for a price that normalises to zero (it emits
            // NormPriceZero): proposing it would publish nothing, forever "due".
            if !matches!(
                crate::oracle::slot::normalize(message.price, message.exponent, feed.decimals),
                Ok(n) if n > 0
            ) {
                slots[*index] = SKIP_SLOT;
                report.skipped.push(format!(
                    "{}: {}e{} normalises to 0 at {} decimals (the contract would not store it; \
                     lower its oracle.feeds decimals)",
                    feed.symbol, message.price, message.exponent, feed.decimals
                ));
                continue;
            }
            let held = contract
                .getSlot(slot)
                .call()
                .await
                .map_err(|e| PublishError::Chain(format!("getSlot({slot}): {e}")))?;
            let on_chain = self
                .baseline(
                    message.feed_id,
                    OnChain {
                        price: held.price,
                        publish_time: held.publishTime,
                    },
                )
                .await;
            let why = due(
                feed,
                on_chain,
                message.price,
                message.conf,
                message.publish_time,
            );
            let why = match why {
                None if force => Some(Due::Operator),
                other => other,
            };
            if let Some(why) = why {
                report.due.push(format!("{}: {why}", feed.symbol));
                if why == Due::Never {
                    tracing::info!(symbol = %feed.symbol, slot, "first publication");
                }
            }
        }
        if report.due.is_empty() || dry_run {
            return Ok(report);
        }
        let call = PriceCaster::storeCall {
            updateData: update.to_vec().into(),
            slots: slots.clone(),
        };
        let stored = slots.iter().filter(|s| **s != SKIP_SLOT).count() as u64;
        let new = NewAction {
            key: format!("publish:{}:{}", self.chain_id, keccak256(update)),
            kind: ActionKind::PublishPrices,
            summary: format!("publish {stored} price slot(s): {}", report.due.join(", ")),
            plan: ActionPlan::ContractCall {
                chain: self.chain.clone(),
                contract: self.price_caster.to_checksum(None),
                contract_name: "PriceCaster".into(),
                function: "store(bytes,uint8[])".into(),
                args: vec![
                    (
                        "updateData".into(),
                        format!("{} bytes, {} message(s)", update.len(), slots.len()),
                    ),
                    ("slots".into(), format!("{slots:?}")),
                ],
                value_wei: "0".into(),
                gas_limit: STORE_GAS_BASE + STORE_GAS_PER_PRICE * stored,
                calldata: format!("0x{}", hex::encode(call.abi_encode())),
            },
            estimate: Estimate::default(),
        };
        let outcome = self.queue.propose(new).await?;
        let action = match &outcome {
            ProposeOutcome::Created(a) | ProposeOutcome::Existing(a) => a.id,
        };
        report.action = Some(action);
        let writes: BTreeMap<B256, OnChain> = verified
            .prices
            .iter()
            .filter(|(index, _)| slots[*index] != SKIP_SLOT)
            .map(|(_, m)| {
                let write = OnChain {
                    price: m.price,
                    publish_time: u64::try_from(m.publish_time).unwrap_or(0),
                };
                (m.feed_id, write)
            })
            .collect();
        let mut in_flight = self.in_flight.lock().await;
        if matches!(outcome, ProposeOutcome::Created(_)) {
            self.withdraw_superseded(&in_flight, action, &writes).await;
        }
        for (feed, write) in writes {
            in_flight.insert(feed, (action, write));
        }
        Ok(report)
    }

    /// Withdraws the earlier proposals still waiting for the operator whose every price
    /// `action` writes newer: approving one later would only publish older prices (the
    /// contract keeps the newest anyway), and a queue of them buries the one that matters.
    async fn withdraw_superseded(
        &self,
        in_flight: &BTreeMap<B256, (i64, OnChain)>,
        action: i64,
        writes: &BTreeMap<B256, OnChain>,
    ) {
        let older: std::collections::BTreeSet<i64> = in_flight
            .values()
            .map(|(id, _)| *id)
            .filter(|id| *id != action)
            .collect();
        let waiting: std::collections::BTreeSet<i64> = self
            .queue
            .snapshot()
            .actions
            .iter()
            .filter(|a| a.state == crate::actions::ActionState::Proposed)
            .map(|a| a.id)
            .collect();
        for id in older.intersection(&waiting) {
            let covered =
                in_flight
                    .iter()
                    .filter(|(_, (owner, _))| owner == id)
                    .all(|(feed, (_, old))| {
                        writes
                            .get(feed)
                            .is_some_and(|new| new.publish_time >= old.publish_time)
                    });
            if !covered {
                continue;
            }
            let reason = format!("superseded by #{action}: newer prices for the same slots");
            if let Err(e) = self.queue.withdraw(*id, &reason).await {
                tracing::warn!(action = id, error = %e, "oracle: a superseded proposal stays");
            }
        }
    }

    /// What the policy compares a fresh price with: the on-chain slot, or the newer price
    /// an open `publish_prices` action is about to write.
    async fn baseline(&self, feed: B256, on_chain: OnChain) -> OnChain {
        let mut in_flight = self.in_flight.lock().await;
        let Some(&(action, pending)) = in_flight.get(&feed) else {
            return on_chain;
        };
        let open = self
            .queue
            .snapshot()
            .actions
            .iter()
            .any(|a| a.id == action && !a.state.is_terminal());
        if open && pending.publish_time > on_chain.publish_time {
            pending
        } else {
            // Settled (the chain shows it) or failed (the chain is the truth again).
            in_flight.remove(&feed);
            on_chain
        }
    }

    /// The layout in the store, checked slot by slot against the contract. Any mismatch
    /// refuses the cycle: publishing into a slot that holds another asset would be wrong.
    pub async fn preflight(&self) -> Result<Vec<OracleSlot>, PublishError> {
        let layout = self.store.oracle_slots(self.chain_id).await?;
        if self.checked_layout.lock().await.as_ref() == Some(&layout) {
            return Ok(layout);
        }
        let contract = PriceCaster::new(self.price_caster, self.provider.clone());
        let count = contract
            .slotCount()
            .call()
            .await
            .map_err(|e| PublishError::Chain(format!("slotCount: {e}")))?;
        if usize::from(count) != layout.len() {
            return Err(PublishError::Layout(format!(
                "the contract has {count} slot(s), the store {}; run `hedgedesk oracle bootstrap`",
                layout.len()
            )));
        }
        for slot in &layout {
            let info = contract
                .slotInfo(slot.slot)
                .call()
                .await
                .map_err(|e| PublishError::Chain(format!("slotInfo({}): {e}", slot.slot)))?;
            if info.assetId != slot.asset_id
                || info.decimals != slot.decimals
                || info.priceId != slot.price_id
            {
                return Err(PublishError::Layout(format!(
                    "slot {} ({}): the contract holds asset {} with {} decimals and feed {}, \
                     the store asset {} with {} decimals and feed {}",
                    slot.slot,
                    slot.symbol,
                    info.assetId,
                    info.decimals,
                    info.priceId,
                    slot.asset_id,
                    slot.decimals,
                    slot.price_id
                )));
            }
        }
        *self.checked_layout.lock().await = Some(layout.clone());
        Ok(layout)
    }
}
