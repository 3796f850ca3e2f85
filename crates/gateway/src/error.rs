//! GraphQL errors of the gateway: every error carries `extensions.code`, one of [`Code`].
//!
//! An error in one field nulls that field (or its nearest nullable parent) and leaves the rest of
//! the response intact, as GraphQL prescribes. Messages never hold a credential.

use async_graphql::ErrorExtensions as _;
use blaxel_transport::Error as UpstreamError;

use crate::cursor::CursorError;

/// The `extensions.code` values of the gateway's errors (DESIGN.md, Errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Bad arguments: negative `first`, `last`/`before`, a `first` above the maximum, a query
    /// over 200 characters, an unknown global id.
    BadUserInput,
    /// The upstream rejected the credentials (401), or none was sent nor configured.
    Unauthenticated,
    /// The credential has no access to the workspace (403).
    Forbidden,
    /// The job or execution does not exist (404), where the field is not nullable by design.
    NotFound,
    /// A cursor that is malformed, of another format version, or bound to other arguments.
    CursorInvalid,
    /// The upstream cursor behind a gateway cursor is older than 24 h.
    CursorExpired,
    /// The upstream answered 429; `extensions.retryAfter` holds seconds when it said.
    RateLimited,
    /// The upstream did not answer within the configured timeout.
    UpstreamTimeout,
    /// The upstream cannot be reached, reset the connection, answered 502/503/504, or the
    /// circuit breaker is open.
    UpstreamUnavailable,
    /// Any other upstream failure; `extensions.upstreamStatus` holds its HTTP status.
    UpstreamError,
    /// The operation exceeds a limit (depth, complexity, aliases, size).
    QueryTooComplex,
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
        }
    }
}

/// A GraphQL error with `extensions.code`.
pub fn error(code: Code, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code.as_str()))
}

/// `BAD_USER_INPUT` with `message`.
pub fn bad_input(message: impl Into<String>) -> async_graphql::Error {
    error(Code::BadUserInput, message)
}

/// `CURSOR_INVALID` for a gateway cursor that failed [`crate::cursor::decode`].
pub fn cursor_error(arg: &str, err: &CursorError) -> async_graphql::Error {
    error(Code::CursorInvalid, format!("`{arg}`: {err}"))
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

/// Longest part of an upstream error message quoted in a gateway error, in characters.
pub const MAX_UPSTREAM_MESSAGE_CHARS: usize = 200;

/// Maps an upstream error to a GraphQL error with a helpful message: what failed, the upstream
/// status and its own message, and for 429 and an open circuit breaker `extensions.retryAfter`
/// (whole seconds, rounded up).
pub fn upstream(err: &UpstreamError) -> async_graphql::Error {
    let code = code_of(err);
    let upstream_message = err
        .body()
        .and_then(|b| b.message.as_deref().or(b.error.as_deref()))
        .filter(|m| !m.is_empty())
        // The upstream may echo a request's arguments: keep messages short.
        .map(|m| match m.char_indices().nth(MAX_UPSTREAM_MESSAGE_CHARS) {
            Some((cut, _)) => format!("{}…", &m[..cut]),
            None => m.to_owned(),
        });
    let message = match code {
        Code::Unauthenticated => {
            "the Blaxel API rejected the credentials: send `Authorization: Bearer <token>` (or configure --token)".to_owned()
        }
        Code::Forbidden => {
            "the credential has no access to this workspace (check `X-Blaxel-Workspace`)".to_owned()
        }
        Code::NotFound => "not found in the Blaxel API".to_owned(),
        Code::CursorInvalid => {
            "the Blaxel API rejected the cursor: it belongs to another query; restart from the first page".to_owned()
        }
        Code::CursorExpired => {
            "the cursor expired (upstream cursors live 24 h): restart from the first page".to_owned()
        }
        Code::RateLimited => "the Blaxel API is rate limiting requests".to_owned(),
        Code::UpstreamTimeout => format!("the Blaxel API did not answer in time: {err}"),
        Code::UpstreamUnavailable => format!("the Blaxel API is unavailable: {err}"),
        _ => format!("the Blaxel API call failed: {err}"),
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
    let status = err.status().map(|s| s.as_u16());
    let retry_after = err
        .retry_after()
        .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0));
    async_graphql::Error::new(message).extend_with(|_, e| {
        e.set("code", code.as_str());
        if let Some(status) = status {
            e.set("upstreamStatus", status);
        }
        if let Some(secs) = retry_after {
            e.set("retryAfter", secs);
        }
    })
}
