//! `GET /graphql` and `POST /graphql` as the GraphQL over HTTP spec asks (the `graphql-http`
//! audit passes with no error and no warning; see tests/http-audit).
//!
//! Request side: `POST` needs `Content-Type: application/json` (415 otherwise: a missing type
//! or one a browser sends without preflight is refused); the body is a JSON object, or a
//! non-empty array of them (a batch); `GET` takes `query`, `operationName`, `variables` and
//! `extensions` (JSON text) in the URL and runs queries only (405 otherwise). A malformed request
//! is a 400 whose message says what is wrong and where (line and column of JSON and GraphQL
//! syntax errors). Persisted queries are resolved here ([`super::apq`]).
//!
//! Answer side: the media type follows `Accept` ([`super::negotiation`]). With
//! `application/graphql-response+json`, a request that fails before execution (syntax,
//! validation, variables, limits) is a 400 without `data`; with `application/json` it is a 200,
//! as older clients expect. Every error carries `extensions.code`. Every answer is
//! `Cache-Control: private, no-store` with `Vary` on the credential headers.

use async_graphql::{
    BatchRequest, ErrorExtensionValues, Pos, Request, ServerError, Variables,
    parser::types::{
        DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
    },
};
use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, Query, State},
    http::{HeaderMap, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::{self, MethodRouter},
};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{
    AppState, RequestError,
    apq::{self, Persisted},
    csrf,
    frontend::private_answer,
    graphiql,
    negotiation::{self, ResponseType},
    trusted,
};
use crate::{
    error::Error,
    graphql::json::{DirectJson, JsonOut as _, Rope, copied_len, write_response},
};

/// The code of every malformed request (`crate::error::Code::BadUserInput`'s wire form).
const BAD_USER_INPUT: &str = "BAD_USER_INPUT";

/// The `/graphql` route: GET and POST, and a JSON 405 for any other method (a preflight never
/// gets here when CORS is on: the CORS layer answers it).
pub fn route() -> MethodRouter<AppState> {
    routing::get(get)
        .post(post)
        .fallback(|| async {
            let mut e = RequestError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                BAD_USER_INPUT,
                "/graphql takes GET (queries) and POST",
            );
            e.allow = Some("GET, HEAD, POST");
            e.into_response(ResponseType::Json)
        })
        // The body is already read within --max-body-bytes (the server's request limits); axum's
        // own 2 MB default must not cut a larger configured limit short with a bare 413.
        .layer(DefaultBodyLimit::disable())
}

/// `POST /graphql`.
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(ty) = negotiation::negotiate(&headers) else {
        return not_acceptable();
    };
    let parsed = check_content_type(&headers).and_then(|()| parse_body(&body));
    match parsed {
        Ok((params, batch)) => run(&state, &headers, &Method::POST, params, batch, ty).await,
        Err(e) => e.into_response(ty),
    }
}

/// `GET /graphql`: GraphiQL for a browser asking for a page, otherwise a query in the URL.
pub async fn get(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let frontend = state.frontend();
    if frontend.config.graphiql
        && uri.query().is_none_or(str::is_empty)
        && negotiation::wants_html(&headers)
    {
        return graphiql::page(uri.path(), &frontend.config.graphiql_config);
    }
    let Some(ty) = negotiation::negotiate(&headers) else {
        return not_acceptable();
    };
    match parse_url(&uri) {
        Ok(params) => run(&state, &headers, &Method::GET, vec![params], false, ty).await,
        Err(e) => e.into_response(ty),
    }
}

fn not_acceptable() -> Response {
    RequestError::new(
        StatusCode::NOT_ACCEPTABLE,
        BAD_USER_INPUT,
        "Accept names neither application/graphql-response+json nor application/json",
    )
    .into_response(ResponseType::Json)
}

fn bad_request(message: impl Into<String>) -> RequestError {
    RequestError::new(StatusCode::BAD_REQUEST, BAD_USER_INPUT, message)
}

/// One operation's parameters, as sent.
#[derive(Debug, Default)]
struct Params {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
    extensions: Option<Value>,
}

