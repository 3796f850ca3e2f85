//! The client: one method per jobs endpoint, the shared request executor with its retry loop,
//! and the listing stream.

use std::{
    collections::HashSet,
    fmt,
    hash::{BuildHasher, Hasher},
    sync::Arc,
    time::{Duration, Instant},
};

use backon::{ExponentialBuilder, Retryable};
use blaxel_models::{
    CreateJobExecutionOutput, CreateJobExecutionRequest, Job, JobExecution, JobExecutionTask, Page,
    RevisionMetadata,
};
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt, stream};
use http::{
    HeaderMap, HeaderName, HeaderValue, Method, StatusCode,
    header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER},
};
use reqwest::Url;
use serde::de::{DeserializeOwned, IgnoredAny};
use tokio::sync::Semaphore;
use tower::retry::budget::{Budget as _, TpsBudget};

use crate::{
    CircuitState, ClientConfig, Credentials, Error,
    breaker::{Breaker, Outcome},
    error::snippet,
    request::{
        DEFAULT_EXECUTIONS_LIMIT, ListExecutionsRequest, ListJobsRequest, ListTasksRequest, Query,
    },
};

/// `Blaxel-Version` request header.
pub const BLAXEL_VERSION: HeaderName = HeaderName::from_static("blaxel-version");
/// `X-Blaxel-Workspace` request header.
pub const X_BLAXEL_WORKSPACE: HeaderName = HeaderName::from_static("x-blaxel-workspace");

/// A typed client of Blaxel's control-plane jobs API.
///
/// Cheap to clone (an `Arc` inside); every clone shares one `reqwest::Client` (one connection
/// pool), one concurrency bound, one retry budget and one circuit breaker. Each call takes
/// [`Credentials`], so one client serves every caller of a gateway.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    base: Url,
    http: reqwest::Client,
    in_flight: Semaphore,
    budget: TpsBudget,
    breaker: Breaker,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .field(
                "available_permits",
                &self.inner.in_flight.available_permits(),
            )
            .field("circuit", &self.inner.breaker.state())
            .finish_non_exhaustive()
    }
}

/// One HTTP exchange to run, with or without retries.
struct Call<'a> {
    method: Method,
    segments: &'a [&'a str],
    query: Query,
    body: Option<Bytes>,
    idempotent: bool,
}

impl Client {
    /// Builds a client (and its connection pool) from `config`.
    ///
    /// Installs rustls' `ring` crypto provider as the process default if none is installed yet.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `base_url` is not an absolute `http`/`https` URL,
    /// `max_concurrent_requests` is 0, the retry budget's `window` is outside 1..=60 s or its
    /// `retry_percent` over 1000, or `user_agent`/`workspace` are not valid header values;
    /// [`Error::Build`] when reqwest cannot build its client.
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        // Err means a provider is already installed, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();

