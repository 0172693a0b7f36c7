//! Command line: every subcommand and flag, with help text a newcomer understands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "hedgedesk",
    version,
    about = "Terminal operator console for a DeFi risk desk",
    long_about = "hedgedesk runs five desks as background workers over one local SQLite store \
and shows them as live panes: an oracle relay, a Dex223 margin liquidator, an AnyHedge \
watchtower, a DeHedge perp hedger and a BitHedge liquidity pool. Anything that costs money \
waits for your keystroke unless the config says it may run on its own.\n\n\
Run with no subcommand to open the console. Start with `hedgedesk config init` and \
`hedgedesk keys new`.",
    after_help = "Passphrases are never taken from the command line. Non-interactive runs read \
them from the OS keyring (--keyring), --passphrase-file, or HEDGEDESK_PASSPHRASE (least safe)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags every subcommand understands.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Config file to read [default: $XDG_CONFIG_HOME/hedgedesk/config.toml]
    #[arg(long, global = true, env = "HEDGEDESK_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Where the database, keystores and logs live (overrides general.data_dir)
    #[arg(long, global = true, env = "HEDGEDESK_DATA_DIR", value_name = "PATH")]
    pub data_dir: Option<PathBuf>,

    /// Log verbosity: error, warn, info, debug or trace (overrides general.log_level)
    #[arg(long, global = true, env = "HEDGEDESK_LOG_LEVEL", value_name = "LEVEL")]
    pub log_level: Option<String>,

    /// Read the keystore passphrase from this file (first line; keep it mode 0600)
    #[arg(long, global = true, value_name = "PATH")]
    pub passphrase_file: Option<PathBuf>,

    /// Cache the passphrase in the OS keyring after a successful unlock, and read it from there
    #[arg(long, global = true)]
    pub keyring: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the desks: the console by default, or without a screen with --headless
    Run(RunArgs),
    /// Write, check and explain the config file
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Create, import and list the operator's Ethereum keystores
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Inspect the action journal (what the desks proposed, what was approved and sent)
    #[command(subcommand)]
    Actions(ActionsCommand),
    /// Oracle desk: Pyth prices relayed to the PriceCaster contract
    #[command(subcommand)]
    Oracle(OracleCommand),
    /// Liquidator desk: Dex223 margin positions frozen and liquidated
    #[command(subcommand)]
    Liquidator(DeskCommand),
    /// AnyHedge desk: hedge contracts funded, settled and redeemed
    #[command(subcommand)]
    Anyhedge(crate::anyhedge::cli::AnyhedgeCommand),
    /// Perp desk: DePerp vault risk hedged on a perp venue
    #[command(subcommand)]
    Perp(crate::perp::cli::PerpCommand),
    /// Pool desk: BitHedge liquidity providers, policies and settlement
    #[command(subcommand)]
    Pool(crate::pool::cli::PoolCommand),
    /// Local devnet: anvil with every hedgedesk contract deployed and seeded
    #[command(subcommand)]
    Devnet(DevnetCommand),
    /// The live demo: a devnet with every contract, a simulated market and every desk busy
    Demo(DemoArgs),
    /// Print a shell completion script (e.g. `hedgedesk completions bash > /etc/bash_completion.d/hedgedesk`)
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
}

#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    /// No screen: same workers, JSON logs on stdout, only `auto` actions execute
    #[arg(long)]
    pub headless: bool,
}

