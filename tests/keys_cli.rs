//! `hedgedesk keys ...` end to end: the real binary against Foundry's real `cast`
//! (installed by `scripts/bootstrap` into `.tools/bin`), with a temporary data dir and
//! a config path that does not exist (all defaults).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hedgedesk::keys::{KeyringCache, Passphrase};

const PASS: &str = "integration-pass-1";
/// anvil's first dev account.
const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const DEV_ADDR: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

fn cast() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/cast");
    assert!(
        path.is_file(),
        "cast not found at {}: run scripts/bootstrap",
        path.display()
    );
    path
}

/// A scratch desk under `target/test-data/keys_cli/`, kept after the run so
/// `scripts/check-no-secrets` can grep what the keys commands wrote.
struct Env {
    root: PathBuf,
}

impl Env {
    fn new() -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/test-data/keys_cli")
            .join(format!("{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        Self { root }
    }

    fn path(&self) -> &Path {
        &self.root
    }

    fn keystore_dir(&self) -> PathBuf {
        self.path().join("data/keystore")
    }

    fn pw_file(&self, name: &str, pass: &str) -> PathBuf {
        // Named passphrase*.txt: the secret grep skips the tests' own inputs.
        let p = self.path().join(format!("passphrase-{name}.txt"));
        std::fs::write(&p, format!("{pass}\n")).unwrap();
        p
    }

    /// The binary with a private data dir, default config, and no inherited
    /// HEDGEDESK_* or desktop keyring variables.
    fn hedgedesk(&self) -> Command {
        self.hedgedesk_with_config(&self.path().join("no-such-config.toml"))
    }

    fn hedgedesk_with_config(&self, config: &Path) -> Command {
        common::hedgedesk(config, &self.path().join("data"))
    }
}

fn run(mut cmd: Command) -> Output {
    let out = cmd.output().expect("spawn");
    common::transcript(&cmd, &out);
    out
}

fn run_ok(cmd: Command) -> String {
    let out = run(cmd);
    assert!(out.status.success(), "command failed");
    String::from_utf8(out.stdout).unwrap()
}

/// The value after `label ` on its own line of `keys new` / `keys import` output.
fn field(stdout: &str, label: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{label} ")))
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{stdout}"))
        .trim()
        .to_string()
}

fn cast_address(keystore: &Path, pw_file: &Path) -> String {
    let mut cmd = Command::new(cast());
    cmd.args(["wallet", "address", "--keystore"])
        .arg(keystore)
        .arg("--password-file")
        .arg(pw_file);
    run_ok(cmd).trim().to_string()
}

/// `cast wallet new DIR NAME`: a Foundry keystore (no extension, no address field).
fn cast_wallet_new(dir: &Path, name: &str, pass: &str) -> (PathBuf, String) {
    std::fs::create_dir_all(dir).unwrap();
    let mut cmd = Command::new(cast());
    cmd.args(["wallet", "new"])
        .arg(dir)
        .arg(name)
        .arg("--json")
        .env("CAST_PASSWORD", pass);
    let stdout = run_ok(cmd);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let address = v[0]["address"].as_str().unwrap().to_string();
    let path = PathBuf::from(v[0]["path"].as_str().unwrap());
    assert_eq!(path, dir.join(name));
    (path, address)
}

fn assert_no_secret(out: &Output, secrets: &[&str]) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for s in secrets {
        assert!(!all.contains(s), "output contains a secret");
    }
}

#[test]
fn keys_new_is_readable_by_cast() {
    let env = Env::new();
    let pw = env.pw_file("pw", PASS);
    let mut cmd = env.hedgedesk();
    cmd.args(["keys", "new", "--passphrase-file"]).arg(&pw);
    let out = run(cmd);
    assert!(out.status.success());
    assert_no_secret(&out, &[PASS]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let address = field(&stdout, "address");
    let keystore = PathBuf::from(field(&stdout, "keystore"));
    assert_eq!(keystore, env.keystore_dir().join("operator.json"));
    assert_eq!(cast_address(&keystore, &pw), address);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&keystore), 0o600);
        assert_eq!(mode(&env.keystore_dir()), 0o700);
    }
    // Same name again: refused, the file is untouched.
    let before = std::fs::read(&keystore).unwrap();
    let mut cmd = env.hedgedesk();
    cmd.args(["keys", "new", "--passphrase-file"]).arg(&pw);
    let out = run(cmd);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_eq!(std::fs::read(&keystore).unwrap(), before);
}

