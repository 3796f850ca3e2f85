//! Trusted documents (`--trusted-documents FILE`): a manifest of the operations a production
//! frontend may send; every other operation is refused before it is parsed or validated.
//!
//! The manifest is what the frontend build produces: Apollo's persisted query manifest
//! (`{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id", "body",
//! ...}]}`) or a map from id to document (`{"<id>": "<document>"}`, GraphQL Codegen's client
//! preset and Relay). Ids are SHA-256 hashes of the documents (checked at startup).
//!
//! A request names a document by hash (`extensions.persistedQuery.sha256Hash`, the APQ shape
//! Apollo Client sends) or sends its full text, which must be in the manifest. Registration of
//! new documents (APQ) is off in this mode: otherwise any caller could extend the list.

use std::{collections::HashMap, fmt, sync::Arc};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::apq::{parse_hex, to_hex};

/// `extensions.code` of an operation that is not in the manifest (Apollo Router's name).
pub const PERSISTED_QUERY_NOT_IN_LIST: &str = "PERSISTED_QUERY_NOT_IN_LIST";

/// Why a manifest is refused at startup.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read the trusted documents manifest {path}: --trusted-documents")]
    Read {
        /// The path given.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Not JSON of either supported shape.
    #[error("the trusted documents manifest is not valid: {0} (--trusted-documents)")]
    Invalid(String),
}

/// The documents of a manifest, by SHA-256.
#[derive(Clone, Default)]
pub struct TrustedDocuments {
    by_hash: Arc<HashMap<[u8; 32], Arc<str>>>,
}

impl fmt::Debug for TrustedDocuments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrustedDocuments({} documents)", self.by_hash.len())
    }
}

impl TrustedDocuments {
    /// Reads the manifest at `path`.
    ///
    /// # Errors
    /// [`ManifestError`] naming the flag.
    pub fn load(path: &str) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// Parses a manifest: Apollo's format or an id -> document map.
    ///
    /// # Errors
    /// [`ManifestError::Invalid`] saying which entry is wrong.
    pub fn from_json(text: &str) -> Result<Self, ManifestError> {
        let invalid = |m: String| ManifestError::Invalid(m);
        let value: Value = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let entries: Vec<(String, String)> = match &value {
            Value::Object(o) if o.get("format").is_some() => {
                if o["format"] != "apollo-persisted-query-manifest"
                    || o.get("version") != Some(&1.into())
                {
                    return Err(invalid(
                        "only format apollo-persisted-query-manifest, version 1, is supported"
                            .into(),
                    ));
                }
                let operations = o
                    .get("operations")
                    .and_then(Value::as_array)
                    .ok_or_else(|| invalid("`operations` is not a list".into()))?;
                operations
                    .iter()
                    .enumerate()
                    .map(|(i, op)| {
                        let field = |k: &str| op.get(k).and_then(Value::as_str).map(str::to_owned);
                        match (field("id"), field("body")) {
                            (Some(id), Some(body)) => Ok((id, body)),
                            _ => Err(invalid(format!(
                                "operation {i} has no string `id` and `body`"
                            ))),
                        }
                    })
                    .collect::<Result<_, _>>()?
            }
            Value::Object(o) => o
                .iter()
                .map(|(id, body)| match body.as_str() {
                    Some(body) => Ok((id.clone(), body.to_owned())),
                    None => Err(invalid(format!("the document of {id:?} is not a string"))),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(invalid("expected a JSON object".into())),
        };
        let mut by_hash = HashMap::with_capacity(entries.len());
        for (id, body) in entries {
            let hash: [u8; 32] = Sha256::digest(body.as_bytes()).into();
            if parse_hex(&id) != Some(hash) {
                return Err(invalid(format!(
                    "id {id:?} is not the SHA-256 of its document ({})",
                    to_hex(&hash)
                )));
            }
            by_hash.insert(hash, Arc::from(body));
        }
        Ok(Self {
            by_hash: Arc::new(by_hash),
        })
    }

    /// The document with this SHA-256.
    pub fn get(&self, hash: &[u8; 32]) -> Option<Arc<str>> {
        self.by_hash.get(hash).cloned()
    }

    /// True when `query` is, byte for byte, a document of the manifest.
    pub fn contains_text(&self, query: &str) -> bool {
        let hash: [u8; 32] = Sha256::digest(query.as_bytes()).into();
        self.by_hash.contains_key(&hash)
    }

    /// Documents in the manifest.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// True when the manifest lists nothing (every operation is refused).
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sha(text: &str) -> String {
        to_hex(&Sha256::digest(text.as_bytes()))
    }

    #[test]
    fn reads_both_manifest_shapes_and_checks_ids() {
        let q = "query Q { __typename }";
        let apollo = json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{"id": sha(q), "name": "Q", "type": "query", "body": q}],
        });
        let docs = TrustedDocuments::from_json(&apollo.to_string()).unwrap();
        assert_eq!(docs.len(), 1);
        assert!(docs.contains_text(q));
        assert!(!docs.contains_text("query Q {  __typename }"));
        let hash = parse_hex(&sha(q)).unwrap();
        assert_eq!(docs.get(&hash).as_deref(), Some(q));
        let map = json!({ sha(q): q });
        assert_eq!(
            TrustedDocuments::from_json(&map.to_string()).unwrap().len(),
            1
        );
        for bad in [
            json!({ "abc": q }),
            json!({ sha("other"): q }),
            json!({ sha(q): 1 }),
            json!([q]),
            json!({"format": "other", "version": 1, "operations": []}),
            json!({"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id": sha(q)}]}),
        ] {
            assert!(
                TrustedDocuments::from_json(&bad.to_string()).is_err(),
                "{bad}"
            );
        }
        assert!(TrustedDocuments::from_json("{").is_err());
        assert!(matches!(
            TrustedDocuments::load("/nonexistent/manifest.json"),
            Err(ManifestError::Read { .. })
        ));
    }
}
