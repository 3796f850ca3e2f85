//! The browser-facing HTTP face: GraphQL over HTTP negotiation and status codes, readable
//! request errors, CSRF refusals, CORS, Automatic Persisted Queries, compression and cache
//! headers, embedded GraphiQL and the introspection switch. The node-driven checks (the
//! graphql-http audit, headless Chromium) are in `browser`.

use std::io::Read as _;

use blaxel_gateway::http::{AllowedOrigins, ApqLimits, FrontendConfig, TrustedDocuments};
use reqwest::{Response, header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::*;

const QUERY: &str = r#"{ jobExecutions(jobName: "data-processing-job", first: 2) { totalCount edges { node { metadata { id } } } } }"#;
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

async fn env_with(frontend: FrontendConfig) -> Env {
    Env::with_frontend(emulator_config(30), options(), frontend).await
}

fn content_type(resp: &Response) -> String {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// POSTs `body` as is, with `headers`; returns status, content type and the JSON body.
async fn raw_post(env: &Env, body: &str, headers: &[(&str, &str)]) -> (u16, String, Value) {
    let mut req = env.http.post(&env.gateway.url).body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let ty = content_type(&resp);
    let text = resp.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, ty, json)
}

/// GETs the gateway with URL `params`; returns status, `Allow` and the JSON body.
async fn raw_get(env: &Env, params: Vec<(&str, String)>) -> (u16, Option<String>, Value) {
    let resp = env
        .http
        .get(&env.gateway.url)
        .query(&params)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let allow = resp
        .headers()
        .get(header::ALLOW)
        .map(|v| v.to_str().unwrap().to_owned());
    (status, allow, resp.json().await.unwrap())
}

fn message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or("<none>")
}

const JSON_CT: (&str, &str) = ("content-type", "application/json");

/// A malformed request: body, headers, expected status, a part of the expected message.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], u16, &'a str);

