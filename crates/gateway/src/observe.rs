//! What one request is, for its span, its access log line and its metrics: the request id
//! (`x-request-id`, accepted or generated), the incoming trace context, and what the faces learn
//! while serving it (operation name and type, workspace, upstream attempts, error codes).
//!
//! The faces wrap each request in [`scope`]; code below (GraphQL execution, the transport's
//! attempt hook) records into the request through [`with_current`] without being handed it.
//! Nothing here holds a token: the span and the log line get the workspace only.

use std::{
    hash::{BuildHasher as _, Hasher as _},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
};

use http::{HeaderMap, HeaderName, HeaderValue};

/// The request id header, read from callers and echoed on every answer (HTTP header, gRPC
/// metadata).
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id accepted from a caller, bytes; a longer or odd one is replaced.
pub const MAX_REQUEST_ID_BYTES: usize = 128;

/// Longest operation name kept for the span and the log line (it is the caller's text).
pub const MAX_OPERATION_NAME_CHARS: usize = 100;

/// Distinct error codes kept for the access line.
const MAX_CODES: usize = 8;

/// The caller's `x-request-id` when it is 1 to [`MAX_REQUEST_ID_BYTES`] bytes of
/// `A-Z a-z 0-9 - _ . : / + = @`, else a new random one (32 hex digits).
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|id| is_sane(id))
        .map_or_else(generate, str::to_owned)
}

fn is_sane(id: &str) -> bool {
    (1..=MAX_REQUEST_ID_BYTES).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=@".contains(&b))
}

/// 128 random bits as 32 hex digits (std's randomly keyed hasher, over a process counter).
fn generate() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let half = || {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        h.finish()
    };
    format!("{:016x}{:016x}", half(), half())
}

/// One request being served.
#[derive(Debug)]
pub struct Observed {
    /// The request id, echoed on the answer.
    pub request_id: String,
    /// The caller's `traceparent` (and `tracestate`), forwarded upstream as they came when no
    /// tracer is installed to continue the trace.
    pub trace_context: Vec<(HeaderName, HeaderValue)>,
    /// The request's span.
    pub span: tracing::Span,
    fields: Mutex<Fields>,
}

/// What the faces learned while serving a request.
#[derive(Debug, Default, Clone)]
pub struct Fields {
    /// The operation's name, as the caller gave it (cut to [`MAX_OPERATION_NAME_CHARS`]).
    pub operation_name: Option<String>,
    /// `query`, `mutation`, `subscription`, `batch`, or a gRPC method's name.
    pub operation_type: Option<&'static str>,
    /// Upstream attempts sent for it (retries included).
    pub upstream_attempts: u64,
    /// Distinct error codes answered (`extensions.code`, the gRPC `ErrorInfo` reason).
    pub codes: Vec<String>,
}

impl Observed {
    /// A request with `request_id` and the trace headers of `headers`, served in `span`.
    pub fn new(request_id: String, headers: &HeaderMap, span: tracing::Span) -> Self {
        let trace_context = ["traceparent", "tracestate"]
            .into_iter()
            .filter_map(|name| {
                let value = headers.get(name)?;
                Some((HeaderName::from_static(name), value.clone()))
            })
            .collect();
        Self {
            request_id,
            trace_context,
            span,
            fields: Mutex::default(),
        }
    }

    /// What was recorded so far.
    pub fn fields(&self) -> Fields {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Fields> {
        self.fields.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The operation: its name (the caller's, cut) and type; both go on the span too (which is
    /// renamed `{type} {name}` when the request ends, see [`crate::http::access`]).
    pub fn operation(&self, name: Option<&str>, ty: &'static str) {
        let name = name.map(|n| n.chars().take(MAX_OPERATION_NAME_CHARS).collect::<String>());
        if let Some(name) = &name {
            self.span.record("graphql.operation.name", name.as_str());
        }
        self.span.record("graphql.operation.type", ty);
        let mut fields = self.lock();
        fields.operation_name = name;
        fields.operation_type = Some(ty);
    }

    /// The caller's workspace (never its token).
    pub fn workspace(&self, workspace: &str) {
        if !workspace.is_empty() {
            self.span.record("workspace", workspace);
        }
    }

    /// An error code answered.
    pub fn code(&self, code: &str) {
        let mut fields = self.lock();
        if fields.codes.len() < MAX_CODES && !fields.codes.iter().any(|c| c == code) {
            fields.codes.push(code.to_owned());
        }
    }

    /// One upstream attempt sent.
    pub fn attempt(&self) {
        self.lock().upstream_attempts += 1;
    }
}

tokio::task_local! {
    static CURRENT: Arc<Observed>;
}

/// Runs `f` with `observed` as the current request.
pub async fn scope<F: Future>(observed: Arc<Observed>, f: F) -> F::Output {
    CURRENT.scope(observed, f).await
}

/// Runs `f` on the current request, if any (none outside [`scope`], e.g. a shared poller).
pub fn with_current<R>(f: impl FnOnce(&Observed) -> R) -> Option<R> {
    CURRENT.try_with(|o| f(o)).ok()
}

/// A bounded label for an upstream answer's status: the statuses this API answers, else the
/// class (`"5xx"`), so a hostile upstream cannot grow the label set.
pub fn status_label(status: &str) -> String {
    const KNOWN: [&str; 15] = [
        "200", "201", "202", "204", "400", "401", "403", "404", "409", "422", "429", "500", "502",
        "503", "504",
    ];
    if KNOWN.contains(&status) || !status.bytes().all(|b| b.is_ascii_digit()) {
        status.to_owned()
    } else {
        format!("{}xx", &status[..1.min(status.len())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_accepted_when_sane_else_generated() {
        let mut headers = HeaderMap::new();
        headers.insert(X_REQUEST_ID, HeaderValue::from_static("abc-123_x.y:z"));
        assert_eq!(request_id(&headers), "abc-123_x.y:z");
        for bad in ["", "has space", "semi;colon", &"a".repeat(129)] {
            headers.insert(X_REQUEST_ID, HeaderValue::from_str(bad).unwrap());
            let id = request_id(&headers);
            assert_eq!(id.len(), 32, "{bad:?} -> {id}");
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        assert_ne!(request_id(&HeaderMap::new()), request_id(&HeaderMap::new()));
    }

    #[test]
    fn status_labels_are_bounded() {
        assert_eq!(status_label("503"), "503");
        assert_eq!(status_label("599"), "5xx");
        assert_eq!(status_label("refused"), "refused");
    }
}
