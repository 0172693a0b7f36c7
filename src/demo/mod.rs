//! `hedgedesk demo`: one command from a fresh machine to every desk busy. It starts a
//! devnet anvil with every contract deployed and seeded, the devnet Hermes and AnyHedge
//! oracle, a throwaway keystore unlocked for you, and a seeded simulated market
//! ([`market`]); then the console (or `--headless`, or nothing with `--market-only` so the
//! desks can run in another process, as the crash and soak tests do).
//!
//! The devnet and the market run on their own tokio runtime in the background; the console
//! and headless mode start theirs exactly as `hedgedesk run` does, from the config the demo
//! wrote (`<data dir>/demo.toml`).

pub mod bulk;
pub mod config;
pub mod keystore;
pub mod market;
pub mod setup;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::app::{AppContext, headless};
use crate::cli::{DemoArgs, GlobalArgs, OracleBootstrapArgs};
use crate::devnet::margin::Token;
use market::prices::{PriceFeeds, opening_prices};
use market::{MarketContext, OPERATOR};

/// Where the demo keeps its data unless told.
pub const DEFAULT_DATA_DIR: &str = "hedgedesk-demo";

pub fn run(args: &DemoArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let dir = global
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    setup::fresh_data_dir(&dir)?;
    let dir = dir.canonicalize()?;
    let store = crate::store::Store::open(
        &dir.join("hedgedesk.sqlite"),
        std::time::Duration::from_secs(5),
    )?;

    let market_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("demo-market")
        .enable_all()
        .build()
        .context("starting the market's runtime")?;
    println!(
        "hedgedesk demo (seed {}): starting anvil, deploying and seeding every desk's contracts…",
        args.seed
    );
    let world = market_rt.block_on(setup::start(args, &dir, store.clone()))?;
    market_rt.block_on(bulk::seed(args, &world))?;

    let demo_global = GlobalArgs {
        config: Some(world.config_path.clone()),
        data_dir: Some(dir.clone()),
        log_level: global.log_level.clone(),
        passphrase_file: Some(world.pass_file.clone()),
        keyring: false,
    };
    let ctx = AppContext::load(&demo_global)?;
    // The price slots the oracle desk publishes to, allocated by the desks' account.
    crate::oracle::admin::bootstrap(
        &OracleBootstrapArgs {
            reset: false,
            yes: true,
        },
        &ctx,
    )?;

    let cancel = CancellationToken::new();
    let opening = opening_prices();
    let (prices_tx, prices_rx) = tokio::sync::watch::channel(opening);
    let deployed: BTreeMap<String, _> = world
        .devnet
        .deployed
        .values()
        .map(|d| (d.name.clone(), d.address))
        .collect();
    let token = |name: &str, decimals| -> anyhow::Result<Token> {
        Ok(Token {
            address: world.devnet.address(name)?,
            decimals,
        })
    };
    let feeds = PriceFeeds {
        hermes: world.hermes.clone(),
        gp_oracle: world.gp_oracle.clone(),
        margin_oracle: world.devnet.address("margin.oracle")?,
        usdc: token("token.usdc", 6)?,
        weth: token("token.weth", 18)?,
        wbtc: token("token.wbtc", 8)?,
        prices: prices_tx,
    };
    let market = Arc::new(MarketContext::new(
        world.devnet.node.http_url(),
        world.devnet.node.chain_id,
        world.devnet.node.keys.clone(),
        deployed,
        store,
        ctx.config.clone(),
        world.api_url.clone(),
        prices_rx,
        args.seed,
    ));
    {
        let _enter = market_rt.enter();
        market::spawn(market, feeds, cancel.clone());
    }
    print_summary(args, &world, &dir);

    let code = if args.market_only {
        market_rt.block_on(async {
            let _ = tokio::signal::ctrl_c().await;
        });
        ExitCode::SUCCESS
    } else if args.headless {
        headless::run(ctx)?
    } else {
        if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            anyhow::bail!("the demo's console needs a terminal; use `hedgedesk demo --headless`");
        }
        crate::tui::run(ctx)?
    };
    cancel.cancel();
    drop(world);
    market_rt.shutdown_timeout(std::time::Duration::from_secs(2));
    Ok(code)
}

fn print_summary(args: &DemoArgs, world: &setup::World, dir: &std::path::Path) {
    let node = &world.devnet.node;
    println!(
        "  devnet     {} (chain {}), every contract deployed and seeded",
        node.http_url(),
        node.chain_id
    );
    println!(
        "  hermes     {} (devnet Pyth: BTC/USD, ETH/USD signed by a devnet guardian set)",
        world.hermes_url
    );
    println!("  anyhedge   oracle relay {} (BCH/USD)", world.relay_url);
    println!(
        "  api        {} (/anyhedge, /metrics, /health)",
        world.api_url
    );
    println!(
        "  keystore   THROWAWAY demo keystore: anvil's public dev key {OPERATOR} ({}), passphrase in {}; unlocked for you",
        node.address(OPERATOR),
        world.pass_file.display()
    );
    println!("  data       {} (wiped at the next demo)", dir.display());
    println!("  config     {}", world.config_path.display());
    println!(
        "  market     seed {}: prices walk every second; a sharp fall at 40 s and the recovery at 110 s",
        args.seed
    );
    if args.market_only {
        println!(
            "Run the desks: hedgedesk --config {} --data-dir {} --passphrase-file {} run",
            world.config_path.display(),
            dir.display(),
            world.pass_file.display()
        );
        println!("Ctrl-C stops the devnet and the market.");
    }
}
