//! PLACEHOLDER until the core's write module lands.
use super::{GrpcFace, proto};
use tonic::{Request, Response, Status};
pub(super) async fn create(
    _: &GrpcFace,
    _: Request<proto::CreateJobExecutionRequest>,
) -> Result<Response<proto::JobExecution>, Status> {
    Err(Status::unimplemented("soon"))
}
pub(super) async fn cancel(
    _: &GrpcFace,
    _: Request<proto::CancelJobExecutionRequest>,
) -> Result<Response<proto::JobExecution>, Status> {
    Err(Status::unimplemented("soon"))
}
