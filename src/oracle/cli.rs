//! `hedgedesk oracle …`: the oracle desk's commands.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::hermes::HermesClient;
use crate::app::AppContext;
use crate::cli::{
    OracleCommand, OracleDecodeArgs, OracleFeedsArgs, OraclePublishArgs, OracleTokenCommand,
};
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
        OracleCommand::Publish(args) => publish(&args, ctx),
        OracleCommand::Token(cmd) => token(&cmd, ctx),
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
        ctx.hermes_token(),
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

fn publish(args: &OraclePublishArgs, ctx: &AppContext) -> anyhow::Result<ExitCode> {
    use alloy::primitives::B256;

    let oracle = &ctx.config.oracle;
    let chain_config = ctx
        .config
        .chains
        .get(&oracle.chain)
        .with_context(|| format!("oracle.chain: no [chains.{}]", oracle.chain))?;
    if oracle.feeds.is_empty() {
        anyhow::bail!("oracle.feeds: no feeds configured; list them under [[oracle.feeds]]");
    }
    let store = ctx.open_store()?;
    let client = hermes(ctx)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let reports = runtime.block_on(async {
        let price_caster = store
            .deployment(chain_config.chain_id, super::desk::PRICE_CASTER)
            .await?
            .with_context(|| {
                format!(
                    "no PriceCaster recorded for chain {}",
                    chain_config.chain_id
                )
            })?
            .address;
        let chain = crate::chain::Chain::connect(&oracle.chain, chain_config)?;
        let publisher = super::publish::Publisher::from_config(
            oracle,
            &chain,
            price_caster,
            store.clone(),
            crate::actions::ActionQueue::open(store.clone(), ctx.config.clone()).await?,
            crate::prices::PriceCache::new(),
        )?;
        let feeds = &publisher.feeds;
        let ids: Vec<B256> = feeds.keys().copied().collect();
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        let mut reports = Vec::new();
        for update in client.latest(&ids).await? {
            for binary in &update.binary {
                reports.push(publisher.cycle(binary, now, args.dry_run).await?);
            }
        }
        anyhow::Ok(reports)
    })?;
    for report in &reports {
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "verified_prices": report.verified_prices,
                    "due": report.due,
                    "action": report.action,
                    "skipped": report.skipped,
                    "dry_run": args.dry_run,
                })
            );
        } else if report.due.is_empty() {
            println!("{} verified price(s); nothing due", report.verified_prices);
        } else {
            let what = match report.action {
                Some(id) => format!("journaled as action #{id}"),
                None => "dry run: nothing journaled".into(),
            };
            println!(
                "{} verified price(s); due: {}; {what}",
                report.verified_prices,
                report.due.join(", ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn token(cmd: &OracleTokenCommand, ctx: &AppContext) -> anyhow::Result<ExitCode> {
    let entry = ctx.hermes_token_entry().context(
        "the Hermes token lives in the OS keyring: pass --keyring (or set keys.keyring = true)",
    )?;
    match cmd {
        OracleTokenCommand::Set => {
            let token = if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                crate::keys::prompt_passphrase("Hermes API token: ")?
            } else {
                let text = read_stdin()?;
                crate::keys::Passphrase::new(
                    text.lines().next().unwrap_or_default().trim().to_string(),
                )
            };
            if token.is_empty() {
                anyhow::bail!("token: empty; nothing stored");
            }
            entry.set(&token)?;
            println!(
                "Hermes token stored in the OS keyring ({})",
                entry.backend()
            );
        }
        OracleTokenCommand::Clear => {
            entry.delete()?;
            println!("Hermes token removed from the OS keyring");
        }
    }
    Ok(ExitCode::SUCCESS)
}
