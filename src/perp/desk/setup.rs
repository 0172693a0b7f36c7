//! The venue `[perp]` names, built once at start and shared by the desk (reads, marks)
//! and the hedge executor (orders).

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::config::PerpConfig;
use crate::perp::venue::Venue;
use crate::perp::venue::binance::{BinanceSettings, BinanceVenue};
use crate::perp::venue::paper::{PaperMarks, PaperVenue};
use crate::store::Store;

/// Binance's API key and secret (from the environment or the OS keyring; never the config).
#[derive(Clone)]
pub struct BinanceCredentials {
    pub api_key: SecretString,
    pub api_secret: SecretString,
}

/// The configured venue and what the desk needs to know about it.
#[derive(Clone)]
pub struct PerpVenue {
    pub venue: Arc<dyn Venue>,
    /// `paper`, or `binance <base url>`: what the pane says.
    pub label: String,
    /// The paper venue's marks (the desk sets them from the oracle's prices).
    pub paper_marks: Option<PaperMarks>,
    /// Seconds after a send during which the venue may still take an order it has not
    /// heard of yet (Binance: the recvWindow, and a second for the clocks).
    pub lost_order_grace_secs: i64,
}

impl PerpVenue {
    pub fn paper(store: Store, fee_bps: u32) -> PerpVenue {
        let marks = PaperMarks::default();
        PerpVenue {
            venue: Arc::new(PaperVenue::new(store, marks.clone(), fee_bps)),
            label: "paper".into(),
            paper_marks: Some(marks),
            lost_order_grace_secs: 0,
        }
    }

    pub fn binance(
        config: &PerpConfig,
        credentials: BinanceCredentials,
    ) -> anyhow::Result<PerpVenue> {
        let b = &config.binance;
        let mut settings =
            BinanceSettings::new(&b.base_url, credentials.api_key, credentials.api_secret);
        settings.recv_window_ms = b.recv_window_ms;
        settings.timeout = Duration::from_millis(b.timeout_ms);
        settings.max_retry_wait = Duration::from_secs(b.max_retry_wait_secs);
        let venue = BinanceVenue::new(settings).map_err(|e| anyhow::anyhow!("perp.{e}"))?;
        Ok(PerpVenue {
            venue: Arc::new(venue),
            label: format!("binance {}", crate::chain::redact_url(&b.base_url)),
            paper_marks: None,
            lost_order_grace_secs: i64::try_from(b.recv_window_ms.div_ceil(1_000)).unwrap_or(60)
                + 1,
        })
    }

    /// The venue `config.venue` names; Binance needs `credentials`.
    pub fn from_config(
        config: &PerpConfig,
        store: Store,
        credentials: Option<BinanceCredentials>,
    ) -> anyhow::Result<PerpVenue> {
        match config.venue.as_str() {
            "binance" => {
                let credentials = credentials.ok_or_else(|| {
                    anyhow::anyhow!(
                        "perp.venue = \"binance\" needs an API key and secret: set {} and {} (or store them in the OS keyring with `hedgedesk perp binance-key set`)",
                        config.binance.api_key_env,
                        config.binance.api_secret_env
                    )
                })?;
                PerpVenue::binance(config, credentials)
            }
            _ => Ok(PerpVenue::paper(store, config.paper.fee_bps)),
        }
    }
}
