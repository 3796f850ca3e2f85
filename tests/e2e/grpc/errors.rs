//! Every error class over gRPC: the code carries the meaning, `ErrorInfo.reason` the GraphQL
//! code, with RetryInfo, BadRequest and ResourceInfo where they apply; arguments the gateway can
//! refuse alone cost no upstream call.

use std::time::Duration;

use blaxel_emulator::{EmulatorConfig, Fault, route};
use blaxel_gateway::{
    Config,
    grpc::proto::{GetJobExecutionRequest, ListJobExecutionsRequest},
};
use tonic::Code;

use super::{GrpcEnv, JOB, assert_status, request};
use crate::harness::{emulator_config, options};

fn list(page_size: i32, page_token: &str, order_by: &str) -> ListJobExecutionsRequest {
    ListJobExecutionsRequest {
        parent: format!("jobs/{JOB}"),
        page_size,
        page_token: page_token.to_owned(),
        order_by: order_by.to_owned(),
        query: String::new(),
    }
}

#[tokio::test]
async fn a_token_with_other_arguments_is_invalid_before_any_upstream_call() {
    let env = GrpcEnv::start(emulator_config(50)).await;
    let mut client = env.executions().await;
    let page = client
        .list_job_executions(list(10, "", ""))
        .await
        .unwrap()
        .into_inner();
    let token = page.next_page_token;
    env.reset();
    let other_job = ListJobExecutionsRequest {
        parent: "jobs/other-job".into(),
        ..list(10, &token, "")
    };
    let other_query = ListJobExecutionsRequest {
        query: "exec".into(),
        ..list(10, &token, "")
    };
    for req in [
        list(10, &token, "name"),
        other_job,
        other_query,
        list(10, "garbage!", ""),
    ] {
        let status = client.list_job_executions(req).await.unwrap_err();
        let details = assert_status(&status, Code::InvalidArgument, "CURSOR_INVALID");
        assert_eq!(
            details.bad_request().unwrap().field_violations[0].field,
            "page_token"
        );
    }
    // Another page size is the same query: the token resumes.
    let next = client
        .list_job_executions(list(5, &token, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(next.job_executions.len(), 5);
    assert_eq!(
        env.upstream(route::LIST_EXECUTIONS),
        1,
        "only the last call went upstream"
    );
}

#[tokio::test]
async fn bad_arguments_name_their_field_and_cost_nothing() {
    let env = GrpcEnv::start(emulator_config(5)).await;
    let mut client = env.executions().await;
    let cases = [
        (list(-1, "", ""), "page_size"),
        (list(10, "", "create_time sideways"), "order_by"),
        (
            ListJobExecutionsRequest {
                parent: format!("job/{JOB}"),
                ..list(10, "", "")
            },
            "parent",
        ),
        (
            ListJobExecutionsRequest {
                query: "q".repeat(201),
                ..list(10, "", "")
            },
            "query",
        ),
    ];
    for (req, field) in cases {
        let status = client.list_job_executions(req).await.unwrap_err();
        let details = assert_status(&status, Code::InvalidArgument, "BAD_USER_INPUT");
        assert_eq!(
            details.bad_request().unwrap().field_violations[0].field,
            field
        );
    }
    let status = client
        .get_job_execution(GetJobExecutionRequest {
            name: format!("jobs/{JOB}/executions"),
        })
        .await
        .unwrap_err();
    assert_status(&status, Code::InvalidArgument, "BAD_USER_INPUT");
    // (The health check's probe lists jobs: count the routes these calls would use.)
    assert_eq!(env.upstream(route::LIST_EXECUTIONS), 0);
    assert_eq!(env.upstream(route::GET_EXECUTION), 0);
}

#[tokio::test]
async fn upstream_failures_map_to_their_meaning() {
    let env = GrpcEnv::start(emulator_config(5)).await;
    let mut client = env.executions().await;
    let name = format!("jobs/{JOB}/executions/exec-nope");
    let status = client
        .get_job_execution(GetJobExecutionRequest { name: name.clone() })
        .await
        .unwrap_err();
    let details = assert_status(&status, Code::NotFound, "NOT_FOUND");
    let resource = details.resource_info().unwrap();
    assert_eq!(resource.resource_name, name);
    assert_eq!(resource.resource_type, "blaxel.jobs.v1.JobExecution");
    let status = client
        .list_job_executions(ListJobExecutionsRequest {
            parent: "jobs/no-such-job".into(),
            ..list(5, "", "")
        })
        .await
        .unwrap_err();
    assert_status(&status, Code::NotFound, "NOT_FOUND");

    let cases = [
        (
            Fault::on(route::LIST_EXECUTIONS).status(429).retry_after(7),
            Code::ResourceExhausted,
            "RATE_LIMITED",
            Some(7),
        ),
        (
            Fault::on(route::LIST_EXECUTIONS).status(503).retry_after(3),
            Code::Unavailable,
            "UPSTREAM_UNAVAILABLE",
            Some(3),
        ),
        (
            Fault::on(route::LIST_EXECUTIONS).status(500),
            Code::Internal,
            "UPSTREAM_ERROR",
            None,
        ),
    ];
    for (fault, code, reason, retry) in cases {
        env.emulator.emulator().set_faults(vec![fault]);
        let status = client
            .list_job_executions(list(5, "", ""))
            .await
            .unwrap_err();
        let details = assert_status(&status, code, reason);
        assert_eq!(
            details.retry_info().and_then(|r| r.retry_delay),
            retry.map(Duration::from_secs),
            "{status:?}"
        );
        env.emulator.emulator().clear_faults();
    }

    // An expired upstream cursor: FAILED_PRECONDITION, restart from the first page.
    let page = client
        .list_job_executions(list(2, "", ""))
        .await
        .unwrap()
        .into_inner();
    env.emulator.emulator().advance_clock(25 * 3600);
    let status = client
        .list_job_executions(list(2, &page.next_page_token, ""))
        .await
        .unwrap_err();
    assert_status(&status, Code::FailedPrecondition, "CURSOR_EXPIRED");
}

#[tokio::test]
async fn the_client_deadline_bounds_the_upstream_call() {
    // Three attempts allowed: a cut call must not retry behind the client's back.
    let env = GrpcEnv::with(
        emulator_config(5),
        Config {
            upstream_attempts: 3,
            ..options()
        },
    )
    .await;
    let mut client = env.executions_without_client_deadline();
    env.emulator
        .emulator()
        .set_faults(vec![Fault::on(route::GET_EXECUTION).latency_ms(3_000)]);
    let mut req = request(
        GetJobExecutionRequest {
            name: format!("jobs/{JOB}/executions/exec-abc123"),
        },
        &[],
    );
    req.set_timeout(Duration::from_millis(300));
    let status = client.get_job_execution(req).await.unwrap_err();
    assert_status(&status, Code::DeadlineExceeded, "UPSTREAM_TIMEOUT");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        env.upstream(route::GET_EXECUTION),
        1,
        "one attempt, cut, no retry"
    );

    // A budget already spent fails at once, before any upstream call.
    env.reset();
    let mut req = request(list(5, "", ""), &[]);
    req.set_timeout(Duration::from_millis(5));
    let status = client.list_job_executions(req).await.unwrap_err();
    assert_status(&status, Code::DeadlineExceeded, "UPSTREAM_TIMEOUT");
    assert_eq!(env.upstream(route::LIST_EXECUTIONS), 0);
}

#[tokio::test]
async fn credentials_in_metadata_are_forwarded_per_caller() {
    let tenants = [("tok-a-7c1d", "ws-a"), ("tok-b-9e2f", "ws-b")];
    let env = GrpcEnv::with(
        EmulatorConfig {
            tokens: tenants
                .iter()
                .map(|(t, w)| (t.to_string(), w.to_string()))
                .collect(),
            jobs: 1,
            executions_per_job: 12,
            ..EmulatorConfig::default()
        },
        Config {
            token: None,
            ..options()
        },
    )
    .await;
    let mut client = env.executions().await;
    let mut tokens = Vec::new();
    for (i, (token, workspace)) in tenants.iter().enumerate() {
        let auth = format!("Bearer {token}");
        // Either header carries the credential.
        let header = if i == 0 {
            "authorization"
        } else {
            "x-blaxel-authorization"
        };
        let page = client
            .list_job_executions(request(list(5, "", ""), &[(header, &auth)]))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.job_executions.len(), 5);
        assert!(
            page.job_executions
                .iter()
                .all(|e| e.workspace == *workspace)
        );
        tokens.push((auth, page.next_page_token));
    }
    // A page token is bound to its workspace: another tenant cannot resume it.
    let status = client
        .list_job_executions(request(
            list(5, &tokens[0].1, ""),
            &[
                ("authorization", &tokens[1].0),
                ("x-blaxel-workspace", "ws-b"),
            ],
        ))
        .await
        .unwrap_err();
    assert_status(&status, Code::InvalidArgument, "CURSOR_INVALID");
    // No credential, a malformed one, an unknown one, another workspace.
    let status = client
        .list_job_executions(list(5, "", ""))
        .await
        .unwrap_err();
    assert_status(&status, Code::Unauthenticated, "UNAUTHENTICATED");
    let status = client
        .list_job_executions(request(
            list(5, "", ""),
            &[("authorization", "Basic dXNlcjpwdw==")],
        ))
        .await
        .unwrap_err();
    assert_status(&status, Code::Unauthenticated, "UNAUTHENTICATED");
    assert!(!status.message().contains("dXNlcjpwdw"), "{status:?}");
    let status = client
        .list_job_executions(request(
            list(5, "", ""),
            &[("authorization", "Bearer nope")],
        ))
        .await
        .unwrap_err();
    assert_status(&status, Code::Unauthenticated, "UNAUTHENTICATED");
    let status = client
        .list_job_executions(request(
            list(5, "", ""),
            &[
                ("authorization", &tokens[0].0),
                ("x-blaxel-workspace", "ws-b"),
            ],
        ))
        .await
        .unwrap_err();
    assert_status(&status, Code::PermissionDenied, "FORBIDDEN");
}
