//! The typed config. Every field has a default so a missing file or key is fine;
//! `config.example.toml` documents each key with that default.
//!
//! Unknown keys are not rejected by serde here: the loader deserializes through
//! `serde_ignored` and reports every unknown key with its path, next to every other problem.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::actions::{ActionKind, PolicyMode};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub general: GeneralConfig,
    pub keys: KeysConfig,
    pub store: StoreConfig,
    pub ui: UiConfig,
    pub headless: HeadlessConfig,
    pub workers: WorkersConfig,
    /// EVM chains by name (`[chains.<name>]`); desks name the chain they work on.
    pub chains: BTreeMap<String, ChainConfig>,
    pub oracle: OracleConfig,
    pub liquidator: LiquidatorConfig,
    pub anyhedge: AnyHedgeConfig,
    pub perp: PerpConfig,
    pub pool: PoolConfig,
    /// The HTTP listener: the AnyHedge REST + WebSocket API.
    pub api: ApiConfig,
    /// Policy per action kind, keyed by the kind's snake_case name.
    #[serde(deserialize_with = "deserialize_actions")]
    pub actions: BTreeMap<ActionKind, ActionPolicyConfig>,
}

/// Read `[actions]` keyed by name first, so an error inside one kind's table is reported at
/// `actions.<kind>.<key>` (serde only tracks string keys), then turn names into kinds.
fn deserialize_actions<'de, D>(de: D) -> Result<BTreeMap<ActionKind, ActionPolicyConfig>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    BTreeMap::<String, ActionPolicyConfig>::deserialize(de)?
        .into_iter()
        .map(|(name, policy)| {
            name.parse::<ActionKind>()
                .map(|kind| (kind, policy))
                .map_err(serde::de::Error::custom)
        })
        .collect()
}

impl Config {
    /// The policy for one action kind. Every kind has one: kinds the config does not
    /// name keep their defaults (see [`ActionPolicyConfig::default_for`]).
    pub fn policy(&self, kind: ActionKind) -> &ActionPolicyConfig {
        self.actions
            .get(&kind)
            .unwrap_or_else(|| default_policy(kind))
    }
}

/// The built-in policy of every kind, for a `Config` built by hand without all kinds.
fn default_policy(kind: ActionKind) -> &'static ActionPolicyConfig {
    static DEFAULTS: std::sync::OnceLock<BTreeMap<ActionKind, ActionPolicyConfig>> =
        std::sync::OnceLock::new();
    &DEFAULTS.get_or_init(|| {
        ActionKind::ALL
            .iter()
            .map(|kind| (*kind, ActionPolicyConfig::default_for(*kind)))
            .collect()
    })[&kind]
}

