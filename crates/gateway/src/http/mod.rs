//! The HTTP face: axum routes over the GraphQL schema, health and metrics.
//!
//! Routes: `POST /graphql` and `GET /graphql` ([`graphql`]: GraphQL over HTTP; GraphiQL when a
//! browser asks for a page; WebSocket upgrades and `Accept: text/event-stream` go to
//! [`subscriptions`] first), `/graphiql/*` (its embedded assets), `GET /schema.graphql`,
//! `GET /healthz` (the process serves), `GET /readyz` (a real request can be served),
//! `GET /metrics` (Prometheus text). Every request passes [`guard`] (body size, whole-request
//! timeout); CORS and compression wrap everything ([`frontend::wrap`]).

pub mod access;
pub mod apq;
pub mod cors;
pub mod csrf;
pub mod frontend;
pub mod graphiql;
pub mod graphql;
pub mod guard;
pub mod health;
pub mod live;
pub mod negotiation;
pub mod refusal;
pub mod subscriptions;
pub mod trusted;
pub mod websocket;

use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;
use axum::{
    Router,
    http::{HeaderMap, header},
    middleware,
    response::IntoResponse,
    routing::get,
};
use blaxel_transport::Client;
use metrics_exporter_prometheus::PrometheusHandle;

pub use apq::{ApqLimits, ApqStore};
pub use cors::AllowedOrigins;
pub use frontend::{Frontend, FrontendConfig};
pub use graphiql::GraphiqlConfig;
pub use refusal::{RequestError, error_response};
pub use trusted::TrustedDocuments;

use crate::{
    caller::Caller,
    error::Error,
    fairness::Fairness,
    graphql::{GatewaySchema, documents::DocumentCache},
    limits::Limits,
    loader::{InFlight, RequestLoader},
    pagination::Contract,
    watch::Watcher,
};

/// Shared state of the HTTP app: the schema, the upstream client, the limits and the
/// browser-facing settings.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
    frontend: Arc<Frontend>,
}

struct Inner {
    schema: GatewaySchema,
    client: Client,
    limits: Limits,
    metrics: Option<PrometheusHandle>,
    /// Parsed query documents by text, shared by every caller (syntax only).
    documents: DocumentCache,
    /// The last readiness answer (see [`health::readyz`]).
    readiness: health::Readiness,
    /// Turns of each credential (see [`crate::fairness`]).
    fairness: Arc<Fairness>,
    /// The shared pollers of subscriptions and watches.
    watcher: Watcher,
    /// Upstream reads in flight, shared across requests (`--upstream-dedupe`).
    in_flight: Option<InFlight>,
}

impl AppState {
    /// State over an upstream `client` (its configured `Blaxel-Version` decides the listing
    /// contract, once). `metrics` renders `/metrics` (none: an empty page).
    pub fn new(client: Client, limits: Limits, metrics: Option<PrometheusHandle>) -> Self {
        let contract = Contract::of(client.config().api_version);
        let watcher = Watcher::new(client.clone(), limits.watch);
        let fairness = Arc::new(Fairness::new(limits.per_credential_concurrency));
        Self {
            inner: Arc::new(Inner {
                schema: crate::graphql::schema(&limits, contract, &watcher),
                documents: DocumentCache::default(),
                readiness: health::Readiness::default(),
                watcher,
                client,
                limits,
                metrics,
                fairness,
                in_flight: limits.upstream_dedupe.then(InFlight::default),
            }),
            frontend: Arc::default(),
        }
    }

    /// The same state with the browser-facing settings of `config`.
    pub fn with_frontend(mut self, config: FrontendConfig) -> Self {
        self.frontend = Arc::new(Frontend::new(config));
        self
    }

    /// The browser-facing side.
    pub fn frontend(&self) -> &Frontend {
        &self.frontend
    }

    /// The per-credential turns every face takes (see [`crate::fairness`]).
    pub fn fairness(&self) -> &Arc<Fairness> {
        &self.inner.fairness
    }

    /// The GraphQL schema.
    pub fn schema(&self) -> &GatewaySchema {
        &self.inner.schema
    }

    /// The upstream client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The upstream reads in flight, shared by every face (`None`: `--upstream-dedupe false`).
    pub fn in_flight(&self) -> Option<&InFlight> {
        self.inner.in_flight.as_ref()
    }

