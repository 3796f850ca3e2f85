//! `blaxel-transport` against the real emulator over loopback: every endpoint, both API
//! versions, the listing stream, credentials, and each fault kind with its retry count read from
//! the emulator's request counters.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use blaxel_emulator::{EmulatorConfig, EmulatorHandle, Fault, FaultBody};
use blaxel_models::{CreateJobExecutionRequest, JobExecutionStatus};
use blaxel_transport::{
    ApiVersion, CircuitBreakerConfig, CircuitState, Client, ClientConfig, Credentials, Error,
    ListExecutionsRequest, ListJobsRequest, ListTasksRequest, PaginationSort, RetryBudget,
    RetryPolicy, Token,
};
use futures::TryStreamExt;
use http::StatusCode;

const JOB: &str = "data-processing-job";
const EXEC: &str = "exec-abc123";
const LIST_EXECUTIONS: &str = "GET /v0/jobs/{jobId}/executions";
const GET_EXECUTION: &str = "GET /v0/jobs/{jobId}/executions/{executionId}";
const CREATE_EXECUTION: &str = "POST /v0/jobs/{jobId}/executions";
const LIST_JOBS: &str = "GET /v0/jobs";

// ---------------------------------------------------------------------------------------------
// Harness

/// Retries that keep tests fast: 3 attempts, 5..20 ms apart, 5 s in all.
fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        total_deadline: Duration::from_secs(5),
        honour_retry_after: true,
    }
}

fn config(emu: &EmulatorHandle) -> ClientConfig {
    ClientConfig {
        base_url: emu.base_url(),
        token: Some(Token::new("dev-token")),
        workspace: Some("my-workspace".into()),
        request_timeout: Duration::from_secs(2),
        retry: fast_retry(),
        ..ClientConfig::default()
    }
}

async fn emulator(config: EmulatorConfig) -> EmulatorHandle {
    blaxel_emulator::spawn(config)
        .await
        .expect("emulator starts")
}

async fn setup() -> (EmulatorHandle, Client) {
    let emu = emulator(EmulatorConfig::default()).await;
    let client = Client::new(config(&emu)).unwrap();
    (emu, client)
}

fn me() -> Credentials {
    Credentials::default()
}

fn fault(route: &str) -> Fault {
    Fault {
        route: route.into(),
        ..Fault::default()
    }
}

fn requests(emu: &EmulatorHandle, route: &str) -> u64 {
    emu.emulator().requests(route)
}

// ---------------------------------------------------------------------------------------------
// Endpoints, paginated version (2026-04-28, the default)

