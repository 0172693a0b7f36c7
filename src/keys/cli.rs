//! `hedgedesk keys ...`: new, import, list, export-address.
//!
//! Results go to stdout (`address 0x…`, `keystore PATH`, the list table); notes go to
//! stderr. Passphrases come from the non-interactive sources or a terminal prompt, raw
//! private keys from a file or stdin, never from argv.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use zeroize::Zeroizing;

use super::error::KeysError;
use super::keyring_cache::KeyringCache;
use super::keystore::{
    KeystoreInfo, create_keystore, ensure_name_free, import_keystore_file, import_private_key,
    keystore_path, list, read_address, unlock, validate_name,
};
use super::passphrase::{
    PassphraseOrigin, PassphraseSources, check_new_passphrase, prompt_new_passphrase,
    prompt_passphrase, resolve,
};
use super::secret::Passphrase;
use crate::cli::{ImportArgs, KeysCommand};

/// A raw key file or stdin holds one hex key; more than this is not one.
const MAX_PRIVATE_KEY_INPUT: u64 = 1024;

/// What `keys` commands need from the config and the command line.
#[derive(Debug)]
pub struct KeysContext {
    pub keystore_dir: PathBuf,
    /// `keys.account`: the name used when `--name` is not given.
    pub default_account: String,
    pub sources: PassphraseSources,
    /// `--keyring` / `keys.keyring`: cache the passphrase after a successful use.
    pub use_keyring: bool,
    /// stdin is a terminal, so a prompt is possible.
    pub interactive: bool,
}

/// Runs one `keys` subcommand.
pub fn run(cmd: &KeysCommand, ctx: &KeysContext) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::New { name } => cmd_new(ctx, name.as_deref()),
        KeysCommand::Import(args) => cmd_import(ctx, args),
        KeysCommand::List => cmd_list(ctx),
        KeysCommand::ExportAddress { name } => cmd_export_address(ctx, name.as_deref()),
    }
}

fn resolve_name<'a>(ctx: &'a KeysContext, name: Option<&'a str>) -> Result<&'a str, KeysError> {
    let name = name.unwrap_or(&ctx.default_account);
    validate_name(name)?;
    Ok(name)
}

/// The keyring entry for the keystore at `path`, when the keyring is in use: the
/// configured cache retargeted to `path`, or an `auto` one.
fn keyring_for(ctx: &KeysContext, path: &Path) -> Result<Option<KeyringCache>, KeysError> {
    match &ctx.sources.keyring {
        Some(cache) => cache.for_keystore(path).map(Some),
        None if ctx.use_keyring => KeyringCache::new("auto", path).map(Some),
        None => Ok(None),
    }
}

/// Whether a terminal prompt can be shown: stdin is a terminal, or (when stdin carries
/// data such as a private key) the controlling terminal can be opened.
fn can_prompt(ctx: &KeysContext, stdin_busy: bool) -> bool {
    ctx.interactive || (stdin_busy && has_controlling_tty())
}

fn has_controlling_tty() -> bool {
    #[cfg(unix)]
    {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .is_ok()
    }
    #[cfg(not(unix))]
    {
        false
    }
}

enum Purpose<'a> {
    /// Encrypting a new keystore: prompt twice, enforce the length rule.
    New,
    /// Decrypting an existing keystore at this path: prompt once.
    Existing(&'a Path),
}

fn obtain_passphrase(
    ctx: &KeysContext,
    keyring: Option<&KeyringCache>,
    purpose: Purpose<'_>,
    prompt_ok: bool,
) -> Result<(Passphrase, PassphraseOrigin), KeysError> {
    if let Some(found) = resolve(
        ctx.sources.file.as_deref(),
        ctx.sources.env.as_ref(),
        keyring,
    )? {
        if matches!(purpose, Purpose::New) {
            check_new_passphrase(&found.0)?;
        }
        return Ok(found);
    }
    if !prompt_ok {
        return Err(KeysError::NoPassphraseSource);
    }
    let pass = match purpose {
        Purpose::New => prompt_new_passphrase()?,
        Purpose::Existing(path) => {
            prompt_passphrase(&format!("Passphrase for {}: ", path.display()))?
        }
    };
    Ok((pass, PassphraseOrigin::Prompt))
}

