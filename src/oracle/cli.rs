//! `hedgedesk oracle …`: the oracle desk's commands.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::hermes::HermesClient;
use crate::app::AppContext;
use crate::cli::{OracleCommand, OracleFeedsArgs};
use crate::desks::Desk;

pub fn run(cmd: OracleCommand, ctx: &AppContext) -> anyhow::Result<ExitCode> {
    match cmd {
        OracleCommand::Actions(args) => {
            crate::actions::cli::list(&args, Some(Desk::Oracle), &ctx.open_store()?)
        }
        OracleCommand::Feeds(args) => feeds(&args, ctx),
    }
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
