//! The GraphQL schema: queries, connections and the Relay `Node` interface.
//!
//! Object types mirror the upstream models (see [`execution`] and [`job`]) and borrow from the
//! decoded upstream pages: nothing is copied between the models and the response.

pub mod execution;
pub mod job;
pub mod plain;
pub mod scalars;

use std::sync::Arc;

use async_graphql::{
    Context, EmptyMutation, EmptySubscription, Enum, ID, Interface, Object, Result, Schema,
    SchemaBuilder, SimpleObject,
    connection::{Connection, Edge},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use blaxel_models::{self as models, PaginationSort};
use blaxel_transport::Error as UpstreamError;

use crate::{
    cursor::{self, Binding, Position},
    error::{self, Code, bad_input},
    loader::{self, ExecutionKey, ExecutionsKey, JobKey, JobsKey, RequestContext, SharedLoader},
    pagination::{self, PageRequest, PlanError, Slice},
};
pub use execution::JobExecution;
pub use job::Job;
pub use plain::ExecutionNode;

/// The gateway's schema type.
pub type GatewaySchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Largest page of `GET /jobs/{jobId}/executions` (its `limit` is 1..=100).
pub const EXECUTIONS_PAGE_MAX: u32 = 100;
/// Largest page of `GET /jobs` (shared `limit`, 1..=200).
pub const JOBS_PAGE_MAX: u32 = 200;
/// Longest `query` argument, in characters (the upstream's `q` maxLength).
pub const MAX_QUERY_CHARS: usize = 200;
/// Longest job name or execution id accepted, in characters. Blaxel names are DNS-style labels
/// (at most 63) and execution ids are short: anything longer is refused before the upstream.
pub const MAX_NAME_CHARS: usize = 256;

/// `BAD_USER_INPUT` unless every `(argument, value)` is a plausible name: not empty, at most
/// [`MAX_NAME_CHARS`] characters.
fn check_names(args: &[(&str, &str)]) -> Result<()> {
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

/// Schema-wide settings, stored in the schema data.
#[derive(Debug, Clone, Copy)]
pub struct SchemaLimits {
    /// Largest `first` served (following upstream pages past 100); default 500.
    pub max_first: u32,
}

impl Default for SchemaLimits {
    fn default() -> Self {
        Self { max_first: 500 }
    }
}

/// The schema builder with its types; the server adds limits and data.
pub fn builder() -> SchemaBuilder<Query, EmptyMutation, EmptySubscription> {
    Schema::build(Query, EmptyMutation, EmptySubscription)
}

/// The SDL the gateway serves at `/schema.graphql` and checks in at `schema/gateway.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
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

fn upstream_sort(created_desc: bool, created_asc: bool, name_asc: bool) -> PaginationSort {
    match (created_desc, created_asc, name_asc) {
        (true, _, _) => PaginationSort::CreatedAtDesc,
        (_, true, _) => PaginationSort::CreatedAtAsc,
        (_, _, true) => PaginationSort::NameAsc,
        _ => PaginationSort::NameDesc,
    }
}

impl From<JobExecutionSort> for PaginationSort {
    fn from(s: JobExecutionSort) -> Self {
        use JobExecutionSort::*;
        upstream_sort(s == CreatedAtDesc, s == CreatedAtAsc, s == NameAsc)
    }
}

impl From<JobSort> for PaginationSort {
    fn from(s: JobSort) -> Self {
        use JobSort::*;
        upstream_sort(s == CreatedAtDesc, s == CreatedAtAsc, s == NameAsc)
    }
}

/// Extra fields of a connection.
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct ConnectionTotal {
    /// Total items of the listing (upstream `meta.total`): for executions, the job's executions,
    /// ignoring `query`. Null when the upstream gives none (legacy API versions).
    pub total_count: Option<i64>,
}

/// A page of a job's executions: Relay connection over the upstream cursor pagination.
pub type JobExecutionConnection =
    Connection<String, ExecutionNode, ConnectionTotal, async_graphql::connection::EmptyFields>;
/// A page of jobs: Relay connection over the upstream cursor pagination.
pub type JobConnection =
    Connection<String, Job, ConnectionTotal, async_graphql::connection::EmptyFields>;

/// Relay's object identification: every object with a global id.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "Global, opaque id; `node(id:)` fetches it again."
))]
pub enum Node {
    /// A job execution.
    JobExecution(JobExecution),
    /// A job.
    Job(Job),
}

