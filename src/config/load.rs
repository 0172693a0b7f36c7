//! Loading: read the file, lay the `HEDGEDESK_*` overrides and flags over it, decode,
//! validate, and say where every bad value came from.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::decode::{self, RawProblem};
use super::env;
use super::error::{ConfigErrors, Origin, Problem};
use super::keypath::KeyPath;
use super::model::Config;
use super::paths::{APP_DIR, expand_tilde, platform_config_dir};
use super::source::SourceFile;
use super::validate;
use crate::cli::GlobalArgs;

/// A config that loaded and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedConfig {
    pub config: Config,
    /// The file read, or that would have been read.
    pub path: PathBuf,
    /// Whether that file exists; without it every key is at its default (or overridden).
    pub file_found: bool,
    /// The `HEDGEDESK_*` variables applied, sorted.
    pub overrides: Vec<String>,
}

/// `$XDG_CONFIG_HOME/hedgedesk/config.toml` (the platform config dir elsewhere).
pub fn default_config_path() -> PathBuf {
    platform_config_dir().join(APP_DIR).join("config.toml")
}

/// This process's environment, skipping variables that are not valid UTF-8.
pub fn process_env() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
}

/// Load the config at `path` (default: [`default_config_path`]) with the
/// `HEDGEDESK_<SECTION>__<KEY>` overrides found in `env`. A missing file is not an error:
/// defaults apply and `file_found` is false. Every problem is reported at once.
pub fn load(
    path: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<LoadedConfig, ConfigErrors> {
    load_with(path, env, None)
}

/// [`load`] as the command line asks for it: the file from `--config` / `HEDGEDESK_CONFIG`,
/// and `--log-level` / `HEDGEDESK_LOG_LEVEL` over `general.log_level` (validated the same).
pub fn load_for_cli(
    global: &GlobalArgs,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<LoadedConfig, ConfigErrors> {
    load_with(global.config.as_deref(), env, global.log_level.as_deref())
}

/// What `--log-level` problems name as their origin.
const LOG_LEVEL_FLAG: &str = "--log-level/HEDGEDESK_LOG_LEVEL";

fn load_with(
    path: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    log_level_flag: Option<&str>,
) -> Result<LoadedConfig, ConfigErrors> {
    let path = match path {
        Some(p) => p.to_str().map_or_else(|| p.to_path_buf(), expand_tilde),
        None => default_config_path(),
    };
    let fail = |problems: Vec<Problem>| ConfigErrors {
        path: path.clone(),
        problems,
    };

    let (source, mut table, file_found) = match std::fs::read_to_string(&path) {
        Ok(text) => {
            let (source, table) = SourceFile::parse(&path, text).map_err(|p| fail(vec![p]))?;
            (Some(source), table, true)
        }
        Err(e) if e.kind() == ErrorKind::NotFound => (None, Table::new(), false),
        Err(e) => {
            return Err(fail(vec![Problem::new(
                path.display().to_string(),
                format!("expected a readable config file, got: {e}"),
            )]));
        }
    };

    let mut problems = Vec::new();
    // Keys set by a variable or flag, and where from.
    let mut set_by: Vec<(KeyPath, Origin)> = Vec::new();
    let mut string_fallbacks = BTreeMap::new();
    let mut applied = Vec::new();

    let (overrides, bad_names) = env::collect(env);
    for (var, message) in bad_names {
        problems.push(Problem::new(var, message));
    }
    for o in overrides {
        let origin = Origin::Env(o.var.clone());
        match env::set(&mut table, &o.path, o.value) {
            Ok(()) => {
                applied.push(o.var);
                if let Some(raw) = o.raw {
                    string_fallbacks.insert(o.path.clone(), raw);
                }
                set_by.push((o.path, origin));
            }
            Err((at, message)) => problems.push(Problem {
                origin: Some(origin),
                ..Problem::new(at.to_string(), message)
            }),
        }
    }
    if let Some(level) = log_level_flag {
        let key = KeyPath::keys(["general", "log_level"]);
        let origin = Origin::Flag(LOG_LEVEL_FLAG.into());
        match env::set(&mut table, &key, Value::String(level.to_string())) {
            Ok(()) => set_by.push((key, origin)),
            Err((at, message)) => problems.push(Problem {
                origin: Some(origin),
                ..Problem::new(at.to_string(), message)
            }),
        }
    }

    let (config, mut raw) = decode::decode(table, &string_fallbacks);
    raw.extend(validate::validate(&config));
    for RawProblem { path: key, message } in raw {
        let origin = origin_of(&key, &set_by, source.as_ref());
        problems.push(Problem {
            origin,
            ..Problem::new(key.to_string(), message)
        });
    }

    if problems.is_empty() {
        Ok(LoadedConfig {
            config,
            path,
            file_found,
            overrides: applied,
        })
    } else {
        problems.sort_by(|a, b| a.key.cmp(&b.key));
        Err(fail(problems))
    }
}

/// Where the value at `key` came from: the variable or flag that set it (or something under
/// it), else its line in the file.
fn origin_of(
    key: &KeyPath,
    set_by: &[(KeyPath, Origin)],
    source: Option<&SourceFile>,
) -> Option<Origin> {
    let in_file = source.and_then(|s| s.origin(key).or_else(|| s.origin(&key.owning_key())));
    let by_override = set_by
        .iter()
        .find(|(set, _)| key.starts_with(set))
        .or_else(|| {
            // The key is a table that an override wrote into, and the file does not have it.
            in_file
                .is_none()
                .then(|| set_by.iter().find(|(set, _)| set.starts_with(key)))
                .flatten()
        });
    by_override.map(|(_, origin)| origin.clone()).or(in_file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{ActionKind, PolicyMode};

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_missing_file_means_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.toml");
        let loaded = load(Some(&path), env(&[])).unwrap();
        assert!(!loaded.file_found);
        assert_eq!(loaded.path, path);
        assert_eq!(loaded.config, Config::default());
        assert!(loaded.overrides.is_empty());
    }

    #[test]
    fn default_path_is_under_the_config_dir() {
        let p = default_config_path();
        assert!(p.ends_with("hedgedesk/config.toml"), "{}", p.display());
    }

    #[test]
    fn file_and_overrides_merge_and_overrides_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "[ui]\ntheme = \"default\"\ntick_ms = 500\n[actions.open_hedge]\nmode = \"off\"\n",
        );
        let loaded = load(
            Some(&path),
            env(&[
                ("HEDGEDESK_UI__THEME", "light"),
                ("HEDGEDESK_ACTIONS__LIQUIDATE__MODE", "auto"),
                ("HEDGEDESK_UI__KEYS__QUIT", r#"["q","ctrl-c"]"#),
                ("HEDGEDESK_KEYS__ACCOUNT", "1234"),
                ("HEDGEDESK_PASSPHRASE", "not config"),
                ("HEDGEDESK_CONFIG", "/elsewhere.toml"),
            ]),
        )
        .unwrap();
        assert!(loaded.file_found);
        let c = &loaded.config;
        assert_eq!(c.ui.theme, "light");
        assert_eq!(c.ui.tick_ms, 500);
        assert_eq!(c.ui.keys["quit"], vec!["q", "ctrl-c"]);
        assert_eq!(c.keys.account, "1234");
        assert_eq!(c.policy(ActionKind::Liquidate).mode, PolicyMode::Auto);
        assert_eq!(c.policy(ActionKind::OpenHedge).mode, PolicyMode::Off);
        assert_eq!(c.policy(ActionKind::PublishPrices).mode, PolicyMode::Auto);
        assert_eq!(
            loaded.overrides,
            [
                "HEDGEDESK_ACTIONS__LIQUIDATE__MODE",
                "HEDGEDESK_KEYS__ACCOUNT",
                "HEDGEDESK_UI__KEYS__QUIT",
                "HEDGEDESK_UI__THEME"
            ]
        );
    }

    #[test]
    fn every_problem_at_once_with_its_origin() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            "[general]\nlog_level = \"loud\"\n\n[ui]\ntick_ms = 10\ncolour = \"red\"\n\n\
             [actions.liquidate]\nmode = \"sometimes\"\n",
        );
        let err = load(
            Some(&path),
            env(&[
                ("HEDGEDESK_STORE__BUSY_TIMEOUT_MS", "\"soon\""),
                ("HEDGEDESK_WORKERS__RESTART_BACKOF_MS", "5"),
                ("HEDGEDESK_UI__TICK_MS", "20"),
            ]),
        )
        .unwrap_err();
        let p = path.display();
        let expected = format!(
            "actions.liquidate.mode: expected one of auto, confirm, off, got \"sometimes\" ({p}:9)\n\
             general.log_level: expected a level (off, error, warn, info, debug, trace) or a \
             filter such as `info,hedgedesk::store=debug`, got \"loud\" ({p}:2)\n\
             store.busy_timeout_ms: expected a whole number, 0 or more, got \"soon\" \
             (from HEDGEDESK_STORE__BUSY_TIMEOUT_MS)\n\
             ui.colour: expected a key of [ui] (keys, log_lines, theme, themes_dir, tick_ms), \
             got unknown key `colour` ({p}:6)\n\
             ui.tick_ms: expected a number from 50 to 60000, got 20 (from HEDGEDESK_UI__TICK_MS)\n\
             workers.restart_backof_ms: expected a key of [workers] (restart_backoff_max_ms, \
             restart_backoff_ms), got unknown key `restart_backof_ms` \
             (from HEDGEDESK_WORKERS__RESTART_BACKOF_MS)"
        );
        assert_eq!(err.to_string(), expected);
        assert_eq!(err.summary(), format!("config: 6 problem(s) in {p}"));
    }

    #[test]
    fn an_override_cannot_replace_a_value_with_a_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "[ui]\ntheme = \"default\"\n");
        let err = load(Some(&path), env(&[("HEDGEDESK_UI__THEME__DARK", "1")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ui.theme: expected a table holding `dark`, got \"default\" \
             (from HEDGEDESK_UI__THEME__DARK)"
        );
    }

    #[test]
    fn an_unknown_section_from_env_names_the_variable() {
        let err = load(
            Some(Path::new("/nonexistent/hedgedesk.toml")),
            env(&[("HEDGEDESK_COLORS__BG", "red")]),
        )
        .unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert_eq!(err.problems[0].key, "colors");
        assert_eq!(
            err.problems[0].origin,
            Some(Origin::Env("HEDGEDESK_COLORS__BG".into()))
        );
    }

    #[test]
    fn a_syntax_error_is_one_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "[ui\ntheme = 1\n");
        let err = load(Some(&path), env(&[])).unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert!(
            err.problems[0]
                .key
                .starts_with(&format!("{}:1:", path.display())),
            "{err}"
        );
    }

    #[test]
    fn an_unreadable_path_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(Some(dir.path()), env(&[])).unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert!(
            err.problems[0]
                .message
                .starts_with("expected a readable config file")
        );
    }

    #[test]
    fn the_log_level_flag_overrides_and_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "[general]\nlog_level = \"warn\"\n");
        let global = |level: &str| GlobalArgs {
            config: Some(path.clone()),
            data_dir: None,
            log_level: Some(level.into()),
            passphrase_file: None,
            keyring: false,
        };
        let ok = load_for_cli(&global("debug"), env(&[])).unwrap();
        assert_eq!(ok.config.general.log_level, "debug");
        let err = load_for_cli(&global("chatty"), env(&[])).unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert!(
            err.to_string()
                .ends_with("got \"chatty\" (from --log-level/HEDGEDESK_LOG_LEVEL)"),
            "{err}"
        );
    }
}
