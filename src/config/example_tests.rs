//! `config.example.toml` is the defaults, and documents every key.

use std::collections::BTreeMap;

use toml::{Table, Value};

use super::decode::{decode, default_table};
use super::{Config, EXAMPLE_TOML};

#[test]
fn the_example_is_exactly_the_defaults() {
    let table: Table = toml::from_str(EXAMPLE_TOML).expect("config.example.toml is valid TOML");
    let (config, problems) = decode(table, &BTreeMap::new());
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(config, Config::default());
    assert_eq!(
        toml::from_str::<Config>(EXAMPLE_TOML).unwrap(),
        Config::default()
    );
}

#[test]
fn the_example_names_every_key() {
    fn walk(defaults: &Table, example: &Table, at: &str, missing: &mut Vec<String>) {
        for (key, value) in defaults {
            let path = if at.is_empty() {
                key.clone()
            } else {
                format!("{at}.{key}")
            };
            match (value, example.get(key)) {
                (_, None) => missing.push(path),
                (Value::Table(d), Some(Value::Table(e))) => walk(d, e, &path, missing),
                (Value::Table(_), Some(_)) => missing.push(format!("{path} (not a table)")),
                _ => {}
            }
        }
    }
    let example: Table = toml::from_str(EXAMPLE_TOML).unwrap();
    let mut missing = Vec::new();
    walk(&default_table(), &example, "", &mut missing);
    assert!(
        missing.is_empty(),
        "config.example.toml does not document: {}",
        missing.join(", ")
    );
}

#[test]
fn every_key_in_the_example_has_a_comment() {
    // A `key = value` line directly under a comment (or a section header under one).
    let lines: Vec<&str> = EXAMPLE_TOML.lines().collect();
    let mut undocumented = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('[') {
            continue;
        }
        let documented = lines[..i]
            .iter()
            .rev()
            .map(|l| l.trim())
            .take_while(|l| !l.is_empty())
            .any(|l| l.starts_with('#'));
        if !documented {
            undocumented.push(line.to_string());
        }
    }
    assert!(undocumented.is_empty(), "{undocumented:#?}");
}

#[test]
fn the_example_lists_every_rebindable_command() {
    let missing: Vec<&str> = crate::tui::keymap::COMMANDS
        .iter()
        .map(|(name, ..)| *name)
        .filter(|name| {
            !EXAMPLE_TOML.contains(&format!("#   {name} ("))
                && !EXAMPLE_TOML.contains(&format!(" {name} ("))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "config.example.toml [ui.keys] does not list: {}",
        missing.join(", ")
    );
}
