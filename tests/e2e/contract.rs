//! The contract of API version 2026-09-22 through the gateway: `taskCount`, tasks kept apart
//! from large executions (`tasksRef`), and partial totals (`totalIsPartial`).

use blaxel_emulator::{EmulatorConfig, route};
use serde_json::json;

use crate::harness::*;

/// A lower-bound total says so: `totalCountIsPartial`, so a UI never renders "page X of Y".
#[tokio::test]
async fn a_partial_total_is_flagged() {
    let env = Env::start(EmulatorConfig {
        executions_per_job: 30,
        total_count_limit: Some(10),
        ..EmulatorConfig::default()
    })
    .await;
    let query = r#"{ jobExecutions(jobName: "data-processing-job", first: 25) { totalCount totalCountIsPartial pageInfo { hasNextPage } nodes { id } } }"#;
    let resp = env.gql(query, json!({})).await;
    let conn = &resp["data"]["jobExecutions"];
    assert_eq!(conn["totalCountIsPartial"], true, "{resp}");
    assert_eq!(conn["totalCount"], 10, "the upstream's lower bound");
    assert_eq!(conn["nodes"].as_array().unwrap().len(), 25);
    let exact = Env::start(emulator_config(30))
        .await
        .gql(query, json!({}))
        .await;
    assert_eq!(exact["data"]["jobExecutions"]["totalCountIsPartial"], false);
    assert_eq!(exact["data"]["jobExecutions"]["totalCount"], 30);
}

/// Executions whose task list the upstream keeps apart (`tasksRef`, no inline `tasks`) still
/// answer `tasks`, read from the tasks listing: as many as `taskCount`, one listing call per such
/// execution, and the same tasks the listing serves.
#[tokio::test]
async fn tasks_kept_apart_are_read_from_the_tasks_listing() {
    let env = Env::start(EmulatorConfig {
        executions_per_job: 12,
        inline_tasks_max: 3,
        ..EmulatorConfig::default()
    })
    .await;
    env.reset();
    let query = r#"{ jobExecutions(jobName: "data-processing-job", first: 12) {
        nodes { metadata { id } spec { taskCount } tasks { metadata { name } status } }
    } }"#;
    let resp = env.gql(query, json!({})).await;
    assert!(resp["errors"].is_null(), "{resp}");
    let nodes = resp["data"]["jobExecutions"]["nodes"].as_array().unwrap();
    let mut apart = 0;
    for node in nodes {
        let count = node["spec"]["taskCount"]
            .as_u64()
            .expect("taskCount on every execution");
        let tasks = node["tasks"].as_array().unwrap();
        assert_eq!(tasks.len() as u64, count, "{node}");
        apart += u64::from(count > 3);
    }
    assert!(apart > 0, "some executions keep their tasks apart");
    assert_eq!(
        env.upstream(route::LIST_TASKS),
        apart,
        "one listing page each"
    );
    assert_eq!(env.upstream(route::LIST_EXECUTIONS), 1);
}
