//! The binary's telemetry as an operator turns it on: `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at
//! a loopback OTLP/HTTP collector stand-in (which records what it is sent), `--log-format json`,
//! a caller's `traceparent` and `x-request-id`, and a recording proxy in front of the emulator
//! (which keeps the `traceparent` the gateway sends upstream).

use std::{
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::{Request, State},
    http::StatusCode,
    routing::{any, post},
};
use blaxel_emulator::{EmulatorConfig, Fault};
use opentelemetry_proto::tonic::{
    collector::trace::v1::ExportTraceServiceRequest,
    trace::v1::{Span, span::SpanKind},
};
use prost::Message as _;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    process::Command,
};

const BIN: &str = env!("CARGO_BIN_EXE_blaxel-gateway");
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

type Spans = Arc<Mutex<Vec<Span>>>;

/// The collector stand-in: `POST /v1/traces` (protobuf), every span kept.
async fn collector() -> (String, Spans) {
    let spans: Spans = Arc::default();
    let app = Router::new()
        .route(
            "/v1/traces",
            post(|State(spans): State<Spans>, body: Bytes| async move {
                let request = ExportTraceServiceRequest::decode(body).unwrap();
                let mut spans = spans.lock().unwrap();
                for resource in request.resource_spans {
                    for scope in resource.scope_spans {
                        spans.extend(scope.spans);
                    }
                }
                StatusCode::OK
            }),
        )
        .with_state(Arc::clone(&spans));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), spans)
}

type Seen = Arc<Mutex<Vec<String>>>;

/// A proxy to `origin` keeping the `traceparent` of every request.
async fn recording_proxy(origin: String) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let state = (Arc::clone(&seen), origin, reqwest::Client::new());
    let app =
        Router::new()
            .fallback(any(
                |State((seen, origin, http)): State<(Seen, String, reqwest::Client)>,
                 req: Request| async move {
                    if let Some(tp) = req.headers().get("traceparent") {
                        seen.lock().unwrap().push(tp.to_str().unwrap().to_owned());
                    }
                    let path = req.uri().path_and_query().unwrap().as_str().to_owned();
                    let mut out = http.request(req.method().clone(), format!("{origin}{path}"));
                    for (name, value) in req.headers() {
                        if name != "host" {
                            out = out.header(name, value);
                        }
                    }
                    let resp = out.send().await.unwrap();
                    (resp.status(), resp.bytes().await.unwrap())
                },
            ))
            .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/v0"), seen)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attr(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref())
        .map(|v| format!("{:?}", v.value))
}

/// An emulator (5 executions a job) behind a recording proxy: the emulator, the proxy's base
/// URL, and the `traceparent`s it saw.
async fn recorded_emulator() -> (blaxel_emulator::EmulatorHandle, String, Seen) {
    let emulator = blaxel_emulator::spawn(EmulatorConfig {
        executions_per_job: 5,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let origin = emulator.base_url().trim_end_matches("/v0").to_owned();
    let (upstream, seen) = recording_proxy(origin).await;
    (emulator, upstream, seen)
}

type Log = tokio::io::Lines<BufReader<tokio::process::ChildStdout>>;

/// The binary over `upstream` with JSON logs at info and the variables `env`: the child, its log
/// lines after the listening line, its GraphQL URL, and the lines before it.
async fn start(
    upstream: &str,
    env: &[(&str, &str)],
) -> (tokio::process::Child, Log, String, Vec<Value>) {
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--grpc-listen", "off"])
        .args(["--upstream", upstream, "--token", "dev-token"])
        .args(["--log-format", "json"])
        .env("RUST_LOG", "info")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut log = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut lines: Vec<Value> = Vec::new();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = log.next_line().await.unwrap() {
            let line: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not one JSON object a line ({e}): {line}"));
            if line["message"] == "blaxel-gateway listening" {
                return line["url"].as_str().unwrap().to_owned();
            }
            lines.push(line);
        }
        panic!("the gateway exited: {lines:?}");
    })
    .await
    .unwrap();
    (child, log, url, lines)
}

/// The next access line of `route` in `log`; the lines before it go to `skipped`.
async fn access_line(log: &mut Log, route: &str, skipped: &mut Vec<Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = log.next_line().await.unwrap() {
            let line: Value = serde_json::from_str(&line).unwrap();
            if line["message"] == "access" && line["route"] == route {
                return line;
            }
            skipped.push(line);
        }
        panic!("no access line");
    })
    .await
    .unwrap()
}

