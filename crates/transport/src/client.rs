//! The client: its construction (configuration checks, the shared pool, concurrency bound,
//! retry budget and breakers) and one method per jobs endpoint.

use std::{fmt, sync::Arc, time::Duration};

use blaxel_models::{
    CreateJobExecutionOutput, CreateJobExecutionRequest, ExecutionProjection, Job, JobExecution,
    JobExecutionTask, Page, PageSeed, RevisionMetadata,
};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header::ACCEPT};
use reqwest::Url;
use serde::de::IgnoredAny;
use tokio::sync::Semaphore;
use tower::retry::budget::TpsBudget;

use crate::{
    CircuitState, ClientConfig, Credentials, Error, Route,
    breaker::Breakers,
    decode::Decode,
    exec::Call,
    headers::BLAXEL_VERSION,
    redact::quote_input,
    request::{ListExecutionsRequest, ListJobsRequest, ListTasksRequest, Query},
    route::check_segment,
    stats::{Counters, UpstreamStats},
};

/// A typed client of Blaxel's control-plane jobs API.
///
/// Cheap to clone (an `Arc` inside); every clone shares one `reqwest::Client` (one connection
/// pool), one concurrency bound, one retry budget and one circuit breaker per route. Each call
/// takes [`Credentials`], so one client serves every caller of a gateway.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: ClientConfig,
    pub(crate) base: Url,
    pub(crate) http: reqwest::Client,
    pub(crate) in_flight: Semaphore,
    pub(crate) budget: TpsBudget,
    pub(crate) breakers: Breakers,
    pub(crate) counters: Counters,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .field(
                "available_permits",
                &self.inner.in_flight.available_permits(),
            )
            .field("circuits", &self.inner.breakers.states())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client (and its connection pool) from `config`.
    ///
    /// Installs rustls' `ring` crypto provider as the process default if none is installed yet.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`], naming the field, when `base_url` is empty, not an absolute
    /// `http`/`https` URL, or (unless `allow_any_base_path`) its path does not end in `/v0`;
    /// when `max_concurrent_requests` is 0; when `connect_timeout`, `request_timeout` or
    /// `retry.total_deadline` is zero; when the retry budget's `window` is outside 1..=60 s or its
    /// `retry_percent` over 1000; or when `user_agent`/`workspace` are not valid header values.
    /// [`Error::Build`] when reqwest cannot build its client.
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        // Err means a provider is already installed, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();

        let invalid = |message: String| Error::InvalidConfig { message };
        let base = check_base_url(&config)?;
        if config.max_concurrent_requests == 0 {
            return Err(invalid("max_concurrent_requests must be at least 1".into()));
        }
        for (name, value) in [
            ("connect_timeout", config.connect_timeout),
            ("request_timeout", config.request_timeout),
            ("retry.total_deadline", config.retry.total_deadline),
        ] {
            if value.is_zero() {
                return Err(invalid(format!(
                    "{name} must be above zero: every call would time out"
                )));
            }
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
                    "workspace {} is not a valid header value",
                    quote_input(workspace)
                ))
            })?;
        }
        let user_agent = HeaderValue::from_str(&config.user_agent).map_err(|_| {
            invalid(format!(
                "user_agent {} is not a valid header value",
                quote_input(&config.user_agent)
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
                breakers: Breakers::new(&config.circuit_breaker),
                counters: Counters::default(),
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

    /// The worst state among the per-route circuit breakers (open, else half-open, else
    /// closed), shared by every clone. See [`Client::circuit_states`] for each route's.
    pub fn circuit_state(&self) -> CircuitState {
        self.inner.breakers.worst()
    }

    /// The state of each route's circuit breaker, as `(route template, state)` in the order of
    /// [`Route::ALL`], e.g. `("GET /jobs/{jobId}/executions", CircuitState::Closed)`: one gauge
    /// per failure domain, a bounded label set for metrics.
    pub fn circuit_states(&self) -> Vec<(&'static str, CircuitState)> {
        self.inner.breakers.states()
    }

    /// Counters of this client's upstream traffic (all clones) since it was built: attempts by
    /// route template and outcome, retries, budget refusals, breaker rejections.
    pub fn upstream_stats(&self) -> UpstreamStats {
        self.inner.counters.snapshot()
    }

    /// `GET /jobs` (ListJobs): one page of the workspace's jobs.
    ///
    /// On `Blaxel-Version` >= 2026-04-28 a `{data, meta}` page; before, the bare array of every
    /// job (`meta` is `None`).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a `limit` outside 1..=200 or a normalised `q` over 200
    /// characters (nothing is sent); otherwise see [`Error`].
    pub async fn list_jobs(
        &self,
        creds: &Credentials,
        req: &ListJobsRequest,
    ) -> Result<Page<Job>, Error> {
        let query = req.to_query()?;
        self.send(creds, Call::get(Route::ListJobs, &["jobs"], query))
            .await
    }

    /// `GET /jobs/{jobId}` (GetJob): one job by name.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a name that is empty, `.`/`..` or holds a control character
    /// (nothing is sent); [`Error::NotFound`] for an unknown job; otherwise see [`Error`].
    pub async fn get_job(&self, creds: &Credentials, job: &str) -> Result<Job, Error> {
        check_segment("job name", job)?;
        let path = ["jobs", job];
        let call = Call::get(Route::GetJob, &path, Query::new());
        self.send(creds, call).await
    }

    /// `GET /jobs/{jobId}/executions` (ListJobExecutions): one page of a job's executions.
    ///
    /// On `Blaxel-Version` >= 2026-04-28 a `{data, meta}` page following `cursor`; before, a bare
    /// array sliced by `offset`/`limit` (`meta` is `None`). See
    /// [`Client::job_executions_stream`] to walk every page.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a bad job name (see [`Client::get_job`]), a `limit` outside
    /// 1..=100 or a normalised `q` over 200 characters (nothing is sent);
    /// [`Error::CursorInvalid`] / [`Error::CursorExpired`] for a rejected cursor;
    /// [`Error::NotFound`] for an unknown job; otherwise see [`Error`].
    pub async fn list_job_executions(
        &self,
        creds: &Credentials,
        job: &str,
        req: &ListExecutionsRequest,
    ) -> Result<Page<JobExecution>, Error> {
        self.list_job_executions_projected(creds, job, req, ExecutionProjection::ALL)
            .await
    }

    /// [`Client::list_job_executions`], each execution trimmed to `projection` as it is decoded
    /// (a page held for a narrow selection then costs memory in proportion to it).
    ///
    /// # Errors
    /// As [`Client::list_job_executions`].
    pub async fn list_job_executions_projected(
        &self,
        creds: &Credentials,
        job: &str,
        req: &ListExecutionsRequest,
        projection: ExecutionProjection,
    ) -> Result<Page<JobExecution>, Error> {
        self.list_job_executions_seeded(creds, job, req, projection)
            .await
    }

    /// [`Client::list_job_executions`], each execution decoded by `seed` (given each item's
    /// JSON, from serde_json's deserializer over the response body).
    ///
    /// # Errors
    /// As [`Client::list_job_executions`]; a seed's error is [`Error::InvalidPayload`].
    pub async fn list_job_executions_seeded<S, T>(
        &self,
        creds: &Credentials,
        job: &str,
        req: &ListExecutionsRequest,
        seed: S,
    ) -> Result<Page<T>, Error>
    where
        S: for<'de> serde::de::DeserializeSeed<'de, Value = T> + Clone,
    {
        check_segment("job name", job)?;
        let query = req.to_query()?;
        let path = ["jobs", job, "executions"];
        let call = Call::get(Route::ListJobExecutions, &path, query);
        self.send_seeded(creds, call, PageSeed(seed)).await
    }

    /// [`Client::list_job_executions`], the body read by `decoder` (a reader that answers as
    /// [`Json`](crate::Json)`(`[`PageSeed`]`(seed))` for some seed, but faster on the bodies it knows).
    ///
    /// # Errors
    /// As [`Client::list_job_executions`]; a decoder's error is [`Error::InvalidPayload`].
    pub async fn list_job_executions_decoded<D, T>(
        &self,
        creds: &Credentials,
        job: &str,
        req: &ListExecutionsRequest,
        decoder: D,
    ) -> Result<Page<T>, Error>
    where
        D: Decode<Value = Page<T>>,
    {
        check_segment("job name", job)?;
        let query = req.to_query()?;
        let path = ["jobs", job, "executions"];
        let call = Call::get(Route::ListJobExecutions, &path, query);
        self.send_decoded(creds, call, decoder).await
    }

    /// `GET /jobs/{jobId}/executions/{executionId}` (GetJobExecution).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a bad name or id (empty, `.`/`..`, a control character);
    /// [`Error::NotFound`] for an unknown job or execution; otherwise see [`Error`].
    pub async fn get_job_execution(
        &self,
        creds: &Credentials,
        job: &str,
        execution: &str,
    ) -> Result<JobExecution, Error> {
        self.get_job_execution_projected(creds, job, execution, ExecutionProjection::ALL)
            .await
    }

    /// [`Client::get_job_execution`], trimmed to `projection` as it is decoded.
    ///
    /// # Errors
    /// As [`Client::get_job_execution`].
    pub async fn get_job_execution_projected(
        &self,
        creds: &Credentials,
        job: &str,
        execution: &str,
        projection: ExecutionProjection,
    ) -> Result<JobExecution, Error> {
        check_segment("job name", job)?;
        check_segment("execution id", execution)?;
        let path = ["jobs", job, "executions", execution];
        let call = Call::get(Route::GetJobExecution, &path, Query::new());
        self.send_seeded(creds, call, projection).await
    }

    /// `POST /jobs/{jobId}/executions` (CreateJobExecution): starts an execution.
    ///
    /// Retried only when `body` carries its own `id` or `executionId` (then a replay cannot
    /// start a second execution); otherwise sent exactly once.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a bad job name; [`Error::RateLimited`] when `allowQueue` is
    /// false and the workspace is at capacity; [`Error::Http`] 400 when the request can never
    /// fit (e.g. `memory` above the job's); [`Error::NotFound`] for an unknown job; otherwise
    /// see [`Error`].
    pub async fn create_job_execution(
        &self,
        creds: &Credentials,
        job: &str,
        body: &CreateJobExecutionRequest,
    ) -> Result<CreateJobExecutionOutput, Error> {
        check_segment("job name", job)?;
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::invalid(format!("the body does not serialize ({e})")))?;
        let path = ["jobs", job, "executions"];
        let call = Call {
            body: Some(Bytes::from(bytes)),
            idempotent: body.id.is_some() || body.execution_id.is_some(),
            ..Call::get(Route::CreateJobExecution, &path, Query::new())
        };
        self.send(creds, call).await
    }

    /// `DELETE /jobs/{jobId}/executions/{executionId}` (DeleteJobExecution, "Cancel job
    /// execution"): asks the upstream to cancel; returns the execution (status `cancelling`,
    /// later `cancelled`; a terminal execution comes back unchanged). Idempotent, so retried.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a bad name or id (empty, `.`/`..`, a control character:
    /// nothing is sent); [`Error::NotFound`] for an unknown job or execution; otherwise see
    /// [`Error`].
    pub async fn cancel_job_execution(
        &self,
        creds: &Credentials,
        job: &str,
        execution: &str,
    ) -> Result<JobExecution, Error> {
        check_segment("job name", job)?;
        check_segment("execution id", execution)?;
        let path = ["jobs", job, "executions", execution];
        let call = Call::get(Route::CancelJobExecution, &path, Query::new());
        self.send(creds, call).await
    }

    /// `GET /jobs/{jobId}/executions/{executionId}/tasks` (ListJobExecutionTasks): one page of
    /// an execution's tasks (documented from `Blaxel-Version` 2026-04-28; an older version's bare
    /// array also decodes, with `meta` `None`).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a bad name or id, a `limit` outside 1..=200 or a
    /// normalised `q` over 200 characters; [`Error::NotFound`] for an unknown job or execution;
    /// otherwise see [`Error`].
    pub async fn list_job_execution_tasks(
        &self,
        creds: &Credentials,
        job: &str,
        execution: &str,
        req: &ListTasksRequest,
    ) -> Result<Page<JobExecutionTask>, Error> {
        check_segment("job name", job)?;
        check_segment("execution id", execution)?;
        let query = req.to_query()?;
        let path = ["jobs", job, "executions", execution, "tasks"];
        self.send(creds, Call::get(Route::ListJobExecutionTasks, &path, query))
            .await
    }

    /// `GET /jobs/{jobId}/revisions` (ListJobRevisions): every revision (not paginated).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a bad job name; [`Error::NotFound`] for an unknown job;
    /// otherwise see [`Error`].
    pub async fn list_job_revisions(
        &self,
        creds: &Credentials,
        job: &str,
    ) -> Result<Vec<RevisionMetadata>, Error> {
        check_segment("job name", job)?;
        let path = ["jobs", job, "revisions"];
        let call = Call::get(Route::ListJobRevisions, &path, Query::new());
        self.send(creds, call).await
    }

    /// A cheap reachability check: one `GET /jobs?limit=1`, never retried, body not decoded,
    /// not counted by the circuit breakers nor the retry budget (see [`Client::probe`]).
    ///
    /// Any HTTP answer below 500 counts as reachable, including 401, 403 and 429: the upstream
    /// is up and answering. Use [`Client::probe`] to know whether a real request can be served.
    ///
    /// # Errors
    /// [`Error::Connect`] or [`Error::Timeout`] when nothing answers within `request_timeout`,
    /// and [`Error::Http`] for a 5xx answer.
    pub async fn health(&self, creds: &Credentials) -> Result<(), Error> {
        match self.probe_call::<IgnoredAny>(creds).await {
            Ok(_) | Err(Error::InvalidPayload { .. }) => Ok(()),
            Err(e) if e.status().is_some_and(|s| !s.is_server_error()) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A readiness probe: one `GET /jobs?limit=1` with `creds` (or the configured credential)
    /// that succeeds only when a real request would: a 2xx listing that decodes.
    ///
    /// It bypasses the circuit breakers and the retry budget that guard tenant traffic: a
    /// probe of a failing upstream opens no breaker, and an open breaker does not hide that the
    /// upstream recovered. It is sent once (no retries), bounded by `request_timeout` and the
    /// concurrency bound; rate-limit or cache probes on the caller's side.
    ///
    /// # Errors
    /// The error of the call, saying why a request cannot be served: [`Error::Connect`] (with
    /// its [`Error::connect_cause`]) or [`Error::Timeout`] for no answer,
    /// [`Error::Unauthenticated`] / [`Error::Forbidden`] for the credential, [`Error::NotFound`]
    /// for a base URL that is not the API, [`Error::Http`] for other statuses, and
    /// [`Error::InvalidPayload`] for an answer that is not a listing.
    pub async fn probe(&self, creds: &Credentials) -> Result<(), Error> {
        self.probe_call::<Page<IgnoredAny>>(creds).await.map(drop)
    }

    async fn probe_call<T: serde::de::DeserializeOwned>(
        &self,
        creds: &Credentials,
    ) -> Result<T, Error> {
        let call = Call {
            idempotent: false,
            guarded: false,
            ..Call::get(Route::ListJobs, &["jobs"], vec![("limit", "1".to_owned())])
        };
        self.send(creds, call).await
    }
}

/// The base URL, checked: not empty, absolute `http`/`https`, and ending in `/v0` (the API
/// version prefix every path of the contract is relative to) unless `allow_any_base_path`.
fn check_base_url(config: &ClientConfig) -> Result<Url, Error> {
    let invalid = |message: String| Error::InvalidConfig { message };
    let raw = config.base_url.trim();
    if raw.is_empty() {
        return Err(invalid(format!(
            "base_url is empty: set the upstream API URL, e.g. {}",
            crate::DEFAULT_BASE_URL
        )));
    }
    let shown = quote_input(raw);
    let base =
        Url::parse(raw).map_err(|e| invalid(format!("base_url {shown} is not a URL ({e})")))?;
    if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
        return Err(invalid(format!(
            "base_url {shown} must be an http or https URL"
        )));
    }
    if !config.allow_any_base_path && !base.path().trim_end_matches('/').ends_with("/v0") {
        return Err(invalid(format!(
            "base_url {shown} must end in /v0, the API version prefix (e.g. {}); set allow_any_base_path to use another path",
            crate::DEFAULT_BASE_URL
        )));
    }
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_config() {
        for base in [
            "",
            "  ",
            "not a url",
            "ftp://x/v0",
            "mailto:a@b",
            "http://127.0.0.1:1",
            "http://127.0.0.1:1/",
            "http://127.0.0.1:1/api",
            "http://127.0.0.1:1/v01",
        ] {
            let err = Client::new(ClientConfig::new(base)).unwrap_err();
            assert!(
                matches!(err, Error::InvalidConfig { .. }),
                "{base}: {err:?}"
            );
            assert!(err.to_string().contains("base_url"), "{err}");
        }
        for base in [
            "http://127.0.0.1:1/v0",
            "https://h/v0/",
            "http://h/proxy/v0",
        ] {
            Client::new(ClientConfig::new(base)).unwrap_or_else(|e| panic!("{base}: {e}"));
        }
        let opted_out = ClientConfig {
            allow_any_base_path: true,
            ..ClientConfig::new("http://127.0.0.1:1/api")
        };
        Client::new(opted_out).unwrap();
        let config = ClientConfig {
            max_concurrent_requests: 0,
            ..ClientConfig::default()
        };
        assert!(Client::new(config).is_err());
        let mut config = ClientConfig::default();
        config.retry.total_deadline = Duration::ZERO;
        let err = Client::new(config).unwrap_err();
        assert!(err.to_string().contains("retry.total_deadline"), "{err}");
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
