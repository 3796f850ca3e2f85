//! A hostile caller, one test per attack class: each asserts the refusal (its code and the limit
//! it names), the upstream calls it cost (the emulator's counts), and that another caller is
//! served meanwhile.

use std::time::Duration;

use blaxel_emulator::{Fault, route};
use blaxel_transport::{Client, ClientConfig, Credentials, Token};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::harness::*;

const JOB: &str = "data-processing-job";
const HEALTHY: &str =
    r#"{ jobExecutions(jobName: "data-processing-job", first: 2) { totalCount } }"#;

/// The single error of `resp` and the limit it names.
fn refusal(resp: &Value) -> (String, String) {
    assert_eq!(resp["errors"].as_array().map(Vec::len), Some(1), "{resp}");
    let e = &resp["errors"][0];
    (
        e["extensions"]["code"].as_str().unwrap_or("").to_owned(),
        e["extensions"]["limit"].as_str().unwrap_or("").to_owned(),
    )
}

/// Another caller's ordinary query, answered in full.
async fn served(env: &Env) {
    let resp = env.gql(HEALTHY, json!({})).await;
    assert!(resp["errors"].is_null(), "{resp}");
    assert!(resp["data"]["jobExecutions"]["totalCount"].is_number());
}

/// A fragment bomb (each fragment spreads the next four times: 4^30 fields from ~1 KB) is
/// refused before validation, which would expand it; nothing reaches the upstream, and four
/// bombs at once do not hold the workers from another caller.
#[tokio::test]
async fn fragment_bomb() {
    let env = Env::start(emulator_config(5)).await;
    let mut bomb = String::from("query { ...F0 }");
    for i in 0..30 {
        let n = i + 1;
        bomb.push_str(&format!(
            " fragment F{i} on Query {{ ...F{n} ...F{n} ...F{n} ...F{n} }}"
        ));
    }
    bomb.push_str(" fragment F30 on Query { __typename }");
    assert!(bomb.len() < 2_000);
    env.reset();
    let bombs = (0..4).map(|_| env.gql(&bomb, json!({})));
    let (answers, ()) = tokio::join!(futures::future::join_all(bombs), served(&env));
    for resp in answers {
        assert_eq!(
            refusal(&resp),
            ("QUERY_TOO_COMPLEX".into(), "maxFields".into())
        );
    }
    assert_eq!(
        env.upstream(route::LIST_EXECUTIONS),
        1,
        "only the healthy query"
    );
}

