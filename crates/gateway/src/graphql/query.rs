//! The root query: connections, single lookups and Relay's `node`.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object, Result};
use blaxel_models::PaginationSort;

use super::{
    Settings,
    connection::{JobConnection, connection},
    cost,
    error::{bad_input, or_null, to_graphql},
    execution::JobExecution,
    job::Job,
    node::{GlobalId, Node, id_workspace},
    prerender::Prerender,
    rendered::ExecutionsConnection,
    walk::ExecutionNode,
};
use crate::{
    caller::Caller,
    error::{Code, Error},
    loader::{ExecutionRef, RequestLoader},
    pagination::{self, JobExecutions, Jobs, Listing, PageArgs, Paginated},
};

/// Longest job name or execution id accepted, in characters. Blaxel names are DNS-style labels
/// (at most 63) and execution ids are short: anything longer is refused before the upstream.
pub const MAX_NAME_CHARS: usize = 256;

/// `BAD_USER_INPUT` unless every `(argument, value)` is a plausible name: not empty, at most
/// [`MAX_NAME_CHARS`] characters.
pub(crate) fn check_names(args: &[(&str, &str)]) -> Result<()> {
    for (arg, value) in args {
        if value.is_empty() {
            return Err(bad_input(format!("`{arg}` must not be empty")));
        }
        let chars = value.chars().count();
        if chars > MAX_NAME_CHARS {
            return Err(bad_input(format!(
                "`{arg}` must be at most {MAX_NAME_CHARS} characters, got {chars}"
            )));
        }
    }
    Ok(())
}

/// Order of a job's executions (upstream `sort`).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum JobExecutionSort {
    /// Newest first (`createdAt:desc`, the upstream default).
    #[default]
    CreatedAtDesc,
    /// Oldest first (`createdAt:asc`).
    CreatedAtAsc,
    /// By execution id, ascending (`name:asc`; executions have no name, the upstream orders by id).
    NameAsc,
    /// By execution id, descending (`name:desc`).
    NameDesc,
}

/// Order of jobs (upstream `sort`).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum JobSort {
    /// Newest first (`createdAt:desc`, the upstream default).
    #[default]
    CreatedAtDesc,
    /// Oldest first (`createdAt:asc`).
    CreatedAtAsc,
    /// By name, ascending (`name:asc`).
    NameAsc,
    /// By name, descending (`name:desc`).
    NameDesc,
}

impl From<JobExecutionSort> for PaginationSort {
    fn from(s: JobExecutionSort) -> Self {
        match s {
            JobExecutionSort::CreatedAtDesc => PaginationSort::CreatedAtDesc,
            JobExecutionSort::CreatedAtAsc => PaginationSort::CreatedAtAsc,
            JobExecutionSort::NameAsc => PaginationSort::NameAsc,
            JobExecutionSort::NameDesc => PaginationSort::NameDesc,
        }
    }
}

impl From<JobSort> for PaginationSort {
    fn from(s: JobSort) -> Self {
        PaginationSort::from(match s {
            JobSort::CreatedAtDesc => JobExecutionSort::CreatedAtDesc,
            JobSort::CreatedAtAsc => JobExecutionSort::CreatedAtAsc,
            JobSort::NameAsc => JobExecutionSort::NameAsc,
            JobSort::NameDesc => JobExecutionSort::NameDesc,
        })
    }
}

/// Pagination arguments as a GraphQL client sent them.
pub(crate) struct ConnectionArgs {
    pub(crate) first: Option<i32>,
    pub(crate) after: Option<String>,
    pub(crate) last: Option<i32>,
    pub(crate) before: Option<String>,
    pub(crate) query: Option<String>,
}

