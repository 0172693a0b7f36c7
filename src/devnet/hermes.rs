//! A devnet Hermes: Pyth's price service API (`/v2/updates/price/latest`, the
//! `/v2/updates/price/stream` server-sent events and `/v2/price_feeds`) serving updates
//! signed by the devnet price source ([`DevnetPythSource`]) for whatever prices the demo's
//! market publishes. The oracle desk talks to it exactly as it talks to the real Hermes;
//! only the guardian set and the emitter differ (the demo's config names both).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::B256;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::pyth::DevnetPythSource;
use crate::oracle::wire::message::PriceFeedMessage;

/// How often an idle stream says it is alive (Hermes's clients give up after 30 s).
const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// A feed the devnet Hermes lists: its id and symbol (`"BTC/USD"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevnetFeed {
    pub id: B256,
    pub symbol: String,
}

/// The server's state; clone to publish from anywhere.
#[derive(Clone)]
pub struct DevnetHermes {
    inner: Arc<Mutex<Inner>>,
    published: broadcast::Sender<Vec<PriceFeedMessage>>,
}

struct Inner {
    source: DevnetPythSource,
    feeds: Vec<DevnetFeed>,
    latest: BTreeMap<B256, PriceFeedMessage>,
}

impl DevnetHermes {
    pub fn new(source: DevnetPythSource, feeds: Vec<DevnetFeed>) -> Self {
        let (published, _) = broadcast::channel(64);
        DevnetHermes {
            inner: Arc::new(Mutex::new(Inner {
                source,
                feeds,
                latest: BTreeMap::new(),
            })),
            published,
        }
    }

    /// New prices: the latest for their feeds from now on, and an event on every stream
    /// asking for any of them.
    pub fn publish(&self, messages: Vec<PriceFeedMessage>) {
        {
            let mut inner = self.inner.lock().expect("hermes state");
            for m in &messages {
                inner.latest.insert(m.feed_id, *m);
            }
        }
        // No stream listening is fine.
        let _ = self.published.send(messages);
    }

    /// The latest price of `feed`, if one was published.
    pub fn latest(&self, feed: B256) -> Option<PriceFeedMessage> {
        self.inner
            .lock()
            .expect("hermes state")
            .latest
            .get(&feed)
            .copied()
    }

    /// Serves on 127.0.0.1:`port` (0: any free port) until the process ends; returns its URL.
    pub async fn serve_on(&self, port: u16) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = Router::new()
            .route("/v2/updates/price/latest", get(latest))
            .route("/v2/updates/price/stream", get(stream))
            .route("/v2/price_feeds", get(price_feeds))
            .with_state(self.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "devnet hermes stopped");
            }
        });
        Ok(url)
    }

    /// One signed update carrying `messages` as Hermes's JSON (hex binary and parsed).
    fn update_json(&self, messages: &[PriceFeedMessage]) -> Value {
        let timestamp = messages.iter().map(|m| m.publish_time).max().unwrap_or(0);
        let binary = {
            let mut inner = self.inner.lock().expect("hermes state");
            inner.source.update(messages, timestamp as u32, None)
        };
        json!({
            "binary": {"encoding": "hex", "data": [alloy::hex::encode(binary)]},
            "parsed": messages.iter().map(parsed).collect::<Vec<_>>(),
        })
    }
}

fn parsed(m: &PriceFeedMessage) -> Value {
    let price = |price: i64, conf: u64| {
        json!({
            "price": price.to_string(),
            "conf": conf.to_string(),
            "expo": m.exponent,
            "publish_time": m.publish_time,
        })
    };
    json!({
        "id": alloy::hex::encode(m.feed_id),
        "price": price(m.price, m.conf),
        "ema_price": price(m.ema_price, m.ema_conf),
        "metadata": {"prev_publish_time": m.prev_publish_time},
    })
}

