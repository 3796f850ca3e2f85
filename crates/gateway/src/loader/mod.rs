//! Per-request DataLoaders: every upstream read of one request goes through them.
//!
//! One [`RequestLoader`] is made for each request (a GraphQL operation or batch, a gRPC call) and
//! holds that caller's credentials; nothing outlives the request, so callers never share data.
//! It is a set of `dataloader` crate loaders (cksac/dataloader-rs, cached flavour), one per kind
//! of upstream read. A load registers its key and yields to the scheduler a few times
//! ([`YIELD_COUNT`]); the keys registered meanwhile (sibling fields, aliases, the executions of
//! every job of a page) go to one batch function, which serves them with as few upstream calls as
//! the upstream allows, concurrently under the request's bound. The loader's cache makes the
//! same key cost one upstream call per request, including a key asked for while its batch is in
//! flight (the loader's lock is held while the batch runs, so a late load of that key waits for
//! the batch and reads its result). Pages of listings are the exception (`loader/held.rs`): kept
//! to the end within the request's first [`KEPT_ITEMS`] items, later ones one call while a field
//! holds the page and freed once none does.
//!
//! Results are per key: an upstream error is stored as that key's value (an `Arc`, shared by
//! every field that asked), so one failing key leaves its siblings intact.
//!
//! Across requests, [`InFlight`] (`--upstream-dedupe`, on by default) shares an upstream read
//! that is already in flight: a key asked by another request with the same credential (token
//! and workspace) while the first call has not answered waits for that call and reads its
//! answer, so N callers asking for one page at once cost one upstream call. The key is the whole
//! upstream request (route, path, query) plus the credential: callers with different
//! credentials never share a call. Nothing is kept once the call answers (no cache). The same
//! map shares whole GraphQL query operations in flight ([`InFlight::share_operation`]) and
//! whole gRPC `ListJobExecutions` answers, encoded ([`InFlight::share_list_call`]).

use std::{
    collections::HashMap,
    future::Future,
    hash::Hash,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use blaxel_models::{
    ExecutionProjection, Job, JobExecution, JobExecutionTask, Page, PaginationSort,
};
use blaxel_transport::{
    Client, Credentials, Error as UpstreamError, ListExecutionsRequest, ListJobsRequest,
    ListTasksRequest, MAX_SHARED_LIMIT,
};
use dataloader::{BatchFn, cached::Loader};
use futures::{
    FutureExt as _,
    future::{BoxFuture, Shared, join_all},
};
use tokio::sync::Semaphore;

use crate::{
    error::{Code, Error},
    grpc::{tape::EncodedPageDecoder, transcode::EncodedExecution},
};

mod held;

pub use held::KEPT_ITEMS;
use held::{HeldPages, KeptItems};

/// The result of one upstream read, shared by every field that asked for it. The error is the
/// gateway's own (the upstream's, mapped once; or a cap of this request).
pub type Loaded<T> = Result<Arc<T>, Arc<Error>>;

/// Yields of a load before its batch runs. One is enough: async-graphql polls the sibling fields
/// of an object (aliases, spread fragments) from one `FuturesUnordered`, which polls a load that
/// yielded again only after its siblings, so their keys are registered by then (with 0,
/// `batching::many_job_lookups_cost_one_listing_page` fails: each lookup is its own batch). Each
/// further yield polls the request's whole future tree again: about 12,500 instructions, so the
/// crate's default of 10 cost 6 % of a small query's instructions (`bench/callgrind.sh`, the
/// peers' query: 10 -> 1 saves 115,000 instructions per request).
pub const YIELD_COUNT: usize = 1;

/// `job(name:)` lookups in one batch from which the batch lists the workspace's jobs
/// (`GET /jobs?limit=200`, one call) instead of one `GET /jobs/{name}` each. With 2 names the
/// listing saves one call at best and costs a page of up to 200 jobs to decode; from 3 on, one
/// listing page replaces at least 3 calls.
pub const JOBS_LISTING_THRESHOLD: usize = 3;

/// A page of a job's executions: `GET /jobs/{job}/executions` with the transport's request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExecutionsPage {
    /// Job name.
    pub job: String,
    /// The upstream request (cursor or offset, limit, sort, `q`).
    pub request: ListExecutionsRequest,
}

/// A page of a job's executions as the gRPC face answers it: each execution read straight into
/// its protobuf encoding ([`crate::grpc::transcode`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EncodedExecutionsPage(pub ExecutionsPage);

/// One execution: `GET /jobs/{job}/executions/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExecutionRef {
    /// Job name.
    pub job: String,
    /// Execution id.
    pub id: String,
}

/// A page of an execution's tasks: `GET /jobs/{job}/executions/{id}/tasks`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TasksPage {
    /// Job name.
    pub job: String,
    /// Execution id.
    pub execution: String,
    /// The upstream request (cursor, limit, sort, `q`).
    pub request: ListTasksRequest,
}

/// What every batch function of one request shares: the upstream, the caller's credentials and
/// the request's bound on upstream calls in flight.
struct Upstream {
    client: Client,
    credentials: Credentials,
    permits: Semaphore,
    /// Upstream calls made so far by this request, and the most it may make.
    calls: AtomicU64,
    max_calls: u64,
    /// The reads in flight of every request, when they are shared (`--upstream-dedupe`).
    in_flight: Option<InFlight>,
    /// The parts of each execution this request reads: the rest is dropped as it is decoded.
    projection: ExecutionProjection,
}

