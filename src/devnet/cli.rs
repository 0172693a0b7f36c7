//! `hedgedesk devnet up`: anvil + deploy + seed, then wait for Ctrl-C.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::anvil::AnvilOptions;
use super::deploy::Devnet;
use super::gp_oracle::DevnetOracle;
use super::scenario::Scenario;
use crate::app::AppContext;
use crate::cli::{DevnetCommand, DevnetUpArgs, ScenarioName};

/// Where the devnet AnyHedge oracle's relay listens unless told (next to the API's 8787).
pub const DEFAULT_RELAY_PORT: u16 = 8788;
/// The devnet BCH/USD feed: its first price in cents and seconds between messages.
const FEED_START_CENTS: i32 = 30_000;
const FEED_INTERVAL: Duration = Duration::from_secs(5);

pub fn run(cmd: &DevnetCommand, ctx: &AppContext) -> anyhow::Result<ExitCode> {
    match cmd {
        DevnetCommand::Up(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            runtime.block_on(up(args, ctx))
        }
    }
}

async fn up(args: &DevnetUpArgs, ctx: &AppContext) -> anyhow::Result<ExitCode> {
    let chain = ctx.config.chains.get(&args.chain).with_context(|| {
        format!(
            "--chain: no [chains.{}] in the config (have: {})",
            args.chain,
            ctx.config
                .chains
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let port = match args.port {
        Some(port) => port,
        None => chain
            .endpoints
            .first()
            .and_then(|e| endpoint_port(&e.url))
            .unwrap_or(8545),
    };
    let options = AnvilOptions {
        port,
        chain_id: chain.chain_id,
        block_time: args.block_time,
        ..AnvilOptions::default()
    };
    let scenario = match args.scenario {
        ScenarioName::Standard => Scenario::standard(),
        ScenarioName::Empty => Scenario::empty(),
    };
    // Install the handlers before anything starts, so a Ctrl-C during deploy still stops anvil.
    let mut stop = stop_signal()?;
    let store = ctx.open_store()?;
    let mut devnet = Devnet::start(options, store).await?;
    devnet.seed(&scenario).await?;
    // The devnet price source's guardian set, for `[oracle] guardian_sets = "<this file>"`.
    let oracle_sets = match &scenario.price_caster {
        Some(_) => {
            let source = super::pyth::DevnetPythSource::new(
                super::scenario::DEVNET_GUARDIAN_SEED,
                super::scenario::DEVNET_GUARDIANS,
                0,
            );
            let path = ctx.data_dir.join("devnet-guardian-sets.json");
            std::fs::write(
                &path,
                source
                    .guardian_sets()
                    .to_json("devnet guardian set: keys derived from a public seed; devnet only"),
            )
            .with_context(|| format!("writing {}", path.display()))?;
            Some((path, source.emitter))
        }
        None => None,
    };
    // The AnyHedge desk's oracle: a live BCH/USD feed served from a GP-style relay.
    let gp_oracle = match scenario.anyhedge {
        true => {
            let relay_port =
                args.relay_port
                    .unwrap_or(if port == 0 { 0 } else { DEFAULT_RELAY_PORT });
            Some(start_gp_oracle(relay_port).await?)
        }
        false => None,
    };

    if args.json {
        let contracts: serde_json::Map<String, serde_json::Value> = devnet
            .deployed
            .values()
            .map(|d| (d.name.clone(), d.address.to_string().into()))
            .collect();
        let accounts: Vec<String> = devnet
            .node
            .keys
            .iter()
            .map(|k| k.address().to_string())
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "rpc_url": devnet.node.http_url(),
                "ws_url": devnet.node.ws_url(),
                "chain_id": devnet.node.chain_id,
                "contracts": contracts,
                "accounts": accounts,
                "anyhedge_oracle": gp_oracle.as_ref().map(|(o, relay)| serde_json::json!({
                    "pubkey": o.pubkey_hex(),
                    "relay": relay,
                })),
            })
        );
    } else {
        println!("devnet up: chain {} ({})", devnet.node.chain_id, args.chain);
        println!("RPC        {}", devnet.node.http_url());
        println!("WebSocket  {}", devnet.node.ws_url());
        println!("contracts:");
        let width = devnet.deployed.keys().map(String::len).max().unwrap_or(0);
        for d in devnet.deployed.values() {
            println!(
                "  {:<width$} {}  ({}, block {})",
                d.name, d.address, d.artifact, d.block_number
            );
        }
        println!(
            "dev accounts (anvil's well-known test mnemonic; never use them on a real network):"
        );
        for (i, key) in devnet.node.keys.iter().enumerate().take(5) {
            let role = if i == 0 { "  deployer" } else { "" };
            println!("  ({i}) {}{role}", key.address());
        }
        println!("store      {}", ctx.data_dir.display());
        if let Some((path, emitter)) = &oracle_sets {
            println!(
                "oracle     devnet price source: [oracle] guardian_sets = \"{}\", emitter_address = \"{}\"",
                path.display(),
                emitter.address
            );
        }
        if let Some((oracle, relay)) = &gp_oracle {
            println!(
                "anyhedge   devnet BCH/USD oracle, a price every {}s: [[anyhedge.oracles]] pubkey = \"{}\", relay = \"{relay}\", asset_name = \"USD\", asset_currency = \"USD\", asset_decimals = 2",
                FEED_INTERVAL.as_secs(),
                oracle.pubkey_hex()
            );
        }
        println!("Ctrl-C stops the devnet.");
    }
    use std::io::Write;
    std::io::stdout().flush().ok();
    stop.recv().await;
    tracing::info!("devnet stopping");
    drop(devnet);
    Ok(ExitCode::SUCCESS)
}

