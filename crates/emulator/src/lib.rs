//! `blaxel-emulator`: an in-memory emulator of Blaxel's control-plane jobs API
//! (`https://api.blaxel.ai/v0`), faithful to its documented contract, awkward corners included.
//!
//! It serves the `/v0/jobs*` paths of the reference OpenAPI excerpt with seeded, deterministic
//! data, plus a control API for tests (`/_emulator/*`: request counts, fault injection, a
//! virtual clock). The gateway embeds it as its default upstream; tests start it on
//! `127.0.0.1:0` with [`spawn`]:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let emu = blaxel_emulator::spawn(blaxel_emulator::EmulatorConfig::default()).await?;
//! let url = format!("{}/jobs/data-processing-job/executions?limit=20", emu.base_url());
//! // GET url with `Authorization: Bearer dev-token` and `Blaxel-Version: 2026-04-28`.
//! emu.emulator().advance_clock(3600);
//! emu.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Where the contract is silent the behaviour follows `DESIGN.md` (Emulator section); the
//! remaining choices are documented on the items below and in the crate's README.
//!
//! - Versions: `Blaxel-Version` absent means `2026-04-16` (legacy: bare arrays, `offset`/`limit`,
//!   `cursor`/`sort`/`q` ignored, `createdAt` desc); `>= 2026-04-28` gives `{data, meta}` and
//!   cursors; a malformed version or one outside [`EmulatorConfig::valid_versions`] is a 400
//!   `{"error": "invalid_api_version", "message": ...}` (no `code`, as the docs show).
//! - Checks run in this order: version (400), token (401), workspace (403), job or execution
//!   (404), then parameters (400).
//! - Every other error is the flat `{"code": <status>, "error": "...", "message": "..."}`.

use std::{
    collections::{BTreeMap, HashMap},
    io,
    net::SocketAddr,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicBool, AtomicI64, Ordering},
    },
    time::Duration,
};

use blaxel_models::ApiVersion;
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

mod api;
mod cursor;
mod data;
mod faults;
mod net;

pub use faults::{Fault, FaultBody};

/// Configuration of an emulator instance.
#[derive(Debug, Clone, PartialEq)]
pub struct EmulatorConfig {
    /// Seed of the generated data (and of fault probabilities). Same seed, same data.
    pub seed: u64,
    /// Jobs per workspace: `data-processing-job`, then `job-1`, `job-2`, ...
    pub jobs: usize,
    /// Seeded executions per job (ids `exec-` + 8 hex digits; `my-workspace`'s
    /// `data-processing-job` includes the reference `exec-abc123`).
    pub executions_per_job: usize,
    /// Accepted bearer tokens as (token, workspace). Each distinct workspace is created; a
    /// token listed with several workspaces reaches all of them (the first is its default).
    pub tokens: Vec<(String, String)>,
    /// Capacity of a workspace, in concurrent executions (pending, running or cancelling), as
    /// checked by `allowQueue: false`: 429 when that many are active, 400 when the request asks
    /// for more tasks than `capacity` (it could never run at once).
    pub capacity: usize,
    /// Accepted `Blaxel-Version` values; anything else is a 400 `invalid_api_version`.
    pub valid_versions: Vec<ApiVersion>,
}

impl Default for EmulatorConfig {
    /// Seed 42, 3 jobs of 50 executions, `dev-token` for `my-workspace`, capacity 16, versions
    /// `2026-04-16`, `2026-04-20`, `2026-04-28` and their `.preview` variants.
    fn default() -> Self {
        let dates = [(2026, 4, 16), (2026, 4, 20), (2026, 4, 28)];
        let valid_versions = dates
            .iter()
            .flat_map(|&(y, m, d)| {
                let v = ApiVersion::new(y, m, d);
                [v, ApiVersion { preview: true, ..v }]
            })
            .collect();
        Self {
            seed: 42,
            jobs: 3,
            executions_per_job: 50,
            tokens: vec![("dev-token".into(), "my-workspace".into())],
            capacity: 16,
            valid_versions,
        }
    }
}

/// Request counts, as served by `GET /_emulator/stats`:
/// `{"requests": {"GET /v0/jobs/{jobId}/executions": 12, ...}, "total": 12}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Count per route key: method, a space, and the route template (e.g.
    /// `GET /v0/jobs/{jobId}/executions`). Every `/v0` request counts, rejected and faulted
    /// ones included; unknown `/v0` paths count under `<METHOD> /v0/{*path}`.
    pub requests: BTreeMap<String, u64>,
    /// Sum of all counts.
    pub total: u64,
}

struct FaultState {
    list: Vec<Fault>,
    rng: StdRng,
}

pub(crate) struct Inner {
    tokens: HashMap<String, Vec<String>>,
    valid_versions: Vec<ApiVersion>,
    capacity: usize,
    store: RwLock<data::Store>,
    clock: AtomicI64,
    stats: Mutex<Stats>,
    faults: Mutex<FaultState>,
    has_faults: AtomicBool,
    create_rng: Mutex<StdRng>,
    cursors: cursor::Cursors,
}

