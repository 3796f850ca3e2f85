//! The warn line of a failed upstream call: its route template and cause, never the token.
//!
//! Its own test binary: a log subscriber is process-wide state (a scoped one misses events
//! whose callsites other test threads already cached as uninteresting), and this file holds
//! the only test, so the global subscriber sees only its calls.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use blaxel_transport::Credentials;

// The shared harness; this binary uses only part of it.
#[allow(dead_code)]
#[path = "client/harness.rs"]
mod harness;

use harness::*;

/// A `MakeWriter` that keeps what the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test]
async fn a_failed_call_is_logged_at_warn_with_route_and_cause() {
    const SECRET: &str = "tok-not-in-logs-55d0";
    let logs = Captured::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(logs.clone())
        .init();

    let (emu, client) = setup().await;
    emu.emulator().set_faults(vec![blaxel_emulator::Fault {
        reset: true,
        ..fault(GET_EXECUTION)
    }]);
    let creds = Credentials::with_token(SECRET).workspace("my-workspace");
    client
        .get_job_execution(&creds, JOB, EXEC)
        .await
        .unwrap_err();
    assert_eq!(requests(&emu, GET_EXECUTION), 3);
    // A 404 is an answer: not logged at warn; nor is a probe's failure (its caller decides).
    client.get_job(&me(), "no-such-job").await.unwrap_err();
    fail_with(&emu, LIST_JOBS, 503);
    client.probe(&me()).await.unwrap_err();
    assert_eq!(requests(&emu, LIST_JOBS), 1);

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("upstream call failed"))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    let line = lines[0];
    assert!(line.contains("WARN"), "{line}");
    assert!(
        line.contains("GET /jobs/{jobId}/executions/{executionId}"),
        "{line}"
    );
    assert!(
        line.contains("cause=\"reset\"") || line.contains("cause=reset"),
        "{line}"
    );
    assert!(line.contains("attempts=3"), "{line}");
    assert!(!text.contains(SECRET), "token in logs: {text}");
}