#[tokio::test]
async fn answers_follow_accept_and_request_errors_are_readable() {
    let env = env_with(FrontendConfig::default()).await;
    let ok = json!({"query": QUERY}).to_string();
    // Content negotiation.
    for (accept, want) in [
        (None, "application/json"),
        (Some("*/*"), "application/json"),
        (Some("application/json"), "application/json"),
        (Some(GRAPHQL_RESPONSE), GRAPHQL_RESPONSE),
        (
            Some("application/graphql-response+json, application/json;q=0.9"),
            GRAPHQL_RESPONSE,
        ),
    ] {
        let mut headers = vec![JSON_CT];
        headers.extend(accept.map(|a| ("accept", a)));
        let (status, ty, body) = raw_post(&env, &ok, &headers).await;
        assert_eq!(status, 200, "{accept:?}: {body}");
        assert!(ty.starts_with(want), "{accept:?} -> {ty}");
        assert_eq!(body["data"]["jobExecutions"]["totalCount"], 30);
    }
    let (status, _, body) = raw_post(&env, &ok, &[JSON_CT, ("accept", "image/png")]).await;
    assert_eq!(status, 406, "{body}");

    // A syntax error: 400 without data for graphql-response+json, 200 with data null for
    // application/json; the message gives line, column and what was expected.
    let broken = json!({"query": "{\n  jobExecutions(jobName: }"}).to_string();
    let (status, _, body) = raw_post(&env, &broken, &[JSON_CT, ("accept", GRAPHQL_RESPONSE)]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.get("data").is_none(), "{body}");
    assert!(
        message(&body).starts_with("Syntax error at line 2, column 26: expected value"),
        "{body}"
    );
    assert_eq!(codes(&body), ["BAD_USER_INPUT"]);
    let (status, _, body) = raw_post(&env, &broken, &[JSON_CT]).await;
    assert_eq!(status, 200);
    assert!(
        body["data"].is_null() && !message(&body).contains("-->"),
        "{body}"
    );
    // Validation and variable failures are request errors too; a field's error is not.
    let unknown = json!({"query": "{ nope }"}).to_string();
    let (status, _, body) =
        raw_post(&env, &unknown, &[JSON_CT, ("accept", GRAPHQL_RESPONSE)]).await;
    assert_eq!((status, codes(&body)), (400, vec!["BAD_USER_INPUT".into()]));
    let variables = json!({"query": "query($n: Int!) { jobs(first: $n) { totalCount } }", "variables": {"n": "x"}}).to_string();
    let (status, _, body) =
        raw_post(&env, &variables, &[JSON_CT, ("accept", GRAPHQL_RESPONSE)]).await;
    assert_eq!(status, 400, "{body}");
    let field_error = json!({"query": r#"{ jobExecutions(jobName: "data-processing-job", first: -1) { totalCount } }"#}).to_string();
    let (status, _, body) =
        raw_post(&env, &field_error, &[JSON_CT, ("accept", GRAPHQL_RESPONSE)]).await;
    assert_eq!(status, 200, "a field error is an execution result: {body}");
    assert!(body.get("data").is_some(), "{body}");

    // Malformed HTTP requests: readable messages, JSON bodies with a code, never a Rust debug
    // string; nothing reaches the upstream.
    env.reset();
    let cases: &[Case<'_>] = &[
        (
            "{\"query\": \"{ __typename }",
            &[JSON_CT],
            400,
            "the request body is not valid JSON: EOF while parsing a string at line 1 column 25",
        ),
        ("", &[JSON_CT], 400, "the request body is empty"),
        ("[]", &[JSON_CT], 400, "empty batch"),
        ("42", &[JSON_CT], 400, "must be a JSON object"),
        (
            "{\"qeury\": \"{ __typename }\"}",
            &[JSON_CT],
            400,
            "has no `query`",
        ),
        (
            "{\"query\": 1}",
            &[JSON_CT],
            400,
            "`query` must be a string or null, not a number",
        ),
        (
            "{\"query\": \"{ __typename }\", \"variables\": \"x\"}",
            &[JSON_CT],
            400,
            "`variables` must be an object",
        ),
        (
            "[{\"query\": \"{ __typename }\"}, {\"query\": []}]",
            &[JSON_CT],
            400,
            "operation 2 of the batch of 2",
        ),
        (&ok, &[], 415, "needs Content-Type: application/json"),
    ];
    let content_types = [
        ("text/plain", "CSRF"),
        ("application/x-www-form-urlencoded", "CSRF"),
        ("multipart/form-data; boundary=x", "CSRF"),
        ("application/xml", "not supported"),
        ("application/json; charset=latin1", "charset"),
    ];
    let by_content_type: Vec<[(&str, &str); 1]> = content_types
        .iter()
        .map(|(ct, _)| [("content-type", *ct)])
        .collect();
    let cases = cases.iter().copied().chain(
        by_content_type
            .iter()
            .zip(content_types)
            .map(|(headers, (_, needle))| (ok.as_str(), &headers[..], 415, needle)),
    );
    for (body, headers, status, needle) in cases {
        let (got, ty, answer) = raw_post(&env, body, headers).await;
        assert_eq!(got, status, "{body:?} {headers:?}: {answer}");
        assert!(ty.starts_with("application/json"), "{ty}");
        assert!(message(&answer).contains(needle), "{needle:?} in {answer}");
        assert_eq!(codes(&answer), ["BAD_USER_INPUT"], "{answer}");
    }
    // Hostile: nesting past serde_json's recursion limit, and a huge batch of garbage.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let (status, _, answer) = raw_post(&env, &deep, &[JSON_CT]).await;
    assert_eq!(status, 400);
    assert!(message(&answer).contains("recursion limit"), "{answer}");
    let garbage = format!("[{}1]", "{\"query\": 7},".repeat(10_000));
    let (status, _, _) = raw_post(&env, &garbage, &[JSON_CT]).await;
    assert_eq!(status, 400);
    assert_eq!(env.upstream(LIST_EXECUTIONS), 0);

    // A batch keeps working, with per-operation answers.
    let batch = json!([{"query": QUERY}, {"query": "{ nope }"}]).to_string();
    let (status, _, body) = raw_post(&env, &batch, &[JSON_CT, ("accept", GRAPHQL_RESPONSE)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["data"]["jobExecutions"]["totalCount"], 30);
    assert!(
        body[1].get("data").is_none() && codes(&body[1]) == ["BAD_USER_INPUT"],
        "{body}"
    );
}

#[tokio::test]
async fn a_body_limit_over_two_megabytes_is_honoured() {
    // axum's extractors stop at 2 MB by default; the configured limit must be the one that counts.
    let env = Env::with(
        emulator_config(3),
        blaxel_gateway::Config {
            max_body_bytes: 4 << 20,
            ..options()
        },
    )
    .await;
    let pad = "x".repeat(3 << 20);
    let body = json!({"query": "{ __typename }", "variables": {"pad": pad}}).to_string();
    let (status, _, answer) = raw_post(&env, &body, &[JSON_CT]).await;
    assert_eq!(
        (status, &answer["data"]["__typename"]),
        (200, &json!("Query"))
    );
    let over = json!({"query": "{ __typename }", "variables": {"pad": "x".repeat(5 << 20)}});
    let (status, _, answer) = raw_post(&env, &over.to_string(), &[JSON_CT]).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(codes(&answer), ["QUERY_TOO_COMPLEX"]);
}

#[tokio::test]
async fn get_runs_queries_only_and_reads_its_parameters_carefully() {
    let env = env_with(FrontendConfig::default()).await;
    let get = |params: Vec<(&'static str, String)>| raw_get(&env, params);
    let (status, _, body) = get(vec![
        ("query", "query Q($n: Int) { jobExecutions(jobName: \"data-processing-job\", first: $n) { totalCount } }".into()),
        ("variables", r#"{"n": 1}"#.into()),
        ("operationName", "Q".into()),
    ])
    .await;
    assert_eq!(
        (status, &body["data"]["jobExecutions"]["totalCount"]),
        (200, &json!(30))
    );
    // Mutations and subscriptions never run on GET, named or not, even with a CSRF header.
    for query in [
        "mutation { __typename }",
        "query A { __typename } mutation B { __typename }",
    ] {
        let name = if query.contains('B') { "B" } else { "" };
        let (status, allow, body) = get(vec![
            ("query", query.into()),
            ("operationName", name.into()),
        ])
        .await;
        assert_eq!((status, allow.as_deref()), (405, Some("POST")), "{body}");
        assert!(message(&body).contains("cannot be sent with GET"), "{body}");
    }
    let (status, _, body) = get(vec![("query", "subscription { __typename }".into())]).await;
    assert_eq!(status, 405, "{body}");
    // Other methods: a JSON 405 too.
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::OPTIONS,
    ] {
        let resp = env
            .http
            .request(method.clone(), &env.gateway.url)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 405, "{method}");
        assert!(resp.headers()["allow"].to_str().unwrap().contains("POST"));
        let body: Value = resp.json().await.unwrap();
        assert_eq!(codes(&body), ["BAD_USER_INPUT"], "{method}: {body}");
    }
    let typename = || ("query", "{ __typename }".to_owned());
    for (params, needle) in [
        (
            vec![typename(), ("variables", "{x".into())],
            "the `variables` parameter is not valid JSON: key must be a string at line 1 column 2",
        ),
        (
            vec![typename(), ("variables", "[1]".into())],
            "must be a JSON object, not an array",
        ),
        (
            vec![typename(), ("extensions", "\"x\"".into())],
            "must be a JSON object",
        ),
        (
            vec![typename(), ("query", "mutation { __typename }".into())],
            "more than once",
        ),
        (vec![], "has no `query`"),
    ] {
        let (status, _, body) = get(params).await;
        assert_eq!(status, 400, "{body}");
        assert!(message(&body).contains(needle), "{needle:?} in {body}");
    }
    // A syntax error on GET is readable too.
    let (_, _, body) = get(vec![("query", "{ jobs(".into())]).await;
    assert!(
        message(&body).starts_with("Syntax error at line 1, column 8"),
        "{body}"
    );
}

#[tokio::test]
async fn cors_allows_the_configured_origins_and_preflights_skip_graphql() {
    let allowed = "http://127.0.0.1:3000";
    let env = env_with(FrontendConfig {
        cors_allow_origin: Some(AllowedOrigins::parse(allowed).unwrap()),
        ..FrontendConfig::default()
    })
    .await;
    let preflight = |origin: &'static str, headers: &'static str| {
        env.http
            .request(reqwest::Method::OPTIONS, &env.gateway.url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", headers)
            .send()
    };
    env.reset();
    let wanted = "content-type,authorization,x-blaxel-workspace,x-blaxel-authorization,apollo-require-preflight,traceparent,tracestate,x-request-id";
    let resp = preflight(allowed, wanted).await.unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], allowed);
    let allow_headers = h["access-control-allow-headers"].to_str().unwrap();
    for name in wanted.split(',') {
        assert!(
            allow_headers.split(',').any(|h| h == name),
            "{name} in {allow_headers}"
        );
    }
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert!(
        h.get_all("vary")
            .iter()
            .any(|v| v.to_str().unwrap().contains("origin"))
    );
    // A foreign origin gets no grant (the browser then blocks the call).
    let resp = preflight("http://evil.example", "content-type")
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    // Actual requests: the grant follows the origin.
    let post = |origin: &'static str| {
        env.http
            .post(&env.gateway.url)
            .header("origin", origin)
            .json(&json!({"query": "{ __typename }"}))
            .send()
    };
    let resp = post(allowed).await.unwrap();
    assert_eq!(resp.headers()["access-control-allow-origin"], allowed);
    let resp = post("http://127.0.0.1:3001").await.unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    assert_eq!(
        env.upstream(LIST_EXECUTIONS),
        0,
        "preflights never reach the upstream"
    );

    // Without the flag: no CORS at all; with `*`: any origin.
    let plain = env_with(FrontendConfig::default()).await;
    let resp = plain
        .http
        .request(reqwest::Method::OPTIONS, &plain.gateway.url)
        .header("origin", allowed)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    let any = env_with(FrontendConfig {
        cors_allow_origin: Some(AllowedOrigins::parse("*").unwrap()),
        ..FrontendConfig::default()
    })
    .await;
    let resp = any
        .http
        .post(&any.gateway.url)
        .header("origin", "http://anything.example")
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
}

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn automatic_persisted_queries_follow_apollos_protocol() {
    let env = env_with(FrontendConfig {
        apq: ApqLimits {
            max_entries: 2,
            max_bytes: 1 << 20,
        },
        ..FrontendConfig::default()
    })
    .await;
    let hash = sha256(QUERY);
    let ext = |hash: &str| json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
    let env = &env;
    let send = |body: Value| async move {
        raw_post(
            env,
            &body.to_string(),
            &[JSON_CT, ("accept", GRAPHQL_RESPONSE)],
        )
        .await
    };
    env.reset();
    // Unknown hash: PERSISTED_QUERY_NOT_FOUND, 200 (a protocol step), nothing upstream.
    let (status, _, body) = send(json!({"extensions": ext(&hash)})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(codes(&body), ["PERSISTED_QUERY_NOT_FOUND"]);
    assert_eq!(message(&body), "PersistedQueryNotFound");
    assert_eq!(env.upstream(LIST_EXECUTIONS), 0);
    // Registration with the text, then the hash alone runs it (POST and GET).
    let (_, _, registered) = send(json!({"query": QUERY, "extensions": ext(&hash)})).await;
    assert_eq!(registered["data"]["jobExecutions"]["totalCount"], 30);
    let (_, _, by_hash) = send(json!({"extensions": ext(&hash)})).await;
    assert_eq!(by_hash, registered);
    let (_, _, by_get) = raw_get(env, vec![("extensions", ext(&hash).to_string())]).await;
    assert_eq!(by_get, registered);
    // A hash that is not the text's: refused, nothing registered under it.
    let other = sha256("{ __typename }");
    let (status, _, body) = send(json!({"query": QUERY, "extensions": ext(&other)})).await;
    assert_eq!(status, 400);
    assert!(
        message(&body).contains("provided sha does not match query"),
        "{body}"
    );
    let (_, _, body) = send(json!({"extensions": ext(&other)})).await;
    assert_eq!(codes(&body), ["PERSISTED_QUERY_NOT_FOUND"]);
    // Malformed extensions, and a document that fails validation is not registered.
    for bad in [
        json!({"persistedQuery": {"version": 2, "sha256Hash": hash}}),
        json!({"persistedQuery": {"version": 1, "sha256Hash": "../../etc"}}),
    ] {
        let (status, _, body) = send(json!({"extensions": bad})).await;
        assert_eq!(status, 400, "{body}");
        assert!(message(&body).contains("persistedQuery"), "{body}");
    }
    let invalid = "{ nope }";
    let (status, _, _) = send(json!({"query": invalid, "extensions": ext(&sha256(invalid))})).await;
    assert_eq!(status, 400);
    let (_, _, body) = send(json!({"extensions": ext(&sha256(invalid))})).await;
    assert_eq!(codes(&body), ["PERSISTED_QUERY_NOT_FOUND"]);
    // Bounded: two more registrations evict the least recently used.
    for q in ["{ a: __typename }", "{ b: __typename }"] {
        let (_, _, body) = send(json!({"query": q, "extensions": ext(&sha256(q))})).await;
        assert_eq!(body["errors"], Value::Null, "{body}");
    }
    let (_, _, body) = send(json!({"extensions": ext(&hash)})).await;
    assert_eq!(codes(&body), ["PERSISTED_QUERY_NOT_FOUND"]);
}

#[tokio::test]
async fn trusted_documents_mode_runs_only_the_manifest() {
    let manifest = json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [{"id": sha256(QUERY), "name": "Page", "type": "query", "body": QUERY}],
    });
    let env = env_with(FrontendConfig {
        trusted_documents: Some(TrustedDocuments::from_json(&manifest.to_string()).unwrap()),
        ..FrontendConfig::default()
    })
    .await;
    let env = &env;
    let ext = |q: &str| json!({"persistedQuery": {"version": 1, "sha256Hash": sha256(q)}});
    let send = |body: Value| async move { raw_post(env, &body.to_string(), &[JSON_CT]).await };
    // The manifest's document runs, by text or by hash alone (never registered first).
    let (_, _, by_text) = send(json!({ "query": QUERY })).await;
    assert_eq!(by_text["data"]["jobExecutions"]["totalCount"], 30);
    let (_, _, by_hash) = send(json!({ "extensions": ext(QUERY) })).await;
    assert_eq!(by_hash, by_text);
    // Anything else is refused before it runs, by POST or GET, and cannot be registered.
    env.reset();
    let other = "{ jobs(first: 1) { totalCount } }";
    for body in [
        json!({ "query": other }),
        json!({ "query": other, "extensions": ext(other) }),
        json!({ "query": format!("{QUERY} ") }),
    ] {
        let (status, _, answer) = send(body).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(codes(&answer), ["PERSISTED_QUERY_NOT_IN_LIST"]);
        assert!(
            message(&answer).contains("trusted documents only"),
            "{answer}"
        );
    }
    let (_, _, answer) = send(json!({ "extensions": ext(other) })).await;
    assert_eq!(codes(&answer), ["PERSISTED_QUERY_NOT_FOUND"]);
    let (status, _, answer) = raw_get(env, vec![("query", other.to_owned())]).await;
    assert_eq!(
        (status, codes(&answer)),
        (400, vec!["PERSISTED_QUERY_NOT_IN_LIST".into()])
    );
    assert_eq!(env.upstream(LIST_EXECUTIONS), 0);
}

