//! Operation limits of the GraphQL face, enforced by one async-graphql extension: document size,
//! the cost model ([`super::cost`]: aliases and fields with fragments expanded, upstream calls,
//! response size), depth and complexity. Each error has `extensions.code = QUERY_TOO_COMPLEX` and names the limit, its
//! value and what the operation asked for (in the message, and as `extensions.limit` and
//! `extensions.max`).
//!
//! The same extension gives every error of a response an `extensions.code`: errors that
//! async-graphql raises itself (a syntax error, an unknown field, an argument or variable of
//! the wrong type or out of range) become `BAD_USER_INPUT`, and the parser's nesting limit
//! becomes `QUERY_TOO_COMPLEX`.

use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::{
    Request, Response, ServerError, ServerResult, ValidationResult,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextPrepareRequest,
        NextRequest, NextValidation,
    },
};

use super::{
    cost::{self, Cost, Priced},
    documents::DEFAULT_CAPACITY,
    json::DirectJson,
    order::{KeyOrder, KeyOrders},
    validated::{Key, Validations},
};
use crate::{error::Code, limits::Limits};

/// The extension factory enforcing the document limits of [`Limits`].
pub struct LimitsExtension {
    limits: Limits,
    orders: Arc<KeyOrders>,
    validations: Arc<Validations>,
}

impl LimitsExtension {
    /// The extension for `limits`, with an empty cache of key orders and no validation
    /// remembered.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            orders: Arc::new(KeyOrders::new(DEFAULT_CAPACITY)),
            validations: Arc::new(Validations::new(DEFAULT_CAPACITY)),
        }
    }
}

impl ExtensionFactory for LimitsExtension {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsCheck {
            limits: self.limits,
            orders: Arc::clone(&self.orders),
            order: Mutex::new(None),
            validations: Arc::clone(&self.validations),
            validation: Mutex::new(None),
        })
    }
}

struct LimitsCheck {
    limits: Limits,
    orders: Arc<KeyOrders>,
    /// The parsed document's key order, applied to the response (see [`super::order`]).
    order: Mutex<Option<Arc<KeyOrder>>>,
    validations: Arc<Validations>,
    /// This request's validation: remembered (see [`super::validated`]), or to remember.
    validation: Mutex<Option<Validation>>,
}

/// A request's validation, decided before async-graphql validates.
enum Validation {
    /// The result of the same document, operation and variables earlier.
    Remembered(ValidationResult),
    /// Not seen yet: remembered under this key if it validates.
    Remember(Key),
}

fn too_complex(limit: &str, max: usize, message: String) -> ServerError {
    let mut err = ServerError::new(message, None);
    let extensions = err.extensions.get_or_insert_with(Default::default);
    extensions.set("code", Code::QueryTooComplex.as_str());
    extensions.set("limit", limit);
    extensions.set("max", max as u64);
    err
}

/// Gives `err` a code when it has none: async-graphql's own errors are about the request.
fn ensure_code(err: &mut ServerError) {
    let extensions = err.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_some() {
        return;
    }
    // The parser's own bound on nesting (async-graphql's `limit_recursive_depth`, 32).
    let code = if err.message.contains("recursion") || err.message.contains("recursive") {
        Code::QueryTooComplex
    } else {
        Code::BadUserInput
    };
    extensions.set("code", code.as_str());
}

/// The first limit of the cost model that `cost` exceeds, as an error naming the limit, its
/// value and the estimate.
fn over_budget(cost: &Cost, limits: &Limits) -> Option<ServerError> {
    let checks = [
        (
            "maxAliases",
            cost.aliases,
            limits.max_aliases as u64,
            "aliases (fragments expanded)",
        ),
        (
            "maxFields",
            cost.fields,
            limits.max_fields,
            "fields (fragments expanded)",
        ),
        (
            "maxUpstreamCalls",
            cost.upstream_calls,
            limits.max_upstream_calls,
            "upstream calls (each connection its pages, each lookup one, times its parents' `first`)",
        ),
        (
            "maxResponseBytes",
            cost.response_bytes,
            limits.max_response_bytes,
            "response bytes (estimated)",
        ),
    ];
    checks
        .into_iter()
        .find(|(_, asked, max, _)| asked > max)
        .map(|(limit, asked, max, what)| {
            let asked = if asked == u64::MAX {
                "more than 18446744073709551614".to_owned()
            } else {
                asked.to_string()
            };
            too_complex(
                limit,
                max as usize,
                format!("query would cost {asked} {what}, over the limit of {max} ({limit})"),
            )
        })
}

