//! The demo's simulated market: seeded actors that make the five desks busy on the devnet.
//!
//! - `prices`: BTC/USD, ETH/USD and BCH/USD on a random walk with occasional shocks (and a
//!   scripted first act), published as signed devnet Pyth updates (the oracle desk's
//!   Hermes), as the margin module's oracle prices, and as the AnyHedge oracle's messages;
//! - `margin`: lenders' orders and borrowers taking loans and trading on them;
//! - `perp`: DePerp traders opening and closing positions;
//! - `anyhedge`: wallets making offers and accepting them over the desks' HTTP API;
//! - `pool`: liquidity providers depositing and buyers purchasing policies.
//!
//! Every actor draws from its own generator seeded by `--seed` and its name, so a run can be
//! replayed (up to the timing of the node and the desks). Dev account 0 (the deployer and
//! owner of the devnet contracts) is shared: its sends go one at a time through
//! [`MarketContext::as_owner`]. The desks sign with their own account ([`OPERATOR`]).

pub mod anyhedge;
pub mod margin;
pub mod perp;
pub mod pool;
pub mod prices;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::{Mutex, MutexGuard, watch};
use tokio_util::sync::CancellationToken;

use crate::chain::contracts::TestToken;
use crate::config::Config;
use crate::devnet::receipt::mined;
use crate::store::Store;

/// Dev account 0: deployer, owner of the devnet contracts, the market's admin.
pub const OWNER: usize = 0;
/// The dev account the desks sign with (the demo keystore holds its key).
pub const OPERATOR: usize = 10;
/// Dev accounts the demo's anvil funds.
pub const ACCOUNTS: u32 = 20;

/// The market's prices now (what the last tick published).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketPrices {
    /// USD × 10^8 per BTC.
    pub btc_usd_e8: i64,
    /// USD × 10^8 per ETH.
    pub eth_usd_e8: i64,
    /// US cents per BCH (the AnyHedge oracle's price).
    pub bch_usd_cents: i32,
    /// Unix milliseconds of the tick.
    pub at_ms: i64,
}

/// What every actor works with.
pub struct MarketContext {
    pub rpc_url: String,
    pub chain_id: u64,
    /// anvil's dev keys, by index.
    pub keys: Vec<PrivateKeySigner>,
    /// Deployment name → address (`token.usdc`, `margin.module`, `pool.vault`, ...).
    pub deployed: BTreeMap<String, Address>,
    pub store: Store,
    /// The config the desks run with (the demo's).
    pub config: Arc<Config>,
    /// The desks' HTTP API (AnyHedge REST), e.g. `http://127.0.0.1:8787`.
    pub api_url: String,
    pub prices: watch::Receiver<MarketPrices>,
    pub seed: u64,
    /// When the market started: the scripted first act is timed from here.
    pub started: Instant,
    owner: Mutex<()>,
}

impl MarketContext {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        rpc_url: String,
        chain_id: u64,
        keys: Vec<PrivateKeySigner>,
        deployed: BTreeMap<String, Address>,
        store: Store,
        config: Arc<Config>,
        api_url: String,
        prices: watch::Receiver<MarketPrices>,
        seed: u64,
    ) -> Self {
        MarketContext {
            rpc_url,
            chain_id,
            keys,
            deployed,
            store,
            config,
            api_url,
            prices,
            seed,
            started: Instant::now(),
            owner: Mutex::new(()),
        }
    }

    /// A signing provider for dev account `index`. A fresh one per use: alloy's nonce cache
    /// would go stale across providers of the same account.
    pub fn wallet(&self, index: usize) -> DynProvider {
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(self.keys[index].clone()))
            .connect_http(self.rpc_url.parse().expect("anvil's URL parses"));
        provider
            .client()
            .set_poll_interval(Duration::from_millis(50));
        provider.erased()
    }

    pub fn address_of(&self, index: usize) -> Address {
        self.keys[index].address()
    }

    /// A deployment's address.
    pub fn deployed(&self, name: &str) -> anyhow::Result<Address> {
        self.deployed
            .get(name)
            .copied()
            .ok_or_else(|| anyhow::anyhow!("the demo devnet has no {name}"))
    }

    /// The owner's wallet, held until the guard drops: one owner send at a time.
    pub async fn as_owner(&self) -> (MutexGuard<'_, ()>, DynProvider) {
        let guard = self.owner.lock().await;
        (guard, self.wallet(OWNER))
    }

    /// Mints `amount` base units of the test token `token` (`"token.usdc"`) to `to`.
    pub async fn mint(&self, token: &str, to: Address, amount: U256) -> anyhow::Result<()> {
        let token = self.deployed(token)?;
        let (_guard, owner) = self.as_owner().await;
        mined(
            TestToken::new(token, &owner).mint(to, amount),
            "TestToken.mint",
        )
        .await?;
        Ok(())
    }

    /// The generator of the actor `name`: the same seed and name, the same draws.
    pub fn rng(&self, name: &str) -> ChaCha8Rng {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&self.seed.to_le_bytes());
        let name_hash = alloy::primitives::keccak256(name.as_bytes());
        seed[8..].copy_from_slice(&name_hash[..24]);
        ChaCha8Rng::from_seed(seed)
    }

    /// Time since the market started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn now_prices(&self) -> MarketPrices {
        *self.prices.borrow()
    }
}

/// Runs `step` every `every` until `cancel`; a failed step is logged and the actor goes on.
pub async fn every<F, Fut>(name: &str, every: Duration, cancel: &CancellationToken, mut step: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if let Err(e) = step().await {
            tracing::warn!(actor = name, error = %format!("{e:#}"), "demo market: a step failed");
        }
    }
}

/// The market's actors, started on the current runtime; they stop on `cancel`.
pub fn spawn(ctx: Arc<MarketContext>, feeds: prices::PriceFeeds, cancel: CancellationToken) {
    tokio::spawn(prices::run(ctx.clone(), feeds, cancel.clone()));
    tokio::spawn(margin::run(ctx.clone(), cancel.clone()));
    tokio::spawn(perp::run(ctx.clone(), cancel.clone()));
    tokio::spawn(anyhedge::run(ctx.clone(), cancel.clone()));
    tokio::spawn(pool::run(ctx, cancel));
}
