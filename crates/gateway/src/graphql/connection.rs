//! Relay connections over a [`Paginated`] slice: edges with their own cursors, `nodes`,
//! `pageInfo` and the upstream's totals.

use async_graphql::{
    Context, Object, OutputType,
    connection::{ConnectionNameType, Edge, EdgeNameType, EmptyFields},
};

use super::{fields::int32, job::Job, walk::ExecutionNode};
use crate::pagination::Paginated;

/// Extra fields of a connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionTotal {
    /// Upstream `meta.total`.
    pub total_count: Option<i64>,
    /// True when `totalCount` is a lower bound, not a complete count (upstream
    /// `meta.totalIsPartial`, API version 2026-09-22: counting a very large listing is bounded).
    /// Never render "page X of Y" from a partial total: page with `endCursor` until
    /// `hasNextPage` is false. Null on legacy API versions (no `meta`).
    pub total_count_is_partial: Option<bool>,
}

#[Object]
impl ConnectionTotal {
    /// Total items of the listing (upstream `meta.total`): for executions, the job's executions,
    /// ignoring `query`. Null when the upstream gives none (legacy API versions), or with an
    /// error when it is beyond GraphQL's 32-bit `Int`. A lower bound when
    /// `totalCountIsPartial` is true.
    async fn total_count(&self, ctx: &Context<'_>) -> Option<i32> {
        int32(ctx, self.total_count)
    }

    /// True when `totalCount` is a lower bound, not a complete count (upstream
    /// `meta.totalIsPartial`, API version 2026-09-22: counting a very large listing is bounded).
    /// Never render "page X of Y" from a partial total: page with `endCursor` until
    /// `hasNextPage` is false. Null on legacy API versions (no `meta`).
    async fn total_count_is_partial(&self) -> Option<bool> {
        self.total_count_is_partial
    }
}

/// The names async-graphql gives connection and edge types (`{Node}Connection`, `{Node}Edge`),
/// made without `format!`: async-graphql asks for them again for every field and list item of a
/// connection it resolves (80 `format!` calls of a page of 20, 2 % of its instructions).
pub struct Names;

impl ConnectionNameType for Names {
    fn type_name<T: OutputType>() -> String {
        [&*T::type_name(), "Connection"].concat()
    }
}

impl EdgeNameType for Names {
    fn type_name<T: OutputType>() -> String {
        [&*T::type_name(), "Edge"].concat()
    }
}

/// A Relay connection of `N` with the upstream's totals.
pub type Connection<N> =
    async_graphql::connection::Connection<String, N, ConnectionTotal, EmptyFields, Names, Names>;
/// A page of a job's executions: Relay connection over the upstream cursor pagination.
pub type JobExecutionConnection = Connection<ExecutionNode>;
/// An edge of [`JobExecutionConnection`].
pub type ExecutionEdge = async_graphql::connection::Edge<String, ExecutionNode, EmptyFields, Names>;
/// A page of jobs: Relay connection over the upstream cursor pagination.
pub type JobConnection = Connection<Job>;

/// The connection of `paginated`, each edge's cursor the position right after it.
pub fn connection<N: OutputType>(paginated: Paginated<N>) -> Connection<N> {
    let mut conn = Connection::with_additional_fields(
        paginated.slice.has_previous_page,
        paginated.slice.has_next_page,
        ConnectionTotal {
            total_count: paginated.slice.total,
            total_count_is_partial: paginated.slice.total_is_partial,
        },
    );
    let fingerprint = paginated.fingerprint;
    conn.edges = paginated
        .slice
        .edges
        .into_iter()
        .map(|e| {
            let cursor = crate::pagination::cursor::encode(fingerprint, &e.after);
            Edge::new(cursor, e.node)
        })
        .collect();
    conn
}
