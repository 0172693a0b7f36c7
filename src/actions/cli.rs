//! `hedgedesk actions ...` and each desk's `actions` listing: read-only views of the
//! journal for scripts and for checking what a console session did.

use std::process::ExitCode;

use crate::actions::{Action, ActionState};
use crate::cli::{ActionListArgs, ActionsCommand};
use crate::desks::Desk;
use crate::store::{ActionFilter, Store};

pub fn run(cmd: &ActionsCommand, store: &Store) -> anyhow::Result<ExitCode> {
    match cmd {
        ActionsCommand::List(args) => list(args, None, store),
        ActionsCommand::Show { id, json } => {
            let Some((action, events)) = store.action_with_events_blocking(*id)? else {
                anyhow::bail!("id: no action {id} in the journal");
            };
            if *json {
                let value = serde_json::json!({ "action": action, "events": events });
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                println!("{}", render_line(&action));
                println!("plan: {}", serde_json::to_string_pretty(&action.plan)?);
                for e in events {
                    println!(
                        "  {}  {} -> {}  by {}{}",
                        format_ms(e.at),
                        e.from.map(|s| s.as_str()).unwrap_or("-"),
                        e.to,
                        e.actor.as_str(),
                        e.note.map(|n| format!("  ({n})")).unwrap_or_default()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn list(args: &ActionListArgs, desk: Option<Desk>, store: &Store) -> anyhow::Result<ExitCode> {
    let state = args
        .state
        .as_deref()
        .map(str::parse::<ActionState>)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--state: {e}"))?;
    let rows = store.list_actions_blocking(ActionFilter {
        state,
        desk,
        limit: args.limit,
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if rows.is_empty() {
        println!("no actions");
    } else {
        for a in &rows {
            println!("{}", render_line(a));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn render_line(a: &Action) -> String {
    format!(
        "#{:<6} {:<10} {:<18} {:<10} {}  {}",
        a.id,
        a.desk,
        a.kind,
        a.state,
        format_ms(a.updated_at),
        a.summary
    )
}

fn format_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| ms.to_string())
}
