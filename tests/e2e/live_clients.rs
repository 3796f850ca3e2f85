//! The reference subscription clients against the gateway: `graphql-ws` (graphql-transport-ws
//! over WebSocket) and `graphql-sse` (distinct connections mode), from npm, driven by
//! `tests/interop/live/clients.mjs`. Each sees every transition of an execution and then the
//! completion. Needs node and `npm ci` in `tests/interop/live` (`.ci/sdk-setup.sh` runs it);
//! without them the test is skipped, except under `CI=true`, where it fails.

use std::{path::PathBuf, time::Duration};

use serde_json::{Value, json};

use crate::harness::*;

#[tokio::test]
async fn graphql_ws_and_graphql_sse_clients_see_every_transition_and_completion() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/live");
    if !dir.join("node_modules/graphql-ws/package.json").exists() {
        let msg = format!(
            "no {}/node_modules: run `npm ci` there (or .ci/sdk-setup.sh)",
            dir.display()
        );
        assert!(!std::env::var("CI").is_ok_and(|v| v == "true"), "{msg}");
        eprintln!("skipped: {msg}");
        return;
    }
    let env = Env::start(emulator_config(0)).await;
    let run = tokio::process::Command::new("node")
        .arg(dir.join("clients.mjs"))
        .arg(&env.gateway.url)
        .arg(format!("http://{}", env.emulator.addr()))
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the clients finish within the bound")
        .expect("node runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let statuses: Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    let expected = json!(["QUEUED", "PENDING", "RUNNING", "SUCCEEDED"]);
    assert_eq!(statuses, json!({"ws": expected, "sse": expected}));
}
