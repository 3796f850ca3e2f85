//! `JobExecution.tasksConnection`: a full walk equals the REST listing, one upstream call per
//! page, and cursors refused anywhere else before any upstream call.

use blaxel_emulator::route;
use blaxel_models::PaginationSort;
use blaxel_transport::{Client, ClientConfig, Credentials, ListTasksRequest, Token};
use serde_json::{Value, json};

use crate::harness::*;

const JOB: &str = "data-processing-job";

const TASKS: &str = r#"query($job: String!, $id: String!, $first: Int, $after: String) {
  jobExecution(jobName: $job, id: $id) {
    tasksConnection(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage endCursor }
      edges { cursor node { metadata { name } status } }
    }
  }
}"#;

/// Creates execution `id` with `n` tasks.
async fn create(env: &Env, id: &str, n: usize) {
    let tasks: Vec<Value> = (0..n).map(|i| json!({"i": i})).collect();
    let resp = create_execution(env, json!({"executionId": id, "tasks": tasks})).await;
    assert!(resp["errors"].is_null(), "{resp}");
}

/// The task names of the REST listing, page by page of 200.
async fn rest_names(env: &Env, id: &str) -> Vec<String> {
    let client = Client::new(ClientConfig {
        token: Some(Token::new("dev-token")),
        ..ClientConfig::new(env.emulator.base_url())
    })
    .unwrap();
    let mut names = Vec::new();
    let mut cursor = None;
    loop {
        let page = client
            .list_job_execution_tasks(
                &Credentials::default(),
                JOB,
                id,
                &ListTasksRequest {
                    limit: Some(200),
                    cursor: cursor.take(),
                    sort: Some(PaginationSort::CreatedAtDesc),
                    q: None,
                },
            )
            .await
            .unwrap();
        names.extend(
            page.items
                .iter()
                .map(|t| t.metadata.as_ref().unwrap().name.clone().unwrap()),
        );
        match page.next_cursor() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return names,
        }
    }
}

fn connection(resp: &Value) -> &Value {
    assert!(resp["errors"].is_null(), "{resp}");
    &resp["data"]["jobExecution"]["tasksConnection"]
}

#[tokio::test]
async fn a_full_walk_equals_the_rest_listing_one_call_per_page() {
    let env = Env::start(emulator_config(0)).await;
    create(&env, "wide", 450).await;
    env.emulator.emulator().advance_clock(30);
    let expected = rest_names(&env, "wide").await;
    assert_eq!(expected.len(), 450);
    env.reset();
    let mut names = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let resp = env
            .gql(
                TASKS,
                json!({"job": JOB, "id": "wide", "first": 200, "after": after}),
            )
            .await;
        let conn = connection(&resp);
        pages += 1;
        assert_eq!(conn["totalCount"], 450);
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], json!(pages > 1));
        for edge in conn["edges"].as_array().unwrap() {
            names.push(
                edge["node"]["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
            assert!(edge["cursor"].as_str().is_some_and(|c| !c.is_empty()));
        }
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(names, expected, "every task once, in the upstream's order");
    assert_eq!(pages, 3);
    assert_eq!(env.upstream(route::LIST_TASKS), 3, "one call per page");
    assert_eq!(env.upstream(route::GET_EXECUTION), 3);

    // Any edge cursor resumes right after its edge.
    let first = env
        .gql(TASKS, json!({"job": JOB, "id": "wide", "first": 5}))
        .await;
    let edges = connection(&first)["edges"].as_array().unwrap().clone();
    let resumed = env
        .gql(
            TASKS,
            json!({"job": JOB, "id": "wide", "first": 2, "after": edges[2]["cursor"]}),
        )
        .await;
    let got: Vec<&str> = connection(&resumed)["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(got, [expected[3].as_str(), expected[4].as_str()]);
}

#[tokio::test]
async fn foreign_cursors_are_refused_before_any_upstream_call() {
    let env = Env::start(emulator_config(5)).await;
    create(&env, "one", 3).await;
    create(&env, "two", 3).await;
    let page = env
        .gql(TASKS, json!({"job": JOB, "id": "one", "first": 1}))
        .await;
    let cursor = connection(&page)["pageInfo"]["endCursor"].clone();
    let executions = env
        .gql(
            r#"{ jobExecutions(jobName: "data-processing-job", first: 1) { pageInfo { endCursor } } }"#,
            json!({}),
        )
        .await;
    let executions_cursor = executions["data"]["jobExecutions"]["pageInfo"]["endCursor"].clone();
    env.reset();
    for (id, after) in [
        ("two", cursor.clone()),
        ("one", executions_cursor),
        ("one", json!("not-a-cursor")),
    ] {
        let resp = env
            .gql(
                TASKS,
                json!({"job": JOB, "id": id, "first": 2, "after": after}),
            )
            .await;
        assert_eq!(codes(&resp), ["CURSOR_INVALID"], "{resp}");
        assert!(resp["data"]["jobExecution"]["tasksConnection"].is_null());
    }
    assert_eq!(env.upstream(route::LIST_TASKS), 0);
    // Another workspace's caller cannot use it either (the cursor is bound to the workspace).
    let other = env
        .gql_as(
            TASKS,
            json!({"job": JOB, "id": "one", "first": 2, "after": cursor}),
            &[("x-blaxel-workspace", "other-workspace")],
        )
        .await;
    assert!(!codes(&other).is_empty(), "{other}");
    assert_eq!(env.upstream(route::LIST_TASKS), 0);
    let negative = env
        .gql(TASKS, json!({"job": JOB, "id": "one", "first": -1}))
        .await;
    assert_eq!(codes(&negative), ["BAD_USER_INPUT"], "{negative}");
}

#[tokio::test]
async fn tasks_of_every_execution_of_a_page_cost_what_they_fetch() {
    let env = Env::start(emulator_config(5)).await;
    let resp = env
        .gql(
            r#"{ jobExecutions(jobName: "data-processing-job", first: 500) {
                   edges { node { tasksConnection(first: 200) { edges { node { status } } } } }
                 } }"#,
            json!({}),
        )
        .await;
    assert_eq!(codes(&resp), ["QUERY_TOO_COMPLEX"], "{resp}");
    assert_eq!(env.upstream(route::LIST_EXECUTIONS), 0);
    assert_eq!(env.upstream(route::LIST_TASKS), 0);
}

/// An execution's keys come back in selection order although `tasksConnection` (from the tasks
/// listing, slowed down here) completes after its synchronous siblings (read on the raw body: a
/// JSON map would sort the keys).
#[tokio::test]
async fn a_slow_tasks_connection_keeps_its_place_among_the_execution_fields() {
    let env = Env::start(emulator_config(1)).await;
    create(&env, "ordered", 3).await;
    env.emulator
        .emulator()
        .set_faults(vec![blaxel_emulator::Fault {
            route: route::LIST_TASKS.to_owned(),
            latency_ms: Some(150),
            ..Default::default()
        }]);
    let query = r#"{ jobExecution(jobName: "data-processing-job", id: "ordered") {
      tasksConnection(first: 2) { totalCount }
      id
      status
    } }"#;
    let (body, at) = raw_answer(&env, query).await;
    assert!(
        at("tasksConnection") < at("id") && at("id") < at("status"),
        "{body}"
    );
    assert_eq!(env.upstream(route::LIST_TASKS), 1, "{body}");
}
