//! What the desk reads from hedge contracts: their funding and settlement as the contracts'
//! own events tell them (so a contract funded by its parties directly, or settled by someone
//! else, is recorded the same way as one the desk handled). One `eth_getLogs` covers many
//! contracts: a chain check of a thousand open contracts is a handful of calls, not thousands.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;

use crate::chain::contracts::HedgeContract;

/// Contracts per `eth_getLogs` (nodes limit a filter's address list and a reply's size).
const ADDRESSES_PER_CALL: usize = 200;

/// The funding as the chain has it: the transaction that made the contract live, the sats
/// each side posted, and the fee that transaction paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainFunding {
    pub tx_hash: B256,
    pub block_number: Option<u64>,
    pub short_sats: u64,
    pub long_sats: u64,
    pub gas_fee_wei: Option<U256>,
}

/// How the chain says a contract ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainSettlement {
    Settled {
        tx_hash: B256,
        event: HedgeContract::Settled,
    },
    Redeemed {
        tx_hash: B256,
        event: HedgeContract::MutuallyRedeemed,
    },
}

/// The events one hedge contract emitted, in chain order.
#[derive(Debug, Clone, Default)]
pub struct ContractLogs {
    funded: Vec<Log>,
    live: Option<Log>,
    settled: Option<Log>,
    redeemed: Option<Log>,
}

fn tx_of(log: &Log) -> anyhow::Result<B256> {
    log.transaction_hash
        .ok_or_else(|| anyhow::anyhow!("the node returned a log without its transaction"))
}

impl ContractLogs {
    fn add(&mut self, log: Log) {
        let first = |slot: &mut Option<Log>, log: Log| {
            slot.get_or_insert(log);
        };
        match log.topic0().copied() {
            Some(HedgeContract::Funded::SIGNATURE_HASH) => self.funded.push(log),
            Some(HedgeContract::Live::SIGNATURE_HASH) => first(&mut self.live, log),
            Some(HedgeContract::Settled::SIGNATURE_HASH) => first(&mut self.settled, log),
            Some(HedgeContract::MutuallyRedeemed::SIGNATURE_HASH) => first(&mut self.redeemed, log),
            _ => {}
        }
    }

    /// The funding, once the contract is live (the `Funded` events still standing, the
    /// `Live` transaction and its fee, read from its receipt); `None` before.
    pub async fn funding(&self, provider: &RootProvider) -> anyhow::Result<Option<ChainFunding>> {
        let Some(live) = &self.live else {
            return Ok(None);
        };
        let tx_hash = tx_of(live)?;
        // In log order, so a side that funded, cancelled and funded again counts its last.
        let mut sats = [0u64; 2];
        for log in &self.funded {
            let event = HedgeContract::Funded::decode_log(&log.inner)?;
            sats[usize::from(event.side.min(1))] = event.sats;
        }
        let gas_fee_wei = provider
            .get_transaction_receipt(tx_hash)
            .await?
            .map(|r| U256::from(r.gas_used) * U256::from(r.effective_gas_price));
        Ok(Some(ChainFunding {
            tx_hash,
            block_number: live.block_number,
            short_sats: sats[0],
            long_sats: sats[1],
            gas_fee_wei,
        }))
    }

    /// The settlement or mutual redemption, if it happened.
    pub fn settlement(&self) -> anyhow::Result<Option<ChainSettlement>> {
        if let Some(log) = &self.settled {
            let event = HedgeContract::Settled::decode_log(&log.inner)?.data;
            return Ok(Some(ChainSettlement::Settled {
                tx_hash: tx_of(log)?,
                event,
            }));
        }
        if let Some(log) = &self.redeemed {
            let event = HedgeContract::MutuallyRedeemed::decode_log(&log.inner)?.data;
            return Ok(Some(ChainSettlement::Redeemed {
                tx_hash: tx_of(log)?,
                event,
            }));
        }
        Ok(None)
    }
}

/// The funding, live and ending events of `hedges` since `from_block`, by contract (a
/// contract that emitted nothing has no entry).
pub async fn read(
    provider: &RootProvider,
    hedges: &[Address],
    from_block: u64,
) -> anyhow::Result<BTreeMap<Address, ContractLogs>> {
    let signatures = vec![
        HedgeContract::Funded::SIGNATURE_HASH,
        HedgeContract::Live::SIGNATURE_HASH,
        HedgeContract::Settled::SIGNATURE_HASH,
        HedgeContract::MutuallyRedeemed::SIGNATURE_HASH,
    ];
    let mut by_contract: BTreeMap<Address, ContractLogs> = BTreeMap::new();
    for chunk in hedges.chunks(ADDRESSES_PER_CALL) {
        let filter = Filter::new()
            .address(chunk.to_vec())
            .event_signature(signatures.clone())
            .from_block(from_block);
        for log in provider.get_logs(&filter).await? {
            if log.removed {
                continue;
            }
            by_contract.entry(log.address()).or_default().add(log);
        }
    }
    Ok(by_contract)
}

/// The events of one contract.
pub async fn read_one(
    provider: &RootProvider,
    hedge: Address,
    from_block: u64,
) -> anyhow::Result<ContractLogs> {
    Ok(read(provider, &[hedge], from_block)
        .await?
        .remove(&hedge)
        .unwrap_or_default())
}
