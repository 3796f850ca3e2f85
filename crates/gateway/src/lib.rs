//! `blaxel-gateway`: a GraphQL gateway serving Blaxel job executions as a Relay connection.
//!
//! Flow: axum ([`server`]: body limit, timeout) -> async-graphql ([`limits`]: size, aliases,
//! depth, complexity) -> resolvers ([`schema`]) -> [`pagination`] (Relay slice over upstream page
//! cursors, with stateless [`cursor`]s) -> a per-request DataLoader ([`loader`]) ->
//! `blaxel-transport` -> the Blaxel API (or the embedded emulator) -> borrowed GraphQL objects.
//! Every failure becomes a GraphQL error with `extensions.code` ([`error`]). The HTTP face of
//! GraphQL for browsers and standard clients (GraphQL over HTTP, CORS, CSRF, GraphiQL, persisted
//! queries, compression) is [`http`].

pub mod cursor;
pub mod doc_cache;
pub mod error;
pub mod http;
pub mod limits;
pub mod loader;
pub mod pagination;
pub mod schema;
pub mod server;

use std::{future::Future, sync::OnceLock};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
pub use server::{AppState, Limits, app};

/// The process-wide Prometheus recorder, installed on first call. `None` when another recorder
/// was installed first.
pub fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .clone()
}

/// Serves the gateway on `listener` until `shutdown` completes, then drains in-flight requests.
///
/// # Errors
/// The I/O error that stopped the server.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
