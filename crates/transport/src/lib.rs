//! `blaxel-transport`: the typed HTTP client of Blaxel's control-plane jobs API
//! (`https://api.blaxel.ai/v0`), shared by the gateway and any Rust service of the mesh.
//!
//! It gets the protocol right once, so that callers handle only models and typed errors:
//!
//! - one [`Client`] method per jobs endpoint (list/get jobs, revisions, list/get/create/cancel
//!   executions, list tasks), taking and returning the `blaxel-models` types;
//! - both listing contracts behind one [`Page`] type: the `{data, meta}` envelope of
//!   `Blaxel-Version` >= 2026-04-28 and the legacy bare array, and
//!   [`Client::job_executions_stream`], which follows cursors (or legacy offsets) to the end;
//! - headers: `Authorization: Bearer`, `X-Blaxel-Workspace`, `Blaxel-Version`, `User-Agent`,
//!   `Accept`, with per-call [`Credentials`] so a gateway forwards each caller's own;
//! - request checks before anything is sent (limits, the normalised `q`'s length, names and
//!   ids that must stay one path segment: not empty, not `.`/`..`, no control character;
//!   everything else is percent-encoded);
//! - retries of idempotent calls only, with exponential backoff and jitter (the `backon` crate),
//!   `Retry-After`, and bounds on attempts and total time ([`RetryPolicy`]), under a retry budget
//!   shared by all calls ([`RetryBudget`]) so that a failing upstream is not hammered;
//! - a circuit breaker per upstream route ([`Route`], [`CircuitBreakerConfig`]): after repeated
//!   failures of a route, its calls fail at once with [`Error::CircuitOpen`] until a probe gets
//!   an answer, while the other routes go on; [`Client::probe`] checks readiness without being
//!   counted by them;
//! - one [`Error`] enum separating transport failure (with its [`ConnectCause`]), timeout,
//!   401/403/404, rejected cursors, 429, other statuses with the decoded upstream body, and
//!   undecodable payloads; upstream text kept in an error is cut to a few hundred characters
//!   with anything that looks like a credential masked;
//! - the upstream's rules in one home: [`normalise_query`], the limits ([`MAX_QUERY_CHARS`],
//!   ...), the header names ([`headers`]);
//! - a bound on concurrent upstream requests, and one shared connection pool;
//! - counters for metrics ([`Client::upstream_stats`], [`Client::circuit_states`]).
//!
//! Tokens are secret: [`Token`]'s `Debug` prints `Token(***)`, the header is marked sensitive,
//! and no error message or log line contains one (not even one the upstream echoes back).
//! Upstream failures are logged at warn with their route template and cause. Every attempt runs
//! in an `upstream` span (route template, method, attempt number, status or cause), a child of
//! the caller's span; [`ClientConfig::on_attempt`] adds headers such as `traceparent` to it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), blaxel_transport::Error> {
//! use blaxel_transport::{Client, ClientConfig, Credentials, ListExecutionsRequest};
//!
//! let client = Client::new(ClientConfig::new("http://127.0.0.1:8081/v0"))?;
//! let creds = Credentials::with_token("dev-token").workspace("my-workspace");
//! let page = client
//!     .list_job_executions(&creds, "data-processing-job", &ListExecutionsRequest {
//!         limit: Some(10),
//!         ..Default::default()
//!     })
//!     .await?;
//! println!("{} of {:?}, next {:?}", page.items.len(), page.total(), page.next_cursor());
//! # Ok(())
//! # }
//! ```

mod breaker;
mod client;
mod config;
mod decode;
mod error;
mod exec;
pub mod headers;
mod redact;
mod request;
mod route;
mod stats;
mod stream;

pub use blaxel_models::{ApiVersion, ExecutionProjection, Page, PaginationAnchor, PaginationSort};
pub use breaker::{CircuitBreakerConfig, CircuitState, WINDOW as BREAKER_WINDOW};
pub use client::Client;
pub use config::{
    AttemptHook, ClientConfig, Credentials, DEFAULT_BASE_URL, RetryBudget, RetryPolicy, Token,
};
pub use decode::{Decode, Json};
pub use error::{ApiErrorBody, ConnectCause, Error, SNIPPET_BYTES};
pub use headers::{BLAXEL_VERSION, X_BLAXEL_AUTHORIZATION, X_BLAXEL_WORKSPACE};
pub use redact::MAX_QUOTE_CHARS;
pub use request::{
    DEFAULT_EXECUTIONS_LIMIT, ListExecutionsRequest, ListJobsRequest, ListTasksRequest,
    MAX_EXECUTIONS_LIMIT, MAX_QUERY_CHARS, MAX_SHARED_LIMIT, normalise_query,
};
pub use route::Route;
pub use stats::UpstreamStats;
