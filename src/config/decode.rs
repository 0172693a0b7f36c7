//! The merged TOML table -> typed `Config`, collecting every problem instead of stopping
//! at the first.
//!
//! The user's table is laid over the serialized defaults, so a section or action kind the
//! user leaves out keeps its defaults. Deserialization runs through `serde_ignored` (every
//! unknown key) inside `serde_path_to_error` (where a value is wrong). A wrong value is
//! recorded, put back to its default (or dropped, for a list element) and deserialization
//! retried, until it goes through.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::{Table, Value};

use super::keypath::{self, KeyPath, Seg, describe};
use super::model::Config;
use crate::actions::ActionKind;

/// A problem at a key path, before its origin is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawProblem {
    pub path: KeyPath,
    pub message: String,
}

impl RawProblem {
    pub fn new(path: KeyPath, message: impl Into<String>) -> Self {
        RawProblem {
            path,
            message: message.into(),
        }
    }
}

/// Upper bound on retries: each one removes or resets a value, so a document can need at
/// most about as many as it has values; this only guards against a loop.
const MAX_ATTEMPTS: usize = 10_000;

/// The defaults as a TOML table: the base the user's table is laid over.
pub(crate) fn default_table() -> Table {
    Table::try_from(Config::default()).expect("the default config serializes to a TOML table")
}

/// Decode `user` (file and overrides merged). `string_fallbacks` holds, for keys set from
/// the environment with a value that parsed as a non-string TOML value, the variable's raw
/// text: used instead when that key wants a string.
pub(crate) fn decode(
    mut user: Table,
    string_fallbacks: &BTreeMap<KeyPath, String>,
) -> (Config, Vec<RawProblem>) {
    let mut problems = Vec::new();
    drop_unknown_action_kinds(&mut user, &mut problems);

    let defaults = default_table();
    let mut table = defaults.clone();
    keypath::deep_merge(&mut table, user);

    // For list elements dropped so far: the list's path -> original indices dropped, so a
    // later error in the same list still names the index the user wrote.
    let mut dropped: BTreeMap<KeyPath, Vec<usize>> = BTreeMap::new();

    for _ in 0..MAX_ATTEMPTS {
        let mut ignored = Vec::new();
        let mut track = serde_path_to_error::Track::new();
        let result = {
            let mut on_ignored = |path: serde_ignored::Path<'_>| ignored.push(ignored_path(&path));
            let de = serde_ignored::Deserializer::new(Value::Table(table.clone()), &mut on_ignored);
            Config::deserialize(serde_path_to_error::Deserializer::new(de, &mut track))
        };
        let err = match result {
            Ok(config) => {
                for path in ignored {
                    problems.push(unknown_key(&path, &defaults));
                }
                return (config, problems);
            }
            Err(err) => err,
        };
        let path = error_path(&track.path());
        let message = err.message().to_string();
        let expected = expected_of(&message);

        // A key set from the environment that wants a string gets the variable's text.
        if expected.as_deref() == Some("a string")
            && let Some(raw) = string_fallbacks.get(&path)
            && keypath::get(&table, &path).is_some_and(|v| !v.is_str())
        {
            keypath::replace(&mut table, &path, Value::String(raw.clone()));
            continue;
        }

        let found = keypath::get(&table, &path).map(describe);
        let reported = original_index_path(&path, &dropped);
        problems.push(RawProblem::new(
            reported.clone(),
            explain(&message, expected.as_deref(), found.as_deref()),
        ));

        let repaired = match keypath::get(&defaults, &path) {
            Some(default) => keypath::replace(&mut table, &path, default.clone()),
            None => {
                let removed = keypath::remove(&mut table, &path);
                if removed && let Some(Seg::Index(original)) = reported.0.last() {
                    dropped.entry(path.parent()).or_default().push(*original);
                }
                removed
            }
        };
        if !repaired {
            // Nothing left to take away at that path: give up on the rest, keep what we have.
            break;
        }
    }
    (Config::default(), problems)
}

/// `actions.<name>` must name a known kind. Unknown ones are reported and dropped before
/// deserializing, so the known kinds next to them are still checked.
fn drop_unknown_action_kinds(user: &mut Table, problems: &mut Vec<RawProblem>) {
    let Some(Value::Table(actions)) = user.get_mut("actions") else {
        return;
    };
    let unknown: Vec<String> = actions
        .keys()
        .filter(|name| name.parse::<ActionKind>().is_err())
        .cloned()
        .collect();
    for name in unknown {
        actions.remove(&name);
        let kinds: Vec<&str> = ActionKind::ALL.iter().map(|k| k.as_str()).collect();
        problems.push(RawProblem::new(
            KeyPath::keys(["actions", name.as_str()]),
            format!(
                "expected an action kind ({}), got unknown kind `{name}`",
                kinds.join(", ")
            ),
        ));
    }
}

