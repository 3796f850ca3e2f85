//! The root mutation: creating and cancelling executions, translated onto [`crate::write`].

use std::collections::HashMap;

use async_graphql::{Context, InputObject, Json, Object, Result};
use serde_json::{Map, Value};

use super::{
    error::{bad_input, or_null, to_graphql},
    execution::JobExecution,
    query::check_names,
};
use blaxel_transport::Client;

use crate::{
    caller::Caller,
    error::json_kind,
    loader::RequestLoader,
    write::{self, CreateExecution},
};

/// What to start an execution with (upstream `CreateJobExecutionRequest`).
#[derive(InputObject, Debug, Default)]
pub struct CreateJobExecutionInput {
    /// Your id for the execution (1 to 128 characters, no `/` nor whitespace). It makes the
    /// mutation idempotent: sending it again with the same id answers the execution created
    /// the first time and starts nothing new. Without it the API picks an id, and a retry
    /// starts a second execution.
    pub execution_id: Option<String>,
    /// One JSON object of free-form parameters per task (at most 10,000); none: one task.
    pub tasks: Option<Vec<Json<Value>>>,
    /// Environment variable overrides, a JSON object of strings, merged with the job's
    /// (values are masked as `***` when read back in `spec.envOverride`).
    pub env: Option<Json<Value>>,
    /// Memory override in MB: positive, at most the job's configured memory.
    pub memory: Option<i32>,
    /// `false`: start now or fail with `RATE_LIMITED` when the workspace is at capacity (a
    /// request that can never fit is `BAD_USER_INPUT`). Default true: queue until capacity
    /// frees up.
    pub allow_queue: Option<bool>,
}

impl CreateJobExecutionInput {
    /// The core request; `BAD_USER_INPUT` for a task that is not an object or an `env` that is
    /// not an object of strings.
    fn into_create(self) -> Result<CreateExecution> {
        let tasks = self
            .tasks
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, Json(task))| match task {
                Value::Object(map) => Ok(map),
                other => Err(bad_input(format!(
                    "`input.tasks[{i}]` must be a JSON object, got {}",
                    json_kind(&other)
                ))),
            })
            .collect::<Result<Vec<Map<String, Value>>>>()?;
        let env = match self.env.map(|Json(env)| env) {
            None | Some(Value::Null) => HashMap::new(),
            Some(Value::Object(vars)) => vars
                .into_iter()
                .map(|(name, value)| match value {
                    Value::String(s) => Ok((name, s)),
                    other => Err(bad_input(format!(
                        "`input.env` values must be strings; `{}` is {}",
                        name.chars().take(40).collect::<String>(),
                        json_kind(&other)
                    ))),
                })
                .collect::<Result<HashMap<String, String>>>()?,
            Some(other) => {
                return Err(bad_input(format!(
                    "`input.env` must be a JSON object of strings, got {}",
                    json_kind(&other)
                )));
            }
        };
        Ok(CreateExecution {
            execution_id: self.execution_id,
            tasks,
            env,
            memory: self.memory.map(i64::from),
            allow_queue: self.allow_queue,
        })
    }
}

/// The root mutation.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Starts an execution of a job (`POST /v0/jobs/{jobId}/executions`) and answers it as
    /// the API shows it right after. With `input.executionId`, a repeated call answers the
    /// existing execution and starts nothing. Errors: `BAD_USER_INPUT` (invalid input, memory
    /// above the job's, a request that can never fit), `RATE_LIMITED` (`allowQueue: false`
    /// and no capacity now), `NOT_FOUND` (no such job). Null, with the error, on failure.
    async fn create_job_execution(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Job name.")] job_name: String,
        #[graphql(desc = "What to start the execution with.")] input: CreateJobExecutionInput,
    ) -> Result<Option<JobExecution>> {
        let result = async {
            check_names(&[("jobName", &job_name)])?;
            let create = input.into_create()?;
            let (client, caller) = (
                ctx.data_unchecked::<Client>(),
                ctx.data_unchecked::<Caller>(),
            );
            let _written = writing(ctx);
            let created = write::create_execution(client, caller, &job_name, create).await;
            let created = created.map_err(to_graphql)?;
            Ok(Some(JobExecution::single(created.execution.into())))
        };
        or_null(ctx, result.await)
    }

    /// Asks to cancel an execution (`DELETE /v0/jobs/{jobId}/executions/{executionId}`) and
    /// answers it: `CANCELLING`, then `CANCELLED` once its running tasks stop (tasks not
    /// started never start). A cancelled or cancelling execution is answered as it is.
    /// Errors: `FAILED_PRECONDITION` when it already finished otherwise (`SUCCEEDED`, `FAILED`,
    /// `TIMEOUT`), `NOT_FOUND`. Null, with the error, on failure.
    async fn cancel_job_execution(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Job name.")] job_name: String,
        #[graphql(desc = "Execution id (`metadata.id`).")] id: String,
    ) -> Result<Option<JobExecution>> {
        let result = async {
            check_names(&[("jobName", &job_name), ("id", &id)])?;
            let (client, caller) = (
                ctx.data_unchecked::<Client>(),
                ctx.data_unchecked::<Caller>(),
            );
            let _written = writing(ctx);
            let execution = write::cancel_execution(client, caller, &job_name, &id).await;
            let execution = execution.map_err(to_graphql)?;
            Ok(Some(JobExecution::single(execution.into())))
        };
        or_null(ctx, result.await)
    }
}

/// Reads of this caller in flight are not joined after its write, however the write ends (see
/// [`RequestLoader::writing`]).
fn writing<'a>(ctx: &'a Context<'_>) -> Option<crate::loader::Writing<'a>> {
    ctx.data_opt::<std::sync::Arc<RequestLoader>>()
        .map(|loader| loader.writing())
}