impl Default for Config {
    fn default() -> Self {
        Self {
            general: GeneralConfig::default(),
            keys: KeysConfig::default(),
            store: StoreConfig::default(),
            ui: UiConfig::default(),
            headless: HeadlessConfig::default(),
            workers: WorkersConfig::default(),
            chains: BTreeMap::from([(DEVNET_CHAIN.to_string(), ChainConfig::default())]),
            oracle: OracleConfig::default(),
            liquidator: LiquidatorConfig::default(),
            anyhedge: AnyHedgeConfig::default(),
            perp: PerpConfig::default(),
            pool: PoolConfig::default(),
            api: ApiConfig::default(),
            actions: ActionKind::ALL
                .iter()
                .map(|kind| (*kind, ActionPolicyConfig::default_for(*kind)))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GeneralConfig {
    /// Empty means the platform data dir (`$XDG_DATA_HOME/hedgedesk`).
    pub data_dir: String,
    /// error, warn, info, debug, trace, or a tracing filter such as `info,hedgedesk::store=debug`.
    pub log_level: String,
    /// Days of daily log files kept in `<data_dir>/logs`.
    pub log_retention_days: u32,
}

impl Default for GeneralConfig {
    fn default() -> Self {
        Self {
            data_dir: String::new(),
            log_level: "info".into(),
            log_retention_days: 14,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeysConfig {
    /// Empty means `<data_dir>/keystore`.
    pub keystore_dir: String,
    /// The keystore the console unlocks: `<keystore_dir>/<account>.json`.
    pub account: String,
    /// Cache the passphrase in the OS keyring (same as `--keyring`).
    pub keyring: bool,
    /// auto, keyutils or secret-service.
    pub keyring_backend: String,
    /// Wrong passphrases allowed at the unlock screen before the console exits.
    pub max_unlock_attempts: u32,
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            keystore_dir: String::new(),
            account: "operator".into(),
            keyring: false,
            keyring_backend: "auto".into(),
            max_unlock_attempts: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoreConfig {
    /// File name of the SQLite database inside the data dir.
    pub file: String,
    /// How long a write waits for a lock held by another process.
    pub busy_timeout_ms: u64,
    /// Terminal actions kept in the live Actions view (older ones stay in the journal).
    pub recent_actions: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            file: "hedgedesk.sqlite".into(),
            busy_timeout_ms: 5_000,
            recent_actions: 500,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UiConfig {
    /// A theme name: built in (default, light, high-contrast) or a `<name>.toml` in themes_dir.
    pub theme: String,
    /// Extra themes; empty means `$XDG_CONFIG_HOME/hedgedesk/themes`.
    pub themes_dir: String,
    /// The slow redraw tick (clock, ages); changes redraw at once.
    pub tick_ms: u64,
    /// Lines kept in the Logs tab.
    pub log_lines: u32,
    /// Key rebinding: command name -> list of keys, e.g. `quit = ["q", "ctrl-c"]`.
    pub keys: BTreeMap<String, Vec<String>>,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            theme: "default".into(),
            themes_dir: String::new(),
            tick_ms: 1_000,
            log_lines: 2_000,
            keys: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeadlessConfig {
    /// On SIGINT/SIGTERM, how long workers get to finish before what they hold is journaled.
    pub shutdown_grace_ms: u64,
}

impl Default for HeadlessConfig {
    fn default() -> Self {
        Self {
            shutdown_grace_ms: 10_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkersConfig {
    /// First wait before a crashed worker is restarted; doubles each time.
    pub restart_backoff_ms: u64,
    /// Longest wait between restarts.
    pub restart_backoff_max_ms: u64,
}

impl Default for WorkersConfig {
    fn default() -> Self {
        Self {
            restart_backoff_ms: 1_000,
            restart_backoff_max_ms: 60_000,
        }
    }
}

/// The chain the default config names: the local devnet that `hedgedesk devnet up` starts.
pub const DEVNET_CHAIN: &str = "devnet";

/// One EVM chain: its RPC endpoints in order of preference, and how hedgedesk reads
/// and writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChainConfig {
    /// The chain id every endpoint must report; an endpoint on another chain is never used.
    pub chain_id: u64,
    /// In order of preference: the first healthy one serves; when it recovers, traffic returns.
    pub endpoints: Vec<EndpointConfig>,
    /// Blocks on top of a log's block before a desk sees it.
    pub confirmations: u64,
    /// How often the head is polled when no endpoint offers a WebSocket.
    pub poll_interval_ms: u64,
    /// Most blocks asked for in one `eth_getLogs` during backfill.
    pub log_chunk_blocks: u64,
    /// How often every endpoint is probed (head, latency, errors).
    pub health_interval_ms: u64,
    /// An endpoint this many blocks behind the best head is lagging and not used.
    pub max_head_lag_blocks: u64,
    /// One RPC request's time limit.
    pub request_timeout_ms: u64,
    /// Cap on the EIP-1559 max fee per gas, in gwei. A send that needs more waits.
    pub max_fee_gwei: u64,
    /// Cap on the EIP-1559 priority fee (tip) per gas, in gwei.
    pub max_priority_fee_gwei: u64,
    /// A transaction pending this long is replaced with higher fees.
    pub stuck_after_secs: u64,
    /// Each replacement raises both fees by this many percent (nodes want at least 10).
    pub fee_bump_percent: u64,
}

impl Default for ChainConfig {
    fn default() -> Self {
        Self {
            chain_id: 31_337,
            endpoints: vec![EndpointConfig {
                name: "anvil".into(),
                url: "http://127.0.0.1:8545".into(),
                ws_url: "ws://127.0.0.1:8545".into(),
            }],
            confirmations: 2,
            poll_interval_ms: 1_000,
            log_chunk_blocks: 2_000,
            health_interval_ms: 2_000,
            max_head_lag_blocks: 3,
            request_timeout_ms: 5_000,
            max_fee_gwei: 300,
            max_priority_fee_gwei: 3,
            stuck_after_secs: 60,
            fee_bump_percent: 25,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointConfig {
    /// Shown in the status bar and the logs.
    pub name: String,
    /// JSON-RPC over HTTP(S).
    pub url: String,
    /// Optional WebSocket for new-head subscriptions; empty: poll the HTTP endpoint.
    pub ws_url: String,
}

/// The oracle desk: where prices come from, how they are verified, what is published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OracleConfig {
    /// The `[chains.<name>]` the PriceCaster contract lives on.
    pub chain: String,
    /// Hermes (Pyth's price service) base URL.
    pub hermes_url: String,
    /// Feed ids asked for in one Hermes request.
    pub batch_size: u32,
    /// `mainnet` (the guardian sets shipped with hedgedesk) or a JSON file of sets.
    pub guardian_sets: String,
    /// The Wormhole chain of the only emitter whose updates are accepted (26 = Pythnet).
    pub emitter_chain: u16,
    /// That emitter's 32-byte address, hex.
    pub emitter_address: String,
    /// One per price slot, in slot order.
    pub feeds: Vec<FeedConfig>,
}

/// Pythnet's accumulator emitter, the source of every Hermes price update.
pub const PYTHNET_EMITTER: &str =
    "0xe101faedac5851e32b9b23b5f9411a8c2bac4aae3ed4dd7b811dd1a72ea4aa71";

impl Default for OracleConfig {
    fn default() -> Self {
        Self {
            chain: DEVNET_CHAIN.into(),
            hermes_url: "https://hermes.pyth.network".into(),
            batch_size: 8,
            guardian_sets: "mainnet".into(),
            emitter_chain: 26,
            emitter_address: PYTHNET_EMITTER.into(),
            feeds: Vec::new(),
        }
    }
}

/// The liquidator desk: which margin module it watches and when a liquidation is worth it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LiquidatorConfig {
    /// The `[chains.<name>]` the margin module lives on.
    pub chain: String,
    /// The Dex223 margin module: an address, or the name it is recorded under in the
    /// store's deployments (the devnet records `margin.module`).
    pub module: String,
    /// The block its event stream starts at (its deployment block; 0 scans from genesis).
    /// A module the devnet deployed starts at its recorded deployment block.
    pub start_block: u64,
    /// Propose freezes and confirms on its own at start-up (`A` toggles it on the pane).
    pub auto: bool,
    /// Who receives the liquidation rewards; empty: the unlocked account.
    pub receiver: String,
    /// Liquidate only positions of orders the unlocked account owns (a lender protecting
    /// its own loans).
    pub lender_mode: bool,
    /// A liquidation is worth it when reward minus the gas of both calls is at least this
    /// many US cents.
    pub min_profit: i64,
    /// ... or when the reward alone is above this many US cents, even at a loss (0: off).
    pub always_liquidate_reward_above: i64,
    /// Never pay more than this many gwei per gas for a freeze or a confirm.
    pub max_fee_per_gas: u64,
    /// Positions whose local health is below 100% + this many basis points are checked on
    /// chain (`subjectToLiquidationExtended`) each block.
    pub near_edge_bps: u32,
    /// Gas assumed for a freeze when the node cannot estimate it.
    pub freeze_gas: u64,
    /// Gas assumed for a confirm, plus `confirm_gas_per_asset` per non-base asset sold,
    /// until the position is frozen and the confirm itself can be simulated.
    pub confirm_gas: u64,
    pub confirm_gas_per_asset: u64,
    /// USD prices of reward assets and of the native coin (for gas).
    pub prices: Vec<AssetPriceConfig>,
}

impl Default for LiquidatorConfig {
    fn default() -> Self {
        Self {
            chain: DEVNET_CHAIN.into(),
            module: "margin.module".into(),
            start_block: 0,
            auto: false,
            receiver: String::new(),
            lender_mode: false,
            min_profit: 0,
            always_liquidate_reward_above: 0,
            max_fee_per_gas: 200,
            near_edge_bps: 50,
            freeze_gas: 130_000,
            confirm_gas: 100_000,
            confirm_gas_per_asset: 80_000,
            prices: Vec::new(),
        }
    }
}

/// Where the USD price of one asset comes from: a Pyth feed the oracle desk verifies,
/// or a fixed price.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AssetPriceConfig {
    /// `eth` (the native coin), a token address, or a deployment name (`token.usdc`).
    pub asset: String,
    /// A feed of `[[oracle.feeds]]` by symbol (`ETH/USD`), or a Pyth price id.
    pub feed: String,
    /// A fixed price in USD per whole token, as a decimal (`"1.00"`).
    pub usd: String,
}

/// One price feed published to one slot, and when it must be published again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeedConfig {
    /// For people: `BTC/USD`.
    pub symbol: String,
    /// The asset's id in the slot (what consumers look prices up by).
    pub asset_id: u64,
    /// The asset's decimals, for the normalised price (0 to 19).
    pub decimals: u8,
    /// The Pyth feed id, 32 bytes hex.
    pub price_id: String,
    /// Publish when the on-chain price is this many seconds older than Hermes's.
    pub time_difference_secs: u64,
    /// Publish when the price moved by this many basis points.
    pub price_deviation_bps: u32,
    /// Publish when confidence / price exceeds this many basis points.
    pub confidence_ratio_bps: u32,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            symbol: String::new(),
            asset_id: 0,
            decimals: 0,
            price_id: String::new(),
            time_difference_secs: 60,
            price_deviation_bps: 50,
            confidence_ratio_bps: 100,
        }
    }
}

/// What happens to an action of one kind when a desk proposes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActionPolicyConfig {
    /// auto: execute at once; confirm: wait for a keystroke; off: drop (journaled as rejected).
    pub mode: PolicyMode,
    /// An `auto` action whose estimated fee exceeds this many gwei waits for confirmation. 0 = no cap.
    pub max_gas_cost_gwei: u64,
    /// An `auto` action whose expected profit is below this many US cents waits for confirmation.
    /// Only applies to actions that estimate a profit. 0 = no floor.
    pub min_profit_usd_cents: i64,
}

impl ActionPolicyConfig {
    pub fn default_for(kind: ActionKind) -> Self {
        Self {
            mode: kind.default_mode(),
            max_gas_cost_gwei: 0,
            min_profit_usd_cents: 0,
        }
    }
}

impl Default for ActionPolicyConfig {
    fn default() -> Self {
        Self {
            mode: PolicyMode::Confirm,
            max_gas_cost_gwei: 0,
            min_profit_usd_cents: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnyHedgeConfig {
    /// The `[chains.<name>]` the hedge contracts live on.
    pub chain: String,
    /// The HedgeFactory: an address, or the name it is recorded under in the store's
    /// deployments (the devnet records `anyhedge.factory`).
    pub factory: String,
    /// The 8-decimal collateral token (sats): an address or a deployment name.
    pub collateral: String,
    /// The block the desk's event stream starts at (0: the factory's recorded deployment
    /// block, or genesis).
    pub start_block: u64,
    /// Seconds an accepted offer waits for `settle_offer` before it returns to pending.
    pub settlement_deadline_secs: u64,
    /// Seconds between polls of each oracle's relay.
    pub poll_interval_secs: u64,
    /// Settle matured and liquidatable contracts on its own (server-settled). The
    /// [actions.settle_contract] policy still decides whether a proposal waits for a key.
    pub auto_settle: bool,
    /// The most it pays per gas for a funding, settlement or redemption, in gwei.
    pub max_fee_per_gas: u64,
    /// The oracles whose signed price messages the desk ingests.
    pub oracles: Vec<AnyHedgeOracleConfig>,
}

impl Default for AnyHedgeConfig {
    fn default() -> Self {
        Self {
            chain: DEVNET_CHAIN.into(),
            factory: "anyhedge.factory".into(),
            collateral: "anyhedge.collateral".into(),
            start_block: 0,
            settlement_deadline_secs: 900,
            poll_interval_secs: 20,
            auto_settle: true,
            max_fee_per_gas: 200,
            oracles: Vec::new(),
        }
    }
}

/// One price oracle: its public key and the relay serving its signed messages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnyHedgeOracleConfig {
    /// The oracle's compressed secp256k1 public key (33 bytes as 66 hex digits).
    pub pubkey: String,
    /// A General Protocols-style relay (`<relay>/api/v1/oracleMessages`).
    pub relay: String,
    /// What it prices, e.g. "USD" for BCH/USD.
    pub asset_name: String,
    pub asset_currency: String,
    /// Decimals of the oracle's integer price (2: cents).
    pub asset_decimals: u8,
}

/// The perp desk (DeHedge): DePerp on a chain, the risk factors, the venue hedges go to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PerpConfig {
    /// The `[chains.<name>]` DePerp lives on.
    pub chain: String,
    /// DePerp's DataRegistry (every other contract is looked up in it): an address, or the
    /// name it is recorded under in the store's deployments.
    pub registry: String,
    /// The collateral assets whose vaults are watched.
    pub assets: Vec<PerpAssetConfig>,
    /// Least milliseconds between two reads of DePerp (it reads on every new block).
    pub refresh_ms: u64,
    /// The integer scale of DePerp's prices (entry prices and the current price the desk
    /// values positions at): a Pyth price is scaled to this many decimals.
    pub price_decimals: u8,
    /// Risk factors, as decimal strings.
    pub vault_factor: String,
    pub vault_profit_limit_factor: String,
    pub profit_limit_interest: String,
    /// Leverage set on the venue per symbol before its first hedge (isolated margin).
    pub leverage: u32,
    /// Seconds without any risk flag before a hedge is closed.
    pub expiry_secs: u64,
    /// Propose hedges on its own (`a` on the Perp tab toggles it); the
    /// [actions.open_hedge] / [actions.close_hedge] policies still decide what waits.
    pub auto: bool,
    /// `paper` or `binance`.
    pub venue: String,
    /// DePerp market → venue symbol, e.g. "BTC-USD" = "BTCUSDT".
    pub markets: BTreeMap<String, String>,
    pub binance: BinanceConfig,
    pub paper: PaperConfig,
}

/// One collateral asset (USDC): an address or deployment name, and its decimals.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PerpAssetConfig {
    pub asset: String,
    pub decimals: u8,
}

impl Default for PerpConfig {
    fn default() -> Self {
        Self {
            chain: DEVNET_CHAIN.into(),
            registry: "deperp.registry".into(),
            assets: vec![PerpAssetConfig {
                asset: "token.usdc".into(),
                decimals: 6,
            }],
            refresh_ms: 1_000,
            price_decimals: 8,
            vault_factor: "1".into(),
            vault_profit_limit_factor: "1".into(),
            profit_limit_interest: "0.4".into(),
            leverage: 10,
            expiry_secs: 60,
            auto: true,
            venue: "paper".into(),
            markets: BTreeMap::from([
                ("BTC-USD".to_string(), "BTCUSDT".to_string()),
                ("ETH-USD".to_string(), "ETHUSDT".to_string()),
            ]),
            binance: BinanceConfig::default(),
            paper: PaperConfig::default(),
        }
    }
}

/// Binance USDT-M futures. The API key and secret never go in this file: they come from
/// the environment variables named here (or the OS keyring).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BinanceConfig {
    /// `https://fapi.binance.com`, the testnet `https://testnet.binancefuture.com`, or a
    /// local server.
    pub base_url: String,
    pub recv_window_ms: u64,
    pub timeout_ms: u64,
    /// The longest `Retry-After` waited out; longer is reported as rate limited.
    pub max_retry_wait_secs: u64,
    pub api_key_env: String,
    pub api_secret_env: String,
}

impl Default for BinanceConfig {
    fn default() -> Self {
        Self {
            base_url: "https://fapi.binance.com".into(),
            recv_window_ms: 5_000,
            timeout_ms: 10_000,
            max_retry_wait_secs: 60,
            api_key_env: "HEDGEDESK_BINANCE_API_KEY".into(),
            api_secret_env: "HEDGEDESK_BINANCE_API_SECRET".into(),
        }
    }
}

/// The paper venue: fills at the mark price less a taker fee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PaperConfig {
    /// Taker fee in basis points of the notional (Binance's base tier: 4 = 0.04%).
    pub fee_bps: u32,
}

impl Default for PaperConfig {
    fn default() -> Self {
        Self { fee_bps: 4 }
    }
}

/// Pyth's BTC/USD price feed id (the same feed the devnet scenario publishes).
pub const PYTH_BTC_USD_ID: &str =
    "0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43";
/// Pyth's ETH/USD price feed id.
pub const PYTH_ETH_USD_ID: &str =
    "0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace";

/// The pool desk (BitHedge liquidity pool): the Vault, the prices it values collateral at,
/// the provider tiers, which buyer tiers they back, and the premium model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolConfig {
    /// The `[chains.<name>]` the Vault lives on.
    pub chain: String,
    /// The LiquidityVault: an address, or the name it is recorded under in the store's
    /// deployments (the devnet records `pool.vault`).
    pub vault: String,
    /// The 8-decimal wrapped BTC the Vault holds next to ETH: an address or a deployment name.
    pub wbtc: String,
    /// The block the Vault's event stream starts at (0: its recorded deployment block, or
    /// genesis).
    pub start_block: u64,
    /// Pyth feed ids (32 bytes hex) the collateral and the policies are valued at.
    pub btc_usd_feed: String,
    pub eth_usd_feed: String,
    /// A price older than this many seconds is stale: health is "unknown (stale prices)" and
    /// nothing that needs a price (a policy, a withdrawal) goes ahead.
    pub max_price_age_secs: u64,
    /// Seconds between two health checks of every provider.
    pub health_interval_secs: u64,
    /// Seconds a margin call may last before the provider is marked Liquidating.
    pub margin_call_grace_secs: u64,
    /// Basis points kept on top of the tier's collateral ratio when a withdrawal's maximum
    /// is worked out.
    pub withdrawal_buffer_bps: u32,
    /// The tier of a provider whose first deposit arrives without one chosen.
    pub default_tier: String,
    /// Provider tiers, in order of preference (the first that can back a policy does).
    pub tiers: Vec<PoolTierConfig>,
    /// Buyer tiers and the provider tiers that may back their policies.
    pub buyer_tiers: Vec<PoolBuyerTierConfig>,
    pub premium: PoolPremiumConfig,
}

/// One provider tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolTierConfig {
    pub name: String,
    /// A policy this tier backs locks its coverage × this / 10000 of collateral.
    pub collateral_ratio_bps: u32,
    /// A provider whose health ratio is below this is in Warning ...
    pub warning_ratio_bps: u32,
    /// ... and below this in MarginCall.
    pub margin_call_ratio_bps: u32,
    /// The tier's premium multiplier, a positive decimal in quotes.
    pub premium_multiplier: String,
    /// Most capital the tier takes, whole tokens as a decimal in quotes; "0": no limit.
    pub capacity_eth: String,
    pub capacity_wbtc: String,
}

impl Default for PoolTierConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            collateral_ratio_bps: 0,
            warning_ratio_bps: 0,
            margin_call_ratio_bps: 0,
            premium_multiplier: "1".into(),
            capacity_eth: "0".into(),
            capacity_wbtc: "0".into(),
        }
    }
}

