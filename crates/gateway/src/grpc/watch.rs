//! PLACEHOLDER until the core's watch module lands.
use super::{GrpcFace, executions::ExecutionStream, proto};
use tonic::{Request, Response, Status};
pub(super) async fn watch(
    _: &GrpcFace,
    _: Request<proto::WatchJobExecutionRequest>,
) -> Result<Response<ExecutionStream>, Status> {
    Err(Status::unimplemented("soon"))
}
