//! The tasks listing of an execution.

use crate::harness::*;

#[tokio::test]
async fn tasks_listing() {
    let h = default_harness().await;
    let base = format!("/jobs/{JOB}/executions/exec-abc123/tasks");
    let items = h.walk(&format!("{base}?sort=name:asc"), &[3, 4]).await;
    let names: Vec<&str> = items
        .iter()
        .map(|t| t["metadata"]["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(names.len(), 10);
    let first = h.get_ok(&format!("{base}?limit=2")).await;
    assert_eq!(first["meta"]["total"], json!(10));
    let c = first["meta"]["nextCursor"].as_str().unwrap();
    let other = h.get_ok(&format!("/jobs/{JOB}/executions?limit=1")).await;
    let other_id = id(&other["data"][0]);
    let r = h
        .get(&format!(
            "/jobs/{JOB}/executions/{other_id}/tasks?cursor={c}"
        ))
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_cursor");
    let q = h.get_ok(&format!("{base}?q=TASK-1")).await;
    assert_eq!(q["data"].as_array().unwrap().len(), 1);
    let legacy = h
        .send(
            h.client
                .get(format!("{}{base}", h.emu.base_url()))
                .bearer_auth(TOKEN),
        )
        .await
        .json();
    assert_eq!(legacy.as_array().unwrap().len(), 10);
}

/// Above `inline_tasks_max`, an execution carries `spec.tasksRef` and no inline task lists, and
/// `spec.taskCount` stays; the tasks listing serves the whole list. At or below, the lists are
/// inline and there is no `tasksRef`.
#[tokio::test]
async fn many_tasks_are_served_by_reference() {
    let h = harness(EmulatorConfig {
        inline_tasks_max: 8,
        ..EmulatorConfig::default()
    })
    .await;
    let create = |n: usize, id: &str| {
        let tasks: Vec<Value> = (0..n).map(|i| json!({"n": i})).collect();
        h.req(Method::POST, &format!("/jobs/{JOB}/executions"))
            .json(&json!({"executionId": id, "tasks": tasks}))
    };
    assert_eq!(h.send(create(9, "exec-big")).await.status, StatusCode::OK);
    assert_eq!(h.send(create(8, "exec-small")).await.status, StatusCode::OK);
    for version in [V_NEW, V_LATEST] {
        let r = h
            .get_with_version(&format!("/jobs/{JOB}/executions/exec-big"), version)
            .await;
        let big = r.json();
        assert_eq!(big["spec"]["taskCount"], json!(9));
        let reference = big["spec"]["tasksRef"].as_str().expect("tasksRef");
        assert!(reference.contains("exec-big"), "{reference}");
        assert!(big.get("tasks").is_none(), "{big}");
        assert!(big["spec"].get("tasks").is_none(), "{big}");
        // The stats still count every task.
        assert_eq!(big["stats"]["total"], json!(9));
    }
    let tasks = h
        .walk(&format!("/jobs/{JOB}/executions/exec-big/tasks"), &[4])
        .await;
    assert_eq!(tasks.len(), 9);
    let small = h
        .get_ok(&format!("/jobs/{JOB}/executions/exec-small"))
        .await;
    assert_eq!(small["spec"]["taskCount"], json!(8));
    assert!(small["spec"].get("tasksRef").is_none());
    assert_eq!(small["tasks"].as_array().unwrap().len(), 8);
    assert_eq!(small["spec"]["tasks"].as_array().unwrap().len(), 8);
    // The reference example has 10 tasks: by reference here, in listings too.
    let page = h.get_ok(&format!("/jobs/{JOB}/executions?limit=100")).await;
    let data = page["data"].as_array().unwrap();
    assert!(data.iter().all(|e| e["spec"]["taskCount"].is_i64()));
    let reference = data.iter().find(|e| id(e) == "exec-abc123").unwrap();
    assert!(reference["spec"]["tasksRef"].is_string());
    assert!(reference.get("tasks").is_none());
}
