//! Cursors: bound to the query (not to `limit`), expiring after 24 h of virtual time.

use crate::harness::*;

#[tokio::test]
async fn cursor_is_bound_to_the_query_not_the_limit() {
    let h = harness(EmulatorConfig {
        tokens: vec![
            (TOKEN.into(), "my-workspace".into()),
            (TOKEN.into(), "other-ws".into()),
        ],
        ..EmulatorConfig::default()
    })
    .await;
    let base = format!("/jobs/{JOB}/executions");
    let page = h.get_ok(&format!("{base}?limit=5&q=exec")).await;
    let c = page["meta"]["nextCursor"].as_str().unwrap().to_owned();
    // Same query, other limit, equivalent q: accepted.
    h.get_ok(&format!("{base}?limit=9&q=%20%20EXEC%20&cursor={c}"))
        .await;
    for other in [
        format!("{base}?sort=name:asc&q=exec&cursor={c}"),
        format!("{base}?q=exe&cursor={c}"),
        format!("{base}?cursor={c}"),
        format!("/jobs/job-1/executions?q=exec&cursor={c}"),
    ] {
        assert_error(
            &h.get(&other).await,
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
        );
    }
    let r = h
        .send(
            h.req(Method::GET, &format!("{base}?q=exec&cursor={c}"))
                .header("X-Blaxel-Workspace", "other-ws"),
        )
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_cursor");
    for garbage in ["garbage", "AAAA", "%F0%9F%92%A9", &c[..c.len() - 2]] {
        let r = h.get(&format!("{base}?q=exec&cursor={garbage}")).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "invalid_cursor");
    }
}

#[tokio::test]
async fn cursor_expires_after_24h_of_virtual_time() {
    let h = default_harness().await;
    let base = format!("/jobs/{JOB}/executions");
    let c = h.get_ok(&format!("{base}?limit=5")).await["meta"]["nextCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    h.emu.emulator().advance_clock(23 * 3600);
    h.get_ok(&format!("{base}?cursor={c}")).await;
    h.emu.emulator().advance_clock(3601);
    assert_error(
        &h.get(&format!("{base}?cursor={c}")).await,
        StatusCode::BAD_REQUEST,
        "cursor_expired",
    );
}
