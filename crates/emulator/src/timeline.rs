//! The execution timeline.
//!
//! An execution is stored as a *plan* (creation time, queue and pending durations, one plan per
//! task, an optional cancel time); its status, stats, tasks and timestamps at any virtual instant
//! are derived from the plan on demand, so progress on the clock needs no mutation and the counts
//! agree with the task list at every moment.

use blaxel_models::{
    EnvOverride, JobExecution, JobExecutionMetadata, JobExecutionSpec, JobExecutionStats,
    JobExecutionStatus, JobExecutionTask, JobExecutionTaskCondition, JobExecutionTaskMetadata,
    JobExecutionTaskSpec, JobExecutionTaskStatus,
};
use chrono::{DateTime, SecondsFormat, Utc};

use crate::rendered::RenderCache;

/// The virtual clock's origin: 2026-06-01T00:00:00Z, in Unix seconds.
pub(crate) const START: i64 = 1_780_272_000;

/// Virtual seconds between a cancel request and the `cancelled` status; tasks running at the
/// request that finish within this grace period complete normally, the others are cancelled.
pub(crate) const CANCEL_GRACE_SECS: i64 = 5;

/// Formats Unix seconds as canonical RFC 3339 UTC (`2026-05-31T12:00:00Z`).
pub(crate) fn ts(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
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
    /// Seconds from the run start to the end of the last attempt.
    pub(crate) fn natural_end(&self) -> u32 {
        self.start + self.attempt_secs * u32::from(self.attempts)
    }
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
    /// Names of the `spec.envOverride` variables (values are always masked `***`).
    pub env: Option<Vec<String>>,
    pub memory: Option<i64>,
    pub cancel_at: Option<i64>,
    /// The last JSON rendered of this execution (see [`RenderCache`]).
    pub rendered: RenderCache,
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

    /// The full `JobExecution` as the API returns it at instant `t`. With more than
    /// `inline_tasks_max` tasks, `tasks` and `spec.tasks` are left out and `spec.tasksRef` says
    /// where the list lives (see [`EmulatorConfig::inline_tasks_max`](crate::EmulatorConfig)).
    pub(crate) fn model(
        &self,
        workspace: &str,
        job: &str,
        cluster: &str,
        t: i64,
        inline_tasks_max: usize,
    ) -> JobExecution {
        let inline = self.tasks.len() <= inline_tasks_max;
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
            .filter(|_| inline)
            .map(|(i, v)| self.task_model(i, v))
            .collect();
        let spec_tasks = self
            .tasks
            .iter()
            .enumerate()
            .filter(|_| inline)
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
                env_override: self.env.as_ref().map(|names| {
                    EnvOverride::from(
                        names
                            .iter()
                            .map(|n| (n.clone(), serde_json::Value::String("***".into())))
                            .collect::<serde_json::Map<_, _>>(),
                    )
                }),
                memory_override: self.memory,
                parallelism: Some(i64::from(self.parallelism)),
                task_count: Some(self.tasks.len() as i64),
                tasks: spec_tasks,
                tasks_ref: (!inline).then(|| {
                    format!(
                        "blaxel://{workspace}/jobs/{job}/executions/{}/tasks",
                        self.id
                    )
                }),
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