/// Kinds of global ids.
const EXECUTION_KIND: &str = "JobExecution";
const JOB_KIND: &str = "Job";

/// Global id of an object: base64url of `Kind:part[:part]`.
pub(crate) fn global_id(kind: &str, parts: &[&str]) -> ID {
    let len = kind.len() + parts.iter().map(|part| 1 + part.len()).sum::<usize>();
    let mut raw = String::with_capacity(len);
    raw.push_str(kind);
    for part in parts {
        raw.push(':');
        raw.push_str(part);
    }
    let mut id = String::with_capacity(base64::encoded_len(len, false).unwrap_or_default());
    URL_SAFE_NO_PAD.encode_string(raw, &mut id);
    ID(id)
}

fn parse_global_id(id: &str) -> Option<(String, Vec<String>)> {
    let raw = URL_SAFE_NO_PAD.decode(id.as_bytes()).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (kind, rest) = raw.split_once(':')?;
    match kind {
        // Job names hold no ':' (lowercase alphanumerics and hyphens); an execution id may.
        EXECUTION_KIND => {
            let (job, id) = rest.split_once(':')?;
            Some((kind.to_owned(), vec![job.to_owned(), id.to_owned()]))
        }
        JOB_KIND => Some((kind.to_owned(), vec![rest.to_owned()])),
        _ => None,
    }
}

/// Pagination arguments as the client sent them.
pub(crate) struct RawPageArgs {
    pub(crate) first: Option<i32>,
    pub(crate) after: Option<String>,
    pub(crate) last: Option<i32>,
    pub(crate) before: Option<String>,
    pub(crate) query: Option<String>,
}

/// Forward-pagination arguments, validated.
struct PageArgs {
    first: u32,
    after: Option<String>,
    query: String,
}

fn page_args(ctx: &Context<'_>, raw: RawPageArgs) -> Result<PageArgs> {
    let RawPageArgs {
        first,
        after,
        last,
        before,
        query,
    } = raw;
    if last.is_some() || before.is_some() {
        return Err(bad_input(
            "`last` and `before` are not supported: the Blaxel API pages forward only; use `first` and `after`",
        ));
    }
    let max_first = ctx.data_unchecked::<SchemaLimits>().max_first;
    let first = first.unwrap_or(20);
    let first = u32::try_from(first)
        .map_err(|_| bad_input(format!("`first` must be 0 or more, got {first}")))?;
    if first > max_first {
        return Err(bad_input(format!(
            "`first` must be at most {max_first} (the gateway's maxFirst), got {first}"
        )));
    }
    if let Some(q) = &query {
        let chars = q.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(bad_input(format!(
                "`query` must be at most {MAX_QUERY_CHARS} characters, got {chars}"
            )));
        }
    }
    Ok(PageArgs {
        first,
        after,
        query: cursor::normalise_query(query.as_deref()),
    })
}

/// On the legacy contract the upstream ignores `sort` and `q`: refuse them rather than answer
/// with another order or an unfiltered list.
fn check_legacy(rc: &RequestContext, sort: PaginationSort, query: &str) -> Result<()> {
    if rc.legacy && (sort != PaginationSort::CreatedAtDesc || !query.is_empty()) {
        return Err(bad_input(
            "`sort` and `query` need Blaxel-Version 2026-04-28 or later; this gateway is configured for the legacy API, which lists newest first without search",
        ));
    }
    Ok(())
}

fn plan_error(err: PlanError<Arc<UpstreamError>>) -> async_graphql::Error {
    match err {
        PlanError::Fetch(e) => error::upstream(&e),
        PlanError::NoProgress { .. } => error::error(
            Code::UpstreamError,
            "the Blaxel API repeated a page cursor; the listing cannot advance",
        ),
    }
}

fn start_position(after: Option<&str>, binding: &Binding<'_>) -> Result<Position> {
    match after {
        None => Ok(Position::start(binding.legacy)),
        Some(raw) => cursor::decode(raw, binding.fingerprint())
            .map_err(|e| error::cursor_error("after", &e))
            .and_then(|pos| match (&pos, binding.legacy) {
                (Position::Offset(_), true) | (Position::Upstream { .. }, false) => Ok(pos),
                _ => Err(error::error(
                    Code::CursorInvalid,
                    "`after`: cursor was issued for another API version",
                )),
            }),
    }
}

