//! `blaxel-gateway`: a GraphQL gateway serving Blaxel job executions as a Relay connection, and
//! the same data over gRPC ([`grpc`], package `blaxel.jobs.v1`) on a second listener.
//!
//! One core, faces over it. A request flows: [`http`] (body limit, timeout) -> [`caller`] (who is
//! calling, once) -> the GraphQL face [`graphql`] (document limits, resolvers) -> [`pagination`]
//! (arguments, stateless cursors, the slice over upstream page cursors) -> the request's
//! DataLoaders ([`loader`]) -> `blaxel-transport` -> the Blaxel API (or the embedded emulator)
//! -> borrowed GraphQL objects. Every failure is an [`error::Error`] with a code, which each face
//! renders in its own shape. [`Config`] is the one configuration value, [`Limits`] the one set
//! of limits.

pub mod caller;
pub mod config;
pub mod error;
pub mod graphql;
pub mod grpc;
pub mod http;
pub mod limits;
pub mod loader;
pub mod pagination;
pub mod watch;
pub mod write;

use std::{future::Future, sync::OnceLock};

pub use caller::Caller;
pub use config::{Config, GrpcListen};
pub use http::{AppState, app};
pub use limits::Limits;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The process-wide Prometheus recorder, installed on first call. `None` when another recorder
/// was installed first.
pub fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .clone()
}

/// Serves the gateway on `listener` until `shutdown` completes, then drains: open subscriptions
/// end with `STREAM_CLOSED` ([`watch::Watcher::drain`]) and in-flight requests finish.
///
/// # Errors
/// The I/O error that stopped the server.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let watcher = state.watcher().clone();
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            watcher.drain();
        })
        .await
}
