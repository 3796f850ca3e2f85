//! The gateway's errors, the same for every face: a [`Code`] (GraphQL `extensions.code`, gRPC
//! `ErrorInfo.reason`), a message for people, and the details a client acts on. Faces translate
//! an [`Error`] into their own shape; they never invent codes.
//!
//! Messages never hold a credential; upstream text is quoted at most
//! [`MAX_UPSTREAM_MESSAGE_CHARS`] characters.

use blaxel_transport::Error as UpstreamError;

use crate::{
    caller::CallerError,
    pagination::{ArgsError, PaginateError},
};

/// The error codes of the gateway (DESIGN.md, Errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Bad arguments: negative `first`, `last`/`before`, a `first` above the maximum, a query
    /// over 200 characters, an unknown global id, a malformed header.
    BadUserInput,
    /// The upstream rejected the credentials (401), none was sent nor configured, or the
    /// credential header is malformed.
    Unauthenticated,
    /// The credential has no access to the workspace (403).
    Forbidden,
    /// The job or execution does not exist (404), where the field is not nullable by design.
    NotFound,
    /// A cursor that is malformed, of another format version, or bound to other arguments.
    CursorInvalid,
    /// The upstream cursor behind a gateway cursor is older than 24 h.
    CursorExpired,
    /// The upstream answered 429 (`retryAfter` holds seconds when it said), an execution cannot
    /// start now with `allowQueue: false`, or a caller holds too many live streams (`limit`
    /// names the gateway limit).
    RateLimited,
    /// The upstream did not answer within the configured timeout.
    UpstreamTimeout,
    /// The upstream cannot be reached, reset the connection, answered 502/503/504, or the
    /// circuit breaker is open.
    UpstreamUnavailable,
    /// Any other upstream failure; `upstreamStatus` holds its HTTP status.
    UpstreamError,
    /// The operation exceeds a limit (depth, complexity, aliases, size).
    QueryTooComplex,
    /// The target is not in a state the operation applies to, e.g. cancelling an execution that
    /// already finished (gRPC `FAILED_PRECONDITION`).
    FailedPrecondition,
    /// The gateway ended a live stream (subscription, gRPC watch) before its execution finished:
    /// it is draining for a shutdown, or the stream reached its maximum lifetime. Subscribe again
    /// (during a drain another replica answers). gRPC `UNAVAILABLE`.
    StreamClosed,
}

impl Code {
    /// The wire form, e.g. `"CURSOR_INVALID"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::BadUserInput => "BAD_USER_INPUT",
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Forbidden => "FORBIDDEN",
            Code::NotFound => "NOT_FOUND",
            Code::CursorInvalid => "CURSOR_INVALID",
            Code::CursorExpired => "CURSOR_EXPIRED",
            Code::RateLimited => "RATE_LIMITED",
            Code::UpstreamTimeout => "UPSTREAM_TIMEOUT",
            Code::UpstreamUnavailable => "UPSTREAM_UNAVAILABLE",
            Code::UpstreamError => "UPSTREAM_ERROR",
            Code::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::StreamClosed => "STREAM_CLOSED",
        }
    }
}

/// A failure as every face reports it.
///
/// It implements no `Display` on purpose: async-graphql converts any `Display` error with `?`
/// and would drop the code; a face converts an [`Error`] explicitly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What kind of failure.
    pub code: Code,
    /// For people: what failed and what to do.
    pub message: String,
    /// The upstream's HTTP status, when an upstream answer caused it.
    pub upstream_status: Option<u16>,
    /// Seconds to wait before retrying (429, 503 `Retry-After`, an open circuit breaker).
    pub retry_after: Option<u64>,
    /// The limit exceeded and its value (`QUERY_TOO_COMPLEX`), e.g. `("maxDepth", 16)`.
    pub limit: Option<(&'static str, u64)>,
}

