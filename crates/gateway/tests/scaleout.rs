//! Scale-out: three `blaxel-gateway` processes over one emulator behind HAProxy (Debian's
//! package, `deploy/haproxy/haproxy.cfg` as checked in), GraphQL over HTTP/1.1 and gRPC over
//! h2. Clients walk a job's executions page by page (GraphQL `endCursor`, gRPC `page_token`)
//! through HAProxy, round robin over the replicas, while one replica is stopped with SIGTERM
//! and restarted, then while all three are restarted one after the other. Every walk must
//! return exactly the emulator's REST listing (nothing lost, nothing repeated), no request may
//! fail, and pages of one walk are served by different replicas (cursors are self-contained).
//!
//! Also shown directly on one replica: on SIGTERM it stops accepting connections, finishes the
//! requests in flight (GraphQL and gRPC), and exits 0.
//!
//! Without `haproxy` on the PATH the test says how to install it and passes as skipped; with
//! `CI=true` it fails instead (`.ci/scaleout-setup.sh` installs it). Bounded: a fixed number of
//! restarts, walks of 120 executions, at most [`MAX_WALKS`] walks per client, and a deadline.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::SocketAddr,
    path::PathBuf,
    process::Stdio,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use blaxel_emulator::{EmulatorConfig, EmulatorHandle, Fault};
use blaxel_gateway::grpc::proto::{
    GetJobExecutionRequest, ListJobExecutionsRequest,
    job_execution_service_client::JobExecutionServiceClient,
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader},
    process::{Child, Command},
};
use tonic::transport::{Channel, Endpoint};

const BIN: &str = env!("CARGO_BIN_EXE_blaxel-gateway");
const JOB: &str = "data-processing-job";
/// Executions of the walked job.
const EXECUTIONS: usize = 120;
/// Page size of the walks: 18 pages per walk.
const PAGE: i32 = 7;
/// Most walks one client makes, whatever happens.
const MAX_WALKS: usize = 400;
/// Upstream latency of every listing call, so that requests are in flight when a replica stops.
const LISTING_LATENCY_MS: u64 = 15;
/// Upstream latency of one execution's read: the request held in flight across a SIGTERM.
const SLOW_READ_MS: u64 = 2_000;
const WALK: &str = r#"query($job: String!, $first: Int, $after: String) {
  jobExecutions(jobName: $job, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor } edges { node { metadata { id } } }
  }
}"#;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn haproxy_config() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/haproxy/haproxy.cfg")
}

/// A free loopback port for HAProxy's listeners (HAProxy takes addresses, not sockets).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// One gateway process, restartable on the same addresses (HAProxy's configuration names them).
struct Replica {
    name: &'static str,
    upstream: String,
    http: SocketAddr,
    grpc: SocketAddr,
    child: Option<Child>,
}

impl Replica {
    /// Starts a replica on 127.0.0.1:0 (HTTP and gRPC).
    async fn start(name: &'static str, upstream: &str) -> Replica {
        let (child, http, grpc) = spawn(upstream, "127.0.0.1:0", "127.0.0.1:0").await;
        Replica {
            name,
            upstream: upstream.to_owned(),
            http,
            grpc,
            child: Some(child),
        }
    }

    /// Sends SIGTERM and waits (at most 60 s) for the process to exit; it must exit 0.
    async fn stop(&mut self) {
        sigterm(self.child.as_ref().expect("running"));
        self.stop_after_sigterm().await;
    }

    /// Waits (at most 60 s) for a process already sent SIGTERM; it must exit 0.
    async fn stop_after_sigterm(&mut self) {
        let mut child = self.child.take().expect("running");
        let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} drains and exits within 60 s", self.name))
            .unwrap();
        assert!(
            status.success(),
            "{} exits 0 after SIGTERM: {status}",
            self.name
        );
    }

    /// Starts the process again on the same addresses.
    async fn restart(&mut self) {
        let (child, http, grpc) = spawn(
            &self.upstream,
            &self.http.to_string(),
            &self.grpc.to_string(),
        )
        .await;
        assert_eq!((http, grpc), (self.http, self.grpc));
        self.child = Some(child);
    }
}

