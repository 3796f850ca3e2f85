//! Live executions: shared pollers behind every face's stream (GraphQL
//! `Subscription.jobExecutionUpdated`, gRPC `WatchJobExecution`).
//!
//! The upstream has no push API, so the gateway polls `GET /jobs/{job}/executions/{id}`. Every
//! watcher of the same execution with the same credential (a SHA-256 of the token and the
//! workspace; the token itself is never a key nor logged) shares ONE poller: 100 watchers cost
//! one upstream call per interval. A [`Watcher::watch`] stream yields:
//!
//! 1. the current state (as soon as the poller has it: at once for a poller already running);
//! 2. one item per change of status, stats, task states or start/completion time;
//! 3. the end: after a terminal status (`SUCCEEDED`, `FAILED`, `CANCELLED`, `TIMEOUT`) the stream
//!    completes; otherwise it ends with one error item and no more:
//!    - `NOT_FOUND` when the execution disappears, `UNAUTHENTICATED` / `FORBIDDEN` when the
//!      credential is revoked (401/403), `BAD_USER_INPUT` for a malformed name or id;
//!    - the upstream failure's code after [`MAX_CONSECUTIVE_FAILURES`] failed polls in a row
//!      (timeouts, 5xx, 429: each failure doubles the interval, up to [`MAX_BACKOFF`]);
//!    - `STREAM_CLOSED` when the stream reaches [`WatchLimits::max_lifetime`] or the gateway
//!      drains ([`Watcher::drain`]).
//!
//! A poller stops as soon as its last watcher leaves (a dropped stream), or after the end. Limits
//! ([`WatchLimits`]): streams per connection ([`ConnectionSlots`]) and per credential
//! (`RATE_LIMITED` naming the limit), and a maximum lifetime. A watcher that falls behind by more
//! than [`CHANNEL_CAPACITY`] changes skips to the latest state.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use blaxel_models::JobExecution;
use blaxel_transport::{Client, Credentials};
use futures::{StreamExt as _, stream::BoxStream};
use sha2::{Digest as _, Sha256};
use tokio::{
    sync::{broadcast, watch},
    time::Instant,
};

mod poller;

use poller::PollTask;

use crate::{
    caller::Caller,
    error::{Code, Error},
};

/// Failed polls in a row after which a stream ends with the last failure.
pub const MAX_CONSECUTIVE_FAILURES: u32 = 5;

/// Longest wait between two polls after failures (the interval doubles on each failure).
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Changes buffered for a watcher that is behind; past that it skips to the latest state.
pub const CHANNEL_CAPACITY: usize = 32;

/// A live stream of one execution: its states, then the end (see the module docs).
pub type WatchStream = BoxStream<'static, Result<Arc<JobExecution>, Error>>;

/// Limits of live streams; each is a flag (see [`crate::Config`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchLimits {
    /// Interval between two polls of one execution (shared by its watchers). Default 2 s.
    pub poll_interval: Duration,
    /// Live streams one connection (a WebSocket, an HTTP/2 connection) may hold. Default 16.
    pub max_per_connection: usize,
    /// Live streams one credential (token and workspace) may hold across connections. Default 100.
    pub max_per_credential: usize,
    /// Longest life of one stream; it then ends with `STREAM_CLOSED`. Default 1 h.
    pub max_lifetime: Duration,
    /// Interval of keep-alives on idle streams (SSE comments, WebSocket pings). Default 15 s.
    pub keepalive: Duration,
}

impl Default for WatchLimits {
    fn default() -> Self {
        crate::Config::default().limits().watch
    }
}

/// The live streams of one connection, counted against [`WatchLimits::max_per_connection`].
/// Made once per connection by the face ([`Watcher::connection`]); a face whose every stream is
/// its own connection (SSE) makes one per stream.
#[derive(Debug, Clone, Default)]
pub struct ConnectionSlots(Arc<AtomicUsize>);

impl ConnectionSlots {
    /// Streams open on this connection now.
    pub fn open(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// The shared pollers of one gateway. Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct Watcher {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("limits", &self.inner.limits)
            .field("pollers", &self.pollers())
            .finish_non_exhaustive()
    }
}

struct Inner {
    client: Client,
    limits: WatchLimits,
    state: Mutex<Shared>,
    drain: watch::Sender<bool>,
}

#[derive(Default)]
struct Shared {
    pollers: HashMap<Key, Entry>,
    per_credential: HashMap<[u8; 32], usize>,
}

/// What a poller is shared by: the credential's hash and the execution.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    credential: [u8; 32],
    job: String,
    id: String,
}

struct Entry {
    poller: Arc<Poller>,
    watchers: usize,
    stop: watch::Sender<bool>,
}

/// One poller: the latest state, how it ended, and the channel of changes.
struct Poller {
    state: Mutex<PollState>,
    changes: broadcast::Sender<Event>,
}

#[derive(Default)]
struct PollState {
    latest: Option<Arc<JobExecution>>,
    end: Option<Option<Error>>,
}

