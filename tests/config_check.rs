//! `hedgedesk config check | init | show` through the real binary: every invalid fixture
//! fails naming each bad key, the example config passes, env overrides are named.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_hedgedesk");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/invalid")
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml")
}

/// The binary with a private HOME and XDG dirs and no inherited `HEDGEDESK_*` variables.
fn hedgedesk(home: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HEDGEDESK_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("NO_COLOR", "1");
    cmd
}

fn run(cmd: &mut Command) -> (Output, String, String) {
    let out = cmd.output().expect("run hedgedesk");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

/// The key paths a fixture's first line promises: `# expect: a.b, c`.
fn expected_keys(text: &str) -> Vec<String> {
    let first = text.lines().next().unwrap_or_default();
    let list = first
        .strip_prefix("# expect:")
        .unwrap_or_else(|| panic!("fixture must start with `# expect:`, got {first:?}"));
    list.split(',')
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect()
}

#[test]
fn every_invalid_fixture_fails_naming_each_bad_key() {
    let home = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "only {} fixtures", files.len());

    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let expected = expected_keys(&text);
        let (out, _, stderr) = run(hedgedesk(home.path())
            .args(["config", "check", "--config"])
            .arg(file));
        let name = file.file_name().unwrap().to_string_lossy();
        let mut lines = stderr.lines();
        let header = lines.next().unwrap_or_default();
        let problems: Vec<&str> = lines.collect();

        let mut wrong = Vec::new();
        if out.status.code() != Some(1) {
            wrong.push(format!("exit status {:?}, expected 1", out.status.code()));
        }
        let want_header = format!(
            "config: {} problem(s) in {}",
            expected.len(),
            file.display()
        );
        if header != want_header {
            wrong.push(format!("header {header:?}, expected {want_header:?}"));
        }
        if problems.len() != expected.len() {
            wrong.push(format!(
                "{} problem lines, expected {}",
                problems.len(),
                expected.len()
            ));
        }
        for key in &expected {
            let named = problems
                .iter()
                .any(|line| line.starts_with(&format!("{key}: ")));
            if !named {
                wrong.push(format!("no problem line for `{key}`"));
            }
        }
        for line in &problems {
            // Every problem in a file fixture points at its line in the file.
            if !line.contains(&format!("({}:", file.display())) {
                wrong.push(format!("no file:line in {line:?}"));
            }
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{name}: {}\n--- stderr:\n{stderr}",
                wrong.join("; ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_example_config_checks_clean() {
    let home = tempfile::tempdir().unwrap();
    let (out, stdout, stderr) = run(hedgedesk(home.path())
        .args(["config", "check", "--config"])
        .arg(example()));
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(stdout, format!("config OK: {}\n", example().display()));
    assert_eq!(stderr, "");
}

#[test]
fn a_missing_file_means_defaults() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("nowhere/config.toml");
    let (out, stdout, stderr) = run(hedgedesk(home.path())
        .args(["config", "check", "--config"])
        .arg(&missing));
    assert!(out.status.success(), "stderr: {stderr}");
    assert_eq!(
        stdout,
        format!("no config file at {}; defaults in use\n", missing.display())
    );

    // Without --config: the default path under XDG_CONFIG_HOME.
    let (out, stdout, _) = run(hedgedesk(home.path()).args(["config", "check"]));
    assert!(out.status.success());
    let default = home.path().join("config/hedgedesk/config.toml");
    assert!(stdout.contains(&default.display().to_string()), "{stdout}");
}

#[test]
fn a_bad_env_override_names_the_variable() {
    let home = tempfile::tempdir().unwrap();
    let (out, _, stderr) = run(hedgedesk(home.path())
        .args(["config", "check", "--config"])
        .arg(example())
        .env("HEDGEDESK_UI__TICK_MS", "5")
        .env("HEDGEDESK_ACTIONS__LIQUIDATE__MODE", "yolo")
        .env("HEDGEDESK_STORE__COLOUR", "red"));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[0],
        format!("config: 3 problem(s) in {}", example().display())
    );
    assert_eq!(lines.len(), 4, "{stderr}");
    assert!(lines[1].starts_with("actions.liquidate.mode: expected one of auto, confirm, off"));
    assert!(lines[1].ends_with("got \"yolo\" (from HEDGEDESK_ACTIONS__LIQUIDATE__MODE)"));
    assert!(lines[2].starts_with("store.colour: "));
    assert!(lines[2].ends_with("(from HEDGEDESK_STORE__COLOUR)"));
    assert_eq!(
        lines[3],
        "ui.tick_ms: expected a number from 50 to 60000, got 5 (from HEDGEDESK_UI__TICK_MS)"
    );
}

