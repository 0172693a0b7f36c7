//! Where things live on disk, as the config and the command line decide.

use std::path::{Path, PathBuf};

use super::model::Config;

/// The directory name used under the platform config and data dirs.
pub const APP_DIR: &str = "hedgedesk";

impl Config {
    /// The data dir: `--data-dir` / `HEDGEDESK_DATA_DIR`, else `general.data_dir` (with `~`
    /// expanded), else `$XDG_DATA_HOME/hedgedesk`.
    pub fn data_dir(&self, cli_override: Option<&Path>) -> PathBuf {
        if let Some(dir) = cli_override {
            return expand_tilde_path(dir);
        }
        if !self.general.data_dir.trim().is_empty() {
            return expand_tilde(&self.general.data_dir);
        }
        platform_data_dir().join(APP_DIR)
    }

    /// `keys.keystore_dir` (with `~` expanded), else `<data_dir>/keystore`.
    pub fn keystore_dir(&self, data_dir: &Path) -> PathBuf {
        if self.keys.keystore_dir.trim().is_empty() {
            data_dir.join("keystore")
        } else {
            expand_tilde(&self.keys.keystore_dir)
        }
    }

    /// `ui.themes_dir` (with `~` expanded), else `$XDG_CONFIG_HOME/hedgedesk/themes`.
    pub fn themes_dir(&self) -> PathBuf {
        if self.ui.themes_dir.trim().is_empty() {
            platform_config_dir().join(APP_DIR).join("themes")
        } else {
            expand_tilde(&self.ui.themes_dir)
        }
    }

    /// The SQLite database: `<data_dir>/<store.file>`.
    pub fn db_path(&self, data_dir: &Path) -> PathBuf {
        data_dir.join(&self.store.file)
    }

    /// Daily log files: `<data_dir>/logs`.
    pub fn logs_dir(&self, data_dir: &Path) -> PathBuf {
        data_dir.join("logs")
    }
}

/// `dirs::config_dir()`, or `.` when the platform has none (no `$HOME`).
pub(crate) fn platform_config_dir() -> PathBuf {
    dirs::config_dir().unwrap_or_else(|| PathBuf::from("."))
}

/// `dirs::data_dir()`, or `.` when the platform has none (no `$HOME`).
fn platform_data_dir() -> PathBuf {
    dirs::data_dir().unwrap_or_else(|| PathBuf::from("."))
}

/// `~` or `~/rest` with the home dir put in; anything else as written.
pub fn expand_tilde(path: &str) -> PathBuf {
    let path = path.trim();
    let home = || dirs::home_dir();
    if path == "~" {
        if let Some(h) = home() {
            return h;
        }
    } else if let Some(rest) = path.strip_prefix("~/")
        && let Some(h) = home()
    {
        return h.join(rest);
    }
    PathBuf::from(path)
}

fn expand_tilde_path(path: &Path) -> PathBuf {
    match path.to_str() {
        Some(s) => expand_tilde(s),
        None => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dir_precedence() {
        let mut c = Config::default();
        assert_eq!(c.data_dir(None), platform_data_dir().join("hedgedesk"));
        c.general.data_dir = "/srv/desk".into();
        assert_eq!(c.data_dir(None), PathBuf::from("/srv/desk"));
        assert_eq!(
            c.data_dir(Some(Path::new("/tmp/x"))),
            PathBuf::from("/tmp/x")
        );
        if let Some(home) = dirs::home_dir() {
            c.general.data_dir = "~/desk".into();
            assert_eq!(c.data_dir(None), home.join("desk"));
            assert_eq!(expand_tilde("~"), home);
        }
        assert_eq!(expand_tilde("~other/x"), PathBuf::from("~other/x"));
    }

    #[test]
    fn derived_paths() {
        let mut c = Config::default();
        let data = Path::new("/d");
        assert_eq!(c.keystore_dir(data), PathBuf::from("/d/keystore"));
        assert_eq!(c.db_path(data), PathBuf::from("/d/hedgedesk.sqlite"));
        assert_eq!(c.logs_dir(data), PathBuf::from("/d/logs"));
        assert_eq!(
            c.themes_dir(),
            platform_config_dir().join("hedgedesk").join("themes")
        );
        c.keys.keystore_dir = "/keys".into();
        c.ui.themes_dir = "/themes".into();
        assert_eq!(c.keystore_dir(data), PathBuf::from("/keys"));
        assert_eq!(c.themes_dir(), PathBuf::from("/themes"));
    }
}
