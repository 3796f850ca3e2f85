//! The fault matrix: one test per upstream fault of the emulator (README, "Faults").
//!
//! Each row injects its fault on the executions listing only, with the gateway set up as in
//! production (3 attempts, retry budget, circuit breaker), and checks that
//! - the gateway answers, well within its request timeout;
//! - the listing field holds data, or is null with one typed error of the row's
//!   `extensions.code`;
//! - the other field of the same response (one execution, another upstream route) is intact;
//! - the gateway keeps serving: the same query succeeds once the fault is cleared.

use std::time::{Duration, Instant};

use blaxel_emulator::{Fault, FaultBody};
use blaxel_gateway::Config;
use serde_json::{Value, json};

use crate::harness::*;

const QUERY: &str = r#"{
  page: jobExecutions(jobName: "data-processing-job", first: 3) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id status statusRaw metadata { id job createdAt updatedAt } stats { total success } spec { envOverride parallelism } } }
  }
  one: jobExecution(jobName: "data-processing-job", id: "exec-abc123") { metadata { id } }
}"#;

/// The whole-request timeout of these gateways.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(4);

/// What the listing field answers under a fault.
enum Expect {
    /// Data, no error; the closure checks the page against the page answered before the fault.
    Data(fn(&Value, &Value)),
    /// A null listing and one error with this code.
    Error(&'static str),
}

fn on_listing(fault: Fault) -> Fault {
    Fault {
        route: LIST_EXECUTIONS.into(),
        ..fault
    }
}

/// Runs one row of the matrix; returns the faulted response for extra checks.
async fn row(fault: Fault, expect: Expect) -> Value {
    let options = Config {
        upstream_timeout_ms: 300,
        upstream_attempts: 3,
        request_timeout_ms: REQUEST_TIMEOUT.as_millis() as u64,
        ..options()
    };
    let env = Env::with(emulator_config(10), options).await;
    let healthy = env.gql(QUERY, json!({})).await;
    assert!(healthy["errors"].is_null(), "{healthy}");

    env.emulator
        .emulator()
        .set_faults(vec![on_listing(fault.clone())]);
    let started = Instant::now();
    let resp = env.gql(QUERY, json!({})).await;
    let took = started.elapsed();
    assert!(
        took < REQUEST_TIMEOUT,
        "{fault:?}: answered after {took:?}, past the request timeout"
    );
    assert_eq!(
        resp["data"]["one"]["metadata"]["id"], "exec-abc123",
        "{fault:?}: the other field stays intact: {resp}"
    );
    match expect {
        Expect::Data(check) => {
            assert!(resp["errors"].is_null(), "{fault:?}: {resp}");
            let page = &resp["data"]["page"];
            assert_eq!(page["edges"].as_array().map(Vec::len), Some(3), "{resp}");
            check(page, &healthy["data"]["page"]);
        }
        Expect::Error(code) => {
            assert_eq!(codes(&resp), [code], "{fault:?}: {resp}");
            assert!(resp["data"]["page"].is_null(), "{resp}");
            assert_eq!(resp["errors"][0]["path"], json!(["page"]), "{resp}");
        }
    }

    // The process keeps serving, during the fault and after it.
    let other = env
        .gql(
            r#"{ job(name: "data-processing-job") { metadata { name } } }"#,
            json!({}),
        )
        .await;
    assert!(other["errors"].is_null(), "{fault:?}: {other}");
    env.emulator.emulator().clear_faults();
    let after = env.gql(QUERY, json!({})).await;
    assert!(
        after["errors"].is_null(),
        "{fault:?}: serves again: {after}"
    );
    assert_eq!(after["data"]["page"], healthy["data"]["page"]);
    resp
}

fn status(code: u16) -> Fault {
    Fault {
        status: Some(code),
        ..Fault::default()
    }
}

fn body(kind: FaultBody) -> Fault {
    Fault {
        body: Some(kind),
        ..Fault::default()
    }
}

#[tokio::test]
async fn status_500_is_upstream_error() {
    let resp = row(status(500), Expect::Error("UPSTREAM_ERROR")).await;
    assert_eq!(resp["errors"][0]["extensions"]["upstreamStatus"], 500);
}

#[tokio::test]
async fn status_502_is_upstream_unavailable() {
    let resp = row(status(502), Expect::Error("UPSTREAM_UNAVAILABLE")).await;
    assert_eq!(resp["errors"][0]["extensions"]["upstreamStatus"], 502);
}

#[tokio::test]
async fn status_503_is_upstream_unavailable() {
    let resp = row(status(503), Expect::Error("UPSTREAM_UNAVAILABLE")).await;
    assert!(resp["errors"][0]["extensions"]["retryAfter"].is_null());
}

#[tokio::test]
async fn status_503_with_retry_after_is_upstream_unavailable_with_retry_after() {
    let fault = Fault {
        retry_after: Some(1),
        ..status(503)
    };
    let resp = row(fault, Expect::Error("UPSTREAM_UNAVAILABLE")).await;
    assert_eq!(resp["errors"][0]["extensions"]["retryAfter"], 1, "{resp}");
}

#[tokio::test]
async fn status_429_is_rate_limited_with_retry_after() {
    let fault = Fault {
        retry_after: Some(30),
        ..status(429)
    };
    let resp = row(fault, Expect::Error("RATE_LIMITED")).await;
    assert_eq!(resp["errors"][0]["extensions"]["retryAfter"], 30);
}

#[tokio::test]
async fn latency_past_the_timeout_is_upstream_timeout() {
    let fault = Fault {
        latency_ms: Some(1_500),
        ..Fault::default()
    };
    row(fault, Expect::Error("UPSTREAM_TIMEOUT")).await;
}

#[tokio::test]
async fn malformed_json_is_upstream_error() {
    let resp = row(body(FaultBody::Malformed), Expect::Error("UPSTREAM_ERROR")).await;
    assert_eq!(resp["errors"][0]["extensions"]["upstreamStatus"], 200);
}

#[tokio::test]
async fn truncated_body_is_upstream_error() {
    row(body(FaultBody::Truncated), Expect::Error("UPSTREAM_ERROR")).await;
}

#[tokio::test]
async fn empty_body_is_upstream_error() {
    row(body(FaultBody::Empty), Expect::Error("UPSTREAM_ERROR")).await;
}

#[tokio::test]
async fn html_error_page_is_upstream_unavailable() {
    let resp = row(body(FaultBody::Html), Expect::Error("UPSTREAM_UNAVAILABLE")).await;
    let message = resp["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("<html"), "no HTML in messages: {message}");
}

#[tokio::test]
async fn connection_reset_is_upstream_unavailable() {
    let fault = Fault {
        reset: true,
        ..Fault::default()
    };
    row(fault, Expect::Error("UPSTREAM_UNAVAILABLE")).await;
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    row(
        body(FaultBody::UnknownFields),
        Expect::Data(|page, healthy| assert_eq!(page, healthy)),
    )
    .await;
}

#[tokio::test]
async fn null_in_every_optional_field_is_data_with_nulls() {
    row(
        body(FaultBody::Nulls),
        Expect::Data(|page, _| {
            assert!(page["totalCount"].is_null(), "{page}");
            let node = &page["edges"][0]["node"];
            assert!(node["metadata"]["id"].is_string(), "ids survive: {node}");
            assert!(
                node["status"].is_null() && node["stats"].is_null(),
                "{node}"
            );
            assert!(node["metadata"]["createdAt"].is_null(), "{node}");
            // Every edge still has a cursor, and paging goes on.
            assert!(page["edges"][2]["cursor"].is_string());
        }),
    )
    .await;
}

#[tokio::test]
async fn unknown_status_is_unknown_with_the_raw_value() {
    row(
        body(FaultBody::UnknownStatus),
        Expect::Data(|page, _| {
            for edge in page["edges"].as_array().unwrap() {
                assert_eq!(edge["node"]["status"], "UNKNOWN", "{edge}");
                assert_eq!(edge["node"]["statusRaw"], "hibernating", "{edge}");
            }
        }),
    )
    .await;
}

#[tokio::test]
async fn non_canonical_timestamps_are_served_in_rfc_3339() {
    row(
        body(FaultBody::OddTimestamps),
        Expect::Data(|page, healthy| {
            // `2026-05-31T23:59:20.000000+00:00` upstream, the canonical form here.
            let created = |p: &Value| p["edges"][0]["node"]["metadata"]["createdAt"].clone();
            assert!(created(healthy).as_str().unwrap().ends_with('Z'));
            assert_eq!(created(page), created(healthy), "{page}");
            assert_eq!(page, healthy);
        }),
    )
    .await;
}
