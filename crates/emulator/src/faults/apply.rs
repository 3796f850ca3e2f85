//! How a fault rewrites a response: error statuses, `Retry-After`, latency, broken and mutated
//! bodies, connection resets.

use std::time::Duration;

use axum::{
    body::Body,
    extract::{ConnectInfo, Request},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use serde_json::Value;

use super::{Fault, FaultBody};
use crate::net::ConnControl;

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
}