fn check_content_type(headers: &HeaderMap) -> Result<(), RequestError> {
    let unsupported =
        |m: String| RequestError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, BAD_USER_INPUT, m);
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(unsupported(
            "a POST needs Content-Type: application/json".to_owned(),
        ));
    };
    let value = value.to_str().unwrap_or("");
    let essence = csrf::essence(value);
    if csrf::SIMPLE_CONTENT_TYPES.contains(&essence.as_str()) {
        return Err(unsupported(format!(
            "Content-Type {essence} is refused: a browser sends it cross-origin without a CORS \
             preflight (CSRF); send application/json"
        )));
    }
    if essence != "application/json" {
        return Err(unsupported(format!(
            "Content-Type {essence:?} is not supported: send application/json"
        )));
    }
    let charset = value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
    });
    match charset.as_deref() {
        None | Some("utf-8" | "utf8") => Ok(()),
        Some(other) => Err(unsupported(format!(
            "charset {other} is not supported: send UTF-8"
        ))),
    }
}

/// The POST body: one operation, or a batch (true).
fn parse_body(body: &[u8]) -> Result<(Vec<Params>, bool), RequestError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(bad_request(
            "the request body is empty: send a JSON object such as {\"query\": \"{ __typename }\"}",
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| bad_request(format!("the request body is not valid JSON: {e}")))?;
    match value {
        Value::Array(items) if items.is_empty() => Err(bad_request(
            "the request body is an empty batch: send at least one operation",
        )),
        Value::Array(items) => {
            let n = items.len();
            let params = items
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    params_of(item).map_err(|mut e| {
                        e.message =
                            format!("operation {} of the batch of {n}: {}", i + 1, e.message);
                        e
                    })
                })
                .collect::<Result<_, _>>()?;
            Ok((params, true))
        }
        other => Ok((vec![params_of(other)?], false)),
    }
}

fn params_of(value: Value) -> Result<Params, RequestError> {
    let Value::Object(mut object) = value else {
        return Err(bad_request(format!(
            "the request must be a JSON object such as {{\"query\": \"{{ __typename }}\"}}, not {}",
            crate::error::json_kind(&value)
        )));
    };
    let mut take = |key: &str, want: &str, ok: fn(&Value) -> bool| match object.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) if ok(&v) => Ok(Some(v)),
        Some(v) => Err(bad_request(format!(
            "`{key}` must be {want} or null, not {}",
            crate::error::json_kind(&v)
        ))),
    };
    let query = take("query", "a string", Value::is_string)?;
    let operation_name = take("operationName", "a string", Value::is_string)?;
    let variables = take("variables", "an object", Value::is_object)?;
    let extensions = take("extensions", "an object", Value::is_object)?;
    finish_params(Params {
        query: query.and_then(|v| v.as_str().map(str::to_owned)),
        operation_name: operation_name.and_then(|v| v.as_str().map(str::to_owned)),
        variables: variables.and_then(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        }),
        extensions,
    })
}

/// Refuses an operation without a query, unless it names a persisted one.
fn finish_params(params: Params) -> Result<Params, RequestError> {
    let persisted = params
        .extensions
        .as_ref()
        .is_some_and(|e| e.get("persistedQuery").is_some());
    if params.query.is_none() && !persisted {
        return Err(bad_request(
            "the request has no `query`: send {\"query\": \"{ ... }\"}",
        ));
    }
    Ok(params)
}

/// The parameters of a GET, from the URL.
fn parse_url(uri: &Uri) -> Result<Params, RequestError> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map_err(|e| bad_request(format!("the URL's query string cannot be read: {e}")))?;
    let mut params = Params::default();
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in &pairs {
        if seen.contains(&key.as_str()) {
            return Err(bad_request(format!("the URL gives `{key}` more than once")));
        }
        seen.push(key);
        match key.as_str() {
            "query" => params.query = Some(value.clone()),
            "operationName" => {
                params.operation_name = Some(value.clone()).filter(|v| !v.is_empty())
            }
            "variables" => {
                params.variables = json_param(key, value)?.and_then(|v| match v {
                    Value::Object(m) => Some(m),
                    _ => None,
                })
            }
            "extensions" => params.extensions = json_param(key, value)?,
            _ => {}
        }
    }
    finish_params(params)
}

