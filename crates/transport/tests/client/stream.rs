//! The listing stream over thousands of executions.

use std::collections::HashSet;

use blaxel_emulator::EmulatorConfig;
use blaxel_transport::{Client, ListExecutionsRequest, PaginationSort};
use futures::TryStreamExt;

use super::harness::*;

#[tokio::test]
async fn stream_yields_every_execution_once() {
    let emu = emulator(EmulatorConfig {
        jobs: 1,
        executions_per_job: 3000,
        ..EmulatorConfig::default()
    })
    .await;
    let client = Client::new(config(&emu)).unwrap();
    let total = client
        .list_job_executions(&me(), JOB, &ListExecutionsRequest::default())
        .await
        .unwrap()
        .total()
        .expect("meta.total");
    assert!(total >= 3000, "{total}");
    emu.emulator().reset_stats();

    let req = ListExecutionsRequest {
        limit: Some(100),
        sort: Some(PaginationSort::CreatedAtAsc),
        ..Default::default()
    };
    let all: Vec<_> = client
        .job_executions_stream(me(), JOB.into(), req)
        .try_collect()
        .await
        .unwrap();
    let unique: HashSet<_> = all.iter().map(|e| e.metadata.id.clone()).collect();
    assert_eq!(all.len() as i64, total);
    assert_eq!(unique.len(), all.len(), "no execution twice");
    let pages = (total as u64).div_ceil(100);
    assert_eq!(
        requests(&emu, LIST_EXECUTIONS),
        pages,
        "one request per page"
    );
}
