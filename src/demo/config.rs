//! The demo's config: every desk pointed at the demo's devnet, its Hermes and its AnyHedge
//! oracle, with timings short enough that a newcomer sees every flow within minutes. It is
//! written to `<data dir>/demo.toml` so it can be read, and reused by `run`.

use std::collections::BTreeMap;
use std::path::Path;

use alloy::primitives::B256;

use crate::actions::{ActionKind, PolicyMode};
use crate::config::{
    ActionPolicyConfig, AnyHedgeOracleConfig, AssetPriceConfig, Config, DEVNET_CHAIN, FeedConfig,
};
use crate::devnet::scenario::{PYTH_BTC_USD, PYTH_ETH_USD};

/// Where the demo's services are.
#[derive(Debug, Clone)]
pub struct DemoEndpoints {
    pub chain: crate::config::ChainConfig,
    pub hermes_url: String,
    pub guardian_sets: std::path::PathBuf,
    pub emitter_chain: u16,
    pub emitter_address: B256,
    pub anyhedge_oracle_pubkey: String,
    pub anyhedge_relay: String,
    pub api_listen: String,
}

/// The kinds that wait for the operator even in the demo: decisions a desk only proposes
/// on someone's behalf (a provider's withdrawal, both parties' early redemption).
const OPERATOR_KINDS: [ActionKind; 2] = [ActionKind::ApproveWithdrawal, ActionKind::MutualRedeem];

/// The demo's config. `confirm_all`: every kind waits for a keystroke.
pub fn demo_config(at: &DemoEndpoints, data_dir: &Path, confirm_all: bool) -> Config {
    let mut config = Config::default();
    config.general.data_dir = data_dir.display().to_string();
    config.keys.account = "demo".into();

    let mut chain = at.chain.clone();
    chain.confirmations = 0;
    chain.poll_interval_ms = 500;
    chain.health_interval_ms = 2_000;
    chain.stuck_after_secs = 20;
    config.chains = BTreeMap::from([(DEVNET_CHAIN.to_string(), chain)]);

    let o = &mut config.oracle;
    o.hermes_url = at.hermes_url.clone();
    o.guardian_sets = at.guardian_sets.display().to_string();
    o.emitter_chain = at.emitter_chain;
    o.emitter_address = at.emitter_address.to_string();
    o.feeds = vec![
        feed("BTC/USD", 1, 8, PYTH_BTC_USD),
        // 8 like Wormhole's wrapped ETH: at 18 (wei) the slot's picodollar price is 0.
        feed("ETH/USD", 2, 8, PYTH_ETH_USD),
    ];

    let l = &mut config.liquidator;
    l.auto = true;
    l.prices = vec![
        price("eth", "ETH/USD"),
        price("token.weth", "ETH/USD"),
        price("token.wbtc", "BTC/USD"),
        AssetPriceConfig {
            asset: "token.usdc".into(),
            usd: "1.00".into(),
            ..AssetPriceConfig::default()
        },
    ];

    let a = &mut config.anyhedge;
    a.poll_interval_secs = 2;
    a.auto_settle = true;
    a.oracles = vec![AnyHedgeOracleConfig {
        pubkey: at.anyhedge_oracle_pubkey.clone(),
        relay: at.anyhedge_relay.clone(),
        asset_name: "USD".into(),
        asset_currency: "USD".into(),
        asset_decimals: 2,
    }];

    let p = &mut config.perp;
    p.auto = true;
    p.expiry_secs = 20;

    config.pool.health_interval_secs = 10;

    config.api.enabled = true;
    config.api.listen = at.api_listen.clone();

    for kind in ActionKind::ALL {
        let mode = if confirm_all || OPERATOR_KINDS.contains(&kind) {
            PolicyMode::Confirm
        } else {
            PolicyMode::Auto
        };
        config.actions.insert(
            kind,
            ActionPolicyConfig {
                mode,
                ..ActionPolicyConfig::default()
            },
        );
    }
    config
}

fn feed(symbol: &str, asset_id: u64, decimals: u8, id: B256) -> FeedConfig {
    FeedConfig {
        symbol: symbol.into(),
        asset_id,
        decimals,
        price_id: id.to_string(),
        time_difference_secs: 15,
        price_deviation_bps: 20,
        ..FeedConfig::default()
    }
}

fn price(asset: &str, feed: &str) -> AssetPriceConfig {
    AssetPriceConfig {
        asset: asset.into(),
        feed: feed.into(),
        ..AssetPriceConfig::default()
    }
}
