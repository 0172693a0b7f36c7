//! Bringing the demo's world up: the data dir, anvil with every contract deployed and
//! seeded, the desks' account made owner of what they drive, the devnet Hermes and the
//! AnyHedge oracle serving, and the config and throwaway keystore written.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::config::{DemoEndpoints, demo_config};
use super::market::{ACCOUNTS, OPERATOR, OWNER, prices::opening_prices};
use crate::chain::contracts::{LiquidityVault, PriceCaster};
use crate::cli::DemoArgs;
use crate::config::Config;
use crate::devnet::gp_oracle::DevnetOracle;
use crate::devnet::hermes::{DevnetFeed, DevnetHermes};
use crate::devnet::pyth::DevnetPythSource;
use crate::devnet::receipt::mined;
use crate::devnet::scenario::{
    DEVNET_GP_ORACLE_SEED, DEVNET_GUARDIAN_SEED, DEVNET_GUARDIANS, PYTH_BTC_USD, PYTH_ETH_USD,
    Scenario,
};
use crate::devnet::{AnvilOptions, Devnet};
use crate::store::Store;

/// The file that marks a directory as the demo's own (and so safe to wipe).
const MARKER: &str = ".hedgedesk-demo";

/// Everything the demo started; dropping it stops anvil.
pub struct World {
    pub devnet: Devnet,
    pub hermes: DevnetHermes,
    pub hermes_url: String,
    pub gp_oracle: DevnetOracle,
    pub relay_url: String,
    pub config: Config,
    pub config_path: PathBuf,
    pub pass_file: PathBuf,
    pub api_url: String,
}

/// Empties `dir` for a new demo run, refusing one the demo did not make.
pub fn fresh_data_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .next()
            .is_none();
        if !empty && !dir.join(MARKER).exists() {
            anyhow::bail!(
                "--data-dir: {} is not empty and not a demo's: the demo wipes its data dir at \
                 every start, so give it its own (default ./hedgedesk-demo)",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("wiping {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(
        dir.join(MARKER),
        "A hedgedesk demo's data dir: wiped at the next `hedgedesk demo`.\n",
    )?;
    Ok(())
}

/// A free port on 127.0.0.1 (for a service whose URL must be known before it starts).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Starts the devnet and its services and writes the config and keystore into `dir`.
pub async fn start(args: &DemoArgs, dir: &Path, store: Store) -> anyhow::Result<World> {
    let options = AnvilOptions {
        port: args.port,
        accounts: ACCOUNTS,
        block_time: None,
        ..AnvilOptions::default()
    };
    let mut devnet = Devnet::start(options, store)
        .await
        .with_context(|| format!("--port {}: starting anvil", args.port))?;
    devnet.seed(&Scenario::standard()).await?;
    let operator = devnet.node.address(OPERATOR);
    let owner = devnet.wallet(OWNER)?;
    mined(
        PriceCaster::new(devnet.address("oracle.price_caster")?, &owner)
            .transferOwnership(operator),
        "PriceCaster.transferOwnership",
    )
    .await?;
    mined(
        LiquidityVault::new(devnet.address(crate::devnet::pool::VAULT)?, &owner)
            .setBackendPrincipal(operator),
        "LiquidityVault.setBackendPrincipal",
    )
    .await?;

    let source = DevnetPythSource::new(DEVNET_GUARDIAN_SEED, DEVNET_GUARDIANS, 0);
    let guardian_sets = dir.join("devnet-guardian-sets.json");
    std::fs::write(
        &guardian_sets,
        source
            .guardian_sets()
            .to_json("devnet guardian set: keys derived from a public seed; devnet only"),
    )?;
    let emitter = source.emitter;
    let hermes = DevnetHermes::new(
        source,
        vec![
            DevnetFeed {
                id: PYTH_BTC_USD,
                symbol: "BTC/USD".into(),
            },
            DevnetFeed {
                id: PYTH_ETH_USD,
                symbol: "ETH/USD".into(),
            },
        ],
    );
    let hermes_url = hermes
        .serve_on(0)
        .await
        .context("serving the devnet Hermes")?;
    let gp_oracle = DevnetOracle::from_seed(DEVNET_GP_ORACLE_SEED);
    let relay_url = gp_oracle
        .serve_on(0)
        .await
        .context("serving the devnet AnyHedge oracle's relay")?;
    let opening = opening_prices();
    gp_oracle.publish((opening.at_ms / 1_000) as i32, opening.bch_usd_cents)?;

    let api_port = match args.api_port {
        0 => free_port()?,
        port => port,
    };
    let endpoints = DemoEndpoints {
        chain: devnet.chain_config(),
        hermes_url: hermes_url.clone(),
        guardian_sets,
        emitter_chain: emitter.chain,
        emitter_address: emitter.address,
        anyhedge_oracle_pubkey: gp_oracle.pubkey_hex(),
        anyhedge_relay: relay_url.clone(),
        api_listen: format!("127.0.0.1:{api_port}"),
    };
    let config = demo_config(&endpoints, dir, args.confirm_all);
    let config_path = dir.join("demo.toml");
    std::fs::write(
        &config_path,
        format!(
            "# Written by `hedgedesk demo` for its devnet; wiped with its data dir.\n{}",
            toml::to_string_pretty(&config).context("rendering the demo's config")?
        ),
    )?;
    let pass_file = super::keystore::write(
        &devnet.node.signer(OPERATOR),
        &config.keystore_dir(dir),
        &dir.join("demo-passphrase.txt"),
    )?;
    Ok(World {
        devnet,
        hermes,
        hermes_url,
        gp_oracle,
        relay_url,
        config,
        config_path,
        pass_file,
        api_url: format!("http://127.0.0.1:{api_port}"),
    })
}
