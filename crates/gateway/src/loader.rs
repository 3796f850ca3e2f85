//! Per-request upstream access: the caller's credentials and a DataLoader keyed by the upstream
//! request.
//!
//! One [`UpstreamLoader`] (inside an async-graphql `DataLoader` with a request-scoped cache) is
//! built for each GraphQL request, holding that caller's credentials. Two fields or aliases that
//! need the same upstream page or execution cost one upstream request; keys that arrive together
//! (executions of several jobs) are fetched concurrently, at most `concurrency` at a time. Nothing
//! outlives the request, so callers never share data.

use std::{collections::HashMap, convert::Infallible, sync::Arc};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use blaxel_models::{Job, JobExecution, Page, PaginationSort};
use blaxel_transport::{
    Client, Credentials, Error as UpstreamError, ListExecutionsRequest, ListJobsRequest,
};
use futures::{StreamExt as _, stream};

use crate::pagination::PageRequest;

/// The result of one upstream call, shared by every field that asked for it.
pub type Outcome<T> = Result<Arc<T>, Arc<UpstreamError>>;

/// The per-request DataLoader type stored in the GraphQL request data.
pub type RequestLoader = DataLoader<UpstreamLoader, HashMapCache>;

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

    /// The request-scoped DataLoader over this loader.
    pub fn into_dataloader(self) -> RequestLoader {
        DataLoader::with_cache(self, tokio::spawn, HashMapCache::default())
    }

    async fn load_all<K, T, F, Fut>(&self, keys: &[K], one: F) -> HashMap<K, Outcome<T>>
    where
        K: Clone + Eq + std::hash::Hash,
        F: Fn(K) -> Fut,
        Fut: Future<Output = Result<T, UpstreamError>>,
    {
        stream::iter(keys.iter().cloned())
            .map(|key| {
                let fut = one(key.clone());
                async move { (key, fut.await.map(Arc::new).map_err(Arc::new)) }
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await
    }
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

impl Loader<ExecutionsKey> for UpstreamLoader {
    type Value = Outcome<Page<JobExecution>>;
    type Error = Infallible;

    async fn load(
        &self,
        keys: &[ExecutionsKey],
    ) -> Result<HashMap<ExecutionsKey, Self::Value>, Infallible> {
        Ok(self
            .load_all(keys, |key| async move {
                let request = ListExecutionsRequest {
                    limit: Some(key.page.limit),
                    cursor: key.page.cursor.clone(),
                    sort: Some(key.sort),
                    q: non_empty(&key.query),
                    offset: key.page.offset,
                };
                self.client
                    .list_job_executions(&self.credentials, &key.job, &request)
                    .await
            })
            .await)
    }
}

impl Loader<ExecutionKey> for UpstreamLoader {
    type Value = Outcome<JobExecution>;
    type Error = Infallible;

    async fn load(
        &self,
        keys: &[ExecutionKey],
    ) -> Result<HashMap<ExecutionKey, Self::Value>, Infallible> {
        Ok(self
            .load_all(keys, |key| async move {
                self.client
                    .get_job_execution(&self.credentials, &key.job, &key.id)
                    .await
            })
            .await)
    }
}

impl Loader<JobsKey> for UpstreamLoader {
    type Value = Outcome<Page<Job>>;
    type Error = Infallible;

    async fn load(&self, keys: &[JobsKey]) -> Result<HashMap<JobsKey, Self::Value>, Infallible> {
        Ok(self
            .load_all(keys, |key| async move {
                let request = ListJobsRequest {
                    limit: Some(key.page.limit),
                    cursor: key.page.cursor.clone(),
                    sort: Some(key.sort),
                    q: non_empty(&key.query),
                    ..ListJobsRequest::default()
                };
                self.client.list_jobs(&self.credentials, &request).await
            })
            .await)
    }
}

impl Loader<JobKey> for UpstreamLoader {
    type Value = Outcome<Job>;
    type Error = Infallible;

    async fn load(&self, keys: &[JobKey]) -> Result<HashMap<JobKey, Self::Value>, Infallible> {
        Ok(self
            .load_all(keys, |key| async move {
                self.client.get_job(&self.credentials, &key.0).await
            })
            .await)
    }
}

/// Loads one key through the request's DataLoader: deduplicated with every other load of the
/// same key in this request, and batched with the loads issued alongside it.
pub async fn load<K, T>(loader: &RequestLoader, key: K) -> Outcome<T>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    T: Send + Sync + 'static,
    UpstreamLoader: Loader<K, Value = Outcome<T>, Error = Infallible>,
{
    match loader.load_one(key).await {
        Ok(Some(outcome)) => outcome,
        // load_all answers every key it is given; keep a typed error rather than a panic.
        Ok(None) => Err(Arc::new(UpstreamError::InvalidConfig {
            message: "the upstream loader returned no value".to_owned(),
        })),
        Err(never) => match never {},
    }
}
