//! `Job` and its parts, borrowed from the decoded upstream model (`Job` of the Blaxel spec).

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Json, Object, Result};
use blaxel_models as models;

use super::{
    error::or_null,
    fields::{int32, strict_int32},
    node::{JOB_KIND, global_id, id_workspace},
    query::{ConnectionArgs, JobExecutionSort, executions_connection},
    rendered::ExecutionsConnection,
    scalars::{DateTime, timestamp},
};
use crate::caller::Caller;

#[derive(Clone)]
enum Holder {
    Page(Arc<models::Page<models::Job>>, usize),
    One(Arc<models::Job>),
}

/// A batch job: its definition, deployment status and executions. Mirrors the upstream `Job`.
#[derive(Clone)]
pub struct Job(Holder);

impl Job {
    /// The job at `index` of an upstream page (shared, not copied).
    pub fn in_page(page: &Arc<models::Page<models::Job>>, index: usize) -> Self {
        Self(Holder::Page(Arc::clone(page), index))
    }

    /// A job fetched alone.
    pub fn single(job: Arc<models::Job>) -> Self {
        Self(Holder::One(job))
    }

    /// The upstream model.
    pub fn model(&self) -> &models::Job {
        match &self.0 {
            Holder::Page(page, index) => &page.items[*index],
            Holder::One(job) => job,
        }
    }
}

/// Deployment status of a job (upstream `Status`).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum JobStatus {
    /// Being deleted.
    Deleting,
    /// Terminated.
    Terminated,
    /// Deployment failed.
    Failed,
    /// Deactivated.
    Deactivated,
    /// Being deactivated.
    Deactivating,
    /// Image upload in progress.
    Uploading,
    /// Image build in progress.
    Building,
    /// Deployment in progress.
    Deploying,
    /// Deployed.
    Deployed,
    /// Built, not deployed.
    Built,
    /// Archived (API version 2026-09-22).
    Archived,
    /// Being archived (API version 2026-09-22).
    Archiving,
    /// Being restored from the archive (API version 2026-09-22).
    Unarchiving,
    /// A value this gateway does not know; `statusRaw` holds it.
    Unknown,
}

impl From<&models::Status> for JobStatus {
    fn from(s: &models::Status) -> Self {
        use models::Status as M;
        match s {
            M::Deleting => Self::Deleting,
            M::Terminated => Self::Terminated,
            M::Failed => Self::Failed,
            M::Deactivated => Self::Deactivated,
            M::Deactivating => Self::Deactivating,
            M::Uploading => Self::Uploading,
            M::Building => Self::Building,
            M::Deploying => Self::Deploying,
            M::Deployed => Self::Deployed,
            M::Built => Self::Built,
            // Statuses of API version 2026-09-22 (blaxel 0.4.24) have no GraphQL value yet: until
            // the schema adds them they read as UNKNOWN, with `statusRaw` naming them.
            M::Archived => Self::Archived,
            M::Archiving => Self::Archiving,
            M::Unarchiving => Self::Unarchiving,
            M::Unknown(_) => Self::Unknown,
        }
    }
}

#[Object]
impl Job {
    /// Relay global id (opaque, unique across workspaces); `node(id:)` fetches the job again.
    pub async fn id(&self, ctx: &Context<'_>) -> ID {
        let caller = &ctx.data_unchecked::<Caller>().workspace;
        let metadata = &self.model().metadata;
        let workspace = id_workspace(metadata.workspace.as_deref(), caller);
        global_id(JOB_KIND, workspace, &[&metadata.name])
    }

