//! The `/v0` routes, the control API and request parsing.

use std::sync::{PoisonError, RwLockReadGuard, RwLockWriteGuard};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{MethodRouter, get},
};
use blaxel_models::{
    ApiVersion, CreateJobExecutionOutput, CreateJobExecutionRequest, Error as ErrorBody, Page,
    PaginationAnchor, PaginationMeta, PaginationSort, Status,
};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::{
    Emulator, Fault,
    cursor::{CursorError, Position, fingerprint},
    data::{EnvPlan, Exec, JobState, Store, TaskPlan, WorkspaceState, ts},
    faults, lock,
};

/// Route templates of the `/v0` API (also the stats keys, after the method).
const JOBS: &str = "/v0/jobs";
const JOB: &str = "/v0/jobs/{jobId}";
const EXECUTIONS: &str = "/v0/jobs/{jobId}/executions";
const EXECUTION: &str = "/v0/jobs/{jobId}/executions/{executionId}";
const TASKS: &str = "/v0/jobs/{jobId}/executions/{executionId}/tasks";
const REVISIONS: &str = "/v0/jobs/{jobId}/revisions";

pub(crate) fn routes(emu: Emulator) -> Router {
    let v0 = |template: &'static str, mr: MethodRouter<Emulator>| {
        mr.layer(middleware::from_fn_with_state(
            (emu.clone(), template),
            v0_layer,
        ))
    };
    Router::new()
        .route(JOBS, v0(JOBS, get(list_jobs)))
        .route(JOB, v0(JOB, get(get_job)))
        .route(
            EXECUTIONS,
            v0(EXECUTIONS, get(list_executions).post(create_execution)),
        )
        .route(
            EXECUTION,
            v0(EXECUTION, get(get_execution).delete(cancel_execution)),
        )
        .route(TASKS, v0(TASKS, get(list_tasks)))
        .route(REVISIONS, v0(REVISIONS, get(list_revisions)))
        .route("/_emulator/stats", get(ctl_stats))
        .route(
            "/_emulator/reset-stats",
            axum::routing::post(ctl_reset_stats),
        )
        .route(
            "/_emulator/faults",
            axum::routing::post(ctl_set_faults).delete(ctl_clear_faults),
        )
        .route("/_emulator/clock", get(ctl_clock).post(ctl_advance_clock))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(fallback)
        .with_state(emu)
}

/// Counts every `/v0` request under `METHOD template` and applies the fault that fires for it.
async fn v0_layer(
    State((emu, template)): State<(Emulator, &'static str)>,
    req: Request,
    next: Next,
) -> Response {
    let route = format!("{} {template}", req.method());
    emu.count(&route);
    match emu.pick_fault(&route) {
        None => next.run(req).await,
        Some(fault) => faults::apply(fault, req, |r| next.run(r)).await,
    }
}

async fn fallback(State(emu): State<Emulator>, method: Method, uri: Uri) -> Response {
    if uri.path() == "/v0" || uri.path().starts_with("/v0/") {
        emu.count(&format!("{method} /v0/{{*path}}"));
    }
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {method} {}", uri.path()),
    )
    .into_response()
}

// ---------------------------------------------------------------------------------------------
// Errors and responses

/// An error response: the flat `Error` body, or the version error (which has no `code`).
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    body: serde_json::Value,
}

impl ApiError {
    fn new(status: StatusCode, error: &str, message: impl Into<String>) -> Self {
        let body = ErrorBody {
            code: Some(i64::from(status.as_u16())),
            error: error.to_owned(),
            message: Some(message.into()),
        };
        Self {
            status,
            body: serde_json::to_value(body).unwrap_or_default(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json(self.status, &self.body, 128)
    }
}

/// Serializes into a pre-sized buffer.
fn json<T: Serialize>(status: StatusCode, value: &T, size_hint: usize) -> Response {
    let mut buf = Vec::with_capacity(size_hint);
    if serde_json::to_writer(&mut buf, value).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let mut resp = Response::new(axum::body::Body::from(buf));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

type ApiResult = Result<Response, ApiError>;

fn respond(r: ApiResult) -> Response {
    r.unwrap_or_else(IntoResponse::into_response)
}

fn read(emu: &Emulator) -> RwLockReadGuard<'_, Store> {
    emu.inner()
        .store
        .read()
        .unwrap_or_else(PoisonError::into_inner)
}

fn write(emu: &Emulator) -> RwLockWriteGuard<'_, Store> {
    emu.inner()
        .store
        .write()
        .unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------------
// Request context: version, credentials, workspace, query parameters

struct Params(Vec<(String, String)>);

impl Params {
    fn parse(uri: &Uri) -> Result<Self, ApiError> {
        Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map(|q| Self(q.0))
            .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))
    }

