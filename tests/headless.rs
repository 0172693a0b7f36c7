//! `run --headless`: JSON logs, clean stop on SIGTERM and SIGINT, and a clear error
//! when no passphrase can be had without a prompt.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use hedgedesk::actions::ActionKind;

fn start(desk: &Desk) -> (Child, mpsc::Receiver<String>) {
    let mut child = desk
        .cmd()
        .args([
            "run",
            "--headless",
            "--log-level",
            "trace",
            "--passphrase-file",
        ])
        .arg(&desk.pass_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

/// Collects JSON log lines until one has `message == wanted`.
fn wait_for_message(rx: &mpsc::Receiver<String>, wanted: &str, seen: &mut Vec<serde_json::Value>) {
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no `{wanted}` log line; saw {seen:#?}"));
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(
            v["timestamp"].is_string() && v["level"].is_string(),
            "{line}"
        );
        let msg = v["fields"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        seen.push(v);
        if msg == wanted {
            return;
        }
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn stops_cleanly_on_sigterm_and_sigint() {
    for (name, sig) in [("headless_sigterm", "-TERM"), ("headless_sigint", "-INT")] {
        let desk = Desk::new(name);
        let address = desk.new_keystore();
        // One action the policy runs by itself, one that waits for the operator.
        let ids = seed_actions(
            &desk,
            vec![
                proposal("auto-1", ActionKind::PublishPrices),
                proposal("confirm-1", ActionKind::Liquidate),
            ],
        );
        let (mut child, rx) = start(&desk);
        let mut seen = Vec::new();
        wait_for_message(&rx, "headless: workers running", &mut seen);
        assert!(
            seen.iter().any(|v| v["fields"]["address"]
                .as_str()
                .is_some_and(|a| a.eq_ignore_ascii_case(&address))),
            "the unlocked account is logged"
        );
        signal(&child, sig);
        wait_for_message(&rx, "headless: stopped cleanly", &mut seen);
        let status = child.wait().unwrap();
        assert!(status.success(), "{name}: exit {status:?}");

        // Headless never approves: the confirm action still waits for a console.
        assert_eq!(action_json(&desk, ids[1])["action"]["state"], "proposed");
        assert_eq!(action_json(&desk, ids[0])["action"]["state"], "approved");
    }
}

#[test]
fn without_a_passphrase_source_it_says_which_ones_exist() {
    let desk = Desk::new("headless_no_source");
    desk.new_keystore();
    let out = desk.run(&["run", "--headless"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in ["--passphrase-file", "--keyring", "HEDGEDESK_PASSPHRASE"] {
        assert!(err.contains(needle), "{err}");
    }
}

#[test]
fn a_wrong_passphrase_is_refused_with_a_clear_error() {
    let desk = Desk::new("headless_wrong_pass");
    desk.new_keystore();
    let wrong = desk.root.join("wrong.txt");
    std::fs::write(&wrong, "definitely-not-it\n").unwrap();
    let out = desk
        .cmd()
        .args(["run", "--headless", "--passphrase-file"])
        .arg(&wrong)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("wrong passphrase"), "{err}");
    assert!(!err.contains("definitely-not-it"));
}

#[test]
fn the_console_refuses_to_start_without_a_terminal() {
    let desk = Desk::new("console_no_tty");
    let out = desk.cmd().stdout(Stdio::piped()).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--headless"));
}
