//! Listing, reading and cancelling a job's executions.

use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use blaxel_models::Page;

use super::{
    ApiError,
    error::{ApiResult, json},
    listing::{
        Total, contains_ci, decode_cursor, is_created, is_desc, meta, next_cursor, scan, sort_key,
    },
    request::{Call, exec_of, job_of, parse_limit, parse_q, parse_sort, read, workspace, write},
};
use crate::{Emulator, cursor::fingerprint};

/// Executions of a job. Legacy versions: a bare array, `offset`/`limit`, createdAt desc.
/// Paginated: `limit` 1..=100 (default 20), `sort`, `q` on `metadata.id` and `metadata.job`,
/// cursors bound to workspace, job, sort and `q`; `meta.total` counts the job's executions
/// (ignoring `q`), bounded by [`EmulatorConfig::total_count_limit`](crate::EmulatorConfig).
pub(crate) async fn list_executions(
    State(emu): State<Emulator>,
    Path(job): Path<String>,
    Call { params, ctx }: Call,
) -> ApiResult {
    let emu = &emu;
    let store = read(emu);
    let ws = workspace(&store, &ctx)?;
    let job = job_of(ws, &job)?;
    let limit = parse_limit(&params, 20, 100, false)?;
    let now = emu.now_secs();
    let inline_max = emu.inner().inline_tasks_max;
    let model = |slot: u32| {
        job.execs[slot as usize].model(&ws.name, &job.name, &ws.cluster, now, inline_max)
    };
    if !ctx.version.is_paginated() {
        let offset = match params.get("offset") {
            None => 0,
            Some(raw) => raw.trim().parse::<usize>().map_err(|_| {
                ApiError::bad_request(format!(
                    "invalid offset \"{raw}\": expected an integer >= 0"
                ))
            })?,
        };
        let items: Vec<_> = job
            .by_created
            .iter()
            .rev()
            .skip(offset)
            .take(limit)
            .map(|s| model(*s))
            .collect();
        return Ok(json(StatusCode::OK, &items, 3072 * items.len() + 16));
    }
    let sort = parse_sort(&params)?;
    let q = parse_q(&params)?;
    let fp = fingerprint(&[
        "executions",
        &ctx.workspace,
        &job.name,
        sort_key(sort),
        q.as_deref().unwrap_or(""),
    ]);
    let after = decode_cursor(emu, &params, &fp)?;
    let created = is_created(sort);
    let index = if created {
        &job.by_created
    } else {
        &job.by_name
    };
    let key = |i: usize| {
        let e = &job.execs[index[i] as usize];
        (if created { e.created } else { 0 }, &*e.id)
    };
    // `q` matches metadata.id or metadata.job: when it matches the job name, every execution.
    let filter = q.as_deref().filter(|q| !contains_ci(&job.name, q));
    let keep = |i: usize| filter.is_none_or(|q| contains_ci(&job.execs[index[i] as usize].id, q));
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
    let items: Vec<_> = positions.iter().map(|i| model(index[*i])).collect();
    let page = Page {
        meta: meta(
            more,
            next,
            Total::bounded(job.execs.len(), emu.inner().total_count_limit),
        ),
        items,
    };
    Ok(json(StatusCode::OK, &page, 3072 * positions.len() + 256))
}

/// One execution, as it is at the virtual clock's instant.
pub(crate) async fn get_execution(
    State(emu): State<Emulator>,
    Path((job, id)): Path<(String, String)>,
    Call { ctx, .. }: Call,
) -> ApiResult {
    let store = read(&emu);
    let ws = workspace(&store, &ctx)?;
    let job = job_of(ws, &job)?;
    let exec = exec_of(job, &id)?;
    let inline_max = emu.inner().inline_tasks_max;
    let model = exec.model(&ws.name, &job.name, &ws.cluster, emu.now_secs(), inline_max);
    Ok(json(StatusCode::OK, &model, 4096))
}

/// DELETE: requests a cancel. A non-terminal execution turns `cancelling` now and `cancelled`
/// 5 virtual seconds later (tasks not started are cancelled at once; running ones finish if they
/// can within those 5 s, else are cancelled). A terminal execution, or one already cancelling,
/// is returned unchanged with 200.
pub(crate) async fn cancel_execution(
    State(emu): State<Emulator>,
    Path((job, id)): Path<(String, String)>,
    Call { ctx, .. }: Call,
) -> ApiResult {
    {
        let now = emu.now_secs();
        let mut store = write(&emu);
        let ws = store
            .workspaces
            .get_mut(&ctx.workspace)
            .ok_or_else(|| ApiError::not_found("workspace not found"))?;
        let j = *ws
            .job_by_name
            .get(&job)
            .ok_or_else(|| ApiError::not_found(format!("job \"{job}\" not found")))?;
        let job = &mut ws.jobs[j];
        exec_of(job, &id)?;
        let slot = job.by_id[id.as_str()] as usize;
        let exec = &mut job.execs[slot];
        if exec.cancel_at.is_none() && !exec.status_at(now).is_terminal() {
            exec.cancel_at = Some(now);
        }
        let model = exec.model(
            &ws.name,
            &job.name,
            &ws.cluster,
            now,
            emu.inner().inline_tasks_max,
        );
        Ok(json(StatusCode::OK, &model, 4096))
    }
}
