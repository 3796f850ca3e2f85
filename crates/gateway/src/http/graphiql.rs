//! GraphiQL, served from assets embedded in the binary (no CDN, no external URL).
//!
//! `GET /graphql` from a browser (an `Accept` naming `text/html`, no `query` parameter) answers a
//! small page; it loads pinned production builds of React 18 and GraphiQL 3 from
//! `/graphiql/<package>@<version>/...` (cached by browsers as immutable: the path changes with the
//! version) and `/graphiql/init.js`, which starts GraphiQL with the page's settings. A strict CSP
//! allows scripts and connections to this origin only. See `assets/graphiql/README.md` for the
//! versions and how to refresh them.

use axum::{
    Router,
    body::Bytes,
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;
use tokio::sync::OnceCell;

/// The CSP of the page: scripts, styles and `fetch` to this origin only; GraphiQL's fonts and
/// icons are `data:` URLs; CodeMirror and React set inline `style` attributes.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Cache policy of the versioned vendor files.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache policy of the page and of `init.js`, which change with the gateway, not with a version.
const REVALIDATE: &str = "no-cache";

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// An embedded file: its path under `/graphiql`, type, cache policy, bytes, and its gzip form,
/// made once on first use.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    cache: &'static str,
    bytes: &'static [u8],
    gzip: OnceCell<Bytes>,
}

macro_rules! asset {
    ($path:literal, $file:literal, $ty:expr, $cache:expr) => {
        Asset {
            path: $path,
            content_type: $ty,
            cache: $cache,
            bytes: include_bytes!(concat!("../../assets/graphiql/", $file)),
            gzip: OnceCell::const_new(),
        }
    };
}

static ASSETS: [Asset; 5] = [
    asset!(
        "/graphiql/react@18.3.1/react.production.min.js",
        "react.production.min.js",
        JS,
        IMMUTABLE
    ),
    asset!(
        "/graphiql/react-dom@18.3.1/react-dom.production.min.js",
        "react-dom.production.min.js",
        JS,
        IMMUTABLE
    ),
    asset!(
        "/graphiql/graphiql@3.8.3/graphiql.min.js",
        "graphiql.min.js",
        JS,
        IMMUTABLE
    ),
    asset!(
        "/graphiql/graphiql@3.8.3/graphiql.min.css",
        "graphiql.min.css",
        CSS,
        IMMUTABLE
    ),
    asset!("/graphiql/init.js", "init.js", JS, REVALIDATE),
];

/// The README's example query: the first page of the demo job's executions.
pub const DEFAULT_QUERY: &str = r#"# Job executions as a Relay connection. Press the run button (or Ctrl-Enter).
# Pass pageInfo.endCursor (or any edge's cursor) as `after` for the next page.
{
  jobExecutions(jobName: "data-processing-job", first: 2) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        metadata { id createdAt }
        status
        stats { total success }
      }
    }
  }
}
"#;

/// Settings of the GraphiQL page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphiqlConfig {
    /// Headers prefilled in GraphiQL's header editor, as JSON text (e.g. the embedded
    /// emulator's demo token and workspace). None: the editor starts empty.
    pub default_headers: Option<String>,
}

/// The routes of the embedded files, under `/graphiql/`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    ASSETS.iter().fold(Router::new(), |router, asset| {
        router.route(
            asset.path,
            get(move |headers: HeaderMap| serve(asset, headers)),
        )
    })
}

/// The file, gzipped when the client accepts gzip. The gzip form is made once per process (off
/// the async workers) and then reused: compressing 3.5 MB of GraphiQL on every request would let
/// any caller spend the gateway's CPU at will. The compression layer leaves a response with a
/// `Content-Encoding` alone.
async fn serve(asset: &'static Asset, headers: HeaderMap) -> Response {
    let mut response = if accepts_gzip(&headers) {
        let gzip = asset
            .gzip
            .get_or_init(|| async {
                tokio::task::spawn_blocking(|| gzip(asset.bytes))
                    .await
                    .unwrap_or_default()
            })
            .await;
        if gzip.is_empty() {
            asset.bytes.into_response()
        } else {
            ([(header::CONTENT_ENCODING, "gzip")], gzip.clone()).into_response()
        }
    } else {
        asset.bytes.into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(asset.cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}

fn gzip(bytes: &[u8]) -> Bytes {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    match encoder.write_all(bytes).and_then(|()| encoder.finish()) {
        Ok(gz) => Bytes::from(gz),
        // Empty means "serve the file as is" (writing to a Vec does not fail in practice).
        Err(_) => Bytes::new(),
    }
}

/// True when `Accept-Encoding` lists `gzip` (or `*`) with a non-zero quality.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    super::negotiation::weighted_items(headers, header::ACCEPT_ENCODING)
        .any(|(coding, q)| (coding == "gzip" || coding == "*") && q > 0)
}

/// The GraphiQL page for `endpoint`.
pub fn page(endpoint: &str, config: &GraphiqlConfig) -> Response {
    let settings = json!({
        "endpoint": endpoint,
        "defaultQuery": DEFAULT_QUERY,
        "defaultHeaders": config.default_headers,
    })
    .to_string()
    // JSON inside <script> ends at the first "</": escape every '<' so no value can close it.
    .replace('<', "\\u003c");
    let [react, react_dom, js, css, init] = [0, 1, 2, 3, 4].map(|i| ASSETS[i].path);
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>blaxel-gateway GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{css}">
<style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script id="graphiql-config" type="application/json">{settings}</script>
<script src="{react}"></script>
<script src="{react_dom}"></script>
<script src="{js}"></script>
<script src="{init}"></script>
</body>
</html>
"#
    );
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, REVALIDATE),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            // The same URL answers JSON to API clients.
            (header::VARY, "Accept"),
        ],
        html,
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn page_escapes_its_settings_and_names_only_local_assets() {
        let config = GraphiqlConfig {
            default_headers: Some(r#"{"x": "</script><script>alert(1)</script>"}"#.into()),
        };
        let response = page("/graphql", &config);
        assert_eq!(response.headers()[header::CONTENT_SECURITY_POLICY], CSP);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let html = std::str::from_utf8(&body).unwrap();
        assert_eq!(html.matches("</script>").count(), 5, "{html}");
        assert!(!html.contains("http://") && !html.contains("https://"));
        for asset in &ASSETS {
            assert!(html.contains(asset.path), "{}", asset.path);
            assert!(!asset.bytes.is_empty());
        }
        assert!(
            ASSETS
                .iter()
                .all(|a| a.cache == REVALIDATE || a.path.contains('@'))
        );
    }

    #[test]
    fn gzip_is_offered_only_to_clients_that_accept_it() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(v));
            accepts_gzip(&h)
        };
        assert!(with("gzip, deflate, br"));
        assert!(with("br;q=1.0, GZIP;q=0.5"));
        assert!(with("*"));
        assert!(!with("gzip;q=0"));
        assert!(!with("br"));
        assert!(!with("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
