//! Where a keystore passphrase comes from: a file, the `HEDGEDESK_PASSPHRASE`
//! environment variable, the OS keyring, or a terminal prompt (CLI only; the TUI has its
//! own unlock screen).

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::error::KeysError;
use super::keyring_cache::KeyringCache;
use super::secret::Passphrase;

/// The environment variable holding a passphrase (least safe source: other processes of
/// the same user may read a process environment).
pub const PASSPHRASE_ENV: &str = "HEDGEDESK_PASSPHRASE";

/// Shortest passphrase accepted for a new keystore.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// A passphrase file is one line; anything longer than this is not one.
const MAX_PASSPHRASE_FILE_BYTES: u64 = 4096;

/// Where a passphrase was found. Shown to the operator ("unlocked with the keyring").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassphraseOrigin {
    File(PathBuf),
    Env,
    Keyring,
    Prompt,
}

impl fmt::Display for PassphraseOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(p) => write!(f, "passphrase file {}", p.display()),
            Self::Env => write!(f, "{PASSPHRASE_ENV}"),
            Self::Keyring => f.write_str("OS keyring"),
            Self::Prompt => f.write_str("prompt"),
        }
    }
}

/// The non-interactive passphrase sources of this run, in priority order
/// file > env > keyring. `Debug` shows which sources exist, never a passphrase.
#[derive(Debug, Default)]
pub struct PassphraseSources {
    /// `--passphrase-file`: first line, trailing `\r\n` trimmed.
    pub file: Option<PathBuf>,
    /// `HEDGEDESK_PASSPHRASE`, taken out of the process environment at startup.
    pub env: Option<Passphrase>,
    /// The OS keyring entry for the keystore (`--keyring` / `keys.keyring`).
    pub keyring: Option<KeyringCache>,
}

impl PassphraseSources {
    /// Reads `HEDGEDESK_PASSPHRASE` once and removes it from the process environment, so
    /// child processes (anvil, solc, a shell) do not inherit it and later code cannot
    /// read it again.
    ///
    /// Call this early in `main`, before any other thread exists (in particular before
    /// the tokio runtime starts): `std::env::remove_var` is `unsafe` in edition 2024
    /// because another thread reading the environment at the same time (libc `getenv`)
    /// is undefined behaviour.
    pub fn from_env_and_args(file: Option<PathBuf>, keyring: Option<KeyringCache>) -> Self {
        let env = take_env_passphrase();
        Self { file, env, keyring }
    }

    /// True when at least one non-interactive source is configured.
    pub fn any(&self) -> bool {
        self.file.is_some() || self.env.is_some() || self.keyring.is_some()
    }

    /// The first passphrase available without a prompt: file, then env, then keyring.
    /// `Ok(None)` when no source is configured or the keyring holds no entry.
    pub fn non_interactive(&self) -> Result<Option<(Passphrase, PassphraseOrigin)>, KeysError> {
        resolve(
            self.file.as_deref(),
            self.env.as_ref(),
            self.keyring.as_ref(),
        )
    }
}

/// The lookup behind [`PassphraseSources::non_interactive`], with the keyring entry
/// passed separately (the CLI retargets it to the keystore it works on).
pub(crate) fn resolve(
    file: Option<&Path>,
    env: Option<&Passphrase>,
    keyring: Option<&KeyringCache>,
) -> Result<Option<(Passphrase, PassphraseOrigin)>, KeysError> {
    if let Some(path) = file {
        let pass = read_passphrase_file(path)?;
        return Ok(Some((pass, PassphraseOrigin::File(path.to_path_buf()))));
    }
    if let Some(pass) = env {
        return Ok(Some((pass.clone(), PassphraseOrigin::Env)));
    }
    if let Some(cache) = keyring
        && let Some(pass) = cache.get()?
    {
        return Ok(Some((pass, PassphraseOrigin::Keyring)));
    }
    Ok(None)
}

fn take_env_passphrase() -> Option<Passphrase> {
    let value = std::env::var_os(PASSPHRASE_ENV)?;
    // SAFETY: documented on `from_env_and_args`: called at startup while the process is
    // single-threaded, so no other thread reads the environment concurrently.
    unsafe { std::env::remove_var(PASSPHRASE_ENV) };
    match value.into_string() {
        Ok(s) if s.is_empty() => {
            tracing::warn!("{PASSPHRASE_ENV} is set but empty; ignored");
            None
        }
        Ok(s) => Some(Passphrase::new(s)),
        Err(raw) => {
            use zeroize::Zeroize;
            // Not UTF-8: clear what we can and ignore it.
            let mut bytes = raw.into_encoded_bytes();
            bytes.zeroize();
            tracing::warn!("{PASSPHRASE_ENV} is not valid UTF-8; ignored");
            None
        }
    }
}

/// Reads the first line of a passphrase file, without its `\n` / `\r\n`. Errors name the
/// path and never the content.
pub fn read_passphrase_file(path: &Path) -> Result<Passphrase, KeysError> {
    let fail = |reason: String| KeysError::PassphraseFile {
        path: path.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| fail(io_reason(&e)))?;
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_PASSPHRASE_FILE_BYTES as usize + 1));
    file.take(MAX_PASSPHRASE_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(io_reason(&e)))?;
    if bytes.len() as u64 > MAX_PASSPHRASE_FILE_BYTES {
        return Err(fail(format!(
            "larger than {MAX_PASSPHRASE_FILE_BYTES} bytes; expected one line"
        )));
    }
    let line_end = bytes
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(bytes.len());
    let mut line = &bytes[..line_end];
    if let Some(stripped) = line.strip_suffix(b"\r") {
        line = stripped;
    }
    if line.is_empty() {
        return Err(fail("first line is empty".into()));
    }
    let text = std::str::from_utf8(line).map_err(|_| fail("not valid UTF-8".into()))?;
    Ok(Passphrase::new(text.to_owned()))
}

