//! Writes and watches over gRPC: idempotent creates (AIP-155), cancels with their preconditions,
//! and WatchJobExecution over the shared pollers (one upstream poll per execution and
//! credential, across watchers and faces), ending after a terminal state, a deadline or a drain.

use std::time::Duration;

use blaxel_emulator::{EmulatorConfig, route};
use blaxel_gateway::grpc::proto::{
    CancelJobExecutionRequest, CreateJobExecutionRequest, JobExecution, JobExecutionState,
    WatchJobExecutionRequest,
};
use tonic::{Code, Streaming};

use super::{GrpcEnv, JOB, assert_status, request};
use crate::harness::emulator_config;

fn create(id: &str, request_id: &str) -> CreateJobExecutionRequest {
    CreateJobExecutionRequest {
        parent: format!("jobs/{JOB}"),
        job_execution_id: id.to_owned(),
        request_id: request_id.to_owned(),
        tasks: vec![prost_types::Struct::default()],
        ..Default::default()
    }
}

fn name(id: &str) -> String {
    format!("jobs/{JOB}/executions/{id}")
}

async fn total(env: &GrpcEnv) -> i32 {
    env.first_page(1).await.total_size
}

/// The next state of a watch stream (bounded in time).
async fn next(stream: &mut Streaming<JobExecution>) -> Result<Option<JobExecution>, tonic::Status> {
    tokio::time::timeout(Duration::from_secs(20), stream.message())
        .await
        .expect("a watch item within 20 s")
}

fn state(item: Result<Option<JobExecution>, tonic::Status>) -> JobExecutionState {
    let execution = item
        .expect("a state, not an error")
        .expect("a state, not the end");
    JobExecutionState::try_from(execution.state).unwrap()
}

