//! Blocks for bulk seeding. With thousands of transactions arriving at once, anvil's
//! automine stalled (9,773 ready transactions and no block for minutes) and, nudged with
//! `evm_mine` beside it, lost track of some; so automine is off while the bulk sends and
//! one task mines a block whenever the pool holds ready transactions. Full blocks would
//! raise the base fee 12.5% each, so it is put back to where it was before every block.

use std::time::Duration;

use alloy::primitives::U256;
use alloy::providers::{Provider, RootProvider};
use anyhow::Context;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often an empty pool is looked at again.
const IDLE: Duration = Duration::from_millis(10);

pub struct Miner {
    provider: RootProvider,
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Miner {
    /// Turns automine off and starts mining.
    pub async fn start(provider: RootProvider) -> anyhow::Result<Miner> {
        let base_fee = provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await?
            .context("no latest block")?
            .header
            .base_fee_per_gas
            .unwrap_or(0);
        provider
            .raw_request::<_, ()>("evm_setAutomine".into(), (false,))
            .await
            .context("evm_setAutomine")?;
        let stop = CancellationToken::new();
        let task = tokio::spawn(mine(provider.clone(), base_fee, stop.clone()));
        Ok(Miner {
            provider,
            stop,
            task,
        })
    }

    /// Stops mining (once the pool is empty) and turns automine back on.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop.cancel();
        self.task.await.context("the bulk miner panicked")??;
        self.provider
            .raw_request::<_, ()>("evm_setAutomine".into(), (true,))
            .await
            .context("evm_setAutomine")?;
        Ok(())
    }
}

async fn mine(
    provider: RootProvider,
    base_fee: u64,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        let status: serde_json::Value = provider
            .raw_request("txpool_status".into(), ())
            .await
            .context("txpool_status")?;
        let pending = status["pending"]
            .as_str()
            .and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok())
            .unwrap_or(0);
        if pending == 0 {
            if stop.is_cancelled() {
                return Ok(());
            }
            tokio::time::sleep(IDLE).await;
            continue;
        }
        provider
            .raw_request::<_, ()>(
                "anvil_setNextBlockBaseFeePerGas".into(),
                (U256::from(base_fee),),
            )
            .await
            .context("anvil_setNextBlockBaseFeePerGas")?;
        provider
            .raw_request::<_, String>("evm_mine".into(), ())
            .await
            .context("evm_mine")?;
    }
}
