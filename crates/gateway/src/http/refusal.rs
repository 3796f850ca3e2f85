//! Requests refused before GraphQL execution, answered as GraphQL error bodies
//! `{"errors": [{"message", "extensions": {"code", ...}}]}` with an HTTP status.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{frontend::private_answer, negotiation::ResponseType};
use crate::error::Error;

/// A request refused before it reaches GraphQL execution, answered as a GraphQL error body
/// `{"errors": [{"message", "extensions": {"code"}}]}` with an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    /// HTTP status.
    pub status: StatusCode,
    /// `extensions.code`.
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
    /// `Allow` header of a 405.
    pub allow: Option<&'static str>,
    /// The limit refused and its value (`extensions.limit`, `extensions.max`).
    pub limit: Option<(&'static str, u64)>,
}

impl RequestError {
    /// A refusal with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            allow: None,
            limit: None,
        }
    }

    /// The answer, in the negotiated media type.
    pub fn into_response(self, ty: ResponseType) -> Response {
        refused(self.code, self.limit.map(|(limit, _)| limit));
        let mut extensions = serde_json::json!({"code": self.code});
        if let Some((limit, max)) = self.limit {
            extensions["limit"] = limit.into();
            extensions["max"] = max.into();
        }
        let body = serde_json::json!({
            "errors": [{"message": self.message, "extensions": extensions}],
        });
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, ty.content_type())],
            body.to_string(),
        )
            .into_response();
        if let Some(allow) = self.allow {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        private_answer(&mut response);
        response
    }
}

/// A whole-request error as a GraphQL response, `{"errors": [{"message", "extensions": {"code",
/// ...}}]}`, with the HTTP `status`.
pub fn error_response(status: StatusCode, err: Error) -> Response {
    refused(err.code.as_str(), err.limit.map(|(limit, _)| limit));
    let mut extensions = serde_json::Map::new();
    extensions.insert("code".into(), err.code.as_str().into());
    if let Some((limit, max)) = err.limit {
        extensions.insert("limit".into(), limit.into());
        extensions.insert("max".into(), max.into());
    }
    let body = serde_json::json!({
        "errors": [{"message": err.message, "extensions": extensions}],
    });
    (status, Json(body)).into_response()
}

impl From<Error> for RequestError {
    fn from(err: Error) -> Self {
        Self {
            limit: err.limit,
            ..Self::new(StatusCode::BAD_REQUEST, err.code.as_str(), err.message)
        }
    }
}

/// Records a refusal's code on the current request and counts the limit it names (a name the
/// gateway chose, so the label set is bounded).
fn refused(code: &str, limit: Option<&'static str>) {
    crate::observe::with_current(|o| o.code(code));
    if let Some(limit) = limit {
        metrics::counter!("gateway_limit_refusals_total", "limit" => limit).increment(1);
    }
}
