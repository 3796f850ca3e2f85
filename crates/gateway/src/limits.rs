//! Operation limits, enforced by one async-graphql extension: document size, aliases, depth and
//! complexity. Each error has `extensions.code = QUERY_TOO_COMPLEX` and names the limit, its
//! value and what the operation asked for.

use std::sync::Arc;

use async_graphql::{
    ServerError, ServerResult, ValidationResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

use crate::error::Code;

/// The limits an operation must stay within.
#[derive(Debug, Clone, Copy)]
pub struct OperationLimits {
    /// Largest query document, bytes.
    pub max_document_bytes: usize,
    /// Most aliased fields in one document (async-graphql has no such limit).
    pub max_aliases: usize,
    /// Deepest selection.
    pub max_depth: usize,
    /// Largest complexity: 1 a field, connections multiply their selection by `first`.
    pub max_complexity: usize,
}

/// The extension factory enforcing [`OperationLimits`].
pub struct LimitsExtension(pub OperationLimits);

impl ExtensionFactory for LimitsExtension {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsCheck(self.0))
    }
}

struct LimitsCheck(OperationLimits);

fn too_complex(message: String) -> ServerError {
    let mut err = ServerError::new(message, None);
    err.extensions
        .get_or_insert_with(Default::default)
        .set("code", Code::QueryTooComplex.as_str());
    err
}

fn count_aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => {
                usize::from(f.node.alias.is_some()) + count_aliases(&f.node.selection_set.node)
            }
            Selection::InlineFragment(f) => count_aliases(&f.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// Aliased fields in every operation and fragment definition of `doc`.
pub fn aliases(doc: &ExecutableDocument) -> usize {
    let ops: usize = doc
        .operations
        .iter()
        .map(|(_, op)| count_aliases(&op.node.selection_set.node))
        .sum();
    let fragments: usize = doc
        .fragments
        .values()
        .map(|f| count_aliases(&f.node.selection_set.node))
        .sum();
    ops + fragments
}

#[async_trait::async_trait]
impl Extension for LimitsCheck {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let limits = self.0;
        if query.len() > limits.max_document_bytes {
            return Err(too_complex(format!(
                "query document is {} bytes, over the limit of {} bytes (maxDocumentBytes)",
                query.len(),
                limits.max_document_bytes
            )));
        }
        let doc = next.run(ctx, query, variables).await?;
        let aliases = aliases(&doc);
        if aliases > limits.max_aliases {
            return Err(too_complex(format!(
                "query uses {aliases} aliases, over the limit of {} (maxAliases)",
                limits.max_aliases
            )));
        }
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let limits = self.0;
        let result = next.run(ctx).await?;
        if result.depth > limits.max_depth {
            return Err(vec![too_complex(format!(
                "query depth is {}, over the limit of {} (maxDepth)",
                result.depth, limits.max_depth
            ))]);
        }
        if result.complexity > limits.max_complexity {
            return Err(vec![too_complex(format!(
                "query complexity is {}, over the limit of {} (maxComplexity; a connection costs its selection times `first`)",
                result.complexity, limits.max_complexity
            ))]);
        }
        Ok(result)
    }
}