    /// The shared pollers of subscriptions and watches (every face uses the same).
    pub fn watcher(&self) -> &Watcher {
        &self.inner.watcher
    }
}

/// The gateway's router. Tests call it directly; the binary serves it.
pub fn app(state: AppState) -> Router {
    let limits = state.inner.limits;
    let frontend = state.frontend.config.clone();
    let router = Router::new()
        .route(
            "/graphql",
            graphql::route().layer(middleware::from_fn_with_state(
                state.clone(),
                subscriptions::intercept,
            )),
        )
        .route("/schema.graphql", get(sdl))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .layer(middleware::from_fn_with_state(
            limits,
            guard::request_limits,
        ));
    frontend::wrap(router, &frontend)
        .layer(middleware::from_fn(access::layer))
        .with_state(state)
}

/// Runs `batch` for the caller of `headers` with a fresh set of DataLoaders (one set for the
/// whole batch: its operations share their upstream reads and the cap on upstream calls).
///
/// # Errors
/// A malformed credential header, or a batch over `maxBatch`, refused before anything runs.
pub async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    batch: async_graphql::BatchRequest,
) -> Result<async_graphql::BatchResponse, RequestError> {
    let limits = state.limits();
    if let async_graphql::BatchRequest::Batch(requests) = &batch
        && requests.len() > limits.max_batch
    {
        count_request("batch", "refused");
        let (n, max) = (requests.len(), limits.max_batch);
        return Err(Error::too_complex(
            "maxBatch",
            max as u64,
            format!("the batch has {n} operations, over the limit of {max} (maxBatch)"),
        )
        .into());
    }
    let client = state.client();
    let caller =
        Caller::from_headers(headers, client.config().workspace.as_deref()).map_err(|e| {
            count_request("unknown", "refused");
            RequestError::from(Error::from(e))
        })?;
    crate::observe::with_current(|o| o.workspace(&caller.workspace));
    let documents = &state.inner.documents;
    let mut shared = None;
    // The document of a query that may join another caller's execution: its syntax tree is
    // copied into the request only if this request runs the execution (one copy per flight).
    let mut deferred = None;
    let mut projection = None;
    let (mut batch, ty) = match batch {
        async_graphql::BatchRequest::Single(mut request) => {
            let doc = documents.document(&request.query);
            projection = doc.as_deref().map(|doc| doc.projection);
            let typed = doc
                .as_deref()
                .and_then(|doc| crate::graphql::documents::typed(&doc.tree, &request));
            let ty = match typed {
                Some((ty, name)) => {
                    if ty == async_graphql::parser::types::OperationType::Query {
                        shared = shared_operation(state, &request);
                    }
                    observe_operation(name.as_deref(), operation_type(Some(ty)))
                }
                None => observe_operation(request.operation_name.as_deref(), "unknown"),
            };
            match (&shared, doc) {
                (Some(_), doc) => deferred = doc,
                (None, Some(doc)) => request.set_parsed_query(doc.tree.clone()),
                (None, None) => {}
            }
            (async_graphql::BatchRequest::Single(request), ty)
        }
        batch => {
            let batch = documents.attach_batch(batch);
            (batch, observe_operation(None, "batch"))
        }
    };
    let upstream_calls = price(&mut batch, deferred.as_deref().map(|doc| &doc.tree), limits);
    let fairness = &state.inner.fairness;
    let weight = fairness.weight(upstream_calls, limits.max_upstream_calls);
    // Waits while this credential already runs its share of requests.
    let _turn = fairness.enter_weighted(&caller, weight).await;
    let loader = RequestLoader::new(
        client.clone(),
        caller.credentials.clone(),
        limits.per_request_concurrency,
        limits.max_upstream_calls,
        state.inner.in_flight.clone(),
        projection.unwrap_or_else(|| crate::graphql::projection::of_batch(&batch)),
    );
    let credentials = caller.credentials.clone();
    let batch = batch.data(caller).data(Arc::new(loader));
    let started = std::time::Instant::now();
    let response = match (shared, batch) {
        (Some((in_flight, key)), async_graphql::BatchRequest::Single(mut request)) => {
            let schema = state.schema().clone();
            let execute = futures::FutureExt::boxed(async move {
                if let Some(doc) = deferred {
                    request.set_parsed_query(doc.tree.clone());
                }
                schema.execute(request).await
            });
            async_graphql::BatchResponse::Single(
                in_flight.share_operation(credentials, key, execute).await,
            )
        }
        (_, batch) => state.schema().execute_batch(batch).await,
    };
    let responses: &[async_graphql::Response] = match &response {
        async_graphql::BatchResponse::Single(r) => std::slice::from_ref(r),
        async_graphql::BatchResponse::Batch(rs) => rs,
    };
    crate::observe::with_current(|o| {
        for error in responses.iter().flat_map(|r| &r.errors) {
            if let Some(async_graphql::Value::String(code)) =
                error.extensions.as_ref().and_then(|e| e.get("code"))
            {
                o.code(code);
            }
        }
    });
    // ok: no error; partial: data and errors; error: no data.
    let outcome = if response.is_ok() {
        "ok"
    } else if responses
        .iter()
        .any(|r| r.data != async_graphql::Value::Null)
    {
        "partial"
    } else {
        "error"
    };
    count_request(ty, outcome);
    metrics::histogram!("gateway_graphql_request_duration_seconds", "operation_type" => ty)
        .record(started.elapsed().as_secs_f64());
    Ok(response)
}

