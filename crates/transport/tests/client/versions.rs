//! API versions: the legacy bare arrays and offsets, and an unknown version.

use std::collections::HashSet;

use blaxel_emulator::EmulatorConfig;
use blaxel_transport::{
    ApiVersion, Client, ClientConfig, Error, ListExecutionsRequest, ListJobsRequest,
};
use futures::TryStreamExt;
use http::StatusCode;

use super::harness::*;

#[tokio::test]
async fn legacy_version_pages_by_offset() {
    let emu = emulator(EmulatorConfig::default()).await;
    let client = Client::new(ClientConfig {
        api_version: ApiVersion::LEGACY_DEFAULT,
        ..config(&emu)
    })
    .unwrap();
    let jobs = client
        .list_jobs(&me(), &ListJobsRequest::default())
        .await
        .unwrap();
    assert_eq!(jobs.meta, None, "legacy answers are bare arrays");
    assert!(!jobs.items.is_empty());

    let page = |offset| ListExecutionsRequest {
        limit: Some(3),
        offset: Some(offset),
        ..Default::default()
    };
    let first = client
        .list_job_executions(&me(), JOB, &page(0))
        .await
        .unwrap();
    let second = client
        .list_job_executions(&me(), JOB, &page(3))
        .await
        .unwrap();
    assert_eq!((first.meta.clone(), first.total()), (None, None));
    assert_eq!(first.items.len(), 3);
    let ids: HashSet<_> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|e| e.metadata.id.clone())
        .collect();
    assert_eq!(ids.len(), first.items.len() + second.items.len());

    let all: Vec<_> = client
        .job_executions_stream(me(), JOB.into(), page(0))
        .try_collect()
        .await
        .unwrap();
    let unique: HashSet<_> = all.iter().map(|e| e.metadata.id.clone()).collect();
    assert_eq!(unique.len(), all.len());
    assert!(all.len() > 6);
}

#[tokio::test]
async fn unknown_version_is_a_400() {
    let emu = emulator(EmulatorConfig::default()).await;
    let client = Client::new(ClientConfig {
        api_version: "2031-01-01".parse().unwrap(),
        ..config(&emu)
    })
    .unwrap();
    let err = client.get_job(&me(), JOB).await.unwrap_err();
    match &err {
        Error::Http { status, body, .. } => {
            assert_eq!(*status, StatusCode::BAD_REQUEST);
            assert_eq!(body.error.as_deref(), Some("invalid_api_version"));
        }
        other => panic!("expected Http 400, got {other:?}"),
    }
    assert_eq!(
        requests(&emu, "GET /v0/jobs/{jobId}"),
        1,
        "a 400 is not retried"
    );
}
