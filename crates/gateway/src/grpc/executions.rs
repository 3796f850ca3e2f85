//! `blaxel.jobs.v1.JobExecutionService` over the core.

use std::{pin::Pin, sync::Arc, time::Duration};

use futures::{FutureExt as _, Stream};
use tokio::time::Instant;
use tonic::{Request, Response, Status};

use super::{
    Call, GrpcFace, ListArgs,
    args::parse_name,
    convert, deadline, proto,
    server::job_execution_service_server::JobExecutionService,
    status::Failure,
    transcode::{self, EncodedExecution},
    wire,
};
use crate::{
    error::Error,
    loader::{ExecutionRef, ListCall},
    pagination::{EncodedJobExecutions, JobExecutionTasks},
};

/// The resource type of executions in `ResourceInfo`.
pub const EXECUTION_TYPE: &str = "blaxel.jobs.v1.JobExecution";
/// The shape of an execution's resource name.
pub const EXECUTION_NAME: &str = "jobs/{job}/executions/{id}";

/// A stream of execution states, as `WatchJobExecution` answers.
pub type ExecutionStream =
    Pin<Box<dyn Stream<Item = Result<proto::JobExecution, Status>> + Send + 'static>>;

impl GrpcFace {
    /// One page of `ListJobExecutions` within `budget`, encoded: each execution is read from the
    /// upstream page straight into its protobuf encoding ([`super::transcode`]).
    async fn list_executions(
        &self,
        call: &Call,
        budget: Duration,
        request: &proto::ListJobExecutionsRequest,
    ) -> Result<wire::Framed, Failure> {
        let [job] = parse_name("parent", &request.parent, "jobs/{job}")?;
        let args = ListArgs {
            page_size: request.page_size,
            page_token: &request.page_token,
            order_by: &request.order_by,
            query: &request.query,
        };
        let page = self
            .list_within(
                call,
                budget,
                &EncodedJobExecutions { job },
                args,
                |e: &EncodedExecution| e.bytes.clone(),
            )
            .await?;
        Ok(transcode::list_response(
            &page.items,
            page.next_page_token,
            page.total_size,
            page.total_size_is_partial,
        ))
    }
}

#[tonic::async_trait]
impl JobExecutionService for GrpcFace {
    async fn list_job_executions(
        &self,
        request: Request<proto::ListJobExecutionsRequest>,
    ) -> Result<Response<wire::ListJobExecutionsResponse>, Status> {
        let call = Arc::new(self.call(&request).await?);
        let started = Instant::now();
        let request = request.into_inner();
        let Some(in_flight) = self.in_flight() else {
            let page = self.list_executions(&call, call.budget, &request).await?;
            return Ok(wire::answer(page));
        };
        let key = ListCall {
            parent: request.parent.clone(),
            page_size: request.page_size,
            page_token: request.page_token.clone(),
            order_by: request.order_by.clone(),
            query: request.query.clone(),
        };
        let execute = {
            let (face, call, request) = (self.clone(), Arc::clone(&call), request.clone());
            async move { Ok(face.list_executions(&call, call.budget, &request).await?) }.boxed()
        };
        let shared = in_flight.share_list_call(call.caller.credentials.clone(), key, execute);
        let Ok((answer, joined)) = tokio::time::timeout(call.budget, shared).await else {
            return Err(deadline::exceeded(call.budget).into());
        };
        match answer {
            Ok(encoded) => Ok(wire::answer(encoded)),
            // The flight of another call ran out of that call's deadline: this one has time
            // left, so it reads on its own within what is left (never cut by a shorter deadline).
            Err(status)
                if joined
                    && status.code() == tonic::Code::DeadlineExceeded
                    && started.elapsed() < call.budget =>
            {
                let left = call.budget.saturating_sub(started.elapsed());
                let page = self.list_executions(&call, left, &request).await?;
                Ok(wire::answer(page))
            }
            Err(status) => Err(status),
        }
    }

    async fn get_job_execution(
        &self,
        request: Request<proto::GetJobExecutionRequest>,
    ) -> Result<Response<proto::JobExecution>, Status> {
        let call = self.call(&request).await?;
        let name = &request.get_ref().name;
        let [job, id] = parse_name("name", name, EXECUTION_NAME)?;
        let key = ExecutionRef {
            job: job.to_owned(),
            id: id.to_owned(),
        };
        let execution = deadline::within(call.budget, async {
            call.loader
                .execution(key)
                .await
                .map_err(|e| Failure::from(Error::clone(&e)).resource(EXECUTION_TYPE, name))
        })
        .await?;
        Ok(Response::new(convert::execution(&execution)))
    }

    async fn create_job_execution(
        &self,
        request: Request<proto::CreateJobExecutionRequest>,
    ) -> Result<Response<proto::JobExecution>, Status> {
        super::write::create(self, request).await
    }

    async fn cancel_job_execution(
        &self,
        request: Request<proto::CancelJobExecutionRequest>,
    ) -> Result<Response<proto::JobExecution>, Status> {
        super::write::cancel(self, request).await
    }

    async fn list_job_execution_tasks(
        &self,
        request: Request<proto::ListJobExecutionTasksRequest>,
    ) -> Result<Response<proto::ListJobExecutionTasksResponse>, Status> {
        let call = self.call(&request).await?;
        let req = request.get_ref();
        let [job, execution] = parse_name("parent", &req.parent, EXECUTION_NAME)?;
        let args = ListArgs {
            page_size: req.page_size,
            page_token: &req.page_token,
            order_by: &req.order_by,
            query: &req.query,
        };
        let listing = JobExecutionTasks::new(job, execution);
        let page = self.list(&call, &listing, args, convert::task).await?;
        Ok(Response::new(proto::ListJobExecutionTasksResponse {
            job_execution_tasks: page.items,
            next_page_token: page.next_page_token,
            total_size: page.total_size,
            total_size_is_partial: page.total_size_is_partial,
        }))
    }

    type WatchJobExecutionStream = ExecutionStream;

    async fn watch_job_execution(
        &self,
        request: Request<proto::WatchJobExecutionRequest>,
    ) -> Result<Response<ExecutionStream>, Status> {
        super::watch::watch(self, request).await
    }
}
