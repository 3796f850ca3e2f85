//! The gateway's configuration: one value, built once from the command line and the environment
//! by clap, validated by clap's range parsers (an error names the flag and the allowed range),
//! and handed to [`crate::AppState::new`] by `main.rs`, the end-to-end tests and the benches.
//!
//! Every flag also reads the environment variable it names. An environment variable set to the
//! empty string counts as unset (compose files write `BLAXEL_API_URL=` for "none").

use std::{net::SocketAddr, time::Duration};

use blaxel_models::ApiVersion;
use blaxel_transport::{CircuitBreakerConfig, ClientConfig, RetryBudget, RetryPolicy, Token};
use clap::Parser;

use crate::{
    http::{AllowedOrigins, ApqLimits, FrontendConfig, GraphiqlConfig, TrustedDocuments},
    limits::Limits,
    telemetry::LogFormat,
    watch::WatchLimits,
};

/// Upstream requests in flight at once across all callers, by default; also a credential's turns
/// by default, so that one credential alone may keep every upstream slot busy and no more.
const UPSTREAM_SLOTS: u64 = 64;

/// GraphQL gateway over Blaxel's jobs API: job executions as a Relay connection.
#[derive(Parser, Debug, Clone)]
#[command(name = "blaxel-gateway", version, about, allow_negative_numbers = true)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "GATEWAY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Address of the gRPC listener (package `blaxel.jobs.v1`, health, reflection), or `off`.
    #[arg(long, env = "GATEWAY_GRPC_LISTEN", default_value = "127.0.0.1:50051",
          value_parser = GrpcListen::parse)]
    pub grpc_listen: GrpcListen,

    /// Blaxel API base URL, e.g. `https://api.blaxel.ai/v0`. Unset (or empty): an emulator with
    /// demo data starts in-process on a free loopback port.
    #[arg(long, env = "BLAXEL_API_URL", value_parser = upstream_url)]
    pub upstream: Option<String>,

    /// Bearer token used when a caller sends none (never logged).
    #[arg(long, env = "BLAXEL_TOKEN", hide_env_values = true, value_parser = non_empty)]
    pub token: Option<String>,

    /// Workspace used when a caller sends no X-Blaxel-Workspace.
    #[arg(long, env = "BLAXEL_WORKSPACE", value_parser = non_empty)]
    pub workspace: Option<String>,

    /// Blaxel-Version sent upstream (YYYY-MM-DD[.preview]); before 2026-04-28 the legacy
    /// offset contract is used. Default: the newest version an official SDK sends (blaxel
    /// 0.4.24, Python), 2026-09-22: cursors, `taskCount`, `totalIsPartial`.
    #[arg(long, env = "BLAXEL_API_VERSION", default_value = "2026-09-22")]
    pub api_version: ApiVersion,

    /// Timeout of one upstream attempt, ms (1 to 600000).
    #[arg(long, env = "GATEWAY_UPSTREAM_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub upstream_timeout_ms: u64,

    /// Timeout to connect to the upstream, ms (1 to 60000).
    #[arg(long, env = "GATEWAY_CONNECT_TIMEOUT_MS", default_value_t = 2_000,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub connect_timeout_ms: u64,

    /// Attempts per idempotent upstream call, 1 (no retry) to 10.
    #[arg(long, env = "GATEWAY_UPSTREAM_ATTEMPTS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=10))]
    pub upstream_attempts: u32,

    /// Delay before the first retry of an upstream call, ms (1 to 60000); later retries double
    /// it, with jitter, up to 20 times this.
    #[arg(long, env = "GATEWAY_RETRY_BACKOFF_MS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub retry_backoff_ms: u64,

    /// Retries allowed per 100 upstream calls of the budget window (retry budget), 0 to 100.
    #[arg(long, env = "GATEWAY_RETRY_BUDGET_PERCENT", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(0..=100))]
    pub retry_budget_percent: u32,

    /// Retries allowed per second whatever the traffic (retry budget reserve), 0 to 10000.
    #[arg(long, env = "GATEWAY_RETRY_BUDGET_MIN_PER_SEC", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub retry_budget_min_per_sec: u32,

    /// How long an upstream call counts toward the retry budget, seconds (1 to 60).
    #[arg(long, env = "GATEWAY_RETRY_BUDGET_WINDOW_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=60))]
    pub retry_budget_window_secs: u64,

    /// Upstream failures (connection errors, timeouts, 5xx) among the last 100 attempts (10 s)
    /// that open the circuit breaker, with --breaker-failure-rate; 0 disables it (0 to 100).
    #[arg(long, env = "GATEWAY_BREAKER_FAILURES", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(0..=100))]
    pub breaker_failures: u32,

    /// Share of failures among the last 100 upstream attempts (10 s) that opens the circuit
    /// breaker (with at least --breaker-failures of them), percent (1 to 100).
    #[arg(long, env = "GATEWAY_BREAKER_FAILURE_RATE", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub breaker_failure_rate: u32,

    /// How long an open circuit breaker fails fast before probing the upstream, ms (1 to 600000).
    #[arg(long, env = "GATEWAY_BREAKER_OPEN_MS", default_value_t = 5_000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub breaker_open_ms: u64,

    /// Probes let through at once while the circuit breaker is half-open (1 to 100).
    #[arg(long, env = "GATEWAY_BREAKER_PROBES", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub breaker_probes: u32,

    /// Timeout of a whole GraphQL request, ms (1 to 3600000).
    #[arg(long, env = "GATEWAY_REQUEST_TIMEOUT_MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub request_timeout_ms: u64,

    /// Upstream requests in flight at once, across all callers (1 to 100000).
    #[arg(long, env = "GATEWAY_MAX_CONCURRENT_UPSTREAM", default_value_t = UPSTREAM_SLOTS,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_concurrent_upstream: u64,

    /// Upstream requests in flight at once for one GraphQL request (1 to 1000).
    #[arg(long, env = "GATEWAY_PER_REQUEST_CONCURRENCY", default_value_t = 8,
          value_parser = clap::value_parser!(u64).range(1..=1_000))]
    pub per_request_concurrency: u64,

    /// Turns of one credential (token and workspace): a request takes one, or more in proportion
    /// to the upstream calls it is priced at (one at --max-upstream-calls takes a quarter), and
    /// waits for them within its deadline, so one caller cannot starve the others (1 to 10000).
    /// The default is --max-concurrent-upstream's default: one credential alone may keep every
    /// upstream slot busy, and what its requests hold at once is bounded by the weights (about
    /// four requests' worth at the cap on upstream calls) whatever the number of turns.
    #[arg(long, env = "GATEWAY_MAX_CONCURRENT_PER_CREDENTIAL", default_value_t = UPSTREAM_SLOTS,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_concurrent_per_credential: u64,

    /// Largest `first` served; pages past 100 follow upstream cursors (1 to 10000).
    #[arg(long, env = "GATEWAY_MAX_FIRST", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_first: u32,

    /// Deepest selection set (2 to 64).
    #[arg(long, env = "GATEWAY_MAX_DEPTH", default_value_t = 16,
          value_parser = clap::value_parser!(u64).range(2..=64))]
    pub max_depth: u64,

    /// Largest query complexity: a field costs 1, a connection its selection times `first`
    /// (1 to 100000000).
    #[arg(long, env = "GATEWAY_MAX_COMPLEXITY", default_value_t = 60_000,
          value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub max_complexity: u64,

    /// Most aliases in one operation (0 to 100000).
    #[arg(long, env = "GATEWAY_MAX_ALIASES", default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(0..=100_000))]
    pub max_aliases: u64,

    /// Largest query document, bytes (64 to 16777216).
    #[arg(long, env = "GATEWAY_MAX_DOCUMENT_BYTES", default_value_t = 64 * 1024,
          value_parser = clap::value_parser!(u64).range(64..=16 * 1024 * 1024))]
    pub max_document_bytes: u64,

    /// Most fields of an operation once fragments are expanded (1 to 1000000).
    #[arg(long, env = "GATEWAY_MAX_FIELDS", default_value_t = 2_000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_fields: u64,

    /// Share an upstream read already in flight with other requests of the same credential
    /// (token and workspace) asking for exactly the same upstream request, instead of calling
    /// again, and run identical GraphQL queries (text, operation name, variables) of one
    /// credential in flight at once only once; never across credentials, never mutations,
    /// nothing kept once it answers.
    #[arg(long, env = "GATEWAY_UPSTREAM_DEDUPE", default_value_t = true, action = clap::ArgAction::Set)]
    pub upstream_dedupe: bool,

    /// Most upstream calls one request may cause (a batch: all its operations together),
    /// priced before any call and counted as they happen (1 to 100000).
    #[arg(long, env = "GATEWAY_MAX_UPSTREAM_CALLS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_upstream_calls: u64,

    /// Largest response, bytes: estimated before execution, measured after (1024 to
    /// 1073741824).
    #[arg(long, env = "GATEWAY_MAX_RESPONSE_BYTES", default_value_t = 4 * 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(1024..=1024 * 1024 * 1024))]
    pub max_response_bytes: u64,

    /// Most operations in one batched request (1 to 1000).
    #[arg(long, env = "GATEWAY_MAX_BATCH", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=1_000))]
    pub max_batch: u64,

    /// Largest request body, bytes (64 to 67108864).
    #[arg(long, env = "GATEWAY_MAX_BODY_BYTES", default_value_t = 256 * 1024,
          value_parser = clap::value_parser!(u64).range(64..=64 * 1024 * 1024))]
    pub max_body_bytes: u64,

    /// How often a subscription (or a gRPC watch) polls the upstream for one execution, ms (10
    /// to 60000); the watchers of one execution with one credential share one poller.
    #[arg(long, env = "GATEWAY_SUBSCRIPTION_POLL_MS", default_value_t = 2_000,
          value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub subscription_poll_ms: u64,

    /// Live subscriptions one connection may hold (1 to 10000).
    #[arg(long, env = "GATEWAY_SUBSCRIPTION_MAX_PER_CONNECTION", default_value_t = 16,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub subscription_max_per_connection: u64,

    /// Live subscriptions one credential (token and workspace) may hold across connections
    /// (1 to 1000000).
    #[arg(long, env = "GATEWAY_SUBSCRIPTION_MAX_PER_CREDENTIAL", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub subscription_max_per_credential: u64,

    /// Longest life of one subscription, seconds (1 to 86400); it then ends with
    /// `STREAM_CLOSED` and the client subscribes again.
    #[arg(long, env = "GATEWAY_SUBSCRIPTION_MAX_LIFETIME_SECS", default_value_t = 3_600,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub subscription_max_lifetime_secs: u64,

    /// Interval of keep-alives on an idle subscription (SSE comments, WebSocket pings), ms
    /// (100 to 600000).
    #[arg(long, env = "GATEWAY_SUBSCRIPTION_KEEPALIVE_MS", default_value_t = 15_000,
          value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub subscription_keepalive_ms: u64,

    /// Origins allowed to call the gateway from a browser (CORS): a comma-separated list of
    /// `scheme://host[:port]`, or `*` for any. Unset: no CORS headers, so browsers allow only
    /// same-origin pages.
    #[arg(long, env = "GATEWAY_CORS_ALLOW_ORIGIN", value_parser = allowed_origins)]
    pub cors_allow_origin: Option<AllowedOrigins>,

    /// Serve GraphiQL (embedded, no external URL) at GET /graphql to browsers.
    #[arg(long, env = "GATEWAY_GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set)]
    pub graphiql: bool,

    /// Answer introspection queries (__schema, __type); turn off for locked-down deployments.
    #[arg(long, env = "GATEWAY_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub introspection: bool,

    /// Automatic Persisted Queries: most documents kept, least recently used evicted
    /// (1 to 1000000).
    #[arg(long, env = "GATEWAY_APQ_MAX_ENTRIES", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub apq_max_entries: u64,

    /// Automatic Persisted Queries: most bytes of query text kept in total (1024 to
    /// 1073741824).
    #[arg(long, env = "GATEWAY_APQ_MAX_BYTES", default_value_t = 8 * 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(1024..=1024 * 1024 * 1024))]
    pub apq_max_bytes: u64,

    /// Trusted documents: a JSON manifest of the only operations allowed (Apollo's persisted
    /// query manifest, or a map from SHA-256 id to document). Unset: any operation.
    #[arg(long, env = "GATEWAY_TRUSTED_DOCUMENTS", value_parser = trusted_documents)]
    pub trusted_documents: Option<TrustedDocuments>,

    /// Log lines as `text` (for people; colours only on a terminal) or `json` (one object a
    /// line, with the request span's fields). `RUST_LOG` filters them (default `info`).
    #[arg(long, env = "GATEWAY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Seed of the embedded emulator's demo data (only without --upstream).
    #[arg(long, env = "GATEWAY_EMULATOR_SEED", default_value_t = 42)]
    pub emulator_seed: u64,

    /// Executions per job in the embedded emulator (only without --upstream; 0 to 1000000).
    #[arg(long, env = "GATEWAY_EMULATOR_EXECUTIONS", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub emulator_executions: u64,

    /// Worker threads of the runtime (0 = one per core; at most 1024).
    #[arg(long, env = "GATEWAY_WORKER_THREADS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=1024))]
    pub worker_threads: u64,
}