        let invalid = |message: String| Error::InvalidConfig { message };
        let base = Url::parse(config.base_url.trim())
            .map_err(|e| invalid(format!("base_url {:?} is not a URL ({e})", config.base_url)))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid(format!(
                "base_url {:?} must be an http or https URL",
                config.base_url
            )));
        }
        if config.max_concurrent_requests == 0 {
            return Err(invalid("max_concurrent_requests must be at least 1".into()));
        }
        let budget = &config.retry_budget;
        if !(Duration::from_secs(1)..=Duration::from_secs(60)).contains(&budget.window) {
            return Err(invalid(format!(
                "retry_budget.window must be between 1 s and 60 s, got {:?}",
                budget.window
            )));
        }
        if budget.retry_percent > 1000 || budget.min_per_sec >= i32::MAX as u32 {
            return Err(invalid(format!(
                "retry_budget.retry_percent must be at most 1000 (got {}) and min_per_sec below 2^31 (got {})",
                budget.retry_percent, budget.min_per_sec
            )));
        }
        if let Some(workspace) = &config.workspace {
            HeaderValue::from_str(workspace).map_err(|_| {
                invalid(format!(
                    "workspace {workspace:?} is not a valid header value"
                ))
            })?;
        }
        let user_agent = HeaderValue::from_str(&config.user_agent).map_err(|_| {
            invalid(format!(
                "user_agent {:?} is not a valid header value",
                config.user_agent
            ))
        })?;
        let version = HeaderValue::from_str(&config.api_version.to_string())
            .map_err(|_| invalid("api_version is not a valid header value".into()))?;

        let mut defaults = HeaderMap::new();
        defaults.insert(ACCEPT, HeaderValue::from_static("application/json"));
        defaults.insert(BLAXEL_VERSION, version);

        let mut builder = reqwest::Client::builder()
            .default_headers(defaults)
            .user_agent(user_agent)
            .connect_timeout(config.connect_timeout)
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            // Every retry is decided here, so that attempts are counted and bounded in one place.
            .retry(reqwest::retry::never());
        if config.http2_prior_knowledge {
            builder = builder.http2_prior_knowledge();
        }
        let http = builder.build().map_err(|source| Error::Build { source })?;

        Ok(Client {
            inner: Arc::new(Inner {
                in_flight: Semaphore::new(config.max_concurrent_requests),
                // Checked above: the window is within 1..=60 s, the percent within 0..=1000.
                budget: TpsBudget::new(
                    budget.window,
                    budget.min_per_sec,
                    budget.retry_percent as f32 / 100.0,
                ),
                breaker: Breaker::new(config.circuit_breaker.clone()),
                config,
                base,
                http,
            }),
        })
    }

    /// The configuration this client was built from.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The state of this upstream's circuit breaker (shared by every clone).
    pub fn circuit_state(&self) -> CircuitState {
        self.inner.breaker.state()
    }

    /// `GET /jobs` (ListJobs): one page of the workspace's jobs.
    ///
    /// On `Blaxel-Version` >= 2026-04-28 a `{data, meta}` page; before, the bare array of every
    /// job (`meta` is `None`).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a `limit` outside 1..=200 or a `q` over 200 characters
    /// (nothing is sent); otherwise see [`Error`].
    pub async fn list_jobs(
        &self,
        creds: &Credentials,
        req: &ListJobsRequest,
    ) -> Result<Page<Job>, Error> {
        let query = req.to_query()?;
        self.send(creds, Call::get(&["jobs"], query)).await
    }

    /// `GET /jobs/{jobId}` (GetJob): one job by name.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for an empty name; [`Error::NotFound`] for an unknown job;
    /// otherwise see [`Error`].
    pub async fn get_job(&self, creds: &Credentials, job: &str) -> Result<Job, Error> {
        check_name("job", job)?;
        self.send(creds, Call::get(&["jobs", job], Query::new()))
            .await
    }

    /// `GET /jobs/{jobId}/executions` (ListJobExecutions): one page of a job's executions.
    ///
    /// On `Blaxel-Version` >= 2026-04-28 a `{data, meta}` page following `cursor`; before, a bare
    /// array sliced by `offset`/`limit` (`meta` is `None`). See
    /// [`Client::job_executions_stream`] to walk every page.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for an empty name, a `limit` outside 1..=100 or a `q` over 200
    /// characters (nothing is sent); [`Error::CursorInvalid`] / [`Error::CursorExpired`] for a
    /// rejected cursor; [`Error::NotFound`] for an unknown job; otherwise see [`Error`].
    pub async fn list_job_executions(
        &self,
        creds: &Credentials,
        job: &str,
        req: &ListExecutionsRequest,
    ) -> Result<Page<JobExecution>, Error> {
        check_name("job", job)?;
        let query = req.to_query()?;
        self.send(creds, Call::get(&["jobs", job, "executions"], query))
            .await
    }

    /// `GET /jobs/{jobId}/executions/{executionId}` (GetJobExecution).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for an empty name or id; [`Error::NotFound`] for an unknown job
    /// or execution; otherwise see [`Error`].
    pub async fn get_job_execution(
        &self,
        creds: &Credentials,
        job: &str,
        execution: &str,
    ) -> Result<JobExecution, Error> {
        check_name("job", job)?;
        check_name("execution", execution)?;
        let path = ["jobs", job, "executions", execution];
        self.send(creds, Call::get(&path, Query::new())).await
    }

    /// `POST /jobs/{jobId}/executions` (CreateJobExecution): starts an execution.
    ///
    /// Retried only when `body` carries its own `id` or `executionId` (then a replay cannot
    /// start a second execution); otherwise sent exactly once.
    ///
    /// # Errors
    /// [`Error::RateLimited`] when `allowQueue` is false and the workspace is at capacity;
    /// [`Error::Http`] 400 when the request can never fit (e.g. `memory` above the job's);
    /// [`Error::NotFound`] for an unknown job; otherwise see [`Error`].
    pub async fn create_job_execution(
        &self,
        creds: &Credentials,
        job: &str,
        body: &CreateJobExecutionRequest,
    ) -> Result<CreateJobExecutionOutput, Error> {
        check_name("job", job)?;
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::invalid(format!("the body does not serialize ({e})")))?;
        let call = Call {
            method: Method::POST,
            segments: &["jobs", job, "executions"],
            query: Query::new(),
            body: Some(Bytes::from(bytes)),
            idempotent: body.id.is_some() || body.execution_id.is_some(),
        };
        self.send(creds, call).await
    }

    /// `DELETE /jobs/{jobId}/executions/{executionId}` (DeleteJobExecution, "Cancel job
    /// execution"): asks the upstream to cancel; returns the execution (status `cancelling`,
    /// later `cancelled`; a terminal execution comes back unchanged). Idempotent, so retried.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown job or execution; otherwise see [`Error`].
    pub async fn cancel_job_execution(
        &self,
        creds: &Credentials,
        job: &str,
        execution: &str,
    ) -> Result<JobExecution, Error> {
        check_name("job", job)?;
        check_name("execution", execution)?;
        let call = Call {
            method: Method::DELETE,
            segments: &["jobs", job, "executions", execution],
            query: Query::new(),
            body: None,
            idempotent: true,
        };
        self.send(creds, call).await
    }

    /// `GET /jobs/{jobId}/executions/{executionId}/tasks` (ListJobExecutionTasks): one page of
    /// an execution's tasks (documented from `Blaxel-Version` 2026-04-28; an older version's bare
    /// array also decodes, with `meta` `None`).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for an empty name or id, a `limit` outside 1..=200 or a `q`
    /// over 200 characters; [`Error::NotFound`] for an unknown job or execution; otherwise see
    /// [`Error`].
    pub async fn list_job_execution_tasks(
        &self,
        creds: &Credentials,
        job: &str,
        execution: &str,
        req: &ListTasksRequest,
    ) -> Result<Page<JobExecutionTask>, Error> {
        check_name("job", job)?;
        check_name("execution", execution)?;
        let query = req.to_query()?;
        let path = ["jobs", job, "executions", execution, "tasks"];
        self.send(creds, Call::get(&path, query)).await
    }

    /// `GET /jobs/{jobId}/revisions` (ListJobRevisions): every revision (not paginated).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown job; otherwise see [`Error`].
    pub async fn list_job_revisions(
        &self,
        creds: &Credentials,
        job: &str,
    ) -> Result<Vec<RevisionMetadata>, Error> {
        check_name("job", job)?;
        self.send(creds, Call::get(&["jobs", job, "revisions"], Query::new()))
            .await
    }

    /// Every execution of `job` from `req` on, page after page.
    ///
    /// Follows `meta.nextCursor` with the same `limit`, `sort` and `q`; on a legacy answer (bare
    /// array) it follows `offset` instead, in steps of the page size. It stops after a page with
    /// `hasMore: false` or an empty `nextCursor`, after an empty page, and (legacy) after a page
    /// shorter than `limit` (default 20). Each page is one call of
    /// [`Client::list_job_executions`], with its retries.
    ///
    /// The first error ends the stream. A `nextCursor` seen before yields the items of its page,
    /// then [`Error::CursorLoop`], instead of looping forever.
    pub fn job_executions_stream(
        &self,
        creds: Credentials,
        job: String,
        req: ListExecutionsRequest,
    ) -> impl Stream<Item = Result<JobExecution, Error>> + Send + 'static {
        struct State {
            client: Client,
            creds: Credentials,
            job: String,
            next: Option<ListExecutionsRequest>,
            seen: HashSet<String>,
            failed: Option<Error>,
        }

        let seen = req.cursor.iter().cloned().collect();
        let state = State {
            client: self.clone(),
            creds,
            job,
            next: Some(req),
            seen,
            failed: None,
        };
        stream::try_unfold(state, |mut st| async move {
            if let Some(error) = st.failed.take() {
                return Err(error);
            }
            let Some(req) = st.next.take() else {
                return Ok(None);
            };
            let page = st
                .client
                .list_job_executions(&st.creds, &st.job, &req)
                .await?;
            match next_request(req, &page, &mut st.seen) {
                Ok(next) => st.next = next,
                Err(loop_error) => st.failed = Some(loop_error),
            }
            Ok(Some((page.items, st)))
        })
        .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    /// A cheap upstream probe for readiness: one `GET /jobs?limit=1`, never retried, body not
    /// decoded.
    ///
    /// Any HTTP answer below 500 counts as reachable, including 401, 403 and 429: the upstream
    /// is up and answering, and a gateway that forwards each caller's own credentials should not
    /// report itself unready because its default credential (if any) is refused. Use
    /// [`Client::list_jobs`] to check credentials.
    ///
    /// # Errors
    /// [`Error::Connect`] or [`Error::Timeout`] when nothing answers within `request_timeout`,
    /// and [`Error::Http`] for a 5xx answer.
    pub async fn health(&self, creds: &Credentials) -> Result<(), Error> {
        let mut call = Call::get(&["jobs"], vec![("limit", "1".to_owned())]);
        call.idempotent = false;
        match self.send::<IgnoredAny>(creds, call).await {
            Ok(_) | Err(Error::InvalidPayload { .. }) => Ok(()),
            Err(e) if e.status().is_some_and(|s| !s.is_server_error()) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Runs one call: headers, URL, then attempts under the retry policy and total deadline.
    async fn send<T: DeserializeOwned>(
        &self,
        creds: &Credentials,
        call: Call<'_>,
    ) -> Result<T, Error> {
        let headers = self.headers(creds)?;
        let url = self.url(call.segments);
        let policy = &self.inner.config.retry;
        let deadline = policy.total_deadline;
        let attempts = if call.idempotent {
            policy.max_attempts.max(1)
        } else {
            1
        };
        let backoff = ExponentialBuilder::new()
            .with_min_delay(policy.initial_backoff)
            .with_max_delay(policy.max_backoff)
            .with_factor(2.0)
            .with_max_times((attempts - 1) as usize)
            .with_jitter()
            .with_jitter_seed(random_seed());
        let started = Instant::now();
        let mut retried_short_body = false;
        let budget = &self.inner.budget;
        // Every call earns retries for the calls of the window; each retry spends some.
        budget.deposit();

        let attempt = || self.attempt::<T>(&call, &url, &headers);
        let retrying = attempt
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|error: &Error| {
                if !error.is_retryable() || matches!(error, Error::CircuitOpen { .. }) {
                    return false;
                }
                // A breaker that opened meanwhile answers the retry anyway: keep the real error.
                if self.inner.breaker.state() == CircuitState::Open {
                    return false;
                }
                // A body that ended early is worth one retry, not more.
                if matches!(error, Error::InvalidPayload { .. }) {
                    if retried_short_body {
                        return false;
                    }
                    retried_short_body = true;
                }
                if !budget.withdraw() {
                    tracing::debug!(
                        method = %call.method,
                        path = url.path(),
                        error = %error,
                        "retry budget exhausted: not retrying"
                    );
                    return false;
                }
                true
            })
            .adjust(|error: &Error, backoff: Option<Duration>| {
                let mut delay = backoff?;
                if policy.honour_retry_after
                    && let Some(retry_after) = error.retry_after()
                {
                    delay = retry_after;
                }
                // A retry that cannot start before the deadline is not worth waiting for.
                (started.elapsed() + delay < deadline).then_some(delay)
            })
            .notify(|error: &Error, delay: Duration| {
                tracing::debug!(
                    method = %call.method,
                    path = url.path(),
                    delay_ms = delay.as_millis() as u64,
                    error = %error,
                    "retrying upstream request"
                );
            });
        match tokio::time::timeout(deadline, retrying).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout {
                elapsed: started.elapsed(),
            }),
        }
    }

    /// One attempt: leave from the circuit breaker (or [`Error::CircuitOpen`] at once), then the
    /// exchange, whose outcome the breaker records.
    async fn attempt<T: DeserializeOwned>(
        &self,
        call: &Call<'_>,
        url: &Url,
        headers: &HeaderMap,
    ) -> Result<T, Error> {
        let permit = self
            .inner
            .breaker
            .acquire()
            .map_err(|retry_in| Error::CircuitOpen { retry_in })?;
        let result = self.exchange(call, url, headers).await;
        permit.record(Outcome::of(&result));
        result
    }

    /// A concurrency permit, the exchange under `request_timeout`, then decoding.
    async fn exchange<T: DeserializeOwned>(
        &self,
        call: &Call<'_>,
        url: &Url,
        headers: &HeaderMap,
    ) -> Result<T, Error> {
        // The semaphore is never closed, so acquire cannot fail.
        let permit = self.inner.in_flight.acquire().await.ok();
        let started = Instant::now();
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), url.clone())
            .headers(headers.clone());
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(body) = &call.body {
            request = request
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.clone());
        }
        let exchange = async {
            let response = request
                .send()
                .await
                .map_err(|e| Error::from_reqwest(e, started.elapsed()))?;
            let status = response.status();
            let retry_after = retry_after(response.headers());
            let body = response
                .bytes()
                .await
                .map_err(|e| Error::from_reqwest(e, started.elapsed()))?;
            Ok::<_, Error>((status, retry_after, body))
        };
        let outcome = tokio::time::timeout(self.inner.config.request_timeout, exchange).await;
        drop(permit);
        let (status, retry_after, body) = outcome.map_err(|_| Error::Timeout {
            elapsed: started.elapsed(),
        })??;
        tracing::trace!(
            method = %call.method,
            path = url.path(),
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "upstream answered"
        );
        decode(status, retry_after, &body)
    }

    /// Per-call headers: the call's token and workspace, else the configured ones.
    fn headers(&self, creds: &Credentials) -> Result<HeaderMap, Error> {
        let config = &self.inner.config;
        let mut headers = HeaderMap::new();
        if let Some(token) = creds.token.as_ref().or(config.token.as_ref()) {
            let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose()))
                .map_err(|_| Error::invalid("the token is not a valid header value"))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        if let Some(workspace) = creds.workspace.as_ref().or(config.workspace.as_ref()) {
            let value = HeaderValue::from_str(workspace).map_err(|_| {
                Error::invalid(format!(
                    "workspace {workspace:?} is not a valid header value"
                ))
            })?;
            headers.insert(X_BLAXEL_WORKSPACE, value);
        }
        Ok(headers)
    }

    /// The base URL with `segments` appended, each percent-encoded as one path segment.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base.clone();
        // `new` checked that the base URL can have path segments.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }
}

