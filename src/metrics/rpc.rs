//! RPC calls and errors by chain and endpoint, counted by the chain transport.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use super::labels::{EndpointErrorLabels, EndpointLabels, endpoint_url_label};

/// The RPC families of one registry. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RpcMetrics {
    requests: Family<EndpointLabels, Counter>,
    errors: Family<EndpointErrorLabels, Counter>,
}

impl RpcMetrics {
    pub(super) fn register(registry: &mut Registry) -> RpcMetrics {
        let requests = Family::<EndpointLabels, Counter>::default();
        registry.register(
            "rpc_requests",
            "JSON-RPC HTTP requests sent to an endpoint (health probes included)",
            requests.clone(),
        );
        let errors = Family::<EndpointErrorLabels, Counter>::default();
        registry.register(
            "rpc_errors",
            "JSON-RPC requests that failed: kind=transport (no usable answer) or kind=rpc (a JSON-RPC error answer)",
            errors.clone(),
        );
        RpcMetrics { requests, errors }
    }

    /// The counters of one endpoint; `url` is reduced to `scheme://host:port` here.
    pub fn endpoint(&self, chain: &str, endpoint: &str, url: &str) -> EndpointCounters {
        let labels = EndpointLabels {
            chain: chain.into(),
            endpoint: endpoint.into(),
            url: endpoint_url_label(url),
        };
        let error = |kind: &str| {
            self.errors
                .get_or_create(&EndpointErrorLabels {
                    chain: labels.chain.clone(),
                    endpoint: labels.endpoint.clone(),
                    url: labels.url.clone(),
                    kind: kind.into(),
                })
                .clone()
        };
        EndpointCounters {
            transport_errors: error("transport"),
            rpc_errors: error("rpc"),
            requests: self.requests.get_or_create(&labels).clone(),
        }
    }
}

/// One endpoint's counters, resolved once.
#[derive(Debug, Clone)]
pub struct EndpointCounters {
    requests: Counter,
    transport_errors: Counter,
    rpc_errors: Counter,
}

impl EndpointCounters {
    pub fn request(&self) {
        self.requests.inc();
    }

    pub fn transport_error(&self) {
        self.transport_errors.inc();
    }

    pub fn rpc_error(&self) {
        self.rpc_errors.inc();
    }
}
