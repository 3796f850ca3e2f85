//! Listing executions: every sort and limit, the last page, `limit` and `q` rules, pages
//! while executions are created, a large job.

use crate::harness::*;

#[tokio::test]
async fn every_sort_and_limit_yields_each_execution_once_in_order() {
    let h = default_harness().await;
    let all = h.get_ok(&format!("/jobs/{JOB}/executions?limit=100")).await;
    assert_eq!(all["meta"]["total"], json!(50));
    let expected: HashSet<String> = all["data"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(expected.len(), 50);
    for sort in ["createdAt:desc", "createdAt:asc", "name:asc", "name:desc"] {
        for limits in [&[1usize][..], &[7], &[20], &[100], &[3, 11, 1, 50]] {
            let items = h
                .walk(&format!("/jobs/{JOB}/executions?sort={sort}"), limits)
                .await;
            let ids: Vec<String> = items.iter().map(id).collect();
            let unique: HashSet<String> = ids.iter().cloned().collect();
            assert_eq!(ids.len(), 50, "{sort} {limits:?}");
            assert_eq!(unique, expected, "{sort} {limits:?}");
            assert!(is_sorted(&items, sort), "{sort} {limits:?}: {ids:?}");
        }
    }
}

#[tokio::test]
async fn default_page_and_last_page() {
    let h = default_harness().await;
    let first = h.get_ok(&format!("/jobs/{JOB}/executions")).await;
    assert_eq!(first["data"].as_array().unwrap().len(), 20);
    assert_eq!(first["meta"]["hasMore"], json!(true));
    assert!(is_sorted(
        first["data"].as_array().unwrap(),
        "createdAt:desc"
    ));
    let exact = h.get_ok(&format!("/jobs/{JOB}/executions?limit=50")).await;
    assert_eq!(exact["meta"]["hasMore"], json!(false));
    assert_eq!(exact["meta"]["nextCursor"], json!(""));
    assert_eq!(exact["meta"]["total"], json!(50));
}

#[tokio::test]
async fn bad_limits_and_q() {
    let h = default_harness().await;
    let base = format!("/jobs/{JOB}/executions");
    for limit in ["0", "101", "abc", "-1", "1.5", ""] {
        let r = h.get(&format!("{base}?limit={limit}")).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    }
    h.get_ok(&format!("{base}?limit=1")).await;
    h.get_ok(&format!("{base}?limit=100")).await;
    let long = "a".repeat(201);
    assert_error(
        &h.get(&format!("{base}?q={long}")).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    h.get_ok(&format!("{base}?q={}", "a".repeat(200))).await;
    assert_error(
        &h.get(&format!("{base}?sort=size:asc")).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
}

#[tokio::test]
async fn q_is_trimmed_lowercased_and_matches_id_or_job() {
    let h = default_harness().await;
    let base = format!("/jobs/{JOB}/executions?limit=100");
    let hit = h.get_ok(&format!("{base}&q=%20EXEC-ABC%20")).await;
    let ids: Vec<String> = hit["data"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids, vec!["exec-abc123".to_owned()]);
    assert_eq!(hit["meta"]["total"], json!(50), "total ignores q");
    // Under 2 characters: no filter.
    let one = h.get_ok(&format!("{base}&q=%20z%20")).await;
    assert_eq!(one["data"].as_array().unwrap().len(), 50);
    // Matching the job name matches every execution of the job.
    let job = h.get_ok(&format!("{base}&q=Processing")).await;
    assert_eq!(job["data"].as_array().unwrap().len(), 50);
    let none = h.get_ok(&format!("{base}&q=zzzz")).await;
    assert_eq!(none["data"], json!([]));
    assert_eq!(none["meta"]["hasMore"], json!(false));
}

#[tokio::test]
async fn pages_stay_correct_while_executions_are_created() {
    let h = default_harness().await;
    let base = format!("/jobs/{JOB}/executions");
    let first = h
        .get_ok(&format!("{base}?limit=10&sort=createdAt:asc"))
        .await;
    let c = first["meta"]["nextCursor"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        let r = h
            .send(h.req(Method::POST, &base).json(&json!({"tasks": [{}]})))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let mut ids: Vec<String> = first["data"].as_array().unwrap().iter().map(id).collect();
    let rest = h
        .walk(&format!("{base}?sort=createdAt:asc&cursor={c}"), &[100])
        .await;
    ids.extend(rest.iter().map(id));
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), 53);
    assert_eq!(unique.len(), 53);
}

#[tokio::test]
async fn a_100k_execution_job_pages_correctly() {
    let h = harness(EmulatorConfig {
        jobs: 1,
        executions_per_job: 100_000,
        ..EmulatorConfig::default()
    })
    .await;
    let base = format!("/jobs/{JOB}/executions");
    for sort in ["createdAt:desc", "name:asc"] {
        let mut cursor = String::new();
        let mut seen = Vec::new();
        for _ in 0..5 {
            let page = h
                .get_ok(&format!("{base}?sort={sort}&limit=100&cursor={cursor}"))
                .await;
            assert_eq!(page["meta"]["total"], json!(100_000));
            seen.extend(page["data"].as_array().unwrap().iter().cloned());
            cursor = page["meta"]["nextCursor"].as_str().unwrap().to_owned();
        }
        assert_eq!(seen.len(), 500);
        assert!(is_sorted(&seen, sort), "{sort}");
    }
    // A rare q scans forward from the position.
    let hit = h.get_ok(&format!("{base}?q=exec-abc1&limit=100")).await;
    let ids: Vec<String> = hit["data"].as_array().unwrap().iter().map(id).collect();
    assert!(ids.contains(&"exec-abc123".to_owned()), "{ids:?}");
    assert!(ids.iter().all(|i| i.contains("exec-abc1")), "{ids:?}");
    assert_eq!(hit["meta"]["hasMore"], json!(false));
    let legacy = h
        .send(
            h.client
                .get(format!("{}{base}?offset=99990&limit=100", h.emu.base_url()))
                .bearer_auth(TOKEN),
        )
        .await;
    assert_eq!(legacy.json().as_array().unwrap().len(), 10);
}

/// Past `total_count_limit`, `meta.total` is the bound and `totalIsPartial` is true; the walk
/// still yields every execution. Without a bound the flag is absent.
#[tokio::test]
async fn total_is_partial_past_the_count_limit() {
    let h = harness(EmulatorConfig {
        executions_per_job: 50,
        total_count_limit: Some(30),
        ..EmulatorConfig::default()
    })
    .await;
    for version in [V_NEW, V_LATEST] {
        let r = h
            .get_with_version(&format!("/jobs/{JOB}/executions?limit=10"), version)
            .await;
        let meta = &r.json()["meta"];
        assert_eq!(meta["total"], json!(30));
        assert_eq!(meta["totalIsPartial"], json!(true));
    }
    let all = h.walk(&format!("/jobs/{JOB}/executions"), &[20]).await;
    assert_eq!(all.len(), 50);
    assert_eq!(all.iter().map(id).collect::<HashSet<_>>().len(), 50);
    // At or under the bound the count is exact.
    let under = harness(EmulatorConfig {
        executions_per_job: 30,
        total_count_limit: Some(30),
        ..EmulatorConfig::default()
    })
    .await;
    let meta = &under.get_ok(&format!("/jobs/{JOB}/executions")).await["meta"];
    assert_eq!(meta["total"], json!(30));
    assert!(meta.get("totalIsPartial").is_none(), "{meta}");
}
