//! The circuit breakers of a [`Client`](crate::Client) and its clones: one per upstream
//! [`Route`], each route its own failure domain, so that one broken route does not make the
//! others fail fast.
//!
//! Closed: every attempt goes out; it opens when, among the last [`WINDOW`] attempts of the
//! last [`WINDOW_AGE`] that got a verdict, at least `failure_threshold` failed (connection errors, timeouts, 5xx) and they are
//! at least `failure_rate_percent` of them. A dead upstream opens it after `failure_threshold`
//! failures; one that fails a few percent of calls, under any concurrency, never does. Open: attempts fail at once with
//! [`Error::CircuitOpen`](crate::Error::CircuitOpen) for `open_for`. Then half-open: up to
//! `half_open_probes` attempts go out as probes while the others still fail at once; a probe
//! that gets an answer closes the breaker, a probe that fails opens it again.
//!
//! Why not a crate: `failsafe` (the established one) lets every call through while half-open,
//! which is the thundering herd a breaker is meant to spare a recovering upstream, cannot say
//! how long it stays open (`retry_in`), and brings a second `rand`; the tower breakers are young
//! 0.x layers over a `Service`, and this client is not one. The state machine is three states
//! behind one mutex, never held across an await, and unit-tested below with an explicit clock.

use std::{
    collections::VecDeque,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::{Error, Route};

/// Attempts whose outcome the closed breaker remembers, at most.
pub const WINDOW: usize = 100;
/// How long the closed breaker remembers an outcome.
pub const WINDOW_AGE: Duration = Duration::from_secs(10);

/// Circuit breaker settings of a [`ClientConfig`](crate::ClientConfig).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CircuitBreakerConfig {
    /// Failed attempts (connection error, timeout, 5xx) among the last [`WINDOW`] that open
    /// the breaker, if they also reach `failure_rate_percent`; `0` disables it. 4xx, 429 and
    /// undecodable 2xx bodies are not failures: the upstream is up and answering. Default 5.
    pub failure_threshold: u32,
    /// Share of failures among the last [`WINDOW`] attempts that opens the breaker (with at
    /// least `failure_threshold` failures), percent. Default 50.
    pub failure_rate_percent: u32,
    /// How long the breaker stays open before it lets probes through. Default 5 s.
    pub open_for: Duration,
    /// Attempts let through at once while half-open (at least 1). Default 1.
    pub half_open_probes: u32,
}

impl CircuitBreakerConfig {
    /// A breaker that never opens.
    pub fn disabled() -> Self {
        Self {
            failure_threshold: 0,
            ..Self::default()
        }
    }
}

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            failure_rate_percent: 50,
            open_for: Duration::from_secs(5),
            half_open_probes: 1,
        }
    }
}

/// The state of a circuit breaker ([`Client::circuit_states`](crate::Client::circuit_states)).
///
/// Ordered by severity (`Closed < HalfOpen < Open`), so the worst of several is their `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CircuitState {
    /// Attempts go out.
    Closed,
    /// Probes go out; their outcome closes or reopens the breaker.
    HalfOpen,
    /// Attempts fail at once with [`Error::CircuitOpen`](crate::Error::CircuitOpen).
    Open,
}

impl CircuitState {
    /// The label: `closed`, `half_open` or `open`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::HalfOpen => "half_open",
            Self::Open => "open",
        }
    }
}

/// One breaker per [`Route`], indexed by [`Route::index`].
#[derive(Debug)]
pub(crate) struct Breakers([Breaker; Route::ALL.len()]);

impl Breakers {
    pub(crate) fn new(config: &CircuitBreakerConfig) -> Self {
        Self(Route::ALL.map(|route| Breaker::new(config.clone(), route.template())))
    }

    pub(crate) fn get(&self, route: Route) -> &Breaker {
        &self.0[route.index()]
    }

    pub(crate) fn states(&self) -> Vec<(&'static str, CircuitState)> {
        self.0.iter().map(|b| (b.domain, b.state())).collect()
    }

    pub(crate) fn worst(&self) -> CircuitState {
        self.0
            .iter()
            .map(Breaker::state)
            .max()
            .unwrap_or(CircuitState::Closed)
    }
}

/// What one attempt says about the upstream's health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It answered (2xx, or a 4xx about the request itself).
    Healthy,
    /// No answer, or a 5xx.
    Failed,
    /// Says nothing either way (429, a 2xx body that does not decode): counts as an answer
    /// for a probe, is not remembered otherwise.
    Neutral,
}

impl Outcome {
    pub(crate) fn of<T>(result: &Result<T, Error>) -> Self {
        match result {
            Ok(_) => Self::Healthy,
            Err(Error::Connect { .. } | Error::Timeout { .. }) => Self::Failed,
            Err(Error::Http { status, .. }) if status.is_server_error() => Self::Failed,
            Err(Error::RateLimited { .. } | Error::InvalidPayload { .. }) => Self::Neutral,
            Err(_) => Self::Healthy,
        }
    }
}

#[derive(Debug)]
enum State {
    /// The last outcomes, oldest first: when, and whether it failed.
    Closed {
        recent: VecDeque<(Instant, bool)>,
    },
    Open {
        until: Instant,
    },
    HalfOpen {
        probes: u32,
    },
}

