//! The gRPC listener as a server: health follows the upstream and the drain, reflection v1 and
//! v1alpha list the services (and decode error details), gzip both ways.

use std::time::Duration;

use blaxel_emulator::{Fault, route};
use blaxel_gateway::grpc::proto::{
    ListJobExecutionsRequest, job_execution_service_client::JobExecutionServiceClient,
};
use futures::StreamExt as _;
use tonic::codec::CompressionEncoding;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use super::{GrpcEnv, JOB};
use crate::harness::{emulator_config, options};

/// Waits (bounded) for the health stream of `service` to report `want`.
async fn until(
    stream: &mut tonic::Streaming<tonic_health::pb::HealthCheckResponse>,
    want: ServingStatus,
) {
    let wait = async {
        while let Some(answer) = stream.next().await {
            if answer.unwrap().status == want as i32 {
                return;
            }
        }
        panic!("the health stream ended before {want:?}");
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| panic!("no {want:?} within 20 s"));
}

#[tokio::test]
async fn health_is_not_serving_until_the_upstream_answers_and_again_while_draining() {
    // The upstream fails the readiness probe (a listing of jobs) from the start.
    let emulator = blaxel_emulator::spawn(emulator_config(3)).await.unwrap();
    emulator
        .emulator()
        .set_faults(vec![Fault::on(route::LIST_JOBS).status(503)]);
    let mut env = GrpcEnv::over(emulator, options()).await;
    let mut health = HealthClient::new(env.channel().await);
    for service in [
        "",
        "blaxel.jobs.v1.JobExecutionService",
        "blaxel.jobs.v1.JobService",
    ] {
        let answer = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            answer.status,
            ServingStatus::NotServing as i32,
            "{service:?}"
        );
    }
    let mut watch = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    env.emulator.emulator().clear_faults();
    until(&mut watch, ServingStatus::Serving).await;
    env.shutdown();
    until(&mut watch, ServingStatus::NotServing).await;
}

/// Asserts the next answer of reflection stream `$answers` (of version module `$v`) lists every
/// service of `$want` (the two versions' types differ, their shapes do not).
macro_rules! assert_lists {
    ($v:ident, $answers:ident, $want:ident) => {
        let Some($v::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
            $answers.next().await.unwrap().unwrap().message_response
        else {
            panic!("a list of services");
        };
        let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        for name in $want {
            assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
        }
    };
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_the_services() {
    use tonic_reflection::pb::{v1, v1alpha};
    let env = GrpcEnv::start(emulator_config(3)).await;
    let want = [
        "blaxel.jobs.v1.JobExecutionService",
        "blaxel.jobs.v1.JobService",
        "grpc.health.v1.Health",
    ];

    let mut client = v1::server_reflection_client::ServerReflectionClient::new(env.channel().await);
    let asks = vec![
        v1::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            )),
        },
        // The error details' types resolve, so clients decode them.
        v1::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(
                v1::server_reflection_request::MessageRequest::FileContainingSymbol(
                    "google.rpc.ErrorInfo".into(),
                ),
            ),
        },
    ];
    let mut answers = client
        .server_reflection_info(futures::stream::iter(asks))
        .await
        .unwrap()
        .into_inner();
    assert_lists!(v1, answers, want);
    let answer = answers.next().await.unwrap().unwrap().message_response;
    assert!(
        matches!(
            answer,
            Some(v1::server_reflection_response::MessageResponse::FileDescriptorResponse(_))
        ),
        "{answer:?}"
    );

    let mut client =
        v1alpha::server_reflection_client::ServerReflectionClient::new(env.channel().await);
    let ask = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut answers = client
        .server_reflection_info(futures::stream::iter([ask]))
        .await
        .unwrap()
        .into_inner();
    assert_lists!(v1alpha, answers, want);
}

#[tokio::test]
async fn gzip_both_ways() {
    let env = GrpcEnv::start(emulator_config(30)).await;
    let mut client = JobExecutionServiceClient::new(env.channel().await)
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);
    let response = client
        .list_job_executions(ListJobExecutionsRequest {
            parent: format!("jobs/{JOB}"),
            page_size: 30,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        response
            .metadata()
            .get("grpc-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("gzip")
    );
    assert_eq!(response.into_inner().job_executions.len(), 30);
}

/// The caller's `x-request-id` comes back in the response metadata, on answers and on errors
/// alike; without one, a generated id does.
#[tokio::test]
async fn request_ids_come_back_in_the_response_metadata() {
    use super::request;
    let env = GrpcEnv::start(emulator_config(5)).await;
    let mut client = env.executions().await;
    let list = |parent: &str| ListJobExecutionsRequest {
        parent: parent.to_owned(),
        page_size: 2,
        ..Default::default()
    };
    let ok = client
        .list_job_executions(request(
            list(&format!("jobs/{JOB}")),
            &[("x-request-id", "grpc-req-1")],
        ))
        .await
        .unwrap();
    assert_eq!(ok.metadata().get("x-request-id").unwrap(), "grpc-req-1");
    let err = client
        .list_job_executions(request(
            list("not-a-parent"),
            &[("x-request-id", "grpc-req-2")],
        ))
        .await
        .unwrap_err();
    assert_eq!(err.metadata().get("x-request-id").unwrap(), "grpc-req-2");
    let generated = client
        .list_job_executions(request(list(&format!("jobs/{JOB}")), &[]))
        .await
        .unwrap();
    let id = generated
        .metadata()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(id.len(), 32, "{id}");
}
