//! `blaxel-emulator`: serves the in-memory Blaxel jobs API emulator until SIGINT or SIGTERM.
//!
//! Every flag also reads the environment variable named in `--help`. Logs go to stderr through
//! `tracing-subscriber`, filtered by `RUST_LOG` (default `info`).

use std::net::SocketAddr;

use blaxel_emulator::EmulatorConfig;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// In-memory emulator of Blaxel's control-plane jobs API (`/v0/jobs*`), with a control API
/// under `/_emulator` (stats, faults, virtual clock).
#[derive(Debug, Parser)]
#[command(name = "blaxel-emulator", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "BLAXEL_EMULATOR_LISTEN", default_value = "127.0.0.1:8081")]
    listen: SocketAddr,

    /// Seed of the generated data: the same seed gives the same jobs and executions.
    #[arg(long, env = "BLAXEL_EMULATOR_SEED", default_value_t = 42)]
    seed: u64,

    /// Jobs per workspace (`data-processing-job`, `job-1`, `job-2`, ...).
    #[arg(long, env = "BLAXEL_EMULATOR_JOBS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(0..=10_000))]
    jobs: u32,

    /// Seeded executions per job (up to 2 000 000).
    #[arg(long, env = "BLAXEL_EMULATOR_EXECUTIONS_PER_JOB", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(0..=2_000_000))]
    executions_per_job: u32,

    /// Accepted bearer token and its workspace, as TOKEN=WORKSPACE; repeat the flag (or
    /// separate with commas in the env var) for several. Default: dev-token=my-workspace.
    #[arg(long = "token", env = "BLAXEL_EMULATOR_TOKENS", value_name = "TOKEN=WORKSPACE",
          value_delimiter = ',', value_parser = parse_token)]
    tokens: Vec<(String, String)>,

    /// Executions a workspace may run at once (pending, running or cancelling) before
    /// `allowQueue: false` is refused with 429.
    #[arg(long, env = "BLAXEL_EMULATOR_CAPACITY", default_value_t = 16)]
    capacity: usize,

    /// Largest task count an execution still carries inline; larger ones send
    /// `spec.tasksRef` without `tasks` (clients page the tasks listing).
    #[arg(long, env = "BLAXEL_EMULATOR_INLINE_TASKS_MAX", default_value_t = 100)]
    inline_tasks_max: usize,

    /// Bound on counting a job's executions: above it, `meta.total` is this bound and
    /// `meta.totalIsPartial` is true. Unset: exact totals.
    #[arg(long, env = "BLAXEL_EMULATOR_TOTAL_COUNT_LIMIT")]
    total_count_limit: Option<usize>,
}

fn parse_token(raw: &str) -> Result<(String, String), String> {
    let (token, workspace) = raw
        .split_once('=')
        .ok_or_else(|| format!("expected TOKEN=WORKSPACE, got \"{raw}\""))?;
    let (token, workspace) = (token.trim(), workspace.trim());
    if token.is_empty() || workspace.is_empty() {
        return Err(format!(
            "expected TOKEN=WORKSPACE with both parts non-empty, got \"{raw}\""
        ));
    }
    Ok((token.to_owned(), workspace.to_owned()))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
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
                tracing::error!(error = %e, "cannot listen for SIGTERM");
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
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut config = EmulatorConfig {
        seed: args.seed,
        jobs: args.jobs as usize,
        executions_per_job: args.executions_per_job as usize,
        capacity: args.capacity,
        inline_tasks_max: args.inline_tasks_max,
        total_count_limit: args.total_count_limit,
        ..EmulatorConfig::default()
    };
    if !args.tokens.is_empty() {
        config.tokens = args.tokens;
    }
    let workspaces: Vec<&str> = config.tokens.iter().map(|(_, w)| w.as_str()).collect();
    tracing::info!(
        seed = config.seed,
        jobs = config.jobs,
        executions_per_job = config.executions_per_job,
        workspaces = ?workspaces,
        "generating seed data"
    );
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("blaxel-emulator: cannot listen on {}: {e}", args.listen);
            return std::process::ExitCode::FAILURE;
        }
    };
    let handle = match blaxel_emulator::serve(listener, config).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("blaxel-emulator: cannot serve: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing::info!(url = %handle.base_url(), "blaxel emulator listening (control API under /_emulator)");
    shutdown_signal().await;
    tracing::info!("shutting down");
    handle.shutdown().await;
    std::process::ExitCode::SUCCESS
}