fn connection<T, N>(
    slice: Slice<T>,
    fingerprint: [u8; 8],
    node: impl Fn(Arc<models::Page<T>>, usize) -> N,
) -> Connection<String, N, ConnectionTotal, async_graphql::connection::EmptyFields>
where
    N: async_graphql::OutputType,
{
    let mut conn = Connection::with_additional_fields(
        slice.has_previous_page,
        slice.has_next_page,
        ConnectionTotal {
            total_count: slice.total,
        },
    );
    conn.edges = slice
        .edges
        .into_iter()
        .map(|e| Edge::new(cursor::encode(fingerprint, &e.after), node(e.page, e.index)))
        .collect();
    conn
}

fn execution_id(e: &models::JobExecution) -> &str {
    e.metadata.id.as_deref().unwrap_or("")
}

fn job_name(j: &models::Job) -> &str {
    &j.metadata.name
}

/// What one listing binds its cursors to, and how it loads a page.
struct Listing<'a, T, K> {
    /// `"executions"` or `"jobs"` (part of the cursor binding).
    name: &'static str,
    /// Job name for executions; empty for jobs.
    job: &'a str,
    /// Largest upstream page.
    max_page: u32,
    /// An item's id: the anchor of mid-page cursors.
    id: fn(&T) -> &str,
    /// The loader key of one upstream page of this listing.
    key: K,
}

/// Validates the arguments, checks the cursor's binding before any upstream call, and serves the
/// slice through the request's loader. Returns the slice and the fingerprint its cursors carry.
async fn paginate<T, K, Key>(
    ctx: &Context<'_>,
    raw: RawPageArgs,
    sort: PaginationSort,
    listing: Listing<'_, T, K>,
) -> Result<(Slice<T>, [u8; 8])>
where
    K: Fn(PageRequest, &str) -> Key,
    Key: loader::Fetch<Value = models::Page<T>>,
{
    let args = page_args(ctx, raw)?;
    let rc = ctx.data_unchecked::<RequestContext>();
    check_legacy(rc, sort, &args.query)?;
    let sort_wire = sort.to_string();
    let binding = Binding {
        listing: listing.name,
        job: listing.job,
        sort: &sort_wire,
        query: &args.query,
        workspace: &rc.workspace,
        legacy: rc.legacy,
    };
    let fingerprint = binding.fingerprint();
    let start = start_position(args.after.as_deref(), &binding)?;
    let loader = ctx.data_unchecked::<SharedLoader>();
    let key = &listing.key;
    let query = args.query.as_str();
    let slice = pagination::plan_slice(start, args.first, listing.max_page, listing.id, |page| {
        loader::load(loader, key(page, query))
    })
    .await
    .map_err(plan_error)?;
    Ok((slice, fingerprint))
}

/// Resolves a job's executions as a connection (shared by `Query.jobExecutions` and
/// `Job.executions`).
pub(crate) async fn executions_connection(
    ctx: &Context<'_>,
    job: &str,
    raw: RawPageArgs,
    sort: JobExecutionSort,
) -> Result<JobExecutionConnection> {
    check_names(&[("jobName", job)])?;
    let sort = PaginationSort::from(sort);
    let listing = Listing {
        name: "executions",
        job,
        max_page: EXECUTIONS_PAGE_MAX,
        id: execution_id,
        key: |page, query: &str| ExecutionsKey {
            job: job.to_owned(),
            sort,
            query: query.to_owned(),
            page,
        },
    };
    let (slice, fingerprint) = paginate(ctx, raw, sort, listing).await?;
    Ok(connection(slice, fingerprint, |page, index| {
        ExecutionNode(JobExecution::in_page(page, index))
    }))
}

/// The root query.
pub struct Query;

