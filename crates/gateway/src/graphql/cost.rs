//! The cost model: what an operation will make the gateway do, priced on its document before
//! anything runs (demand control, as production routers call it).
//!
//! Three measures, each with its limit (see [`crate::Limits`]):
//! - **fields**: fields selected once fragments are expanded (`maxFields`);
//! - **upstream calls**: each connection costs its upstream pages (`ceil(first / page)`, at least
//!   one: `totalCount` alone still needs a page), each lookup (`job`, `jobExecution`, `node`)
//!   one call, multiplied by how many parents select it (`first` of every enclosing connection)
//!   (`maxUpstreamCalls`);
//! - **response bytes**: an estimate of the answer's size, items multiplied like calls
//!   (`maxResponseBytes`; the actual size is checked again after execution).
//!
//! Every measure is linear in the selection it prices, so a fragment's cost is computed once and
//! reused wherever it is spread: the whole document is priced in time linear in its size, and a
//! fragment bomb (each fragment spreading the next four times) is priced, with saturating
//! arithmetic, without ever being expanded.

use std::collections::HashMap;

use async_graphql::{
    Name, Positioned, Variables,
    parser::types::{
        DocumentOperations, ExecutableDocument, Field, FragmentDefinition, Selection, SelectionSet,
    },
};

use crate::pagination::DEFAULT_FIRST;

/// Largest upstream page of the executions and tasks listings a connection follows.
const EXECUTIONS_PAGE: u64 = 100;
/// Largest upstream page of the jobs listing.
const JOBS_PAGE: u64 = 200;
/// Items assumed in a list whose length the document does not say: what the upstream typically
/// sends, not its maximum (the actual response size is checked after execution). Nested lists
/// multiply (each task's conditions), so a worst-case guess would compound: with 10 for every
/// list, a 20-execution page with every field was estimated at 12 times its real size, and an
/// ordinary `first: 100` page went over the default `--max-response-bytes`.
fn assumed_len(name: &str) -> u64 {
    match name {
        // Inline tasks of an execution (large lists are kept apart by the upstream: `tasksRef`).
        "tasks" => 10,
        // Conditions of a task, deployment events of a job.
        "conditions" => 2,
        "events" => 5,
        // Triggers, volumes, env vars, ports, policies, repositories of a job.
        _ => 3,
    }
}
/// Bytes assumed for a leaf value and its key.
const LEAF_BYTES: u64 = 32;

/// What an operation costs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    /// Fields once fragments are expanded.
    pub fields: u64,
    /// Upstream calls, at most.
    pub upstream_calls: u64,
    /// Estimated response size, bytes.
    pub response_bytes: u64,
    /// Aliases once fragments are expanded.
    pub aliases: u64,
}

impl Cost {
    fn add(self, other: Cost) -> Cost {
        Cost {
            fields: self.fields.saturating_add(other.fields),
            upstream_calls: self.upstream_calls.saturating_add(other.upstream_calls),
            response_bytes: self.response_bytes.saturating_add(other.response_bytes),
            aliases: self.aliases.saturating_add(other.aliases),
        }
    }

    /// `self` repeated for `n` parent items: calls and bytes multiply, fields and aliases do not
    /// (they count the document).
    fn times(self, n: u64) -> Cost {
        Cost {
            upstream_calls: self.upstream_calls.saturating_mul(n),
            response_bytes: self.response_bytes.saturating_mul(n),
            ..self
        }
    }

    /// The most expensive of two operations, measure by measure.
    pub fn max(self, other: Cost) -> Cost {
        Cost {
            fields: self.fields.max(other.fields),
            upstream_calls: self.upstream_calls.max(other.upstream_calls),
            response_bytes: self.response_bytes.max(other.response_bytes),
            aliases: self.aliases.max(other.aliases),
        }
    }
}

/// How a field's children are multiplied, by its name.
enum Kind {
    /// A connection over an upstream listing with pages of this size: `first` items.
    Connection(u64),
    /// One upstream call: a lookup by name or id.
    Lookup,
    /// A list of unknown length: [`assumed_len`] items.
    List(u64),
    /// Anything else: its children once.
    Plain,
}

