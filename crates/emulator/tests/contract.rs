//! Contract suite: drives a running emulator over HTTP (`spawn()` on `127.0.0.1:0`) and checks
//! every documented behaviour of the jobs API, plus the control API and faults.

use std::{collections::HashSet, time::Duration};

use blaxel_emulator::{EmulatorConfig, EmulatorHandle, Fault, FaultBody, spawn};
use reqwest::{Client, Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};

const V_NEW: &str = "2026-04-28";
const TOKEN: &str = "dev-token";
const JOB: &str = "data-processing-job";

struct Harness {
    emu: EmulatorHandle,
    client: Client,
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

async fn harness(config: EmulatorConfig) -> Harness {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let emu = spawn(config).await.expect("spawn emulator");
    let client = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    Harness { emu, client }
}

async fn default_harness() -> Harness {
    harness(EmulatorConfig::default()).await
}

impl Harness {
    /// A request to `path` (relative to `/v0`), with the default token and the paginated version.
    fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.emu.base_url()))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .header("Blaxel-Version", V_NEW)
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> Resp {
        let r = rb.send().await.expect("request");
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.expect("body");
        Resp {
            status,
            headers,
            text,
        }
    }

    async fn get(&self, path: &str) -> Resp {
        self.send(self.req(Method::GET, path)).await
    }

    async fn get_ok(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        r.json()
    }

    /// Walks every page of `path` (which must have no cursor), changing the limit per page.
    async fn walk(&self, path: &str, limits: &[usize]) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for page in 0.. {
            assert!(page < 10_000, "runaway pagination");
            let limit = limits[page % limits.len()];
            let sep = if path.contains('?') { '&' } else { '?' };
            let mut url = format!("{path}{sep}limit={limit}");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let body = self.get_ok(&url).await;
            let data = body["data"].as_array().expect("data").clone();
            assert!(data.len() <= limit);
            items.extend(data);
            let meta = &body["meta"];
            if meta["hasMore"] == json!(true) {
                let next = meta["nextCursor"].as_str().expect("nextCursor").to_owned();
                assert!(!next.is_empty());
                cursor = Some(next);
            } else {
                assert_eq!(
                    meta["nextCursor"],
                    json!(""),
                    "last page has an empty cursor"
                );
                break;
            }
        }
        items
    }
}

fn id(v: &Value) -> String {
    v["metadata"]["id"].as_str().expect("id").to_owned()
}

fn assert_error(r: &Resp, status: StatusCode, error: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    let body = r.json();
    assert_eq!(body["error"], json!(error), "{}", r.text);
    assert_eq!(body["code"], json!(status.as_u16()), "{}", r.text);
    assert!(body["message"].is_string());
}

fn is_sorted(items: &[Value], sort: &str) -> bool {
    let keys: Vec<(String, String)> = items
        .iter()
        .map(|v| {
            let created = v["metadata"]["createdAt"].as_str().unwrap().to_owned();
            if sort.starts_with("createdAt") {
                (created, id(v))
            } else {
                (String::new(), id(v))
            }
        })
        .collect();
    keys.windows(2).all(|w| {
        if sort.ends_with("desc") {
            w[0] > w[1]
        } else {
            w[0] < w[1]
        }
    })
}

