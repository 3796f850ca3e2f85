//! Tests of the shared pollers against the emulator and its virtual clock.

use std::time::Duration;

use blaxel_emulator::{EmulatorConfig, Fault, route};
use blaxel_models::{CreateJobExecutionRequest, JobExecutionStatus as S};
use blaxel_transport::{CircuitBreakerConfig, ClientConfig, RetryPolicy, Token};
use futures::StreamExt as _;

use super::*;

const JOB: &str = "data-processing-job";

fn limits() -> WatchLimits {
    WatchLimits {
        poll_interval: Duration::from_millis(10),
        max_per_connection: 4,
        max_per_credential: 30,
        max_lifetime: Duration::from_secs(60),
        keepalive: Duration::from_secs(15),
    }
}

async fn setup() -> (blaxel_emulator::EmulatorHandle, Watcher, Caller) {
    let emulator = blaxel_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let base = ClientConfig::new(emulator.base_url());
    let client = Client::new(ClientConfig {
        token: Some(Token::new("dev-token")),
        // Failures are the pollers' to handle here: no retries, no breaker.
        retry: RetryPolicy {
            max_attempts: 1,
            ..base.retry.clone()
        },
        circuit_breaker: CircuitBreakerConfig {
            failure_threshold: 0,
            ..base.circuit_breaker.clone()
        },
        ..base
    })
    .unwrap();
    let request = CreateJobExecutionRequest {
        execution_id: Some("watched".into()),
        tasks: vec![serde_json::Map::new()],
        ..Default::default()
    };
    client
        .create_job_execution(&Credentials::default(), JOB, &request)
        .await
        .unwrap();
    emulator.emulator().reset_stats();
    (emulator, Watcher::new(client, limits()), Caller::default())
}

fn status(item: Option<Result<Arc<JobExecution>, Error>>) -> S {
    item.expect("an item")
        .expect("a state")
        .status
        .clone()
        .unwrap()
}

#[tokio::test]
async fn watchers_share_one_poller_see_each_transition_and_complete() {
    let (emulator, watcher, caller) = setup().await;
    let clock = emulator.emulator();
    let conns: Vec<ConnectionSlots> = (0..5).map(|_| watcher.connection()).collect();
    let mut streams: Vec<WatchStream> = (0..20)
        .map(|i| {
            watcher
                .watch(&caller, JOB, "watched", &conns[i % 5])
                .unwrap()
        })
        .collect();
    assert_eq!(watcher.pollers(), 1);
    for stream in &mut streams {
        assert_eq!(status(stream.next().await), S::Queued);
    }
    for (advance, expected) in [(2, S::Pending), (3, S::Running), (120, S::Succeeded)] {
        clock.advance_clock(advance);
        for stream in &mut streams {
            assert_eq!(status(stream.next().await), expected);
        }
    }
    for stream in &mut streams {
        assert!(
            stream.next().await.is_none(),
            "completes after a terminal status"
        );
    }
    // One poller: about one call per interval, never one per watcher and interval.
    let polls = clock.requests(route::GET_EXECUTION);
    assert!(polls >= 4, "{polls}");
    drop(streams);
    assert_eq!(watcher.pollers(), 0);
    assert!(conns.iter().all(|c| c.open() == 0));
}

#[tokio::test]
async fn the_last_watcher_leaving_stops_the_poller_and_limits_hold() {
    let (emulator, watcher, caller) = setup().await;
    let conn = watcher.connection();
    let mut streams: Vec<WatchStream> = (0..4)
        .map(|_| watcher.watch(&caller, JOB, "watched", &conn).unwrap())
        .collect();
    let refused = watcher.watch(&caller, JOB, "watched", &conn).err().unwrap();
    assert_eq!(refused.code, Code::RateLimited);
    assert_eq!(refused.limit.unwrap().0, "maxSubscriptionsPerConnection");
    assert_eq!(status(streams[0].next().await), S::Queued);
    drop(streams);
    assert_eq!((watcher.pollers(), conn.open()), (0, 0));
    let calls = emulator.emulator().requests(route::GET_EXECUTION);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(emulator.emulator().requests(route::GET_EXECUTION) <= calls + 1);
}

