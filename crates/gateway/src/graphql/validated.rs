//! Validation results remembered per document, operation and variables.
//!
//! async-graphql validates every request's document again (its 22 rules, then depth, complexity
//! and cache control): about 13 % of the instructions of a repeated query of a page of 20
//! (`bench/callgrind.sh` with the peers' query). The result is a function of the schema, the
//! document, the operation name and the values of the variables the document references (the
//! only inputs of async-graphql's `check_rules` that vary; its depth and complexity limits are
//! the schema's), so a request that repeats all of them gets the result the first one got, and
//! async-graphql's validation is not run again. Only successes are kept: an invalid request is
//! validated (and refused) each time.
//!
//! Bounded like the other per-document caches ([`super::documents::DocumentCache`]): query
//! texts up to [`MAX_CACHED_QUERY_BYTES`], [`DEFAULT_CAPACITY`] texts, and per text the
//! [`ENTRIES_PER_DOCUMENT`] most recent (operation, variables) pairs whose variables weigh at most
//! [`MAX_VARIABLES_WEIGHT`] (larger ones are validated each time). Nothing in it belongs to a
//! caller: variables are compared by value, never used to answer anything but "valid".

use std::{
    num::NonZeroUsize,
    sync::{Mutex, PoisonError},
};

use async_graphql::{ValidationResult, Value, Variables};
use lru::LruCache;

use super::documents::{DEFAULT_CAPACITY, MAX_CACHED_QUERY_BYTES};

/// (operation, variables) pairs remembered per query text, most recent first.
pub const ENTRIES_PER_DOCUMENT: usize = 4;
/// Heaviest variables remembered, in bytes of their strings and names plus 8 per other value
/// (about their size in JSON).
pub const MAX_VARIABLES_WEIGHT: usize = 1024;

/// What a request is validated under, besides the schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The query text.
    pub query: Box<str>,
    /// The request's `operationName`.
    pub operation: Option<String>,
    /// The request's variables.
    pub variables: Variables,
}

struct Entry {
    operation: Option<String>,
    variables: Variables,
    result: ValidationResult,
}

/// Validation results by query text, least recently used text evicted first. Shared by every
/// request of a schema.
pub struct Validations {
    documents: Mutex<LruCache<Box<str>, Vec<Entry>>>,
}

impl Default for Validations {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl Validations {
    /// A memo of at most `capacity` query texts (0 reads as 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            documents: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// The result remembered for (`query`, `operation`, `variables`), if any.
    pub fn get(
        &self,
        query: &str,
        operation: Option<&str>,
        variables: &Variables,
    ) -> Option<ValidationResult> {
        let mut documents = self.lock();
        let entries = documents.get_mut(query)?;
        let at = entries
            .iter()
            .position(|e| e.operation.as_deref() == operation && e.variables == *variables)?;
        // Most recent first: a client repeating one request finds it at once.
        entries[..=at].rotate_right(1);
        Some(entries[0].result)
    }

    /// Whether a request of `query` with `variables` may be remembered (see the module's
    /// bounds): the key to pass to [`Validations::put`] then.
    pub fn key(query: &str, operation: Option<&str>, variables: &Variables) -> Option<Key> {
        (query.len() <= MAX_CACHED_QUERY_BYTES && weight(variables) <= MAX_VARIABLES_WEIGHT).then(
            || Key {
                query: query.into(),
                operation: operation.map(str::to_owned),
                variables: variables.clone(),
            },
        )
    }

    /// Remembers that `key` validated to `result`.
    pub fn put(&self, key: Key, result: ValidationResult) {
        let mut documents = self.lock();
        let entry = Entry {
            operation: key.operation,
            variables: key.variables,
            result,
        };
        match documents.get_mut(&key.query) {
            Some(entries) => {
                entries
                    .retain(|e| e.operation != entry.operation || e.variables != entry.variables);
                entries.truncate(ENTRIES_PER_DOCUMENT - 1);
                entries.insert(0, entry);
            }
            None => {
                documents.put(key.query, vec![entry]);
            }
        }
    }