mod pagination {
    use super::*;

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
    async fn cursor_is_bound_to_the_query_not_the_limit() {
        let h = harness(EmulatorConfig {
            tokens: vec![
                (TOKEN.into(), "my-workspace".into()),
                (TOKEN.into(), "other-ws".into()),
            ],
            ..EmulatorConfig::default()
        })
        .await;
        let base = format!("/jobs/{JOB}/executions");
        let page = h.get_ok(&format!("{base}?limit=5&q=exec")).await;
        let c = page["meta"]["nextCursor"].as_str().unwrap().to_owned();
        // Same query, other limit, equivalent q: accepted.
        h.get_ok(&format!("{base}?limit=9&q=%20%20EXEC%20&cursor={c}"))
            .await;
        for other in [
            format!("{base}?sort=name:asc&q=exec&cursor={c}"),
            format!("{base}?q=exe&cursor={c}"),
            format!("{base}?cursor={c}"),
            format!("/jobs/job-1/executions?q=exec&cursor={c}"),
        ] {
            assert_error(
                &h.get(&other).await,
                StatusCode::BAD_REQUEST,
                "invalid_cursor",
            );
        }
        let r = h
            .send(
                h.req(Method::GET, &format!("{base}?q=exec&cursor={c}"))
                    .header("X-Blaxel-Workspace", "other-ws"),
            )
            .await;
        assert_error(&r, StatusCode::BAD_REQUEST, "invalid_cursor");
        for garbage in ["garbage", "AAAA", "%F0%9F%92%A9", &c[..c.len() - 2]] {
            let r = h.get(&format!("{base}?q=exec&cursor={garbage}")).await;
            assert_error(&r, StatusCode::BAD_REQUEST, "invalid_cursor");
        }
    }

    #[tokio::test]
    async fn cursor_expires_after_24h_of_virtual_time() {
        let h = default_harness().await;
        let base = format!("/jobs/{JOB}/executions");
        let c = h.get_ok(&format!("{base}?limit=5")).await["meta"]["nextCursor"]
            .as_str()
            .unwrap()
            .to_owned();
        h.emu.emulator().advance_clock(23 * 3600);
        h.get_ok(&format!("{base}?cursor={c}")).await;
        h.emu.emulator().advance_clock(3601);
        assert_error(
            &h.get(&format!("{base}?cursor={c}")).await,
            StatusCode::BAD_REQUEST,
            "cursor_expired",
        );
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
}

mod auth_and_versions {
    use super::*;