#[Object]
impl Query {
    /// A job's executions, as a Relay connection mapped onto the Blaxel API's cursor pagination
    /// (`GET /v0/jobs/{jobId}/executions`). Every edge has its own cursor; `after:` any of them
    /// resumes right after it. `first` above 100 follows upstream pages (up to the gateway's
    /// maxFirst, default 500). Backward pagination (`last`, `before`) is rejected: the upstream
    /// pages forward only.
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
    ) -> Result<JobExecutionConnection> {
        let raw = RawPageArgs {
            first,
            after,
            last,
            before,
            query,
        };
        executions_connection(ctx, &job_name, raw, sort.unwrap_or_default()).await
    }

    /// One execution of a job (`GET /v0/jobs/{jobId}/executions/{executionId}`); null when the
    /// job or the execution does not exist.
    async fn job_execution(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Job name.")] job_name: String,
        #[graphql(desc = "Execution id (`metadata.id`), e.g. `exec-abc123`.")] id: String,
    ) -> Result<Option<JobExecution>> {
        fetch_execution(ctx, job_name, id).await
    }

    /// One job (`GET /v0/jobs/{jobId}`); null when it does not exist.
    async fn job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Job name.")] name: String,
    ) -> Result<Option<Job>> {
        fetch_job(ctx, name).await
    }

    /// The workspace's jobs, as a Relay connection over `GET /v0/jobs`.
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
    ) -> Result<JobConnection> {
        let raw = RawPageArgs {
            first,
            after,
            last,
            before,
            query,
        };
        let sort = PaginationSort::from(sort.unwrap_or_default());
        let listing = Listing {
            name: "jobs",
            job: "",
            max_page: JOBS_PAGE_MAX,
            id: job_name,
            key: |page, query: &str| JobsKey {
                sort,
                query: query.to_owned(),
                page,
            },
        };
        let (slice, fingerprint) = paginate(ctx, raw, sort, listing).await?;
        Ok(connection(slice, fingerprint, Job::in_page))
    }

    /// Relay refetch: the object with this global id, or null when it no longer exists.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id.")] id: ID,
    ) -> Result<Option<Node>> {
        let Some((kind, mut parts)) = parse_global_id(&id) else {
            return Err(bad_input("`id` is not a global id issued by this gateway"));
        };
        match kind.as_str() {
            EXECUTION_KIND => {
                let id = parts.pop().unwrap_or_default();
                let job = parts.pop().unwrap_or_default();
                Ok(fetch_execution(ctx, job, id).await?.map(Node::JobExecution))
            }
            _ => {
                let name = parts.pop().unwrap_or_default();
                Ok(fetch_job(ctx, name).await?.map(Node::Job))
            }
        }
    }
}

async fn fetch_execution(
    ctx: &Context<'_>,
    job: String,
    id: String,
) -> Result<Option<JobExecution>> {
    check_names(&[("jobName", &job), ("id", &id)])?;
    let loader = ctx.data_unchecked::<SharedLoader>();
    match loader::load(loader, ExecutionKey { job, id }).await {
        Ok(execution) => Ok(Some(JobExecution::single(execution))),
        Err(e) if matches!(*e, UpstreamError::NotFound { .. }) => Ok(None),
        Err(e) => Err(error::upstream(&e)),
    }
}

async fn fetch_job(ctx: &Context<'_>, name: String) -> Result<Option<Job>> {
    check_names(&[("name", &name)])?;
    let loader = ctx.data_unchecked::<SharedLoader>();
    match loader::load(loader, JobKey(name)).await {
        Ok(job) => Ok(Some(Job::single(job))),
        Err(e) if matches!(*e, UpstreamError::NotFound { .. }) => Ok(None),
        Err(e) => Err(error::upstream(&e)),
    }
}

#[cfg(test)]
mod tests {
    /// The checked-in SDL (`schema/gateway.graphql`) matches the code. Regenerate with
    /// `BLESS=1 cargo test -p blaxel-gateway sdl_matches`.
    #[test]
    fn sdl_matches_checked_in_file() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema/gateway.graphql");
        let sdl = super::sdl();
        if std::env::var_os("BLESS").is_some() {
            std::fs::write(path, &sdl).unwrap();
        }
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            checked_in == sdl,
            "schema/gateway.graphql differs from the schema in code: run `BLESS=1 cargo test -p blaxel-gateway sdl_matches` and review the diff"
        );
    }

    #[test]
    fn global_ids_round_trip() {
        let id = super::global_id(super::EXECUTION_KIND, &["job-1", "exec:with:colons"]);
        let (kind, parts) = super::parse_global_id(&id).unwrap();
        assert_eq!(kind, "JobExecution");
        assert_eq!(parts, vec!["job-1", "exec:with:colons"]);
        assert!(super::parse_global_id("not-base64!").is_none());
        assert!(super::parse_global_id(&super::global_id("Other", &["x"])).is_none());
    }
}
