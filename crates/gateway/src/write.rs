//! Writes: creating and cancelling job executions, as core operations below every face (the
//! GraphQL mutations, the gRPC `CreateJobExecution` / `CancelJobExecution`).
//!
//! A face translates its arguments into [`CreateExecution`] and its answers from [`Created`] or
//! the cancelled [`JobExecution`]; every rule lives here once:
//!
//! - Input is checked before any upstream call ([`CreateExecution::check`]): the execution id,
//!   at most [`MAX_TASKS`] tasks, at most [`MAX_ENV_VARS`] variables, a positive `memory`.
//! - Idempotency: a create that carries its own `executionId` is safe to repeat. The transport
//!   retries it on a lost answer, and a client may send it again: when the upstream answers 409
//!   (the id exists), the existing execution is read and returned ([`Created::replayed`]), so
//!   the upstream holds one execution however many times the request is sent. A create without
//!   an id is sent exactly once (the transport never retries it).
//! - `allowQueue: false` and no capacity now (upstream 429) is `RATE_LIMITED` (with
//!   `retryAfter` when the upstream says); a request that can never fit, or a `memory` above the
//!   job's (upstream 400), is `BAD_USER_INPUT` with the upstream's reason.
//! - Cancelling an execution that already finished (`SUCCEEDED`, `FAILED`, `TIMEOUT`) is
//!   `FAILED_PRECONDITION` naming its status: the upstream answers such a cancel with the
//!   execution unchanged (or a 409), which a client would misread as "cancelling". Cancelling a
//!   cancelled or cancelling execution returns it as it is (a repeated cancel is harmless).

use std::collections::HashMap;

use blaxel_models::{CreateJobExecutionRequest, JobExecution, JobExecutionMetadata};
use blaxel_transport::{Client, Error as UpstreamError};
use serde_json::{Map, Value};
use tracing::info;

use crate::{
    caller::Caller,
    error::{Code, Error},
};

/// Most tasks one execution may be created with. The upstream starts one task per item; a
/// larger array is refused before any upstream call.
pub const MAX_TASKS: usize = 10_000;

/// Most environment variables one execution may override.
pub const MAX_ENV_VARS: usize = 1_000;

/// Longest environment variable name, characters.
pub const MAX_ENV_NAME_CHARS: usize = 256;

/// Longest execution id, characters (the upstream's bound).
pub const MAX_EXECUTION_ID_CHARS: usize = 128;

/// What to create: the upstream `CreateJobExecutionRequest` as a face hands it over.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateExecution {
    /// The execution's id, chosen by the caller: makes the create idempotent. `None`: the
    /// upstream picks one, and the create is sent exactly once.
    pub execution_id: Option<String>,
    /// One object of free-form parameters per task (upstream `tasks`); empty: one task.
    pub tasks: Vec<Map<String, Value>>,
    /// Environment variable overrides, merged with the job's (upstream `env`).
    pub env: HashMap<String, String>,
    /// Memory override, MB; at most the job's configured memory (upstream `memory`).
    pub memory: Option<i64>,
    /// `false`: start now or fail (`RATE_LIMITED`), never queue. `None`/`true`: queue when the
    /// workspace is at capacity (upstream `allowQueue`, default true).
    pub allow_queue: Option<bool>,
}

/// A created execution.
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    /// The execution as the upstream shows it right after the create. When it cannot be read
    /// back (the create succeeded, the read failed), only `metadata` (`id`, `job`, `workspace`)
    /// is set.
    pub execution: JobExecution,
    /// True when the execution already existed (a repeated create with the same
    /// `execution_id`): nothing new was started.
    pub replayed: bool,
}

