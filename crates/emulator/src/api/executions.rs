//! Listing, reading and cancelling a job's executions.

use axum::{
    extract::{Path, State},
    http::StatusCode,
};

use super::{
    ApiError,
    error::{ApiResult, json},
    listing::{LimitRule, Listing, PageSource, Total, contains_ci},
    request::{Call, exec_of, job_of, job_slot, parse_limit, read, workspace, write},
};
use crate::{
    Emulator,
    rendered::Rendered,
    store::{JobState, WorkspaceState},
    timeline::Exec,
};

/// `limit` of the executions listing: 1..=100, default 20, above is a 400.
const EXECUTIONS_LIMIT: LimitRule = LimitRule {
    default: 20,
    max: 100,
    clamp: false,
};

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
    let limit = parse_limit(
        &params,
        EXECUTIONS_LIMIT.default,
        EXECUTIONS_LIMIT.max,
        EXECUTIONS_LIMIT.clamp,
    )?;
    let now = emu.now_secs();
    let model = |slot: u32| render(emu, ws, job, &job.execs[slot as usize], now);
    if !ctx.version.is_paginated() {
        let offset = match params.get("offset") {
            None => 0,
            Some(raw) => raw.trim().parse::<usize>().map_err(|_| {
                ApiError::bad_request(format!(
                    "invalid offset \"{raw}\": expected an integer >= 0"
                ))
            })?,
        };
        let items: Vec<Rendered> = job
            .by_created
            .iter()
            .rev()
            .skip(offset)
            .take(limit)
            .map(|s| model(*s))
            .collect::<Result<_, _>>()?;
        return Ok(json(StatusCode::OK, &items, 3072 * items.len() + 16));
    }
    let scope = ["executions", &ctx.workspace, &job.name];
    let list = Listing::parse(&params, EXECUTIONS_LIMIT)?.bind(emu, &params, &scope, &[])?;
    let created = list.by_created();
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
    let filter = list.q.as_deref().filter(|q| !contains_ci(&job.name, q));
    let src = PageSource {
        len: index.len(),
        key,
        keep: |i: usize| filter.is_none_or(|q| contains_ci(&job.execs[index[i] as usize].id, q)),
        item: |i: usize| model(index[i]),
        total: Total::bounded(job.execs.len(), emu.inner().total_count_limit),
        item_bytes: 3072,
    };
    list.page(emu, false, src)
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
    let model = render(&emu, ws, job, exec, emu.now_secs())?;
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
    let now = emu.now_secs();
    let mut store = write(&emu);
    let (ws, j) = job_slot(&mut store, &ctx, &job)?;
    let slot = exec_of(&ws.jobs[j], &id).map(|_| ws.jobs[j].by_id[id.as_str()] as usize)?;
    let exec = &mut ws.jobs[j].execs[slot];
    if exec.cancel_at.is_none() && !exec.status_at(now).is_terminal() {
        exec.cancel_at = Some(now);
    }
    let job = &ws.jobs[j];
    let model = render(&emu, ws, job, &job.execs[slot], now)?;
    Ok(json(StatusCode::OK, &model, 4096))
}

/// An execution's JSON as the API sends it at `now`, rendered once per (instant, cancel time).
///
/// # Errors
/// 500 if the model cannot be serialized (see [`RenderCache::get_or_render`]).
///
/// [`RenderCache::get_or_render`]: crate::rendered::RenderCache::get_or_render
fn render(
    emu: &Emulator,
    ws: &WorkspaceState,
    job: &JobState,
    exec: &Exec,
    now: i64,
) -> Result<Rendered, ApiError> {
    let inner = emu.inner();
    exec.rendered
        .get_or_render(now, exec.cancel_at, &inner.renders, || {
            exec.model(
                &ws.name,
                &job.name,
                &ws.cluster,
                now,
                inner.inline_tasks_max,
            )
        })
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                format!("execution {} could not be serialized: {e}", exec.id),
            )
        })
}
