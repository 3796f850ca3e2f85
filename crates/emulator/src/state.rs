//! The shared state of one emulator and its in-process control handle, [`Emulator`]: request
//! counts, the fault list, the virtual clock and the store.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicBool, AtomicI64, Ordering},
    },
};

use blaxel_models::ApiVersion;
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};

use crate::{EmulatorConfig, Fault, cursor, faults::FaultError, rendered, seed, store, timeline};

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

/// What the handlers share; fields are documented on [`EmulatorConfig`] where they come from.
pub(crate) struct Inner {
    pub(crate) tokens: HashMap<String, Vec<String>>,
    pub(crate) valid_versions: Vec<ApiVersion>,
    pub(crate) capacity: usize,
    pub(crate) inline_tasks_max: usize,
    pub(crate) total_count_limit: Option<usize>,
    pub(crate) store: RwLock<store::Store>,
    clock: AtomicI64,
    stats: Mutex<Stats>,
    faults: Mutex<FaultState>,
    has_faults: AtomicBool,
    pub(crate) create_rng: Mutex<StdRng>,
    pub(crate) cursors: cursor::Cursors,
    /// Bytes of executions' JSON still allowed to be kept rendered.
    pub(crate) renders: rendered::RenderBudget,
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

/// Locks, ignoring poisoning (a panicking handler leaves consistent data behind).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Emulator {
    pub(crate) fn new(config: EmulatorConfig) -> Self {
        let mut tokens: HashMap<String, Vec<String>> = HashMap::new();
        let mut store = store::Store::default();
        for (token, ws) in &config.tokens {
            let list = tokens.entry(token.clone()).or_default();
            if !list.contains(ws) {
                list.push(ws.clone());
            }
            if !store.workspaces.contains_key(ws) {
                let state =
                    seed::seed_workspace(config.seed, ws, config.jobs, config.executions_per_job);
                store.workspaces.insert(ws.clone(), state);
            }
        }
        Self {
            inner: Arc::new(Inner {
                tokens,
                valid_versions: config.valid_versions,
                capacity: config.capacity,
                inline_tasks_max: config.inline_tasks_max,
                total_count_limit: config.total_count_limit,
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
                renders: rendered::RenderBudget::new(rendered::RENDER_BUDGET_BYTES),
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
    ///
    /// # Panics
    /// When a fault could never fire as written (see [`Emulator::try_set_faults`]): a fault
    /// that silently never fires would make a test pass for the wrong reason.
    pub fn set_faults(&self, faults: Vec<Fault>) {
        if let Err(e) = self.try_set_faults(faults) {
            panic!("invalid fault: {e}");
        }
    }

    /// Replaces the fault list, as `POST /_emulator/faults` does.
    ///
    /// # Errors
    /// [`FaultError`] for a route that is neither [`route::ANY`](crate::route::ANY) nor a key of
    /// [`route::ALL`](crate::route::ALL), a status outside 100..=599 or a probability outside
    /// 0..=1; the list in place is then kept.
    pub fn try_set_faults(&self, faults: Vec<Fault>) -> Result<(), FaultError> {
        faults.iter().try_for_each(Fault::validate)?;
        self.replace_faults(faults);
        Ok(())
    }

    fn replace_faults(&self, faults: Vec<Fault>) {
        let list: Vec<Fault> = faults.into_iter().filter(|f| f.times != Some(0)).collect();
        let mut state = lock(&self.inner.faults);
        self.inner
            .has_faults
            .store(!list.is_empty(), Ordering::SeqCst);
        state.list = list;
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.replace_faults(Vec::new());
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
        timeline::START + self.inner.clock.load(Ordering::SeqCst)
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