/// Fan-out: 62 aliased `executions(first: 1)` in a fragment under `jobs(first: 200)` would cost
/// 12,401 upstream calls from 3.4 KB. The cost model counts the fragment for each job and each
/// alias, and refuses it before any call; a batch of three is refused by `maxBatch`... or by
/// the same price, never by the upstream.
#[tokio::test]
async fn fan_out() {
    let env = Env::start(emulator_config(5)).await;
    let aliases: String = (0..62)
        .map(|i| format!("e{i}: executions(first: 1) {{ totalCount }} "))
        .collect();
    let query =
        format!("{{ jobs(first: 200) {{ nodes {{ ...F }} }} }} fragment F on Job {{ {aliases} }}");
    env.reset();
    let resp = env.gql(&query, json!({})).await;
    assert_eq!(
        refusal(&resp),
        ("QUERY_TOO_COMPLEX".into(), "maxUpstreamCalls".into())
    );
    let message = resp["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("12401 upstream calls"), "{message}");
    assert_eq!(env.emulator.emulator().stats().total, 0);
    served(&env).await;
}

/// Batches: more operations than `maxBatch` are refused whole (HTTP 400, nothing runs); a batch
/// within it shares one cap on upstream calls, so three operations that each fit cannot add up
/// past it.
#[tokio::test]
async fn batches() {
    let env = Env::start(blaxel_emulator::EmulatorConfig {
        jobs: 60,
        executions_per_job: 2,
        ..Default::default()
    })
    .await;
    env.reset();
    let op = json!({"query": "{ __typename }"});
    let too_many: Vec<Value> = (0..11).map(|_| op.clone()).collect();
    let resp = env
        .http
        .post(&env.gateway.url)
        .json(&too_many)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        refusal(&body),
        ("QUERY_TOO_COMPLEX".into(), "maxBatch".into())
    );

    // The same operation three times shares the batch's loaders: 41 calls, not 123.
    let heavy = |first: u32| json!({"query": format!("{{ jobs(first: 40) {{ nodes {{ executions(first: {first}) {{ nodes {{ id }} }} }} }} }}")});
    let same = vec![heavy(1), heavy(1), heavy(1)];
    let answers: Value = env.batch(&Value::from(same)).await;
    assert!(
        answers
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["errors"].is_null()),
        "{answers}"
    );
    assert_eq!(env.emulator.emulator().stats().total, 41);
    env.reset();
    // Three distinct operations of 41 calls each (each under 100): 123 in all, past the cap.
    let batch = vec![heavy(1), heavy(2), heavy(3)];
    let answers: Value = env.batch(&Value::from(batch)).await;
    let calls = env.emulator.emulator().stats().total;
    assert!(
        calls <= 100,
        "the batch's calls stay under the cap: {calls}"
    );
    let capped = answers
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["errors"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["extensions"]["limit"] == "maxUpstreamCalls")
        .count();
    assert!(capped > 0, "the cap answers the rest: {answers}");
    served(&env).await;
}

/// Memory: 64 aliases of `first: 500` selecting items would hold 320 upstream pages: refused by
/// price before any call. Selecting only `totalCount`, the same 64 aliases are one upstream page
/// of one item (the totals are the listing's meta; the aliases share the request's loader).
#[tokio::test]
async fn memory_amplification() {
    let env = Env::start(emulator_config(5)).await;
    let aliases = |selection: &str| -> String {
        (0..64)
            .map(|i| {
                format!("a{i}: jobExecutions(jobName: \"{JOB}\", first: 500) {{ {selection} }} ")
            })
            .collect()
    };
    env.reset();
    let resp = env
        .gql(&format!("{{ {} }}", aliases("nodes { id }")), json!({}))
        .await;
    assert_eq!(
        refusal(&resp),
        ("QUERY_TOO_COMPLEX".into(), "maxUpstreamCalls".into())
    );
    assert_eq!(env.emulator.emulator().stats().total, 0);

    let resp = env
        .gql(&format!("{{ {} }}", aliases("totalCount")), json!({}))
        .await;
    assert!(resp["errors"].is_null(), "{resp}");
    assert_eq!(resp["data"]["a63"]["totalCount"], 5);
    assert_eq!(env.emulator.emulator().stats().total, 1);
    served(&env).await;
}

/// Slow clients: a body trickled past the request timeout is cut with the 504 of the request
/// deadline; headers trickled past the header timeout get the connection closed. Meanwhile
/// another caller is served.
#[tokio::test]
async fn slow_clients() {
    let env = Env::with(
        emulator_config(5),
        blaxel_gateway::Config {
            request_timeout_ms: 500,
            ..options()
        },
    )
    .await;
    let addr = env.gateway.base.trim_start_matches("http://").to_owned();
    let mut body_trickler = tokio::net::TcpStream::connect(&addr).await.unwrap();
    body_trickler
        .write_all(b"POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"qu")
        .await
        .unwrap();
    served(&env).await;
    let mut answer = Vec::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        body_trickler.read_to_end(&mut answer),
    )
    .await
    .expect("the gateway answers the trickler within its deadline")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 504"), "{answer}");
    assert!(answer.contains("requestTimeoutMs"), "{answer}");

    let mut header_trickler = tokio::net::TcpStream::connect(&addr).await.unwrap();
    header_trickler
        .write_all(b"POST /graphql HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(
        blaxel_gateway::HEADER_READ_TIMEOUT + Duration::from_secs(10),
        header_trickler.read_to_end(&mut rest),
    )
    .await;
    assert!(
        closed.is_ok(),
        "the connection is closed after the header timeout"
    );
    served(&env).await;
}