/// Refuses backward pagination, validates the rest, checks the cursor's binding before any
/// upstream call, and serves the slice through the request's loader.
pub(crate) async fn paginate<L: Listing, N>(
    ctx: &Context<'_>,
    listing: &L,
    args: ConnectionArgs,
    sort: PaginationSort,
    node: impl FnMut(&Arc<blaxel_models::Page<L::Item>>, usize) -> N,
) -> Result<Paginated<N>> {
    if args.last.is_some() || args.before.is_some() {
        return Err(bad_input(
            "`last` and `before` are not supported: the Blaxel API pages forward only; use `first` and `after`",
        ));
    }
    let settings = ctx.data_unchecked::<Settings>();
    let mut page_args = PageArgs::new(
        "first",
        args.first.map(i64::from),
        args.after,
        args.query.as_deref(),
        settings.max_first,
    )
    .map_err(|e| to_graphql(e.into()))?;
    if !selects_items(ctx) {
        // Only the totals: they are the listing's meta, which any page carries. One upstream page
        // of one item answers them however large `first` is, and no item is held (the cost model
        // prices such a connection the same way, see `cost::selects_items`).
        page_args.first = 0;
    }
    pagination::paginate(
        listing,
        ctx.data_unchecked::<Arc<RequestLoader>>(),
        ctx.data_unchecked::<Caller>(),
        settings.contract,
        &page_args,
        sort,
        node,
    )
    .await
    .map_err(|e| to_graphql(Error::paginate("after", e)))
}

/// Whether the connection being resolved selects anything of its items: `edges`, `nodes` or
/// `pageInfo` (whose cursors and `hasNextPage` depend on the items served), through fragments too.
fn selects_items(ctx: &Context<'_>) -> bool {
    let selection = ctx.look_ahead();
    cost::ITEM_FIELDS
        .iter()
        .any(|field| selection.field(field).exists())
}

/// A job's executions as a connection (shared by `Query.jobExecutions` and `Job.executions`).
pub(crate) async fn executions_connection(
    ctx: &Context<'_>,
    job: &str,
    args: ConnectionArgs,
    sort: JobExecutionSort,
) -> Result<Option<ExecutionsConnection>> {
    check_names(&[("jobName", job)])?;
    // Rendered page by page when the answer is written as JSON, each page let go before the
    // next is read (see `prerender`); else each edge holds its page until resolved.
    let prerender = Prerender::of(ctx);
    let node = move |page: &Arc<_>, index| match &prerender {
        Some(prerender) => prerender.node(page, index),
        None => ExecutionNode::model(JobExecution::in_page(page, index)),
    };
    let paginated = paginate(ctx, &JobExecutions { job }, args, sort.into(), node).await?;
    Ok(Some(ExecutionsConnection::of(ctx, connection(paginated))))
}

/// The root query.
pub struct Query;

