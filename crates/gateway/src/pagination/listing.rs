//! One generic path from validated arguments to a slice, for every listing (executions, jobs,
//! tasks) and every face (GraphQL connections, gRPC page tokens).

use std::{future::Future, sync::Arc};

use blaxel_models::{Job, JobExecution, JobExecutionTask, Page, PaginationSort};
use blaxel_transport::{
    ListExecutionsRequest, ListJobsRequest, ListTasksRequest, MAX_EXECUTIONS_LIMIT,
    MAX_SHARED_LIMIT,
};

use super::{
    Contract, PageArgs,
    cursor::{self, Binding, CursorError, Position},
    slice::{PageRequest, Slice, SliceError, fetch_slice},
};
use crate::{
    caller::Caller,
    error::Error,
    grpc::transcode::EncodedExecution,
    loader::{EncodedExecutionsPage, ExecutionsPage, RequestLoader, TasksPage},
};

/// A listing the gateway pages: what its cursors are bound to and how one upstream page loads.
pub trait Listing {
    /// The listed model (`blaxel_models::JobExecution`, `Job`, ...).
    type Item: Send + Sync + 'static;
    /// The listing's name in the cursor binding: `"executions"`, `"jobs"`, `"tasks"`.
    const NAME: &'static str;
    /// Largest upstream page (`limit`) of this listing.
    const MAX_PAGE: u32;

    /// What the listing is inside, bound into cursors: the job name for executions, `job/id`
    /// for tasks, empty for jobs.
    fn scope(&self) -> &str;

    /// An item's id: the anchor of mid-page cursors.
    fn id(item: &Self::Item) -> &str;

    /// Loads one upstream page through the request's loader.
    fn load(
        &self,
        loader: &RequestLoader,
        page: PageRequest,
        sort: PaginationSort,
        query: &str,
    ) -> impl Future<Output = Result<Arc<Page<Self::Item>>, Arc<Error>>> + Send;
}

/// A served slice and the fingerprint its cursors carry.
#[derive(Debug)]
pub struct Paginated<N> {
    /// The edges' nodes, their positions and the page info.
    pub slice: Slice<N>,
    /// The binding's fingerprint (see [`Binding::fingerprint`]).
    pub fingerprint: [u8; 8],
}

impl<N> Paginated<N> {
    /// The opaque cursor (GraphQL) or page token (gRPC) of `position` in this listing.
    pub fn cursor(&self, position: &Position) -> String {
        cursor::encode(self.fingerprint, position)
    }
}

/// Why a listing could not be served.
#[derive(Debug)]
pub enum PaginateError {
    /// The `after` cursor is malformed, of another version or bound to another query.
    Cursor(CursorError),
    /// The cursor was issued under the other upstream contract (another API version).
    OtherContract,
    /// `sort` or `query` asked of the legacy contract, which ignores both.
    LegacyUnsupported,
    /// Loading a page failed (the upstream's error, or a cap of the request).
    Load(Arc<Error>),
    /// The upstream repeated a page cursor.
    NoProgress,
    /// A mid-page cursor's item is gone or moved too far (see [`super::slice::MAX_ANCHOR_PAGES`]).
    AnchorLost,
}

/// Checks the `after` cursor against the listing's binding before any upstream call, then serves
/// `args.first` items through `loader`, each made an edge's node by `node(page, index)` as its
/// page arrives (see [`fetch_slice`]: [`super::InPage::of`] keeps the pages, a node that renders
/// or converts its item lets each page go before the next is read).
///
/// # Errors
/// [`PaginateError`]: cursor and contract errors are found before any upstream call.
pub async fn paginate<L: Listing, N>(
    listing: &L,
    loader: &RequestLoader,
    caller: &Caller,
    contract: Contract,
    args: &PageArgs,
    sort: PaginationSort,
    node: impl FnMut(&Arc<Page<L::Item>>, usize) -> N,
) -> Result<Paginated<N>, PaginateError> {
    if contract == Contract::Legacy
        && (sort != PaginationSort::CreatedAtDesc || !args.query.is_empty())
    {
        return Err(PaginateError::LegacyUnsupported);
    }
    let sort_wire = sort.to_string();
    let binding = Binding {
        listing: L::NAME,
        job: listing.scope(),
        sort: &sort_wire,
        query: &args.query,
        workspace: &caller.workspace,
        contract,
    };
    let fingerprint = binding.fingerprint();
    let start = match &args.after {
        None => contract.start(),
        Some(raw) => {
            let position = cursor::decode(raw, fingerprint).map_err(PaginateError::Cursor)?;
            let same_contract = matches!(
                (&position, contract),
                (Position::Upstream { .. }, Contract::Cursor)
                    | (Position::Offset(_), Contract::Legacy)
            );
            if !same_contract {
                return Err(PaginateError::OtherContract);
            }
            position
        }
    };
    let query = args.query.as_str();
    let slice = fetch_slice(
        start,
        args.first,
        L::MAX_PAGE,
        L::id,
        |page| listing.load(loader, page, sort, query),
        node,
    )
    .await
    .map_err(|e| match e {
        SliceError::Fetch(e) => PaginateError::Load(e),
        SliceError::NoProgress { .. } => PaginateError::NoProgress,
        SliceError::AnchorLost => PaginateError::AnchorLost,
    })?;
    Ok(Paginated { slice, fingerprint })
}

