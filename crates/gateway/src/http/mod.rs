//! The HTTP side: axum routes over the GraphQL face, health and metrics.
//!
//! Routes: `POST /graphql` and `GET /graphql` (queries; GraphiQL when a browser asks for HTML;
//! WebSocket upgrades and `Accept: text/event-stream` go to [`subscriptions`]),
//! `GET /schema.graphql`, `GET /healthz` (the process serves), `GET /readyz` (the upstream
//! answers), `GET /metrics` (Prometheus text). Every request passes [`guard`] (body size, whole
//! request timeout) first.

pub mod graphql;
pub mod guard;
pub mod health;
pub mod live;
pub mod subscriptions;
pub mod websocket;

use std::sync::Arc;

use axum::{Json, Router, http::StatusCode, middleware, response::IntoResponse, routing::get};
use blaxel_transport::Client;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::{
    error::Error,
    graphql::{GatewaySchema, documents::DocumentCache},
    limits::Limits,
    pagination::Contract,
    watch::Watcher,
};

/// Shared state of the HTTP app: the schema, the upstream client and the limits.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    schema: GatewaySchema,
    client: Client,
    limits: Limits,
    metrics: Option<PrometheusHandle>,
    /// Parsed query documents by text, shared by every caller (syntax only).
    documents: DocumentCache,
    /// The last readiness answer (see [`health::readyz`]).
    readiness: health::Readiness,
    /// The shared pollers of subscriptions and watches.
    watcher: Watcher,
}

impl AppState {
    /// State over an upstream `client` (its configured `Blaxel-Version` decides the listing
    /// contract, once). `metrics` renders `/metrics` (none: an empty page).
    pub fn new(client: Client, limits: Limits, metrics: Option<PrometheusHandle>) -> Self {
        let contract = Contract::of(client.config().api_version);
        let watcher = Watcher::new(client.clone(), limits.watch);
        Self {
            inner: Arc::new(Inner {
                schema: crate::graphql::schema(&limits, contract, &watcher),
                documents: DocumentCache::default(),
                readiness: health::Readiness::default(),
                watcher,
                client,
                limits,
                metrics,
            }),
        }
    }

    /// The GraphQL schema.
    pub fn schema(&self) -> &GatewaySchema {
        &self.inner.schema
    }

    /// The upstream client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The shared pollers of subscriptions and watches (every face uses the same).
    pub fn watcher(&self) -> &Watcher {
        &self.inner.watcher
    }
}

/// The gateway's router. Tests call it directly; the binary serves it.
pub fn app(state: AppState) -> Router {
    let limits = state.inner.limits;
    Router::new()
        .route(
            "/graphql",
            get(graphql::graphql_get).post(graphql::graphql_post).layer(
                middleware::from_fn_with_state(state.clone(), subscriptions::intercept),
            ),
        )
        .route("/schema.graphql", get(graphql::sdl))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .layer(middleware::from_fn_with_state(
            limits,
            guard::request_limits,
        ))
        .with_state(state)
}

/// A whole-request error as a GraphQL response, `{"errors": [{"message", "extensions": {"code",
/// ...}}]}`, with the HTTP `status`.
pub fn error_response(status: StatusCode, err: Error) -> axum::response::Response {
    let mut extensions = serde_json::Map::new();
    extensions.insert("code".into(), err.code.as_str().into());
    if let Some((limit, max)) = err.limit {
        extensions.insert("limit".into(), limit.into());
        extensions.insert("max".into(), max.into());
    }
    let body = serde_json::json!({
        "errors": [{"message": err.message, "extensions": extensions}],
    });
    (status, Json(body)).into_response()
}