impl Upstream {
    /// Counts one call against the request's cap: past it, the key answers `QUERY_TOO_COMPLEX`
    /// (`maxUpstreamCalls`) and nothing is sent. A read that joins another request's call
    /// counts too, so the cap does not depend on what other callers do.
    fn count(&self) -> Result<(), Arc<Error>> {
        if self.calls.fetch_add(1, Ordering::Relaxed) >= self.max_calls {
            metrics::counter!("gateway_limit_refusals_total", "limit" => "maxUpstreamCalls")
                .increment(1);
            return Err(Arc::new(Error::too_complex(
                "maxUpstreamCalls",
                self.max_calls,
                format!(
                    "the request reached its limit of {} upstream calls (maxUpstreamCalls)",
                    self.max_calls
                ),
            )));
        }
        Ok(())
    }

    /// Runs one upstream call under the request's concurrency bound and its cap on calls.
    async fn call<T>(&self, call: impl Future<Output = Result<T, UpstreamError>>) -> Loaded<T> {
        self.count()?;
        metrics::counter!("gateway_loader_upstream_calls_total").increment(1);
        // The semaphore is never closed, so acquire cannot fail.
        let _permit = self.permits.acquire().await.ok();
        call.await
            .map(Arc::new)
            .map_err(|e| Arc::new(Error::upstream(&e)))
    }

    /// Reads `key` under the request's bound and cap, joining an identical read of another
    /// request with the same credential that is in flight (when dedupe is on).
    async fn read<K: Read>(&self, key: &K) -> Loaded<K::Value> {
        let projection = K::projected(self.projection);
        let Some(in_flight) = &self.in_flight else {
            return self
                .call(key.read(&self.client, &self.credentials, projection))
                .await;
        };
        self.count()?;
        let _permit = self.permits.acquire().await.ok();
        let (client, credentials, owned) =
            (self.client.clone(), self.credentials.clone(), key.clone());
        K::flights(&in_flight.0)
            .run(
                (self.credentials.clone(), projection, key.clone()),
                move || {
                    async move {
                        metrics::counter!("gateway_loader_upstream_calls_total").increment(1);
                        owned
                            .read(&client, &credentials, projection)
                            .await
                            .map(Arc::new)
                            .map_err(|e| Arc::new(Error::upstream(&e)))
                    }
                    .boxed()
                },
            )
            .await
    }
}

/// One shared upstream read: every request waiting for it polls it, so it goes on while any of
/// them waits, whichever request started it.
type Flight<V> = Shared<BoxFuture<'static, Loaded<V>>>;

/// Who asks a read, with what projection, for which key: requests share a flight only when all
/// three are equal.
type FlightId<K> = (Credentials, ExecutionProjection, K);

/// The reads of one kind in flight, by credential, projection and key: a read is shared only by
/// requests of the same credential that keep the same parts of each execution (another
/// request's projection may have dropped what this one reads).
struct Flights<K, V> {
    map: Mutex<HashMap<FlightId<K>, Flight<V>>>,
}

impl<K, V> Default for Flights<K, V> {
    fn default() -> Self {
        Self {
            map: Mutex::default(),
        }
    }
}

impl<K: Eq + Hash + Clone, V> Flights<K, V> {
    /// Stops offering the flights of `credentials` to later reads (those waiting keep theirs).
    fn forget(&self, credentials: &Credentials) {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(owner, _, _), _| owner != credentials);
    }

    /// Joins the flight of `id`, or starts one with `start`, and waits for its answer.
    async fn run(
        &self,
        id: FlightId<K>,
        start: impl FnOnce() -> BoxFuture<'static, Loaded<V>>,
    ) -> Loaded<V> {
        let flight = {
            let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
            match map.get(&id) {
                Some(flight) => {
                    metrics::counter!("gateway_upstream_dedupe_joined_total").increment(1);
                    flight.clone()
                }
                None => {
                    let flight = start().shared();
                    map.insert(id.clone(), flight.clone());
                    flight
                }
            }
        };
        let mut waiter = Waiter {
            flights: self,
            id,
            identity: flight.clone(),
            flight,
            answered: false,
        };
        let answer = (&mut waiter.flight).await;
        waiter.answered = true;
        answer
    }
}

/// One request waiting for a flight. When it leaves (answered, or dropped: its client went
/// away), the flight leaves the map if it answered (later reads call the upstream afresh), or if
/// no other request waits for it (nobody drives it any more).
struct Waiter<'a, K: Eq + Hash, V> {
    flights: &'a Flights<K, V>,
    id: FlightId<K>,
    /// A handle never polled: a `Shared` that answered forgets its flight, this one does not.
    identity: Flight<V>,
    /// The handle polled.
    flight: Flight<V>,
    answered: bool,
}

impl<K: Eq + Hash, V> Drop for Waiter<'_, K, V> {
    fn drop(&mut self) {
        let mut map = self
            .flights
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let ours = map.get(&self.id).is_some_and(|f| f.ptr_eq(&self.identity));
        // The map's handle and our two: no other request waits.
        let alone = self.identity.strong_count() == Some(3);
        if ours && (self.answered || alone) {
            map.remove(&self.id);
        }
    }
}

