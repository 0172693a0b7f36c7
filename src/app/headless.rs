//! `hedgedesk run --headless`: the same workers without a screen. Only actions the
//! policy approves run; `confirm` actions wait in the journal for a console session.

use std::process::ExitCode;

use super::logging::LogMode;
use super::{AppContext, Runtime, unlock};

pub fn run(ctx: AppContext) -> anyhow::Result<ExitCode> {
    let _guard = ctx.init_logging(LogMode::Headless)?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    tokio.block_on(run_async(ctx))
}

async fn run_async(ctx: AppContext) -> anyhow::Result<ExitCode> {
    // Handlers go in first: a signal that arrives while we start must stop us cleanly,
    // not kill us with the default action.
    let stop = StopSignals::install()?;
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
    let runtime = Runtime::start_with(ctx.config.clone(), store, signer, ctx.secrets()).await?;
    tracing::info!(account = %runtime.account, data_dir = %ctx.data_dir.display(), "headless: workers running");

    let signal = stop.wait().await;
    tracing::info!(signal, "headless: stopping");
    let abandoned = runtime.shutdown().await;
    if abandoned.is_empty() {
        tracing::info!("headless: stopped cleanly");
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(3))
    }
}

struct StopSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> anyhow::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    async fn wait(mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "ctrl-c"
        }
    }
}
