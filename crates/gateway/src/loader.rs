//! Per-request upstream access: the caller's credentials and a loader keyed by the upstream
//! request.
//!
//! One [`RequestLoader`] is built for each GraphQL request, holding that caller's credentials.
//! Two fields or aliases that need the same upstream page or execution cost one upstream request:
//! the first load of a key starts the call, and every other load of that key in the request
//! (while it is in flight, or after) awaits the same result. Loads of different keys (executions
//! of several jobs, resolved side by side) run concurrently, at most `concurrency` calls at a
//! time. Nothing outlives the request, so callers never share data.
//!
//! Unlike async-graphql's `DataLoader`, nothing waits for a batch to fill: the upstream has no
//! batch endpoint, so a batch would only delay the first call (1 ms by default, on a timer
//! thread) and spawn a task per batch. Deduplication here is exact, including keys in flight.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex, PoisonError},
};

use blaxel_models::{Job, JobExecution, Page, PaginationSort};
use blaxel_transport::{
    Client, Credentials, Error as UpstreamError, ListExecutionsRequest, ListJobsRequest,
};
use tokio::sync::{OnceCell, Semaphore};

use crate::pagination::PageRequest;

/// The result of one upstream call, shared by every field that asked for it.
pub type Outcome<T> = Result<Arc<T>, Arc<UpstreamError>>;

/// The shared handle stored in the request data (a batch of operations shares one loader).
pub type SharedLoader = Arc<RequestLoader>;

/// Who is calling, for one GraphQL request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Token and workspace forwarded upstream (the client falls back to the configured ones).
    pub credentials: Credentials,
    /// The workspace cursors are bound to: the caller's `X-Blaxel-Workspace`, else the
    /// configured workspace, else empty.
    pub workspace: String,
    /// True when the upstream speaks the legacy (bare array, offset) contract.
    pub legacy: bool,
}

/// A page of a job's executions: `GET /jobs/{job}/executions`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExecutionsKey {
    /// Job name.
    pub job: String,
    /// Sort.
    pub sort: PaginationSort,
    /// Normalised search query; empty = none.
    pub query: String,
    /// Cursor or offset, and limit.
    pub page: PageRequest,
}

/// One execution: `GET /jobs/{job}/executions/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExecutionKey {
    /// Job name.
    pub job: String,
    /// Execution id.
    pub id: String,
}

/// A page of jobs: `GET /jobs`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobsKey {
    /// Sort.
    pub sort: PaginationSort,
    /// Normalised search query; empty = none.
    pub query: String,
    /// Cursor or offset, and limit.
    pub page: PageRequest,
}

/// One job: `GET /jobs/{job}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobKey(pub String);

/// Loads upstream resources for one caller.
pub struct UpstreamLoader {
    client: Client,
    credentials: Credentials,
    concurrency: usize,
}

impl UpstreamLoader {
    /// A loader calling `client` with `credentials`, at most `concurrency` calls in flight.
    pub fn new(client: Client, credentials: Credentials, concurrency: usize) -> Self {
        Self {
            client,
            credentials,
            concurrency: concurrency.max(1),
        }
    }

    /// The request-scoped loader over this one: deduplicating, with an empty memo.
    pub fn into_dataloader(self) -> RequestLoader {
        RequestLoader {
            permits: Semaphore::new(self.concurrency),
            upstream: self,
            executions: Memo::default(),
            execution: Memo::default(),
            jobs: Memo::default(),
            job: Memo::default(),
        }
    }
}

/// The results of one request's upstream calls, by key; a cell is filled by the first load of
/// its key, and every other load awaits it. Opaque: only [`load`] reads it.
pub struct Memo<K, T>(Mutex<HashMap<K, Arc<OnceCell<Outcome<T>>>>>);

impl<K, T> Default for Memo<K, T> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<K: Eq + Hash + Clone, T> Memo<K, T> {
    fn cell(&self, key: &K) -> Arc<OnceCell<Outcome<T>>> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(cell) = map.get(key) {
            return Arc::clone(cell);
        }
        let cell = Arc::new(OnceCell::new());
        map.insert(key.clone(), Arc::clone(&cell));
        cell
    }
}