/// The upstream reads in flight across requests (`--upstream-dedupe`), one map per kind of read,
/// keyed by the caller's credential and the read's key (the whole upstream request). Cheap to
/// clone; every clone shares the maps.
#[derive(Clone, Default)]
pub struct InFlight(Arc<InFlightMaps>);

impl std::fmt::Debug for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlight").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct InFlightMaps {
    executions_pages: Flights<ExecutionsPage, Page<JobExecution>>,
    encoded_executions_pages: Flights<EncodedExecutionsPage, Page<EncodedExecution>>,
    executions: Flights<ExecutionRef, JobExecution>,
    jobs_pages: Flights<ListJobsRequest, Page<Job>>,
    tasks_pages: Flights<TasksPage, Page<JobExecutionTask>>,
    operations: Flights<Operation, async_graphql::Response>,
    list_calls: Flights<ListCall, CallAnswer>,
}

impl InFlightMaps {
    fn forget(&self, credentials: &Credentials) {
        self.executions_pages.forget(credentials);
        self.encoded_executions_pages.forget(credentials);
        self.executions.forget(credentials);
        self.jobs_pages.forget(credentials);
        self.tasks_pages.forget(credentials);
        self.operations.forget(credentials);
        self.list_calls.forget(credentials);
    }
}

/// A GraphQL query operation as the HTTP face runs it: two requests with the same credential
/// and the same key get the same answer, so while one runs the other can share it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Operation {
    /// The document's text.
    pub query: String,
    /// The operation selected (`operationName`).
    pub operation_name: Option<String>,
    /// The variables, as JSON text.
    pub variables: String,
}

/// A gRPC `ListJobExecutions` call, by its arguments: two calls with the same credential and the
/// same key get the same answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListCall {
    /// `parent`: `jobs/{job}`.
    pub parent: String,
    /// `page_size`.
    pub page_size: i32,
    /// `page_token`.
    pub page_token: String,
    /// `order_by`.
    pub order_by: String,
    /// `query`.
    pub query: String,
}

/// A gRPC call's answer as the server sends it: the encoded response message, or its status.
pub type CallAnswer = Result<crate::grpc::wire::Framed, tonic::Status>;

impl InFlight {
    /// Runs `execute`, the `ListJobExecutions` call `key` of a caller with `credentials`, or
    /// joins the same call of that caller already in flight and answers its answer: the encoded
    /// message, written as it is to every call (`--upstream-dedupe`). Like operations, not
    /// joined after the caller's own write. The flight runs within the deadline of the call
    /// that started it: the answer comes with true when this call joined another's flight (a
    /// joiner with more time left than that call may then read on its own, see
    /// `grpc::executions`).
    pub async fn share_list_call(
        &self,
        credentials: Credentials,
        key: ListCall,
        execute: BoxFuture<'static, CallAnswer>,
    ) -> (CallAnswer, bool) {
        let mut joined = true;
        let shared = self
            .0
            .list_calls
            .run((credentials, ExecutionProjection::ALL, key), || {
                joined = false;
                execute.map(|answer| Ok(Arc::new(answer))).boxed()
            })
            .await;
        let answer = match shared {
            Ok(answer) => CallAnswer::clone(&answer),
            // The flight never fails: it answers the call's answer, errors included.
            Err(error) => Err(tonic::Status::internal(error.message.clone())),
        };
        (answer, joined)
    }

    /// Runs `execute`, the query operation `key` of a caller with `credentials`, or joins the
    /// same operation of that caller already in flight and answers a copy of its response
    /// (`--upstream-dedupe`: N identical queries at once run once). Mutations are never shared,
    /// and a caller's write ([`RequestLoader::after_write`]) stops its operations in flight from
    /// being joined by later requests.
    pub async fn share_operation(
        &self,
        credentials: Credentials,
        key: Operation,
        execute: BoxFuture<'static, async_graphql::Response>,
    ) -> async_graphql::Response {
        let shared = self
            .0
            .operations
            // The document decides the projection: one key, one projection.
            .run((credentials, ExecutionProjection::ALL, key), move || {
                execute.map(|response| Ok(Arc::new(response))).boxed()
            })
            .await;
        match shared {
            Ok(response) => copy(&response),
            // The flight never fails: it answers the response, errors included.
            Err(error) => {
                async_graphql::Response::from_errors(vec![async_graphql::ServerError::new(
                    error.message.clone(),
                    None,
                )])
            }
        }
    }
}

/// A copy of `response` (async-graphql's `Response` is not `Clone`).
fn copy(response: &async_graphql::Response) -> async_graphql::Response {
    let mut copy = async_graphql::Response::new(response.data.clone())
        .cache_control(response.cache_control)
        .http_headers(response.http_headers.clone());
    copy.errors = response.errors.clone();
    copy.extensions = response.extensions.clone();
    copy
}

/// A key the generic batch function serves with one upstream call each.
trait Read: Clone + Eq + Hash + std::fmt::Debug + Send + Sync + 'static {
    /// The decoded upstream answer.
    type Value: Send + Sync + 'static;
    /// One upstream call for this key, executions trimmed to `projection`.
    fn read(
        &self,
        client: &Client,
        credentials: &Credentials,
        projection: ExecutionProjection,
    ) -> impl Future<Output = Result<Self::Value, UpstreamError>> + Send;
    /// The projection a read of this kind is made with, in a request reading `projection`:
    /// that one for the reads that decode executions, [`ExecutionProjection::ALL`] (nothing to
    /// trim) for the others, which then share flights whatever the request's projection.
    fn projected(projection: ExecutionProjection) -> ExecutionProjection {
        let _ = projection;
        ExecutionProjection::ALL
    }
    /// The reads of this kind in flight across requests.
    fn flights(maps: &InFlightMaps) -> &Flights<Self, Self::Value>;
}

