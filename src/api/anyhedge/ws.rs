//! `ws/anyhedge/updates/{wallet_hash}/`: a wallet's updates as `{resource, action, meta}`
//! text messages. What the client sends is ignored; a client that falls too far behind is
//! told with `{"resource": "updates", "action": "lagged", "meta": {"missed": n}}` so it can
//! refetch.

use axum::Extension;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::anyhedge::updates::{Received, WalletUpdates};
use crate::api::{ApiState, Shutdown};

pub async fn updates(
    State(state): State<ApiState>,
    Path(wallet_hash): Path<String>,
    shutdown: Option<Extension<Shutdown>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    // Subscribed before the handshake completes, so nothing published after the client
    // sees the connection open is missed.
    let subscription = state.updates.subscribe(wallet_hash);
    let cancel = shutdown.map(|Extension(Shutdown(c))| c).unwrap_or_default();
    upgrade.on_upgrade(move |socket| forward(socket, subscription, cancel))
}

async fn forward(mut socket: WebSocket, mut updates: WalletUpdates, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => {
                // The server is stopping; a failed close only means the client left first.
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
            received = updates.recv() => {
                let text = match received {
                    Some(Received::Update(update)) => update.to_json(),
                    Some(Received::Lagged { missed }) => {
                        tracing::warn!(
                            wallet_hash = updates.wallet_hash(),
                            missed,
                            "anyhedge websocket: a slow client missed updates"
                        );
                        json!({"resource": "updates", "action": "lagged", "meta": {"missed": missed}})
                            .to_string()
                    }
                    None => return,
                };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
