//! `/metrics` (Prometheus text format) and `/health` (JSON; 200 when every worker runs,
//! 503 otherwise).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::ApiState;
use super::error::ApiError;
use crate::metrics::{CONTENT_TYPE, HealthReport};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/health", get(health))
}

async fn metrics(State(state): State<ApiState>) -> Response {
    let Some(sources) = &state.monitor else {
        return ApiError::unavailable("metrics are not collected here").into_response();
    };
    match sources.render().await {
        Ok(body) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: the journal could not be read");
            ApiError::unavailable("the store could not be read").into_response()
        }
    }
}

async fn health(State(state): State<ApiState>) -> Response {
    match &state.monitor {
        Some(sources) => health_response(sources.health()),
        None => ApiError::unavailable("health is not reported here").into_response(),
    }
}

pub fn health_response(report: HealthReport) -> Response {
    let status = if report.ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report)).into_response()
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use axum::body::to_bytes;

    use super::*;
    use crate::app::supervisor::{HealthMap, WorkerHealth, WorkerStatus};
    use crate::metrics::health_report;

    async fn answer(workers: &HealthMap) -> (StatusCode, serde_json::Value) {
        let response = health_response(health_report(workers, &[], SystemTime::now()));
        let status = response.status();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn health_is_503_while_a_worker_is_down() {
        let mut workers = HealthMap::new();
        let running = WorkerHealth {
            status: WorkerStatus::Running,
            restarts: 0,
            last_error: None,
        };
        workers.insert("oracle", running.clone());
        let (status, body) = answer(&workers).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "ok");
        assert_eq!(body["workers"]["oracle"]["state"], "running");

        workers.insert(
            "pool",
            WorkerHealth {
                status: WorkerStatus::Restarting { in_ms: 800 },
                restarts: 4,
                last_error: Some("boom".into()),
            },
        );
        let (status, body) = answer(&workers).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["status"], "degraded");
        assert_eq!(body["workers"]["pool"]["state"], "restarting");
        assert_eq!(body["workers"]["pool"]["restarts"], 4);
        assert!(body["workers"]["pool"].get("last_error").is_none());
    }
}
