//! CORS for browser frontends on other origins (`--cors-allow-origin`).
//!
//! tower-http's `CorsLayer` answers preflights itself, so an `OPTIONS` never reaches GraphQL, the
//! body limit or the timeout. Credentials travel in headers (`Authorization`,
//! `X-Blaxel-Authorization`), not cookies, so `Access-Control-Allow-Credentials` is not sent and
//! `*` is usable.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Which origins may call the gateway from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Any origin (`*`).
    Any,
    /// These origins exactly (`scheme://host[:port]`, lowercased).
    List(Vec<HeaderValue>),
}

/// Why `--cors-allow-origin` is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OriginError {
    /// An entry that is not `scheme://host[:port]`.
    #[error("{0:?} is not an origin (scheme://host[:port], no path): --cors-allow-origin")]
    Invalid(String),
    /// `*` mixed with origins.
    #[error("`*` allows every origin and cannot be combined with a list: --cors-allow-origin")]
    MixedWildcard,
    /// Nothing in the list.
    #[error("the list of origins is empty: --cors-allow-origin")]
    Empty,
}

impl AllowedOrigins {
    /// Parses the flag's value: `*`, or a comma-separated list of origins.
    ///
    /// # Errors
    /// [`OriginError`] naming the flag when an entry is not an origin.
    pub fn parse(value: &str) -> Result<Self, OriginError> {
        let entries: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        if entries.is_empty() {
            return Err(OriginError::Empty);
        }
        if entries.contains(&"*") {
            return if entries.len() == 1 {
                Ok(Self::Any)
            } else {
                Err(OriginError::MixedWildcard)
            };
        }
        entries
            .into_iter()
            .map(|e| {
                let lower = e.trim_end_matches('/').to_ascii_lowercase();
                let valid = ["http://", "https://"].iter().any(|scheme| {
                    lower.strip_prefix(scheme).is_some_and(|authority| {
                        !authority.is_empty() && !authority.contains(['/', '?', '#', '@', ' '])
                    })
                });
                match HeaderValue::from_str(&lower) {
                    Ok(v) if valid => Ok(v),
                    _ => Err(OriginError::Invalid(e.to_owned())),
                }
            })
            .collect::<Result<_, _>>()
            .map(Self::List)
    }
}

/// Request headers a cross-origin page may send: credentials, content negotiation, Apollo's
/// CSRF, client-awareness and persisted-query headers, and W3C/B3 trace context.
pub const ALLOWED_HEADERS: &[&str] = &[
    "accept",
    "authorization",
    "content-type",
    "x-blaxel-authorization",
    "x-blaxel-workspace",
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "apollographql-client-name",
    "apollographql-client-version",
    "apollo-query-plan-experimental",
    "traceparent",
    "tracestate",
    "baggage",
    "b3",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-sampled",
    "x-request-id",
];

/// Response headers a cross-origin page may read.
pub const EXPOSED_HEADERS: &[&str] = &["x-request-id", "traceparent", "retry-after"];

/// The CORS layer for `origins`. Preflights are cached by browsers for 10 minutes.
pub fn layer(origins: &AllowedOrigins) -> CorsLayer {
    let allow_origin = match origins {
        AllowedOrigins::Any => AllowOrigin::any(),
        AllowedOrigins::List(list) => AllowOrigin::list(list.iter().cloned()),
    };
    let names = |list: &[&'static str]| -> Vec<HeaderName> {
        list.iter().map(|n| HeaderName::from_static(n)).collect()
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(names(ALLOWED_HEADERS))
        .expose_headers(names(EXPOSED_HEADERS))
        // Also adds `Vary: origin, access-control-request-*` (tower-http's default), so a cache
        // never serves one origin's answer to another.
        .max_age(Duration::from_secs(600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_flag() {
        assert_eq!(AllowedOrigins::parse("*"), Ok(AllowedOrigins::Any));
        assert_eq!(
            AllowedOrigins::parse(" https://App.example.com , http://127.0.0.1:3000/ "),
            Ok(AllowedOrigins::List(vec![
                HeaderValue::from_static("https://app.example.com"),
                HeaderValue::from_static("http://127.0.0.1:3000"),
            ]))
        );
        assert_eq!(AllowedOrigins::parse(" , "), Err(OriginError::Empty));
        assert_eq!(
            AllowedOrigins::parse("*,https://a.example"),
            Err(OriginError::MixedWildcard)
        );
        for bad in [
            "example.com",
            "https://",
            "https://a.example/path",
            "ftp://a.example",
            "https://user@a.example",
            "https://a.example?x",
            "https://a\u{7f}b",
        ] {
            assert!(
                matches!(AllowedOrigins::parse(bad), Err(OriginError::Invalid(_))),
                "{bad}"
            );
        }
    }
}
