//! Shared setup: the emulator on loopback, a client configured for fast tests, route keys of
//! the emulator's request counters, and small loopback servers for what the emulator cannot
//! do (observe the protocol on the wire, answer arbitrary bodies).

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use blaxel_emulator::{EmulatorConfig, EmulatorHandle, Fault};
use blaxel_transport::{Client, ClientConfig, Credentials, RetryPolicy, Token};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

pub const JOB: &str = "data-processing-job";
pub const EXEC: &str = "exec-abc123";
pub const LIST_EXECUTIONS: &str = "GET /v0/jobs/{jobId}/executions";
pub const GET_EXECUTION: &str = "GET /v0/jobs/{jobId}/executions/{executionId}";
pub const CREATE_EXECUTION: &str = "POST /v0/jobs/{jobId}/executions";
pub const GET_JOB: &str = "GET /v0/jobs/{jobId}";
pub const LIST_JOBS: &str = "GET /v0/jobs";

/// Retries that keep tests fast: 3 attempts, 5..20 ms apart, 5 s in all.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        total_deadline: Duration::from_secs(5),
        honour_retry_after: true,
    }
}

/// A client configuration for `base_url` with the emulator's demo credential.
pub fn config_for(base_url: String) -> ClientConfig {
    ClientConfig {
        base_url,
        token: Some(Token::new("dev-token")),
        workspace: Some("my-workspace".into()),
        request_timeout: Duration::from_secs(2),
        retry: fast_retry(),
        ..ClientConfig::default()
    }
}

pub fn config(emu: &EmulatorHandle) -> ClientConfig {
    config_for(emu.base_url())
}

pub async fn emulator(config: EmulatorConfig) -> EmulatorHandle {
    blaxel_emulator::spawn(config)
        .await
        .expect("emulator starts")
}

pub async fn setup() -> (EmulatorHandle, Client) {
    let emu = emulator(EmulatorConfig::default()).await;
    let client = Client::new(config(&emu)).unwrap();
    (emu, client)
}

/// "Use the client's configured credential."
pub fn me() -> Credentials {
    Credentials::default()
}

pub fn fault(route: &str) -> Fault {
    Fault {
        route: route.into(),
        ..Fault::default()
    }
}

/// Makes every request of `route` (a route key, or `*`) answer `status` until cleared.
pub fn fail_with(emu: &EmulatorHandle, route: &str, status: u16) {
    emu.emulator().set_faults(vec![Fault {
        status: Some(status),
        ..fault(route)
    }]);
}

/// Requests the emulator counted under a route key.
pub fn requests(emu: &EmulatorHandle, route: &str) -> u64 {
    emu.emulator().requests(route)
}

/// The HTTP/2 connection preface a client sends first (RFC 9113 §3.4).
pub const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A loopback TCP proxy in front of `target` that records the first 24 bytes of each
/// connection, so a test sees which protocol the client spoke on the wire.
pub struct Sniffer {
    pub addr: SocketAddr,
    pub openings: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Sniffer {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let openings = Arc::new(Mutex::new(Vec::new()));
        let seen = openings.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut opening = [0u8; 24];
                    if client.read_exact(&mut opening).await.is_err() {
                        return;
                    }
                    seen.lock().unwrap().push(opening.to_vec());
                    let mut upstream = TcpStream::connect(target).await.unwrap();
                    upstream.write_all(&opening).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
            }
        });
        Self { addr, openings }
    }

    pub fn openings(&self) -> Vec<Vec<u8>> {
        self.openings.lock().unwrap().clone()
    }
}

/// A loopback HTTP/1.1 server that answers every request with `respond(request head)`
/// (a whole raw response) and closes the connection, counting requests and the most it held
/// at once.
pub struct FakeUpstream {
    pub addr: SocketAddr,
    counters: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
}

impl FakeUpstream {
    pub async fn start(respond: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> Self {
        Self::start_holding(Duration::ZERO, respond).await
    }

    /// Like [`FakeUpstream::start`], holding each answer for `hold` first.
    pub async fn start_holding(
        hold: Duration,
        respond: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let counters = Arc::new(Counters::default());
        let counted = counters.clone();
        let respond = Arc::new(respond);
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let counter = counted.clone();
                let respond = respond.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    counter.requests.fetch_add(1, Ordering::SeqCst);
                    let now = counter.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    counter.max_in_flight.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(hold).await;
                    let response = respond(&String::from_utf8_lossy(&head));
                    let _ = conn.write_all(&response).await;
                    let _ = conn.shutdown().await;
                    counter.in_flight.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Self { addr, counters }
    }

    /// `http://ADDR/v0`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v0", self.addr)
    }

    /// Requests answered (or being answered).
    pub fn requests(&self) -> u64 {
        self.counters.requests.load(Ordering::SeqCst)
    }

    /// The most requests held at once.
    pub fn max_in_flight(&self) -> u64 {
        self.counters.max_in_flight.load(Ordering::SeqCst)
    }
}

/// A raw HTTP/1.1 response with a JSON body.
pub fn json_response(status: u16, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
