//! `blaxel.jobs.v1.JobService` over the core.

use tonic::{Request, Response, Status};

use super::{
    GrpcFace, ListArgs, args::parse_name, convert, deadline, proto,
    server::job_service_server::JobService, status::Failure,
};
use crate::{error::Error, pagination::Jobs};

/// The resource type of jobs in `ResourceInfo`.
pub const JOB_TYPE: &str = "blaxel.jobs.v1.Job";

#[tonic::async_trait]
impl JobService for GrpcFace {
    async fn list_jobs(
        &self,
        request: Request<proto::ListJobsRequest>,
    ) -> Result<Response<proto::ListJobsResponse>, Status> {
        let call = self.call(&request).await?;
        let req = request.get_ref();
        let args = ListArgs {
            page_size: req.page_size,
            page_token: &req.page_token,
            order_by: &req.order_by,
            query: &req.query,
        };
        let page = self.list(&call, &Jobs, args, convert::job).await?;
        Ok(Response::new(proto::ListJobsResponse {
            jobs: page.items,
            next_page_token: page.next_page_token,
            total_size: page.total_size,
            total_size_is_partial: page.total_size_is_partial,
        }))
    }

    async fn get_job(
        &self,
        request: Request<proto::GetJobRequest>,
    ) -> Result<Response<proto::Job>, Status> {
        let call = self.call(&request).await?;
        let name = &request.get_ref().name;
        let [job] = parse_name("name", name, "jobs/{job}")?;
        let found = deadline::within(call.budget, async {
            call.loader
                .job(job.to_owned())
                .await
                .map_err(|e| Failure::from(Error::clone(&e)).resource(JOB_TYPE, name))
        })
        .await?;
        Ok(Response::new(convert::job(&found)))
    }
}
