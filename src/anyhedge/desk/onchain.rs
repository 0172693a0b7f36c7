//! What the desk reads from hedge contracts: their funding and settlement as the contracts'
//! own events tell them (so a contract funded by its parties directly, or settled by someone
//! else, is recorded the same way as one the desk handled). One `eth_getLogs` covers many
//! contracts and only the blocks since the last check: a chain check of a thousand open
//! contracts is a handful of calls, not thousands, on a devnet or on Base.

use std::collections::{BTreeMap, BTreeSet};

use alloy::eips::BlockNumberOrTag;
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

/// The hedge contracts' events as the chain checks have read them, kept between checks: a
/// check reads only the blocks since the last one, a contract new to the desk has its history
/// read once from the first block of its terms' start, and every read keeps to the chain's
/// `log_chunk_blocks` (nodes refuse wide `eth_getLogs`). Only blocks with `confirmations` on
/// top are read, so what the desk records from them stays.
#[derive(Debug, Default)]
pub struct EventLog {
    /// Every contract below has been read through this block.
    through: Option<u64>,
    contracts: BTreeMap<Address, ContractLogs>,
}

/// Where reads start, how wide they may be and how deep a block must be.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// The factory's deployment: no hedge event comes before it.
    pub floor: u64,
    pub chunk_blocks: u64,
    pub confirmations: u64,
}

/// A contract's events cannot come before its start price's timestamp; this much slack
/// covers a chain clock behind the oracle's.
const START_SLACK_SECS: u64 = 3_600;

impl EventLog {
    /// `hedge`'s events, `None` when it is not among those read.
    pub fn logs(&self, hedge: Address) -> Option<&ContractLogs> {
        self.contracts.get(&hedge)
    }

    /// Reads what is new for `hedges` (address, terms' start timestamp) and forgets the
    /// contracts not among them. Returns the `eth_getLogs` calls made.
    pub async fn refresh(
        &mut self,
        provider: &RootProvider,
        hedges: &[(Address, u64)],
        limits: ReadLimits,
    ) -> anyhow::Result<usize> {
        let head = provider.get_block_number().await?;
        let to = head.saturating_sub(limits.confirmations);
        let in_view: BTreeSet<Address> = hedges.iter().map(|(h, _)| *h).collect();
        self.contracts.retain(|a, _| in_view.contains(a));
        let fresh: Vec<(Address, u64)> = hedges
            .iter()
            .filter(|(h, _)| !self.contracts.contains_key(h))
            .copied()
            .collect();
        let known: Vec<Address> = self.contracts.keys().copied().collect();
        let mut calls = 0;
        if let Some(through) = self.through
            && through < to
        {
            calls += self
                .read(provider, &known, through + 1, to, limits.chunk_blocks)
                .await?;
        }
        if let Some(earliest) = fresh.iter().map(|(_, start)| *start).min() {
            let since = earliest.saturating_sub(START_SLACK_SECS);
            let from = first_block_at(provider, since, limits.floor, to).await?;
            let addresses: Vec<Address> = fresh.iter().map(|(h, _)| *h).collect();
            for hedge in &addresses {
                self.contracts.entry(*hedge).or_default();
            }
            calls += self
                .read(provider, &addresses, from, to, limits.chunk_blocks)
                .await?;
        }
        self.through = Some(self.through.map_or(to, |t| t.max(to)));
        Ok(calls)
    }

    /// `hedges`' events in `from..=to`, `chunk_blocks` and [`ADDRESSES_PER_CALL`] at a time.
    async fn read(
        &mut self,
        provider: &RootProvider,
        hedges: &[Address],
        from: u64,
        to: u64,
        chunk_blocks: u64,
    ) -> anyhow::Result<usize> {
        let signatures = vec![
            HedgeContract::Funded::SIGNATURE_HASH,
            HedgeContract::Live::SIGNATURE_HASH,
            HedgeContract::Settled::SIGNATURE_HASH,
            HedgeContract::MutuallyRedeemed::SIGNATURE_HASH,
        ];
        let mut calls = 0;
        let mut start = from;
        while start <= to && !hedges.is_empty() {
            let end = start.saturating_add(chunk_blocks.max(1) - 1).min(to);
            for group in hedges.chunks(ADDRESSES_PER_CALL) {
                let filter = Filter::new()
                    .address(group.to_vec())
                    .event_signature(signatures.clone())
                    .from_block(start)
                    .to_block(end);
                calls += 1;
                for log in provider.get_logs(&filter).await? {
                    if let Some(events) = self.contracts.get_mut(&log.address())
                        && !log.removed
                    {
                        events.add(log);
                    }
                }
            }
            start = end + 1;
        }
        Ok(calls)
    }
}

/// The first block in `lo..=hi` stamped at or after `timestamp` (`hi + 1` when none is), by
/// binary search over block headers.
pub async fn first_block_at(
    provider: &RootProvider,
    timestamp: u64,
    lo: u64,
    hi: u64,
) -> anyhow::Result<u64> {
    let stamp = |n: u64| async move {
        let block = provider
            .get_block_by_number(BlockNumberOrTag::Number(n))
            .await?
            .ok_or_else(|| anyhow::anyhow!("the node has no block {n}"))?;
        anyhow::Ok(block.header.timestamp)
    };
    let (mut lo, mut hi) = (lo, hi.saturating_add(1));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if stamp(mid).await? >= timestamp {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(lo)
}
