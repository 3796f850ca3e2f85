//! The error type of every client call, and the decoded upstream error body.

use std::{fmt, time::Duration};

use http::StatusCode;

/// How many bytes of an upstream body are kept in errors ([`ApiErrorBody::raw`],
/// [`Error::InvalidPayload`]'s `snippet`): 1 KiB.
pub const SNIPPET_BYTES: usize = 1024;

/// The body of an upstream error answer, decoded from either documented shape.
///
/// - The control plane's flat `Error`: `{"code": 400, "error": "invalid_cursor", "message": "..."}`
///   (contract §7.1, and the emulator's).
/// - The nested platform error: `{"error": {"code": "ROUTE_NOT_FOUND", "message": "...",
///   "status": 404, "retryable": false, ...}}` (docs `troubleshooting/error-codes`). Its string
///   `code` becomes [`ApiErrorBody::error`] and its numeric `status` becomes
///   [`ApiErrorBody::code`].
///
/// Anything else (HTML, an empty body, garbage) leaves every field `None` and keeps the text in
/// [`ApiErrorBody::raw`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiErrorBody {
    /// HTTP status as the body states it (flat `code`, nested `error.status`).
    pub code: Option<i64>,
    /// Machine-readable kind, e.g. `invalid_cursor` (flat `error`, nested `error.code`).
    pub error: Option<String>,
    /// Human-readable message.
    pub message: Option<String>,
    /// Whether the upstream says a retry may succeed (nested shape only).
    pub retryable: Option<bool>,
    /// The first [`SNIPPET_BYTES`] of the body, lossy UTF-8.
    pub raw: String,
}

impl ApiErrorBody {
    /// Decodes an error body; never fails (unknown shapes keep only `raw`).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let raw = snippet(bytes);
        if let Ok(flat) = serde_json::from_slice::<blaxel_models::Error>(bytes) {
            return Self {
                code: flat.code,
                error: Some(flat.error),
                message: flat.message,
                retryable: None,
                raw,
            };
        }
        if let Ok(nested) = serde_json::from_slice::<blaxel_models::PlatformErrorBody>(bytes) {
            return Self {
                code: nested.error.status,
                error: nested.error.code,
                message: nested.error.message,
                retryable: nested.error.retryable,
                raw,
            };
        }
        Self {
            raw,
            ..Self::default()
        }
    }
}

impl fmt::Display for ApiErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.error, &self.message) {
            (Some(error), Some(message)) => write!(f, "{error}: {message}"),
            (Some(text), None) | (None, Some(text)) => f.write_str(text),
            (None, None) if self.raw.trim().is_empty() => f.write_str("empty body"),
            (None, None) => f.write_str("undecodable body"),
        }
    }
}

/// The first [`SNIPPET_BYTES`] of `bytes`, lossy UTF-8.
pub(crate) fn snippet(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(SNIPPET_BYTES)]).into_owned()
}