    /// The first value of `name`.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Ctx {
    workspace: String,
    version: ApiVersion,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    [header::AUTHORIZATION.as_str(), "x-blaxel-authorization"]
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
}

fn context(emu: &Emulator, headers: &HeaderMap, params: &Params) -> Result<Ctx, ApiError> {
    let inner = emu.inner();
    let version = match headers.get("blaxel-version") {
        None => ApiVersion::LEGACY_DEFAULT,
        Some(raw) => {
            let text = String::from_utf8_lossy(raw.as_bytes()).trim().to_owned();
            match text.parse::<ApiVersion>() {
                Ok(v) if inner.valid_versions.contains(&v) => v,
                _ => {
                    let valid: Vec<String> = inner
                        .valid_versions
                        .iter()
                        .map(ToString::to_string)
                        .collect();
                    return Err(ApiError {
                        status: StatusCode::BAD_REQUEST,
                        body: serde_json::json!({
                            "error": "invalid_api_version",
                            "message": format!(
                                "Unknown API version \"{text}\". Valid versions: {}. See https://docs.blaxel.ai/api-reference/introduction#api-versioning for the list of supported versions.",
                                valid.join(", ")
                            ),
                        }),
                    });
                }
            }
        }
    };
    let Some(token) = bearer(headers) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing bearer token: send Authorization or X-Blaxel-Authorization: Bearer <token>",
        ));
    };
    let Some(allowed) = inner.tokens.get(token) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "invalid bearer token",
        ));
    };
    let asked = headers
        .get("x-blaxel-workspace")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .or_else(|| params.get("workspace").filter(|w| !w.is_empty()));
    let workspace = match asked {
        None => allowed.first().cloned().unwrap_or_default(),
        Some(ws) if allowed.iter().any(|a| a == ws) => ws.to_owned(),
        Some(ws) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("the credential has no access to workspace \"{ws}\""),
            ));
        }
    };
    Ok(Ctx { workspace, version })
}

fn workspace<'a>(store: &'a Store, ctx: &Ctx) -> Result<&'a WorkspaceState, ApiError> {
    store
        .workspaces
        .get(&ctx.workspace)
        .ok_or_else(|| ApiError::not_found(format!("workspace \"{}\" not found", ctx.workspace)))
}

fn job_of<'a>(ws: &'a WorkspaceState, name: &str) -> Result<&'a JobState, ApiError> {
    ws.job_by_name
        .get(name)
        .map(|i| &ws.jobs[*i])
        .ok_or_else(|| ApiError::not_found(format!("job \"{name}\" not found")))
}

fn exec_of<'a>(job: &'a JobState, id: &str) -> Result<&'a Exec, ApiError> {
    job.by_id
        .get(id)
        .map(|s| &job.execs[*s as usize])
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "execution \"{id}\" of job \"{}\" not found",
                job.name
            ))
        })
}

/// `limit`: `default` when absent; below 1 or not an integer -> 400; above `max` -> 400, or
/// `max` when `clamp` (the shared `PaginationLimit` says "clamped to 200").
fn parse_limit(
    params: &Params,
    default: usize,
    max: usize,
    clamp: bool,
) -> Result<usize, ApiError> {
    let Some(raw) = params.get("limit") else {
        return Ok(default);
    };
    let bad = || {
        let range = if clamp {
            format!("an integer >= 1 (values above {max} are clamped)")
        } else {
            format!("an integer between 1 and {max}")
        };
        ApiError::bad_request(format!("invalid limit \"{raw}\": expected {range}"))
    };
    let n: i64 = raw.trim().parse().map_err(|_| bad())?;
    if n < 1 {
        return Err(bad());
    }
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    match (n > max, clamp) {
        (false, _) => Ok(n),
        (true, true) => Ok(max),
        (true, false) => Err(bad()),
    }
}

fn parse_sort(params: &Params) -> Result<PaginationSort, ApiError> {
    match params.get("sort").map(str::trim) {
        None | Some("") => Ok(PaginationSort::CreatedAtDesc),
        Some(raw) => raw.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "invalid sort \"{raw}\": expected createdAt:desc, createdAt:asc, name:asc or name:desc"
            ))
        }),
    }
}

