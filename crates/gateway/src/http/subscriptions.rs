//! Live transports at `/graphql`, in front of the ordinary handlers ([`intercept`]):
//!
//! - `GET /graphql` with `Upgrade: websocket`: GraphQL over WebSocket ([`super::websocket`]);
//! - `POST /graphql` with `Accept: text/event-stream`: GraphQL over Server-Sent Events
//!   (graphql-sse, "distinct connections mode"): one operation per request, one `next` event
//!   per result (`data:` the execution result as JSON), then one `complete` event; a comment
//!   line every `--subscription-keepalive-ms` while idle. Queries and mutations answer one
//!   `next`. A malformed credential header is a 400 before the stream starts; a body a browser
//!   sends cross-site without a CORS preflight (`text/plain`, forms) is a 415 (see
//!   [`super::csrf`]);
//! - `GET /graphql?query=...` with `Accept: text/event-stream`: the same events for a
//!   subscription or a query (the browser's `EventSource` can only GET);
//! - any other `GET /graphql` that names a mutation, or a subscription without
//!   `Accept: text/event-stream`: 405 (`Allow: POST`), before anything runs. A GET must never
//!   change anything (a link, a prefetch, an `<img>` can send one).
//!
//! Everything else passes through to [`super::graphql`].

use std::collections::HashMap;

use async_graphql::{
    Executor as _,
    parser::types::{DocumentOperations, OperationType},
};
use async_graphql_axum::GraphQLRequest;
use axum::{
    extract::{FromRequest as _, Query, Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures::StreamExt as _;

use super::{AppState, error_response, live::LiveExecutor, websocket};
use crate::{caller::Caller, error::Error};

/// The middleware of the `/graphql` route: WebSocket upgrades, SSE requests and the
/// queries-only rule of GET (see the module docs).
pub async fn intercept(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let stream = accepts_event_stream(headers);
    if req.method() == Method::GET && is_upgrade(headers) {
        return websocket::upgrade(state, req).await;
    }
    if req.method() == Method::POST && stream {
        // A page of any origin can send a simple POST without asking CORS first: a stream may
        // run a mutation, so it must be one that a browser would have preflighted.
        if !super::csrf::is_preflighted(req.method(), req.headers()) {
            return error_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Error::bad_input(
                    "a POST with `Accept: text/event-stream` needs `Content-Type: application/json`",
                ),
            );
        }
        return sse(state, req).await;
    }
    if req.method() == Method::GET
        && let Some(query) = req.uri().query()
    {
        match non_query_operation(query) {
            Some(kind) if kind == "mutation" || !stream => {
                let mut response = error_response(
                    StatusCode::METHOD_NOT_ALLOWED,
                    Error::bad_input(format!(
                        "a {kind} cannot be sent with GET: use POST (subscriptions: a WebSocket, POST or GET with `Accept: text/event-stream`)"
                    )),
                );
                response
                    .headers_mut()
                    .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
                return response;
            }
            // A subscription or a query as events (browsers' `EventSource` can only GET).
            _ if stream => return sse(state, req).await,
            _ => {}
        }
    }
    next.run(req).await
}

/// True for a WebSocket upgrade request.
fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// True when the client accepts `text/event-stream` (graphql-sse).
fn accepts_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            item.split(';')
                .next()
                .is_some_and(|media| media.trim().eq_ignore_ascii_case("text/event-stream"))
        })
}

/// `"mutation"` or `"subscription"` when the query string's document selects one; `None` for a
/// query, or for a request that does not parse (the ordinary handler reports it).
fn non_query_operation(query_string: &str) -> Option<&'static str> {
    let request = get_request(query_string).ok()?;
    let document = async_graphql::parser::parse_query(&request.query).ok()?;
    let kinds: Vec<OperationType> = match &document.operations {
        DocumentOperations::Single(op) => vec![op.node.ty],
        DocumentOperations::Multiple(ops) => match &request.operation_name {
            Some(name) => ops
                .iter()
                .filter(|(n, _)| n.as_str() == name)
                .map(|(_, op)| op.node.ty)
                .collect(),
            // Without a name async-graphql refuses several operations anyway; refuse any write.
            None => ops.values().map(|op| op.node.ty).collect(),
        },
    };
    kinds.into_iter().find_map(|ty| match ty {
        OperationType::Query => None,
        OperationType::Mutation => Some("mutation"),
        OperationType::Subscription => Some("subscription"),
    })
}

