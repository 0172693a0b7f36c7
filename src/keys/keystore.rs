//! Ethereum V3 keystore files (scrypt + AES-128-CTR, the format of geth and Foundry's
//! `cast wallet`): create, import, list, read the address, unlock.
//!
//! Files we write are `<dir>/<name>.json`, mode 0600 in a 0700 directory, and carry the
//! geth-style `"address"` field (lowercase hex, no `0x`) so that listing needs no
//! passphrase. Encryption and decryption are eth-keystore's (scrypt log_n = 13, as
//! `cast wallet new`), which is CPU heavy: async callers run these in `spawn_blocking`.

use std::fs;
use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use alloy::signers::k256::elliptic_curve::rand_core::{OsRng, RngCore};
use alloy_signer_local::PrivateKeySigner;
use serde_json::Value;
use zeroize::Zeroizing;

use super::error::{KeysError, UnlockError};
use super::fsutil::{ScratchDir, ensure_private_dir, read_small_to_string, write_new_private};
use super::secret::{Passphrase, PrivateKey};

/// Keystores are small; anything bigger is not one (and is not read whole).
const MAX_KEYSTORE_BYTES: u64 = 64 * 1024;
/// Largest scrypt cost we agree to run: n * r <= 2^23 (1 GiB of scrypt memory).
const MAX_SCRYPT_N_TIMES_R: u64 = 1 << 23;
/// Largest PBKDF2 iteration count we agree to run.
const MAX_PBKDF2_ROUNDS: u64 = 10_000_000;

/// A keystore found in the keystore directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeystoreInfo {
    /// File name without a `.json` extension: what `--name` and `keys.account` refer to.
    pub name: String,
    pub path: PathBuf,
    /// From the file's `address` field; `None` when the file has none (e.g. cast's).
    pub address: Option<Address>,
}

/// `<dir>/<account>.json`; or `<dir>/<account>` when only that exists (Foundry names its
/// keystores without an extension).
pub fn keystore_path(dir: &Path, account: &str) -> PathBuf {
    let json = dir.join(format!("{account}.json"));
    if !json.exists() {
        let bare = dir.join(account);
        if bare.is_file() {
            return bare;
        }
    }
    json
}

/// Checks a keystore name: non-empty, at most 64 of `[A-Za-z0-9._-]`, not starting with
/// a dot. The error names the field `name`.
pub fn validate_name(name: &str) -> Result<(), KeysError> {
    let invalid = |reason: String| KeysError::Invalid {
        field: "name",
        reason,
    };
    if name.is_empty() {
        return Err(invalid("must not be empty".into()));
    }
    if name.len() > 64 {
        return Err(invalid(format!("{name:?} is longer than 64 characters")));
    }
    if name.starts_with('.') {
        return Err(invalid(format!("{name:?} must not start with a dot")));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(invalid(format!(
            "{name:?} may only contain letters, digits, '.', '_' and '-'"
        )));
    }
    Ok(())
}

/// Fails with [`KeysError::AlreadyExists`] when `<dir>/<name>.json` or `<dir>/<name>`
/// exists; otherwise returns `<dir>/<name>.json`.
pub(crate) fn ensure_name_free(dir: &Path, name: &str) -> Result<PathBuf, KeysError> {
    let json = dir.join(format!("{name}.json"));
    for candidate in [&json, &dir.join(name)] {
        if fs::symlink_metadata(candidate).is_ok() {
            return Err(KeysError::AlreadyExists(candidate.clone()));
        }
    }
    Ok(json)
}

fn address_field(address: Address) -> String {
    hex::encode(address.as_slice())
}

/// Creates a keystore holding a new random key at `<dir>/<name>.json`.
pub fn create_keystore(
    dir: &Path,
    name: &str,
    pass: &Passphrase,
) -> Result<KeystoreInfo, KeysError> {
    validate_name(name)?;
    let path = ensure_name_free(dir, name)?;
    let key = loop {
        let mut bytes = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(bytes.as_mut_slice());
        // A random 256-bit value is out of range with probability ~2^-128.
        if PrivateKeySigner::from_slice(bytes.as_slice()).is_ok() {
            break PrivateKey::from_bytes(bytes);
        }
    };
    write_encrypted(dir, name, &path, &key, pass)
}

