//! `blaxel.jobs.v1.JobExecutionService` over the core.

use std::pin::Pin;

use futures::Stream;
use tonic::{Request, Response, Status};

use super::{
    GrpcFace, ListArgs,
    args::parse_name,
    convert, deadline,
    proto::{self, job_execution_service_server::JobExecutionService},
    status::Failure,
};
use crate::{
    error::Error,
    loader::ExecutionRef,
    pagination::{JobExecutionTasks, JobExecutions},
};

/// The resource type of executions in `ResourceInfo`.
pub const EXECUTION_TYPE: &str = "blaxel.jobs.v1.JobExecution";
/// The shape of an execution's resource name.
pub const EXECUTION_NAME: &str = "jobs/{job}/executions/{id}";

/// A stream of execution states, as `WatchJobExecution` answers.
pub type ExecutionStream =
    Pin<Box<dyn Stream<Item = Result<proto::JobExecution, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl JobExecutionService for GrpcFace {
    async fn list_job_executions(
        &self,
        request: Request<proto::ListJobExecutionsRequest>,
    ) -> Result<Response<proto::ListJobExecutionsResponse>, Status> {
        let call = self.call(&request).await?;
        let req = request.get_ref();
        let [job] = parse_name("parent", &req.parent, "jobs/{job}")?;
        let args = ListArgs {
            page_size: req.page_size,
            page_token: &req.page_token,
            order_by: &req.order_by,
            query: &req.query,
        };
        let page = self
            .list(&call, &JobExecutions { job }, args, convert::execution)
            .await?;
        Ok(Response::new(proto::ListJobExecutionsResponse {
            job_executions: page.items,
            next_page_token: page.next_page_token,
            total_size: page.total_size,
            total_size_is_partial: page.total_size_is_partial,
        }))
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
