//! Every error code, and partial failures that leave the rest of the response intact.

use blaxel_emulator::{Fault, FaultBody};
use serde_json::json;

use blaxel_gateway::Config;

use crate::harness::*;

const ONE_PAGE: &str = r#"query($first: Int, $after: String, $sort: JobExecutionSort, $last: Int, $before: String) {
  jobExecutions(jobName: "data-processing-job", first: $first, after: $after, sort: $sort, last: $last, before: $before) {
    pageInfo { endCursor } edges { node { id } }
  }
}"#;

fn fault(status: Option<u16>) -> Fault {
    Fault {
        route: LIST_EXECUTIONS.into(),
        status,
        ..Fault::default()
    }
}

#[tokio::test]
async fn bad_arguments_are_rejected_before_any_upstream_call() {
    let env = Env::start(emulator_config(30)).await;
    env.reset();
    for vars in [
        json!({"first": -1}),
        json!({"last": 5}),
        json!({"before": "x"}),
        json!({"first": 100000}),
    ] {
        let resp = env.gql(ONE_PAGE, vars.clone()).await;
        assert_eq!(codes(&resp), ["BAD_USER_INPUT"], "{vars}: {resp}");
        assert!(resp["data"].is_null() || resp["data"]["jobExecutions"].is_null());
    }
    let long = "x".repeat(201);
    let resp = env
        .gql(r#"query($q: String) { jobExecutions(jobName: "data-processing-job", query: $q) { totalCount } }"#, json!({"q": long}))
        .await;
    assert_eq!(codes(&resp), ["BAD_USER_INPUT"]);
    assert_eq!(
        env.emulator.emulator().stats().total,
        0,
        "nothing reached the upstream"
    );
}

#[tokio::test]
async fn cursor_misuse_is_cursor_invalid_before_any_upstream_call() {
    let env = Env::start(emulator_config(30)).await;
    let resp = env.gql(ONE_PAGE, json!({"first": 5})).await;
    let end = resp["data"]["jobExecutions"]["pageInfo"]["endCursor"].clone();
    env.reset();
    // Same cursor, other sort.
    let resp = env
        .gql(
            ONE_PAGE,
            json!({"first": 5, "after": end, "sort": "NAME_ASC"}),
        )
        .await;
    assert_eq!(codes(&resp), ["CURSOR_INVALID"]);
    // Same cursor, other job.
    let resp = env
        .gql(r#"query($after: String) { jobExecutions(jobName: "job-1", after: $after) { totalCount } }"#, json!({"after": end}))
        .await;
    assert_eq!(codes(&resp), ["CURSOR_INVALID"]);
    // Same cursor, other workspace.
    let resp = env
        .gql_as(
            ONE_PAGE,
            json!({"first": 5, "after": end}),
            &[("X-Blaxel-Workspace", "other-ws")],
        )
        .await;
    assert_eq!(codes(&resp), ["CURSOR_INVALID"]);
    for garbage in ["", "garbage", "%%%", "AQ", "eyJvZmZzZXQiOjEwfQ=="] {
        let resp = env
            .gql(ONE_PAGE, json!({"first": 5, "after": garbage}))
            .await;
        assert_eq!(codes(&resp), ["CURSOR_INVALID"], "{garbage:?}");
    }
    assert_eq!(env.emulator.emulator().stats().total, 0);
}

#[tokio::test]
async fn expired_upstream_cursor_is_cursor_expired() {
    let env = Env::start(emulator_config(30)).await;
    let resp = env.gql(ONE_PAGE, json!({"first": 5})).await;
    let end = resp["data"]["jobExecutions"]["pageInfo"]["endCursor"].clone();
    env.emulator.emulator().advance_clock(25 * 3600);
    let resp = env.gql(ONE_PAGE, json!({"first": 5, "after": end})).await;
    assert_eq!(codes(&resp), ["CURSOR_EXPIRED"], "{resp}");
}

#[tokio::test]
async fn credentials_errors() {
    let options = Config {
        token: None,
        ..options()
    };
    let env = Env::with(emulator_config(5), options).await;
    let resp = env.gql(ONE_PAGE, json!({})).await;
    assert_eq!(codes(&resp), ["UNAUTHENTICATED"]);
    let resp = env
        .gql_as(
            ONE_PAGE,
            json!({}),
            &[("Authorization", "Bearer wrong-token")],
        )
        .await;
    assert_eq!(codes(&resp), ["UNAUTHENTICATED"]);
    let message = resp["errors"][0]["message"].as_str().unwrap();
    assert!(
        !message.contains("wrong-token"),
        "tokens never appear in errors: {message}"
    );
    let resp = env
        .gql_as(
            ONE_PAGE,
            json!({}),
            &[
                ("Authorization", "Bearer dev-token"),
                ("X-Blaxel-Workspace", "someone-else"),
            ],
        )
        .await;
    assert_eq!(codes(&resp), ["FORBIDDEN"]);
    let resp = env
        .gql_as(
            ONE_PAGE,
            json!({}),
            &[("X-Blaxel-Authorization", "Bearer dev-token")],
        )
        .await;
    assert!(resp["errors"].is_null(), "{resp}");
}

#[tokio::test]
async fn not_found_and_null_lookups() {
    let env = Env::start(emulator_config(5)).await;
    let resp = env
        .gql(
            r#"{ jobExecutions(jobName: "no-such-job") { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(codes(&resp), ["NOT_FOUND"]);
    let resp = env
        .gql(
            r#"{ jobExecution(jobName: "data-processing-job", id: "exec-nope") { id } job(name: "no-such-job") { id } }"#,
            json!({}),
        )
        .await;
    assert!(resp["errors"].is_null(), "{resp}");
    assert!(resp["data"]["jobExecution"].is_null() && resp["data"]["job"].is_null());
}

#[tokio::test]
async fn upstream_faults_map_to_codes_and_leave_other_fields_intact() {
    let options = Config {
        upstream_timeout_ms: 300,
        // Every case fails the listing route, whose own breaker would open and answer the
        // later cases (and the final recovery check) itself; the breakers have their tests.
        breaker_failures: 0,
        ..options()
    };
    let env = Env::with(emulator_config(10), options).await;
    let query = r#"{
      page: jobExecutions(jobName: "data-processing-job", first: 3) { totalCount }
      one: jobExecution(jobName: "data-processing-job", id: "exec-abc123") { metadata { id } }
    }"#;
    let cases: Vec<(Fault, &str)> = vec![
        (fault(Some(500)), "UPSTREAM_ERROR"),
        (fault(Some(502)), "UPSTREAM_UNAVAILABLE"),
        (fault(Some(503)), "UPSTREAM_UNAVAILABLE"),
        (
            Fault {
                retry_after: Some(7),
                ..fault(Some(429))
            },
            "RATE_LIMITED",
        ),
        (
            Fault {
                latency_ms: Some(1500),
                ..fault(None)
            },
            "UPSTREAM_TIMEOUT",
        ),
        (
            Fault {
                body: Some(FaultBody::Malformed),
                ..fault(None)
            },
            "UPSTREAM_ERROR",
        ),
        (
            Fault {
                body: Some(FaultBody::Html),
                ..fault(None)
            },
            "UPSTREAM_UNAVAILABLE",
        ),
        (
            Fault {
                reset: true,
                ..fault(None)
            },
            "UPSTREAM_UNAVAILABLE",
        ),
    ];
    for (f, code) in cases {
        env.emulator.emulator().set_faults(vec![f.clone()]);
        let resp = env.gql(query, json!({})).await;
        assert_eq!(codes(&resp), [code], "{f:?}: {resp}");
        assert_eq!(
            resp["data"]["one"]["metadata"]["id"], "exec-abc123",
            "other fields intact: {f:?}"
        );
        if code == "RATE_LIMITED" {
            assert_eq!(resp["errors"][0]["extensions"]["retryAfter"], 7);
        }
        if code == "UPSTREAM_ERROR" && f.status.is_some() {
            assert_eq!(resp["errors"][0]["extensions"]["upstreamStatus"], 500);
        }
    }
    env.emulator.emulator().clear_faults();
    let resp = env.gql(query, json!({})).await;
    assert!(
        resp["errors"].is_null(),
        "serves again once the faults clear: {resp}"
    );
}

#[tokio::test]
async fn limits_answer_query_too_complex() {
    let env = Env::start(emulator_config(5)).await;
    let aliases: String = (0..70).map(|i| format!("a{i}: __typename ")).collect();
    let resp = env.gql(&format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(codes(&resp), ["QUERY_TOO_COMPLEX"]);
    assert!(
        resp["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("64")
    );
    let deep =
        "{ jobs { nodes { executions { nodes { spec { tasks { metadata { name } } } } } } } }";
    let resp = env.gql(deep, json!({})).await;
    assert!(
        resp["errors"].is_null(),
        "a realistic deep query passes: {resp}"
    );
    env.reset();
    // 3 pages of jobs, then 5 pages of executions for each of 500 jobs: refused by the cost
    // model, naming the limit and the estimate.
    let heavy = r#"{ a: jobs(first: 500) { nodes { executions(first: 500) { nodes { id } } } } }"#;
    let resp = env.gql(heavy, json!({})).await;
    assert_eq!(codes(&resp), ["QUERY_TOO_COMPLEX"]);
    assert_eq!(resp["errors"][0]["extensions"]["limit"], "maxUpstreamCalls");
    let message = resp["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("2503 upstream calls"), "{message}");
    assert_eq!(env.emulator.emulator().stats().total, 0);
}
