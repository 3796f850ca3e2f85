//! Typed query parameters of the listing endpoints, checked before anything is sent.

use blaxel_models::{PaginationAnchor, PaginationSort, Status};

use crate::Error;

/// Longest `q` the upstream accepts, in characters (`PaginationQuery.maxLength`).
pub const MAX_QUERY_CHARS: usize = 200;
/// Largest `limit` of `GET /jobs/{jobId}/executions` (its own parameter: default 20, 1..=100).
pub const MAX_EXECUTIONS_LIMIT: u32 = 100;
/// Largest `limit` of `GET /jobs` and `GET .../tasks` (shared `PaginationLimit`: default 50,
/// 1..=200).
pub const MAX_SHARED_LIMIT: u32 = 200;
/// The upstream's default page size for executions when `limit` is absent.
pub const DEFAULT_EXECUTIONS_LIMIT: u32 = 20;

/// Query of `GET /jobs/{jobId}/executions` (ListJobExecutions).
///
/// On `Blaxel-Version` >= 2026-04-28 the upstream honours `limit`, `cursor`, `sort` and `q` and
/// ignores `offset`; on older versions it honours only `offset`/`limit`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ListExecutionsRequest {
    /// Page size, 1..=100 (checked before sending); upstream default 20.
    pub limit: Option<u32>,
    /// `meta.nextCursor` of the previous page; omit on the first page. Bound upstream to the
    /// workspace, job, sort and `q` (not to `limit`); expires after 24 h.
    pub cursor: Option<String>,
    /// Order; upstream default `createdAt:desc`. `name:*` orders executions by `metadata.id`.
    pub sort: Option<PaginationSort>,
    /// Substring search, at most 200 characters (checked); trimmed and lowercased upstream,
    /// ignored under 2 characters.
    pub q: Option<String>,
    /// Legacy offset (items to skip), honoured only before `Blaxel-Version` 2026-04-28.
    pub offset: Option<u64>,
}

/// Query of `GET /jobs` (ListJobs).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ListJobsRequest {
    /// Page size, 1..=200 (checked before sending); upstream default 50.
    pub limit: Option<u32>,
    /// `meta.nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// Order; upstream default `createdAt:desc`.
    pub sort: Option<PaginationSort>,
    /// Substring search over name, display name and labels, at most 200 characters (checked).
    pub q: Option<String>,
    /// `end` starts from the tail page (only with `createdAt` sorts).
    pub anchor: Option<PaginationAnchor>,
    /// Deployment statuses to keep, sent comma-separated (`DEPLOYED,FAILED`); empty = all.
    pub status: Vec<Status>,
}

/// Query of `GET /jobs/{jobId}/executions/{executionId}/tasks` (ListJobExecutionTasks).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ListTasksRequest {
    /// Page size, 1..=200 (checked before sending); upstream default 50.
    pub limit: Option<u32>,
    /// `meta.nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// Order; `name:*` orders by task name.
    pub sort: Option<PaginationSort>,
    /// Substring search, at most 200 characters (checked).
    pub q: Option<String>,
}

pub(crate) type Query = Vec<(&'static str, String)>;

fn check_limit(limit: Option<u32>, max: u32) -> Result<(), Error> {
    match limit {
        Some(limit) if !(1..=max).contains(&limit) => Err(Error::invalid(format!(
            "limit must be between 1 and {max}, got {limit}"
        ))),
        _ => Ok(()),
    }
}

fn check_q(q: Option<&str>) -> Result<(), Error> {
    match q.map(|q| q.chars().count()) {
        Some(len) if len > MAX_QUERY_CHARS => Err(Error::invalid(format!(
            "q must be at most {MAX_QUERY_CHARS} characters, got {len}"
        ))),
        _ => Ok(()),
    }
}

fn common(
    query: &mut Query,
    limit: Option<u32>,
    cursor: Option<&str>,
    sort: Option<PaginationSort>,
    q: Option<&str>,
) {
    if let Some(limit) = limit {
        query.push(("limit", limit.to_string()));
    }
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor.to_owned()));
    }
    if let Some(sort) = sort {
        query.push(("sort", sort.to_string()));
    }
    if let Some(q) = q {
        query.push(("q", q.to_owned()));
    }
}

