//! `HEDGEDESK_<SECTION>__<KEY>[__<SUBKEY>]` environment overrides.
//!
//! A double underscore separates levels and names are lowercased, so
//! `HEDGEDESK_ACTIONS__LIQUIDATE__MODE=auto` sets `actions.liquidate.mode`. A value is read
//! as a TOML value when it parses as one (`true`, `5`, `["q", "ctrl-c"]`), else as a string.
//! Variables without `__` (`HEDGEDESK_CONFIG`, `HEDGEDESK_PASSPHRASE`, ...) are flags or
//! secrets read elsewhere, not config overrides.

use toml::{Table, Value};

use super::keypath::{KeyPath, Seg, describe};

/// The prefix every override variable starts with.
pub const ENV_PREFIX: &str = "HEDGEDESK_";
/// Separates the levels of a key path inside a variable name.
pub const ENV_SEPARATOR: &str = "__";

/// One override as read from the environment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EnvOverride {
    pub var: String,
    pub path: KeyPath,
    pub value: Value,
    /// The variable's text when it parsed as a non-string TOML value: used if the key
    /// turns out to want a string (`HEDGEDESK_KEYS__ACCOUNT=1234`).
    pub raw: Option<String>,
}

/// The overrides in `env`, sorted by variable name, and the variables whose names are
/// malformed (as `(variable, message)`).
pub(crate) fn collect(
    env: impl IntoIterator<Item = (String, String)>,
) -> (Vec<EnvOverride>, Vec<(String, String)>) {
    let mut overrides = Vec::new();
    let mut bad = Vec::new();
    for (var, text) in env {
        let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if !rest.contains(ENV_SEPARATOR) {
            continue;
        }
        let segments: Vec<String> = rest
            .split(ENV_SEPARATOR)
            .map(|s| s.to_ascii_lowercase())
            .collect();
        if segments.iter().any(String::is_empty) {
            bad.push((
                var.clone(),
                format!(
                    "expected {ENV_PREFIX}<SECTION>{ENV_SEPARATOR}<KEY>[{ENV_SEPARATOR}<SUBKEY>], \
                     got an empty level in the name"
                ),
            ));
            continue;
        }
        let (value, raw) = match parse_value(&text) {
            Some(v @ Value::String(_)) => (v, None),
            Some(v) => (v, Some(text)),
            None => (Value::String(text), None),
        };
        overrides.push(EnvOverride {
            var,
            path: KeyPath::keys(segments),
            value,
            raw,
        });
    }
    overrides.sort_by(|a, b| a.var.cmp(&b.var));
    bad.sort();
    (overrides, bad)
}

/// `text` as a single TOML value, if it is one.
fn parse_value(text: &str) -> Option<Value> {
    let mut table: Table = toml::from_str(&format!("v = {text}")).ok()?;
    if table.len() != 1 {
        return None;
    }
    table.remove("v")
}