#[derive(Debug, Subcommand)]
pub enum DevnetCommand {
    /// Start anvil, deploy and seed the contracts, print the RPC URL and addresses, and keep
    /// running until Ctrl-C (anvil stops with it). Addresses are recorded in the store.
    Up(DevnetUpArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DevnetUpArgs {
    /// The [chains.<name>] whose chain id and first endpoint's port the devnet takes
    #[arg(long, default_value = "devnet", value_name = "NAME")]
    pub chain: String,
    /// Port to listen on [default: the port of the chain's first endpoint; 0 picks a free one]
    #[arg(long)]
    pub port: Option<u16>,
    /// Seconds between blocks [default: a block per transaction]
    #[arg(long, value_name = "SECONDS")]
    pub block_time: Option<u64>,
    /// What to deploy and seed
    #[arg(long, value_enum, default_value_t = ScenarioName::Standard)]
    pub scenario: ScenarioName,
    /// Port of the devnet AnyHedge oracle's relay [default: 8788; a free one with --port 0]
    #[arg(long, value_name = "PORT")]
    pub relay_port: Option<u16>,
    /// Print one JSON object (rpc_url, ws_url, chain_id, contracts) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
#[command(
    after_help = "The demo's data dir (--data-dir, default ./hedgedesk-demo) is wiped at \
every start: it refuses a directory it did not create. Its keystore holds anvil's public dev \
key 0 under a throwaway passphrase, unlocked for you."
)]
pub struct DemoArgs {
    /// The simulated market's seed: the same seed replays the same market
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub seed: u64,
    /// Run the desks without a screen (JSON logs, as `run --headless`)
    #[arg(long)]
    pub headless: bool,
    /// Only the devnet and the market: write the demo's config and wait for Ctrl-C (run the
    /// desks yourself: `hedgedesk --config <data dir>/demo.toml --data-dir <data dir>
    /// --passphrase-file <data dir>/demo-passphrase.txt run`)
    #[arg(long, conflicts_with = "headless")]
    pub market_only: bool,
    /// Every action waits for your keystroke (the demo's policy runs most on their own)
    #[arg(long)]
    pub confirm_all: bool,
    /// anvil's port (0: a free one)
    #[arg(long, default_value_t = 8545, value_name = "PORT")]
    pub port: u16,
    /// The API's port (/anyhedge, /metrics, /health; 0: a free one)
    #[arg(long, default_value_t = 8787, value_name = "PORT")]
    pub api_port: u16,
    /// Load: this many more margin positions, seeded before the desks start
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub margin_positions: usize,
    /// Load: this many more DePerp positions, seeded before the desks start
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub perp_positions: usize,
    /// Load: this many more funded AnyHedge contracts for the desk to watch, seeded before
    /// the desks start
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub anyhedge_contracts: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScenarioName {
    /// USDC, WBTC and WETH test tokens with balances for dev accounts 1 to 4, the
    /// PriceCaster, a margin market, and the AnyHedge factory with a live devnet oracle
    Standard,
    /// Nothing deployed: a bare anvil
    Empty,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check the config (file and HEDGEDESK_* overrides); prints every problem, one per line
    Check,
    /// Write a commented config with every key at its default, and create the data dir
    Init {
        /// Replace an existing config file
        #[arg(long)]
        force: bool,
    },
    /// Print the effective config (file, overrides and defaults merged) as TOML
    Show,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new random key in an encrypted keystore (asks for a passphrase twice)
    New {
        /// Keystore name inside the keystore dir [default: keys.account from config]
        #[arg(long)]
        name: Option<String>,
    },
    /// Import a raw private key or an existing keystore file (e.g. from `cast wallet new`)
    Import(ImportArgs),
    /// List keystores in the keystore dir with their addresses
    List,
    /// Print the address of a keystore
    ExportAddress {
        /// Keystore name [default: keys.account from config]
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).multiple(false)))]
pub struct ImportArgs {
    /// Keystore name to save as [default: keys.account from config]
    #[arg(long)]
    pub name: Option<String>,
    /// An existing V3 keystore JSON file; it must unlock with the passphrase you give
    #[arg(long, value_name = "FILE", group = "source")]
    pub keystore: Option<PathBuf>,
    /// A file holding a hex private key (0x optional); never pass a key on the command line
    #[arg(long, value_name = "FILE", group = "source")]
    pub private_key_file: Option<PathBuf>,
    /// Read a hex private key from standard input
    #[arg(long, group = "source")]
    pub private_key_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum ActionsCommand {
    /// List journaled actions, newest first
    List(ActionListArgs),
    /// Show one action with its full plan and audit trail
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ActionListArgs {
    /// Only actions in this state (proposed, approved, rejected, sent, confirmed, failed)
    #[arg(long)]
    pub state: Option<String>,
    /// At most this many rows
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum OracleCommand {
    /// List the oracle desk's journaled actions
    Actions(ActionListArgs),
    /// Find Pyth price feeds on Hermes by symbol (e.g. `--query BTC`)
    Feeds(OracleFeedsArgs),
    /// Parse and verify a Pyth update (PNAU or a Wormhole VAA, hex or base64) and print JSON;
    /// exits 1 with the reason when anything fails verification
    Decode(OracleDecodeArgs),
    /// Allocate a PriceCaster slot for every [[oracle.feeds]] entry, in order, and record the
    /// layout (idempotent; asks for a typed YES before it sends anything)
    Bootstrap(OracleBootstrapArgs),
    /// Allocate one more slot for a feed and record it (asks for a typed YES)
    Register(OracleRegisterArgs),
    /// One publishing cycle now: fetch the configured feeds from Hermes, verify, apply the
    /// publish policy, and journal a publish_prices action when anything is due
    Publish(OraclePublishArgs),
    /// Keep the Hermes API token in the OS keyring (needs --keyring or keys.keyring);
    /// HEDGEDESK_HERMES_TOKEN, when set, takes precedence
    #[command(subcommand)]
    Token(OracleTokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum OracleTokenCommand {
    /// Read the token from stdin (one line) and store it
    Set,
    /// Remove the stored token
    Clear,
}

#[derive(Debug, Clone, Args)]
pub struct OraclePublishArgs {
    /// Fetch, verify and decide, but journal nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct OracleBootstrapArgs {
    /// Reset the contract and the stored layout first (every slot is cleared)
    #[arg(long)]
    pub reset: bool,
    /// Do not ask for the typed YES
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Clone, Args)]
pub struct OracleRegisterArgs {
    /// For people, e.g. BTC/USD
    #[arg(long)]
    pub symbol: String,
    /// The id consumers look the price up by
    #[arg(long)]
    pub asset_id: u64,
    /// The asset's decimals (0 to 19)
    #[arg(long)]
    pub decimals: u8,
    /// The Pyth feed id (32 bytes hex)
    #[arg(long)]
    pub price_id: String,
    /// Do not ask for the typed YES
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Clone, Args)]
pub struct OracleDecodeArgs {
    /// `mainnet` (shipped) or a JSON file of guardian sets [default: oracle.guardian_sets]
    #[arg(long, value_name = "mainnet|FILE")]
    pub guardian_set: Option<String>,
    /// The update to read; `-` or nothing reads stdin
    #[arg(value_name = "FILE|-")]
    pub input: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct OracleFeedsArgs {
    /// Text to match against feed symbols and descriptions
    #[arg(long)]
    pub query: String,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

/// What every desk group offers today; each desk's issue adds its own commands.
#[derive(Debug, Subcommand)]
pub enum DeskCommand {
    /// List this desk's journaled actions
    Actions(ActionListArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

/// A bad input to a command that needs no config (`perp risk`, `anyhedge quote`): which
/// one, and why. [`print_json_or_exit_2`] prints it as `error: <field>: <reason>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub field: String,
    pub reason: String,
}

impl InputError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> InputError {
        InputError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// `value` as pretty JSON and a newline on stdout.
pub fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Prints the JSON and exits 0, or prints `error: <field>: <reason>` on stderr and exits 2.
pub fn print_json_or_exit_2(
    result: Result<serde_json::Value, InputError>,
) -> anyhow::Result<std::process::ExitCode> {
    match result {
        Ok(value) => {
            print_json(&value)?;
            Ok(std::process::ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(std::process::ExitCode::from(2))
        }
    }
}
