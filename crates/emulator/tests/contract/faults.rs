//! Fault injection: statuses, `Retry-After`, probability, resets, latency, broken and mutated
//! bodies.

use crate::harness::*;

const LIST: &str = route::LIST_EXECUTIONS;

#[tokio::test]
async fn status_retry_after_and_times() {
    let h = default_harness().await;
    h.emu
        .emulator()
        .set_faults(vec![Fault::on(LIST).status(503).retry_after(2).times(2)]);
    for _ in 0..2 {
        let r = h.get(&list_path()).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers["retry-after"], "2");
        assert_eq!(r.json()["code"], json!(503));
    }
    assert_eq!(
        h.get(&list_path()).await.status,
        StatusCode::OK,
        "expired after 2"
    );
    // Other routes are untouched.
    h.emu
        .emulator()
        .set_faults(vec![Fault::on(route::GET_JOB).status(500)]);
    assert_eq!(h.get(&list_path()).await.status, StatusCode::OK);
    assert_eq!(
        h.get(&format!("/jobs/{JOB}")).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    h.emu.emulator().clear_faults();
    assert_eq!(h.get(&format!("/jobs/{JOB}")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn probability_hits_some_requests() {
    let h = default_harness().await;
    h.emu
        .emulator()
        .set_faults(vec![Fault::on(route::ANY).status(500).probability(0.5)]);
    let mut failed = 0;
    for _ in 0..40 {
        if h.get(&list_path()).await.status == StatusCode::INTERNAL_SERVER_ERROR {
            failed += 1;
        }
    }
    assert!((5..=35).contains(&failed), "{failed} of 40");
}

#[tokio::test]
async fn reset_and_latency() {
    let h = default_harness().await;
    h.emu
        .emulator()
        .set_faults(vec![Fault::on(LIST).reset().times(1)]);
    let err = h
        .req(Method::GET, &list_path())
        .send()
        .await
        .expect_err("connection reset");
    assert!(!err.is_status(), "{err:?}");
    assert_eq!(h.get(&list_path()).await.status, StatusCode::OK);
    h.emu
        .emulator()
        .set_faults(vec![Fault::on(route::ANY).latency_ms(300)]);
    let started = std::time::Instant::now();
    assert_eq!(h.get(&list_path()).await.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn broken_bodies() {
    let h = default_harness().await;
    let set = |body: FaultBody| {
        h.emu
            .emulator()
            .set_faults(vec![Fault::on(route::ANY).body(body)])
    };
    let real = h.get_ok(&list_path()).await;
    let real_len = serde_json::to_vec(&real).unwrap().len();

    set(FaultBody::Malformed);
    let r = h.get(&list_path()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(serde_json::from_str::<Value>(&r.text).is_err());

    set(FaultBody::Truncated);
    let r = h.get(&list_path()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text.len(), real_len / 2);
    assert!(serde_json::from_str::<Value>(&r.text).is_err());

    set(FaultBody::Empty);
    let r = h.get(&list_path()).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, ""));

    set(FaultBody::Html);
    let r = h.get(&list_path()).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text.contains("502 Bad Gateway"));
}

#[tokio::test]
async fn mutated_bodies() {
    let h = default_harness().await;
    let set = |body: FaultBody| {
        h.emu
            .emulator()
            .set_faults(vec![Fault::on(LIST).body(body)])
    };
    set(FaultBody::UnknownFields);
    let v = h.get_ok(&list_path()).await;
    assert!(v.get("x-emulator-unknown").is_some());
    assert!(v["data"][0]["metadata"].get("x-emulator-unknown").is_some());
    assert!(v["meta"].get("x-emulator-unknown").is_some());

    set(FaultBody::Nulls);
    let v = h.get_ok(&list_path()).await;
    assert!(v["data"][0]["stats"].is_null());
    assert!(v["data"][0]["metadata"]["createdAt"].is_null());
    assert!(v["data"][0]["metadata"]["id"].is_string());
    assert!(v["meta"]["total"].is_null());

    set(FaultBody::UnknownStatus);
    let v = h.get_ok(&list_path()).await;
    assert!(
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == json!("hibernating"))
    );

    set(FaultBody::OddTimestamps);
    let v = h.get_ok(&list_path()).await;
    let created = v["data"][0]["metadata"]["createdAt"].as_str().unwrap();
    assert!(created.ends_with(".000000+00:00"), "{created}");
    assert!(chrono::DateTime::parse_from_rfc3339(created).is_ok());
}

#[tokio::test]
async fn env_override_string_is_a_fault_and_objects_the_default() {
    let h = default_harness().await;
    let path = format!("/jobs/{JOB}/executions/exec-abc123");
    let v = h.get_ok(&path).await;
    assert_eq!(
        v["spec"]["envOverride"],
        json!({"MY_VAR": "***", "BATCH_SIZE": "***"})
    );
    h.emu.emulator().set_faults(vec![
        Fault::on(route::GET_EXECUTION).body(FaultBody::EnvOverrideString),
    ]);
    let v = h.get_ok(&path).await;
    let text = v["spec"]["envOverride"].as_str().expect("a string");
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap(),
        json!({"MY_VAR": "***", "BATCH_SIZE": "***"})
    );
}

#[tokio::test]
async fn a_fault_on_a_route_that_does_not_exist_is_rejected() {
    let h = default_harness().await;
    // A typo (singular "execution") would never fire: 400 naming the valid keys.
    let typo = json!([{"route": "GET /v0/jobs/{jobId}/execution", "status": 500}]);
    let r = h.post_faults(&typo).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    let message = r.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("unknown route"), "{message}");
    assert!(message.contains(route::LIST_EXECUTIONS), "{message}");
    // A concrete path instead of the template, and a method the route does not serve.
    for bad in [
        "GET /v0/jobs/data-processing-job",
        "PUT /v0/jobs",
        "/v0/jobs",
    ] {
        let err = h
            .emu
            .emulator()
            .try_set_faults(vec![Fault::on(bad).status(500)])
            .expect_err(bad);
        assert_eq!(err, blaxel_emulator::FaultError::UnknownRoute(bad.into()));
    }
    // Nothing was installed: the API answers normally.
    assert_eq!(h.get(&list_path()).await.status, StatusCode::OK);
    // Every exported key is accepted.
    for key in route::ALL {
        h.emu
            .emulator()
            .try_set_faults(vec![Fault::on(key).status(500).times(1)])
            .expect(key);
    }
}

/// Every exported route key names a route that is served: a fault on it fires on a request of
/// that method and path, and the request counts under that key.
#[tokio::test]
async fn every_route_key_fires_on_its_route() {
    let h = default_harness().await;
    let emu = h.emu.emulator();
    for key in route::ALL {
        let (method, template) = key.split_once(' ').unwrap();
        let path = template
            .trim_start_matches("/v0")
            .replace("{jobId}", JOB)
            .replace("{executionId}", "exec-abc123");
        emu.reset_stats();
        emu.set_faults(vec![Fault::on(key).status(418).times(1)]);
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let r = h.send(h.req(method.clone(), &path)).await;
        assert_eq!(r.status, StatusCode::IM_A_TEAPOT, "{key}: {}", r.text);
        assert_eq!(emu.requests(key), 1, "{key}");
        // Spent: the next request of that route is served for real.
        let r = h.send(h.req(method, &path)).await;
        assert_ne!(r.status, StatusCode::IM_A_TEAPOT, "{key}");
    }
}
