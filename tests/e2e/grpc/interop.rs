//! Interop with a client that is not ours: Python `grpcio` (reflection v1alpha, health, rich
//! error details) runs `tests/grpc/interop.py` against the gRPC listener.
//!
//! Needs the venv of `.ci/grpc-setup.sh` (`target/grpc-venv`, or `GRPC_VENV`): skipped with a
//! message when it is missing, except under `CI=true`, where a missing venv fails the test.

use std::{path::PathBuf, time::Duration};

use serde_json::Value;

use super::{GrpcEnv, JOB};
use crate::harness::emulator_config;

/// The venv's Python, if installed.
fn python() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv = std::env::var_os("GRPC_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/grpc-venv"));
    let python = venv.join("bin/python");
    python.exists().then_some(python)
}

#[tokio::test]
async fn python_grpcio_with_reflection_pages_and_decodes_errors() {
    let Some(python) = python() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but the gRPC venv is missing: run .ci/grpc-setup.sh"
        );
        eprintln!(
            "SKIPPED: no gRPC venv (target/grpc-venv); run .ci/grpc-setup.sh to enable this test"
        );
        return;
    };
    let env = GrpcEnv::start(emulator_config(12)).await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("grpc/interop.py");
    let run = tokio::process::Command::new(python)
        .arg(script)
        .arg(env.addr.to_string())
        .arg(JOB)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("the Python client finishes within 90 s")
        .expect("python runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "interop.py failed: {stderr}");
    let seen: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("interop.py printed no JSON ({e}): {stderr}"));
    assert_eq!(seen["health"], "SERVING", "{seen}");
    for service in [
        "blaxel.jobs.v1.JobExecutionService",
        "blaxel.jobs.v1.JobService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            seen["services"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s == service),
            "{service} in {seen}"
        );
    }
    assert_eq!(seen["total_size"], 12);
    // The same ids the Rust client sees, in order.
    let rust = env.first_ids(10).await;
    let python: Vec<&str> = seen["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(python, rust);
    assert_eq!(
        seen["first"]["name"],
        format!("jobs/{JOB}/executions/{}", rust[0])
    );
    assert_eq!(
        seen["error"],
        serde_json::json!({"code": "INVALID_ARGUMENT", "reason": "CURSOR_INVALID", "field": "page_token"})
    );
}