impl CreateExecution {
    /// Checks the request before any upstream call.
    ///
    /// # Errors
    /// `BAD_USER_INPUT` naming the field: an empty, over-long or path-like `executionId`, more
    /// than [`MAX_TASKS`] tasks or [`MAX_ENV_VARS`] variables, an empty or over-long variable
    /// name, a `memory` of 0 or less.
    pub fn check(&self) -> Result<(), Error> {
        if let Some(id) = &self.execution_id {
            let chars = id.chars().count();
            if chars == 0 || chars > MAX_EXECUTION_ID_CHARS {
                return Err(Error::bad_input(format!(
                    "`executionId` must be 1 to {MAX_EXECUTION_ID_CHARS} characters, got {chars}"
                )));
            }
            if id == "."
                || id == ".."
                || id.contains(|c: char| c == '/' || c.is_whitespace() || c.is_control())
            {
                return Err(Error::bad_input(
                    "`executionId` must not be `.`/`..` nor hold `/`, whitespace or control characters",
                ));
            }
        }
        if self.tasks.len() > MAX_TASKS {
            return Err(Error::bad_input(format!(
                "`tasks` holds {} items, over the limit of {MAX_TASKS}",
                self.tasks.len()
            )));
        }
        if self.env.len() > MAX_ENV_VARS {
            return Err(Error::bad_input(format!(
                "`env` holds {} variables, over the limit of {MAX_ENV_VARS}",
                self.env.len()
            )));
        }
        if let Some(name) = self.env.keys().find(|name| {
            name.is_empty()
                || name.chars().count() > MAX_ENV_NAME_CHARS
                || name.contains(|c: char| c == '=' || c.is_control())
        }) {
            let shown: String = name.chars().take(40).collect();
            return Err(Error::bad_input(format!(
                "`env` variable name {shown:?} is invalid: 1 to {MAX_ENV_NAME_CHARS} characters, no `=` nor control characters"
            )));
        }
        if let Some(memory) = self.memory
            && memory <= 0
        {
            return Err(Error::bad_input(format!(
                "`memory` must be a positive number of MB, got {memory}"
            )));
        }
        Ok(())
    }

    fn into_request(self) -> CreateJobExecutionRequest {
        CreateJobExecutionRequest {
            allow_queue: self.allow_queue,
            env: self.env,
            execution_id: self.execution_id,
            memory: self.memory,
            tasks: self.tasks,
            ..CreateJobExecutionRequest::default()
        }
    }
}

/// Starts an execution of `job` for `caller` (`POST /jobs/{job}/executions`), then reads it
/// (`GET .../executions/{id}`) so that the answer is the execution itself.
///
/// # Errors
/// `BAD_USER_INPUT` for input refused by [`CreateExecution::check`] (nothing is sent) or by the
/// upstream (400: `memory` above the job's, a request that can never fit, with the upstream's
/// reason); `RATE_LIMITED` when `allow_queue` is false and the workspace is at capacity;
/// `NOT_FOUND` for an unknown job; otherwise the upstream failure's code.
pub async fn create_execution(
    client: &Client,
    caller: &Caller,
    job: &str,
    create: CreateExecution,
) -> Result<Created, Error> {
    create.check()?;
    let creds = &caller.credentials;
    let asked_id = create.execution_id.clone();
    let no_queue = create.allow_queue == Some(false);
    let request = create.into_request();
    match client.create_job_execution(creds, job, &request).await {
        Ok(output) => {
            let id = output.execution_id.or(asked_id).ok_or_else(|| {
                Error::new(
                    Code::UpstreamError,
                    "the Blaxel API created an execution but sent no executionId",
                )
            })?;
            info!(job, execution = %id, "created a job execution");
            let execution = match client.get_job_execution(creds, job, &id).await {
                Ok(execution) => execution,
                // Created all the same: answer what is known rather than an error that
                // would invite a second create.
                Err(_) => JobExecution {
                    metadata: JobExecutionMetadata {
                        id: Some(id),
                        job: Some(job.to_owned()),
                        workspace: output.workspace_id,
                        ..JobExecutionMetadata::default()
                    },
                    spec: Default::default(),
                    stats: None,
                    status: None,
                    tasks: Vec::new(),
                },
            };
            Ok(Created {
                execution,
                replayed: false,
            })
        }
        Err(UpstreamError::Http { status, .. }) if status.as_u16() == 409 && asked_id.is_some() => {
            let id = asked_id.unwrap_or_default();
            let execution = client
                .get_job_execution(creds, job, &id)
                .await
                .map_err(|e| read_error(job, &id, &e))?;
            info!(job, execution = %id, "create replayed: the execution already exists");
            Ok(Created {
                execution,
                replayed: true,
            })
        }
        Err(e) => Err(create_error(job, no_queue, &e)),
    }
}