/// Prices every operation of `batch` with the cost model ([`crate::graphql::cost`]) and keeps
/// each price in its request ([`Priced`]: the limits extension checks it without pricing
/// again); answers the upstream calls of the whole batch, which decide its turns. A document
/// over `maxDocumentBytes` or that does not parse is left to the extension, which refuses it
/// before any upstream call: it counts as none. `single` is the document of a single request
/// when it is not attached to the request (see `execute`).
fn price(
    batch: &mut async_graphql::BatchRequest,
    single: Option<&ExecutableDocument>,
    limits: &crate::Limits,
) -> u64 {
    let requests = match batch {
        async_graphql::BatchRequest::Single(request) => std::slice::from_mut(request),
        async_graphql::BatchRequest::Batch(requests) => requests.as_mut_slice(),
    };
    let mut calls = 0_u64;
    for request in requests {
        if request.query.len() > limits.max_document_bytes {
            continue;
        }
        let cost = match single {
            Some(doc) => Some(crate::graphql::cost::price(
                doc,
                &request.variables,
                limits.max_first,
            )),
            None => {
                // Set aside while the document is borrowed (`parsed_query` borrows the whole
                // request).
                let variables = std::mem::take(&mut request.variables);
                let cost = request
                    .parsed_query()
                    .ok()
                    .map(|doc| crate::graphql::cost::price(doc, &variables, limits.max_first));
                request.variables = variables;
                cost
            }
        };
        if let Some(cost) = cost {
            calls = calls.saturating_add(cost.upstream_calls);
            request.data.insert(crate::graphql::cost::Priced(cost));
        }
    }
    calls
}

/// Counts a GraphQL request by operation type (`query`, `mutation`, `subscription`, `batch`,
/// `unknown`: bounded, never the caller's operation name) and outcome (`ok`, `partial`, `error`,
/// `refused` before execution).
fn count_request(ty: &'static str, outcome: &'static str) {
    metrics::counter!("gateway_graphql_requests_total", "operation_type" => ty, "outcome" => outcome)
        .increment(1);
}

/// The label of an operation type (`unknown` when the document did not parse or does not
/// decide it).
fn operation_type(ty: Option<async_graphql::parser::types::OperationType>) -> &'static str {
    use async_graphql::parser::types::OperationType;
    match ty {
        Some(OperationType::Query) => "query",
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        None => "unknown",
    }
}

/// The in-flight map and key under which query `request` may share its execution with the same
/// query of the same caller (`--upstream-dedupe`); None when dedupe is off.
fn shared_operation(
    state: &AppState,
    request: &async_graphql::Request,
) -> Option<(crate::loader::InFlight, crate::loader::Operation)> {
    let in_flight = state.inner.in_flight.clone()?;
    let variables = serde_json::to_string(&request.variables).ok()?;
    Some((
        in_flight,
        crate::loader::Operation {
            query: request.query.clone(),
            operation_name: request.operation_name.clone(),
            variables,
        },
    ))
}

/// Records the operation on the current request (span, access line); answers `ty`.
fn observe_operation(name: Option<&str>, ty: &'static str) -> &'static str {
    crate::observe::with_current(|o| o.operation(name, ty));
    ty
}

/// `GET /schema.graphql`: the SDL.
async fn sdl(axum::extract::State(state): axum::extract::State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        state.schema().sdl(),
    )
}
