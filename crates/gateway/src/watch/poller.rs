//! One poller's loop: poll, publish changes, back off on failures, end.

use std::sync::Arc;

use blaxel_models::JobExecution;
use blaxel_transport::{Credentials, Error as UpstreamError};
use tokio::sync::watch;
use tracing::debug;

use super::{Event, Key, MAX_BACKOFF, MAX_CONSECUTIVE_FAILURES, Poller, Watcher, lock};
use crate::error::Error;

/// The poller's loop.
pub(super) struct PollTask {
    pub(super) watcher: Watcher,
    pub(super) key: Key,
    pub(super) poller: Arc<Poller>,
    pub(super) credentials: Credentials,
}

impl PollTask {
    pub(super) async fn run(self, mut stopped: watch::Receiver<bool>) {
        let inner = &self.watcher.inner;
        let interval = inner.limits.poll_interval;
        let mut drain = inner.drain.subscribe();
        let mut failures = 0u32;
        let end = loop {
            let poll =
                inner
                    .client
                    .get_job_execution(&self.credentials, &self.key.job, &self.key.id);
            let result = tokio::select! {
                result = poll => result,
                _ = stopped.wait_for(|s| *s) => return,
                _ = drain.wait_for(|d| *d) => return,
            };
            let mut delay = interval;
            match result {
                Ok(execution) => {
                    failures = 0;
                    let terminal = execution.status.as_ref().is_some_and(|s| s.is_terminal());
                    self.publish(execution);
                    if terminal {
                        break None;
                    }
                }
                Err(e) if is_final(&e) => break Some(Error::upstream(&e)),
                Err(e) => {
                    failures += 1;
                    debug!(job = %self.key.job, execution = %self.key.id, failures, kind = e.kind(), "poll failed");
                    if failures >= MAX_CONSECUTIVE_FAILURES {
                        break Some(Error::upstream(&e));
                    }
                    let backoff = interval.saturating_mul(1 << failures.min(16));
                    delay = backoff
                        .max(e.retry_after().unwrap_or_default())
                        .min(MAX_BACKOFF.max(interval));
                }
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = stopped.wait_for(|s| *s) => return,
                _ = drain.wait_for(|d| *d) => return,
            }
        };
        {
            let mut state = lock(&self.poller.state);
            state.end = Some(end.clone());
            let _ = self.poller.changes.send(Event::End(end));
        }
        let mut shared = lock(&inner.state);
        self.watcher.forget(&mut shared, &self.key, &self.poller);
    }

    /// Stores and sends `execution` when it differs from the latest state.
    fn publish(&self, execution: JobExecution) {
        let mut state = lock(&self.poller.state);
        if state
            .latest
            .as_deref()
            .is_some_and(|latest| same_state(latest, &execution))
        {
            return;
        }
        let execution = Arc::new(execution);
        state.latest = Some(Arc::clone(&execution));
        let _ = self.poller.changes.send(Event::Update(execution));
    }
}

/// An upstream failure that polling again will not cure: the credential was revoked (401,
/// 403), the execution is gone (404), or the request itself is malformed (400 and other 4xx).
fn is_final(err: &UpstreamError) -> bool {
    match err {
        UpstreamError::Unauthenticated { .. }
        | UpstreamError::Forbidden { .. }
        | UpstreamError::NotFound { .. }
        | UpstreamError::InvalidRequest { .. } => true,
        UpstreamError::Http { status, .. } => {
            status.is_client_error() && !matches!(status.as_u16(), 408 | 429)
        }
        _ => false,
    }
}

/// True when `b` shows nothing new over `a`: same status, stats, task states and lifecycle
/// times (a bare `updatedAt` bump is not a change).
fn same_state(a: &JobExecution, b: &JobExecution) -> bool {
    let tasks = |e: &JobExecution| {
        e.tasks
            .iter()
            .chain(&e.spec.tasks)
            .map(|t| {
                (
                    t.metadata.as_ref().and_then(|m| m.name.clone()),
                    t.status.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    a.status == b.status
        && a.stats == b.stats
        && a.metadata.started_at == b.metadata.started_at
        && a.metadata.completed_at == b.metadata.completed_at
        && a.metadata.deleted_at == b.metadata.deleted_at
        && tasks(a) == tasks(b)
}