/// The per-request loader stored (as a [`SharedLoader`]) in the GraphQL request data.
pub struct RequestLoader {
    upstream: UpstreamLoader,
    permits: Semaphore,
    executions: Memo<ExecutionsKey, Page<JobExecution>>,
    execution: Memo<ExecutionKey, JobExecution>,
    jobs: Memo<JobsKey, Page<Job>>,
    job: Memo<JobKey, Job>,
}

impl RequestLoader {
    /// Stores `page` as the answer to `key`, as if the upstream had sent it: later loads of
    /// `key` in this request cost no upstream call (benchmarks and tests use this).
    pub fn prime_executions(&self, key: ExecutionsKey, page: Page<JobExecution>) {
        // A key already loaded keeps its first answer.
        let _ = self.executions.cell(&key).set(Ok(Arc::new(page)));
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// A kind of upstream resource the [`RequestLoader`] fetches, keyed by `Self`.
pub trait Fetch: Clone + Eq + Hash + Send + Sync + Sized {
    /// The decoded upstream answer.
    type Value: Send + Sync;

    /// This key's memo in `loader`.
    fn memo(loader: &RequestLoader) -> &Memo<Self, Self::Value>;

    /// One upstream call for this key.
    fn fetch(
        &self,
        loader: &UpstreamLoader,
    ) -> impl Future<Output = Result<Self::Value, UpstreamError>> + Send;
}

impl Fetch for ExecutionsKey {
    type Value = Page<JobExecution>;

    fn memo(loader: &RequestLoader) -> &Memo<Self, Self::Value> {
        &loader.executions
    }

    async fn fetch(&self, loader: &UpstreamLoader) -> Result<Self::Value, UpstreamError> {
        let request = ListExecutionsRequest {
            limit: Some(self.page.limit),
            cursor: self.page.cursor.clone(),
            sort: Some(self.sort),
            q: non_empty(&self.query),
            offset: self.page.offset,
        };
        loader
            .client
            .list_job_executions(&loader.credentials, &self.job, &request)
            .await
    }
}

impl Fetch for ExecutionKey {
    type Value = JobExecution;

    fn memo(loader: &RequestLoader) -> &Memo<Self, Self::Value> {
        &loader.execution
    }

    async fn fetch(&self, loader: &UpstreamLoader) -> Result<Self::Value, UpstreamError> {
        loader
            .client
            .get_job_execution(&loader.credentials, &self.job, &self.id)
            .await
    }
}

impl Fetch for JobsKey {
    type Value = Page<Job>;

    fn memo(loader: &RequestLoader) -> &Memo<Self, Self::Value> {
        &loader.jobs
    }

    async fn fetch(&self, loader: &UpstreamLoader) -> Result<Self::Value, UpstreamError> {
        let request = ListJobsRequest {
            limit: Some(self.page.limit),
            cursor: self.page.cursor.clone(),
            sort: Some(self.sort),
            q: non_empty(&self.query),
            ..ListJobsRequest::default()
        };
        loader.client.list_jobs(&loader.credentials, &request).await
    }
}

impl Fetch for JobKey {
    type Value = Job;

    fn memo(loader: &RequestLoader) -> &Memo<Self, Self::Value> {
        &loader.job
    }

    async fn fetch(&self, loader: &UpstreamLoader) -> Result<Self::Value, UpstreamError> {
        loader.client.get_job(&loader.credentials, &self.0).await
    }
}

/// Loads one key through the request's loader: one upstream call per distinct key in this
/// request, however many fields ask for it and whenever they do; calls of different keys run
/// side by side, at most the loader's `concurrency` at once.
pub async fn load<K: Fetch>(loader: &RequestLoader, key: K) -> Outcome<K::Value> {
    let cell = K::memo(loader).cell(&key);
    cell.get_or_init(|| async {
        // The semaphore is never closed, so acquire cannot fail.
        let _permit = loader.permits.acquire().await.ok();
        key.fetch(&loader.upstream)
            .await
            .map(Arc::new)
            .map_err(Arc::new)
    })
    .await
    .clone()
}