#[tokio::test]
async fn answers_are_compressed_on_request_and_private() {
    let env = env_with(FrontendConfig::default()).await;
    let big = json!({"query": r#"{ jobExecutions(jobName: "data-processing-job", first: 20) { edges { cursor node { id metadata { id job workspace createdAt } status stats { total success failure } } } } }"#}).to_string();
    let fetch = |encoding: &'static str| {
        env.http
            .post(&env.gateway.url)
            .header("content-type", "application/json")
            .header("accept-encoding", encoding)
            .body(big.clone())
            .send()
    };
    let plain = fetch("identity").await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.headers()["cache-control"], "private, no-store");
    let vary: Vec<String> = plain
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .collect();
    for name in [
        "authorization",
        "x-blaxel-authorization",
        "x-blaxel-workspace",
        "accept",
        "accept-encoding",
    ] {
        assert!(
            vary.iter().any(|v| v.split(", ").any(|n| n == name)),
            "{name} in {vary:?}"
        );
    }
    let plain = plain.bytes().await.unwrap();
    assert!(plain.len() > 4000, "{}", plain.len());

    let gz = fetch("gzip").await.unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let gz = gz.bytes().await.unwrap();
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain, "gzip answers the same JSON");
    assert!(
        gz.len() * 3 < plain.len(),
        "gzip {} of {}",
        gz.len(),
        plain.len()
    );

    let br = fetch("br;q=1, gzip;q=0.5").await.unwrap();
    assert_eq!(br.headers()["content-encoding"], "br");
    let br = br.bytes().await.unwrap();
    assert!(
        br.len() * 3 < plain.len(),
        "brotli {} of {}",
        br.len(),
        plain.len()
    );
    // Errors are private too.
    let resp = env
        .http
        .post(&env.gateway.url)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["cache-control"], "private, no-store");
}

