//! The circuit breakers: opening, failing fast, probing and recovering.

use std::time::Duration;

use blaxel_emulator::{EmulatorConfig, EmulatorHandle};
use blaxel_transport::{
    CircuitBreakerConfig, CircuitState, Client, ClientConfig, Credentials, Error,
    ListExecutionsRequest, ListJobsRequest, RetryPolicy, Route,
};
use http::StatusCode;

use super::harness::*;

/// An emulator, and a client whose per-route breakers open after `failures` failures and stay
/// open for `open_for`, making `attempts` attempts per call.
async fn breaker_setup(
    failures: u32,
    open_for: Duration,
    attempts: u32,
) -> (EmulatorHandle, Client) {
    let emu = emulator(EmulatorConfig::default()).await;
    let client = Client::new(ClientConfig {
        retry: RetryPolicy {
            max_attempts: attempts,
            ..fast_retry()
        },
        circuit_breaker: CircuitBreakerConfig {
            failure_threshold: failures,
            open_for,
            half_open_probes: 1,
            ..CircuitBreakerConfig::default()
        },
        ..config(&emu)
    })
    .unwrap();
    (emu, client)
}

#[tokio::test]
async fn circuit_breaker_opens_fails_fast_and_recovers() {
    let (emu, client) = breaker_setup(3, Duration::from_millis(200), 1).await;
    // 4xx answers are not failures (and count as answers in the window).
    for _ in 0..2 {
        let err = client
            .get_job_execution(&me(), JOB, "exec-nope")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    }
    assert_eq!(client.circuit_state(), CircuitState::Closed);
    fail_with(&emu, "*", 503);
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
    assert_eq!(client.upstream_stats().circuit_rejections, 20);
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
    let (emu, client) = breaker_setup(2, Duration::from_secs(30), 3).await;
    fail_with(&emu, GET_EXECUTION, 502);
    let err = client
        .get_job_execution(&me(), JOB, EXEC)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::BAD_GATEWAY), "{err:?}");
    assert_eq!(requests(&emu, GET_EXECUTION), 2, "no retry once open");
}

#[tokio::test]
async fn one_failing_route_does_not_open_the_others() {
    let (emu, client) = breaker_setup(3, Duration::from_secs(30), 1).await;
    fail_with(&emu, LIST_JOBS, 503);
    for _ in 0..5 {
        client
            .list_jobs(&me(), &ListJobsRequest::default())
            .await
            .unwrap_err();
    }
    assert_eq!(requests(&emu, LIST_JOBS), 3, "open after 3 failures");
    let states = client.circuit_states();
    assert_eq!(states.len(), Route::ALL.len());
    assert!(
        states.contains(&("GET /jobs", CircuitState::Open)),
        "{states:?}"
    );
    assert_eq!(
        client.circuit_state(),
        CircuitState::Open,
        "the worst state"
    );

    // Another route of the same upstream is served meanwhile.
    let page = client
        .list_job_executions(&me(), JOB, &ListExecutionsRequest::default())
        .await
        .unwrap();
    assert!(!page.items.is_empty());
    client.get_job(&me(), JOB).await.unwrap();
    assert_eq!(requests(&emu, LIST_EXECUTIONS), 1);
    let open: Vec<_> = client
        .circuit_states()
        .into_iter()
        .filter(|(_, s)| *s != CircuitState::Closed)
        .collect();
    assert_eq!(open, vec![("GET /jobs", CircuitState::Open)]);
}

#[tokio::test]
async fn probes_are_not_counted_by_the_breakers() {
    let (emu, client) = breaker_setup(2, Duration::from_secs(30), 3).await;
    fail_with(&emu, LIST_JOBS, 503);
    // Unauthenticated readiness checks against a failing route, many times.
    let anonymous = Credentials::with_token("not-a-tenant");
    for _ in 0..10 {
        let err = client.probe(&anonymous).await.unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
        client.health(&anonymous).await.unwrap_err();
    }
    assert_eq!(
        requests(&emu, LIST_JOBS),
        20,
        "each probe sent once, never retried"
    );
    assert_eq!(client.circuit_state(), CircuitState::Closed);

    // The route recovers: tenants are served at once, and the probe says ready.
    emu.emulator().clear_faults();
    client
        .list_jobs(&me(), &ListJobsRequest::default())
        .await
        .unwrap();
    client.probe(&me()).await.unwrap();
    // A probe answers why a real request cannot be served.
    let err = client.probe(&anonymous).await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated { .. }), "{err:?}");
    client
        .health(&anonymous)
        .await
        .expect("health: any answer below 500");

    // An open breaker does not stop the probe from seeing the upstream.
    fail_with(&emu, LIST_JOBS, 503);
    for _ in 0..2 {
        client
            .list_jobs(&me(), &ListJobsRequest::default())
            .await
            .unwrap_err();
    }
    assert_eq!(client.circuit_state(), CircuitState::Open);
    emu.emulator().clear_faults();
    emu.emulator().reset_stats();
    client.probe(&me()).await.unwrap();
    assert_eq!(requests(&emu, LIST_JOBS), 1);
}