#[Object]
impl Query {
    /// A job's executions, as a Relay connection mapped onto the Blaxel API's cursor pagination
    /// (`GET /v0/jobs/{jobId}/executions`). Every edge has its own cursor; `after:` any of them
    /// resumes right after it. `first` above 100 follows upstream pages (up to the gateway's
    /// maxFirst, default 500). Backward pagination (`last`, `before`) is rejected: the upstream
    /// pages forward only. Null, with an error, when the listing fails.
    #[graphql(
        complexity = "(*first.as_ref().unwrap_or(&20)).clamp(1, 1000) as usize * child_complexity"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn job_executions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Job name (`metadata.name`).")] job_name: String,
        #[graphql(desc = "Number of executions, 0 to maxFirst.", default = 20)] first: Option<i32>,
        #[graphql(desc = "Cursor of an edge: return the executions after it.")] after: Option<
            String,
        >,
        #[graphql(desc = "Not supported: rejected with BAD_USER_INPUT.")] last: Option<i32>,
        #[graphql(desc = "Not supported: rejected with BAD_USER_INPUT.")] before: Option<String>,
        #[graphql(desc = "Order.", default)] sort: Option<JobExecutionSort>,
        #[graphql(
            desc = "Substring search over execution id and job name (upstream `q`): trimmed, lowercased, ignored under 2 characters, at most 200."
        )]
        query: Option<String>,
    ) -> Result<Option<ExecutionsConnection>> {
        let args = ConnectionArgs {
            first,
            after,
            last,
            before,
            query,
        };
        or_null(
            ctx,
            executions_connection(ctx, &job_name, args, sort.unwrap_or_default()).await,
        )
    }

    /// One execution of a job (`GET /v0/jobs/{jobId}/executions/{executionId}`); null when the
    /// job or the execution does not exist.
    async fn job_execution(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Job name.")] job_name: String,
        #[graphql(desc = "Execution id (`metadata.id`), e.g. `exec-abc123`.")] id: String,
    ) -> Result<Option<JobExecution>> {
        or_null(ctx, fetch_execution(ctx, job_name, id).await)
    }

    /// One job (`GET /v0/jobs/{jobId}`); null when it does not exist.
    async fn job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Job name.")] name: String,
    ) -> Result<Option<Job>> {
        or_null(ctx, fetch_job(ctx, name).await)
    }

    /// The workspace's jobs, as a Relay connection over `GET /v0/jobs`. Null, with an error,
    /// when the listing fails.
    #[graphql(
        complexity = "(*first.as_ref().unwrap_or(&20)).clamp(1, 1000) as usize * child_complexity"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Number of jobs, 0 to maxFirst.", default = 20)] first: Option<i32>,
        #[graphql(desc = "Cursor of an edge: return the jobs after it.")] after: Option<String>,
        #[graphql(desc = "Not supported: rejected with BAD_USER_INPUT.")] last: Option<i32>,
        #[graphql(desc = "Not supported: rejected with BAD_USER_INPUT.")] before: Option<String>,
        #[graphql(desc = "Order.", default)] sort: Option<JobSort>,
        #[graphql(desc = "Substring search over name, display name and labels (upstream `q`).")]
        query: Option<String>,
    ) -> Result<Option<JobConnection>> {
        let args = ConnectionArgs {
            first,
            after,
            last,
            before,
            query,
        };
        let sort = PaginationSort::from(sort.unwrap_or_default());
        let jobs = paginate(ctx, &Jobs, args, sort, Job::in_page).await;
        or_null(ctx, jobs.map(|paginated| Some(connection(paginated))))
    }

    /// Relay refetch: the object with this global id, or null when it no longer exists or was
    /// read in another workspace than the caller's.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id.")] id: ID,
    ) -> Result<Option<Node>> {
        or_null(ctx, node(ctx, &id).await)
    }
}

/// The object of global id `id` in the caller's workspace.
async fn node(ctx: &Context<'_>, id: &str) -> Result<Option<Node>> {
    let Some(id) = GlobalId::parse(id) else {
        return Err(bad_input("`id` is not a global id issued by this gateway"));
    };
    let caller = &ctx.data_unchecked::<Caller>().workspace;
    if !caller.is_empty() && id.workspace() != caller {
        return Ok(None);
    }
    // Without a named workspace the upstream picks the token's; the object must be in the
    // id's workspace all the same.
    let same = |object: Option<&str>| id_workspace(object, caller) == id.workspace();
    match &id {
        GlobalId::JobExecution { job, id, .. } => Ok(fetch_execution(ctx, job.clone(), id.clone())
            .await?
            .filter(|e| same(e.model().metadata.workspace.as_deref()))
            .map(Node::JobExecution)),
        GlobalId::Job { name, .. } => Ok(fetch_job(ctx, name.clone())
            .await?
            .filter(|j| same(j.model().metadata.workspace.as_deref()))
            .map(Node::Job)),
    }
}

/// `Ok(None)` for an upstream 404, the GraphQL error for any other failure.
fn found<T>(loaded: crate::loader::Loaded<T>) -> Result<Option<Arc<T>>> {
    match loaded {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.code == Code::NotFound => Ok(None),
        Err(e) => Err(to_graphql((*e).clone())),
    }
}

async fn fetch_execution(
    ctx: &Context<'_>,
    job: String,
    id: String,
) -> Result<Option<JobExecution>> {
    check_names(&[("jobName", &job), ("id", &id)])?;
    let loader = ctx.data_unchecked::<Arc<RequestLoader>>();
    Ok(found(loader.execution(ExecutionRef { job, id }).await)?.map(JobExecution::single))
}

async fn fetch_job(ctx: &Context<'_>, name: String) -> Result<Option<Job>> {
    check_names(&[("name", &name)])?;
    let loader = ctx.data_unchecked::<Arc<RequestLoader>>();
    Ok(found(loader.job(name).await)?.map(Job::single))
}