/// Caches the passphrase when the keyring is in use and it did not come from there.
fn cache_passphrase(keyring: Option<&KeyringCache>, pass: &Passphrase, origin: &PassphraseOrigin) {
    let Some(cache) = keyring else { return };
    if *origin == PassphraseOrigin::Keyring {
        return;
    }
    match cache.set(pass) {
        Ok(()) => eprintln!("passphrase cached in the OS keyring ({})", cache.backend()),
        Err(e) => eprintln!("warning: passphrase not cached: {e}"),
    }
}

fn print_created(info: &KeystoreInfo) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    if let Some(address) = info.address {
        writeln!(out, "address {}", address.to_checksum(None))?;
    }
    writeln!(out, "keystore {}", info.path.display())?;
    Ok(())
}

fn cmd_new(ctx: &KeysContext, name: Option<&str>) -> anyhow::Result<()> {
    let name = resolve_name(ctx, name)?;
    // Before asking for anything.
    let path = ensure_name_free(&ctx.keystore_dir, name)?;
    let keyring = keyring_for(ctx, &path)?;
    let (pass, origin) = obtain_passphrase(ctx, keyring.as_ref(), Purpose::New, ctx.interactive)?;
    let info = create_keystore(&ctx.keystore_dir, name, &pass)?;
    print_created(&info)?;
    cache_passphrase(keyring.as_ref(), &pass, &origin);
    Ok(())
}

fn cmd_import(ctx: &KeysContext, args: &ImportArgs) -> anyhow::Result<()> {
    let name = resolve_name(ctx, args.name.as_deref())?;
    let path = ensure_name_free(&ctx.keystore_dir, name)?;
    let keyring = keyring_for(ctx, &path)?;
    let info = if let Some(src) = &args.keystore {
        // The copy keeps its encryption, so the passphrase is the source keystore's.
        let (pass, origin) = obtain_passphrase(
            ctx,
            keyring.as_ref(),
            Purpose::Existing(src),
            ctx.interactive,
        )?;
        let info = import_keystore_file(&ctx.keystore_dir, name, src, &pass)?;
        cache_passphrase(keyring.as_ref(), &pass, &origin);
        info
    } else {
        let key = if let Some(file) = &args.private_key_file {
            read_key_file(file)?
        } else if args.private_key_stdin {
            read_key_stdin()?
        } else {
            anyhow::bail!(
                "give one of --keystore FILE, --private-key-file FILE, --private-key-stdin"
            );
        };
        let prompt_ok = can_prompt(ctx, args.private_key_stdin);
        let (pass, origin) = obtain_passphrase(ctx, keyring.as_ref(), Purpose::New, prompt_ok)?;
        let info = import_private_key(&ctx.keystore_dir, name, &key, &pass)?;
        cache_passphrase(keyring.as_ref(), &pass, &origin);
        info
    };
    print_created(&info)
}

/// Reads a private key file into zeroized memory. Errors name the path, never the content.
fn read_key_file(path: &Path) -> anyhow::Result<Zeroizing<String>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("private key file {}", path.display()))?;
    read_key(file, &path.display().to_string())
}

fn read_key_stdin() -> anyhow::Result<Zeroizing<String>> {
    read_key(io::stdin().lock(), "stdin")
}

fn read_key(reader: impl Read, what: &str) -> anyhow::Result<Zeroizing<String>> {
    // Capacity up front so the buffer never reallocates (which would leave copies).
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_PRIVATE_KEY_INPUT as usize + 1));
    reader
        .take(MAX_PRIVATE_KEY_INPUT + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading the private key from {what}"))?;
    if bytes.len() as u64 > MAX_PRIVATE_KEY_INPUT {
        anyhow::bail!(
            "invalid private key ({what}): more than {MAX_PRIVATE_KEY_INPUT} bytes; expected one hex key"
        );
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| anyhow::anyhow!("invalid private key ({what}): not text"))?;
    Ok(Zeroizing::new(text.to_owned()))
}

