//! Upstream text quoted in errors: bounded, and never the caller's credential.

use blaxel_transport::{Client, Credentials, Error, MAX_QUOTE_CHARS, SNIPPET_BYTES};

use super::harness::*;

const SECRET: &str = "tok-echoed-back-7c2e91";

/// Every text an error shows: its Display, Debug and source chain.
fn printed(err: &Error) -> String {
    let mut text = format!("{err} {err:?}");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(&format!(" {cause} {cause:?}"));
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn a_huge_5xx_message_is_quoted_in_a_few_hundred_characters() {
    let message = "x".repeat(200_000);
    let upstream = FakeUpstream::start(move |_| {
        json_response(
            500,
            &format!(r#"{{"code":500,"error":"internal","message":"{message}"}}"#),
        )
    })
    .await;
    let client = Client::new(config_for(upstream.base_url())).unwrap();
    let err = client.get_job(&me(), JOB).await.unwrap_err();
    let body = err.body().expect("an answer with a body");
    assert_eq!(body.error.as_deref(), Some("internal"), "the body decoded");
    assert_eq!(
        body.message.as_ref().unwrap().chars().count(),
        MAX_QUOTE_CHARS + 1,
        "cut, with an ellipsis"
    );
    assert!(body.raw.len() <= SNIPPET_BYTES);
    assert!(
        err.to_string().len() < 2 * MAX_QUOTE_CHARS,
        "{} chars",
        err.to_string().len()
    );
    assert!(
        printed(&err).len() < 4 * SNIPPET_BYTES,
        "{} chars",
        printed(&err).len()
    );
    assert_eq!(upstream.requests(), 3, "a 500 is retried");
}

#[tokio::test]
async fn an_upstream_echoing_the_request_never_shows_the_token() {
    // Echoes the request head (with `Authorization: Bearer <token>`) inside the message and as
    // the raw body of a proxy error, the two places an upstream may quote it.
    let upstream = FakeUpstream::start(|head| {
        let head = head.replace('\r', "").replace('\n', " | ");
        if head.starts_with("GET /v0/jobs/json") {
            let body = serde_json::json!({"code": 401, "error": "unauthorized", "message": head});
            json_response(401, &body.to_string())
        } else {
            json_response(502, &format!("<html>bad gateway for {head}</html>"))
        }
    })
    .await;
    let client = Client::new(config_for(upstream.base_url())).unwrap();
    let creds = Credentials::with_token(SECRET);
    let unauthenticated = client.get_job(&creds, "json").await.unwrap_err();
    assert!(
        matches!(unauthenticated, Error::Unauthenticated { .. }),
        "{unauthenticated:?}"
    );
    let message = unauthenticated.body().unwrap().message.clone().unwrap();
    assert!(
        message.contains("authorization: ***"),
        "the echo is kept, masked: {message}"
    );
    let bad_gateway = client.get_job(&creds, "html").await.unwrap_err();
    assert!(bad_gateway.body().unwrap().raw.contains("bad gateway"));
    for err in [&unauthenticated, &bad_gateway] {
        let text = printed(err);
        assert!(!text.contains(SECRET), "token leaked: {text}");
    }
    assert_eq!(
        upstream.requests(),
        1 + 3,
        "the 401 once, the 502 with its retries"
    );
}