/// A URL parameter holding a JSON object (or `null`, or nothing).
fn json_param(key: &str, text: &str) -> Result<Option<Value>, RequestError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| bad_request(format!("the `{key}` parameter is not valid JSON: {e}")))?;
    match value {
        Value::Null => Ok(None),
        Value::Object(_) => Ok(Some(value)),
        other => Err(bad_request(format!(
            "the `{key}` parameter must be a JSON object, not {}",
            crate::error::json_kind(&other)
        ))),
    }
}

/// One operation on its way: answered already (a persisted query not found) or to execute.
enum Slot {
    Answered(async_graphql::Response),
    Execute {
        query: String,
        register: Option<[u8; 32]>,
    },
}

async fn run(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
    params: Vec<Params>,
    batch: bool,
    ty: ResponseType,
) -> Response {
    let frontend = state.frontend();
    let preflighted = csrf::is_preflighted(method, headers);
    let mut slots = Vec::with_capacity(params.len());
    let mut requests = Vec::with_capacity(params.len());
    for p in params {
        match prepare(state, method, preflighted, p) {
            Ok(Prepared::Answered(response)) => slots.push(Slot::Answered(response)),
            Ok(Prepared::Execute(request, query, register)) => {
                requests.push(request);
                slots.push(Slot::Execute { query, register });
            }
            Err(e) => return e.into_response(ty),
        }
    }
    let mut executed = if requests.is_empty() {
        Vec::new()
    } else {
        let request = if batch {
            BatchRequest::Batch(requests)
        } else {
            BatchRequest::Single(requests.pop().expect("one request"))
        };
        // `answer` writes the responses with `json::write_response`: executions may come
        // pre-encoded.
        let request = request.data(DirectJson(true));
        match super::execute(state, headers, request).await {
            Ok(async_graphql::BatchResponse::Single(r)) => vec![r],
            Ok(async_graphql::BatchResponse::Batch(rs)) => rs,
            Err(e) => return e.into_response(ty),
        }
    }
    .into_iter();
    let responses: Vec<async_graphql::Response> = slots
        .into_iter()
        .map(|slot| match slot {
            Slot::Answered(response) => response,
            Slot::Execute { query, register } => {
                let mut response = executed.next().unwrap_or_default();
                if is_request_error(&response) {
                    explain_request_error(&mut response, &query);
                } else if let Some(hash) = register {
                    metrics::counter!("gateway_persisted_queries_total", "outcome" => "registered")
                        .increment(1);
                    frontend.apq.put(hash, &query);
                }
                response
            }
        })
        .collect();
    answer(responses, batch, ty, state.limits().max_response_bytes)
}

enum Prepared {
    Answered(async_graphql::Response),
    Execute(Request, String, Option<[u8; 32]>),
}

