//! Typed query parameters of the listing endpoints, checked before anything is sent, and the
//! upstream's rules for them (limits, query normalisation), in one home for every caller.

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
    /// Substring search; sent normalised ([`normalise_query`]: trimmed, lowercased, omitted
    /// under 2 characters), at most 200 characters in that form (checked).
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
    /// Substring search over name, display name and labels; sent normalised
    /// ([`normalise_query`]), at most 200 characters in that form (checked).
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
    /// Substring search; sent normalised ([`normalise_query`]), at most 200 characters in that
    /// form (checked).
    pub q: Option<String>,
}

/// Normalises a search query as the upstream does: trimmed and lowercased; under 2 characters
/// (after trimming) it is no filter, the empty string.
///
/// The transport sends `q` in this form and checks [`MAX_QUERY_CHARS`] on it: lowercasing can
/// lengthen a string (`İ` becomes two characters), and the upstream counts what it receives.
/// Callers binding cursors or cache keys to a query use it too, so that queries the upstream
/// treats alike are alike.
pub fn normalise_query(q: Option<&str>) -> String {
    let q = q.unwrap_or("").trim();
    if q.chars().count() < 2 {
        String::new()
    } else {
        q.to_lowercase()
    }
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

/// The normalised `q` to send (`None` when it filters nothing).
///
/// # Errors
/// [`Error::InvalidRequest`] when it is over [`MAX_QUERY_CHARS`] once normalised.
fn check_q(q: Option<&str>) -> Result<Option<String>, Error> {
    let q = normalise_query(q);
    match q.chars().count() {
        0 => Ok(None),
        len if len > MAX_QUERY_CHARS => Err(Error::invalid(format!(
            "q must be at most {MAX_QUERY_CHARS} characters once trimmed and lowercased, got {len}"
        ))),
        _ => Ok(Some(q)),
    }
}

fn common(
    query: &mut Query,
    limit: Option<u32>,
    cursor: Option<&str>,
    sort: Option<PaginationSort>,
    q: Option<String>,
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
        query.push(("q", q));
    }
}

impl ListExecutionsRequest {
    /// Checks the bounds and renders the query string pairs.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a `limit` outside 1..=100 or a normalised `q` over 200
    /// characters.
    pub(crate) fn to_query(&self) -> Result<Query, Error> {
        check_limit(self.limit, MAX_EXECUTIONS_LIMIT)?;
        let q = check_q(self.q.as_deref())?;
        let mut query = Query::new();
        common(&mut query, self.limit, self.cursor.as_deref(), self.sort, q);
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
    /// [`Error::InvalidRequest`] for a `limit` outside 1..=200 or a normalised `q` over 200
    /// characters.
    pub(crate) fn to_query(&self) -> Result<Query, Error> {
        check_limit(self.limit, MAX_SHARED_LIMIT)?;
        let q = check_q(self.q.as_deref())?;
        let mut query = Query::new();
        common(&mut query, self.limit, self.cursor.as_deref(), self.sort, q);
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
    /// [`Error::InvalidRequest`] for a `limit` outside 1..=200 or a normalised `q` over 200
    /// characters.
    pub(crate) fn to_query(&self) -> Result<Query, Error> {
        check_limit(self.limit, MAX_SHARED_LIMIT)?;
        let q = check_q(self.q.as_deref())?;
        let mut query = Query::new();
        common(&mut query, self.limit, self.cursor.as_deref(), self.sort, q);
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
        // Checked once normalised: surrounding blanks do not count, lowercasing growth does.
        let req = ListExecutionsRequest {
            q: Some(format!("  {}  ", "X".repeat(200))),
            ..Default::default()
        };
        assert_eq!(req.to_query().unwrap(), vec![("q", "x".repeat(200))]);
        let grows = "İ".repeat(150);
        assert_eq!(grows.chars().count(), 150);
        assert_eq!(normalise_query(Some(&grows)).chars().count(), 300);
        let req = ListExecutionsRequest {
            q: Some(grows),
            ..Default::default()
        };
        let err = req.to_query().unwrap_err();
        assert!(err.to_string().contains("got 300"), "{err}");
        // Under 2 characters: no filter, nothing sent.
        let req = ListExecutionsRequest {
            q: Some(" a ".into()),
            ..Default::default()
        };
        assert!(req.to_query().unwrap().is_empty());
    }

    #[test]
    fn normalises_queries_like_the_upstream() {
        assert_eq!(normalise_query(None), "");
        assert_eq!(normalise_query(Some(" a ")), "");
        assert_eq!(normalise_query(Some("  ExEc-AB ")), "exec-ab");
        assert_eq!(normalise_query(Some("é")), "");
    }

    #[test]
    fn renders_query() {
        let req = ListExecutionsRequest {
            limit: Some(5),
            cursor: Some("abc".into()),
            sort: Some(PaginationSort::NameAsc),
            q: Some(" Exec ".into()),
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