#[test]
fn a_good_env_override_applies_and_is_listed() {
    let home = tempfile::tempdir().unwrap();
    let with_env = |cmd: &mut Command| {
        cmd.arg("--config")
            .arg(example())
            .env("HEDGEDESK_UI__THEME", "light")
            .env("HEDGEDESK_ACTIONS__LIQUIDATE__MODE", "auto")
            .env("HEDGEDESK_UI__KEYS__QUIT", r#"["q","ctrl-q"]"#)
            .env("HEDGEDESK_PASSPHRASE", "not a config key");
    };
    let mut check = hedgedesk(home.path());
    check.args(["config", "check"]);
    with_env(&mut check);
    let (out, stdout, stderr) = run(&mut check);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "config OK: {}\noverride: HEDGEDESK_ACTIONS__LIQUIDATE__MODE\n\
             override: HEDGEDESK_UI__KEYS__QUIT\noverride: HEDGEDESK_UI__THEME\n",
            example().display()
        )
    );

    let mut show = hedgedesk(home.path());
    show.args(["config", "show"]);
    with_env(&mut show);
    let (out, stdout, stderr) = run(&mut show);
    assert!(out.status.success(), "{stderr}");
    let shown: toml::Table = toml::from_str(&stdout).expect("show prints TOML");
    assert_eq!(shown["ui"]["theme"].as_str(), Some("light"));
    assert_eq!(shown["actions"]["liquidate"]["mode"].as_str(), Some("auto"));
    assert_eq!(
        shown["actions"]["publish_prices"]["mode"].as_str(),
        Some("auto")
    );
    assert_eq!(
        shown["actions"]["open_hedge"]["mode"].as_str(),
        Some("confirm")
    );
    assert_eq!(
        shown["ui"]["keys"]["quit"],
        toml::Value::Array(vec!["q".into(), "ctrl-q".into()])
    );
}

#[test]
fn the_log_level_flag_is_checked_too() {
    let home = tempfile::tempdir().unwrap();
    let (out, _, stderr) = run(hedgedesk(home.path())
        .args(["config", "check", "--log-level", "chatty", "--config"])
        .arg(example()));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("general.log_level: ")
                && l.ends_with("(from --log-level/HEDGEDESK_LOG_LEVEL)")),
        "{stderr}"
    );
    let (out, stdout, _) = run(hedgedesk(home.path())
        .args(["config", "check", "--config"])
        .arg(example())
        .env("HEDGEDESK_LOG_LEVEL", "debug"));
    assert!(out.status.success());
    assert!(
        stdout.contains("override: --log-level/HEDGEDESK_LOG_LEVEL = debug"),
        "{stdout}"
    );
}

#[test]
fn init_writes_the_example_and_a_private_data_dir() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("etc/hedgedesk/config.toml");
    let data = home.path().join("desk-data");
    let init = |force: bool| {
        let mut cmd = hedgedesk(home.path());
        cmd.args(["config", "init", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(&data);
        if force {
            cmd.arg("--force");
        }
        run(&mut cmd)
    };

    let (out, stdout, stderr) = init(false);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "wrote config: {}\ndata dir: {}\n",
            config.display(),
            data.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        std::fs::read_to_string(example()).unwrap()
    );
    for dir in [data.clone(), data.join("keystore"), data.join("logs")] {
        assert!(dir.is_dir(), "{}", dir.display());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", dir.display());
        }
    }

    // The written file checks clean.
    let (out, stdout, _) = run(hedgedesk(home.path())
        .args(["config", "check", "--config"])
        .arg(&config));
    assert!(out.status.success());
    assert_eq!(stdout, format!("config OK: {}\n", config.display()));

    // A second init refuses, naming the file, and leaves it alone.
    std::fs::write(&config, "# mine\n").unwrap();
    let (out, _, stderr) = init(false);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains(&config.display().to_string()), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "# mine\n");

    let (out, _, stderr) = init(true);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        std::fs::read_to_string(example()).unwrap()
    );
}
