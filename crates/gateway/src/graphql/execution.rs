//! `JobExecution` and its parts, borrowed from the decoded upstream model
//! (`JobExecution` of the Blaxel spec).

use std::sync::Arc;

use async_graphql::Enum;
use blaxel_models as models;
use blaxel_transport::{ListTasksRequest, MAX_SHARED_LIMIT};

use super::{error::to_graphql, fields::HasModel, node::EXECUTION_KIND};
use crate::{
    error::{Code, Error},
    loader::{RequestLoader, TasksPage},
};

/// Where an execution lives: inside a shared upstream page, or fetched alone.
#[derive(Clone)]
enum Holder {
    Page(Arc<models::Page<models::JobExecution>>, usize),
    One(Arc<models::JobExecution>),
}

/// A run of a batch job: its tasks, their progress and the overrides it was started with.
/// Mirrors the upstream `JobExecution`.
#[derive(Clone)]
pub struct JobExecution(Holder);

impl JobExecution {
    /// The execution at `index` of an upstream page (shared, not copied).
    pub fn in_page(page: &Arc<models::Page<models::JobExecution>>, index: usize) -> Self {
        Self(Holder::Page(Arc::clone(page), index))
    }

    /// An execution fetched alone.
    pub fn single(execution: Arc<models::JobExecution>) -> Self {
        Self(Holder::One(execution))
    }

    /// The upstream model.
    pub fn model(&self) -> &models::JobExecution {
        match &self.0 {
            Holder::Page(page, index) => &page.items[*index],
            Holder::One(execution) => execution,
        }
    }
}

/// Status of an execution (upstream `JobExecutionStatus`).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum JobExecutionStatus {
    /// Accepted, waiting for capacity.
    Queued,
    /// Scheduled; no task started yet.
    Pending,
    /// At least one task is running.
    Running,
    /// Cancel requested: running tasks finish, pending ones do not start.
    Cancelling,
    /// Cancelled (terminal).
    Cancelled,
    /// Failed (terminal).
    Failed,
    /// Every task succeeded (terminal).
    Succeeded,
    /// Ran past its timeout (terminal).
    Timeout,
    /// A value this gateway does not know; `statusRaw` holds it.
    Unknown,
}

impl From<&models::JobExecutionStatus> for JobExecutionStatus {
    fn from(s: &models::JobExecutionStatus) -> Self {
        use models::JobExecutionStatus as M;
        match s {
            M::Queued => Self::Queued,
            M::Pending => Self::Pending,
            M::Running => Self::Running,
            M::Cancelling => Self::Cancelling,
            M::Cancelled => Self::Cancelled,
            M::Failed => Self::Failed,
            M::Succeeded => Self::Succeeded,
            M::Timeout => Self::Timeout,
            M::Unknown(_) => Self::Unknown,
        }
    }
}

/// Status of one task (upstream `JobExecutionTaskStatus`).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum JobExecutionTaskStatus {
    /// Not reported.
    Unspecified,
    /// Not started.
    Pending,
    /// Being reconciled by the scheduler.
    Reconciling,
    /// Failed (terminal).
    Failed,
    /// Succeeded (terminal).
    Succeeded,
    /// Running.
    Running,
    /// Cancelled (terminal).
    Cancelled,
    /// A value this gateway does not know; `statusRaw` holds it.
    Unknown,
}

impl From<&models::JobExecutionTaskStatus> for JobExecutionTaskStatus {
    fn from(s: &models::JobExecutionTaskStatus) -> Self {
        use models::JobExecutionTaskStatus as M;
        match s {
            M::Unspecified => Self::Unspecified,
            M::Pending => Self::Pending,
            M::Reconciling => Self::Reconciling,
            M::Failed => Self::Failed,
            M::Succeeded => Self::Succeeded,
            M::Running => Self::Running,
            M::Cancelled => Self::Cancelled,
            M::Unknown(_) => Self::Unknown,
        }
    }
}

impl HasModel for JobExecution {
    type Model = models::JobExecution;
    fn model(&self) -> &models::JobExecution {
        JobExecution::model(self)
    }
}

/// An execution's workspace and key (job, id) in its global id.
fn execution_key(m: &models::JobExecution) -> (Option<&str>, [&str; 2]) {
    let metadata = &m.metadata;
    let key = [
        metadata.job.as_deref().unwrap_or(""),
        metadata.id.as_deref().unwrap_or(""),
    ];
    (metadata.workspace.as_deref(), key)
}

