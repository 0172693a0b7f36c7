//! The real binary in a real terminal (tmux): unlock (a wrong passphrase first),
//! every tab, help, palette, approve through the confirm popup, then SIGKILL and a
//! restart that still shows the approval in the journal.
//!
//! Needs tmux (scripts/bootstrap installs it). Without it the test fails under CI and
//! is skipped with a note elsewhere.

mod common;

use std::process::Command;
use std::time::Duration;

use common::tmux::Tmux;
use common::*;
use hedgedesk::actions::ActionKind;

fn unlock(t: &Tmux) {
    t.wait_for("Unlock keystore");
    t.literal(TEST_PASSPHRASE);
    t.keys(&["Enter"]);
    t.wait_for("workers 10/10");
}

#[test]
fn console_end_to_end_with_a_kill_after_approval() {
    if !Tmux::required() {
        return;
    }
    let desk = Desk::new("tui_tmux");
    desk.new_keystore();
    let ids = seed_actions(
        &desk,
        vec![proposal("tmux-liquidate-7", ActionKind::Liquidate)],
    );
    let id = ids[0];

    let t = Tmux::start("first", &desk);
    t.wait_for("Unlock keystore");
    t.literal("not-the-passphrase");
    t.keys(&["Enter"]);
    t.wait_for("wrong passphrase (1 of 3 attempts used, 2 left)");
    unlock(&t);
    t.wait_for("pending 1");

    for (key, text) in [
        ("1", "Oracle · no PriceCaster on devnet yet"),
        ("2", "Liquidations · no margin module on devnet yet"),
        ("3", "AnyHedge · "),
        ("4", "Perp desk"),
        ("5", "Pool desk"),
        ("6", "Actions: 1 open"),
        ("7", "Logs:"),
    ] {
        t.keys(&[key]);
        t.wait_for(text);
    }
    t.wait_for("keystore unlocked");

    t.keys(&["?"]);
    t.wait_for("show or hide this help");
    t.keys(&["Escape"]);
    t.keys(&[":"]);
    t.wait_for("Command palette");
    t.literal("theme high");
    t.keys(&["Enter"]);
    t.wait_for("theme high-contrast");

    t.keys(&["6"]);
    t.keys(&["a"]);
    t.wait_for(&format!("Approve action #{id}?"));
    t.wait_for("liquidate(uint256,address)");
    t.keys(&["y"]);
    t.wait_for(&format!("action #{id} approved"));

    // Kill without warning: the approval was journaled before the console said so.
    let pid = t.pid();
    assert!(
        Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    common::wait_until("the killed console to go", Duration::from_secs(10), || {
        !t.alive()
    });

    let shown = action_json(&desk, id);
    assert_eq!(shown["action"]["state"], "approved", "{shown:#}");
    let events = shown["events"].as_array().unwrap();
    let last = events.last().unwrap();
    assert_eq!(last["actor"], "operator");
    assert_eq!(last["to"], "approved");

    // A new console session shows the same journal.
    let t2 = Tmux::start("second", &desk);
    unlock(&t2);
    t2.keys(&["6"]);
    t2.wait_for("approved");
    t2.wait_for("approved 1");
    t2.keys(&["q"]);
    common::wait_until("the console to quit on q", Duration::from_secs(15), || {
        !t2.alive()
    });
}

#[test]
fn three_wrong_passphrases_exit_without_a_crash() {
    if !Tmux::required() {
        return;
    }
    let desk = Desk::new("tui_tmux_wrong");
    desk.new_keystore();
    let t = Tmux::start("wrong", &desk);
    for n in 1..=3 {
        t.wait_for("Unlock keystore");
        t.literal(&format!("wrong-{n}"));
        t.keys(&["Enter"]);
        if n < 3 {
            t.wait_for(&format!("wrong passphrase ({n} of 3 attempts used"));
        }
    }
    common::wait_until(
        "the console to exit after 3 failures",
        Duration::from_secs(15),
        || !t.alive(),
    );
    let logs = files_below(&desk.data.join("logs"));
    let text: String = logs
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect();
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn with_no_keystore_the_console_creates_one_and_opens() {
    if !Tmux::required() {
        return;
    }
    let desk = Desk::new("tui_tmux_create");
    let t = Tmux::start("create", &desk);
    t.wait_for("No keystore yet");
    t.keys(&["y"]);
    t.wait_for("Create keystore");
    t.literal(TEST_PASSPHRASE);
    t.keys(&["Enter"]);
    t.literal(TEST_PASSPHRASE);
    t.keys(&["Enter"]);
    t.wait_for("workers 10/10");
    t.wait_for("No actions yet");
    t.keys(&["q"]);
    common::wait_until("the console to quit", Duration::from_secs(15), || {
        !t.alive()
    });

    // The keystore it made opens with the CLI and the same passphrase.
    let out = desk
        .cmd()
        .args(["keys", "export-address", "--passphrase-file"])
        .arg(&desk.pass_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .starts_with("0x")
    );
    assert!(desk.keystore_file().exists());
}

#[test]
fn the_chain_line_follows_a_live_devnet() {
    if !Tmux::required() {
        return;
    }
    use alloy::primitives::U256;
    use alloy::providers::ext::AnvilApi;
    use hedgedesk::devnet::{AnvilNode, AnvilOptions, DevnetControl};

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let node = AnvilNode::start(&AnvilOptions::default()).expect("anvil");
    let desk = Desk::new("tui_tmux_chain");
    std::fs::write(
        &desk.config,
        format!(
            "[chains.devnet]\nchain_id = 31337\nhealth_interval_ms = 200\n\n\
             [[chains.devnet.endpoints]]\nname = \"local\"\nurl = \"{}\"\nws_url = \"\"\n",
            node.http_url()
        ),
    )
    .unwrap();
    let address: alloy::primitives::Address = desk.new_keystore().parse().unwrap();
    let provider = node.provider();
    rt.block_on(async {
        // 12.5 ETH
        let balance = U256::from(12_500_000_000_000_000_000u128);
        provider.anvil_set_balance(address, balance).await.unwrap();
        DevnetControl::new(provider.clone())
            .mine_blocks(7)
            .await
            .unwrap();
    });

    let t = Tmux::start("chain", &desk);
    unlock(&t);
    t.wait_for("devnet #31337 head 7");
    t.wait_for("▸● local");
    t.wait_for("12.5 ETH");

    // The node goes away: the console says so and keeps running.
    drop(node);
    t.wait_for("✕ local down");
    t.wait_for("no usable endpoint");
    assert!(t.alive());
    t.keys(&["q"]);
    common::wait_until("the console to quit", Duration::from_secs(15), || {
        !t.alive()
    });
}
