//! The outermost layer of the HTTP face: a request id on every answer (`x-request-id`, the
//! caller's when sane, else a new one), a `request` span continuing the caller's W3C trace
//! context, one access line per request, and the request metrics.
//!
//! The access line is at info for the API (`/graphql`, the schema, GraphiQL) and at debug for
//! the probes and the scrape (`/healthz`, `/readyz`, `/metrics`), which would otherwise fill the
//! log. Its duration runs to the answer's head: a streamed body (SSE) goes on after it.

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{MatchedPath, Request},
    http::HeaderValue,
    middleware::Next,
    response::Response,
};
use tracing::{Instrument as _, field::Empty};

use crate::{
    observe::{self, Observed, X_REQUEST_ID},
    telemetry,
};

/// Routes whose access line is at debug.
const QUIET: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// The layer (see the module doc).
pub async fn layer(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = observe::request_id(request.headers());
    // A bounded label: the route template, never the raw path.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("other", |p| match p.as_str() {
            "/graphql" => "/graphql",
            "/schema.graphql" => "/schema.graphql",
            "/healthz" => "/healthz",
            "/readyz" => "/readyz",
            "/metrics" => "/metrics",
            p if p.starts_with("/graphiql") => "/graphiql",
            _ => "other",
        });
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        otel.name = format!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = %method,
        http.route = route,
        request_id = %id,
        http.response.status_code = Empty,
        graphql.operation.name = Empty,
        graphql.operation.type = Empty,
        workspace = Empty,
    );
    telemetry::set_parent(&span, request.headers());
    let observed = Arc::new(Observed::new(id, request.headers(), span.clone()));
    let in_flight = metrics::gauge!("gateway_in_flight_requests", "face" => "http");
    in_flight.increment(1.0);
    let mut response = observe::scope(Arc::clone(&observed), next.run(request))
        .instrument(span.clone())
        .await;
    in_flight.decrement(1.0);
    if let Ok(value) = HeaderValue::from_str(&observed.request_id) {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
    }
    let class = match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    metrics::counter!("gateway_http_requests_total", "route" => route, "status" => class)
        .increment(1);
    metrics::histogram!("gateway_http_request_duration_seconds", "route" => route)
        .record(elapsed.as_secs_f64());
    let fields = observed.fields();
    if let Some(ty) = fields.operation_type {
        // Renamed only now: asking a span for its context early would start it.
        telemetry::rename(&span, || match &fields.operation_name {
            Some(name) => format!("{ty} {name}"),
            None => ty.to_owned(),
        });
    }
    let _entered = span.enter();
    let trace_id = telemetry::trace_id(&observed).unwrap_or_default();
    let (duration_ms, upstream_calls) = (elapsed.as_secs_f64() * 1e3, fields.upstream_attempts);
    let operation = fields.operation_name.as_deref().unwrap_or("");
    let operation_type = fields.operation_type.unwrap_or("");
    let errors = fields.codes.join(",");
    if QUIET.contains(&route) {
        tracing::debug!(target: "blaxel_gateway::access", %method, route, status, duration_ms, trace_id, "access");
    } else {
        tracing::info!(
            target: "blaxel_gateway::access",
            %method, route, status, duration_ms, operation, operation_type, upstream_calls,
            errors, trace_id, "access"
        );
    }
    drop(_entered);
    response
}
