//! Label sets, and what an RPC endpoint may show of itself in a label.

use prometheus_client::encoding::EncodeLabelSet;

use crate::desks::Desk;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeskLabels {
    pub desk: String,
}

impl DeskLabels {
    pub fn new(desk: Desk) -> Self {
        DeskLabels {
            desk: desk.as_str().into(),
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    pub chain: String,
    /// The endpoint's configured name, or `#<index>`.
    pub endpoint: String,
    /// [`endpoint_url_label`] of its URL.
    pub url: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointErrorLabels {
    pub chain: String,
    pub endpoint: String,
    pub url: String,
    /// `transport`: no usable answer (refused, timed out, HTTP error, not JSON-RPC);
    /// `rpc`: the node answered with a JSON-RPC error.
    pub kind: String,
}

/// `scheme://host:port` of an RPC URL: never its user info, path, query or fragment,
/// where providers put API keys.
pub fn endpoint_url_label(url: &str) -> String {
    crate::chain::redact_url(url)
}

#[cfg(test)]
mod tests {
    use super::endpoint_url_label;

    #[test]
    fn endpoint_labels_keep_only_scheme_host_and_port() {
        for (url, want) in [
            ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
            (
                "https://mainnet.infura.io/v3/0123456789abcdef",
                "https://mainnet.infura.io:443",
            ),
            (
                "https://alice:s3cret@rpc.example.com:8443/path?apikey=XYZ#frag",
                "https://rpc.example.com:8443",
            ),
            (
                "HTTPS://rpc.example.com?token=XYZ",
                "https://rpc.example.com:443",
            ),
            ("http://[::1]:8545/k/XYZ", "http://[::1]:8545"),
            ("http://user@host#XYZ", "http://host:80"),
        ] {
            let label = endpoint_url_label(url);
            assert_eq!(label, want, "{url}");
            for secret in ["s3cret", "alice", "XYZ", "0123456789abcdef", "frag", "/v3"] {
                assert!(!label.contains(secret), "{url} → {label}");
            }
        }
        assert_eq!(endpoint_url_label("not a url"), "<invalid url>");
    }
}
