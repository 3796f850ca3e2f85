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
use std::collections::BTreeMap;

use blaxel_transport::{CircuitState, Client, Credentials, Error as UpstreamError};
use metrics_exporter_prometheus::PrometheusHandle;

use super::AppState;

/// How long a readiness answer is reused.
pub const READY_TTL: Duration = Duration::from_secs(1);

/// The last readiness answer: when it was taken, and why not ready.
pub type Readiness = tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>;

/// Ready when a real request can be served: with a configured token, a listing through it
/// answers and decodes (`Client::probe`); without one (every caller brings its own), the
/// listing answers, or asks for a credential (401, 403) or slows callers down (429). A 404 is
/// not ready: the base URL is not the API's. 503 names the reason.
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
            let answer = match client.probe(&Credentials::default()).await {
                Ok(()) => Ok(()),
                // Without a configured token every caller brings its own: an upstream that asks
                // for one, or limits the rate, is the API and is answering.
                Err(
                    UpstreamError::Unauthenticated { .. }
                    | UpstreamError::Forbidden { .. }
                    | UpstreamError::RateLimited { .. },
                ) if client.config().token.is_none() => Ok(()),
                Err(e) => Err(why_not(client, &e)),
            };
            *last = Some((Instant::now(), answer.clone()));
            answer
        }
    }
}

/// The Prometheus text of the process's recorder, with the upstream client's counters and
/// breaker states brought up to date first ([`sync_upstream`]).
pub async fn metrics(State(state): State<AppState>) -> Response {
    if state.inner.metrics.is_some() {
        sync_upstream(state.client());
    }
    let body = state
        .inner
        .metrics
        .as_ref()
        .map(PrometheusHandle::render)
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// Copies the transport's counters into the recorder (the transport keeps its own, see
/// `Client::upstream_stats`): attempts by route template and outcome (a bounded status label or
/// the cause of no answer), retries, retry budget refusals, breaker rejections, and each route's
/// breaker state (0 closed, 1 half-open, 2 open).
pub fn sync_upstream(client: &Client) {
    let stats = client.upstream_stats();
    let mut attempts: BTreeMap<(&'static str, String), u64> = BTreeMap::new();
    for (route, outcome, n) in stats.attempts {
        *attempts
            .entry((route, crate::observe::status_label(&outcome)))
            .or_default() += n;
    }
    for ((route, outcome), n) in attempts {
        metrics::counter!("gateway_upstream_attempts_total", "route" => route, "outcome" => outcome)
            .absolute(n);
    }
    metrics::counter!("gateway_upstream_retries_total").absolute(stats.retries);
    metrics::counter!("gateway_upstream_retry_budget_refusals_total")
        .absolute(stats.budget_refusals);
    metrics::counter!("gateway_upstream_circuit_rejections_total")
        .absolute(stats.circuit_rejections);
    for (route, state) in client.circuit_states() {
        let value = match state {
            CircuitState::Closed => 0.0,
            CircuitState::HalfOpen => 1.0,
            CircuitState::Open => 2.0,
        };
        metrics::gauge!("gateway_upstream_circuit_state", "route" => route).set(value);
    }
}

/// Why the upstream cannot serve a real request, for people (the probe's route, the error's kind
/// and text, and what to check).
fn why_not(client: &Client, e: &UpstreamError) -> String {
    let base = &client.config().base_url;
    let hint = match e {
        UpstreamError::NotFound { .. } => {
            " (the upstream answered 404 to GET /jobs: is the base URL the API's, ending in /v0?)"
        }
        UpstreamError::Unauthenticated { .. } | UpstreamError::Forbidden { .. } => {
            " (the configured --token / BLAXEL_TOKEN is refused)"
        }
        UpstreamError::InvalidPayload { .. } => " (the answer is not a jobs listing)",
        _ => "",
    };
    format!(
        "not ready: upstream {base} cannot serve GET /jobs ({}): {e}{hint}",
        e.kind()
    )
}