#[async_trait::async_trait]
impl Extension for LimitsCheck {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        response.errors.iter_mut().for_each(ensure_code);
        response
    }

    /// The document's limits, before async-graphql parses it: its own checks that run right
    /// after the parse (the recursion depth) follow fragment spreads, so a fragment bomb must be
    /// refused here. The document is parsed once (kept in the request for async-graphql) and
    /// priced in time linear in its size.
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let limits = self.limits;
        let size = request.query.len();
        if size > limits.max_document_bytes {
            return Err(too_complex(
                "maxDocumentBytes",
                limits.max_document_bytes,
                format!(
                    "query document is {size} bytes, over the limit of {} bytes (maxDocumentBytes)",
                    limits.max_document_bytes
                ),
            ));
        }
        let variables = std::mem::take(&mut request.variables);
        // A document that does not parse is left to async-graphql, which reports the error.
        // Parsed (or attached from the document cache) first: the text is then set aside while
        // the document is read (the key of the key-order cache), and put back.
        let parsed = request.parsed_query().is_ok();
        let query = std::mem::take(&mut request.query);
        let priced = request
            .data
            .get(&std::any::TypeId::of::<Priced>())
            .and_then(|priced| priced.downcast_ref::<Priced>())
            .map(|priced| priced.0);
        if let (true, Ok(doc)) = (parsed, request.parsed_query()) {
            let cost = priced.unwrap_or_else(|| cost::price(doc, &variables, limits.max_first));
            if let Some(err) = over_budget(&cost, &limits) {
                metrics::counter!("gateway_limit_refusals_total", "limit" => limit_name(&err))
                    .increment(1);
                return Err(err);
            }
            let order = self
                .orders
                .get_or_plan(&query, doc, &ctx.schema_env.registry);
            if !order.unrepeated() {
                // async-graphql merges repeated keys object by object: no pre-encoded JSON.
                request.data.insert(DirectJson(false));
            }
            *self.order.lock().unwrap_or_else(PoisonError::into_inner) = Some(order);
            let operation = request.operation_name.as_deref();
            let validation = match self.validations.get(&query, operation, &variables) {
                Some(result) => Some(Validation::Remembered(result)),
                None => Validations::key(&query, operation, &variables).map(Validation::Remember),
            };
            *self
                .validation
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = validation;
        }
        request.query = query;
        request.variables = variables;
        next.run(ctx, request).await
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        let order = self
            .order
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(order) = order {
            order.apply(operation_name, &mut response.data);
        }
        response
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let limits = self.limits;
        let validation = self
            .validation
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let result = match validation {
            Some(Validation::Remembered(result)) => result,
            Some(Validation::Remember(key)) => {
                let result = next.run(ctx).await?;
                self.validations.put(key, result);
                result
            }
            None => next.run(ctx).await?,
        };
        if result.depth > limits.max_depth {
            return Err(vec![too_complex(
                "maxDepth",
                limits.max_depth,
                format!(
                    "query depth is {}, over the limit of {} (maxDepth)",
                    result.depth, limits.max_depth
                ),
            )]);
        }
        if result.complexity > limits.max_complexity {
            return Err(vec![too_complex(
                "maxComplexity",
                limits.max_complexity,
                format!(
                    "query complexity is {}, over the limit of {} (maxComplexity; a connection costs its selection times `first`)",
                    result.complexity, limits.max_complexity
                ),
            )]);
        }
        Ok(result)
    }
}

/// The `limit` extension of a limit error, for metrics.
fn limit_name(err: &ServerError) -> String {
    err.extensions
        .as_ref()
        .and_then(|e| e.get("limit"))
        .map(|v| v.to_string().trim_matches('"').to_owned())
        .unwrap_or_default()
}
