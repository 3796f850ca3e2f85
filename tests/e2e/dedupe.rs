//! `--upstream-dedupe`: identical upstream reads in flight at once are shared across requests
//! with the same credential (token and workspace), never across credentials.

use blaxel_emulator::{EmulatorConfig, Fault};
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
        EmulatorConfig {
            tokens: vec![
                ("dev-token".into(), "my-workspace".into()),
                ("other-token".into(), "my-workspace".into()),
            ],
            executions_per_job: 30,
            ..EmulatorConfig::default()
        },
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
