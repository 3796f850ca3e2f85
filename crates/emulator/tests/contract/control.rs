//! The control API over HTTP and the request counts.

use crate::harness::*;

#[tokio::test]
async fn control_api_over_http() {
    let h = default_harness().await;
    let r = h
        .post_faults(&[Fault::on(route::ANY).status(429).retry_after(7).times(1)])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = h.get(&list_path()).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers["retry-after"], "7");
    h.post_faults(&[Fault::on(route::ANY).status(500)]).await;
    let r = h.send(h.control(Method::DELETE, "faults")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(h.get(&list_path()).await.status, StatusCode::OK);
    let r = h.send(h.control(Method::POST, "faults").body("nope")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let root = format!("http://{}", h.emu.addr());
    let r = h.send(h.client.get(format!("{root}/healthz"))).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn counts_every_v0_request_by_route() {
    let h = default_harness().await;
    let emu = h.emu.emulator();
    h.get_ok("/jobs").await;
    emu.reset_stats();
    for _ in 0..3 {
        h.get_ok(&format!("/jobs/{JOB}/executions")).await;
    }
    // Rejected and faulted requests count too.
    h.send(
        h.client
            .get(format!("{}/jobs/{JOB}/executions", h.emu.base_url())),
    )
    .await;
    emu.set_faults(vec![Fault::on(route::ANY).status(500).times(1)]);
    h.get(&format!("/jobs/{JOB}/executions/exec-abc123")).await;
    h.get("/nothing-here").await;
    assert_eq!(emu.requests(route::LIST_EXECUTIONS), 4);
    assert_eq!(emu.requests(route::GET_EXECUTION), 1);
    assert_eq!(emu.requests(route::LIST_JOBS), 0);
    let stats = emu.stats();
    assert_eq!(stats.total, 6);
    let http = h.send(h.control(Method::GET, "stats")).await.json();
    assert_eq!(http["total"], json!(6));
    assert_eq!(http["requests"][route::LIST_EXECUTIONS], json!(4));
    let r = h.send(h.control(Method::POST, "reset-stats")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(emu.stats().total, 0);
}
