//! `hedgedesk pool …`: the pool desk's commands. The lists read the desk's books in the
//! store; `quote` needs only the config; `reconcile` reads the Vault over the configured RPC
//! and compares it with the books, which it never corrects.
//!
//! Tables show whole tokens and USD with grouped digits; `--json` gives exact integers as
//! decimal strings: token amounts in base units (wei, sats), USD × 10^8 in `*_usd_e8`.

use std::process::ExitCode;

use alloy::primitives::{Address, U256};
use alloy::providers::Provider as _;
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::math::MathError;
use super::math::collateral::{coverage_usd, required_collateral};
use super::math::premium::{QuoteRequest, quote};
use super::model::{
    Policy, PolicyKind, PolicyStatus, Prices, Provider, TierMetrics, TierParams, Token, Units,
    UsdE8, parse_scaled,
};
use super::params::PoolParams;
use crate::app::AppContext;
use crate::app::logging::LogMode;
use crate::chain::contracts::LiquidityVault;
use crate::cli::{ActionListArgs, GlobalArgs, InputError, print_json};
use crate::desks::Desk;
use crate::store::Store;
use crate::store::pool::{NewPolicy, PolicyFilter, Underwriting};
use crate::tui::format::{date_time, group_digits, percent_bps};

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
        after_help = "No prices are read here: a provider who backs active policies needs the \
desk's fresh prices for a maximum, so their request is refused (ask again on the Pool tab's desk)."
    )]
    RequestWithdrawal(RequestWithdrawalArgs),
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
pub struct ReconcileArgs {
    /// Machine-readable output (amounts in base units)
    #[arg(long)]
    pub json: bool,
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
    }
}

/// `--provider`, `--token` and `--amount` checked (a bad one is named).
fn withdrawal_input(args: &RequestWithdrawalArgs) -> Result<(Address, Token, Units), InputError> {
    let provider: Address = args.provider.trim().parse().map_err(|_| {
        InputError::new(
            "provider",
            format!("expected a 0x-prefixed address, got '{}'", args.provider),
        )
    })?;
    let token = Token::parse(&args.token)
        .ok_or_else(|| InputError::new("token", format!("eth or wbtc, got '{}'", args.token)))?;
    let amount = token
        .parse_units(&args.amount)
        .map_err(|why| InputError::new("amount", why))?;
    if amount == 0 {
        return Err(InputError::new("amount", "must be above zero"));
    }
    Ok((provider, token, amount))
}

