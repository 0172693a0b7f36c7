//! Pyth fixtures and a local Hermes, shared by the oracle tests.

use std::path::PathBuf;

/// `tests/fixtures/pyth/<name>`.
pub fn fixture_path(name: &str) -> PathBuf {
    super::repo().join("tests/fixtures/pyth").join(name)
}

/// A fixture's bytes, from hex (`.hex`) or base64 (`.b64`), decoded the way
/// `hedgedesk oracle decode` reads its input.
pub fn fixture(name: &str) -> Vec<u8> {
    let text =
        std::fs::read_to_string(fixture_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    hedgedesk::oracle::decode::read_input(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub const LATEST_JSON: &str =
    include_str!("../fixtures/pyth/hermes_v2_latest_response_example.json");
pub const SSE_EVENTS: &str = include_str!("../fixtures/pyth/hermes_v2_sse_stream_example.txt");

/// A Hermes on 127.0.0.1 serving the recorded latest response, and the recorded SSE events
/// on every stream connection (then a close, so clients reconnect). Returns its base URL.
pub async fn recorded_hermes() -> String {
    use axum::Router;
    use axum::body::Body;
    use axum::response::Response;
    use axum::routing::get;

    let app = Router::new()
        .route("/v2/updates/price/latest", get(|| async { LATEST_JSON }))
        .route(
            "/v2/updates/price/stream",
            get(|| async {
                let events: Vec<Result<String, std::convert::Infallible>> = SSE_EVENTS
                    .lines()
                    .filter(|l| l.starts_with("data:"))
                    .map(|l| Ok(format!("{l}\n\n")))
                    .collect();
                Response::new(Body::from_stream(futures::stream::iter(events)))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// A PriceCaster deployed by `node`'s account 0 with mainnet guardian set 4 as its current
/// set and Pythnet as its emitter: the recorded fixtures store on it.
pub async fn deploy_price_caster_set4(
    node: &hedgedesk::devnet::AnvilNode,
) -> alloy::primitives::Address {
    use hedgedesk::oracle::verify::guardians::{AcceptedEmitter, GuardianSets};
    let set4 = GuardianSets::mainnet().get(4).unwrap().clone();
    let deployer = alloy::providers::ProviderBuilder::new()
        .wallet(alloy::network::EthereumWallet::from(node.signer(0)))
        .connect_http(node.http_url().parse().unwrap());
    let caster = hedgedesk::chain::contracts::PriceCaster::deploy(
        &deployer,
        set4.keys,
        4,
        AcceptedEmitter::PYTHNET.chain,
        AcceptedEmitter::PYTHNET.address,
        0,
    )
    .await
    .unwrap();
    *caster.address()
}