impl<'a> Call<'a> {
    fn get(segments: &'a [&'a str], query: Query) -> Self {
        Self {
            method: Method::GET,
            segments,
            query,
            body: None,
            idempotent: true,
        }
    }
}

/// The request of the page after `page`, or `None` at the end of the listing.
///
/// Envelope: the `nextCursor` when `hasMore` is true and the cursor is not empty. Bare array
/// (legacy): the offset after this page, unless it was shorter than the limit. An empty page
/// ends either.
///
/// # Errors
/// [`Error::CursorLoop`] for a `nextCursor` already in `seen`.
fn next_request<T>(
    req: ListExecutionsRequest,
    page: &Page<T>,
    seen: &mut HashSet<String>,
) -> Result<Option<ListExecutionsRequest>, Error> {
    if page.items.is_empty() {
        return Ok(None);
    }
    if page.meta.is_some() {
        let Some(cursor) = page.next_cursor() else {
            return Ok(None);
        };
        if !seen.insert(cursor.to_owned()) {
            return Err(Error::CursorLoop {
                cursor: cursor.to_owned(),
            });
        }
        return Ok(Some(ListExecutionsRequest {
            cursor: Some(cursor.to_owned()),
            offset: None,
            ..req
        }));
    }
    let len = page.items.len() as u64;
    if len < u64::from(req.limit.unwrap_or(DEFAULT_EXECUTIONS_LIMIT)) {
        return Ok(None);
    }
    Ok(Some(ListExecutionsRequest {
        offset: Some(req.offset.unwrap_or(0) + len),
        ..req
    }))
}

