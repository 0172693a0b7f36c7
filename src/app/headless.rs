//! `hedgedesk run --headless`: the same workers without a screen. Only actions the
//! policy approves run; `confirm` actions wait in the journal for a console session.

use std::process::ExitCode;

use super::logging::{self, LogMode};
use super::{AppContext, Runtime, unlock};

pub fn run(ctx: AppContext) -> anyhow::Result<ExitCode> {
    let _guard = logging::init(
        LogMode::Headless,
        &ctx.config.general.log_level,
        &ctx.logs_dir(),
        ctx.config.general.log_retention_days,
    )?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    tokio.block_on(run_async(ctx))
}

async fn run_async(ctx: AppContext) -> anyhow::Result<ExitCode> {
    let store = ctx.open_store()?;
    let path = ctx.keystore_path();
    let Some((pass, origin)) = ctx.sources.non_interactive()? else {
        anyhow::bail!(
            "headless mode needs the keystore passphrase without a prompt: pass \
             --passphrase-file PATH, use --keyring after one console unlock with --keyring, \
             or set HEDGEDESK_PASSPHRASE (least safe)"
        );
    };
    let cache = ctx.keyring_cache();
    let signer = unlock::unlock(path.clone(), pass, origin, cache)
        .await
        .map_err(|e| anyhow::anyhow!("cannot unlock {}: {e}", path.display()))?;
    let runtime = Runtime::start(ctx.config.clone(), store, signer).await?;
    tracing::info!(account = %runtime.account, data_dir = %ctx.data_dir.display(), "headless: workers running");

    let signal = wait_for_stop_signal().await?;
    tracing::info!(signal, "headless: stopping");
    let abandoned = runtime.shutdown().await;
    if abandoned.is_empty() {
        tracing::info!("headless: stopped cleanly");
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(3))
    }
}

async fn wait_for_stop_signal() -> anyhow::Result<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => Ok("SIGTERM"),
            _ = int.recv() => Ok("SIGINT"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await?;
        Ok("ctrl-c")
    }
}