    /// Name, labels, ownership and timestamps.
    async fn metadata(&self) -> Metadata<'_> {
        Metadata(&self.model().metadata)
    }

    /// The job's definition.
    async fn spec(&self) -> JobSpec<'_> {
        JobSpec(&self.model().spec)
    }

    /// Deployment status; `UNKNOWN` for a value outside the documented enum.
    async fn status(&self) -> Option<JobStatus> {
        self.model().status.as_ref().map(Into::into)
    }

    /// Deployment status as the upstream sent it.
    async fn status_raw(&self) -> Option<&str> {
        self.model().status.as_ref().map(|s| s.as_str())
    }

    /// Deployment events.
    async fn events(&self) -> Vec<CoreEvent<'_>> {
        self.model()
            .events
            .as_ref()
            .map(|e| e.0.iter().map(CoreEvent).collect())
            .unwrap_or_default()
    }

    /// This job's executions: the same connection as `Query.jobExecutions`. Null, with an
    /// error, when the listing fails.
    #[graphql(
        complexity = "(*first.as_ref().unwrap_or(&20)).clamp(1, 1000) as usize * child_complexity"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn executions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Number of executions, 0 to maxFirst.", default = 20)] first: Option<i32>,
        #[graphql(desc = "Cursor of an edge: return the executions after it.")] after: Option<
            String,
        >,
        #[graphql(desc = "Not supported: rejected with BAD_USER_INPUT.")] last: Option<i32>,
        #[graphql(desc = "Not supported: rejected with BAD_USER_INPUT.")] before: Option<String>,
        #[graphql(desc = "Order.", default)] sort: Option<JobExecutionSort>,
        #[graphql(desc = "Substring search over execution id and job name (upstream `q`).")]
        query: Option<String>,
    ) -> Result<Option<ExecutionsConnection>> {
        let name = self.model().metadata.name.clone();
        let args = ConnectionArgs {
            first,
            after,
            last,
            before,
            query,
        };
        or_null(
            ctx,
            executions_connection(ctx, &name, args, sort.unwrap_or_default()).await,
        )
    }
}

/// Common metadata of a Blaxel resource (upstream `Metadata`).
pub struct Metadata<'a>(&'a models::Metadata);

#[Object]
impl<'a> Metadata<'a> {
    /// Unique name in the workspace: lowercase alphanumerics and hyphens, at most 49 characters.
    async fn name(&self) -> &'a str {
        &self.0.name
    }
    /// Human-readable name, at most 63 characters.
    async fn display_name(&self) -> Option<&'a str> {
        self.0.display_name.as_deref()
    }
    /// Caller-owned identifier for external lookups.
    async fn external_id(&self) -> Option<&'a str> {
        self.0.external_id.as_deref()
    }
    /// Labels as a JSON object of string values.
    async fn labels(&self) -> Option<Json<&'a std::collections::HashMap<String, String>>> {
        self.0.labels.as_ref().map(|l| Json(&l.0))
    }
    /// Billing plan tier.
    async fn plan(&self) -> Option<&'a str> {
        self.0.plan.as_deref()
    }
    /// Endpoint URL of the resource.
    async fn url(&self) -> Option<&'a str> {
        self.0.url.as_deref()
    }
    /// Workspace name.
    async fn workspace(&self) -> Option<&'a str> {
        self.0.workspace.as_deref()
    }
    /// Creation time.
    async fn created_at(&self) -> Result<Option<DateTime>> {
        timestamp(self.0.created_at.as_deref())
    }
    /// Last update time.
    async fn updated_at(&self) -> Result<Option<DateTime>> {
        timestamp(self.0.updated_at.as_deref())
    }
    /// User or service account that created it.
    async fn created_by(&self) -> Option<&'a str> {
        self.0.created_by.as_deref()
    }
    /// User or service account that last updated it.
    async fn updated_by(&self) -> Option<&'a str> {
        self.0.updated_by.as_deref()
    }
}

/// Definition of a batch job (upstream `JobSpec`).
pub struct JobSpec<'a>(&'a models::JobSpec);

#[Object]
impl<'a> JobSpec<'a> {
    /// False when new executions cannot be triggered (absent means true).
    async fn enabled(&self) -> bool {
        self.0.enabled.unwrap_or(true)
    }
    /// GitHub Actions runner configuration.
    async fn github_runner(&self) -> Option<GithubRunnerConfig<'a>> {
        self.0.github_runner.as_ref().map(GithubRunnerConfig)
    }
    /// Policy names.
    async fn policies(&self) -> Vec<&'a str> {
        self.0
            .policies
            .as_ref()
            .map(|p| p.0.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }
    /// Region, e.g. `us-was-1`.
    async fn region(&self) -> Option<&'a str> {
        self.0.region.as_deref()
    }
    /// Revision routing.
    async fn revision(&self) -> Option<RevisionConfiguration<'a>> {
        self.0.revision.as_ref().map(RevisionConfiguration)
    }
    /// How tasks run.
    async fn runtime(&self) -> Option<JobRuntime<'a>> {
        self.0.runtime.as_ref().map(JobRuntime)
    }
    /// Triggers.
    async fn triggers(&self) -> Vec<Trigger<'a>> {
        self.0
            .triggers
            .as_ref()
            .map(|t| t.0.iter().map(Trigger).collect())
            .unwrap_or_default()
    }
    /// Ephemeral volumes.
    async fn volumes(&self) -> Vec<JobVolume<'a>> {
        self.0
            .volumes
            .as_ref()
            .map(|v| v.0.iter().map(JobVolume).collect())
            .unwrap_or_default()
    }
}

