//! The upstream routes: their templates (the failure domains of the circuit breakers and the
//! labels of logs), and the one place where caller input becomes URL path segments.

use http::Method;
use reqwest::Url;

use crate::{Error, redact::quote_input};

/// One operation of the jobs API, named by its route template.
///
/// Each route is its own failure domain: it has its own circuit breaker, so a route that fails
/// does not make the others fail fast. [`Route::template`] is a bounded label set for logs and
/// metrics (it never holds a job name or an id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Route {
    /// `GET /jobs` (ListJobs).
    ListJobs,
    /// `GET /jobs/{jobId}` (GetJob).
    GetJob,
    /// `GET /jobs/{jobId}/revisions` (ListJobRevisions).
    ListJobRevisions,
    /// `GET /jobs/{jobId}/executions` (ListJobExecutions).
    ListJobExecutions,
    /// `POST /jobs/{jobId}/executions` (CreateJobExecution).
    CreateJobExecution,
    /// `GET /jobs/{jobId}/executions/{executionId}` (GetJobExecution).
    GetJobExecution,
    /// `DELETE /jobs/{jobId}/executions/{executionId}` (DeleteJobExecution).
    CancelJobExecution,
    /// `GET /jobs/{jobId}/executions/{executionId}/tasks` (ListJobExecutionTasks).
    ListJobExecutionTasks,
}

impl Route {
    /// Every route, in a fixed order (the order of [`Client::circuit_states`](crate::Client::circuit_states)).
    pub const ALL: [Route; 8] = [
        Route::ListJobs,
        Route::GetJob,
        Route::ListJobRevisions,
        Route::ListJobExecutions,
        Route::CreateJobExecution,
        Route::GetJobExecution,
        Route::CancelJobExecution,
        Route::ListJobExecutionTasks,
    ];

    /// `METHOD template` relative to the base URL, e.g. `GET /jobs/{jobId}/executions`.
    pub fn template(self) -> &'static str {
        match self {
            Route::ListJobs => "GET /jobs",
            Route::GetJob => "GET /jobs/{jobId}",
            Route::ListJobRevisions => "GET /jobs/{jobId}/revisions",
            Route::ListJobExecutions => "GET /jobs/{jobId}/executions",
            Route::CreateJobExecution => "POST /jobs/{jobId}/executions",
            Route::GetJobExecution => "GET /jobs/{jobId}/executions/{executionId}",
            Route::CancelJobExecution => "DELETE /jobs/{jobId}/executions/{executionId}",
            Route::ListJobExecutionTasks => "GET /jobs/{jobId}/executions/{executionId}/tasks",
        }
    }

    /// The HTTP method of the route.
    pub fn method(self) -> Method {
        match self {
            Route::CreateJobExecution => Method::POST,
            Route::CancelJobExecution => Method::DELETE,
            _ => Method::GET,
        }
    }

    /// Position in [`Route::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Checks a caller's value (a job name, an execution id) that becomes one path segment.
///
/// The `url` crate would otherwise resolve `.` and `..` (`GET /jobs/..` is `GET /`) and strip
/// TAB, CR and LF, so such values would address another resource than the one named. Everything
/// else is legal and is percent-encoded by [`join`].
///
/// # Errors
/// [`Error::InvalidRequest`] for an empty or blank value, `.` or `..`, or a control character.
pub(crate) fn check_segment(what: &str, value: &str) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(Error::invalid(format!("the {what} must not be empty")));
    }
    if value == "." || value == ".." {
        return Err(Error::invalid(format!(
            "the {what} {} is not allowed: `.` and `..` would address another resource",
            quote_input(value)
        )));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(Error::invalid(format!(
            "the {what} {} contains the control character U+{:04X}",
            quote_input(value),
            u32::from(c)
        )));
    }
    Ok(())
}

/// The base URL with `segments` appended, each percent-encoded as exactly one path segment
/// (`/`, `?`, `#`, `%`, `\`, spaces and non-ASCII are encoded). The segments were checked by
/// [`check_segment`], so none is `.`, `..` or holds a control character.
pub(crate) fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    // `Client::new` checked that the base URL can have path segments.
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_and_encodes_one_segment_each() {
        for base in ["http://127.0.0.1:1/v0", "http://127.0.0.1:1/v0/"] {
            let base = Url::parse(base).unwrap();
            let url = join(&base, &["jobs", "a b/c?d#e%f\\g é", "executions"]);
            assert_eq!(
                url.as_str(),
                "http://127.0.0.1:1/v0/jobs/a%20b%2Fc%3Fd%23e%25f%5Cg%20%C3%A9/executions"
            );
            assert_eq!(url.path_segments().unwrap().count(), 4);
        }
    }

    #[test]
    fn rejects_dot_segments_blanks_and_controls() {
        for bad in [
            "", " ", ".", "..", "job\n", "a\tb", "a\rb", "\u{7f}", "a\u{85}b",
        ] {
            let err = check_segment("job name", bad).unwrap_err();
            assert!(
                matches!(err, Error::InvalidRequest { .. }),
                "{bad:?}: {err:?}"
            );
        }
        for ok in ["...", ".a", "a.", "%2e%2e", "a/b", "é", "job name"] {
            check_segment("job name", ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        }
    }

    #[test]
    fn templates_are_distinct_and_indexed_in_order() {
        for (i, route) in Route::ALL.iter().enumerate() {
            assert_eq!(route.index(), i);
            assert!(route.template().starts_with(route.method().as_str()));
        }
        let unique: std::collections::HashSet<_> =
            Route::ALL.iter().map(|r| r.template()).collect();
        assert_eq!(unique.len(), Route::ALL.len());
    }
}
