//! `--upstream-dedupe` on the gRPC face: identical `ListJobExecutions` calls of one caller in
//! flight at once share one answer (one upstream call, the same bytes); other arguments and other
//! credentials never share; a call that joins is never cut by a shorter deadline than its own.

use std::time::Duration;

use blaxel_emulator::Fault;
use blaxel_gateway::{
    Config,
    grpc::proto::{ListJobExecutionsRequest, ListJobExecutionsResponse},
};
use tonic::{Code, Status};

use super::{GrpcEnv, JOB, assert_status, request};
use crate::harness::{LIST_EXECUTIONS, options, two_tokens_config};

/// Two tokens of one workspace, and a listing that answers after `latency_ms`.
async fn slow_env(latency_ms: u64, dedupe: bool) -> GrpcEnv {
    let env = GrpcEnv::with(
        two_tokens_config(30),
        Config {
            upstream_dedupe: dedupe,
            ..options()
        },
    )
    .await;
    env.emulator.emulator().set_faults(vec![Fault {
        route: LIST_EXECUTIONS.to_owned(),
        latency_ms: Some(latency_ms),
        ..Default::default()
    }]);
    env.reset();
    env
}

/// One `ListJobExecutions` call of `page_size` with `token`, after `delay`, within `timeout`.
async fn list(
    env: &GrpcEnv,
    token: &str,
    page_size: i32,
    delay: Duration,
    timeout: Duration,
) -> Result<ListJobExecutionsResponse, Status> {
    tokio::time::sleep(delay).await;
    let auth = format!("Bearer {token}");
    let mut call = request(
        ListJobExecutionsRequest {
            parent: format!("jobs/{JOB}"),
            page_size,
            ..Default::default()
        },
        &[("authorization", &auth)],
    );
    call.set_timeout(timeout);
    env.executions_without_client_deadline()
        .list_job_executions(call)
        .await
        .map(tonic::Response::into_inner)
}

const LONG: Duration = Duration::from_secs(10);

#[tokio::test]
async fn identical_calls_of_one_caller_share_one_answer() {
    let env = slow_env(400, true).await;
    let zero = Duration::ZERO;
    let calls: Vec<_> = (0..8)
        .map(|_| list(&env, "dev-token", 20, zero, LONG))
        .chain([
            list(&env, "dev-token", 10, zero, LONG),
            list(&env, "other-token", 20, zero, LONG),
        ])
        .collect();
    let answers: Vec<_> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|answer| answer.expect("answered"))
        .collect();
    assert_eq!(
        env.upstream(LIST_EXECUTIONS),
        3,
        "8 identical calls, 1 of another page size, 1 of another credential"
    );
    let (same, other_size, other_caller) = (&answers[..8], &answers[8], &answers[9]);
    assert!(same.iter().all(|a| a == &same[0]));
    assert_eq!(same[0].job_executions.len(), 20);
    assert_eq!(same[0].total_size, 30);
    assert!(!same[0].next_page_token.is_empty());
    assert_eq!(other_size.job_executions.len(), 10);
    assert_eq!(other_caller.job_executions, same[0].job_executions);
    // Nothing is kept once the flight answered: the next call reads again.
    list(&env, "dev-token", 20, zero, LONG).await.unwrap();
    assert_eq!(env.upstream(LIST_EXECUTIONS), 4);
}

/// The first call's deadline (300 ms) passes before the upstream (600 ms) answers; a call that
/// joined its flight with 10 s left is answered all the same, reading on its own.
#[tokio::test]
async fn a_call_that_joins_is_not_cut_by_the_first_calls_deadline() {
    let env = slow_env(600, true).await;
    let (short, long) = tokio::join!(
        list(
            &env,
            "dev-token",
            20,
            Duration::ZERO,
            Duration::from_millis(300)
        ),
        list(&env, "dev-token", 20, Duration::from_millis(100), LONG),
    );
    assert_status(
        &short.unwrap_err(),
        Code::DeadlineExceeded,
        "UPSTREAM_TIMEOUT",
    );
    assert_eq!(
        long.expect("the joiner is answered").job_executions.len(),
        20
    );
    assert_eq!(
        env.upstream(LIST_EXECUTIONS),
        2,
        "the flight's call, then its own"
    );
}

#[tokio::test]
async fn without_dedupe_every_call_reads_on_its_own() {
    let env = slow_env(200, false).await;
    let calls = (0..4).map(|_| list(&env, "dev-token", 20, Duration::ZERO, LONG));
    for answer in futures::future::join_all(calls).await {
        assert_eq!(answer.unwrap().job_executions.len(), 20);
    }
    assert_eq!(env.upstream(LIST_EXECUTIONS), 4);
}