/// A job acting as a self-hosted GitHub Actions runner (upstream `GithubRunnerConfig`).
pub struct GithubRunnerConfig<'a>(&'a models::GithubRunnerConfig);

#[Object]
impl<'a> GithubRunnerConfig<'a> {
    /// Repositories (`owner/repo`) whose workflow jobs this runner picks up; non-empty means
    /// enabled.
    async fn repositories(&self) -> Vec<&'a str> {
        self.0.repositories.iter().map(String::as_str).collect()
    }
}

/// How a job's tasks run (upstream `JobRuntime`).
pub struct JobRuntime<'a>(&'a models::JobRuntime);

#[Object]
impl<'a> JobRuntime<'a> {
    /// Share of VM RAM used as disk, percent (10-95; mk3.1 only).
    async fn disk_percent(&self, ctx: &Context<'_>) -> Option<i32> {
        int32(ctx, self.0.disk_percent)
    }
    /// Environment variables.
    async fn envs(&self) -> Vec<Env<'a>> {
        self.0.envs.iter().map(Env).collect()
    }
    /// Infrastructure generation: `mk2` or `mk3`.
    async fn generation(&self) -> Option<String> {
        self.0.generation.as_ref().map(|g| g.to_string())
    }
    /// Container image.
    async fn image(&self) -> Option<&'a str> {
        self.0.image.as_deref()
    }
    /// Retries of a failed task.
    async fn max_retries(&self, ctx: &Context<'_>) -> Option<i32> {
        int32(ctx, self.0.max_retries)
    }
    /// Memory in MB (CPU cores = memory / 2048).
    async fn memory(&self, ctx: &Context<'_>) -> Option<i32> {
        int32(ctx, self.0.memory)
    }
    /// Ports.
    async fn ports(&self) -> Vec<Port<'a>> {
        self.0
            .ports
            .as_ref()
            .map(|p| p.0.iter().map(Port).collect())
            .unwrap_or_default()
    }
    /// Task timeout in seconds.
    async fn timeout(&self, ctx: &Context<'_>) -> Option<i32> {
        int32(ctx, self.0.timeout)
    }
}

/// An environment variable (upstream `Env`).
pub struct Env<'a>(&'a models::Env);

#[Object]
impl<'a> Env<'a> {
    /// Name.
    async fn name(&self) -> Option<&'a str> {
        self.0.name.as_deref()
    }
    /// True when the value is a secret.
    async fn secret(&self) -> Option<bool> {
        self.0.secret
    }
    /// Value as the upstream sent it.
    async fn value(&self) -> Option<&'a str> {
        self.0.value.as_deref()
    }
}

/// A port (upstream `Port`).
pub struct Port<'a>(&'a models::Port);

#[Object]
impl<'a> Port<'a> {
    /// Name.
    async fn name(&self) -> Option<&'a str> {
        self.0.name.as_deref()
    }
    /// Protocol: HTTP, TCP, UDP or TLS.
    async fn protocol(&self) -> Option<String> {
        self.0.protocol.as_ref().map(|p| p.to_string())
    }
    /// Target port.
    async fn target(&self) -> Result<i32> {
        strict_int32(self.0.target)
    }
}

/// A trigger (upstream `Trigger`).
pub struct Trigger<'a>(&'a models::Trigger);

#[Object]
impl<'a> Trigger<'a> {
    /// Id.
    async fn id(&self) -> Option<&'a str> {
        self.0.id.as_deref()
    }
    /// Enabled (default true).
    async fn enabled(&self) -> Option<bool> {
        self.0.enabled
    }
    /// `http`, `http-async` or `cron`.
    #[graphql(name = "type")]
    async fn type_(&self) -> Option<String> {
        self.0.type_.as_ref().map(|t| t.to_string())
    }
    /// Configuration.
    async fn configuration(&self) -> Option<TriggerConfiguration<'a>> {
        self.0.configuration.as_ref().map(TriggerConfiguration)
    }
}

