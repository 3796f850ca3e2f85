//! The resilient executor under every endpoint: per-call headers, the retry loop (backoff,
//! `Retry-After`, the retry budget, the total deadline), the per-route circuit breakers, the
//! concurrency bound, and the mapping of one answer to a model or an [`Error`].

use std::{
    hash::{BuildHasher, Hasher},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use backon::{ExponentialBuilder, Retryable};
use bytes::Bytes;
use http::{
    HeaderMap, HeaderValue, StatusCode,
    header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER},
};
use reqwest::Url;
use serde::de::{DeserializeOwned, DeserializeSeed};
use tower::retry::budget::Budget as _;

use crate::{
    CircuitState, Client, Credentials, Error, Route,
    breaker::Outcome,
    decode::{Decode, Json},
    headers::X_BLAXEL_WORKSPACE,
    redact::{quote_input, snippet},
    request::Query,
    route,
};

/// One HTTP exchange to run, with or without retries.
pub(crate) struct Call<'a> {
    /// The operation: method, failure domain, log label.
    pub(crate) route: Route,
    /// Path segments after the base URL, each checked by [`route::check_segment`] when it is
    /// caller input.
    pub(crate) segments: &'a [&'a str],
    pub(crate) query: Query,
    pub(crate) body: Option<Bytes>,
    /// Safe to send twice: only then is a failed attempt retried.
    pub(crate) idempotent: bool,
    /// Tenant traffic: counted by the route's circuit breaker and the retry budget. A health
    /// probe is not, so that probing a failing upstream cannot open the breaker that tenants'
    /// calls go through (and an open breaker cannot hide that the upstream recovered).
    pub(crate) guarded: bool,
}

impl<'a> Call<'a> {
    /// An idempotent, guarded `GET`.
    pub(crate) fn get(route: Route, segments: &'a [&'a str], query: Query) -> Self {
        Self {
            route,
            segments,
            query,
            body: None,
            idempotent: true,
            guarded: true,
        }
    }
}

/// A call ready to be sent: its URL, headers, and the token to mask in what comes back.
struct Prepared<'a> {
    call: &'a Call<'a>,
    url: Url,
    headers: HeaderMap,
    secret: Option<&'a str>,
}

impl Client {
    /// Runs one call: headers, URL, then attempts under the retry policy and total deadline.
    /// A call that fails for the upstream's sake (no answer, a 5xx) is logged at warn with its
    /// route and cause (a probe's at debug).
    pub(crate) async fn send<T: DeserializeOwned>(
        &self,
        creds: &Credentials,
        call: Call<'_>,
    ) -> Result<T, Error> {
        self.send_seeded(creds, call, std::marker::PhantomData::<T>)
            .await
    }

    /// [`Client::send`] decoding the answer with `seed` (cloned for each attempt): a seed can
    /// shape the value as it is decoded, e.g. drop the parts of each item a caller does not
    /// read ([`blaxel_models::ExecutionProjection`]).
    pub(crate) async fn send_seeded<S, T>(
        &self,
        creds: &Credentials,
        call: Call<'_>,
        seed: S,
    ) -> Result<T, Error>
    where
        S: for<'de> DeserializeSeed<'de, Value = T> + Clone,
    {
        self.send_decoded(creds, call, Json(seed)).await
    }

