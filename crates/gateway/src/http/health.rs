//! `GET /readyz` (the upstream answers) and `GET /metrics` (Prometheus text).

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use blaxel_transport::Credentials;
use metrics_exporter_prometheus::PrometheusHandle;

use super::AppState;

/// Ready when the upstream answers.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.client().health(&Credentials::default()).await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("upstream not ready: {e}"),
        )
            .into_response(),
    }
}

/// The Prometheus text of the process's recorder.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let body = state
        .inner
        .metrics
        .as_ref()
        .map(PrometheusHandle::render)
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