/// Without OTLP export no OpenTelemetry layer runs: the caller's `traceparent` goes upstream as
/// it came and the access line carries the caller's trace id.
#[tokio::test]
async fn without_export_the_callers_trace_context_goes_upstream_and_into_the_access_line() {
    let (_emulator, upstream, seen) = recorded_emulator().await;
    let (_child, mut log, url, mut lines) = start(&upstream, &[]).await;
    assert!(
        !lines
            .iter()
            .any(|l| l["message"].as_str().unwrap_or("").contains("OTLP")),
        "{lines:?}"
    );
    let traceparent = format!("00-{TRACE_ID}-{CALLER_SPAN}-01");
    let body: Value = reqwest::Client::new()
        .post(&url)
        .header("traceparent", &traceparent)
        .json(&json!({"query": r#"{ jobExecutions(jobName: "data-processing-job", first: 2) { totalCount } }"#}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(seen.lock().unwrap().clone(), vec![traceparent]);
    let access = access_line(&mut log, "/graphql", &mut lines).await;
    assert_eq!(access["trace_id"], TRACE_ID, "{access}");
    assert_eq!(access["upstream_calls"], 1, "{access}");
    // Without a caller's trace there is no trace id to give.
    reqwest::Client::new()
        .post(&url)
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    let access = access_line(&mut log, "/graphql", &mut lines).await;
    assert_eq!(access["trace_id"], "", "{access}");
}

#[tokio::test]
async fn otlp_export_traceparent_upstream_and_json_access_lines() {
    let (emulator, upstream, seen) = recorded_emulator().await;
    let (endpoint, spans) = collector().await;

    let (_child, mut log, url, mut lines) = start(
        &upstream,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "50"),
            ("OTEL_SERVICE_NAME", "gateway-under-test"),
        ],
    )
    .await;

    let resp = reqwest::Client::new()
        .post(&url)
        .header("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN}-01"))
        .header("x-request-id", "req-otlp-1")
        .json(&json!({
            "query": r#"query Page { jobExecutions(jobName: "data-processing-job", first: 2) { totalCount } }"#,
            "operationName": "Page",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "req-otlp-1");
    let body: Value = resp.json().await.unwrap();
    assert!(body["errors"].is_null(), "{body}");

    // Upstream: the caller's trace id, the gateway's upstream span as the parent.
    let sent = seen.lock().unwrap().clone();
    let upstream_calls: Vec<_> = sent.iter().filter(|tp| tp.contains(TRACE_ID)).collect();
    assert_eq!(upstream_calls.len(), 1, "{sent:?}");
    let parent_of_upstream = upstream_calls[0].split('-').nth(2).unwrap().to_owned();
    assert_ne!(parent_of_upstream, CALLER_SPAN);

    // The collector: a server span (child of the caller's) and a client span under it.
    let (server, client) = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            {
                let spans = spans.lock().unwrap();
                let in_trace = |kind: SpanKind| {
                    spans
                        .iter()
                        .find(|s| s.kind == kind as i32 && hex(&s.trace_id) == TRACE_ID)
                        .cloned()
                };
                if let (Some(server), Some(client)) =
                    (in_trace(SpanKind::Server), in_trace(SpanKind::Client))
                {
                    return (server, client);
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the collector receives the request's spans");
    assert_eq!(server.name, "query Page");
    assert_eq!(hex(&server.parent_span_id), CALLER_SPAN);
    assert!(attr(&server, "request_id").unwrap().contains("req-otlp-1"));
    assert!(
        attr(&server, "graphql.operation.type")
            .unwrap()
            .contains("query")
    );
    assert_eq!(client.name, "GET /jobs/{jobId}/executions");
    assert_eq!(client.parent_span_id, server.span_id);
    assert_eq!(hex(&client.span_id), parent_of_upstream);
    assert!(
        attr(&client, "http.response.status_code")
            .unwrap()
            .contains("200")
    );
    assert!(attr(&client, "attempt").unwrap().contains('1'));
    assert!(!format!("{:?}", spans.lock().unwrap()).contains("dev-token"));

    // The access line: JSON, in the request's span, with what happened.
    let access = access_line(&mut log, "/graphql", &mut lines).await;
    assert_eq!(access["level"], "INFO", "{access}");
    assert_eq!(access["status"], 200, "{access}");
    assert_eq!(access["operation"], "Page", "{access}");
    assert_eq!(access["operation_type"], "query", "{access}");
    assert_eq!(access["upstream_calls"], 1, "{access}");
    assert_eq!(access["trace_id"], TRACE_ID, "{access}");
    assert_eq!(access["span"]["request_id"], "req-otlp-1", "{access}");
    assert!(access["duration_ms"].as_f64().unwrap() >= 0.0);
    assert!(!access.to_string().contains("dev-token"));

    // An upstream failure: a warn line with its cause and status, in the request's span, and
    // the access line names the code the caller got.
    emulator.emulator().set_faults(vec![Fault {
        route: "GET /v0/jobs/{jobId}/executions".into(),
        status: Some(503),
        ..Fault::default()
    }]);
    reqwest::Client::new()
        .post(&url)
        .header("x-request-id", "req-fail-1")
        .json(&json!({"query": r#"{ jobExecutions(jobName: "data-processing-job", first: 2) { totalCount } }"#}))
        .send()
        .await
        .unwrap();
    let (warn, access) = tokio::time::timeout(Duration::from_secs(10), async {
        let mut warn = None;
        while let Some(line) = log.next_line().await.unwrap() {
            let line: Value = serde_json::from_str(&line).unwrap();
            if line["message"] == "upstream call failed" {
                warn = Some(line);
            } else if line["message"] != "access" {
                lines.push(line);
            } else if line["message"] == "access" && line["span"]["request_id"] == "req-fail-1" {
                return (warn.expect("the warn line comes first"), line);
            }
        }
        panic!("no lines for the failed request");
    })
    .await
    .unwrap();
    assert_eq!(warn["level"], "WARN", "{warn}");
    assert_eq!(warn["cause"], "status", "{warn}");
    assert_eq!(warn["status"], 503, "{warn}");
    assert_eq!(warn["route"], "GET /jobs/{jobId}/executions", "{warn}");
    assert_eq!(warn["span"]["request_id"], "req-fail-1", "{warn}");
    assert_eq!(access["errors"], "UPSTREAM_UNAVAILABLE", "{access}");
    // The first reachability probe said what it found.
    assert!(
        lines.iter().any(|l| l["message"]
            .as_str()
            .unwrap_or("")
            .contains("upstream reachable")),
        "{lines:?}"
    );
}