    #[tokio::test]
    async fn credentials_and_workspaces() {
        let h = harness(EmulatorConfig {
            tokens: vec![
                (TOKEN.into(), "my-workspace".into()),
                ("other-token".into(), "other-ws".into()),
            ],
            ..EmulatorConfig::default()
        })
        .await;
        let url = format!("{}/jobs", h.emu.base_url());
        let r = h.send(h.client.get(&url)).await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
        let r = h.send(h.client.get(&url).bearer_auth("nope")).await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
        let r = h
            .send(
                h.client
                    .get(&url)
                    .header("X-Blaxel-Authorization", format!("Bearer {TOKEN}")),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json()[0]["metadata"]["workspace"], json!("my-workspace"));
        let r = h
            .send(
                h.client
                    .get(&url)
                    .bearer_auth(TOKEN)
                    .header("X-Blaxel-Workspace", "other-ws"),
            )
            .await;
        assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
        let r = h
            .send(
                h.client
                    .get(format!("{url}?workspace=other-ws"))
                    .bearer_auth(TOKEN),
            )
            .await;
        assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
        let r = h
            .send(
                h.client
                    .get(format!("{url}?workspace=other-ws"))
                    .bearer_auth("other-token"),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json()[0]["metadata"]["workspace"], json!("other-ws"));
        let r = h
            .send(
                h.client
                    .get(&url)
                    .bearer_auth("other-token")
                    .header("X-Blaxel-Workspace", "other-ws"),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }

    #[tokio::test]
    async fn unknown_job_or_execution_is_404() {
        let h = default_harness().await;
        for path in [
            "/jobs/nope".to_owned(),
            "/jobs/nope/executions".to_owned(),
            "/jobs/nope/revisions".to_owned(),
            format!("/jobs/{JOB}/executions/exec-nope"),
            format!("/jobs/{JOB}/executions/exec-nope/tasks"),
        ] {
            assert_error(&h.get(&path).await, StatusCode::NOT_FOUND, "not_found");
        }
        let r = h
            .send(h.req(Method::DELETE, &format!("/jobs/{JOB}/executions/exec-nope")))
            .await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    }

    #[tokio::test]
    async fn legacy_version_is_a_bare_array_with_offset() {
        let h = default_harness().await;
        let url = format!("{}/jobs/{JOB}/executions", h.emu.base_url());
        let all = h
            .send(h.client.get(format!("{url}?limit=100")).bearer_auth(TOKEN))
            .await
            .json();
        let all = all.as_array().unwrap().clone();
        assert_eq!(all.len(), 50);
        assert!(is_sorted(&all, "createdAt:desc"));
        let page = h
            .send(
                h.client
                    .get(format!(
                        "{url}?offset=10&limit=5&sort=name:asc&q=zzzz&cursor=junk"
                    ))
                    .bearer_auth(TOKEN)
                    .header("Blaxel-Version", "2026-04-20"),
            )
            .await
            .json();
        assert_eq!(page.as_array().unwrap()[..], all[10..15]);
        let default = h.send(h.client.get(&url).bearer_auth(TOKEN)).await.json();
        assert_eq!(default.as_array().unwrap().len(), 20);
        let jobs = h
            .send(
                h.client
                    .get(format!("{}/jobs", h.emu.base_url()))
                    .bearer_auth(TOKEN),
            )
            .await
            .json();
        assert_eq!(jobs.as_array().unwrap().len(), 3);
        let preview = h
            .send(
                h.client
                    .get(&url)
                    .bearer_auth(TOKEN)
                    .header("Blaxel-Version", "2026-04-28.preview"),
            )
            .await
            .json();
        assert!(preview["meta"].is_object());
    }

    #[tokio::test]
    async fn bad_version_is_400_invalid_api_version() {
        let h = default_harness().await;
        for v in ["2026-99-99", "banana", "2026-05-01", "2026-04-28.beta"] {
            let r = h
                .send(
                    h.client
                        .get(format!("{}/jobs", h.emu.base_url()))
                        .bearer_auth(TOKEN)
                        .header("Blaxel-Version", v),
                )
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST);
            let body = r.json();
            assert_eq!(body["error"], json!("invalid_api_version"));
            assert!(body.get("code").is_none(), "the version error has no code");
            let msg = body["message"].as_str().unwrap();
            assert!(
                msg.starts_with(&format!(
                    "Unknown API version \"{v}\". Valid versions: 2026-04-16"
                )),
                "{msg}"
            );
        }
    }
}

mod jobs {
    use super::*;

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
}

mod executions {
    use super::*;

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
        assert_eq!(
            e["spec"]["envOverride"],
            json!("{\"MY_VAR\": \"***\", \"BATCH_SIZE\": \"***\"}")
        );
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
}

mod faults {
    use super::*;

    fn fault(route: &str) -> Fault {
        Fault {
            route: route.into(),
            ..Fault::default()
        }
    }

    const LIST: &str = "GET /v0/jobs/{jobId}/executions";

    fn list_path() -> String {
        format!("/jobs/{JOB}/executions?limit=5")
    }

    #[tokio::test]
    async fn status_retry_after_and_times() {
        let h = default_harness().await;
        h.emu.emulator().set_faults(vec![Fault {
            status: Some(503),
            retry_after: Some(2),
            times: Some(2),
            ..fault(LIST)
        }]);
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
        h.emu.emulator().set_faults(vec![Fault {
            status: Some(500),
            ..fault("GET /v0/jobs/{jobId}")
        }]);
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
        h.emu.emulator().set_faults(vec![Fault {
            status: Some(500),
            probability: Some(0.5),
            ..fault("*")
        }]);
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
        h.emu.emulator().set_faults(vec![Fault {
            reset: true,
            times: Some(1),
            ..fault(LIST)
        }]);
        let err = h
            .req(Method::GET, &list_path())
            .send()
            .await
            .expect_err("connection reset");
        assert!(!err.is_status(), "{err:?}");
        assert_eq!(h.get(&list_path()).await.status, StatusCode::OK);
        h.emu.emulator().set_faults(vec![Fault {
            latency_ms: Some(300),
            ..fault("*")
        }]);
        let started = std::time::Instant::now();
        assert_eq!(h.get(&list_path()).await.status, StatusCode::OK);
        assert!(started.elapsed() >= Duration::from_millis(300));
    }

