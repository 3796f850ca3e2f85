//! `blaxel-gateway`: serves Blaxel job executions over GraphQL.
//!
//! With no `--upstream`, an emulator of the Blaxel API starts in-process on a free loopback port
//! with demo data, and its demo token is used for callers that send none.

use std::{net::SocketAddr, time::Duration};

use anyhow::Context as _;
use blaxel_gateway::{AppState, Limits};
use blaxel_models::ApiVersion;
use blaxel_transport::{
    CircuitBreakerConfig, Client, ClientConfig, RetryBudget, RetryPolicy, Token,
};
use clap::Parser;
use tracing::{info, warn};

/// mimalloc: fewer CPU cycles per request than glibc's allocator on this allocation-heavy path
/// (a GraphQL response is many small values), and no lock contention between worker threads
/// (see the Benchmarks section of the README).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// GraphQL gateway over Blaxel's jobs API: job executions as a Relay connection.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "GATEWAY_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// Blaxel API base URL, e.g. https://api.blaxel.ai/v0. Unset: an emulator with demo data
    /// starts in-process on a free loopback port.
    #[arg(long, env = "BLAXEL_API_URL")]
    upstream: Option<String>,

    /// Bearer token used when a caller sends none (never logged).
    #[arg(long, env = "BLAXEL_TOKEN", hide_env_values = true)]
    token: Option<String>,

    /// Workspace used when a caller sends no X-Blaxel-Workspace.
    #[arg(long, env = "BLAXEL_WORKSPACE")]
    workspace: Option<String>,

    /// Blaxel-Version sent upstream (YYYY-MM-DD[.preview]); before 2026-04-28 the legacy
    /// offset contract is used.
    #[arg(long, env = "BLAXEL_API_VERSION", default_value = "2026-04-28")]
    api_version: ApiVersion,

    /// Timeout of one upstream attempt, ms.
    #[arg(long, env = "GATEWAY_UPSTREAM_TIMEOUT_MS", default_value_t = 10_000)]
    upstream_timeout_ms: u64,

    /// Timeout to connect to the upstream, ms.
    #[arg(long, env = "GATEWAY_CONNECT_TIMEOUT_MS", default_value_t = 2_000)]
    connect_timeout_ms: u64,

    /// Attempts per idempotent upstream call (1 = no retry).
    #[arg(long, env = "GATEWAY_UPSTREAM_ATTEMPTS", default_value_t = 3)]
    upstream_attempts: u32,

    /// Retries allowed per 100 upstream calls of the budget window (retry budget).
    #[arg(long, env = "GATEWAY_RETRY_BUDGET_PERCENT", default_value_t = 20)]
    retry_budget_percent: u32,

    /// Retries allowed per second whatever the traffic (retry budget reserve).
    #[arg(long, env = "GATEWAY_RETRY_BUDGET_MIN_PER_SEC", default_value_t = 10)]
    retry_budget_min_per_sec: u32,

    /// How long an upstream call counts toward the retry budget, seconds (1 to 60).
    #[arg(long, env = "GATEWAY_RETRY_BUDGET_WINDOW_SECS", default_value_t = 10)]
    retry_budget_window_secs: u64,

    /// Upstream failures (connection errors, timeouts, 5xx) among the last 100 attempts (10 s)
    /// that open the circuit breaker, with --breaker-failure-rate; 0 disables it.
    #[arg(long, env = "GATEWAY_BREAKER_FAILURES", default_value_t = 5)]
    breaker_failures: u32,

    /// Share of failures among the last 100 upstream attempts (10 s) that opens the circuit breaker
    /// (with at least --breaker-failures of them), percent.
    #[arg(long, env = "GATEWAY_BREAKER_FAILURE_RATE", default_value_t = 50)]
    breaker_failure_rate: u32,

    /// How long an open circuit breaker fails fast before probing the upstream, ms.
    #[arg(long, env = "GATEWAY_BREAKER_OPEN_MS", default_value_t = 5_000)]
    breaker_open_ms: u64,

    /// Probes let through at once while the circuit breaker is half-open.
    #[arg(long, env = "GATEWAY_BREAKER_PROBES", default_value_t = 1)]
    breaker_probes: u32,

    /// Timeout of a whole GraphQL request, ms.
    #[arg(long, env = "GATEWAY_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    request_timeout_ms: u64,

    /// Upstream requests in flight at once, across all callers.
    #[arg(long, env = "GATEWAY_MAX_CONCURRENT_UPSTREAM", default_value_t = 64)]
    max_concurrent_upstream: usize,

    /// Upstream requests in flight at once for one GraphQL request.
    #[arg(long, env = "GATEWAY_PER_REQUEST_CONCURRENCY", default_value_t = 8)]
    per_request_concurrency: usize,

    /// Largest `first` served (pages past 100 follow upstream cursors).
    #[arg(long, env = "GATEWAY_MAX_FIRST", default_value_t = 500)]
    max_first: u32,

    /// Deepest selection set.
    #[arg(long, env = "GATEWAY_MAX_DEPTH", default_value_t = 16)]
    max_depth: usize,

    /// Largest query complexity (connections cost their selection times `first`).
    #[arg(long, env = "GATEWAY_MAX_COMPLEXITY", default_value_t = 60_000)]
    max_complexity: usize,

    /// Most aliases in one operation.
    #[arg(long, env = "GATEWAY_MAX_ALIASES", default_value_t = 64)]
    max_aliases: usize,

    /// Largest query document, bytes.
    #[arg(long, env = "GATEWAY_MAX_DOCUMENT_BYTES", default_value_t = 64 * 1024)]
    max_document_bytes: usize,

    /// Largest request body, bytes.
    #[arg(long, env = "GATEWAY_MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    max_body_bytes: usize,

    /// Seed of the embedded emulator's demo data.
    #[arg(long, env = "GATEWAY_EMULATOR_SEED", default_value_t = 42)]
    emulator_seed: u64,

    /// Executions per job in the embedded emulator.
    #[arg(long, env = "GATEWAY_EMULATOR_EXECUTIONS", default_value_t = 200)]
    emulator_executions: usize,

    /// Origins allowed to call the gateway from a browser (CORS): a comma-separated list of
    /// scheme://host[:port], or `*` for any. Unset: no CORS headers, so browsers allow only
    /// same-origin pages.
    #[arg(long, env = "GATEWAY_CORS_ALLOW_ORIGIN")]
    cors_allow_origin: Option<String>,

    /// Serve GraphiQL (embedded, no external URL) at GET /graphql to browsers.
    #[arg(long, env = "GATEWAY_GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set)]
    graphiql: bool,

    /// Answer introspection queries (__schema, __type); turn off for locked-down deployments.
    #[arg(long, env = "GATEWAY_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    introspection: bool,

    /// Automatic Persisted Queries: most documents kept (least recently used evicted).
    #[arg(long, env = "GATEWAY_APQ_MAX_ENTRIES", default_value_t = 1024)]
    apq_max_entries: usize,

    /// Automatic Persisted Queries: most bytes of query text kept in total.
    #[arg(long, env = "GATEWAY_APQ_MAX_BYTES", default_value_t = 8 * 1024 * 1024)]
    apq_max_bytes: usize,

    /// Trusted documents: a JSON manifest of the only operations allowed (Apollo's persisted
    /// query manifest, or a map from SHA-256 id to document). Unset: any operation.
    #[arg(long, env = "GATEWAY_TRUSTED_DOCUMENTS")]
    trusted_documents: Option<String>,

    /// Worker threads of the runtime (0 = one per core).
    #[arg(long, env = "GATEWAY_WORKER_THREADS", default_value_t = 0)]
    worker_threads: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,blaxel_gateway=info".into()),
        )
        .init();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if args.worker_threads > 0 {
        runtime.worker_threads(args.worker_threads);
    }
    runtime.enable_all().build()?.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let cors_allow_origin = args
        .cors_allow_origin
        .as_deref()
        .map(blaxel_gateway::http::AllowedOrigins::parse)
        .transpose()?;
    let trusted_documents = args
        .trusted_documents
        .as_deref()
        .map(blaxel_gateway::http::TrustedDocuments::load)
        .transpose()?;
    let mut token = args.token.clone();
    let mut workspace = args.workspace.clone();
    let mut graphiql_headers = None;
    let (base_url, emulator) = match &args.upstream {
        Some(url) => (url.clone(), None),
        None => {
            let config = blaxel_emulator::EmulatorConfig {
                seed: args.emulator_seed,
                executions_per_job: args.emulator_executions,
                ..Default::default()
            };
            let (demo_token, demo_workspace) = config
                .tokens
                .first()
                .cloned()
                .context("the emulator has no token")?;
            let handle = blaxel_emulator::spawn(config)
                .await
                .context("start the embedded emulator")?;
            info!(
                upstream = %handle.base_url(),
                workspace = %demo_workspace,
                "no --upstream given: serving over an embedded Blaxel emulator with demo data (its demo token is used for callers that send none)"
            );
            // GraphiQL shows the demo credentials, so a first visit runs its query as is.
            graphiql_headers = Some(
                serde_json::json!({
                    "Authorization": format!("Bearer {demo_token}"),
                    "X-Blaxel-Workspace": demo_workspace,
                })
                .to_string(),
            );
            token.get_or_insert(demo_token);
            workspace.get_or_insert(demo_workspace);
            (handle.base_url(), Some(handle))
        }
    };
    let client = Client::new(ClientConfig {
        base_url: base_url.clone(),
        token: token.map(Token::new),
        workspace,
        api_version: args.api_version,
        connect_timeout: Duration::from_millis(args.connect_timeout_ms),
        request_timeout: Duration::from_millis(args.upstream_timeout_ms),
        retry: RetryPolicy {
            max_attempts: args.upstream_attempts.max(1),
            ..RetryPolicy::default()
        },
        retry_budget: RetryBudget {
            window: Duration::from_secs(args.retry_budget_window_secs),
            min_per_sec: args.retry_budget_min_per_sec,
            retry_percent: args.retry_budget_percent,
        },
        circuit_breaker: CircuitBreakerConfig {
            failure_threshold: args.breaker_failures,
            failure_rate_percent: args.breaker_failure_rate,
            open_for: Duration::from_millis(args.breaker_open_ms),
            half_open_probes: args.breaker_probes.max(1),
        },
        max_concurrent_requests: args.max_concurrent_upstream.max(1),
        ..ClientConfig::default()
    })
    .context("build the upstream client")?;
    let limits = Limits {
        max_first: args.max_first,
        max_depth: args.max_depth,
        max_complexity: args.max_complexity,
        max_aliases: args.max_aliases,
        max_document_bytes: args.max_document_bytes,
        max_body_bytes: args.max_body_bytes,
        request_timeout: Duration::from_millis(args.request_timeout_ms),
        per_request_concurrency: args.per_request_concurrency.max(1),
    };
    let state = AppState::new(client, limits, blaxel_gateway::metrics_handle()).with_frontend(
        blaxel_gateway::http::FrontendConfig {
            cors_allow_origin,
            graphiql: args.graphiql,
            graphiql_config: blaxel_gateway::http::GraphiqlConfig {
                default_headers: graphiql_headers,
            },
            introspection: args.introspection,
            apq: blaxel_gateway::http::ApqLimits {
                max_entries: args.apq_max_entries,
                max_bytes: args.apq_max_bytes,
            },
            trusted_documents,
        },
    );
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("bind {}", args.listen))?;
    let addr = listener.local_addr()?;
    info!(
        url = %format!("http://{addr}/graphql"),
        upstream = %base_url,
        api_version = %args.api_version,
        "blaxel-gateway listening"
    );
    blaxel_gateway::serve(listener, state, shutdown_signal()).await?;
    if let Some(emulator) = emulator {
        emulator.shutdown().await;
    }
    info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            warn!("cannot listen for ctrl-c: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    info!("shutting down: draining in-flight requests");
}