/// Encrypts a raw hex private key (0x optional, surrounding whitespace allowed) into
/// `<dir>/<name>.json`. Errors never quote the key.
pub fn import_private_key(
    dir: &Path,
    name: &str,
    key_hex: &Zeroizing<String>,
    pass: &Passphrase,
) -> Result<KeystoreInfo, KeysError> {
    validate_name(name)?;
    let key = PrivateKey::from_hex(key_hex, "private key")?;
    let path = ensure_name_free(dir, name)?;
    write_encrypted(dir, name, &path, &key, pass)
}

/// Encrypts `key` with `pass`, checks the result decrypts to the same address, adds the
/// `address` field and writes it to `path` (0600, never over an existing file).
fn write_encrypted(
    dir: &Path,
    name: &str,
    path: &Path,
    key: &PrivateKey,
    pass: &Passphrase,
) -> Result<KeystoreInfo, KeysError> {
    let address = PrivateKeySigner::from_slice(key.as_bytes())
        .map_err(|_| KeysError::InvalidPrivateKey {
            source_name: "private key".into(),
            reason: "not a valid secp256k1 private key (out of range)",
        })?
        .address();
    ensure_private_dir(dir)?;
    let keystore_err = |reason: String| KeysError::Keystore {
        path: path.to_path_buf(),
        reason,
    };
    // eth-keystore writes with default permissions and would replace an existing file,
    // so it writes into a private scratch dir and we place the result ourselves.
    let scratch = ScratchDir::new(dir)?;
    eth_keystore::encrypt_key(
        scratch.path(),
        &mut OsRng,
        key.as_bytes(),
        pass.expose().as_bytes(),
        Some("keystore"),
    )
    .map_err(|e| keystore_err(format!("encryption failed: {e}")))?;
    let staged = scratch.path().join("keystore");
    let check =
        unlock(&staged, pass).map_err(|e| keystore_err(format!("self-check failed: {e}")))?;
    if check.address() != address {
        return Err(keystore_err("self-check failed: address mismatch".into()));
    }
    drop(check);
    let text = fs::read_to_string(&staged).map_err(|e| KeysError::io(&staged, e))?;
    let mut value: Value = serde_json::from_str(&text)
        .map_err(|e| keystore_err(format!("encrypted keystore is not JSON: {e}")))?;
    let obj = value
        .as_object_mut()
        .ok_or_else(|| keystore_err("encrypted keystore is not a JSON object".into()))?;
    obj.insert("address".into(), Value::String(address_field(address)));
    let out = serde_json::to_vec(&value).map_err(|e| keystore_err(e.to_string()))?;
    write_new_private(path, &out)?;
    tracing::info!(path = %path.display(), %address, "keystore written");
    Ok(KeystoreInfo {
        name: name.to_string(),
        path: path.to_path_buf(),
        address: Some(address),
    })
}

/// Copies an existing V3 keystore (e.g. from `cast wallet new`) into `<dir>/<name>.json`.
/// It must decrypt with `pass` first: a wrong passphrase writes nothing. The copy keeps
/// every field as it was and gains the `address` field if it had none; a present
/// `address` that disagrees with the key is refused.
pub fn import_keystore_file(
    dir: &Path,
    name: &str,
    src: &Path,
    pass: &Passphrase,
) -> Result<KeystoreInfo, KeysError> {
    validate_name(name)?;
    let path = ensure_name_free(dir, name)?;
    let src_err = |reason: String| KeysError::Keystore {
        path: src.to_path_buf(),
        reason,
    };
    let text = read_small_to_string(src, MAX_KEYSTORE_BYTES).map_err(|e| KeysError::io(src, e))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| src_err(format!("not a JSON keystore: {e}")))?;
    let signer = unlock(src, pass).map_err(|e| KeysError::unlock(src, e))?;
    let address = signer.address();
    drop(signer);
    let out = match value.get("address") {
        Some(Value::String(s)) => {
            let found = parse_address(s)
                .ok_or_else(|| src_err(format!("its address field {s:?} is not an address")))?;
            if found != address {
                return Err(src_err(format!(
                    "its address field {found} does not match the key it holds ({address})"
                )));
            }
            text
        }
        Some(_) => return Err(src_err("its address field is not a string".into())),
        None => insert_address_field(&text, address)
            .ok_or_else(|| src_err("not a JSON object".into()))?,
    };
    ensure_private_dir(dir)?;
    write_new_private(&path, out.as_bytes())?;
    tracing::info!(path = %path.display(), src = %src.display(), %address, "keystore imported");
    Ok(KeystoreInfo {
        name: name.to_string(),
        path,
        address: Some(address),
    })
}

