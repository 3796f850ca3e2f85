//! Client configuration, credentials and the retry policy.

use std::{fmt, sync::Arc, time::Duration};

use http::HeaderMap;

use blaxel_models::ApiVersion;

use crate::CircuitBreakerConfig;

/// The production control-plane base URL (`servers[0]` of Blaxel's OpenAPI spec).
pub const DEFAULT_BASE_URL: &str = "https://api.blaxel.ai/v0";

/// A bearer credential (API key or OAuth JWT), sent as `Authorization: Bearer <token>`.
///
/// The value is secret: `Debug` prints `Token(***)`, there is no `Display`, and the header built
/// from it is marked sensitive. Read it with [`Token::expose`] only to hash or forward it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Token(String);

impl Token {
    /// Wraps a raw token (without the `Bearer ` prefix).
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The raw token. Never log or display it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl From<String> for Token {
    fn from(token: String) -> Self {
        Self(token)
    }
}

impl From<&str> for Token {
    fn from(token: &str) -> Self {
        Self(token.to_owned())
    }
}

/// Per-call credentials, so that one [`Client`](crate::Client) forwards each caller's own.
///
/// A field left `None` falls back to the client's configured value
/// ([`ClientConfig::token`], [`ClientConfig::workspace`]); when both are `None` the header is
/// omitted. `Credentials::default()` therefore means "use the client's".
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Credentials {
    /// Bearer token for `Authorization: Bearer <token>`.
    pub token: Option<Token>,
    /// Workspace name for the `X-Blaxel-Workspace` header.
    pub workspace: Option<String>,
}

impl Credentials {
    /// Credentials with a token and no workspace.
    pub fn with_token(token: impl Into<String>) -> Self {
        Self {
            token: Some(Token::new(token)),
            workspace: None,
        }
    }

    /// Sets the workspace (builder style).
    #[must_use]
    pub fn workspace(mut self, workspace: impl Into<String>) -> Self {
        self.workspace = Some(workspace.into());
        self
    }
}

/// When and how often a failed request is retried.
///
/// Only idempotent requests are retried: every `GET`, the cancel `DELETE`, and a create `POST`
/// whose body carries its own `id` or `executionId`. Retried failures: connection errors,
/// per-attempt timeouts, HTTP 500/502/503/504, 429 and a 2xx body that ended early (empty or
/// truncated, retried once). Other 4xx are never retried. Delays grow exponentially from
/// `initial_backoff` (factor 2, with random jitter of up to one delay) up to `max_backoff`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, including the first; `1` disables retries, `0` is read as `1`.
    /// Default 3.
    pub max_attempts: u32,
    /// Delay before the first retry. Default 100 ms.
    pub initial_backoff: Duration,
    /// Upper bound of one delay (before jitter). Default 2 s.
    pub max_backoff: Duration,
    /// Bound on one call, all attempts and delays included; past it the call fails with
    /// [`Error::Timeout`](crate::Error::Timeout). A retry whose delay would end past it is not
    /// attempted (the last error is returned). Must be above zero. Default 15 s, a value for a
    /// standalone client: a gateway sets it from its own request timeout (a little below it),
    /// so that a slow upstream fails one field in time instead of the whole request.
    pub total_deadline: Duration,
    /// Wait the `Retry-After` seconds of a 429 (or a retried 5xx such as 503) instead of the
    /// backoff delay (still bounded by `total_deadline`: a wait that would end past it is not
    /// taken). Default true.
    pub honour_retry_after: bool,
}

impl RetryPolicy {
    /// A policy that never retries (one attempt), with the default deadline.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            total_deadline: Duration::from_secs(15),
            honour_retry_after: true,
        }
    }
}

/// The retry budget of a [`Client`](crate::Client): retries may add at most `retry_percent` %
/// to the calls of the last `window`, plus `min_per_sec` retries per second, so that a failing
/// upstream sees its load grow by a bounded fraction instead of being multiplied by the
/// attempts. A retry past the budget is not made: the call fails with the error it had.
///
/// Built on tower's `retry::budget::TpsBudget` (Finagle's design): each call deposits, each
/// retry withdraws, and deposits expire after `window`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryBudget {
    /// How long a call counts toward the budget; 1 s to 60 s. Default 10 s.
    pub window: Duration,
    /// Retries allowed per second whatever the traffic, for quiet clients. Default 10.
    pub min_per_sec: u32,
    /// Retries allowed per 100 calls of the window, 0 to 1000. Default 20.
    pub retry_percent: u32,
}

