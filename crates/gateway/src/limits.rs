//! The limits of one request, shared by every face. Built from the flags by
//! [`crate::Config::limits`]; the GraphQL face enforces the document limits in
//! [`crate::graphql::extension`], the HTTP layer the body and time limits.

use std::time::Duration;

/// Limits of the gateway; each is a flag (see [`crate::Config`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest `first` served, following upstream pages past 100. Default 500.
    pub max_first: u32,
    /// Deepest selection set. Default 16.
    pub max_depth: usize,
    /// Largest query complexity: each field costs 1, a connection multiplies its selection by
    /// `first`. Default 60 000 (a full 500-execution page of every field fits).
    pub max_complexity: usize,
    /// Most aliased fields in one operation. Default 64.
    pub max_aliases: usize,
    /// Largest query document, bytes. Default 64 KiB.
    pub max_document_bytes: usize,
    /// Largest request body, bytes. Default 256 KiB.
    pub max_body_bytes: usize,
    /// Most fields of an operation once fragments are expanded. Default 2,000.
    pub max_fields: u64,
    /// Most upstream calls of one request (a batch: all its operations). Default 100.
    pub max_upstream_calls: u64,
    /// Largest response, bytes (estimated before, measured after). Default 4 MiB.
    pub max_response_bytes: u64,
    /// Most operations in a batch. Default 10.
    pub max_batch: usize,
    /// Whole-request timeout; also the bound on one upstream call with its retries. Default 30 s.
    pub request_timeout: Duration,
    /// Upstream calls in flight for one request. Default 8.
    pub per_request_concurrency: usize,
    /// Identical upstream reads in flight are shared across requests of one credential
    /// (`--upstream-dedupe`). Default on.
    pub upstream_dedupe: bool,
    /// Requests of one credential running at once (see [`crate::fairness`]). Default 16.
    pub per_credential_concurrency: usize,
    /// Limits of subscriptions and watches (poll interval, streams per connection and per
    /// credential, lifetime, keep-alives).
    pub watch: crate::watch::WatchLimits,
}

impl Default for Limits {
    fn default() -> Self {
        crate::Config::default().limits()
    }
}