/// `q`: over 200 characters -> 400; trimmed and lowercased; under 2 characters -> no filter.
fn parse_q(params: &Params) -> Result<Option<String>, ApiError> {
    let Some(raw) = params.get("q") else {
        return Ok(None);
    };
    if raw.chars().count() > 200 {
        return Err(ApiError::bad_request("invalid q: at most 200 characters"));
    }
    let q = raw.trim().to_lowercase();
    Ok((q.chars().count() >= 2).then_some(q))
}

/// Case-insensitive substring test; `needle` is already lowercase.
fn contains_ci(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        n.len() <= h.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    } else {
        hay.to_lowercase().contains(needle)
    }
}

fn cursor_error(e: CursorError) -> ApiError {
    match e {
        CursorError::Invalid => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
            "the cursor is malformed or was issued for another query (workspace, job, sort, q or filters)",
        ),
        CursorError::Expired => ApiError::new(
            StatusCode::BAD_REQUEST,
            "cursor_expired",
            "the cursor is older than 24h: restart from the first page",
        ),
    }
}

fn decode_cursor(emu: &Emulator, params: &Params, fp: &str) -> Result<Option<Position>, ApiError> {
    match params.get("cursor").filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(raw) => emu
            .inner()
            .cursors
            .decode(raw, fp, emu.now_secs())
            .map(Some)
            .map_err(cursor_error),
    }
}

fn sort_key(sort: PaginationSort) -> &'static str {
    match sort {
        PaginationSort::CreatedAtDesc => "createdAt:desc",
        PaginationSort::CreatedAtAsc => "createdAt:asc",
        PaginationSort::NameAsc => "name:asc",
        PaginationSort::NameDesc => "name:desc",
    }
}

fn is_created(sort: PaginationSort) -> bool {
    matches!(
        sort,
        PaginationSort::CreatedAtAsc | PaginationSort::CreatedAtDesc
    )
}

fn is_desc(sort: PaginationSort) -> bool {
    matches!(
        sort,
        PaginationSort::CreatedAtDesc | PaginationSort::NameDesc
    )
}

