//! `hedgedesk perp …`: the perp desk's commands.

use std::collections::HashMap;
use std::process::ExitCode;
use std::str::FromStr;

use alloy::primitives::{Address, I256, U256};
use clap::{Args, Subcommand};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::model::{AssetVault, TraderPosition};
use super::risk::{
    AssetRisk, PositionRisk, RiskError, RiskFactors, RiskFlags, evaluate_asset, evaluate_position,
};
use crate::app::AppContext;
use crate::app::logging::LogMode;
use crate::cli::{ActionListArgs, GlobalArgs, InputError, print_json_or_exit_2};
use crate::desks::Desk;

#[derive(Debug, Subcommand)]
pub enum PerpCommand {
    /// List this desk's journaled actions
    Actions(ActionListArgs),
    /// What-if: value trader positions against a vault and shield and print DeHedge's three
    /// flags (vault drawdown, shield PnL risk, profit limit) with their numbers as JSON.
    /// Needs no config. A bad input prints `error: <field>: <reason>` and exits 2
    Risk(RiskArgs),
    /// Keep Binance's API key and secret in the OS keyring (needs --keyring or
    /// keys.keyring). The environment variables named by perp.binance.api_key_env /
    /// api_secret_env (HEDGEDESK_BINANCE_API_KEY / HEDGEDESK_BINANCE_API_SECRET by default),
    /// when set, take precedence
    #[command(subcommand)]
    BinanceKey(BinanceKeyCommand),
}

#[derive(Debug, Subcommand)]
pub enum BinanceKeyCommand {
    /// Store the API key and secret: asked for without echo on a terminal, else read from
    /// stdin (key on the first line, secret on the second). Nothing is stored unless both
    /// are non-empty printable ASCII without spaces
    Set,
    /// Remove the stored API key and secret
    Clear,
}

#[derive(Debug, Clone, Args)]
pub struct RiskArgs {
    /// The vault's available balance, in the asset's base units (e.g. 1000000000000 for
    /// 1,000,000 USDC)
    #[arg(long, value_name = "BASE_UNITS", allow_negative_numbers = true)]
    pub vault: String,
    /// The shield balance, in base units
    #[arg(long, value_name = "BASE_UNITS", allow_negative_numbers = true)]
    pub shield: String,
    /// A trader position as JSON with the `getPositions` fields: `market`, `is_long`,
    /// `size` and `price` (entry) required; `funding_tracer`, `collateral`, `timestamp`,
    /// `user`, `asset` optional. Amounts are decimal strings of base units. Repeatable
    #[arg(long = "position", value_name = "JSON", required = true, num_args = 1..)]
    pub positions: Vec<String>,
    /// The asset's decimals (6 for USDC, 18 otherwise)
    #[arg(
        long,
        default_value = "6",
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub decimals: String,
    /// Current price of a market, same integer scale as the entry prices (e.g.
    /// BTC-USD=66000). A position whose market has none is reported as "no price"
    #[arg(
        long = "price",
        value_name = "MARKET=PRICE",
        allow_negative_numbers = true
    )]
    pub prices: Vec<String>,
    /// Current funding tracer of a market [default: each position's own, so no funding fee]
    #[arg(
        long = "funding-tracer",
        value_name = "MARKET=TRACER",
        allow_negative_numbers = true
    )]
    pub funding_tracers: Vec<String>,
    /// Factor on the vault for the drawdown flag [default: 1]
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub vault_factor: Option<String>,
    /// Factor on the vault for the profit limit flag [default: 1]
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub vault_profit_limit_factor: Option<String>,
    /// Interest on both sides of the profit limit flag [default: 0.4]
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub profit_limit_interest: Option<String>,
}

pub fn run(cmd: PerpCommand, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    match cmd {
        PerpCommand::Actions(args) => {
            let ctx = AppContext::load(global)?;
            let _guard = ctx.init_logging(LogMode::Command)?;
            crate::actions::cli::list(&args, Some(Desk::Perp), &ctx.open_store()?)
        }
        PerpCommand::Risk(args) => print_json_or_exit_2(risk_json(&args)),
        PerpCommand::BinanceKey(cmd) => {
            let ctx = AppContext::load(global)?;
            let _guard = ctx.init_logging(LogMode::Command)?;
            binance_key(&cmd, &ctx)
        }
    }
}

