//! Relay paging over the upstream cursors: exactly once, in order, one request per page.

use blaxel_models::PaginationSort;
use blaxel_transport::{Client, ClientConfig, Credentials, ListExecutionsRequest, Token};
use futures::TryStreamExt as _;
use serde_json::{Value, json};

use blaxel_gateway::Config;

use crate::harness::*;

const PAGE: &str = r#"query($job: String!, $first: Int, $after: String, $sort: JobExecutionSort, $query: String) {
  jobExecutions(jobName: $job, first: $first, after: $after, sort: $sort, query: $query) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id metadata { id job workspace createdAt } status } }
  }
}"#;

const JOB: &str = "data-processing-job";

/// The upstream's own order for a sort, read directly with the transport.
async fn upstream_ids(env: &Env, sort: PaginationSort) -> Vec<String> {
    let client = Client::new(ClientConfig {
        token: Some(Token::new("dev-token")),
        ..ClientConfig::new(env.emulator.base_url())
    })
    .unwrap();
    let ids: Vec<String> = client
        .job_executions_stream(
            Credentials::default(),
            JOB.to_owned(),
            ListExecutionsRequest {
                limit: Some(100),
                sort: Some(sort),
                ..Default::default()
            },
        )
        .map_ok(|e| e.metadata.id.unwrap())
        .try_collect()
        .await
        .unwrap();
    env.reset();
    ids
}

fn conn(resp: &Value) -> &Value {
    assert!(resp["errors"].is_null(), "unexpected errors: {resp}");
    &resp["data"]["jobExecutions"]
}

