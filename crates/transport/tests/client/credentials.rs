//! Per-call credentials and the secrecy of tokens.

use blaxel_emulator::{EmulatorConfig, Fault};
use blaxel_transport::{Client, ClientConfig, Credentials, Error, ListJobsRequest, Token};

use super::harness::*;

#[tokio::test]
async fn per_call_credentials_override_the_configured_ones() {
    let emu = emulator(EmulatorConfig {
        tokens: vec![
            ("dev-token".into(), "my-workspace".into()),
            ("other-token".into(), "other-workspace".into()),
        ],
        ..EmulatorConfig::default()
    })
    .await;
    let client = Client::new(config(&emu)).unwrap();

    let mine = client
        .list_jobs(&me(), &ListJobsRequest::default())
        .await
        .unwrap();
    assert!(
        mine.items
            .iter()
            .all(|j| j.metadata.workspace.as_deref() == Some("my-workspace"))
    );

    let other = Credentials::with_token("other-token").workspace("other-workspace");
    let theirs = client
        .list_jobs(&other, &ListJobsRequest::default())
        .await
        .unwrap();
    assert!(!theirs.items.is_empty());
    assert!(
        theirs
            .items
            .iter()
            .all(|j| j.metadata.workspace.as_deref() == Some("other-workspace"))
    );

    // The configured token with another workspace: 403.
    let wrong_ws = Credentials {
        token: None,
        workspace: Some("other-workspace".into()),
    };
    let err = client.get_job(&wrong_ws, JOB).await.unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");

    // An unknown token: 401; no token at all: 401.
    let err = client
        .get_job(&Credentials::with_token("nope"), JOB)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthenticated { .. }), "{err:?}");
    let anonymous = Client::new(ClientConfig {
        token: None,
        workspace: None,
        ..config(&emu)
    })
    .unwrap();
    let err = anonymous.get_job(&me(), JOB).await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated { .. }), "{err:?}");
    assert_eq!(
        requests(&emu, "GET /v0/jobs/{jobId}"),
        3,
        "no retry on 401/403"
    );
}

#[tokio::test]
async fn token_never_in_debug_or_errors() {
    const SECRET: &str = "tok-never-print-me-93b1";
    let emu = emulator(EmulatorConfig::default()).await;
    let cfg = ClientConfig {
        token: Some(Token::new(SECRET)),
        ..config(&emu)
    };
    let client = Client::new(cfg.clone()).unwrap();
    let creds = Credentials::with_token(SECRET).workspace("my-workspace");
    let unauthenticated = client.get_job(&creds, JOB).await.unwrap_err();
    fail_with(&emu, "*", 503);
    let unavailable = client.get_job(&creds, JOB).await.unwrap_err();
    emu.emulator().set_faults(vec![Fault {
        reset: true,
        ..fault("*")
    }]);
    let reset = client.get_job(&creds, JOB).await.unwrap_err();

    let mut printed = vec![
        format!("{client:?}"),
        format!("{cfg:?}"),
        format!("{creds:?}"),
    ];
    for err in [&unauthenticated, &unavailable, &reset] {
        printed.push(format!("{err} {err:?}"));
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            printed.push(format!("{cause} {cause:?}"));
            source = cause.source();
        }
    }
    for text in &printed {
        assert!(!text.contains(SECRET), "token leaked: {text}");
    }
}
