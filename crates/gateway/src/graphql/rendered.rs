//! A connection of executions written as JSON in one piece.
//!
//! Once every node of an executions connection is rendered ([`super::prerender`]), what
//! async-graphql still does for the connection is bookkeeping: a future, a `ResolveInfo` with
//! type names formatted anew, and registry lookups for each edge and each field of an edge and of
//! `pageInfo`. That was a fifth of the instructions of the peers' query, a page of 20
//! (`bench/callgrind.sh`: 212 k of 1.07 M). When the connection's selection holds only its own
//! fields (aliases, `__typename` and fragments included), [`ExecutionsConnection::of`] writes the
//! whole connection's JSON at once, in selection order, as async-graphql would. Anything else (a
//! directive anywhere in the selection, a `totalCount` beyond GraphQL's `Int`, a node field not
//! rendered, a selection past [`MAX_VISITED`] items) leaves the connection to async-graphql as
//! before. The tests compare both answers byte for byte.
//!
//! The bytes are a `Value::Binary`, so the contract of [`super::json::DirectJson`] holds: they
//! exist only when the HTTP face writes the answer and no selection repeats a response key (then
//! fragments can be expanded in place without merging anything).

use std::{borrow::Cow, collections::HashMap};

use async_graphql::{
    Context, ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value,
    connection::{ConnectionNameType, EdgeNameType},
    parser::types::{Field, FragmentDefinition, Selection, SelectionSet},
    registry::Registry,
};
use bytes::Bytes;

use super::{
    connection::{ExecutionEdge, JobExecutionConnection, Names},
    json::{DirectJson, write_str},
    walk::{ExecutionNode, walks},
};

/// Most selections looked at while writing one connection (fragments expanded, edges counted
/// once per edge): past it, the connection is left to async-graphql.
pub const MAX_VISITED: usize = 16_384;

/// The `JobExecutionConnection` a field answers: async-graphql's connection, or its JSON.
pub enum ExecutionsConnection {
    /// Resolved field by field by async-graphql.
    Resolved(JobExecutionConnection),
    /// The whole connection's JSON for the field that asked for it.
    Rendered(Bytes),
}

impl ExecutionsConnection {
    /// `connection` as the field `ctx` resolves will answer it: written now when the answer is
    /// written as JSON by the HTTP face, the walk is on and the selection allows it (see the
    /// module), else left to async-graphql.
    pub fn of(ctx: &Context<'_>, connection: JobExecutionConnection) -> Self {
        if !walks(ctx) || !ctx.data_opt::<DirectJson>().is_some_and(|direct| direct.0) {
            return Self::Resolved(connection);
        }
        match render(
            &ctx.query_env.fragments,
            &ctx.item.node.selection_set.node,
            &connection,
        ) {
            Some(json) => Self::Rendered(json),
            None => Self::Resolved(connection),
        }
    }
}

impl OutputType for ExecutionsConnection {
    fn type_name() -> Cow<'static, str> {
        JobExecutionConnection::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        JobExecutionConnection::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        match self {
            Self::Resolved(connection) => connection.resolve(ctx, field).await,
            Self::Rendered(json) => Ok(Value::Binary(json.clone())),
        }
    }
}

/// The JSON of `connection` for the selection `set`, or `None` (see the module).
pub fn render(
    fragments: &HashMap<Name, Positioned<FragmentDefinition>>,
    set: &SelectionSet,
    connection: &JobExecutionConnection,
) -> Option<Bytes> {
    // The nodes' JSON is most of the connection's: allocated once rather than doubled.
    let nodes: usize = connection
        .edges
        .iter()
        .map(|edge| edge.node.rendered_len())
        .sum();
    let mut writer = Writer {
        fragments,
        out: Vec::with_capacity(1024 + nodes),
        visited: 0,
    };
    writer.connection(set, connection)?;
    Some(writer.out.into())
}

struct Writer<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    out: Vec<u8>,
    visited: usize,
}