model_object! {
    JobExecution as "JobExecution": "Node", m;
    /// Relay global id (opaque, unique across workspaces); `node(id:)` fetches the execution again.
    id "id": id EXECUTION_KIND = execution_key(m);
    /// Identity and lifecycle timestamps.
    metadata "metadata": object JobExecutionMetadata = &m.metadata;
    /// What the execution was started with.
    spec "spec": object JobExecutionSpec = &m.spec;
    /// Task counters.
    stats "stats": optional JobExecutionStats = m.stats.as_ref();
    /// Current status; `UNKNOWN` for a value outside the documented enum.
    status "status": status JobExecutionStatus = m.status.as_ref();
    /// Status as the upstream sent it (e.g. `running`), including values unknown to the gateway.
    status_raw "statusRaw": str = m.status.as_ref().map(|s| s.as_str());
    /// The execution's tasks: inline in the execution, or, for a large execution whose list
    /// the upstream keeps apart (`spec.tasksRef`), read from the tasks listing (at most
    /// 2,000; page `tasksConnection` for more).
    tasks "tasks": tasks = m;
    @extra {
        /// The execution's tasks as a Relay connection over
        /// `GET /v0/jobs/{jobId}/executions/{executionId}/tasks` (the API's default order). Every
        /// edge has its own cursor; cursors are bound to the workspace, job and execution and
        /// refused (`CURSOR_INVALID`) anywhere else. Following `endCursor` with `first: 200`
        /// costs one upstream call per page. Null, with an error, when the listing fails.
        // Inside the macro, hygiene hides `child_complexity` from this expression: a task is
        // costed as TASK_COMPLEXITY (about every field of a task) times `first`.
        #[graphql(
            name = "tasksConnection",
            complexity = "(*first.as_ref().unwrap_or(&20)).clamp(1, 1000) as usize * TASK_COMPLEXITY"
        )]
        pub async fn tasks_connection(
            &self,
            ctx: &async_graphql::Context<'_>,
            #[graphql(desc = "Number of tasks, 0 to maxFirst.", default = 20)] first: Option<i32>,
            #[graphql(desc = "Cursor of an edge: return the tasks after it.")] after: Option<String>,
        ) -> async_graphql::Result<Option<JobExecutionTaskConnection>> {
            super::error::or_null(ctx, tasks_connection(ctx, self.model(), first, after).await)
        }
    }
}

/// The complexity of one task in `tasksConnection`: about the cost of every field of a task
/// (a fixed weight: the macro's hygiene hides the selection's own cost from that field).
pub const TASK_COMPLEXITY: usize = 20;

/// A page of an execution's tasks: Relay connection over the upstream cursor pagination.
pub type JobExecutionTaskConnection = super::connection::Connection<JobExecutionTask<'static>>;

/// The tasks connection of execution `m`.
async fn tasks_connection(
    ctx: &async_graphql::Context<'_>,
    m: &models::JobExecution,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<Option<JobExecutionTaskConnection>> {
    let (Some(job), Some(id)) = (m.metadata.job.as_deref(), m.metadata.id.as_deref()) else {
        return Err(to_graphql(Error::new(
            Code::UpstreamError,
            "the Blaxel API sent an execution without `metadata.job` or `metadata.id`",
        )));
    };
    if ctx.data_unchecked::<super::Settings>().contract == crate::pagination::Contract::Legacy {
        return Err(super::error::bad_input(
            "`tasksConnection` needs Blaxel-Version 2026-04-28 or later (the tasks listing); use `tasks`",
        ));
    }
    let args = super::query::ConnectionArgs {
        first,
        after,
        last: None,
        before: None,
        query: None,
    };
    let listing = crate::pagination::JobExecutionTasks::new(job, id);
    let paginated = super::query::paginate(
        ctx,
        &listing,
        args,
        models::PaginationSort::CreatedAtDesc,
        JobExecutionTask::listed,
    )
    .await?;
    Ok(Some(super::connection::connection(paginated)))
}

/// Most task pages `tasks` reads from the listing (200 tasks each).
pub const MAX_TASK_PAGES: usize = 10;

/// True when the upstream left the execution's task list out (`spec.tasksRef` set, no inline
/// `tasks`): it must be read from the tasks listing.
pub fn tasks_elsewhere(m: &models::JobExecution) -> bool {
    m.tasks.is_empty() && m.spec.tasks_ref.is_some()
}

/// The execution's inline tasks, for the synchronous walk; None when they must be read from the
/// tasks listing ([`tasks_elsewhere`]: the walk gives up and the resolver pages the listing).
pub fn inline_tasks(
    m: &models::JobExecution,
) -> Option<impl Iterator<Item = JobExecutionTask<'_>>> {
    (!tasks_elsewhere(m)).then(|| m.tasks.iter().map(JobExecutionTask::from))
}

