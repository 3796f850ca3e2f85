//! Request ids, trace context upstream and
//! metrics (families, labels, bounded label sets under hostile input).

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    extract::{Request, State},
    http::StatusCode,
    routing::any,
};
use blaxel_gateway::{AppState, Config};
use blaxel_transport::Client;
use serde_json::{Value, json};

use crate::harness::{self, Env, emulator_config, options};

const PAGE: &str =
    r#"query Page { jobExecutions(jobName: "data-processing-job", first: 2) { totalCount } }"#;

#[tokio::test]
async fn request_ids_are_echoed_or_generated_on_every_answer() {
    let env = Env::start(emulator_config(5)).await;
    let post = |id: Option<&'static str>| {
        let mut req = env
            .http
            .post(&env.gateway.url)
            .json(&json!({"query": PAGE}));
        if let Some(id) = id {
            req = req.header("x-request-id", id);
        }
        req.send()
    };
    let resp = post(Some("client-id-42")).await.unwrap();
    assert_eq!(resp.headers()["x-request-id"], "client-id-42");
    // Not sane (a space, a quote): replaced by a generated one.
    for bad in [Some("bad id"), Some("quote\"d"), None] {
        let resp = post(bad).await.unwrap();
        let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(id.len(), 32, "{bad:?}: {id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
    // Every route, refusals and 404s included.
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/schema.graphql",
        "/nope",
    ] {
        let resp = env
            .http
            .get(format!("{}{path}", env.gateway.base))
            .header("x-request-id", "probe-1")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()["x-request-id"], "probe-1", "{path}");
    }
    let refused = env
        .http
        .post(&env.gateway.url)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(refused.headers().contains_key("x-request-id"));
}

/// A recording proxy in front of `upstream`: keeps the `traceparent` of every request.
async fn recording_proxy(upstream: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let state = (Arc::clone(&seen), upstream, reqwest::Client::new());
    type ProxyState = (Arc<Mutex<Vec<String>>>, String, reqwest::Client);
    let app = Router::new()
        .fallback(any(
            |State((seen, upstream, http)): State<ProxyState>, req: Request| async move {
                if let Some(tp) = req.headers().get("traceparent") {
                    seen.lock().unwrap().push(tp.to_str().unwrap().to_owned());
                }
                let path = req.uri().path_and_query().unwrap().as_str().to_owned();
                let mut out = http.request(req.method().clone(), format!("{upstream}{path}"));
                for (name, value) in req.headers() {
                    if name != "host" {
                        out = out.header(name, value);
                    }
                }
                let resp = out.send().await.unwrap();
                let status = resp.status();
                (status, resp.bytes().await.unwrap())
            },
        ))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/v0"), seen)
}

/// Without a tracer (the library as embedded, no OpenTelemetry layer), the caller's trace
/// context still reaches the upstream, as it came. (With the binary's tracer, the upstream sees
/// the gateway's own span: `crates/gateway/tests/telemetry.rs`.)
#[tokio::test]
async fn the_callers_traceparent_reaches_the_upstream_without_a_tracer() {
    let emulator = blaxel_emulator::spawn(emulator_config(5)).await.unwrap();
    let origin = emulator.base_url().trim_end_matches("/v0").to_owned();
    let (upstream, seen) = recording_proxy(origin).await;
    let gateway = harness::gateway(&upstream, options()).await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let resp = reqwest::Client::new()
        .post(&gateway.url)
        .header("traceparent", traceparent)
        .json(&json!({"query": PAGE}))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["data"]["jobExecutions"]["totalCount"].is_number(),
        "{body}"
    );
    assert_eq!(seen.lock().unwrap().clone(), vec![traceparent.to_owned()]);
}

