//! The `blaxel-gateway` binary as an operator runs it: separate OS processes over one emulator,
//! its flags and environment, and its stop on SIGTERM.
//!
//! Each gateway listens on `127.0.0.1:0` (GraphQL and gRPC) and the test reads the bound
//! addresses from its startup log.

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use blaxel_emulator::EmulatorConfig;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt as _, BufReader, Lines},
    process::{Child, ChildStdout, Command},
};

const BIN: &str = env!("CARGO_BIN_EXE_blaxel-gateway");
const JOB: &str = "data-processing-job";
const PAGE: &str = r#"query($job: String!, $first: Int, $after: String) {
  jobExecutions(jobName: $job, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor } edges { node { metadata { id } } }
  }
}"#;

/// A gateway process and its log.
struct Process {
    child: Child,
    log: Lines<BufReader<ChildStdout>>,
    url: String,
    /// The gRPC listener's `host:port`.
    grpc: String,
}

impl Process {
    /// Starts the binary with `args` and `env`, and waits (at most 60 s) for its listening line.
    async fn start(args: &[&str], env: &[(&str, &str)]) -> Process {
        let mut command = Command::new(BIN);
        command
            .args(["--listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("the gateway binary starts");
        let mut log = BufReader::new(child.stdout.take().unwrap()).lines();
        let (url, grpc) = tokio::time::timeout(Duration::from_secs(60), async {
            let mut seen = Vec::new();
            while let Some(line) = log.next_line().await.unwrap() {
                if line.contains("blaxel-gateway listening") {
                    let field = |name: &str| {
                        line.split_whitespace()
                            .find_map(|word| word.strip_prefix(name))
                            .unwrap_or_else(|| panic!("the listening line names {name}: {line}"))
                            .to_owned()
                    };
                    return (field("url="), field("grpc="));
                }
                seen.push(line);
            }
            panic!("the gateway exited without serving: {seen:?}");
        })
        .await
        .expect("the gateway listens within 60 s");
        Process {
            child,
            log,
            url,
            grpc,
        }
    }

    async fn page(&self, first: u32, after: Option<&str>) -> Value {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let resp = reqwest::Client::new()
            .post(&self.url)
            .json(
                &json!({"query": PAGE, "variables": {"job": JOB, "first": first, "after": after}}),
            )
            .send()
            .await
            .expect("the gateway answers");
        let body: Value = resp.json().await.unwrap();
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["jobExecutions"].clone()
    }
}

fn ids(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["metadata"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A page begun on one gateway process is finished by another: cursors hold no server state.
#[tokio::test]
async fn a_page_begun_in_one_gateway_process_finishes_in_another() {
    let emulator = blaxel_emulator::spawn(EmulatorConfig {
        executions_per_job: 60,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let upstream = emulator.base_url();
    let args = ["--upstream", upstream.as_str(), "--token", "dev-token"];
    let (a, b) = tokio::join!(Process::start(&args, &[]), Process::start(&args, &[]));
    let all = a.page(50, None).await;
    let first = a.page(25, None).await;
    let end = first["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
    let rest = b.page(25, Some(&end)).await;
    assert_eq!(ids(&rest), ids(&all)[25..50].to_vec());
    // A middle edge's cursor too.
    let edges = first["edges"].as_array().unwrap().len();
    assert_eq!(edges, 25);
}

/// `BLAXEL_API_URL=""`, as compose files write it, means "no upstream": the embedded emulator.
#[tokio::test]
async fn an_empty_upstream_variable_means_the_embedded_emulator() {
    let gateway = Process::start(&[], &[("BLAXEL_API_URL", ""), ("BLAXEL_TOKEN", "")]).await;
    let page = gateway.page(3, None).await;
    assert_eq!(ids(&page).len(), 3);
}

/// A nonsensical value is refused at startup with the flag and its range named, exit code 2.
#[tokio::test]
async fn nonsensical_settings_are_refused_at_startup() {
    for (args, env, flag) in [
        (
            vec!["--max-concurrent-upstream", "0"],
            vec![],
            "--max-concurrent-upstream",
        ),
        (
            vec!["--breaker-failure-rate", "150"],
            vec![],
            "--breaker-failure-rate",
        ),
        (
            vec![],
            vec![("GATEWAY_REQUEST_TIMEOUT_MS", "0")],
            "--request-timeout-ms",
        ),
        (vec!["--max-first", "-5"], vec![], "--max-first"),
    ] {
        let output = Command::new(BIN)
            .args(&args)
            .envs(env)
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
        assert!(stderr.contains("not in"), "names the range: {stderr}");
    }
}

/// SIGTERM drains both listeners and stops the process cleanly (exit 0), logging that it
/// stopped. The first command of the README (no flags: the embedded emulator) serves gRPC too.
#[tokio::test]
async fn sigterm_stops_the_gateway_cleanly() {
    use blaxel_gateway::grpc::proto::{
        ListJobExecutionsRequest, job_execution_service_client::JobExecutionServiceClient,
    };
    let mut gateway = Process::start(&[], &[]).await;
    let mut grpc = JobExecutionServiceClient::connect(format!("http://{}", gateway.grpc))
        .await
        .expect("the gRPC listener accepts");
    let page = grpc
        .list_job_executions(ListJobExecutionsRequest {
            parent: format!("jobs/{JOB}"),
            page_size: 3,
            ..Default::default()
        })
        .await
        .expect("the gRPC face serves the embedded emulator")
        .into_inner();
    assert_eq!(page.job_executions.len(), 3);
    drop(grpc);
    let pid = gateway.child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let mut stopped = false;
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(Duration::from_secs(30), gateway.log.next_line()).await
    {
        stopped |= line.contains("stopped");
    }
    let exit = gateway.child.wait().await.unwrap();
    assert!(exit.success(), "{exit:?}");
    assert!(stopped, "logs that it stopped");
    assert!(started.elapsed() < Duration::from_secs(30));
}
