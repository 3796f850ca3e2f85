//! `JobExecution` and its parts, borrowed from the decoded upstream model
//! (`JobExecution` of the Blaxel spec).

use std::sync::Arc;

use async_graphql::{Enum, ID, Json, Object, Result};
use blaxel_models as models;

use super::{
    global_id,
    scalars::{DateTime, timestamp},
};
use crate::error::{Code, error};

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
    pub fn in_page(page: Arc<models::Page<models::JobExecution>>, index: usize) -> Self {
        Self(Holder::Page(page, index))
    }

    /// An execution fetched alone.
    pub fn single(execution: Arc<models::JobExecution>) -> Self {
        Self(Holder::One(execution))
    }

    /// Relay global id: base64url of `JobExecution:<job>:<id>`.
    pub fn global_id(&self) -> ID {
        let m = &self.model().metadata;
        global_id(
            super::EXECUTION_KIND,
            &[
                m.job.as_deref().unwrap_or(""),
                m.id.as_deref().unwrap_or(""),
            ],
        )
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

#[Object]
impl JobExecution {
    /// Relay global id (opaque); `node(id:)` fetches the execution again.
    pub async fn id(&self) -> ID {
        self.global_id()
    }

    /// Identity and lifecycle timestamps.
    async fn metadata(&self) -> JobExecutionMetadata<'_> {
        JobExecutionMetadata(&self.model().metadata)
    }

    /// What the execution was started with.
    async fn spec(&self) -> JobExecutionSpec<'_> {
        JobExecutionSpec(&self.model().spec)
    }

    /// Task counters.
    async fn stats(&self) -> Option<JobExecutionStats<'_>> {
        self.model().stats.as_ref().map(JobExecutionStats)
    }

    /// Current status; `UNKNOWN` for a value outside the documented enum.
    async fn status(&self) -> Option<JobExecutionStatus> {
        self.model().status.as_ref().map(Into::into)
    }

    /// Status as the upstream sent it (e.g. `running`), including values unknown to the gateway.
    async fn status_raw(&self) -> Option<&str> {
        self.model().status.as_ref().map(|s| s.as_str())
    }

    /// The execution's tasks.
    async fn tasks(&self) -> Vec<JobExecutionTask<'_>> {
        self.model().tasks.iter().map(JobExecutionTask).collect()
    }
}

/// Identity and lifecycle timestamps of an execution (upstream `JobExecutionMetadata`).
pub struct JobExecutionMetadata<'a>(&'a models::JobExecutionMetadata);

#[Object]
impl<'a> JobExecutionMetadata<'a> {
    /// Execution id, e.g. `exec-abc123`.
    async fn id(&self) -> Option<&'a str> {
        self.0.id.as_deref()
    }
    /// Name of the job.
    async fn job(&self) -> Option<&'a str> {
        self.0.job.as_deref()
    }
    /// Workspace name.
    async fn workspace(&self) -> Option<&'a str> {
        self.0.workspace.as_deref()
    }
    /// Cluster that runs it.
    async fn cluster(&self) -> Option<&'a str> {
        self.0.cluster.as_deref()
    }
    /// Creation time.
    async fn created_at(&self) -> Result<Option<DateTime>> {
        timestamp(self.0.created_at.as_deref())
    }
    /// Start time.
    async fn started_at(&self) -> Result<Option<DateTime>> {
        timestamp(self.0.started_at.as_deref())
    }
    /// Completion time.
    async fn completed_at(&self) -> Result<Option<DateTime>> {
        timestamp(self.0.completed_at.as_deref())
    }
    /// Last update time.
    async fn updated_at(&self) -> Result<Option<DateTime>> {
        timestamp(self.0.updated_at.as_deref())
    }
    /// Deletion time.
    async fn deleted_at(&self) -> Result<Option<DateTime>> {
        timestamp(self.0.deleted_at.as_deref())
    }
    /// Expiration time.
    async fn expired_at(&self) -> Result<Option<DateTime>> {
        timestamp(self.0.expired_at.as_deref())
    }
}

/// What an execution was started with (upstream `JobExecutionSpec`).
pub struct JobExecutionSpec<'a>(&'a models::JobExecutionSpec);

#[Object]
impl<'a> JobExecutionSpec<'a> {
    /// Number of tasks run in parallel.
    async fn parallelism(&self) -> Option<i64> {
        self.0.parallelism
    }
    /// Job timeout in seconds, captured when the execution was created.
    async fn timeout(&self) -> Option<i64> {
        self.0.timeout
    }
    /// Memory override in MB, when the execution set one.
    async fn memory_override(&self) -> Option<i64> {
        self.0.memory_override
    }
    /// Environment overrides of this execution as a JSON object, values masked with `***`.
    /// The upstream sends an object or a string holding one; both are served as an object.
    async fn env_override(
        &self,
    ) -> Result<Option<Json<serde_json::Map<String, serde_json::Value>>>> {
        match &self.0.env_override {
            None => Ok(None),
            Some(env) => env.vars().map(|vars| Some(Json(vars))).map_err(|e| {
                error(
                    Code::UpstreamError,
                    format!("upstream sent an unreadable envOverride: {e}"),
                )
            }),
        }
    }
    /// The tasks as specified.
    async fn tasks(&self) -> Vec<JobExecutionTask<'a>> {
        self.0.tasks.iter().map(JobExecutionTask).collect()
    }
}