#[derive(Debug)]
pub(crate) struct Breaker {
    config: CircuitBreakerConfig,
    /// The route template it guards, for logs.
    domain: &'static str,
    state: Mutex<State>,
}

/// Leave to make one attempt; record its outcome with [`Permit::record`]. A probe's permit
/// dropped without a record (the attempt was cancelled) frees its probe slot.
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    breaker: &'a Breaker,
    probe: bool,
}

impl Breaker {
    pub(crate) fn new(config: CircuitBreakerConfig, domain: &'static str) -> Self {
        Self {
            config,
            domain,
            state: Mutex::new(State::Closed {
                recent: VecDeque::with_capacity(WINDOW),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is valid after any panic (plain assignments), so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn state(&self) -> CircuitState {
        match *self.lock() {
            State::Closed { .. } => CircuitState::Closed,
            State::Open { until } if Instant::now() >= until => CircuitState::HalfOpen,
            State::Open { .. } => CircuitState::Open,
            State::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }

    /// Leave for one attempt, or how long until the breaker lets probes through.
    pub(crate) fn acquire(&self) -> Result<Permit<'_>, Duration> {
        self.acquire_at(Instant::now())
    }

    fn acquire_at(&self, now: Instant) -> Result<Permit<'_>, Duration> {
        if self.config.failure_threshold == 0 {
            return Ok(Permit {
                breaker: self,
                probe: false,
            });
        }
        let mut state = self.lock();
        if let State::Open { until } = *state {
            if now < until {
                return Err(until - now);
            }
            *state = State::HalfOpen { probes: 0 };
            tracing::info!(
                route = self.domain,
                "upstream circuit breaker half-open: probing"
            );
        }
        match &mut *state {
            State::Closed { .. } => Ok(Permit {
                breaker: self,
                probe: false,
            }),
            State::HalfOpen { probes } if *probes < self.config.half_open_probes.max(1) => {
                *probes += 1;
                Ok(Permit {
                    breaker: self,
                    probe: true,
                })
            }
            // Probes are out: the others wait for their verdict, a short while.
            State::HalfOpen { .. } => Err(self.config.open_for.min(Duration::from_secs(1))),
            State::Open { .. } => unreachable!("an open breaker was handled above"),
        }
    }

    fn record_at(&self, probe: bool, outcome: Outcome, now: Instant) {
        if self.config.failure_threshold == 0 {
            return;
        }
        let mut state = self.lock();
        match (&mut *state, outcome) {
            (State::Closed { recent }, Outcome::Failed | Outcome::Healthy) => {
                while recent.len() >= WINDOW
                    || recent
                        .front()
                        .is_some_and(|(at, _)| now.saturating_duration_since(*at) > WINDOW_AGE)
                {
                    recent.pop_front();
                }
                recent.push_back((now, outcome == Outcome::Failed));
                let failures = recent.iter().filter(|(_, failed)| *failed).count();
                let rate = failures * 100 / recent.len();
                if failures >= self.config.failure_threshold as usize
                    && rate >= self.config.failure_rate_percent as usize
                {
                    tracing::warn!(
                        route = self.domain,
                        failures,
                        of = recent.len(),
                        open_for_ms = self.config.open_for.as_millis() as u64,
                        "upstream circuit breaker opened: failing fast"
                    );
                    *state = State::Open {
                        until: now + self.config.open_for,
                    };
                }
            }
            (State::HalfOpen { .. }, Outcome::Failed) if probe => {
                tracing::warn!(
                    route = self.domain,
                    "upstream circuit breaker probe failed: open again"
                );
                *state = State::Open {
                    until: now + self.config.open_for,
                };
            }
            (State::HalfOpen { .. }, Outcome::Healthy | Outcome::Neutral) if probe => {
                tracing::info!(
                    route = self.domain,
                    "upstream circuit breaker closed: the upstream answers again"
                );
                *state = State::Closed {
                    recent: VecDeque::with_capacity(WINDOW),
                };
            }
            // Attempts that started before the breaker opened say nothing about the probes.
            _ => {}
        }
    }

    fn release_probe(&self) {
        if let State::HalfOpen { probes } = &mut *self.lock() {
            *probes = probes.saturating_sub(1);
        }
    }
}

impl Permit<'_> {
    /// Records the outcome of the attempt this permit allowed.
    pub(crate) fn record(self, outcome: Outcome) {
        self.breaker.record_at(self.probe, outcome, Instant::now());
        std::mem::forget(self);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.probe {
            self.breaker.release_probe();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(threshold: u32) -> Breaker {
        Breaker::new(
            CircuitBreakerConfig {
                failure_threshold: threshold,
                failure_rate_percent: 50,
                open_for: Duration::from_secs(10),
                half_open_probes: 1,
            },
            "GET /jobs",
        )
    }

    fn fail(b: &Breaker, now: Instant) {
        let permit = b.acquire_at(now).expect("permitted");
        b.record_at(permit.probe, Outcome::Failed, now);
        std::mem::forget(permit);
    }

    #[test]
    fn a_dead_upstream_opens_it_after_the_threshold() {
        let b = breaker(3);
        let t0 = Instant::now();
        fail(&b, t0);
        fail(&b, t0);
        // 429 and bad payloads are not remembered.
        b.record_at(false, Outcome::Neutral, t0);
        assert!(b.acquire_at(t0).is_ok());
        fail(&b, t0);
        let retry_in = b.acquire_at(t0 + Duration::from_secs(4)).unwrap_err();
        assert_eq!(retry_in, Duration::from_secs(6));
    }

    #[test]
    fn occasional_failures_never_open_it() {
        let b = breaker(5);
        let t0 = Instant::now();
        // One failure in four, for long: a quarter of the window, under the 50 % rate.
        for i in 0..1_000 {
            let outcome = if i % 4 == 0 {
                Outcome::Failed
            } else {
                Outcome::Healthy
            };
            b.record_at(false, outcome, t0);
        }
        assert!(b.acquire_at(t0).is_ok());
        // Old outcomes are forgotten: failures now weigh against recent answers only.
        let later = t0 + WINDOW_AGE + Duration::from_secs(1);
        for _ in 0..5 {
            b.record_at(false, Outcome::Failed, later);
        }
        assert!(
            b.acquire_at(later).is_err(),
            "5 of 5 recent attempts failed"
        );
        let b = breaker(5);
        // Half of the window failing, with enough failures, opens it.
        for i in 0..WINDOW {
            let outcome = if i % 2 == 0 {
                Outcome::Failed
            } else {
                Outcome::Healthy
            };
            b.record_at(false, outcome, t0);
        }
        assert!(b.acquire_at(t0).is_err());
    }

    #[test]
    fn half_open_lets_one_probe_through_and_its_outcome_decides() {
        let b = breaker(1);
        let t0 = Instant::now();
        fail(&b, t0);
        let t1 = t0 + Duration::from_secs(10);
        let probe = b.acquire_at(t1).expect("probe");
        assert!(probe.probe);
        assert!(b.acquire_at(t1).is_err(), "one probe at a time");
        // A late failure of an attempt that is not the probe changes nothing.
        b.record_at(false, Outcome::Failed, t1);
        b.record_at(true, Outcome::Failed, t1);
        std::mem::forget(probe);
        assert!(
            b.acquire_at(t1 + Duration::from_secs(9)).is_err(),
            "open again"
        );
        let t2 = t1 + Duration::from_secs(10);
        let probe = b.acquire_at(t2).expect("probe");
        b.record_at(true, Outcome::Healthy, t2);
        std::mem::forget(probe);
        assert!(
            b.acquire_at(t2).is_ok() && b.acquire_at(t2).is_ok(),
            "closed"
        );
    }

    #[test]
    fn a_cancelled_probe_frees_its_slot() {
        let b = breaker(1);
        let t0 = Instant::now();
        fail(&b, t0);
        let t1 = t0 + Duration::from_secs(10);
        drop(b.acquire_at(t1).expect("probe"));
        assert!(b.acquire_at(t1).is_ok(), "the slot is free again");
    }

    #[test]
    fn one_breaker_per_route_and_the_worst_state() {
        let breakers = Breakers::new(&CircuitBreakerConfig {
            failure_threshold: 1,
            ..CircuitBreakerConfig::default()
        });
        assert_eq!(breakers.worst(), CircuitState::Closed);
        let listing = breakers.get(Route::ListJobs);
        let permit = listing.acquire().unwrap();
        permit.record(Outcome::Failed);
        assert_eq!(breakers.worst(), CircuitState::Open);
        assert!(breakers.get(Route::GetJobExecution).acquire().is_ok());
        let states = breakers.states();
        assert_eq!(states.len(), Route::ALL.len());
        assert_eq!(states[0], ("GET /jobs", CircuitState::Open));
        assert!(states[1..].iter().all(|(_, s)| *s == CircuitState::Closed));
    }

    #[test]
    fn threshold_zero_never_opens() {
        let b = breaker(0);
        let t0 = Instant::now();
        for _ in 0..100 {
            fail(&b, t0);
        }
        assert!(b.acquire_at(t0).is_ok());
    }

    #[test]
    fn outcomes() {
        use http::StatusCode;
        let http = |s: u16| {
            Outcome::of::<()>(&Err(Error::Http {
                status: StatusCode::from_u16(s).unwrap(),
                body: Default::default(),
                retry_after: None,
            }))
        };
        assert_eq!(http(503), Outcome::Failed);
        assert_eq!(http(500), Outcome::Failed);
        assert_eq!(http(400), Outcome::Healthy);
        assert_eq!(Outcome::of(&Ok(())), Outcome::Healthy);
        let timeout = Error::Timeout {
            elapsed: Duration::ZERO,
        };
        assert_eq!(Outcome::of::<()>(&Err(timeout)), Outcome::Failed);
        let limited = Error::RateLimited {
            retry_after: None,
            body: Default::default(),
        };
        assert_eq!(Outcome::of::<()>(&Err(limited)), Outcome::Neutral);
    }
}
