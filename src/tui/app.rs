//! The console's loop: draw when something changed, then wait for a key, a worker
//! update, a finished background job, or the slow tick. Nothing here blocks: unlock,
//! keystore creation and journal writes run as tasks that report back.

use std::process::ExitCode;
use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use tokio::sync::mpsc;

use super::state::{AppState, Phase, UnlockPhase};
use super::terminal::{self, Term};
use super::theme::Theme;
use super::update::{self, Effect};
use crate::actions::ActionId;
use crate::app::log_buffer::LogBuffer;
use crate::app::logging::LogMode;
use crate::app::{AppContext, Runtime, unlock};
use crate::keys::{self, PassphraseOrigin, UnlockError};

/// Results of background jobs, sent back to the loop.
enum Done {
    Unlocked(Result<alloy_signer_local::PrivateKeySigner, UnlockError>),
    CreateFailed(String),
    Journal {
        id: ActionId,
        verb: &'static str,
        result: Result<(), String>,
    },
}

pub fn run(ctx: AppContext) -> anyhow::Result<ExitCode> {
    let logs = LogBuffer::new(ctx.config.ui.log_lines as usize);
    let _guard = ctx.init_logging(LogMode::Console(logs.clone()))?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    tokio.block_on(async {
        // Open the store before taking over the screen so a problem prints plainly.
        let store = ctx.open_store()?;
        let themes_dir = ctx.config.themes_dir();
        let theme = Theme::load(&ctx.config.ui.theme, &themes_dir).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "theme not found; using the default");
            Theme::built_in_default()
        });
        let mut state = AppState::new(
            ctx.config.clone(),
            theme,
            themes_dir,
            ctx.keystore_path(),
            logs,
            chrono::Utc::now().timestamp_millis(),
        );
        let mut term = terminal::enter()?;
        let result = event_loop(&mut term, &mut state, &ctx, store).await;
        terminal::leave()?;
        let runtime = result?;
        if let Some(rt) = runtime {
            rt.shutdown().await;
        }
        if let Phase::Unlock(UnlockPhase::Prompt { failures, .. }) = &state.phase
            && *failures >= ctx.config.keys.max_unlock_attempts
        {
            eprintln!("hedgedesk: {failures} wrong passphrases; exiting");
            return Ok(ExitCode::from(4));
        }
        Ok(ExitCode::SUCCESS)
    })
}

