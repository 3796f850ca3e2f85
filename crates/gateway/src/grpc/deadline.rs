//! The call's deadline: the client's `grpc-timeout` (gRPC over HTTP/2: up to 8 digits and a unit,
//! `H M S m u n`) bounds the work of a call, upstream calls included.
//!
//! tonic's server enforces `grpc-timeout` itself but answers CANCELLED. The handler therefore
//! stops [`MARGIN`] earlier (at most a tenth of a short budget) and answers DEADLINE_EXCEEDED
//! with an `ErrorInfo` (reason `UPSTREAM_TIMEOUT`); dropping the work cuts the upstream request
//! in flight and any retry. A budget already spent fails at once, before any upstream call.
//! Without `grpc-timeout`, the gateway's request timeout is the bound.

use std::{future::Future, time::Duration};

use tonic::metadata::MetadataMap;

use super::status::Failure;
use crate::error::{Code, Error};

/// How much earlier than the client's deadline the handler answers (a tenth of shorter
/// budgets): time for the answer to reach the client before tonic's own timer fires.
pub const MARGIN: Duration = Duration::from_millis(20);

/// Budgets under this are spent: the call fails at once rather than start an upstream call that
/// cannot finish.
pub const MIN_BUDGET: Duration = Duration::from_millis(10);

/// The `grpc-timeout` header as a duration; `None` when absent or malformed (tonic's server
/// then does not enforce it either).
pub fn grpc_timeout(metadata: &MetadataMap) -> Option<Duration> {
    let raw = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = raw.split_at(raw.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// The time the handler may spend: the client's timeout less the margin, never more than
/// `request_timeout`.
pub fn budget(client_timeout: Option<Duration>, request_timeout: Duration) -> Duration {
    match client_timeout {
        Some(t) => t.saturating_sub(MARGIN.min(t / 10)).min(request_timeout),
        None => request_timeout,
    }
}

/// DEADLINE_EXCEEDED with `ErrorInfo` reason `UPSTREAM_TIMEOUT`.
pub fn exceeded(budget: Duration) -> Failure {
    Error::new(
        Code::UpstreamTimeout,
        format!(
            "the call's deadline ({} ms available) passed before the Blaxel API answered",
            budget.as_millis()
        ),
    )
    .into()
}

/// When the server read a call's headers, stamped by [`stamp`] before the handler runs: the
/// client's deadline counts from there, as tonic's own timer does, not from when the handler got
/// the decoded message (on a loaded machine the message can follow the headers by tens of
/// milliseconds, more than [`MARGIN`]).
#[derive(Debug, Clone, Copy)]
pub struct Arrival(pub tokio::time::Instant);

/// Stamps a call with its [`Arrival`] (a `tower::util::MapRequestLayer` on the server).
pub fn stamp<B>(mut request: http::Request<B>) -> http::Request<B> {
    request
        .extensions_mut()
        .insert(Arrival(tokio::time::Instant::now()));
    request
}

/// Runs `work` within `budget`: its result, or DEADLINE_EXCEEDED once the budget is spent (the
/// work is dropped, which cancels its upstream requests).
pub async fn within<T>(
    budget: Duration,
    work: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    if budget < MIN_BUDGET {
        return Err(exceeded(budget));
    }
    tokio::time::timeout(budget, work)
        .await
        .unwrap_or_else(|_| Err(exceeded(budget)))
}

#[cfg(test)]
mod tests {
    use tonic::metadata::MetadataValue;

    use super::*;

    #[test]
    fn reads_every_unit_and_refuses_the_rest() {
        let read = |raw: &'static str| {
            let mut md = MetadataMap::new();
            md.insert("grpc-timeout", MetadataValue::from_static(raw));
            grpc_timeout(&md)
        };
        assert_eq!(read("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(read("3M"), Some(Duration::from_secs(180)));
        assert_eq!(read("5S"), Some(Duration::from_secs(5)));
        assert_eq!(read("250m"), Some(Duration::from_millis(250)));
        assert_eq!(read("7u"), Some(Duration::from_micros(7)));
        assert_eq!(read("9n"), Some(Duration::from_nanos(9)));
        for bad in ["", "m", "123456789m", "5x", "-5m", "5 m"] {
            assert_eq!(read(bad), None, "{bad}");
        }
        assert_eq!(grpc_timeout(&MetadataMap::new()), None);
    }

    #[test]
    fn the_budget_keeps_a_margin_and_the_request_bound() {
        let cap = Duration::from_secs(30);
        assert_eq!(budget(None, cap), cap);
        assert_eq!(
            budget(Some(Duration::from_secs(1)), cap),
            Duration::from_millis(980)
        );
        assert_eq!(
            budget(Some(Duration::from_millis(100)), cap),
            Duration::from_millis(90)
        );
        assert_eq!(budget(Some(Duration::from_secs(60)), cap), cap);
    }

    #[tokio::test]
    async fn a_spent_budget_fails_before_the_work_starts() {
        let started = std::sync::atomic::AtomicBool::new(false);
        let result = within(Duration::ZERO, async {
            started.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok::<_, Failure>(())
        })
        .await;
        assert_eq!(result.unwrap_err().error.code, Code::UpstreamTimeout);
        assert!(!started.load(std::sync::atomic::Ordering::SeqCst));
    }
}