impl ListExecutionsRequest {
    /// Checks the bounds and renders the query string pairs.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a `limit` outside 1..=100 or a `q` over 200 characters.
    pub(crate) fn to_query(&self) -> Result<Query, Error> {
        check_limit(self.limit, MAX_EXECUTIONS_LIMIT)?;
        check_q(self.q.as_deref())?;
        let mut query = Query::new();
        common(
            &mut query,
            self.limit,
            self.cursor.as_deref(),
            self.sort,
            self.q.as_deref(),
        );
        if let Some(offset) = self.offset {
            query.push(("offset", offset.to_string()));
        }
        Ok(query)
    }
}

impl ListJobsRequest {
    /// Checks the bounds and renders the query string pairs.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a `limit` outside 1..=200 or a `q` over 200 characters.
    pub(crate) fn to_query(&self) -> Result<Query, Error> {
        check_limit(self.limit, MAX_SHARED_LIMIT)?;
        check_q(self.q.as_deref())?;
        let mut query = Query::new();
        common(
            &mut query,
            self.limit,
            self.cursor.as_deref(),
            self.sort,
            self.q.as_deref(),
        );
        if let Some(anchor) = self.anchor {
            query.push(("anchor", anchor.to_string()));
        }
        if !self.status.is_empty() {
            let status: Vec<&str> = self.status.iter().map(Status::as_str).collect();
            query.push(("status", status.join(",")));
        }
        Ok(query)
    }
}

impl ListTasksRequest {
    /// Checks the bounds and renders the query string pairs.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a `limit` outside 1..=200 or a `q` over 200 characters.
    pub(crate) fn to_query(&self) -> Result<Query, Error> {
        check_limit(self.limit, MAX_SHARED_LIMIT)?;
        check_q(self.q.as_deref())?;
        let mut query = Query::new();
        common(
            &mut query,
            self.limit,
            self.cursor.as_deref(),
            self.sort,
            self.q.as_deref(),
        );
        Ok(query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executions_bounds() {
        for limit in [0, 101] {
            let req = ListExecutionsRequest {
                limit: Some(limit),
                ..Default::default()
            };
            let err = req.to_query().unwrap_err();
            assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
        }
        let req = ListExecutionsRequest {
            q: Some("é".repeat(200)),
            limit: Some(100),
            ..Default::default()
        };
        assert!(req.to_query().is_ok(), "200 characters (400 bytes) pass");
        let req = ListExecutionsRequest {
            q: Some("x".repeat(201)),
            ..Default::default()
        };
        assert!(req.to_query().is_err());
    }

    #[test]
    fn renders_query() {
        let req = ListExecutionsRequest {
            limit: Some(5),
            cursor: Some("abc".into()),
            sort: Some(PaginationSort::NameAsc),
            q: Some("exec".into()),
            offset: Some(10),
        };
        assert_eq!(
            req.to_query().unwrap(),
            vec![
                ("limit", "5".to_owned()),
                ("cursor", "abc".to_owned()),
                ("sort", "name:asc".to_owned()),
                ("q", "exec".to_owned()),
                ("offset", "10".to_owned()),
            ]
        );
        let jobs = ListJobsRequest {
            limit: Some(200),
            anchor: Some(PaginationAnchor::End),
            status: vec![Status::Deployed, Status::Failed],
            ..Default::default()
        };
        assert_eq!(
            jobs.to_query().unwrap(),
            vec![
                ("limit", "200".to_owned()),
                ("anchor", "end".to_owned()),
                ("status", "DEPLOYED,FAILED".to_owned()),
            ]
        );
        assert!(
            ListTasksRequest {
                limit: Some(201),
                ..Default::default()
            }
            .to_query()
            .is_err()
        );
    }
}