#[tokio::test]
async fn creates_are_idempotent_and_cancels_keep_their_preconditions() {
    let env = GrpcEnv::start(EmulatorConfig {
        capacity: 2,
        ..emulator_config(0)
    })
    .await;
    let mut client = env.executions().await;
    let before = total(&env).await;
    env.reset();
    let a = client
        .create_job_execution(create("grpc-once", ""))
        .await
        .unwrap()
        .into_inner();
    let b = client
        .create_job_execution(create("grpc-once", ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.name, name("grpc-once"));
    assert_eq!(
        (a.id.as_str(), a.create_time),
        (b.id.as_str(), b.create_time)
    );
    assert_eq!(env.upstream(route::CREATE_EXECUTION), 2);
    // A request id alone keys the create too (it becomes the execution id).
    let c = client
        .create_job_execution(create("", "req-7f3a"))
        .await
        .unwrap()
        .into_inner();
    let d = client
        .create_job_execution(create("", "req-7f3a"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((c.id.as_str(), d.id.as_str()), ("req-7f3a", "req-7f3a"));
    assert_eq!(total(&env).await, before + 2, "one execution per key");

    // At capacity without queueing: RESOURCE_EXHAUSTED (the emulator may still start one).
    let no_queue = CreateJobExecutionRequest {
        allow_queue: Some(false),
        ..create("", "")
    };
    let mut refused = None;
    for _ in 0..5 {
        if let Err(status) = client.create_job_execution(no_queue.clone()).await {
            refused = Some(status);
            break;
        }
    }
    assert_status(
        &refused.expect("a refusal at capacity"),
        Code::ResourceExhausted,
        "RATE_LIMITED",
    );
    // Refused before any upstream call.
    env.reset();
    let bad = CreateJobExecutionRequest {
        memory_mb: Some(0),
        ..create("", "")
    };
    let status = client.create_job_execution(bad).await.unwrap_err();
    assert_status(&status, Code::InvalidArgument, "BAD_USER_INPUT");
    assert_eq!(env.upstream(route::CREATE_EXECUTION), 0);

    // Cancel: CANCELLING (or already CANCELLED); unknown: NOT_FOUND; finished: FAILED_PRECONDITION.
    let cancelled = client
        .cancel_job_execution(CancelJobExecutionRequest {
            name: name("grpc-once"),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        [
            JobExecutionState::Cancelling as i32,
            JobExecutionState::Cancelled as i32
        ]
        .contains(&cancelled.state),
        "{cancelled:?}"
    );
    let status = client
        .cancel_job_execution(CancelJobExecutionRequest { name: name("nope") })
        .await
        .unwrap_err();
    let details = assert_status(&status, Code::NotFound, "NOT_FOUND");
    assert_eq!(details.resource_info().unwrap().resource_name, name("nope"));
    env.emulator.emulator().advance_clock(600);
    let status = client
        .cancel_job_execution(CancelJobExecutionRequest {
            name: name("req-7f3a"),
        })
        .await
        .unwrap_err();
    assert_status(&status, Code::FailedPrecondition, "FAILED_PRECONDITION");
}

#[tokio::test]
async fn watchers_share_one_poller_across_faces_and_complete_after_a_terminal_state() {
    let env = GrpcEnv::start(emulator_config(0)).await;
    let mut client = env.executions().await;
    client
        .create_job_execution(create("watched", ""))
        .await
        .unwrap();
    // Ten gRPC watchers on two connections.
    let mut streams = Vec::new();
    for i in 0..10 {
        let mut c = if i % 2 == 0 {
            client.clone()
        } else {
            env.executions().await
        };
        let mut stream = c
            .watch_job_execution(WatchJobExecutionRequest {
                name: name("watched"),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(state(next(&mut stream).await), JobExecutionState::Queued);
        streams.push(stream);
    }
    // A GraphQL subscription (SSE) on the same state joins the same poller.
    let (url, graphql) = env.graphql().await;
    let mut sse = reqwest::Client::new()
        .post(&url)
        .header("accept", "text/event-stream")
        .json(&serde_json::json!({
            "query": "subscription { jobExecutionUpdated(jobName: \"data-processing-job\", id: \"watched\") { status } }"
        }))
        .send()
        .await
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(20), sse.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&first).contains("QUEUED"),
        "{first:?}"
    );
    assert_eq!(
        env.state.watcher().pollers(),
        1,
        "one poller for both faces"
    );

    env.reset();
    for (advance, expected) in [
        (2, JobExecutionState::Pending),
        (3, JobExecutionState::Running),
        (120, JobExecutionState::Succeeded),
    ] {
        env.emulator.emulator().advance_clock(advance);
        for stream in &mut streams {
            assert_eq!(state(next(stream).await), expected);
        }
    }
    // Ten pollers would need ten calls per transition.
    let calls = env.upstream(route::GET_EXECUTION);
    assert!(
        (3..30).contains(&calls),
        "{calls} upstream calls for 3 transitions"
    );
    for stream in &mut streams {
        assert!(
            next(stream).await.unwrap().is_none(),
            "completes after SUCCEEDED"
        );
    }
    graphql.abort();
}

#[tokio::test]
async fn a_watch_ends_with_not_found_its_deadline_or_the_drain() {
    let mut env = GrpcEnv::start(emulator_config(0)).await;
    let mut client = env.executions().await;
    let mut missing = client
        .watch_job_execution(WatchJobExecutionRequest { name: name("nope") })
        .await
        .unwrap()
        .into_inner();
    assert_status(
        &next(&mut missing).await.unwrap_err(),
        Code::NotFound,
        "NOT_FOUND",
    );

    client
        .create_job_execution(create("slow", ""))
        .await
        .unwrap();
    let mut req = request(WatchJobExecutionRequest { name: name("slow") }, &[]);
    req.set_timeout(Duration::from_millis(400));
    let mut bounded = client.watch_job_execution(req).await.unwrap().into_inner();
    assert_eq!(state(next(&mut bounded).await), JobExecutionState::Queued);
    assert_status(
        &next(&mut bounded).await.unwrap_err(),
        Code::DeadlineExceeded,
        "UPSTREAM_TIMEOUT",
    );

    let mut open = client
        .watch_job_execution(WatchJobExecutionRequest { name: name("slow") })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(state(next(&mut open).await), JobExecutionState::Queued);
    env.shutdown();
    assert_status(
        &next(&mut open).await.unwrap_err(),
        Code::Unavailable,
        "STREAM_CLOSED",
    );
    // The drain completes once the streams ended.
    let task = env.task.take().unwrap();
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("the server stops after the drain")
        .unwrap()
        .unwrap();
}