    /// Query texts held now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no text is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<Box<str>, Vec<Entry>>> {
        self.documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// About the JSON size of `variables`, counting no further than [`MAX_VARIABLES_WEIGHT`] + 1.
fn weight(variables: &Variables) -> usize {
    let mut total = 0;
    for (name, value) in variables.iter() {
        total += name.len();
        if total > MAX_VARIABLES_WEIGHT || !add_weight(value, &mut total) {
            return MAX_VARIABLES_WEIGHT + 1;
        }
    }
    total
}

/// Adds `value`'s weight to `total`; false as soon as it passes the bound (nothing deeper is
/// visited, so a huge or deeply nested value costs no more than the bound).
fn add_weight(value: &Value, total: &mut usize) -> bool {
    *total += match value {
        Value::String(s) => s.len(),
        Value::Binary(b) => b.len(),
        Value::Enum(name) => name.len(),
        _ => 8,
    };
    if *total > MAX_VARIABLES_WEIGHT {
        return false;
    }
    match value {
        Value::List(items) => items.iter().all(|item| add_weight(item, total)),
        Value::Object(fields) => fields.iter().all(|(name, item)| {
            *total += name.len();
            *total <= MAX_VARIABLES_WEIGHT && add_weight(item, total)
        }),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{CacheControl, Name};

    use super::*;

    fn result(complexity: usize) -> ValidationResult {
        ValidationResult {
            cache_control: CacheControl::default(),
            complexity,
            depth: 3,
        }
    }

    fn vars(json: serde_json::Value) -> Variables {
        Variables::from_json(json)
    }

    #[test]
    fn remembers_by_text_operation_and_variables() {
        let memo = Validations::new(4);
        let v = vars(serde_json::json!({"first": 20}));
        let key = Validations::key("query Q($first: Int) { a }", Some("Q"), &v).unwrap();
        memo.put(key, result(7));
        assert_eq!(
            memo.get("query Q($first: Int) { a }", Some("Q"), &v)
                .map(|r| r.complexity),
            Some(7)
        );
        // Any other text, operation or value is not the same request.
        assert!(
            memo.get("query Q($first: Int) { b }", Some("Q"), &v)
                .is_none()
        );
        assert!(memo.get("query Q($first: Int) { a }", None, &v).is_none());
        let other = vars(serde_json::json!({"first": 21}));
        assert!(
            memo.get("query Q($first: Int) { a }", Some("Q"), &other)
                .is_none()
        );
        assert!(
            memo.get(
                "query Q($first: Int) { a }",
                Some("Q"),
                &Variables::default()
            )
            .is_none()
        );
    }

    #[test]
    fn keeps_the_most_recent_pairs_per_text() {
        let memo = Validations::new(4);
        let q = "query Q($n: Int) { a }";
        for n in 0..10 {
            let v = vars(serde_json::json!({ "n": n }));
            memo.put(Validations::key(q, None, &v).unwrap(), result(n));
        }
        let held: Vec<_> = (0..10)
            .filter(|n| {
                memo.get(q, None, &vars(serde_json::json!({ "n": n })))
                    .is_some()
            })
            .collect();
        assert_eq!(held, vec![6, 7, 8, 9]);
        // A hit moves to the front: putting one more evicts the least recently used (6 was
        // read last above, so 7 goes).
        memo.get(q, None, &vars(serde_json::json!({ "n": 6 })));
        memo.put(
            Validations::key(q, None, &vars(serde_json::json!({ "n": 10 }))).unwrap(),
            result(10),
        );
        assert!(
            memo.get(q, None, &vars(serde_json::json!({ "n": 7 })))
                .is_none()
        );
        assert!(
            memo.get(q, None, &vars(serde_json::json!({ "n": 6 })))
                .is_some()
        );
        assert_eq!(memo.len(), 1);
    }

    #[test]
    fn bounds_texts_and_sizes() {
        let memo = Validations::new(2);
        let none = Variables::default();
        for q in ["{ a }", "{ b }", "{ c }"] {
            memo.put(Validations::key(q, None, &none).unwrap(), result(1));
        }
        assert_eq!(memo.len(), 2);
        assert!(memo.get("{ a }", None, &none).is_none());

        let long = format!("{{ a {} }}", " ".repeat(MAX_CACHED_QUERY_BYTES));
        assert!(Validations::key(&long, None, &none).is_none());
        let heavy = vars(serde_json::json!({ "s": "x".repeat(MAX_VARIABLES_WEIGHT) }));
        assert!(Validations::key("{ a }", None, &heavy).is_none());
        let many = vars(serde_json::json!({ "l": vec![1; 200] }));
        assert!(Validations::key("{ a }", None, &many).is_none());
        // Deeply nested: the weight stops at the bound instead of walking it all.
        let mut deep = serde_json::json!(1);
        for _ in 0..1_000 {
            deep = serde_json::json!([deep]);
        }
        let deep = Variables::from_value(Value::Object(
            [(Name::new("d"), Value::from_json(deep).unwrap())]
                .into_iter()
                .collect(),
        ));
        assert!(Validations::key("{ a }", None, &deep).is_none());
        let light = vars(serde_json::json!({ "after": "abc", "first": 20, "q": {"x": [1, 2]} }));
        assert!(Validations::key("{ a }", None, &light).is_some());
    }
}
