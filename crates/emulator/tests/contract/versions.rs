//! Credentials, workspaces, and `Blaxel-Version` (legacy, cursor, unknown).

use crate::harness::*;

#[tokio::test]
async fn credentials_and_workspaces() {
    let h = harness(EmulatorConfig {
        tokens: vec![
            (TOKEN.into(), "my-workspace".into()),
            ("other-token".into(), "other-ws".into()),
        ],
        ..EmulatorConfig::default()
    })
    .await;
    let r = h.get_jobs_as("", None, None).await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
    let r = h.get_jobs_as("", Some("nope"), None).await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
    let url = format!("{}/jobs", h.emu.base_url());
    let r = h
        .send(
            h.client
                .get(&url)
                .header("X-Blaxel-Authorization", format!("Bearer {TOKEN}")),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()[0]["metadata"]["workspace"], json!("my-workspace"));
    let r = h.get_jobs_as("", Some(TOKEN), Some("other-ws")).await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = h
        .get_jobs_as("?workspace=other-ws", Some(TOKEN), None)
        .await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = h
        .get_jobs_as("?workspace=other-ws", Some("other-token"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()[0]["metadata"]["workspace"], json!("other-ws"));
    let r = h
        .get_jobs_as("", Some("other-token"), Some("other-ws"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_job_or_execution_is_404() {
    let h = default_harness().await;
    for path in [
        "/jobs/nope".to_owned(),
        "/jobs/nope/executions".to_owned(),
        "/jobs/nope/revisions".to_owned(),
        format!("/jobs/{JOB}/executions/exec-nope"),
        format!("/jobs/{JOB}/executions/exec-nope/tasks"),
    ] {
        assert_error(&h.get(&path).await, StatusCode::NOT_FOUND, "not_found");
    }
    let r = h
        .send(h.req(Method::DELETE, &format!("/jobs/{JOB}/executions/exec-nope")))
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn legacy_version_is_a_bare_array_with_offset() {
    let h = default_harness().await;
    let url = format!("{}/jobs/{JOB}/executions", h.emu.base_url());
    let all = h
        .send(h.client.get(format!("{url}?limit=100")).bearer_auth(TOKEN))
        .await
        .json();
    let all = all.as_array().unwrap().clone();
    assert_eq!(all.len(), 50);
    assert!(is_sorted(&all, "createdAt:desc"));
    let page = h
        .send(
            h.client
                .get(format!(
                    "{url}?offset=10&limit=5&sort=name:asc&q=zzzz&cursor=junk"
                ))
                .bearer_auth(TOKEN)
                .header("Blaxel-Version", "2026-04-20"),
        )
        .await
        .json();
    assert_eq!(page.as_array().unwrap()[..], all[10..15]);
    let default = h.send(h.client.get(&url).bearer_auth(TOKEN)).await.json();
    assert_eq!(default.as_array().unwrap().len(), 20);
    let jobs = h
        .send(
            h.client
                .get(format!("{}/jobs", h.emu.base_url()))
                .bearer_auth(TOKEN),
        )
        .await
        .json();
    assert_eq!(jobs.as_array().unwrap().len(), 3);
    let preview = h
        .send(
            h.client
                .get(&url)
                .bearer_auth(TOKEN)
                .header("Blaxel-Version", "2026-04-28.preview"),
        )
        .await
        .json();
    assert!(preview["meta"].is_object());
}

#[tokio::test]
async fn bad_version_is_400_invalid_api_version() {
    let h = default_harness().await;
    for v in ["2026-99-99", "banana", "2026-05-01", "2026-04-28.beta"] {
        let r = h
            .send(
                h.client
                    .get(format!("{}/jobs", h.emu.base_url()))
                    .bearer_auth(TOKEN)
                    .header("Blaxel-Version", v),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        let body = r.json();
        assert_eq!(body["error"], json!("invalid_api_version"));
        assert!(body.get("code").is_none(), "the version error has no code");
        let msg = body["message"].as_str().unwrap();
        assert!(
            msg.starts_with(&format!(
                "Unknown API version \"{v}\". Valid versions: 2026-04-16"
            )),
            "{msg}"
        );
    }
}

/// 2026-09-22 (the Python SDK's default) and its preview use the envelope and cursors.
#[tokio::test]
async fn version_2026_09_22_uses_the_cursor_contract() {
    let h = default_harness().await;
    for version in [V_LATEST, "2026-09-22.preview"] {
        let r = h
            .get_with_version(&format!("/jobs/{JOB}/executions?limit=20"), version)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{version}: {}", r.text);
        let page = r.json();
        assert_eq!(page["data"].as_array().unwrap().len(), 20);
        assert_eq!(page["meta"]["hasMore"], json!(true));
        let next = page["meta"]["nextCursor"].as_str().unwrap();
        let r = h
            .get_with_version(
                &format!("/jobs/{JOB}/executions?limit=20&cursor={next}"),
                version,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let second: HashSet<String> = r.json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(id)
            .collect();
        let first: HashSet<String> = page["data"].as_array().unwrap().iter().map(id).collect();
        assert!(first.is_disjoint(&second));
    }
    // A date the emulator does not know is still refused.
    let r = h.get_with_version("/jobs", "2026-09-23").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["message"].as_str().unwrap().contains("2026-09-22"));
}