impl Read for ExecutionsPage {
    type Value = Page<JobExecution>;

    async fn read(
        &self,
        client: &Client,
        creds: &Credentials,
        projection: ExecutionProjection,
    ) -> Result<Self::Value, UpstreamError> {
        client
            .list_job_executions_projected(creds, &self.job, &self.request, projection)
            .await
    }

    fn projected(projection: ExecutionProjection) -> ExecutionProjection {
        projection
    }

    fn flights(maps: &InFlightMaps) -> &Flights<Self, Self::Value> {
        &maps.executions_pages
    }
}

impl Read for EncodedExecutionsPage {
    type Value = Page<EncodedExecution>;

    async fn read(
        &self,
        client: &Client,
        creds: &Credentials,
        _: ExecutionProjection,
    ) -> Result<Self::Value, UpstreamError> {
        client
            .list_job_executions_decoded(creds, &self.0.job, &self.0.request, EncodedPageDecoder)
            .await
    }

    fn flights(maps: &InFlightMaps) -> &Flights<Self, Self::Value> {
        &maps.encoded_executions_pages
    }
}

impl Read for ExecutionRef {
    type Value = JobExecution;

    async fn read(
        &self,
        client: &Client,
        creds: &Credentials,
        projection: ExecutionProjection,
    ) -> Result<Self::Value, UpstreamError> {
        client
            .get_job_execution_projected(creds, &self.job, &self.id, projection)
            .await
    }

    fn projected(projection: ExecutionProjection) -> ExecutionProjection {
        projection
    }

    fn flights(maps: &InFlightMaps) -> &Flights<Self, Self::Value> {
        &maps.executions
    }
}

impl Read for ListJobsRequest {
    type Value = Page<Job>;

    async fn read(
        &self,
        client: &Client,
        creds: &Credentials,
        _: ExecutionProjection,
    ) -> Result<Self::Value, UpstreamError> {
        client.list_jobs(creds, self).await
    }

    fn flights(maps: &InFlightMaps) -> &Flights<Self, Self::Value> {
        &maps.jobs_pages
    }
}

impl Read for TasksPage {
    type Value = Page<JobExecutionTask>;

    async fn read(
        &self,
        client: &Client,
        creds: &Credentials,
        _: ExecutionProjection,
    ) -> Result<Self::Value, UpstreamError> {
        client
            .list_job_execution_tasks(creds, &self.job, &self.execution, &self.request)
            .await
    }

    fn flights(maps: &InFlightMaps) -> &Flights<Self, Self::Value> {
        &maps.tasks_pages
    }
}

/// The batch function of keys read one call each, concurrently under the request's bound.
struct EachBatch(Arc<Upstream>);

impl<K: Read> BatchFn<K, Loaded<K::Value>> for EachBatch {
    async fn load(&mut self, keys: &[K]) -> HashMap<K, Loaded<K::Value>> {
        let up = &self.0;
        let values = join_all(keys.iter().map(|key| up.read(key))).await;
        keys.iter().cloned().zip(values).collect()
    }
}

/// The batch function of `job(name:)` lookups: past [`JOBS_LISTING_THRESHOLD`] names, one page of
/// the workspace's jobs answers them all (a workspace of up to 200 jobs), and the names it does
/// not hold fall back to one `GET` each, so a batch never costs more than one call over a `GET`
/// per name.
struct JobsBatch(Arc<Upstream>);

impl BatchFn<String, Loaded<Job>> for JobsBatch {
    async fn load(&mut self, names: &[String]) -> HashMap<String, Loaded<Job>> {
        let up = &self.0;
        let mut found = HashMap::with_capacity(names.len());
        if names.len() >= JOBS_LISTING_THRESHOLD {
            let request = ListJobsRequest {
                limit: Some(MAX_SHARED_LIMIT),
                sort: Some(PaginationSort::NameAsc),
                ..ListJobsRequest::default()
            };
            // A failed listing is not an answer for any name: they are fetched one by one.
            if let Ok(page) = up.read(&request).await {
                for job in &page.items {
                    if names.contains(&job.metadata.name) {
                        found.insert(job.metadata.name.clone(), Ok(Arc::new(job.clone())));
                    }
                }
                // Legacy bare arrays say nothing of more pages: a short page is the last.
                let complete = match page.has_more() {
                    Some(more) => !more,
                    None => page.items.len() < MAX_SHARED_LIMIT as usize,
                };
                if complete {
                    let missing: Vec<String> = names
                        .iter()
                        .filter(|n| !found.contains_key(*n))
                        .cloned()
                        .collect();
                    for name in missing {
                        let not_found = Error::new(Code::NotFound, "not found in the Blaxel API");
                        found.insert(name, Err(Arc::new(not_found)));
                    }
                }
            }
        }
        let rest: Vec<&String> = names.iter().filter(|n| !found.contains_key(*n)).collect();
        let values = join_all(
            rest.iter()
                .map(|name| up.call(up.client.get_job(&up.credentials, name))),
        )
        .await;
        found.extend(rest.into_iter().cloned().zip(values));
        found
    }
}