fn allowed_origins(raw: &str) -> Result<AllowedOrigins, String> {
    AllowedOrigins::parse(raw).map_err(|e| e.to_string())
}

fn trusted_documents(path: &str) -> Result<TrustedDocuments, String> {
    TrustedDocuments::load(path).map_err(|e| e.to_string())
}

/// Empty text counts as unset: `BLAXEL_API_URL=""` means "no upstream", as compose files write.
fn non_empty(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        Err("must not be empty (leave the variable unset instead)".to_owned())
    } else {
        Ok(trimmed.to_owned())
    }
}

/// The upstream base URL: absolute `http`/`https` with a host, and a path ending in `/v0` (every
/// path of the API is relative to it: another base answers 404 to everything, which would look
/// like missing jobs).
fn upstream_url(raw: &str) -> Result<String, String> {
    let raw = non_empty(raw)?;
    let uri: http::Uri = raw
        .parse()
        .map_err(|e| format!("not a URL ({e}): expected e.g. https://api.blaxel.ai/v0"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
        return Err(
            "expected an http or https URL with a host, e.g. https://api.blaxel.ai/v0".into(),
        );
    }
    if !uri.path().trim_end_matches('/').ends_with("/v0") {
        return Err(format!(
            "the path `{}` does not end in /v0, the API version prefix (e.g. https://api.blaxel.ai/v0)",
            uri.path()
        ));
    }
    Ok(raw)
}

/// Where the gRPC face listens: `--grpc-listen ADDR`, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrpcListen {
    /// No gRPC listener.
    Off,
    /// Listen on this address.
    On(SocketAddr),
}

