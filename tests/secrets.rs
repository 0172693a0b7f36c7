//! No secret reaches a file in the data dir, a log line, or the program's output:
//! every command that touches the passphrase or a private key runs at trace level,
//! then everything written is searched for them (raw, and hex-encoded).

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

#[test]
fn no_secret_is_written_or_printed() {
    let desk = Desk::new("secrets");
    let mut outputs = Vec::new();

    let mut c = desk.cmd();
    c.args(["--log-level", "trace", "keys", "new", "--passphrase-file"])
        .arg(&desk.pass_file);
    outputs.push(c.output().unwrap());

    let mut c = desk.cmd();
    c.args([
        "--log-level",
        "trace",
        "keys",
        "import",
        "--name",
        "imported",
        "--private-key-stdin",
    ])
    .env("HEDGEDESK_PASSPHRASE", TEST_PASSPHRASE);
    let out = output_with_stdin(c, &format!("0x{ANVIL_KEY_0}\n"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(ANVIL_ADDR_0));
    outputs.push(out);

    // A bad key and a wrong passphrase: their errors must not echo what was typed.
    let mut c = desk.cmd();
    c.args([
        "--log-level",
        "trace",
        "keys",
        "import",
        "--name",
        "bad",
        "--private-key-stdin",
    ])
    .env("HEDGEDESK_PASSPHRASE", TEST_PASSPHRASE);
    let out = output_with_stdin(c, &format!("0x{}zz\n", &ANVIL_KEY_0[..62]));
    assert!(!out.status.success());
    outputs.push(out);

    for args in [
        vec!["keys", "list"],
        vec!["keys", "export-address"],
        vec!["config", "show"],
        vec!["actions", "list"],
    ] {
        let mut c = desk.cmd();
        c.args(["--log-level", "trace"])
            .args(&args)
            .env("HEDGEDESK_PASSPHRASE", TEST_PASSPHRASE);
        outputs.push(c.output().unwrap());
    }

    // The headless runtime at trace level, with the passphrase from the env var.
    let mut child = desk
        .cmd()
        .args(["--log-level", "trace", "run", "--headless"])
        .env("HEDGEDESK_PASSPHRASE", TEST_PASSPHRASE)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the headless log file", Duration::from_secs(30), || {
        files_below(&desk.data.join("logs")).iter().any(|p| {
            std::fs::read_to_string(p)
                .unwrap_or_default()
                .contains("headless: workers running")
        })
    });
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let _ = child.try_wait();
    outputs.push(child.wait_with_output().unwrap());

    let needles = [
        TEST_PASSPHRASE.to_string(),
        hex::encode(TEST_PASSPHRASE),
        ANVIL_KEY_0.to_string(),
        ANVIL_KEY_0.to_uppercase(),
    ];
    let mut checked = 0;
    for path in files_below(&desk.data) {
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for n in &needles {
            assert!(
                !text.contains(n.as_str()),
                "a secret was written to {}",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 4,
        "expected the db, keystores and logs; saw {checked} files"
    );
    for out in &outputs {
        for stream in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(stream);
            for n in &needles {
                assert!(!text.contains(n.as_str()), "a secret was printed: {text}");
            }
        }
    }
    let logs: String = files_below(&desk.data.join("logs"))
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect();
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "the runs really logged at trace level"
    );
}
