//! The shared harness: an emulator on `127.0.0.1:0`, a client with the demo credential, and
//! the helpers every area uses. Modules `use crate::harness::*` and get the common imports too.

pub use std::{collections::HashSet, time::Duration};

pub use blaxel_emulator::{
    DEMO_TOKEN as TOKEN, EmulatorConfig, EmulatorHandle, Fault, FaultBody, route, spawn,
};
pub use reqwest::{Client, Method, StatusCode, header::HeaderMap};
pub use serde_json::{Value, json};

/// The first version with the envelope and cursors.
pub const V_NEW: &str = "2026-04-28";
/// The newest version the emulator knows (the Python SDK's default).
pub const V_LATEST: &str = "2026-09-22";
/// The reference example's job.
pub const JOB: &str = "data-processing-job";

pub struct Harness {
    pub emu: EmulatorHandle,
    pub client: Client,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

pub async fn harness(config: EmulatorConfig) -> Harness {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let emu = spawn(config).await.expect("spawn emulator");
    let client = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    Harness { emu, client }
}

pub async fn default_harness() -> Harness {
    harness(EmulatorConfig::default()).await
}

impl Harness {
    /// A request to `path` (relative to `/v0`), with the default token and the paginated version.
    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.emu.base_url()))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .header("Blaxel-Version", V_NEW)
    }

    pub async fn send(&self, rb: reqwest::RequestBuilder) -> Resp {
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

    /// GET `path` with the default token and `Blaxel-Version: version`.
    pub async fn get_with_version(&self, path: &str, version: &str) -> Resp {
        let url = format!("{}{path}", self.emu.base_url());
        let rb = self.client.get(url).bearer_auth(TOKEN);
        self.send(rb.header("Blaxel-Version", version)).await
    }

    /// A request to the control API: `path` under `/_emulator/` (e.g. `faults`).
    pub fn control(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let url = format!("http://{}/_emulator/{path}", self.emu.addr());
        self.client.request(method, url)
    }

    /// `POST /_emulator/faults` with `faults` as the JSON body.
    pub async fn post_faults(&self, faults: &impl serde::Serialize) -> Resp {
        self.send(self.control(Method::POST, "faults").json(faults))
            .await
    }

    /// `GET /v0/jobs{query}` with `token` (none: no credential) and an optional
    /// `X-Blaxel-Workspace`, without `Blaxel-Version`.
    pub async fn get_jobs_as(&self, query: &str, token: Option<&str>, ws: Option<&str>) -> Resp {
        let mut rb = self
            .client
            .get(format!("{}/jobs{query}", self.emu.base_url()));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(w) = ws {
            rb = rb.header("X-Blaxel-Workspace", w);
        }
        self.send(rb).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.req(Method::GET, path)).await
    }

    pub async fn get_ok(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        r.json()
    }

    /// Walks every page of `path` (which must have no cursor), changing the limit per page.
    pub async fn walk(&self, path: &str, limits: &[usize]) -> Vec<Value> {
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

pub fn id(v: &Value) -> String {
    v["metadata"]["id"].as_str().expect("id").to_owned()
}

pub fn assert_error(r: &Resp, status: StatusCode, error: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    let body = r.json();
    assert_eq!(body["error"], json!(error), "{}", r.text);
    assert_eq!(body["code"], json!(status.as_u16()), "{}", r.text);
    assert!(body["message"].is_string());
}

pub fn is_sorted(items: &[Value], sort: &str) -> bool {
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

/// A small page of the reference job's executions.
pub fn list_path() -> String {
    format!("/jobs/{JOB}/executions?limit=5")
}
