//! Connection faults, broken bodies, cursor rejections and timeouts, as typed errors.

use std::time::Duration;

use blaxel_emulator::{EmulatorConfig, EmulatorHandle, Fault, FaultBody};
use blaxel_transport::{
    Client, ClientConfig, Error, ListExecutionsRequest, ListJobsRequest, PaginationSort,
    RetryPolicy,
};
use http::StatusCode;

use super::harness::*;

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

/// An emulator whose execution lookups answer after `latency_ms`, a client of the harness
/// configuration changed by `configure`, and the error of one lookup.
async fn slow_lookup(
    latency_ms: u64,
    configure: impl FnOnce(ClientConfig) -> ClientConfig,
) -> (EmulatorHandle, Client, Error) {
    let emu = emulator(EmulatorConfig::default()).await;
    let client = Client::new(configure(config(&emu))).unwrap();
    emu.emulator().set_faults(vec![Fault {
        latency_ms: Some(latency_ms),
        ..fault(GET_EXECUTION)
    }]);
    let err = client
        .get_job_execution(&me(), JOB, EXEC)
        .await
        .unwrap_err();
    (emu, client, err)
}

#[tokio::test]
async fn latency_past_the_request_timeout_is_a_timeout() {
    let (emu, client, err) = slow_lookup(1_000, |config| ClientConfig {
        request_timeout: Duration::from_millis(150),
        ..config
    })
    .await;
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
    let (emu, _client, err) = slow_lookup(2_000, |config| ClientConfig {
        request_timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            total_deadline: Duration::from_millis(300),
            ..fast_retry()
        },
        ..config
    })
    .await;
    // The answer would come after 2 s, within the 5 s request timeout: only the 300 ms
    // deadline can have ended the call, and no retry started after it.
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert_eq!(requests(&emu, GET_EXECUTION), 1);
}