#[tokio::test]
async fn jobs_list_get_and_revisions() {
    let (emu, client) = setup().await;
    let page = client
        .list_jobs(&me(), &ListJobsRequest::default())
        .await
        .unwrap();
    assert!(page.meta.is_some(), "the envelope carries meta");
    assert!(page.total().unwrap() >= 1);
    assert!(
        page.items.iter().any(|job| job.metadata.name == JOB),
        "the reference job is listed"
    );

    let first = client
        .list_jobs(
            &me(),
            &ListJobsRequest {
                limit: Some(1),
                sort: Some(PaginationSort::NameAsc),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(first.items.len(), 1);

    let job = client.get_job(&me(), JOB).await.unwrap();
    assert_eq!(job.metadata.name, JOB);
    let revisions = client.list_job_revisions(&me(), JOB).await.unwrap();
    assert!(!revisions.is_empty());
    assert_eq!(requests(&emu, "GET /v0/jobs/{jobId}"), 1);
}

#[tokio::test]
async fn executions_list_get_and_tasks() {
    let (_emu, client) = setup().await;
    let page = client
        .list_job_executions(
            &me(),
            JOB,
            &ListExecutionsRequest {
                limit: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 5);
    assert_eq!(page.has_more(), Some(true));
    let cursor = page.next_cursor().expect("a next cursor").to_owned();
    let second = client
        .list_job_executions(
            &me(),
            JOB,
            &ListExecutionsRequest {
                limit: Some(5),
                cursor: Some(cursor),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let first_ids: HashSet<_> = page.items.iter().map(|e| e.metadata.id.clone()).collect();
    assert!(
        second
            .items
            .iter()
            .all(|e| !first_ids.contains(&e.metadata.id)),
        "pages do not overlap"
    );

    let exec = client.get_job_execution(&me(), JOB, EXEC).await.unwrap();
    assert_eq!(exec.metadata.id.as_deref(), Some(EXEC));
    assert_eq!(exec.metadata.job.as_deref(), Some(JOB));

    let tasks = client
        .list_job_execution_tasks(&me(), JOB, EXEC, &ListTasksRequest::default())
        .await
        .unwrap();
    assert!(tasks.meta.is_some());
    assert!(!tasks.items.is_empty());

    let searched = client
        .list_job_executions(
            &me(),
            JOB,
            &ListExecutionsRequest {
                q: Some("abc123".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        searched
            .items
            .iter()
            .any(|e| e.metadata.id.as_deref() == Some(EXEC))
    );
}

#[tokio::test]
async fn create_then_cancel() {
    let (_emu, client) = setup().await;
    let body = CreateJobExecutionRequest {
        tasks: vec![serde_json::Map::from_iter([(
            "name".to_owned(),
            serde_json::Value::from("John"),
        )])],
        ..Default::default()
    };
    let created = client
        .create_job_execution(&me(), JOB, &body)
        .await
        .unwrap();
    let id = created.execution_id.expect("an execution id");
    let exec = client.get_job_execution(&me(), JOB, &id).await.unwrap();
    assert_eq!(exec.metadata.id.as_deref(), Some(id.as_str()));

    let cancelled = client.cancel_job_execution(&me(), JOB, &id).await.unwrap();
    assert!(
        matches!(
            cancelled.status,
            Some(JobExecutionStatus::Cancelling | JobExecutionStatus::Cancelled)
        ),
        "{:?}",
        cancelled.status
    );
    // Cancelling again is idempotent.
    client.cancel_job_execution(&me(), JOB, &id).await.unwrap();

    let own_id = CreateJobExecutionRequest {
        execution_id: Some("exec-from-the-caller".into()),
        ..body
    };
    let created = client
        .create_job_execution(&me(), JOB, &own_id)
        .await
        .unwrap();
    assert_eq!(
        created.execution_id.as_deref(),
        Some("exec-from-the-caller")
    );
}

#[tokio::test]
async fn not_found_is_one_request() {
    let (emu, client) = setup().await;
    let err = client.get_job(&me(), "no-such-job").await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    assert!(!err.is_retryable());
    assert_eq!(requests(&emu, "GET /v0/jobs/{jobId}"), 1);

    let err = client
        .get_job_execution(&me(), JOB, "exec-nope")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(requests(&emu, GET_EXECUTION), 1);
}

// ---------------------------------------------------------------------------------------------
// Legacy version: bare arrays and offsets

#[tokio::test]
async fn legacy_version_pages_by_offset() {
    let emu = emulator(EmulatorConfig::default()).await;
    let client = Client::new(ClientConfig {
        api_version: ApiVersion::LEGACY_DEFAULT,
        ..config(&emu)
    })
    .unwrap();
    let jobs = client
        .list_jobs(&me(), &ListJobsRequest::default())
        .await
        .unwrap();
    assert_eq!(jobs.meta, None, "legacy answers are bare arrays");
    assert!(!jobs.items.is_empty());

    let page = |offset| ListExecutionsRequest {
        limit: Some(3),
        offset: Some(offset),
        ..Default::default()
    };
    let first = client
        .list_job_executions(&me(), JOB, &page(0))
        .await
        .unwrap();
    let second = client
        .list_job_executions(&me(), JOB, &page(3))
        .await
        .unwrap();
    assert_eq!((first.meta.clone(), first.total()), (None, None));
    assert_eq!(first.items.len(), 3);
    let ids: HashSet<_> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|e| e.metadata.id.clone())
        .collect();
    assert_eq!(ids.len(), first.items.len() + second.items.len());

    let all: Vec<_> = client
        .job_executions_stream(me(), JOB.into(), page(0))
        .try_collect()
        .await
        .unwrap();
    let unique: HashSet<_> = all.iter().map(|e| e.metadata.id.clone()).collect();
    assert_eq!(unique.len(), all.len());
    assert!(all.len() > 6);
}

#[tokio::test]
async fn unknown_version_is_a_400() {
    let emu = emulator(EmulatorConfig::default()).await;
    let client = Client::new(ClientConfig {
        api_version: "2031-01-01".parse().unwrap(),
        ..config(&emu)
    })
    .unwrap();
    let err = client.get_job(&me(), JOB).await.unwrap_err();
    match &err {
        Error::Http { status, body, .. } => {
            assert_eq!(*status, StatusCode::BAD_REQUEST);
            assert_eq!(body.error.as_deref(), Some("invalid_api_version"));
        }
        other => panic!("expected Http 400, got {other:?}"),
    }
    assert_eq!(
        requests(&emu, "GET /v0/jobs/{jobId}"),
        1,
        "a 400 is not retried"
    );
}

// ---------------------------------------------------------------------------------------------
// The stream over thousands of executions

#[tokio::test]
async fn stream_yields_every_execution_once() {
    let emu = emulator(EmulatorConfig {
        jobs: 1,
        executions_per_job: 3000,
        ..EmulatorConfig::default()
    })
    .await;
    let client = Client::new(config(&emu)).unwrap();
    let total = client
        .list_job_executions(&me(), JOB, &ListExecutionsRequest::default())
        .await
        .unwrap()
        .total()
        .expect("meta.total");
    assert!(total >= 3000, "{total}");
    emu.emulator().reset_stats();

    let req = ListExecutionsRequest {
        limit: Some(100),
        sort: Some(PaginationSort::CreatedAtAsc),
        ..Default::default()
    };
    let all: Vec<_> = client
        .job_executions_stream(me(), JOB.into(), req)
        .try_collect()
        .await
        .unwrap();
    let unique: HashSet<_> = all.iter().map(|e| e.metadata.id.clone()).collect();
    assert_eq!(all.len() as i64, total);
    assert_eq!(unique.len(), all.len(), "no execution twice");
    let pages = (total as u64).div_ceil(100);
    assert_eq!(
        requests(&emu, LIST_EXECUTIONS),
        pages,
        "one request per page"
    );
}

// ---------------------------------------------------------------------------------------------
// Credentials

#[tokio::test]
async fn per_call_credentials_override_the_configured_ones() {
    let emu = emulator(EmulatorConfig {
        tokens: vec![
            ("dev-token".into(), "my-workspace".into()),
            ("other-token".into(), "other-workspace".into()),
        ],
        ..EmulatorConfig::default()
    })
    .await;
    let client = Client::new(config(&emu)).unwrap();

    let mine = client
        .list_jobs(&me(), &ListJobsRequest::default())
        .await
        .unwrap();
    assert!(
        mine.items
            .iter()
            .all(|j| j.metadata.workspace.as_deref() == Some("my-workspace"))
    );

    let other = Credentials::with_token("other-token").workspace("other-workspace");
    let theirs = client
        .list_jobs(&other, &ListJobsRequest::default())
        .await
        .unwrap();
    assert!(!theirs.items.is_empty());
    assert!(
        theirs
            .items
            .iter()
            .all(|j| j.metadata.workspace.as_deref() == Some("other-workspace"))
    );

    // The configured token with another workspace: 403.
    let wrong_ws = Credentials {
        token: None,
        workspace: Some("other-workspace".into()),
    };
    let err = client.get_job(&wrong_ws, JOB).await.unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");

    // An unknown token: 401; no token at all: 401.
    let err = client
        .get_job(&Credentials::with_token("nope"), JOB)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthenticated { .. }), "{err:?}");
    let anonymous = Client::new(ClientConfig {
        token: None,
        workspace: None,
        ..config(&emu)
    })
    .unwrap();
    let err = anonymous.get_job(&me(), JOB).await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated { .. }), "{err:?}");
    assert_eq!(
        requests(&emu, "GET /v0/jobs/{jobId}"),
        3,
        "no retry on 401/403"
    );
}

#[tokio::test]
async fn token_never_in_debug_or_errors() {
    const SECRET: &str = "tok-never-print-me-93b1";
    let emu = emulator(EmulatorConfig::default()).await;
    let cfg = ClientConfig {
        token: Some(Token::new(SECRET)),
        ..config(&emu)
    };
    let client = Client::new(cfg.clone()).unwrap();
    let creds = Credentials::with_token(SECRET).workspace("my-workspace");
    let unauthenticated = client.get_job(&creds, JOB).await.unwrap_err();
    emu.emulator().set_faults(vec![Fault {
        status: Some(503),
        ..fault("*")
    }]);
    let unavailable = client.get_job(&creds, JOB).await.unwrap_err();
    emu.emulator().set_faults(vec![Fault {
        reset: true,
        ..fault("*")
    }]);
    let reset = client.get_job(&creds, JOB).await.unwrap_err();

    let mut printed = vec![
        format!("{client:?}"),
        format!("{cfg:?}"),
        format!("{creds:?}"),
    ];
    for err in [&unauthenticated, &unavailable, &reset] {
        printed.push(format!("{err} {err:?}"));
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            printed.push(format!("{cause} {cause:?}"));
            source = cause.source();
        }
    }
    for text in &printed {
        assert!(!text.contains(SECRET), "token leaked: {text}");
    }
}

// ---------------------------------------------------------------------------------------------
// Faults, errors and retries

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
    emu.emulator().set_faults(vec![Fault {
        status: Some(501),
        ..fault(GET_EXECUTION)
    }]);
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
    let started = Instant::now();
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
    assert!(started.elapsed() < Duration::from_secs(2));
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

#[tokio::test]
async fn latency_past_the_request_timeout_is_a_timeout() {
    let emu = emulator(EmulatorConfig::default()).await;
    let client = Client::new(ClientConfig {
        request_timeout: Duration::from_millis(150),
        ..config(&emu)
    })
    .unwrap();
    emu.emulator().set_faults(vec![Fault {
        latency_ms: Some(1_000),
        ..fault(GET_EXECUTION)
    }]);
    let err = client
        .get_job_execution(&me(), JOB, EXEC)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(
        requests(&emu, GET_EXECUTION),
        3,
        "each timed-out attempt retried"
    );

    // One slow answer, then a fast one: success on the second attempt.
    emu.emulator().reset_stats();
    emu.emulator().set_faults(vec![Fault {
        latency_ms: Some(1_000),
        times: Some(1),
        ..fault(GET_EXECUTION)
    }]);
    client.get_job_execution(&me(), JOB, EXEC).await.unwrap();
    assert_eq!(requests(&emu, GET_EXECUTION), 2);
}

#[tokio::test]
async fn total_deadline_bounds_the_call() {
    let emu = emulator(EmulatorConfig::default()).await;
    let client = Client::new(ClientConfig {
        request_timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            total_deadline: Duration::from_millis(300),
            ..fast_retry()
        },
        ..config(&emu)
    })
    .unwrap();
    emu.emulator().set_faults(vec![Fault {
        latency_ms: Some(2_000),
        ..fault(GET_EXECUTION)
    }]);
    let started = Instant::now();
    let err = client
        .get_job_execution(&me(), JOB, EXEC)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn connection_reset_is_connect_after_retries() {
    let (emu, client) = setup().await;
    emu.emulator().set_faults(vec![Fault {
        reset: true,
        ..fault(GET_EXECUTION)
    }]);
    let err = client
        .get_job_execution(&me(), JOB, EXEC)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(requests(&emu, GET_EXECUTION), 3);

    emu.emulator().reset_stats();
    emu.emulator().set_faults(vec![Fault {
        reset: true,
        times: Some(1),
        ..fault(GET_EXECUTION)
    }]);
    client.get_job_execution(&me(), JOB, EXEC).await.unwrap();
    assert_eq!(requests(&emu, GET_EXECUTION), 2);
}

#[tokio::test]
async fn nothing_listening_is_connect() {
    // Port 1 on loopback refuses connections.
    let client = Client::new(ClientConfig {
        base_url: "http://127.0.0.1:1/v0".into(),
        retry: RetryPolicy::none(),
        ..ClientConfig::default()
    })
    .unwrap();
    let err = client.get_job(&me(), JOB).await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert_eq!(err.status(), None);
    assert!(err.is_retryable());
    let err = client.health(&me()).await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
}

#[tokio::test]
async fn broken_bodies() {
    let (emu, client) = setup().await;
    let run = |body: FaultBody, status: Option<u16>| {
        let client = client.clone();
        let emu = &emu;
        async move {
            emu.emulator().reset_stats();
            emu.emulator().set_faults(vec![Fault {
                body: Some(body),
                status,
                ..fault(GET_EXECUTION)
            }]);
            let result = client.get_job_execution(&me(), JOB, EXEC).await;
            (result, requests(emu, GET_EXECUTION))
        }
    };

    // A body that ends early (truncated, empty) is retried once.
    for kind in [FaultBody::Truncated, FaultBody::Empty] {
        let (result, count) = run(kind, None).await;
        let err = result.unwrap_err();
        match &err {
            Error::InvalidPayload {
                status, snippet, ..
            } => {
                assert_eq!(*status, StatusCode::OK);
                assert!(snippet.len() <= 1024);
            }
            other => panic!("{kind:?}: expected InvalidPayload, got {other:?}"),
        }
        assert_eq!(count, 2, "{kind:?}: one retry");
    }

    // Invalid JSON on a 200.
    let (result, count) = run(FaultBody::Malformed, None).await;
    let err = result.unwrap_err();
    assert!(matches!(err, Error::InvalidPayload { .. }), "{err:?}");
    assert!((1..=2).contains(&count), "{count}");

    // An HTML page with 200: not JSON, not retried.
    let (result, count) = run(FaultBody::Html, Some(200)).await;
    match result.unwrap_err() {
        Error::InvalidPayload { snippet, .. } => assert!(snippet.contains("<html>")),
        other => panic!("expected InvalidPayload, got {other:?}"),
    }
    assert_eq!(count, 1);

    // An HTML 502 from a proxy: Http with the raw text kept, after the retries.
    let (result, count) = run(FaultBody::Html, None).await;
    match result.unwrap_err() {
        Error::Http { status, body, .. } => {
            assert_eq!(status, StatusCode::BAD_GATEWAY);
            assert_eq!(body.error, None);
            assert!(body.raw.contains("502 Bad Gateway"));
        }
        other => panic!("expected Http 502, got {other:?}"),
    }
    assert_eq!(count, 3);

    // Mutated but valid bodies decode.
    for kind in [
        FaultBody::UnknownFields,
        FaultBody::Nulls,
        FaultBody::UnknownStatus,
        FaultBody::OddTimestamps,
    ] {
        let (result, count) = run(kind, None).await;
        let exec = result.unwrap_or_else(|e| panic!("{kind:?}: {e:?}"));
        assert_eq!(exec.metadata.id.as_deref(), Some(EXEC));
        assert_eq!(count, 1);
    }
    emu.emulator().clear_faults();
}

#[tokio::test]
async fn mutated_listing_pages_decode() {
    let (emu, client) = setup().await;
    for kind in [
        FaultBody::UnknownFields,
        FaultBody::Nulls,
        FaultBody::UnknownStatus,
        FaultBody::OddTimestamps,
    ] {
        emu.emulator().set_faults(vec![Fault {
            body: Some(kind),
            ..fault("*")
        }]);
        let page = client
            .list_job_executions(&me(), JOB, &ListExecutionsRequest::default())
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: {e:?}"));
        assert!(!page.items.is_empty());
        let jobs = client.list_jobs(&me(), &ListJobsRequest::default()).await;
        if kind == FaultBody::UnknownFields {
            // The fault also adds an object inside `metadata.labels`, a string-to-string map by
            // contract, which the models reject: a finding about the fault, not the client.
            if let Err(err) = jobs {
                assert!(matches!(err, Error::InvalidPayload { .. }), "{err:?}");
            }
            continue;
        }
        jobs.unwrap_or_else(|e| panic!("{kind:?}: {e:?}"));
    }
}

#[tokio::test]
async fn cursor_errors() {
    let (emu, client) = setup().await;
    let first = client
        .list_job_executions(
            &me(),
            JOB,
            &ListExecutionsRequest {
                limit: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let cursor = first.next_cursor().unwrap().to_owned();

    let err = client
        .list_job_executions(
            &me(),
            JOB,
            &ListExecutionsRequest {
                cursor: Some("not-a-cursor".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CursorInvalid { .. }), "{err:?}");

    // Bound to the sort: another sort rejects it.
    let err = client
        .list_job_executions(
            &me(),
            JOB,
            &ListExecutionsRequest {
                cursor: Some(cursor.clone()),
                sort: Some(PaginationSort::NameDesc),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CursorInvalid { .. }), "{err:?}");

    emu.emulator().advance_clock(25 * 3600);
    emu.emulator().reset_stats();
    let err = client
        .list_job_executions(
            &me(),
            JOB,
            &ListExecutionsRequest {
                cursor: Some(cursor),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CursorExpired { .. }), "{err:?}");
    assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST));
    assert_eq!(requests(&emu, LIST_EXECUTIONS), 1, "not retried");
}

#[tokio::test]
async fn invalid_requests_send_nothing() {
    let (emu, client) = setup().await;
    emu.emulator().reset_stats();
    let bad = [
        ListExecutionsRequest {
            limit: Some(0),
            ..Default::default()
        },
        ListExecutionsRequest {
            limit: Some(101),
            ..Default::default()
        },
        ListExecutionsRequest {
            q: Some("q".repeat(201)),
            ..Default::default()
        },
    ];
    for req in &bad {
        let err = client
            .list_job_executions(&me(), JOB, req)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidRequest { .. }),
            "{req:?}: {err:?}"
        );
        assert_eq!(err.status(), None);
    }
    let err = client
        .list_jobs(
            &me(),
            &ListJobsRequest {
                limit: Some(201),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }));
    let err = client.get_job(&me(), "").await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }));
    let err = client
        .cancel_job_execution(&me(), JOB, " ")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }));
    let stream_err = client
        .job_executions_stream(me(), JOB.into(), bad[0].clone())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(matches!(stream_err, Error::InvalidRequest { .. }));
    assert_eq!(
        emu.emulator().stats().total,
        0,
        "nothing reached the upstream"
    );
}

