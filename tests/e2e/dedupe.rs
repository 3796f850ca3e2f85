//! `--upstream-dedupe`: identical upstream reads in flight at once are shared across requests
//! with the same credential (token and workspace), never across credentials.

use blaxel_emulator::Fault;
use blaxel_gateway::Config;
use serde_json::{Value, json};

use crate::harness::*;

const QUERY: &str = r#"query($job: String!) {
  jobExecutions(jobName: $job, first: 20) {
    totalCount edges { cursor node { id metadata { id job workspace } status } }
  }
}"#;

/// Two tokens of one workspace, and a listing slow enough (400 ms) that every request of a
/// burst arrives while the first call is in flight.
async fn slow_env(dedupe: bool) -> Env {
    let env = Env::with(
        two_tokens_config(30),
        Config {
            upstream_dedupe: dedupe,
            ..options()
        },
    )
    .await;
    env.emulator.emulator().set_faults(vec![Fault {
        route: LIST_EXECUTIONS.to_owned(),
        latency_ms: Some(400),
        ..Default::default()
    }]);
    env
}

/// Sends one request per token at once; returns the answers in order.
async fn burst(env: &Env, tokens: &[&str]) -> Vec<Value> {
    let tasks: Vec<_> = tokens
        .iter()
        .map(|token| {
            let (http, url) = (env.http.clone(), env.gateway.url.clone());
            let auth = format!("Bearer {token}");
            tokio::spawn(async move {
                post(
                    &http,
                    &url,
                    QUERY,
                    json!({"job": "data-processing-job"}),
                    &[("Authorization", &auth)],
                )
                .await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        let answer = task.await.unwrap();
        assert!(answer["errors"].is_null(), "{answer}");
        assert_eq!(
            answer["data"]["jobExecutions"]["edges"]
                .as_array()
                .unwrap()
                .len(),
            20
        );
        answers.push(answer);
    }
    answers
}

#[tokio::test]
async fn identical_reads_with_one_credential_cost_one_upstream_call() {
    let env = slow_env(true).await;
    let answers = burst(&env, &["dev-token"; 8]).await;
    assert_eq!(env.upstream(LIST_EXECUTIONS), 1);
    assert!(answers.iter().all(|a| *a == answers[0]));
    // Nothing is kept once the call answered: the next request calls again.
    burst(&env, &["dev-token"]).await;
    assert_eq!(env.upstream(LIST_EXECUTIONS), 2);
}

#[tokio::test]
async fn two_credentials_never_share_a_call() {
    let env = slow_env(true).await;
    let tokens = ["dev-token", "other-token"].repeat(4);
    let answers = burst(&env, &tokens).await;
    assert_eq!(env.upstream(LIST_EXECUTIONS), 2);
    // Same workspace, same data: the two calls answered alike.
    assert!(answers.iter().all(|a| *a == answers[0]));
}

#[tokio::test]
async fn dedupe_off_calls_once_per_request() {
    let env = slow_env(false).await;
    burst(&env, &["dev-token"; 8]).await;
    assert_eq!(env.upstream(LIST_EXECUTIONS), 8);
}

/// A read sent after the caller's own write does not join a read of the same execution that
/// left before the write, so it sees the write.
#[tokio::test]
async fn a_read_after_a_write_does_not_join_an_older_read() {
    let env = Env::start(emulator_config(5)).await;
    let created = create_execution(&env, json!({})).await;
    let id = created["data"]["createJobExecution"]["metadata"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned();
    env.reset();
    env.emulator.emulator().set_faults(vec![Fault {
        route: GET_EXECUTION.to_owned(),
        latency_ms: Some(500),
        ..Default::default()
    }]);
    const READ: &str = r#"query($id: String!) {
      jobExecution(jobName: "data-processing-job", id: $id) { status }
    }"#;
    let early = tokio::spawn({
        let (http, url, id) = (env.http.clone(), env.gateway.url.clone(), id.clone());
        async move { post(&http, &url, READ, json!({"id": id}), &[]).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let cancelled = env
        .gql(
            r#"mutation($id: String!) { cancelJobExecution(jobName: "data-processing-job", id: $id) { status } }"#,
            json!({"id": id}),
        )
        .await;
    assert!(cancelled["errors"].is_null(), "{cancelled}");
    let late = env.gql(READ, json!({"id": id})).await;
    let early = early.await.unwrap();
    let status = |v: &Value| {
        v["data"]["jobExecution"]["status"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    assert!(
        matches!(status(&late).as_str(), "CANCELLING" | "CANCELLED"),
        "late {late}, early {early}"
    );
    assert!(early["errors"].is_null(), "{early}");
    // Two reads, two calls: the late one did not join the early one (the emulator reads the
    // state after its delay, so both may see the cancel; the count tells them apart).
    assert_eq!(env.upstream(GET_EXECUTION), 2);
}

/// Every field of 20 executions: a rendered connection of about 100 kB, which the answer's body
/// keeps shared rather than copied (`graphql::json::Rope`).
const LARGE: &str = r#"query($job: String!) {
  jobExecutions(jobName: $job, first: 20) { totalCount edges { cursor node {
    id metadata { id job workspace cluster createdAt startedAt completedAt updatedAt }
    spec { parallelism timeout envOverride tasks { status spec { maxRetries timeout } } }
    stats { cancelled failure retried running success total } status
    tasks { status conditions { type state reason message } metadata { name startedAt } }
  } } }
}"#;

/// Sends `LARGE` as `token`; returns the status, the `content-length` and
/// `transfer-encoding` headers and the body.
async fn large(env: &Env, token: &str) -> (u16, Option<String>, Option<String>, Vec<u8>) {
    let resp = env
        .http
        .post(&env.gateway.url)
        .header("Authorization", format!("Bearer {token}"))
        .json(&json!({"query": LARGE, "variables": {"job": "data-processing-job"}}))
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (length, encoding) = (header("content-length"), header("transfer-encoding"));
    let status = resp.status().as_u16();
    (
        status,
        length,
        encoding,
        resp.bytes().await.unwrap().to_vec(),
    )
}

/// Callers joining one flight get the same large answer, each whole and with its length, and
/// it is the answer a caller alone gets.
#[tokio::test]
async fn a_shared_large_answer_is_sent_whole_with_its_length_to_every_caller() {
    let env = slow_env(true).await;
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let env = &env;
            async move { large(env, "dev-token").await }
        })
        .collect();
    let answers = futures::future::join_all(calls).await;
    assert_eq!(env.upstream(LIST_EXECUTIONS), 1);
    env.emulator.emulator().clear_faults();
    let alone = large(&env, "dev-token").await;
    assert!(
        alone.3.len() > 16 * 1024,
        "large enough to be shared: {}",
        alone.3.len()
    );
    let page: Value = serde_json::from_slice(&alone.3).unwrap();
    assert!(page["errors"].is_null(), "{page}");
    assert_eq!(
        page["data"]["jobExecutions"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        20
    );
    for (status, length, encoding, body) in answers.iter().chain([&alone]) {
        assert_eq!(*status, 200);
        assert_eq!(length.as_deref(), Some(body.len().to_string().as_str()));
        assert_eq!(encoding.as_deref(), None);
        assert_eq!(body, &alone.3);
    }
}
