//! `blaxel-gateway`: a GraphQL gateway serving Blaxel job executions as a Relay connection, and
//! the same data over gRPC ([`grpc`], package `blaxel.jobs.v1`) on a second listener.
//!
//! One core, faces over it. A request flows: [`http`] (body limit, timeout; GraphQL over HTTP,
//! CORS, GraphiQL, persisted queries, compression) -> [`caller`] (who is
//! calling, once) -> the GraphQL face [`graphql`] (document limits, resolvers) -> [`pagination`]
//! (arguments, stateless cursors, the slice over upstream page cursors) -> the request's
//! DataLoaders ([`loader`]) -> `blaxel-transport` -> the Blaxel API (or the embedded emulator)
//! -> borrowed GraphQL objects. Every failure is an [`error::Error`] with a code, which each face
//! renders in its own shape. [`Config`] is the one configuration value, [`Limits`] the one set
//! of limits.

pub mod caller;
pub mod config;
pub mod error;
pub mod fairness;
pub mod graphql;
pub mod grpc;
pub mod http;
pub mod limits;
pub mod loader;
pub mod observe;
pub mod pagination;
pub mod telemetry;
pub mod watch;
pub mod write;

use std::{future::Future, sync::OnceLock, time::Duration};

pub use caller::Caller;
pub use config::{Config, GrpcListen};
pub use http::{AppState, app};
pub use limits::Limits;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Buckets of the duration histograms, seconds.
pub const SECONDS_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

/// How often the recorder folds the samples recorded since into its histograms
/// ([`PrometheusHandle::run_upkeep`]). Until then it keeps every sample (8 bytes, several per
/// request), and `install_recorder` leaves the upkeep to its caller: with no scrape of
/// `/metrics` the gateway grew by 0.75 MB/s at 20,000 requests/s (README, "Where we stand
/// (2026-12-04, fifth round)"). At this period the samples held stay below a second's worth.
pub const METRICS_UPKEEP: Duration = Duration::from_secs(1);

/// The name of the thread that runs the recorder's upkeep every [`METRICS_UPKEEP`].
pub const METRICS_UPKEEP_THREAD: &str = "metrics-upkeep";

/// The process-wide Prometheus recorder, installed on first call with its upkeep thread
/// ([`METRICS_UPKEEP_THREAD`]). `None` when another recorder was installed first.
pub fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                // Histograms (aggregatable across replicas), not summaries: every `_seconds`
                // metric, 1 ms to 60 s.
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS)
                .ok()?
                .install_recorder()
                .ok()?;
            // A thread, not a task: the recorder is process-wide and may be installed before
            // (or outside) any runtime.
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new()
                .name(METRICS_UPKEEP_THREAD.into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(METRICS_UPKEEP);
                        upkeep.run_upkeep();
                    }
                });
            if let Err(error) = spawned {
                tracing::warn!(%error, "metrics upkeep thread not started: histograms grow until scraped");
            }
            Some(handle)
        })
        .clone()
}

/// How long a client may take to send a request's headers; past it the connection is closed.
/// (The body is read within the request timeout, see [`http::guard`].)
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves the gateway on `listener` until `shutdown` completes, then drains: open subscriptions
/// end with `STREAM_CLOSED` ([`watch::Watcher::drain`]) and in-flight requests finish.
///
/// Each connection speaks HTTP/1.1 (with upgrades, for WebSockets) or HTTP/2, and must send its
/// request headers within [`HEADER_READ_TIMEOUT`]: a client that trickles its headers holds a
/// connection for that long at most.
///
/// # Errors
/// The I/O error that stopped the server.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::{
        rt::{TokioExecutor, TokioIo, TokioTimer},
        server::{conn::auto::Builder, graceful::GracefulShutdown},
        service::TowerToHyperService,
    };

    let watcher = state.watcher().clone();
    let router = app(state);
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: back off, keep serving the others.
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection ended: {e}");
            }
        });
    }
    drop(listener);
    watcher.drain();
    graceful.shutdown().await;
    Ok(())
}