fn prepare(
    state: &AppState,
    method: &Method,
    preflighted: bool,
    p: Params,
) -> Result<Prepared, RequestError> {
    let frontend = state.frontend();
    let persisted = apq::classify(p.query.as_deref(), p.extensions.as_ref())
        .map_err(|e| bad_request(e.to_string()))?;
    let trusted = frontend.config.trusted_documents.as_ref();
    let lookup = |hash: &[u8; 32]| match trusted {
        Some(trusted) => trusted.get(hash),
        None => frontend.apq.get(hash),
    };
    let (query, register) = match persisted {
        Persisted::Lookup(hash) => match lookup(&hash) {
            Some(text) => {
                metrics::counter!("gateway_persisted_queries_total", "outcome" => "hit")
                    .increment(1);
                (text.to_string(), None)
            }
            None => {
                metrics::counter!("gateway_persisted_queries_total", "outcome" => "miss")
                    .increment(1);
                return Ok(Prepared::Answered(error_response(
                    apq::NOT_FOUND_MESSAGE.to_owned(),
                    None,
                    apq::PERSISTED_QUERY_NOT_FOUND,
                )));
            }
        },
        Persisted::None | Persisted::Register(_)
            if trusted.is_some_and(|t| !t.contains_text(p.query.as_deref().unwrap_or(""))) =>
        {
            let mut e = bad_request(
                "this gateway runs trusted documents only (--trusted-documents), and this \
                 operation is not one of them",
            );
            e.code = trusted::PERSISTED_QUERY_NOT_IN_LIST;
            return Err(e);
        }
        // A trusted document sent in full runs, but nothing is registered in this mode.
        Persisted::Register(_) if trusted.is_some() => (p.query.unwrap_or_default(), None),
        Persisted::None => (p.query.unwrap_or_default(), None),
        Persisted::Register(hash) => (p.query.unwrap_or_default(), Some(hash)),
    };
    let mut request = Request::new(query.clone());
    if let Some(name) = p.operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = p.variables {
        request = request.variables(Variables::from_json(Value::Object(variables)));
    }
    let introspection = frontend.config.introspection;
    if !introspection {
        // async-graphql then resolves `__schema` to null without a word; the check below
        // refuses such a document with an error instead. This stays as the backstop.
        request = request.disable_introspection();
    }
    // Only a query may run on GET, or without a CORS preflight: find the operation's type
    // before anything runs. The parsed document is handed on, so it is not parsed again.
    // A document that does not parse runs nothing: execution reports its error, through the
    // operation limits like any other.
    let typed = method == Method::GET || !preflighted;
    if (typed || !introspection)
        && let Ok(doc) = async_graphql::parser::parse_query(&query)
    {
        if !introspection
            && doc
                .operations
                .iter()
                .any(|(_, op)| selects_introspection(&doc, &op.node.selection_set.node, 0))
        {
            return Ok(Prepared::Answered(error_response(
                "introspection is disabled on this gateway (--introspection false): \
                 __schema and __type cannot be queried"
                    .to_owned(),
                None,
                BAD_USER_INPUT,
            )));
        }
        if typed
            && let Some(ty) = operation_type(&doc, request.operation_name.as_deref())
            && ty != OperationType::Query
        {
            let what = match ty {
                OperationType::Mutation => "mutation",
                _ => "subscription",
            };
            if method == Method::GET {
                let mut e = RequestError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    BAD_USER_INPUT,
                    format!("a {what} cannot be sent with GET, which only runs queries: use POST"),
                );
                e.allow = Some("POST");
                return Err(e);
            }
            return Err(bad_request(csrf::refusal(what)));
        }
        request.set_parsed_query(doc);
    }
    Ok(Prepared::Execute(request, query, register))
}

/// The type of the operation `name` selects; None when the document does not decide it (then
/// execution reports the error, and runs nothing).
pub(crate) fn operation_type(
    doc: &ExecutableDocument,
    name: Option<&str>,
) -> Option<OperationType> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), None) => Some(op.node.ty),
        (DocumentOperations::Single(_), Some(_)) => None,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| op.node.ty)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// True when a root selection set asks for `__schema` or `__type`, directly or through
/// fragments (followed 16 deep: cycles are invalid anyway, and validation reports them).
fn selects_introspection(doc: &ExecutableDocument, set: &SelectionSet, depth: usize) -> bool {
    if depth > 16 {
        return false;
    }
    set.items.iter().any(|item| match &item.node {
        Selection::Field(field) => matches!(field.node.name.node.as_str(), "__schema" | "__type"),
        Selection::InlineFragment(fragment) => {
            selects_introspection(doc, &fragment.node.selection_set.node, depth + 1)
        }
        Selection::FragmentSpread(spread) => doc
            .fragments
            .get(&spread.node.fragment_name.node)
            .is_some_and(|f| selects_introspection(doc, &f.node.selection_set.node, depth + 1)),
    })
}

/// True when the operation failed before execution (syntax, validation, variables, limits):
/// no data, and no error of a field.
pub fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

fn error_response(message: String, pos: Option<Pos>, code: &str) -> async_graphql::Response {
    let mut error = ServerError::new(message, pos);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    async_graphql::Response::from_errors(vec![error])
}

/// A readable syntax error: "Syntax error at line 1, column 2: expected selection", instead of
/// the parser's multi-line report with ASCII art.
fn syntax_error(e: &async_graphql::parser::Error) -> async_graphql::Response {
    let pos = e.positions().next();
    let message = match e {
        async_graphql::parser::Error::Syntax { message, start, .. } => {
            let expected = message
                .rsplit_once("= ")
                .map_or(message.as_str(), |(_, tail)| tail)
                .trim();
            format!(
                "Syntax error at line {}, column {}: {expected}",
                start.line, start.column
            )
        }
        other => other.to_string(),
    };
    error_response(message, pos, BAD_USER_INPUT)
}

