//! `hedgedesk pool …`: the pool desk's commands. The lists read the desk's books in the
//! store; `quote` needs only the config; `reconcile` reads the Vault over the configured RPC
//! and compares it with the books, which it never corrects.
//!
//! Tables show whole tokens and USD with grouped digits; `--json` gives exact integers as
//! decimal strings: token amounts in base units (wei, sats), USD × 10^8 in `*_usd_e8`.

use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use super::model::PolicyStatus;
use crate::app::AppContext;
use crate::app::logging::LogMode;
use crate::cli::{ActionListArgs, GlobalArgs};
use crate::desks::Desk;
use crate::store::Store;

mod buy;
mod deposit;
mod format;
mod input;
mod policies;
mod providers;
mod quote;
mod reconcile;
mod table;
mod tiers;
mod withdrawal;

use buy::buy;
use deposit::{deposit, deposit_input};
use policies::policies;
use providers::providers;
use quote::quote_command;
use reconcile::reconcile;
use tiers::tiers;
use withdrawal::{request_withdrawal, withdrawal_input};

#[derive(Debug, Subcommand)]
pub enum PoolCommand {
    /// List this desk's journaled actions
    Actions(ActionListArgs),
    /// Liquidity providers as the desk's books hold them: tier, per token what they have in
    /// the Vault (total, available, locked for policies) and the yield they earned, their
    /// collateral health ratio and status, and since when
    Providers(PoolListArgs),
    /// Provider tiers per token: collateral ratio, capital, locked and utilisation,
    /// providers, active policies, yield earned and capacity limit
    Tiers(PoolListArgs),
    /// Protection policies the pool sold: active ones soonest expiry first, otherwise
    /// newest first
    Policies(PoliciesArgs),
    /// What-if: the premium of a policy from the configured premium model ([pool.premium])
    /// and a provider tier's multiplier, with the fair value, the loadings, the premium in USD
    /// and in the token, and the collateral the tier would lock. Reads only the config. A bad
    /// input prints `error: <field>: <reason>` and exits 2
    Quote(QuoteArgs),
    /// Read the Vault's totals and locked totals per token ([pool] vault on [pool] chain),
    /// record them as the store's mirror of the Vault, and compare them with the providers'
    /// books. The books are never corrected. Exits 0 when every token agrees and 1 when any
    /// disagrees (or the Vault cannot be read)
    #[command(
        after_help = "Agreeing means, per token: the Vault's total equals the sum of the providers' \
totals in the books, and the Vault's locked total equals the collateral of the active policies \
whose aggregate lock the Vault confirmed (the books' locked total is shown beside it)."
    )]
    Reconcile(ReconcileArgs),
    /// Record a provider's request to withdraw, checked against their maximum now (their
    /// available balance less what their backed policies need plus [pool]
    /// withdrawal_buffer_bps). Writes the store only: the operator approves it on the Pool
    /// tab (`w`) and the provider then withdraws from the Vault. Prints the maximum and
    /// `requested #<id>` (exit 0), or the refusal and its reason (exit 1; the refused request
    /// is kept). A bad flag prints `error: <field>: <reason>`, exits 2 and writes nothing
    #[command(
        after_help = "A provider who backs active policies has a maximum only at some prices: give \
--btc-price and --eth-price (without them their request is refused as having no prices). Either \
way the desk checks the maximum again at its fresh oracle prices before it approves."
    )]
    RequestWithdrawal(RequestWithdrawalArgs),
    /// Prepare a provider's deposit for them to sign: registers them in --tier (or keeps
    /// their tier; a new provider joins [pool] default_tier), checks the tier's capacity, and
    /// prints the transactions to send from the provider's address, in order (WBTC: the
    /// ERC-20 approval, then depositFunds; ETH: depositFunds with the amount as value). The
    /// books credit the deposit when the Vault's FundsDeposited event is confirmed. A
    /// refusal prints its reason and exits 1; a bad flag prints `error: <field>: <reason>`,
    /// exits 2 and writes nothing
    Deposit(DepositArgs),
    /// Sell a policy: quote it at --price, pick the first provider tier backing --buyer-tier
    /// with the collateral available and lock it across that tier's providers pro rata, all
    /// in the books (the desk then locks it in the Vault and settles or expires it at
    /// expiry). The premium is paid off chain in this MVP: nothing is collected here. Prints
    /// the policy id, premium, backing tier and each provider's lock (exit 0); a refusal
    /// (capacity, no matching capital) prints its reason and exits 1; a bad flag prints
    /// `error: <field>: <reason>` and exits 2. Nothing is written unless it is sold
    Buy(BuyArgs),
}

