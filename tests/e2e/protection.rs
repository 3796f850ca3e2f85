//! Upstream protection, read from the emulator's request counts: the retry budget, the circuit
//! breaker, and the bounds on concurrent upstream requests (overall and per GraphQL request).

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use blaxel_emulator::Fault;

use serde_json::json;

use blaxel_gateway::Config;

use crate::harness::*;

const LISTING: &str =
    r#"{ jobExecutions(jobName: "data-processing-job", first: 5) { totalCount } }"#;

fn failing_upstream() -> Vec<Fault> {
    vec![Fault {
        route: "*".into(),
        status: Some(503),
        ..Fault::default()
    }]
}

#[tokio::test]
async fn retry_budget_keeps_a_failing_upstream_from_being_multiplied() {
    let options = Config {
        upstream_attempts: 3,
        // No reserve: retries are 20 % of the calls at most.
        retry_budget_min_per_sec: 0,
        retry_budget_percent: 20,
        breaker_failures: 0,
        ..options()
    };
    let env = Env::with(emulator_config(10), options).await;
    env.emulator.emulator().set_faults(failing_upstream());
    env.reset();
    let requests = 40u64;
    for _ in 0..requests {
        let resp = env.gql(LISTING, json!({})).await;
        assert_eq!(codes(&resp), ["UPSTREAM_UNAVAILABLE"], "{resp}");
    }
    let upstream = env.emulator.emulator().stats().total;
    assert!(
        upstream <= requests + requests / 5 + 1,
        "{upstream} upstream calls for {requests} GraphQL requests (3 attempts each would be {})",
        requests * 3
    );
}

#[tokio::test]
async fn circuit_breaker_opens_answers_at_once_and_recovers() {
    let options = Config {
        upstream_attempts: 3,
        breaker_failures: 5,
        breaker_open_ms: 300,
        breaker_probes: 1,
        ..options()
    };
    let env = Env::with(emulator_config(10), options).await;
    env.emulator.emulator().set_faults(failing_upstream());
    env.reset();
    let requests = 30;
    let mut open = 0;
    for _ in 0..requests {
        let resp = env.gql(LISTING, json!({})).await;
        assert_eq!(codes(&resp), ["UPSTREAM_UNAVAILABLE"], "{resp}");
        let message = resp["errors"][0]["message"].as_str().unwrap();
        if message.contains("circuit breaker") {
            open += 1;
            assert!(resp["errors"][0]["extensions"]["retryAfter"].is_number());
        }
    }
    let upstream = env.emulator.emulator().stats().total;
    assert!(
        upstream <= 8,
        "the breaker opened after 5 failures: {upstream} upstream calls for {requests} requests"
    );
    assert!(
        open >= requests - 3,
        "{open} of {requests} answered by the open breaker"
    );

    // Still failing: the half-open probe fails and the breaker opens again.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let resp = env.gql(LISTING, json!({})).await;
    assert_eq!(codes(&resp), ["UPSTREAM_UNAVAILABLE"]);

    // The upstream recovers: after `open_for`, a probe closes the breaker.
    env.emulator.emulator().clear_faults();
    let mut recovered = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let resp = env.gql(LISTING, json!({})).await;
        if resp["errors"].is_null() {
            recovered = true;
            break;
        }
        assert_eq!(codes(&resp), ["UPSTREAM_UNAVAILABLE"], "{resp}");
    }
    assert!(
        recovered,
        "the gateway serves again once the upstream recovers"
    );
    for _ in 0..5 {
        let resp = env.gql(LISTING, json!({})).await;
        assert!(resp["errors"].is_null(), "{resp}");
    }
}