/// An io error's kind in words, without the OS message detail that could vary.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "not found".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "is a directory".into(),
        _ => format!("cannot read: {e}"),
    }
}

/// Asks for a passphrase once on the terminal (no echo). For the CLI, not the TUI.
pub fn prompt_passphrase(prompt: &str) -> Result<Passphrase, KeysError> {
    let text = rpassword::prompt_password(prompt).map_err(|e| KeysError::Prompt(e.to_string()))?;
    let pass = Passphrase::new(text);
    if pass.is_empty() {
        return Err(KeysError::Invalid {
            field: "passphrase",
            reason: "must not be empty".into(),
        });
    }
    Ok(pass)
}

/// Asks for a new passphrase twice on the terminal; they must match and be at least
/// [`MIN_PASSPHRASE_CHARS`] characters.
pub fn prompt_new_passphrase() -> Result<Passphrase, KeysError> {
    let first = Passphrase::new(
        rpassword::prompt_password("New keystore passphrase: ")
            .map_err(|e| KeysError::Prompt(e.to_string()))?,
    );
    check_new_passphrase(&first)?;
    let second = Passphrase::new(
        rpassword::prompt_password("Repeat passphrase: ")
            .map_err(|e| KeysError::Prompt(e.to_string()))?,
    );
    if first.expose() != second.expose() {
        return Err(KeysError::PassphraseMismatch);
    }
    Ok(first)
}

/// The rule for passphrases that encrypt a new keystore.
pub fn check_new_passphrase(pass: &Passphrase) -> Result<(), KeysError> {
    if pass.char_len() < MIN_PASSPHRASE_CHARS {
        return Err(KeysError::PassphraseTooShort {
            min: MIN_PASSPHRASE_CHARS,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cret-Passphrase!";

    #[test]
    fn file_first_line_trimmed() {
        let tmp = tempfile::tempdir().unwrap();
        for (content, want) in [
            (format!("{SECRET}\n"), SECRET),
            (format!("{SECRET}\r\nsecond line\n"), SECRET),
            (SECRET.to_string(), SECRET),
            (format!(" {SECRET} \n"), " s3cret-Passphrase! "),
        ] {
            let p = tmp.path().join("pw");
            std::fs::write(&p, content).unwrap();
            assert_eq!(read_passphrase_file(&p).unwrap().expose(), want);
        }
    }

    #[test]
    fn file_errors_name_path_not_content() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("missing-pw");
        let err = read_passphrase_file(&missing).unwrap_err();
        assert!(err.to_string().contains("missing-pw"), "{err}");
        assert!(err.to_string().contains("not found"), "{err}");

        let empty = tmp.path().join("empty-pw");
        std::fs::write(&empty, format!("\n{SECRET}\n")).unwrap();
        let err = read_passphrase_file(&empty).unwrap_err();
        let msg = format!("{err} {err:?}");
        assert!(msg.contains("empty-pw") && msg.contains("empty"), "{msg}");
        assert!(!msg.contains(SECRET), "{msg}");

        let big = tmp.path().join("big-pw");
        std::fs::write(&big, SECRET.repeat(1000)).unwrap();
        let err = read_passphrase_file(&big).unwrap_err();
        let msg = format!("{err} {err:?}");
        assert!(!msg.contains(SECRET), "{msg}");

        let bad_utf8 = tmp.path().join("bin-pw");
        std::fs::write(&bad_utf8, b"abc\xff\xfedef\n").unwrap();
        let err = read_passphrase_file(&bad_utf8).unwrap_err();
        assert!(err.to_string().contains("UTF-8"), "{err}");
    }

    #[test]
    fn priority_file_then_env() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("pw");
        std::fs::write(&p, "from-file-pass\n").unwrap();
        let sources = PassphraseSources {
            file: Some(p.clone()),
            env: Some(Passphrase::new("from-env-pass".into())),
            keyring: None,
        };
        let (pass, origin) = sources.non_interactive().unwrap().unwrap();
        assert_eq!(pass.expose(), "from-file-pass");
        assert_eq!(origin, PassphraseOrigin::File(p));
        let sources = PassphraseSources {
            file: None,
            ..sources
        };
        let (pass, origin) = sources.non_interactive().unwrap().unwrap();
        assert_eq!(pass.expose(), "from-env-pass");
        assert_eq!(origin, PassphraseOrigin::Env);
        assert!(
            PassphraseSources::default()
                .non_interactive()
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn sources_debug_is_redacted() {
        let sources = PassphraseSources {
            file: Some("/tmp/pw".into()),
            env: Some(Passphrase::new(SECRET.into())),
            keyring: None,
        };
        let dbg = format!("{sources:?}");
        assert!(!dbg.contains(SECRET), "{dbg}");
        assert!(
            dbg.contains("<redacted>") && dbg.contains("/tmp/pw"),
            "{dbg}"
        );
    }

    #[test]
    fn new_passphrase_rule() {
        assert!(check_new_passphrase(&Passphrase::new("short".into())).is_err());
        check_new_passphrase(&Passphrase::new("long enough".into())).unwrap();
        let err = check_new_passphrase(&Passphrase::new("abc".into())).unwrap_err();
        assert!(!err.to_string().contains("abc"));
    }
}
