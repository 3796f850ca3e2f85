//! Executions rendered as their page arrives, so that a connection holds one upstream page at a
//! time however large its `first`.
//!
//! Left to async-graphql, a connection's nodes are resolved only once the whole connection
//! exists: a `first: 500` connection (five upstream pages of 100) would hold all five pages
//! until its last edge is written. When the HTTP face writes the answer
//! ([`super::json::DirectJson`]), the executions connection instead writes each execution's JSON
//! for every `node` / `nodes` field of its selection while the execution's page is held
//! ([`crate::pagination::fetch_slice`] calls its node function page by page), and the page is
//! let go before the next is read. The edges then carry bytes ([`ExecutionNode::rendered`]),
//! which is what the response would have held anyway, and the connection around them is
//! written in one piece too when its selection allows ([`super::rendered`]).
//!
//! Where the walk gives up on an execution (a directive in the node's selection, a timestamp
//! that does not parse, ...), that edge keeps its execution and the ordinary resolvers answer it
//! as before; a selection this module cannot list completely is not rendered at all.

use std::sync::Arc;

use async_graphql::{
    Context, Name, Positioned,
    parser::types::{Field, FragmentDefinition, Selection, SelectionSet},
};
use blaxel_models::Page;
use bytes::Bytes;

use super::{
    execution::JobExecution,
    json::DirectJson,
    walk::{ExecutionNode, Walk, field_address, walks},
};

/// Most `node` / `nodes` fields a connection renders its executions for: aliases of the same
/// node under one connection are rare; past this, the nodes are resolved as usual.
pub const MAX_NODE_FIELDS: usize = 16;

/// Most selections looked at while listing them (fragments expanded): a document whose
/// connection selection is larger is resolved as usual rather than listed at any cost.
const MAX_VISITED: usize = 1024;

/// The node fields of one executions connection and the walk that renders them.
pub struct Prerender<'a> {
    walk: Walk<'a>,
    /// Each `node` / `nodes` field of the connection, fragments expanded, in document order.
    fields: Vec<&'a Positioned<Field>>,
}

impl<'a> Prerender<'a> {
    /// For the executions connection field `ctx` resolves: `None` when the answer is not written
    /// as JSON by the HTTP face, the walk is off, or its node fields cannot all be listed.
    pub fn of(ctx: &'a Context<'_>) -> Option<Self> {
        if !walks(ctx) || !ctx.data_opt::<DirectJson>().is_some_and(|direct| direct.0) {
            return None;
        }
        let mut lister = Lister {
            fragments: &ctx.query_env.fragments,
            fields: Vec::new(),
            visited: 0,
        };
        lister.connection(&ctx.item.node.selection_set.node)?;
        Some(Self {
            walk: Walk::new(ctx),
            fields: lister.fields,
        })
    }

    /// The node of `page.items[index]`: its JSON for every node field of the connection, or the
    /// execution itself (its page held) when the walk gives up on one of them.
    pub fn node(
        &self,
        page: &Arc<Page<blaxel_models::JobExecution>>,
        index: usize,
    ) -> ExecutionNode {
        let execution = JobExecution::in_page(page, index);
        let rendered: Option<Vec<(usize, Bytes)>> = self
            .fields
            .iter()
            .map(|field| {
                let json = self
                    .walk
                    .render(&execution, &field.node.selection_set.node)?;
                Some((field_address(field), json))
            })
            .collect();
        match rendered {
            Some(rendered) => ExecutionNode::rendered(rendered.into()),
            None => ExecutionNode::model(execution),
        }
    }
}

/// Lists the node fields of a connection's selection set.
struct Lister<'a> {
    fragments: &'a std::collections::HashMap<Name, Positioned<FragmentDefinition>>,
    fields: Vec<&'a Positioned<Field>>,
    visited: usize,
}

impl<'a> Lister<'a> {
    /// The `JobExecutionConnection` selection `set`: `nodes` fields, and `node` fields of its
    /// `edges`. `None` when the listing is cut short (too many fields or selections).
    fn connection(&mut self, set: &'a SelectionSet) -> Option<()> {
        self.each(
            set,
            &mut |lister, field| match field.node.name.node.as_str() {
                "nodes" => lister.push(field),
                "edges" => lister.edges(&field.node.selection_set.node),
                _ => Some(()),
            },
        )
    }

    /// A `JobExecutionEdge` selection `set`: its `node` fields.
    fn edges(&mut self, set: &'a SelectionSet) -> Option<()> {
        self.each(
            set,
            &mut |lister, field| match field.node.name.node.as_str() {
                "node" => lister.push(field),
                _ => Some(()),
            },
        )
    }