/// Set `value` at `path` in `table`, creating tables on the way. Fails, with a message for
/// the path where it stopped, when a step on the way already holds something else.
pub(crate) fn set(
    table: &mut Table,
    path: &KeyPath,
    value: Value,
) -> Result<(), (KeyPath, String)> {
    let keys: Option<Vec<&str>> = path
        .0
        .iter()
        .map(|seg| match seg {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Index(_) => None,
        })
        .collect();
    let Some(keys) = keys else {
        return Err((
            path.clone(),
            "expected a key path, got an array index".into(),
        ));
    };
    let Some((last, parents)) = keys.split_last() else {
        return Err((path.clone(), "empty key path".into()));
    };
    let mut current = table;
    let mut walked = KeyPath::default();
    for (depth, key) in parents.iter().enumerate() {
        walked = walked.child(*key);
        let slot = current
            .entry((*key).to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        match slot {
            Value::Table(t) => current = t,
            other => {
                let inner = keys[depth + 1..].join(".");
                return Err((
                    walked,
                    format!(
                        "expected a table holding `{inner}`, got {}",
                        describe(other)
                    ),
                ));
            }
        }
    }
    current.insert((*last).to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_nested_names_and_toml_values() {
        let (overrides, bad) = collect(env(&[
            ("HEDGEDESK_UI__THEME", "light"),
            ("HEDGEDESK_ACTIONS__LIQUIDATE__MODE", "auto"),
            ("HEDGEDESK_UI__KEYS__QUIT", r#"["q","ctrl-c"]"#),
            ("HEDGEDESK_KEYS__KEYRING", "true"),
            ("HEDGEDESK_UI__TICK_MS", "250"),
            ("HEDGEDESK_KEYS__ACCOUNT", "1234"),
            ("HEDGEDESK_GENERAL__LOG_LEVEL", "info,hedgedesk=debug"),
            ("HEDGEDESK_UI__THEMES_DIR", "a\nb = 1"),
            ("HEDGEDESK_CONFIG", "/x.toml"),
            ("HEDGEDESK_PASSPHRASE", "secret"),
            ("HOME", "/root"),
        ]));
        assert!(bad.is_empty());
        let got: Vec<(String, String, Value)> = overrides
            .iter()
            .map(|o| (o.var.clone(), o.path.to_string(), o.value.clone()))
            .collect();
        let s = |v: &str| Value::String(v.into());
        assert_eq!(
            got,
            vec![
                (
                    "HEDGEDESK_ACTIONS__LIQUIDATE__MODE".into(),
                    "actions.liquidate.mode".into(),
                    s("auto")
                ),
                (
                    "HEDGEDESK_GENERAL__LOG_LEVEL".into(),
                    "general.log_level".into(),
                    s("info,hedgedesk=debug")
                ),
                (
                    "HEDGEDESK_KEYS__ACCOUNT".into(),
                    "keys.account".into(),
                    Value::Integer(1234)
                ),
                (
                    "HEDGEDESK_KEYS__KEYRING".into(),
                    "keys.keyring".into(),
                    Value::Boolean(true)
                ),
                (
                    "HEDGEDESK_UI__KEYS__QUIT".into(),
                    "ui.keys.quit".into(),
                    Value::Array(vec![s("q"), s("ctrl-c")])
                ),
                ("HEDGEDESK_UI__THEME".into(), "ui.theme".into(), s("light")),
                (
                    "HEDGEDESK_UI__THEMES_DIR".into(),
                    "ui.themes_dir".into(),
                    s("a\nb = 1")
                ),
                (
                    "HEDGEDESK_UI__TICK_MS".into(),
                    "ui.tick_ms".into(),
                    Value::Integer(250)
                ),
            ]
        );
        assert_eq!(overrides[2].raw.as_deref(), Some("1234"));
        assert_eq!(overrides[0].raw, None);
    }

    #[test]
    fn a_value_cannot_smuggle_extra_keys() {
        assert_eq!(parse_value("1\nother = 2"), None);
        assert_eq!(parse_value("5"), Some(Value::Integer(5)));
        assert_eq!(parse_value("light"), None);
    }

    #[test]
    fn empty_levels_are_reported() {
        let (overrides, bad) = collect(env(&[("HEDGEDESK_UI____THEME", "x")]));
        assert!(overrides.is_empty());
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].0, "HEDGEDESK_UI____THEME");
    }

    #[test]
    fn set_creates_tables_and_refuses_to_descend_into_values() {
        let mut t: Table = toml::from_str("[ui]\ntheme = 'dark'\n").unwrap();
        set(
            &mut t,
            &KeyPath::keys(["ui", "keys", "quit"]),
            Value::Integer(1),
        )
        .unwrap();
        assert_eq!(t["ui"]["keys"]["quit"].as_integer(), Some(1));
        let (at, msg) = set(
            &mut t,
            &KeyPath::keys(["ui", "theme", "x"]),
            Value::Integer(1),
        )
        .unwrap_err();
        assert_eq!(at.to_string(), "ui.theme");
        assert_eq!(msg, "expected a table holding `x`, got \"dark\"");
    }
}
