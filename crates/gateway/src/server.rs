//! The HTTP side: axum routes, per-request credentials, limits and health.
//!
//! Routes: `POST /graphql` and `GET /graphql` (queries; GraphiQL when a browser asks for HTML),
//! `GET /schema.graphql`, `GET /healthz` (the process serves), `GET /readyz` (the upstream
//! answers), `GET /metrics` (Prometheus text).

use std::{sync::Arc, time::Duration};

use axum::{
    Json, Router,
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use blaxel_transport::{Client, Credentials, Token};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::{
    doc_cache::DocumentCache,
    error::Code,
    limits::{LimitsExtension, OperationLimits},
    loader::{RequestContext, UpstreamLoader},
    schema::{self, GatewaySchema, SchemaLimits},
};

/// Limits of the gateway; each is configurable from the command line.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest `first` served, following upstream pages past 100. Default 500.
    pub max_first: u32,
    /// Deepest selection set. Default 16.
    pub max_depth: usize,
    /// Largest query complexity: each field costs 1, a connection multiplies its selection by
    /// `first`. Default 60 000 (a full 500-execution page of every field fits).
    pub max_complexity: usize,
    /// Most aliased fields in one operation. Default 64.
    pub max_aliases: usize,
    /// Largest query document, bytes. Default 64 KiB.
    pub max_document_bytes: usize,
    /// Largest request body, bytes. Default 256 KiB.
    pub max_body_bytes: usize,
    /// Whole-request timeout; the upstream timeout (transport) should be shorter. Default 30 s.
    pub request_timeout: Duration,
    /// Upstream calls in flight for one GraphQL request. Default 8.
    pub per_request_concurrency: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_first: 500,
            max_depth: 16,
            max_complexity: 60_000,
            max_aliases: 64,
            max_document_bytes: 64 * 1024,
            max_body_bytes: 256 * 1024,
            request_timeout: Duration::from_secs(30),
            per_request_concurrency: 8,
        }
    }
}

/// Shared state of the HTTP app.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
    frontend: Arc<crate::http::Frontend>,
}

struct Inner {
    schema: GatewaySchema,
    client: Client,
    limits: Limits,
    metrics: Option<PrometheusHandle>,
    /// Parsed query documents by text, shared by every caller (syntax only).
    documents: DocumentCache,
}

impl AppState {
    /// State over an upstream `client`. `metrics` renders `/metrics` (none: an empty page).
    pub fn new(client: Client, limits: Limits, metrics: Option<PrometheusHandle>) -> Self {
        let schema = schema::builder()
            .data(SchemaLimits {
                max_first: limits.max_first,
            })
            .extension(LimitsExtension(OperationLimits {
                max_document_bytes: limits.max_document_bytes,
                max_aliases: limits.max_aliases,
                max_depth: limits.max_depth,
                max_complexity: limits.max_complexity,
            }))
            .finish();
        Self {
            inner: Arc::new(Inner {
                schema,
                client,
                limits,
                metrics,
                documents: DocumentCache::default(),
            }),
            frontend: Arc::default(),
        }
    }

    /// This state with the browser-facing settings `config` (CORS, GraphiQL, introspection,
    /// persisted queries); [`AppState::new`] uses the defaults.
    pub fn with_frontend(mut self, config: crate::http::FrontendConfig) -> Self {
        self.frontend = Arc::new(crate::http::Frontend::new(config));
        self
    }

    /// The browser-facing settings and the persisted-query store.
    pub fn frontend(&self) -> &crate::http::Frontend {
        &self.frontend
    }

    /// The GraphQL schema.
    pub fn schema(&self) -> &GatewaySchema {
        &self.inner.schema
    }
}

/// The gateway's router. Tests call it directly; the binary serves it.
pub fn app(state: AppState) -> Router {
    let limits = state.inner.limits;
    let frontend = state.frontend.config.clone();
    let router = Router::new()
        .route("/graphql", crate::http::graphql::route())
        .route("/schema.graphql", get(sdl))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(limits, request_limits));
    crate::http::wrap(router, &frontend).with_state(state)
}

