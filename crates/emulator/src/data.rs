//! Seed data and the execution timeline.
//!
//! An execution is stored as a *plan* (creation time, queue and pending durations, one plan per
//! task, an optional cancel time); its status, stats, tasks and timestamps at any virtual instant
//! are derived from the plan on demand, so progress on the clock needs no mutation and the counts
//! agree with the task list at every moment.

use std::collections::{HashMap, HashSet};

use blaxel_models::{
    CoreEvent, CoreEvents, EnvOverride, Job, JobExecution, JobExecutionMetadata, JobExecutionSpec,
    JobExecutionStats, JobExecutionStatus, JobExecutionTask, JobExecutionTaskCondition,
    JobExecutionTaskMetadata, JobExecutionTaskSpec, JobExecutionTaskStatus, JobRuntime,
    JobRuntimeGeneration, JobSpec, Metadata, MetadataLabels, RevisionConfiguration,
    RevisionMetadata, Status,
};
use chrono::{DateTime, SecondsFormat, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sha2::{Digest, Sha256};

/// The virtual clock's origin: 2026-06-01T00:00:00Z, in Unix seconds.
pub(crate) const START: i64 = 1_780_272_000;

/// Virtual seconds between a cancel request and the `cancelled` status; tasks running at the
/// request that finish within this grace period complete normally, the others are cancelled.
pub(crate) const CANCEL_GRACE_SECS: i64 = 5;

/// Name of the first job of every workspace (the reference example's job).
pub(crate) const REFERENCE_JOB: &str = "data-processing-job";
/// Workspace holding the reference execution.
pub(crate) const REFERENCE_WORKSPACE: &str = "my-workspace";
/// The reference execution id of the seed page.
pub(crate) const REFERENCE_EXECUTION: &str = "exec-abc123";

/// Formats Unix seconds as canonical RFC 3339 UTC (`2026-05-31T12:00:00Z`).
pub(crate) fn ts(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A stable 64-bit hash of some text (first 8 bytes of SHA-256), used to derive per-job seeds.
pub(crate) fn hash64(parts: &[&str]) -> u64 {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    u64::from_be_bytes(d[..8].try_into().unwrap_or([0; 8]))
}

/// One task of an execution plan. Offsets are seconds from the execution's run start.
#[derive(Debug, Clone)]
pub(crate) struct TaskPlan {
    /// Seconds after the run start at which the first attempt starts.
    pub start: u32,
    /// Duration of one attempt, seconds (>= 1).
    pub attempt_secs: u32,
    /// Attempts made (1 + retries).
    pub attempts: u8,
    /// `spec.maxRetries`.
    pub max_retries: u8,
    /// True when the last attempt fails.
    pub fails: bool,
    /// `spec.timeout`, e.g. `30m`.
    pub timeout: &'static str,
}

impl TaskPlan {
    fn natural_end(&self) -> u32 {
        self.start + self.attempt_secs * u32::from(self.attempts)
    }
}

/// `spec.envOverride` of an execution: variable names (values are always masked `***`).
#[derive(Debug, Clone)]
pub(crate) enum EnvPlan {
    /// Sent as a JSON object `{"NAME": "***"}`.
    Object(Vec<String>),
    /// Sent as a string holding a JSON object (the reference example's form).
    Text(&'static str),
}

/// A stored execution.
#[derive(Debug, Clone)]
pub(crate) struct Exec {
    pub id: Box<str>,
    pub created: i64,
    pub queue: u32,
    pub pending: u32,
    /// `spec.timeout`, seconds; the execution times out `timeout` seconds after its run start.
    pub timeout: u32,
    pub parallelism: u16,
    pub tasks: Box<[TaskPlan]>,
    pub env: Option<EnvPlan>,
    pub memory: Option<i64>,
    pub cancel_at: Option<i64>,
}

/// What one task looks like at some instant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TaskView {
    pub status: TaskState,
    pub started: Option<i64>,
    pub completed: Option<i64>,
    pub retried: u32,
    pub updated: i64,
    pub scheduled: Option<i64>,
}

/// Task status plus why it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskState {
    Pending,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
}

impl Exec {
    fn run_start(&self) -> i64 {
        self.created + i64::from(self.queue) + i64::from(self.pending)
    }

    fn natural_end(&self) -> i64 {
        self.run_start()
            + i64::from(
                self.tasks
                    .iter()
                    .map(TaskPlan::natural_end)
                    .max()
                    .unwrap_or(1),
            )
    }

    fn deadline(&self) -> i64 {
        self.run_start() + i64::from(self.timeout)
    }

    /// End time and terminal status without a cancel.
    fn planned_end(&self) -> (i64, JobExecutionStatus) {
        let natural = self.natural_end();
        if natural > self.deadline() {
            (self.deadline(), JobExecutionStatus::Timeout)
        } else if self.tasks.iter().any(|t| t.fails) {
            (natural, JobExecutionStatus::Failed)
        } else {
            (natural, JobExecutionStatus::Succeeded)
        }
    }

    /// The effective cancel time: a cancel request made before the planned end.
    fn effective_cancel(&self) -> Option<i64> {
        self.cancel_at.filter(|c| *c < self.planned_end().0)
    }

    /// End time and terminal status, cancel included.
    pub(crate) fn end(&self) -> (i64, JobExecutionStatus) {
        match self.effective_cancel() {
            Some(c) => (c + CANCEL_GRACE_SECS, JobExecutionStatus::Cancelled),
            None => self.planned_end(),
        }
    }

    /// Status at instant `t` (Unix seconds).
    pub(crate) fn status_at(&self, t: i64) -> JobExecutionStatus {
        let (end, terminal) = self.end();
        if t >= end {
            return terminal;
        }
        if self.effective_cancel().is_some_and(|c| c <= t) {
            return JobExecutionStatus::Cancelling;
        }
        if t < self.created + i64::from(self.queue) {
            JobExecutionStatus::Queued
        } else if t < self.run_start() {
            JobExecutionStatus::Pending
        } else {
            JobExecutionStatus::Running
        }
    }

    /// Task `i` at instant `t`.
    pub(crate) fn task_at(&self, i: usize, t: i64) -> TaskView {
        let plan = &self.tasks[i];
        let rs = self.run_start();
        let s = rs + i64::from(plan.start);
        let f = rs + i64::from(plan.natural_end());
        let attempt = i64::from(plan.attempt_secs.max(1));
        let max_retried = u32::from(plan.attempts.saturating_sub(1));
        let retried_by = |at: i64| (((at - s) / attempt).max(0) as u32).min(max_retried);
        let scheduled = (t >= rs).then_some(rs);
        // Cuts: tasks not started by `never_after` never start; running ones stop at `stop`.
        let (never_after, stop, stop_state, never_state) = match self.effective_cancel() {
            Some(c) => (
                c,
                c + CANCEL_GRACE_SECS,
                TaskState::Cancelled,
                TaskState::Cancelled,
            ),
            None if self.planned_end().1 == JobExecutionStatus::Timeout => {
                let d = self.deadline();
                (d, d, TaskState::TimedOut, TaskState::Cancelled)
            }
            None => (
                i64::MAX,
                i64::MAX,
                TaskState::Succeeded,
                TaskState::Cancelled,
            ),
        };
        let pending = TaskView {
            status: TaskState::Pending,
            started: None,
            completed: None,
            retried: 0,
            updated: self.created,
            scheduled,
        };
        if s >= never_after {
            if t < never_after {
                return pending;
            }
            return TaskView {
                status: never_state,
                completed: Some(never_after),
                updated: never_after,
                scheduled: None,
                ..pending
            };
        }
        if t < s {
            return pending;
        }
        let end = f.min(stop);
        if t < end {
            let retried = retried_by(t);
            return TaskView {
                status: TaskState::Running,
                started: Some(s),
                completed: None,
                retried,
                updated: s + i64::from(retried) * attempt,
                scheduled,
            };
        }
        let status = if f <= stop {
            if plan.fails {
                TaskState::Failed
            } else {
                TaskState::Succeeded
            }
        } else {
            stop_state
        };
        TaskView {
            status,
            started: Some(s),
            completed: Some(end),
            retried: if f <= stop {
                max_retried
            } else {
                retried_by(end)
            },
            updated: end,
            scheduled,
        }
    }

    /// Whether the execution holds workspace capacity at `t` (pending, running or cancelling).
    pub(crate) fn is_active_at(&self, t: i64) -> bool {
        matches!(
            self.status_at(t),
            JobExecutionStatus::Pending
                | JobExecutionStatus::Running
                | JobExecutionStatus::Cancelling
        )
    }

    fn task_model(&self, i: usize, v: &TaskView) -> JobExecutionTask {
        let plan = &self.tasks[i];
        let (status, cond) = match v.status {
            TaskState::Pending => (
                JobExecutionTaskStatus::Pending,
                (
                    "Ready",
                    "False",
                    "Info",
                    "Pending",
                    "waiting for a slot",
                    "",
                ),
            ),
            TaskState::Running => (
                JobExecutionTaskStatus::Running,
                (
                    "Started",
                    "True",
                    "Info",
                    "Running",
                    "task is running",
                    "Started",
                ),
            ),
            TaskState::Succeeded => (
                JobExecutionTaskStatus::Succeeded,
                (
                    "Completed",
                    "True",
                    "Info",
                    "Succeeded",
                    "task finished",
                    "ExitCode0",
                ),
            ),
            TaskState::Failed => (
                JobExecutionTaskStatus::Failed,
                (
                    "Completed",
                    "False",
                    "Error",
                    "Failed",
                    "task exited with code 1",
                    "NonZeroExitCode",
                ),
            ),
            TaskState::TimedOut => (
                JobExecutionTaskStatus::Failed,
                (
                    "Completed",
                    "False",
                    "Error",
                    "DeadlineExceeded",
                    "execution timeout reached",
                    "Timeout",
                ),
            ),
            TaskState::Cancelled => (
                JobExecutionTaskStatus::Cancelled,
                (
                    "Completed",
                    "False",
                    "Warning",
                    "Cancelled",
                    "execution cancelled",
                    "Cancelled",
                ),
            ),
        };
        let mut conditions = vec![condition(cond)];
        if v.retried > 0 {
            conditions.push(JobExecutionTaskCondition {
                type_: Some("Retried".into()),
                state: Some("True".into()),
                severity: Some("Warning".into()),
                reason: Some("AttemptFailed".into()),
                message: Some(format!("retried {} time(s)", v.retried)),
                execution_reason: Some("NonZeroExitCode".into()),
            });
        }
        JobExecutionTask {
            conditions,
            metadata: Some(JobExecutionTaskMetadata {
                name: Some(format!("task-{i}")),
                created_at: Some(ts(self.created)),
                scheduled_at: v.scheduled.map(ts),
                started_at: v.started.map(ts),
                completed_at: v.completed.map(ts),
                updated_at: Some(ts(v.updated)),
            }),
            spec: Some(JobExecutionTaskSpec {
                max_retries: Some(i64::from(plan.max_retries)),
                timeout: Some(plan.timeout.to_owned()),
            }),
            status: Some(status),
        }
    }

    /// The task list at `t`, in task order (`task-0`, `task-1`, ...).
    pub(crate) fn tasks_at(&self, t: i64) -> Vec<JobExecutionTask> {
        (0..self.tasks.len())
            .map(|i| self.task_model(i, &self.task_at(i, t)))
            .collect()
    }

    /// The full `JobExecution` as the API returns it at instant `t`.
    pub(crate) fn model(&self, workspace: &str, job: &str, cluster: &str, t: i64) -> JobExecution {
        let views: Vec<TaskView> = (0..self.tasks.len()).map(|i| self.task_at(i, t)).collect();
        let mut stats = JobExecutionStats {
            cancelled: Some(0),
            failure: Some(0),
            retried: Some(0),
            running: Some(0),
            success: Some(0),
            total: Some(views.len() as i64),
        };
        let bump = |f: &mut Option<i64>| *f = Some(f.unwrap_or(0) + 1);
        let mut updated = self.created;
        for v in &views {
            match v.status {
                TaskState::Pending => {}
                TaskState::Running => bump(&mut stats.running),
                TaskState::Succeeded => bump(&mut stats.success),
                TaskState::Failed | TaskState::TimedOut => bump(&mut stats.failure),
                TaskState::Cancelled => bump(&mut stats.cancelled),
            }
            stats.retried = Some(stats.retried.unwrap_or(0) + i64::from(v.retried));
            updated = updated.max(v.updated);
        }
        let status = self.status_at(t);
        let rs = self.run_start();
        let queue_end = self.created + i64::from(self.queue);
        let cancel = self.effective_cancel().filter(|c| *c <= t);
        let started = (t >= rs && cancel.is_none_or(|c| c >= rs)).then_some(rs);
        let (end, _) = self.end();
        let completed = status.is_terminal().then_some(end);
        for at in [Some(queue_end), started, cancel, completed]
            .into_iter()
            .flatten()
        {
            if at <= t {
                updated = updated.max(at);
            }
        }
        let tasks: Vec<JobExecutionTask> = views
            .iter()
            .enumerate()
            .map(|(i, v)| self.task_model(i, v))
            .collect();
        let spec_tasks = self
            .tasks
            .iter()
            .enumerate()
            .map(|(i, p)| JobExecutionTask {
                conditions: Vec::new(),
                metadata: Some(JobExecutionTaskMetadata {
                    name: Some(format!("task-{i}")),
                    created_at: Some(ts(self.created)),
                    ..Default::default()
                }),
                spec: Some(JobExecutionTaskSpec {
                    max_retries: Some(i64::from(p.max_retries)),
                    timeout: Some(p.timeout.to_owned()),
                }),
                status: None,
            })
            .collect();
        JobExecution {
            metadata: JobExecutionMetadata {
                cluster: Some(cluster.to_owned()),
                completed_at: completed.map(ts),
                created_at: Some(ts(self.created)),
                deleted_at: None,
                expired_at: None,
                id: Some(self.id.to_string()),
                job: Some(job.to_owned()),
                started_at: started.map(ts),
                updated_at: Some(ts(updated)),
                workspace: Some(workspace.to_owned()),
            },
            spec: JobExecutionSpec {
                env_override: self.env.as_ref().map(|e| match e {
                    EnvPlan::Text(s) => EnvOverride(serde_json::Value::String((*s).to_owned())),
                    EnvPlan::Object(names) => EnvOverride::from(
                        names
                            .iter()
                            .map(|n| (n.clone(), serde_json::Value::String("***".into())))
                            .collect::<serde_json::Map<_, _>>(),
                    ),
                }),
                memory_override: self.memory,
                parallelism: Some(i64::from(self.parallelism)),
                tasks: spec_tasks,
                timeout: Some(i64::from(self.timeout)),
            },
            stats: Some(stats),
            status: Some(status),
            tasks,
        }
    }
}

fn condition(c: (&str, &str, &str, &str, &str, &str)) -> JobExecutionTaskCondition {
    JobExecutionTaskCondition {
        type_: Some(c.0.into()),
        state: Some(c.1.into()),
        severity: Some(c.2.into()),
        reason: Some(c.3.into()),
        message: Some(c.4.into()),
        execution_reason: (!c.5.is_empty()).then(|| c.5.into()),
    }
}

/// A job and its executions, with one index per sort key.
#[derive(Debug)]
pub(crate) struct JobState {
    pub name: String,
    pub created: i64,
    pub job: Job,
    /// `spec.runtime.memory`, MB: the ceiling of `memory` on create.
    pub memory: i64,
    /// `spec.runtime.timeout`, seconds: captured by new executions.
    pub timeout: u32,
    pub revisions: Vec<RevisionMetadata>,
    pub execs: Vec<Exec>,
    pub by_id: HashMap<Box<str>, u32>,
    /// Execution slots sorted ascending by (createdAt, id).
    pub by_created: Vec<u32>,
    /// Execution slots sorted ascending by id.
    pub by_name: Vec<u32>,
}

impl JobState {
    pub(crate) fn created_key(&self, slot: u32) -> (i64, &str) {
        let e = &self.execs[slot as usize];
        (e.created, &e.id)
    }

    pub(crate) fn name_key(&self, slot: u32) -> &str {
        &self.execs[slot as usize].id
    }

    /// Adds an execution, keeping both indexes sorted (binary search + insert).
    pub(crate) fn insert(&mut self, exec: Exec) -> u32 {
        let slot = self.execs.len() as u32;
        let key = (exec.created, exec.id.clone());
        self.by_id.insert(exec.id.clone(), slot);
        self.execs.push(exec);
        let pos = self
            .by_created
            .partition_point(|s| self.created_key(*s) < (key.0, &key.1));
        self.by_created.insert(pos, slot);
        let pos = self
            .by_name
            .partition_point(|s| self.name_key(*s) < &*key.1);
        self.by_name.insert(pos, slot);
        slot
    }
}

/// A workspace: its jobs and the executions that may still hold capacity.
#[derive(Debug)]
pub(crate) struct WorkspaceState {
    pub name: String,
    pub cluster: String,
    pub jobs: Vec<JobState>,
    pub job_by_name: HashMap<String, usize>,
    /// Job slots sorted ascending by (createdAt, name).
    pub jobs_by_created: Vec<usize>,
    /// Job slots sorted ascending by name.
    pub jobs_by_name: Vec<usize>,
    /// (job slot, execution slot) of executions not known to be terminal; pruned lazily.
    pub live: Vec<(usize, u32)>,
}

impl WorkspaceState {
    /// Executions holding capacity at `t` (pending, running, cancelling); prunes terminal ones.
    pub(crate) fn active_at(&mut self, t: i64) -> usize {
        let jobs = &self.jobs;
        self.live
            .retain(|(j, e)| !jobs[*j].execs[*e as usize].status_at(t).is_terminal());
        self.live
            .iter()
            .filter(|(j, e)| jobs[*j].execs[*e as usize].is_active_at(t))
            .count()
    }
}

/// All workspaces.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub workspaces: HashMap<String, WorkspaceState>,
}

