//! Fault injection for `/v0` routes: error statuses, `Retry-After`, latency, broken bodies,
//! mutated bodies and connection resets, by count or by probability.

use std::time::Duration;

use axum::{
    body::Body,
    extract::{ConnectInfo, Request},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{net::ConnControl, route};

/// One injected fault: the JSON items of `POST /_emulator/faults` (camelCase).
///
/// Example: `{"route": "GET /v0/jobs/{jobId}/executions", "status": 503, "retryAfter": 2,
/// "times": 1}` answers the next listing of executions with a 503 and `Retry-After: 2`; in Rust,
/// with the builder methods, `Fault::on(route::LIST_EXECUTIONS).status(503).retry_after(2).times(1)`.
///
/// Which response is sent:
/// - `reset`: none; the connection is closed (TCP RST) after `latencyMs`.
/// - `body`: see [`FaultBody`]; `status` overrides the status it would otherwise have.
/// - `status` (or `retryAfter`) alone: that status (429 when only `retryAfter` is given) with
///   the flat error body `{"code": status, "error": "...", "message": "..."}`.
/// - only `latencyMs`: the real response, delayed.
///
/// `Retry-After` is added to whichever response is sent. With `times`, the fault applies to the
/// next N matching requests and then expires; with `probability`, each matching request draws
/// from the emulator's seeded RNG (and `times`, if also given, counts only the hits); with
/// neither, it applies to every matching request until the faults are cleared. When several
/// faults match, the first in the list that fires wins.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// A route key of [`route::ALL`] such as `GET /v0/jobs/{jobId}/executions` (method, space,
    /// route template), or [`route::ANY`] (`*`) for every `/v0` route. Anything else is
    /// rejected ([`FaultError::UnknownRoute`]).
    pub route: String,
    /// HTTP status to answer with (100..=599).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Seconds, sent as the `Retry-After` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Delay before answering (or resetting), milliseconds of real time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// A broken or mutated body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<FaultBody>,
    /// Close the connection without any response.
    #[serde(default)]
    pub reset: bool,
    /// Apply to the next N matching requests, then expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Apply to each matching request with this probability (0.0..=1.0, seeded RNG).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
}

/// How a fault breaks the response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultBody {
    /// Invalid JSON (`application/json`), status 200 unless `status` is set.
    Malformed,
    /// The real body cut to its first half; `Content-Length` is that of the cut body.
    Truncated,
    /// Status 200 (unless `status` is set) with an empty body.
    Empty,
    /// An HTML `502 Bad Gateway` page (`text/html`), status 502 unless `status` is set.
    Html,
    /// The real response with an extra unknown field in every JSON object, except string maps
    /// (`labels`, `envOverride`, `env`), whose entries are data rather than fields.
    UnknownFields,
    /// The real response with every optional field set to `null`, except those that identify
    /// an item or continue a listing (`id`, `name`, `job`, `hasMore`, `nextCursor`) and the
    /// required `data`, `meta`, `metadata`, `spec`, `error`.
    Nulls,
    /// The real response with every `status` string replaced by `hibernating` (`HIBERNATING`
    /// for upper-case enums such as a job's status).
    UnknownStatus,
    /// The real response with every `...Z` timestamp rewritten as
    /// `2026-05-01T10:00:00.000000+00:00` (valid RFC 3339, not the canonical form).
    OddTimestamps,
    /// The real response with every `envOverride` object sent as a string holding that JSON
    /// object (`"{\"MY_VAR\":\"***\"}"`), the form of the spec's example and of the reference
    /// page, which the official SDKs' models reject.
    EnvOverrideString,
}

/// Why a fault list was refused (`POST /_emulator/faults` answers 400 with this message).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultError {
    /// `route` is neither `*` nor a key of [`route::ALL`]: the fault could never fire.
    #[error("unknown route \"{0}\": expected \"*\" or one of {keys}", keys = route::ALL.join(", "))]
    UnknownRoute(String),
    /// `status` outside 100..=599.
    #[error("status {0} is not an HTTP status (100..=599)")]
    Status(u16),
    /// `probability` outside 0..=1.
    #[error("probability {0} is outside 0..=1")]
    Probability(f64),
}

/// Builder methods: `Fault::on(route::GET_EXECUTION).status(503).times(2)`.
impl Fault {
    /// A fault on `route` (a key of [`route::ALL`], or [`route::ANY`]) that, as is, only
    /// passes the request through; the methods below say what it does.
    pub fn on(route: &str) -> Self {
        Self {
            route: route.to_owned(),
            ..Self::default()
        }
    }

    /// Answers with this HTTP status (100..=599).
    #[must_use]
    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Adds `Retry-After: seconds` (alone: a 429).
    #[must_use]
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// Delays the answer by `ms` milliseconds of real time.
    #[must_use]
    pub fn latency_ms(mut self, ms: u64) -> Self {
        self.latency_ms = Some(ms);
        self
    }

    /// Breaks or mutates the body.
    #[must_use]
    pub fn body(mut self, body: FaultBody) -> Self {
        self.body = Some(body);
        self
    }

