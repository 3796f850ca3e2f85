//! Mutations: idempotent creates, capacity and memory errors, cancels on the virtual clock,
//! hostile input refused before the upstream, and GET never running a mutation.

use blaxel_emulator::{EmulatorConfig, route};
use serde_json::{Value, json};

use crate::harness::*;

const JOB: &str = "data-processing-job";

const CANCEL: &str = r#"mutation($job: String!, $id: String!) {
  cancelJobExecution(jobName: $job, id: $id) { metadata { id } status }
}"#;

const READ: &str = r#"query($job: String!, $id: String!) {
  jobExecution(jobName: $job, id: $id) { status }
  jobExecutions(jobName: $job, first: 0) { totalCount }
}"#;

fn created(resp: &Value) -> &Value {
    assert!(resp["errors"].is_null(), "{resp}");
    &resp["data"]["createJobExecution"]
}

async fn total(env: &Env) -> i64 {
    let resp = env
        .gql(READ, json!({"job": JOB, "id": "exec-abc123"}))
        .await;
    resp["data"]["jobExecutions"]["totalCount"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn a_create_repeated_with_its_execution_id_starts_one_execution() {
    let env = Env::start(emulator_config(5)).await;
    let before = total(&env).await;
    env.reset();
    let input = json!({"executionId": "nightly-2026-06-01", "tasks": [{"n": 1}, {"n": 2}],
                       "env": {"BATCH": "100"}, "memory": 1024});
    let first = create_execution(&env, input.clone()).await;
    let second = create_execution(&env, input).await;
    let (a, b) = (created(&first), created(&second));
    assert_eq!(a["metadata"]["id"], "nightly-2026-06-01");
    assert_eq!(a["status"], "QUEUED");
    assert_eq!(a["spec"]["memoryOverride"], 1024);
    assert_eq!(a["spec"]["envOverride"], json!({"BATCH": "***"}));
    assert_eq!(a["spec"]["taskCount"], 2);
    assert_eq!(a["id"], b["id"], "the same execution, twice");
    assert_eq!(a["metadata"]["createdAt"], b["metadata"]["createdAt"]);
    // Two POSTs reached the upstream; the second was a conflict, and one execution exists.
    assert_eq!(env.upstream(route::CREATE_EXECUTION), 2);
    assert_eq!(total(&env).await, before + 1);
}

#[tokio::test]
async fn allow_queue_false_maps_capacity_and_never_fitting_requests() {
    let config = EmulatorConfig {
        capacity: 2,
        ..emulator_config(0)
    };
    let env = Env::start(config).await;
    let no_queue = json!({"allowQueue": false, "tasks": [{}]});
    let mut codes_seen = Vec::new();
    for _ in 0..5 {
        let resp = create_execution(&env, no_queue.clone()).await;
        let found = codes(&resp);
        if found.is_empty() {
            continue;
        }
        assert!(resp["data"]["createJobExecution"].is_null(), "{resp}");
        assert!(
            resp["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("allowQueue"),
            "{resp}"
        );
        codes_seen = found;
        break;
    }
    assert_eq!(codes_seen, ["RATE_LIMITED"]);
    let never = create_execution(&env, json!({"allowQueue": false, "tasks": [{}, {}, {}]})).await;
    assert_eq!(codes(&never), ["BAD_USER_INPUT"], "{never}");
    assert!(
        never["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("never fit"),
        "{never}"
    );
    // Queueing allowed: accepted at capacity.
    let queued = create_execution(&env, json!({"tasks": [{}]})).await;
    assert_eq!(created(&queued)["status"], "QUEUED");
}

#[tokio::test]
async fn memory_above_the_jobs_is_bad_input_with_the_upstream_reason() {
    let env = Env::start(emulator_config(0)).await;
    let resp = create_execution(&env, json!({"memory": 1_000_000})).await;
    assert_eq!(codes(&resp), ["BAD_USER_INPUT"], "{resp}");
    let message = resp["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("configured memory"), "{message}");
    assert_eq!(resp["errors"][0]["extensions"]["upstreamStatus"], 400);
    let unknown = env
        .gql(
            r#"mutation { createJobExecution(jobName: "no-such-job", input: {}) { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(codes(&unknown), ["NOT_FOUND"], "{unknown}");
}

#[tokio::test]
async fn cancel_then_the_clock_and_cancelling_a_finished_execution() {
    let env = Env::start(emulator_config(0)).await;
    let id = "to-cancel";
    created(&create_execution(&env, json!({"executionId": id, "tasks": [{}]})).await);
    let cancel = |id: &'static str| env.gql(CANCEL, json!({"job": JOB, "id": id}));
    let resp = cancel(id).await;
    assert!(resp["errors"].is_null(), "{resp}");
    assert_eq!(resp["data"]["cancelJobExecution"]["status"], "CANCELLING");
    env.emulator.emulator().advance_clock(10);
    let read = env.gql(READ, json!({"job": JOB, "id": id})).await;
    assert_eq!(read["data"]["jobExecution"]["status"], "CANCELLED");
    // Cancelling again answers the cancelled execution.
    let again = cancel(id).await;
    assert_eq!(again["data"]["cancelJobExecution"]["status"], "CANCELLED");

    created(&create_execution(&env, json!({"executionId": "done", "tasks": [{}]})).await);
    env.emulator.emulator().advance_clock(200);
    let finished = cancel("done").await;
    assert_eq!(codes(&finished), ["FAILED_PRECONDITION"], "{finished}");
    assert!(finished["data"]["cancelJobExecution"].is_null());
    let message = finished["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("SUCCEEDED"), "{message}");
    let missing = cancel("exec-none").await;
    assert_eq!(codes(&missing), ["NOT_FOUND"], "{missing}");
}

#[tokio::test]
async fn hostile_input_is_refused_before_the_upstream() {
    let env = Env::start(emulator_config(0)).await;
    let huge: Vec<Value> = (0..20_000).map(|_| json!({})).collect();
    for input in [
        json!({"tasks": huge}),
        json!({"tasks": [1]}),
        json!({"tasks": [[]]}),
        json!({"env": "A=B"}),
        json!({"env": {"A": 1}}),
        json!({"env": {"": "x"}}),
        json!({"env": [["A", "B"]]}),
        json!({"memory": -5}),
        json!({"memory": 0}),
        json!({"executionId": ""}),
        json!({"executionId": "../etc"}),
        json!({"executionId": "x".repeat(200)}),
    ] {
        let resp = create_execution(&env, input.clone()).await;
        assert_eq!(codes(&resp), ["BAD_USER_INPUT"], "{input}: {resp}");
        assert!(resp["data"]["createJobExecution"].is_null());
    }
    // Not an Int at all: a validation error of the document.
    let resp = create_execution(&env, json!({"memory": 1e12})).await;
    assert!(!codes(&resp).is_empty(), "{resp}");
    assert_eq!(env.upstream(route::CREATE_EXECUTION), 0);
}

#[tokio::test]
async fn get_never_runs_a_mutation_nor_a_subscription() {
    let env = Env::start(emulator_config(0)).await;
    for (query, status) in [
        (
            r#"mutation { cancelJobExecution(jobName: "data-processing-job", id: "exec-abc123") { status } }"#,
            405,
        ),
        (
            r#"subscription { jobExecutionUpdated(jobName: "data-processing-job", id: "exec-abc123") { status } }"#,
            405,
        ),
        (
            r#"{ jobExecution(jobName: "data-processing-job", id: "exec-abc123") { status } }"#,
            200,
        ),
    ] {
        let resp = env
            .http
            .get(&env.gateway.url)
            .query(&[("query", query)])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{query}");
        if status == 405 {
            assert_eq!(resp.headers()["allow"], "POST");
            let body: Value = resp.json().await.unwrap();
            assert_eq!(codes(&body), ["BAD_USER_INPUT"]);
        }
    }
    assert_eq!(env.upstream(route::CANCEL_EXECUTION), 0);
}
