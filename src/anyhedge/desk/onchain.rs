//! What the desk reads from a hedge contract: its state, and its funding and settlement as
//! the contract's own events tell them (so a contract funded by its parties directly, or
//! settled by someone else, is recorded the same way as one the desk handled).

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;

use crate::chain::contracts::HedgeContract;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractState {
    pub short_funded: bool,
    pub long_funded: bool,
    pub live: bool,
    pub settled: bool,
}

/// The contract's state; `None` when nothing is deployed at `hedge` yet.
pub async fn state(
    provider: &RootProvider,
    hedge: Address,
) -> anyhow::Result<Option<ContractState>> {
    if provider.get_code_at(hedge).await?.is_empty() {
        return Ok(None);
    }
    let s = HedgeContract::new(hedge, provider).state().call().await?;
    Ok(Some(ContractState {
        short_funded: s.shortFunded,
        long_funded: s.longFunded,
        live: s.live,
        settled: s.settled,
    }))
}

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

async fn logs(
    provider: &RootProvider,
    hedge: Address,
    from_block: u64,
    signature: B256,
) -> anyhow::Result<Vec<Log>> {
    let filter = Filter::new()
        .address(hedge)
        .event_signature(signature)
        .from_block(from_block);
    Ok(provider.get_logs(&filter).await?)
}

async fn fee(provider: &RootProvider, tx_hash: B256) -> anyhow::Result<Option<U256>> {
    Ok(provider
        .get_transaction_receipt(tx_hash)
        .await?
        .map(|r| U256::from(r.gas_used) * U256::from(r.effective_gas_price)))
}

/// The funding, once the contract is live (the `Funded` events still standing, the `Live`
/// transaction); `None` before.
pub async fn funding(
    provider: &RootProvider,
    hedge: Address,
    from_block: u64,
) -> anyhow::Result<Option<ChainFunding>> {
    let live = logs(
        provider,
        hedge,
        from_block,
        HedgeContract::Live::SIGNATURE_HASH,
    )
    .await?;
    let Some(live) = live.first() else {
        return Ok(None);
    };
    let tx_hash = live
        .transaction_hash
        .ok_or_else(|| anyhow::anyhow!("the node returned a Live log without its transaction"))?;
    // In log order, so a side that funded, cancelled and funded again counts its last.
    let mut sats = [0u64; 2];
    for log in logs(
        provider,
        hedge,
        from_block,
        HedgeContract::Funded::SIGNATURE_HASH,
    )
    .await?
    {
        let event = HedgeContract::Funded::decode_log(&log.inner)?;
        sats[usize::from(event.side.min(1))] = event.sats;
    }
    Ok(Some(ChainFunding {
        tx_hash,
        block_number: live.block_number,
        short_sats: sats[0],
        long_sats: sats[1],
        gas_fee_wei: fee(provider, tx_hash).await?,
    }))
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

/// The settlement or mutual redemption of `hedge`, if it happened.
pub async fn settlement(
    provider: &RootProvider,
    hedge: Address,
    from_block: u64,
) -> anyhow::Result<Option<ChainSettlement>> {
    let tx = |log: &Log| {
        log.transaction_hash
            .ok_or_else(|| anyhow::anyhow!("the node returned a log without its transaction"))
    };
    if let Some(log) = logs(
        provider,
        hedge,
        from_block,
        HedgeContract::Settled::SIGNATURE_HASH,
    )
    .await?
    .first()
    {
        let event = HedgeContract::Settled::decode_log(&log.inner)?.data;
        return Ok(Some(ChainSettlement::Settled {
            tx_hash: tx(log)?,
            event,
        }));
    }
    if let Some(log) = logs(
        provider,
        hedge,
        from_block,
        HedgeContract::MutuallyRedeemed::SIGNATURE_HASH,
    )
    .await?
    .first()
    {
        let event = HedgeContract::MutuallyRedeemed::decode_log(&log.inner)?.data;
        return Ok(Some(ChainSettlement::Redeemed {
            tx_hash: tx(log)?,
            event,
        }));
    }
    Ok(None)
}
