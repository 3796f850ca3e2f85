//! Writing a GraphQL answer: serialised once, into the body that is sent, and measured on the
//! way: an answer over `maxResponseBytes` is replaced by a `QUERY_TOO_COMPLEX` error naming the
//! limit (the estimate refused most such requests before they ran; this holds where it was
//! wrong).

use async_graphql::BatchResponse;
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::error_response;
use crate::error::Error;

/// The HTTP response of `batch`, at most `max_bytes` of body.
pub fn respond(batch: BatchResponse, max_bytes: u64) -> Response {
    let body = match serde_json::to_vec(&batch) {
        Ok(body) => body,
        Err(e) => {
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                Error::new(
                    crate::error::Code::UpstreamError,
                    format!("the answer could not be serialised: {e}"),
                ),
            );
        }
    };
    if body.len() as u64 > max_bytes {
        metrics::counter!("gateway_limit_refusals_total", "limit" => "maxResponseBytes")
            .increment(1);
        return error_response(
            StatusCode::OK,
            Error::too_complex(
                "maxResponseBytes",
                max_bytes,
                format!(
                    "the answer is {} bytes, over the limit of {max_bytes} bytes (maxResponseBytes): select fewer fields or a smaller `first`",
                    body.len()
                ),
            ),
        );
    }
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/graphql-response+json"),
    );
    if batch.is_ok()
        && let Some(value) = batch.cache_control().value()
        && let Ok(value) = HeaderValue::from_str(&value)
    {
        headers.insert(header::CACHE_CONTROL, value);
    }
    headers.extend(batch.http_headers());
    response
}