/// `perp binance-key set|clear`, as `oracle token set|clear` does for the Hermes token.
fn binance_key(cmd: &BinanceKeyCommand, ctx: &AppContext) -> anyhow::Result<ExitCode> {
    let (key_entry, secret_entry) = ctx.binance_key_entries().ok_or_else(|| {
        anyhow::anyhow!(
            "the Binance API key and secret live in the OS keyring: pass --keyring (or set \
             keys.keyring = true); or set the environment variables named by \
             perp.binance.api_key_env / api_secret_env ({} / {})",
            ctx.config.perp.binance.api_key_env,
            ctx.config.perp.binance.api_secret_env
        )
    })?;
    match cmd {
        BinanceKeyCommand::Set => {
            let (key, secret) = if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                let key = prompted("api_key", "Binance API key: ")?;
                check_credential("api_key", &key)?;
                let secret = prompted("api_secret", "Binance API secret: ")?;
                (key, secret)
            } else {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                    .map_err(|e| anyhow::anyhow!("reading stdin: {}", e.kind()))?;
                let text = zeroize::Zeroizing::new(text);
                let mut lines = text.lines();
                let mut line = || {
                    crate::keys::Passphrase::new(
                        lines.next().unwrap_or_default().trim().to_string(),
                    )
                };
                (line(), line())
            };
            check_credential("api_key", &key)?;
            check_credential("api_secret", &secret)?;
            key_entry.set(&key)?;
            if let Err(e) = secret_entry.set(&secret) {
                // No new key beside an old secret: a mismatched pair only fails later.
                let _ = key_entry.delete();
                anyhow::bail!(
                    "api_secret: {e}; the API key entry was removed again, so no half pair is \
                     stored"
                );
            }
            println!(
                "Binance API key and secret stored in the OS keyring ({})",
                key_entry.backend()
            );
        }
        BinanceKeyCommand::Clear => {
            let key = key_entry.delete();
            let secret = secret_entry.delete();
            key?;
            secret?;
            println!("Binance API key and secret removed from the OS keyring");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One credential asked for on the terminal without echo; an empty answer names `field`.
fn prompted(field: &str, prompt: &str) -> anyhow::Result<crate::keys::Passphrase> {
    match crate::keys::prompt_passphrase(prompt) {
        Ok(value) => Ok(crate::keys::Passphrase::new(
            value.expose().trim().to_string(),
        )),
        Err(crate::keys::KeysError::Invalid { .. }) => {
            anyhow::bail!("{field}: empty; nothing stored")
        }
        Err(e) => Err(e.into()),
    }
}

/// Binance keys are 64 alphanumerics; any non-empty printable ASCII without spaces is
/// accepted. The error names the field, never the value.
fn check_credential(field: &str, value: &crate::keys::Passphrase) -> anyhow::Result<()> {
    if value.is_empty() {
        anyhow::bail!("{field}: empty; nothing stored");
    }
    if !value.expose().bytes().all(|b| b.is_ascii_graphic()) {
        anyhow::bail!(
            "{field}: holds whitespace, a control character or non-ASCII (Binance keys are \
             printable ASCII without spaces); nothing stored"
        );
    }
    Ok(())
}

impl From<RiskError> for InputError {
    fn from(e: RiskError) -> InputError {
        InputError::new(e.field(), e.reason())
    }
}

fn risk_json(args: &RiskArgs) -> Result<Value, InputError> {
    let decimals: u8 = args
        .decimals
        .trim()
        .parse()
        .ok()
        .filter(|d| *d <= 77)
        .ok_or_else(|| {
            InputError::new(
                "decimals",
                format!("a whole number from 0 to 77, got '{}'", args.decimals),
            )
        })?;
    let factor = |field: &str, text: &Option<String>, default: Decimal| match text {
        None => Ok(default),
        Some(text) => Decimal::from_str(text.trim())
            .map_err(|_| InputError::new(field, format!("not a decimal number: '{text}'"))),
    };
    let defaults = RiskFactors::default();
    let factors = RiskFactors::new(
        factor("vault_factor", &args.vault_factor, defaults.vault_factor())?,
        factor(
            "vault_profit_limit_factor",
            &args.vault_profit_limit_factor,
            defaults.vault_profit_limit_factor(),
        )?,
        factor(
            "profit_limit_interest",
            &args.profit_limit_interest,
            defaults.profit_limit_interest(),
        )?,
    )?;
    let positions = args
        .positions
        .iter()
        .enumerate()
        .map(|(i, text)| parse_position(&format!("position[{i}]"), text))
        .collect::<Result<Vec<_>, _>>()?;
    let asset = match positions.split_first() {
        Some((first, rest)) => {
            if let Some(i) = rest.iter().position(|p| p.asset != first.asset) {
                return Err(InputError::new(
                    format!("position[{}].asset", i + 1),
                    format!(
                        "every position trades against the one --vault; position[0] has {}",
                        first.asset
                    ),
                ));
            }
            first.asset
        }
        None => Address::ZERO,
    };
    let vault = AssetVault {
        asset,
        decimals,
        vault: parse_amount("vault", &args.vault)?,
        shield: parse_amount("shield", &args.shield)?,
    };
    let prices = parse_market_values("price", &args.prices, parse_amount)?;
    let tracers = parse_market_values("funding_tracer", &args.funding_tracers, parse_signed)?;

    let mut rows = Vec::new();
    let mut pnls = Vec::new();
    for (i, position) in positions.iter().enumerate() {
        let row = match prices.get(&position.market) {
            None => position_json(position, None, "no price"),
            Some(price) => {
                let tracer = tracers
                    .get(&position.market)
                    .copied()
                    .unwrap_or(position.funding_tracer);
                let risk =
                    evaluate_position(position, &vault, *price, tracer, &factors).map_err(|e| {
                        InputError::new(format!("position[{i}].{}", e.field()), e.reason())
                    })?;
                pnls.push(risk.pnl.total);
                let mut row = position_json(position, Some(&risk), "evaluated");
                row["funding_tracer_now"] = json!(tracer.to_string());
                row
            }
        };
        rows.push(row);
    }
    let unevaluated = positions.len() - pnls.len();
    let asset_risk = evaluate_asset(&vault, pnls, &factors)?;

    Ok(json!({
        "factors": {
            "vault_factor": factors.vault_factor().to_string(),
            "vault_profit_limit_factor": factors.vault_profit_limit_factor().to_string(),
            "profit_limit_interest": factors.profit_limit_interest().to_string(),
        },
        "asset": asset_json(&vault, &asset_risk, positions.len(), unevaluated),
        "positions": rows,
    }))
}

fn asset_json(vault: &AssetVault, risk: &AssetRisk, positions: usize, unevaluated: usize) -> Value {
    let mut out = json!({
        "asset": vault.asset.to_checksum(None),
        "decimals": vault.decimals,
        "vault": vault.vault.to_string(),
        "shield": vault.shield.to_string(),
        "positions": positions,
        // Positions without a price are not in total_pnl.
        "unevaluated": unevaluated,
        "total_pnl": risk.total_pnl.to_string(),
    });
    extend_flags(&mut out, &risk.flags);
    out
}

fn position_json(position: &TraderPosition, risk: Option<&PositionRisk>, status: &str) -> Value {
    let mut out = json!({
        "key": position.key(),
        "market": position.market,
        "side": if position.is_long { "long" } else { "short" },
        "size": position.size.to_string(),
        "entry_price": position.price.to_string(),
        "funding_tracer": position.funding_tracer.to_string(),
        "status": status,
    });
    match risk {
        Some(risk) => {
            out["price"] = json!(risk.price.to_string());
            out["price_pnl"] = json!(risk.pnl.price_pnl.to_string());
            out["funding_fee"] = json!(risk.pnl.funding_fee.to_string());
            out["pnl"] = json!(risk.pnl.total.to_string());
            extend_flags(&mut out, &risk.flags);
        }
        // Explicitly unknown, not "no flags".
        None => out["any_flag"] = Value::Null,
    }
    out
}

fn extend_flags(out: &mut Value, flags: &RiskFlags) {
    out["remaining"] = json!(flags.remaining.to_string());
    out["any_flag"] = json!(flags.any());
    out["flags"] = flags
        .checks
        .iter()
        .map(|c| json!({ "flag": c.kind.as_str(), "set": c.set, "reason": c.reason() }))
        .collect();
}

const POSITION_FIELDS: [&str; 9] = [
    "user",
    "asset",
    "market",
    "is_long",
    "size",
    "collateral",
    "funding_tracer",
    "price",
    "timestamp",
];

fn parse_position(at: &str, text: &str) -> Result<TraderPosition, InputError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| InputError::new(at, format!("not JSON: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(InputError::new(
            at,
            "a JSON object with the position's fields",
        ));
    };
    if let Some(unknown) = fields
        .keys()
        .find(|k| !POSITION_FIELDS.contains(&k.as_str()))
    {
        return Err(InputError::new(
            format!("{at}.{unknown}"),
            format!("unknown field; known are {}", POSITION_FIELDS.join(", ")),
        ));
    }
    let field = |name: &str| format!("{at}.{name}");
    let amount = |name: &str, required: bool| -> Result<U256, InputError> {
        match json_number_text(&fields, name, &field(name), required)? {
            Some(text) => parse_amount(&field(name), &text),
            None => Ok(U256::ZERO),
        }
    };
    let address = |name: &str| -> Result<Address, InputError> {
        match fields.get(name) {
            None => Ok(Address::ZERO),
            Some(Value::String(s)) => Address::from_str(s.trim())
                .map_err(|_| InputError::new(field(name), format!("not an address: '{s}'"))),
            Some(other) => Err(InputError::new(
                field(name),
                format!("an address string, got {other}"),
            )),
        }
    };
    let market = match fields.get("market") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(other) => {
            return Err(InputError::new(
                field("market"),
                format!("a market name like \"BTC-USD\", got {other}"),
            ));
        }
        None => return Err(InputError::new(field("market"), "missing")),
    };
    let is_long = match fields.get("is_long") {
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(InputError::new(
                field("is_long"),
                format!("true or false, got {other}"),
            ));
        }
        None => return Err(InputError::new(field("is_long"), "missing")),
    };
    let funding_tracer =
        match json_number_text(&fields, "funding_tracer", &field("funding_tracer"), false)? {
            Some(text) => parse_signed(&field("funding_tracer"), &text)?,
            None => I256::ZERO,
        };
    Ok(TraderPosition {
        user: address("user")?,
        asset: address("asset")?,
        market,
        is_long,
        size: amount("size", true)?,
        collateral: amount("collateral", false)?,
        funding_tracer,
        price: amount("price", true)?,
        timestamp: amount("timestamp", false)?,
    })
}

