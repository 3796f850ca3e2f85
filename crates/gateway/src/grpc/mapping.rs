//! Where each property of the JSON Schema (the REST payloads' source of truth) goes in the
//! protos, as [`super::convert`] maps it: the drift test checks this table against both the
//! schema and the compiled descriptor set, so a new upstream property fails the build's tests
//! until it is mapped or ignored here with a reason.

/// Where each JSON Schema property goes: `(definition.path, proto message.field path)`. The
/// drift test checks every property of the execution, task and job schemas is here or in
/// [`IGNORED`], and that every proto path exists in the descriptor set.
pub const MAPPED: &[(&str, &str)] = &[
    ("JobExecution.metadata.id", "JobExecution.id"),
    ("JobExecution.metadata.job", "JobExecution.job"),
    ("JobExecution.metadata.workspace", "JobExecution.workspace"),
    ("JobExecution.metadata.cluster", "JobExecution.cluster"),
    (
        "JobExecution.metadata.createdAt",
        "JobExecution.create_time",
    ),
    ("JobExecution.metadata.startedAt", "JobExecution.start_time"),
    (
        "JobExecution.metadata.completedAt",
        "JobExecution.complete_time",
    ),
    (
        "JobExecution.metadata.updatedAt",
        "JobExecution.update_time",
    ),
    (
        "JobExecution.metadata.deletedAt",
        "JobExecution.delete_time",
    ),
    (
        "JobExecution.metadata.expiredAt",
        "JobExecution.expire_time",
    ),
    ("JobExecution.status", "JobExecution.state"),
    ("JobExecution.tasks", "JobExecution.tasks"),
    (
        "JobExecution.spec.parallelism",
        "JobExecution.spec.parallelism",
    ),
    ("JobExecution.spec.timeout", "JobExecution.spec.timeout"),
    (
        "JobExecution.spec.memoryOverride",
        "JobExecution.spec.memory_override_mb",
    ),
    (
        "JobExecution.spec.envOverride",
        "JobExecution.spec.env_override",
    ),
    (
        "JobExecution.spec.taskCount",
        "JobExecution.spec.task_count",
    ),
    ("JobExecution.spec.tasks", "JobExecution.spec.tasks"),
    ("JobExecution.spec.tasksRef", "JobExecution.spec.tasks_ref"),
    (
        "JobExecution.stats.cancelled",
        "JobExecution.stats.cancelled",
    ),
    ("JobExecution.stats.failure", "JobExecution.stats.failure"),
    ("JobExecution.stats.retried", "JobExecution.stats.retried"),
    ("JobExecution.stats.running", "JobExecution.stats.running"),
    ("JobExecution.stats.success", "JobExecution.stats.success"),
    ("JobExecution.stats.total", "JobExecution.stats.total"),
    ("JobExecutionTask.metadata.name", "JobExecutionTask.name"),
    (
        "JobExecutionTask.metadata.createdAt",
        "JobExecutionTask.create_time",
    ),
    (
        "JobExecutionTask.metadata.scheduledAt",
        "JobExecutionTask.schedule_time",
    ),
    (
        "JobExecutionTask.metadata.startedAt",
        "JobExecutionTask.start_time",
    ),
    (
        "JobExecutionTask.metadata.completedAt",
        "JobExecutionTask.complete_time",
    ),
    (
        "JobExecutionTask.metadata.updatedAt",
        "JobExecutionTask.update_time",
    ),
    ("JobExecutionTask.status", "JobExecutionTask.state"),
    (
        "JobExecutionTask.spec.maxRetries",
        "JobExecutionTask.max_retries",
    ),
    ("JobExecutionTask.spec.timeout", "JobExecutionTask.timeout"),
    (
        "JobExecutionTask.conditions.type",
        "JobExecutionTask.conditions.type",
    ),
    (
        "JobExecutionTask.conditions.state",
        "JobExecutionTask.conditions.state",
    ),
    (
        "JobExecutionTask.conditions.reason",
        "JobExecutionTask.conditions.reason",
    ),
    (
        "JobExecutionTask.conditions.message",
        "JobExecutionTask.conditions.message",
    ),
    (
        "JobExecutionTask.conditions.severity",
        "JobExecutionTask.conditions.severity",
    ),
    (
        "JobExecutionTask.conditions.executionReason",
        "JobExecutionTask.conditions.execution_reason",
    ),
    ("Job.metadata.name", "Job.job_id"),
    ("Job.metadata.displayName", "Job.display_name"),
    ("Job.metadata.workspace", "Job.workspace"),
    ("Job.metadata.labels", "Job.labels"),
    ("Job.metadata.createdAt", "Job.create_time"),
    ("Job.metadata.updatedAt", "Job.update_time"),
    ("Job.metadata.createdBy", "Job.creator"),
    ("Job.metadata.updatedBy", "Job.updater"),
    ("Job.metadata.externalId", "Job.external_id"),
    ("Job.metadata.plan", "Job.plan"),
    ("Job.metadata.url", "Job.url"),
    ("Job.status", "Job.status"),
    ("Job.events.type", "Job.events.type"),
    ("Job.events.status", "Job.events.status"),
    ("Job.events.message", "Job.events.message"),
    ("Job.events.revision", "Job.events.revision"),
    ("Job.events.canaryRevision", "Job.events.canary_revision"),
    ("Job.events.time", "Job.events.time"),
    ("Job.spec.enabled", "Job.spec.enabled"),
    ("Job.spec.region", "Job.spec.region"),
    ("Job.spec.policies", "Job.spec.policies"),
    (
        "Job.spec.githubRunner.repositories",
        "Job.spec.github_runner_repositories",
    ),
    ("Job.spec.revision.active", "Job.spec.revision.active"),
    ("Job.spec.revision.canary", "Job.spec.revision.canary"),
    (
        "Job.spec.revision.canaryPercent",
        "Job.spec.revision.canary_percent",
    ),
    (
        "Job.spec.revision.stickySessionTtl",
        "Job.spec.revision.sticky_session_ttl",
    ),
    ("Job.spec.revision.traffic", "Job.spec.revision.traffic"),
    (
        "Job.spec.runtime.diskPercent",
        "Job.spec.runtime.disk_percent",
    ),
    ("Job.spec.runtime.envs.name", "Job.spec.runtime.envs.name"),
    ("Job.spec.runtime.envs.value", "Job.spec.runtime.envs.value"),
    (
        "Job.spec.runtime.envs.secret",
        "Job.spec.runtime.envs.secret",
    ),
    ("Job.spec.runtime.generation", "Job.spec.runtime.generation"),
    ("Job.spec.runtime.image", "Job.spec.runtime.image"),
    (
        "Job.spec.runtime.maxRetries",
        "Job.spec.runtime.max_retries",
    ),
    ("Job.spec.runtime.memory", "Job.spec.runtime.memory_mb"),
    ("Job.spec.runtime.ports.name", "Job.spec.runtime.ports.name"),
    (
        "Job.spec.runtime.ports.protocol",
        "Job.spec.runtime.ports.protocol",
    ),
    (
        "Job.spec.runtime.ports.target",
        "Job.spec.runtime.ports.target",
    ),
    ("Job.spec.runtime.timeout", "Job.spec.runtime.timeout"),
    ("Job.spec.triggers.id", "Job.spec.triggers.id"),
    ("Job.spec.triggers.type", "Job.spec.triggers.type"),
    ("Job.spec.triggers.enabled", "Job.spec.triggers.enabled"),
    (
        "Job.spec.triggers.configuration.authenticationType",
        "Job.spec.triggers.authentication_type",
    ),
    (
        "Job.spec.triggers.configuration.callbackUrl",
        "Job.spec.triggers.callback_url",
    ),
    (
        "Job.spec.triggers.configuration.path",
        "Job.spec.triggers.path",
    ),
    (
        "Job.spec.triggers.configuration.retry",
        "Job.spec.triggers.retry",
    ),
    (
        "Job.spec.triggers.configuration.schedule",
        "Job.spec.triggers.schedule",
    ),
    (
        "Job.spec.triggers.configuration.tasks",
        "Job.spec.triggers.tasks",
    ),
    (
        "Job.spec.triggers.configuration.tasksRef",
        "Job.spec.triggers.tasks_ref",
    ),
    (
        "Job.spec.triggers.configuration.timeout",
        "Job.spec.triggers.timeout",
    ),
    ("Job.spec.volumes.name", "Job.spec.volumes.name"),
    ("Job.spec.volumes.mountPath", "Job.spec.volumes.mount_path"),
    ("Job.spec.volumes.readOnly", "Job.spec.volumes.read_only"),
    ("Job.spec.volumes.sizeMb", "Job.spec.volumes.size_mb"),
    ("Job.spec.volumes.type", "Job.spec.volumes.type"),
];

/// JSON Schema properties deliberately not in the proto messages, each with its reason.
pub const IGNORED: &[(&str, &str)] = &[
    // A secret the upstream generates (encrypted): a read API has no business returning it.
    (
        "Job.spec.triggers.configuration.callbackSecret",
        "secret, never exposed",
    ),
];
