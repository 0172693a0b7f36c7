//! `hedgedesk config check | init | show`.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::{
    ConfigErrors, EXAMPLE_TOML, LoadedConfig, default_config_path, load_for_cli, process_env,
};
use crate::cli::{ConfigCommand, GlobalArgs};

/// Run one `config` subcommand. Config problems are printed (one per line, on stderr) and
/// give exit code 1; only unexpected I/O failures are errors.
pub fn run(cmd: &ConfigCommand, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Check => check(global),
        ConfigCommand::Init { force } => init(global, *force),
        ConfigCommand::Show => show(global),
    }
}

fn check(global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load_for_cli(global, process_env()) {
        Ok(loaded) => loaded,
        Err(errors) => return Ok(report(&errors)),
    };
    let mut out = std::io::stdout().lock();
    if loaded.file_found {
        writeln!(out, "config OK: {}", loaded.path.display())?;
    } else {
        writeln!(
            out,
            "no config file at {}; defaults in use",
            loaded.path.display()
        )?;
    }
    write_overrides(&mut out, &loaded, global)?;
    Ok(ExitCode::SUCCESS)
}

fn write_overrides(
    out: &mut impl Write,
    loaded: &LoadedConfig,
    global: &GlobalArgs,
) -> anyhow::Result<()> {
    for var in &loaded.overrides {
        writeln!(out, "override: {var}")?;
    }
    if let Some(level) = &global.log_level {
        writeln!(out, "override: --log-level/HEDGEDESK_LOG_LEVEL = {level}")?;
    }
    Ok(())
}

fn show(global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let loaded = match load_for_cli(global, process_env()) {
        Ok(loaded) => loaded,
        Err(errors) => return Ok(report(&errors)),
    };
    let body = toml::to_string_pretty(&loaded.config).context("rendering the config as TOML")?;
    let mut out = std::io::stdout().lock();
    if loaded.file_found {
        writeln!(out, "# effective config: {}", loaded.path.display())?;
    } else {
        writeln!(
            out,
            "# effective config: defaults (no file at {})",
            loaded.path.display()
        )?;
    }
    for var in &loaded.overrides {
        writeln!(out, "# override: {var}")?;
    }
    if let Some(level) = &global.log_level {
        writeln!(out, "# override: --log-level/HEDGEDESK_LOG_LEVEL = {level}")?;
    }
    writeln!(out)?;
    out.write_all(body.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn init(global: &GlobalArgs, force: bool) -> anyhow::Result<ExitCode> {
    let path = global.config.clone().unwrap_or_else(default_config_path);
    if path.exists() && !force {
        eprintln!(
            "config: {} already exists; not replacing it (use `hedgedesk config init --force` to)",
            path.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    fs::write(&path, EXAMPLE_TOML).with_context(|| format!("writing {}", path.display()))?;
    println!("wrote config: {}", path.display());

    // The data dir as the new config (plus overrides and --data-dir) says.
    let loaded = match load_for_cli(global, process_env()) {
        Ok(loaded) => loaded,
        Err(errors) => return Ok(report(&errors)),
    };
    let config = &loaded.config;
    let data_dir = config.data_dir(global.data_dir.as_deref());
    for dir in [
        data_dir.clone(),
        config.keystore_dir(&data_dir),
        config.logs_dir(&data_dir),
    ] {
        create_private_dir(&dir)?;
    }
    println!("data dir: {}", data_dir.display());
    Ok(ExitCode::SUCCESS)
}

/// Create `dir` (and its parents) and make it readable by its owner only.
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("making {} private (0700)", dir.display()))?;
    }
    #[cfg(not(unix))]
    builder
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    Ok(())
}

/// Print `config: N problem(s) in <path>` and the problems to stderr; exit code 1.
fn report(errors: &ConfigErrors) -> ExitCode {
    let mut err = std::io::stderr().lock();
    // Nothing sensible to do if stderr is gone.
    let _ = writeln!(err, "{}", errors.summary());
    for problem in &errors.problems {
        let _ = writeln!(err, "{problem}");
    }
    ExitCode::FAILURE
}
