//! `GET /v0/jobs/{jobId}/executions/{executionId}/tasks`.

use axum::{
    extract::{Path, State},
    http::StatusCode,
};

use super::{
    error::{ApiResult, json},
    listing::{Listing, PageSource, SHARED_LIMIT, Total, contains_ci},
    request::{Call, exec_of, job_of, read, workspace},
};
use crate::Emulator;

/// Tasks of an execution. Legacy versions: the bare array of every task. Paginated: shared
/// limits (default 50, clamped to 200), `sort` `createdAt:*` (all tasks share the execution's
/// creation time, so ties break on the name) or `name:*` (`metadata.name`), `q` on
/// `metadata.name`, cursors bound to workspace, job, execution, sort and `q`;
/// `meta.total` is the execution's task count.
pub(crate) async fn list_tasks(
    State(emu): State<Emulator>,
    Path((job, id)): Path<(String, String)>,
    Call { params, ctx }: Call,
) -> ApiResult {
    let (emu, id) = (&emu, id.as_str());
    let store = read(emu);
    let ws = workspace(&store, &ctx)?;
    let job = job_of(ws, &job)?;
    let exec = exec_of(job, id)?;
    let tasks = exec.tasks_at(emu.now_secs());
    if !ctx.version.is_paginated() {
        return Ok(json(StatusCode::OK, &tasks, 1024 * tasks.len() + 16));
    }
    let scope = ["tasks", &ctx.workspace, &job.name, id];
    let list = Listing::parse(&params, SHARED_LIMIT)?.bind(emu, &params, &scope, &[])?;
    let name = |t: &blaxel_models::JobExecutionTask| {
        t.metadata
            .as_ref()
            .and_then(|m| m.name.as_deref())
            .unwrap_or("")
            .to_owned()
    };
    let names: Vec<String> = tasks.iter().map(name).collect();
    let mut index: Vec<usize> = (0..tasks.len()).collect();
    index.sort_by(|a, b| names[*a].cmp(&names[*b]));
    let time = if list.by_created() { exec.created } else { 0 };
    let q = list.q.as_deref();
    let src = PageSource {
        len: index.len(),
        key: |i: usize| (time, names[index[i]].as_str()),
        keep: |i: usize| q.is_none_or(|q| contains_ci(&names[index[i]], q)),
        item: |i: usize| Ok(&tasks[index[i]]),
        total: Total::exact(tasks.len()),
        item_bytes: 1024,
    };
    list.page(emu, false, src)
}