impl Writer<'_> {
    fn connection(&mut self, set: &SelectionSet, c: &JobExecutionConnection) -> Option<()> {
        self.object(set, &mut |w, field| match field.node.name.node.as_str() {
            "__typename" => {
                write_str(
                    &mut w.out,
                    &<Names as ConnectionNameType>::type_name::<ExecutionNode>(),
                );
                Some(())
            }
            "totalCount" => match c.additional_fields.total_count {
                Some(total) => w.number(i32::try_from(total).ok()?),
                None => w.null(),
            },
            "totalCountIsPartial" => match c.additional_fields.total_count_is_partial {
                Some(partial) => w.boolean(partial),
                None => w.null(),
            },
            "pageInfo" => w.page_info(&field.node.selection_set.node, c),
            "edges" => w.list(c, |w, edge| {
                w.object(
                    &field.node.selection_set.node,
                    &mut |w, edge_field| match edge_field.node.name.node.as_str() {
                        "__typename" => {
                            let name = <Names as EdgeNameType>::type_name::<ExecutionNode>();
                            write_str(&mut w.out, &name);
                            Some(())
                        }
                        "cursor" => {
                            write_str(&mut w.out, &edge.cursor);
                            Some(())
                        }
                        "node" => w.node(&edge.node, edge_field),
                        _ => None,
                    },
                )
            }),
            "nodes" => w.list(c, |w, edge| w.node(&edge.node, field)),
            _ => None,
        })
    }

    fn page_info(&mut self, set: &SelectionSet, c: &JobExecutionConnection) -> Option<()> {
        let start = c.edges.first().map(|edge| edge.cursor.as_str());
        let end = c.edges.last().map(|edge| edge.cursor.as_str());
        self.object(set, &mut |w, field| match field.node.name.node.as_str() {
            "__typename" => {
                write_str(&mut w.out, "PageInfo");
                Some(())
            }
            "hasPreviousPage" => w.boolean(c.has_previous_page),
            "hasNextPage" => w.boolean(c.has_next_page),
            "startCursor" => w.string_or_null(start),
            "endCursor" => w.string_or_null(end),
            _ => None,
        })
    }

    /// The rendered JSON of `node` for the node field `field`.
    fn node(&mut self, node: &ExecutionNode, field: &Positioned<Field>) -> Option<()> {
        self.out.extend_from_slice(node.rendered_for(field)?);
        Some(())
    }

    /// `[...]` with `item` written for each edge of `c`.
    fn list(
        &mut self,
        c: &JobExecutionConnection,
        mut item: impl FnMut(&mut Self, &ExecutionEdge) -> Option<()>,
    ) -> Option<()> {
        self.out.push(b'[');
        for (i, edge) in c.edges.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            item(self, edge)?;
        }
        self.out.push(b']');
        Some(())
    }

    /// `{...}` with each field of `set` (fragments expanded in place) as `"key":` and what
    /// `value` writes for it.
    fn object(
        &mut self,
        set: &SelectionSet,
        value: &mut dyn FnMut(&mut Self, &Positioned<Field>) -> Option<()>,
    ) -> Option<()> {
        self.out.push(b'{');
        let mut first = true;
        self.each(set, &mut |w, field| {
            if !std::mem::take(&mut first) {
                w.out.push(b',');
            }
            write_str(&mut w.out, field.node.response_key().node.as_str());
            w.out.push(b':');
            value(w, field)
        })?;
        self.out.push(b'}');
        Some(())
    }

    /// Calls `visit` with each field of `set`, fragments expanded in place (on the object types
    /// of a connection, validation leaves only type conditions that apply). `None` at the first
    /// directive, argument or unknown fragment.
    fn each(
        &mut self,
        set: &SelectionSet,
        visit: &mut dyn FnMut(&mut Self, &Positioned<Field>) -> Option<()>,
    ) -> Option<()> {
        for item in &set.items {
            self.visited += 1;
            if self.visited > MAX_VISITED {
                return None;
            }
            match &item.node {
                Selection::Field(field) => {
                    if !field.node.directives.is_empty() || !field.node.arguments.is_empty() {
                        return None;
                    }
                    visit(self, field)?;
                }
                Selection::FragmentSpread(spread) => {
                    let fragment = self.fragments.get(&spread.node.fragment_name.node)?;
                    if !spread.node.directives.is_empty() || !fragment.node.directives.is_empty() {
                        return None;
                    }
                    self.each(&fragment.node.selection_set.node, visit)?;
                }
                Selection::InlineFragment(inline) => {
                    if !inline.node.directives.is_empty() {
                        return None;
                    }
                    self.each(&inline.node.selection_set.node, visit)?;
                }
            }
        }
        Some(())
    }

    fn number(&mut self, n: i32) -> Option<()> {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        Some(())
    }

    fn boolean(&mut self, b: bool) -> Option<()> {
        self.out
            .extend_from_slice(if b { b"true" } else { b"false" });
        Some(())
    }

    fn null(&mut self) -> Option<()> {
        self.out.extend_from_slice(b"null");
        Some(())
    }

    fn string_or_null(&mut self, s: Option<&str>) -> Option<()> {
        match s {
            Some(s) => write_str(&mut self.out, s),
            None => self.out.extend_from_slice(b"null"),
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_graphql::parser::{parse_query, types::ExecutableDocument};

    use super::*;
    use crate::graphql::{
        connection::ConnectionTotal,
        walk::{ExecutionNode, field_address},
    };

    /// The connection field's selection of `document`'s only operation.
    fn selection(document: &ExecutableDocument) -> &SelectionSet {
        let (_, operation) = document.operations.iter().next().unwrap();
        let Selection::Field(root) = &operation.node.selection_set.node.items[0].node else {
            panic!("a field first");
        };
        &root.node.selection_set.node
    }

    /// Every `node` / `nodes` field of `set`, fragments not followed.
    fn node_fields(set: &SelectionSet) -> Vec<&Positioned<Field>> {
        let mut fields = Vec::new();
        for item in &set.items {
            if let Selection::Field(field) = &item.node {
                if matches!(field.node.name.node.as_str(), "node" | "nodes") {
                    fields.push(field);
                }
                fields.extend(node_fields(&field.node.selection_set.node));
            }
        }
        fields
    }

    /// A connection of two edges whose nodes are rendered for every node field of `set`.
    fn connection(set: &SelectionSet, total: Option<i64>) -> JobExecutionConnection {
        let mut c = JobExecutionConnection::with_additional_fields(
            false,
            true,
            ConnectionTotal {
                total_count: total,
                total_count_is_partial: Some(false),
            },
        );
        for id in ["a", "b"] {
            let rendered: Vec<(usize, Bytes)> = node_fields(set)
                .into_iter()
                .map(|field| {
                    (
                        field_address(field),
                        Bytes::from(format!("{{\"id\":\"{id}\"}}")),
                    )
                })
                .collect();
            c.edges.push(async_graphql::connection::Edge::new(
                format!("cursor-{id}"),
                ExecutionNode::rendered(Arc::from(rendered)),
            ));
        }
        c
    }

    fn written(query: &str, total: Option<i64>) -> Option<String> {
        let document = parse_query(query).unwrap();
        let set = selection(&document);
        render(&document.fragments, set, &connection(set, total))
            .map(|json| String::from_utf8(json.to_vec()).unwrap())
    }

    #[test]
    fn writes_the_connection_in_selection_order() {
        let json = written(
            "{ c { n: totalCount __typename pageInfo { endCursor hasNextPage startCursor hasPreviousPage } \
             edges { cursor node { id } __typename } all: nodes { id } totalCountIsPartial } }",
            Some(2),
        )
        .unwrap();
        assert_eq!(
            json,
            r#"{"n":2,"__typename":"JobExecutionConnection","pageInfo":{"endCursor":"cursor-b","hasNextPage":true,"startCursor":"cursor-a","hasPreviousPage":false},"edges":[{"cursor":"cursor-a","node":{"id":"a"},"__typename":"JobExecutionEdge"},{"cursor":"cursor-b","node":{"id":"b"},"__typename":"JobExecutionEdge"}],"all":[{"id":"a"},{"id":"b"}],"totalCountIsPartial":false}"#
        );
        let json = written(
            "{ c { ...F ... { totalCount } } } fragment F on JobExecutionConnection { pageInfo { __typename } }",
            None,
        )
        .unwrap();
        assert_eq!(
            json,
            r#"{"pageInfo":{"__typename":"PageInfo"},"totalCount":null}"#
        );
    }

    /// What the module leaves to async-graphql: it answers those with its own errors or rules.
    #[test]
    fn leaves_to_async_graphql_what_it_does_not_write() {
        for query in [
            "{ c { totalCount @include(if: true) } }",
            "{ c { ... @skip(if: false) { totalCount } } }",
            "{ c { ...F @include(if: true) } } fragment F on JobExecutionConnection { totalCount }",
            "{ c { ...Missing } }",
            "{ c { pageInfo { hasNextPage(x: 1) } } }",
            "{ c { unknown } }",
            "{ c { edges { unknown } } }",
            "{ c { pageInfo { unknown } } }",
        ] {
            assert_eq!(written(query, Some(2)), None, "{query}");
        }
        // A total past GraphQL's Int: async-graphql answers it with its error.
        assert_eq!(written("{ c { totalCount } }", Some(1 << 31)), None);
        assert!(written("{ c { totalCount } }", Some((1 << 31) - 1)).is_some());
        // A node field the execution was not rendered for.
        let document = parse_query("{ c { edges { node { id } } } }").unwrap();
        let other = parse_query("{ c { edges { node { id } } } }").unwrap();
        let c = connection(selection(&other), Some(2));
        assert_eq!(render(&document.fragments, selection(&document), &c), None);
    }

    /// A fragment bomb under the connection stops at the bound instead of being walked whole.
    #[test]
    fn a_selection_past_the_bound_is_left_to_async_graphql() {
        let bomb = crate::graphql::fragment_bomb(
            "{ c { ...F0 } }",
            "JobExecutionConnection",
            10,
            "totalCount",
        );
        assert_eq!(
            written(&bomb, Some(2)),
            None,
            "4^10 selections: cut at {MAX_VISITED}"
        );
    }
}
