//! The demo's throwaway keystore: anvil's public dev key 0 (the devnet deployer, owner and
//! backend of every demo contract) under a random passphrase kept beside it, so the demo
//! unlocks without asking. Nothing here is secret: it is a devnet.

use std::path::{Path, PathBuf};

use alloy::signers::local::PrivateKeySigner;
use zeroize::Zeroizing;

use crate::keys::{self, Passphrase};

/// The keystore's name (`[keys] account`).
pub const ACCOUNT: &str = "demo";

/// Writes `<keystore_dir>/demo.json` for `key` and the passphrase file `pass_file` (0600);
/// returns the passphrase file.
pub fn write(
    key: &PrivateKeySigner,
    keystore_dir: &Path,
    pass_file: &Path,
) -> anyhow::Result<PathBuf> {
    let bytes: [u8; 16] = rand::random();
    let phrase = format!("demo-{}", alloy::hex::encode(bytes));
    write_private(pass_file, &format!("{phrase}\n"))?;
    let pass = Passphrase::new(phrase);
    let key_hex = Zeroizing::new(alloy::hex::encode(key.to_bytes()));
    keys::import_private_key(keystore_dir, ACCOUNT, &key_hex, &pass)?;
    Ok(pass_file.to_path_buf())
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}
