//! The parts of a `JobExecution` a reader needs, and the decoding that drops the rest.

use std::cell::Cell;

use serde::{
    Deserialize, Deserializer,
    de::{DeserializeSeed, IgnoredAny},
};

use crate::{JobExecution, JobExecutionTask};

thread_local! {
    /// True while an [`ExecutionProjection`] without [`ExecutionProjection::TASKS`] decodes an
    /// execution on this thread: its task lists are then skipped, not built.
    static SKIP_TASK_LISTS: Cell<bool> = const { Cell::new(false) };
}

/// Decodes `JobExecution.tasks` and `JobExecutionSpec.tasks` (the generated code calls it,
/// see `build.rs`): as [`crate::null_as_default`] does, or, while a projection without
/// [`ExecutionProjection::TASKS`] decodes the execution, by skipping the value (its JSON is still
/// read, nothing is allocated). The task lists are most of an execution's bytes (a page of 20
/// from the emulator: 58 kB, of which building the tasks was three quarters of decoding it); a
/// reader that does not select them no longer pays for them, nor fails on a malformed list it
/// would have dropped.
///
/// # Errors
/// What [`crate::null_as_default`] fails with, when the lists are kept.
pub(crate) fn task_list<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<JobExecutionTask>, D::Error> {
    if SKIP_TASK_LISTS.get() {
        IgnoredAny::deserialize(d)?;
        return Ok(Vec::new());
    }
    crate::null_as_default(d)
}

/// Sets [`SKIP_TASK_LISTS`] for one execution's decoding and restores it after, on error and
/// unwinding too.
struct SkipTaskLists(bool);

impl SkipTaskLists {
    fn set(skip: bool) -> Self {
        Self(SKIP_TASK_LISTS.replace(skip))
    }
}

impl Drop for SkipTaskLists {
    fn drop(&mut self) {
        SKIP_TASK_LISTS.set(self.0);
    }
}

/// The parts of a [`JobExecution`] a reader needs. Used as a [`DeserializeSeed`] (alone for one
/// execution, in a [`crate::PageSeed`] for a page), it decodes each execution, reading past its
/// task lists without building them when [`Self::TASKS`] is not asked for (parsed, not kept),
/// and at once drops the other parts not asked for, so a page held for a narrow selection costs
/// memory in proportion to that selection, and never more than one whole execution at a time.
///
/// Always kept, whatever the projection: `metadata.id`, `metadata.job` and `metadata.workspace`
/// (an execution's identity: global ids, cursor anchors, the tasks listing's path), `spec`'s
/// scalars and `tasksRef`, `stats` and `status` (a few words each). The optional parts are the
/// ones that grow with the execution (its task lists, their conditions and metadata, the
/// environment overrides) and each other string of `metadata`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExecutionProjection(u16);

impl ExecutionProjection {
    /// Only what is always kept.
    pub const IDENTITY: Self = Self(0);
    /// The inline task lists: `tasks` and `spec.tasks` (each task's status and `spec`).
    pub const TASKS: Self = Self(1);
    /// The `conditions` of each inline task (with [`Self::TASKS`]).
    pub const CONDITIONS: Self = Self(1 << 1);
    /// `spec.envOverride`.
    pub const ENV_OVERRIDE: Self = Self(1 << 2);
    /// Each inline task's `metadata` (with [`Self::TASKS`]).
    pub const TASK_METADATA: Self = Self(1 << 3);
    /// `metadata.cluster`.
    pub const CLUSTER: Self = Self(1 << 4);
    /// `metadata.createdAt`.
    pub const CREATED_AT: Self = Self(1 << 5);
    /// `metadata.startedAt`.
    pub const STARTED_AT: Self = Self(1 << 6);
    /// `metadata.completedAt`.
    pub const COMPLETED_AT: Self = Self(1 << 7);
    /// `metadata.updatedAt`.
    pub const UPDATED_AT: Self = Self(1 << 8);
    /// `metadata.deletedAt`.
    pub const DELETED_AT: Self = Self(1 << 9);
    /// `metadata.expiredAt`.
    pub const EXPIRED_AT: Self = Self(1 << 10);
    /// Every part: the execution as the upstream sent it.
    pub const ALL: Self = Self((1 << 11) - 1);

    /// Both projections' parts.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// True when every part of `parts` is kept.
    pub const fn contains(self, parts: Self) -> bool {
        self.0 & parts.0 == parts.0
    }

    /// Drops from `execution` the parts this projection does not keep.
    pub fn trim(self, execution: &mut JobExecution) {
        if self == Self::ALL {
            return;
        }
        if !self.contains(Self::TASKS) {
            execution.tasks = Vec::new();
            execution.spec.tasks = Vec::new();
        } else {
            let (conditions, metadata) = (
                self.contains(Self::CONDITIONS),
                self.contains(Self::TASK_METADATA),
            );
            for task in execution.tasks.iter_mut().chain(&mut execution.spec.tasks) {
                if !conditions {
                    task.conditions = Vec::new();
                }
                if !metadata {
                    task.metadata = None;
                }
            }
        }
        if !self.contains(Self::ENV_OVERRIDE) {
            execution.spec.env_override = None;
        }
        let m = &mut execution.metadata;
        for (part, field) in [
            (Self::CLUSTER, &mut m.cluster),
            (Self::CREATED_AT, &mut m.created_at),
            (Self::STARTED_AT, &mut m.started_at),
            (Self::COMPLETED_AT, &mut m.completed_at),
            (Self::UPDATED_AT, &mut m.updated_at),
            (Self::DELETED_AT, &mut m.deleted_at),
            (Self::EXPIRED_AT, &mut m.expired_at),
        ] {
            if !self.contains(part) {
                *field = None;
            }
        }
    }
}

impl Default for ExecutionProjection {
    /// [`ExecutionProjection::ALL`]: nothing dropped.
    fn default() -> Self {
        Self::ALL
    }
}

impl<'de> DeserializeSeed<'de> for ExecutionProjection {
    type Value = JobExecution;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<JobExecution, D::Error> {
        let mut execution = {
            let _skip = SkipTaskLists::set(!self.contains(Self::TASKS));
            JobExecution::deserialize(d)?
        };
        self.trim(&mut execution);
        Ok(execution)
    }
}