fn cmd_list(ctx: &KeysContext) -> anyhow::Result<()> {
    let found = list(&ctx.keystore_dir)?;
    let rows: Vec<[String; 3]> = found
        .iter()
        .map(|k| {
            [
                k.name.clone(),
                k.address
                    .map(|a| a.to_checksum(None))
                    .unwrap_or_else(|| "unknown".into()),
                k.path.display().to_string(),
            ]
        })
        .collect();
    let header = ["NAME".to_string(), "ADDRESS".into(), "PATH".into()];
    let w0 = rows
        .iter()
        .map(|r| r[0].len())
        .chain([header[0].len()])
        .max()
        .unwrap_or(4);
    let w1 = rows
        .iter()
        .map(|r| r[1].len())
        .chain([header[1].len()])
        .max()
        .unwrap_or(7);
    let mut out = io::stdout().lock();
    for row in std::iter::once(&header).chain(rows.iter()) {
        writeln!(out, "{:<w0$}  {:<w1$}  {}", row[0], row[1], row[2])?;
    }
    if rows.is_empty() {
        eprintln!(
            "no keystores in {}; create one with `hedgedesk keys new`",
            ctx.keystore_dir.display()
        );
    }
    Ok(())
}

fn cmd_export_address(ctx: &KeysContext, name: Option<&str>) -> anyhow::Result<()> {
    let name = resolve_name(ctx, name)?;
    let path = keystore_path(&ctx.keystore_dir, name);
    if !path.is_file() {
        return Err(KeysError::NotFound(path).into());
    }
    let address = match read_address(&path) {
        Some(address) => address,
        None => {
            // No address field (e.g. a cast keystore): unlock to learn it.
            let keyring = keyring_for(ctx, &path)?;
            let (pass, origin) = obtain_passphrase(
                ctx,
                keyring.as_ref(),
                Purpose::Existing(&path),
                ctx.interactive,
            )?;
            let signer = unlock(&path, &pass).map_err(|e| KeysError::unlock(&path, e))?;
            cache_passphrase(keyring.as_ref(), &pass, &origin);
            signer.address()
        }
    };
    println!("{}", address.to_checksum(None));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "ctx-secret-passphrase";

    fn ctx(dir: &Path, env: Option<&str>) -> KeysContext {
        KeysContext {
            keystore_dir: dir.to_path_buf(),
            default_account: "operator".into(),
            sources: PassphraseSources {
                file: None,
                env: env.map(|s| Passphrase::new(s.into())),
                keyring: None,
            },
            use_keyring: false,
            interactive: false,
        }
    }

    #[test]
    fn context_debug_is_redacted() {
        let tmp = tempfile::tempdir().unwrap();
        let c = ctx(tmp.path(), Some(SECRET));
        let dbg = format!("{c:?}");
        assert!(!dbg.contains(SECRET), "{dbg}");
        assert!(dbg.contains("Passphrase(<redacted>)"), "{dbg}");
    }

    #[test]
    fn no_source_and_no_tty_says_which_sources_exist() {
        let tmp = tempfile::tempdir().unwrap();
        let c = ctx(tmp.path(), None);
        let err = run(&KeysCommand::New { name: None }, &c)
            .unwrap_err()
            .to_string();
        for hint in ["--passphrase-file", "HEDGEDESK_PASSPHRASE", "--keyring"] {
            assert!(err.contains(hint), "{err}");
        }
        assert!(list(tmp.path()).unwrap().is_empty());
    }

    #[test]
    fn new_then_export_address_and_short_passphrase() {
        let tmp = tempfile::tempdir().unwrap();
        let c = ctx(tmp.path(), Some(SECRET));
        run(&KeysCommand::New { name: None }, &c).unwrap();
        let listed = list(tmp.path()).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, "operator");
        run(&KeysCommand::ExportAddress { name: None }, &c).unwrap();
        // Existing name refused before any prompt.
        let err = run(&KeysCommand::New { name: None }, &c).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        // Too-short passphrase for a new keystore.
        let short = ctx(tmp.path(), Some("abc"));
        let err = run(
            &KeysCommand::New {
                name: Some("second".into()),
            },
            &short,
        )
        .unwrap_err();
        assert!(err.to_string().contains("too short"), "{err}");
        let err = run(
            &KeysCommand::New {
                name: Some("../evil".into()),
            },
            &c,
        )
        .unwrap_err();
        assert!(err.to_string().contains("invalid name"), "{err}");
    }

    #[test]
    fn read_key_rejects_oversized_input_without_echo() {
        let big = "ab".repeat(2000);
        let err = read_key(big.as_bytes(), "stdin").unwrap_err().to_string();
        assert!(!err.contains("abab"), "{err}");
        let ok = read_key(&b"0x12\n"[..], "stdin").unwrap();
        assert_eq!(ok.as_str(), "0x12\n");
    }
}