/// Maps an answer: a non-2xx to its error, a 2xx body to `T` (one pass over the bytes).
fn decode<T: DeserializeOwned>(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Result<T, Error> {
    if !status.is_success() {
        return Err(Error::from_status(status, retry_after, body));
    }
    serde_json::from_slice(body).map_err(|source| Error::InvalidPayload {
        status,
        snippet: snippet(body),
        source,
    })
}

/// `Retry-After` as delay-seconds (HTTP dates are ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn check_name(what: &str, value: &str) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(Error::invalid(format!("the {what} name must not be empty")));
    }
    Ok(())
}

/// A fresh seed for the backoff jitter (std's per-instance random hasher keys).
fn random_seed() -> u64 {
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_joins_and_encodes() {
        for base in ["http://127.0.0.1:1/v0", "http://127.0.0.1:1/v0/"] {
            let client = Client::new(ClientConfig::new(base)).unwrap();
            let url = client.url(&["jobs", "a b/c", "executions"]);
            assert_eq!(
                url.as_str(),
                "http://127.0.0.1:1/v0/jobs/a%20b%2Fc/executions"
            );
        }
    }

    #[test]
    fn rejects_bad_config() {
        for base in ["not a url", "ftp://x/v0", "mailto:a@b"] {
            let err = Client::new(ClientConfig::new(base)).unwrap_err();
            assert!(
                matches!(err, Error::InvalidConfig { .. }),
                "{base}: {err:?}"
            );
        }
        let config = ClientConfig {
            max_concurrent_requests: 0,
            ..ClientConfig::default()
        };
        assert!(Client::new(config).is_err());
    }

    #[test]
    fn headers_prefer_call_credentials() {
        let config = ClientConfig {
            token: Some("configured".into()),
            workspace: Some("ws-a".into()),
            ..ClientConfig::default()
        };
        let client = Client::new(config).unwrap();
        let headers = client.headers(&Credentials::default()).unwrap();
        assert_eq!(headers[AUTHORIZATION], "Bearer configured");
        assert!(headers[AUTHORIZATION].is_sensitive());
        assert_eq!(headers[X_BLAXEL_WORKSPACE], "ws-a");
        let call = Credentials::with_token("caller").workspace("ws-b");
        let headers = client.headers(&call).unwrap();
        assert_eq!(headers[AUTHORIZATION], "Bearer caller");
        assert_eq!(headers[X_BLAXEL_WORKSPACE], "ws-b");

        let bare = Client::new(ClientConfig::default()).unwrap();
        assert!(bare.headers(&Credentials::default()).unwrap().is_empty());
    }

    fn page(items: usize, meta: Option<(bool, &str)>) -> Page<u32> {
        Page {
            items: (0..items as u32).collect(),
            meta: meta.map(|(has_more, cursor)| blaxel_models::PaginationMeta {
                has_more: Some(has_more),
                next_cursor: Some(cursor.to_owned()),
                total: None,
                total_is_partial: None,
            }),
        }
    }

    #[test]
    fn next_request_follows_cursors_and_offsets() {
        let mut seen = HashSet::new();
        let req = ListExecutionsRequest {
            limit: Some(2),
            offset: Some(4),
            q: Some("ex".into()),
            ..Default::default()
        };
        let next = next_request(req.clone(), &page(2, Some((true, "c1"))), &mut seen)
            .unwrap()
            .unwrap();
        assert_eq!(next.cursor.as_deref(), Some("c1"));
        assert_eq!((next.offset, next.q.as_deref()), (None, Some("ex")));
        let err = next_request(req.clone(), &page(2, Some((true, "c1"))), &mut seen);
        assert!(matches!(err, Err(Error::CursorLoop { cursor }) if cursor == "c1"));
        // hasMore false, an empty cursor, an empty page: the end.
        for end in [
            page(2, Some((false, "c2"))),
            page(2, Some((true, ""))),
            page(0, Some((true, "c3"))),
        ] {
            assert_eq!(next_request(req.clone(), &end, &mut seen).unwrap(), None);
        }
        // Legacy: offsets while pages are full.
        let next = next_request(req.clone(), &page(2, None), &mut seen)
            .unwrap()
            .unwrap();
        assert_eq!(next.offset, Some(6));
        assert_eq!(
            next_request(req.clone(), &page(1, None), &mut seen).unwrap(),
            None
        );
        let default_limit = ListExecutionsRequest::default();
        let next = next_request(default_limit, &page(20, None), &mut seen)
            .unwrap()
            .unwrap();
        assert_eq!(next.offset, Some(20));
    }

    #[test]
    fn retry_after_seconds_only() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn decode_maps_short_bodies_to_retryable_payload_errors() {
        let err = decode::<Job>(StatusCode::OK, None, b"{\"metadata\":").unwrap_err();
        assert!(matches!(err, Error::InvalidPayload { .. }) && err.is_retryable());
        let err = decode::<Job>(StatusCode::OK, None, b"").unwrap_err();
        assert!(err.is_retryable());
        let err = decode::<Job>(StatusCode::OK, None, b"<html></html>").unwrap_err();
        assert!(matches!(err, Error::InvalidPayload { .. }) && !err.is_retryable());
    }
}