#[tokio::test]
async fn revoked_credential_missing_execution_and_drain_end_the_stream() {
    let (emulator, watcher, caller) = setup().await;
    let conn = watcher.connection();
    let mut stream = watcher.watch(&caller, JOB, "watched", &conn).unwrap();
    assert_eq!(status(stream.next().await), S::Queued);
    emulator
        .emulator()
        .set_faults(vec![Fault::on(route::GET_EXECUTION).status(401)]);
    let err = stream.next().await.unwrap().unwrap_err();
    assert_eq!(err.code, Code::Unauthenticated);
    assert!(stream.next().await.is_none());
    emulator.emulator().clear_faults();

    let mut missing = watcher.watch(&caller, JOB, "exec-nope", &conn).unwrap();
    assert_eq!(
        missing.next().await.unwrap().unwrap_err().code,
        Code::NotFound
    );
    assert!(missing.next().await.is_none());

    let mut open = watcher.watch(&caller, JOB, "watched", &conn).unwrap();
    assert_eq!(status(open.next().await), S::Queued);
    watcher.drain();
    assert_eq!(
        open.next().await.unwrap().unwrap_err().code,
        Code::StreamClosed
    );
    assert!(open.next().await.is_none());
    let refused = watcher.watch(&caller, JOB, "watched", &conn).err().unwrap();
    assert_eq!(refused.code, Code::StreamClosed);
}

#[tokio::test]
async fn callers_with_other_credentials_never_share_a_poller() {
    let (_emulator, watcher, caller) = setup().await;
    let conn = watcher.connection();
    let other = Caller {
        credentials: Credentials::with_token("another-token"),
        ..Caller::default()
    };
    let other_workspace = Caller {
        workspace: "elsewhere".into(),
        ..Caller::default()
    };
    let _a = watcher.watch(&caller, JOB, "watched", &conn).unwrap();
    let _b = watcher.watch(&other, JOB, "watched", &conn).unwrap();
    let _c = watcher
        .watch(&other_workspace, JOB, "watched", &conn)
        .unwrap();
    let _d = watcher.watch(&caller, JOB, "watched", &conn).unwrap();
    assert_eq!(watcher.pollers(), 3);
    assert_ne!(credential_hash(&caller), credential_hash(&other));
    let printed = format!("{watcher:?}");
    assert!(!printed.contains("another-token"), "{printed}");
}

#[tokio::test]
async fn repeated_upstream_failures_and_the_lifetime_end_the_stream() {
    let (emulator, watcher, caller) = setup().await;
    emulator
        .emulator()
        .set_faults(vec![Fault::on(route::GET_EXECUTION).status(503)]);
    let conn = watcher.connection();
    let mut failing = watcher.watch(&caller, JOB, "watched", &conn).unwrap();
    let err = failing.next().await.unwrap().unwrap_err();
    assert_eq!(err.code, Code::UpstreamUnavailable);
    assert!(failing.next().await.is_none());
    emulator.emulator().clear_faults();
    assert_eq!(emulator.emulator().requests(route::GET_EXECUTION), 5);

    let short = Watcher::new(
        watcher.client().clone(),
        WatchLimits {
            max_lifetime: Duration::from_millis(50),
            ..limits()
        },
    );
    let mut stream = short.watch(&caller, JOB, "watched", &conn).unwrap();
    assert_eq!(status(stream.next().await), S::Queued);
    let err = stream.next().await.unwrap().unwrap_err();
    assert_eq!(err.code, Code::StreamClosed);
    assert_eq!(err.limit.unwrap().0, "subscriptionMaxLifetimeSecs");
    assert!(stream.next().await.is_none());
}