#[tokio::test]
async fn health_counts_any_answer_below_500() {
    let (emu, client) = setup().await;
    client.health(&me()).await.unwrap();
    client
        .health(&Credentials::with_token("unknown-token"))
        .await
        .expect("a 401 still proves the upstream answers");
    emu.emulator().set_faults(vec![Fault {
        status: Some(503),
        ..fault(LIST_JOBS)
    }]);
    emu.emulator().reset_stats();
    let err = client.health(&me()).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(requests(&emu, LIST_JOBS), 1, "health is never retried");
}

#[tokio::test]
async fn concurrency_is_bounded() {
    let emu = emulator(EmulatorConfig::default()).await;
    let client = Client::new(ClientConfig {
        max_concurrent_requests: 1,
        ..config(&emu)
    })
    .unwrap();
    emu.emulator().set_faults(vec![Fault {
        latency_ms: Some(150),
        ..fault(GET_EXECUTION)
    }]);
    let creds = me();
    let started = Instant::now();
    let calls = (0..4).map(|_| client.get_job_execution(&creds, JOB, EXEC));
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "4 x 150 ms one at a time, took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn http2_prior_knowledge_works_against_the_emulator() {
    let emu = emulator(EmulatorConfig::default()).await;
    let client = Client::new(ClientConfig {
        http2_prior_knowledge: true,
        ..config(&emu)
    })
    .unwrap();
    client.get_job_execution(&me(), JOB, EXEC).await.unwrap();
}