    /// Resets the connection instead of answering.
    #[must_use]
    pub fn reset(mut self) -> Self {
        self.reset = true;
        self
    }

    /// Applies to the next `n` matching requests only.
    #[must_use]
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Applies to each matching request with probability `p` (0..=1, seeded RNG).
    #[must_use]
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = Some(p);
        self
    }

    /// Whether this fault targets `route` (a stats key).
    pub(crate) fn matches(&self, route: &str) -> bool {
        self.route == route::ANY || self.route == route
    }

    /// Checks that the fault can fire as written.
    ///
    /// # Errors
    /// See [`FaultError`].
    pub fn validate(&self) -> Result<(), FaultError> {
        if self.route != route::ANY && !route::ALL.contains(&self.route.as_str()) {
            return Err(FaultError::UnknownRoute(self.route.clone()));
        }
        if let Some(s) = self.status
            && !(100..=599).contains(&s)
        {
            return Err(FaultError::Status(s));
        }
        if let Some(p) = self.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err(FaultError::Probability(p));
        }
        Ok(())
    }
}

const MALFORMED: &str = r#"{"data": [{"metadata": {"id": "exec-"#;
const HTML: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

fn error_name(status: StatusCode) -> String {
    status
        .canonical_reason()
        .unwrap_or("injected fault")
        .to_ascii_lowercase()
        .replace([' ', '-'], "_")
}

fn raw(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn code(status: Option<u16>, default: StatusCode) -> StatusCode {
    status
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(default)
}

/// Runs `next` and answers according to `fault`.
pub(crate) async fn apply<F, Fut>(fault: Fault, req: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    if let Some(ms) = fault.latency_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let mut resp = if fault.reset {
        return reset(&req);
    } else {
        match fault.body {
            None if fault.status.is_some() || fault.retry_after.is_some() => {
                let status = code(fault.status, StatusCode::TOO_MANY_REQUESTS);
                let body = serde_json::json!({
                    "code": status.as_u16(),
                    "error": error_name(status),
                    "message": "fault injected by the emulator",
                });
                raw(status, "application/json", body.to_string())
            }
            None => next(req).await,
            Some(FaultBody::Malformed) => raw(
                code(fault.status, StatusCode::OK),
                "application/json",
                MALFORMED,
            ),
            Some(FaultBody::Empty) => raw(
                code(fault.status, StatusCode::OK),
                "application/json",
                Body::empty(),
            ),
            Some(FaultBody::Html) => raw(
                code(fault.status, StatusCode::BAD_GATEWAY),
                "text/html",
                HTML,
            ),
            Some(kind) => {
                let real = next(req).await;
                let (mut parts, body) = real.into_parts();
                let bytes = axum::body::to_bytes(body, 64 << 20)
                    .await
                    .unwrap_or_default();
                if let Some(s) = fault.status.and_then(|s| StatusCode::from_u16(s).ok()) {
                    parts.status = s;
                }
                parts.headers.remove(header::CONTENT_LENGTH);
                let out = if kind == FaultBody::Truncated {
                    bytes.slice(..bytes.len() / 2)
                } else {
                    match serde_json::from_slice::<Value>(&bytes) {
                        Ok(mut v) => {
                            mutate(&mut v, kind, None);
                            Bytes::from(serde_json::to_vec(&v).unwrap_or_default())
                        }
                        Err(_) => bytes,
                    }
                };
                Response::from_parts(parts, Body::from(out))
            }
        }
    };
    if let Some(secs) = fault.retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// Resets the connection: no response reaches the client.
fn reset(req: &Request) -> Response {
    if let Some(ConnectInfo(ctl)) = req.extensions().get::<ConnectInfo<ConnControl>>() {
        ctl.abort();
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    // No connection control (e.g. a router driven with `oneshot`): fail the body instead.
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection reset by emulator fault",
        ))
    });
    Response::new(Body::from_stream(stream))
}

const KEEP_NON_NULL: [&str; 10] = [
    "data",
    "meta",
    "metadata",
    "spec",
    "error",
    "id",
    "name",
    "job",
    "hasMore",
    "nextCursor",
];

fn odd_timestamp(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let shape = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    shape.then(|| format!("{}.000000+00:00", &s[..19]))
}

/// Fields whose object is a string-to-string map rather than a record (`metadata.labels`,
/// `spec.envOverride`, a create request's `env`): a mutation that adds or nulls fields would
/// change a map's entries, not a record's optional fields, so `UnknownFields` and `Nulls` leave
/// them as they are.
const MAP_FIELDS: [&str; 3] = ["labels", "envOverride", "env"];