/// GETs `path` of the gateway as a browser navigation does.
async fn browse(env: &Env, path: &str) -> Response {
    let url = format!("{}{path}", env.gateway.base);
    let html = "text/html,application/xhtml+xml;q=0.9";
    env.http
        .get(url)
        .header("accept", html)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn graphiql_is_embedded_and_both_switches_work() {
    let env = env_with(FrontendConfig::default()).await;
    let base = &env.gateway.base;
    let page = browse(&env, "/graphql").await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("data-processing-job"),
        "the README's query is the default"
    );
    assert!(
        !html.contains("https://") && !html.contains("http://"),
        "no external URL"
    );
    let sources: Vec<&str> = html
        .split(['"'])
        .filter(|s| s.starts_with("/graphiql/"))
        .collect();
    assert_eq!(sources.len(), 5, "{sources:?}");
    for src in sources {
        let resp = env.http.get(format!("{base}{src}")).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{src}");
        let ty = content_type(&resp);
        assert!(
            ty.starts_with("text/javascript") || ty.starts_with("text/css"),
            "{src}: {ty}"
        );
        let cache = resp.headers()["cache-control"].to_str().unwrap().to_owned();
        if src.contains('@') {
            assert!(cache.contains("immutable"), "{src}: {cache}");
        }
        let body = resp.bytes().await.unwrap();
        assert!(!body.is_empty());
        // Gzipped once and reused: the same bytes to every client that accepts gzip.
        let mut gzipped = Vec::new();
        for _ in 0..2 {
            let resp = env
                .http
                .get(format!("{base}{src}"))
                .header("accept-encoding", "gzip, br")
                .send()
                .await
                .unwrap();
            assert_eq!(resp.headers()["content-encoding"], "gzip", "{src}");
            gzipped.push(resp.bytes().await.unwrap());
        }
        assert_eq!(gzipped[0], gzipped[1]);
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&gzipped[0][..])
            .read_to_end(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, body, "{src}");
        if src.contains("react-dom") {
            assert!(
                !String::from_utf8_lossy(&body).contains("development"),
                "a production build"
            );
        }
    }
    let introspection = json!({"query": "{ __schema { queryType { name } } }"}).to_string();
    let (_, _, body) = raw_post(&env, &introspection, &[JSON_CT]).await;
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");

    // Locked down: no page, no assets, no introspection; ordinary queries still run.
    let locked = env_with(FrontendConfig {
        graphiql: false,
        introspection: false,
        ..FrontendConfig::default()
    })
    .await;
    let resp = browse(&locked, "/graphql").await;
    assert_eq!(resp.status(), 406, "a page is not served");
    let resp = browse(&locked, "/graphiql/init.js").await;
    assert_eq!(resp.status(), 404);
    for query in [
        "{ __schema { queryType { name } } }",
        "{ ...F } fragment F on Query { t: __type(name: \"Query\") { name } }",
        "{ ... on Query { __schema { types { name } } } }",
    ] {
        let body = json!({ "query": query }).to_string();
        let (status, _, body) =
            raw_post(&locked, &body, &[JSON_CT, ("accept", GRAPHQL_RESPONSE)]).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.get("data").is_none(), "{body}");
        assert!(
            message(&body).contains("introspection is disabled"),
            "{body}"
        );
    }
    let (_, _, body) = raw_post(
        &locked,
        &json!({"query": "{ __typename }"}).to_string(),
        &[JSON_CT],
    )
    .await;
    assert_eq!(body["data"]["__typename"], "Query");
    let (_, _, body) = raw_post(&locked, &json!({"query": QUERY}).to_string(), &[JSON_CT]).await;
    assert_eq!(body["data"]["jobExecutions"]["totalCount"], 30);
}
