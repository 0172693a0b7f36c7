//! `hedgedesk oracle bootstrap` and `oracle register`: the operator's slot-layout commands.
//! Both unlock the keystore, show what they will send, and ask for a typed YES first.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::bootstrap::{Bootstrap, layout_from_config};
use super::desk::PRICE_CASTER;
use crate::app::{AppContext, unlock};
use crate::chain::Chain;
use crate::chain::send::{NonceManager, Sender, Tracker, run_tracker};
use crate::cli::{OracleBootstrapArgs, OracleRegisterArgs};
use crate::config::FeedConfig;
use crate::keys::prompt_passphrase;

pub fn bootstrap(args: &OracleBootstrapArgs, ctx: &AppContext) -> anyhow::Result<ExitCode> {
    let layout = layout_from_config(&ctx.config.oracle.feeds).map_err(anyhow::Error::msg)?;
    if layout.is_empty() {
        anyhow::bail!("oracle.feeds: no feeds configured; list them under [[oracle.feeds]]");
    }
    let plan = layout
        .iter()
        .map(|s| {
            format!(
                "  slot {:>3}  {:<12} asset {:<6} {} decimals  {}",
                s.slot, s.symbol, s.asset_id, s.decimals, s.price_id
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let what = if args.reset {
        format!("RESET the PriceCaster (every slot cleared), then allocate:\n{plan}")
    } else {
        format!("allocate the slots the contract does not have yet:\n{plan}")
    };
    with_operator(ctx, &what, args.yes, |b| async move {
        if args.reset {
            b.reset().await?;
        }
        b.run(&layout).await?;
        println!("slot layout in place: {} slot(s)", layout.len());
        Ok(())
    })
}

pub fn register(args: &OracleRegisterArgs, ctx: &AppContext) -> anyhow::Result<ExitCode> {
    let feed = FeedConfig {
        symbol: args.symbol.clone(),
        asset_id: args.asset_id,
        decimals: args.decimals,
        price_id: args.price_id.clone(),
        ..FeedConfig::default()
    };
    // Checked before anything is unlocked or sent; errors name the flag.
    let mut slot = layout_from_config(std::slice::from_ref(&feed))
        .map_err(|e| anyhow::anyhow!("{}", e.replace("oracle.feeds[0].", "--").replace('_', "-")))?
        .remove(0);
    let what = format!(
        "allocate one more slot for {} (asset {}, {} decimals, feed {})",
        slot.symbol, slot.asset_id, slot.decimals, slot.price_id
    );
    with_operator(ctx, &what, args.yes, |b| async move {
        let mut layout = b.store.oracle_slots(b.chain_id).await?;
        slot.slot = u8::try_from(layout.len()).context("no free slot left")?;
        layout.push(slot.clone());
        b.run(&layout).await?;
        println!("registered {} in slot {}", slot.symbol, slot.slot);
        Ok(())
    })
}

/// Confirms, unlocks, connects and runs `work` with a [`Bootstrap`] over a running tracker.
fn with_operator<F, Fut>(
    ctx: &AppContext,
    what: &str,
    yes: bool,
    work: F,
) -> anyhow::Result<ExitCode>
where
    F: FnOnce(Bootstrap) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let chain_name = ctx.config.oracle.chain.clone();
    let chain_config = ctx
        .config
        .chains
        .get(&chain_name)
        .with_context(|| format!("oracle.chain: no [chains.{chain_name}]"))?
        .clone();
    let store = ctx.open_store()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let price_caster = runtime
        .block_on(store.deployment(chain_config.chain_id, PRICE_CASTER))?
        .with_context(|| {
            format!(
                "no PriceCaster recorded for chain {} ({PRICE_CASTER}); deploy one (`hedgedesk devnet up` on a devnet)",
                chain_config.chain_id
            )
        })?
        .address;
    println!(
        "PriceCaster {price_caster} on {chain_name} (chain {}):\n{what}",
        chain_config.chain_id
    );
    if !yes && !typed_yes()? {
        println!("nothing sent");
        return Ok(ExitCode::from(1));
    }

    let path = ctx.keystore_path();
    let (pass, origin) = match ctx.sources.non_interactive()? {
        Some(found) => found,
        None if std::io::stdin().is_terminal() => (
            prompt_passphrase(&format!("Passphrase for {}: ", path.display()))?,
            crate::keys::PassphraseOrigin::Prompt,
        ),
        None => anyhow::bail!(
            "the keystore passphrase is needed: pass --passphrase-file PATH, use --keyring, \
             or set HEDGEDESK_PASSPHRASE"
        ),
    };
    runtime.block_on(async {
        let signer = unlock::unlock(path.clone(), pass, origin, ctx.keyring_cache())
            .await
            .map_err(|e| anyhow::anyhow!("cannot unlock {}: {e}", path.display()))?;
        let chain = Chain::connect(&chain_name, &chain_config)?;
        let sender = Sender::new(
            chain.provider(),
            store.clone(),
            signer.clone(),
            NonceManager::new(chain_config.chain_id, signer.address()),
            &chain_config,
        )?;
        let tracker = Arc::new(
            Tracker::new(chain.provider(), store.clone(), &chain_config).with_signer(signer),
        );
        let cancel = CancellationToken::new();
        let tracking = tokio::spawn(run_tracker(tracker.clone(), cancel.clone()));
        let result = work(Bootstrap {
            chain_id: chain_config.chain_id,
            price_caster,
            provider: chain.provider(),
            store: store.clone(),
            sender,
            tracker: tracker.clone(),
        })
        .await;
        cancel.cancel();
        let _ = tracking.await;
        result
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Reads one line from stdin; only `YES` goes ahead.
fn typed_yes() -> anyhow::Result<bool> {
    print!("Type YES to send these transactions: ");
    std::io::stdout().flush().ok();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "YES")
}