/// Applies a body mutation in place, recursively. `key` is the field holding `v`.
pub(crate) fn mutate(v: &mut Value, kind: FaultBody, key: Option<&str>) {
    let is_map = key.is_some_and(|k| MAP_FIELDS.contains(&k));
    if kind == FaultBody::EnvOverrideString && key == Some("envOverride") && v.is_object() {
        *v = Value::String(v.to_string());
        return;
    }
    match v {
        Value::Object(_)
            if is_map && matches!(kind, FaultBody::UnknownFields | FaultBody::Nulls) => {}
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if kind == FaultBody::Nulls && !KEEP_NON_NULL.contains(&k.as_str()) {
                    *child = Value::Null;
                    continue;
                }
                mutate(child, kind, Some(k));
            }
            if kind == FaultBody::UnknownFields {
                map.insert(
                    "x-emulator-unknown".into(),
                    serde_json::json!({"added": "by the unknownFields fault", "n": 1}),
                );
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| mutate(i, kind, key)),
        Value::String(s) => match kind {
            FaultBody::UnknownStatus if key == Some("status") => {
                let upper = s.chars().any(|c| c.is_ascii_uppercase());
                *s = if upper { "HIBERNATING" } else { "hibernating" }.into();
            }
            FaultBody::OddTimestamps => {
                if let Some(odd) = odd_timestamp(s) {
                    *s = odd;
                }
            }
            _ => {}
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations() {
        let base = serde_json::json!({"data": [{"metadata": {"id": "e", "createdAt": "2026-05-01T10:00:00Z"}, "status": "running", "stats": {"total": 1}}], "meta": {"hasMore": true, "total": 3}});
        let mut v = base.clone();
        mutate(&mut v, FaultBody::OddTimestamps, None);
        assert_eq!(
            v["data"][0]["metadata"]["createdAt"],
            "2026-05-01T10:00:00.000000+00:00"
        );
        let mut v = base.clone();
        mutate(&mut v, FaultBody::UnknownStatus, None);
        assert_eq!(v["data"][0]["status"], "hibernating");
        let mut v = base.clone();
        mutate(&mut v, FaultBody::Nulls, None);
        assert_eq!(v["data"][0]["metadata"]["id"], "e");
        assert!(v["data"][0]["stats"].is_null());
        assert!(v["meta"]["total"].is_null());
        assert_eq!(v["meta"]["hasMore"], true);
        let mut v = base;
        mutate(&mut v, FaultBody::UnknownFields, None);
        assert!(v["x-emulator-unknown"].is_object());
        assert!(v["data"][0]["metadata"]["x-emulator-unknown"].is_object());
    }

    #[test]
    fn maps_keep_their_entries() {
        let base = serde_json::json!({"metadata": {"id": "e", "labels": {"team": "data"}},
            "spec": {"envOverride": {"MY_VAR": "***"}}});
        let mut v = base.clone();
        mutate(&mut v, FaultBody::UnknownFields, None);
        assert_eq!(v["metadata"]["labels"], serde_json::json!({"team": "data"}));
        assert_eq!(
            v["spec"]["envOverride"],
            serde_json::json!({"MY_VAR": "***"})
        );
        assert!(v["metadata"]["x-emulator-unknown"].is_object());
        // Nulls nulls the optional map itself, never its entries.
        let mut v = base;
        mutate(&mut v, FaultBody::Nulls, None);
        assert!(v["metadata"]["labels"].is_null() && v["spec"]["envOverride"].is_null());
        let mut labels = serde_json::json!({"team": "data"});
        mutate(&mut labels, FaultBody::Nulls, Some("labels"));
        assert_eq!(labels, serde_json::json!({"team": "data"}));
    }

    #[test]
    fn env_override_string() {
        let mut v = serde_json::json!({"data": [{"spec": {"envOverride": {"A": "***"}}},
            {"spec": {"envOverride": null}}]});
        mutate(&mut v, FaultBody::EnvOverrideString, None);
        assert_eq!(v["data"][0]["spec"]["envOverride"], r#"{"A":"***"}"#);
        assert!(v["data"][1]["spec"]["envOverride"].is_null());
    }

    #[test]
    fn builder_and_validation() {
        let f = Fault::on(route::LIST_TASKS)
            .status(503)
            .retry_after(1)
            .times(2);
        assert_eq!(
            (f.route.as_str(), f.status, f.retry_after, f.times),
            (route::LIST_TASKS, Some(503), Some(1), Some(2))
        );
        assert_eq!(f.validate(), Ok(()));
        assert_eq!(Fault::on(route::ANY).reset().validate(), Ok(()));
        let typo = Fault::on("GET /v0/jobs/{jobId}/execution");
        assert!(matches!(typo.validate(), Err(FaultError::UnknownRoute(_))));
        assert_eq!(
            Fault::on(route::GET_JOB).status(42).validate(),
            Err(FaultError::Status(42))
        );
    }

    #[test]
    fn parses_camel_case() {
        let f: Vec<Fault> = serde_json::from_str(
            r#"[{"route":"*","status":503,"retryAfter":2,"latencyMs":5,"body":"unknownFields","times":1,"probability":0.5},{"route":"*","body":"envOverrideString"}]"#,
        )
        .unwrap();
        assert_eq!(f[0].body, Some(FaultBody::UnknownFields));
        assert_eq!(f[0].retry_after, Some(2));
        assert!(!f[0].reset);
        assert_eq!(f[1].body, Some(FaultBody::EnvOverrideString));
    }
}
