//! `Subscription.jobExecutionUpdated` over SSE and WebSocket: every transition in order then
//! `complete`, one shared poller for many subscribers, revoked credentials, limits, and a drain.

use std::time::Duration;

use blaxel_emulator::{Fault, route};
use blaxel_gateway::Config;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest as _};

use crate::harness::*;

const JOB: &str = "data-processing-job";

const WATCH: &str = r#"subscription($job: String!, $id: String!) {
  jobExecutionUpdated(jobName: $job, id: $id) { status stats { total success } }
}"#;

/// Clock advances (seconds) and the status each one reaches, for a one-task execution.
const TRANSITIONS: [(i64, &str); 3] = [(2, "PENDING"), (3, "RUNNING"), (120, "SUCCEEDED")];

/// Longest wait for one event: a bound against hangs, never a timing assertion.
const WAIT: Duration = Duration::from_secs(10);

/// A graphql-sse response being read.
struct Sse {
    response: reqwest::Response,
    buffer: String,
}

impl Sse {
    /// POSTs `query` with `Accept: text/event-stream`.
    async fn open(env: &Env, query: &str, variables: Value, headers: &[(&str, &str)]) -> Sse {
        let mut req = env
            .http
            .post(&env.gateway.url)
            .header("accept", "text/event-stream")
            .json(&json!({"query": query, "variables": variables}));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let response = req.send().await.unwrap();
        assert_eq!(response.status(), 200);
        let kind = response.headers()["content-type"].to_str().unwrap();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        Sse {
            response,
            buffer: String::new(),
        }
    }

    /// Subscribes to execution `id` with the default credential.
    async fn watch(env: &Env, id: &str) -> Sse {
        Self::open(env, WATCH, json!({"job": JOB, "id": id}), &[]).await
    }

    /// The next event as (`event`, `data` as JSON, or null), skipping keep-alive comments;
    /// `None` when the response ends.
    async fn event(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut event, mut data) = (None, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                match event {
                    Some(event) => {
                        return Some((event, serde_json::from_str(&data).unwrap_or(Value::Null)));
                    }
                    None => continue,
                }
            }
            let chunk = tokio::time::timeout(WAIT, self.response.chunk())
                .await
                .expect("an event within the bound")
                .unwrap()?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// The next `next` event's payload.
    async fn next(&mut self) -> Value {
        let (event, data) = self.event().await.expect("an event");
        assert_eq!(event, "next", "{data}");
        data
    }