    /// [`Client::send`] reading the answer's body with `decoder` (cloned for each attempt).
    pub(crate) async fn send_decoded<D: Decode>(
        &self,
        creds: &Credentials,
        call: Call<'_>,
        decoder: D,
    ) -> Result<D::Value, Error> {
        let config = &self.inner.config;
        let prepared = Prepared {
            call: &call,
            url: route::join(&self.inner.base, call.segments),
            headers: self.headers(creds)?,
            secret: creds
                .token
                .as_ref()
                .or(config.token.as_ref())
                .map(|t| t.expose()),
        };
        let policy = &config.retry;
        let deadline = policy.total_deadline;
        let attempts = if call.idempotent && call.guarded {
            policy.max_attempts.max(1)
        } else {
            1
        };
        let backoff = ExponentialBuilder::new()
            .with_min_delay(policy.initial_backoff)
            .with_max_delay(policy.max_backoff)
            .with_factor(2.0)
            .with_max_times((attempts - 1) as usize)
            .with_jitter()
            .with_jitter_seed(random_seed());
        let started = Instant::now();
        let mut retried_short_body = false;
        let budget = &self.inner.budget;
        let breaker = self.inner.breakers.get(call.route);
        if call.guarded {
            // Every call earns retries for the calls of the window; each retry spends some.
            budget.deposit();
        }
        let sent = AtomicU32::new(0);

        let attempt = || {
            let n = sent.fetch_add(1, Ordering::Relaxed) + 1;
            self.attempt(&prepared, n, decoder.clone())
        };
        let retrying = attempt
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|error: &Error| {
                if !error.is_retryable() || matches!(error, Error::CircuitOpen { .. }) {
                    return false;
                }
                // A breaker that opened meanwhile answers the retry anyway: keep the real error.
                if breaker.state() == CircuitState::Open {
                    return false;
                }
                // A body that ended early is worth one retry, not more.
                if matches!(error, Error::InvalidPayload { .. }) {
                    if retried_short_body {
                        return false;
                    }
                    retried_short_body = true;
                }
                true
            })
            .adjust(|error: &Error, backoff: Option<Duration>| {
                let mut delay = backoff?;
                if policy.honour_retry_after
                    && let Some(retry_after) = error.retry_after()
                {
                    delay = retry_after;
                }
                // A retry that cannot start before the deadline is not worth waiting for.
                if started.elapsed() + delay >= deadline {
                    return None;
                }
                // Withdrawn last, once the retry is certain: a call whose attempts or time ran
                // out spends nothing.
                if !budget.withdraw() {
                    self.inner.counters.budget_refused();
                    tracing::debug!(
                        route = call.route.template(),
                        error = %error,
                        "retry budget exhausted: not retrying"
                    );
                    return None;
                }
                Some(delay)
            })
            .notify(|error: &Error, delay: Duration| {
                self.inner.counters.retried();
                tracing::debug!(
                    route = call.route.template(),
                    cause = error.kind(),
                    delay_ms = delay.as_millis() as u64,
                    error = %error,
                    "retrying upstream request"
                );
            });
        let result = match tokio::time::timeout(deadline, retrying).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout {
                elapsed: started.elapsed(),
            }),
        };
        if let Err(error) = &result
            && Outcome::of(&result) == Outcome::Failed
        {
            let attempts = sent.load(Ordering::Relaxed);
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let status = error.status().map(|s| s.as_u16());
            let (route, cause) = (call.route.template(), error.kind());
            if call.guarded {
                tracing::warn!(route, cause, status, attempts, elapsed_ms, error = %error, "upstream call failed");
            } else {
                // A probe's caller gets the error and decides; a readiness check polled every
                // few seconds against a dead upstream would otherwise repeat this line.
                tracing::debug!(route, cause, status, attempts, elapsed_ms, error = %error, "upstream probe failed");
            }
        }
        result
    }

    /// One attempt (`n` from 1) in its own `upstream` span, a child of the caller's: leave from
    /// the route's circuit breaker (or [`Error::CircuitOpen`] at once), then the exchange, whose
    /// outcome the breaker records. Unguarded calls skip the breaker. The span holds the route
    /// template (never a job name or an id), the method, the attempt, and the answer's status or
    /// the cause of no answer.
    async fn attempt<D: Decode>(
        &self,
        prepared: &Prepared<'_>,
        n: u32,
        decoder: D,
    ) -> Result<D::Value, Error> {
        use tracing::{Instrument as _, field::Empty};
        let route = prepared.call.route;
        let span = tracing::info_span!(
            "upstream",
            otel.name = route.template(),
            otel.kind = "client",
            otel.status_code = Empty,
            http.request.method = route.method().as_str(),
            http.route = route.template(),
            attempt = n,
            http.response.status_code = Empty,
            "error.type" = Empty,
        );
        let result = self
            .guarded_attempt(prepared, decoder)
            .instrument(span.clone())
            .await;
        if let Err(error) = &result {
            span.record("error.type", error.kind());
            if Outcome::of(&result) == Outcome::Failed {
                span.record("otel.status_code", "ERROR");
            }
        }
        result
    }

    async fn guarded_attempt<D: Decode>(
        &self,
        prepared: &Prepared<'_>,
        decoder: D,
    ) -> Result<D::Value, Error> {
        if !prepared.call.guarded {
            return self.exchange(prepared, decoder).await;
        }
        let permit = self
            .inner
            .breakers
            .get(prepared.call.route)
            .acquire()
            .map_err(|retry_in| {
                self.inner.counters.circuit_rejected();
                Error::CircuitOpen { retry_in }
            })?;
        let result = self.exchange(prepared, decoder).await;
        permit.record(Outcome::of(&result));
        result
    }

    /// A concurrency permit, the exchange under `request_timeout`, then decoding.
    async fn exchange<D: Decode>(
        &self,
        prepared: &Prepared<'_>,
        decoder: D,
    ) -> Result<D::Value, Error> {
        let Prepared {
            call,
            url,
            headers,
            secret,
        } = prepared;
        // The semaphore is never closed, so acquire cannot fail.
        let permit = self.inner.in_flight.acquire().await.ok();
        let started = Instant::now();
        let mut headers = headers.clone();
        self.inner.config.on_attempt.run(&mut headers);
        let mut request = self
            .inner
            .http
            .request(call.route.method(), url.clone())
            .headers(headers);
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(body) = &call.body {
            request = request
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.clone());
        }
        let exchange = async {
            let response = request
                .send()
                .await
                .map_err(|e| Error::from_reqwest(e, started.elapsed()))?;
            let status = response.status();
            let retry_after = retry_after(response.headers());
            let body = response
                .bytes()
                .await
                .map_err(|e| Error::from_reqwest(e, started.elapsed()))?;
            Ok::<_, Error>((status, retry_after, body))
        };
        let outcome = tokio::time::timeout(self.inner.config.request_timeout, exchange).await;
        drop(permit);
        let answer = outcome
            .map_err(|_| Error::Timeout {
                elapsed: started.elapsed(),
            })
            .and_then(|answer| answer);
        let (status, retry_after, body) = match answer {
            Ok(answer) => answer,
            Err(error) => {
                self.inner.counters.unanswered(call.route, &error);
                return Err(error);
            }
        };
        self.inner.counters.answered(call.route, status.as_u16());
        tracing::Span::current().record("http.response.status_code", status.as_u16());
        tracing::trace!(
            route = call.route.template(),
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "upstream answered"
        );
        if D::YIELD_FIRST {
            tokio::task::yield_now().await;
        }
        decode(status, retry_after, &body, *secret, decoder)
    }

    /// Per-call headers: the call's token and workspace, else the configured ones.
    pub(crate) fn headers(&self, creds: &Credentials) -> Result<HeaderMap, Error> {
        let config = &self.inner.config;
        let mut headers = HeaderMap::new();
        if let Some(token) = creds.token.as_ref().or(config.token.as_ref()) {
            let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose()))
                .map_err(|_| Error::invalid("the token is not a valid header value"))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        if let Some(workspace) = creds.workspace.as_ref().or(config.workspace.as_ref()) {
            let value = HeaderValue::from_str(workspace).map_err(|_| {
                Error::invalid(format!(
                    "workspace {} is not a valid header value",
                    quote_input(workspace)
                ))
            })?;
            headers.insert(X_BLAXEL_WORKSPACE, value);
        }
        Ok(headers)
    }
}

