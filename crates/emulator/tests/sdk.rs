//! Interop: the official Blaxel SDKs as clients of the emulator.
//!
//! Each test spawns an emulator on `127.0.0.1:0` and runs one SDK script against it: the Python
//! SDK `blaxel` (pinned in `tests/sdk/python/requirements.txt`, run from the virtual environment
//! `target/sdk-venv`, or `$SDK_VENV`) and the TypeScript SDK `@blaxel/core` (pinned in
//! `tests/sdk/ts/package-lock.json`, run with node). Both walk whole jobs with the SDK's own pager,
//! get, create and cancel an execution and page its tasks, with the SDK's default
//! `Blaxel-Version` and with the other version of the cursor contract. The scripts assert that
//! every item parses, that no item repeats, that each page costs one request (the emulator's
//! counts) and the fields of 2026-09-22 (`taskCount`, `tasksRef`, `totalIsPartial`); this side
//! checks their report, the emulator's count of the cancel, and the state of the execution the
//! SDK created (read back from the emulator).
//!
//! Base URLs: the Python SDK takes its API URL only from `BL_ENV` (Blaxel's prod or dev hosts),
//! so its script points the SDK's generated client at the emulator (`client.with_base_url`); the
//! TypeScript SDK reads `BL_API_URL`, its public setting.
//!
//! Setup: `.ci/sdk-setup.sh`. Without it these tests print how to install and pass, except
//! with `CI=true`, where a missing interpreter or package fails them. `SDK_VENV` and
//! `SDK_TS_DIR` (a directory holding `interop.cjs` and its `node_modules`; relative paths are
//! from the repository root) point them at other installs: `.ci/sdk-drift.sh` uses them to try newer SDK releases.

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use blaxel_emulator::{DEMO_TOKEN, DEMO_WORKSPACE, EmulatorConfig, EmulatorHandle, route, spawn};
use serde_json::Value;

/// Executions per job: more than [`TOTAL_COUNT_LIMIT`], so `totalIsPartial` shows, and more
/// than one page of the walk (50 per page).
const EXECUTIONS_PER_JOB: usize = 120;
const TOTAL_COUNT_LIMIT: usize = 100;
/// Seeded executions have 1..=6 tasks and the reference one 10: both forms show.
const INLINE_TASKS_MAX: usize = 5;
const JOBS: [&str; 3] = ["data-processing-job", "job-1", "job-2"];
/// Bound on one SDK run (each run is a few hundred loopback requests).
const RUN_TIMEOUT: Duration = Duration::from_secs(180);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Skips (prints why and how to install) or, under `CI=true`, fails.
fn missing(what: &str) {
    let msg = format!(
        "{what}: run .ci/sdk-setup.sh (creates target/sdk-venv with the pinned Python SDK and runs \
         npm ci in tests/sdk/ts)"
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}");
    }
    eprintln!("skipped: {msg}");
}

enum Sdk {
    Python,
    TypeScript,
}

impl Sdk {
    /// The interpreter and script, or `None` (after [`missing`]) when not installed.
    fn command(&self) -> Option<Command> {
        let root = repo_root();
        match self {
            Sdk::Python => {
                let venv = std::env::var_os("SDK_VENV")
                    .map_or_else(|| root.join("target/sdk-venv"), |v| root.join(v));
                let python = venv.join("bin/python");
                if !python.exists() {
                    missing(&format!(
                        "no Python virtual environment at {}",
                        venv.display()
                    ));
                    return None;
                }
                let mut cmd = Command::new(python);
                cmd.arg(root.join("tests/sdk/python/interop.py"));
                Some(cmd)
            }
            Sdk::TypeScript => {
                let dir = std::env::var_os("SDK_TS_DIR")
                    .map_or_else(|| root.join("tests/sdk/ts"), |d| root.join(d));
                if !dir.join("node_modules/@blaxel/core/package.json").exists() {
                    missing(&format!("no {}/node_modules/@blaxel/core", dir.display()));
                    return None;
                }
                let mut cmd = Command::new("node");
                cmd.arg("interop.cjs").current_dir(dir);
                Some(cmd)
            }
        }
    }
}

async fn emulator() -> EmulatorHandle {
    spawn(EmulatorConfig {
        executions_per_job: EXECUTIONS_PER_JOB,
        total_count_limit: Some(TOTAL_COUNT_LIMIT),
        inline_tasks_max: INLINE_TASKS_MAX,
        ..EmulatorConfig::default()
    })
    .await
    .expect("spawn emulator")
}