/// The kind of field `name`; `root` when it is selected on the root type (lookups are root
/// fields: `metadata { job }` is a string).
fn kind(name: &str, root: bool) -> Kind {
    match name {
        "jobExecutions" | "executions" | "tasksConnection" => Kind::Connection(EXECUTIONS_PAGE),
        "jobs" => Kind::Connection(JOBS_PAGE),
        "job" | "jobExecution" | "node" | "createJobExecution" | "cancelJobExecution" if root => {
            Kind::Lookup
        }
        "tasks" | "conditions" | "events" | "triggers" | "volumes" | "envs" | "ports"
        | "policies" | "repositories" => Kind::List(assumed_len(name)),
        _ => Kind::Plain,
    }
}

/// The fields of a connection that depend on its items; a connection selecting none of them
/// (only `totalCount`, `totalCountIsPartial`, `__typename`) is served by one page of one item.
pub const ITEM_FIELDS: [&str; 3] = ["edges", "nodes", "pageInfo"];

/// Whether `set` selects one of [`ITEM_FIELDS`], directly or through fragments (a fragment's
/// own fragments are not followed: a connection's selection is shallow, and an unfollowed spread
/// counts as selecting items, which prices it at its full `first`).
fn selects_items(
    set: &SelectionSet,
    fragments: &HashMap<Name, Positioned<FragmentDefinition>>,
) -> bool {
    set.items.iter().any(|item| match &item.node {
        Selection::Field(f) => ITEM_FIELDS.contains(&f.node.name.node.as_str()),
        Selection::InlineFragment(inline) => selects_items_shallow(&inline.node.selection_set.node),
        Selection::FragmentSpread(spread) => fragments
            .get(&spread.node.fragment_name.node)
            .is_none_or(|f| selects_items_shallow(&f.node.selection_set.node)),
    })
}

/// [`selects_items`] one level deep: a spread inside is taken as selecting items.
fn selects_items_shallow(set: &SelectionSet) -> bool {
    set.items.iter().any(|item| match &item.node {
        Selection::Field(f) => ITEM_FIELDS.contains(&f.node.name.node.as_str()),
        Selection::InlineFragment(_) | Selection::FragmentSpread(_) => true,
    })
}

/// Prices documents; fragments are priced once each.
struct Pricer<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    variables: &'a Variables,
    /// `first` above this is refused by the resolver (`BAD_USER_INPUT`): priced at this.
    max_first: u64,
    /// Fragment costs by (name, spread on the root type).
    memo: HashMap<(&'a str, bool), Cost>,
    /// Fragments being priced: a cycle (invalid, refused by validation later) costs nothing here.
    active: Vec<&'a str>,
}

impl<'a> Pricer<'a> {
    fn set(&mut self, set: &'a SelectionSet, root: bool) -> Cost {
        let mut total = Cost::default();
        for item in &set.items {
            let cost = match &item.node {
                Selection::Field(field) => self.field(&field.node, root),
                Selection::InlineFragment(inline) => {
                    self.set(&inline.node.selection_set.node, root)
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(&spread.node.fragment_name.node, root)
                }
            };
            total = total.add(cost);
        }
        total
    }

    fn fragment(&mut self, name: &'a Name, root: bool) -> Cost {
        if let Some(cost) = self.memo.get(&(name.as_str(), root)) {
            return *cost;
        }
        if self.active.contains(&name.as_str()) {
            return Cost::default();
        }
        let Some(fragment) = self.fragments.get(name) else {
            return Cost::default();
        };
        self.active.push(name.as_str());
        let cost = self.set(&fragment.node.selection_set.node, root);
        self.active.pop();
        self.memo.insert((name.as_str(), root), cost);
        cost
    }