fn ignored_path(path: &serde_ignored::Path<'_>) -> KeyPath {
    fn walk(path: &serde_ignored::Path<'_>, out: &mut Vec<Seg>) {
        use serde_ignored::Path as P;
        match path {
            P::Root => {}
            P::Seq { parent, index } => {
                walk(parent, out);
                out.push(Seg::Index(*index));
            }
            P::Map { parent, key } => {
                walk(parent, out);
                out.push(Seg::Key(key.clone()));
            }
            P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
                walk(parent, out)
            }
        }
    }
    let mut segs = Vec::new();
    walk(path, &mut segs);
    KeyPath(segs)
}

fn error_path(path: &serde_path_to_error::Path) -> KeyPath {
    use serde_path_to_error::Segment;
    KeyPath(
        path.iter()
            .filter_map(|seg| match seg {
                Segment::Seq { index } => Some(Seg::Index(*index)),
                Segment::Map { key } => Some(Seg::Key(key.clone())),
                Segment::Enum { .. } => None,
                Segment::Unknown => Some(Seg::Key("?".into())),
            })
            .collect(),
    )
}

/// `path` with its last index mapped back to the index the user wrote, given the elements
/// of that list dropped so far.
fn original_index_path(path: &KeyPath, dropped: &BTreeMap<KeyPath, Vec<usize>>) -> KeyPath {
    let Some(Seg::Index(current)) = path.0.last() else {
        return path.clone();
    };
    let Some(gone) = dropped.get(&path.parent()) else {
        return path.clone();
    };
    let original = (0..)
        .filter(|i| !gone.contains(i))
        .nth(*current)
        .unwrap_or(*current);
    let mut segs = path.0.clone();
    *segs.last_mut().expect("path ends in an index") = Seg::Index(original);
    KeyPath(segs)
}

