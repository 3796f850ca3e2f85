//! Cross-site request forgery prevention, as Apollo Router does it.
//!
//! A page on any origin can make a browser send a "simple" request (CORS's term) without asking
//! the server first: a GET, or a POST whose content type is `text/plain`,
//! `application/x-www-form-urlencoded` or `multipart/form-data`, with only safelisted headers.
//! The page cannot read the answer, but the request runs with the browser's ambient credentials.
//! So such a request may only read: its operation must be a query. A request that forces a
//! preflight (a JSON content type, or a header such as `apollo-require-preflight`) is safe, since
//! CORS then decides. POST bodies of the simple content types are refused outright (415) before
//! this check; mutations never run on GET, preflight or not (405).

use axum::http::{HeaderMap, Method, header};

/// Headers that no simple request can carry: each forces a CORS preflight. Apollo's two, plus
/// the credential headers of this gateway.
pub const PREFLIGHT_HEADERS: &[&str] = &[
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "authorization",
    "x-blaxel-authorization",
    "x-blaxel-workspace",
];

/// Content types a browser sends cross-origin without a preflight.
pub const SIMPLE_CONTENT_TYPES: &[&str] = &[
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
];

/// The media type of a `Content-Type` value, lowercased, without parameters.
pub fn essence(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// True when a browser would have asked CORS (a preflight) before sending this request.
pub fn is_preflighted(method: &Method, headers: &HeaderMap) -> bool {
    if method != Method::GET && method != Method::HEAD && method != Method::POST {
        return true;
    }
    let custom = PREFLIGHT_HEADERS.iter().any(|name| {
        headers
            .get(*name)
            .is_some_and(|v| !v.as_bytes().iter().all(u8::is_ascii_whitespace))
    });
    if custom {
        return true;
    }
    match headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        Some(ct) => !SIMPLE_CONTENT_TYPES.contains(&essence(ct).as_str()),
        None => false,
    }
}

/// The message of a refused simple request (Apollo Router's wording, adapted).
pub fn refusal(operation: &str) -> String {
    format!(
        "this {operation} has been blocked as a potential cross-site request forgery (CSRF): \
         only queries may be sent without a CORS preflight; send Content-Type: application/json \
         or a non-empty apollo-require-preflight header"
    )
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn simple_requests_are_recognised() {
        let get = Method::GET;
        let post = Method::POST;
        assert!(!is_preflighted(&get, &headers(&[])));
        assert!(!is_preflighted(&get, &headers(&[("accept", "text/html")])));
        assert!(!is_preflighted(
            &get,
            &headers(&[("apollo-require-preflight", "  ")])
        ));
        assert!(is_preflighted(
            &get,
            &headers(&[("apollo-require-preflight", "true")])
        ));
        assert!(is_preflighted(
            &get,
            &headers(&[("x-apollo-operation-name", "Q")])
        ));
        assert!(is_preflighted(
            &get,
            &headers(&[("authorization", "Bearer t")])
        ));
        assert!(!is_preflighted(&post, &headers(&[])));
        for ct in [
            "text/plain",
            "Text/Plain; charset=utf-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            let mut map = HeaderMap::new();
            map.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
            assert!(!is_preflighted(&post, &map), "{ct}");
        }
        assert!(is_preflighted(
            &post,
            &headers(&[("content-type", "application/json")])
        ));
        assert!(is_preflighted(&Method::PUT, &headers(&[])));
    }
}
