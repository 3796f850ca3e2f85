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

/// `job(name:)` lookups batched: from the threshold on, one listing page answers every name
/// (the ones the workspace lacks answer null), instead of one `GET /jobs/{name}` each.
#[tokio::test]
async fn many_job_lookups_cost_one_listing_page() {
    let env = Env::start(blaxel_emulator::EmulatorConfig {
        jobs: 6,
        executions_per_job: 2,
        ..Default::default()
    })
    .await;
    env.reset();
    let resp = env
        .gql(
            r#"{
              a: job(name: "data-processing-job") { metadata { name } }
              b: job(name: "job-1") { metadata { name } }
              c: job(name: "job-2") { metadata { name } status }
              d: job(name: "job-5") { metadata { name } }
              e: job(name: "no-such-job") { metadata { name } }
            }"#,
            json!({}),
        )
        .await;
    assert!(resp["errors"].is_null(), "{resp}");
    for (alias, name) in [
        ("a", "data-processing-job"),
        ("b", "job-1"),
        ("c", "job-2"),
        ("d", "job-5"),
    ] {
        assert_eq!(resp["data"][alias]["metadata"]["name"], name, "{resp}");
    }
    assert!(resp["data"]["e"].is_null());
    assert_eq!(env.upstream("GET /v0/jobs"), 1, "one listing page");
    assert_eq!(env.upstream("GET /v0/jobs/{jobId}"), 0, "no GET per name");
}

/// Below the threshold, each name is one `GET /jobs/{name}`, and a repeated name costs nothing.
#[tokio::test]
async fn few_job_lookups_are_one_get_each() {
    let env = Env::start(emulator_config(2)).await;
    env.reset();
    let resp = env
        .gql(
            r#"{
              a: job(name: "data-processing-job") { metadata { name } }
              b: job(name: "job-1") { metadata { name } }
              c: job(name: "job-1") { status }
            }"#,
            json!({}),
        )
        .await;
    assert!(resp["errors"].is_null(), "{resp}");
    assert_eq!(resp["data"]["b"]["metadata"]["name"], "job-1");
    assert_eq!(env.upstream("GET /v0/jobs/{jobId}"), 2);
    assert_eq!(env.upstream("GET /v0/jobs"), 0);
}

/// Two operations of a batch read the same 200 executions at two depths (the second under a job
/// lookup, so after the first is written): the pages are read once, and the batch fits a cap of
/// 3 upstream calls (1 lookup + 2 pages) as it did when the dataloader kept every page.
#[tokio::test]
async fn a_batch_reading_the_same_pages_twice_reads_them_once() {
    let env = Env::with(
        emulator_config(250),
        blaxel_gateway::Config {
            max_upstream_calls: 3,
            ..options()
        },
    )
    .await;
    // The lookup answers after the listing: the second operation asks once the first is written.
    env.emulator.emulator().set_faults(vec![
        blaxel_emulator::Fault {
            route: LIST_EXECUTIONS.to_owned(),
            latency_ms: Some(20),
            ..Default::default()
        },
        blaxel_emulator::Fault {
            route: "GET /v0/jobs/{jobId}".to_owned(),
            latency_ms: Some(120),
            ..Default::default()
        },
    ]);
    env.reset();
    let selection = "first: 200) { totalCount pageInfo { hasNextPage endCursor } }";
    let batch = json!([
        {"query": format!("{{ jobExecutions(jobName: \"data-processing-job\", {selection} }}")},
        {"query": format!("{{ job(name: \"data-processing-job\") {{ executions({selection} }} }}")},
    ]);
    let answers = env.batch(&batch).await;
    let answers = answers.as_array().unwrap();
    assert!(answers.iter().all(|a| a["errors"].is_null()), "{answers:?}");
    assert_eq!(
        answers[0]["data"]["jobExecutions"],
        answers[1]["data"]["job"]["executions"]
    );
    assert_eq!(env.upstream(LIST_EXECUTIONS), 2);
}
