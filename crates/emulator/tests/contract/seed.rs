//! Seed data: same seed, same data.

use crate::harness::*;

async fn snapshot(seed: u64) -> String {
    let h = harness(EmulatorConfig {
        seed,
        ..EmulatorConfig::default()
    })
    .await;
    let a = h
        .get(&format!("/jobs/{JOB}/executions?limit=100"))
        .await
        .text;
    let b = h
        .get("/jobs/job-2/executions?limit=100&sort=name:desc")
        .await
        .text;
    h.emu.shutdown().await;
    a + &b
}

#[tokio::test]
async fn same_seed_same_data() {
    assert_eq!(snapshot(7).await, snapshot(7).await);
    assert_ne!(snapshot(7).await, snapshot(8).await);
}
