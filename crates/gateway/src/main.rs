//! `blaxel-gateway`: serves Blaxel job executions over GraphQL, and over gRPC on a second
//! listener (`--grpc-listen`, `off` disables it); one SIGTERM drains both.
//!
//! With no `--upstream`, an emulator of the Blaxel API starts in-process on a free loopback port
//! with demo data, and its demo token is used for callers that send none (the default
//! `embedded-emulator` feature; without it, `--upstream` is required).

use anyhow::Context as _;
use blaxel_gateway::{AppState, Config, GrpcListen};
use blaxel_transport::Client;
use futures::FutureExt as _;
use tracing::{info, warn};

/// mimalloc: fewer CPU cycles per request than glibc's allocator on this allocation-heavy path
/// (a GraphQL response is many small values), and no lock contention between worker threads
/// (see the Benchmarks section of the README).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let config = Config::try_from_args(std::env::args_os()).unwrap_or_else(|e| e.exit());
    // Spans are OpenTelemetry spans only when OTEL_* ask for their export.
    let provider = blaxel_gateway::telemetry::tracer_provider()
        .context("configure the OpenTelemetry exporter (OTEL_EXPORTER_OTLP_*)")?;
    blaxel_gateway::telemetry::init(config.log_format, provider.as_ref())?;
    if provider.is_some() {
        info!("exporting traces over OTLP (HTTP/protobuf) as OTEL_EXPORTER_OTLP_* says");
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if config.worker_threads > 0 {
        runtime.worker_threads(usize::try_from(config.worker_threads)?);
    }
    let result = runtime.enable_all().build()?.block_on(run(config));
    // Exports the spans still batched.
    if let Some(Err(e)) = provider.map(|provider| provider.shutdown()) {
        warn!("OpenTelemetry shutdown: {e}");
    }
    result
}

/// A running embedded emulator, stopped after the gateway drains.
#[cfg(feature = "embedded-emulator")]
type Embedded = blaxel_emulator::EmulatorHandle;
#[cfg(not(feature = "embedded-emulator"))]
type Embedded = std::convert::Infallible;

/// Starts the embedded emulator with demo data and points `config` at it, with its demo
/// credential as the default one.
#[cfg(feature = "embedded-emulator")]
async fn embedded_upstream(config: &mut Config) -> anyhow::Result<(String, Option<Embedded>)> {
    let emulator = blaxel_emulator::EmulatorConfig {
        seed: config.emulator_seed,
        executions_per_job: usize::try_from(config.emulator_executions)?,
        ..Default::default()
    };
    let handle = blaxel_emulator::spawn(emulator)
        .await
        .context("start the embedded emulator")?;
    info!(
        upstream = %handle.base_url(),
        workspace = blaxel_emulator::DEMO_WORKSPACE,
        "no --upstream given: serving over an embedded Blaxel emulator with demo data (its demo token is used for callers that send none)"
    );
    config
        .token
        .get_or_insert_with(|| blaxel_emulator::DEMO_TOKEN.to_owned());
    config
        .workspace
        .get_or_insert_with(|| blaxel_emulator::DEMO_WORKSPACE.to_owned());
    Ok((handle.base_url(), Some(handle)))
}

/// GraphiQL's prefilled headers over the embedded emulator: its demo credential, so a first
/// visit runs the default query as is.
#[cfg(feature = "embedded-emulator")]
fn demo_headers() -> String {
    serde_json::json!({
        "Authorization": format!("Bearer {}", blaxel_emulator::DEMO_TOKEN),
        "X-Blaxel-Workspace": blaxel_emulator::DEMO_WORKSPACE,
    })
    .to_string()
}

#[cfg(not(feature = "embedded-emulator"))]
fn demo_headers() -> String {
    String::new()
}

#[cfg(not(feature = "embedded-emulator"))]
async fn embedded_upstream(_: &mut Config) -> anyhow::Result<(String, Option<Embedded>)> {
    anyhow::bail!(
        "no --upstream (BLAXEL_API_URL) given, and this build has no embedded emulator (feature `embedded-emulator`)"
    )
}

async fn run(mut config: Config) -> anyhow::Result<()> {
    let (base_url, emulator) = match config.upstream.clone() {
        Some(url) => (url, None),
        None => embedded_upstream(&mut config).await?,
    };
    let client =
        Client::new(config.client_config(&base_url)).context("build the upstream client")?;
    let graphiql_headers = emulator.is_some().then(demo_headers);
    let state = AppState::new(client, config.limits(), blaxel_gateway::metrics_handle())
        .with_frontend(config.frontend(graphiql_headers));
    // The first reachability probe, logged: a wrong base URL or token shows at startup.
    let probe = state.clone();
    tokio::spawn(async move {
        match blaxel_gateway::http::health::readiness(&probe).await {
            Ok(()) => info!("upstream reachable: a real request can be served"),
            Err(why) => warn!("first upstream probe: {why}"),
        }
    });
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("bind {}", config.listen))?;
    let addr = listener.local_addr()?;
    let grpc_listener = match config.grpc_listen {
        GrpcListen::On(grpc_addr) => Some(
            tokio::net::TcpListener::bind(grpc_addr)
                .await
                .with_context(|| format!("bind the gRPC listener {grpc_addr}"))?,
        ),
        GrpcListen::Off => None,
    };
    // One signal drains both servers: each gets a clone of the same shared future.
    let shutdown = shutdown_signal().shared();
    info!(
        url = %format!("http://{addr}/graphql"),
        grpc = %match &grpc_listener {
            Some(l) => l.local_addr()?.to_string(),
            None => "off".to_owned(),
        },
        upstream = %base_url,
        api_version = %config.api_version,
        "blaxel-gateway listening"
    );
    let graphql = blaxel_gateway::serve(listener, state.clone(), shutdown.clone());
    match grpc_listener {
        Some(grpc_listener) => {
            let grpc = blaxel_gateway::grpc::serve(grpc_listener, state, shutdown);
            let (graphql, grpc) = tokio::join!(graphql, grpc);
            graphql?;
            grpc.context("the gRPC server")?;
        }
        None => graphql.await?,
    }
    #[cfg(feature = "embedded-emulator")]
    if let Some(emulator) = emulator {
        emulator.shutdown().await;
    }
    #[cfg(not(feature = "embedded-emulator"))]
    let _ = emulator;
    info!("stopped");
    Ok(())
}

/// Completes on SIGINT or SIGTERM. The handlers are installed when this is called, not when
/// the future is first polled: a SIGTERM that arrives right after the listening line must drain,
/// not kill the process.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| warn!("cannot listen for SIGTERM: {e}"))
        .ok();
    let ctrl_c = tokio::signal::ctrl_c();
    async move {
        #[cfg(unix)]
        let terminate = async {
            match terminate {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        let ctrl_c = async {
            if let Err(e) = ctrl_c.await {
                warn!("cannot listen for ctrl-c: {e}");
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = ctrl_c => {},
            () = terminate => {},
        }
        info!("shutting down: draining in-flight requests");
    }
}