#[tokio::test]
async fn retry_budget_caps_retries_at_a_fraction_of_calls() {
    let emu = emulator(EmulatorConfig::default()).await;
    let client = Client::new(ClientConfig {
        // No reserve: retries come only from the 20 % of calls.
        retry_budget: RetryBudget {
            window: Duration::from_secs(10),
            min_per_sec: 0,
            retry_percent: 20,
        },
        circuit_breaker: CircuitBreakerConfig::disabled(),
        ..config(&emu)
    })
    .unwrap();
    emu.emulator().set_faults(vec![Fault {
        status: Some(503),
        ..fault(GET_EXECUTION)
    }]);
    let calls = 50u64;
    for _ in 0..calls {
        let err = client
            .get_job_execution(&me(), JOB, EXEC)
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    }
    let sent = requests(&emu, GET_EXECUTION);
    // Without the budget: 150 (3 attempts each). With it: 50 + 20 % of 50.
    assert!(
        (calls..=calls + calls / 5 + 1).contains(&sent),
        "{sent} upstream requests for {calls} calls"
    );
}

#[tokio::test]
async fn circuit_breaker_opens_fails_fast_and_recovers() {
    let emu = emulator(EmulatorConfig::default()).await;
    let client = Client::new(ClientConfig {
        retry: RetryPolicy {
            max_attempts: 1,
            ..fast_retry()
        },
        circuit_breaker: CircuitBreakerConfig {
            failure_threshold: 3,
            open_for: Duration::from_millis(200),
            half_open_probes: 1,
            ..CircuitBreakerConfig::default()
        },
        ..config(&emu)
    })
    .unwrap();
    // 4xx answers are not failures (and count as answers in the window).
    for _ in 0..2 {
        let err = client
            .get_job_execution(&me(), JOB, "exec-nope")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    }
    assert_eq!(client.circuit_state(), CircuitState::Closed);
    emu.emulator().set_faults(vec![Fault {
        status: Some(503),
        ..fault("*")
    }]);
    emu.emulator().reset_stats();
    for _ in 0..3 {
        let err = client.get_job(&me(), JOB).await.unwrap_err();
        assert!(matches!(err, Error::Http { .. }), "{err:?}");
    }
    assert_eq!(client.circuit_state(), CircuitState::Open);
    for _ in 0..20 {
        let err = client.get_job(&me(), JOB).await.unwrap_err();
        assert!(matches!(err, Error::CircuitOpen { .. }), "{err:?}");
        assert!(err.retry_after().is_some() && err.is_retryable());
    }
    assert_eq!(emu.emulator().stats().total, 3, "nothing sent while open");
    // Half-open: a failing probe opens it again.
    tokio::time::sleep(Duration::from_millis(250)).await;
    let err = client.get_job(&me(), JOB).await.unwrap_err();
    assert!(
        matches!(err, Error::Http { .. }),
        "the probe went out: {err:?}"
    );
    assert_eq!(client.circuit_state(), CircuitState::Open);
    // The upstream recovers: the next probe closes it.
    emu.emulator().clear_faults();
    tokio::time::sleep(Duration::from_millis(250)).await;
    client.get_job(&me(), JOB).await.unwrap();
    assert_eq!(client.circuit_state(), CircuitState::Closed);
    client.get_job(&me(), JOB).await.unwrap();
}

#[tokio::test]
async fn breaker_opening_mid_call_returns_the_upstream_error() {
    let emu = emulator(EmulatorConfig::default()).await;
    let client = Client::new(ClientConfig {
        circuit_breaker: CircuitBreakerConfig {
            failure_threshold: 2,
            open_for: Duration::from_secs(30),
            half_open_probes: 1,
            ..CircuitBreakerConfig::default()
        },
        ..config(&emu)
    })
    .unwrap();
    emu.emulator().set_faults(vec![Fault {
        status: Some(502),
        ..fault(GET_EXECUTION)
    }]);
    let err = client
        .get_job_execution(&me(), JOB, EXEC)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::BAD_GATEWAY), "{err:?}");
    assert_eq!(requests(&emu, GET_EXECUTION), 2, "no retry once open");
}

#[test]
fn bad_budget_is_a_config_error() {
    for budget in [
        RetryBudget {
            window: Duration::from_millis(10),
            ..RetryBudget::default()
        },
        RetryBudget {
            retry_percent: 5000,
            ..RetryBudget::default()
        },
    ] {
        let err = Client::new(ClientConfig {
            retry_budget: budget,
            ..ClientConfig::default()
        })
        .unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
    }
}