/// Names that would change the upstream path (`.`, `..`, control characters) are refused before
/// any call, as `BAD_USER_INPUT`.
#[tokio::test]
async fn path_segments() {
    let env = Env::start(emulator_config(5)).await;
    env.reset();
    for name in [".", "..", "data-processing-job\n", "a\tb", "a\rb"] {
        let resp = env
            .gql(
                "query($n: String!) { job(name: $n) { id } jobExecutions(jobName: $n) { totalCount } }",
                json!({"n": name}),
            )
            .await;
        assert_eq!(
            codes(&resp),
            ["BAD_USER_INPUT", "BAD_USER_INPUT"],
            "{name:?}: {resp}"
        );
    }
    // Odd but legal characters are one encoded segment: an unknown job, not another route.
    let resp = env
        .gql(r#"{ job(name: "a/b?c#d") { id } }"#, json!({}))
        .await;
    assert!(
        resp["errors"].is_null() && resp["data"]["job"].is_null(),
        "{resp}"
    );
    assert_eq!(env.upstream(route::GET_JOB), 1);
    assert_eq!(env.emulator.emulator().stats().total, 1);
    served(&env).await;
}

/// A malformed credential header is an error, never a fallback to another header or to the
/// configured credential.
#[tokio::test]
async fn malformed_credentials() {
    let env = Env::start(emulator_config(5)).await;
    env.reset();
    for (header, value) in [
        ("x-blaxel-workspace", &b"caf\xc3\xa9"[..]),
        ("authorization", b"Basic dXNlcjpwYXNz"),
        ("authorization", b"Bearer "),
    ] {
        let resp = env
            .http
            .post(&env.gateway.url)
            .header(
                header,
                reqwest::header::HeaderValue::from_bytes(value).unwrap(),
            )
            .json(&json!({"query": HEALTHY}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{header}");
        let body: Value = resp.json().await.unwrap();
        let code = body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            ["UNAUTHENTICATED", "BAD_USER_INPUT"].contains(&code.as_str()),
            "{body}"
        );
        assert!(body["data"].is_null());
    }
    assert_eq!(
        env.emulator.emulator().stats().total,
        0,
        "no fallback reached the upstream"
    );
    served(&env).await;
}

/// A failing route opens its own breaker only; unauthenticated `/readyz` probes neither open a
/// breaker nor reach the upstream more than once a second.
#[tokio::test]
async fn breaker_isolation() {
    let env = Env::with(
        emulator_config(5),
        blaxel_gateway::Config {
            upstream_attempts: 1,
            ..options()
        },
    )
    .await;
    env.emulator
        .emulator()
        .set_faults(vec![Fault::on(route::LIST_JOBS).status(503)]);
    env.reset();
    for _ in 0..30 {
        let _ = env
            .http
            .get(format!("{}/readyz", env.gateway.base))
            .send()
            .await
            .unwrap();
    }
    assert!(
        env.upstream(route::LIST_JOBS) <= 2,
        "readyz is cached: {}",
        env.upstream(route::LIST_JOBS)
    );
    for _ in 0..10 {
        let resp = env.gql("{ jobs { totalCount } }", json!({})).await;
        assert!(!codes(&resp).is_empty());
    }
    // The jobs route's breaker is open now; the executions route is served.
    served(&env).await;
}

/// `query` is checked after lowercasing (which can lengthen it): refused before any call.
#[tokio::test]
async fn growing_query() {
    let env = Env::start(emulator_config(5)).await;
    env.reset();
    let growing = "İ".repeat(200);
    let resp = env
        .gql(
            "query($q: String) { jobExecutions(jobName: \"data-processing-job\", query: $q) { totalCount } }",
            json!({"q": growing}),
        )
        .await;
    assert_eq!(codes(&resp), ["BAD_USER_INPUT"]);
    assert_eq!(env.emulator.emulator().stats().total, 0);
    served(&env).await;
}

/// More executions than a page arrive at the head between two reads: resuming after a middle
/// edge still lands exactly after it (the gateway follows pages to find it), never on other
/// items.
#[tokio::test]
async fn resume_with_many_arrivals() {
    const PAGE: &str = r#"query($first: Int, $after: String) {
      jobExecutions(jobName: "data-processing-job", first: $first, after: $after) { edges { cursor node { metadata { id } } } }
    }"#;
    let env = Env::start(blaxel_emulator::EmulatorConfig {
        executions_per_job: 60,
        capacity: 1_000,
        ..Default::default()
    })
    .await;
    let ids = |resp: &Value| -> Vec<String> {
        resp["data"]["jobExecutions"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["metadata"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = env.gql(PAGE, json!({"first": 20})).await;
    let before = ids(&first);
    let middle = first["data"]["jobExecutions"]["edges"][9]["cursor"].clone();
    let client = Client::new(ClientConfig {
        token: Some(Token::new("dev-token")),
        ..ClientConfig::new(env.emulator.base_url())
    })
    .unwrap();
    for _ in 0..130 {
        client
            .create_job_execution(&Credentials::default(), JOB, &Default::default())
            .await
            .unwrap();
    }
    env.reset();
    let resp = env.gql(PAGE, json!({"first": 5, "after": middle})).await;
    assert!(resp["errors"].is_null(), "{resp}");
    assert_eq!(ids(&resp), before[10..15].to_vec(), "exactly after edge 9");
    assert!(env.upstream(route::LIST_EXECUTIONS) <= 3);
    served(&env).await;
}

/// Waits (at most 20 s) until the emulator has counted `n` executions listings.
async fn until_listings(env: &crate::grpc::GrpcEnv, n: u64) {
    until_calls(|| env.upstream(LIST_EXECUTIONS), LIST_EXECUTIONS, n).await;
}

/// Waits (at most 20 s) until `count` (the emulator's count of `route`) reaches `n`.
async fn until_calls(count: impl Fn() -> u64, route: &str, n: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while count() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} calls of {route} reached the upstream, expected {n}",
            count()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Heavy requests take a share of their credential's turns: priced at the cap of 100 upstream
/// calls, each takes 2 of 8 turns, so one credential runs 4 at once (and holds the pages of 4)
/// while its others wait; another credential's heavy request runs at once. The emulator counts
/// each jobs listing (the first call of each request) as it arrives.
#[tokio::test]
async fn heavy_requests_take_a_share_of_their_credentials_turns() {
    let (a, b) = ("tok-a-31c0e2aa", "tok-b-77d1f093");
    let env = Env::with(
        blaxel_emulator::EmulatorConfig {
            tokens: vec![
                (a.into(), "workspace-a".into()),
                (b.into(), "workspace-b".into()),
            ],
            jobs: 2,
            executions_per_job: 3,
            ..blaxel_emulator::EmulatorConfig::default()
        },
        blaxel_gateway::Config {
            token: None,
            max_concurrent_per_credential: 8,
            upstream_dedupe: false,
            ..options()
        },
    )
    .await;
    env.emulator.emulator().set_faults(vec![Fault {
        route: route::LIST_JOBS.into(),
        latency_ms: Some(2_000),
        ..Fault::default()
    }]);
    let jobs_listings = || env.upstream(route::LIST_JOBS);
    let heavy = "{ jobs(first: 99) { nodes { executions(first: 1) { totalCount } } } }";
    let ask = |token: &'static str| {
        let (http, url) = (env.http.clone(), env.gateway.url.clone());
        tokio::spawn(async move {
            let auth = format!("Bearer {token}");
            post(&http, &url, heavy, json!({}), &[("authorization", &auth)]).await
        })
    };

    let burst: Vec<_> = (0..6).map(|_| ask(a)).collect();
    until_calls(jobs_listings, route::LIST_JOBS, 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        jobs_listings(),
        4,
        "a's 5th and 6th heavy requests wait for a's turns"
    );
    let other = ask(b);
    until_calls(jobs_listings, route::LIST_JOBS, 5).await;

    let resp = other.await.unwrap();
    assert!(resp["errors"].is_null(), "{resp}");
    for resp in burst {
        let resp = resp.await.unwrap();
        assert!(resp["errors"].is_null(), "{resp}");
        assert_eq!(
            resp["data"]["jobs"]["nodes"][0]["executions"]["totalCount"],
            3
        );
    }
    assert_eq!(jobs_listings(), 7, "every request ran once");
}

/// Fairness: one credential's burst runs at most `--max-concurrent-per-credential` (here 2)
/// requests at once, GraphQL and gRPC together; its other requests wait for its own turns while
/// another credential is served at once. The emulator counts each listing as it arrives, so the
/// counts show who reached the upstream while the slow calls were in flight.
#[tokio::test]
async fn one_credentials_burst_waits_for_its_own_turns_on_both_faces() {
    use blaxel_gateway::grpc::proto::ListJobExecutionsRequest;

    let (a, b) = ("tok-a-5e1f0c2d", "tok-b-9d8c7b6a");
    let emulator = blaxel_emulator::spawn(blaxel_emulator::EmulatorConfig {
        tokens: vec![
            (a.into(), "workspace-a".into()),
            (b.into(), "workspace-b".into()),
        ],
        jobs: 1,
        executions_per_job: 5,
        ..blaxel_emulator::EmulatorConfig::default()
    })
    .await
    .expect("emulator");
    emulator.emulator().set_faults(vec![Fault {
        route: LIST_EXECUTIONS.into(),
        latency_ms: Some(2_000),
        ..Fault::default()
    }]);
    let env = crate::grpc::GrpcEnv::over(
        emulator,
        blaxel_gateway::Config {
            token: None,
            max_concurrent_per_credential: 2,
            // Each request its own upstream call, so the counts show who reached the upstream.
            upstream_dedupe: false,
            ..options()
        },
    )
    .await;
    let (url, graphql) = env.graphql().await;
    let http = reqwest::Client::new();
    let ask = |token: &'static str| {
        let (http, url) = (http.clone(), url.clone());
        tokio::spawn(async move {
            let auth = format!("Bearer {token}");
            post(&http, &url, HEALTHY, json!({}), &[("authorization", &auth)]).await
        })
    };

    let burst: Vec<_> = (0..4).map(|_| ask(a)).collect();
    until_listings(&env, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.upstream(LIST_EXECUTIONS), 2, "a's 3rd and 4th wait");

    let other = ask(b);
    until_listings(&env, 3).await;

    let mut client = env.executions().await;
    let mut request = tonic::Request::new(ListJobExecutionsRequest {
        parent: format!("jobs/{JOB}"),
        page_size: 2,
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {a}").parse().unwrap());
    let grpc = tokio::spawn(async move { client.list_job_executions(request).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        env.upstream(LIST_EXECUTIONS),
        3,
        "a's gRPC call waits for a's turn too"
    );

    let resp = other.await.unwrap();
    assert!(resp["errors"].is_null(), "{resp}");
    for resp in burst {
        let resp = resp.await.unwrap();
        assert!(resp["errors"].is_null(), "{resp}");
        assert_eq!(resp["data"]["jobExecutions"]["totalCount"], 5);
    }
    let page = grpc
        .await
        .unwrap()
        .expect("a's gRPC call, once its turn came");
    assert_eq!(page.into_inner().job_executions.len(), 2);
    assert_eq!(env.upstream(LIST_EXECUTIONS), 6, "every request ran once");
    graphql.abort();
}
