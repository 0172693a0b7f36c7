//! Pipelined sends for bulk seeding: one account's transactions signed locally with nonces
//! counted here and sent without waiting for each receipt, at most [`WINDOW`] ahead of
//! the receipts; [`Sender::finish`] collects the rest. The usual path (a filler-laden
//! provider, a simulation, an estimate and a receipt per transaction) costs four round
//! trips each, which over 20,000 transactions is minutes. Blocks come from [`super::miner`].

use std::time::Duration;

use alloy::consensus::TxEnvelope;
use alloy::eips::eip2718::Encodable2718;
use alloy::network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder, RootProvider};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use futures::{StreamExt as _, TryStreamExt as _};

/// The fee cap: far above anvil's base fee, which the miner holds where it was.
const MAX_FEE_WEI: u128 = 100_000_000_000;
/// Receipts asked for at once.
const RECEIPT_CONCURRENCY: usize = 32;
/// Transactions one account has in the pool at most: anvil's pool lost track of some when
/// 40 accounts had 250 each in it.
const WINDOW: usize = 64;

/// One account sending in order.
pub struct Sender {
    wallet: EthereumWallet,
    pub address: Address,
    provider: RootProvider,
    chain_id: u64,
    nonce: u64,
    /// Sent since the last [`Sender::finish`], and the receipts of the first of them.
    sent: Vec<B256>,
    received: Vec<TransactionReceipt>,
}

impl Sender {
    /// `signer`'s sender on `rpc_url`, its nonce read from the node (nothing of its may be
    /// pending elsewhere while it sends).
    pub async fn new(
        rpc_url: &str,
        chain_id: u64,
        signer: PrivateKeySigner,
    ) -> anyhow::Result<Self> {
        let provider = node(rpc_url)?;
        let address = signer.address();
        let nonce = provider
            .get_transaction_count(address)
            .pending()
            .await
            .context("eth_getTransactionCount")?;
        Ok(Sender {
            wallet: EthereumWallet::from(signer),
            address,
            provider,
            chain_id,
            nonce,
            sent: Vec::new(),
            received: Vec::new(),
        })
    }

    /// Sends `input` to `to` with `value` wei and at most `gas`.
    pub async fn send(
        &mut self,
        to: Address,
        input: Bytes,
        value: U256,
        gas: u64,
    ) -> anyhow::Result<()> {
        if self.sent.len() - self.received.len() >= WINDOW {
            let got = receipts(&self.provider, &self.sent[self.received.len()..]).await?;
            self.received.extend(got);
        }
        let tx = TransactionRequest::default()
            .with_from(self.address)
            .with_to(to)
            .with_input(input)
            .with_value(value)
            .with_nonce(self.nonce)
            .with_chain_id(self.chain_id)
            .with_gas_limit(gas)
            .with_max_fee_per_gas(MAX_FEE_WEI)
            .with_max_priority_fee_per_gas(0);
        let envelope: TxEnvelope = tx.build(&self.wallet).await.context("signing")?;
        let pending = self
            .provider
            .send_raw_transaction(&envelope.encoded_2718())
            .await
            .with_context(|| format!("sending nonce {} of {}", self.nonce, self.address))?;
        self.nonce += 1;
        self.sent.push(*pending.tx_hash());
        Ok(())
    }

    /// The receipts of everything sent since the last call, in order; an error naming
    /// `what` if any reverted.
    pub async fn finish(&mut self, what: &str) -> anyhow::Result<Vec<TransactionReceipt>> {
        let rest = receipts(&self.provider, &self.sent[self.received.len()..]).await?;
        self.sent.clear();
        let mut got = std::mem::take(&mut self.received);
        got.extend(rest);
        let failed: Vec<_> = got.iter().filter(|r| !r.status()).collect();
        if let Some(first) = failed.first() {
            anyhow::bail!(
                "{what}: {} of {} transactions reverted (first {})",
                failed.len(),
                got.len(),
                first.transaction_hash
            );
        }
        Ok(got)
    }
}

/// A provider without fillers or wallet: reads and raw sends.
pub fn node(rpc_url: &str) -> anyhow::Result<RootProvider> {
    Ok(ProviderBuilder::default().connect_http(rpc_url.parse().context("the node's URL")?))
}

/// The receipts of `hashes`, in their order, waiting for each one still pending.
async fn receipts(
    provider: &RootProvider,
    hashes: &[B256],
) -> anyhow::Result<Vec<TransactionReceipt>> {
    futures::stream::iter(hashes.iter().copied())
        .map(|hash| async move {
            loop {
                if let Some(r) = provider
                    .get_transaction_receipt(hash)
                    .await
                    .with_context(|| format!("the receipt of {hash}"))?
                {
                    return Ok::<_, anyhow::Error>(r);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .buffered(RECEIPT_CONCURRENCY)
        .try_collect()
        .await
}