/// Gives a request error a readable syntax message, and every error a code.
fn explain_request_error(response: &mut async_graphql::Response, query: &str) {
    // The parser's report starts with an arrow to the position (" --> 1:2"); only then is a
    // second parse worth it, to get the structured error back.
    let syntax = response.errors.len() == 1 && response.errors[0].message.contains("-->");
    if syntax && let Err(e) = async_graphql::parser::parse_query(query) {
        *response = syntax_error(&e);
        return;
    }
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", BAD_USER_INPUT);
        }
    }
}

/// One answer as sent: in full, or (a request error under graphql-response+json) without
/// `data`, as the spec asks.
#[derive(Serialize)]
#[serde(untagged)]
enum Body<'a> {
    Full(&'a async_graphql::Response),
    Errors {
        errors: &'a [ServerError],
        #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
    },
}

/// The HTTP answer of `responses`: serialised once, into the body that is sent, and measured on
/// the way. An answer over `max_bytes` (`maxResponseBytes`) is replaced by a `QUERY_TOO_COMPLEX`
/// error naming the limit: the cost model refused most such requests before they ran, this
/// holds where its estimate was wrong.
fn answer(
    responses: Vec<async_graphql::Response>,
    batch: bool,
    ty: ResponseType,
    max_bytes: u64,
) -> Response {
    let strict = ty == ResponseType::GraphqlResponse;
    let request_errors: Vec<bool> = responses.iter().map(is_request_error).collect();
    let bodies: Vec<Body<'_>> = responses
        .iter()
        .zip(&request_errors)
        .map(|(r, &failed)| {
            if strict && failed && !not_found(r) {
                Body::Errors {
                    errors: &r.errors,
                    extensions: &r.extensions,
                }
            } else {
                Body::Full(r)
            }
        })
        .collect();
    // A persisted query not found is a step of the protocol, not a malformed request: 200, as
    // Apollo's servers answer it (clients then send the text).
    let failed = strict
        && request_errors
            .iter()
            .zip(&responses)
            .all(|(&failed, r)| failed && !not_found(r));
    let body = write_bodies(&bodies, batch).unwrap_or_else(|_| {
        // Serializing values built by async-graphql cannot fail; answer an error rather than
        // panic.
        let mut rope = Rope::default();
        rope.extend_from_slice(br#"{"errors":[{"message":"the answer could not be serialized","extensions":{"code":"UPSTREAM_ERROR"}}]}"#);
        rope
    });
    if body.len() as u64 > max_bytes {
        let err = Error::too_complex(
            "maxResponseBytes",
            max_bytes,
            format!(
                "the answer is {} bytes, over the limit of {max_bytes} bytes (maxResponseBytes): select fewer fields or a smaller `first`",
                body.len()
            ),
        );
        let mut response = super::error_response(StatusCode::OK, err);
        private_answer(&mut response);
        return response;
    }
    let status = if failed {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut response = (
        status,
        [(header::CONTENT_TYPE, ty.content_type())],
        body.into_body(),
    )
        .into_response();
    for r in &responses {
        for (name, value) in &r.http_headers {
            response.headers_mut().append(name, value.clone());
        }
    }
    private_answer(&mut response);
    response
}

/// The JSON of `bodies`: a list when `batch`, else the first. Full responses are written by
/// [`write_response`] (pre-encoded executions passed through).
fn write_bodies(bodies: &[Body<'_>], batch: bool) -> serde_json::Result<Rope> {
    let bodies = if batch { bodies } else { &bodies[..1] };
    let copied: usize = bodies
        .iter()
        .map(|body| match body {
            Body::Full(response) => copied_len(&response.data),
            Body::Errors { .. } => 0,
        })
        .sum();
    let mut out = Rope::with_capacity(16 * 1024 + copied);
    if batch {
        out.push(b'[');
    }
    for (i, body) in bodies.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match body {
            Body::Full(response) => write_response(&mut out, response)?,
            errors => serde_json::to_writer(&mut out, errors)?,
        }
    }
    if batch {
        out.push(b']');
    }
    Ok(out)
}

fn not_found(response: &async_graphql::Response) -> bool {
    response.errors.iter().any(|e| {
        e.extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .is_some_and(|c| *c == async_graphql::Value::from(apq::PERSISTED_QUERY_NOT_FOUND))
    })
}
