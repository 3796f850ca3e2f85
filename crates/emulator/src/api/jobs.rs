//! `GET /v0/jobs`, `GET /v0/jobs/{jobId}` and `GET /v0/jobs/{jobId}/revisions`.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use blaxel_models::{PaginationAnchor, Status};

use super::{
    ApiError,
    error::{ApiResult, json},
    listing::{Listing, PageSource, SHARED_LIMIT, Total, contains_ci},
    request::{Call, Ctx, Params, job_of, read, workspace},
};
use crate::{Emulator, store::JobState};

fn job_matches_q(job: &JobState, q: &str) -> bool {
    let m = &job.job.metadata;
    contains_ci(&m.name, q)
        || m.display_name.as_deref().is_some_and(|d| contains_ci(d, q))
        || m.labels.as_ref().is_some_and(|l| {
            l.iter()
                .any(|(k, v)| contains_ci(k, q) || contains_ci(v, q))
        })
}

/// `status`: comma-separated, case-insensitive `Status` values; unknown -> 400; every value
/// selected (or none) -> no filter. Returns the normalised sorted selection.
fn parse_status_filter(params: &Params) -> Result<Option<Vec<Status>>, ApiError> {
    let Some(raw) = params.get("status") else {
        return Ok(None);
    };
    let mut selected = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let upper = part.to_ascii_uppercase();
        match Status::KNOWN.iter().find(|s| s.as_str() == upper) {
            Some(s) if !selected.contains(s) => selected.push(s.clone()),
            Some(_) => {}
            None => {
                return Err(ApiError::bad_request(format!(
                    "invalid status \"{part}\": expected a comma-separated list of {}",
                    Status::KNOWN
                        .iter()
                        .map(Status::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
    }
    selected.sort();
    Ok((!selected.is_empty() && selected.len() < Status::KNOWN.len()).then_some(selected))
}

/// Jobs of the workspace. Legacy versions: the bare array of every job. Paginated: shared
/// limits (default 50, clamped to 200), `sort`, `q` (name, display name, labels), `status`
/// filter, `anchor=end` (the last page, createdAt sorts only).
pub(crate) async fn list_jobs(
    State(emu): State<Emulator>,
    Call { params, ctx }: Call,
) -> ApiResult {
    let emu = &emu;
    let status = parse_status_filter(&params)?;
    let store = read(emu);
    let ws = workspace(&store, &ctx)?;
    if !ctx.version.is_paginated() {
        // Legacy: a bare array of all jobs, createdAt desc; the status is validated only.
        let items: Vec<_> = ws
            .jobs_by_created
            .iter()
            .rev()
            .map(|i| ws.jobs[*i].job.clone())
            .collect();
        return Ok(json(StatusCode::OK, &items, 2048 * items.len() + 16));
    }
    let list = Listing::parse(&params, SHARED_LIMIT)?;
    let anchor = match params.get("anchor").filter(|a| !a.is_empty()) {
        None => None,
        Some(raw) => Some(raw.parse::<PaginationAnchor>().map_err(|_| {
            ApiError::bad_request(format!("invalid anchor \"{raw}\": expected end"))
        })?),
    };
    if anchor.is_some() && !list.by_created() {
        return Err(ApiError::bad_request(
            "anchor=end is only supported for createdAt sorts",
        ));
    }
    if anchor.is_some() && params.get("cursor").is_some_and(|c| !c.is_empty()) {
        return Err(ApiError::bad_request(
            "anchor and cursor are mutually exclusive",
        ));
    }
    let status_key = status
        .as_ref()
        .map(|s| s.iter().map(Status::as_str).collect::<Vec<_>>().join(","))
        .unwrap_or_default();
    let scope = ["jobs", &ctx.workspace];
    let list = list.bind(emu, &params, &scope, &[&status_key])?;
    let created = list.by_created();
    let index = if created {
        &ws.jobs_by_created
    } else {
        &ws.jobs_by_name
    };
    let q = list.q.as_deref();
    let src = PageSource {
        len: index.len(),
        key: |i: usize| {
            let j = &ws.jobs[index[i]];
            (if created { j.created } else { 0 }, j.name.as_str())
        },
        keep: |i: usize| {
            let j = &ws.jobs[index[i]];
            q.is_none_or(|q| job_matches_q(j, q))
                && status
                    .as_ref()
                    .is_none_or(|s| j.job.status.as_ref().is_some_and(|st| s.contains(st)))
        },
        item: |i: usize| Ok(&ws.jobs[index[i]].job),
        total: Total::exact(ws.jobs.len()),
        item_bytes: 2048,
    };
    list.page(emu, anchor.is_some(), src)
}

/// One job.
pub(crate) async fn get_job(
    State(emu): State<Emulator>,
    Path(job): Path<String>,
    Call { ctx, .. }: Call,
) -> ApiResult {
    with_job(&emu, &ctx, &job, |job| json(StatusCode::OK, &job.job, 2048))
}

/// A job's revisions (a bare array in every version).
pub(crate) async fn list_revisions(
    State(emu): State<Emulator>,
    Path(job): Path<String>,
    Call { ctx, .. }: Call,
) -> ApiResult {
    with_job(&emu, &ctx, &job, |job| {
        json(StatusCode::OK, &job.revisions, 512)
    })
}

/// Answers from job `name` of the caller's workspace (404 when absent).
fn with_job(
    emu: &Emulator,
    ctx: &Ctx,
    name: &str,
    answer: impl FnOnce(&JobState) -> Response,
) -> ApiResult {
    let store = read(emu);
    Ok(answer(job_of(workspace(&store, ctx)?, name)?))
}
