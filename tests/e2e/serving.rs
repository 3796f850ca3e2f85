//! HTTP surface: GET queries, GraphiQL, SDL, health, readiness, metrics, body limit.

use serde_json::{Value, json};

use crate::harness::*;

#[tokio::test]
async fn http_endpoints() {
    let env = Env::start(emulator_config(5)).await;
    let base = &env.gateway.base;
    let get = |path: String| {
        let http = env.http.clone();
        async move { http.get(path).send().await.unwrap() }
    };
    assert_eq!(get(format!("{base}/healthz")).await.status(), 200);
    assert_eq!(get(format!("{base}/readyz")).await.status(), 200);
    let sdl = get(format!("{base}/schema.graphql"))
        .await
        .text()
        .await
        .unwrap();
    assert!(sdl.contains("type JobExecutionConnection"), "{sdl}");
    assert_eq!(
        sdl,
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../schema/gateway.graphql"
        ))
        .unwrap()
    );
    let resp: Value = env
        .http
        .get(format!("{base}/graphql"))
        .query(&[(
            "query",
            "{ jobExecutions(jobName: \"data-processing-job\", first: 2) { totalCount } }",
        )])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resp["data"]["jobExecutions"]["totalCount"], 5);
    let html = env
        .http
        .get(format!("{base}/graphql"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.to_lowercase().contains("graphiql"));
    assert_eq!(get(format!("{base}/metrics")).await.status(), 200);
    let big = "x".repeat(300 * 1024);
    let status = env
        .http
        .post(&env.gateway.url)
        .json(&json!({"query": big}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 413);
}

#[tokio::test]
async fn readyz_fails_when_the_upstream_is_down() {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    let gw = gateway("http://127.0.0.1:9/v0", options()).await;
    let status = reqwest::Client::new()
        .get(format!("{}/readyz", gw.base))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 503);
}

#[tokio::test]
async fn node_refetches_executions_and_jobs() {
    let env = Env::start(emulator_config(5)).await;
    let resp = env
        .gql(r#"{ jobExecution(jobName: "data-processing-job", id: "exec-abc123") { id } job(name: "data-processing-job") { id } }"#, json!({}))
        .await;
    let exec_id = resp["data"]["jobExecution"]["id"].clone();
    let job_id = resp["data"]["job"]["id"].clone();
    let resp = env
        .gql(
            r#"query($a: ID!, $b: ID!) { a: node(id: $a) { id ... on JobExecution { metadata { id } } } b: node(id: $b) { id ... on Job { metadata { name } } } }"#,
            json!({"a": exec_id, "b": job_id}),
        )
        .await;
    assert!(resp["errors"].is_null(), "{resp}");
    assert_eq!(resp["data"]["a"]["metadata"]["id"], "exec-abc123");
    assert_eq!(resp["data"]["b"]["metadata"]["name"], "data-processing-job");
    let resp = env.gql(r#"{ node(id: "bogus") { id } }"#, json!({})).await;
    assert_eq!(codes(&resp), ["BAD_USER_INPUT"]);
}