/// Inserts `"address":"<hex>"` as the first member of the JSON object in `text`,
/// leaving every other byte as it was.
fn insert_address_field(text: &str, address: Address) -> Option<String> {
    let open = text.find('{')?;
    if !text[..open].trim().is_empty() {
        return None;
    }
    let rest = &text[open + 1..];
    let sep = if rest.trim_start().starts_with('}') {
        ""
    } else {
        ","
    };
    let out = format!(
        "{}{{\"address\":\"{}\"{sep}{rest}",
        &text[..open],
        address_field(address)
    );
    // Must still be one JSON object.
    matches!(serde_json::from_str::<Value>(&out), Ok(Value::Object(_))).then_some(out)
}

fn parse_address(s: &str) -> Option<Address> {
    let s = s.trim();
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if digits.len() != 40 {
        return None;
    }
    let mut bytes = [0u8; 20];
    hex::decode_to_slice(digits, &mut bytes).ok()?;
    Some(Address::from(bytes))
}

fn read_keystore_json(path: &Path) -> Option<Value> {
    let text = read_small_to_string(path, MAX_KEYSTORE_BYTES).ok()?;
    let value: Value = serde_json::from_str(&text).ok()?;
    let obj = value.as_object()?;
    let crypto = obj.get("crypto").or_else(|| obj.get("Crypto"))?;
    crypto.is_object().then_some(value)
}

/// The address from a keystore's `address` field, if the file is a keystore and has one.
pub fn read_address(path: &Path) -> Option<Address> {
    read_keystore_json(path)?
        .get("address")?
        .as_str()
        .and_then(parse_address)
}

/// The keystores in `dir`, sorted by name. Files that are not V3 keystores (by content),
/// hidden files and directories are ignored; a missing `dir` lists nothing.
pub fn list(dir: &Path) -> Result<Vec<KeystoreInfo>, KeysError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(KeysError::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| KeysError::io(dir, e))?;
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        if file_name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let Some(value) = read_keystore_json(&path) else {
            continue;
        };
        let address = value
            .get("address")
            .and_then(Value::as_str)
            .and_then(parse_address);
        let name = file_name.strip_suffix(".json").unwrap_or(file_name);
        out.push(KeystoreInfo {
            name: name.to_string(),
            path,
            address,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.path.cmp(&b.path)));
    Ok(out)
}

/// Decrypts the keystore at `path`. CPU heavy (scrypt): run it in `spawn_blocking` from
/// async code. The decrypted key bytes are zeroized; the signer zeroizes its key on drop.
pub fn unlock(path: &Path, pass: &Passphrase) -> Result<PrivateKeySigner, UnlockError> {
    let text = match read_small_to_string(path, MAX_KEYSTORE_BYTES) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(UnlockError::NotFound(path.to_path_buf()));
        }
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Err(UnlockError::Malformed(format!("not a keystore: {e}")));
        }
        Err(e) => return Err(UnlockError::Io(e.to_string())),
    };
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| UnlockError::Malformed(format!("not JSON: {e}")))?;
    validate_v3(&value).map_err(UnlockError::Malformed)?;
    let secret = eth_keystore::decrypt_key(path, pass.expose().as_bytes())
        .map(Zeroizing::new)
        .map_err(|e| match e {
            eth_keystore::KeystoreError::MacMismatch => UnlockError::WrongPassphrase,
            eth_keystore::KeystoreError::StdIo(s) => UnlockError::Io(s),
            eth_keystore::KeystoreError::SerdeJson(s) => UnlockError::Malformed(s),
            other => UnlockError::Malformed(other.to_string()),
        })?;
    let signer = PrivateKeySigner::from_slice(secret.as_slice()).map_err(|_| {
        UnlockError::Malformed("decrypted key is not a valid secp256k1 private key".into())
    })?;
    tracing::debug!(path = %path.display(), address = %signer.address(), "keystore unlocked");
    Ok(signer)
}