const TASK_TIMEOUTS: [&str; 4] = ["30m", "15m", "1h", "2h"];
const ENV_NAMES: [&str; 5] = ["MY_VAR", "BATCH_SIZE", "LOG_LEVEL", "REGION", "MODEL_NAME"];

/// Builds generic tasks that all finish within `budget` seconds of the run start.
pub(crate) fn random_tasks(
    rng: &mut StdRng,
    count: usize,
    parallelism: usize,
    budget: u32,
) -> Vec<TaskPlan> {
    let parallelism = parallelism.clamp(1, count.max(1));
    let waves = count.div_ceil(parallelism).max(1) as u32;
    let dmax = (budget / waves).max(2);
    let mut slots = vec![0u32; parallelism];
    let max_retries: u8 = rng.random_range(0..=3);
    let timeout = TASK_TIMEOUTS[rng.random_range(0..TASK_TIMEOUTS.len())];
    (0..count)
        .map(|_| {
            let d = rng.random_range(1..=dmax);
            let attempts = if max_retries > 0 && rng.random_bool(0.2) {
                rng.random_range(2..=max_retries + 1)
            } else {
                1
            };
            let (slot, start) = slots
                .iter()
                .copied()
                .enumerate()
                .min_by_key(|(_, end)| *end)
                .unwrap_or((0, 0));
            let attempt_secs = (d / u32::from(attempts)).max(1);
            slots[slot] = start + attempt_secs * u32::from(attempts);
            TaskPlan {
                start,
                attempt_secs,
                attempts,
                max_retries,
                fails: false,
                timeout,
            }
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Role {
    Queued,
    Pending,
    Running,
    Cancelling,
    Succeeded,
    Failed,
    Cancelled,
    Timeout,
}

fn role_for(i: usize, rng: &mut StdRng) -> Role {
    const FORCED: [Role; 9] = [
        Role::Queued,
        Role::Pending,
        Role::Running,
        Role::Cancelling,
        Role::Running,
        Role::Succeeded,
        Role::Failed,
        Role::Cancelled,
        Role::Timeout,
    ];
    if let Some(r) = FORCED.get(i) {
        return *r;
    }
    match rng.random_range(0..100) {
        0..65 => Role::Succeeded,
        65..80 => Role::Failed,
        80..90 => Role::Cancelled,
        _ => Role::Timeout,
    }
}

/// Plans one seeded execution created at `created` so that at [`START`] it is in `role`.
fn plan_exec(rng: &mut StdRng, id: String, created: i64, role: Role, job_timeout: u32) -> Exec {
    let e = (START - created).max(30) as u32; // elapsed at START
    let count = rng.random_range(1..=6usize);
    let parallelism = rng.random_range(1..=count.min(5));
    let env = rng.random_bool(0.3).then(|| {
        let n = rng.random_range(1..=3);
        EnvPlan::Object(ENV_NAMES[..n].iter().map(|s| (*s).to_owned()).collect())
    });
    let memory = rng
        .random_bool(0.25)
        .then(|| [512, 1024, 2048][rng.random_range(0..3)]);
    let mut exec = Exec {
        id: id.into(),
        created,
        queue: 1,
        pending: 1,
        timeout: job_timeout,
        parallelism: parallelism as u16,
        tasks: Box::new([]),
        env,
        memory,
        cancel_at: None,
    };
    let mut tasks;
    match role {
        Role::Queued => {
            exec.queue = e + rng.random_range(600..3600);
            exec.pending = rng.random_range(1..30);
            tasks = random_tasks(rng, count, parallelism, 1800);
        }
        Role::Pending => {
            exec.queue = (e / 3).max(1);
            exec.pending = e - exec.queue + rng.random_range(300..900);
            tasks = random_tasks(rng, count, parallelism, 1800);
        }
        Role::Running | Role::Cancelling => {
            exec.queue = rng.random_range(1..=(e / 4).clamp(1, 10));
            exec.pending = rng.random_range(1..=(e / 4).clamp(1, 10));
            let run_elapsed = e - exec.queue - exec.pending;
            tasks = random_tasks(rng, count, parallelism, run_elapsed.max(2));
            if let Some(last) = tasks.last_mut() {
                last.start = 0;
                last.attempts = 1;
                last.attempt_secs = run_elapsed + rng.random_range(600..1800);
            }
            let need = tasks.iter().map(TaskPlan::natural_end).max().unwrap_or(1);
            exec.timeout = job_timeout.max(need + 600);
            if matches!(role, Role::Cancelling) {
                exec.cancel_at = Some(START - 2);
            }
        }
        Role::Succeeded | Role::Failed | Role::Cancelled | Role::Timeout => {
            exec.queue = rng.random_range(1..=(e / 10).clamp(1, 30));
            exec.pending = rng.random_range(1..=(e / 10).clamp(1, 60));
            let budget = ((e - exec.queue - exec.pending) * 4 / 5).clamp(2, 7200);
            tasks = random_tasks(rng, count, parallelism, budget);
            let need = tasks.iter().map(TaskPlan::natural_end).max().unwrap_or(1);
            exec.timeout = job_timeout.max(need + 60);
            match role {
                Role::Failed => {
                    let i = rng.random_range(0..tasks.len());
                    let t = &mut tasks[i];
                    t.max_retries = t.max_retries.max(1);
                    let total = t.attempt_secs * u32::from(t.attempts);
                    t.attempts = t.max_retries + 1;
                    t.attempt_secs = (total / u32::from(t.attempts)).max(1);
                    t.fails = true;
                }
                Role::Timeout => exec.timeout = (need / 2).max(1),
                Role::Cancelled => {
                    let rs = created + i64::from(exec.queue) + i64::from(exec.pending);
                    let c = rs + i64::from(need / 2);
                    exec.cancel_at = Some(if c + CANCEL_GRACE_SECS < START {
                        c
                    } else {
                        created
                    });
                }
                _ => {}
            }
        }
    }
    exec.tasks = tasks.into_boxed_slice();
    exec
}

/// The reference execution of the seed page: at [`START`] it runs with stats
/// `{cancelled 0, failure 1, retried 2, running 1, success 8, total 10}`.
fn reference_exec(created: i64) -> Exec {
    let t = |start, attempt_secs, attempts, fails| TaskPlan {
        start,
        attempt_secs,
        attempts,
        max_retries: 3,
        fails,
        timeout: "30m",
    };
    Exec {
        id: REFERENCE_EXECUTION.into(),
        created,
        queue: 5,
        pending: 10,
        timeout: 3600,
        parallelism: 5,
        tasks: vec![
            t(0, 300, 1, false),
            t(0, 420, 1, false),
            t(0, 360, 1, false),
            t(0, 500, 1, false),
            t(0, 450, 1, false),
            t(300, 400, 1, false),
            t(360, 380, 1, false),
            t(420, 500, 1, false),
            t(450, 200, 3, true),
            t(500, 2300, 1, false),
        ]
        .into_boxed_slice(),
        env: Some(EnvPlan::Text(r#"{"MY_VAR": "***", "BATCH_SIZE": "***"}"#)),
        memory: Some(2048),
        cancel_at: None,
    }
}

/// Builds the seeded executions of one job, sorted into its indexes.
fn seed_executions(seed: u64, workspace: &str, job: &str, n: usize) -> Vec<Exec> {
    let mut rng = StdRng::seed_from_u64(seed ^ hash64(&[workspace, job]));
    let with_reference = workspace == REFERENCE_WORKSPACE && job == REFERENCE_JOB && n > 0;
    let generated = n - usize::from(with_reference);
    let avg_gap = (14 * 86_400 / generated.max(1) as i64).max(1);
    let mut ids = HashSet::with_capacity(generated);
    let mut used_times = HashSet::with_capacity(n);
    let mut t = START - rng.random_range(20..90);
    let mut out = Vec::with_capacity(n);
    for i in 0..generated {
        let id = loop {
            let candidate = format!("exec-{:08x}", rng.random::<u32>());
            if ids.insert(candidate.clone()) {
                break candidate;
            }
        };
        let role = role_for(i, &mut rng);
        used_times.insert(t);
        out.push(plan_exec(&mut rng, id, t, role, 3600));
        let gap = if i < 9 {
            rng.random_range(40..180)
        } else {
            rng.random_range(1..=2 * avg_gap)
        };
        t -= gap;
    }
    if with_reference {
        let mut created = START - 1800;
        while used_times.contains(&created) {
            created -= 1;
        }
        out.push(reference_exec(created));
    }
    out
}

fn job_model(workspace: &str, name: &str, idx: usize, created: i64, memory: i64) -> Job {
    const STATUSES: [Status; 4] = [
        Status::Deployed,
        Status::Deployed,
        Status::Failed,
        Status::Deactivated,
    ];
    let status = STATUSES[idx % STATUSES.len()].clone();
    let labels: HashMap<String, String> = [
        (
            "team".to_owned(),
            if idx.is_multiple_of(2) { "data" } else { "ml" }.to_owned(),
        ),
        ("env".to_owned(), "production".to_owned()),
    ]
    .into_iter()
    .collect();
    Job {
        events: Some(CoreEvents(vec![CoreEvent {
            canary_revision: None,
            message: Some("Deployment completed".into()),
            revision: Some(format!("rev-{name}-2")),
            status: Some(status.as_str().to_owned()),
            time: Some(ts(created + 3600)),
            type_: Some("deployment".into()),
        }])),
        metadata: Metadata {
            created_at: Some(ts(created)),
            created_by: Some("dev@example.com".into()),
            display_name: Some(
                name.split('-')
                    .map(|w| {
                        let mut c = w.chars();
                        c.next()
                            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                            .unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            external_id: None,
            labels: Some(MetadataLabels(labels)),
            name: name.to_owned(),
            plan: Some("team".into()),
            updated_at: Some(ts(created + 3600)),
            updated_by: Some("dev@example.com".into()),
            url: Some(format!("https://run.blaxel.ai/{workspace}/jobs/{name}")),
            workspace: Some(workspace.to_owned()),
        },
        spec: JobSpec {
            enabled: Some(true),
            github_runner: None,
            policies: None,
            region: Some("us-was-1".into()),
            revision: Some(RevisionConfiguration {
                active: Some(format!("rev-{name}-2")),
                canary: None,
                canary_percent: None,
                sticky_session_ttl: Some(0),
                traffic: Some(100),
            }),
            runtime: Some(JobRuntime {
                disk_percent: None,
                envs: Vec::new(),
                generation: Some(JobRuntimeGeneration::Mk3),
                image: Some(format!("blaxel/{workspace}/{name}:latest")),
                max_retries: Some(3),
                memory: Some(memory),
                ports: None,
                timeout: Some(3600),
            }),
            triggers: None,
            volumes: None,
        },
        status: Some(status),
    }
}

fn revisions(name: &str, created: i64) -> Vec<RevisionMetadata> {
    vec![
        RevisionMetadata {
            active: Some(true),
            canary: Some(false),
            created_at: Some(ts(created + 3600)),
            created_by: Some("dev@example.com".into()),
            id: Some(format!("rev-{name}-2")),
            previous_active: Some(false),
            status: Some("DEPLOYED".into()),
            traffic_percent: Some(100),
        },
        RevisionMetadata {
            active: Some(false),
            canary: Some(false),
            created_at: Some(ts(created)),
            created_by: Some("dev@example.com".into()),
            id: Some(format!("rev-{name}-1")),
            previous_active: Some(true),
            status: Some("DEPLOYED".into()),
            traffic_percent: Some(0),
        },
    ]
}

/// Job names of a workspace: `data-processing-job`, then `job-1`, `job-2`, ...
pub(crate) fn job_names(jobs: usize) -> impl Iterator<Item = String> {
    (0..jobs).map(|i| {
        if i == 0 {
            REFERENCE_JOB.to_owned()
        } else {
            format!("job-{i}")
        }
    })
}

/// Builds one workspace's seed data.
pub(crate) fn seed_workspace(
    seed: u64,
    workspace: &str,
    jobs: usize,
    per_job: usize,
) -> WorkspaceState {
    let mut ws = WorkspaceState {
        name: workspace.to_owned(),
        cluster: format!(
            "us-was-1-{}",
            &format!("{:04x}", hash64(&[workspace]) & 0xffff)
        ),
        jobs: Vec::with_capacity(jobs),
        job_by_name: HashMap::new(),
        jobs_by_created: Vec::new(),
        jobs_by_name: Vec::new(),
        live: Vec::new(),
    };
    for (idx, name) in job_names(jobs).enumerate() {
        let created =
            START - 30 * 86_400 + idx as i64 * 86_400 + (hash64(&[workspace, &name]) % 3600) as i64;
        let memory = 4096;
        let execs = seed_executions(seed, workspace, &name, per_job);
        let mut job = JobState {
            job: job_model(workspace, &name, idx, created, memory),
            revisions: revisions(&name, created),
            name: name.clone(),
            created,
            memory,
            timeout: 3600,
            by_id: HashMap::with_capacity(execs.len()),
            by_created: (0..execs.len() as u32).collect(),
            by_name: (0..execs.len() as u32).collect(),
            execs,
        };
        for (slot, e) in job.execs.iter().enumerate() {
            job.by_id.insert(e.id.clone(), slot as u32);
            if !e.status_at(START).is_terminal() {
                ws.live.push((idx, slot as u32));
            }
        }
        let mut by_created = std::mem::take(&mut job.by_created);
        by_created.sort_unstable_by(|a, b| job.created_key(*a).cmp(&job.created_key(*b)));
        job.by_created = by_created;
        let mut by_name = std::mem::take(&mut job.by_name);
        by_name.sort_unstable_by(|a, b| job.name_key(*a).cmp(job.name_key(*b)));
        job.by_name = by_name;
        ws.job_by_name.insert(name, idx);
        ws.jobs.push(job);
    }
    let mut by_created: Vec<usize> = (0..ws.jobs.len()).collect();
    by_created.sort_by(|a, b| {
        (ws.jobs[*a].created, &ws.jobs[*a].name).cmp(&(ws.jobs[*b].created, &ws.jobs[*b].name))
    });
    let mut by_name: Vec<usize> = (0..ws.jobs.len()).collect();
    by_name.sort_by(|a, b| ws.jobs[*a].name.cmp(&ws.jobs[*b].name));
    ws.jobs_by_created = by_created;
    ws.jobs_by_name = by_name;
    ws
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_matches_seed_page_stats() {
        let e = reference_exec(START - 1800);
        let m = e.model("my-workspace", REFERENCE_JOB, "c", START);
        let s = m.stats.unwrap();
        assert_eq!(
            (
                s.cancelled,
                s.failure,
                s.retried,
                s.running,
                s.success,
                s.total
            ),
            (Some(0), Some(1), Some(2), Some(1), Some(8), Some(10))
        );
        assert_eq!(m.status, Some(JobExecutionStatus::Running));
        assert_eq!(e.status_at(START + 10_000), JobExecutionStatus::Failed);
    }

    #[test]
    fn seeded_job_covers_every_status() {
        let execs = seed_executions(42, "w", "j", 60);
        for want in JobExecutionStatus::KNOWN {
            assert!(
                execs.iter().any(|e| &e.status_at(START) == want),
                "missing {want}"
            );
        }
    }

    #[test]
    fn stats_agree_with_tasks_over_time() {
        let execs = seed_executions(7, "w", "j", 40);
        for e in &execs {
            for dt in [0, 30, 300, 3000, 30_000] {
                let m = e.model("w", "j", "c", START + dt);
                let s = m.stats.unwrap();
                let count = |st: JobExecutionTaskStatus| {
                    m.tasks
                        .iter()
                        .filter(|t| t.status == Some(st.clone()))
                        .count() as i64
                };
                assert_eq!(s.running, Some(count(JobExecutionTaskStatus::Running)));
                assert_eq!(s.success, Some(count(JobExecutionTaskStatus::Succeeded)));
                assert_eq!(s.failure, Some(count(JobExecutionTaskStatus::Failed)));
                assert_eq!(s.cancelled, Some(count(JobExecutionTaskStatus::Cancelled)));
                if m.status
                    .as_ref()
                    .is_some_and(JobExecutionStatus::is_terminal)
                {
                    assert_eq!(s.running, Some(0), "{:?}", e.id);
                    assert!(m.metadata.completed_at.is_some());
                }
            }
        }
    }
}
