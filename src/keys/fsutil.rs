//! File-system helpers for keystores: an owner-only directory, and a new owner-only
//! file written in full before it appears under its final name, never over an existing
//! file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::error::KeysError;

/// Creates `dir` (and missing parents) with mode 0700 on Unix. An existing directory is
/// left as it is.
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<(), KeysError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| KeysError::io(dir, e))
}

fn open_private_new(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// A random suffix for temporary names (not a secret; only needs to avoid collisions).
pub(crate) fn unique_suffix() -> String {
    use alloy::signers::k256::elliptic_curve::rand_core::{OsRng, RngCore};
    format!("{}-{:016x}", std::process::id(), OsRng.next_u64())
}

/// Writes `contents` to a new file `path` with mode 0600. Refuses to replace an
/// existing file ([`KeysError::AlreadyExists`]). The data goes to a temporary file in
/// the same directory first and is hard-linked into place, so `path` never holds a
/// partial keystore; where hard links are unsupported it is written in place with
/// `create_new`.
pub(crate) fn write_new_private(path: &Path, contents: &[u8]) -> Result<(), KeysError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp-{}", unique_suffix()));
    let write = |p: &Path| -> io::Result<()> {
        let mut f = open_private_new(p)?;
        f.write_all(contents)?;
        f.sync_all()
    };
    if let Err(e) = write(&tmp) {
        let _ = fs::remove_file(&tmp);
        return Err(KeysError::io(&tmp, e));
    }
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(KeysError::AlreadyExists(path.to_path_buf()));
        }
        Err(_) => match write(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(KeysError::AlreadyExists(path.to_path_buf()));
            }
            Err(e) => {
                let _ = fs::remove_file(path);
                return Err(KeysError::io(path, e));
            }
        },
    }
    // Persist the directory entry too; best effort (not every platform can open a dir).
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A private (0700) scratch directory inside `parent`, removed with its contents on drop.
pub(crate) struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    pub(crate) fn new(parent: &Path) -> Result<Self, KeysError> {
        let path = parent.join(format!(".staging-{}", unique_suffix()));
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(&path).map_err(|e| KeysError::io(&path, e))?;
        Ok(Self { path })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Reads a small file (at most `limit` bytes) as UTF-8.
pub(crate) fn read_small_to_string(path: &Path, limit: u64) -> io::Result<String> {
    use std::io::Read;
    let f = File::open(path)?;
    let mut s = String::new();
    f.take(limit + 1).read_to_string(&mut s)?;
    if s.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {limit} bytes"),
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_new_private_refuses_overwrite_and_sets_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        ensure_private_dir(&dir).unwrap();
        let p = dir.join("x.json");
        write_new_private(&p, b"one").unwrap();
        let err = write_new_private(&p, b"two").unwrap_err();
        assert!(matches!(err, KeysError::AlreadyExists(_)), "{err}");
        assert_eq!(fs::read(&p).unwrap(), b"one");
        // No temporary files left behind.
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
                0o700
            );
        }
    }

    #[test]
    fn scratch_dir_is_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let path = {
            let s = ScratchDir::new(tmp.path()).unwrap();
            fs::write(s.path().join("f"), b"x").unwrap();
            s.path().to_path_buf()
        };
        assert!(!path.exists());
    }
}