/// Maps an answer: a non-2xx to its error, a 2xx body to a value by `decoder` (one pass over the
/// bytes; `Json(PhantomData::<T>)` decodes `T` as it is). `secret` (the token sent) is masked in
/// any text kept from the body.
pub(crate) fn decode<D: Decode>(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &[u8],
    secret: Option<&str>,
    decoder: D,
) -> Result<D::Value, Error> {
    if !status.is_success() {
        return Err(Error::from_status(status, retry_after, body, secret));
    }
    decoder
        .decode(body)
        .map_err(|source| Error::InvalidPayload {
            status,
            snippet: snippet(body, crate::SNIPPET_BYTES, secret),
            source: bounded(source, secret),
        })
}

/// A decode error whose message quotes a value of the body (`unknown variant `...``) holds
/// upstream text: past a few hundred characters, or holding `secret`, it is replaced by its
/// cut and masked message. An early end of the body quotes nothing and keeps its kind, which
/// decides the retry.
fn bounded(error: serde_json::Error, secret: Option<&str>) -> serde_json::Error {
    let message = error.to_string();
    let quoted = crate::redact::quote_upstream(&message, secret);
    if error.is_eof() || quoted == message {
        return error;
    }
    <serde_json::Error as serde::de::Error>::custom(quoted)
}

