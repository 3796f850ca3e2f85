//! Executions: the reference example, every status, create, progress, cancel, capacity.

use crate::harness::*;

fn status(v: &Value) -> &str {
    v["status"].as_str().unwrap()
}

fn check_stats(v: &Value) {
    let tasks = v["tasks"].as_array().unwrap();
    let count = |s: &str| tasks.iter().filter(|t| t["status"] == json!(s)).count();
    let stats = &v["stats"];
    assert_eq!(stats["total"], json!(tasks.len()));
    assert_eq!(stats["running"], json!(count("running")));
    assert_eq!(stats["success"], json!(count("succeeded")));
    assert_eq!(stats["failure"], json!(count("failed")));
    assert_eq!(stats["cancelled"], json!(count("cancelled")));
}

#[tokio::test]
async fn reference_example_and_every_status() {
    let h = default_harness().await;
    let e = h
        .get_ok(&format!("/jobs/{JOB}/executions/exec-abc123"))
        .await;
    assert_eq!(e["metadata"]["workspace"], json!("my-workspace"));
    assert_eq!(e["metadata"]["job"], json!(JOB));
    // An object, as the spec and the SDKs say (the reference page's string form is a fault).
    assert_eq!(
        e["spec"]["envOverride"],
        json!({"MY_VAR": "***", "BATCH_SIZE": "***"})
    );
    assert_eq!(e["spec"]["taskCount"], json!(10));
    assert!(e["spec"].get("tasksRef").is_none());
    assert_eq!(e["spec"]["memoryOverride"], json!(2048));
    assert_eq!(e["spec"]["parallelism"], json!(5));
    assert_eq!(e["spec"]["timeout"], json!(3600));
    assert_eq!(e["spec"]["tasks"][0]["metadata"]["name"], json!("task-0"));
    assert_eq!(
        e["spec"]["tasks"][0]["spec"],
        json!({"maxRetries": 3, "timeout": "30m"})
    );
    assert_eq!(
        e["stats"],
        json!({"cancelled": 0, "failure": 1, "retried": 2, "running": 1, "success": 8, "total": 10})
    );
    assert_eq!(status(&e), "running");
    let all = h.get_ok(&format!("/jobs/{JOB}/executions?limit=100")).await;
    let statuses: HashSet<&str> = all["data"].as_array().unwrap().iter().map(status).collect();
    for s in [
        "queued",
        "pending",
        "running",
        "cancelling",
        "cancelled",
        "failed",
        "succeeded",
        "timeout",
    ] {
        assert!(statuses.contains(s), "missing {s}: {statuses:?}");
    }
    let data = all["data"].as_array().unwrap();
    data.iter().for_each(check_stats);
    assert!(data.iter().any(|e| e["spec"]["envOverride"].is_object()));
    assert!(data.iter().any(|e| e["spec"]["memoryOverride"].is_number()));
    assert!(
        data.iter()
            .all(|e| e["metadata"]["createdAt"].as_str().unwrap().ends_with('Z'))
    );
    assert!(data.iter().all(|e| e["metadata"]["cluster"].is_string()));
    assert!(
        data.iter()
            .any(|e| !e["tasks"][0]["conditions"].as_array().unwrap().is_empty())
    );
}

