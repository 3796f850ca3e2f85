//! Route keys: the names of the `/v0` routes in [`Stats`](crate::Stats) (`GET /_emulator/stats`)
//! and in [`Fault::route`](crate::Fault::route). A key is the HTTP method, one space, and the
//! route template of Blaxel's OpenAPI spec (`/v0` + the spec's path), e.g.
//! `GET /v0/jobs/{jobId}/executions`. Test suites use these constants instead of copying the
//! strings, and the fault API rejects any other key (except [`ANY`]).

/// `GET /v0/jobs`: list the workspace's jobs (spec operation `listJobs`).
pub const LIST_JOBS: &str = "GET /v0/jobs";
/// `GET /v0/jobs/{jobId}`: one job (`getJob`).
pub const GET_JOB: &str = "GET /v0/jobs/{jobId}";
/// `GET /v0/jobs/{jobId}/revisions`: a job's revisions (`listJobRevisions`).
pub const LIST_REVISIONS: &str = "GET /v0/jobs/{jobId}/revisions";
/// `GET /v0/jobs/{jobId}/executions`: list a job's executions (`listJobExecutions`).
pub const LIST_EXECUTIONS: &str = "GET /v0/jobs/{jobId}/executions";
/// `POST /v0/jobs/{jobId}/executions`: create an execution (`createJobExecution`).
pub const CREATE_EXECUTION: &str = "POST /v0/jobs/{jobId}/executions";
/// `GET /v0/jobs/{jobId}/executions/{executionId}`: one execution (`getJobExecution`).
pub const GET_EXECUTION: &str = "GET /v0/jobs/{jobId}/executions/{executionId}";
/// `DELETE /v0/jobs/{jobId}/executions/{executionId}`: cancel an execution
/// (`deleteJobExecution`).
pub const CANCEL_EXECUTION: &str = "DELETE /v0/jobs/{jobId}/executions/{executionId}";
/// `GET /v0/jobs/{jobId}/executions/{executionId}/tasks`: list an execution's tasks
/// (`listJobExecutionTasks`).
pub const LIST_TASKS: &str = "GET /v0/jobs/{jobId}/executions/{executionId}/tasks";

/// The fault route that matches every `/v0` route.
pub const ANY: &str = "*";

/// Every route key the emulator serves (the valid [`Fault::route`](crate::Fault::route)
/// values besides [`ANY`]).
pub const ALL: [&str; 8] = [
    LIST_JOBS,
    GET_JOB,
    LIST_REVISIONS,
    LIST_EXECUTIONS,
    CREATE_EXECUTION,
    GET_EXECUTION,
    CANCEL_EXECUTION,
    LIST_TASKS,
];

/// The route template of a key (`GET /v0/jobs` -> `/v0/jobs`).
pub(crate) fn template(key: &'static str) -> &'static str {
    key.split_once(' ').map_or(key, |(_, path)| path)
}
