//! Where log lines go: a daily file in `<data_dir>/logs` always; JSON on stdout in
//! headless mode; the Logs tab's buffer in the console; warnings on stderr for CLI
//! commands. Log calls name paths, ids and addresses, never secrets.

use std::path::Path;
use std::sync::Arc;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

use super::log_buffer::LogBuffer;

pub enum LogMode {
    /// The console: the screen belongs to the TUI, so nothing goes to the terminal.
    Console(Arc<LogBuffer>),
    /// Headless: JSON lines on stdout for a supervisor (systemd, docker) to collect.
    Headless,
    /// One-shot commands: warnings and errors on stderr.
    Command,
}

/// Installs the global subscriber. Keep the guard alive until exit so the file
/// writer flushes.
pub fn init(
    mode: LogMode,
    level: &str,
    logs_dir: &Path,
    retention_days: u32,
) -> anyhow::Result<WorkerGuard> {
    std::fs::create_dir_all(logs_dir)
        .map_err(|e| anyhow::anyhow!("cannot create log dir {}: {e}", logs_dir.display()))?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("hedgedesk")
        .filename_suffix("log")
        .max_log_files(retention_days.max(1) as usize)
        .build(logs_dir)
        .map_err(|e| anyhow::anyhow!("cannot open log file in {}: {e}", logs_dir.display()))?;
    let (file_writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_new(level)
        .map_err(|e| anyhow::anyhow!("general.log_level: not a valid level or filter: {e}"))?;
    let file_layer = fmt::layer().with_writer(file_writer).with_ansi(false);

    let registry = tracing_subscriber::registry().with(filter).with(file_layer);
    let result = match mode {
        LogMode::Console(buffer) => registry.with(buffer.layer()).try_init(),
        LogMode::Headless => registry
            .with(fmt::layer().json().with_writer(std::io::stdout))
            .try_init(),
        LogMode::Command => registry
            .with(
                fmt::layer()
                    .with_writer(std::io::stderr)
                    .without_time()
                    .with_target(false)
                    .with_filter(tracing_subscriber::filter::LevelFilter::WARN),
            )
            .try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))?;
    Ok(guard)
}