#[derive(Clone)]
enum Event {
    Update(Arc<JobExecution>),
    /// The poller ended: completed (`None`) or failed.
    End(Option<Error>),
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The SHA-256 of what the upstream sees of a caller: token (or none: the configured one) and
/// workspace (header, and the one cursors are bound to).
fn credential_hash(caller: &Caller) -> [u8; 32] {
    let mut hash = Sha256::new();
    match &caller.credentials.token {
        Some(token) => {
            hash.update(b"token\0");
            hash.update(token.expose().as_bytes());
        }
        None => hash.update(b"configured\0"),
    }
    hash.update(b"\0");
    hash.update(
        caller
            .credentials
            .workspace
            .as_deref()
            .unwrap_or("")
            .as_bytes(),
    );
    hash.update(b"\0");
    hash.update(caller.workspace.as_bytes());
    hash.finalize().into()
}

impl Watcher {
    /// Pollers over `client` with `limits`.
    pub fn new(client: Client, limits: WatchLimits) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                limits,
                state: Mutex::default(),
                drain: watch::Sender::new(false),
            }),
        }
    }

    /// The upstream client the pollers call.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The limits.
    pub fn limits(&self) -> &WatchLimits {
        &self.inner.limits
    }

    /// The slots of a new connection.
    pub fn connection(&self) -> ConnectionSlots {
        ConnectionSlots::default()
    }

    /// Pollers running now (one per credential and execution watched).
    pub fn pollers(&self) -> usize {
        lock(&self.inner.state).pollers.len()
    }

    /// True once [`Watcher::drain`] was called.
    pub fn is_draining(&self) -> bool {
        *self.inner.drain.borrow()
    }

    /// A receiver that turns `true` when the gateway drains (faces close their connections).
    pub fn drain_signal(&self) -> watch::Receiver<bool> {
        self.inner.drain.subscribe()
    }

    /// Ends every stream with `STREAM_CLOSED` and refuses new ones: the gateway is shutting down.
    pub fn drain(&self) {
        self.inner.drain.send_replace(true);
    }

    /// Watches execution `id` of `job` for `caller`, on connection `slots` (see the module docs
    /// for what the stream yields). Needs a Tokio runtime (it may spawn the poller).
    ///
    /// # Errors
    /// `RATE_LIMITED` naming `maxSubscriptionsPerConnection` or `maxSubscriptionsPerCredential`
    /// when a limit is reached; `STREAM_CLOSED` while draining. Nothing is sent upstream then.
    pub fn watch(
        &self,
        caller: &Caller,
        job: &str,
        id: &str,
        slots: &ConnectionSlots,
    ) -> Result<WatchStream, Error> {
        if self.is_draining() {
            return Err(draining());
        }
        let limits = self.inner.limits;
        let key = Key {
            credential: credential_hash(caller),
            job: job.to_owned(),
            id: id.to_owned(),
        };
        let (poller, queue, changes) = {
            let mut shared = lock(&self.inner.state);
            if slots.open() >= limits.max_per_connection {
                return Err(over_limit(
                    "maxSubscriptionsPerConnection",
                    limits.max_per_connection,
                    "this connection",
                ));
            }
            let held = shared
                .per_credential
                .get(&key.credential)
                .copied()
                .unwrap_or(0);
            if held >= limits.max_per_credential {
                return Err(over_limit(
                    "maxSubscriptionsPerCredential",
                    limits.max_per_credential,
                    "this credential",
                ));
            }
            *shared.per_credential.entry(key.credential).or_default() += 1;
            slots.0.fetch_add(1, Ordering::SeqCst);
            let entry = match shared.pollers.get_mut(&key) {
                Some(entry) => entry,
                None => {
                    let entry = self.spawn_poller(&key, caller.credentials.clone());
                    shared.pollers.entry(key.clone()).or_insert(entry)
                }
            };
            entry.watchers += 1;
            let poller = Arc::clone(&entry.poller);
            // Under the poller's lock: the snapshot and the subscription see the same instant.
            let state = lock(&poller.state);
            let changes = poller.changes.subscribe();
            let mut queue = VecDeque::new();
            if let Some(latest) = &state.latest {
                queue.push_back(Event::Update(Arc::clone(latest)));
            }
            if let Some(end) = &state.end {
                queue.push_back(Event::End(end.clone()));
            }
            drop(state);
            (poller, queue, changes)
        };
        metrics::gauge!("gateway_watch_streams").increment(1.0);
        let stream = Stream {
            guard: Guard {
                watcher: self.clone(),
                key,
                poller: Arc::clone(&poller),
                slots: slots.clone(),
            },
            poller,
            queue,
            changes,
            last: None,
            deadline: Instant::now() + limits.max_lifetime,
            drain: self.inner.drain.subscribe(),
            done: false,
        };
        Ok(futures::stream::unfold(stream, |mut s| async move {
            let item = s.next().await?;
            Some((item, s))
        })
        .boxed())
    }

    /// Starts the poller of `key` (the caller holds the state lock).
    fn spawn_poller(&self, key: &Key, credentials: Credentials) -> Entry {
        let (changes, _) = broadcast::channel(CHANNEL_CAPACITY);
        let poller = Arc::new(Poller {
            state: Mutex::default(),
            changes,
        });
        let (stop, stopped) = watch::channel(false);
        let task = PollTask {
            watcher: self.clone(),
            key: key.clone(),
            poller: Arc::clone(&poller),
            credentials,
        };
        tokio::spawn(task.run(stopped));
        metrics::gauge!("gateway_watch_pollers").increment(1.0);
        Entry {
            poller,
            watchers: 0,
            stop,
        }
    }

    /// Forgets the poller of `key` if it is still `poller` (it ended, or lost its last watcher).
    fn forget(&self, shared: &mut Shared, key: &Key, poller: &Arc<Poller>) {
        if shared
            .pollers
            .get(key)
            .is_some_and(|e| Arc::ptr_eq(&e.poller, poller))
            && let Some(entry) = shared.pollers.remove(key)
        {
            entry.stop.send_replace(true);
            metrics::gauge!("gateway_watch_pollers").decrement(1.0);
        }
    }
}

