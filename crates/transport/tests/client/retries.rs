//! Which failures are retried, how often, and how `Retry-After` is honoured.

use std::time::{Duration, Instant};

use blaxel_emulator::{EmulatorConfig, Fault};
use blaxel_models::CreateJobExecutionRequest;
use blaxel_transport::{
    CircuitBreakerConfig, Client, ClientConfig, Error, ListExecutionsRequest, ListJobsRequest,
};
use http::StatusCode;

use super::harness::*;

#[tokio::test]
async fn transient_503_succeeds_on_the_third_attempt() {
    let (emu, client) = setup().await;
    emu.emulator().set_faults(vec![Fault {
        status: Some(503),
        times: Some(2),
        ..fault(LIST_EXECUTIONS)
    }]);
    let page = client
        .list_job_executions(&me(), JOB, &ListExecutionsRequest::default())
        .await
        .unwrap();
    assert!(!page.items.is_empty());
    assert_eq!(requests(&emu, LIST_EXECUTIONS), 3);
    // The client's own counters agree with the emulator's.
    let stats = client.upstream_stats();
    let route = "GET /jobs/{jobId}/executions";
    assert_eq!(
        stats.attempts,
        vec![(route, "200".to_owned(), 1), (route, "503".to_owned(), 2)]
    );
    assert_eq!((stats.retries, stats.budget_refusals), (2, 0));
}

#[tokio::test]
async fn server_errors_become_http_after_the_retries() {
    let emu = emulator(EmulatorConfig::default()).await;
    // 13 failures in a row: the breaker would open (see `circuit_breaker_*`).
    let client = Client::new(ClientConfig {
        circuit_breaker: CircuitBreakerConfig::disabled(),
        ..config(&emu)
    })
    .unwrap();
    for status in [500u16, 502, 503, 504] {
        emu.emulator().reset_stats();
        emu.emulator().set_faults(vec![Fault {
            status: Some(status),
            ..fault(GET_EXECUTION)
        }]);
        let err = client
            .get_job_execution(&me(), JOB, EXEC)
            .await
            .unwrap_err();
        match &err {
            Error::Http {
                status: got, body, ..
            } => {
                assert_eq!(got.as_u16(), status);
                assert_eq!(body.code, Some(i64::from(status)), "flat body decoded");
                assert!(body.error.is_some());
            }
            other => panic!("{status}: expected Http, got {other:?}"),
        }
        assert!(err.is_retryable());
        assert_eq!(requests(&emu, GET_EXECUTION), 3, "{status}");
    }
    // 501 is not transient: one request.
    emu.emulator().reset_stats();
    fail_with(&emu, GET_EXECUTION, 501);
    let err = client
        .get_job_execution(&me(), JOB, EXEC)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_IMPLEMENTED));
    assert_eq!(requests(&emu, GET_EXECUTION), 1);
}

#[tokio::test]
async fn create_is_retried_only_with_its_own_id() {
    let (emu, client) = setup().await;
    let one_503 = || {
        vec![Fault {
            status: Some(503),
            times: Some(1),
            ..fault(CREATE_EXECUTION)
        }]
    };
    emu.emulator().set_faults(one_503());
    let err = client
        .create_job_execution(&me(), JOB, &CreateJobExecutionRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(requests(&emu, CREATE_EXECUTION), 1, "no id: sent once");

    emu.emulator().reset_stats();
    emu.emulator().set_faults(one_503());
    let body = CreateJobExecutionRequest {
        execution_id: Some("exec-idempotent-1".into()),
        ..Default::default()
    };
    let out = client
        .create_job_execution(&me(), JOB, &body)
        .await
        .unwrap();
    assert_eq!(out.execution_id.as_deref(), Some("exec-idempotent-1"));
    assert_eq!(requests(&emu, CREATE_EXECUTION), 2, "own id: retried");
}

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let (emu, client) = setup().await;
    emu.emulator().set_faults(vec![Fault {
        status: Some(429),
        retry_after: Some(1),
        times: Some(1),
        ..fault(LIST_JOBS)
    }]);
    let started = Instant::now();
    client
        .list_jobs(&me(), &ListJobsRequest::default())
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(requests(&emu, LIST_JOBS), 2);
}

#[tokio::test]
async fn rate_limit_past_the_deadline_is_returned_at_once() {
    let (emu, client) = setup().await;
    emu.emulator().set_faults(vec![Fault {
        status: Some(429),
        retry_after: Some(30),
        ..fault(LIST_JOBS)
    }]);
    let err = client
        .list_jobs(&me(), &ListJobsRequest::default())
        .await
        .unwrap_err();
    match &err {
        Error::RateLimited { retry_after, .. } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(30)));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(
        requests(&emu, LIST_JOBS),
        1,
        "30 s is past the 5 s deadline"
    );
}

#[tokio::test]
async fn allow_queue_false_at_capacity_is_rate_limited() {
    let emu = emulator(EmulatorConfig {
        capacity: 1,
        ..EmulatorConfig::default()
    })
    .await;
    let client = Client::new(config(&emu)).unwrap();
    let one_task = vec![serde_json::Map::from_iter([(
        "name".to_owned(),
        serde_json::Value::from("t"),
    )])];
    // Fill the capacity (queued executions are accepted).
    let queued = CreateJobExecutionRequest {
        tasks: one_task.clone(),
        ..Default::default()
    };
    client
        .create_job_execution(&me(), JOB, &queued)
        .await
        .unwrap();
    emu.emulator().reset_stats();
    let body = CreateJobExecutionRequest {
        allow_queue: Some(false),
        tasks: one_task,
        ..Default::default()
    };
    let err = client
        .create_job_execution(&me(), JOB, &body)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert_eq!(requests(&emu, CREATE_EXECUTION), 1, "no id: not retried");
}