    /// The next status; panics on errors.
    async fn status(&mut self) -> String {
        let data = self.next().await;
        assert!(data["errors"].is_null(), "{data}");
        data["data"]["jobExecutionUpdated"]["status"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Asserts the stream completes and ends.
    async fn completes(&mut self) {
        let (event, _) = self.event().await.expect("the complete event");
        assert_eq!(event, "complete");
        assert!(self.event().await.is_none(), "nothing after complete");
    }
}

/// Creates execution `id` (one task: queued 2 s, pending 3 s, then running 10 to 60 s).
async fn create(env: &Env, id: &str) {
    let resp = create_execution(env, json!({"executionId": id})).await;
    assert!(resp["errors"].is_null(), "{resp}");
}

#[tokio::test]
async fn sse_sees_every_transition_in_order_then_completes() {
    let env = Env::start(emulator_config(0)).await;
    create(&env, "live").await;
    let mut sse = Sse::watch(&env, "live").await;
    assert_eq!(sse.status().await, "QUEUED");
    for (advance, expected) in TRANSITIONS {
        env.emulator.emulator().advance_clock(advance);
        assert_eq!(sse.status().await, expected);
    }
    sse.completes().await;
    // The same as the browser's EventSource asks: a GET.
    let mut get = Sse {
        response: env
            .http
            .get(&env.gateway.url)
            .header("accept", "text/event-stream")
            .query(&[
                ("query", WATCH),
                ("variables", &json!({"job": JOB, "id": "live"}).to_string()),
            ])
            .send()
            .await
            .unwrap(),
        buffer: String::new(),
    };
    assert_eq!(get.status().await, "SUCCEEDED");
    get.completes().await;
    let mutation = env
        .http
        .get(&env.gateway.url)
        .header("accept", "text/event-stream")
        .query(&[(
            "query",
            "mutation { cancelJobExecution(jobName: \"j\", id: \"i\") { status } }",
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(mutation.status(), 405);
    // A query over SSE: one `next`, then `complete`.
    let mut query = Sse::open(&env, "{ jobs(first: 1) { totalCount } }", json!({}), &[]).await;
    assert!(query.next().await["data"]["jobs"]["totalCount"].is_i64());
    query.completes().await;
}

#[tokio::test]
async fn twenty_subscribers_share_one_poller() {
    let env = Env::start(emulator_config(0)).await;
    create(&env, "shared").await;
    let mut streams = Vec::new();
    for _ in 0..20 {
        let mut sse = Sse::watch(&env, "shared").await;
        assert_eq!(sse.status().await, "QUEUED");
        streams.push(sse);
    }
    env.reset();
    env.emulator.emulator().advance_clock(2);
    for sse in &mut streams {
        assert_eq!(sse.status().await, "PENDING");
    }
    // 20 pollers would need at least 20 calls after the advance for 20 subscribers to see it.
    let calls = env.upstream(route::GET_EXECUTION);
    assert!((1..20).contains(&calls), "{calls} upstream calls");
    env.emulator.emulator().advance_clock(200);
    for sse in &mut streams {
        assert_eq!(sse.status().await, "SUCCEEDED");
        sse.completes().await;
    }
}

#[tokio::test]
async fn a_revoked_credential_or_a_vanished_execution_ends_the_stream_with_an_error() {
    let env = Env::start(emulator_config(0)).await;
    create(&env, "revoked").await;
    let mut sse = Sse::watch(&env, "revoked").await;
    assert_eq!(sse.status().await, "QUEUED");
    env.emulator
        .emulator()
        .set_faults(vec![Fault::on(route::GET_EXECUTION).status(401)]);
    let data = sse.next().await;
    assert_eq!(codes(&data), ["UNAUTHENTICATED"], "{data}");
    sse.completes().await;
    env.emulator
        .emulator()
        .set_faults(vec![Fault::on(route::GET_EXECUTION).status(404)]);
    let mut gone = Sse::watch(&env, "revoked").await;
    assert_eq!(codes(&gone.next().await), ["NOT_FOUND"]);
    gone.completes().await;
    env.emulator.emulator().clear_faults();
    let mut bad = Sse::open(&env, WATCH, json!({"job": JOB, "id": ""}), &[]).await;
    assert_eq!(codes(&bad.next().await), ["BAD_USER_INPUT"]);
    bad.completes().await;
    let refused = env
        .http
        .post(&env.gateway.url)
        .header("accept", "text/event-stream")
        .header("authorization", "Basic abc def")
        .json(&json!({"query": WATCH, "variables": {"job": JOB, "id": "revoked"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
}

#[tokio::test]
async fn subscriptions_per_credential_are_limited() {
    let options = Config {
        subscription_max_per_credential: 2,
        ..options()
    };
    let env = Env::with(emulator_config(0), options).await;
    create(&env, "limited").await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut sse = Sse::watch(&env, "limited").await;
        assert_eq!(sse.status().await, "QUEUED");
        held.push(sse);
    }
    let mut third = Sse::watch(&env, "limited").await;
    let data = third.next().await;
    assert_eq!(codes(&data), ["RATE_LIMITED"], "{data}");
    assert_eq!(
        data["errors"][0]["extensions"]["limit"],
        "maxSubscriptionsPerCredential"
    );
    third.completes().await;
    drop(held);
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket to the gateway speaking `protocol`, opened from page `origin` (if any), after
/// `connection_init` with `init`; returns the socket and the server's first answer.
async fn websocket_from(
    env: &Env,
    protocol: &str,
    origin: Option<&str>,
    init: Value,
) -> (Ws, Result<Value, Option<u16>>) {
    let url = env.gateway.url.replace("http://", "ws://");
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", protocol.parse().unwrap());
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    let (mut ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], protocol);
    let init = json!({"type": "connection_init", "payload": init});
    ws.send(Message::Text(init.to_string().into()))
        .await
        .unwrap();
    let answer = receive(&mut ws).await;
    (ws, answer)
}

/// A WebSocket to the gateway speaking `protocol`, initialised with `init` and acknowledged.
async fn websocket(env: &Env, protocol: &str, init: Value) -> Ws {
    let (ws, answer) = websocket_from(env, protocol, None, init).await;
    assert_eq!(answer.unwrap()["type"], "connection_ack");
    ws
}

/// The next JSON message, skipping keep-alives; `Err` when the socket closes (its close code).
async fn receive(ws: &mut Ws) -> Result<Value, Option<u16>> {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message within the bound");
        match message {
            Some(Ok(Message::Text(text))) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                if matches!(value["type"].as_str(), Some("ka" | "ping" | "pong")) {
                    continue;
                }
                return Ok(value);
            }
            Some(Ok(Message::Close(frame))) => return Err(frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => continue,
            None | Some(Err(_)) => return Err(None),
        }
    }
}

#[tokio::test]
async fn websocket_protocols_see_every_transition_and_complete() {
    let options = Config {
        token: None,
        subscription_max_per_connection: 1,
        ..options()
    };
    let env = Env::with(emulator_config(0), options).await;
    let creds = [("authorization", "Bearer dev-token")];
    for (protocol, subscribe, next) in [
        ("graphql-transport-ws", "subscribe", "next"),
        ("graphql-ws", "start", "data"),
    ] {
        let id = format!("ws-{protocol}");
        let resp = env
            .gql_as(
                r#"mutation($id: String!) { createJobExecution(jobName: "data-processing-job", input: {executionId: $id}) { id } }"#,
                json!({"id": id}),
                &creds,
            )
            .await;
        assert!(resp["errors"].is_null(), "{resp}");
        // Credentials in the connection_init payload, as browsers send them.
        let mut ws = websocket(&env, protocol, json!({"Authorization": "Bearer dev-token"})).await;
        let start = |n: &str| {
            json!({"id": n, "type": subscribe,
                   "payload": {"query": WATCH, "variables": {"job": JOB, "id": id}}})
            .to_string()
        };
        ws.send(Message::Text(start("1").into())).await.unwrap();
        let status = |m: &Value| m["payload"]["data"]["jobExecutionUpdated"]["status"].clone();
        let first = receive(&mut ws).await.unwrap();
        assert_eq!(
            (first["type"].as_str(), status(&first)),
            (Some(next), json!("QUEUED"))
        );
        // A second subscription on this connection is over the per-connection limit.
        ws.send(Message::Text(start("2").into())).await.unwrap();
        let refused = receive(&mut ws).await.unwrap();
        assert_eq!(refused["id"], "2");
        assert_eq!(codes(&refused["payload"]), ["RATE_LIMITED"], "{refused}");
        assert_eq!(receive(&mut ws).await.unwrap()["type"], "complete");
        for (advance, expected) in TRANSITIONS {
            env.emulator.emulator().advance_clock(advance);
            let message = receive(&mut ws).await.unwrap();
            assert_eq!(message["id"], "1");
            assert_eq!(status(&message), json!(expected), "{protocol}: {message}");
        }
        let complete = receive(&mut ws).await.unwrap();
        assert_eq!(
            (complete["type"].as_str(), complete["id"].as_str()),
            (Some("complete"), Some("1"))
        );
    }
}

#[tokio::test]
async fn a_drain_ends_open_subscriptions_cleanly() {
    let mut env = Env::start(emulator_config(0)).await;
    create(&env, "draining").await;
    let mut sse = Sse::watch(&env, "draining").await;
    assert_eq!(sse.status().await, "QUEUED");
    let mut ws = websocket(&env, "graphql-transport-ws", json!({})).await;
    let subscribe = json!({"id": "1", "type": "subscribe",
                           "payload": {"query": WATCH, "variables": {"job": JOB, "id": "draining"}}});
    ws.send(Message::Text(subscribe.to_string().into()))
        .await
        .unwrap();
    assert_eq!(receive(&mut ws).await.unwrap()["type"], "next");
    env.gateway.shutdown();
    let data = sse.next().await;
    assert_eq!(codes(&data), ["STREAM_CLOSED"], "{data}");
    sse.completes().await;
    let closed = receive(&mut ws).await.unwrap();
    assert_eq!(codes(&closed["payload"]), ["STREAM_CLOSED"], "{closed}");
    assert_eq!(receive(&mut ws).await.unwrap()["type"], "complete");
    assert_eq!(receive(&mut ws).await.unwrap_err(), Some(1001));
}

#[tokio::test]
async fn keepalives_flow_while_nothing_changes() {
    let options = Config {
        subscription_keepalive_ms: 100,
        ..options()
    };
    let env = Env::with(emulator_config(0), options).await;
    create(&env, "idle").await;
    let mut sse = Sse::watch(&env, "idle").await;
    assert_eq!(sse.status().await, "QUEUED");
    let chunk = tokio::time::timeout(WAIT, sse.response.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(chunk.starts_with(b":"), "an SSE comment: {chunk:?}");
    for (protocol, keepalive) in [("graphql-transport-ws", "ping"), ("graphql-ws", "ka")] {
        let mut ws = websocket(&env, protocol, json!({})).await;
        let message = tokio::time::timeout(WAIT, ws.next()).await.unwrap();
        let Some(Ok(Message::Text(text))) = message else {
            panic!("{message:?}");
        };
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["type"], keepalive, "{protocol}");
    }
}

#[tokio::test]
async fn a_subscription_posted_without_a_stream_is_refused_with_a_code() {
    let env = Env::start(emulator_config(0)).await;
    let resp = env
        .gql(WATCH, json!({"job": JOB, "id": "exec-abc123"}))
        .await;
    assert_eq!(codes(&resp), ["BAD_USER_INPUT"], "{resp}");
    assert_eq!(env.upstream(route::GET_EXECUTION), 0);
}

#[tokio::test]
async fn a_page_of_another_origin_must_bring_its_own_token() {
    let env = Env::start(emulator_config(0)).await;
    let evil = Some("https://evil.example");
    // The configured token is not lent to another origin's page.
    let (_ws, refused) = websocket_from(&env, "graphql-transport-ws", evil, json!({})).await;
    assert_eq!(refused.unwrap_err(), Some(1002));
    let (_ws, legacy) = websocket_from(&env, "graphql-ws", evil, json!({})).await;
    assert_eq!(legacy.unwrap()["type"], "connection_error");
    let own = json!({"Authorization": "Bearer dev-token"});
    let (_ws, accepted) = websocket_from(&env, "graphql-transport-ws", evil, own).await;
    assert_eq!(accepted.unwrap()["type"], "connection_ack");
    let host = env.gateway.base.clone();
    let (_ws, same) = websocket_from(&env, "graphql-transport-ws", Some(&host), json!({})).await;
    assert_eq!(same.unwrap()["type"], "connection_ack");
}

#[tokio::test]
async fn a_stream_posted_as_a_simple_cross_site_request_is_refused() {
    let env = Env::start(emulator_config(0)).await;
    let mutation = r#"{"query":"mutation { cancelJobExecution(jobName: \"data-processing-job\", id: \"exec-abc123\") { status } }"}"#;
    let resp = env
        .http
        .post(&env.gateway.url)
        .header("accept", "text/event-stream")
        .header("content-type", "text/plain")
        .body(mutation)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    assert_eq!(env.upstream(route::CANCEL_EXECUTION), 0);
}
