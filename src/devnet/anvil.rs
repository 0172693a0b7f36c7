//! A real `anvil` node as a child process, killed with us.
//!
//! The node is spawned and reaped by an owner thread that lives as long as the
//! [`AnvilNode`]: on Linux the child gets `PR_SET_PDEATHSIG`, which fires when the
//! spawning *thread* exits, so that thread must not be a pooled one that may retire early.
//! If our process dies (even by SIGKILL), the kernel kills anvil too.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use alloy::primitives::Address;
use alloy::providers::{ProviderBuilder, RootProvider};
use alloy_signer_local::PrivateKeySigner;

/// Lines of anvil's output kept for error messages.
const TAIL_LINES: usize = 40;
/// The mnemonic anvil uses by default; its first key is the well-known
/// `0xac09…ff80` (address `0xf39F…2266`).
pub const DEFAULT_MNEMONIC: &str = "test test test test test test test test test test test junk";

#[derive(Debug, Clone)]
pub struct AnvilOptions {
    /// The anvil binary; `None` finds it (see [`find_anvil`]).
    pub binary: Option<PathBuf>,
    /// 0 lets the OS pick a free port.
    pub port: u16,
    pub chain_id: u64,
    /// Seconds between blocks; `None` mines one block per transaction.
    pub block_time: Option<u64>,
    /// Funded dev accounts.
    pub accounts: u32,
    /// Each dev account's balance in ETH.
    pub balance_eth: u64,
    pub mnemonic: String,
    /// Passed through as is (`--no-mining`, `--block-base-fee-per-gas 0`, ...).
    pub extra_args: Vec<String>,
    pub startup_timeout: Duration,
}

impl Default for AnvilOptions {
    fn default() -> Self {
        Self {
            binary: None,
            port: 0,
            chain_id: 31_337,
            block_time: None,
            accounts: 10,
            balance_eth: 10_000,
            mnemonic: DEFAULT_MNEMONIC.into(),
            extra_args: Vec::new(),
            startup_timeout: Duration::from_secs(20),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AnvilError {
    #[error(
        "anvil not found: run scripts/bootstrap (it installs .tools/bin/anvil) or set HEDGEDESK_ANVIL to its path"
    )]
    NotFound,
    #[error("could not start anvil at {path}: {source}")]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("anvil did not start listening within {seconds}s; its output ends with:\n{tail}")]
    Timeout { seconds: u64, tail: String },
    #[error("anvil exited before it was ready; its output ends with:\n{tail}")]
    Exited { tail: String },
}

/// A running anvil. Dropping it kills the node and waits for it.
pub struct AnvilNode {
    pub port: u16,
    pub chain_id: u64,
    /// The funded dev accounts' keys, in anvil's order.
    pub keys: Vec<PrivateKeySigner>,
    pub binary: PathBuf,
    /// Where anvil persists older block states; removed once the node is reaped.
    pub cache: PathBuf,
    tail: Arc<Mutex<VecDeque<String>>>,
    stop: Option<mpsc::Sender<()>>,
    owner: Option<std::thread::JoinHandle<()>>,
}

impl AnvilNode {
    /// Starts anvil and waits until it listens.
    pub fn start(options: &AnvilOptions) -> Result<AnvilNode, AnvilError> {
        let binary = match &options.binary {
            Some(path) => path.clone(),
            None => find_anvil().ok_or(AnvilError::NotFound)?,
        };
        let mut command = Command::new(&binary);
        command
            .arg("--host")
            .arg("127.0.0.1")
            .arg("--port")
            .arg(options.port.to_string())
            .arg("--chain-id")
            .arg(options.chain_id.to_string())
            .arg("--accounts")
            .arg(options.accounts.to_string())
            .arg("--balance")
            .arg(options.balance_eth.to_string())
            .arg("--mnemonic")
            .arg(&options.mnemonic)
            .args(&options.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(seconds) = options.block_time {
            command.arg("--block-time").arg(seconds.to_string());
        }
        // Anvil persists older block states to disk (by default under ~/.foundry, megabytes
        // per block under load) and leaves them when it dies: give each node its own cache,
        // removed once the node is reaped.
        let cache = cache_dir();
        command.arg("--cache-path").arg(&cache);
        die_with_parent(&mut command);

        let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
        let (ready_tx, ready_rx) = mpsc::channel::<Result<Ready, AnvilError>>();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let owner = {
            let tail = tail.clone();
            let binary = binary.clone();
            let cache = cache.clone();
            std::thread::Builder::new()
                .name("anvil-owner".into())
                .spawn(move || {
                    own_anvil(command, binary, tail, ready_tx, stop_rx);
                    let _ = std::fs::remove_dir_all(&cache);
                })
                .expect("spawn the anvil owner thread")
        };
        let ready = match ready_rx.recv_timeout(options.startup_timeout) {
            Ok(Ok(ready)) => ready,
            Ok(Err(e)) => {
                let _ = owner.join();
                return Err(e);
            }
            Err(_) => {
                let _ = stop_tx.send(());
                let _ = owner.join();
                return Err(AnvilError::Timeout {
                    seconds: options.startup_timeout.as_secs(),
                    tail: tail_text(&tail),
                });
            }
        };
        Ok(AnvilNode {
            port: ready.port,
            chain_id: options.chain_id,
            keys: ready.keys,
            binary,
            cache,
            tail,
            stop: Some(stop_tx),
            owner: Some(owner),
        })
    }

    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// A plain HTTP provider straight to this node (no failover), for setup and checks.
    pub fn provider(&self) -> RootProvider {
        ProviderBuilder::default().connect_http(self.http_url().parse().expect("a valid URL"))
    }

    /// Dev account `index`'s key.
    pub fn signer(&self, index: usize) -> PrivateKeySigner {
        self.keys[index].clone()
    }

    pub fn address(&self, index: usize) -> Address {
        self.keys[index].address()
    }

    /// The last lines anvil printed, for diagnostics.
    pub fn output_tail(&self) -> String {
        tail_text(&self.tail)
    }
}

impl Drop for AnvilNode {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(owner) = self.owner.take() {
            let _ = owner.join();
        }
    }
}

/// A fresh directory for one node's persisted states, under the system's temp dir.
fn cache_dir() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("hedgedesk-anvil-{}-{n}", std::process::id()))
}

