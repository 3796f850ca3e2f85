//! Every limit is configurable, and its error names the limit and its value.

use blaxel_emulator::Fault;
use blaxel_gateway::Config;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::harness::*;

async fn env() -> Env {
    let options = Config {
        max_first: 50,
        max_depth: 6,
        max_complexity: 200,
        max_aliases: 3,
        max_document_bytes: 2_000,
        max_body_bytes: 4_000,
        request_timeout_ms: 400,
        ..options()
    };
    Env::with(emulator_config(20), options).await
}

/// The single error of `resp`: its code, `extensions.limit`, `extensions.max` and message.
fn limit_error(resp: &Value) -> (String, Value, Value, String) {
    assert_eq!(
        resp["errors"].as_array().map(Vec::len),
        Some(1),
        "one error: {resp}"
    );
    let e = &resp["errors"][0];
    (
        e["extensions"]["code"]
            .as_str()
            .unwrap_or("<none>")
            .to_owned(),
        e["extensions"]["limit"].clone(),
        e["extensions"]["max"].clone(),
        e["message"].as_str().unwrap().to_owned(),
    )
}

fn assert_names(resp: &Value, limit: &str, max: u64) {
    let (code, name, value, message) = limit_error(resp);
    assert_eq!(code, "QUERY_TOO_COMPLEX", "{resp}");
    assert_eq!(name, limit, "{resp}");
    assert_eq!(value, max, "{resp}");
    assert!(
        message.contains(limit) && message.contains(&max.to_string()),
        "the message names {limit} = {max}: {message}"
    );
}

#[tokio::test]
async fn depth_limit() {
    let env = env().await;
    let deep =
        "{ jobs { nodes { executions { nodes { spec { tasks { metadata { name } } } } } } } }";
    assert_names(&env.gql(deep, json!({})).await, "maxDepth", 6);
    let ok = "{ jobs(first: 2) { nodes { metadata { name } } } }";
    assert!(env.gql(ok, json!({})).await["errors"].is_null());
}

#[tokio::test]
async fn parser_nesting_past_its_bound_is_query_too_complex() {
    let env = env().await;
    let nested = format!(
        "{{ {} __typename {} }}",
        "jobs { ".repeat(40),
        "} ".repeat(40)
    );
    let resp = env.gql(&nested, json!({})).await;
    assert_eq!(codes(&resp), ["QUERY_TOO_COMPLEX"], "{resp}");
}

#[tokio::test]
async fn complexity_grows_with_first() {
    let env = env().await;
    env.reset();
    let query = "query($n: Int) { jobExecutions(jobName: \"data-processing-job\", first: $n) { nodes { id metadata { id createdAt } } } }";
    assert_names(
        &env.gql(query, json!({"n": 50})).await,
        "maxComplexity",
        200,
    );
    let resp = env.gql(query, json!({"n": 10})).await;
    assert!(resp["errors"].is_null(), "{resp}");
    assert_eq!(
        env.emulator.emulator().stats().total,
        1,
        "one upstream call, for the query that fits"
    );
}

/// Validation is remembered per document, operation and variables (`graphql/validated.rs`):
/// a remembered success never answers for other variables or another operation of the same text.
#[tokio::test]
async fn a_remembered_validation_answers_only_the_same_request() {
    let env = env().await;
    env.reset();
    let query = "query Page($n: Int) { jobExecutions(jobName: \"data-processing-job\", first: $n) { nodes { id metadata { id createdAt } } } } query Small { __typename }";
    let request = |operation: &str, n: Value| json!({"query": query, "operationName": operation, "variables": {"n": n}});
    for _ in 0..3 {
        let resp = env.batch(&request("Page", json!(10))).await;
        assert!(resp["errors"].is_null(), "{resp}");
    }
    // The same text and operation with a larger `first`: its own complexity, over the limit.
    assert_names(
        &env.batch(&request("Page", json!(50))).await,
        "maxComplexity",
        200,
    );
    // The text's other operation, with the variables remembered for the first.
    let resp = env.batch(&request("Small", json!(10))).await;
    assert_eq!(resp["data"]["__typename"], "Query", "{resp}");
    // A value of the wrong type: refused, not answered from a remembered success.
    let resp = env.batch(&request("Page", json!("ten"))).await;
    let codes = codes(&resp);
    assert!(
        !codes.is_empty() && codes.iter().all(|c| c == "BAD_USER_INPUT"),
        "{resp}"
    );
    let resp = env.batch(&request("Page", json!(10))).await;
    assert!(resp["errors"].is_null(), "{resp}");
    assert_eq!(
        env.emulator.emulator().stats().total,
        4,
        "one upstream call per page request that validated"
    );
}