/// The same through the gRPC face: a call's `traceparent` metadata reaches the upstream as it
/// came (its handler runs in the request's scope, as the HTTP face's).
#[tokio::test]
async fn a_grpc_callers_traceparent_reaches_the_upstream_without_a_tracer() {
    use blaxel_gateway::grpc::proto::{
        ListJobExecutionsRequest, job_execution_service_client::JobExecutionServiceClient,
    };

    let emulator = blaxel_emulator::spawn(emulator_config(5)).await.unwrap();
    // The transport's client installs the process's TLS provider, which the proxy's reqwest
    // client needs when this test runs alone.
    let config = options();
    drop(Client::new(config.client_config(&emulator.base_url())).unwrap());
    let origin = emulator.base_url().trim_end_matches("/v0").to_owned();
    let (upstream, seen) = recording_proxy(origin).await;
    let client = Client::new(config.client_config(&upstream)).unwrap();
    let state = AppState::new(client, config.limits(), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(blaxel_gateway::grpc::serve(
        listener,
        state,
        std::future::pending(),
    ));
    let mut client = JobExecutionServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    seen.lock().unwrap().clear();
    let mut request = tonic::Request::new(ListJobExecutionsRequest {
        parent: "jobs/data-processing-job".into(),
        page_size: 2,
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("traceparent", traceparent.parse().unwrap());
    let page = client
        .list_job_executions(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.job_executions.len(), 2);
    assert!(
        seen.lock().unwrap().iter().any(|t| t == traceparent),
        "{:?}",
        seen.lock().unwrap()
    );
    server.abort();
}

/// A gateway serving `/metrics` from the process's recorder.
async fn metered(upstream: &str, config: Config) -> (String, tokio::task::JoinHandle<()>) {
    let client = Client::new(config.client_config(upstream)).unwrap();
    let state = AppState::new(client, config.limits(), blaxel_gateway::metrics_handle());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let _ = blaxel_gateway::serve(listener, state, std::future::pending()).await;
    });
    (format!("http://{addr}"), task)
}

/// The series of a scrape: `name{labels}` -> value.
fn series(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

fn value(series: &[(String, f64)], name: &str) -> f64 {
    series
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no series {name}"))
        .1
}

#[tokio::test]
async fn metrics_have_the_families_and_labels_after_some_requests() {
    let emulator = blaxel_emulator::spawn(emulator_config(5)).await.unwrap();
    let (base, task) = metered(&emulator.base_url(), options()).await;
    let http = reqwest::Client::new();
    let url = format!("{base}/graphql");
    let gql = |query: &'static str| http.post(&url).json(&json!({"query": query})).send();
    assert!(gql(PAGE).await.unwrap().status().is_success());
    gql(r#"{ jobExecutions(jobName: "nope", first: 1) { totalCount } }"#)
        .await
        .unwrap();
    gql("{ a: jobs { nodes { executions { nodes { metadata { id } } } } } b: __typename c: __typename d: __typename e: __typename f: __typename g: __typename h: __typename }").await.unwrap();
    let deep = "{ jobs { nodes { executions { nodes { metadata { id } tasksConnection { nodes { __typename } } } } } } }";
    let _ = http
        .post(&url)
        .json(&json!({"query": deep}))
        .send()
        .await
        .unwrap();
    // A body over the limit: refused by the limit, counted by name.
    let big = "x".repeat(300 * 1024);
    let resp = http
        .post(&url)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let s = series(&text);
    assert!(
        value(
            &s,
            r#"gateway_graphql_requests_total{operation_type="query",outcome="ok"}"#
        ) >= 1.0
    );
    assert!(
        text.contains("# TYPE gateway_graphql_request_duration_seconds histogram"),
        "{text}"
    );
    assert!(
        value(
            &s,
            r#"gateway_graphql_request_duration_seconds_bucket{operation_type="query",le="+Inf"}"#
        ) >= 1.0
    );
    assert!(text.contains("# TYPE gateway_http_request_duration_seconds histogram"));
    assert!(
        !text.contains("quantile="),
        "summaries instead of histograms:\n{text}"
    );
    assert!(
        value(
            &s,
            r#"gateway_http_requests_total{route="/graphql",status="2xx"}"#
        ) >= 3.0
    );
    assert!(
        value(
            &s,
            r#"gateway_upstream_attempts_total{route="GET /jobs/{jobId}/executions",outcome="200"}"#
        ) >= 1.0
    );
    assert!(
        value(
            &s,
            r#"gateway_upstream_attempts_total{route="GET /jobs/{jobId}/executions",outcome="404"}"#
        ) >= 1.0
    );
    assert_eq!(
        value(
            &s,
            r#"gateway_upstream_circuit_state{route="GET /jobs/{jobId}/executions"}"#
        ),
        0.0
    );
    for family in [
        "gateway_upstream_retries_total",
        "gateway_upstream_retry_budget_refusals_total",
        "gateway_upstream_circuit_rejections_total",
        "gateway_in_flight_requests",
        "gateway_loader_loads_total",
        "gateway_loader_upstream_calls_total",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family}:\n{text}"
        );
    }
    assert!(value(&s, r#"gateway_loader_loads_total{kind="executions_page"}"#) >= 1.0);
    assert!(value(&s, r#"gateway_limit_refusals_total{limit="maxBodyBytes"}"#) >= 1.0);
    task.abort();
}

/// The recorder folds its samples into its histograms on a thread of its own, once per process:
/// with nobody scraping `/metrics`, a histogram does not keep its samples one by one.
#[test]
fn the_recorder_runs_its_upkeep_without_a_scrape() {
    let upkeep_threads = || {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .filter(|name| name.trim() == blaxel_gateway::METRICS_UPKEEP_THREAD)
            .count()
    };
    assert!(blaxel_gateway::metrics_handle().is_some());
    assert!(blaxel_gateway::metrics_handle().is_some());
    assert_eq!(upkeep_threads(), 1, "one upkeep thread for the process");
}

#[tokio::test]
async fn hostile_input_creates_no_label_values() {
    let emulator = blaxel_emulator::spawn(emulator_config(2)).await.unwrap();
    let (base, task) = metered(&emulator.base_url(), options()).await;
    let http = reqwest::Client::new();
    let url = format!("{base}/graphql");
    let mut planted = Vec::new();
    for i in 0..30 {
        let job = format!("hostile-job-{i}-zq{}", i * 7919);
        let op = format!("HostileOp{i}Zq{}", i * 104_729);
        let query = format!(
            r#"query {op} {{ jobExecutions(jobName: "{job}", first: 1) {{ totalCount }} }}"#
        );
        http.post(&url)
            .header("x-request-id", format!("hostile-rid-{i}"))
            .json(&json!({"query": query, "operationName": op}))
            .send()
            .await
            .unwrap();
        // Unknown paths and methods too.
        http.get(format!("{base}/hostile-path-{i}"))
            .send()
            .await
            .unwrap();
        planted.extend([
            job,
            op,
            format!("hostile-rid-{i}"),
            format!("hostile-path-{i}"),
        ]);
    }
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in text.lines() {
        for p in &planted {
            assert!(
                !line.contains(p.as_str()),
                "caller input {p} became a label: {line}"
            );
        }
    }
    // Every label value of the request families is from a fixed set.
    let allowed: BTreeSet<&str> = [
        "query",
        "mutation",
        "subscription",
        "batch",
        "unknown",
        "ok",
        "partial",
        "error",
        "refused",
    ]
    .into();
    for (name, _) in series(&text) {
        if let Some(labels) = name.strip_prefix("gateway_graphql_requests_total{") {
            for pair in labels.trim_end_matches('}').split(',') {
                let v = pair.split_once('=').unwrap().1.trim_matches('"');
                assert!(allowed.contains(v), "{name}");
            }
        }
        if let Some(labels) = name.strip_prefix("gateway_http_requests_total{") {
            assert!(
                [
                    "/graphql",
                    "/schema.graphql",
                    "/healthz",
                    "/readyz",
                    "/metrics",
                    "/graphiql",
                    "other"
                ]
                .iter()
                .any(|r| labels.starts_with(&format!("route=\"{r}\""))),
                "{name}"
            );
        }
    }
    task.abort();
}

/// `/readyz` says why not: a base URL that is not the API's (404), an upstream that refuses
/// connections; without a configured token, an upstream asking for one is ready.
#[tokio::test]
async fn readyz_says_why_not_ready() {
    let not_api = Router::new().fallback(any(|| async { StatusCode::NOT_FOUND }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, not_api).await });
    let readyz = |gateway: harness::Gateway| async move {
        let resp = reqwest::get(format!("{}/readyz", gateway.base))
            .await
            .unwrap();
        (resp.status(), resp.text().await.unwrap())
    };
    let no_token = Config {
        token: None,
        ..options()
    };
    let (status, body) =
        readyz(harness::gateway(&format!("http://{addr}/v0"), no_token.clone()).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("404") && body.contains("/v0"), "{body}");

    // Port 1 on loopback: nothing listens, the connection is refused.
    let (status, body) = readyz(harness::gateway("http://127.0.0.1:1/v0", options()).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("refused"), "{body}");

    let emulator = blaxel_emulator::spawn(emulator_config(1)).await.unwrap();
    let (status, body) = readyz(harness::gateway(&emulator.base_url(), no_token).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
