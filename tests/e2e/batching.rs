//! DataLoader: the same page or execution asked twice in one request costs one upstream call.

use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn two_aliases_for_the_same_page_cost_one_request() {
    let env = Env::start(emulator_config(50)).await;
    env.reset();
    let resp = env
        .gql(
            r#"{
              a: jobExecutions(jobName: "data-processing-job", first: 20) { edges { cursor node { id } } }
              b: jobExecutions(jobName: "data-processing-job", first: 20) { totalCount nodes { metadata { id } } }
            }"#,
            json!({}),
        )
        .await;
    assert!(resp["errors"].is_null(), "{resp}");
    assert_eq!(resp["data"]["a"]["edges"].as_array().unwrap().len(), 20);
    assert_eq!(resp["data"]["b"]["nodes"].as_array().unwrap().len(), 20);
    assert_eq!(env.upstream(LIST_EXECUTIONS), 1);
}

#[tokio::test]
async fn the_same_execution_twice_costs_one_request() {
    let env = Env::start(emulator_config(10)).await;
    env.reset();
    let resp = env
        .gql(
            r#"{
              x: jobExecution(jobName: "data-processing-job", id: "exec-abc123") { id status }
              y: jobExecution(jobName: "data-processing-job", id: "exec-abc123") { metadata { id workspace } spec { envOverride memoryOverride } }
            }"#,
            json!({}),
        )
        .await;
    assert!(resp["errors"].is_null(), "{resp}");
    assert_eq!(resp["data"]["y"]["metadata"]["id"], "exec-abc123");
    assert_eq!(
        resp["data"]["y"]["spec"]["envOverride"],
        json!({"MY_VAR": "***", "BATCH_SIZE": "***"})
    );
    assert_eq!(resp["data"]["y"]["spec"]["memoryOverride"], 2048);
    assert_eq!(env.upstream(GET_EXECUTION), 1);
}

#[tokio::test]
async fn executions_of_several_jobs_in_one_query() {
    let env = Env::start(blaxel_emulator::EmulatorConfig {
        jobs: 5,
        executions_per_job: 30,
        ..Default::default()
    })
    .await;
    env.reset();
    let resp = env
        .gql(
            r#"{ jobs(first: 5) { totalCount nodes { metadata { name } executions(first: 20) { totalCount nodes { metadata { id job } } } } } }"#,
            json!({}),
        )
        .await;
    assert!(resp["errors"].is_null(), "{resp}");
    let jobs = resp["data"]["jobs"]["nodes"].as_array().unwrap();
    assert_eq!(jobs.len(), 5);
    for job in jobs {
        let name = job["metadata"]["name"].as_str().unwrap();
        let nodes = job["executions"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 20);
        assert!(nodes.iter().all(|n| n["metadata"]["job"] == name));
    }
    assert_eq!(env.upstream("GET /v0/jobs"), 1);
    assert_eq!(env.upstream(LIST_EXECUTIONS), 5, "one page per job");
}