fn unknown_key(path: &KeyPath, defaults: &Table) -> RawProblem {
    let parent = path.parent();
    let name = match path.0.last() {
        Some(Seg::Key(k)) => k.clone(),
        Some(Seg::Index(i)) => i.to_string(),
        None => String::new(),
    };
    let known: Vec<&str> = if parent.is_root() {
        defaults.keys().map(String::as_str).collect()
    } else {
        match keypath::get(defaults, &parent) {
            Some(Value::Table(t)) => t.keys().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    };
    let message = if parent.is_root() {
        format!(
            "expected a section ({}), got unknown section `{name}`",
            known.join(", ")
        )
    } else if known.is_empty() {
        format!("expected no key here, got unknown key `{name}`")
    } else {
        format!(
            "expected a key of [{parent}] ({}), got unknown key `{name}`",
            known.join(", ")
        )
    };
    RawProblem::new(path.clone(), message)
}

/// What serde's message says was expected, in words an operator reads.
fn expected_of(message: &str) -> Option<String> {
    let raw = if let Some(rest) = message.strip_prefix("unknown variant `") {
        rest.split_once("`, expected ").map(|(_, exp)| exp)?
    } else if message.starts_with("invalid type: ") || message.starts_with("invalid value: ") {
        message.rsplit_once(", expected ").map(|(_, exp)| exp)?
    } else {
        return None;
    };
    Some(plain_expected(raw))
}

fn plain_expected(raw: &str) -> String {
    match raw {
        "u8" => "a whole number from 0 to 255".into(),
        "u16" => "a whole number from 0 to 65535".into(),
        "u32" => format!("a whole number from 0 to {}", u32::MAX),
        "u64" | "usize" | "u128" => "a whole number, 0 or more".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" | "i128" => "a whole number".into(),
        "f32" | "f64" => "a number".into(),
        "a boolean" => "true or false".into(),
        "a sequence" => "a list".into(),
        "a map" => "a table".into(),
        s if s.starts_with("struct ") => "a table".into(),
        s if s.starts_with("one of ") => s.replace('`', ""),
        "variant identifier" => "a known name".into(),
        s => s.to_string(),
    }
}

/// `<expected>, got <found>`, or serde's own words when it said something else.
fn explain(message: &str, expected: Option<&str>, found: Option<&str>) -> String {
    match (expected, found) {
        (Some(expected), Some(found)) => format!("expected {expected}, got {found}"),
        (Some(expected), None) => format!("expected {expected}"),
        (None, Some(found)) => format!("{}, got {found}", message.trim()),
        (None, None) => message.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::PolicyMode;

    fn run(src: &str) -> (Config, Vec<String>) {
        let table: Table = toml::from_str(src).unwrap();
        let (config, problems) = decode(table, &BTreeMap::new());
        let lines = problems
            .iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect();
        (config, lines)
    }

    #[test]
    fn defaults_round_trip() {
        let (config, problems) = run("");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config, Config::default());
    }

    #[test]
    fn every_wrong_value_is_reported_and_defaults_fill_in() {
        let (config, mut problems) = run(r#"
            [general]
            log_retention_days = -3
            [ui]
            tick_ms = "fast"
            theme = 7
            log_lines = 5000000000
            [keys]
            keyring = "yes"
            [store]
            busy_timeout_ms = 1.5
            [actions.liquidate]
            mode = "autox"
        "#);
        problems.sort();
        assert_eq!(
            problems,
            vec![
                "general.log_retention_days: expected a whole number from 0 to 4294967295, got -3",
                "keys.keyring: expected true or false, got \"yes\"",
                "store.busy_timeout_ms: expected a whole number, 0 or more, got 1.5",
                "ui.theme: expected a string, got 7",
                "ui.tick_ms: expected a whole number, 0 or more, got \"fast\"",
                "ui.log_lines: expected a whole number from 0 to 4294967295, got 5000000000",
                "actions.liquidate.mode: expected one of auto, confirm, off, got \"autox\"",
            ]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
            .tap_sort(),
        );
        assert_eq!(config.ui, Config::default().ui);
        assert_eq!(
            config.policy(ActionKind::Liquidate).mode,
            PolicyMode::Confirm
        );
    }

    trait TapSort {
        fn tap_sort(self) -> Self;
    }
    impl TapSort for Vec<String> {
        fn tap_sort(mut self) -> Self {
            self.sort();
            self
        }
    }

    #[test]
    fn unknown_sections_keys_and_kinds_are_named() {
        let (_, mut problems) = run(r#"
            [colors]
            x = 1
            [ui]
            colour = "red"
            [actions.liquidat]
            mode = "auto"
            [actions.liquidate]
            mood = "auto"
        "#);
        problems.sort();
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].starts_with(
            "actions.liquidat: expected an action kind (publish_prices, freeze_position, liquidate,"
        ));
        assert!(problems[1].starts_with(
            "actions.liquidate.mood: expected a key of [actions.liquidate] (max_gas_cost_gwei, \
             min_profit_usd_cents, mode), got unknown key `mood`"
        ));
        assert!(problems[2].starts_with("colors: expected a section ("));
        assert!(problems[2].ends_with("got unknown section `colors`"));
        assert!(problems[3].starts_with("ui.colour: expected a key of [ui] ("));
    }

    #[test]
    fn partial_actions_keep_each_kinds_default_mode() {
        let (config, problems) = run(r#"
            [actions.publish_prices]
            max_gas_cost_gwei = 50
            [actions.liquidate]
            mode = "auto"
        "#);
        assert!(problems.is_empty(), "{problems:?}");
        let publish = config.policy(ActionKind::PublishPrices);
        assert_eq!(publish.mode, PolicyMode::Auto);
        assert_eq!(publish.max_gas_cost_gwei, 50);
        assert_eq!(config.policy(ActionKind::Liquidate).mode, PolicyMode::Auto);
        for kind in ActionKind::ALL {
            if !matches!(kind, ActionKind::PublishPrices | ActionKind::Liquidate) {
                assert_eq!(
                    config.policy(kind),
                    &super::super::ActionPolicyConfig::default_for(kind)
                );
            }
        }
        assert_eq!(config.actions.len(), ActionKind::ALL.len());
    }

    #[test]
    fn every_bad_list_element_is_named_by_its_own_index() {
        let (config, problems) = run(r#"
            [ui.keys]
            quit = [1, "q", true, "ctrl-c", 2.5]
            help = "?"
        "#);
        assert_eq!(
            problems,
            vec![
                "ui.keys.help: expected a list, got \"?\"",
                "ui.keys.quit[0]: expected a string, got 1",
                "ui.keys.quit[2]: expected a string, got true",
                "ui.keys.quit[4]: expected a string, got 2.5",
            ]
        );
        assert_eq!(config.ui.keys["quit"], vec!["q", "ctrl-c"]);
    }

    #[test]
    fn a_section_of_the_wrong_type_is_one_problem() {
        let (config, problems) = run("ui = 5\nactions = \"all\"\n");
        assert_eq!(
            problems,
            vec![
                "actions: expected a table, got \"all\"",
                "ui: expected a table, got 5",
            ]
        );
        assert_eq!(config, Config::default());
    }

    #[test]
    fn env_text_is_used_where_a_string_is_wanted() {
        let table: Table = toml::from_str("[keys]\naccount = 1234\n").unwrap();
        let fallbacks = BTreeMap::from([(KeyPath::keys(["keys", "account"]), "1234".to_string())]);
        let (config, problems) = decode(table, &fallbacks);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config.keys.account, "1234");
    }
}
