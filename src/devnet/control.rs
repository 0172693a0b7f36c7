//! Moving a devnet's clock and chain: what tests and the demo's market simulator use to
//! make time pass, mine, and reorganise blocks. Thin names over anvil's RPC methods.

use alloy::providers::ext::AnvilApi;
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::types::anvil::ReorgOptions;
use alloy::transports::TransportResult;

/// Control over one anvil node, through any provider that reaches it.
#[derive(Clone)]
pub struct DevnetControl {
    provider: RootProvider,
}

impl DevnetControl {
    pub fn new(provider: RootProvider) -> Self {
        Self { provider }
    }

    /// `evm_increaseTime`: the next block's timestamp is at least `seconds` later.
    pub async fn increase_time(&self, seconds: u64) -> TransportResult<()> {
        self.provider
            .anvil_increase_time(seconds)
            .await
            .map(|_: i64| ())
    }

    /// `evm_mine`: one block now, whatever the mining mode.
    pub async fn mine(&self) -> TransportResult<()> {
        self.provider.evm_mine(None).await.map(|_| ())
    }

    /// `anvil_mine`: `blocks` empty blocks at once.
    pub async fn mine_blocks(&self, blocks: u64) -> TransportResult<()> {
        self.provider.anvil_mine(Some(blocks), None).await
    }

    /// Moves time forward and mines a block carrying the new timestamp.
    pub async fn advance(&self, seconds: u64) -> TransportResult<()> {
        self.increase_time(seconds).await?;
        self.mine().await
    }

    /// `anvil_setAutomine`: off keeps sent transactions pending until [`Self::mine`].
    pub async fn set_automine(&self, enabled: bool) -> TransportResult<()> {
        self.provider.anvil_set_auto_mine(enabled).await
    }

    /// `anvil_reorg`: replaces the last `depth` blocks with as many new, empty ones.
    pub async fn reorg(&self, depth: u64) -> TransportResult<()> {
        self.provider
            .anvil_reorg(ReorgOptions {
                depth,
                tx_block_pairs: Vec::new(),
            })
            .await
    }

    /// The head block number.
    pub async fn head(&self) -> TransportResult<u64> {
        self.provider.get_block_number().await
    }
}
