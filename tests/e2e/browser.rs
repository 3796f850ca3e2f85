//! Checks run by node tools against a gateway on 127.0.0.1:0: the GraphQL over HTTP audit
//! (graphql-http `auditServer`) and headless Chromium (GraphiQL offline, CORS from pages on
//! other loopback origins). The tools live in tests/http-audit (pinned by its lock file).
//!
//! Without `tests/http-audit/node_modules` or Chromium, each test says how to install them and
//! passes as skipped; with `CI=true` it fails instead, so CI never skips silently.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use axum::{Router, response::Html, routing::get};
use blaxel_gateway::http::{AllowedOrigins, FrontendConfig, GraphiqlConfig};
use serde_json::Value;

use crate::harness::*;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Explains a missing prerequisite: a panic in CI, a skip elsewhere.
fn skip(what: &str) {
    assert!(!in_ci(), "{what} (CI=true: this test must run, not skip)");
    eprintln!("SKIPPED: {what}");
}

/// tests/http-audit when its node packages are installed.
fn node_tools() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("http-audit");
    if dir.join("node_modules").is_dir() {
        return Some(dir);
    }
    skip(
        "tests/http-audit/node_modules is missing: install the pinned node tools with \
         `npm ci --prefix tests/http-audit` (or run .ci/frontend-setup.sh)",
    );
    None
}

/// Runs `node <script> <args>` in `dir`, bounded in time; returns (success, stdout, stderr).
async fn node(dir: &Path, script: &str, args: &[&str]) -> (bool, String, String) {
    let child = tokio::process::Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs (install Node.js 20 or later)");
    let output = tokio::time::timeout(Duration::from_secs(180), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("node {script} did not finish within 180 s"))
        .expect("node output");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_over_http_audit_passes_without_warnings() {
    let Some(dir) = node_tools() else { return };
    let env = Env::start(emulator_config(3)).await;
    let (ok, out, err) = node(&dir, "audit.mjs", &[&env.gateway.url]).await;
    assert!(ok, "audit failed:\n{out}\n{err}");
    assert!(out.contains(" 0 errors, 0 warnings"), "{out}");
}

/// A page that calls the gateway at `graphql` with fetch, with a credential header (so the
/// browser must ask CORS first), and stores the outcome in `window.outcome`.
fn page_html(graphql: &str) -> String {
    format!(
        r#"<!doctype html><meta charset="utf-8"><title>frontend</title><script>
fetch({graphql:?}, {{
  method: 'POST',
  headers: {{'content-type': 'application/json', 'authorization': 'Bearer dev-token'}},
  body: JSON.stringify({{query: '{{ jobExecutions(jobName: "data-processing-job", first: 1) {{ totalCount }} }}'}}),
}}).then((r) => r.json()).then(
  (body) => {{ window.outcome = {{ok: true, body}}; }},
  (e) => {{ window.outcome = {{ok: false, error: String(e)}}; }},
);
</script>"#
    )
}

/// A loopback server on its own origin serving [`page_html`] at `/`; the gateway's URL is read
/// when the page is served (the gateway starts after the pages: it needs their origins).
async fn page_server(
    url: std::sync::Arc<std::sync::OnceLock<String>>,
) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().route(
        "/",
        get(move || {
            let url = url.get().cloned().unwrap_or_default();
            async move { Html(page_html(&url)) }
        }),
    );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (origin, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_runs_graphiql_offline_and_cors_admits_only_allowed_origins() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        skip(&format!(
            "{chromium} is missing: install Debian's chromium (`apt-get install -y chromium`, or \
             run .ci/frontend-setup.sh), or point CHROMIUM at a Chromium binary"
        ));
        return;
    }
    let Some(dir) = node_tools() else { return };
    let emulator = blaxel_emulator::spawn(emulator_config(30)).await.unwrap();
    let gateway_url = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let (allowed, allowed_task) = page_server(gateway_url.clone()).await;
    let (denied, denied_task) = page_server(gateway_url.clone()).await;
    let gateway = gateway_with_frontend(
        &emulator.base_url(),
        // Callers must send a token: GraphiQL's query works only with its prefilled headers.
        blaxel_gateway::Config {
            token: None,
            ..options()
        },
        FrontendConfig {
                cors_allow_origin: Some(AllowedOrigins::parse(&allowed).unwrap()),
                graphiql_config: GraphiqlConfig {
                    default_headers: Some(
                        r#"{"Authorization": "Bearer dev-token", "X-Blaxel-Workspace": "my-workspace"}"#.into(),
                    ),
                },
                ..FrontendConfig::default()
            },
    )
    .await;
    gateway_url.set(gateway.url.clone()).unwrap();
    let (ok, out, err) = node(
        &dir,
        "browser.mjs",
        &[&gateway.base, &format!("{allowed}/"), &format!("{denied}/")],
    )
    .await;
    allowed_task.abort();
    denied_task.abort();
    assert!(ok, "browser run failed:\n{out}\n{err}");
    eprintln!("browser: {}", out.trim());
    let result: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));

    // GraphiQL ran the README's query with its prefilled headers.
    let page = &result["graphiql"]["data"]["jobExecutions"];
    assert_eq!(page["totalCount"], 30, "{result}");
    assert_eq!(page["edges"].as_array().map(Vec::len), Some(2), "{result}");
    assert!(page["edges"][0]["node"]["metadata"]["id"].is_string());
    // ... and a subscription, as Server-Sent Events: its first event is the current state.
    let live = &result["subscription"]["data"]["jobExecutionUpdated"];
    assert_eq!(live["metadata"]["id"], "exec-abc123", "{result}");
    assert!(live["status"].is_string(), "{result}");
    // Everything it loaded came from the gateway; nothing failed, no CSP violation.
    let requests = result["requests"].as_array().unwrap();
    assert!(requests.len() >= 6, "{requests:?}");
    for url in requests {
        let url = url.as_str().unwrap();
        assert!(
            url.starts_with(&gateway.base) || url.starts_with("data:"),
            "external request {url}"
        );
    }
    assert_eq!(result["problems"], serde_json::json!([]), "console errors");

    // The allowed origin reads data; another origin is blocked by the browser.
    assert_eq!(result["allowed"]["ok"], true, "{result}");
    assert_eq!(
        result["allowed"]["body"]["data"]["jobExecutions"]["totalCount"],
        30
    );
    assert_eq!(result["denied"]["ok"], false, "{result}");
    assert!(
        result["denied"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("Failed to fetch")),
        "{result}"
    );
}
