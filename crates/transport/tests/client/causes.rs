//! Why no answer came (refused, reset, TLS, timeout), as the error says. The warn log line of
//! a failed call is tested in `tests/logs.rs`, which owns its process's subscriber.

use std::time::Duration;

use blaxel_transport::{Client, ClientConfig, ConnectCause, RetryPolicy};
use tokio::io::AsyncWriteExt;

use super::harness::*;

#[tokio::test]
async fn refused_reset_tls_and_timeout_are_told_apart() {
    let (emu, client) = setup().await;
    emu.emulator().set_faults(vec![blaxel_emulator::Fault {
        reset: true,
        ..fault(GET_JOB)
    }]);
    let reset = client.get_job(&me(), JOB).await.unwrap_err();
    assert_eq!(
        reset.connect_cause(),
        Some(ConnectCause::Reset),
        "{reset:?}"
    );
    assert_eq!(requests(&emu, GET_JOB), 3, "retried");

    emu.emulator().set_faults(vec![blaxel_emulator::Fault {
        latency_ms: Some(1_000),
        ..fault(GET_JOB)
    }]);
    let slow = Client::new(ClientConfig {
        request_timeout: Duration::from_millis(100),
        retry: RetryPolicy::none(),
        ..config(&emu)
    })
    .unwrap();
    let timeout = slow.get_job(&me(), JOB).await.unwrap_err();
    assert_eq!(
        timeout.connect_cause(),
        Some(ConnectCause::Timeout),
        "{timeout:?}"
    );
    assert_eq!(timeout.kind(), "timeout");

    // Port 1 on loopback refuses connections.
    let nothing_there = Client::new(ClientConfig {
        retry: RetryPolicy::none(),
        ..config_for("http://127.0.0.1:1/v0".into())
    })
    .unwrap();
    let refused = nothing_there.get_job(&me(), JOB).await.unwrap_err();
    let attempts = nothing_there.upstream_stats().attempts;
    assert_eq!(
        attempts,
        vec![("GET /jobs/{jobId}", "refused".to_owned(), 1)]
    );
    assert_eq!(
        refused.connect_cause(),
        Some(ConnectCause::Refused),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("connection refused"),
        "{refused}"
    );

    // `https://` to a server that answers in plain text at once: the handshake fails.
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = plain.local_addr().unwrap();
    let accepted = tokio::spawn(async move {
        let (mut conn, _) = plain.accept().await.unwrap();
        conn.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            .await
            .unwrap();
        conn.shutdown().await.unwrap();
    });
    let tls = Client::new(ClientConfig {
        retry: RetryPolicy::none(),
        ..config_for(format!("https://{addr}/v0"))
    })
    .unwrap()
    .get_job(&me(), JOB)
    .await
    .unwrap_err();
    assert_eq!(tls.connect_cause(), Some(ConnectCause::Tls), "{tls:?}");
    accepted.await.unwrap();

    // An answer is not a connection failure.
    let missing = client.get_job(&me(), "no-such-job").await;
    assert_eq!(missing.unwrap_err().connect_cause(), None);
}