/// Configuration of a trigger (upstream `TriggerConfiguration`).
pub struct TriggerConfiguration<'a>(&'a models::TriggerConfiguration);

#[Object]
impl<'a> TriggerConfiguration<'a> {
    /// Authentication type.
    async fn authentication_type(&self) -> Option<&'a str> {
        self.0.authentication_type.as_deref()
    }
    /// Callback secret of async triggers, as the upstream sent it (encrypted).
    async fn callback_secret(&self) -> Option<&'a str> {
        self.0.callback_secret.as_deref()
    }
    /// Callback URL of async triggers.
    async fn callback_url(&self) -> Option<&'a str> {
        self.0.callback_url.as_deref()
    }
    /// Path.
    async fn path(&self) -> Option<&'a str> {
        self.0.path.as_deref()
    }
    /// Retries.
    async fn retry(&self, ctx: &Context<'_>) -> Option<i32> {
        int32(ctx, self.0.retry)
    }
    /// Cron schedule, e.g. `0 * * * *`.
    async fn schedule(&self) -> Option<&'a str> {
        self.0.schedule.as_deref()
    }
    /// Task parameters of a cron trigger, as JSON objects.
    async fn tasks(&self) -> Vec<Json<&'a serde_json::Map<String, serde_json::Value>>> {
        self.0.tasks.iter().map(|t| Json(&t.0)).collect()
    }
    /// Timeout of async triggers in seconds (at most 900).
    async fn timeout(&self, ctx: &Context<'_>) -> Option<i32> {
        int32(ctx, self.0.timeout)
    }
}

/// An ephemeral volume (upstream `JobVolume`).
pub struct JobVolume<'a>(&'a models::JobVolume);

#[Object]
impl<'a> JobVolume<'a> {
    /// Name.
    async fn name(&self) -> &'a str {
        &self.0.name
    }
    /// Mount path.
    async fn mount_path(&self) -> &'a str {
        &self.0.mount_path
    }
    /// Read-only mount.
    async fn read_only(&self) -> Option<bool> {
        self.0.read_only
    }
    /// Size in MB.
    async fn size_mb(&self) -> Result<i32> {
        strict_int32(self.0.size_mb)
    }
    /// Volume type: `ephemeral`.
    #[graphql(name = "type")]
    async fn type_(&self) -> String {
        self.0.type_.to_string()
    }
}

/// Revision routing (upstream `RevisionConfiguration`).
pub struct RevisionConfiguration<'a>(&'a models::RevisionConfiguration);

#[Object]
impl<'a> RevisionConfiguration<'a> {
    /// Active revision id.
    async fn active(&self) -> Option<&'a str> {
        self.0.active.as_deref()
    }
    /// Canary revision id.
    async fn canary(&self) -> Option<&'a str> {
        self.0.canary.as_deref()
    }
    /// Canary traffic, percent.
    async fn canary_percent(&self, ctx: &Context<'_>) -> Option<i32> {
        int32(ctx, self.0.canary_percent)
    }
    /// Sticky session TTL in seconds (0 = disabled).
    async fn sticky_session_ttl(&self, ctx: &Context<'_>) -> Option<i32> {
        int32(ctx, self.0.sticky_session_ttl)
    }
    /// Traffic, percent.
    async fn traffic(&self, ctx: &Context<'_>) -> Option<i32> {
        int32(ctx, self.0.traffic)
    }
}

/// A deployment event (upstream `CoreEvent`).
pub struct CoreEvent<'a>(&'a models::CoreEvent);

#[Object]
impl<'a> CoreEvent<'a> {
    /// Canary revision id.
    async fn canary_revision(&self) -> Option<&'a str> {
        self.0.canary_revision.as_deref()
    }
    /// Message.
    async fn message(&self) -> Option<&'a str> {
        self.0.message.as_deref()
    }
    /// Revision id.
    async fn revision(&self) -> Option<&'a str> {
        self.0.revision.as_deref()
    }
    /// Status, e.g. `DEPLOYED`.
    async fn status(&self) -> Option<&'a str> {
        self.0.status.as_deref()
    }
    /// Time as the upstream sent it.
    async fn time(&self) -> Option<&'a str> {
        self.0.time.as_deref()
    }
    /// Event type.
    #[graphql(name = "type")]
    async fn type_(&self) -> Option<&'a str> {
        self.0.type_.as_deref()
    }
}