    fn push(&mut self, field: &'a Positioned<Field>) -> Option<()> {
        (self.fields.len() < MAX_NODE_FIELDS).then(|| self.fields.push(field))
    }

    /// Calls `visit` with each field of `set`, fragments expanded in place. Every fragment is
    /// followed whatever its type condition: on an object type (connections and edges implement
    /// no interface) validation leaves only conditions that apply.
    fn each(
        &mut self,
        set: &'a SelectionSet,
        visit: &mut impl FnMut(&mut Self, &'a Positioned<Field>) -> Option<()>,
    ) -> Option<()> {
        for item in &set.items {
            self.visited += 1;
            if self.visited > MAX_VISITED {
                return None;
            }
            match &item.node {
                Selection::Field(field) => visit(self, field)?,
                Selection::FragmentSpread(spread) => {
                    let fragment = self.fragments.get(&spread.node.fragment_name.node)?;
                    self.each(&fragment.node.selection_set.node, visit)?;
                }
                Selection::InlineFragment(inline) => {
                    self.each(&inline.node.selection_set.node, visit)?;
                }
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use async_graphql::Request;
    use blaxel_emulator::{EmulatorConfig, EmulatorHandle, Fault};
    use blaxel_models::ExecutionProjection;
    use blaxel_transport::{Client, ClientConfig, Credentials};

    use super::{
        super::{
            json::{DirectJson, write_response},
            walk::UseWalk,
        },
        Lister, MAX_NODE_FIELDS, MAX_VISITED, Selection,
    };
    use crate::{AppState, Caller, Limits, loader::RequestLoader};

    const JOB: &str = "data-processing-job";
    const LIST: &str = "GET /v0/jobs/{jobId}/executions";

    /// An emulator of 300 executions a job whose listing answers after 20 ms, and a gateway of it.
    struct Upstream {
        emulator: EmulatorHandle,
        state: AppState,
        client: Client,
    }

    async fn upstream() -> Upstream {
        let emulator = blaxel_emulator::spawn(EmulatorConfig {
            executions_per_job: 300,
            ..EmulatorConfig::default()
        })
        .await
        .unwrap();
        emulator.emulator().set_faults(vec![Fault {
            route: LIST.to_owned(),
            latency_ms: Some(20),
            ..Default::default()
        }]);
        let client = Client::new(ClientConfig {
            token: Some("dev-token".into()),
            ..ClientConfig::new(emulator.base_url())
        })
        .unwrap();
        Upstream {
            state: AppState::new(client.clone(), Limits::default(), None),
            emulator,
            client,
        }
    }

    /// Answers `query` as the HTTP face writes it (`direct`) or through the ordinary resolvers;
    /// with the most pages of executions the request held while it ran (sampled while it
    /// waits on the upstream) and the upstream listings it cost.
    async fn run(up: &Upstream, query: &str, direct: bool) -> (String, usize, u64) {
        run_keeping(up, query, direct, 0).await
    }

    /// [`run`] with a loader that keeps `kept` items of pages to the request's end.
    async fn run_keeping(
        up: &Upstream,
        query: &str,
        direct: bool,
        kept: usize,
    ) -> (String, usize, u64) {
        let before = up.emulator.emulator().requests(LIST);
        let loader = Arc::new(
            RequestLoader::new(
                up.client.clone(),
                Credentials::default(),
                8,
                1000,
                None,
                ExecutionProjection::ALL,
            )
            .keeping(kept),
        );
        let caller = Caller {
            workspace: "my-workspace".into(),
            ..Caller::default()
        };
        let request = Request::new(query).data(caller).data(Arc::clone(&loader));
        let request = if direct {
            request.data(DirectJson(true))
        } else {
            request.data(UseWalk(false))
        };
        let schema = up.state.schema().clone();
        let running = tokio::spawn(async move { schema.execute(request).await });
        let mut most = 0;
        while !running.is_finished() {
            most = most.max(loader.executions_pages_held());
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let response = running.await.unwrap();
        let mut out = Vec::new();
        write_response(&mut out, &response).unwrap();
        let calls = up.emulator.emulator().requests(LIST) - before;
        (String::from_utf8(out).unwrap(), most, calls)
    }

    /// `first: 250` reads three upstream pages: rendered as they arrive, no page is held while
    /// the next is read, and the answer is the resolvers' byte for byte (which hold each page
    /// until the connection is written: two while the third is read).
    #[tokio::test]
    async fn a_large_first_holds_one_page_at_a_time() {
        let up = upstream().await;
        let query = format!(
            "{{ jobExecutions(jobName: \"{JOB}\", first: 250) {{ totalCount \
             edges {{ cursor node {{ id status metadata {{ createdAt }} stats {{ total }} }} }} \
             pageInfo {{ hasNextPage endCursor }} }} }}"
        );
        let (streamed, streamed_most, streamed_calls) = run(&up, &query, true).await;
        let (resolved, resolved_most, resolved_calls) = run(&up, &query, false).await;
        assert!(!streamed.contains("\"errors\""), "{streamed}");
        assert_eq!(streamed.matches("\"cursor\"").count(), 250);
        assert_eq!(streamed, resolved);
        assert_eq!((streamed_calls, resolved_calls), (3, 3));
        assert_eq!(streamed_most, 0, "each page let go before the next is read");
        assert_eq!(
            resolved_most, 2,
            "the sampling sees pages held when they are"
        );
    }

    /// The same executions under two parents, the second asked once the first connection is
    /// written (the job lookup answers after the listing): one upstream call with the default
    /// kept items, whether the executions are rendered as they arrive or resolved.
    #[tokio::test]
    async fn the_same_page_under_two_parents_costs_one_call() {
        let up = upstream().await;
        up.emulator.emulator().set_faults(vec![
            Fault {
                route: LIST.to_owned(),
                latency_ms: Some(20),
                ..Default::default()
            },
            Fault {
                route: "GET /v0/jobs/{jobId}".to_owned(),
                latency_ms: Some(80),
                ..Default::default()
            },
        ]);
        let query = format!(
            "{{ a: jobExecutions(jobName: \"{JOB}\", first: 3) {{ nodes {{ id }} }} \
             job(name: \"{JOB}\") {{ executions(first: 3) {{ nodes {{ id }} }} }} }}"
        );
        let kept = crate::loader::KEPT_ITEMS;
        let (direct, _, direct_calls) = run_keeping(&up, &query, true, kept).await;
        let (resolved, _, resolved_calls) = run_keeping(&up, &query, false, kept).await;
        assert!(!direct.contains("\"errors\""), "{direct}");
        assert_eq!(direct, resolved);
        assert_eq!((direct_calls, resolved_calls), (1, 1));
        // Keeping nothing, the page is freed once written and read again.
        assert_eq!(run_keeping(&up, &query, true, 0).await.2, 2);
    }

    /// The node fields a connection's selection reaches, by their response keys, or `None`.
    fn listed(document: &str) -> Option<Vec<String>> {
        let document = async_graphql::parser::parse_query(document).unwrap();
        let fragments = document.fragments.clone();
        let (_, operation) = document.operations.iter().next().unwrap();
        let Selection::Field(root) = &operation.node.selection_set.node.items[0].node else {
            panic!("a field first");
        };
        let mut lister = Lister {
            fragments: &fragments,
            fields: Vec::new(),
            visited: 0,
        };
        lister.connection(&root.node.selection_set.node)?;
        Some(
            lister
                .fields
                .iter()
                .map(|field| field.node.response_key().node.to_string())
                .collect(),
        )
    }

    #[test]
    fn every_node_field_is_listed_through_fragments_and_aliases() {
        let document = "{ c { a: nodes { id } edges { cursor n: node { id } } ...C \
                        ... on JobExecutionConnection { edges { ... { node { status } } } } } } \
                        fragment C on JobExecutionConnection { pageInfo { hasNextPage } edges { ...E } } \
                        fragment E on JobExecutionEdge { m: node { id } }";
        assert_eq!(
            listed(document).unwrap(),
            ["a", "n", "m", "node"],
            "document order, fragments in place"
        );
        assert_eq!(
            listed("{ c { totalCount } }").unwrap(),
            Vec::<String>::new()
        );
    }

    /// Too many node fields, or a selection that expands past the bound (a fragment bomb under
    /// the connection, were the limits raised to let it run), is not listed: the connection is
    /// resolved as usual, and listing it costs at most the bound.
    #[test]
    fn a_connection_past_the_bounds_is_left_to_the_resolvers() {
        let many: String = (0..=MAX_NODE_FIELDS)
            .map(|i| format!("n{i}: nodes {{ id }} "))
            .collect();
        assert_eq!(listed(&format!("{{ c {{ {many} }} }}")), None);
        let bomb = crate::graphql::fragment_bomb(
            "{ c { ...F0 } }",
            "JobExecutionConnection",
            12,
            "totalCount",
        );
        assert_eq!(listed(&bomb), None, "4^12 selections: cut at {MAX_VISITED}");
    }

    /// The whole connection written in one piece (`rendered.rs`) answers as async-graphql does
    /// for every field of the connection, its edges and `pageInfo`: aliases, `__typename`,
    /// fragments, an empty page, the last page, and the selections it leaves to async-graphql
    /// (directives, an unknown fragment position) alike.
    #[tokio::test]
    async fn a_connection_written_in_one_piece_answers_like_the_resolvers() {
        let up = upstream().await;
        let p = "fragment P on PageInfo { s: startCursor hasPreviousPage __typename }";
        let e = "fragment E on JobExecutionEdge { __typename c: cursor }";
        let both = format!("{p} {e}");
        let every = "__typename totalCount totalCountIsPartial \
                     pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename } \
                     edges { __typename cursor node { id status } } nodes { id __typename }";
        let cases = [
            (20, 0, every, ""),
            (0, 0, every, ""),
            (7, 295, every, ""),
            (
                3,
                0,
                "t: totalCount p: pageInfo { ...P e: endCursor } x: edges { ...E n: node { id } }",
                &both,
            ),
            (
                3,
                0,
                "... on JobExecutionConnection { edges { ... { cursor } } } ...on JobExecutionConnection { pageInfo { ...P } }",
                p,
            ),
            (
                3,
                0,
                "edges @include(if: true) { cursor node { id } } totalCount",
                "",
            ),
            (
                3,
                0,
                "pageInfo { hasNextPage @skip(if: false) } edges { cursor }",
                "",
            ),
            (3, 0, "edges { ...E @include(if: true) node { id } }", e),
        ];
        for (first, skip, selection, fragments) in cases {
            let after = if skip > 0 {
                // The cursor of the `skip`-th edge: the page after it.
                let query = format!(
                    "{{ jobExecutions(jobName: \"{JOB}\", first: {skip}) {{ pageInfo {{ endCursor }} }} }}"
                );
                let (answer, _, _) = run(&up, &query, false).await;
                let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
                format!(
                    ", after: \"{}\"",
                    answer["data"]["jobExecutions"]["pageInfo"]["endCursor"]
                        .as_str()
                        .unwrap()
                )
            } else {
                String::new()
            };
            let query = format!(
                "{{ jobExecutions(jobName: \"{JOB}\", first: {first}{after}) {{ {selection} }} }} {fragments}"
            );
            let (direct, _, _) = run(&up, &query, true).await;
            let (resolved, _, _) = run(&up, &query, false).await;
            assert!(!direct.contains("\"errors\""), "{selection}: {direct}");
            assert_eq!(direct, resolved, "first {first} after {skip}: {selection}");
        }
    }

    /// Node fields reached through fragments on the connection and its edges, aliased, under
    /// directives, or selected with a directive inside (which the walk leaves to the resolvers)
    /// answer as the resolvers do.
    #[tokio::test]
    async fn every_way_to_reach_a_node_answers_like_the_resolvers() {
        let up = upstream().await;
        let fragments = "fragment C on JobExecutionConnection { edges { ...G } nodes { id } } \
                         fragment G on JobExecutionEdge { cursor node { id status } }";
        let selections = [
            ("...C", fragments),
            (
                "... on JobExecutionConnection { a: edges { b: node { id } } } x: nodes { metadata { id } }",
                "",
            ),
            (
                "edges @include(if: true) { node { id } } nodes @skip(if: true) { id }",
                "",
            ),
            ("edges { node { id status @include(if: true) } }", ""),
            ("edges { ... { node { stats { total } } } } totalCount", ""),
            // Past MAX_NODE_FIELDS: resolved as usual.
            (
                "a: nodes { id } b: nodes { id } c: nodes { id } d: nodes { id } \
                 e: nodes { id } f: nodes { id } g: nodes { id } h: nodes { id } \
                 i: nodes { id } j: nodes { id } k: nodes { id } l: nodes { id } \
                 m: nodes { id } n: nodes { id } o: nodes { id } p: nodes { id } q: nodes { id }",
                "",
            ),
        ];
        for (selection, fragments) in selections {
            let query = format!(
                "{{ jobExecutions(jobName: \"{JOB}\", first: 30) {{ {selection} }} }} {fragments}"
            );
            let (direct, _, _) = run(&up, &query, true).await;
            let (resolved, _, _) = run(&up, &query, false).await;
            assert!(!direct.contains("\"errors\""), "{selection}: {direct}");
            assert_eq!(direct, resolved, "{selection}");
        }
    }
}
