//! Serving a local HTTP endpoint for the devnet (an oracle relay, a local exchange).

use std::net::SocketAddr;

use tokio_util::sync::CancellationToken;

/// Binds `port` of 127.0.0.1 (0: a free one) and serves `app` there in the background
/// until `shutdown` is cancelled; returns the bound address. A server that stops with an
/// error is logged as a warning naming `what` (e.g. `"local binance"`).
pub async fn serve_local(
    port: u16,
    app: axum::Router,
    shutdown: CancellationToken,
    what: &'static str,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "{what}: stopped");
        }
    });
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serves_on_loopback_until_cancelled() {
        let app = axum::Router::new().route("/ping", axum::routing::get(|| async { "pong" }));
        let shutdown = CancellationToken::new();
        let addr = serve_local(0, app, shutdown.clone(), "test server")
            .await
            .unwrap();
        assert!(addr.ip().is_loopback());
        assert_ne!(addr.port(), 0);
        let body = reqwest::get(format!("http://{addr}/ping"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "pong");

        shutdown.cancel();
        // Graceful shutdown: the listener closes once the server task sees the cancel.
        let mut refused = false;
        for _ in 0..50 {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap();
            if client
                .get(format!("http://{addr}/ping"))
                .send()
                .await
                .is_err()
            {
                refused = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(refused, "still serving after the shutdown");
    }
}