/// Runs `sdk` against a fresh emulator; `version` is `BL_API_VERSION` (`None`: the SDK's
/// default) and `expect` the `Blaxel-Version` the run must send. Returns the script's report
/// and the emulator, or `None` when the SDK is not installed.
async fn run(sdk: Sdk, version: Option<&str>, expect: &str) -> Option<(Value, EmulatorHandle)> {
    let mut cmd = sdk.command()?;
    let emu = emulator().await;
    // A private HOME: the SDKs read ~/.blaxel (credentials, telemetry state) and must not.
    let home = std::env::temp_dir().join(format!(
        "blaxel-sdk-home-{}-{}",
        std::process::id(),
        emu.addr().port()
    ));
    std::fs::create_dir_all(&home).expect("temp HOME");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("DO_NOT_TRACK", "1")
        .env("EMULATOR_URL", emu.base_url())
        .env("BL_API_URL", emu.base_url())
        .env("BL_API_KEY", DEMO_TOKEN)
        .env("BL_WORKSPACE", DEMO_WORKSPACE)
        .env("EXPECT_VERSION", expect)
        .env("JOBS", JOBS.join(","))
        .env("EXECUTIONS_PER_JOB", EXECUTIONS_PER_JOB.to_string())
        .env("TOTAL_COUNT_LIMIT", TOTAL_COUNT_LIMIT.to_string())
        .env("INLINE_TASKS_MAX", INLINE_TASKS_MAX.to_string())
        .stdin(Stdio::null());
    if let Some(v) = version {
        cmd.env("BL_API_VERSION", v);
    }
    // Output goes to files (no pipe to drain while waiting); the wait polls so the run is
    // bounded without blocking the runtime that serves the emulator.
    let (out_path, err_path) = (home.join("stdout"), home.join("stderr"));
    cmd.stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"));
    let mut child = cmd.spawn().expect("start the SDK script");
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the SDK script") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the SDK run did not finish within {RUN_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&home);
    assert!(
        status.success(),
        "SDK run failed ({status}):\n{stdout}\n{stderr}"
    );
    let last = stdout.lines().last().expect("a report line");
    let report: Value = serde_json::from_str(last).expect("a JSON report");
    Some((report, emu))
}

/// What every run must show: the version sent, every job walked in full, and the execution it
/// created, cancelled (the scripts reset the counts between steps; the cancel is the last).
async fn check(report: &Value, emu: &EmulatorHandle, expect: &str) {
    assert_eq!(report["version"], expect);
    for job in JOBS {
        assert_eq!(
            report["jobs"][job]["executions"], EXECUTIONS_PER_JOB,
            "{report}"
        );
        assert_eq!(report["jobs"][job]["pages"], 3, "{report}");
    }
    assert_eq!(emu.emulator().requests(route::CANCEL_EXECUTION), 1);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let created = report["created"].as_str().expect("created id");
    let url = format!("{}/jobs/{}/executions/{created}", emu.base_url(), JOBS[0]);
    let exec: Value = reqwest::Client::new()
        .get(url)
        .bearer_auth(DEMO_TOKEN)
        .header("Blaxel-Version", expect)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("get the created execution")
        .json()
        .await
        .expect("JSON");
    assert_eq!(exec["status"], "cancelling", "{exec}");
    assert_eq!(exec["spec"]["taskCount"], 3, "{exec}");
}

#[tokio::test]
async fn python_sdk_with_its_default_version() {
    if let Some((report, emu)) = run(Sdk::Python, None, "2026-09-22").await {
        check(&report, &emu, "2026-09-22").await;
        // The string form of envOverride is refused by this SDK: why it is only a fault.
        assert_eq!(report["envOverrideStringRefused"], true, "{report}");
    }
}

#[tokio::test]
async fn python_sdk_with_2026_04_28() {
    if let Some((report, emu)) = run(Sdk::Python, Some("2026-04-28"), "2026-04-28").await {
        check(&report, &emu, "2026-04-28").await;
    }
}

#[tokio::test]
async fn typescript_sdk_with_its_default_version() {
    if let Some((report, emu)) = run(Sdk::TypeScript, None, "2026-04-28").await {
        check(&report, &emu, "2026-04-28").await;
    }
}

#[tokio::test]
async fn typescript_sdk_with_2026_09_22() {
    if let Some((report, emu)) = run(Sdk::TypeScript, Some("2026-09-22"), "2026-09-22").await {
        check(&report, &emu, "2026-09-22").await;
    }
}