/// The DataLoaders of one request, stored in its data (GraphQL) or made per call (gRPC).
/// Pages (of executions, jobs and tasks), the bulk of what a request reads, are kept to the end
/// within its first [`KEPT_ITEMS`] items and later ones held only while a field uses them
/// (`loader/held.rs`); single executions and jobs are kept by the dataloader's cache until the
/// request ends.
pub struct RequestLoader {
    executions_pages: HeldPages<ExecutionsPage, JobExecution>,
    encoded_executions_pages: HeldPages<EncodedExecutionsPage, EncodedExecution>,
    executions: Loader<ExecutionRef, Loaded<JobExecution>, EachBatch>,
    jobs_pages: HeldPages<ListJobsRequest, Job>,
    jobs: Loader<String, Loaded<Job>, JobsBatch>,
    tasks_pages: HeldPages<TasksPage, JobExecutionTask>,
    /// Items of pages this request still keeps to its end (see [`KEPT_ITEMS`]).
    kept: KeptItems,
    kept_items: usize,
    upstream: Arc<Upstream>,
}

impl RequestLoader {
    /// Loaders calling `client` with `credentials`, at most `concurrency` calls in flight and
    /// `max_calls` in all, keeping of each execution read the parts in `projection` (the rest is
    /// dropped as it is decoded: [`ExecutionProjection::ALL`] for a caller that reads every
    /// field). With `in_flight`, a read joins an identical read (same credential, same upstream
    /// request, same projection) of another request that is in flight, instead of calling again.
    pub fn new(
        client: Client,
        credentials: Credentials,
        concurrency: usize,
        max_calls: u64,
        in_flight: Option<InFlight>,
        projection: ExecutionProjection,
    ) -> Self {
        let up = Arc::new(Upstream {
            client,
            credentials,
            permits: Semaphore::new(concurrency.max(1)),
            calls: AtomicU64::new(0),
            max_calls,
            in_flight,
            projection,
        });
        Self {
            executions_pages: HeldPages::default(),
            encoded_executions_pages: HeldPages::default(),
            executions: Loader::new(EachBatch(Arc::clone(&up))).with_yield_count(YIELD_COUNT),
            jobs_pages: HeldPages::default(),
            tasks_pages: HeldPages::default(),
            kept: KeptItems::new(KEPT_ITEMS),
            kept_items: KEPT_ITEMS,
            jobs: Loader::new(JobsBatch(Arc::clone(&up))).with_yield_count(YIELD_COUNT),
            upstream: up,
        }
    }

    /// A page of a job's executions.
    pub async fn executions_page(&self, key: ExecutionsPage) -> Loaded<Page<JobExecution>> {
        loaded("executions_page");
        self.held(&self.executions_pages, key).await
    }

    /// A page of a job's executions, each as its protobuf encoding (the gRPC face).
    pub async fn encoded_executions_page(
        &self,
        key: EncodedExecutionsPage,
    ) -> Loaded<Page<EncodedExecution>> {
        loaded("encoded_executions_page");
        self.held(&self.encoded_executions_pages, key).await
    }

    /// The page of `key`, through `pages`: the one a field holds, the read in flight, or a new
    /// read under the request's bound and cap.
    async fn held<K: Read<Value = Page<T>>, T: Send + Sync + 'static>(
        &self,
        pages: &HeldPages<K, T>,
        key: K,
    ) -> Loaded<Page<T>> {
        let (upstream, read) = (Arc::clone(&self.upstream), key.clone());
        pages
            .load(key, &self.kept, move || {
                async move { upstream.read(&read).await }.boxed()
            })
            .await
    }

    /// One execution of a job.
    pub async fn execution(&self, key: ExecutionRef) -> Loaded<JobExecution> {
        loaded("execution");
        settle(self.executions.try_load(key).await)
    }

    /// A page of the workspace's jobs.
    pub async fn jobs_page(&self, request: ListJobsRequest) -> Loaded<Page<Job>> {
        loaded("jobs_page");
        self.held(&self.jobs_pages, request).await
    }

    /// One job by name.
    pub async fn job(&self, name: String) -> Loaded<Job> {
        loaded("job");
        settle(self.jobs.try_load(name).await)
    }

    /// A page of an execution's tasks.
    pub async fn tasks_page(&self, key: TasksPage) -> Loaded<Page<JobExecutionTask>> {
        loaded("tasks_page");
        self.held(&self.tasks_pages, key).await
    }

    /// Forgets every answer: the next load of any key calls the upstream again, and the cap on
    /// upstream calls starts over. A live stream calls it before each of its states, so that the
    /// fields of a new state are read anew, within the cap of one request each.
    pub async fn forget(&self) {
        self.upstream.calls.store(0, Ordering::Relaxed);
        self.kept.reset(self.kept_items);
        self.executions_pages.clear();
        self.encoded_executions_pages.clear();
        self.executions.clear_all().await;
        self.jobs_pages.clear();
        self.jobs.clear_all().await;
        self.tasks_pages.clear();
    }

    /// Stores `page` as the answer to `key`, as if the upstream had sent it: later loads of
    /// `key` in this request cost no upstream call (benchmarks and tests use this).
    pub async fn prime_executions_page(&self, key: ExecutionsPage, page: Page<JobExecution>) {
        self.executions_pages.prime(key, Arc::new(page));
    }

    /// To call once this request's caller has written (a create or a cancel, whatever its
    /// outcome): the reads of this credential in flight may have left before the write, so no
    /// later read joins them; it calls the upstream and sees the write.
    pub fn after_write(&self) {
        if let Some(in_flight) = &self.upstream.in_flight {
            in_flight.0.forget(&self.upstream.credentials);
        }
    }

    /// [`RequestLoader::after_write`] when the guard is dropped: take it before a write, so that
    /// it runs however the write ends (answered, failed, cut by a deadline, or its caller gone).
    pub fn writing(&self) -> Writing<'_> {
        Writing(self)
    }

    /// The same loaders keeping at most `items` items of pages to the request's end (default
    /// [`KEPT_ITEMS`]; tests use 0 to see pages go as soon as they are used).
    #[must_use]
    pub fn keeping(mut self, items: usize) -> Self {
        self.kept = KeptItems::new(items);
        self.kept_items = items;
        self
    }

    /// Pages of executions this request holds right now (kept, or held by some field).
    pub fn executions_pages_held(&self) -> usize {
        self.executions_pages.held()
    }

    /// Upstream calls this request made (or tried past its cap).
    pub fn upstream_calls(&self) -> u64 {
        self.upstream.calls.load(Ordering::Relaxed)
    }
}