/// The devnet AnyHedge oracle (a public seed: devnet only) serving its relay on
/// `relay_port` and signing a random-walk BCH/USD price every few seconds until the process
/// ends. Returns it and the relay's URL.
async fn start_gp_oracle(relay_port: u16) -> anyhow::Result<(DevnetOracle, String)> {
    let oracle = DevnetOracle::from_seed(super::scenario::DEVNET_GP_ORACLE_SEED);
    let relay = oracle.serve_on(relay_port).await.with_context(|| {
        format!("--relay-port {relay_port}: serving the devnet AnyHedge oracle's relay")
    })?;
    let feed = oracle.clone();
    let mut walk = PriceWalk::new(FEED_START_CENTS, chrono::Utc::now().timestamp_nanos_opt());
    tokio::spawn(async move {
        feed.run_live(
            || Some(walk.step()),
            FEED_INTERVAL,
            CancellationToken::new(),
        )
        .await
    });
    Ok((oracle, relay))
}

/// A price from its start, then steps of at most ±0.4% (xorshift; no cryptographic quality
/// needed).
struct PriceWalk {
    price: i32,
    state: u64,
}

impl PriceWalk {
    fn new(price: i32, seed: Option<i64>) -> Self {
        PriceWalk {
            price,
            state: (seed.unwrap_or(1) as u64) | 1,
        }
    }

    /// The current price; the next call's moves one step from it.
    fn step(&mut self) -> i32 {
        let current = self.price;
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let bps = (self.state % 81) as i64 - 40;
        let next = i64::from(self.price) * (10_000 + bps) / 10_000;
        self.price = next.clamp(1, i64::from(i32::MAX)) as i32;
        current
    }
}

/// The port of an `http://host:port` URL.
fn endpoint_port(url: &str) -> Option<u16> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    authority.rsplit_once(':')?.1.parse().ok()
}

/// Resolves on SIGINT or SIGTERM.
fn stop_signal() -> anyhow::Result<tokio::sync::mpsc::Receiver<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut terminate =
        signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        let _ = tx.send(()).await;
    });
    Ok(rx)
}

#[cfg(test)]
mod tests {
    #[test]
    fn endpoint_ports() {
        assert_eq!(super::endpoint_port("http://127.0.0.1:8545"), Some(8545));
        assert_eq!(
            super::endpoint_port("http://localhost:9000/rpc"),
            Some(9000)
        );
        assert_eq!(super::endpoint_port("https://mainnet.base.org"), None);
    }

    #[test]
    fn the_price_walk_stays_within_its_step() {
        let mut walk = super::PriceWalk::new(30_000, Some(42));
        assert_eq!(walk.step(), 30_000);
        let mut last = 30_000i64;
        let mut moved = false;
        for _ in 0..1_000 {
            let next = i64::from(walk.step());
            // At most 0.4% of the last price, plus the unit the integer division drops.
            assert!(
                (next - last).abs() * 10_000 <= last * 40 + 10_000,
                "{last} -> {next}"
            );
            moved |= next != last;
            last = next;
        }
        assert!(moved);
    }
}