#[cfg(test)]
mod secrecy {
    use super::*;
    use crate::{RetryPolicy, Token};

    const SECRET: &str = "sk-super-secret-token-6f1d";

    #[tokio::test]
    async fn token_never_printed() {
        let config = ClientConfig {
            // Port 1 on loopback: connection refused.
            base_url: "http://127.0.0.1:1/v0".into(),
            token: Some(Token::new(SECRET)),
            workspace: Some("ws".into()),
            retry: RetryPolicy::none(),
            ..ClientConfig::default()
        };
        let creds = Credentials::with_token(SECRET);
        let client = Client::new(config.clone()).unwrap();
        let err = client.get_job(&creds, "job").await.unwrap_err();
        assert!(matches!(err, Error::Connect { .. }), "{err:?}");

        let mut printed = vec![
            format!("{client:?}"),
            format!("{config:?}"),
            format!("{creds:?}"),
            format!("{:?}", Token::new(SECRET)),
            format!("{err:?}"),
            format!("{err}"),
        ];
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            printed.push(cause.to_string());
            source = cause.source();
        }
        let invalid = Credentials::with_token(format!("{SECRET}\n"));
        let err = client.get_job(&invalid, "job").await.unwrap_err();
        printed.push(format!("{err} {err:?}"));
        for text in printed {
            assert!(!text.contains(SECRET), "token leaked in {text}");
        }
        assert_eq!(format!("{:?}", Token::new(SECRET)), "Token(***)");
    }
}
