//! Fault injection for `/v0` routes: what a fault is ([`Fault`], [`FaultBody`]), how tests
//! build one, and which faults are refused ([`FaultError`]). How a fault rewrites a response is
//! in `apply`.

use serde::{Deserialize, Serialize};

use crate::route;

mod apply;

pub(crate) use apply::apply;

/// One injected fault: the JSON items of `POST /_emulator/faults` (camelCase).
///
/// Example: `{"route": "GET /v0/jobs/{jobId}/executions", "status": 503, "retryAfter": 2,
/// "times": 1}` answers the next listing of executions with a 503 and `Retry-After: 2`; in Rust,
/// with the builder methods, `Fault::on(route::LIST_EXECUTIONS).status(503).retry_after(2).times(1)`.
///
/// Which response is sent:
/// - `reset`: none; the connection is closed (TCP RST) after `latencyMs`.
/// - `body`: see [`FaultBody`]; `status` overrides the status it would otherwise have.
/// - `status` (or `retryAfter`) alone: that status (429 when only `retryAfter` is given) with
///   the flat error body `{"code": status, "error": "...", "message": "..."}`.
/// - only `latencyMs`: the real response, delayed.
///
/// `Retry-After` is added to whichever response is sent. With `times`, the fault applies to the
/// next N matching requests and then expires; with `probability`, each matching request draws
/// from the emulator's seeded RNG (and `times`, if also given, counts only the hits); with
/// neither, it applies to every matching request until the faults are cleared. When several
/// faults match, the first in the list that fires wins.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// A route key of [`route::ALL`] such as `GET /v0/jobs/{jobId}/executions` (method, space,
    /// route template), or [`route::ANY`] (`*`) for every `/v0` route. Anything else is
    /// rejected ([`FaultError::UnknownRoute`]).
    pub route: String,
    /// HTTP status to answer with (100..=599).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Seconds, sent as the `Retry-After` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Delay before answering (or resetting), milliseconds of real time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// A broken or mutated body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<FaultBody>,
    /// Close the connection without any response.
    #[serde(default)]
    pub reset: bool,
    /// Apply to the next N matching requests, then expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Apply to each matching request with this probability (0.0..=1.0, seeded RNG).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
}

/// How a fault breaks the response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultBody {
    /// Invalid JSON (`application/json`), status 200 unless `status` is set.
    Malformed,
    /// The real body cut to its first half; `Content-Length` is that of the cut body.
    Truncated,
    /// Status 200 (unless `status` is set) with an empty body.
    Empty,
    /// An HTML `502 Bad Gateway` page (`text/html`), status 502 unless `status` is set.
    Html,
    /// The real response with an extra unknown field in every JSON object, except string maps
    /// (`labels`, `envOverride`, `env`), whose entries are data rather than fields.
    UnknownFields,
    /// The real response with every optional field set to `null`, except those that identify
    /// an item or continue a listing (`id`, `name`, `job`, `hasMore`, `nextCursor`) and the
    /// required `data`, `meta`, `metadata`, `spec`, `error`.
    Nulls,
    /// The real response with every `status` string replaced by `hibernating` (`HIBERNATING`
    /// for upper-case enums such as a job's status).
    UnknownStatus,
    /// The real response with every `...Z` timestamp rewritten as
    /// `2026-05-01T10:00:00.000000+00:00` (valid RFC 3339, not the canonical form).
    OddTimestamps,
    /// The real response with every `envOverride` object sent as a string holding that JSON
    /// object (`"{\"MY_VAR\":\"***\"}"`), the form of the spec's example and of the reference
    /// page, which the official SDKs' models reject.
    EnvOverrideString,
}

/// Why a fault list was refused (`POST /_emulator/faults` answers 400 with this message).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultError {
    /// `route` is neither `*` nor a key of [`route::ALL`]: the fault could never fire.
    #[error("unknown route \"{0}\": expected \"*\" or one of {keys}", keys = route::ALL.join(", "))]
    UnknownRoute(String),
    /// `status` outside 100..=599.
    #[error("status {0} is not an HTTP status (100..=599)")]
    Status(u16),
    /// `probability` outside 0..=1.
    #[error("probability {0} is outside 0..=1")]
    Probability(f64),
}

/// Builder methods: `Fault::on(route::GET_EXECUTION).status(503).times(2)`.
impl Fault {
    /// A fault on `route` (a key of [`route::ALL`], or [`route::ANY`]) that, as is, only
    /// passes the request through; the methods below say what it does.
    pub fn on(route: &str) -> Self {
        Self {
            route: route.to_owned(),
            ..Self::default()
        }
    }

    /// Answers with this HTTP status (100..=599).
    #[must_use]
    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Adds `Retry-After: seconds` (alone: a 429).
    #[must_use]
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// Delays the answer by `ms` milliseconds of real time.
    #[must_use]
    pub fn latency_ms(mut self, ms: u64) -> Self {
        self.latency_ms = Some(ms);
        self
    }

    /// Breaks or mutates the body.
    #[must_use]
    pub fn body(mut self, body: FaultBody) -> Self {
        self.body = Some(body);
        self
    }

    /// Resets the connection instead of answering.
    #[must_use]
    pub fn reset(mut self) -> Self {
        self.reset = true;
        self
    }

    /// Applies to the next `n` matching requests only.
    #[must_use]
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Applies to each matching request with probability `p` (0..=1, seeded RNG).
    #[must_use]
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = Some(p);
        self
    }

    /// Whether this fault targets `route` (a stats key).
    pub(crate) fn matches(&self, route: &str) -> bool {
        self.route == route::ANY || self.route == route
    }

    /// Checks that the fault can fire as written.
    ///
    /// # Errors
    /// See [`FaultError`].
    pub fn validate(&self) -> Result<(), FaultError> {
        if self.route != route::ANY && !route::ALL.contains(&self.route.as_str()) {
            return Err(FaultError::UnknownRoute(self.route.clone()));
        }
        if let Some(s) = self.status
            && !(100..=599).contains(&s)
        {
            return Err(FaultError::Status(s));
        }
        if let Some(p) = self.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err(FaultError::Probability(p));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_and_validation() {
        let f = Fault::on(route::LIST_TASKS)
            .status(503)
            .retry_after(1)
            .times(2);
        assert_eq!(
            (f.route.as_str(), f.status, f.retry_after, f.times),
            (route::LIST_TASKS, Some(503), Some(1), Some(2))
        );
        assert_eq!(f.validate(), Ok(()));
        assert_eq!(Fault::on(route::ANY).reset().validate(), Ok(()));
        let typo = Fault::on("GET /v0/jobs/{jobId}/execution");
        assert!(matches!(typo.validate(), Err(FaultError::UnknownRoute(_))));
        assert_eq!(
            Fault::on(route::GET_JOB).status(42).validate(),
            Err(FaultError::Status(42))
        );
    }

    #[test]
    fn parses_camel_case() {
        let f: Vec<Fault> = serde_json::from_str(
            r#"[{"route":"*","status":503,"retryAfter":2,"latencyMs":5,"body":"unknownFields","times":1,"probability":0.5},{"route":"*","body":"envOverrideString"}]"#,
        )
        .unwrap();
        assert_eq!(f[0].body, Some(FaultBody::UnknownFields));
        assert_eq!(f[0].retry_after, Some(2));
        assert!(!f[0].reset);
        assert_eq!(f[1].body, Some(FaultBody::EnvOverrideString));
    }
}