async fn event_loop(
    term: &mut Term,
    state: &mut AppState,
    ctx: &AppContext,
    store: crate::store::Store,
) -> anyhow::Result<Option<Runtime>> {
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(ctx.config.ui.tick_ms));
    let mut logs_rx = state.logs.subscribe();
    let mut runtime: Option<Runtime> = None;
    let mut actions_rx = None;
    let mut health_rx = None;
    let mut chains_rx = None;
    let mut oracle_rx = None;
    let mut liquidator_rx = None;
    let mut anyhedge_rx = None;
    let mut perp_rx = None;
    let mut pool_rx = None;
    let mut dirty = true;

    if matches!(state.phase, Phase::Unlock(UnlockPhase::Auto)) {
        start_auto_unlock(state, ctx, &done_tx);
    }

    while !state.quit {
        if dirty {
            term.draw(|f| super::view::render(f, state))?;
            dirty = false;
        }
        tokio::select! {
            ev = events.next() => {
                match ev {
                    Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                        state.flash = None;
                        if let Some(effect) = update::on_key(state, key) {
                            run_effect(effect, ctx, runtime.as_ref(), &done_tx);
                        }
                        dirty = true;
                    }
                    Some(Ok(Event::Resize(..))) => dirty = true,
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e.into()),
                    None => state.quit = true,
                }
            }
            Some(done) = done_rx.recv() => {
                dirty = true;
                match done {
                    Done::Unlocked(Ok(signer)) => {
                        state.account = Some(signer.address().to_checksum(None));
                        let rt = Runtime::start_with(ctx.config.clone(), store.clone(), signer, ctx.secrets()).await?;
                        state.set_actions(rt.queue.snapshot());
                        actions_rx = Some(rt.queue.subscribe());
                        health_rx = Some(rt.health.clone());
                        state.health = rt.health.borrow().clone();
                        chains_rx = Some(rt.chain_status.clone());
                        oracle_rx = Some(rt.oracle.clone());
                        state.oracle = rt.oracle.borrow().clone();
                        liquidator_rx = Some(rt.liquidator.clone());
                        let liquidator = rt.liquidator.borrow().clone();
                        state.set_liquidator(liquidator);
                        anyhedge_rx = Some(rt.anyhedge.clone());
                        let anyhedge = rt.anyhedge.borrow().clone();
                        state.set_anyhedge(anyhedge);
                        perp_rx = Some(rt.perp.clone());
                        let perp = rt.perp.borrow().clone();
                        state.set_perp(perp);
                        pool_rx = Some(rt.pool.clone());
                        let pool = rt.pool.borrow().clone();
                        state.set_pool(pool);
                        state.chains = rt.chain_status.borrow().clone();
                        runtime = Some(rt);
                        state.phase = Phase::Main;
                    }
                    Done::Unlocked(Err(e)) => {
                        let wrong = matches!(e, UnlockError::WrongPassphrase);
                        update::on_unlock_failed(state, wrong, e.to_string());
                    }
                    Done::CreateFailed(e) => {
                        if let Phase::Unlock(UnlockPhase::Create { error, busy, confirming, .. }) = &mut state.phase {
                            *error = Some(e);
                            *busy = false;
                            *confirming = false;
                        }
                    }
                    Done::Journal { id, verb, result } => match result {
                        Ok(()) => state.flash_info(format!("action #{id} {verb}")),
                        Err(e) => state.flash_error(format!("action #{id} not {verb}: {e}")),
                    },
                }
            }
            Ok(()) = changed(&mut actions_rx) => {
                if let Some(rx) = &mut actions_rx {
                    let snap = rx.borrow_and_update().clone();
                    state.set_actions(snap);
                }
                dirty = true;
            }
            Ok(()) = changed(&mut health_rx) => {
                if let Some(rx) = &mut health_rx {
                    state.health = rx.borrow_and_update().clone();
                }
                dirty = true;
            }
            Ok(()) = changed(&mut chains_rx) => {
                if let Some(rx) = &mut chains_rx {
                    state.chains = rx.borrow_and_update().clone();
                }
                dirty = true;
            }
            Ok(()) = changed(&mut oracle_rx) => {
                if let Some(rx) = &mut oracle_rx {
                    state.oracle = rx.borrow_and_update().clone();
                }
                dirty = true;
            }
            Ok(()) = changed(&mut liquidator_rx) => {
                if let Some(rx) = &mut liquidator_rx {
                    let snap = rx.borrow_and_update().clone();
                    state.set_liquidator(snap);
                }
                dirty = true;
            }
            Ok(()) = changed(&mut anyhedge_rx) => {
                if let Some(rx) = &mut anyhedge_rx {
                    let snap = rx.borrow_and_update().clone();
                    state.set_anyhedge(snap);
                }
                dirty = true;
            }
            Ok(()) = changed(&mut perp_rx) => {
                if let Some(rx) = &mut perp_rx {
                    let snap = rx.borrow_and_update().clone();
                    state.set_perp(snap);
                }
                dirty = true;
            }
            Ok(()) = changed(&mut pool_rx) => {
                if let Some(rx) = &mut pool_rx {
                    let snap = rx.borrow_and_update().clone();
                    state.set_pool(snap);
                }
                dirty = true;
            }
            Ok(()) = logs_rx.changed() => {
                if state.tab == super::state::Tab::Logs {
                    dirty = true;
                }
            }
            _ = tick.tick() => {
                state.now_ms = chrono::Utc::now().timestamp_millis();
                dirty = true;
            }
        }
    }
    Ok(runtime)
}

/// A watch receiver that may not exist yet (before unlock): pends forever if absent.
async fn changed<T>(rx: &mut Option<tokio::sync::watch::Receiver<T>>) -> Result<(), ()> {
    match rx {
        Some(rx) => rx.changed().await.map_err(|_| ()),
        None => std::future::pending().await,
    }
}

