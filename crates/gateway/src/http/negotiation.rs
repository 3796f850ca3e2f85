//! Content negotiation of GraphQL answers (GraphQL over HTTP, "Accept" and status codes).
//!
//! Two media types: `application/graphql-response+json` (the spec's own: request errors are 4xx
//! and carry no `data`) and `application/json` (the legacy one: every GraphQL answer is 200, as
//! older clients expect). A client that sends no `Accept`, or `*/*`, gets `application/json`, as
//! the spec asks during its watershed period.

use axum::http::{HeaderMap, HeaderValue, header};

/// The media type of a GraphQL answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    /// `application/graphql-response+json`.
    GraphqlResponse,
    /// `application/json`.
    Json,
}

impl ResponseType {
    /// The `Content-Type` value, with the charset the spec asks for.
    pub fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            ResponseType::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            ResponseType::Json => "application/json; charset=utf-8",
        })
    }
}

/// The items of a list header such as `Accept` or `Accept-Encoding`, each as its value
/// lowercased without parameters and its quality in thousandths (a malformed `q` reads as 0).
pub fn weighted_items<'a>(
    headers: &'a HeaderMap,
    name: header::HeaderName,
) -> impl Iterator<Item = (String, u16)> + 'a {
    headers
        .get_all(name)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|item| {
            let mut params = item.split(';');
            let value = params.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = params
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .map_or(1000, |(_, v)| parse_q(v.trim()).unwrap_or(0));
            (value, q)
        })
        .filter(|(value, _)| !value.is_empty())
}

/// The answer's media type for the request's `Accept` header; `None` when the client accepts
/// neither type (406).
pub fn negotiate(headers: &HeaderMap) -> Option<ResponseType> {
    if headers
        .get_all(header::ACCEPT)
        .iter()
        .all(|v| v.as_bytes().iter().all(u8::is_ascii_whitespace))
    {
        return Some(ResponseType::Json);
    }
    // Best quality wins; on a tie the specific type beats a wildcard, and graphql-response+json
    // beats json (clients listing both prefer the newer one).
    let mut best: Option<(u16, u8, ResponseType)> = None;
    for (media, q) in weighted_items(headers, header::ACCEPT) {
        let (specificity, ty) = match media.as_str() {
            "application/graphql-response+json" => (3, ResponseType::GraphqlResponse),
            "application/json" => (2, ResponseType::Json),
            "application/*" | "*/*" => (1, ResponseType::Json),
            _ => continue,
        };
        if q > 0 && best.is_none_or(|(bq, bs, _)| (q, specificity) > (bq, bs)) {
            best = Some((q, specificity, ty));
        }
    }
    best.map(|(_, _, ty)| ty)
}

/// An HTTP quality value (`0` to `1` with up to three decimals) in thousandths.
fn parse_q(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int: u16 = match int {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    let frac: u16 = format!("{frac:0<3}").parse().ok()?;
    Some((int + frac).min(1000))
}

/// True when a browser navigation asks for a page (`text/html` accepted explicitly).
pub fn wants_html(headers: &HeaderMap) -> bool {
    weighted_items(headers, header::ACCEPT).any(|(media, q)| media == "text/html" && q > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_accept(accept: Option<&str>) -> Option<ResponseType> {
        let mut headers = HeaderMap::new();
        if let Some(a) = accept {
            headers.insert(header::ACCEPT, HeaderValue::from_str(a).unwrap());
        }
        negotiate(&headers)
    }

    #[test]
    fn picks_the_type_the_client_prefers() {
        use ResponseType::*;
        assert_eq!(with_accept(None), Some(Json));
        assert_eq!(with_accept(Some("*/*")), Some(Json));
        assert_eq!(with_accept(Some("application/json")), Some(Json));
        assert_eq!(
            with_accept(Some("application/graphql-response+json")),
            Some(GraphqlResponse)
        );
        // Apollo Client and graphql-http's client.
        assert_eq!(
            with_accept(Some(
                "application/graphql-response+json,application/json;q=0.9"
            )),
            Some(GraphqlResponse)
        );
        assert_eq!(
            with_accept(Some(
                "application/json, application/graphql-response+json;q=0.5"
            )),
            Some(Json)
        );
        assert_eq!(
            with_accept(Some("APPLICATION/JSON; charset=utf-8")),
            Some(Json)
        );
        assert_eq!(with_accept(Some("text/html, */*;q=0.8")), Some(Json));
        assert_eq!(with_accept(Some("text/html")), None);
        assert_eq!(with_accept(Some("application/json;q=0")), None);
        assert_eq!(with_accept(Some("application/json;q=nonsense")), None);
        assert_eq!(with_accept(Some(&",".repeat(10_000))), None);
    }

    #[test]
    fn quality_values() {
        assert_eq!(parse_q("1"), Some(1000));
        assert_eq!(parse_q("0.5"), Some(500));
        assert_eq!(parse_q("0.125"), Some(125));
        assert_eq!(parse_q("1.000"), Some(1000));
        assert_eq!(parse_q("0.1234"), None);
        assert_eq!(parse_q("2"), None);
        assert_eq!(parse_q("-1"), None);
        assert_eq!(parse_q("0.-1"), None);
    }
}
