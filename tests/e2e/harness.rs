//! Shared harness: an emulator and gateways on 127.0.0.1:0, a GraphQL client, and helpers.

use blaxel_emulator::{EmulatorConfig, EmulatorHandle};
use blaxel_gateway::{AppState, Config, http::FrontendConfig};
use blaxel_transport::Client;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// The route key of the executions listing in the emulator's stats.
pub const LIST_EXECUTIONS: &str = "GET /v0/jobs/{jobId}/executions";
/// The route key of one execution.
pub const GET_EXECUTION: &str = "GET /v0/jobs/{jobId}/executions/{executionId}";

/// The gateway configuration most tests use: the flags' defaults, with the emulator's
/// `dev-token` as the default credential, one upstream attempt (retries are tested on purpose),
/// a 5 s upstream timeout, 5 ms retry backoff and subscriptions polling every 20 ms. The
/// upstream URL is set by [`gateway`].
pub fn options() -> Config {
    Config {
        token: Some("dev-token".into()),
        upstream_attempts: 1,
        upstream_timeout_ms: 5_000,
        retry_backoff_ms: 5,
        subscription_poll_ms: 20,
        ..Config::default()
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

impl Gateway {
    /// Starts the gateway's drain (as SIGTERM does): open subscriptions end, then it stops.
    pub fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.abort();
    }
}

/// Starts a gateway over `upstream` (an emulator base URL) with `config`.
pub async fn gateway(upstream: &str, config: Config) -> Gateway {
    let frontend = config.frontend(None);
    gateway_with_frontend(upstream, config, frontend).await
}

/// Starts a gateway over `upstream` with `config` and the browser-facing settings `frontend`.
pub async fn gateway_with_frontend(
    upstream: &str,
    config: Config,
    frontend: FrontendConfig,
) -> Gateway {
    let client = Client::new(config.client_config(upstream)).expect("client");
    let state = AppState::new(client, config.limits(), None).with_frontend(frontend);
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
        Self::with(config, options()).await
    }

    /// Emulator with `config`, gateway with `options`.
    pub async fn with(config: EmulatorConfig, options: Config) -> Env {
        let frontend = options.frontend(None);
        Self::with_frontend(config, options, frontend).await
    }

    /// Emulator with `config`, gateway with `options` and the browser-facing `frontend`.
    pub async fn with_frontend(
        config: EmulatorConfig,
        options: Config,
        frontend: FrontendConfig,
    ) -> Env {
        let emulator = blaxel_emulator::spawn(config).await.expect("emulator");
        let gateway = gateway_with_frontend(&emulator.base_url(), options, frontend).await;
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

    /// POSTs `operations`, a JSON array (a batch), and returns the answer's JSON.
    pub async fn batch(&self, operations: &Value) -> Value {
        self.http
            .post(&self.gateway.url)
            .json(operations)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
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

/// The raw body of `query`'s answer (key order kept: a JSON map would sort the keys) and the
/// position of each response key in it (panics when absent).
pub async fn raw_answer(env: &Env, query: &str) -> (String, impl Fn(&str) -> usize) {
    let body = env
        .http
        .post(&env.gateway.url)
        .json(&serde_json::json!({"query": query}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let text = body.clone();
    let at = move |key: &str| {
        text.find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("{key} in {text}"))
    };
    (body, at)
}

/// `createJobExecution` of `data-processing-job` with `input`, selecting the global id, status,
/// metadata and spec; returns the whole response.
pub async fn create_execution(env: &Env, input: Value) -> Value {
    const CREATE: &str = r#"mutation($input: CreateJobExecutionInput!) {
      createJobExecution(jobName: "data-processing-job", input: $input) {
        id status metadata { id job createdAt } spec { memoryOverride envOverride taskCount }
      }
    }"#;
    env.gql(CREATE, json!({"input": input})).await
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

/// Two tokens of one workspace (`dev-token`, `other-token`), 3 jobs of `n` executions: callers
/// that see the same data with different credentials.
pub fn two_tokens_config(n: usize) -> EmulatorConfig {
    EmulatorConfig {
        tokens: vec![
            ("dev-token".into(), "my-workspace".into()),
            ("other-token".into(), "my-workspace".into()),
        ],
        executions_per_job: n,
        ..EmulatorConfig::default()
    }
}

/// The emulator config most tests use: one workspace, 3 jobs of `n` executions.
pub fn emulator_config(n: usize) -> EmulatorConfig {
    EmulatorConfig {
        executions_per_job: n,
        ..EmulatorConfig::default()
    }
}