impl RetryBudget {
    /// A budget that never limits retries (only `max_attempts` does).
    pub fn unlimited() -> Self {
        Self {
            window: Duration::from_secs(1),
            min_per_sec: i32::MAX as u32 - 1,
            retry_percent: 1000,
        }
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(10),
            min_per_sec: 10,
            retry_percent: 20,
        }
    }
}

/// Everything a [`Client`](crate::Client) is built from.
///
/// `Debug` never shows the token (see [`Token`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// Base URL including the version prefix, e.g. `https://api.blaxel.ai/v0` or an emulator's
    /// `http://127.0.0.1:PORT/v0`: `http` or `https`, a path ending in `/v0` (checked by
    /// [`Client::new`](crate::Client::new), see `allow_any_base_path`). A trailing slash is
    /// tolerated. Default [`DEFAULT_BASE_URL`].
    pub base_url: String,
    /// Accept a `base_url` whose path does not end in `/v0` (a proxy that mounts the API
    /// elsewhere). Default false: such a URL is refused at construction, because every call
    /// would answer 404 and look like a missing job.
    pub allow_any_base_path: bool,
    /// Default bearer token, used when a call's [`Credentials`] bring none.
    pub token: Option<Token>,
    /// Default workspace (`X-Blaxel-Workspace`), used when a call's [`Credentials`] bring none.
    pub workspace: Option<String>,
    /// Sent as `Blaxel-Version` on every request. Default `2026-04-28` (envelopes and cursors);
    /// older versions get the legacy bare arrays and offsets, which the client also handles.
    pub api_version: ApiVersion,
    /// Bound on establishing one TCP (and TLS) connection; above zero. Default 2 s.
    pub connect_timeout: Duration,
    /// Bound on one attempt: connect, send, and read the whole answer; above zero. Default 10 s.
    pub request_timeout: Duration,
    /// Retry policy, see [`RetryPolicy`]; its `total_deadline` bounds a whole call.
    pub retry: RetryPolicy,
    /// Cap on retries across all calls, see [`RetryBudget`].
    pub retry_budget: RetryBudget,
    /// Settings of the circuit breakers (one per [`Route`](crate::Route)), see
    /// [`CircuitBreakerConfig`].
    pub circuit_breaker: CircuitBreakerConfig,
    /// `User-Agent` header. Default `blaxel-transport/<crate version>`.
    pub user_agent: String,
    /// Bound on upstream requests in flight at once across all clones of the client (a tokio
    /// semaphore; a permit is held for one attempt, not during backoff). Must be at least 1.
    /// Default 64.
    pub max_concurrent_requests: usize,
    /// Speak HTTP/2 without negotiation (h2c on `http://`); false uses HTTP/1.1 with a
    /// keep-alive pool (and HTTP/2 through ALPN on `https://`). Default false.
    pub http2_prior_knowledge: bool,
    /// Idle keep-alive connections kept per host. Default 256.
    pub pool_max_idle_per_host: usize,
    /// Called before each attempt is sent, inside the attempt's `upstream` span, with the
    /// attempt's headers: a gateway adds the trace context (`traceparent`) there and counts the
    /// attempt for its request. Default: none.
    pub on_attempt: AttemptHook,
}

/// A function run on the headers of every attempt (see [`ClientConfig::on_attempt`]).
///
/// Two hooks are equal only when they are the same function object.
#[derive(Clone, Default)]
pub struct AttemptHook(Option<Arc<HookFn>>);

type HookFn = dyn Fn(&mut HeaderMap) + Send + Sync;

impl AttemptHook {
    /// A hook running `f`.
    pub fn new(f: impl Fn(&mut HeaderMap) + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(f)))
    }

    /// Runs the hook (if any) on `headers`.
    pub(crate) fn run(&self, headers: &mut HeaderMap) {
        if let Some(f) = &self.0 {
            f(headers);
        }
    }
}

impl fmt::Debug for AttemptHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "AttemptHook(set)"
        } else {
            "AttemptHook(none)"
        })
    }
}

impl PartialEq for AttemptHook {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl Eq for AttemptHook {}

impl ClientConfig {
    /// The default configuration pointed at `base_url`.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            ..Self::default()
        }
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            allow_any_base_path: false,
            token: None,
            workspace: None,
            api_version: ApiVersion::default(),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            retry_budget: RetryBudget::default(),
            circuit_breaker: CircuitBreakerConfig::default(),
            user_agent: concat!("blaxel-transport/", env!("CARGO_PKG_VERSION")).to_owned(),
            max_concurrent_requests: 64,
            http2_prior_knowledge: false,
            pool_max_idle_per_host: 256,
            on_attempt: AttemptHook::default(),
        }
    }
}
