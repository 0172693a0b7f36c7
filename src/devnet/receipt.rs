//! What every devnet deploy needs: a send that is simulated first, and the deployment record from its receipt.

use alloy::contract::{CallBuilder, CallDecoder};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionReceipt;
use anyhow::Context;

use crate::store::Deployment;

/// The deployment of `artifact` that `receipt` mined, named `name` on `chain_id` (not yet
/// recorded: `deployed_at_ms` is 0, the store stamps it). A reverted deployment or a receipt
/// without a contract address is an error naming `name`.
pub fn deployment(
    chain_id: u64,
    name: &str,
    artifact: &str,
    receipt: &TransactionReceipt,
) -> anyhow::Result<Deployment> {
    anyhow::ensure!(receipt.status(), "deploying {name}: reverted");
    Ok(Deployment {
        chain_id,
        name: name.into(),
        address: receipt
            .contract_address
            .with_context(|| format!("{name}: the receipt has no contract address"))?,
        artifact: artifact.into(),
        tx_hash: receipt.transaction_hash,
        block_number: receipt.block_number.unwrap_or_default(),
        deployed_at_ms: 0,
    })
}

/// Simulates `call` first, then sends it and waits for a successful receipt, naming `what`
/// on failure. The simulation keeps a revert out of the wallet's gas estimation, which
/// would leave its cached nonce one ahead (and every later transaction of the account
/// stuck).
pub async fn mined<P, D>(call: CallBuilder<P, D>, what: &str) -> anyhow::Result<TransactionReceipt>
where
    P: Provider,
    D: CallDecoder,
{
    call.call_raw()
        .await
        .with_context(|| format!("{what}: the call reverts"))?;
    let receipt = call
        .send()
        .await
        .with_context(|| what.to_string())?
        .get_receipt()
        .await
        .with_context(|| format!("{what}: receipt"))?;
    anyhow::ensure!(receipt.status(), "{what}: reverted");
    Ok(receipt)
}