/// Asks the upstream to cancel execution `id` of `job` (`DELETE .../executions/{id}`) and
/// returns it as the upstream answers: `CANCELLING` (later `CANCELLED`), or unchanged when it was
/// already cancelling or cancelled.
///
/// # Errors
/// `FAILED_PRECONDITION` when the execution already finished otherwise (`SUCCEEDED`, `FAILED`,
/// `TIMEOUT`) or the upstream answers 409; `NOT_FOUND` for an unknown job or execution;
/// `BAD_USER_INPUT` for a malformed name or id (nothing is sent); otherwise the upstream
/// failure's code.
pub async fn cancel_execution(
    client: &Client,
    caller: &Caller,
    job: &str,
    id: &str,
) -> Result<JobExecution, Error> {
    match client
        .cancel_job_execution(&caller.credentials, job, id)
        .await
    {
        Ok(execution) => {
            use blaxel_models::JobExecutionStatus as S;
            match &execution.status {
                Some(status) if status.is_terminal() && *status != S::Cancelled => Err(Error::new(
                    Code::FailedPrecondition,
                    format!(
                        "execution `{id}` of job `{job}` already finished with status {}: there is nothing to cancel",
                        status.as_str().to_uppercase()
                    ),
                )),
                _ => {
                    info!(job, execution = %id, "asked to cancel a job execution");
                    Ok(execution)
                }
            }
        }
        Err(e @ UpstreamError::Http { status, .. }) if status.as_u16() == 409 => Err(Error {
            upstream_status: Some(409),
            ..Error::new(
                Code::FailedPrecondition,
                format!(
                    "execution `{id}` of job `{job}` cannot be cancelled in its current state{}",
                    reason(&e)
                ),
            )
        }),
        Err(e @ UpstreamError::NotFound { .. }) => Err(Error {
            upstream_status: Some(404),
            ..Error::new(
                Code::NotFound,
                format!("job `{job}` has no execution `{id}`{}", reason(&e)),
            )
        }),
        Err(e) => Err(Error::upstream(&e)),
    }
}

/// The error of a failed create.
fn create_error(job: &str, no_queue: bool, err: &UpstreamError) -> Error {
    let status = err.status().map(|s| s.as_u16());
    let detail = |code, message: String| Error {
        upstream_status: status,
        retry_after: Error::upstream(err).retry_after,
        ..Error::new(code, format!("{message}{}", reason(err)))
    };
    match err {
        UpstreamError::RateLimited { .. } if no_queue => detail(
            Code::RateLimited,
            "the workspace has no capacity to start the execution now (`allowQueue: false`): retry later, or allow queueing".to_owned(),
        ),
        UpstreamError::Http { status, .. } if status.as_u16() == 400 => detail(
            Code::BadUserInput,
            format!("the Blaxel API refused to start an execution of job `{job}`"),
        ),
        UpstreamError::NotFound { .. } => {
            detail(Code::NotFound, format!("job `{job}` does not exist"))
        }
        _ => Error::upstream(err),
    }
}

/// The error of reading back an execution that exists.
fn read_error(job: &str, id: &str, err: &UpstreamError) -> Error {
    Error {
        message: format!(
            "execution `{id}` of job `{job}` already exists, but reading it failed: {}",
            Error::upstream(err).message
        ),
        ..Error::upstream(err)
    }
}

/// `": <upstream reason>"`, shortened, or nothing when the upstream gave none.
fn reason(err: &UpstreamError) -> String {
    err.body()
        .and_then(|b| b.message.as_deref().or(b.error.as_deref()))
        .filter(|m| !m.is_empty())
        .map(|m| format!(": {}", crate::error::shorten(m)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(create: CreateExecution) -> Option<Code> {
        create.check().err().map(|e| e.code)
    }

    #[test]
    fn hostile_input_is_refused_before_the_upstream() {
        let ok = CreateExecution {
            execution_id: Some("run-1".into()),
            memory: Some(512),
            ..Default::default()
        };
        assert_eq!(code(ok.clone()), None);
        for id in ["", ".", "..", "a/b", "a b", "a\u{0}", &"x".repeat(129)] {
            let create = CreateExecution {
                execution_id: Some(id.to_owned()),
                ..ok.clone()
            };
            assert_eq!(code(create), Some(Code::BadUserInput), "{id:?}");
        }
        for memory in [0, -1, i64::MIN] {
            let create = CreateExecution {
                memory: Some(memory),
                ..ok.clone()
            };
            assert_eq!(code(create), Some(Code::BadUserInput), "{memory}");
        }
        let huge = CreateExecution {
            tasks: vec![Map::new(); MAX_TASKS + 1],
            ..ok.clone()
        };
        assert_eq!(code(huge), Some(Code::BadUserInput));
        for name in ["", "A=B", "\n"] {
            let create = CreateExecution {
                env: HashMap::from([(name.to_owned(), "v".to_owned())]),
                ..ok.clone()
            };
            assert_eq!(code(create), Some(Code::BadUserInput), "{name:?}");
        }
    }
}