fn ids(conn: &Value) -> Vec<String> {
    conn["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["metadata"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Follows `endCursor` from the start; returns every id and the number of GraphQL pages.
async fn walk(env: &Env, first: i64, sort: &str) -> (Vec<String>, usize) {
    let mut all = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let resp = env
            .gql(
                PAGE,
                json!({"job": JOB, "first": first, "after": after, "sort": sort}),
            )
            .await;
        let c = conn(&resp);
        pages += 1;
        all.extend(ids(c));
        assert_eq!(c["pageInfo"]["hasPreviousPage"], json!(pages > 1));
        if !c["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return (all, pages);
        }
        after = c["pageInfo"]["endCursor"].clone();
        assert!(pages < 1000, "runaway paging");
    }
}

const SORTS: [(&str, PaginationSort); 4] = [
    ("CREATED_AT_DESC", PaginationSort::CreatedAtDesc),
    ("CREATED_AT_ASC", PaginationSort::CreatedAtAsc),
    ("NAME_ASC", PaginationSort::NameAsc),
    ("NAME_DESC", PaginationSort::NameDesc),
];

#[tokio::test]
async fn every_execution_once_in_order_for_every_sort_and_page_size() {
    let env = Env::start(emulator_config(200)).await;
    for (sort, upstream_sort) in SORTS {
        let expected = upstream_ids(&env, upstream_sort).await;
        assert_eq!(expected.len(), 200);
        for first in [1, 7, 20, 100, 150] {
            env.reset();
            let (got, pages) = walk(&env, first, sort).await;
            assert_eq!(got, expected, "sort {sort}, first {first}");
            let upstream = env.upstream(LIST_EXECUTIONS) as usize;
            if first <= 100 {
                assert_eq!(
                    upstream, pages,
                    "one upstream request per page: sort {sort}, first {first}"
                );
            } else {
                assert!(
                    upstream <= 2 * pages,
                    "first {first}: {upstream} requests for {pages} pages"
                );
            }
        }
    }
}

#[tokio::test]
async fn upstream_request_counts_for_200_executions() {
    let env = Env::start(emulator_config(200)).await;
    env.reset();
    let (got, pages) = walk(&env, 20, "CREATED_AT_DESC").await;
    assert_eq!((got.len(), pages), (200, 10));
    assert_eq!(
        env.upstream(LIST_EXECUTIONS),
        10,
        "first: 20 -> 10 upstream requests"
    );
    env.reset();
    let (got, pages) = walk(&env, 7, "CREATED_AT_DESC").await;
    assert_eq!((got.len(), pages), (200, 29));
    assert_eq!(
        env.upstream(LIST_EXECUTIONS),
        29,
        "first: 7 -> 29 upstream requests"
    );
}

#[tokio::test]
async fn after_any_edge_resumes_right_after_it() {
    let env = Env::start(emulator_config(120)).await;
    let expected = upstream_ids(&env, PaginationSort::CreatedAtDesc).await;
    let resp = env.gql(PAGE, json!({"job": JOB, "first": 30})).await;
    let c = conn(&resp);
    let edges = c["edges"].as_array().unwrap().clone();
    assert_eq!(c["pageInfo"]["startCursor"], edges[0]["cursor"]);
    assert_eq!(c["pageInfo"]["endCursor"], edges[29]["cursor"]);
    for i in [0usize, 6, 17, 28, 29] {
        env.reset();
        let resp = env
            .gql(
                PAGE,
                json!({"job": JOB, "first": 25, "after": edges[i]["cursor"]}),
            )
            .await;
        assert_eq!(
            ids(conn(&resp)),
            expected[i + 1..i + 26].to_vec(),
            "after edge {i}"
        );
        assert_eq!(
            env.upstream(LIST_EXECUTIONS),
            1,
            "resuming after edge {i} costs one request"
        );
    }
    // Every cursor is distinct.
    let mut cursors: Vec<&str> = edges
        .iter()
        .map(|e| e["cursor"].as_str().unwrap())
        .collect();
    cursors.sort_unstable();
    cursors.dedup();
    assert_eq!(cursors.len(), 30);
}

#[tokio::test]
async fn first_over_100_follows_upstream_pages_up_to_the_maximum() {
    let env = Env::start(emulator_config(700)).await;
    env.reset();
    let resp = env.gql(PAGE, json!({"job": JOB, "first": 250})).await;
    let c = conn(&resp);
    assert_eq!(c["edges"].as_array().unwrap().len(), 250);
    assert_eq!(c["totalCount"], 700);
    assert_eq!(c["pageInfo"]["hasNextPage"], true);
    assert_eq!(env.upstream(LIST_EXECUTIONS), 3);
    let resp = env.gql(PAGE, json!({"job": JOB, "first": 501})).await;
    assert_eq!(codes(&resp), ["BAD_USER_INPUT"]);
    assert!(
        resp["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("500")
    );
}

#[tokio::test]
async fn first_zero_and_total_count() {
    let env = Env::start(emulator_config(42)).await;
    let resp = env.gql(PAGE, json!({"job": JOB, "first": 0})).await;
    let c = conn(&resp);
    assert_eq!(c["edges"], json!([]));
    assert_eq!(c["totalCount"], 42);
    assert_eq!(c["pageInfo"]["hasNextPage"], true);
    assert_eq!(c["pageInfo"]["endCursor"], Value::Null);
}

#[tokio::test]
async fn query_filters_and_binds_the_cursor() {
    let env = Env::start(emulator_config(150)).await;
    let resp = env
        .gql(
            PAGE,
            json!({"job": JOB, "first": 100, "query": "  EXEC-A "}),
        )
        .await;
    let c = conn(&resp);
    let got = ids(c);
    assert!(got.iter().all(|id| id.contains("exec-a")), "{got:?}");
    // totalCount ignores the query (upstream meta.total).
    assert_eq!(c["totalCount"], 150);
}

#[tokio::test]
async fn legacy_api_version_pages_by_offsets() {
    let options = Config {
        api_version: "2026-04-16".parse().unwrap(),
        ..options()
    };
    let env = Env::with(emulator_config(55), options).await;
    let expected = upstream_ids(&env, PaginationSort::CreatedAtDesc).await;
    env.reset();
    let (got, pages) = walk(&env, 20, "CREATED_AT_DESC").await;
    assert_eq!(got, expected);
    assert_eq!(pages, 3);
    let resp = env.gql(PAGE, json!({"job": JOB, "first": 5})).await;
    assert_eq!(
        conn(&resp)["totalCount"],
        Value::Null,
        "legacy lists carry no total"
    );
}

#[tokio::test]
async fn a_middle_edge_cursor_survives_new_executions_at_the_head() {
    let env = Env::start(emulator_config(40)).await;
    let resp = env.gql(PAGE, json!({"job": JOB, "first": 20})).await;
    let before = ids(conn(&resp));
    let middle = conn(&resp)["edges"][9]["cursor"].clone();
    // Two executions start: they arrive at the head of the createdAt:desc listing.
    let client = Client::new(ClientConfig {
        token: Some(Token::new("dev-token")),
        ..ClientConfig::new(env.emulator.base_url())
    })
    .unwrap();
    for _ in 0..2 {
        client
            .create_job_execution(&Credentials::default(), JOB, &Default::default())
            .await
            .unwrap();
    }
    let resp = env
        .gql(PAGE, json!({"job": JOB, "first": 5, "after": middle}))
        .await;
    assert_eq!(
        ids(conn(&resp)),
        before[10..15].to_vec(),
        "resumes right after edge 9"
    );
}
