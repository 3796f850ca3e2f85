//! Two callers with different tokens never see each other's data.

use blaxel_emulator::EmulatorConfig;
use serde_json::{Value, json};

use blaxel_gateway::Config;

use crate::harness::*;

#[tokio::test]
async fn concurrent_callers_see_only_their_workspace() {
    let (env, tenants) = tenants_env(6).await;
    let query = r#"query($job: String!, $first: Int) {
      jobExecutions(jobName: $job, first: $first) { edges { cursor node { metadata { id workspace } } } }
      jobs { nodes { metadata { name workspace } } }
    }"#;
    let mut tasks = Vec::new();
    for round in 0..10 {
        for (token, workspace) in &tenants {
            let http = env.http.clone();
            let url = env.gateway.url.clone();
            let auth = format!("Bearer {token}");
            let workspace = workspace.clone();
            let first = 5 + (round % 3) * 5;
            tasks.push(tokio::spawn(async move {
                let resp = post(
                    &http,
                    &url,
                    query,
                    json!({"job": "data-processing-job", "first": first}),
                    &[("Authorization", &auth)],
                )
                .await;
                assert!(resp["errors"].is_null(), "{resp}");
                let edges = resp["data"]["jobExecutions"]["edges"].as_array().unwrap();
                assert_eq!(edges.len(), first as usize);
                for edge in edges {
                    assert_eq!(edge["node"]["metadata"]["workspace"], workspace.as_str());
                }
                for job in resp["data"]["jobs"]["nodes"].as_array().unwrap() {
                    assert_eq!(job["metadata"]["workspace"], workspace.as_str());
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// Tenants `tok-N-…` / `workspace-N`, and a gateway that has no token of its own.
async fn tenants_env(n: usize) -> (Env, Vec<(String, String)>) {
    let tenants: Vec<(String, String)> = (0..n)
        .map(|i| (format!("tok-{i}-3f9a1c7e"), format!("workspace-{i}")))
        .collect();
    let options = Config {
        token: None,
        ..options()
    };
    let env = Env::with(
        EmulatorConfig {
            tokens: tenants.clone(),
            jobs: 2,
            executions_per_job: 30,
            ..EmulatorConfig::default()
        },
        options,
    )
    .await;
    (env, tenants)
}

#[tokio::test]
async fn same_document_different_variables_each_caller_gets_exactly_its_own_answer() {
    let (env, tenants) = tenants_env(8).await;
    let query = r#"query($job: String!, $first: Int, $sort: JobExecutionSort, $q: String) {
      jobExecutions(jobName: $job, first: $first, sort: $sort, query: $q) {
        totalCount
        edges { cursor node { id metadata { id job workspace createdAt } status } }
      }
      jobs(first: 5) { nodes { metadata { name workspace } } }
    }"#;
    let variables = |i: usize, round: usize| {
        let jobs = ["data-processing-job", "job-1"];
        let sorts = ["CREATED_AT_DESC", "CREATED_AT_ASC", "NAME_ASC", "NAME_DESC"];
        json!({
            "job": jobs[(i + round) % 2],
            "first": 3 + (i * 7 + round) % 9,
            "sort": sorts[(i + round) % 4],
            "q": if round.is_multiple_of(3) { Value::Null } else { json!("exec") },
        })
    };
    // Each caller's answer when it is alone.
    let rounds = 4;
    let mut expected = std::collections::HashMap::new();
    for (i, (token, _)) in tenants.iter().enumerate() {
        for round in 0..rounds {
            let auth = format!("Bearer {token}");
            let resp = env
                .gql_as(query, variables(i, round), &[("Authorization", &auth)])
                .await;
            assert!(resp["errors"].is_null(), "{resp}");
            expected.insert((i, round), resp);
        }
    }
    // All at once, interleaved: every answer is exactly the caller's own.
    let expected = std::sync::Arc::new(expected);
    let mut tasks = Vec::new();
    for round in 0..rounds {
        for (i, (token, workspace)) in tenants.iter().enumerate() {
            let (http, url, expected) =
                (env.http.clone(), env.gateway.url.clone(), expected.clone());
            let (auth, workspace, vars) = (
                format!("Bearer {token}"),
                workspace.clone(),
                variables(i, round),
            );
            tasks.push(tokio::spawn(async move {
                let resp = post(&http, &url, query, vars, &[("Authorization", &auth)]).await;
                assert_eq!(resp, expected[&(i, round)], "tenant {i}, round {round}");
                let edges = resp["data"]["jobExecutions"]["edges"].as_array().unwrap();
                for edge in edges {
                    assert_eq!(edge["node"]["metadata"]["workspace"], workspace.as_str());
                }
                for job in resp["data"]["jobs"]["nodes"].as_array().unwrap() {
                    assert_eq!(job["metadata"]["workspace"], workspace.as_str());
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_token_and_no_env_value_in_the_logs() {
    // Every crate at TRACE, ours included, into a buffer. The subscriber is process-wide (the
    // gateway logs from other threads), so lines of other tests land here too: only this test's
    // secrets are searched for.
    let logs = Captured::default();
    let writer = logs.clone();
    let installed = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init();
    assert!(
        installed.is_ok(),
        "the only test that installs a subscriber"
    );

    let (env, tenants) = tenants_env(3).await;
    let secret = |i: usize| format!("env-value-9d2e7b41-{i}");
    // Executions with known env values, created straight through the transport.
    let client =
        blaxel_transport::Client::new(blaxel_transport::ClientConfig::new(env.emulator.base_url()))
            .unwrap();
    for (i, (token, workspace)) in tenants.iter().enumerate() {
        let creds =
            blaxel_transport::Credentials::with_token(token.clone()).workspace(workspace.clone());
        let body = blaxel_models::CreateJobExecutionRequest {
            env: [
                ("API_KEY".to_owned(), secret(i)),
                ("DB_PASSWORD".to_owned(), secret(i)),
            ]
            .into(),
            tasks: vec![serde_json::Map::new()],
            ..Default::default()
        };
        client
            .create_job_execution(&creds, "data-processing-job", &body)
            .await
            .unwrap();
    }
    let query = r#"query($first: Int) {
      jobExecutions(jobName: "data-processing-job", first: $first) {
        edges { node { metadata { id workspace } spec { envOverride } } }
      }
    }"#;
    let mut answers = String::new();
    for (token, _) in &tenants {
        for header in ["Authorization", "X-Blaxel-Authorization"] {
            let auth = format!("Bearer {token}");
            let resp = env
                .gql_as(query, json!({"first": 40}), &[(header, &auth)])
                .await;
            assert!(resp["errors"].is_null(), "{resp}");
            let masked = resp["data"]["jobExecutions"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["node"]["spec"]["envOverride"]["API_KEY"] == "***")
                .count();
            assert!(
                masked >= 1,
                "the created execution is listed, masked: {resp}"
            );
            answers.push_str(&resp.to_string());
        }
    }
    // Rejected tokens, a fault that fails every call, and an open breaker log too.
    let wrong = "tok-wrong-5b8c2d90";
    let resp = env
        .gql_as(
            query,
            json!({}),
            &[("Authorization", &format!("Bearer {wrong}"))],
        )
        .await;
    assert_eq!(codes(&resp), ["UNAUTHENTICATED"]);
    answers.push_str(&resp.to_string());
    env.emulator
        .emulator()
        .set_faults(vec![blaxel_emulator::Fault {
            route: "*".into(),
            status: Some(503),
            ..blaxel_emulator::Fault::default()
        }]);
    for (token, _) in &tenants {
        let auth = format!("Bearer {token}");
        let resp = env
            .gql_as(query, json!({}), &[("Authorization", &auth)])
            .await;
        assert_eq!(codes(&resp), ["UPSTREAM_UNAVAILABLE"]);
        answers.push_str(&resp.to_string());
    }

    let logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        logs.contains("upstream answered") && logs.contains("blaxel_transport"),
        "the capture sees the transport's trace lines"
    );
    let mut secrets: Vec<String> = tenants.iter().map(|(t, _)| t.clone()).collect();
    secrets.push(wrong.to_owned());
    secrets.extend((0..tenants.len()).map(secret));
    for s in &secrets {
        assert!(!logs.contains(s.as_str()), "{s} appears in the logs");
        assert!(!answers.contains(s.as_str()), "{s} appears in a response");
    }
}

/// The same job name in two workspaces has two global ids; `node(id:)` with another workspace's
/// id answers null (no error, nothing of the other workspace), whichever way the caller names
/// its workspace.
#[tokio::test]
async fn global_ids_are_unique_per_workspace_and_node_stays_in_its_workspace() {
    let (env, tenants) = tenants_env(2).await;
    let query = r#"{ job(name: "data-processing-job") { id metadata { workspace } } }"#;
    let mut ids = Vec::new();
    for (token, workspace) in &tenants {
        let auth = format!("Bearer {token}");
        let resp = env
            .gql_as(query, json!({}), &[("Authorization", &auth)])
            .await;
        assert_eq!(
            resp["data"]["job"]["metadata"]["workspace"],
            workspace.as_str()
        );
        ids.push(resp["data"]["job"]["id"].as_str().unwrap().to_owned());
    }
    assert_ne!(ids[0], ids[1], "one job name, two workspaces, two ids");
    let node = r#"query($id: ID!) { node(id: $id) { id ... on Job { metadata { workspace } } } }"#;
    let (token, workspace) = &tenants[0];
    let auth = format!("Bearer {token}");
    // Its own id: found. The other workspace's id: null, with or without X-Blaxel-Workspace.
    let own = env
        .gql_as(node, json!({"id": ids[0]}), &[("Authorization", &auth)])
        .await;
    assert_eq!(own["data"]["node"]["id"], ids[0].as_str(), "{own}");
    env.reset();
    for headers in [
        vec![("Authorization", auth.as_str())],
        vec![
            ("Authorization", auth.as_str()),
            ("X-Blaxel-Workspace", workspace.as_str()),
        ],
    ] {
        let other = env.gql_as(node, json!({"id": ids[1]}), &headers).await;
        assert!(other["errors"].is_null(), "{other}");
        assert!(other["data"]["node"].is_null(), "{other}");
    }
    // With the caller's workspace named, the foreign id is refused before any upstream call.
    assert_eq!(
        env.upstream("GET /v0/jobs/{jobId}"),
        1,
        "only the headerless lookup"
    );
}

/// A failing listing is `null` with its error; its siblings in the same response are intact and
/// every selected root key is present, in selection order, even when the first field completes
/// last (read on the raw body: a JSON map would sort the keys).
#[tokio::test]
async fn a_failing_listing_is_null_and_its_siblings_stay_in_selection_order() {
    let env = Env::start(emulator_config(5)).await;
    env.emulator
        .emulator()
        .set_faults(vec![blaxel_emulator::Fault {
            route: LIST_EXECUTIONS.to_owned(),
            latency_ms: Some(200),
            ..Default::default()
        }]);
    let query = r#"{
      slow: jobExecutions(jobName: "data-processing-job", first: 1) { totalCount }
      missing: jobExecutions(jobName: "no-such-job") { totalCount }
      job(name: "data-processing-job") { executions(first: 1) { totalCount } metadata { name } }
      c: jobs(first: 2) { totalCount }
    }"#;
    let (body, at) = raw_answer(&env, query).await;
    assert!(
        at("slow") < at("missing") && at("missing") < at("job") && at("job") < at("c"),
        "{body}"
    );
    assert!(
        at("executions") < at("metadata"),
        "a job's keys in selection order: {body}"
    );
    let resp: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(codes(&resp), ["NOT_FOUND"]);
    assert_eq!(resp["errors"][0]["path"], json!(["missing"]));
    assert!(resp["data"]["missing"].is_null());
    assert_eq!(resp["data"]["slow"]["totalCount"], 5);
    assert_eq!(
        resp["data"]["job"]["metadata"]["name"],
        "data-processing-job"
    );
    assert_eq!(resp["data"]["c"]["totalCount"], 3);
}
