//! Bringing the PriceCaster slot layout in line with the configured feeds: slot `i` holds
//! feed `i`. Idempotent: slots already allocated for the right feed are only recorded,
//! missing ones are allocated on chain and recorded once mined; a slot holding another
//! feed is an error that only a reset (asked for explicitly) clears.

use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::providers::RootProvider;
use alloy::sol_types::SolCall;

use crate::chain::contracts::PriceCaster;
use crate::chain::send::{Sender, Tracker, TxRequest, TxState};
use crate::config::FeedConfig;
use crate::store::{OracleSlot, Store};

/// How long one allocation may take to confirm.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(120);

pub struct Bootstrap {
    pub chain_id: u64,
    pub price_caster: Address,
    pub provider: RootProvider,
    pub store: Store,
    pub sender: Sender,
    pub tracker: std::sync::Arc<Tracker>,
}

/// The feeds as slots, in order; every field checked before anything is written.
pub fn layout_from_config(feeds: &[FeedConfig]) -> Result<Vec<OracleSlot>, String> {
    if feeds.len() > 255 {
        return Err(format!(
            "oracle.feeds: at most 255 feeds, got {}",
            feeds.len()
        ));
    }
    feeds
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let price_id: B256 = f
                .price_id
                .parse()
                .map_err(|_| format!("oracle.feeds[{i}].price_id: not 32 bytes of hex"))?;
            if f.decimals > crate::oracle::slot::MAX_DECIMALS {
                return Err(format!("oracle.feeds[{i}].decimals: above 19"));
            }
            Ok(OracleSlot {
                slot: i as u8,
                asset_id: f.asset_id,
                decimals: f.decimals,
                price_id,
                symbol: f.symbol.clone(),
            })
        })
        .collect()
}

impl Bootstrap {
    /// Resets the contract and the stored layout. Callers ask the operator first.
    pub async fn reset(&self) -> anyhow::Result<()> {
        let key = format!(
            "oracle:reset:{}:{}:{}",
            self.chain_id,
            self.price_caster,
            chrono::Utc::now().timestamp_millis()
        );
        self.send_and_confirm(key, PriceCaster::resetCall {}.abi_encode())
            .await?;
        self.store.reset_oracle_slots(self.chain_id).await?;
        tracing::warn!(price_caster = %self.price_caster, "PriceCaster reset: every slot cleared");
        Ok(())
    }

    /// Makes slot `i` hold `layout[i]` on chain and in the store.
    pub async fn run(&self, layout: &[OracleSlot]) -> anyhow::Result<()> {
        let contract = PriceCaster::new(self.price_caster, self.provider.clone());
        let on_chain = contract.slotCount().call().await?;
        if usize::from(on_chain) > layout.len() {
            anyhow::bail!(
                "the contract has {on_chain} slot(s) but the config lists {} feed(s); reset first",
                layout.len()
            );
        }
        let stored = self.store.oracle_slots(self.chain_id).await?;
        // Allocation keys carry the contract's reset count: after a reset the same slot
        // index is a new allocation, not the journaled one from before.
        let generation = self.resets().await?;
        for slot in layout {
            if slot.slot < on_chain {
                let info = contract.slotInfo(slot.slot).call().await?;
                if (info.assetId, info.decimals, info.priceId)
                    != (slot.asset_id, slot.decimals, slot.price_id)
                {
                    anyhow::bail!(
                        "slot {} holds asset {} / feed {} on chain, not {} ({}); reset first",
                        slot.slot,
                        info.assetId,
                        info.priceId,
                        slot.symbol,
                        slot.price_id
                    );
                }
            } else {
                let key = format!(
                    "oracle:alloc:{}:{}:{}:{generation}",
                    self.chain_id, self.price_caster, slot.slot
                );
                let call = PriceCaster::allocCall {
                    assetId: slot.asset_id,
                    decimals: slot.decimals,
                    priceId: slot.price_id,
                };
                self.send_and_confirm(key, call.abi_encode()).await?;
                let info = contract.slotInfo(slot.slot).call().await?;
                if (info.assetId, info.decimals, info.priceId)
                    != (slot.asset_id, slot.decimals, slot.price_id)
                {
                    anyhow::bail!("slot {}: the allocation did not take effect", slot.slot);
                }
                tracing::info!(slot = slot.slot, symbol = %slot.symbol, "slot allocated");
            }
            match stored.iter().find(|s| s.slot == slot.slot) {
                Some(existing) if existing == slot => {}
                Some(existing) => anyhow::bail!(
                    "the store has slot {} as {} ({}); reset first",
                    slot.slot,
                    existing.symbol,
                    existing.price_id
                ),
                None => {
                    self.store
                        .register_oracle_slot(self.chain_id, slot.clone())
                        .await?
                }
            }
        }
        Ok(())
    }

    /// How many times the contract was reset (its `Reset` events).
    async fn resets(&self) -> anyhow::Result<usize> {
        use alloy::providers::Provider;
        use alloy::sol_types::SolEvent;
        let filter = alloy::rpc::types::Filter::new()
            .address(self.price_caster)
            .event_signature(PriceCaster::Reset::SIGNATURE_HASH)
            .from_block(0);
        Ok(self.provider.get_logs(&filter).await?.len())
    }

    async fn send_and_confirm(&self, key: String, input: Vec<u8>) -> anyhow::Result<()> {
        self.sender
            .send(TxRequest::call(key.clone(), self.price_caster, input))
            .await?;
        let record = self.tracker.wait_final(&key, CONFIRM_TIMEOUT).await?;
        if record.state != TxState::Confirmed {
            anyhow::bail!("{key}: the transaction ended {:?}", record.state);
        }
        Ok(())
    }
}