/// The tasks of `m`: inline, or from the tasks listing through the request's loader. A failed
/// read answers the tasks read so far and adds the error at this field.
pub async fn tasks_of<'a>(
    ctx: &async_graphql::Context<'_>,
    m: &'a models::JobExecution,
) -> Vec<JobExecutionTask<'a>> {
    if !tasks_elsewhere(m) {
        return m.tasks.iter().map(JobExecutionTask::from).collect();
    }
    let loader = ctx.data_unchecked::<Arc<RequestLoader>>();
    let [job, execution] = [&m.metadata.job, &m.metadata.id].map(|s| s.clone().unwrap_or_default());
    let mut tasks = Vec::new();
    let mut cursor = None;
    for _ in 0..MAX_TASK_PAGES {
        let key = TasksPage {
            job: job.clone(),
            execution: execution.clone(),
            request: ListTasksRequest {
                limit: Some(MAX_SHARED_LIMIT),
                cursor: cursor.take(),
                ..ListTasksRequest::default()
            },
        };
        let page = match loader.tasks_page(key).await {
            Ok(page) => page,
            Err(e) => {
                let err = to_graphql((*e).clone()).into_server_error(ctx.item.pos);
                ctx.add_error(ctx.set_error_path(err));
                return tasks;
            }
        };
        tasks.extend((0..page.items.len()).map(|i| JobExecutionTask::listed(&page, i)));
        match page.next_cursor() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return tasks,
        }
    }
    let err = to_graphql(Error::new(
        Code::QueryTooComplex,
        format!(
            "the execution has more than {} tasks: page them with `tasksConnection`",
            tasks.len()
        ),
    ));
    ctx.add_error(ctx.set_error_path(err.into_server_error(ctx.item.pos)));
    tasks
}

model_view! {
    /// Identity and lifecycle timestamps of an execution (upstream `JobExecutionMetadata`).
    JobExecutionMetadata(models::JobExecutionMetadata)
}

model_object! {
    JobExecutionMetadata<'_> as "JobExecutionMetadata", m;
    /// Execution id, e.g. `exec-abc123`.
    id "id": str = m.id.as_deref();
    /// Name of the job.
    job "job": str = m.job.as_deref();
    /// Workspace name.
    workspace "workspace": str = m.workspace.as_deref();
    /// Cluster that runs it.
    cluster "cluster": str = m.cluster.as_deref();
    /// Creation time.
    created_at "createdAt": time = m.created_at.as_deref();
    /// Start time.
    started_at "startedAt": time = m.started_at.as_deref();
    /// Completion time.
    completed_at "completedAt": time = m.completed_at.as_deref();
    /// Last update time.
    updated_at "updatedAt": time = m.updated_at.as_deref();
    /// Deletion time.
    deleted_at "deletedAt": time = m.deleted_at.as_deref();
    /// Expiration time.
    expired_at "expiredAt": time = m.expired_at.as_deref();
}

model_view! {
    /// What an execution was started with (upstream `JobExecutionSpec`).
    JobExecutionSpec(models::JobExecutionSpec)
}

model_object! {
    JobExecutionSpec<'_> as "JobExecutionSpec", m;
    /// Number of tasks run in parallel.
    parallelism "parallelism": int = m.parallelism;
    /// Job timeout in seconds, captured when the execution was created.
    timeout "timeout": int = m.timeout;
    /// Memory override in MB, when the execution set one.
    memory_override "memoryOverride": int = m.memory_override;
    /// Number of tasks of this execution (upstream `spec.taskCount`, API version 2026-09-22),
    /// whether or not the task list is inline.
    task_count "taskCount": int = m.task_count;
    /// Environment overrides of this execution as a JSON object, values masked with `***`.
    /// The upstream sends an object or a string holding one; both are served as an object.
    env_override "envOverride": env = m.env_override.as_ref();
    /// The tasks as specified.
    tasks "tasks": list JobExecutionTask = &m.tasks;
}

model_view! {
    /// Task counters of an execution (upstream `JobExecutionStats`).
    JobExecutionStats(models::JobExecutionStats)
}

