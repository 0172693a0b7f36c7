//! `hedgedesk anyhedge …`: the AnyHedge desk's commands.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;

use super::math::{self, ContractTerms, CreateError, MAX_ORACLE_PRICE};
use crate::app::AppContext;
use crate::app::logging::LogMode;
use crate::cli::{ActionListArgs, GlobalArgs, InputError, print_json, print_json_or_exit_2};
use crate::desks::Desk;

#[derive(Debug, Subcommand)]
pub enum AnyhedgeCommand {
    /// List this desk's journaled actions
    Actions(ActionListArgs),
    /// Compute a contract's parameters from its terms exactly as AnyHedge v0.12 does, with
    /// both sides' leverage and, given --settle-price, the payouts at that price; prints JSON.
    /// Needs no config. A bad input prints `error: <field>: <reason>` and exits 2
    Quote(QuoteArgs),
    /// Check an oracle price message's signature: BCH Schnorr (64-byte signature, General
    /// Protocols oracles) or ECDSA over sha256 (65 bytes, what the EVM contract checks);
    /// prints JSON with the decoded message. Exits 1 when the signature does not verify and
    /// 2 (with `error: <field>: <reason>`) when an input is malformed. Needs no config
    VerifyMessage(VerifyMessageArgs),
}

#[derive(Debug, Clone, Args)]
pub struct VerifyMessageArgs {
    /// The oracle's compressed public key (33 bytes, hex)
    #[arg(long, value_name = "HEX")]
    pub pubkey: String,
    /// The 16-byte price message (hex)
    #[arg(long, value_name = "HEX")]
    pub message: String,
    /// The oracle's signature (hex): 64 bytes BCH Schnorr or 65 bytes ECDSA r‖s‖v
    #[arg(long, value_name = "HEX")]
    pub signature: String,
}

#[derive(Debug, Clone, Args)]
pub struct QuoteArgs {
    /// Nominal value in oracle units (e.g. US cents for a USD oracle)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub nominal_units: String,
    /// Start price in oracle units per BCH
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub start_price: String,
    /// Low liquidation price as a multiple of the start price (below 1, e.g. 0.75)
    #[arg(long, value_name = "L", allow_negative_numbers = true)]
    pub low_mult: String,
    /// High liquidation price as a multiple of the start price (above 1, e.g. 4)
    #[arg(long, value_name = "H", allow_negative_numbers = true)]
    pub high_mult: String,
    /// Leverage the short too (not a simple hedge): the contract keeps the sats the nominal
    /// value costs at the high price
    #[arg(long)]
    pub leveraged: bool,
    /// Also settle at this oracle price (oracle units per BCH)
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    pub settle_price: Option<String>,
}

pub fn run(cmd: AnyhedgeCommand, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    match cmd {
        AnyhedgeCommand::Actions(args) => {
            let ctx = AppContext::load(global)?;
            let _guard = ctx.init_logging(LogMode::Command)?;
            crate::actions::cli::list(&args, Some(Desk::AnyHedge), &ctx.open_store()?)
        }
        AnyhedgeCommand::Quote(args) => print_json_or_exit_2(quote_json(&args)),
        AnyhedgeCommand::VerifyMessage(args) => verify_message(&args),
    }
}

fn verify_message(args: &VerifyMessageArgs) -> anyhow::Result<ExitCode> {
    match super::message::verify::verify_message_json(&args.pubkey, &args.message, &args.signature)
    {
        Ok(value) => {
            print_json(&value)?;
            Ok(if value["valid"] == true {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(2))
        }
    }
}

impl From<CreateError> for InputError {
    fn from(e: CreateError) -> InputError {
        InputError::new(e.field(), e.to_string())
    }
}

fn quote_json(args: &QuoteArgs) -> Result<serde_json::Value, InputError> {
    let terms = ContractTerms {
        nominal_units: parse_number("nominal_units", &args.nominal_units)?,
        start_price: parse_price("start_price", &args.start_price)?,
        low_mult: parse_number("low_mult", &args.low_mult)?,
        high_mult: parse_number("high_mult", &args.high_mult)?,
        leveraged: args.leveraged,
    };
    let settle_price = match &args.settle_price {
        Some(text) => {
            let price = parse_price("settle_price", text)?;
            if price == 0 || price > MAX_ORACLE_PRICE {
                return Err(InputError::new(
                    "settle_price",
                    format!("an oracle price is from 1 to {MAX_ORACLE_PRICE}, got {price}"),
                ));
            }
            Some(price)
        }
        None => None,
    };

    let params = math::create(&terms)?;
    let leverage = terms.leverage();
    let mut out = json!({
        "inputs": {
            "nominal_units": terms.nominal_units,
            "start_price": terms.start_price,
            "low_mult": terms.low_mult,
            "high_mult": terms.high_mult,
            "leveraged": terms.leveraged,
        },
        "parameters": {
            "low_price": params.low_price,
            "high_price": params.high_price,
            "nominal_units_x_sats_per_bch": params.nominal_units_x_sats_per_bch,
            "sats_for_nominal_units_at_high": params.sats_for_nominal_units_at_high,
            "payout_sats": params.payout_sats,
            "short_input_sats": params.short_input_sats,
            "long_input_sats": params.long_input_sats,
            "dust": math::DUST,
        },
        "leverage": {
            "short": leverage.short,
            "long": leverage.long,
        },
    });
    if let Some(price) = settle_price {
        let payout = params.settle(price);
        out["settlement"] = json!({
            "price": price,
            "clamped_price": payout.clamped_price,
            "short_sats": payout.short_sats,
            "long_sats": payout.long_sats,
        });
    }
    Ok(out)
}

fn parse_number(field: &'static str, text: &str) -> Result<f64, InputError> {
    text.trim()
        .parse()
        .map_err(|_| InputError::new(field, format!("not a number: '{text}'")))
}

fn parse_price(field: &'static str, text: &str) -> Result<u32, InputError> {
    text.trim().parse().map_err(|_| {
        InputError::new(
            field,
            format!("not a whole number of oracle units per BCH: '{text}'"),
        )
    })
}
