//! `GET /readyz` (a real request can be served) and `GET /metrics` (Prometheus text).
//!
//! Readiness asks the upstream at most once per [`READY_TTL`] whatever the number of probes
//! (one probe in flight; the others read its answer), without credentials of any caller, and
//! outside the circuit breakers and retry budget that guard tenant traffic: an unauthenticated
//! `/readyz` flood costs the upstream one call a second and cannot open a tenant's breaker.

use std::time::{Duration, Instant};

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use blaxel_transport::Credentials;
use metrics_exporter_prometheus::PrometheusHandle;

use super::AppState;

/// How long a readiness answer is reused.
pub const READY_TTL: Duration = Duration::from_secs(1);

/// The last readiness answer: when it was taken, and why not ready.
pub type Readiness = tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>;

/// Ready when a real request can be served: with a configured token, a listing through it
/// answers and decodes (`Client::probe`); without one (every caller brings its own), the
/// upstream answers at all. 503 names the reason.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match readiness(&state).await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, why).into_response(),
    }
}

/// Whether a real request can be served (see [`readyz`]), asking the upstream at most once per
/// [`READY_TTL`] across every caller (`/readyz` and the gRPC health service share it).
///
/// # Errors
/// Why not, for people: the upstream error's kind and text.
pub async fn readiness(state: &AppState) -> Result<(), String> {
    let mut last = state.inner.readiness.lock().await;
    match &*last {
        Some((at, answer)) if at.elapsed() < READY_TTL => answer.clone(),
        _ => {
            let client = state.client();
            let none = Credentials::default();
            let result = if client.config().token.is_some() {
                client.probe(&none).await
            } else {
                client.health(&none).await
            };
            let answer = result.map_err(|e| format!("upstream not ready ({}): {e}", e.kind()));
            *last = Some((Instant::now(), answer.clone()));
            answer
        }
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