#[test]
fn keys_new_with_env_passphrase() {
    let env = Env::new();
    let mut cmd = env.hedgedesk();
    cmd.args(["keys", "new", "--name", "envkey"])
        .env("HEDGEDESK_PASSPHRASE", PASS);
    let out = run(cmd);
    assert!(out.status.success());
    assert_no_secret(&out, &[PASS]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let keystore = PathBuf::from(field(&stdout, "keystore"));
    assert_eq!(keystore, env.keystore_dir().join("envkey.json"));
    let pw = env.pw_file("pw", PASS);
    assert_eq!(cast_address(&keystore, &pw), field(&stdout, "address"));
}

#[test]
fn keys_new_without_any_passphrase_source_explains() {
    let env = Env::new();
    let mut cmd = env.hedgedesk();
    cmd.args(["keys", "new"]);
    let out = run(cmd);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for hint in ["--passphrase-file", "HEDGEDESK_PASSPHRASE", "--keyring"] {
        assert!(stderr.contains(hint), "missing hint {hint}");
    }
    assert!(!env.keystore_dir().join("operator.json").exists());
}

#[test]
fn import_cast_keystore_then_export_address() {
    let env = Env::new();
    let (cast_ks, cast_addr) = cast_wallet_new(&env.path().join("cast"), "deployer", PASS);
    let pw = env.pw_file("pw", PASS);
    let mut cmd = env.hedgedesk();
    cmd.args(["keys", "import", "--name", "deployer", "--keystore"])
        .arg(&cast_ks)
        .arg("--passphrase-file")
        .arg(&pw);
    let stdout = run_ok(cmd);
    assert_eq!(field(&stdout, "address"), cast_addr);
    let copy = PathBuf::from(field(&stdout, "keystore"));
    assert_eq!(copy, env.keystore_dir().join("deployer.json"));
    // The copy carries the geth-style address field and still works with cast.
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&copy).unwrap()).unwrap();
    assert_eq!(
        v["address"].as_str().unwrap(),
        cast_addr.trim_start_matches("0x").to_lowercase()
    );
    assert_eq!(cast_address(&copy, &pw), cast_addr);

    // export-address reads the field: no passphrase needed.
    let mut cmd = env.hedgedesk();
    cmd.args(["keys", "export-address", "--name", "deployer"]);
    assert_eq!(run_ok(cmd).trim(), cast_addr);

    // A cast keystore dropped into the dir as is (no extension, no address field):
    // export-address unlocks it to learn the address.
    std::fs::copy(&cast_ks, env.keystore_dir().join("raw")).unwrap();
    let mut cmd = env.hedgedesk();
    cmd.args(["keys", "export-address", "--name", "raw"])
        .env("HEDGEDESK_PASSPHRASE", PASS);
    assert_eq!(run_ok(cmd).trim(), cast_addr);
    // ... and without a passphrase it says how to give one.
    let mut cmd = env.hedgedesk();
    cmd.args(["keys", "export-address", "--name", "raw"]);
    let out = run(cmd);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--passphrase-file"));
}

#[test]
fn import_private_key_from_stdin() {
    let env = Env::new();
    let pw = env.pw_file("pw", PASS);
    let mut cmd = env.hedgedesk();
    cmd.args(["keys", "import", "--name", "dev", "--private-key-stdin"])
        .arg("--passphrase-file")
        .arg(&pw);
    let out = common::output_with_stdin(cmd, &format!("  {DEV_KEY}\n"));
    assert!(out.status.success());
    assert_no_secret(&out, &[PASS, &DEV_KEY[2..]]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(field(&stdout, "address"), DEV_ADDR);
    let keystore = PathBuf::from(field(&stdout, "keystore"));
    assert_eq!(cast_address(&keystore, &pw), DEV_ADDR);

    // From a file too.
    let key_file = env.path().join("dev.key");
    std::fs::write(&key_file, DEV_KEY.trim_start_matches("0x")).unwrap();
    let mut cmd = env.hedgedesk();
    cmd.args(["keys", "import", "--name", "dev2", "--private-key-file"])
        .arg(&key_file)
        .env("HEDGEDESK_PASSPHRASE", PASS);
    assert_eq!(field(&run_ok(cmd), "address"), DEV_ADDR);
}

#[test]
fn bad_private_key_is_refused_without_echo() {
    let env = Env::new();
    let pw = env.pw_file("pw", PASS);
    let bad = format!("{}zz", &DEV_KEY[..60]);
    let mut cmd = env.hedgedesk();
    cmd.args(["keys", "import", "--private-key-stdin", "--passphrase-file"])
        .arg(&pw);
    let out = common::output_with_stdin(cmd, &bad);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid private key"));
    assert_no_secret(&out, &[&DEV_KEY[2..20], PASS]);
    assert!(!env.keystore_dir().join("operator.json").exists());
}

#[test]
fn wrong_passphrase_on_import_writes_nothing() {
    let env = Env::new();
    let (cast_ks, _) = cast_wallet_new(&env.path().join("cast"), "w", PASS);
    let wrong = "definitely-wrong-pass";
    let pw = env.pw_file("wrong-pw", wrong);
    let mut cmd = env.hedgedesk();
    cmd.args(["keys", "import", "--keystore"])
        .arg(&cast_ks)
        .arg("--passphrase-file")
        .arg(&pw);
    let out = run(cmd);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("wrong passphrase"), "{stderr}");
    assert!(stderr.contains(&cast_ks.display().to_string()), "{stderr}");
    assert_no_secret(&out, &[wrong, PASS]);
    let written = std::fs::read_dir(env.keystore_dir())
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(written, 0, "something was written to the keystore dir");
}