/// Why a call failed.
///
/// | variant | cause | retried (idempotent calls) |
/// |---|---|---|
/// | `InvalidRequest` | rejected before sending (limit, `q` length, empty name, bad header) | no |
/// | `InvalidConfig`, `Build` | [`Client::new`](crate::Client::new) only | - |
/// | `Connect` | connection refused or reset, DNS, TLS, body cut by the peer | yes |
/// | `Timeout` | an attempt past `request_timeout`, or the call past `total_deadline` | yes (attempt) |
/// | `Unauthenticated` | 401 | no |
/// | `Forbidden` | 403 (token of another workspace) | no |
/// | `NotFound` | 404 | no |
/// | `CursorInvalid` / `CursorExpired` | 400 with `error` `invalid_cursor` / `cursor_expired` | no |
/// | `RateLimited` | 429, with `Retry-After` seconds | yes |
/// | `Http` | any other non-2xx | 500, 502, 503, 504 |
/// | `InvalidPayload` | a 2xx body that does not decode | once, when the body ended early |
/// | `CursorLoop` | a listing stream saw the same `nextCursor` twice | no |
/// | `CircuitOpen` | the circuit breaker is open: nothing was sent | no (later) |
///
/// No message contains a credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request was rejected before anything was sent.
    #[error("invalid request: {message}")]
    InvalidRequest {
        /// What is wrong, e.g. `limit must be between 1 and 100, got 0`.
        message: String,
    },
    /// The configuration cannot make a client (bad base URL, zero concurrency).
    #[error("invalid client configuration: {message}")]
    InvalidConfig {
        /// What is wrong.
        message: String,
    },
    /// reqwest could not build its client (TLS setup).
    #[error("could not build the http client")]
    Build {
        /// The reqwest error.
        #[source]
        source: reqwest::Error,
    },
    /// No answer: connection refused or reset, DNS or TLS failure, or the answer was cut off.
    #[error("could not reach the upstream")]
    Connect {
        /// The reqwest error.
        #[source]
        source: reqwest::Error,
    },
    /// An attempt ran past `request_timeout` (the last one, after retries), or the whole call
    /// past `total_deadline`.
    #[error("upstream timed out after {elapsed:?}")]
    Timeout {
        /// Time spent before giving up.
        elapsed: Duration,
    },
    /// 401: no token, or a token the upstream does not accept.
    #[error("upstream rejected the credentials: {body}")]
    Unauthenticated {
        /// The decoded body.
        body: ApiErrorBody,
    },
    /// 403: the token has no access to the workspace.
    #[error("upstream denied access: {body}")]
    Forbidden {
        /// The decoded body.
        body: ApiErrorBody,
    },
    /// 404: unknown job or execution.
    #[error("upstream resource not found: {body}")]
    NotFound {
        /// The decoded body.
        body: ApiErrorBody,
    },
    /// 400 `invalid_cursor`: the cursor is malformed or bound to another query.
    #[error("upstream rejected the cursor: {body}")]
    CursorInvalid {
        /// The decoded body.
        body: ApiErrorBody,
    },
    /// 400 `cursor_expired`: the cursor is older than 24 h.
    #[error("upstream cursor expired: {body}")]
    CursorExpired {
        /// The decoded body.
        body: ApiErrorBody,
    },
    /// 429: rate limited, or no capacity for an `allowQueue: false` execution.
    #[error("upstream rate limited the request: {body}")]
    RateLimited {
        /// The `Retry-After` header (delay in seconds; HTTP dates are not read).
        retry_after: Option<Duration>,
        /// The decoded body.
        body: ApiErrorBody,
    },
    /// Any other non-2xx answer (5xx after the retries).
    #[error("upstream answered {status}: {body}")]
    Http {
        /// The HTTP status.
        status: StatusCode,
        /// The decoded body.
        body: ApiErrorBody,
        /// The `Retry-After` header in seconds, e.g. of a 503 (HTTP dates are not read).
        retry_after: Option<Duration>,
    },
    /// A 2xx answer whose body does not decode into the expected model.
    #[error("upstream sent an undecodable {status} body")]
    InvalidPayload {
        /// The HTTP status (2xx).
        status: StatusCode,
        /// The first [`SNIPPET_BYTES`] of the body, lossy UTF-8.
        snippet: String,
        /// The decode error (line, column, what was expected).
        #[source]
        source: serde_json::Error,
    },
    /// The upstream failed repeatedly and the circuit breaker is open: nothing was sent.
    #[error("upstream circuit breaker is open after repeated failures; next probe in {retry_in:?}")]
    CircuitOpen {
        /// Time until the breaker lets a probe through.
        retry_in: Duration,
    },
    /// A listing stream received a `nextCursor` it had already followed.
    #[error("upstream returned cursor {cursor:?} twice")]
    CursorLoop {
        /// The repeated cursor.
        cursor: String,
    },
}

impl Error {
    /// The upstream HTTP status behind this error, if an answer was received.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Unauthenticated { .. } => Some(StatusCode::UNAUTHORIZED),
            Self::Forbidden { .. } => Some(StatusCode::FORBIDDEN),
            Self::NotFound { .. } => Some(StatusCode::NOT_FOUND),
            Self::CursorInvalid { .. } | Self::CursorExpired { .. } => {
                Some(StatusCode::BAD_REQUEST)
            }
            Self::RateLimited { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            Self::Http { status, .. } | Self::InvalidPayload { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when the same request may succeed later: connection failures, timeouts, 429,
    /// 500/502/503/504 (or another 5xx whose body says `retryable: true`), a 2xx body that
    /// ended early (empty or truncated), and an open circuit breaker (after
    /// [`Error::retry_after`]; the client itself does not retry it).
    ///
    /// The client retries such errors itself on idempotent calls; this tells a caller whether
    /// retrying later is worth it.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Connect { .. }
            | Self::Timeout { .. }
            | Self::RateLimited { .. }
            | Self::CircuitOpen { .. } => true,
            Self::Http { status, body, .. } => {
                matches!(status.as_u16(), 500 | 502 | 503 | 504)
                    || (status.is_server_error() && body.retryable == Some(true))
            }
            Self::InvalidPayload { source, .. } => source.is_eof(),
            _ => false,
        }
    }