/// A cheap, cloneable handle on one emulator's shared state: the in-process twin of the
/// control API (same effects as `/_emulator/*`).
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("now", &self.now())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Emulator {
    fn new(config: EmulatorConfig) -> Self {
        let mut tokens: HashMap<String, Vec<String>> = HashMap::new();
        let mut store = data::Store::default();
        for (token, ws) in &config.tokens {
            let list = tokens.entry(token.clone()).or_default();
            if !list.contains(ws) {
                list.push(ws.clone());
            }
            if !store.workspaces.contains_key(ws) {
                let state =
                    data::seed_workspace(config.seed, ws, config.jobs, config.executions_per_job);
                store.workspaces.insert(ws.clone(), state);
            }
        }
        Self {
            inner: Arc::new(Inner {
                tokens,
                valid_versions: config.valid_versions,
                capacity: config.capacity,
                store: RwLock::new(store),
                clock: AtomicI64::new(0),
                stats: Mutex::new(Stats::default()),
                faults: Mutex::new(FaultState {
                    list: Vec::new(),
                    rng: StdRng::seed_from_u64(config.seed ^ 0x6661_756c_7473),
                }),
                has_faults: AtomicBool::new(false),
                create_rng: Mutex::new(StdRng::seed_from_u64(config.seed ^ 0x6372_6561_7465)),
                cursors: cursor::Cursors::new(config.seed),
            }),
        }
    }

    /// Request counts since start or the last [`Emulator::reset_stats`].
    pub fn stats(&self) -> Stats {
        lock(&self.inner.stats).clone()
    }

    /// Count of one route key, e.g. `requests("GET /v0/jobs/{jobId}/executions")`; 0 if never hit.
    pub fn requests(&self, route: &str) -> u64 {
        lock(&self.inner.stats)
            .requests
            .get(route)
            .copied()
            .unwrap_or(0)
    }

    /// Zeroes every count.
    pub fn reset_stats(&self) {
        *lock(&self.inner.stats) = Stats::default();
    }

    /// Replaces the fault list (see [`Fault`] for the semantics). Faults with `times: 0` are
    /// dropped at once.
    pub fn set_faults(&self, faults: Vec<Fault>) {
        let list: Vec<Fault> = faults.into_iter().filter(|f| f.times != Some(0)).collect();
        let mut state = lock(&self.inner.faults);
        self.inner
            .has_faults
            .store(!list.is_empty(), Ordering::SeqCst);
        state.list = list;
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.set_faults(Vec::new());
    }

    /// Moves the virtual clock forward by `seconds` (negative values are ignored: the clock
    /// never goes back). Drives execution progress and cursor expiry (24 h).
    pub fn advance_clock(&self, seconds: i64) {
        self.inner.clock.fetch_add(seconds.max(0), Ordering::SeqCst);
    }

    /// The virtual clock: 2026-06-01T00:00:00Z plus every advance.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(self.now_secs(), 0).unwrap_or_default()
    }

    pub(crate) fn now_secs(&self) -> i64 {
        data::START + self.inner.clock.load(Ordering::SeqCst)
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    pub(crate) fn count(&self, route: &str) {
        let mut stats = lock(&self.inner.stats);
        stats.total += 1;
        match stats.requests.get_mut(route) {
            Some(n) => *n += 1,
            None => {
                stats.requests.insert(route.to_owned(), 1);
            }
        }
    }

    /// The fault that fires for this request, if any (consumes one of its `times`).
    pub(crate) fn pick_fault(&self, route: &str) -> Option<Fault> {
        if !self.inner.has_faults.load(Ordering::Relaxed) {
            return None;
        }
        let mut state = lock(&self.inner.faults);
        let FaultState { list, rng } = &mut *state;
        let mut fired = None;
        for (i, f) in list.iter_mut().enumerate() {
            if !f.matches(route) {
                continue;
            }
            if let Some(p) = f.probability
                && !rng.random_bool(p.clamp(0.0, 1.0))
            {
                continue;
            }
            if let Some(t) = f.times.as_mut() {
                *t = t.saturating_sub(1);
            }
            fired = Some((i, f.clone()));
            break;
        }
        let (i, fault) = fired?;
        if list[i].times == Some(0) {
            list.remove(i);
            self.inner
                .has_faults
                .store(!list.is_empty(), Ordering::SeqCst);
        }
        Some(fault)
    }
}

/// Builds the HTTP app and its control handle, without binding a socket (drive it with
/// `tower::ServiceExt::oneshot`, or serve it yourself). Connection resets need [`serve`], which
/// installs per-connection control; through a bare router a `reset` fault fails the body.
pub fn router(config: EmulatorConfig) -> (axum::Router, Emulator) {
    let emulator = Emulator::new(config);
    (api::routes(emulator.clone()), emulator)
}

/// A running emulator server. Dropping it aborts the server task; [`EmulatorHandle::shutdown`]
/// stops it gracefully.
#[derive(Debug)]
pub struct EmulatorHandle {
    addr: SocketAddr,
    emulator: Emulator,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl EmulatorHandle {
    /// The bound address, e.g. `127.0.0.1:40123`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API base URL, `http://ADDR/v0` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}/v0", self.addr)
    }

    /// The control handle.
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// Stops accepting, lets in-flight requests finish (at most 5 s), then returns.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Serves the emulator on `listener` in a spawned task (needs a Tokio runtime).
///
/// # Errors
/// The listener's `local_addr` error.
pub async fn serve(listener: TcpListener, config: EmulatorConfig) -> io::Result<EmulatorHandle> {
    let addr = listener.local_addr()?;
    let (app, emulator) = router(config);
    let (tx, rx) = oneshot::channel::<()>();
    let make = app.into_make_service_with_connect_info::<net::ConnControl>();
    let task = tokio::spawn(async move {
        let server = axum::serve(net::AbortableListener(listener), make).with_graceful_shutdown(
            async move {
                let _ = rx.await;
            },
        );
        if let Err(e) = server.await {
            tracing::error!(error = %e, "emulator server failed");
        }
    });
    Ok(EmulatorHandle {
        addr,
        emulator,
        shutdown: Some(tx),
        task: Some(task),
    })
}

/// Binds `127.0.0.1:0` and [`serve`]s there.
///
/// # Errors
/// The bind error.
pub async fn spawn(config: EmulatorConfig) -> io::Result<EmulatorHandle> {
    let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
    serve(listener, config).await
}
