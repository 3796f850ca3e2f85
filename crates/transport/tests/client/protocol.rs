//! The protocol spoken on the wire, observed by a loopback proxy in front of the emulator.

use blaxel_emulator::EmulatorConfig;
use blaxel_transport::{Client, ClientConfig};

use super::harness::*;

/// Runs one call through a [`Sniffer`] and returns the opening bytes of each connection.
async fn openings(http2_prior_knowledge: bool) -> Vec<Vec<u8>> {
    let emu = emulator(EmulatorConfig::default()).await;
    let sniffer = Sniffer::start(emu.addr()).await;
    let client = Client::new(ClientConfig {
        http2_prior_knowledge,
        ..config_for(format!("http://{}/v0", sniffer.addr))
    })
    .unwrap();
    let exec = client.get_job_execution(&me(), JOB, EXEC).await.unwrap();
    assert_eq!(exec.metadata.id.as_deref(), Some(EXEC));
    assert_eq!(
        requests(&emu, GET_EXECUTION),
        1,
        "the call went through the proxy"
    );
    sniffer.openings()
}

#[tokio::test]
async fn http2_prior_knowledge_speaks_h2_on_the_wire() {
    let openings = openings(true).await;
    assert_eq!(openings.len(), 1, "one connection");
    assert_eq!(
        &openings[0][..],
        H2_PREFACE,
        "the HTTP/2 preface, no upgrade"
    );
}

#[tokio::test]
async fn the_default_speaks_http1_on_the_wire() {
    let openings = openings(false).await;
    assert_eq!(openings.len(), 1, "one connection");
    let text = String::from_utf8_lossy(&openings[0]);
    assert!(text.starts_with("GET /v0/jobs/"), "{text:?}");
}