/// A job's executions: `GET /jobs/{job}/executions` (cursors bound to the job).
pub struct JobExecutions<'a> {
    /// The job's name.
    pub job: &'a str,
}

impl Listing for JobExecutions<'_> {
    type Item = JobExecution;
    const NAME: &'static str = "executions";
    const MAX_PAGE: u32 = MAX_EXECUTIONS_LIMIT;

    fn scope(&self) -> &str {
        self.job
    }

    fn id(item: &JobExecution) -> &str {
        item.metadata.id.as_deref().unwrap_or("")
    }

    async fn load(
        &self,
        loader: &RequestLoader,
        page: PageRequest,
        sort: PaginationSort,
        query: &str,
    ) -> Result<Arc<Page<JobExecution>>, Arc<Error>> {
        loader
            .executions_page(self.page_key(page, sort, query))
            .await
    }
}

impl JobExecutions<'_> {
    /// The upstream request of one page.
    fn page_key(&self, page: PageRequest, sort: PaginationSort, query: &str) -> ExecutionsPage {
        ExecutionsPage {
            job: self.job.to_owned(),
            request: ListExecutionsRequest {
                limit: Some(page.limit),
                cursor: page.cursor,
                sort: Some(sort),
                q: (!query.is_empty()).then(|| query.to_owned()),
                offset: page.offset,
            },
        }
    }
}

/// A job's executions as the gRPC face lists them, each read straight into its protobuf
/// encoding: the same upstream pages, cursors and page tokens as [`JobExecutions`].
pub struct EncodedJobExecutions<'a> {
    /// Job name.
    pub job: &'a str,
}

impl Listing for EncodedJobExecutions<'_> {
    type Item = EncodedExecution;
    const NAME: &'static str = JobExecutions::NAME;
    const MAX_PAGE: u32 = JobExecutions::MAX_PAGE;

    fn scope(&self) -> &str {
        self.job
    }

    fn id(item: &EncodedExecution) -> &str {
        &item.id
    }

    async fn load(
        &self,
        loader: &RequestLoader,
        page: PageRequest,
        sort: PaginationSort,
        query: &str,
    ) -> Result<Arc<Page<EncodedExecution>>, Arc<Error>> {
        let key = JobExecutions { job: self.job }.page_key(page, sort, query);
        loader
            .encoded_executions_page(EncodedExecutionsPage(key))
            .await
    }
}

/// The workspace's jobs: `GET /jobs`.
pub struct Jobs;

impl Listing for Jobs {
    type Item = Job;
    const NAME: &'static str = "jobs";
    const MAX_PAGE: u32 = MAX_SHARED_LIMIT;

    fn scope(&self) -> &str {
        ""
    }

    fn id(item: &Job) -> &str {
        &item.metadata.name
    }

    async fn load(
        &self,
        loader: &RequestLoader,
        page: PageRequest,
        sort: PaginationSort,
        query: &str,
    ) -> Result<Arc<Page<Job>>, Arc<Error>> {
        loader
            .jobs_page(ListJobsRequest {
                limit: Some(page.limit),
                cursor: page.cursor,
                sort: Some(sort),
                q: (!query.is_empty()).then(|| query.to_owned()),
                ..ListJobsRequest::default()
            })
            .await
    }
}

/// An execution's tasks: `GET /jobs/{job}/executions/{id}/tasks` (cursors bound to the job and
/// the execution).
pub struct JobExecutionTasks<'a> {
    /// The job's name.
    pub job: &'a str,
    /// The execution's id.
    pub execution: &'a str,
    /// `job/execution`: the cursors' scope.
    scope: String,
}

impl<'a> JobExecutionTasks<'a> {
    /// The tasks of `execution` of `job`.
    pub fn new(job: &'a str, execution: &'a str) -> Self {
        Self {
            job,
            execution,
            scope: format!("{job}/{execution}"),
        }
    }
}

impl Listing for JobExecutionTasks<'_> {
    type Item = JobExecutionTask;
    const NAME: &'static str = "tasks";
    const MAX_PAGE: u32 = MAX_SHARED_LIMIT;

    fn scope(&self) -> &str {
        &self.scope
    }

    fn id(item: &JobExecutionTask) -> &str {
        item.metadata
            .as_ref()
            .and_then(|m| m.name.as_deref())
            .unwrap_or("")
    }

    async fn load(
        &self,
        loader: &RequestLoader,
        page: PageRequest,
        sort: PaginationSort,
        query: &str,
    ) -> Result<Arc<Page<JobExecutionTask>>, Arc<Error>> {
        loader
            .tasks_page(TasksPage {
                job: self.job.to_owned(),
                execution: self.execution.to_owned(),
                request: ListTasksRequest {
                    limit: Some(page.limit),
                    cursor: page.cursor,
                    sort: Some(sort),
                    q: (!query.is_empty()).then(|| query.to_owned()),
                },
            })
            .await
    }
}
