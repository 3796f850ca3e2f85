//! A bounded cache of parsed query documents, keyed by the query text.
//!
//! async-graphql parses every request's query anew, and clients send the same few documents over
//! and over (the text stays fixed, only variables change). Before a request is executed,
//! [`DocumentCache::attach`] hands it the document parsed the first time this exact text was
//! seen (`Request::set_parsed_query`), so a repeated query costs a hash lookup and a clone of its
//! syntax tree instead of a parse. async-graphql then runs the rest as usual: the operation
//! limits (document size, aliases), the recursion check, depth and complexity still apply to
//! every request (validation is remembered only for the same document, operation and variables:
//! [`super::validated`]). A query that may join another caller's execution reads its type and
//! price from the shared document ([`DocumentCache::document`]) and gets a copy only if it runs
//! the execution. The cache holds syntax and what the text alone decides (no caller data, no
//! variables), so one cache serves every caller. It is not an extension on purpose: every
//! extension adds a boxed future to the resolution of every field.

use std::{
    num::NonZeroUsize,
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::{BatchRequest, Request, parser::types::ExecutableDocument};
use blaxel_models::ExecutionProjection;
use lru::LruCache;

/// Default number of documents kept.
pub const DEFAULT_CAPACITY: usize = 256;
/// Longest query text cached, bytes: larger documents are left to async-graphql (and its
/// document size limit), so that the cache holds at most `capacity` times this much text.
pub const MAX_CACHED_QUERY_BYTES: usize = 16 * 1024;

type Documents = LruCache<Box<str>, Arc<Document>>;

/// A parsed query text and what its loaders need to know of it.
pub struct Document {
    /// The syntax tree.
    pub tree: ExecutableDocument,
    /// The parts of each execution the text can read ([`super::projection::of_document`]): a
    /// function of the text alone, so found once per text rather than once per request.
    pub projection: ExecutionProjection,
}

/// Parsed documents by query text, least recently used evicted first. Cheap to clone (shared).
#[derive(Clone)]
pub struct DocumentCache {
    documents: Arc<Mutex<Documents>>,
}

impl DocumentCache {
    /// A cache of at most `capacity` documents (0 reads as 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            documents: Arc::new(Mutex::new(LruCache::new(capacity))),
        }
    }

    /// Documents held now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no document is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Gives `request` its parsed document: the cached one, or (for a query text not seen yet,
    /// up to [`MAX_CACHED_QUERY_BYTES`]) a fresh parse, which is kept when it succeeds. A query
    /// that does not parse is left alone: async-graphql parses it again and reports the error.
    pub fn attach(&self, request: &mut Request) {
        if let Some(doc) = self.document(&request.query) {
            request.set_parsed_query(doc.tree.clone());
        }
    }

    /// The parsed document of `query`: the cached one, or (for a text not seen yet, up to
    /// [`MAX_CACHED_QUERY_BYTES`]) a fresh parse, kept when it succeeds; `None` for a larger
    /// text or one that does not parse. Shared, not cloned: a request that joins another's
    /// execution (`--upstream-dedupe`) needs its type and price, never a tree of its own.
    pub fn document(&self, query: &str) -> Option<Arc<Document>> {
        if query.len() > MAX_CACHED_QUERY_BYTES {
            return None;
        }
        if let Some(doc) = self.lock().get(query) {
            return Some(Arc::clone(doc));
        }
        let doc = Arc::new(Document {
            tree: async_graphql::parser::parse_query(query).ok()?,
            projection: super::projection::of_document(query),
        });
        self.lock().put(query.into(), Arc::clone(&doc));
        Some(doc)
    }

    /// [`DocumentCache::attach`] for every request of a batch.
    pub fn attach_batch(&self, batch: BatchRequest) -> BatchRequest {
        match batch {
            BatchRequest::Single(mut request) => {
                self.attach(&mut request);
                BatchRequest::Single(request)
            }
            BatchRequest::Batch(mut requests) => {
                for request in &mut requests {
                    self.attach(request);
                }
                BatchRequest::Batch(requests)
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Documents> {
        self.documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The type of the operation `request` selects in `doc` (None: the document does not decide
/// it), with the operation's name (the request's `operationName`, else the name of a
/// document's only operation).
pub fn typed(
    doc: &ExecutableDocument,
    request: &Request,
) -> Option<(async_graphql::parser::types::OperationType, Option<String>)> {
    let ty = crate::http::graphql::operation_type(doc, request.operation_name.as_deref())?;
    let name = request
        .operation_name
        .clone()
        .or_else(|| match &doc.operations {
            async_graphql::parser::types::DocumentOperations::Multiple(ops) if ops.len() == 1 => {
                ops.keys().next().map(ToString::to_string)
            }
            _ => None,
        });
    Some((ty, name))
}

impl Default for DocumentCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

    use super::*;

    struct Query;

    #[Object]
    impl Query {
        async fn value(&self) -> i32 {
            1
        }
    }

    #[tokio::test]
    async fn repeated_documents_are_parsed_once_and_bounded() {
        let cache = DocumentCache::new(2);
        let schema = Schema::build(Query, EmptyMutation, EmptySubscription).finish();
        let run = |query: &str| {
            let mut request = Request::new(query);
            cache.attach(&mut request);
            schema.execute(request)
        };
        for _ in 0..3 {
            let resp = run("{ value }").await;
            assert!(resp.errors.is_empty(), "{:?}", resp.errors);
        }
        assert_eq!(cache.len(), 1);
        let resp = run("{ a: value b: value }").await;
        assert_eq!(resp.data.to_string(), "{a: 1, b: 1}");
        // A document that does not parse is answered with its error and not kept.
        let resp = run("{ value ").await;
        assert_eq!(resp.errors.len(), 1);
        assert_eq!(cache.len(), 2);
        run("{ c: value }").await;
        assert_eq!(cache.len(), 2, "bounded by its capacity");
    }

    #[test]
    fn a_document_is_shared_not_copied() {
        let cache = DocumentCache::new(4);
        let first = cache.document("{ value }").expect("parses");
        let again = cache.document("{ value }").expect("cached");
        assert!(Arc::ptr_eq(&first, &again), "one tree for one text");
        assert_eq!(cache.len(), 1);
        let tasks = "{ a: value } # tasks conditions";
        assert_eq!(
            cache.document(tasks).expect("parses").projection,
            crate::graphql::projection::of_document(tasks),
            "the text's projection, found once"
        );
        assert_ne!(
            crate::graphql::projection::of_document(tasks),
            ExecutionProjection::IDENTITY
        );
        assert_eq!(cache.len(), 2);
        assert!(cache.document("{ value ").is_none(), "does not parse");
        let large = format!("{{ {} }}", "value ".repeat(MAX_CACHED_QUERY_BYTES / 6 + 1));
        assert!(cache.document(&large).is_none(), "over the cached size");
        assert_eq!(cache.len(), 2, "neither is kept");
    }
}