/// A number field as text: a string, or a JSON integer (exact up to 64 bits).
fn json_number_text(
    fields: &Map<String, Value>,
    name: &str,
    at: &str,
    required: bool,
) -> Result<Option<String>, InputError> {
    match fields.get(name) {
        None if required => Err(InputError::new(at, "missing")),
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
        Some(other) => Err(InputError::new(
            at,
            format!("a whole number as a decimal string, got {other}"),
        )),
    }
}

/// A non-negative whole number of base units, decimal digits only.
fn parse_amount(field: &str, text: &str) -> Result<U256, InputError> {
    let digits = text.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InputError::new(
            field,
            format!("a whole number of base units (decimal digits), got '{text}'"),
        ));
    }
    U256::from_str_radix(digits, 10)
        .map_err(|_| InputError::new(field, format!("{digits} exceeds 2^256 − 1")))
}

/// A whole number with an optional leading minus.
fn parse_signed(field: &str, text: &str) -> Result<I256, InputError> {
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix('-').unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InputError::new(
            field,
            format!("a whole number (decimal digits, optional '-'), got '{text}'"),
        ));
    }
    I256::from_dec_str(trimmed)
        .map_err(|_| InputError::new(field, format!("{trimmed} is out of int256 range")))
}

/// `MARKET=VALUE` pairs, each market once.
fn parse_market_values<T>(
    field: &str,
    pairs: &[String],
    parse: impl Fn(&str, &str) -> Result<T, InputError>,
) -> Result<HashMap<String, T>, InputError> {
    let mut out = HashMap::new();
    for pair in pairs {
        let Some((market, value)) = pair.split_once('=').filter(|(m, _)| !m.trim().is_empty())
        else {
            return Err(InputError::new(
                field,
                format!("MARKET=VALUE, got '{pair}'"),
            ));
        };
        let market = market.trim();
        let value = parse(&format!("{field}[{market}]"), value)?;
        if out.insert(market.to_string(), value).is_some() {
            return Err(InputError::new(field, format!("{market} given twice")));
        }
    }
    Ok(out)
}