/// The `ids[]` of a query (`ids[]=…` or `ids%5B%5D=…`, with or without `0x`).
fn requested_ids(query: Option<&str>) -> Result<Vec<B256>, String> {
    let mut ids = Vec::new();
    for pair in query.unwrap_or("").split('&') {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        if key == "ids[]" || key.eq_ignore_ascii_case("ids%5B%5D") {
            let id = value
                .parse::<B256>()
                .map_err(|_| format!("not a price feed id: {value}"))?;
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err("no ids[] asked for".into());
    }
    Ok(ids)
}

fn bad_request(why: String) -> Response {
    (StatusCode::BAD_REQUEST, why).into_response()
}

async fn latest(State(hermes): State<DevnetHermes>, RawQuery(query): RawQuery) -> Response {
    let ids = match requested_ids(query.as_deref()) {
        Ok(ids) => ids,
        Err(why) => return bad_request(why),
    };
    let mut messages = Vec::with_capacity(ids.len());
    for id in &ids {
        match hermes.latest(*id) {
            Some(m) => messages.push(m),
            None => {
                return (
                    StatusCode::NOT_FOUND,
                    format!("Price ids not found: {}", alloy::hex::encode(id)),
                )
                    .into_response();
            }
        }
    }
    axum::Json(hermes.update_json(&messages)).into_response()
}

async fn stream(State(hermes): State<DevnetHermes>, RawQuery(query): RawQuery) -> Response {
    let ids = match requested_ids(query.as_deref()) {
        Ok(ids) => ids,
        Err(why) => return bad_request(why),
    };
    let published = hermes.published.subscribe();
    // Like Hermes, a new subscriber hears the current prices at once, not at the next tick.
    let current: Vec<PriceFeedMessage> = ids.iter().filter_map(|id| hermes.latest(*id)).collect();
    let first = (!current.is_empty())
        .then(|| Bytes::from(format!("data:{}\n\n", hermes.update_json(&current))));
    let events = futures::stream::unfold(
        (hermes, ids, published, first),
        |(hermes, ids, mut published, mut first)| async move {
            if let Some(chunk) = first.take() {
                return Some((
                    Ok::<_, std::convert::Infallible>(chunk),
                    (hermes, ids, published, first),
                ));
            }
            loop {
                let next = tokio::time::timeout(KEEP_ALIVE, published.recv()).await;
                let chunk = match next {
                    Err(_) => Bytes::from_static(b": keep-alive\n\n"),
                    Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                    Ok(Err(broadcast::error::RecvError::Closed)) => return None,
                    Ok(Ok(messages)) => {
                        let wanted: Vec<PriceFeedMessage> = messages
                            .into_iter()
                            .filter(|m| ids.contains(&m.feed_id))
                            .collect();
                        if wanted.is_empty() {
                            continue;
                        }
                        Bytes::from(format!("data:{}\n\n", hermes.update_json(&wanted)))
                    }
                };
                return Some((Ok(chunk), (hermes, ids, published, first)));
            }
        },
    );
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(events))
        .expect("a valid response")
}

async fn price_feeds(State(hermes): State<DevnetHermes>) -> Response {
    let feeds = hermes.inner.lock().expect("hermes state").feeds.clone();
    let list: Vec<Value> = feeds
        .iter()
        .map(|f| {
            let base = f.symbol.split('/').next().unwrap_or(&f.symbol);
            json!({
                "id": alloy::hex::encode(f.id),
                "attributes": {
                    "asset_type": "Crypto",
                    "base": base,
                    "description": format!("{} (devnet)", f.symbol),
                    "symbol": format!("Crypto.{}", f.symbol),
                },
            })
        })
        .collect();
    axum::Json(list).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_in_either_spelling() {
        let a = B256::repeat_byte(0xab);
        let q = format!(
            "ids%5B%5D={}&ids[]=0x{}&encoding=hex",
            alloy::hex::encode(a),
            "cd".repeat(32)
        );
        assert_eq!(
            requested_ids(Some(&q)).unwrap(),
            vec![a, B256::repeat_byte(0xcd)]
        );
        assert!(requested_ids(Some("encoding=hex")).is_err());
        assert!(requested_ids(Some("ids[]=0x12")).is_err());
    }
}
