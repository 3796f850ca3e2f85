//! Shared harness: an emulator and gateways on 127.0.0.1:0, a GraphQL client, and helpers.

use std::time::Duration;

use blaxel_emulator::{EmulatorConfig, EmulatorHandle};
use blaxel_gateway::{AppState, Limits};
use blaxel_models::ApiVersion;
use blaxel_transport::{
    CircuitBreakerConfig, Client, ClientConfig, RetryBudget, RetryPolicy, Token,
};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// The route key of the executions listing in the emulator's stats.
pub const LIST_EXECUTIONS: &str = "GET /v0/jobs/{jobId}/executions";
/// The route key of one execution.
pub const GET_EXECUTION: &str = "GET /v0/jobs/{jobId}/executions/{executionId}";

/// How a test gateway is set up.
#[derive(Clone)]
pub struct GatewayOptions {
    /// Default token (None: callers must send one).
    pub token: Option<String>,
    /// Default workspace.
    pub workspace: Option<String>,
    /// Blaxel-Version sent upstream.
    pub api_version: ApiVersion,
    /// Upstream attempt timeout.
    pub upstream_timeout: Duration,
    /// Attempts per call.
    pub attempts: u32,
    /// Gateway limits.
    pub limits: Limits,
    /// Retry budget of the upstream client.
    pub retry_budget: RetryBudget,
    /// Circuit breaker of the upstream client.
    pub circuit_breaker: CircuitBreakerConfig,
    /// Upstream requests in flight at once, across callers.
    pub max_concurrent_upstream: usize,
    /// Browser-facing settings (CORS, GraphiQL, introspection, persisted queries).
    pub frontend: blaxel_gateway::http::FrontendConfig,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        Self {
            token: Some("dev-token".into()),
            workspace: None,
            api_version: ApiVersion::PAGINATED,
            upstream_timeout: Duration::from_secs(5),
            attempts: 1,
            limits: Limits::default(),
            retry_budget: RetryBudget::default(),
            circuit_breaker: CircuitBreakerConfig::default(),
            max_concurrent_upstream: 64,
            frontend: Default::default(),
        }
    }
}

/// A running gateway.
pub struct Gateway {
    /// `http://127.0.0.1:PORT/graphql`.
    pub url: String,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.abort();
    }
}

/// Starts a gateway over `upstream` (an emulator base URL).
pub async fn gateway(upstream: &str, options: GatewayOptions) -> Gateway {
    let client = Client::new(ClientConfig {
        base_url: upstream.to_owned(),
        token: options.token.map(Token::new),
        workspace: options.workspace,
        api_version: options.api_version,
        request_timeout: options.upstream_timeout,
        retry: RetryPolicy {
            max_attempts: options.attempts,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            ..RetryPolicy::default()
        },
        retry_budget: options.retry_budget,
        circuit_breaker: options.circuit_breaker,
        max_concurrent_requests: options.max_concurrent_upstream,
        ..ClientConfig::default()
    })
    .expect("client");
    let state = AppState::new(client, options.limits, None).with_frontend(options.frontend);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(blaxel_gateway::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    Gateway {
        url: format!("http://{addr}/graphql"),
        base: format!("http://{addr}"),
        stop: Some(stop),
        task,
    }
}

/// An emulator and one gateway over it.
pub struct Env {
    /// The emulator.
    pub emulator: EmulatorHandle,
    /// The gateway.
    pub gateway: Gateway,
    /// HTTP client for tests.
    pub http: reqwest::Client,
}

impl Env {
    /// Emulator with `config`, gateway with default options.
    pub async fn start(config: EmulatorConfig) -> Env {
        Self::with(config, GatewayOptions::default()).await
    }

    /// Emulator with `config`, gateway with `options`.
    pub async fn with(config: EmulatorConfig, options: GatewayOptions) -> Env {
        let emulator = blaxel_emulator::spawn(config).await.expect("emulator");
        let gateway = gateway(&emulator.base_url(), options).await;
        Env {
            emulator,
            gateway,
            http: reqwest::Client::new(),
        }
    }

    /// Upstream requests counted on `route` since the last reset.
    pub fn upstream(&self, route: &str) -> u64 {
        self.emulator.emulator().requests(route)
    }

    /// Resets the emulator's request counts.
    pub fn reset(&self) {
        self.emulator.emulator().reset_stats();
    }

    /// POSTs a query to the gateway with the given headers; returns the JSON response.
    pub async fn gql_as(&self, query: &str, variables: Value, headers: &[(&str, &str)]) -> Value {
        post(&self.http, &self.gateway.url, query, variables, headers).await
    }

    /// POSTs a query with the gateway's default credentials.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_as(query, variables, &[]).await
    }
}

/// POSTs a GraphQL query to `url`.
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    query: &str,
    variables: Value,
    headers: &[(&str, &str)],
) -> Value {
    let mut req = http
        .post(url)
        .json(&json!({"query": query, "variables": variables}));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("gateway answers");
    let status = resp.status();
    let body: Value = resp.json().await.expect("JSON body");
    assert!(status.is_success(), "HTTP {status}: {body}");
    body
}

/// The `extensions.code` of every error of a response.
pub fn codes(resp: &Value) -> Vec<String> {
    resp["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    e["extensions"]["code"]
                        .as_str()
                        .unwrap_or("<none>")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The emulator config most tests use: one workspace, 3 jobs of `n` executions.
pub fn emulator_config(n: usize) -> EmulatorConfig {
    EmulatorConfig {
        executions_per_job: n,
        ..EmulatorConfig::default()
    }
}