/// `pool request-withdrawal`: records the request (requested or refused) in the store.
fn request_withdrawal(
    (provider, token, amount): (Address, Token, Units),
    ctx: &AppContext,
    store: &Store,
) -> anyhow::Result<ExitCode> {
    let params = PoolParams::from_config(&ctx.config.pool).map_err(anyhow::Error::msg)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(async {
        if store.pool_provider(provider).await?.is_none() {
            return Ok(None);
        }
        let now = chrono::Utc::now().timestamp_millis();
        store
            .pool_request_withdrawal(
                provider,
                token,
                amount,
                None,
                params.withdrawal_buffer_bps,
                now,
            )
            .await
            .map(Some)
    });
    let w = match result {
        Ok(Some(w)) => w,
        Ok(None) => {
            eprintln!("error: provider: {provider} has no account in the pool");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(anyhow::Error::new(e).context("recording the withdrawal request")),
    };
    println!(
        "max withdrawable: {}",
        tokens_sym(token, w.max_withdrawable)
    );
    match &w.refused {
        None => {
            println!(
                "requested #{}: {} for {}",
                w.id,
                tokens_sym(token, w.amount),
                provider.to_checksum(None)
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(why) => {
            println!("refused #{}: {why}", w.id);
            Ok(ExitCode::from(1))
        }
    }
}

/// `pool buy`'s inputs, checked (a bad one is named).
fn buy_input(
    args: &BuyArgs,
    params: &PoolParams,
    now_ms: i64,
) -> Result<(NewPolicy, Underwriting), InputError> {
    let buyer: Address = args.buyer.trim().parse().map_err(|_| {
        InputError::new(
            "buyer",
            format!("expected a 0x-prefixed address, got '{}'", args.buyer),
        )
    })?;
    let buyer_tier = args.buyer_tier.trim().to_string();
    let backing = params
        .backing_tiers(&buyer_tier)
        .map_err(|why| InputError::new("buyer_tier", why))?
        .to_vec();
    let kind = PolicyKind::parse(&args.kind)
        .ok_or_else(|| InputError::new("kind", format!("put or call, got '{}'", args.kind)))?;
    let strike_usd = parse_usd("strike", &args.strike)?;
    let amount = parse_scaled(&args.amount, 8)
        .map_err(|why| InputError::new("amount", format!("BTC: {why}")))?;
    if amount == 0 {
        return Err(InputError::new("amount", "must be above zero"));
    }
    let amount_sats = u64::try_from(amount)
        .ok()
        .filter(|a| *a <= i64::MAX as u64)
        .ok_or_else(|| InputError::new("amount", "too large"))?;
    let expiry_secs = parse_expiry(&args.expiry)?;
    let token = Token::parse(&args.token)
        .ok_or_else(|| InputError::new("token", format!("eth or wbtc, got '{}'", args.token)))?;
    let btc_usd = match &args.price {
        Some(text) => parse_usd("price", text)?,
        None => {
            return Err(InputError::new(
                "price",
                "needed: BTC/USD now (this command reads no price feed)",
            ));
        }
    };
    let eth_usd = match (&args.eth_price, token) {
        (Some(text), _) => parse_usd("eth_price", text)?,
        (None, Token::Eth) => {
            return Err(InputError::new(
                "eth_price",
                "needed with --token eth: the premium and the collateral are converted at ETH/USD",
            ));
        }
        (None, Token::Wbtc) => 0,
    };
    let expires_at_ms = now_ms + i64::try_from(expiry_secs * 1000).expect("at most a century");
    let idem_key = match &args.key {
        Some(k) if k.trim().is_empty() => {
            return Err(InputError::new("key", "must not be empty"));
        }
        Some(k) => k.trim().to_string(),
        // Deterministic from the inputs (the expiry as given, not the instant it ends).
        None => format!(
            "buy:{}:{buyer_tier}:{}:{strike_usd}:{amount_sats}:{}:{}",
            addr_hex(&buyer),
            kind.as_str(),
            args.expiry.trim(),
            token.as_str()
        ),
    };
    Ok((
        NewPolicy {
            idem_key,
            kind,
            buyer,
            buyer_tier,
            token,
            strike_usd,
            amount_sats,
            expires_at_ms,
            premium: None,
        },
        Underwriting {
            backing_tiers: backing,
            prices: Prices { btc_usd, eth_usd },
            premium: params.premium,
        },
    ))
}

fn addr_hex(a: &Address) -> String {
    format!("{a:#x}")
}

/// `pool buy`: sells the policy in the books.
fn buy(args: &BuyArgs, ctx: &AppContext, store: &Store) -> anyhow::Result<ExitCode> {
    let params = PoolParams::from_config(&ctx.config.pool).map_err(anyhow::Error::msg)?;
    let now = chrono::Utc::now().timestamp_millis();
    let (new, u) = match buy_input(args, &params, now) {
        Ok(input) => input,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let created = runtime.block_on(async {
        store.pool_sync_tiers(params.tiers.clone(), now).await?;
        store.pool_create_policy(new, u, now).await
    });
    let created = match created {
        Ok(c) => c,
        Err(crate::store::StoreError::Invalid(why)) => {
            println!("refused: {why}");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(anyhow::Error::new(e).context("selling the policy")),
    };
    let existing = matches!(created, crate::store::pool::Created::Existing(_));
    let book = created.book();
    let p = &book.policy;
    println!(
        "policy #{}{}: {} {} BTC at strike {} USD for {} ({}), expires {}",
        p.id,
        if existing {
            " (already sold with this key)"
        } else {
            ""
        },
        p.kind.as_str().to_ascii_uppercase(),
        btc(p.amount_sats),
        usd(p.strike_usd),
        p.buyer.to_checksum(None),
        p.buyer_tier,
        when(Some(p.expires_at_ms))
    );
    println!(
        "premium: {} (paid off chain)",
        tokens_sym(p.token, p.premium)
    );
    println!(
        "backed by tier {}: {} locked",
        p.tier,
        tokens_sym(p.token, p.collateral_locked)
    );
    for a in &book.allocations {
        println!(
            "  lock {}: {} (premium share {})",
            a.provider.to_checksum(None),
            tokens_sym(a.token, a.amount_locked),
            tokens_sym(a.token, a.premium_share)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `pool quote`: reads the config only (no log file, no store); a bad input is
/// `error: <field>: <reason>` and exit 2.
fn quote_command(args: &QuoteArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let ctx = AppContext::load(global)?;
    let params = PoolParams::from_config(&ctx.config.pool).map_err(anyhow::Error::msg)?;
    match quote_report(&params, args) {
        Ok(report) => {
            if args.json {
                print_json(&report.json())?;
            } else {
                print!("{}", report.text());
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(2))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Formatting

/// `value / 10^decimals`, exact, the whole part grouped, at least `min_places` decimals
/// (trailing zeros beyond them dropped): `1,234.5`, `0.00000001`, `54,000.00`.
fn scaled(value: u128, decimals: u32, min_places: usize) -> String {
    let one = 10u128.pow(decimals);
    let whole = group_digits(&(value / one).to_string());
    let mut frac = format!("{:0width$}", value % one, width = decimals as usize);
    let kept = frac.trim_end_matches('0').len().max(min_places);
    frac.truncate(kept);
    while frac.len() < min_places {
        frac.push('0');
    }
    if frac.is_empty() {
        whole
    } else {
        format!("{whole}.{frac}")
    }
}

/// Whole tokens: `12.5`, `1,000`, `0.02170064`.
fn tokens(token: Token, units: Units) -> String {
    scaled(units, token.decimals(), 0)
}

/// `tokens` with the symbol: `1.5 WBTC`.
fn tokens_sym(token: Token, units: Units) -> String {
    format!("{} {}", tokens(token, units), token.symbol())
}

/// USD × 10^8 as dollars, at least to the cent: `54,000.00`, `1,302.03838453`.
fn usd(value: UsdE8) -> String {
    scaled(value, 8, 2)
}

/// Sats as BTC: `0.5`, `1`.
fn btc(sats: u64) -> String {
    scaled(u128::from(sats), 8, 0)
}

/// A signed difference in whole tokens: `+1.5`, `-0.25`, `0`.
fn signed_tokens(token: Token, diff: i128) -> String {
    let text = tokens(token, diff.unsigned_abs());
    match diff.signum() {
        1 => format!("+{text}"),
        -1 => format!("-{text}"),
        _ => text,
    }
}

/// A Decimal in USD for people, to the cent (display only).
fn usd_decimal(value: Decimal) -> String {
    let cents = value
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .max(Decimal::ZERO);
    let text = format!("{cents:.2}");
    let (whole, frac) = text.split_once('.').unwrap_or((&text, "00"));
    format!("{}.{frac}", group_digits(whole))
}

fn when(ms: Option<i64>) -> String {
    ms.map(date_time).unwrap_or_else(|| "-".into())
}

/// A plain-text table: a header and rows, columns two spaces apart, numbers right-aligned.
struct Table {
    header: Vec<&'static str>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// `columns`: (header, right-aligned).
    fn new(columns: &[(&'static str, bool)]) -> Table {
        Table {
            header: columns.iter().map(|(h, _)| *h).collect(),
            right: columns.iter().map(|(_, r)| *r).collect(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.header.len());
        self.rows.push(cells);
    }

    fn render(&self) -> String {
        let width = |s: &str| s.chars().count();
        let mut widths: Vec<usize> = self.header.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(cell));
            }
        }
        let line = |cells: Vec<&str>| {
            let mut out = String::new();
            for (i, cell) in cells.into_iter().enumerate() {
                if i > 0 {
                    out.push_str("  ");
                }
                let pad = " ".repeat(widths[i] - width(cell));
                if self.right[i] {
                    out.push_str(&pad);
                    out.push_str(cell);
                } else {
                    out.push_str(cell);
                    out.push_str(&pad);
                }
            }
            format!("{}\n", out.trim_end())
        };
        let mut out = line(self.header.clone());
        for row in &self.rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
        }
        out
    }
}

// ---------------------------------------------------------------------------------------
// providers

fn providers(args: &PoolListArgs, store: &Store) -> anyhow::Result<ExitCode> {
    let providers = store.call_blocking(|c| crate::store::pool::providers(c))?;
    if args.json {
        print_json(&Value::Array(providers.iter().map(provider_json).collect()))?;
    } else if providers.is_empty() {
        println!("no providers in the books");
    } else {
        print!("{}", providers_table(&providers).render());
    }
    Ok(ExitCode::SUCCESS)
}

fn provider_json(p: &Provider) -> Value {
    let balances: serde_json::Map<String, Value> = Token::ALL
        .into_iter()
        .map(|t| {
            let b = p.balance(t);
            (
                t.as_str().to_string(),
                json!({
                    "decimals": t.decimals(),
                    "total": b.total.to_string(),
                    "available": b.available.to_string(),
                    "locked": b.locked.to_string(),
                    "accrued_yield": b.accrued_yield.to_string(),
                }),
            )
        })
        .collect();
    json!({
        "address": p.address.to_checksum(None),
        "tier": p.tier,
        "balances": balances,
        "health_ratio_bps": p.health_ratio_bps,
        "value_usd_e8": p.value_usd.map(|v| v.to_string()),
        "required_usd_e8": p.required_usd.map(|v| v.to_string()),
        "status": p.status.as_str(),
        "status_label": p.status.label(),
        "status_since_ms": p.status_since_ms,
        "last_check_ms": p.last_check_ms,
        "deposit_count": p.deposit_count,
        "withdrawal_count": p.withdrawal_count,
    })
}

/// One row per provider and token they hold; the provider's own columns on its first row.
fn providers_table(providers: &[Provider]) -> Table {
    let mut t = Table::new(&[
        ("ADDRESS", false),
        ("TIER", false),
        ("TOKEN", false),
        ("TOTAL", true),
        ("AVAILABLE", true),
        ("LOCKED", true),
        ("YIELD", true),
        ("RATIO", true),
        ("STATUS", false),
        ("SINCE", false),
    ]);
    for p in providers {
        let held: Vec<Token> = Token::ALL
            .into_iter()
            .filter(|tok| p.balances.contains_key(tok))
            .collect();
        let first = [
            p.address.to_checksum(None),
            p.tier.clone(),
            p.health_ratio_bps
                .map(percent_bps)
                .unwrap_or_else(|| "-".into()),
            p.status.label().to_string(),
            when(p.status_since_ms),
        ];
        if held.is_empty() {
            t.row(vec![
                first[0].clone(),
                first[1].clone(),
                "-".into(),
                "0".into(),
                "0".into(),
                "0".into(),
                "0".into(),
                first[2].clone(),
                first[3].clone(),
                first[4].clone(),
            ]);
            continue;
        }
        for (i, tok) in held.into_iter().enumerate() {
            let b = p.balance(tok);
            let own = |k: usize| {
                if i == 0 {
                    first[k].clone()
                } else {
                    String::new()
                }
            };
            t.row(vec![
                own(0),
                own(1),
                tok.symbol().into(),
                tokens(tok, b.total),
                tokens(tok, b.available),
                tokens(tok, b.locked),
                tokens(tok, b.accrued_yield),
                own(2),
                own(3),
                own(4),
            ]);
        }
    }
    t
}

// ---------------------------------------------------------------------------------------
// tiers

fn tiers(args: &PoolListArgs, ctx: &AppContext, store: &Store) -> anyhow::Result<ExitCode> {
    let stored = store.call_blocking(|c| crate::store::pool::tier_metrics(c))?;
    // A configured tier the desk has not synced into the store yet holds nothing: shown
    // with its configured parameters and zeros, after the configured ones the store has
    // and before those the config no longer names.
    let params = PoolParams::from_config(&ctx.config.pool).map_err(anyhow::Error::msg)?;
    let (mut rows, dropped): (Vec<TierMetrics>, Vec<TierMetrics>) =
        stored.into_iter().partition(|r| r.configured);
    for tier in &params.tiers {
        if !rows
            .iter()
            .chain(&dropped)
            .any(|r| r.tier.name == tier.name)
        {
            rows.extend(Token::ALL.into_iter().map(|tok| empty_tier(tier, tok)));
        }
    }
    rows.extend(dropped);
    if args.json {
        print_json(&Value::Array(rows.iter().map(tier_json).collect()))?;
    } else if rows.is_empty() {
        println!("no tiers configured");
    } else {
        print!("{}", tiers_table(&rows).render());
    }
    Ok(ExitCode::SUCCESS)
}

fn empty_tier(tier: &TierParams, token: Token) -> TierMetrics {
    TierMetrics {
        tier: tier.clone(),
        configured: true,
        token,
        capital: 0,
        locked: 0,
        available: 0,
        utilisation_bps: None,
        providers: 0,
        active_policies: 0,
        yield_accrued: 0,
        capacity_limit: tier.capacity(token),
    }
}

fn tier_json(m: &TierMetrics) -> Value {
    json!({
        "tier": m.tier.name,
        "configured": m.configured,
        "token": m.token.as_str(),
        "decimals": m.token.decimals(),
        "collateral_ratio_bps": m.tier.collateral_ratio_bps,
        "warning_ratio_bps": m.tier.warning_ratio_bps,
        "margin_call_ratio_bps": m.tier.margin_call_ratio_bps,
        "premium_multiplier": m.tier.premium_multiplier.to_string(),
        "capital": m.capital.to_string(),
        "locked": m.locked.to_string(),
        "available": m.available.to_string(),
        "utilisation_bps": m.utilisation_bps,
        "providers": m.providers,
        "active_policies": m.active_policies,
        "yield_accrued": m.yield_accrued.to_string(),
        "capacity_limit": m.capacity_limit.map(|c| c.to_string()),
    })
}

fn tiers_table(rows: &[TierMetrics]) -> Table {
    let mut t = Table::new(&[
        ("TIER", false),
        ("TOKEN", false),
        ("RATIO", true),
        ("CAPITAL", true),
        ("LOCKED", true),
        ("UTILISATION", true),
        ("PROVIDERS", true),
        ("POLICIES", true),
        ("YIELD", true),
        ("CAPACITY", true),
    ]);
    for m in rows {
        let name = if m.configured {
            m.tier.name.clone()
        } else {
            format!("{} (not configured)", m.tier.name)
        };
        t.row(vec![
            name,
            m.token.symbol().into(),
            percent_bps(m.tier.collateral_ratio_bps),
            tokens(m.token, m.capital),
            tokens(m.token, m.locked),
            m.utilisation_bps
                .map(percent_bps)
                .unwrap_or_else(|| "-".into()),
            m.providers.to_string(),
            m.active_policies.to_string(),
            tokens(m.token, m.yield_accrued),
            m.capacity_limit
                .map(|c| tokens(m.token, c))
                .unwrap_or_else(|| "no limit".into()),
        ]);
    }
    t
}

// ---------------------------------------------------------------------------------------
// policies

fn policies(args: &PoliciesArgs, store: &Store) -> anyhow::Result<ExitCode> {
    let filter = PolicyFilter {
        status: args.status.map(PolicyStatus::from),
        provider: None,
        limit: Some(args.limit),
    };
    let policies = store.call_blocking(move |c| crate::store::pool::policies(c, &filter))?;
    if args.json {
        print_json(&Value::Array(policies.iter().map(policy_json).collect()))?;
    } else if policies.is_empty() {
        match args.status {
            Some(s) => println!("no {} policies", PolicyStatus::from(s)),
            None => println!("no policies"),
        }
    } else {
        print!("{}", policies_table(&policies).render());
    }
    Ok(ExitCode::SUCCESS)
}

fn policy_json(p: &Policy) -> Value {
    json!({
        "id": p.id,
        "kind": p.kind.as_str(),
        "strike_usd_e8": p.strike_usd.to_string(),
        "amount_sats": p.amount_sats,
        "token": p.token.as_str(),
        "premium": p.premium.to_string(),
        "collateral_locked": p.collateral_locked.to_string(),
        "collateral_ratio_bps": p.collateral_ratio_bps,
        "spot_usd_e8": p.spot_usd.to_string(),
        "expires_at_ms": p.expires_at_ms,
        "buyer": p.buyer.to_checksum(None),
        "buyer_tier": p.buyer_tier,
        "tier": p.tier,
        "status": p.status.as_str(),
        "onchain_locked": p.onchain_locked,
        "settlement_price_usd_e8": p.settlement_price_usd.map(|v| v.to_string()),
        "payout": p.payout.map(|v| v.to_string()),
        "created_at_ms": p.created_at_ms,
        "closed_at_ms": p.closed_at_ms,
    })
}

fn policies_table(policies: &[Policy]) -> Table {
    let mut t = Table::new(&[
        ("ID", true),
        ("KIND", false),
        ("STRIKE USD", true),
        ("AMOUNT BTC", true),
        ("PREMIUM", true),
        ("TOKEN", false),
        ("EXPIRY", false),
        ("BUYER", false),
        ("TIER", false),
        ("STATUS", false),
    ]);
    for p in policies {
        t.row(vec![
            p.id.to_string(),
            p.kind.as_str().into(),
            usd(p.strike_usd),
            btc(p.amount_sats),
            tokens(p.token, p.premium),
            p.token.symbol().into(),
            date_time(p.expires_at_ms),
            p.buyer.to_checksum(None),
            p.tier.clone(),
            p.status.as_str().into(),
        ]);
    }
    t
}

// ---------------------------------------------------------------------------------------
// quote

/// A quote and what it was asked for.
#[derive(Debug, Clone)]
struct QuoteReport {
    req: QuoteRequest,
    expiry_secs: u64,
    tier: TierParams,
    model: super::math::premium::PremiumModel,
    prices: Prices,
    quote: super::math::premium::Quote,
    coverage_usd: UsdE8,
    collateral: Units,
}

impl QuoteReport {
    fn json(&self) -> Value {
        let r = &self.req;
        json!({
            "inputs": {
                "kind": r.kind.as_str(),
                "strike_usd_e8": r.strike_usd.to_string(),
                "amount_sats": r.amount_sats,
                "expiry_secs": self.expiry_secs,
                "btc_usd_e8": r.spot_usd.to_string(),
                "eth_usd_e8": (self.prices.eth_usd > 0).then(|| self.prices.eth_usd.to_string()),
                "tier": self.tier.name,
                "token": r.token.as_str(),
            },
            "model": {
                "volatility": self.model.volatility.to_string(),
                "risk_free_rate": self.model.risk_free_rate.to_string(),
                "risk_loading": self.model.risk_loading.to_string(),
                "market_adjustment": self.model.market_adjustment.to_string(),
                "tier_multiplier": r.tier_multiplier.to_string(),
            },
            "fair_per_btc_usd": self.quote.fair_per_btc.to_string(),
            "loaded_per_btc_usd": self.quote.loaded_per_btc.to_string(),
            "premium_usd_e8": self.quote.premium_usd.to_string(),
            "premium": self.quote.premium.to_string(),
            "token_usd_e8": r.token_price.to_string(),
            "collateral": {
                "tier": self.tier.name,
                "collateral_ratio_bps": self.tier.collateral_ratio_bps,
                "coverage_usd_e8": self.coverage_usd.to_string(),
                "locked": self.collateral.to_string(),
                "token": r.token.as_str(),
            },
        })
    }

    fn text(&self) -> String {
        let r = &self.req;
        let m = &self.model;
        let tok = r.token;
        let mut price_line = format!("BTC/USD {}", usd(r.spot_usd));
        if tok == Token::Eth {
            price_line.push_str(&format!(", ETH/USD {}", usd(r.token_price)));
        }
        let mut out = String::new();
        let mut line = |label: &str, text: String| {
            out.push_str(&format!("{label:<12}{text}\n"));
        };
        line(
            "policy",
            format!(
                "{} on {} BTC at strike {} USD, expiring in {}",
                r.kind,
                btc(r.amount_sats),
                usd(r.strike_usd),
                expiry_text(self.expiry_secs)
            ),
        );
        line("prices", price_line);
        line(
            "tier",
            format!(
                "{} (premium × {}, collateral ratio {})",
                self.tier.name,
                self.tier.premium_multiplier,
                percent_bps(self.tier.collateral_ratio_bps)
            ),
        );
        line(
            "model",
            format!(
                "Black-Scholes, volatility {}, risk-free rate {}",
                m.volatility, m.risk_free_rate
            ),
        );
        line(
            "fair value",
            format!("{} USD per BTC", usd_decimal(self.quote.fair_per_btc)),
        );
        line(
            "loadings",
            format!(
                "× (1 + risk loading {}) × market adjustment {} × tier {} = {} USD per BTC",
                m.risk_loading,
                m.market_adjustment,
                r.tier_multiplier,
                usd_decimal(self.quote.loaded_per_btc)
            ),
        );
        line(
            "premium",
            format!(
                "{} USD = {}",
                usd(self.quote.premium_usd),
                tokens_sym(tok, self.quote.premium)
            ),
        );
        line(
            "collateral",
            format!(
                "{} locked by tier {} (coverage {} USD × {})",
                tokens_sym(tok, self.collateral),
                self.tier.name,
                usd(self.coverage_usd),
                percent_bps(self.tier.collateral_ratio_bps)
            ),
        );
        out
    }
}

fn expiry_text(secs: u64) -> String {
    let mut parts = Vec::new();
    let mut left = secs;
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if left >= size {
            parts.push(format!("{}{unit}", left / size));
            left %= size;
        }
    }
    if parts.is_empty() {
        parts.push("0s".into());
    }
    format!(
        "{} ({} s)",
        parts.join(" "),
        group_digits(&secs.to_string())
    )
}

/// A positive USD amount with at most 8 decimals, as USD × 10^8.
fn parse_usd(field: &str, text: &str) -> Result<UsdE8, InputError> {
    let value =
        parse_scaled(text, 8).map_err(|why| InputError::new(field, format!("USD: {why}")))?;
    if value == 0 {
        return Err(InputError::new(field, "must be above zero"));
    }
    Ok(value)
}

/// Seconds, or a duration like `30d`, `12h`, `1d12h` (units w, d, h, m, s).
fn parse_expiry(text: &str) -> Result<u64, InputError> {
    let t = text.trim();
    let bad = || {
        InputError::new(
            "expiry",
            format!(
                "seconds until expiry (2592000) or a duration in w, d, h, m, s (30d, 12h, 1d12h), got '{text}'"
            ),
        )
    };
    let too_far = || InputError::new("expiry", format!("'{text}' is too far away"));
    let secs = if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse::<u64>().map_err(|_| too_far())?
    } else {
        let mut total: u64 = 0;
        let mut digits = String::new();
        let mut any = false;
        for c in t.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let size: u64 = match c.to_ascii_lowercase() {
                'w' => 7 * 86_400,
                'd' => 86_400,
                'h' => 3_600,
                'm' => 60,
                's' => 1,
                _ => return Err(bad()),
            };
            if digits.is_empty() {
                return Err(bad());
            }
            let n: u64 = digits.parse().map_err(|_| too_far())?;
            total = n
                .checked_mul(size)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(too_far)?;
            digits.clear();
            any = true;
        }
        if !any || !digits.is_empty() {
            return Err(bad());
        }
        total
    };
    if secs == 0 {
        return Err(InputError::new("expiry", "must be in the future"));
    }
    // A century is far beyond any policy, and keeps every product in range.
    if secs > 100 * 365 * 86_400 {
        return Err(InputError::new(
            "expiry",
            format!("at most 100 years away, got {secs} s"),
        ));
    }
    Ok(secs)
}

/// A math error about one of the quote's inputs, named as the flag it came from.
fn math_input_error(e: MathError) -> InputError {
    match e {
        MathError::Invalid { field, why } => {
            let flag = match field {
                "strike" => "strike",
                "amount" => "amount",
                "expiry" => "expiry",
                "BTC/USD price" => "price",
                "premium multiplier" => "tier",
                "volatility" => "pool.premium.volatility",
                "ln" | "sqrt" => {
                    return InputError::new(
                        "strike",
                        format!("too far from --price for the premium model ({why})"),
                    );
                }
                other => other,
            };
            let why = if why == "is too large" {
                "too large for the premium model".to_string()
            } else {
                why
            };
            InputError::new(flag, why)
        }
        MathError::ZeroPrice { token: t } => InputError::new(
            if t == Token::Eth {
                "eth_price"
            } else {
                "price"
            },
            "must be above zero",
        ),
        MathError::Overflow { what } => InputError::new(
            "amount",
            format!("the {what} overflows for this strike, price and amount"),
        ),
        other => InputError::new("amount", other.to_string()),
    }
}

fn quote_report(params: &PoolParams, args: &QuoteArgs) -> Result<QuoteReport, InputError> {
    let kind = PolicyKind::parse(&args.kind)
        .ok_or_else(|| InputError::new("kind", format!("put or call, got '{}'", args.kind)))?;
    let strike_usd = parse_usd("strike", &args.strike)?;
    let amount = parse_scaled(&args.amount, 8)
        .map_err(|why| InputError::new("amount", format!("BTC: {why}")))?;
    if amount == 0 {
        return Err(InputError::new("amount", "must be above zero"));
    }
    let amount_sats = u64::try_from(amount)
        .map_err(|_| InputError::new("amount", format!("at most {} BTC", btc(u64::MAX))))?;
    let expiry_secs = parse_expiry(&args.expiry)?;
    let btc_usd = parse_usd("price", &args.price)?;
    let token = Token::parse(&args.token)
        .ok_or_else(|| InputError::new("token", format!("eth or wbtc, got '{}'", args.token)))?;
    let eth_usd = match (&args.eth_price, token) {
        (Some(text), _) => parse_usd("eth_price", text)?,
        (None, Token::Eth) => {
            return Err(InputError::new(
                "eth_price",
                "needed with --token eth: the premium and the collateral are converted at ETH/USD",
            ));
        }
        (None, Token::Wbtc) => 0,
    };
    let tier_name = args
        .tier
        .as_deref()
        .map(str::trim)
        .unwrap_or(params.default_tier.as_str());
    let tier = params.tier(tier_name).cloned().ok_or_else(|| {
        InputError::new(
            "tier",
            format!(
                "no provider tier '{tier_name}' in [pool] (configured: {})",
                params
                    .tiers
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    let prices = Prices { btc_usd, eth_usd };
    let req = QuoteRequest {
        kind,
        strike_usd,
        amount_sats,
        spot_usd: btc_usd,
        duration_ms: i64::try_from(expiry_secs * 1000).expect("at most a century"),
        tier_multiplier: tier.premium_multiplier,
        token,
        token_price: prices.of(token),
    };
    let err = math_input_error;
    let q = quote(&params.premium, &req).map_err(err)?;
    let coverage = coverage_usd(kind, strike_usd, amount_sats, btc_usd).map_err(err)?;
    let collateral = required_collateral(
        kind,
        strike_usd,
        amount_sats,
        token,
        &prices,
        tier.collateral_ratio_bps,
    )
    .map_err(err)?;
    Ok(QuoteReport {
        req,
        expiry_secs,
        tier,
        model: params.premium,
        prices,
        quote: q,
        coverage_usd: coverage,
        collateral,
    })
}

// ---------------------------------------------------------------------------------------
// reconcile

/// One token: the Vault against the books.
#[derive(Debug, Clone)]
struct TokenCheck {
    token: Token,
    onchain_total: Units,
    onchain_locked: Units,
    books_total: Units,
    /// Every provider's locked collateral.
    books_locked: Units,
    /// The collateral of active policies whose aggregate lock the Vault confirmed: what its
    /// locked total should be.
    books_locked_onchain: Units,
}

impl TokenCheck {
    fn total_diff(&self) -> i128 {
        diff(self.onchain_total, self.books_total)
    }

    fn locked_diff(&self) -> i128 {
        diff(self.onchain_locked, self.books_locked_onchain)
    }

    fn agrees(&self) -> bool {
        self.total_diff() == 0 && self.locked_diff() == 0
    }

    fn json(&self) -> Value {
        json!({
            "token": self.token.as_str(),
            "decimals": self.token.decimals(),
            "onchain_total": self.onchain_total.to_string(),
            "books_total": self.books_total.to_string(),
            "total_difference": self.total_diff().to_string(),
            "onchain_locked": self.onchain_locked.to_string(),
            "books_locked_onchain": self.books_locked_onchain.to_string(),
            "locked_difference": self.locked_diff().to_string(),
            "books_locked": self.books_locked.to_string(),
            "agrees": self.agrees(),
        })
    }

    /// Why it disagrees, for people.
    fn problems(&self) -> Vec<String> {
        let tok = self.token;
        let mut out = Vec::new();
        let d = self.total_diff();
        if d != 0 {
            out.push(format!(
                "{tok}: the Vault holds {}, the providers' books add up to {} (difference {} {})",
                tokens_sym(tok, self.onchain_total),
                tokens_sym(tok, self.books_total),
                signed_tokens(tok, d),
                tok.symbol(),
            ));
        }
        let d = self.locked_diff();
        if d != 0 {
            out.push(format!(
                "{tok}: the Vault has {} locked, the books' policies locked on chain hold {} (difference {} {})",
                tokens_sym(tok, self.onchain_locked),
                tokens_sym(tok, self.books_locked_onchain),
                signed_tokens(tok, d),
                tok.symbol(),
            ));
        }
        out
    }
}

/// `a − b`, saturating at i128's ends (token totals fit far inside).
fn diff(a: Units, b: Units) -> i128 {
    if a >= b {
        i128::try_from(a - b).unwrap_or(i128::MAX)
    } else {
        i128::try_from(b - a).map(|d| -d).unwrap_or(i128::MIN)
    }
}

/// The Vault's four totals at one block.
struct VaultRead {
    vault: Address,
    block: u64,
    totals: Vec<(Token, Units, Units)>,
}

async fn read_vault(ctx: &AppContext, store: &Store) -> anyhow::Result<(String, u64, VaultRead)> {
    let pool = &ctx.config.pool;
    let chain_config = ctx
        .config
        .chains
        .get(&pool.chain)
        .with_context(|| format!("pool.chain: no [chains.{}]", pool.chain))?;
    let chain_id = chain_config.chain_id;
    let (vault, _) = store
        .resolve_address(chain_id, &pool.vault)
        .await?
        .with_context(|| {
            format!(
                "pool.vault: no deployment {:?} recorded for chain {chain_id} (`hedgedesk \
                 devnet up` deploys one), and not an address",
                pool.vault
            )
        })?;
    let chain = crate::chain::Chain::connect(&pool.chain, chain_config)?;
    let provider = chain.provider();
    let block = provider
        .get_block_number()
        .await
        .with_context(|| format!("eth_blockNumber on {}", pool.chain))?;
    let code = provider
        .get_code_at(vault)
        .block_id(block.into())
        .await
        .with_context(|| format!("eth_getCode({vault}) on {}", pool.chain))?;
    anyhow::ensure!(
        !code.is_empty(),
        "pool.vault: no contract at {vault} on {} (chain {chain_id}) at block {block}",
        pool.chain
    );
    let v = LiquidityVault::new(vault, &provider);
    let at = |what: &str| format!("LiquidityVault {vault}: {what} at block {block}");
    let (eth_total, eth_locked, wbtc_total, wbtc_locked) = futures::try_join!(
        async {
            v.getTotalEthBalance()
                .block(block.into())
                .call()
                .await
                .with_context(|| at("getTotalEthBalance"))
        },
        async {
            v.getTotalEthLocked()
                .block(block.into())
                .call()
                .await
                .with_context(|| at("getTotalEthLocked"))
        },
        async {
            v.getTotalWbtcBalance()
                .block(block.into())
                .call()
                .await
                .with_context(|| at("getTotalWbtcBalance"))
        },
        async {
            v.getTotalWbtcLocked()
                .block(block.into())
                .call()
                .await
                .with_context(|| at("getTotalWbtcLocked"))
        },
    )?;
    let units = |value: U256, what: &str| {
        u128::try_from(value).map_err(|_| anyhow::anyhow!("{}: {value} exceeds 2^128", at(what)))
    };
    let totals = vec![
        (
            Token::Eth,
            units(eth_total, "getTotalEthBalance")?,
            units(eth_locked, "getTotalEthLocked")?,
        ),
        (
            Token::Wbtc,
            units(wbtc_total, "getTotalWbtcBalance")?,
            units(wbtc_locked, "getTotalWbtcLocked")?,
        ),
    ];
    Ok((
        pool.chain.clone(),
        chain_id,
        VaultRead {
            vault,
            block,
            totals,
        },
    ))
}

fn reconcile(args: &ReconcileArgs, ctx: &AppContext, store: &Store) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (chain, chain_id, read, checks) = runtime.block_on(async {
        let (chain, chain_id, read) = read_vault(ctx, store).await?;
        let now = chrono::Utc::now().timestamp_millis();
        // The store's mirror of the Vault is what was read; the books are left alone.
        for &(tok, total, locked) in &read.totals {
            store
                .pool_set_onchain_totals(tok, total, locked, read.block, now)
                .await?;
        }
        let metrics = store.pool_metrics().await?;
        let active = store
            .pool_policies(PolicyFilter {
                status: Some(PolicyStatus::Active),
                ..PolicyFilter::default()
            })
            .await?;
        let checks: Vec<TokenCheck> = read
            .totals
            .iter()
            .map(|&(token, onchain_total, onchain_locked)| {
                let books = metrics.iter().find(|m| m.token == token);
                TokenCheck {
                    token,
                    onchain_total,
                    onchain_locked,
                    books_total: books.map_or(0, |m| m.books_total),
                    books_locked: books.map_or(0, |m| m.books_locked),
                    books_locked_onchain: active
                        .iter()
                        .filter(|p| p.token == token && p.onchain_locked)
                        .fold(0u128, |sum, p| sum.saturating_add(p.collateral_locked)),
                }
            })
            .collect();
        anyhow::Ok((chain, chain_id, read, checks))
    })?;
    let disagree: Vec<&TokenCheck> = checks.iter().filter(|c| !c.agrees()).collect();
    if args.json {
        print_json(&json!({
            "chain": chain,
            "chain_id": chain_id,
            "vault": read.vault.to_checksum(None),
            "block": read.block,
            "agrees": disagree.is_empty(),
            "disagreeing": disagree.iter().map(|c| c.token.as_str()).collect::<Vec<_>>(),
            "tokens": checks.iter().map(TokenCheck::json).collect::<Vec<_>>(),
        }))?;
    } else {
        println!(
            "Vault {} on {chain} (chain {chain_id}) at block {}",
            read.vault.to_checksum(None),
            read.block
        );
        let mut t = Table::new(&[
            ("TOKEN", false),
            ("ON-CHAIN TOTAL", true),
            ("BOOKS TOTAL", true),
            ("DIFFERENCE", true),
            ("ON-CHAIN LOCKED", true),
            ("BOOKS LOCKED ON CHAIN", true),
            ("DIFFERENCE", true),
            ("BOOKS LOCKED", true),
            ("STATUS", false),
        ]);
        for c in &checks {
            let tok = c.token;
            t.row(vec![
                tok.symbol().into(),
                tokens(tok, c.onchain_total),
                tokens(tok, c.books_total),
                signed_tokens(tok, c.total_diff()),
                tokens(tok, c.onchain_locked),
                tokens(tok, c.books_locked_onchain),
                signed_tokens(tok, c.locked_diff()),
                tokens(tok, c.books_locked),
                if c.agrees() { "ok" } else { "MISMATCH" }.into(),
            ]);
        }
        print!("{}", t.render());
        for c in &disagree {
            for problem in c.problems() {
                println!("{problem}");
            }
        }
        if disagree.is_empty() {
            println!("every token agrees with the books");
        } else {
            println!(
                "{} disagree{} with the books; nothing was corrected",
                disagree
                    .iter()
                    .map(|c| c.token.symbol())
                    .collect::<Vec<_>>()
                    .join(" and "),
                if disagree.len() == 1 { "s" } else { "" }
            );
        }
    }
    Ok(if disagree.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_and_grouped() {
        assert_eq!(
            scaled(123_456_789_012_345_678, 8, 0),
            "1,234,567,890.12345678"
        );
        assert_eq!(scaled(150_000_000, 8, 0), "1.5");
        assert_eq!(scaled(1, 8, 0), "0.00000001");
        assert_eq!(scaled(0, 8, 0), "0");
        assert_eq!(usd(5_400_000_000_000), "54,000.00");
        assert_eq!(usd(130_203_838_453), "1,302.03838453");
        assert_eq!(usd(150_000_000), "1.50");
        assert_eq!(tokens(Token::Eth, 10u128.pow(18) * 1234), "1,234");
        assert_eq!(signed_tokens(Token::Wbtc, -25_000_000), "-0.25");
        assert_eq!(signed_tokens(Token::Wbtc, 150_000_000), "+1.5");
        assert_eq!(signed_tokens(Token::Wbtc, 0), "0");
        assert_eq!(usd_decimal(Decimal::new(107_428_933, 5)), "1,074.29");
    }

    #[test]
    fn expiries_are_seconds_or_durations() {
        assert_eq!(parse_expiry("2592000"), Ok(2_592_000));
        assert_eq!(parse_expiry("30d"), Ok(2_592_000));
        assert_eq!(parse_expiry("1d12h"), Ok(129_600));
        assert_eq!(parse_expiry("2w"), Ok(1_209_600));
        assert_eq!(parse_expiry(" 90m "), Ok(5_400));
        for bad in ["", "d", "30x", "30d5", "-5", "1.5d", "0", "0d", "101y"] {
            let e = parse_expiry(bad).unwrap_err();
            assert_eq!(e.field, "expiry", "{bad:?}");
        }
        assert!(parse_expiry("36600d").is_err());
        assert_eq!(expiry_text(129_600), "1d 12h (129,600 s)");
    }

    #[test]
    fn tables_align() {
        let mut t = Table::new(&[("A", false), ("NUM", true)]);
        t.row(vec!["long text".into(), "1".into()]);
        t.row(vec!["x".into(), "1,000".into()]);
        assert_eq!(
            t.render(),
            "A            NUM\nlong text      1\nx          1,000\n"
        );
    }
}
