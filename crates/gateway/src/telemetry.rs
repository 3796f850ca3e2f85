//! Logs and traces: the `tracing` subscriber (text or JSON lines, colours only on a terminal),
//! OpenTelemetry spans, and W3C trace context in and out.
//!
//! Every request runs in a `request` span (see [`crate::observe`]); every upstream attempt in an
//! `upstream` span under it (in the transport). When the standard variables ask for export, the
//! spans become OpenTelemetry spans through `tracing-opentelemetry` and are exported over OTLP
//! (HTTP/protobuf); the `traceparent` sent upstream then names the upstream span of the caller's
//! trace (or of a new one). Otherwise no OpenTelemetry layer is installed (it costs about 5 % of
//! the instructions of a small query, for spans nobody receives): the caller's `traceparent` and
//! `tracestate` go upstream as they came, and the access line carries the caller's trace id.
//! Export is asked for by: `OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` set, `OTEL_SDK_DISABLED` not `true` and
//! `OTEL_TRACES_EXPORTER` not `none`. The exporter and the SDK read the others themselves
//! (`OTEL_EXPORTER_OTLP_HEADERS`, `_TIMEOUT`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_TRACES_SAMPLER`, ...).

use std::sync::atomic::{AtomicBool, Ordering};

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapPropagator as _},
    trace::{TraceContextExt as _, TracerProvider as _},
};
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::{EnvFilter, Layer as _, layer::SubscriberExt as _, registry::LookupSpan};

use crate::observe;

/// The service name of exported spans when `OTEL_SERVICE_NAME` is unset.
pub const SERVICE_NAME: &str = "blaxel-gateway";

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (`INFO request{request_id=..}: access ...`).
    Text,
    /// One JSON object a line, with the current span's fields (for log pipelines).
    Json,
}

/// Whether the standard variables ask for OTLP export (see the module doc).
pub fn otlp_requested() -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    let is = |name: &str, value: &str| {
        std::env::var(name).is_ok_and(|v| v.trim().eq_ignore_ascii_case(value))
    };
    (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
        && !is("OTEL_SDK_DISABLED", "true")
        && !is("OTEL_TRACES_EXPORTER", "none")
}

/// True once [`init`] installed the OpenTelemetry layer: request spans are traced and exported.
static TRACED: AtomicBool = AtomicBool::new(false);

/// Whether request spans are OpenTelemetry spans (export was asked for, see the module doc).
pub fn traced() -> bool {
    TRACED.load(Ordering::Relaxed)
}

/// The tracer provider exporting over OTLP when [`otlp_requested`] (batched, from its own
/// thread); None when export is not asked for.
///
/// # Errors
/// The exporter's configuration error (e.g. a malformed endpoint or an unsupported protocol),
/// naming the variable.
pub fn tracer_provider() -> anyhow::Result<Option<SdkTracerProvider>> {
    if !otlp_requested() {
        return Ok(None);
    }
    check_protocol(|name| std::env::var(name).ok())?;
    otlp_provider(None).map(Some)
}

/// The OTLP protocols this build exports with: HTTP/protobuf only (the OpenTelemetry default).
const PROTOCOLS: [&str; 1] = ["http/protobuf"];

/// Refuses an OTLP protocol this build cannot speak (`grpc`, `http/json`), naming the variable,
/// rather than sending HTTP/protobuf to a port that expects something else and losing every span.
///
/// # Errors
/// `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` (or `OTEL_EXPORTER_OTLP_PROTOCOL`) set to another value.
fn check_protocol(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
    for name in [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ] {
        let Some(value) = var(name).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        let value = value.trim();
        anyhow::ensure!(
            PROTOCOLS.contains(&value),
            "{name}={value} is not supported: this gateway exports OTLP over http/protobuf only \
             (a collector's HTTP receiver, port 4318); unset it or set http/protobuf"
        );
        // The traces variable, when set, decides (as the SDK reads them).
        return Ok(());
    }
    Ok(())
}

/// A tracer provider exporting over OTLP HTTP/protobuf in batches, from the SDK's own thread:
/// to `traces_endpoint` (the full URL, `.../v1/traces`), else where the variables say.
///
/// # Errors
/// The exporter's configuration error.
pub fn otlp_provider(traces_endpoint: Option<&str>) -> anyhow::Result<SdkTracerProvider> {
    use opentelemetry_otlp::WithExportConfig as _;
    // The exporter's HTTP client may speak TLS: rustls needs its provider first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = opentelemetry_otlp::SpanExporter::builder().with_http();
    if let Some(endpoint) = traces_endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    let exporter = builder.build()?;
    Ok(SdkTracerProvider::builder()
        .with_resource(resource())
        .with_batch_exporter(exporter)
        .build())
}