/// First position in `0..len` where `pred` turns false (`pred` must be monotone).
fn partition(len: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// One page over an index sorted ascending by `key`: resumes strictly after `after` by binary
/// search, then scans in sort order keeping items that pass `keep`. Returns index positions and
/// whether more matching items follow. `tail` returns the last page instead (`anchor=end`).
fn scan<'k>(
    len: usize,
    key: impl Fn(usize) -> (i64, &'k str),
    desc: bool,
    after: Option<&Position>,
    limit: usize,
    tail: bool,
    keep: impl Fn(usize) -> bool,
) -> (Vec<usize>, bool) {
    let mut out = Vec::with_capacity(limit + 1);
    if tail {
        // Walk from the end of the sort order backwards, then restore the order.
        let from_end: Box<dyn Iterator<Item = usize>> = if desc {
            Box::new(0..len)
        } else {
            Box::new((0..len).rev())
        };
        out.extend(from_end.filter(|i| keep(*i)).take(limit));
        out.reverse();
        return (out, false);
    }
    let order: Box<dyn Iterator<Item = usize>> = match (desc, after) {
        (false, None) => Box::new(0..len),
        (true, None) => Box::new((0..len).rev()),
        (false, Some(p)) => {
            let start = partition(len, |i| key(i) <= (p.time, p.name.as_str()));
            Box::new(start..len)
        }
        (true, Some(p)) => {
            let end = partition(len, |i| key(i) < (p.time, p.name.as_str()));
            Box::new((0..end).rev())
        }
    };
    out.extend(order.filter(|i| keep(*i)).take(limit + 1));
    let more = out.len() > limit;
    out.truncate(limit);
    (out, more)
}

fn meta(more: bool, next: Option<String>, total: usize) -> Option<PaginationMeta> {
    Some(PaginationMeta {
        has_more: Some(more),
        next_cursor: Some(if more {
            next.unwrap_or_default()
        } else {
            String::new()
        }),
        total: Some(total as i64),
    })
}

// ---------------------------------------------------------------------------------------------
// Jobs

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

async fn list_jobs(State(emu): State<Emulator>, headers: HeaderMap, uri: Uri) -> Response {
    respond(list_jobs_inner(&emu, &headers, &uri))
}

fn list_jobs_inner(emu: &Emulator, headers: &HeaderMap, uri: &Uri) -> ApiResult {
    let params = Params::parse(uri)?;
    let ctx = context(emu, headers, &params)?;
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
    let next = positions.last().filter(|_| more).map(|i| {
        let (time, name) = key(*i);
        emu.inner().cursors.encode(
            &fp,
            Position {
                time,
                name: name.to_owned(),
            },
            emu.now_secs(),
        )
    });
    let items: Vec<_> = positions
        .iter()
        .map(|i| ws.jobs[index[*i]].job.clone())
        .collect();
    let page = Page {
        meta: meta(more, next, ws.jobs.len()),
        items,
    };
    Ok(json(StatusCode::OK, &page, 2048 * positions.len() + 256))
}

async fn get_job(
    State(emu): State<Emulator>,
    Path(job): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    respond((|| {
        let params = Params::parse(&uri)?;
        let ctx = context(&emu, &headers, &params)?;
        let store = read(&emu);
        let job = job_of(workspace(&store, &ctx)?, &job)?;
        Ok(json(StatusCode::OK, &job.job, 2048))
    })())
}

async fn list_revisions(
    State(emu): State<Emulator>,
    Path(job): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    respond((|| {
        let params = Params::parse(&uri)?;
        let ctx = context(&emu, &headers, &params)?;
        let store = read(&emu);
        let job = job_of(workspace(&store, &ctx)?, &job)?;
        Ok(json(StatusCode::OK, &job.revisions, 512))
    })())
}

// ---------------------------------------------------------------------------------------------
// Executions

async fn list_executions(
    State(emu): State<Emulator>,
    Path(job): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    respond(list_executions_inner(&emu, &job, &headers, &uri))
}

fn list_executions_inner(emu: &Emulator, job: &str, headers: &HeaderMap, uri: &Uri) -> ApiResult {
    let params = Params::parse(uri)?;
    let ctx = context(emu, headers, &params)?;
    let store = read(emu);
    let ws = workspace(&store, &ctx)?;
    let job = job_of(ws, job)?;
    let limit = parse_limit(&params, 20, 100, false)?;
    let now = emu.now_secs();
    let model = |slot: u32| job.execs[slot as usize].model(&ws.name, &job.name, &ws.cluster, now);
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
    let next = positions.last().filter(|_| more).map(|i| {
        let (time, name) = key(*i);
        emu.inner().cursors.encode(
            &fp,
            Position {
                time,
                name: name.to_owned(),
            },
            now,
        )
    });
    let items: Vec<_> = positions.iter().map(|i| model(index[*i])).collect();
    let page = Page {
        meta: meta(more, next, job.execs.len()),
        items,
    };
    Ok(json(StatusCode::OK, &page, 3072 * positions.len() + 256))
}

async fn get_execution(
    State(emu): State<Emulator>,
    Path((job, id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    respond((|| {
        let params = Params::parse(&uri)?;
        let ctx = context(&emu, &headers, &params)?;
        let store = read(&emu);
        let ws = workspace(&store, &ctx)?;
        let job = job_of(ws, &job)?;
        let exec = exec_of(job, &id)?;
        let model = exec.model(&ws.name, &job.name, &ws.cluster, emu.now_secs());
        Ok(json(StatusCode::OK, &model, 4096))
    })())
}

/// DELETE: requests a cancel. A non-terminal execution turns `cancelling` now and `cancelled`
/// 5 virtual seconds later (tasks not started are cancelled at once; running ones finish if they
/// can within those 5 s, else are cancelled). A terminal execution, or one already cancelling,
/// is returned unchanged with 200.
async fn cancel_execution(
    State(emu): State<Emulator>,
    Path((job, id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    respond((|| {
        let params = Params::parse(&uri)?;
        let ctx = context(&emu, &headers, &params)?;
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
        let model = exec.model(&ws.name, &job.name, &ws.cluster, now);
        Ok(json(StatusCode::OK, &model, 4096))
    })())
}

/// POST: creates an execution.
///
/// - `executionId`: used when given (1..=128 characters, no `/` or whitespace, else 400); 409
///   `conflict` when the job already has it; otherwise `exec-` + 8 random hex digits.
/// - `memory`: MB, 1..=the job's `runtime.memory`, else 400 (stored as `memoryOverride`).
/// - `env`: stored as `envOverride`, an object with every value masked `***`.
/// - `tasks`: one task per item (at least one); each runs 10..=60 virtual seconds and succeeds.
/// - `allowQueue: false`: 400 when the request has more tasks than the workspace capacity
///   (it can never fit), 429 `Maximum parallel executions limit reached` when `capacity`
///   executions are already pending, running or cancelling; nothing is created on rejection.
///   An accepted one skips `queued` (capacity was checked): pending 3 s, then running.
/// - Otherwise it is `queued` for 2 s, `pending` for 3 s, then running.
async fn create_execution(
    State(emu): State<Emulator>,
    Path(job): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    respond(create_inner(&emu, &job, &headers, &uri, &body))
}

fn create_inner(
    emu: &Emulator,
    job: &str,
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
) -> ApiResult {
    let params = Params::parse(uri)?;
    let ctx = context(emu, headers, &params)?;
    let req: CreateJobExecutionRequest = if body.iter().all(u8::is_ascii_whitespace) {
        CreateJobExecutionRequest::default()
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))?
    };
    let now = emu.now_secs();
    let capacity = emu.inner().capacity;
    let mut store = write(emu);
    let ws = store
        .workspaces
        .get_mut(&ctx.workspace)
        .ok_or_else(|| ApiError::not_found("workspace not found"))?;
    let j = *ws
        .job_by_name
        .get(job)
        .ok_or_else(|| ApiError::not_found(format!("job \"{job}\" not found")))?;
    if let Some(id) = &req.execution_id {
        if id.is_empty() || id.len() > 128 || id.contains(|c: char| c == '/' || c.is_whitespace()) {
            return Err(ApiError::bad_request(format!(
                "invalid executionId \"{id}\": 1 to 128 characters, no '/' or whitespace"
            )));
        }
        if ws.jobs[j].by_id.contains_key(id.as_str()) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("execution \"{id}\" already exists for job \"{job}\""),
            ));
        }
    }
    let job_memory = ws.jobs[j].memory;
    if let Some(m) = req.memory
        && !(1..=job_memory).contains(&m)
    {
        return Err(ApiError::bad_request(format!(
            "invalid memory {m}: must be between 1 and the job's configured memory ({job_memory} MB)"
        )));
    }
    let task_count = req.tasks.len().max(1);
    let no_queue = req.allow_queue == Some(false);
    if no_queue {
        if task_count > capacity {
            return Err(ApiError::bad_request(format!(
                "the request needs {task_count} parallel tasks but the workspace quota is {capacity}: it can never fit"
            )));
        }
        let active = ws.active_at(now);
        if active >= capacity {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Maximum parallel executions limit reached",
                format!(
                    "workspace \"{}\" has {active} of {capacity} executions running; retry later or allow queueing",
                    ws.name
                ),
            ));
        }
    }
    let mut rng = lock(&emu.inner().create_rng);
    let id = match &req.execution_id {
        Some(id) => id.clone(),
        None => loop {
            let candidate = format!("exec-{:08x}", rng.random::<u32>());
            if !ws.jobs[j].by_id.contains_key(candidate.as_str()) {
                break candidate;
            }
        },
    };
    let parallelism = task_count.min(10);
    let mut slots = vec![0u32; parallelism];
    let tasks: Vec<TaskPlan> = (0..task_count)
        .map(|i| {
            let slot = i % parallelism;
            let start = slots[slot];
            let attempt_secs = rng.random_range(10..=60);
            slots[slot] += attempt_secs;
            TaskPlan {
                start,
                attempt_secs,
                attempts: 1,
                max_retries: 3,
                fails: false,
                timeout: "30m",
            }
        })
        .collect();
    let request_id = req.id.clone().unwrap_or_else(|| {
        let a: u128 = rng.random();
        let h = format!("{a:032x}");
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    });
    drop(rng);
    let mut env_names: Vec<String> = req.env.keys().cloned().collect();
    env_names.sort();
    let exec = Exec {
        id: id.clone().into(),
        created: now,
        queue: if no_queue { 0 } else { 2 },
        pending: 3,
        timeout: ws.jobs[j].timeout,
        parallelism: parallelism as u16,
        tasks: tasks.into_boxed_slice(),
        env: (!env_names.is_empty()).then_some(EnvPlan::Object(env_names)),
        memory: req.memory,
        cancel_at: None,
    };
    let slot = ws.jobs[j].insert(exec);
    ws.live.push((j, slot));
    let out = CreateJobExecutionOutput {
        execution_id: Some(id),
        id: Some(request_id),
        job_id: Some(job.to_owned()),
        tasks: if req.tasks.is_empty() {
            vec![serde_json::Map::new()]
        } else {
            req.tasks
        },
        workspace_id: Some(ws.name.clone()),
    };
    Ok(json(StatusCode::OK, &out, 256))
}