struct Ready {
    port: u16,
    keys: Vec<PrivateKeySigner>,
}

/// The owner thread: spawns anvil, reports readiness, then waits for the stop signal
/// (or the node's death) and reaps it.
fn own_anvil(
    mut command: Command,
    binary: PathBuf,
    tail: Arc<Mutex<VecDeque<String>>>,
    ready: mpsc::Sender<Result<Ready, AnvilError>>,
    stop: mpsc::Receiver<()>,
) {
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(source) => {
            let _ = ready.send(Err(AnvilError::Spawn {
                path: binary,
                source,
            }));
            return;
        }
    };
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    {
        let tail = tail.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                push_tail(&tail, line);
            }
        });
    }
    let (line_tx, line_rx) = mpsc::channel::<Option<String>>();
    {
        let tail = tail.clone();
        std::thread::spawn(move || {
            // Drain stdout for the node's whole life: anvil logs every request, and a full
            // pipe would stall it.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                push_tail(&tail, line.clone());
                let _ = line_tx.send(Some(line));
            }
            let _ = line_tx.send(None);
        });
    }

    let mut keys = Vec::new();
    let mut in_keys = false;
    let mut reported = false;
    loop {
        // Until ready, read anvil's banner; afterwards only wait for stop.
        if !reported {
            match line_rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Some(line)) => {
                    let line = line.trim().to_string();
                    if line == "Private Keys" {
                        in_keys = true;
                    } else if in_keys && let Some(key) = parse_key_line(&line) {
                        keys.push(key);
                    } else if in_keys && !line.is_empty() && !line.starts_with('=') {
                        in_keys = false;
                    }
                    if let Some(port) = parse_listening(&line) {
                        let _ = ready.send(Ok(Ready {
                            port,
                            keys: std::mem::take(&mut keys),
                        }));
                        reported = true;
                    }
                }
                Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = child.wait();
                    let _ = ready.send(Err(AnvilError::Exited {
                        tail: tail_text(&tail),
                    }));
                    return;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            match stop.try_recv() {
                Ok(()) | Err(mpsc::TryRecvError::Disconnected) => break,
                Err(mpsc::TryRecvError::Empty) => {}
            }
        } else {
            // Blocks until the node is dropped (or its sender is).
            let _ = stop.recv();
            break;
        }
    }
    kill(&mut child);
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn parse_listening(line: &str) -> Option<u16> {
    let rest = line.strip_prefix("Listening on ")?;
    rest.rsplit(':').next()?.trim().parse().ok()
}

/// `(0) 0xac09…`: one of the banner's private keys.
fn parse_key_line(line: &str) -> Option<PrivateKeySigner> {
    let (_, key) = line.strip_prefix('(')?.split_once(") ")?;
    key.trim().parse().ok()
}

fn push_tail(tail: &Mutex<VecDeque<String>>, line: String) {
    let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
    if tail.len() == TAIL_LINES {
        tail.pop_front();
    }
    tail.push_back(line);
}

fn tail_text(tail: &Mutex<VecDeque<String>>) -> String {
    let tail = tail.lock().unwrap_or_else(|e| e.into_inner());
    tail.iter().cloned().collect::<Vec<_>>().join("\n")
}

#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches only the child's own state.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

/// Where anvil is: `$HEDGEDESK_ANVIL`, then `.tools/bin/anvil` in the checkout this binary
/// was built in (or any parent of the current directory), then `anvil` on `PATH`.
pub fn find_anvil() -> Option<PathBuf> {
    find_tool("HEDGEDESK_ANVIL", "anvil")
}

/// Like [`find_anvil`] for another tool bootstrap installs (`cast`, `solcjs`).
pub fn find_tool(env_var: &str, name: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_var) {
        return Some(PathBuf::from(path));
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    for root in roots {
        let candidate = root.join(".tools").join("bin").join(name);
        if candidate.is_file() {
            return Some(candidate);
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_banner() {
        assert_eq!(parse_listening("Listening on 127.0.0.1:35047"), Some(35047));
        assert_eq!(parse_listening("Listening on [::1]:8545"), Some(8545));
        assert_eq!(parse_listening("listening"), None);
        let key = parse_key_line(
            "(0) 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        )
        .unwrap();
        assert_eq!(
            key.address().to_string(),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        assert!(parse_key_line("(0) 10000.000000000000000000 ETH").is_none());
    }
}