/// A whole-request error as a GraphQL response: `{"errors": [{"message", "extensions": {"code",
/// "limit", "max"}}]}` with the HTTP `status`.
fn limit_error(status: StatusCode, code: Code, limit: &str, max: u64, message: String) -> Response {
    let body = serde_json::json!({
        "errors": [{
            "message": message,
            "extensions": {"code": code.as_str(), "limit": limit, "max": max},
        }],
    });
    (status, Json(body)).into_response()
}

/// Body size and request timeout, answered as GraphQL errors rather than bare statuses:
/// a body over `max_body_bytes` is a 413 `QUERY_TOO_COMPLEX` naming `maxBodyBytes` (checked on
/// `Content-Length` before reading, and while reading a body without one); a request past
/// `request_timeout` is a 504 `UPSTREAM_TIMEOUT` naming `requestTimeoutMs`.
async fn request_limits(State(limits): State<Limits>, req: Request, next: Next) -> Response {
    let max = limits.max_body_bytes;
    let too_large = |size: Option<u64>| {
        let asked = size
            .map(|n| format!("{n} bytes"))
            .unwrap_or_else(|| "larger".to_owned());
        limit_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::QueryTooComplex,
            "maxBodyBytes",
            max as u64,
            format!("request body is {asked}, over the limit of {max} bytes (maxBodyBytes)"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return too_large(declared);
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, max).await {
        Ok(bytes) => bytes,
        Err(e) => {
            let over = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if over {
                return too_large(None);
            }
            return limit_error(
                StatusCode::BAD_REQUEST,
                Code::BadUserInput,
                "maxBodyBytes",
                max as u64,
                "the request body could not be read".to_owned(),
            );
        }
    };
    let req = Request::from_parts(parts, Body::from(bytes));
    let timeout = limits.request_timeout;
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            metrics::counter!("gateway_request_timeouts_total").increment(1);
            let ms = timeout.as_millis() as u64;
            limit_error(
                StatusCode::GATEWAY_TIMEOUT,
                Code::UpstreamTimeout,
                "requestTimeoutMs",
                ms,
                format!(
                    "the request did not complete within the gateway's timeout of {ms} ms (requestTimeoutMs)"
                ),
            )
        }
    }
}

/// The bearer token of `Authorization` or `X-Blaxel-Authorization` (scheme `Bearer`,
/// case-insensitive; a bare token is accepted too).
fn bearer(headers: &HeaderMap) -> Option<Token> {
    for name in [header::AUTHORIZATION.as_str(), "x-blaxel-authorization"] {
        if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
            let value = value.trim();
            let token = match value.split_once(' ') {
                Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
                _ => value,
            };
            if !token.is_empty() {
                return Some(Token::new(token));
            }
        }
    }
    None
}

fn request_context(state: &AppState, headers: &HeaderMap) -> RequestContext {
    let workspace = headers
        .get("x-blaxel-workspace")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_owned);
    let config = state.inner.client.config();
    RequestContext {
        workspace: workspace
            .clone()
            .or_else(|| config.workspace.clone())
            .unwrap_or_default(),
        credentials: Credentials {
            token: bearer(headers),
            workspace,
        },
        legacy: !config.api_version.is_paginated(),
    }
}

/// Runs `batch` with the caller's credentials from `headers` (the HTTP face is `crate::http`).
pub(crate) async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    batch: async_graphql::BatchRequest,
) -> async_graphql::BatchResponse {
    let rc = request_context(state, headers);
    let loader = UpstreamLoader::new(
        state.inner.client.clone(),
        rc.credentials.clone(),
        state.inner.limits.per_request_concurrency,
    )
    .into_dataloader();
    let loader = std::sync::Arc::new(loader);
    let batch = state
        .inner
        .documents
        .attach_batch(batch)
        .data(rc)
        .data(loader);
    let started = std::time::Instant::now();
    let response = state.inner.schema.execute_batch(batch).await;
    let ok = response.is_ok();
    metrics::counter!("gateway_graphql_requests_total", "outcome" => if ok { "ok" } else { "error" })
        .increment(1);
    metrics::histogram!("gateway_graphql_request_duration_seconds")
        .record(started.elapsed().as_secs_f64());
    response
}

async fn sdl(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        state.schema().sdl(),
    )
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.inner.client.health(&Credentials::default()).await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("upstream not ready: {e}"),
        )
            .into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let body = state
        .inner
        .metrics
        .as_ref()
        .map(PrometheusHandle::render)
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