    fn field(&mut self, field: &'a Field, root: bool) -> Cost {
        let own = Cost {
            fields: 1,
            upstream_calls: 0,
            response_bytes: LEAF_BYTES,
            aliases: u64::from(field.alias.is_some()),
        };
        let children = self.set(&field.selection_set.node, false);
        let cost = match kind(field.name.node.as_str(), root) {
            Kind::Connection(page) => {
                // Only the totals selected: the resolver reads one page of one item.
                let first = if selects_items(&field.selection_set.node, self.fragments) {
                    self.first(field)
                } else {
                    0
                };
                let pages = first.div_ceil(page).max(1);
                // `edges`/`nodes` below repeat for each of the `first` items; pageInfo and
                // totalCount once: pricing every child `first` times over-counts those few.
                Cost {
                    upstream_calls: pages,
                    ..Cost::default()
                }
                .add(children.times(first.max(1)))
            }
            Kind::Lookup => Cost {
                upstream_calls: 1,
                ..Cost::default()
            }
            .add(children),
            Kind::List(len) => children.times(len),
            Kind::Plain => children,
        };
        own.add(cost)
    }

    /// The field's `first` argument: a literal, a variable, or the default of 20. Negative or
    /// absurd values are priced as they are; the resolver refuses them.
    fn first(&self, field: &Field) -> u64 {
        let value = field.get_argument("first").and_then(|arg| {
            arg.node
                .clone()
                .into_const_with(|name| self.variables.get(&name).cloned().ok_or(()))
                .ok()
        });
        let number = match value {
            Some(async_graphql::Value::Number(n)) => n.as_i64(),
            _ => None,
        };
        number
            .map(|n| u64::try_from(n).unwrap_or(0))
            .unwrap_or(u64::from(DEFAULT_FIRST))
            .min(self.max_first)
    }
}

/// A request's [`Cost`], priced before it waits for its turns (the HTTP face; the turns it takes
/// grow with its upstream calls) and kept in its data, so that the limits extension checks that
/// price instead of pricing the document again.
#[derive(Debug, Clone, Copy)]
pub struct Priced(pub Cost);