#[derive(Debug, Clone, Args)]
pub struct BuyArgs {
    /// The buyer's address (0x…), paid at settlement
    #[arg(long, value_name = "0x…")]
    pub buyer: String,
    /// The buyer's protection tier ([[pool.buyer_tiers]])
    #[arg(long, value_name = "NAME")]
    pub buyer_tier: String,
    /// put or call
    #[arg(long, value_name = "put|call")]
    pub kind: String,
    /// The strike, USD per BTC
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub strike: String,
    /// The protected amount, BTC
    #[arg(long, value_name = "BTC", allow_negative_numbers = true)]
    pub amount: String,
    /// Time until expiry: seconds or a duration (30d, 12h)
    #[arg(long, value_name = "SECS|DURATION", allow_negative_numbers = true)]
    pub expiry: String,
    /// The collateral (and premium) token
    #[arg(long, value_name = "eth|wbtc")]
    pub token: String,
    /// BTC/USD now (required: this command reads no price feed)
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub price: Option<String>,
    /// ETH/USD now (required with --token eth)
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub eth_price: Option<String>,
    /// Idempotency key [default: derived from the inputs]
    #[arg(long, value_name = "K")]
    pub key: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct RequestWithdrawalArgs {
    /// The provider's address (0x…)
    #[arg(long, value_name = "0x…")]
    pub provider: String,
    /// The token to withdraw
    #[arg(long, value_name = "eth|wbtc")]
    pub token: String,
    /// Whole tokens (e.g. 0.5)
    #[arg(long, value_name = "TOKENS", allow_negative_numbers = true)]
    pub amount: String,
    /// BTC/USD to check the maximum at (with --eth-price)
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub btc_price: Option<String>,
    /// ETH/USD to check the maximum at (with --btc-price)
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub eth_price: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct PoolListArgs {
    /// Machine-readable output (amounts in base units, USD × 10^8)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyStatusArg {
    Active,
    Settled,
    Expired,
}

impl From<PolicyStatusArg> for PolicyStatus {
    fn from(s: PolicyStatusArg) -> PolicyStatus {
        match s {
            PolicyStatusArg::Active => PolicyStatus::Active,
            PolicyStatusArg::Settled => PolicyStatus::Settled,
            PolicyStatusArg::Expired => PolicyStatus::Expired,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct PoliciesArgs {
    /// Only policies in this state
    #[arg(long, value_enum)]
    pub status: Option<PolicyStatusArg>,
    /// At most this many rows
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub limit: u64,
    /// Machine-readable output (amounts in base units, USD × 10^8)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct QuoteArgs {
    /// put (pays when BTC ends below the strike) or call (pays when it ends above)
    #[arg(long, value_name = "put|call")]
    pub kind: String,
    /// The strike, USD per BTC (e.g. 54000 or 54000.50)
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub strike: String,
    /// The protected amount, BTC (at most 8 decimals, e.g. 0.5)
    #[arg(long, value_name = "BTC", allow_negative_numbers = true)]
    pub amount: String,
    /// Time until expiry: seconds (2592000), or a duration in w, d, h, m and s (30d, 12h,
    /// 1d12h)
    #[arg(long, value_name = "SECS|DURATION", allow_negative_numbers = true)]
    pub expiry: String,
    /// BTC/USD now
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub price: String,
    /// The provider tier backing it: its premium multiplier and collateral ratio
    /// [default: pool.default_tier]
    #[arg(long, value_name = "T")]
    pub tier: Option<String>,
    /// The token the premium is paid and the collateral locked in
    #[arg(long, value_name = "eth|wbtc", default_value = "wbtc")]
    pub token: String,
    /// ETH/USD now; needed with --token eth (WBTC is valued at --price)
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub eth_price: Option<String>,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DepositArgs {
    /// The provider's address (0x…): the transactions are sent from it
    #[arg(long, value_name = "0x…")]
    pub provider: String,
    /// The token to deposit
    #[arg(long, value_name = "eth|wbtc")]
    pub token: String,
    /// Whole tokens (e.g. 0.5)
    #[arg(long, value_name = "TOKENS", allow_negative_numbers = true)]
    pub amount: String,
    /// The provider tier ([[pool.tiers]]) [default: the provider's tier, or
    /// pool.default_tier for a new provider]
    #[arg(long, value_name = "T")]
    pub tier: Option<String>,
    /// Machine-readable output (amounts in base units, calldata as 0x hex)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ReconcileArgs {
    /// Machine-readable output (amounts in base units)
    #[arg(long)]
    pub json: bool,
}

/// A single-threaded runtime for one command's store and chain calls.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub fn run(cmd: PoolCommand, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    // Everything but the what-if logs to the data dir and reads the store.
    let open = || -> anyhow::Result<(AppContext, _, Store)> {
        let ctx = AppContext::load(global)?;
        let guard = ctx.init_logging(LogMode::Command)?;
        let store = ctx.open_store()?;
        Ok((ctx, guard, store))
    };
    match cmd {
        PoolCommand::Actions(args) => {
            let (_ctx, _guard, store) = open()?;
            crate::actions::cli::list(&args, Some(Desk::Pool), &store)
        }
        PoolCommand::Providers(args) => {
            let (_ctx, _guard, store) = open()?;
            providers(&args, &store)
        }
        PoolCommand::Tiers(args) => {
            let (ctx, _guard, store) = open()?;
            tiers(&args, &ctx, &store)
        }
        PoolCommand::Policies(args) => {
            let (_ctx, _guard, store) = open()?;
            policies(&args, &store)
        }
        PoolCommand::Reconcile(args) => {
            let (ctx, _guard, store) = open()?;
            reconcile(&args, &ctx, &store)
        }
        PoolCommand::Quote(args) => quote_command(&args, global),
        PoolCommand::Buy(args) => {
            let (ctx, _guard, store) = open()?;
            buy(&args, &ctx, &store)
        }
        PoolCommand::RequestWithdrawal(args) => {
            let input = match withdrawal_input(&args) {
                Ok(input) => input,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let (ctx, _guard, store) = open()?;
            request_withdrawal(input, &ctx, &store)
        }
        PoolCommand::Deposit(args) => {
            // The tier is checked against the config before the store is opened.
            let ctx = AppContext::load(global)?;
            let input = match deposit_input(&args, &ctx) {
                Ok(input) => input,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let _guard = ctx.init_logging(LogMode::Command)?;
            let store = ctx.open_store()?;
            deposit(input, &ctx, &store)
        }
    }
}
