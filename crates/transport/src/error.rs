//! The error type of every client call, and the decoded upstream error body.

use std::{fmt, time::Duration};

use http::StatusCode;

use crate::redact::{quote_upstream, snippet};

/// How many bytes of an upstream body are kept in errors ([`ApiErrorBody::raw`],
/// [`Error::InvalidPayload`]'s `snippet`): 512, credentials masked.
pub const SNIPPET_BYTES: usize = 512;

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
    /// Machine-readable kind, e.g. `invalid_cursor` (flat `error`, nested `error.code`); at
    /// most [`MAX_QUOTE_CHARS`](crate::MAX_QUOTE_CHARS) characters, credentials masked.
    pub error: Option<String>,
    /// Human-readable message; at most [`MAX_QUOTE_CHARS`](crate::MAX_QUOTE_CHARS) characters (a longer one is cut and
    /// ends with `…`), credentials masked.
    pub message: Option<String>,
    /// Whether the upstream says a retry may succeed (nested shape only).
    pub retryable: Option<bool>,
    /// The first [`SNIPPET_BYTES`] of the body, lossy UTF-8, credentials masked.
    pub raw: String,
}

impl ApiErrorBody {
    /// Decodes an error body; never fails (unknown shapes keep only `raw`). Texts are cut and
    /// masked as the fields say.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self::decode(bytes, None)
    }

    /// [`ApiErrorBody::from_bytes`], also masking `secret` (the token the request carried)
    /// wherever the upstream echoes it.
    pub(crate) fn decode(bytes: &[u8], secret: Option<&str>) -> Self {
        let raw = snippet(bytes, SNIPPET_BYTES, secret);
        let quote = |text: Option<String>| text.map(|t| quote_upstream(&t, secret));
        if let Ok(flat) = serde_json::from_slice::<blaxel_models::Error>(bytes) {
            return Self {
                code: flat.code,
                error: quote(Some(flat.error)),
                message: quote(flat.message),
                retryable: None,
                raw,
            };
        }
        if let Ok(nested) = serde_json::from_slice::<blaxel_models::PlatformErrorBody>(bytes) {
            return Self {
                code: nested.error.status,
                error: quote(nested.error.code),
                message: quote(nested.error.message),
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

/// Why a call failed.
///
/// | variant | cause | retried (idempotent calls) |
/// |---|---|---|
/// | `InvalidRequest` | rejected before sending (limit, `q` length, a name or id that is empty, `.`/`..` or holds a control character, bad header) | no |
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
    /// No answer: connection refused or reset, DNS or TLS failure, or the answer was cut off
    /// ([`Error::connect_cause`] says which).
    #[error("could not reach the upstream ({})", ConnectCause::of(source).describe())]
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
        /// The first [`SNIPPET_BYTES`] of the body, lossy UTF-8, credentials masked.
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
        /// The repeated cursor, cut to [`MAX_QUOTE_CHARS`](crate::MAX_QUOTE_CHARS) characters.
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

    /// Why no answer came, for [`Error::Connect`] and [`Error::Timeout`] (`None` for the
    /// others, which either got an answer or sent nothing).
    pub fn connect_cause(&self) -> Option<ConnectCause> {
        match self {
            Self::Connect { source } => Some(ConnectCause::of(source)),
            Self::Timeout { .. } => Some(ConnectCause::Timeout),
            _ => None,
        }
    }

    /// A short label of what failed, for logs and metrics: the [`ConnectCause`] (`dns`,
    /// `refused`, ...), `status` for an answer, `circuit_open`, `invalid_request`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Connect { .. } | Self::Timeout { .. } => {
                self.connect_cause().map_or("connect", ConnectCause::as_str)
            }
            Self::InvalidRequest { .. } => "invalid_request",
            Self::InvalidConfig { .. } | Self::Build { .. } => "config",
            Self::InvalidPayload { .. } => "invalid_payload",
            Self::CircuitOpen { .. } => "circuit_open",
            Self::CursorLoop { .. } => "cursor_loop",
            _ => "status",
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
        secret: Option<&str>,
    ) -> Self {
        let body = ApiErrorBody::decode(bytes, secret);
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

/// Why a request got no answer ([`Error::connect_cause`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectCause {
    /// The host name did not resolve.
    Dns,
    /// Nothing listens at the address (connection refused).
    Refused,
    /// The peer closed or reset the connection, before or during the answer.
    Reset,
    /// The TLS handshake failed (certificate, protocol, or not TLS at all).
    Tls,
    /// Connecting or the attempt ran past its timeout.
    Timeout,
    /// Any other I/O or protocol failure.
    Other,
}

impl ConnectCause {
    /// The label: `dns`, `refused`, `reset`, `tls`, `timeout` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::Refused => "refused",
            Self::Reset => "reset",
            Self::Tls => "tls",
            Self::Timeout => "timeout",
            Self::Other => "other",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Dns => "the host name did not resolve",
            Self::Refused => "connection refused",
            Self::Reset => "connection closed by the peer",
            Self::Tls => "tls handshake failed",
            Self::Timeout => "timed out",
            Self::Other => "connection failed",
        }
    }

    /// Reads the cause from an error's source chain: the `io::Error` kind where there is one,
    /// a rustls error for TLS, and hyper's messages for DNS and early closes.
    pub(crate) fn of(error: &(dyn std::error::Error + 'static)) -> Self {
        let mut next = Some(error);
        while let Some(error) = next {
            if error.is::<rustls::Error>() {
                return Self::Tls;
            }
            if let Some(io) = error.downcast_ref::<std::io::Error>() {
                use std::io::ErrorKind as K;
                if io
                    .get_ref()
                    .is_some_and(|inner| inner.is::<rustls::Error>())
                {
                    return Self::Tls;
                }
                match io.kind() {
                    K::ConnectionRefused => return Self::Refused,
                    K::ConnectionReset
                    | K::ConnectionAborted
                    | K::BrokenPipe
                    | K::UnexpectedEof => {
                        return Self::Reset;
                    }
                    K::TimedOut => return Self::Timeout,
                    _ => {}
                }
            }
            // reqwest's own message holds the URL (caller input): only its causes are read.
            if !error.is::<reqwest::Error>() {
                let text = error.to_string();
                if text.contains("dns error") || text.contains("failed to lookup address") {
                    return Self::Dns;
                }
                if text.contains("connection closed before message completed")
                    || text.contains("connection reset")
                {
                    return Self::Reset;
                }
            }
            // `io::Error::source` skips the error it wraps: descend into it instead.
            next = match error.downcast_ref::<std::io::Error>() {
                Some(io) => io
                    .get_ref()
                    .map(|inner| inner as &(dyn std::error::Error + 'static)),
                None => error.source(),
            };
        }
        Self::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MAX_QUOTE_CHARS;

    #[test]
    fn flat_body() {
        let body = ApiErrorBody::from_bytes(
            br#"{"code":400,"error":"invalid_cursor","message":"bad cursor"}"#,
        );
        assert_eq!(body.code, Some(400));
        assert_eq!(body.error.as_deref(), Some("invalid_cursor"));
        assert_eq!(body.message.as_deref(), Some("bad cursor"));
        assert_eq!(body.retryable, None);
        let err = Error::from_status(StatusCode::BAD_REQUEST, None, body.raw.as_bytes(), None);
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
    fn huge_and_echoing_bodies_are_cut_and_masked() {
        let huge = format!(
            r#"{{"code":500,"error":"internal","message":"{}"}}"#,
            "m".repeat(200_000)
        );
        let err = Error::from_status(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            huge.as_bytes(),
            None,
        );
        let body = err.body().unwrap();
        assert_eq!(
            body.message.as_ref().unwrap().chars().count(),
            MAX_QUOTE_CHARS + 1
        );
        assert!(body.raw.len() <= SNIPPET_BYTES);
        assert!(
            err.to_string().chars().count() < MAX_QUOTE_CHARS + 100,
            "{err}"
        );

        let echo = br#"{"error":"unauthorized","message":"token my-own-secret-42 refused; got Authorization: Bearer my-own-secret-42"}"#;
        let err = Error::from_status(
            StatusCode::UNAUTHORIZED,
            None,
            echo,
            Some("my-own-secret-42"),
        );
        let printed = format!("{err} {err:?}");
        assert!(!printed.contains("my-own-secret-42"), "{printed}");
        assert!(printed.contains("***"), "{printed}");
    }

    #[test]
    fn connect_causes_from_io_errors() {
        use std::io::{Error as Io, ErrorKind};
        let cause = |e: Io| ConnectCause::of(&e);
        assert_eq!(
            cause(Io::from(ErrorKind::ConnectionRefused)),
            ConnectCause::Refused
        );
        assert_eq!(
            cause(Io::from(ErrorKind::ConnectionReset)),
            ConnectCause::Reset
        );
        assert_eq!(cause(Io::other("dns error")), ConnectCause::Dns);
        assert_eq!(
            cause(Io::other(rustls::Error::DecryptError)),
            ConnectCause::Tls
        );
        assert_eq!(cause(Io::other("something else")), ConnectCause::Other);
        assert_eq!(ConnectCause::Tls.as_str(), "tls");
    }

    #[test]
    fn status_mapping() {
        let map = |code: u16, body: &[u8]| {
            Error::from_status(StatusCode::from_u16(code).unwrap(), None, body, None)
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
