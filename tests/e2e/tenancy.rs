//! Two callers with different tokens never see each other's data.

use blaxel_emulator::EmulatorConfig;
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn concurrent_callers_see_only_their_workspace() {
    let tenants: Vec<(String, String)> = (0..6)
        .map(|i| (format!("token-{i}"), format!("workspace-{i}")))
        .collect();
    let options = GatewayOptions {
        token: None,
        ..GatewayOptions::default()
    };
    let env = Env::with(
        EmulatorConfig {
            tokens: tenants.clone(),
            jobs: 2,
            executions_per_job: 25,
            ..EmulatorConfig::default()
        },
        options,
    )
    .await;
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
