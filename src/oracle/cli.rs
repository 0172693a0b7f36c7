//! `hedgedesk oracle …`: the oracle desk's commands.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::hermes::HermesClient;
use crate::app::AppContext;
use crate::cli::{OracleCommand, OracleDecodeArgs, OracleFeedsArgs};
use crate::desks::Desk;

pub fn run(cmd: OracleCommand, ctx: &AppContext) -> anyhow::Result<ExitCode> {
    match cmd {
        OracleCommand::Actions(args) => {
            crate::actions::cli::list(&args, Some(Desk::Oracle), &ctx.open_store()?)
        }
        OracleCommand::Feeds(args) => feeds(&args, ctx),
        OracleCommand::Decode(args) => decode(&args, ctx),
        OracleCommand::Bootstrap(args) => super::admin::bootstrap(&args, ctx),
        OracleCommand::Register(args) => super::admin::register(&args, ctx),
    }
}

fn decode(args: &OracleDecodeArgs, ctx: &AppContext) -> anyhow::Result<ExitCode> {
    let text = match args.input.as_deref() {
        None => read_stdin()?,
        Some(path) if path.as_os_str() == "-" => read_stdin()?,
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
    };
    let bytes = super::decode::read_input(&text).map_err(anyhow::Error::msg)?;
    let set_name = args
        .guardian_set
        .clone()
        .unwrap_or_else(|| ctx.config.oracle.guardian_sets.clone());
    let sets = super::decode::load_sets(&set_name).map_err(anyhow::Error::msg)?;
    let emitter = super::decode::emitter(
        ctx.config.oracle.emitter_chain,
        &ctx.config.oracle.emitter_address,
    )
    .map_err(anyhow::Error::msg)?;
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    let decoded = super::decode::decode(&bytes, &sets, &emitter, now);
    println!("{}", serde_json::to_string_pretty(&decoded.report)?);
    if decoded.ok {
        Ok(ExitCode::SUCCESS)
    } else {
        for error in decoded.report["errors"].as_array().into_iter().flatten() {
            eprintln!(
                "hedgedesk oracle decode: {}",
                error.as_str().unwrap_or_default()
            );
        }
        Ok(ExitCode::FAILURE)
    }
}

fn read_stdin() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).context("reading stdin")?;
    Ok(text)
}

fn hermes(ctx: &AppContext) -> anyhow::Result<HermesClient> {
    Ok(HermesClient::new(
        &ctx.config.oracle.hermes_url,
        HermesClient::token_from_env(),
        ctx.config.oracle.batch_size as usize,
        Duration::from_secs(15),
    )?)
}

fn feeds(args: &OracleFeedsArgs, ctx: &AppContext) -> anyhow::Result<ExitCode> {
    let client = hermes(ctx)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let feeds = runtime.block_on(client.feeds(&args.query))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&feeds)?);
    } else if feeds.is_empty() {
        println!("no feed matches {:?}", args.query);
    } else {
        for feed in &feeds {
            println!("{}  {:<24} {}", feed.id, feed.symbol, feed.description);
        }
    }
    Ok(ExitCode::SUCCESS)
}