/// The request of a GET query string, as GraphQL over HTTP names its parameters: `query`,
/// `operationName`, and `variables` / `extensions` as JSON text.
fn get_request(query_string: &str) -> Result<async_graphql::Request, String> {
    let uri: axum::http::Uri = format!("/?{query_string}")
        .parse()
        .map_err(|e| format!("malformed query string: {e}"))?;
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map_err(|e| format!("malformed query string: {e}"))?;
    let mut params = HashMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        if params.insert(name.clone(), value).is_some() {
            return Err(format!("the `{name}` parameter is given more than once"));
        }
    }
    let mut request = async_graphql::Request::new(params.get("query").cloned().unwrap_or_default());
    if let Some(name) = params.get("operationName").filter(|n| !n.is_empty()) {
        request = request.operation_name(name);
    }
    if let Some(raw) = params.get("variables").filter(|v| !v.is_empty()) {
        let variables = serde_json::from_str(raw).map_err(|e| format!("`variables`: {e}"))?;
        request = request.variables(async_graphql::Variables::from_json(variables));
    }
    if let Some(raw) = params.get("extensions").filter(|v| !v.is_empty()) {
        request.extensions = serde_json::from_str(raw).map_err(|e| format!("`extensions`: {e}"))?;
    }
    Ok(request)
}

/// `POST /graphql` with `Accept: text/event-stream`: one operation as graphql-sse events.
async fn sse(state: AppState, req: Request) -> Response {
    let client = state.client();
    let caller = match Caller::from_headers(req.headers(), client.config().workspace.as_deref()) {
        Ok(caller) => caller,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, e.into()),
    };
    let request = if req.method() == Method::GET {
        match get_request(req.uri().query().unwrap_or("")) {
            Ok(request) => request,
            Err(why) => return error_response(StatusCode::BAD_REQUEST, Error::bad_input(why)),
        }
    } else {
        match GraphQLRequest::<async_graphql_axum::rejection::GraphQLRejection>::from_request(
            req, &state,
        )
        .await
        {
            Ok(request) => request.into_inner(),
            Err(rejection) => return rejection.into_response(),
        }
    };
    let keepalive = state.limits().watch.keepalive;
    let executor = LiveExecutor::new(state, caller);
    let results = executor.execute_stream(request, None).map(|response| {
        let json = serde_json::to_string(&response).unwrap_or_else(|_| "{}".to_owned());
        Ok::<_, std::convert::Infallible>(Event::default().event("next").data(json))
    });
    let complete = futures::stream::once(async {
        Ok::<_, std::convert::Infallible>(Event::default().event("complete").data(""))
    });
    Sse::new(results.chain(complete))
        .keep_alive(KeepAlive::new().interval(keepalive))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_refuses_writes_and_subscriptions_only() {
        let q = |query: &str, op: Option<&str>| {
            let mut s = format!(
                "query={}",
                query
                    .replace(' ', "%20")
                    .replace('{', "%7B")
                    .replace('}', "%7D")
            );
            if let Some(op) = op {
                s.push_str(&format!("&operationName={op}"));
            }
            non_query_operation(&s)
        };
        assert_eq!(q("{ jobs { totalCount } }", None), None);
        assert_eq!(q("mutation { x }", None), Some("mutation"));
        assert_eq!(q("subscription { x }", None), Some("subscription"));
        assert_eq!(q("query A { a } mutation B { b }", Some("A")), None);
        assert_eq!(
            q("query A { a } mutation B { b }", Some("B")),
            Some("mutation")
        );
        assert_eq!(q("query A { a } mutation B { b }", None), Some("mutation"));
        assert_eq!(q("not graphql", None), None);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            "application/json, text/event-stream;q=0.9".parse().unwrap(),
        );
        assert!(accepts_event_stream(&headers));
    }
}
