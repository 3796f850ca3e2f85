//! `GET /v0/jobs/{jobId}/executions/{executionId}/tasks`.

use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use blaxel_models::Page;

use super::{
    error::{ApiResult, json},
    listing::{
        Total, contains_ci, decode_cursor, is_created, is_desc, meta, next_cursor, scan, sort_key,
    },
    request::{Call, exec_of, job_of, parse_limit, parse_q, parse_sort, read, workspace},
};
use crate::{Emulator, cursor::fingerprint};

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
    let limit = parse_limit(&params, 50, 200, true)?;
    let sort = parse_sort(&params)?;
    let q = parse_q(&params)?;
    let fp = fingerprint(&[
        "tasks",
        &ctx.workspace,
        &job.name,
        id,
        sort_key(sort),
        q.as_deref().unwrap_or(""),
    ]);
    let after = decode_cursor(emu, &params, &fp)?;
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
    let time = if is_created(sort) { exec.created } else { 0 };
    let key = |i: usize| (time, names[index[i]].as_str());
    let keep = |i: usize| {
        q.as_deref()
            .is_none_or(|q| contains_ci(&names[index[i]], q))
    };
    let (positions, more) = scan(
        index.len(),
        key,
        is_desc(sort),
        after.as_ref(),
        limit,
        false,
        keep,
    );
    let next = next_cursor(emu, &fp, &positions, more, key);
    let items: Vec<_> = positions.iter().map(|i| tasks[index[*i]].clone()).collect();
    let page = Page {
        meta: meta(more, next, Total::exact(tasks.len())),
        items,
    };
    Ok(json(StatusCode::OK, &page, 1024 * positions.len() + 256))
}
