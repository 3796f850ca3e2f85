//! The retry budget.

use std::time::Duration;

use blaxel_emulator::EmulatorConfig;
use blaxel_transport::{CircuitBreakerConfig, Client, ClientConfig, Error, RetryBudget};
use http::StatusCode;

use super::harness::*;

#[tokio::test]
async fn retry_budget_caps_retries_at_a_fraction_of_calls() {
    let emu = emulator(EmulatorConfig::default()).await;
    let client = Client::new(ClientConfig {
        // No reserve: retries come only from the 20 % of calls.
        retry_budget: RetryBudget {
            window: Duration::from_secs(10),
            min_per_sec: 0,
            retry_percent: 20,
        },
        circuit_breaker: CircuitBreakerConfig::disabled(),
        ..config(&emu)
    })
    .unwrap();
    fail_with(&emu, GET_EXECUTION, 503);
    let calls = 50u64;
    for _ in 0..calls {
        let err = client
            .get_job_execution(&me(), JOB, EXEC)
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    }
    let sent = requests(&emu, GET_EXECUTION);
    // Without the budget: 150 (3 attempts each). With it: 50 + 20 % of 50.
    assert!(
        (calls..=calls + calls / 5 + 1).contains(&sent),
        "{sent} upstream requests for {calls} calls"
    );
    let stats = client.upstream_stats();
    assert_eq!(stats.retries, sent - calls);
    // A call stops at its first refusal: at most one per call, and some calls had one.
    assert!((1..=calls).contains(&stats.budget_refusals), "{stats:?}");
}

#[test]
fn bad_budget_is_a_config_error() {
    for budget in [
        RetryBudget {
            window: Duration::from_millis(10),
            ..RetryBudget::default()
        },
        RetryBudget {
            retry_percent: 5000,
            ..RetryBudget::default()
        },
    ] {
        let err = Client::new(ClientConfig {
            retry_budget: budget,
            ..ClientConfig::default()
        })
        .unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
    }
}