fn draining() -> Error {
    Error::new(
        Code::StreamClosed,
        "the gateway is shutting down: subscribe again (another replica answers)",
    )
}

fn over_limit(limit: &'static str, max: usize, whom: &str) -> Error {
    Error {
        limit: Some((limit, max as u64)),
        ..Error::new(
            Code::RateLimited,
            format!(
                "{whom} already holds {max} live subscriptions ({limit}): end one before starting another"
            ),
        )
    }
}

/// Releases a watcher's slots, and stops its poller when it was the last.
struct Guard {
    watcher: Watcher,
    key: Key,
    poller: Arc<Poller>,
    slots: ConnectionSlots,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.slots.0.fetch_sub(1, Ordering::SeqCst);
        metrics::gauge!("gateway_watch_streams").decrement(1.0);
        let mut shared = lock(&self.watcher.inner.state);
        if let Some(held) = shared.per_credential.get_mut(&self.key.credential) {
            *held -= 1;
            if *held == 0 {
                shared.per_credential.remove(&self.key.credential);
            }
        }
        let last = match shared.pollers.get_mut(&self.key) {
            Some(entry) if Arc::ptr_eq(&entry.poller, &self.poller) => {
                entry.watchers -= 1;
                entry.watchers == 0
            }
            _ => false,
        };
        if last {
            self.watcher.forget(&mut shared, &self.key, &self.poller);
        }
    }
}

/// One watcher's side.
struct Stream {
    guard: Guard,
    poller: Arc<Poller>,
    queue: VecDeque<Event>,
    changes: broadcast::Receiver<Event>,
    last: Option<Arc<JobExecution>>,
    deadline: Instant,
    drain: watch::Receiver<bool>,
    done: bool,
}

/// What a watcher waited for.
enum Wake {
    Event(Event),
    /// Behind by more than the channel holds, before the first state.
    Behind,
    End(Error),
}

impl Stream {
    /// Waits for the next change, the drain or the deadline.
    async fn wake(&mut self) -> Wake {
        tokio::select! {
            biased;
            _ = self.drain.wait_for(|d| *d) => Wake::End(draining()),
            () = tokio::time::sleep_until(self.deadline) => {
                let secs = self.guard.watcher.inner.limits.max_lifetime.as_secs();
                Wake::End(Error {
                    limit: Some(("subscriptionMaxLifetimeSecs", secs)),
                    ..Error::new(Code::StreamClosed, format!(
                        "the subscription reached its maximum lifetime of {secs} s: subscribe again"
                    ))
                })
            }
            event = self.changes.recv() => match event {
                Ok(event) => Wake::Event(event),
                // Behind by more than the channel holds: skip to the latest state.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    match &lock(&self.poller.state).latest {
                        Some(latest) => Wake::Event(Event::Update(Arc::clone(latest))),
                        None => Wake::Behind,
                    }
                }
                Err(broadcast::error::RecvError::Closed) => Wake::End(Error::new(
                    Code::UpstreamError,
                    "the execution's poller stopped",
                )),
            },
        }
    }

    async fn next(&mut self) -> Option<Result<Arc<JobExecution>, Error>> {
        loop {
            if self.done {
                return None;
            }
            let event = match self.queue.pop_front() {
                Some(event) => event,
                None => match self.wake().await {
                    Wake::Event(event) => event,
                    Wake::Behind => continue,
                    Wake::End(err) => {
                        self.done = true;
                        return Some(Err(err));
                    }
                },
            };
            match event {
                Event::Update(execution) => {
                    if self
                        .last
                        .as_ref()
                        .is_some_and(|l| Arc::ptr_eq(l, &execution))
                    {
                        continue;
                    }
                    self.last = Some(Arc::clone(&execution));
                    return Some(Ok(execution));
                }
                Event::End(None) => {
                    self.done = true;
                    return None;
                }
                Event::End(Some(err)) => {
                    self.done = true;
                    return Some(Err(err));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
