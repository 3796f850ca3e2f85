//! Automatic Persisted Queries, Apollo's protocol, in a bounded in-memory store.
//!
//! A client sends `extensions.persistedQuery = {"version": 1, "sha256Hash": "<hex>"}` without the
//! query text; when the gateway does not know the hash it answers `PERSISTED_QUERY_NOT_FOUND`
//! (message `PersistedQueryNotFound`, which Apollo Client also recognises), the client sends the
//! query and the hash together, and the gateway registers the text under its hash once the
//! operation was accepted (parsed and validated). A hash that does not match the text is refused:
//! otherwise one caller could plant a query under another query's hash.
//!
//! async-graphql's `ApolloPersistedQueries` extension is not used: its not-found error carries no
//! `extensions.code`, and a hash mismatch is not reported with a code either.
//!
//! The store holds query texts only (no variables, no caller data), so one store serves every
//! caller. It is bounded twice: by entries and by the bytes of the texts, least recently used
//! evicted first, so a caller registering many large documents cannot grow the process.

use std::{
    num::NonZeroUsize,
    sync::{Arc, Mutex, PoisonError},
};

use lru::LruCache;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// `extensions.code` of a hash the gateway does not know.
pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
/// The message of that error: Apollo Client and Apollo Kotlin match on it.
pub const NOT_FOUND_MESSAGE: &str = "PersistedQueryNotFound";

/// Bounds of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApqLimits {
    /// Most documents kept. Default 1024.
    pub max_entries: usize,
    /// Most bytes of query text kept in total. Default 8 MiB.
    pub max_bytes: usize,
}

impl Default for ApqLimits {
    fn default() -> Self {
        Self {
            max_entries: 1024,
            max_bytes: 8 * 1024 * 1024,
        }
    }
}

/// What a request's `extensions.persistedQuery` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Persisted {
    /// No `persistedQuery` extension: an ordinary request.
    None,
    /// Hash only: run the stored text.
    Lookup([u8; 32]),
    /// Text and hash (already checked to match): run it, and register it once accepted.
    Register([u8; 32]),
}

/// Why a `persistedQuery` extension is refused (`BAD_USER_INPUT`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApqError {
    /// Not `{"version": 1, "sha256Hash": "<64 hex digits>"}`.
    #[error(
        "extensions.persistedQuery must be {{\"version\": 1, \"sha256Hash\": \"<64 hex digits>\"}}: {0}"
    )]
    Malformed(&'static str),
    /// The text's SHA-256 is not the hash sent.
    #[error("provided sha does not match query: the SHA-256 of the query text is {actual}")]
    HashMismatch {
        /// The hex SHA-256 of the query text that was sent.
        actual: String,
    },
}

/// Reads `extensions.persistedQuery` of a request with `query` (None or empty: hash only).
///
/// # Errors
/// [`ApqError`] when the extension is malformed or its hash does not match the text.
pub fn classify(query: Option<&str>, extensions: Option<&Value>) -> Result<Persisted, ApqError> {
    let Some(pq) = extensions.and_then(|e| e.get("persistedQuery")) else {
        return Ok(Persisted::None);
    };
    let pq = pq
        .as_object()
        .ok_or(ApqError::Malformed("it is not an object"))?;
    if pq.get("version").and_then(Value::as_u64) != Some(1) {
        return Err(ApqError::Malformed("only version 1 is supported"));
    }
    let hex = pq
        .get("sha256Hash")
        .and_then(Value::as_str)
        .ok_or(ApqError::Malformed("sha256Hash is missing"))?;
    let hash = parse_hex(hex).ok_or(ApqError::Malformed("sha256Hash is not 64 hex digits"))?;
    match query.filter(|q| !q.is_empty()) {
        None => Ok(Persisted::Lookup(hash)),
        Some(query) => {
            let actual: [u8; 32] = Sha256::digest(query.as_bytes()).into();
            if actual == hash {
                Ok(Persisted::Register(hash))
            } else {
                Err(ApqError::HashMismatch {
                    actual: to_hex(&actual),
                })
            }
        }
    }
}

/// A SHA-256 from its 64 hex digits (either case).
pub fn parse_hex(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let digit = |c: u8| (c as char).to_digit(16);
        out[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(out)
}

/// Lowercase hex digits of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct Entries {
    lru: LruCache<[u8; 32], Arc<str>>,
    bytes: usize,
}

/// Query texts by SHA-256, bounded by [`ApqLimits`]. Cheap to clone (shared).
#[derive(Clone)]
pub struct ApqStore {
    entries: Arc<Mutex<Entries>>,
    limits: ApqLimits,
}