impl GrpcListen {
    /// `off` (any case), or a socket address such as `127.0.0.1:50051`.
    ///
    /// # Errors
    /// A message naming both accepted forms.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("off") {
            return Ok(Self::Off);
        }
        raw.parse()
            .map(Self::On)
            .map_err(|e| format!("expected `off` or an address such as 127.0.0.1:50051 ({e})"))
    }
}

impl Default for Config {
    /// Every flag at its default (environment variables still apply, as for the binary).
    ///
    /// # Panics
    /// When a `GATEWAY_*` / `BLAXEL_*` variable of the environment holds an invalid value.
    fn default() -> Self {
        Self::try_from_args(["blaxel-gateway"])
            .unwrap_or_else(|e| panic!("invalid gateway environment: {e}"))
    }
}

impl Config {
    /// Parses `args` (the program name first) and the environment, with empty environment
    /// variables read as unset.
    ///
    /// # Errors
    /// clap's error, naming the flag and what it accepts.
    pub fn try_from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::{CommandFactory as _, FromArgMatches as _};
        let mut command = Self::command();
        // clap takes an empty variable as an empty value; deployments mean "unset" by it.
        let empty: Vec<clap::Id> = command
            .get_arguments()
            .filter(|arg| {
                arg.get_env()
                    .and_then(std::env::var_os)
                    .is_some_and(|value| value.is_empty())
            })
            .map(|arg| arg.get_id().clone())
            .collect();
        for id in empty {
            command = command.mut_arg(id, |arg| arg.env(None));
        }
        Self::from_arg_matches(&command.try_get_matches_from(args)?)
    }

    /// The default configuration over the upstream at `base_url` (tests and benches).
    pub fn for_upstream(base_url: impl Into<String>) -> Self {
        Self {
            upstream: Some(base_url.into()),
            ..Self::default()
        }
    }

    /// The limits of a request, from the flags.
    pub fn limits(&self) -> Limits {
        Limits {
            max_first: self.max_first,
            max_depth: to_usize(self.max_depth),
            max_complexity: to_usize(self.max_complexity),
            max_aliases: to_usize(self.max_aliases),
            max_document_bytes: to_usize(self.max_document_bytes),
            max_body_bytes: to_usize(self.max_body_bytes),
            max_fields: self.max_fields,
            max_upstream_calls: self.max_upstream_calls,
            max_response_bytes: self.max_response_bytes,
            max_batch: to_usize(self.max_batch),
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            per_request_concurrency: to_usize(self.per_request_concurrency),
            upstream_dedupe: self.upstream_dedupe,
            per_credential_concurrency: to_usize(self.max_concurrent_per_credential),
            watch: WatchLimits {
                poll_interval: Duration::from_millis(self.subscription_poll_ms),
                max_per_connection: to_usize(self.subscription_max_per_connection),
                max_per_credential: to_usize(self.subscription_max_per_credential),
                max_lifetime: Duration::from_secs(self.subscription_max_lifetime_secs),
                keepalive: Duration::from_millis(self.subscription_keepalive_ms),
            },
        }
    }

    /// The browser-facing settings; `graphiql_headers` prefill GraphiQL's headers (the demo
    /// credential over the embedded emulator).
    pub fn frontend(&self, graphiql_headers: Option<String>) -> FrontendConfig {
        FrontendConfig {
            cors_allow_origin: self.cors_allow_origin.clone(),
            graphiql: self.graphiql,
            graphiql_config: GraphiqlConfig {
                default_headers: graphiql_headers,
            },
            introspection: self.introspection,
            apq: ApqLimits {
                max_entries: to_usize(self.apq_max_entries),
                max_bytes: to_usize(self.apq_max_bytes),
            },
            trusted_documents: self.trusted_documents.clone(),
        }
    }

    /// The upstream client's configuration for `base_url`. The total time one upstream call may
    /// take, retries included, is nine tenths of the request timeout: a retry that cannot finish
    /// within it is not started, so a slow upstream fails its field (`UPSTREAM_TIMEOUT`) before
    /// the whole request times out and loses its healthy fields too.
    pub fn client_config(&self, base_url: &str) -> ClientConfig {
        let backoff = Duration::from_millis(self.retry_backoff_ms);
        ClientConfig {
            base_url: base_url.to_owned(),
            token: self.token.clone().map(Token::new),
            workspace: self.workspace.clone(),
            api_version: self.api_version,
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            request_timeout: Duration::from_millis(self.upstream_timeout_ms),
            retry: RetryPolicy {
                max_attempts: self.upstream_attempts,
                initial_backoff: backoff,
                max_backoff: backoff * 20,
                total_deadline: Duration::from_millis((self.request_timeout_ms * 9 / 10).max(1)),
                ..RetryPolicy::default()
            },
            retry_budget: RetryBudget {
                window: Duration::from_secs(self.retry_budget_window_secs),
                min_per_sec: self.retry_budget_min_per_sec,
                retry_percent: self.retry_budget_percent,
            },
            circuit_breaker: CircuitBreakerConfig {
                failure_threshold: self.breaker_failures,
                failure_rate_percent: self.breaker_failure_rate,
                open_for: Duration::from_millis(self.breaker_open_ms),
                half_open_probes: self.breaker_probes,
            },
            max_concurrent_requests: to_usize(self.max_concurrent_upstream),
            // traceparent on every attempt, and the attempt counted for the request's log line.
            on_attempt: crate::telemetry::attempt_hook(),
            ..ClientConfig::default()
        }
    }
}