// ---------------------------------------------------------------------------------------------
// Tasks

async fn list_tasks(
    State(emu): State<Emulator>,
    Path((job, id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    respond(list_tasks_inner(&emu, &job, &id, &headers, &uri))
}

/// Tasks of an execution. Legacy versions: the bare array of every task. Paginated: shared
/// limits (default 50, clamped to 200), `sort` `createdAt:*` (all tasks share the execution's
/// creation time, so ties break on the name) or `name:*` (`metadata.name`), `q` on
/// `metadata.name`, cursors bound to workspace, job, execution, sort and `q`;
/// `meta.total` is the execution's task count.
fn list_tasks_inner(
    emu: &Emulator,
    job: &str,
    id: &str,
    headers: &HeaderMap,
    uri: &Uri,
) -> ApiResult {
    let params = Params::parse(uri)?;
    let ctx = context(emu, headers, &params)?;
    let store = read(emu);
    let ws = workspace(&store, &ctx)?;
    let job = job_of(ws, job)?;
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
    let next = positions.last().filter(|_| more).map(|i| {
        let (time, name) = key(*i);
        emu.inner().cursors.encode(
            &fp,
            Position {
                time,
                name: name.to_owned(),
            },
            emu.now_secs(),
        )
    });
    let items: Vec<_> = positions.iter().map(|i| tasks[index[*i]].clone()).collect();
    let page = Page {
        meta: meta(more, next, tasks.len()),
        items,
    };
    Ok(json(StatusCode::OK, &page, 1024 * positions.len() + 256))
}

// ---------------------------------------------------------------------------------------------
// Control API

async fn ctl_stats(State(emu): State<Emulator>) -> Response {
    json(StatusCode::OK, &emu.stats(), 512)
}

async fn ctl_reset_stats(State(emu): State<Emulator>) -> StatusCode {
    emu.reset_stats();
    StatusCode::NO_CONTENT
}

async fn ctl_set_faults(State(emu): State<Emulator>, body: Bytes) -> Response {
    let faults: Vec<Fault> = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => {
            return ApiError::bad_request(format!("expected a JSON list of faults: {e}"))
                .into_response();
        }
    };
    if let Err(msg) = faults::validate(&faults) {
        return ApiError::bad_request(msg).into_response();
    }
    let n = faults.len();
    emu.set_faults(faults);
    json(StatusCode::OK, &serde_json::json!({ "faults": n }), 32)
}

async fn ctl_clear_faults(State(emu): State<Emulator>) -> StatusCode {
    emu.clear_faults();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClockRequest {
    advance_seconds: i64,
}

#[derive(Serialize)]
struct ClockResponse {
    now: String,
}

async fn ctl_clock(State(emu): State<Emulator>) -> Json<ClockResponse> {
    Json(ClockResponse {
        now: ts(emu.now_secs()),
    })
}

async fn ctl_advance_clock(State(emu): State<Emulator>, body: Bytes) -> Response {
    match serde_json::from_slice::<ClockRequest>(&body) {
        Ok(r) if r.advance_seconds >= 0 => {
            emu.advance_clock(r.advance_seconds);
            json(
                StatusCode::OK,
                &ClockResponse {
                    now: ts(emu.now_secs()),
                },
                48,
            )
        }
        Ok(_) => ApiError::bad_request("advanceSeconds must be >= 0: the clock never goes back")
            .into_response(),
        Err(e) => ApiError::bad_request(format!("expected {{\"advanceSeconds\": N}}: {e}"))
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_resumes_after_key() {
        let keys: Vec<(i64, String)> = (0..10).map(|i| (i, format!("k{i}"))).collect();
        let key = |i: usize| (keys[i].0, keys[i].1.as_str());
        let (p, more) = scan(10, key, false, None, 3, false, |_| true);
        assert_eq!((p, more), (vec![0, 1, 2], true));
        let after = Position {
            time: 2,
            name: "k2".into(),
        };
        let (p, _) = scan(10, key, false, Some(&after), 3, false, |_| true);
        assert_eq!(p, vec![3, 4, 5]);
        let (p, more) = scan(10, key, true, Some(&after), 3, false, |_| true);
        assert_eq!((p, more), (vec![1, 0], false));
        let (p, more) = scan(10, key, true, None, 3, true, |_| true);
        assert_eq!((p, more), (vec![2, 1, 0], false));
        let (p, _) = scan(10, key, false, None, 3, true, |_| true);
        assert_eq!(p, vec![7, 8, 9]);
    }
}