/// A proxy in front of the emulator that records the most requests it had in flight at once.
struct CountingProxy {
    base_url: String,
    max_in_flight: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn counting_proxy(upstream: std::net::SocketAddr) -> CountingProxy {
    let current = Arc::new(AtomicUsize::new(0));
    let max_in_flight = Arc::new(AtomicUsize::new(0));
    // Building a transport client installs the process's rustls provider, which reqwest needs.
    let _ = blaxel_transport::Client::new(blaxel_transport::ClientConfig::default());
    let http = reqwest::Client::new();
    let (cur, max) = (current.clone(), max_in_flight.clone());
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let (cur, max, http) = (cur.clone(), max.clone(), http.clone());
        async move {
            let now = cur.fetch_add(1, Ordering::SeqCst) + 1;
            max.fetch_max(now, Ordering::SeqCst);
            let (parts, _) = req.into_parts();
            let path = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let mut forward =
                http.request(parts.method.clone(), format!("http://{upstream}{path}"));
            for (name, value) in &parts.headers {
                if name != http::header::HOST {
                    forward = forward.header(name, value);
                }
            }
            let answer = match forward.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let body = resp.bytes().await.unwrap_or_default();
                    (status, body).into_response()
                }
                Err(_) => http::StatusCode::BAD_GATEWAY.into_response(),
            };
            cur.fetch_sub(1, Ordering::SeqCst);
            answer
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    CountingProxy {
        base_url: format!("http://{addr}/v0"),
        max_in_flight,
        task,
    }
}

use axum::response::IntoResponse as _;

async fn slow_emulator() -> blaxel_emulator::EmulatorHandle {
    let emulator = blaxel_emulator::spawn(emulator_config(10)).await.unwrap();
    emulator.emulator().set_faults(vec![Fault {
        route: "*".into(),
        latency_ms: Some(80),
        ..Fault::default()
    }]);
    emulator
}

#[tokio::test]
async fn upstream_concurrency_is_bounded_overall() {
    let emulator = slow_emulator().await;
    let proxy = counting_proxy(emulator.addr()).await;
    let options = Config {
        max_concurrent_upstream: 3,
        ..options()
    };
    let gateway = gateway(&proxy.base_url, options).await;
    let http = reqwest::Client::new();
    let calls = (0..12).map(|i| {
        let (http, url) = (http.clone(), gateway.url.clone());
        tokio::spawn(async move {
            let query = format!(
                r#"{{ jobExecution(jobName: "data-processing-job", id: "exec-{i}") {{ id }} }}"#
            );
            post(&http, &url, &query, json!({}), &[]).await
        })
    });
    for call in futures::future::join_all(calls).await {
        let resp = call.unwrap();
        assert!(resp["errors"].is_null(), "{resp}");
    }
    let max = proxy.max_in_flight.load(Ordering::SeqCst);
    eprintln!("upstream requests in flight at once, overall: {max} (bound 3)");
    assert!(
        (1..=3).contains(&max),
        "{max} upstream requests in flight at once"
    );
    assert_eq!(emulator.emulator().stats().total, 12);
}

#[tokio::test]
async fn upstream_concurrency_is_bounded_per_graphql_request() {
    let emulator = slow_emulator().await;
    let proxy = counting_proxy(emulator.addr()).await;
    let options = Config {
        per_request_concurrency: 2,
        ..options()
    };
    let gateway = gateway(&proxy.base_url, options).await;
    let lookups: String = (0..8)
        .map(|i| {
            format!(
                r#"e{i}: jobExecution(jobName: "data-processing-job", id: "exec-{i}") {{ id }} "#
            )
        })
        .collect();
    let resp = post(
        &reqwest::Client::new(),
        &gateway.url,
        &format!("{{ {lookups} }}"),
        json!({}),
        &[],
    )
    .await;
    assert!(resp["errors"].is_null(), "{resp}");
    let max = proxy.max_in_flight.load(Ordering::SeqCst);
    eprintln!("upstream requests in flight at once, one GraphQL request: {max} (bound 2)");
    assert!(
        (1..=2).contains(&max),
        "{max} upstream requests in flight for one request"
    );
    assert_eq!(emulator.emulator().stats().total, 8);
}