/// Tries the keyring, passphrase file or env first; with none, asks.
fn start_auto_unlock(state: &mut AppState, ctx: &AppContext, done: &mpsc::UnboundedSender<Done>) {
    match ctx.sources.non_interactive() {
        Ok(Some((pass, origin))) => spawn_unlock(ctx, pass, origin, done),
        Ok(None) => {
            state.phase = Phase::Unlock(UnlockPhase::Prompt {
                input: Default::default(),
                failures: 0,
                error: None,
                busy: false,
            })
        }
        Err(e) => {
            state.phase = Phase::Unlock(UnlockPhase::Prompt {
                input: Default::default(),
                failures: 0,
                error: Some(e.to_string()),
                busy: false,
            })
        }
    }
}

fn spawn_unlock(
    ctx: &AppContext,
    pass: keys::Passphrase,
    origin: PassphraseOrigin,
    done: &mpsc::UnboundedSender<Done>,
) {
    let path = ctx.keystore_path();
    let cache = ctx.keyring_cache();
    let done = done.clone();
    tokio::spawn(async move {
        let result = unlock::unlock(path, pass, origin, cache).await;
        let _ = done.send(Done::Unlocked(result));
    });
}

fn run_effect(
    effect: Effect,
    ctx: &AppContext,
    runtime: Option<&Runtime>,
    done: &mpsc::UnboundedSender<Done>,
) {
    match effect {
        Effect::Unlock(pass) => spawn_unlock(ctx, pass, PassphraseOrigin::Prompt, done),
        Effect::CreateKeystore(pass) => {
            let dir = ctx.keystore_dir();
            let name = ctx.config.keys.account.clone();
            let path = ctx.keystore_path();
            let cache = ctx.keyring_cache();
            let done = done.clone();
            // Create, then unlock with the passphrase just chosen: no second prompt.
            tokio::spawn(async move {
                let created = tokio::task::spawn_blocking(move || {
                    let info = keys::create_keystore(&dir, &name, &pass).map_err(|e| e.to_string())?;
                    tracing::info!(path = %info.path.display(), "new keystore created in the console");
                    Ok::<_, String>(pass)
                })
                .await
                .unwrap_or_else(|e| Err(format!("keystore task failed: {e}")));
                match created {
                    Ok(pass) => {
                        let result =
                            unlock::unlock(path, pass, PassphraseOrigin::Prompt, cache).await;
                        let _ = done.send(Done::Unlocked(result));
                    }
                    Err(e) => {
                        let _ = done.send(Done::CreateFailed(e));
                    }
                }
            });
        }
        Effect::Approve(id) | Effect::Reject(id) => {
            let Some(rt) = runtime else { return };
            let queue = rt.queue.clone();
            let approve = matches!(effect, Effect::Approve(_));
            let done = done.clone();
            tokio::spawn(async move {
                let (verb, result) = if approve {
                    ("approved", queue.approve(id).await)
                } else {
                    ("rejected", queue.reject(id, "rejected by operator").await)
                };
                let _ = done.send(Done::Journal {
                    id,
                    verb,
                    result: result.map(|_| ()).map_err(|e| e.to_string()),
                });
            });
        }
        Effect::Oracle(request) => {
            let Some(rt) = runtime else { return };
            // The outcome shows as the Oracle tab's last cycle.
            let _ = rt.oracle_requests.send(request);
        }
        Effect::Liquidator(request) => {
            let Some(rt) = runtime else { return };
            // The outcome shows on the Liquidations tab's next snapshot.
            let _ = rt.liquidator_requests.send(request);
        }
        Effect::AnyHedge(request) => {
            let Some(rt) = runtime else { return };
            // The outcome shows on the AnyHedge tab: its rows, or a journal line.
            let _ = rt.anyhedge_requests.send(request);
        }
        Effect::Perp(request) => {
            let Some(rt) = runtime else { return };
            // The outcome shows on the Perp tab: a proposal, a hedge, or a journal line.
            let _ = rt.perp_requests.send(request);
        }
        Effect::Pool(request) => {
            let Some(rt) = runtime else { return };
            // The outcome shows on the Pool tab's journal.
            let _ = rt.pool_requests.send(request);
        }
    }
}
