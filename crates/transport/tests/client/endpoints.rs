//! Every endpoint against the emulator (paginated version, the default), checks before sending, health, and the concurrency bound.

use std::collections::HashSet;
use std::time::Duration;

use blaxel_models::{CreateJobExecutionRequest, JobExecutionStatus};
use blaxel_transport::{
    Client, ClientConfig, Credentials, Error, ListExecutionsRequest, ListJobsRequest,
    ListTasksRequest, PaginationSort,
};
use futures::TryStreamExt;
use http::StatusCode;

use super::harness::*;

#[tokio::test]
async fn jobs_list_get_and_revisions() {
    let (emu, client) = setup().await;
    let page = client
        .list_jobs(&me(), &ListJobsRequest::default())
        .await
        .unwrap();
    assert!(page.meta.is_some(), "the envelope carries meta");
    assert!(page.total().unwrap() >= 1);
    assert!(
        page.items.iter().any(|job| job.metadata.name == JOB),
        "the reference job is listed"
    );

    let first = client
        .list_jobs(
            &me(),
            &ListJobsRequest {
                limit: Some(1),
                sort: Some(PaginationSort::NameAsc),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(first.items.len(), 1);

    let job = client.get_job(&me(), JOB).await.unwrap();
    assert_eq!(job.metadata.name, JOB);
    let revisions = client.list_job_revisions(&me(), JOB).await.unwrap();
    assert!(!revisions.is_empty());
    assert_eq!(requests(&emu, "GET /v0/jobs/{jobId}"), 1);
}

#[tokio::test]
async fn executions_list_get_and_tasks() {
    let (_emu, client) = setup().await;
    let page = client
        .list_job_executions(
            &me(),
            JOB,
            &ListExecutionsRequest {
                limit: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 5);
    assert_eq!(page.has_more(), Some(true));
    let cursor = page.next_cursor().expect("a next cursor").to_owned();
    let second = client
        .list_job_executions(
            &me(),
            JOB,
            &ListExecutionsRequest {
                limit: Some(5),
                cursor: Some(cursor),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let first_ids: HashSet<_> = page.items.iter().map(|e| e.metadata.id.clone()).collect();
    assert!(
        second
            .items
            .iter()
            .all(|e| !first_ids.contains(&e.metadata.id)),
        "pages do not overlap"
    );

    let exec = client.get_job_execution(&me(), JOB, EXEC).await.unwrap();
    assert_eq!(exec.metadata.id.as_deref(), Some(EXEC));
    assert_eq!(exec.metadata.job.as_deref(), Some(JOB));

    let tasks = client
        .list_job_execution_tasks(&me(), JOB, EXEC, &ListTasksRequest::default())
        .await
        .unwrap();
    assert!(tasks.meta.is_some());
    assert!(!tasks.items.is_empty());

    let searched = client
        .list_job_executions(
            &me(),
            JOB,
            &ListExecutionsRequest {
                q: Some("abc123".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        searched
            .items
            .iter()
            .any(|e| e.metadata.id.as_deref() == Some(EXEC))
    );
}

#[tokio::test]
async fn create_then_cancel() {
    let (_emu, client) = setup().await;
    let body = CreateJobExecutionRequest {
        tasks: vec![serde_json::Map::from_iter([(
            "name".to_owned(),
            serde_json::Value::from("John"),
        )])],
        ..Default::default()
    };
    let created = client
        .create_job_execution(&me(), JOB, &body)
        .await
        .unwrap();
    let id = created.execution_id.expect("an execution id");
    let exec = client.get_job_execution(&me(), JOB, &id).await.unwrap();
    assert_eq!(exec.metadata.id.as_deref(), Some(id.as_str()));

    let cancelled = client.cancel_job_execution(&me(), JOB, &id).await.unwrap();
    assert!(
        matches!(
            cancelled.status,
            Some(JobExecutionStatus::Cancelling | JobExecutionStatus::Cancelled)
        ),
        "{:?}",
        cancelled.status
    );
    // Cancelling again is idempotent.
    client.cancel_job_execution(&me(), JOB, &id).await.unwrap();

    let own_id = CreateJobExecutionRequest {
        execution_id: Some("exec-from-the-caller".into()),
        ..body
    };
    let created = client
        .create_job_execution(&me(), JOB, &own_id)
        .await
        .unwrap();
    assert_eq!(
        created.execution_id.as_deref(),
        Some("exec-from-the-caller")
    );
}

#[tokio::test]
async fn not_found_is_one_request() {
    let (emu, client) = setup().await;
    let err = client.get_job(&me(), "no-such-job").await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    assert!(!err.is_retryable());
    assert_eq!(requests(&emu, "GET /v0/jobs/{jobId}"), 1);

    let err = client
        .get_job_execution(&me(), JOB, "exec-nope")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(requests(&emu, GET_EXECUTION), 1);
}

#[tokio::test]
async fn invalid_requests_send_nothing() {
    let (emu, client) = setup().await;
    emu.emulator().reset_stats();
    let bad = [
        ListExecutionsRequest {
            limit: Some(0),
            ..Default::default()
        },
        ListExecutionsRequest {
            limit: Some(101),
            ..Default::default()
        },
        ListExecutionsRequest {
            q: Some("q".repeat(201)),
            ..Default::default()
        },
    ];
    for req in &bad {
        let err = client
            .list_job_executions(&me(), JOB, req)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidRequest { .. }),
            "{req:?}: {err:?}"
        );
        assert_eq!(err.status(), None);
    }
    let err = client
        .list_jobs(
            &me(),
            &ListJobsRequest {
                limit: Some(201),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }));
    let err = client.get_job(&me(), "").await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }));
    let err = client
        .cancel_job_execution(&me(), JOB, " ")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }));
    let stream_err = client
        .job_executions_stream(me(), JOB.into(), bad[0].clone())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(matches!(stream_err, Error::InvalidRequest { .. }));
    assert_eq!(
        emu.emulator().stats().total,
        0,
        "nothing reached the upstream"
    );
}

#[tokio::test]
async fn health_counts_any_answer_below_500() {
    let (emu, client) = setup().await;
    client.health(&me()).await.unwrap();
    client
        .health(&Credentials::with_token("unknown-token"))
        .await
        .expect("a 401 still proves the upstream answers");
    fail_with(&emu, LIST_JOBS, 503);
    emu.emulator().reset_stats();
    let err = client.health(&me()).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(requests(&emu, LIST_JOBS), 1, "health is never retried");
}

#[tokio::test]
async fn concurrency_is_bounded() {
    for bound in [1, 4] {
        // Holds each answer 100 ms so that calls overlap when the client lets them.
        let upstream =
            FakeUpstream::start_holding(Duration::from_millis(100), |_| json_response(200, "[]"))
                .await;
        let client = Client::new(ClientConfig {
            max_concurrent_requests: bound,
            ..config_for(upstream.base_url())
        })
        .unwrap();
        let creds = me();
        let calls = (0..4).map(|_| client.list_job_revisions(&creds, JOB));
        for result in futures::future::join_all(calls).await {
            assert!(result.unwrap().is_empty());
        }
        assert_eq!(upstream.requests(), 4);
        if bound == 1 {
            assert_eq!(upstream.max_in_flight(), 1, "one at a time");
        } else {
            // The measure sees overlap when it is allowed.
            assert!(upstream.max_in_flight() > 1, "{}", upstream.max_in_flight());
        }
    }
}
