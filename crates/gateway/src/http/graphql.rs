//! The GraphQL endpoints: `POST /graphql`, `GET /graphql` (queries, or GraphiQL for a browser)
//! and `GET /schema.graphql`.

use std::sync::Arc;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLBatchRequest, GraphQLResponse};
use axum::{
    extract::{FromRequest as _, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
};

use super::{AppState, error_response};
use crate::{caller::Caller, loader::RequestLoader};

/// Executes a batch for the caller of `headers`, with a fresh set of DataLoaders.
async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    batch: async_graphql::BatchRequest,
) -> Response {
    let client = state.client();
    let caller = match Caller::from_headers(headers, client.config().workspace.as_deref()) {
        Ok(caller) => caller,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, e.into()),
    };
    let loader = RequestLoader::new(
        client.clone(),
        caller.credentials.clone(),
        state.limits().per_request_concurrency,
    );
    let batch = state
        .inner
        .documents
        .attach_batch(batch)
        .data(caller)
        .data(Arc::new(loader));
    let started = std::time::Instant::now();
    let response = state.schema().execute_batch(batch).await;
    let ok = response.is_ok();
    metrics::counter!("gateway_graphql_requests_total", "outcome" => if ok { "ok" } else { "error" })
        .increment(1);
    metrics::histogram!("gateway_graphql_request_duration_seconds")
        .record(started.elapsed().as_secs_f64());
    GraphQLResponse::from(response).into_response()
}

/// `POST /graphql`: one operation or a batch.
pub async fn graphql_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    req: GraphQLBatchRequest,
) -> Response {
    execute(&state, &headers, req.into_inner()).await
}

/// `GET /graphql`: GraphiQL for a browser, else a query in the URL.
pub async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    req: axum::extract::Request,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html && req.uri().query().is_none_or(|q| !q.contains("query=")) {
        return Html(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql")
                .finish(),
        )
        .into_response();
    }
    match GraphQLBatchRequest::<async_graphql_axum::rejection::GraphQLRejection>::from_request(
        req, &state,
    )
    .await
    {
        Ok(batch) => execute(&state, &headers, batch.into_inner()).await,
        Err(rejection) => rejection.into_response(),
    }
}

/// `GET /schema.graphql`: the SDL.
pub async fn sdl(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        state.schema().sdl(),
    )
}