    /// The `Retry-After` delay of a 429 (or of another status that sent one, such as a 503), or
    /// the time until an open circuit breaker probes.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } | Self::Http { retry_after, .. } => *retry_after,
            Self::CircuitOpen { retry_in } => Some(*retry_in),
            _ => None,
        }
    }

    /// The decoded upstream body, for the variants that carry one.
    pub fn body(&self) -> Option<&ApiErrorBody> {
        match self {
            Self::Unauthenticated { body }
            | Self::Forbidden { body }
            | Self::NotFound { body }
            | Self::CursorInvalid { body }
            | Self::CursorExpired { body }
            | Self::RateLimited { body, .. }
            | Self::Http { body, .. } => Some(body),
            _ => None,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidRequest {
            message: message.into(),
        }
    }

    /// Maps a non-2xx answer.
    pub(crate) fn from_status(
        status: StatusCode,
        retry_after: Option<Duration>,
        bytes: &[u8],
    ) -> Self {
        let body = ApiErrorBody::from_bytes(bytes);
        match status {
            StatusCode::UNAUTHORIZED => Self::Unauthenticated { body },
            StatusCode::FORBIDDEN => Self::Forbidden { body },
            StatusCode::NOT_FOUND => Self::NotFound { body },
            StatusCode::TOO_MANY_REQUESTS => Self::RateLimited { retry_after, body },
            StatusCode::BAD_REQUEST => match body.error.as_deref() {
                Some("invalid_cursor") => Self::CursorInvalid { body },
                Some("cursor_expired") => Self::CursorExpired { body },
                _ => Self::Http {
                    status,
                    body,
                    retry_after,
                },
            },
            _ => Self::Http {
                status,
                body,
                retry_after,
            },
        }
    }

    /// Maps a reqwest failure of one attempt.
    pub(crate) fn from_reqwest(source: reqwest::Error, elapsed: Duration) -> Self {
        if source.is_timeout() {
            Self::Timeout { elapsed }
        } else {
            Self::Connect { source }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_body() {
        let body = ApiErrorBody::from_bytes(
            br#"{"code":400,"error":"invalid_cursor","message":"bad cursor"}"#,
        );
        assert_eq!(body.code, Some(400));
        assert_eq!(body.error.as_deref(), Some("invalid_cursor"));
        assert_eq!(body.message.as_deref(), Some("bad cursor"));
        assert_eq!(body.retryable, None);
        let err = Error::from_status(StatusCode::BAD_REQUEST, None, body.raw.as_bytes());
        assert!(matches!(err, Error::CursorInvalid { .. }), "{err:?}");
    }

    #[test]
    fn nested_body() {
        let body = ApiErrorBody::from_bytes(
            br#"{"error":{"code":"WORKLOAD_UNAVAILABLE","message":"no replica","status":404,"retryable":true,"origin":"platform"}}"#,
        );
        assert_eq!(body.code, Some(404));
        assert_eq!(body.error.as_deref(), Some("WORKLOAD_UNAVAILABLE"));
        assert_eq!(body.message.as_deref(), Some("no replica"));
        assert_eq!(body.retryable, Some(true));
        assert_eq!(body.to_string(), "WORKLOAD_UNAVAILABLE: no replica");
    }

    #[test]
    fn garbage_body_keeps_raw() {
        let html = "<html><body>502 Bad Gateway</body></html>".repeat(100);
        let body = ApiErrorBody::from_bytes(html.as_bytes());
        assert_eq!(body.error, None);
        assert_eq!(body.raw.len(), SNIPPET_BYTES);
        assert_eq!(body.to_string(), "undecodable body");
        assert_eq!(ApiErrorBody::from_bytes(b"").to_string(), "empty body");
    }

    #[test]
    fn status_mapping() {
        let map = |code: u16, body: &[u8]| {
            Error::from_status(StatusCode::from_u16(code).unwrap(), None, body)
        };
        assert!(matches!(map(401, b""), Error::Unauthenticated { .. }));
        assert!(matches!(map(403, b""), Error::Forbidden { .. }));
        assert!(matches!(map(404, b""), Error::NotFound { .. }));
        assert!(matches!(map(429, b""), Error::RateLimited { .. }));
        assert!(matches!(
            map(400, br#"{"error":"cursor_expired"}"#),
            Error::CursorExpired { .. }
        ));
        assert!(matches!(
            map(400, br#"{"error":"invalid_api_version"}"#),
            Error::Http { .. }
        ));
        assert!(map(503, b"").is_retryable());
        assert!(map(500, b"").is_retryable());
        assert!(!map(501, b"").is_retryable());
        assert!(!map(404, b"").is_retryable());
        assert!(map(429, b"").is_retryable());
        assert_eq!(map(418, b"").status(), Some(StatusCode::IM_A_TEAPOT));
    }
}