    #[tokio::test]
    async fn broken_bodies() {
        let h = default_harness().await;
        let set = |body: FaultBody| {
            h.emu.emulator().set_faults(vec![Fault {
                body: Some(body),
                ..fault("*")
            }])
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
            h.emu.emulator().set_faults(vec![Fault {
                body: Some(body),
                ..fault(LIST)
            }])
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
    async fn control_api_over_http() {
        let h = default_harness().await;
        let root = format!("http://{}", h.emu.addr());
        let r = h
            .send(
                h.client
                    .post(format!("{root}/_emulator/faults"))
                    .json(&json!([{"route": "*", "status": 429, "retryAfter": 7, "times": 1}])),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let r = h.get(&list_path()).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers["retry-after"], "7");
        h.send(
            h.client
                .post(format!("{root}/_emulator/faults"))
                .json(&json!([{"route": "*", "status": 500}])),
        )
        .await;
        let r = h
            .send(h.client.delete(format!("{root}/_emulator/faults")))
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert_eq!(h.get(&list_path()).await.status, StatusCode::OK);
        let r = h
            .send(
                h.client
                    .post(format!("{root}/_emulator/faults"))
                    .body("nope"),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        let r = h.send(h.client.get(format!("{root}/healthz"))).await;
        assert_eq!(r.status, StatusCode::OK);
    }
}

mod stats {
    use super::*;

    #[tokio::test]
    async fn counts_every_v0_request_by_route() {
        let h = default_harness().await;
        let emu = h.emu.emulator();
        h.get_ok("/jobs").await;
        emu.reset_stats();
        for _ in 0..3 {
            h.get_ok(&format!("/jobs/{JOB}/executions")).await;
        }
        // Rejected and faulted requests count too.
        h.send(
            h.client
                .get(format!("{}/jobs/{JOB}/executions", h.emu.base_url())),
        )
        .await;
        emu.set_faults(vec![Fault {
            route: "*".into(),
            status: Some(500),
            times: Some(1),
            ..Fault::default()
        }]);
        h.get(&format!("/jobs/{JOB}/executions/exec-abc123")).await;
        h.get("/nothing-here").await;
        assert_eq!(emu.requests("GET /v0/jobs/{jobId}/executions"), 4);
        assert_eq!(
            emu.requests("GET /v0/jobs/{jobId}/executions/{executionId}"),
            1
        );
        assert_eq!(emu.requests("GET /v0/jobs"), 0);
        let stats = emu.stats();
        assert_eq!(stats.total, 6);
        let http: Value = h
            .client
            .get(format!("http://{}/_emulator/stats", h.emu.addr()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(http["total"], json!(6));
        assert_eq!(
            http["requests"]["GET /v0/jobs/{jobId}/executions"],
            json!(4)
        );
        let r = h
            .send(
                h.client
                    .post(format!("http://{}/_emulator/reset-stats", h.emu.addr())),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert_eq!(emu.stats().total, 0);
    }
}

mod determinism {
    use super::*;

    async fn snapshot(seed: u64) -> String {
        let h = harness(EmulatorConfig {
            seed,
            ..EmulatorConfig::default()
        })
        .await;
        let a = h
            .get(&format!("/jobs/{JOB}/executions?limit=100"))
            .await
            .text;
        let b = h
            .get("/jobs/job-2/executions?limit=100&sort=name:desc")
            .await
            .text;
        h.emu.shutdown().await;
        a + &b
    }

    #[tokio::test]
    async fn same_seed_same_data() {
        assert_eq!(snapshot(7).await, snapshot(7).await);
        assert_ne!(snapshot(7).await, snapshot(8).await);
    }
}