#[tokio::test]
async fn alias_limit() {
    let env = env().await;
    let query = "{ a: __typename b: __typename c: __typename d: __typename }";
    assert_names(&env.gql(query, json!({})).await, "maxAliases", 3);
    let fits = "{ a: __typename b: __typename c: __typename }";
    assert!(env.gql(fits, json!({})).await["errors"].is_null());
}

#[tokio::test]
async fn document_size_limit() {
    let env = env().await;
    let padded = format!("{{ __typename }} # {}", "x".repeat(2_100));
    assert_names(
        &env.gql(&padded, json!({})).await,
        "maxDocumentBytes",
        2_000,
    );
}

#[tokio::test]
async fn max_first_is_bad_user_input_naming_it() {
    let env = env().await;
    let query = r#"{ jobExecutions(jobName: "data-processing-job", first: 51) { totalCount } }"#;
    let resp = env.gql(query, json!({})).await;
    let (code, _, _, message) = limit_error(&resp);
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(
        message.contains("maxFirst") && message.contains("50"),
        "{message}"
    );
}

/// POSTs raw bytes; returns the status and the JSON body.
async fn post_raw(env: &Env, body: Vec<u8>) -> (u16, Value) {
    let resp = env
        .http
        .post(&env.gateway.url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn body_size_limit_is_a_graphql_error_with_413() {
    let env = env().await;
    let big = json!({"query": "{ __typename }", "variables": {"pad": "x".repeat(5_000)}});
    let (status, resp) = post_raw(&env, serde_json::to_vec(&big).unwrap()).await;
    assert_eq!(status, 413, "{resp}");
    assert_names(&resp, "maxBodyBytes", 4_000);
    // A body that fits goes through.
    let (status, resp) = post_raw(&env, br#"{"query": "{ __typename }"}"#.to_vec()).await;
    assert_eq!(
        (status, resp["data"]["__typename"].as_str()),
        (200, Some("Query"))
    );
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_413_too() {
    let env = env().await;
    let addr = env.gateway.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!(
        "{{\"query\": \"{{ __typename }}\", \"pad\": \"{}\"}}",
        "y".repeat(6_000)
    );
    let framed = format!("{:x}\r\n{chunk}\r\n0\r\n\r\n", chunk.len());
    // The gateway may answer and close before reading everything: ignore write errors.
    let _ = stream.write_all(framed.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    let json_start = body.find('{').unwrap();
    let json_end = body.rfind('}').unwrap();
    let resp: Value = serde_json::from_str(&body[json_start..=json_end]).unwrap();
    assert_names(&resp, "maxBodyBytes", 4_000);
}

/// One slow upstream call fails its own field (`UPSTREAM_TIMEOUT`) before the request's deadline,
/// so the healthy siblings are kept: the transport's retry deadline is 9/10 of the request
/// timeout.
#[tokio::test]
async fn a_slow_upstream_fails_its_field_not_the_request() {
    let env = env().await;
    env.emulator.emulator().set_faults(vec![Fault {
        route: LIST_EXECUTIONS.into(),
        latency_ms: Some(3_000),
        ..Fault::default()
    }]);
    let query = r#"{ jobExecutions(jobName: "data-processing-job") { totalCount } job(name: "data-processing-job") { metadata { name } } }"#;
    let (status, resp) =
        post_raw(&env, serde_json::to_vec(&json!({"query": query})).unwrap()).await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(codes(&resp), ["UPSTREAM_TIMEOUT"]);
    assert!(resp["data"]["jobExecutions"].is_null());
    assert_eq!(
        resp["data"]["job"]["metadata"]["name"],
        "data-processing-job"
    );
}

/// Work past the request timeout as a whole (here upstream calls in a chain, each within its
/// own deadline) is cut at the deadline: HTTP 504 with a GraphQL error naming the limit.
#[tokio::test]
async fn request_timeout_is_a_graphql_error_with_504() {
    let env = env().await;
    env.emulator.emulator().set_faults(vec![Fault {
        route: "*".into(),
        latency_ms: Some(250),
        ..Fault::default()
    }]);
    // The jobs listing, then each job's executions: two calls of 250 ms in a row.
    let query = r#"{ jobs(first: 2) { nodes { executions(first: 1) { totalCount } } } }"#;
    let (status, resp) =
        post_raw(&env, serde_json::to_vec(&json!({"query": query})).unwrap()).await;
    assert_eq!(status, 504, "{resp}");
    let (code, limit, max, message) = limit_error(&resp);
    assert_eq!(code, "UPSTREAM_TIMEOUT");
    assert_eq!((limit, max), (json!("requestTimeoutMs"), json!(400)));
    assert!(message.contains("400 ms"), "{message}");
    // Other requests are served meanwhile, and after.
    env.emulator.emulator().clear_faults();
    let resp = env.gql("{ __typename }", json!({})).await;
    assert!(resp["errors"].is_null());
}

#[tokio::test]
async fn every_error_has_a_code() {
    let env = env().await;
    for (query, code) in [
        ("{ jobs { ", "BAD_USER_INPUT"),
        ("{ noSuchField }", "BAD_USER_INPUT"),
        (
            r#"{ jobExecutions(jobName: 5) { totalCount } }"#,
            "BAD_USER_INPUT",
        ),
        (
            r#"{ jobExecutions(jobName: "x", first: 99999999999) { totalCount } }"#,
            "BAD_USER_INPUT",
        ),
        (
            "query($n: Int!) { jobs(first: $n) { totalCount } }",
            "BAD_USER_INPUT",
        ),
    ] {
        let resp = env.gql(query, json!({})).await;
        assert_eq!(codes(&resp), [code], "{query}: {resp}");
    }
}

/// The response-size estimate stays near the real size, so ordinary pages are not refused: a page
/// of 100 executions with every field (the bench's selection) is served under the default limits,
/// and its estimate is at least its real size and at most 8 times it.
#[tokio::test]
async fn an_every_field_page_of_100_is_served_and_priced_near_its_size() {
    let bench = concat!(env!("CARGO_MANIFEST_DIR"), "/../bench");
    let query = std::fs::read_to_string(format!("{bench}/page.graphql"))
        .unwrap()
        .replace("first: 20", "first: 100")
        + &std::fs::read_to_string(format!("{bench}/fields.graphql")).unwrap();

    let served = Env::start(emulator_config(150)).await;
    let resp = served.gql(&query, json!({})).await;
    assert!(resp["errors"].is_null(), "{resp}");
    let edges = resp["data"]["jobExecutions"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 100);
    let real = serde_json::to_vec(&resp).unwrap().len() as u64;

    let tight = Env::with(
        emulator_config(150),
        Config {
            max_response_bytes: 1_024,
            ..options()
        },
    )
    .await;
    let resp = tight.gql(&query, json!({})).await;
    let (code, limit, _, message) = limit_error(&resp);
    assert_eq!(
        (code.as_str(), limit),
        ("QUERY_TOO_COMPLEX", json!("maxResponseBytes"))
    );
    let estimate: u64 = message
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .expect("the message states the estimate");
    assert!(
        (real..=8 * real).contains(&estimate),
        "estimate {estimate} bytes for an answer of {real} bytes"
    );
    assert_eq!(
        tight.upstream(LIST_EXECUTIONS),
        0,
        "refused before any call"
    );
}
