//! What every command needs: the validated config and where the data lives.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::logging::{self, LogMode};
use crate::cli::GlobalArgs;
use crate::config::{self, Config};
use crate::keys::{KeyringCache, PassphraseSources};
use crate::store::Store;

pub struct AppContext {
    pub config: Arc<Config>,
    pub config_path: PathBuf,
    pub data_dir: PathBuf,
    pub global: GlobalArgs,
    /// Read once at startup (and removed from the environment) before any thread starts.
    pub sources: PassphraseSources,
}

/// The OS keyring entries of Binance's API key and secret (beside the keystore).
pub const BINANCE_KEY_ENTRY: &str = "binance-api-key";
pub const BINANCE_SECRET_ENTRY: &str = "binance-api-secret";

impl AppContext {
    /// Loads and validates the config; any problem is an error listing all of them.
    pub fn load(global: &GlobalArgs) -> anyhow::Result<AppContext> {
        let loaded = config::load_for_cli(global, config::process_env())
            .map_err(|errors| anyhow::anyhow!("{}\n{errors}", errors.summary()))?;
        let data_dir = loaded.config.data_dir(global.data_dir.as_deref());
        let config = Arc::new(loaded.config);
        let keyring = if global.keyring || config.keys.keyring {
            let path =
                crate::keys::keystore_path(&config.keystore_dir(&data_dir), &config.keys.account);
            Some(KeyringCache::new(&config.keys.keyring_backend, &path)?)
        } else {
            None
        };
        let sources = PassphraseSources::from_env_and_args(global.passphrase_file.clone(), keyring);
        Ok(AppContext {
            config,
            config_path: loaded.path,
            data_dir,
            global: global.clone(),
            sources,
        })
    }

    pub fn keystore_dir(&self) -> PathBuf {
        self.config.keystore_dir(&self.data_dir)
    }

    pub fn keystore_path(&self) -> PathBuf {
        crate::keys::keystore_path(&self.keystore_dir(), &self.config.keys.account)
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.config.logs_dir(&self.data_dir)
    }

    pub fn use_keyring(&self) -> bool {
        self.global.keyring || self.config.keys.keyring
    }

    /// The keyring entry holding the Hermes API token (when `--keyring` / `keys.keyring`).
    pub fn hermes_token_entry(&self) -> Option<KeyringCache> {
        if !self.use_keyring() {
            return None;
        }
        self.sources
            .keyring
            .as_ref()?
            .for_keystore(&self.data_dir.join("hermes-token"))
            .ok()
    }

    /// The Hermes API token: `HEDGEDESK_HERMES_TOKEN`, else the OS keyring entry (set with
    /// `hedgedesk oracle token set`). Never logged.
    pub fn hermes_token(&self) -> Option<secrecy::SecretString> {
        if let Some(token) = crate::oracle::hermes::HermesClient::token_from_env() {
            return Some(token);
        }
        match self.hermes_token_entry()?.get() {
            Ok(Some(token)) => Some(secrecy::SecretString::from(token.expose().to_string())),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the Hermes token from the OS keyring");
                None
            }
        }
    }

    /// The keyring entry holding one Binance credential (`binance-api-key` or
    /// `binance-api-secret`), when `--keyring` / `keys.keyring`.
    pub fn binance_entry(&self, name: &str) -> Option<KeyringCache> {
        if !self.use_keyring() {
            return None;
        }
        self.sources
            .keyring
            .as_ref()?
            .for_keystore(&self.data_dir.join(name))
            .ok()
    }

    /// Both Binance keyring entries, the API key's then the secret's (for `hedgedesk perp
    /// binance-key`), when `--keyring` / `keys.keyring`.
    pub fn binance_key_entries(&self) -> Option<(KeyringCache, KeyringCache)> {
        Some((
            self.binance_entry(BINANCE_KEY_ENTRY)?,
            self.binance_entry(BINANCE_SECRET_ENTRY)?,
        ))
    }

    /// Binance's API key and secret: the environment variables `[perp.binance]` names,
    /// else the OS keyring entries (set with `hedgedesk perp binance-key set`). Only read
    /// when the perp venue is Binance; never logged.
    pub fn binance_credentials(&self) -> Option<crate::perp::desk::BinanceCredentials> {
        if self.config.perp.venue != "binance" {
            return None;
        }
        let b = &self.config.perp.binance;
        let read = |env: &str, entry: &str| -> Option<secrecy::SecretString> {
            if let Some(value) = std::env::var(env).ok().filter(|v| !v.trim().is_empty()) {
                return Some(secrecy::SecretString::from(value.trim().to_string()));
            }
            match self.binance_entry(entry)?.get() {
                Ok(Some(value)) => Some(secrecy::SecretString::from(value.expose().to_string())),
                Ok(None) => None,
                Err(e) => {
                    tracing::warn!(error = %e, entry, "could not read a Binance credential from the OS keyring");
                    None
                }
            }
        };
        Some(crate::perp::desk::BinanceCredentials {
            api_key: read(&b.api_key_env, BINANCE_KEY_ENTRY)?,
            api_secret: read(&b.api_secret_env, BINANCE_SECRET_ENTRY)?,
        })
    }

    /// Every secret the workers need beyond the signer.
    pub fn secrets(&self) -> crate::app::Secrets {
        crate::app::Secrets {
            hermes_token: self.hermes_token(),
            binance: self.binance_credentials(),
        }
    }

    /// A keyring handle for caching after unlock, when `--keyring` / `keys.keyring` asks for it.
    pub fn keyring_cache(&self) -> Option<KeyringCache> {
        if !self.use_keyring() {
            return None;
        }
        let cache = self.sources.keyring.as_ref()?;
        match cache.for_keystore(&self.keystore_path()) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "OS keyring unavailable; the passphrase will not be cached");
                None
            }
        }
    }

    /// Installs the logger for this run; keep the guard alive until exit.
    pub fn init_logging(
        &self,
        mode: LogMode,
    ) -> anyhow::Result<tracing_appender::non_blocking::WorkerGuard> {
        logging::init(
            mode,
            &self.config.general.log_level,
            &self.logs_dir(),
            self.config.general.log_retention_days,
        )
    }

    pub fn open_store(&self) -> anyhow::Result<Store> {
        Ok(Store::open(
            &self.config.db_path(&self.data_dir),
            Duration::from_millis(self.config.store.busy_timeout_ms),
        )?)
    }
}
