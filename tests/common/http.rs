//! JSON over HTTP to a test server on 127.0.0.1: the status and the parsed body.

use reqwest::StatusCode;
use serde_json::Value;

pub async fn get_json(http: &reqwest::Client, url: String) -> (StatusCode, Value) {
    let r = http.get(url).send().await.expect("GET reaches the server");
    let status = r.status();
    (status, r.json().await.expect("a JSON body"))
}

pub async fn post_json(http: &reqwest::Client, url: String, body: &Value) -> (StatusCode, Value) {
    let r = http
        .post(url)
        .json(body)
        .send()
        .await
        .expect("POST reaches the server");
    let status = r.status();
    (status, r.json().await.expect("a JSON body"))
}