/// A write in progress of a request (see [`RequestLoader::writing`]).
pub struct Writing<'a>(&'a RequestLoader);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.0.after_write();
    }
}

/// Counts a load by kind: loads beyond `gateway_loader_upstream_calls_total` were served by the
/// request's loaders (deduplicated or batched) without an upstream call of their own.
fn loaded(kind: &'static str) {
    metrics::counter!("gateway_loader_loads_total", "kind" => kind).increment(1);
}

/// The loader's own error means a batch function left a key unanswered, which ours never do;
/// it is reported as an upstream failure of that key rather than a panic.
fn settle<T>(result: Result<Loaded<T>, std::io::Error>) -> Loaded<T> {
    result.unwrap_or_else(|e| {
        Err(Arc::new(Error::new(
            Code::UpstreamError,
            format!("the request's loader lost a key: {e}"),
        )))
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use blaxel_emulator::{EmulatorConfig, Fault};
    use blaxel_transport::ClientConfig;

    use super::*;

    const GET_EXECUTION: &str = "GET /v0/jobs/{jobId}/executions/{executionId}";

    fn key() -> ExecutionRef {
        ExecutionRef {
            job: "data-processing-job".into(),
            id: "exec-abc123".into(),
        }
    }

    /// The default emulator and a client of it with the demo token.
    async fn emulator() -> (blaxel_emulator::EmulatorHandle, Client) {
        let emulator = blaxel_emulator::spawn(EmulatorConfig::default())
            .await
            .unwrap();
        let client = Client::new(ClientConfig {
            token: Some("dev-token".into()),
            ..ClientConfig::new(emulator.base_url())
        })
        .unwrap();
        (emulator, client)
    }

    /// [`emulator`], answering `route` after 300 ms.
    async fn slow_emulator(route: &str) -> (blaxel_emulator::EmulatorHandle, Client) {
        let (emulator, client) = emulator().await;
        emulator.emulator().set_faults(vec![Fault {
            route: route.to_owned(),
            latency_ms: Some(300),
            ..Default::default()
        }]);
        (emulator, client)
    }

    /// A load of a key whose batch is still in flight waits for that batch and shares its
    /// result: one upstream call. Another key asked meanwhile gets its own call.
    #[tokio::test]
    async fn a_key_loaded_while_its_batch_is_in_flight_costs_one_call() {
        let (emulator, client) = slow_emulator(GET_EXECUTION).await;
        let loader = Arc::new(RequestLoader::new(
            client,
            Credentials::default(),
            8,
            100,
            None,
            ExecutionProjection::ALL,
        ));
        let early = tokio::spawn({
            let loader = Arc::clone(&loader);
            async move { loader.execution(key()).await }
        });
        // The first batch is now waiting on the slow upstream.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(emulator.emulator().requests(GET_EXECUTION), 1);
        let late = loader.execution(key()).await.unwrap();
        let early = early.await.unwrap().unwrap();
        assert!(Arc::ptr_eq(&late, &early), "the same answer, shared");
        assert_eq!(emulator.emulator().requests(GET_EXECUTION), 1);
        // A different key is a call of its own; a failing key does not poison the others.
        let missing = loader
            .execution(ExecutionRef {
                id: "exec-nope".into(),
                ..key()
            })
            .await;
        assert!(matches!(
            missing.as_ref().map_err(|e| e.code),
            Err(Code::NotFound)
        ));
        assert_eq!(emulator.emulator().requests(GET_EXECUTION), 2);
        assert!(loader.execution(key()).await.is_ok());
        assert_eq!(emulator.emulator().requests(GET_EXECUTION), 2);
    }

    /// Identical query operations of one caller in flight at once run once and each gets a copy
    /// of the answer; another credential, other variables, or a request after the caller's own
    /// write run again; nothing is kept once the answer is out.
    #[tokio::test]
    async fn identical_operations_of_one_caller_run_once() {
        let in_flight = InFlight::default();
        let runs = Arc::new(AtomicU64::new(0));
        let operation = |variables: &str| Operation {
            query: "query($n: Int) { jobs(first: $n) { totalCount } }".into(),
            operation_name: None,
            variables: variables.into(),
        };
        let share = |credentials: Credentials, key: Operation| {
            let (in_flight, runs) = (in_flight.clone(), Arc::clone(&runs));
            tokio::spawn(async move {
                let execute = async move {
                    let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    async_graphql::Response::new(async_graphql::Value::from(n)).http_headers(
                        [(http::header::CACHE_CONTROL, "private".parse().unwrap())]
                            .into_iter()
                            .collect(),
                    )
                }
                .boxed();
                in_flight.share_operation(credentials, key, execute).await
            })
        };
        let alice = Credentials::with_token("alice");
        let bob = Credentials::with_token("bob");
        let mut calls = Vec::new();
        for _ in 0..8 {
            calls.push(share(alice.clone(), operation(r#"{"n":1}"#)));
        }
        calls.push(share(bob.clone(), operation(r#"{"n":1}"#)));
        calls.push(share(alice.clone(), operation(r#"{"n":2}"#)));
        let mut answers = Vec::new();
        for call in calls {
            answers.push(call.await.unwrap());
        }
        assert_eq!(runs.load(Ordering::SeqCst), 3, "alice's eight, bob's, n=2");
        let first = &answers[0];
        for answer in &answers[..8] {
            assert_eq!(answer.data, first.data);
            assert_eq!(answer.http_headers["cache-control"], "private");
        }
        assert_ne!(answers[8].data, first.data, "bob ran his own");
        // Answered: the next identical operation runs again.
        share(alice.clone(), operation(r#"{"n":1}"#)).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 4);
        // After alice's write, a new operation does not join one that started before it.
        let early = share(alice.clone(), operation(r#"{"n":1}"#));
        tokio::time::sleep(Duration::from_millis(50)).await;
        in_flight.0.forget(&alice);
        let late = share(alice.clone(), operation(r#"{"n":1}"#));
        let (early, late) = (early.await.unwrap(), late.await.unwrap());
        assert_ne!(early.data, late.data);
        assert_eq!(runs.load(Ordering::SeqCst), 6);
    }

    /// Loaders of two requests sharing [`InFlight`]: the same key with the same credential costs
    /// one call while it is in flight; another credential never joins it; a request whose
    /// client went away leaves the call to the one still waiting.
    #[tokio::test]
    async fn in_flight_reads_are_shared_by_credential_only() {
        let emulator = blaxel_emulator::spawn(EmulatorConfig {
            tokens: vec![
                ("dev-token".into(), "my-workspace".into()),
                ("other-token".into(), "my-workspace".into()),
            ],
            ..EmulatorConfig::default()
        })
        .await
        .unwrap();
        emulator.emulator().set_faults(vec![Fault {
            route: GET_EXECUTION.to_owned(),
            latency_ms: Some(300),
            ..Default::default()
        }]);
        let client = Client::new(ClientConfig::new(emulator.base_url())).unwrap();
        let in_flight = InFlight::default();
        let loader = |token: &str| {
            RequestLoader::new(
                client.clone(),
                Credentials::with_token(token),
                8,
                100,
                Some(in_flight.clone()),
                ExecutionProjection::ALL,
            )
        };
        let (a, b, c) = (
            loader("dev-token"),
            loader("dev-token"),
            loader("other-token"),
        );
        let (a, b, c) = tokio::join!(a.execution(key()), b.execution(key()), c.execution(key()));
        let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
        assert!(Arc::ptr_eq(&a, &b), "one call, one answer");
        assert!(!Arc::ptr_eq(&a, &c), "another credential, another call");
        assert_eq!(emulator.emulator().requests(GET_EXECUTION), 2);
        assert!(in_flight.0.executions.map.lock().unwrap().is_empty());

        // The first request gives up: the second still gets the answer of the one call.
        let (first, second) = (loader("dev-token"), loader("dev-token"));
        let (cancelled, answer) = tokio::join!(
            tokio::time::timeout(Duration::from_millis(100), first.execution(key())),
            second.execution(key())
        );
        assert!(cancelled.is_err());
        assert!(answer.is_ok());
        assert_eq!(emulator.emulator().requests(GET_EXECUTION), 3);
        assert!(in_flight.0.executions.map.lock().unwrap().is_empty());

        // After a write of this credential, a read does not join the flight that left before,
        // also when the write was cut before it answered (its deadline, its caller gone).
        let (before, writer, after) = (
            loader("dev-token"),
            loader("dev-token"),
            loader("dev-token"),
        );
        let reads = async {
            let early = before.execution(key()).await;
            assert!(early.is_ok());
        };
        let write_then_read = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let cut_write = async {
                let _written = writer.writing();
                std::future::pending::<()>().await;
            };
            let _ = tokio::time::timeout(Duration::from_millis(5), cut_write).await;
            assert!(after.execution(key()).await.is_ok());
        };
        tokio::join!(reads, write_then_read);
        assert_eq!(emulator.emulator().requests(GET_EXECUTION), 5);
        assert!(in_flight.0.executions.map.lock().unwrap().is_empty());

        // Every waiter gone before the answer: the flight leaves the map.
        let gone = loader("dev-token");
        let _ = tokio::time::timeout(Duration::from_millis(50), gone.execution(key())).await;
        assert!(in_flight.0.executions.map.lock().unwrap().is_empty());
    }

    /// A request's projection trims what its loaders hold, and requests that keep different
    /// parts never share a flight: a request reading every field must not get the page of one
    /// that dropped the tasks.
    #[tokio::test]
    async fn projections_trim_pages_and_split_flights() {
        const LIST: &str = "GET /v0/jobs/{jobId}/executions";
        let (emulator, client) = slow_emulator(LIST).await;
        let in_flight = InFlight::default();
        let loader = |projection| {
            RequestLoader::new(
                client.clone(),
                Credentials::default(),
                8,
                100,
                Some(in_flight.clone()),
                projection,
            )
        };
        let page = || ExecutionsPage {
            job: "data-processing-job".to_owned(),
            request: ListExecutionsRequest {
                limit: Some(10),
                ..ListExecutionsRequest::default()
            },
        };
        let (narrow, narrow_too, whole) = (
            loader(ExecutionProjection::IDENTITY),
            loader(ExecutionProjection::IDENTITY),
            loader(ExecutionProjection::ALL),
        );
        let (a, b, c) = tokio::join!(
            narrow.executions_page(page()),
            narrow_too.executions_page(page()),
            whole.executions_page(page())
        );
        let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
        assert!(Arc::ptr_eq(&a, &b), "one projection, one flight");
        assert_eq!(
            emulator.emulator().requests(LIST),
            2,
            "two projections, two calls"
        );
        assert_eq!(a.items.len(), c.items.len());
        for (trimmed, full) in a.items.iter().zip(&c.items) {
            assert_eq!(trimmed.metadata.id, full.metadata.id);
            assert_eq!(trimmed.status, full.status);
            assert!(trimmed.tasks.is_empty() && trimmed.spec.tasks.is_empty());
            assert!(trimmed.metadata.created_at.is_none());
            assert!(!full.tasks.is_empty() && full.metadata.created_at.is_some());
        }
    }

    /// Within the request's kept items, a page stays when no field holds it: asked again later
    /// (the same executions under two parents), it costs no call. A page past them goes.
    #[tokio::test]
    async fn pages_within_the_kept_items_stay_to_the_end() {
        const LIST: &str = "GET /v0/jobs/{jobId}/executions";
        let (emulator, client) = emulator().await;
        let loader = RequestLoader::new(
            client,
            Credentials::default(),
            8,
            100,
            None,
            ExecutionProjection::ALL,
        )
        .keeping(15);
        let page = |limit: u32| ExecutionsPage {
            job: "data-processing-job".to_owned(),
            request: ListExecutionsRequest {
                limit: Some(limit),
                ..ListExecutionsRequest::default()
            },
        };
        let calls = || emulator.emulator().requests(LIST);
        for _ in 0..3 {
            let kept = loader.executions_page(page(10)).await.unwrap();
            assert_eq!(kept.items.len(), 10);
        }
        assert_eq!(calls(), 1, "10 items fit in 15: kept, one call");
        for _ in 0..2 {
            let past = loader.executions_page(page(6)).await.unwrap();
            assert_eq!(past.items.len(), 6);
        }
        assert_eq!(calls(), 3, "6 more do not fit: freed after use, read again");
        assert_eq!(loader.executions_pages_held(), 1);
        loader.forget().await;
        loader.executions_page(page(6)).await.unwrap();
        loader.executions_page(page(6)).await.unwrap();
        assert_eq!(calls(), 4, "forget starts the kept items over");
    }

    /// A page is shared while a field holds it (one call for fields asking together or later)
    /// and freed once none does; asked again after that, it is read again. An error is kept.
    #[tokio::test]
    async fn a_page_is_held_while_used_and_read_again_once_freed() {
        const LIST: &str = "GET /v0/jobs/{jobId}/executions";
        let (emulator, client) = emulator().await;
        let loader = RequestLoader::new(
            client,
            Credentials::default(),
            8,
            100,
            None,
            ExecutionProjection::ALL,
        )
        .keeping(0);
        let page = |job: &str| ExecutionsPage {
            job: job.to_owned(),
            request: ListExecutionsRequest {
                limit: Some(10),
                ..ListExecutionsRequest::default()
            },
        };
        let calls = || emulator.emulator().requests(LIST);
        let job = "data-processing-job";
        let (a, b) = tokio::join!(
            loader.executions_page(page(job)),
            loader.executions_page(page(job))
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(Arc::ptr_eq(&a, &b));
        let c = loader.executions_page(page(job)).await.unwrap();
        assert!(Arc::ptr_eq(&a, &c), "still held: no second read");
        assert_eq!((calls(), loader.executions_pages_held()), (1, 1));
        let freed = Arc::downgrade(&a);
        drop((a, b, c));
        assert_eq!(freed.strong_count(), 0, "the loader does not keep it");
        assert_eq!(loader.executions_pages_held(), 0);
        let again = loader.executions_page(page(job)).await.unwrap();
        assert_eq!(again.items.len(), 10);
        assert_eq!(calls(), 2, "freed, so read again");
        drop(again);
        for _ in 0..2 {
            let missing = loader.executions_page(page("no-such-job")).await;
            assert_eq!(missing.unwrap_err().code, Code::NotFound);
        }
        assert_eq!(calls(), 3, "an error is kept: one call");
        assert_eq!(loader.upstream_calls(), 3);
    }
}
