//! What the status bar shows about one chain: its head, which RPC endpoint serves, each
//! endpoint's health, and the watched account's balance. Published by the health worker
//! (and by the failover transport when an endpoint fails mid-request) on a `watch` channel.
//!
//! Nothing in here may carry a full RPC URL: URLs often hold API keys. Endpoints are shown
//! by name and `scheme://host:port` only ([`redact_url`]), and error texts are scrubbed.

use std::fmt;
use std::time::SystemTime;

use alloy::primitives::{Address, U256};

/// One chain's snapshot.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChainStatus {
    /// The chain's name in config (`[chains.<name>]`).
    pub name: String,
    /// The chain id every endpoint must report.
    pub chain_id: u64,
    /// The active endpoint's head, once probed.
    pub head: Option<HeadInfo>,
    /// Index (config order) of the endpoint requests go to; `None` while none is usable.
    pub active: Option<usize>,
    /// Every endpoint, in config order.
    pub endpoints: Vec<EndpointStatus>,
    /// The account whose balance is watched, if any.
    pub account: Option<Address>,
    /// Its balance, once read.
    pub balance_wei: Option<U256>,
}

impl ChainStatus {
    /// The endpoint requests currently go to.
    pub fn active_endpoint(&self) -> Option<&EndpointStatus> {
        self.endpoints.get(self.active?)
    }

    /// True when requests go to an endpoint other than the first configured one, or to none.
    pub fn failed_over(&self) -> bool {
        self.active != Some(0)
    }
}

/// The head of the active endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadInfo {
    pub number: u64,
    /// The block's own timestamp (unix seconds).
    pub timestamp_secs: u64,
    /// When this head number was first seen by the health worker.
    pub seen_at: SystemTime,
}

impl HeadInfo {
    /// Seconds between the block's timestamp and `now` (0 if the block is "in the future",
    /// as devnet blocks are after `evm_increaseTime`).
    pub fn age_secs(&self, now: SystemTime) -> u64 {
        let now = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        now.saturating_sub(self.timestamp_secs)
    }
}

/// One RPC endpoint's health.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EndpointStatus {
    /// The endpoint's name in config.
    pub name: String,
    /// `scheme://host:port` of its URL, never the path or query (they may hold keys).
    pub url_redacted: String,
    pub state: EndpointState,
    /// Its head at the last probe that answered.
    pub head: Option<u64>,
    /// Blocks behind the best head across endpoints at the last probe.
    pub lag: Option<u64>,
    /// Round trip of the last `eth_blockNumber` probe.
    pub latency_ms: Option<u64>,
    /// Failures since it last answered (probes and live requests).
    pub consecutive_errors: u32,
    /// Failures since start.
    pub total_errors: u64,
    /// The last failure, short and scrubbed of URLs.
    pub last_error: Option<String>,
}

/// An endpoint's health state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EndpointState {
    /// Not probed yet. Usable: nothing speaks against it.
    #[default]
    Unknown,
    /// Answers, on the right chain, within `max_head_lag_blocks` of the best head.
    Healthy,
    /// Answers but is more than `max_head_lag_blocks` behind the best head: skipped.
    Lagging,
    /// Did not answer (refused, reset, timed out, HTTP error, not JSON): skipped until it does.
    Down,
    /// Reports another chain id: never used.
    WrongChain,
}

impl EndpointState {
    /// Whether requests may go to an endpoint in this state.
    pub fn is_usable(self) -> bool {
        matches!(self, EndpointState::Unknown | EndpointState::Healthy)
    }

    /// A short lowercase label for the status bar and logs.
    pub fn label(self) -> &'static str {
        match self {
            EndpointState::Unknown => "unknown",
            EndpointState::Healthy => "healthy",
            EndpointState::Lagging => "lagging",
            EndpointState::Down => "down",
            EndpointState::WrongChain => "wrong chain",
        }
    }
}

impl fmt::Display for EndpointState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// `scheme://host:port` of a URL: no user info, path, query or fragment, since RPC URLs
/// often carry an API key there (`https://eth-mainnet.example/v2/<key>`, `?apikey=`,
/// `https://user:key@host`). The port is the URL's or the scheme's default. Something that
/// does not parse as a URL shows as `<invalid url>`, never as itself.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.trim().split_once("://") else {
        return "<invalid url>".into();
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+')
    {
        return "<invalid url>".into();
    }
    // The authority ends at the first '/', '?' or '#'; user info ends at its last '@'.
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    if host_port.is_empty() {
        return "<invalid url>".into();
    }
    let (host, port) = match host_port.strip_prefix('[') {
        // [v6]:port
        Some(v6) => match v6.split_once(']') {
            Some((addr, after)) => (format!("[{addr}]"), after.strip_prefix(':')),
            None => return "<invalid url>".into(),
        },
        None => match host_port.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), Some(port)),
            None => (host_port.to_string(), None),
        },
    };
    if host.is_empty() || host == "[]" {
        return "<invalid url>".into();
    }
    let port = match port {
        Some(port) if !port.is_empty() => match port.parse::<u16>() {
            Ok(port) => port.to_string(),
            Err(_) => return "<invalid url>".into(),
        },
        _ => match scheme.as_str() {
            "http" | "ws" => "80".into(),
            "https" | "wss" => "443".into(),
            _ => return format!("{scheme}://{}", host.to_ascii_lowercase()),
        },
    };
    format!("{scheme}://{}:{port}", host.to_ascii_lowercase())
}