fn resource() -> Resource {
    let builder = Resource::builder();
    if std::env::var("OTEL_SERVICE_NAME").is_ok_and(|v| !v.is_empty()) {
        builder.build()
    } else {
        builder.with_service_name(SERVICE_NAME).build()
    }
}

/// The OpenTelemetry layer over `provider`: spans only (log events stay in the log lines), of
/// this workspace's crates at info and above whatever `RUST_LOG` says of the logs.
pub fn otel_layer<S>(provider: &SdkTracerProvider) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let spans = tracing_subscriber::filter::filter_fn(|meta| {
        meta.is_span()
            && *meta.level() <= tracing::Level::INFO
            && (meta.target().starts_with("blaxel_gateway")
                || meta.target().starts_with("blaxel_transport"))
    });
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(SERVICE_NAME))
        .with_filter(spans)
}

/// Installs the process's subscriber: log lines in `format` on stdout (filtered by `RUST_LOG`,
/// default `info`; ANSI colours only when stdout is a terminal) and, given a `provider`, the
/// OpenTelemetry layer over it.
///
/// # Errors
/// When a subscriber is installed already.
pub fn init(format: LogFormat, provider: Option<&SdkTracerProvider>) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let fmt = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .with_filter(filter)
            .boxed(),
    };
    let subscriber = tracing_subscriber::registry()
        .with(fmt)
        .with(provider.map(otel_layer));
    tracing::subscriber::set_global_default(subscriber)?;
    TRACED.store(provider.is_some(), Ordering::Relaxed);
    Ok(())
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeadersMut<'a>(&'a mut HeaderMap);

impl Injector for HeadersMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// Makes the W3C trace context of `headers` (`traceparent`, `tracestate`) the parent of `span`;
/// a missing or malformed one leaves `span` the root of a new trace.
pub fn set_parent(span: &tracing::Span, headers: &HeaderMap) {
    if !traced() {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
}

/// Adds the trace context of the current span (an upstream attempt's) to `headers`. Without a
/// tracer installed, the caller's own `traceparent` and `tracestate` go on as they came.
pub fn inject(headers: &mut HeaderMap) {
    if traced() {
        let context: Context = tracing::Span::current().context();
        if context.span().span_context().is_valid() {
            TraceContextPropagator::new().inject_context(&context, &mut HeadersMut(headers));
            return;
        }
    }
    observe::with_current(|o| {
        for (name, value) in &o.trace_context {
            headers.insert(name.clone(), value.clone());
        }
    });
}

/// The transport's attempt hook: the trace context, and one more attempt for the request.
pub fn attempt_hook() -> blaxel_transport::AttemptHook {
    blaxel_transport::AttemptHook::new(|headers| {
        inject(headers);
        observe::with_current(observe::Observed::attempt);
    })
}

/// The trace id of the request served in `observed` as 32 hex digits: its span's when spans are
/// traced, else the one of the caller's `traceparent` (W3C Trace Context); None when neither.
pub fn trace_id(observed: &observe::Observed) -> Option<String> {
    let span_context = if traced() {
        observed.span.context().span().span_context().clone()
    } else {
        let headers: HeaderMap = observed.trace_context.iter().cloned().collect();
        TraceContextPropagator::new()
            .extract(&Headers(&headers))
            .span()
            .span_context()
            .clone()
    };
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

/// Renames the OpenTelemetry span of `span` (e.g. `query Page` once the operation is known;
/// recording `otel.name` does not rename a span that has started). Nothing when not traced.
pub fn rename(span: &tracing::Span, name: impl FnOnce() -> String) {
    if traced() {
        span.context().span().update_name(name());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(vars: &[(&str, &str)]) -> anyhow::Result<()> {
        check_protocol(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn only_http_protobuf_is_accepted_and_the_traces_variable_decides() {
        assert!(check(&[]).is_ok());
        assert!(check(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]).is_ok());
        assert!(check(&[("OTEL_EXPORTER_OTLP_PROTOCOL", " ")]).is_ok());
        let err = check(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported"),
            "{err}"
        );
        let err = check(&[("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json")]).unwrap_err();
        assert!(
            err.to_string().contains("TRACES_PROTOCOL=http/json"),
            "{err}"
        );
        assert!(
            check(&[
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ])
            .is_ok(),
            "the traces variable overrides the general one"
        );
    }
}
