//! Shared by the integration tests: a scratch desk (config + data dir) under
//! `target/test-data/`, kept after the run so `scripts/check-no-secrets` can grep
//! everything the suite wrote.
#![allow(dead_code)]

pub mod http;
pub mod proxy;
pub mod pyth;
pub mod tmux;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The passphrase every test keystore uses. `scripts/check-no-secrets` greps for it.
pub const TEST_PASSPHRASE: &str = "tangerine-rhubarb-7741-passphrase";
/// Anvil's first dev key (public knowledge), imported by tests; also grepped for.
pub const ANVIL_KEY_0: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
pub const ANVIL_ADDR_0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_hedgedesk")
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary on this config and data dir, with no inherited HEDGEDESK_* variable and
/// no desktop session (so the keyring backend is keyutils) and no stdin.
pub fn hedgedesk(config: &Path, data: &Path) -> Command {
    let mut c = Command::new(bin());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("HEDGEDESK_") {
            c.env_remove(k);
        }
    }
    c.env_remove("DBUS_SESSION_BUS_ADDRESS")
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::null());
    c
}

/// The binary running `args` with no config: `HEDGEDESK_CONFIG` and `HEDGEDESK_DATA_DIR`
/// point at nothing, to prove the command reads neither.
pub fn run_unconfigured(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env("HEDGEDESK_CONFIG", "/nonexistent/hedgedesk/config.toml")
        .env("HEDGEDESK_DATA_DIR", "/nonexistent/hedgedesk")
        .output()
        .expect("run hedgedesk")
}

/// A successful run's stdout, parsed as JSON.
pub fn json_of(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// Exit code 2, nothing on stdout, exactly one stderr line; returns that line.
pub fn refused(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "stderr: {stderr}");
    lines[0].to_owned()
}

/// A signing provider for anvil dev account `index`, polling receipts every 10 ms. A fresh
/// one per use: alloy's nonce cache would go stale across providers of the same account.
pub fn wallet(node: &hedgedesk::devnet::AnvilNode, index: usize) -> alloy::providers::DynProvider {
    use alloy::providers::{Provider, ProviderBuilder};
    let provider = ProviderBuilder::new()
        .wallet(alloy::network::EthereumWallet::from(node.signer(index)))
        .connect_http(node.http_url().parse().unwrap());
    provider
        .client()
        .set_poll_interval(Duration::from_millis(10));
    provider.erased()
}

/// Prints what ran and what it said, for a failing test's output.
pub fn transcript(cmd: &Command, out: &Output) {
    eprintln!(
        "$ {cmd:?}\nstatus {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `cmd` with `input` on its stdin.
pub fn output_with_stdin(mut cmd: Command, input: &str) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn hedgedesk");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    transcript(&cmd, &out);
    out
}

#[derive(Clone)]
pub struct Desk {
    pub root: PathBuf,
    pub data: PathBuf,
    pub config: PathBuf,
    pub pass_file: PathBuf,
}

impl Desk {
    /// A fresh desk named after the test; any leftovers of an earlier run are removed.
    pub fn new(name: &str) -> Desk {
        let root = repo().join("target/test-data").join(name);
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let pass_file = root.join("passphrase.txt");
        std::fs::write(&pass_file, format!("{TEST_PASSPHRASE}\n")).unwrap();
        Desk {
            data: root.join("data"),
            config: root.join("config.toml"),
            pass_file,
            root,
        }
    }

    /// The binary with this desk's config and data dir and a clean environment.
    pub fn cmd(&self) -> Command {
        hedgedesk(&self.config, &self.data)
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run hedgedesk")
    }

    /// `keys new` with the test passphrase; returns the address it printed.
    pub fn new_keystore(&self) -> String {
        let out = self
            .cmd()
            .args(["keys", "new", "--passphrase-file"])
            .arg(&self.pass_file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "keys new: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace()
            .find(|w| w.starts_with("0x") && w.len() == 42)
            .unwrap_or_else(|| panic!("no address in: {text}"))
            .to_string()
    }

    pub fn keystore_file(&self) -> PathBuf {
        self.data.join("keystore/operator.json")
    }

    pub fn db(&self) -> PathBuf {
        self.data.join("hedgedesk.sqlite")
    }
}

pub fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// Every regular file below `dir`, for secret greps.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

pub fn proposal(key: &str, kind: hedgedesk::actions::ActionKind) -> hedgedesk::actions::NewAction {
    use hedgedesk::actions::{ActionPlan, Estimate, NewAction};
    NewAction {
        key: key.into(),
        kind,
        summary: format!("{kind} for test {key}"),
        plan: ActionPlan::ContractCall {
            chain: "devnet".into(),
            contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3".into(),
            contract_name: "MarginModule".into(),
            function: "liquidate(uint256,address)".into(),
            args: vec![("positionId".into(), "7".into())],
            value_wei: "0".into(),
            gas_limit: 300_000,
            calldata: "0x5fae8b3d000000000000000000000000000000000000000000000000000000000000002a000000000000000000000000f39fd6e51aad88f6f4ce6ab8827279cfffb92266".into(),
        },
        estimate: Estimate {
            gas_cost_wei: 900_000_000_000_000,
            profit_usd_cents: Some(2_500),
        },
    }
}

/// Journals proposals the way a desk does, through the real queue and policy.
pub fn seed_actions(desk: &Desk, proposals: Vec<hedgedesk::actions::NewAction>) -> Vec<i64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = hedgedesk::store::Store::open(&desk.db(), Duration::from_secs(5)).unwrap();
        let queue = hedgedesk::actions::ActionQueue::open(
            store,
            std::sync::Arc::new(hedgedesk::config::Config::default()),
        )
        .await
        .unwrap();
        let mut ids = Vec::new();
        for p in proposals {
            ids.push(queue.propose(p).await.unwrap().action().id);
        }
        ids
    })
}

/// `actions show ID --json`, parsed.
pub fn action_json(desk: &Desk, id: i64) -> serde_json::Value {
    let out = desk.run(&["actions", "show", &id.to_string(), "--json"]);
    assert!(
        out.status.success(),
        "actions show: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A child process killed (and reaped) when dropped, so a failing test leaves none behind.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `hedgedesk devnet up --port 0 --json` on this desk: the running process (killed on drop)
/// and the JSON line it printed (rpc_url, contracts, accounts). Blocks until it is up.
pub fn devnet_up(desk: &Desk) -> (Killed, serde_json::Value) {
    use std::io::BufRead;
    let mut child = desk
        .cmd()
        .args(["devnet", "up", "--port", "0", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn devnet up");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let json = serde_json::from_str(&line).expect("devnet up --json");
    (Killed(child), json)
}