impl ApqStore {
    /// An empty store within `limits` (0 entries reads as 1).
    pub fn new(limits: ApqLimits) -> Self {
        let cap = NonZeroUsize::new(limits.max_entries).unwrap_or(NonZeroUsize::MIN);
        Self {
            entries: Arc::new(Mutex::new(Entries {
                lru: LruCache::new(cap),
                bytes: 0,
            })),
            limits,
        }
    }

    /// The text registered under `hash`, if still held.
    pub fn get(&self, hash: &[u8; 32]) -> Option<Arc<str>> {
        self.lock().lru.get(hash).cloned()
    }

    /// Registers `query` under `hash` (the caller checked that they match). A text larger than
    /// the whole byte budget is not kept.
    pub fn put(&self, hash: [u8; 32], query: &str) {
        if query.len() > self.limits.max_bytes {
            return;
        }
        let mut entries = self.lock();
        if entries.lru.get(&hash).is_some() {
            return;
        }
        entries.bytes += query.len();
        if let Some((_, evicted)) = entries.lru.push(hash, Arc::from(query)) {
            entries.bytes -= evicted.len();
        }
        while entries.bytes > self.limits.max_bytes {
            match entries.lru.pop_lru() {
                Some((_, evicted)) => entries.bytes -= evicted.len(),
                None => break,
            }
        }
    }

    /// Documents held now.
    pub fn len(&self) -> usize {
        self.lock().lru.len()
    }

    /// True when no document is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of query text held now.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sha(query: &str) -> String {
        to_hex(&Sha256::digest(query.as_bytes()))
    }

    fn ext(hash: &str) -> Value {
        json!({"persistedQuery": {"version": 1, "sha256Hash": hash}})
    }

    #[test]
    fn classifies_lookup_registration_and_refusals() {
        let q = "{ __typename }";
        let h = sha(q);
        let hash = parse_hex(&h).unwrap();
        assert_eq!(classify(Some(q), None), Ok(Persisted::None));
        assert_eq!(classify(None, Some(&ext(&h))), Ok(Persisted::Lookup(hash)));
        assert_eq!(
            classify(Some(""), Some(&ext(&h))),
            Ok(Persisted::Lookup(hash))
        );
        assert_eq!(
            classify(Some(q), Some(&ext(&h))),
            Ok(Persisted::Register(hash))
        );
        // Uppercase hex is the same hash.
        assert_eq!(
            classify(Some(q), Some(&ext(&h.to_uppercase()))),
            Ok(Persisted::Register(hash))
        );
        let other = sha("{ other }");
        assert!(matches!(
            classify(Some(q), Some(&ext(&other))),
            Err(ApqError::HashMismatch { actual }) if actual == h
        ));
        for bad in [
            json!({"persistedQuery": "x"}),
            json!({"persistedQuery": {"version": 2, "sha256Hash": h}}),
            json!({"persistedQuery": {"version": 1}}),
            json!({"persistedQuery": {"version": 1, "sha256Hash": "abc"}}),
            json!({"persistedQuery": {"version": 1, "sha256Hash": "zz".repeat(32)}}),
            json!({"persistedQuery": {"version": 1, "sha256Hash": "é".repeat(32)}}),
        ] {
            assert!(
                matches!(classify(None, Some(&bad)), Err(ApqError::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn store_is_bounded_by_entries_and_bytes() {
        let store = ApqStore::new(ApqLimits {
            max_entries: 3,
            max_bytes: 100,
        });
        for i in 0..5u8 {
            store.put([i; 32], "x");
        }
        assert_eq!(store.len(), 3);
        assert!(store.get(&[0; 32]).is_none(), "least recently used evicted");
        assert_eq!(store.get(&[4; 32]).as_deref(), Some("x"));
        store.put([9; 32], &"y".repeat(99));
        // 3 + 99 bytes: the two least recently used entries go, the one just read stays.
        assert_eq!(store.bytes(), 100);
        assert_eq!(store.get(&[4; 32]).as_deref(), Some("x"));
        assert_eq!(store.get(&[9; 32]).map(|q| q.len()), Some(99));
        store.put([10; 32], &"z".repeat(101));
        assert!(store.get(&[10; 32]).is_none(), "larger than the budget");
        // Registering the same hash twice counts its bytes once.
        store.put([9; 32], &"y".repeat(99));
        assert_eq!(store.bytes(), 100);
    }
}
