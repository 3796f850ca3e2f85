//! Jobs: list, get, revisions, filters.

use crate::harness::*;

#[tokio::test]
async fn list_get_revisions_and_filters() {
    let h = harness(EmulatorConfig {
        jobs: 7,
        ..EmulatorConfig::default()
    })
    .await;
    for sort in ["createdAt:desc", "createdAt:asc", "name:asc", "name:desc"] {
        let items = h.walk(&format!("/jobs?sort={sort}"), &[2, 3]).await;
        let names: Vec<&str> = items
            .iter()
            .map(|j| j["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 7, "{sort}");
        let unique: HashSet<&&str> = names.iter().collect();
        assert_eq!(unique.len(), 7);
        if sort == "name:asc" {
            let mut sorted = names.clone();
            sorted.sort();
            assert_eq!(names, sorted);
        }
    }
    let page = h.get_ok("/jobs?limit=500").await;
    assert_eq!(page["meta"]["total"], json!(7));
    assert_eq!(
        page["data"].as_array().unwrap().len(),
        7,
        "limit clamps to 200"
    );
    assert_error(
        &h.get("/jobs?limit=0").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    let deployed = h.get_ok("/jobs?status=deployed,%20Failed").await;
    for j in deployed["data"].as_array().unwrap() {
        assert!(["DEPLOYED", "FAILED"].contains(&j["status"].as_str().unwrap()));
    }
    assert_eq!(deployed["meta"]["total"], json!(7), "total ignores filters");
    assert_error(
        &h.get("/jobs?status=RUNNING").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    // anchor=end: the tail page of a createdAt listing.
    let tail = h.get_ok("/jobs?limit=3&anchor=end").await;
    let all = h.get_ok("/jobs?limit=200").await;
    assert_eq!(
        tail["data"].as_array().unwrap()[..],
        all["data"].as_array().unwrap()[4..]
    );
    assert_eq!(tail["meta"]["hasMore"], json!(false));
    assert_error(
        &h.get("/jobs?anchor=end&sort=name:asc").await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    let q = h.get_ok("/jobs?q=PROCESSING").await;
    assert_eq!(q["data"].as_array().unwrap().len(), 1);
    let job = h.get_ok(&format!("/jobs/{JOB}")).await;
    assert_eq!(job["metadata"]["name"], json!(JOB));
    assert_eq!(job["spec"]["runtime"]["memory"], json!(4096));
    let revs = h.get_ok(&format!("/jobs/{JOB}/revisions")).await;
    assert!(revs.as_array().unwrap().len() >= 2);
}
