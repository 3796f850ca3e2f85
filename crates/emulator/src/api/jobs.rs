//! `GET /v0/jobs`, `GET /v0/jobs/{jobId}` and `GET /v0/jobs/{jobId}/revisions`.

use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use blaxel_models::{Page, PaginationAnchor, Status};

use super::{
    ApiError,
    error::{ApiResult, json},
    listing::{
        Total, contains_ci, decode_cursor, is_created, is_desc, meta, next_cursor, scan, sort_key,
    },
    request::{Call, Params, job_of, parse_limit, parse_q, parse_sort, read, workspace},
};
use crate::{Emulator, cursor::fingerprint, store::JobState};

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
    let limit = parse_limit(&params, 50, 200, true)?;
    let sort = parse_sort(&params)?;
    let q = parse_q(&params)?;
    let anchor = match params.get("anchor").filter(|a| !a.is_empty()) {
        None => None,
        Some(raw) => Some(raw.parse::<PaginationAnchor>().map_err(|_| {
            ApiError::bad_request(format!("invalid anchor \"{raw}\": expected end"))
        })?),
    };
    if anchor.is_some() && !is_created(sort) {
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
    let fp = fingerprint(&[
        "jobs",
        &ctx.workspace,
        sort_key(sort),
        q.as_deref().unwrap_or(""),
        &status_key,
    ]);
    let after = decode_cursor(emu, &params, &fp)?;
    let index = if is_created(sort) {
        &ws.jobs_by_created
    } else {
        &ws.jobs_by_name
    };
    let key = |i: usize| {
        let j = &ws.jobs[index[i]];
        (
            if is_created(sort) { j.created } else { 0 },
            j.name.as_str(),
        )
    };
    let keep = |i: usize| {
        let j = &ws.jobs[index[i]];
        q.as_deref().is_none_or(|q| job_matches_q(j, q))
            && status
                .as_ref()
                .is_none_or(|s| j.job.status.as_ref().is_some_and(|st| s.contains(st)))
    };
    let (positions, more) = scan(
        index.len(),
        key,
        is_desc(sort),
        after.as_ref(),
        limit,
        anchor.is_some(),
        keep,
    );
    let next = next_cursor(emu, &fp, &positions, more, key);
    let items: Vec<_> = positions
        .iter()
        .map(|i| ws.jobs[index[*i]].job.clone())
        .collect();
    let page = Page {
        meta: meta(more, next, Total::exact(ws.jobs.len())),
        items,
    };
    Ok(json(StatusCode::OK, &page, 2048 * positions.len() + 256))
}

/// One job.
pub(crate) async fn get_job(
    State(emu): State<Emulator>,
    Path(job): Path<String>,
    Call { ctx, .. }: Call,
) -> ApiResult {
    let store = read(&emu);
    let job = job_of(workspace(&store, &ctx)?, &job)?;
    Ok(json(StatusCode::OK, &job.job, 2048))
}

/// A job's revisions (a bare array in every version).
pub(crate) async fn list_revisions(
    State(emu): State<Emulator>,
    Path(job): Path<String>,
    Call { ctx, .. }: Call,
) -> ApiResult {
    let store = read(&emu);
    let job = job_of(workspace(&store, &ctx)?, &job)?;
    Ok(json(StatusCode::OK, &job.revisions, 512))
}