/// Longest error text kept in [`EndpointStatus::last_error`].
pub const MAX_ERROR_CHARS: usize = 160;

/// An error text fit for the status bar and logs: every occurrence of `url` (and of its
/// path-and-beyond part, which is where keys live) replaced by its redacted form, then
/// cut to [`MAX_ERROR_CHARS`].
pub fn scrub_error(text: &str, url: &str) -> String {
    let mut out = text.replace('\n', " ");
    let url = url.trim();
    if !url.is_empty() {
        out = out.replace(url, &redact_url(url));
        let trimmed = url.trim_end_matches('/');
        if !trimmed.is_empty() {
            out = out.replace(trimmed, &redact_url(url));
        }
        // The secret parts on their own (path and beyond, user info), as some errors quote
        // only them.
        if let Some((_, rest)) = url.split_once("://") {
            let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
            let tail = tail.trim_end_matches('/');
            if tail.len() > 1 {
                out = out.replace(tail, "/<redacted>");
            }
            if let Some((userinfo, _)) = authority.rsplit_once('@')
                && !userinfo.is_empty()
            {
                out = out.replace(userinfo, "<redacted>");
            }
        }
    }
    if out.chars().count() > MAX_ERROR_CHARS {
        out = out.chars().take(MAX_ERROR_CHARS - 1).collect();
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_keeps_scheme_host_and_port_only() {
        assert_eq!(
            redact_url("https://eth-mainnet.g.alchemy.com/v2/AbCdEf123456"),
            "https://eth-mainnet.g.alchemy.com:443"
        );
        assert_eq!(redact_url("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
        assert_eq!(
            redact_url("http://127.0.0.1:8545/"),
            "http://127.0.0.1:8545"
        );
        assert_eq!(
            redact_url("https://user:s3cret@rpc.example.org:8443/path?apikey=K#frag"),
            "https://rpc.example.org:8443"
        );
        assert_eq!(
            redact_url("wss://mainnet.infura.io/ws/v3/0123456789abcdef"),
            "wss://mainnet.infura.io:443"
        );
        assert_eq!(redact_url("ws://LOCALHOST:8546"), "ws://localhost:8546");
        assert_eq!(
            redact_url("http://rpc.example?key=abc"),
            "http://rpc.example:80"
        );
        assert_eq!(redact_url("http://[::1]:8545/x"), "http://[::1]:8545");
        assert_eq!(redact_url("http://[::1]/x"), "http://[::1]:80");
    }

    #[test]
    fn redact_url_never_echoes_what_it_cannot_parse() {
        for bad in [
            "",
            "not a url /v2/secretkey",
            "://secret",
            "http://",
            "http://:8545/secret",
            "http://host:notaport/secret",
            "ht tp://host/secret",
            "http://[::1/secret",
        ] {
            let shown = redact_url(bad);
            assert_eq!(shown, "<invalid url>", "{bad:?} showed as {shown:?}");
        }
    }

    #[test]
    fn scrub_error_removes_the_url_and_its_key() {
        let url = "https://rpc.example.org/v2/KEY123SECRET";
        let text = format!("error sending request for url ({url}/): connection refused");
        let scrubbed = scrub_error(&text, url);
        assert!(!scrubbed.contains("KEY123SECRET"), "{scrubbed}");
        assert!(
            scrubbed.contains("https://rpc.example.org:443"),
            "{scrubbed}"
        );
        assert!(scrubbed.contains("connection refused"));

        let only_path = scrub_error("404 for /v2/KEY123SECRET", url);
        assert!(!only_path.contains("KEY123SECRET"), "{only_path}");

        let userinfo = scrub_error("bad auth user:pw", "http://user:pw@host:1/");
        assert!(!userinfo.contains("user:pw"), "{userinfo}");
        let userinfo = scrub_error("bad auth user:pw", "http://user:pw@host:1");
        assert!(!userinfo.contains("user:pw"), "{userinfo}");

        let long = scrub_error(&"x".repeat(1_000), url);
        assert_eq!(long.chars().count(), MAX_ERROR_CHARS);
        assert!(!scrub_error("a\nb", url).contains('\n'));
    }

    #[test]
    fn head_age_and_active_endpoint() {
        let head = HeadInfo {
            number: 7,
            timestamp_secs: 1_000,
            seen_at: SystemTime::UNIX_EPOCH,
        };
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_012);
        assert_eq!(head.age_secs(now), 12);
        assert_eq!(head.age_secs(SystemTime::UNIX_EPOCH), 0);

        let status = ChainStatus {
            active: Some(1),
            endpoints: vec![
                EndpointStatus {
                    name: "a".into(),
                    ..Default::default()
                },
                EndpointStatus {
                    name: "b".into(),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        assert_eq!(status.active_endpoint().unwrap().name, "b");
        assert!(status.failed_over());
        assert!(ChainStatus::default().active_endpoint().is_none());
    }
}