#[test]
fn keys_list_shows_names_addresses_paths() {
    let env = Env::new();
    // Empty: just the header.
    let mut cmd = env.hedgedesk();
    cmd.args(["keys", "list"]);
    let stdout = run_ok(cmd);
    assert_eq!(stdout.lines().count(), 1);
    assert!(stdout.starts_with("NAME"));

    let pw = env.pw_file("pw", PASS);
    let mut cmd = env.hedgedesk();
    cmd.args(["keys", "import", "--name", "b-dev", "--private-key-stdin"])
        .arg("--passphrase-file")
        .arg(&pw);
    assert!(common::output_with_stdin(cmd, DEV_KEY).status.success());
    let mut cmd = env.hedgedesk();
    cmd.args(["keys", "new", "--name", "a-new", "--passphrase-file"])
        .arg(&pw);
    let new_addr = field(&run_ok(cmd), "address");
    let (cast_ks, _) = cast_wallet_new(&env.path().join("cast"), "c-cast", PASS);
    std::fs::copy(&cast_ks, env.keystore_dir().join("c-cast")).unwrap();
    std::fs::write(env.keystore_dir().join("notes.txt"), "not a keystore").unwrap();

    let mut cmd = env.hedgedesk();
    cmd.args(["keys", "list"]);
    let stdout = run_ok(cmd);
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["NAME", "ADDRESS", "PATH"]);
    let dir = env.keystore_dir();
    let expect = [
        ("a-new", new_addr.as_str(), dir.join("a-new.json")),
        ("b-dev", DEV_ADDR, dir.join("b-dev.json")),
        ("c-cast", "unknown", dir.join("c-cast")),
    ];
    assert_eq!(rows.len(), 1 + expect.len(), "{stdout}");
    for (row, (name, addr, path)) in rows[1..].iter().zip(expect) {
        assert_eq!(row[0], name);
        assert_eq!(row[1], addr);
        assert_eq!(row[2], path.display().to_string());
    }
}

/// Removes a keyring entry when dropped, so a failing test leaves nothing behind.
struct KeyringCleanup(PathBuf);

impl Drop for KeyringCleanup {
    fn drop(&mut self) {
        if let Ok(cache) = KeyringCache::new("keyutils", &self.0) {
            let _ = cache.delete();
        }
    }
}

#[test]
fn keyring_keyutils_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let ks = tmp.path().join("roundtrip.json");
    let _cleanup = KeyringCleanup(ks.clone());
    let cache = KeyringCache::new("keyutils", &ks).unwrap();
    assert!(cache.get().unwrap().is_none());
    cache.set(&Passphrase::new(PASS.into())).unwrap();
    assert_eq!(cache.get().unwrap().unwrap().expose(), PASS);
    // Another handle (as another process would build) sees the same entry.
    let again = KeyringCache::new("keyutils", &ks).unwrap();
    assert_eq!(again.get().unwrap().unwrap().expose(), PASS);
    cache.delete().unwrap();
    assert!(cache.get().unwrap().is_none());
    assert!(again.get().unwrap().is_none());
}

#[test]
fn keyring_caches_passphrase_across_runs() {
    let env = Env::new();
    let config = env.path().join("config.toml");
    std::fs::write(&config, "[keys]\nkeyring_backend = \"keyutils\"\n").unwrap();
    let with_config = |env: &Env| env.hedgedesk_with_config(&config);
    let (cast_ks, cast_addr) = cast_wallet_new(&env.path().join("cast"), "kr", PASS);
    let pw = env.pw_file("pw", PASS);
    let target = env.keystore_dir().join("kr.json");
    std::fs::create_dir_all(env.keystore_dir()).unwrap();
    let _cleanup = KeyringCleanup(target.clone());

    // Import with --keyring: the passphrase is cached for the new keystore.
    let mut cmd = with_config(&env);
    cmd.args(["keys", "import", "--keyring", "--name", "kr", "--keystore"])
        .arg(&cast_ks)
        .arg("--passphrase-file")
        .arg(&pw);
    let out = run(cmd);
    assert!(out.status.success());
    assert_no_secret(&out, &[PASS]);
    let cached = KeyringCache::new("keyutils", &target).unwrap();
    assert_eq!(cached.get().unwrap().unwrap().expose(), PASS);

    // Strip the address field so export-address must unlock; with --keyring and no
    // other source, the cached passphrase does it.
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("address");
    std::fs::write(&target, v.to_string()).unwrap();
    let mut cmd = with_config(&env);
    cmd.args(["keys", "export-address", "--keyring", "--name", "kr"]);
    assert_eq!(run_ok(cmd).trim(), cast_addr);

    cached.delete().unwrap();
    let mut cmd = with_config(&env);
    cmd.args(["keys", "export-address", "--keyring", "--name", "kr"]);
    assert!(!run(cmd).status.success());
}