/// Task counters of an execution (upstream `JobExecutionStats`).
pub struct JobExecutionStats<'a>(&'a models::JobExecutionStats);

#[Object]
impl JobExecutionStats<'_> {
    /// Cancelled tasks.
    async fn cancelled(&self) -> Option<i64> {
        self.0.cancelled
    }
    /// Failed tasks.
    async fn failure(&self) -> Option<i64> {
        self.0.failure
    }
    /// Retried tasks.
    async fn retried(&self) -> Option<i64> {
        self.0.retried
    }
    /// Running tasks.
    async fn running(&self) -> Option<i64> {
        self.0.running
    }
    /// Succeeded tasks.
    async fn success(&self) -> Option<i64> {
        self.0.success
    }
    /// All tasks.
    async fn total(&self) -> Option<i64> {
        self.0.total
    }
}

/// One task of an execution (upstream `JobExecutionTask`).
pub struct JobExecutionTask<'a>(&'a models::JobExecutionTask);

#[Object]
impl<'a> JobExecutionTask<'a> {
    /// Conditions reported for the task.
    async fn conditions(&self) -> Vec<JobExecutionTaskCondition<'a>> {
        self.0
            .conditions
            .iter()
            .map(JobExecutionTaskCondition)
            .collect()
    }
    /// Name and timestamps.
    async fn metadata(&self) -> Option<JobExecutionTaskMetadata<'a>> {
        self.0.metadata.as_ref().map(JobExecutionTaskMetadata)
    }
    /// Retries and timeout.
    async fn spec(&self) -> Option<JobExecutionTaskSpec<'a>> {
        self.0.spec.as_ref().map(JobExecutionTaskSpec)
    }
    /// Current status; `UNKNOWN` for a value outside the documented enum.
    async fn status(&self) -> Option<JobExecutionTaskStatus> {
        self.0.status.as_ref().map(Into::into)
    }
    /// Status as the upstream sent it.
    async fn status_raw(&self) -> Option<&'a str> {
        self.0.status.as_ref().map(|s| s.as_str())
    }
}

/// A condition of a task (upstream `JobExecutionTaskCondition`; free-form strings).
pub struct JobExecutionTaskCondition<'a>(&'a models::JobExecutionTaskCondition);

#[Object]
impl<'a> JobExecutionTaskCondition<'a> {
    /// Execution reason.
    async fn execution_reason(&self) -> Option<&'a str> {
        self.0.execution_reason.as_deref()
    }
    /// Message.
    async fn message(&self) -> Option<&'a str> {
        self.0.message.as_deref()
    }
    /// Reason.
    async fn reason(&self) -> Option<&'a str> {
        self.0.reason.as_deref()
    }
    /// Severity.
    async fn severity(&self) -> Option<&'a str> {
        self.0.severity.as_deref()
    }
    /// State.
    async fn state(&self) -> Option<&'a str> {
        self.0.state.as_deref()
    }
    /// Condition type.
    #[graphql(name = "type")]
    async fn type_(&self) -> Option<&'a str> {
        self.0.type_.as_deref()
    }
}

/// Name and timestamps of a task (upstream `JobExecutionTaskMetadata`).
pub struct JobExecutionTaskMetadata<'a>(&'a models::JobExecutionTaskMetadata);

#[Object]
impl<'a> JobExecutionTaskMetadata<'a> {
    /// Task name, e.g. `task-0`.
    async fn name(&self) -> Option<&'a str> {
        self.0.name.as_deref()
    }
    /// Creation time.
    async fn created_at(&self) -> Result<Option<DateTime>> {
        timestamp(self.0.created_at.as_deref())
    }
    /// Time it was scheduled.
    async fn scheduled_at(&self) -> Result<Option<DateTime>> {
        timestamp(self.0.scheduled_at.as_deref())
    }
    /// Start time.
    async fn started_at(&self) -> Result<Option<DateTime>> {
        timestamp(self.0.started_at.as_deref())
    }
    /// Completion time.
    async fn completed_at(&self) -> Result<Option<DateTime>> {
        timestamp(self.0.completed_at.as_deref())
    }
    /// Last update time.
    async fn updated_at(&self) -> Result<Option<DateTime>> {
        timestamp(self.0.updated_at.as_deref())
    }
}

/// Retries and timeout of a task (upstream `JobExecutionTaskSpec`).
pub struct JobExecutionTaskSpec<'a>(&'a models::JobExecutionTaskSpec);

#[Object]
impl<'a> JobExecutionTaskSpec<'a> {
    /// Maximum retries.
    async fn max_retries(&self) -> Option<i64> {
        self.0.max_retries
    }
    /// Timeout as a duration string, e.g. `30m` (unlike the execution's, which is seconds).
    async fn timeout(&self) -> Option<&'a str> {
        self.0.timeout.as_deref()
    }
}