/// `Retry-After` as delay-seconds (HTTP dates are ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A fresh seed for the backoff jitter (std's per-instance random hasher keys).
fn random_seed() -> u64 {
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

#[cfg(test)]
mod tests {
    use std::marker::PhantomData;

    use blaxel_models::Job;

    use super::*;
    use crate::ClientConfig;

    #[test]
    fn headers_prefer_call_credentials() {
        let config = ClientConfig {
            token: Some("configured".into()),
            workspace: Some("ws-a".into()),
            ..ClientConfig::default()
        };
        let client = Client::new(config).unwrap();
        let headers = client.headers(&Credentials::default()).unwrap();
        assert_eq!(headers[AUTHORIZATION], "Bearer configured");
        assert!(headers[AUTHORIZATION].is_sensitive());
        assert_eq!(headers[X_BLAXEL_WORKSPACE], "ws-a");
        let call = Credentials::with_token("caller").workspace("ws-b");
        let headers = client.headers(&call).unwrap();
        assert_eq!(headers[AUTHORIZATION], "Bearer caller");
        assert_eq!(headers[X_BLAXEL_WORKSPACE], "ws-b");

        let bare = Client::new(ClientConfig::default()).unwrap();
        assert!(bare.headers(&Credentials::default()).unwrap().is_empty());
    }

    #[test]
    fn retry_after_seconds_only() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn decode_maps_short_bodies_to_retryable_payload_errors() {
        let err = decode(
            StatusCode::OK,
            None,
            b"{\"metadata\":",
            None,
            Json(PhantomData::<Job>),
        )
        .unwrap_err();
        assert!(matches!(err, Error::InvalidPayload { .. }) && err.is_retryable());
        let err = decode(StatusCode::OK, None, b"", None, Json(PhantomData::<Job>)).unwrap_err();
        assert!(err.is_retryable());
        let err = decode(
            StatusCode::OK,
            None,
            b"<html></html>",
            None,
            Json(PhantomData::<Job>),
        )
        .unwrap_err();
        assert!(matches!(err, Error::InvalidPayload { .. }) && !err.is_retryable());
    }

    #[test]
    fn decode_errors_quote_the_body_in_bounds() {
        // serde quotes a string of the wrong type whole: "invalid type: string \"ZZZ...\"".
        let source = |body: &[u8], secret| {
            let err =
                decode(StatusCode::OK, None, body, secret, Json(PhantomData::<u32>)).unwrap_err();
            std::error::Error::source(&err).unwrap().to_string()
        };
        let huge = format!("\"{}\"", "Z".repeat(200_000));
        let text = source(huge.as_bytes(), None);
        assert!(text.starts_with("invalid type: string"), "{}", &text[..40]);
        assert!(
            text.len() < 2 * crate::MAX_QUOTE_CHARS,
            "{} chars",
            text.len()
        );
        let text = source(br#""sk-caller-token-1""#, Some("sk-caller-token-1"));
        assert!(text.starts_with("invalid type: string"), "{text}");
        assert!(!text.contains("sk-caller-token-1"), "{text}");
        // Short and secret-free messages keep their position.
        assert!(source(b"true", None).contains("line 1 column 4"));
    }
}