impl Error {
    /// An error with `code` and `message` and no details.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            upstream_status: None,
            retry_after: None,
            limit: None,
        }
    }

    /// `BAD_USER_INPUT` with `message`.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(Code::BadUserInput, message)
    }

    /// `QUERY_TOO_COMPLEX` naming the exceeded `limit` and its `max`.
    pub fn too_complex(limit: &'static str, max: u64, message: impl Into<String>) -> Self {
        Self {
            limit: Some((limit, max)),
            ..Self::new(Code::QueryTooComplex, message)
        }
    }

    /// Maps an upstream error: what failed, the upstream status and its own (shortened) message,
    /// and for 429, 503 and an open circuit breaker `retry_after` (whole seconds, rounded up).
    pub fn upstream(err: &UpstreamError) -> Self {
        let code = code_of(err);
        let upstream_message = err
            .body()
            .and_then(|b| b.message.as_deref().or(b.error.as_deref()))
            .filter(|m| !m.is_empty())
            .map(shorten);
        let message = match code {
            Code::BadUserInput => shorten(&err.to_string()),
            Code::Unauthenticated => "the Blaxel API rejected the credentials: send `Authorization: Bearer <token>` (or configure --token)".to_owned(),
            Code::Forbidden => "the credential has no access to this workspace (check `X-Blaxel-Workspace`)".to_owned(),
            Code::NotFound => "not found in the Blaxel API".to_owned(),
            Code::CursorInvalid => "the Blaxel API rejected the cursor: it belongs to another query; restart from the first page".to_owned(),
            Code::CursorExpired => "the cursor expired (upstream cursors live 24 h): restart from the first page".to_owned(),
            Code::RateLimited => "the Blaxel API is rate limiting requests".to_owned(),
            Code::UpstreamTimeout => format!("the Blaxel API did not answer in time: {}", shorten(&err.to_string())),
            Code::UpstreamUnavailable => format!("the Blaxel API is unavailable: {}", shorten(&err.to_string())),
            _ => format!("the Blaxel API call failed: {}", shorten(&err.to_string())),
        };
        let message = match upstream_message {
            Some(m)
                if !matches!(
                    code,
                    Code::UpstreamTimeout | Code::UpstreamUnavailable | Code::UpstreamError
                ) =>
            {
                format!("{message} (upstream: {m})")
            }
            _ => message,
        };
        Self {
            upstream_status: err.status().map(|s| s.as_u16()),
            retry_after: err
                .retry_after()
                .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0)),
            ..Self::new(code, message)
        }
    }
}

/// The JSON kind of `value` ("a string", "an object", ...), for error messages that must not
/// echo the value itself.
pub fn json_kind(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Longest part of an upstream text quoted in a gateway error, in characters.
pub const MAX_UPSTREAM_MESSAGE_CHARS: usize = 200;

/// `text` cut to [`MAX_UPSTREAM_MESSAGE_CHARS`] characters (the upstream may echo arguments).
pub(crate) fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_UPSTREAM_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The code for an upstream error.
pub fn code_of(err: &UpstreamError) -> Code {
    match err {
        UpstreamError::InvalidRequest { .. } => Code::BadUserInput,
        UpstreamError::Connect { .. } | UpstreamError::CircuitOpen { .. } => {
            Code::UpstreamUnavailable
        }
        UpstreamError::Timeout { .. } => Code::UpstreamTimeout,
        UpstreamError::Unauthenticated { .. } => Code::Unauthenticated,
        UpstreamError::Forbidden { .. } => Code::Forbidden,
        UpstreamError::NotFound { .. } => Code::NotFound,
        UpstreamError::CursorInvalid { .. } => Code::CursorInvalid,
        UpstreamError::CursorExpired { .. } => Code::CursorExpired,
        UpstreamError::RateLimited { .. } => Code::RateLimited,
        UpstreamError::Http { status, .. } if matches!(status.as_u16(), 502..=504) => {
            Code::UpstreamUnavailable
        }
        _ => Code::UpstreamError,
    }
}

impl From<ArgsError> for Error {
    fn from(err: ArgsError) -> Self {
        Self::bad_input(err.to_string())
    }
}

impl From<CallerError> for Error {
    fn from(err: CallerError) -> Self {
        let code = match err {
            CallerError::Authorization { .. } => Code::Unauthenticated,
            CallerError::Workspace(_) => Code::BadUserInput,
        };
        Self::new(code, err.to_string())
    }
}

impl Error {
    /// A pagination failure, reported about the cursor argument `arg` (`after`, `page_token`).
    pub fn paginate(arg: &str, err: PaginateError) -> Self {
        match err {
            PaginateError::Cursor(e) => Self::new(Code::CursorInvalid, format!("`{arg}`: {e}")),
            PaginateError::OtherContract => Self::new(
                Code::CursorInvalid,
                format!("`{arg}`: cursor was issued for another API version"),
            ),
            PaginateError::LegacyUnsupported => Self::bad_input(
                "`sort` and `query` need Blaxel-Version 2026-04-28 or later; this gateway is configured for the legacy API, which lists newest first without search",
            ),
            PaginateError::Load(e) => (*e).clone(),
            PaginateError::AnchorLost => Self::new(
                Code::CursorInvalid,
                format!(
                    "`{arg}`: the item this cursor follows was deleted, or moved too far since (new items arrived); restart from the first page or from a page's endCursor"
                ),
            ),
            PaginateError::NoProgress => Self::new(
                Code::UpstreamError,
                "the Blaxel API repeated a page cursor; the listing cannot advance",
            ),
        }
    }
}
