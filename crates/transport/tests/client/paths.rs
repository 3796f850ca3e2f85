//! Names and ids that become path segments: refused before sending when they would address
//! another resource, encoded as one segment otherwise.

use blaxel_models::CreateJobExecutionRequest;
use blaxel_transport::{Error, ListExecutionsRequest, ListTasksRequest};

use super::harness::*;

#[tokio::test]
async fn dot_segments_blanks_and_control_characters_send_nothing() {
    let (emu, client) = setup().await;
    for bad in [
        "",
        " ",
        ".",
        "..",
        "data-processing-job\n",
        "a\tb",
        "a\rb",
        "a\u{0}b",
    ] {
        let errors = [
            client.get_job(&me(), bad).await.unwrap_err(),
            client.list_job_revisions(&me(), bad).await.unwrap_err(),
            client
                .list_job_executions(&me(), bad, &ListExecutionsRequest::default())
                .await
                .unwrap_err(),
            client
                .create_job_execution(&me(), bad, &CreateJobExecutionRequest::default())
                .await
                .unwrap_err(),
            client.get_job_execution(&me(), JOB, bad).await.unwrap_err(),
            client
                .get_job_execution(&me(), bad, EXEC)
                .await
                .unwrap_err(),
            client
                .cancel_job_execution(&me(), JOB, bad)
                .await
                .unwrap_err(),
            client
                .list_job_execution_tasks(&me(), JOB, bad, &ListTasksRequest::default())
                .await
                .unwrap_err(),
        ];
        for err in errors {
            assert!(
                matches!(err, Error::InvalidRequest { .. }),
                "{bad:?}: {err:?}"
            );
            assert!(!err.to_string().contains('\n'), "{err}");
        }
    }
    assert_eq!(
        emu.emulator().stats().total,
        0,
        "nothing reached the upstream"
    );
}

#[tokio::test]
async fn odd_but_legal_names_stay_one_segment() {
    let (emu, client) = setup().await;
    // Unknown jobs: a 404 from the job route proves the name arrived as one segment.
    for odd in [
        "a/b", "a?b=c", "a#b", "100%", "a b", "ré", "a\\b", "...", "%2e%2e", "a/../b",
    ] {
        let err = client.get_job(&me(), odd).await.unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{odd:?}: {err:?}");
    }
    assert_eq!(requests(&emu, GET_JOB), 10);
    assert_eq!(emu.emulator().stats().total, 10, "no other route was hit");

    // An execution id with reserved characters round-trips through create and get (the
    // emulator refuses ids with `/` or blanks, which the job names above cover).
    let id = "x?y#z%w\\é";
    let body = CreateJobExecutionRequest {
        execution_id: Some(id.into()),
        ..Default::default()
    };
    let created = client
        .create_job_execution(&me(), JOB, &body)
        .await
        .unwrap();
    assert_eq!(created.execution_id.as_deref(), Some(id));
    let exec = client.get_job_execution(&me(), JOB, id).await.unwrap();
    assert_eq!(exec.metadata.id.as_deref(), Some(id));
    assert_eq!(requests(&emu, GET_EXECUTION), 1);
}

#[tokio::test]
async fn the_query_is_checked_and_sent_normalised() {
    let (emu, client) = setup().await;
    // 150 characters that lowercase to 300: refused before sending.
    let grows = ListExecutionsRequest {
        q: Some("İ".repeat(150)),
        ..Default::default()
    };
    let err = client
        .list_job_executions(&me(), JOB, &grows)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    assert_eq!(emu.emulator().stats().total, 0);

    // 200 characters plus blanks, in capitals (206 as written): the upstream accepts what is sent.
    let padded = ListExecutionsRequest {
        q: Some(format!("   {}   ", "A".repeat(200))),
        ..Default::default()
    };
    let page = client
        .list_job_executions(&me(), JOB, &padded)
        .await
        .unwrap();
    assert!(page.items.is_empty());
    let found = ListExecutionsRequest {
        q: Some("  EXEC-ABC123 ".into()),
        ..Default::default()
    };
    let page = client
        .list_job_executions(&me(), JOB, &found)
        .await
        .unwrap();
    assert!(
        page.items
            .iter()
            .any(|e| e.metadata.id.as_deref() == Some(EXEC))
    );
    assert_eq!(requests(&emu, LIST_EXECUTIONS), 2);
}