/// The flags' ranges fit any `usize` of 32 bits or more.
fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Config::try_from_args(std::iter::once("blaxel-gateway").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_match_the_design() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(
            config.grpc_listen,
            GrpcListen::On("127.0.0.1:50051".parse().unwrap())
        );
        assert_eq!(
            parse(&["--grpc-listen", "OFF"]).unwrap().grpc_listen,
            GrpcListen::Off
        );
        let err = parse(&["--grpc-listen", "nope"]).unwrap_err().to_string();
        assert!(
            err.contains("--grpc-listen") && err.contains("off"),
            "{err}"
        );
        assert_eq!(config.upstream, None);
        assert_eq!(config.api_version.to_string(), "2026-09-22");
        let limits = config.limits();
        assert_eq!(limits.max_first, 500);
        assert_eq!(limits.per_request_concurrency, 8);
        let client = config.client_config("http://127.0.0.1:1/v0");
        assert_eq!(client.retry.total_deadline, Duration::from_secs(27));
        assert_eq!(client.max_concurrent_requests, 64);
    }

    #[test]
    fn nonsensical_values_are_refused_naming_the_flag_and_range() {
        for (flag, value) in [
            ("--max-concurrent-upstream", "0"),
            ("--request-timeout-ms", "0"),
            ("--max-body-bytes", "0"),
            ("--max-first", "0"),
            ("--max-depth", "0"),
            ("--retry-budget-percent", "1000"),
            ("--breaker-failure-rate", "150"),
            ("--upstream-attempts", "-1"),
            ("--per-request-concurrency", "0"),
            ("--subscription-poll-ms", "0"),
            ("--subscription-max-per-connection", "0"),
        ] {
            let err = parse(&[flag, value]).unwrap_err().to_string();
            assert!(err.contains(flag), "{flag} {value}: {err}");
            assert!(
                err.contains("not in") || err.contains("invalid"),
                "{flag} {value}: {err}"
            );
        }
    }

    #[test]
    fn upstream_urls_need_a_scheme_a_host_and_the_v0_prefix() {
        for bad in [
            "api.blaxel.ai/v0",
            "ftp://h/v0",
            "http://h",
            "http://h/",
            "http://h/api",
            "http:///v0",
        ] {
            let err = parse(&["--upstream", bad]).unwrap_err().to_string();
            assert!(err.contains("--upstream"), "{bad}: {err}");
        }
        for good in [
            "https://api.blaxel.ai/v0",
            "http://127.0.0.1:8081/v0/",
            "http://h/p/v0",
        ] {
            assert_eq!(
                parse(&["--upstream", good]).unwrap().upstream.unwrap(),
                good
            );
        }
    }

    #[test]
    fn empty_text_is_refused_on_the_command_line() {
        let err = parse(&["--upstream", " "]).unwrap_err().to_string();
        assert!(err.contains("--upstream"), "{err}");
    }
}