model_object! {
    JobExecutionStats<'_> as "JobExecutionStats", m;
    /// Cancelled tasks.
    cancelled "cancelled": int = m.cancelled;
    /// Failed tasks.
    failure "failure": int = m.failure;
    /// Retried tasks.
    retried "retried": int = m.retried;
    /// Running tasks.
    running "running": int = m.running;
    /// Succeeded tasks.
    success "success": int = m.success;
    /// All tasks.
    total "total": int = m.total;
}

/// One task of an execution (upstream `JobExecutionTask`): inline in its execution, or an item
/// of a tasks listing page.
pub struct JobExecutionTask<'a>(TaskRef<'a>);

enum TaskRef<'a> {
    Inline(&'a models::JobExecutionTask),
    Listed(Arc<models::Page<models::JobExecutionTask>>, usize),
}

impl JobExecutionTask<'_> {
    /// The task at `index` of a tasks listing page (shared, not copied).
    pub fn listed(page: &Arc<models::Page<models::JobExecutionTask>>, index: usize) -> Self {
        Self(TaskRef::Listed(Arc::clone(page), index))
    }
}

impl<'a> From<&'a models::JobExecutionTask> for JobExecutionTask<'a> {
    fn from(task: &'a models::JobExecutionTask) -> Self {
        Self(TaskRef::Inline(task))
    }
}

impl HasModel for JobExecutionTask<'_> {
    type Model = models::JobExecutionTask;
    fn model(&self) -> &models::JobExecutionTask {
        match &self.0 {
            TaskRef::Inline(task) => task,
            TaskRef::Listed(page, index) => &page.items[*index],
        }
    }
}

model_object! {
    JobExecutionTask<'_> as "JobExecutionTask", m;
    /// Conditions reported for the task.
    conditions "conditions": list JobExecutionTaskCondition = &m.conditions;
    /// Name and timestamps.
    metadata "metadata": optional JobExecutionTaskMetadata = m.metadata.as_ref();
    /// Retries and timeout.
    spec "spec": optional JobExecutionTaskSpec = m.spec.as_ref();
    /// Current status; `UNKNOWN` for a value outside the documented enum.
    status "status": status JobExecutionTaskStatus = m.status.as_ref();
    /// Status as the upstream sent it.
    status_raw "statusRaw": str = m.status.as_ref().map(|s| s.as_str());
}

model_view! {
    /// A condition of a task (upstream `JobExecutionTaskCondition`; free-form strings).
    JobExecutionTaskCondition(models::JobExecutionTaskCondition)
}

model_object! {
    JobExecutionTaskCondition<'_> as "JobExecutionTaskCondition", m;
    /// Execution reason.
    execution_reason "executionReason": str = m.execution_reason.as_deref();
    /// Message.
    message "message": str = m.message.as_deref();
    /// Reason.
    reason "reason": str = m.reason.as_deref();
    /// Severity.
    severity "severity": str = m.severity.as_deref();
    /// State.
    state "state": str = m.state.as_deref();
    /// Condition type.
    type_ "type": str = m.type_.as_deref();
}

model_view! {
    /// Name and timestamps of a task (upstream `JobExecutionTaskMetadata`).
    JobExecutionTaskMetadata(models::JobExecutionTaskMetadata)
}

model_object! {
    JobExecutionTaskMetadata<'_> as "JobExecutionTaskMetadata", m;
    /// Task name, e.g. `task-0`.
    name "name": str = m.name.as_deref();
    /// Creation time.
    created_at "createdAt": time = m.created_at.as_deref();
    /// Time it was scheduled.
    scheduled_at "scheduledAt": time = m.scheduled_at.as_deref();
    /// Start time.
    started_at "startedAt": time = m.started_at.as_deref();
    /// Completion time.
    completed_at "completedAt": time = m.completed_at.as_deref();
    /// Last update time.
    updated_at "updatedAt": time = m.updated_at.as_deref();
}

model_view! {
    /// Retries and timeout of a task (upstream `JobExecutionTaskSpec`).
    JobExecutionTaskSpec(models::JobExecutionTaskSpec)
}

model_object! {
    JobExecutionTaskSpec<'_> as "JobExecutionTaskSpec", m;
    /// Maximum retries.
    max_retries "maxRetries": int = m.max_retries;
    /// Timeout as a duration string, e.g. `30m` (unlike the execution's, which is seconds).
    timeout "timeout": str = m.timeout.as_deref();
}