fn sigterm(child: &Child) {
    let pid = child.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Starts the gateway binary over `upstream` on `http` and `grpc` and waits (at most 60 s) for
/// its listening line; its log is read to the end in the background (a full pipe would stop it).
async fn spawn(upstream: &str, http: &str, grpc: &str) -> (Child, SocketAddr, SocketAddr) {
    let mut child = Command::new(BIN)
        .args([
            "--listen",
            http,
            "--grpc-listen",
            grpc,
            "--upstream",
            upstream,
        ])
        .args(["--token", "dev-token"])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the gateway binary starts");
    let mut log = BufReader::new(child.stdout.take().unwrap()).lines();
    let addresses = tokio::time::timeout(Duration::from_secs(60), async {
        let mut seen = Vec::new();
        while let Some(line) = log.next_line().await.unwrap() {
            if line.contains("blaxel-gateway listening") {
                let field = |name: &str| -> SocketAddr {
                    let word = line
                        .split_whitespace()
                        .find_map(|word| word.strip_prefix(name))
                        .unwrap_or_else(|| panic!("the listening line names {name}: {line}"));
                    word.trim_start_matches("http://")
                        .trim_end_matches("/graphql")
                        .parse()
                        .unwrap()
                };
                return (field("url="), field("grpc="));
            }
            seen.push(line);
        }
        panic!("the gateway exited without serving (on {http}, {grpc}?): {seen:?}");
    })
    .await
    .expect("the gateway listens within 60 s");
    tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
    (child, addresses.0, addresses.1)
}

/// HAProxy with the checked-in configuration, its log kept for failure messages.
struct Haproxy {
    _child: Child,
    http: String,
    grpc: String,
    stats: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        if let Some(dir) = self.stats.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Haproxy {
    async fn start(replicas: &[Replica]) -> Haproxy {
        let dir = std::env::temp_dir().join(format!("blaxel-scaleout-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let stats = dir.join("stats.sock");
        let _ = std::fs::remove_file(&stats);
        let (http, grpc) = (
            format!("127.0.0.1:{}", free_port()),
            format!("127.0.0.1:{}", free_port()),
        );
        let mut command = Command::new("haproxy");
        command
            .arg("-db")
            .arg("-f")
            .arg(haproxy_config())
            .env("HAPROXY_HTTP_BIND", &http)
            .env("HAPROXY_GRPC_BIND", &grpc)
            .env("HAPROXY_STATS_SOCKET", &stats)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (i, replica) in replicas.iter().enumerate() {
            command.env(format!("GW{}_HTTP", i + 1), replica.http.to_string());
            command.env(format!("GW{}_GRPC", i + 1), replica.grpc.to_string());
        }
        let mut child = command.spawn().expect("haproxy starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let kept = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let mut kept = kept.lock().unwrap();
                if kept.len() < 20_000 {
                    kept.push(line);
                }
            }
        });
        let haproxy = Haproxy {
            _child: child,
            http,
            grpc,
            stats,
            log,
        };
        for replica in replicas {
            haproxy.wait_for(replica.name, "UP").await;
        }
        haproxy
    }

    /// `show stat` over the stats socket: one map per proxy or server row.
    async fn stat(&self) -> Option<Vec<BTreeMap<String, String>>> {
        let mut socket = tokio::net::UnixStream::connect(&self.stats).await.ok()?;
        socket.write_all(b"show stat\n").await.ok()?;
        let mut text = String::new();
        socket.read_to_string(&mut text).await.ok()?;
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next()?.trim_start_matches("# ").split(',').collect();
        Some(
            lines
                .filter(|l| !l.is_empty())
                .map(|line| {
                    header
                        .iter()
                        .zip(line.split(','))
                        .map(|(k, v)| ((*k).to_owned(), v.to_owned()))
                        .collect()
                })
                .collect(),
        )
    }

    /// Waits (at most 60 s) until HAProxy's health check reports `server` of the HTTP backend
    /// in state `want` (`UP` or `DOWN`, not in transition).
    async fn wait_for(&self, server: &str, want: &str) {
        for _ in 0..600 {
            if let Some(rows) = self.stat().await {
                let status = rows
                    .iter()
                    .find(|r| r["pxname"] == "gateways_http" && r["svname"] == server)
                    .map(|r| r["status"].clone());
                if status.as_deref() == Some(want) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("haproxy never saw {server} {want}:\n{}", self.log_tail());
    }

    fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap();
        log[log.len().saturating_sub(40)..].join("\n")
    }
}

/// What the clients saw.
#[derive(Default)]
struct Outcome {
    /// The ids of each finished walk, in order.
    walks: Vec<Vec<String>>,
    /// Pages served by another replica than the page before them.
    handovers: usize,
    /// Replicas that served a page.
    served_by: BTreeSet<String>,
    /// Every failed request, described.
    failures: Vec<String>,
}

/// Walks the job by `endCursor` through HAProxy again and again until `stop`, at most
/// [`MAX_WALKS`] times; counts finished walks in `done`.
async fn graphql_walks(url: String, stop: Arc<AtomicBool>, done: Arc<AtomicUsize>) -> Outcome {
    let http = reqwest::Client::new();
    let mut outcome = Outcome::default();
    while !stop.load(Ordering::SeqCst) && outcome.walks.len() < MAX_WALKS {
        let (mut ids, mut after, mut last) = (Vec::new(), Value::Null, None::<String>);
        loop {
            let sent = http
                .post(&url)
                .json(&json!({"query": WALK, "variables": {"job": JOB, "first": PAGE, "after": after}}))
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(e) => {
                    outcome.failures.push(format!("GraphQL: {e}"));
                    break;
                }
            };
            let status = response.status();
            let by = response
                .headers()
                .get("x-served-by")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("?")
                .to_owned();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let page = &body["data"]["jobExecutions"];
            if !status.is_success() || !body["errors"].is_null() || !page.is_object() {
                outcome
                    .failures
                    .push(format!("GraphQL HTTP {status} from {by}: {body}"));
                break;
            }
            outcome.handovers += usize::from(last.as_ref().is_some_and(|l| *l != by));
            outcome.served_by.insert(by.clone());
            last = Some(by);
            ids.extend(
                page["edges"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["node"]["metadata"]["id"].as_str().unwrap().to_owned()),
            );
            if page["pageInfo"]["hasNextPage"] != true {
                outcome.walks.push(ids);
                done.fetch_add(1, Ordering::SeqCst);
                break;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
    }
    outcome
}

/// The same walk over gRPC `ListJobExecutions` page tokens through HAProxy's h2 frontend.
async fn grpc_walks(channel: Channel, stop: Arc<AtomicBool>, done: Arc<AtomicUsize>) -> Outcome {
    let mut client = JobExecutionServiceClient::new(channel);
    let mut outcome = Outcome::default();
    while !stop.load(Ordering::SeqCst) && outcome.walks.len() < MAX_WALKS {
        let (mut ids, mut token, mut last) = (Vec::new(), String::new(), None::<String>);
        loop {
            let answer = client
                .list_job_executions(ListJobExecutionsRequest {
                    parent: format!("jobs/{JOB}"),
                    page_size: PAGE,
                    page_token: token.clone(),
                    ..Default::default()
                })
                .await;
            let response = match answer {
                Ok(response) => response,
                Err(status) => {
                    outcome.failures.push(format!("gRPC: {status:?}"));
                    break;
                }
            };
            let by = response
                .metadata()
                .get("x-served-by")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("?")
                .to_owned();
            let page = response.into_inner();
            outcome.handovers += usize::from(last.as_ref().is_some_and(|l| *l != by));
            outcome.served_by.insert(by.clone());
            last = Some(by);
            ids.extend(page.job_executions.into_iter().map(|e| e.id));
            if page.next_page_token.is_empty() {
                outcome.walks.push(ids);
                done.fetch_add(1, Ordering::SeqCst);
                break;
            }
            token = page.next_page_token;
        }
    }
    outcome
}

/// The job's executions straight from the emulator's REST API, following `nextCursor`.
async fn rest_listing(emulator: &EmulatorHandle) -> Vec<String> {
    let http = reqwest::Client::new();
    let (mut ids, mut cursor) = (Vec::new(), String::new());
    loop {
        let mut url = format!("{}/jobs/{JOB}/executions?limit=100", emulator.base_url());
        if !cursor.is_empty() {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = http
            .get(url)
            .bearer_auth("dev-token")
            .header("Blaxel-Version", "2026-04-28")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["metadata"]["id"].as_str().unwrap().to_owned()),
        );
        if page["meta"]["hasMore"] != true {
            return ids;
        }
        cursor = page["meta"]["nextCursor"].as_str().unwrap().to_owned();
    }
}

/// Waits (at most 60 s) until every client finished `n` more walks than `from`.
async fn walks_finished(done: &[Arc<AtomicUsize>], from: &[usize], n: usize) {
    for _ in 0..600 {
        if done
            .iter()
            .zip(from)
            .all(|(d, f)| d.load(Ordering::SeqCst) >= f + n)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the clients did not finish {n} more walks within 60 s");
}

fn counts(done: &[Arc<AtomicUsize>]) -> Vec<usize> {
    done.iter().map(|d| d.load(Ordering::SeqCst)).collect()
}

/// On SIGTERM a replica stops accepting connections and finishes what is in flight (a GraphQL
/// request and a gRPC call, each held by a slow upstream read), then exits 0.
async fn drain_finishes_in_flight_requests(replica: &mut Replica, emulator: &EmulatorHandle) {
    const GET: &str = "GET /v0/jobs/{jobId}/executions/{executionId}";
    // Two executions: the same read twice would be one upstream call (--upstream-dedupe), and
    // the counts below must show both calls held upstream.
    let listing = rest_listing(emulator).await;
    let (id, other) = (listing[0].clone(), listing[1].clone());
    let before = emulator.emulator().requests(GET);
    let url = format!("http://{}/graphql", replica.http);
    let graphql = tokio::spawn({
        let id = id.clone();
        async move {
            let query = "query($job: String!, $id: String!) { jobExecution(jobName: $job, id: $id) { metadata { id } } }";
            let response = reqwest::Client::new()
                .post(url)
                .json(&json!({"query": query, "variables": {"job": JOB, "id": id}}))
                .send()
                .await
                .expect("the in-flight GraphQL request is answered");
            (response.status(), response.json::<Value>().await.unwrap())
        }
    });
    let channel = Endpoint::from_shared(format!("http://{}", replica.grpc))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let grpc = tokio::spawn({
        let id = other.clone();
        async move {
            JobExecutionServiceClient::new(channel)
                .get_job_execution(GetJobExecutionRequest {
                    name: format!("jobs/{JOB}/executions/{id}"),
                })
                .await
        }
    });
    // Both calls have reached the upstream (held there for SLOW_READ_MS): now SIGTERM.
    for _ in 0..300 {
        if emulator.emulator().requests(GET) >= before + 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(emulator.emulator().requests(GET) >= before + 2);
    let child = replica.child.as_ref().unwrap();
    sigterm(child);
    // Stops accepting: new connections to either listener are refused while it drains.
    for addr in [replica.http, replica.grpc] {
        let mut refused = false;
        for _ in 0..300 {
            if tokio::net::TcpStream::connect(addr).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            refused,
            "{} stops accepting on {addr} after SIGTERM",
            replica.name
        );
    }
    let (status, body) = graphql.await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    assert_eq!(body["data"]["jobExecution"]["metadata"]["id"], id, "{body}");
    let execution = grpc
        .await
        .unwrap()
        .expect("the in-flight gRPC call is answered")
        .into_inner();
    assert_eq!(execution.id, other);
    replica.stop_after_sigterm().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walks_through_haproxy_survive_a_replica_restart_and_a_rolling_restart() {
    if std::process::Command::new("haproxy")
        .arg("-v")
        .output()
        .is_err()
    {
        let what =
            "haproxy is not installed: `apt-get install haproxy` (or run .ci/scaleout-setup.sh)";
        assert!(!in_ci(), "{what} (CI=true: this test must run, not skip)");
        eprintln!("SKIPPED: {what}");
        return;
    }
    tokio::time::timeout(Duration::from_secs(300), scale_out())
        .await
        .expect("the scale-out scenario finishes within 300 s");
}

async fn scale_out() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let emulator = blaxel_emulator::spawn(EmulatorConfig {
        executions_per_job: EXECUTIONS,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let fault = |route: &str, ms: u64| -> Fault {
        serde_json::from_value(json!({"route": route, "latencyMs": ms})).unwrap()
    };
    emulator.emulator().set_faults(vec![
        fault("GET /v0/jobs/{jobId}/executions", LISTING_LATENCY_MS),
        fault(
            "GET /v0/jobs/{jobId}/executions/{executionId}",
            SLOW_READ_MS,
        ),
    ]);
    let expected = rest_listing(&emulator).await;
    assert_eq!(expected.len(), EXECUTIONS);
    let upstream = emulator.base_url();
    let (a, b, c) = tokio::join!(
        Replica::start("gw1", &upstream),
        Replica::start("gw2", &upstream),
        Replica::start("gw3", &upstream),
    );
    let mut replicas = [a, b, c];
    let haproxy = Haproxy::start(&replicas).await;

    // Three clients at once: two GraphQL, one gRPC, all through HAProxy.
    let stop = Arc::new(AtomicBool::new(false));
    let done: Vec<Arc<AtomicUsize>> = (0..3).map(|_| Arc::new(AtomicUsize::new(0))).collect();
    let url = format!("http://{}/graphql", haproxy.http);
    let channel = Endpoint::from_shared(format!("http://{}", haproxy.grpc))
        .unwrap()
        .connect()
        .await
        .expect("haproxy's h2 frontend accepts");
    let clients = [
        tokio::spawn(graphql_walks(url.clone(), stop.clone(), done[0].clone())),
        tokio::spawn(graphql_walks(url, stop.clone(), done[1].clone())),
        tokio::spawn(grpc_walks(channel, stop.clone(), done[2].clone())),
    ];
    walks_finished(&done, &[0, 0, 0], 1).await;

    // One replica stopped with SIGTERM (while requests are in flight on it), out of rotation,
    // then back.
    let from = counts(&done);
    drain_finishes_in_flight_requests(&mut replicas[1], &emulator).await;
    haproxy.wait_for("gw2", "DOWN").await;
    walks_finished(&done, &from, 1).await;
    replicas[1].restart().await;
    haproxy.wait_for("gw2", "UP").await;
    walks_finished(&done, &from, 2).await;

    // A rolling restart: each replica in turn, the next once the last is back in rotation.
    let from = counts(&done);
    for replica in &mut replicas {
        replica.stop().await;
        replica.restart().await;
        haproxy.wait_for(replica.name, "UP").await;
    }
    walks_finished(&done, &from, 1).await;
    stop.store(true, Ordering::SeqCst);

    let mut by_face = Vec::new();
    for client in clients {
        by_face.push(client.await.unwrap());
    }
    let stat = haproxy.stat().await.unwrap_or_default();
    for row in &stat {
        if row["svname"].starts_with("gw") {
            eprintln!(
                "haproxy {}/{}: requests {} retries {} redispatches {} 5xx {}",
                row["pxname"],
                row["svname"],
                row["stot"],
                row["wretr"],
                row["wredis"],
                row["hrsp_5xx"]
            );
        }
    }
    for (face, outcome) in ["graphql", "graphql", "grpc"].iter().zip(&by_face) {
        eprintln!(
            "{face}: {} walks, {} pages handed to another replica, served by {:?}",
            outcome.walks.len(),
            outcome.handovers,
            outcome.served_by
        );
        assert!(
            outcome.failures.is_empty(),
            "{face}: {} failed requests: {:?}\nhaproxy log:\n{}",
            outcome.failures.len(),
            &outcome.failures[..outcome.failures.len().min(5)],
            haproxy.log_tail()
        );
        for (i, walk) in outcome.walks.iter().enumerate() {
            assert_eq!(
                walk, &expected,
                "{face} walk {i}: items lost, repeated or reordered"
            );
        }
        assert!(
            outcome.walks.len() >= 4,
            "{face}: walks before, during and after"
        );
        // Cursors are self-contained: walks continued on other replicas, all three served.
        assert!(outcome.handovers > 0, "{face}: no page was handed over");
        assert_eq!(
            outcome.served_by,
            BTreeSet::from(["gw1".to_owned(), "gw2".to_owned(), "gw3".to_owned()]),
            "{face}"
        );
    }
    for mut replica in replicas {
        replica.stop().await;
    }
}
