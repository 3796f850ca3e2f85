//! Request extraction: query parameters, API version, credentials and workspace (the [`Call`]
//! extractor every `/v0` handler starts with), plus the lookups and parameter rules they share.

use std::sync::{PoisonError, RwLockReadGuard, RwLockWriteGuard};

use axum::{
    extract::{FromRequestParts, Query},
    http::{HeaderMap, StatusCode, Uri, header, request::Parts},
};
use blaxel_models::{ApiVersion, PaginationSort};

use super::ApiError;
use crate::{
    Emulator,
    store::{JobState, Store, WorkspaceState},
    timeline::Exec,
};

/// The store, for reading.
pub(crate) fn read(emu: &Emulator) -> RwLockReadGuard<'_, Store> {
    emu.inner()
        .store
        .read()
        .unwrap_or_else(PoisonError::into_inner)
}

/// The store, for writing.
pub(crate) fn write(emu: &Emulator) -> RwLockWriteGuard<'_, Store> {
    emu.inner()
        .store
        .write()
        .unwrap_or_else(PoisonError::into_inner)
}

/// The query string as ordered pairs (a name may repeat).
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Parses the query string; malformed -> 400.
    pub(crate) fn parse(uri: &Uri) -> Result<Self, ApiError> {
        Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map(|q| Self(q.0))
            .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Who calls, in which workspace, with which API version.
pub(crate) struct Ctx {
    /// The workspace the call acts on (the `X-Blaxel-Workspace` header, the `workspace`
    /// parameter, or the token's first workspace).
    pub workspace: String,
    /// The `Blaxel-Version` (absent: [`ApiVersion::LEGACY_DEFAULT`]).
    pub version: ApiVersion,
}

/// The opening of every `/v0` handler: the parsed query and the checked caller. Rejections
/// come in the documented order: malformed query string and version (400), token (401),
/// workspace (403).
pub(crate) struct Call {
    pub params: Params,
    pub ctx: Ctx,
}

impl FromRequestParts<Emulator> for Call {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, emu: &Emulator) -> Result<Self, ApiError> {
        let params = Params::parse(&parts.uri)?;
        let ctx = context(emu, &parts.headers, &params)?;
        Ok(Self { params, ctx })
    }
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
                    return Err(ApiError::bad_request_body(serde_json::json!({
                            "error": "invalid_api_version",
                            "message": format!(
                                "Unknown API version \"{text}\". Valid versions: {}. See https://docs.blaxel.ai/api-reference/introduction#api-versioning for the list of supported versions.",
                                valid.join(", ")
                            ),
                    })));
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

pub(crate) fn workspace<'a>(store: &'a Store, ctx: &Ctx) -> Result<&'a WorkspaceState, ApiError> {
    store
        .workspaces
        .get(&ctx.workspace)
        .ok_or_else(|| ApiError::not_found(format!("workspace \"{}\" not found", ctx.workspace)))
}

/// The caller's workspace, for writing, and the slot of job `name` in it.
pub(crate) fn job_slot<'a>(
    store: &'a mut Store,
    ctx: &Ctx,
    name: &str,
) -> Result<(&'a mut WorkspaceState, usize), ApiError> {
    let ws = store
        .workspaces
        .get_mut(&ctx.workspace)
        .ok_or_else(|| ApiError::not_found(format!("workspace \"{}\" not found", ctx.workspace)))?;
    let slot = *ws
        .job_by_name
        .get(name)
        .ok_or_else(|| ApiError::not_found(format!("job \"{name}\" not found")))?;
    Ok((ws, slot))
}

pub(crate) fn job_of<'a>(ws: &'a WorkspaceState, name: &str) -> Result<&'a JobState, ApiError> {
    ws.job_by_name
        .get(name)
        .map(|i| &ws.jobs[*i])
        .ok_or_else(|| ApiError::not_found(format!("job \"{name}\" not found")))
}

pub(crate) fn exec_of<'a>(job: &'a JobState, id: &str) -> Result<&'a Exec, ApiError> {
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
pub(crate) fn parse_limit(
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

pub(crate) fn parse_sort(params: &Params) -> Result<PaginationSort, ApiError> {
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
pub(crate) fn parse_q(params: &Params) -> Result<Option<String>, ApiError> {
    let Some(raw) = params.get("q") else {
        return Ok(None);
    };
    if raw.chars().count() > 200 {
        return Err(ApiError::bad_request("invalid q: at most 200 characters"));
    }
    let q = raw.trim().to_lowercase();
    Ok((q.chars().count() >= 2).then_some(q))
}
