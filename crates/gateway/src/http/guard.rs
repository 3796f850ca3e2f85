//! Body size and whole-request timeout, answered as GraphQL errors rather than bare statuses: a
//! body over `max_body_bytes` is a 413 `QUERY_TOO_COMPLEX` naming `maxBodyBytes` (checked on
//! `Content-Length` before reading, and while reading a body without one); a request past
//! `request_timeout`, its body read included, is a 504 `UPSTREAM_TIMEOUT` naming
//! `requestTimeoutMs`.

use axum::{
    body::Body,
    extract::{Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::Response,
};

use super::error_response;
use crate::{
    error::{Code, Error},
    limits::Limits,
};

/// The middleware enforcing the body and time limits of [`Limits`].
pub async fn request_limits(State(limits): State<Limits>, req: Request, next: Next) -> Response {
    let max = limits.max_body_bytes;
    let too_large = |size: Option<u64>| {
        let asked = size
            .map(|n| format!("{n} bytes"))
            .unwrap_or_else(|| "larger".to_owned());
        error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            Error::too_complex(
                "maxBodyBytes",
                max as u64,
                format!("request body is {asked}, over the limit of {max} bytes (maxBodyBytes)"),
            ),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return too_large(declared);
    }
    // The body is read within the request's deadline: a client that trickles its body is cut
    // like a slow upstream.
    let timeout = limits.request_timeout;
    let work = async move {
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, max).await {
            Ok(bytes) => bytes,
            Err(e) => {
                let over = std::error::Error::source(&e)
                    .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
                if over {
                    return too_large(None);
                }
                return error_response(
                    StatusCode::BAD_REQUEST,
                    Error {
                        limit: Some(("maxBodyBytes", max as u64)),
                        ..Error::bad_input("the request body could not be read")
                    },
                );
            }
        };
        next.run(Request::from_parts(parts, Body::from(bytes)))
            .await
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(response) => response,
        Err(_) => {
            metrics::counter!("gateway_request_timeouts_total").increment(1);
            let ms = timeout.as_millis() as u64;
            error_response(
                StatusCode::GATEWAY_TIMEOUT,
                Error {
                    limit: Some(("requestTimeoutMs", ms)),
                    ..Error::new(
                        Code::UpstreamTimeout,
                        format!(
                            "the request did not complete within the gateway's timeout of {ms} ms (requestTimeoutMs)"
                        ),
                    )
                },
            )
        }
    }
}
