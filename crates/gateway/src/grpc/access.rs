//! The outermost layer of the gRPC listener: the caller's `x-request-id` (or a new one) echoed
//! in the response metadata, a `request` span continuing the caller's W3C trace context
//! (`traceparent` metadata), one access line per call at info, and the call metrics. The
//! status is the one sent with the response head (every error a handler returns is sent so);
//! a stream that fails after its first message reports it in trailers, which this layer does
//! not read. The handler runs in the request's [`observe::scope`]: the line counts its upstream
//! attempts, and without a tracer the caller's `traceparent` is forwarded upstream.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use http::{HeaderValue, Request, Response};
use tracing::{Instrument as _, field::Empty};

use crate::{
    observe::{self, Observed, X_REQUEST_ID},
    telemetry,
};

/// The methods served, by path: the label of a call (any other path is `other`, so the label
/// set stays bounded whatever a client sends).
pub const METHODS: [&str; 12] = [
    "/blaxel.jobs.v1.JobExecutionService/ListJobExecutions",
    "/blaxel.jobs.v1.JobExecutionService/GetJobExecution",
    "/blaxel.jobs.v1.JobExecutionService/CreateJobExecution",
    "/blaxel.jobs.v1.JobExecutionService/CancelJobExecution",
    "/blaxel.jobs.v1.JobExecutionService/ListJobExecutionTasks",
    "/blaxel.jobs.v1.JobExecutionService/WatchJobExecution",
    "/blaxel.jobs.v1.JobService/ListJobs",
    "/blaxel.jobs.v1.JobService/GetJob",
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// The layer (see the module doc).
#[derive(Clone, Copy, Debug, Default)]
pub struct AccessLayer;

impl<S> tower::Layer<S> for AccessLayer {
    type Service = Access<S>;

    fn layer(&self, inner: S) -> Access<S> {
        Access { inner }
    }
}

/// The service of [`AccessLayer`].
#[derive(Clone, Debug)]
pub struct Access<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, R> tower::Service<Request<B>> for Access<S>
where
    S: tower::Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone is ready only after poll_ready: call the ready one, keep the clone.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let started = Instant::now();
        let path = request.uri().path();
        let method = METHODS.into_iter().find(|m| *m == path).unwrap_or("other");
        let id = observe::request_id(request.headers());
        let span = tracing::info_span!(
            "request",
            otel.name = method.trim_start_matches('/'),
            otel.kind = "server",
            otel.status_code = Empty,
            rpc.system = "grpc",
            rpc.method = method,
            request_id = %id,
            rpc.grpc.status_code = Empty,
            workspace = Empty,
        );
        telemetry::set_parent(&span, request.headers());
        let observed = Arc::new(Observed::new(id, request.headers(), span.clone()));
        let in_flight = metrics::gauge!("gateway_in_flight_requests", "face" => "grpc");
        in_flight.increment(1.0);
        // The handler runs in the request's scope: its upstream attempts are counted for the
        // access line, and without a tracer the caller's traceparent is forwarded upstream.
        let call = observe::scope(Arc::clone(&observed), inner.call(request));
        Box::pin(
            async move {
                let result = call.await;
                in_flight.decrement(1.0);
                let span = &observed.span;
                let status = match &result {
                    Ok(response) => response
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u8>().ok())
                        .unwrap_or(0),
                    // A transport failure of the service itself: INTERNAL.
                    Err(_) => 13,
                };
                let code = code_name(status);
                span.record("rpc.grpc.status_code", status);
                if !matches!(status, 0 | 1 | 3 | 5 | 6 | 7 | 9 | 11 | 16) {
                    span.record("otel.status_code", "ERROR");
                }
                let elapsed = started.elapsed();
                metrics::counter!("gateway_grpc_requests_total", "method" => method, "code" => code)
                    .increment(1);
                metrics::histogram!("gateway_grpc_request_duration_seconds", "method" => method)
                    .record(elapsed.as_secs_f64());
                let trace_id = telemetry::trace_id(&observed).unwrap_or_default();
                let duration_ms = elapsed.as_secs_f64() * 1e3;
                let upstream_calls = observed.fields().upstream_attempts;
                tracing::info!(
                    target: "blaxel_gateway::access",
                    method, code, duration_ms, upstream_calls, trace_id, "access"
                );
                result.map(|mut response| {
                    if let Ok(value) = HeaderValue::from_str(&observed.request_id) {
                        response.headers_mut().insert(X_REQUEST_ID, value);
                    }
                    response
                })
            }
            .instrument(span),
        )
    }
}

/// The name of a gRPC status code (a bounded label).
fn code_name(code: u8) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    NAMES.get(usize::from(code)).copied().unwrap_or("UNKNOWN")
}
