//! The desks' AnyHedge API as a wallet calls it: JSON in, JSON out, and a refusal as an
//! error carrying the status and the desk's reason.

use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

pub struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    pub fn new(base: &str) -> anyhow::Result<Api> {
        Ok(Api {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .context("building the HTTP client")?,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        body(response, "GET", path).await
    }

    pub async fn post(&self, path: &str, payload: &Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(payload)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        body(response, "POST", path).await
    }
}

async fn body(response: reqwest::Response, method: &str, path: &str) -> anyhow::Result<Value> {
    let status = response.status();
    let text = response
        .text()
        .await
        .with_context(|| format!("{method} {path}: reading the body"))?;
    anyhow::ensure!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).with_context(|| format!("{method} {path}: not JSON: {text}"))
}
