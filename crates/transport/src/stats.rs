//! Counters of a client's upstream traffic, for a caller's metrics: attempts by route and
//! outcome, retries, and what the retry budget and the breakers refused. Only the transport
//! sees these (a caller sees one result per call), so it keeps them.

use std::{
    collections::BTreeMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use crate::{Error, Route};

/// A snapshot of a [`Client`](crate::Client)'s upstream traffic since it was built (shared
/// by its clones), from [`Client::upstream_stats`](crate::Client::upstream_stats). Every
/// label set is bounded: route templates, HTTP statuses and [`ConnectCause`](crate::ConnectCause)
/// labels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpstreamStats {
    /// Attempts sent upstream as `(route template, outcome, count)`, sorted: the outcome is the
    /// HTTP status of the answer (`"200"`, `"503"`), or, without an answer, the
    /// [`ConnectCause`](crate::ConnectCause) label (`"refused"`, `"timeout"`, ...).
    pub attempts: Vec<(&'static str, String, u64)>,
    /// Retries made: attempts after the first of a call.
    pub retries: u64,
    /// Retries the retry budget refused (the call returned its error instead).
    pub budget_refusals: u64,
    /// Attempts an open circuit breaker refused: nothing was sent.
    pub circuit_rejections: u64,
}

/// What one attempt got, as counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Status(u16),
    NoAnswer(&'static str),
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    attempts: Mutex<BTreeMap<(Route, Outcome), u64>>,
    retries: AtomicU64,
    budget_refusals: AtomicU64,
    circuit_rejections: AtomicU64,
}

impl Counters {
    /// Counts an attempt that got an answer with `status`.
    pub(crate) fn answered(&self, route: Route, status: u16) {
        self.count(route, Outcome::Status(status));
    }

    /// Counts an attempt that got no answer.
    pub(crate) fn unanswered(&self, route: Route, error: &Error) {
        self.count(route, Outcome::NoAnswer(error.kind()));
    }

    fn count(&self, route: Route, outcome: Outcome) {
        // Never held across an await; a poisoned map only lost one increment.
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        *attempts.entry((route, outcome)).or_default() += 1;
    }

    pub(crate) fn retried(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn budget_refused(&self) {
        self.budget_refusals.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn circuit_rejected(&self) {
        self.circuit_rejections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> UpstreamStats {
        let attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        UpstreamStats {
            attempts: attempts
                .iter()
                .map(|((route, outcome), n)| {
                    let label = match outcome {
                        Outcome::Status(status) => status.to_string(),
                        Outcome::NoAnswer(cause) => (*cause).to_owned(),
                    };
                    (route.template(), label, *n)
                })
                .collect(),
            retries: self.retries.load(Ordering::Relaxed),
            budget_refusals: self.budget_refusals.load(Ordering::Relaxed),
            circuit_rejections: self.circuit_rejections.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_groups_by_route_and_outcome() {
        let counters = Counters::default();
        counters.answered(Route::GetJob, 503);
        counters.answered(Route::GetJob, 503);
        counters.answered(Route::GetJob, 200);
        let timeout = Error::Timeout {
            elapsed: std::time::Duration::ZERO,
        };
        counters.unanswered(Route::ListJobs, &timeout);
        counters.retried();
        let stats = counters.snapshot();
        assert_eq!(
            stats.attempts,
            vec![
                ("GET /jobs", "timeout".to_owned(), 1),
                ("GET /jobs/{jobId}", "200".to_owned(), 1),
                ("GET /jobs/{jobId}", "503".to_owned(), 2),
            ]
        );
        assert_eq!((stats.retries, stats.budget_refusals), (1, 0));
    }
}
