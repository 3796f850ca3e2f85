//! `CreateJobExecution` and `CancelJobExecution`: the core's writes ([`crate::write`]) with
//! proto arguments and answers.
//!
//! Idempotency (AIP-155): `job_execution_id` makes a create safe to repeat (the core answers the
//! existing execution on a replay). A `request_id` alone becomes the execution's id, so a
//! retried request with the same key starts one execution too; with both, `job_execution_id`
//! is the id.

use tonic::{Request, Response, Status};

use super::{
    GrpcFace,
    args::parse_name,
    convert, deadline,
    executions::{EXECUTION_NAME, EXECUTION_TYPE},
    proto,
    status::Failure,
};
use crate::write::{CreateExecution, cancel_execution, create_execution};

/// `CreateJobExecution`: `POST /jobs/{job}/executions`, then the execution as it is now.
pub(super) async fn create(
    face: &GrpcFace,
    request: Request<proto::CreateJobExecutionRequest>,
) -> Result<Response<proto::JobExecution>, Status> {
    let call = face.call(&request).await?;
    let req = request.into_inner();
    let [job] = parse_name("parent", &req.parent, "jobs/{job}")?;
    let id = [req.job_execution_id, req.request_id]
        .into_iter()
        .find(|id| !id.is_empty());
    let create = CreateExecution {
        execution_id: id,
        tasks: convert::task_parameters(&req.tasks),
        env: req.env,
        memory: req.memory_mb,
        allow_queue: req.allow_queue,
    };
    let _written = call.loader.writing();
    let created = deadline::within(call.budget, async {
        let created = create_execution(face.client(), &call.caller, job, create).await;
        created.map_err(|e| Failure::from(e).resource(super::jobs::JOB_TYPE, &req.parent))
    })
    .await?;
    Ok(Response::new(convert::execution(&created.execution)))
}

/// `CancelJobExecution`: `DELETE /jobs/{job}/executions/{id}`; the execution as the upstream
/// answers (FAILED_PRECONDITION when it already finished otherwise than cancelled).
pub(super) async fn cancel(
    face: &GrpcFace,
    request: Request<proto::CancelJobExecutionRequest>,
) -> Result<Response<proto::JobExecution>, Status> {
    let call = face.call(&request).await?;
    let name = &request.get_ref().name;
    let [job, id] = parse_name("name", name, EXECUTION_NAME)?;
    let _written = call.loader.writing();
    let execution = deadline::within(call.budget, async {
        let execution = cancel_execution(face.client(), &call.caller, job, id).await;
        execution.map_err(|e| Failure::from(e).resource(EXECUTION_TYPE, name))
    })
    .await?;
    Ok(Response::new(convert::execution(&execution)))
}
