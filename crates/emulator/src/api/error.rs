//! The error response and the JSON writer every handler uses.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use blaxel_models::Error as ErrorBody;
use serde::Serialize;

/// An error response: the flat `Error` body, or the version error (which has no `code`).
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    body: serde_json::Value,
}

impl ApiError {
    /// The spec's flat `Error`: `{"code": status, "error": error, "message": message}`.
    pub(crate) fn new(status: StatusCode, error: &str, message: impl Into<String>) -> Self {
        let body = ErrorBody {
            code: Some(i64::from(status.as_u16())),
            error: error.to_owned(),
            message: Some(message.into()),
        };
        Self {
            status,
            body: serde_json::to_value(body).unwrap_or_default(),
        }
    }

    /// A 400 with any other body (the version error of the docs has no `code`).
    pub(crate) fn bad_request_body(body: serde_json::Value) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            body,
        }
    }

    /// 400 `bad_request`.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404 `not_found`.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json(self.status, &self.body, 128)
    }
}

/// What every handler returns.
pub(crate) type ApiResult = Result<Response, ApiError>;

/// Serializes into a pre-sized buffer (`size_hint` bytes) as `application/json`.
pub(crate) fn json<T: Serialize>(status: StatusCode, value: &T, size_hint: usize) -> Response {
    let mut buf = Vec::with_capacity(size_hint);
    if serde_json::to_writer(&mut buf, value).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let mut resp = Response::new(axum::body::Body::from(buf));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
