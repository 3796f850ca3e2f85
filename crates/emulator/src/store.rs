//! The in-memory store: workspaces, jobs and their executions, with one index per sort key.

use std::collections::HashMap;

use blaxel_models::{Job, RevisionMetadata};

use crate::timeline::Exec;

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