/// One buyer (protection) tier.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolBuyerTierConfig {
    pub name: String,
    /// The provider tiers that may back its policies, in order of preference.
    pub backed_by: Vec<String>,
}

/// The premium model's parameters, decimals in quotes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolPremiumConfig {
    /// BTC volatility σ, annualised.
    pub volatility: String,
    /// The risk-free rate r, annual.
    pub risk_free_rate: String,
    /// The fair price is multiplied by 1 + this.
    pub risk_loading: String,
    /// ... and by this.
    pub market_adjustment: String,
}

impl Default for PoolPremiumConfig {
    fn default() -> Self {
        Self {
            volatility: "0.5".into(),
            risk_free_rate: "0.02".into(),
            risk_loading: "0.01".into(),
            market_adjustment: "1.2".into(),
        }
    }
}

impl Default for PoolConfig {
    fn default() -> Self {
        let tier = |name: &str, ratio: u32, margin_call: u32, multiplier: &str| PoolTierConfig {
            name: name.into(),
            collateral_ratio_bps: ratio,
            warning_ratio_bps: ratio,
            margin_call_ratio_bps: margin_call,
            premium_multiplier: multiplier.into(),
            capacity_eth: "0".into(),
            capacity_wbtc: "0".into(),
        };
        let buyer = |name: &str, backed_by: &[&str]| PoolBuyerTierConfig {
            name: name.into(),
            backed_by: backed_by.iter().map(|s| s.to_string()).collect(),
        };
        Self {
            chain: DEVNET_CHAIN.into(),
            vault: "pool.vault".into(),
            wbtc: "token.wbtc".into(),
            start_block: 0,
            btc_usd_feed: PYTH_BTC_USD_ID.into(),
            eth_usd_feed: PYTH_ETH_USD_ID.into(),
            max_price_age_secs: 120,
            health_interval_secs: 60,
            margin_call_grace_secs: 86_400,
            withdrawal_buffer_bps: 500,
            default_tier: "balanced".into(),
            tiers: vec![
                tier("conservative", 12_500, 11_000, "0.8"),
                tier("balanced", 13_500, 12_000, "1.0"),
                tier("aggressive", 15_500, 13_000, "1.2"),
            ],
            buyer_tiers: vec![
                buyer("conservative", &["conservative"]),
                buyer("standard", &["balanced", "conservative"]),
                buyer("flexible", &["aggressive", "balanced"]),
                buyer(
                    "crash_insurance",
                    &["aggressive", "balanced", "conservative"],
                ),
            ],
            premium: PoolPremiumConfig::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiConfig {
    /// Serve the API at all.
    pub enabled: bool,
    /// host:port to listen on. Keep it on loopback unless a proxy with TLS stands in front.
    pub listen: String,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: "127.0.0.1:8787".into(),
        }
    }
}