/// The cost of the most expensive operation of `doc` with `variables`; a `first` above
/// `max_first` (refused by the resolver) is priced at `max_first`.
pub fn price(doc: &ExecutableDocument, variables: &Variables, max_first: u32) -> Cost {
    let mut pricer = Pricer {
        fragments: &doc.fragments,
        variables,
        max_first: u64::from(max_first),
        memo: HashMap::new(),
        active: Vec::new(),
    };
    match &doc.operations {
        DocumentOperations::Single(op) => pricer.set(&op.node.selection_set.node, true),
        DocumentOperations::Multiple(ops) => ops
            .values()
            .map(|op| pricer.set(&op.node.selection_set.node, true))
            .fold(Cost::default(), Cost::max),
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;
    use proptest::prelude::*;

    use super::*;

    fn cost(query: &str) -> Cost {
        price(&parse_query(query).unwrap(), &Variables::default(), 500)
    }

    #[test]
    fn connections_cost_their_pages_times_their_parents() {
        let c = cost(r#"{ jobExecutions(jobName: "j", first: 250) { edges { cursor } } }"#);
        assert_eq!(c.upstream_calls, 3);
        let c = cost(r#"{ jobExecutions(jobName: "j", first: 0) { totalCount } }"#);
        assert_eq!(c.upstream_calls, 1, "totalCount alone still costs a page");
        let c = cost(r#"{ jobExecutions(jobName: "j", first: 500) { totalCount } }"#);
        assert_eq!(c.upstream_calls, 1, "totals alone: one page of one item");
        let c = cost(
            r#"{ jobExecutions(jobName: "j", first: 500) { ... on JobExecutionConnection { pageInfo { hasNextPage } } } }"#,
        );
        assert_eq!(
            c.upstream_calls, 5,
            "pageInfo through a fragment needs the items"
        );
        let c = cost(r#"{ jobs(first: 200) { nodes { executions(first: 1) { nodes { id } } } } }"#);
        assert_eq!(c.upstream_calls, 1 + 200);
        let c =
            cost(r#"{ a: job(name: "x") { id } b: jobExecution(jobName: "x", id: "y") { id } }"#);
        assert_eq!((c.upstream_calls, c.aliases), (2, 2));
        let c = cost(
            r#"{ jobExecutions(jobName: "j", first: 100) { nodes { metadata { id job } } } }"#,
        );
        assert_eq!(
            c.upstream_calls, 1,
            "metadata.job is a string, not a lookup"
        );
    }

    #[test]
    fn fragments_count_each_time_they_are_spread() {
        let aliased = (0..62)
            .map(|i| format!("e{i}: executions(first: 1) {{ totalCount }}"))
            .collect::<Vec<_>>()
            .join(" ");
        let q = format!(
            "{{ jobs(first: 200) {{ nodes {{ ...F }} }} }} fragment F on Job {{ {aliased} }}"
        );
        let c = cost(&q);
        assert_eq!(
            c.upstream_calls,
            1 + 200 * 62,
            "the 3.4 KB fan-out of the issue"
        );
        assert_eq!(c.aliases, 62);
        let twice = cost(
            "{ a: jobs { totalCount } ...F ...F } fragment F on Query { b: jobs { totalCount } }",
        );
        assert_eq!(twice.aliases, 3);
    }

    #[test]
    fn a_fragment_bomb_is_priced_without_expansion() {
        let q = crate::graphql::fragment_bomb("{ ...F0 }", "Query", 40, "__typename");
        // 4^40 fields: priced (and saturated) only because each fragment is priced once.
        let c = cost(&q);
        assert_eq!(c.fields, u64::MAX);
    }

    #[test]
    fn variables_price_first() {
        let doc = parse_query(
            "query($n: Int) { jobExecutions(jobName: \"j\", first: $n) { nodes { id } } }",
        )
        .unwrap();
        let vars = Variables::from_json(serde_json::json!({"n": 450}));
        assert_eq!(price(&doc, &vars, 500).upstream_calls, 5);
        assert_eq!(price(&doc, &Variables::default(), 500).upstream_calls, 1);
        let huge = Variables::from_json(serde_json::json!({"n": 99_999_999}));
        assert_eq!(
            price(&doc, &huge, 500).upstream_calls,
            5,
            "priced at maxFirst"
        );
    }

    /// Brute force: the expanded document (fragments inlined by text) costs the same.
    fn inline(query: &str, fragments: &[(&str, &str)]) -> String {
        let mut q = query.to_owned();
        for _ in 0..8 {
            for (name, body) in fragments {
                q = q.replace(&format!("...{name}"), body);
            }
        }
        q
    }

    proptest! {
        #[test]
        fn memoised_pricing_equals_brute_force_expansion(
            shape in proptest::collection::vec((0usize..4, 0usize..3, 1u64..150), 1..6),
        ) {
            // Fragments F0..F3: each a few fields, maybe a connection, maybe spreading the next.
            let mut fragments = Vec::new();
            for (i, (spreads, connection, first)) in shape.iter().enumerate().take(4) {
                let next = if i + 1 < shape.len().min(4) { format!("...F{}", i + 1) } else { String::new() };
                let spread = vec![next; *spreads].join(" ");
                let conn = match connection {
                    0 => String::new(),
                    1 => format!("executions(first: {first}) {{ totalCount nodes {{ id }} }}"),
                    _ => format!("x{i}: job(name: \"n\") {{ id }}"),
                };
                fragments.push((format!("F{i}"), format!("{{ __typename {conn} {spread} }}")));
            }
            let defs: String = fragments.iter().map(|(n, b)| format!(" fragment {n} on Job {b}")).collect();
            let query = "{ jobs(first: 3) { nodes { ...F0 } } }".to_owned();
            let memo = cost(&format!("{query}{defs}"));
            let bodies: Vec<(&str, String)> = fragments.iter().map(|(n, b)| (n.as_str(), format!("... on Job {b}"))).collect();
            let refs: Vec<(&str, &str)> = bodies.iter().map(|(n, b)| (*n, b.as_str())).collect();
            let expanded = inline(&query, &refs);
            prop_assert!(!expanded.contains("...F"));
            prop_assert_eq!(memo, cost(&expanded));
        }
    }
}