fn hex_field(obj: &serde_json::Map<String, Value>, key: &str) -> Result<Vec<u8>, String> {
    let s = obj
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("crypto field {key} is missing or not a string"))?;
    hex::decode(s).map_err(|_| format!("crypto field {key} is not hex"))
}

fn uint_field(obj: &serde_json::Map<String, Value>, key: &str) -> Result<u64, String> {
    obj.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("kdfparams field {key} is missing or not an unsigned integer"))
}

/// Checks the shape eth-keystore relies on, so a malformed file is an error instead of
/// a panic (it slices the IV and derived key) or an unbounded scrypt.
fn validate_v3(value: &Value) -> Result<(), String> {
    let obj = value.as_object().ok_or("not a JSON object")?;
    let crypto = match (obj.get("crypto"), obj.get("Crypto")) {
        (Some(c), _) => c,
        (None, Some(_)) => return Err("old-style `Crypto` key; re-export it as V3".into()),
        (None, None) => return Err("no `crypto` section: not a V3 keystore".into()),
    };
    let crypto = crypto.as_object().ok_or("`crypto` is not an object")?;
    match crypto.get("cipher").and_then(Value::as_str) {
        Some("aes-128-ctr") => {}
        Some(other) => return Err(format!("unsupported cipher {other:?}")),
        None => return Err("crypto field cipher is missing".into()),
    }
    let iv = crypto
        .get("cipherparams")
        .and_then(Value::as_object)
        .ok_or("crypto field cipherparams is missing")
        .and_then(|p| hex_field(p, "iv").map_err(|_| "cipherparams.iv is missing or not hex"))?;
    if iv.len() != 16 {
        return Err(format!(
            "cipherparams.iv is {} bytes, expected 16",
            iv.len()
        ));
    }
    if hex_field(crypto, "ciphertext")?.len() != 32 {
        return Err("ciphertext is not 32 bytes".into());
    }
    if hex_field(crypto, "mac")?.len() != 32 {
        return Err("mac is not 32 bytes".into());
    }
    let params = crypto
        .get("kdfparams")
        .and_then(Value::as_object)
        .ok_or("crypto field kdfparams is missing")?;
    let dklen = uint_field(params, "dklen")?;
    if !(32..=255).contains(&dklen) {
        return Err(format!("kdfparams.dklen {dklen} is not in 32..=255"));
    }
    hex_field(params, "salt")?;
    match crypto.get("kdf").and_then(Value::as_str) {
        Some("scrypt") => {
            let n = uint_field(params, "n")?;
            let r = uint_field(params, "r")?;
            let p = uint_field(params, "p")?;
            if n < 2 || !n.is_power_of_two() {
                return Err(format!("kdfparams.n {n} is not a power of two >= 2"));
            }
            if r == 0 || p == 0 || p > 16 || n.saturating_mul(r) > MAX_SCRYPT_N_TIMES_R {
                return Err(format!("scrypt parameters n={n} r={r} p={p} out of range"));
            }
        }
        Some("pbkdf2") => {
            let c = uint_field(params, "c")?;
            if c == 0 || c > MAX_PBKDF2_ROUNDS {
                return Err(format!("kdfparams.c {c} out of range"));
            }
            match params.get("prf").and_then(Value::as_str) {
                Some("hmac-sha256") => {}
                other => return Err(format!("unsupported pbkdf2 prf {other:?}")),
            }
        }
        Some(other) => return Err(format!("unsupported kdf {other:?}")),
        None => return Err("crypto field kdf is missing".into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASS: &str = "correct horse battery";
    const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const DEV_ADDR: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

    fn pass() -> Passphrase {
        Passphrase::new(PASS.into())
    }

    #[test]
    fn create_then_unlock_and_list() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("keystore");
        let info = create_keystore(&dir, "operator", &pass()).unwrap();
        assert_eq!(info.path, dir.join("operator.json"));
        let addr = info.address.unwrap();
        assert_eq!(read_address(&info.path), Some(addr));
        let text = fs::read_to_string(&info.path).unwrap();
        assert!(
            text.contains(&format!("\"address\":\"{}\"", hex::encode(addr))),
            "{text}"
        );
        assert_eq!(unlock(&info.path, &pass()).unwrap().address(), addr);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&info.path), 0o600);
            assert_eq!(mode(&dir), 0o700);
        }
        // Refuses to overwrite.
        let err = create_keystore(&dir, "operator", &pass()).unwrap_err();
        assert!(matches!(err, KeysError::AlreadyExists(_)), "{err}");
        assert_eq!(read_address(&info.path), Some(addr));
        // Listing ignores other files.
        fs::write(dir.join("notes.txt"), "hello").unwrap();
        fs::write(dir.join("other.json"), "{\"a\":1}").unwrap();
        fs::create_dir(dir.join("sub")).unwrap();
        let listed = list(&dir).unwrap();
        assert_eq!(listed, vec![info]);
        // Only the keystore is left in the dir (no staging leftovers).
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 4);
    }

    #[test]
    fn wrong_passphrase_is_distinguishable() {
        let tmp = tempfile::tempdir().unwrap();
        let info = create_keystore(tmp.path(), "a", &pass()).unwrap();
        let wrong = Passphrase::new("not the passphrase".into());
        let err = unlock(&info.path, &wrong).unwrap_err();
        assert_eq!(err, UnlockError::WrongPassphrase);
        let msg = format!("{err} {err:?}");
        assert!(!msg.contains("not the passphrase") && !msg.contains(PASS));
        assert_eq!(
            unlock(&tmp.path().join("missing.json"), &pass()).unwrap_err(),
            UnlockError::NotFound(tmp.path().join("missing.json"))
        );
    }

    #[test]
    fn import_private_key_vector() {
        let tmp = tempfile::tempdir().unwrap();
        let key = Zeroizing::new(format!("  {DEV_KEY}\n"));
        let info = import_private_key(tmp.path(), "dev", &key, &pass()).unwrap();
        assert_eq!(info.address.unwrap().to_checksum(None), DEV_ADDR);
        let signer = unlock(&info.path, &pass()).unwrap();
        assert_eq!(signer.address().to_checksum(None), DEV_ADDR);
    }

    #[test]
    fn bad_private_key_never_echoed_and_nothing_written() {
        let tmp = tempfile::tempdir().unwrap();
        let key = Zeroizing::new(format!("{}xyz", &DEV_KEY[..40]));
        let err = import_private_key(tmp.path(), "dev", &key, &pass()).unwrap_err();
        let msg = format!("{err} {err:?}");
        assert!(!msg.contains(&DEV_KEY[2..12]), "{msg}");
        assert!(msg.contains("invalid private key"), "{msg}");
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn import_keystore_adds_address_and_keeps_fields() {
        let tmp = tempfile::tempdir().unwrap();
        // A Foundry-style keystore: no extension, no address field.
        let src_dir = tmp.path().join("cast");
        let imported_from = {
            let key = Zeroizing::new(DEV_KEY.to_string());
            let info = import_private_key(&src_dir, "tmp", &key, &pass()).unwrap();
            let mut v: Value =
                serde_json::from_str(&fs::read_to_string(&info.path).unwrap()).unwrap();
            v.as_object_mut().unwrap().remove("address");
            let bare = src_dir.join("deployer");
            fs::write(&bare, serde_json::to_string_pretty(&v).unwrap()).unwrap();
            bare
        };
        assert_eq!(read_address(&imported_from), None);
        assert_eq!(keystore_path(&src_dir, "deployer"), imported_from);
        let dir = tmp.path().join("ks");
        // Wrong passphrase: error, nothing written.
        let err = import_keystore_file(
            &dir,
            "op",
            &imported_from,
            &Passphrase::new("wrong-pass".into()),
        )
        .unwrap_err();
        assert!(err.is_wrong_passphrase(), "{err}");
        assert!(!dir.exists());
        let info = import_keystore_file(&dir, "op", &imported_from, &pass()).unwrap();
        assert_eq!(info.address.unwrap().to_checksum(None), DEV_ADDR);
        let original: Value =
            serde_json::from_str(&fs::read_to_string(&imported_from).unwrap()).unwrap();
        let mut copy: Value =
            serde_json::from_str(&fs::read_to_string(&info.path).unwrap()).unwrap();
        assert_eq!(
            copy.as_object_mut().unwrap().remove("address"),
            Some(Value::String(
                "f39fd6e51aad88f6f4ce6ab8827279cfffb92266".into()
            ))
        );
        assert_eq!(copy, original);
        assert_eq!(
            unlock(&info.path, &pass())
                .unwrap()
                .address()
                .to_checksum(None),
            DEV_ADDR
        );
        // A second import under the same name is refused.
        let err = import_keystore_file(&dir, "op", &imported_from, &pass()).unwrap_err();
        assert!(matches!(err, KeysError::AlreadyExists(_)), "{err}");
    }

    #[test]
    fn import_refuses_mismatched_address_field() {
        let tmp = tempfile::tempdir().unwrap();
        let key = Zeroizing::new(DEV_KEY.to_string());
        let info = import_private_key(tmp.path(), "a", &key, &pass()).unwrap();
        let text = fs::read_to_string(&info.path).unwrap().replace(
            "f39fd6e51aad88f6f4ce6ab8827279cfffb92266",
            "0000000000000000000000000000000000000001",
        );
        let forged = tmp.path().join("forged.json");
        fs::write(&forged, text).unwrap();
        let err = import_keystore_file(&tmp.path().join("out"), "b", &forged, &pass()).unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
    }

    #[test]
    fn names_are_validated() {
        for bad in ["", "a/b", "../x", ".hidden", "a b", "ä"] {
            let err = validate_name(bad).unwrap_err();
            assert!(err.to_string().starts_with("invalid name:"), "{err}");
        }
        for good in ["operator", "a.b-c_D9"] {
            validate_name(good).unwrap();
        }
    }

    #[test]
    fn malformed_keystores_error_instead_of_panicking() {
        let tmp = tempfile::tempdir().unwrap();
        let key = Zeroizing::new(DEV_KEY.to_string());
        let info = import_private_key(tmp.path(), "a", &key, &pass()).unwrap();
        let good: Value = serde_json::from_str(&fs::read_to_string(&info.path).unwrap()).unwrap();
        type Mutation = Box<dyn Fn(&mut Value)>;
        let mutations: Vec<(&str, Mutation)> = vec![
            (
                "short iv",
                Box::new(|v| v["crypto"]["cipherparams"]["iv"] = "00".into()),
            ),
            (
                "dklen 16",
                Box::new(|v| v["crypto"]["kdfparams"]["dklen"] = 16.into()),
            ),
            (
                "huge n",
                Box::new(|v| v["crypto"]["kdfparams"]["n"] = (1u64 << 30).into()),
            ),
            (
                "cipher",
                Box::new(|v| v["crypto"]["cipher"] = "aes-256-gcm".into()),
            ),
            (
                "no crypto",
                Box::new(|v| {
                    v.as_object_mut().unwrap().remove("crypto");
                }),
            ),
        ];
        for (what, mutate) in mutations {
            let mut v = good.clone();
            mutate(&mut v);
            let p = tmp.path().join("bad.json");
            fs::write(&p, v.to_string()).unwrap();
            let err = unlock(&p, &pass()).unwrap_err();
            assert!(matches!(err, UnlockError::Malformed(_)), "{what}: {err:?}");
        }
        let p = tmp.path().join("garbage.json");
        fs::write(&p, "not json").unwrap();
        assert!(matches!(
            unlock(&p, &pass()),
            Err(UnlockError::Malformed(_))
        ));
    }

    #[test]
    fn insert_address_keeps_bytes() {
        let addr: Address = DEV_ADDR.parse().unwrap();
        let out = insert_address_field("  {\"b\": 1,\n \"a\": [2]}\n", addr).unwrap();
        assert_eq!(
            out,
            "  {\"address\":\"f39fd6e51aad88f6f4ce6ab8827279cfffb92266\",\"b\": 1,\n \"a\": [2]}\n"
        );
        assert_eq!(
            insert_address_field("{}", addr).unwrap(),
            "{\"address\":\"f39fd6e51aad88f6f4ce6ab8827279cfffb92266\"}"
        );
        assert!(insert_address_field("[1]", addr).is_none());
    }
}