#[tokio::test]
async fn create_progress_and_cancel_on_the_virtual_clock() {
    let h = default_harness().await;
    let base = format!("/jobs/{JOB}/executions");
    let r = h
        .send(h.req(Method::POST, &base).json(&json!({
            "tasks": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
            "env": {"LOG_LEVEL": "debug"},
            "memory": 1024,
        })))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let out = r.json();
    let eid = out["executionId"].as_str().unwrap().to_owned();
    assert_eq!(out["jobId"], json!(JOB));
    assert_eq!(out["workspaceId"], json!("my-workspace"));
    assert_eq!(out["tasks"].as_array().unwrap().len(), 3);
    assert!(out["id"].is_string());
    let path = format!("{base}/{eid}");
    let e = h.get_ok(&path).await;
    assert_eq!(status(&e), "queued");
    assert_eq!(e["spec"]["envOverride"], json!({"LOG_LEVEL": "***"}));
    assert_eq!(e["spec"]["memoryOverride"], json!(1024));
    check_stats(&e);
    let clock = h
        .send(
            h.client
                .post(format!("http://{}/_emulator/clock", h.emu.addr()))
                .json(&json!({"advanceSeconds": 2})),
        )
        .await
        .json();
    assert_eq!(clock["now"], json!("2026-06-01T00:00:02Z"));
    assert_eq!(status(&h.get_ok(&path).await), "pending");
    h.emu.emulator().advance_clock(3);
    let e = h.get_ok(&path).await;
    assert_eq!(status(&e), "running");
    check_stats(&e);
    assert!(e["metadata"]["startedAt"].is_string());
    h.emu.emulator().advance_clock(3600);
    let e = h.get_ok(&path).await;
    assert_eq!(status(&e), "succeeded");
    check_stats(&e);
    assert_eq!(e["stats"]["success"], json!(3));
    assert!(e["metadata"]["completedAt"].is_string());
    // Cancelling a terminal execution changes nothing.
    let r = h.send(h.req(Method::DELETE, &path)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(status(&r.json()), "succeeded");

    // Cancel: cancelling, then cancelled a few virtual seconds later.
    let r = h
        .send(
            h.req(Method::POST, &base)
                .json(&json!({"executionId": "exec-mine", "tasks": [{}]})),
        )
        .await;
    assert_eq!(r.json()["executionId"], json!("exec-mine"));
    let path = format!("{base}/exec-mine");
    let r = h.send(h.req(Method::DELETE, &path)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(status(&r.json()), "cancelling");
    h.emu.emulator().advance_clock(10);
    let e = h.get_ok(&path).await;
    assert_eq!(status(&e), "cancelled");
    assert_eq!(e["stats"]["cancelled"], json!(1));
    check_stats(&e);

    // Duplicate id and memory above the job's.
    let r = h
        .send(
            h.req(Method::POST, &base)
                .json(&json!({"executionId": "exec-mine"})),
        )
        .await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    let r = h
        .send(h.req(Method::POST, &base).json(&json!({"memory": 8192})))
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    let r = h.send(h.req(Method::POST, &base).body("{not json")).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    let r = h
        .send(
            h.req(Method::POST, "/jobs/nope/executions")
                .json(&json!({})),
        )
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn allow_queue_false_gives_429_at_capacity_and_400_when_it_never_fits() {
    let h = harness(EmulatorConfig {
        capacity: 20,
        ..EmulatorConfig::default()
    })
    .await;
    let base = format!("/jobs/{JOB}/executions");
    let total = |v: &Value| v["meta"]["total"].as_i64().unwrap();
    let mut rejected = None;
    for _ in 0..30 {
        let r = h
            .send(
                h.req(Method::POST, &base)
                    .json(&json!({"allowQueue": false, "tasks": [{}]})),
            )
            .await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            rejected = Some(r);
            break;
        }
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        // Accepted without queueing.
        let id = r.json()["executionId"].as_str().unwrap().to_owned();
        assert_eq!(status(&h.get_ok(&format!("{base}/{id}")).await), "pending");
    }
    let r = rejected.expect("capacity reached within 30 creations");
    assert_eq!(r.json()["code"], json!(429));
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("Maximum parallel executions limit reached")
    );
    let before = total(&h.get_ok(&base).await);
    let r = h
        .send(
            h.req(Method::POST, &base)
                .json(&json!({"allowQueue": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        total(&h.get_ok(&base).await),
        before,
        "nothing created on rejection"
    );
    // Queueing is still allowed.
    let r = h.send(h.req(Method::POST, &base).json(&json!({}))).await;
    assert_eq!(r.status, StatusCode::OK);
    let tasks: Vec<Value> = (0..21).map(|_| json!({})).collect();
    let r = h
        .send(
            h.req(Method::POST, &base)
                .json(&json!({"allowQueue": false, "tasks": tasks})),
        )
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    // Capacity frees up as executions finish.
    h.emu.emulator().advance_clock(7 * 86_400);
    let r = h
        .send(
            h.req(Method::POST, &base)
                .json(&json!({"allowQueue": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
