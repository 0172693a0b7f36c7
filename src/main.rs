use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use hedgedesk::app::logging::LogMode;
use hedgedesk::app::{AppContext, headless};
use hedgedesk::cli::{Cli, Command, CompletionShell, DeskCommand, RunArgs};
use hedgedesk::desks::Desk;
use hedgedesk::{actions, config, devnet, keys, tui};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hedgedesk: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let command = cli.command.unwrap_or(Command::Run(RunArgs::default()));
    match command {
        // Config commands report config problems themselves, so they run before a
        // context (which needs a valid config) exists.
        Command::Config(cmd) => config::cli::run(&cmd, &cli.global),
        Command::Completions { shell } => {
            let shell = match shell {
                CompletionShell::Bash => clap_complete::Shell::Bash,
                CompletionShell::Zsh => clap_complete::Shell::Zsh,
                CompletionShell::Fish => clap_complete::Shell::Fish,
            };
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "hedgedesk",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => {
            let ctx = AppContext::load(&cli.global)?;
            if args.headless {
                headless::run(ctx)
            } else {
                if !std::io::stdout().is_terminal() {
                    anyhow::bail!(
                        "the console needs a terminal; use `hedgedesk run --headless` without one"
                    );
                }
                tui::run(ctx)
            }
        }
        Command::Keys(cmd) => {
            let ctx = AppContext::load(&cli.global)?;
            let _guard = command_logging(&ctx)?;
            let keys_ctx = keys::cli::KeysContext {
                keystore_dir: ctx.keystore_dir(),
                default_account: ctx.config.keys.account.clone(),
                use_keyring: ctx.use_keyring(),
                interactive: std::io::stdin().is_terminal(),
                sources: ctx.sources,
            };
            keys::cli::run(&cmd, &keys_ctx)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Actions(cmd) => {
            let ctx = AppContext::load(&cli.global)?;
            let _guard = command_logging(&ctx)?;
            actions::cli::run(&cmd, &ctx.open_store()?)
        }
        Command::Oracle(cmd) => {
            let ctx = AppContext::load(&cli.global)?;
            let _guard = command_logging(&ctx)?;
            hedgedesk::oracle::cli::run(cmd, &ctx)
        }
        Command::Liquidator(cmd) => desk_command(Desk::Liquidator, cmd, &cli.global),
        Command::Anyhedge(cmd) => hedgedesk::anyhedge::cli::run(cmd, &cli.global),
        Command::Perp(cmd) => hedgedesk::perp::cli::run(cmd, &cli.global),
        Command::Pool(cmd) => hedgedesk::pool::cli::run(cmd, &cli.global),
        Command::Devnet(cmd) => {
            let ctx = AppContext::load(&cli.global)?;
            let _guard = command_logging(&ctx)?;
            devnet::cli::run(&cmd, &ctx)
        }
        Command::Demo(args) => hedgedesk::demo::run(&args, &cli.global),
    }
}

fn desk_command(
    desk: Desk,
    cmd: DeskCommand,
    global: &hedgedesk::cli::GlobalArgs,
) -> anyhow::Result<ExitCode> {
    let ctx = AppContext::load(global)?;
    let _guard = command_logging(&ctx)?;
    match cmd {
        DeskCommand::Actions(args) => actions::cli::list(&args, Some(desk), &ctx.open_store()?),
    }
}

fn command_logging(
    ctx: &AppContext,
) -> anyhow::Result<tracing_appender::non_blocking::WorkerGuard> {
    ctx.init_logging(LogMode::Command)
}
