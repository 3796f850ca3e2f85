//! Response keys in selection order, as the GraphQL spec requires (§6.3 "Executing Selection
//! Sets": the result map is ordered like the collected fields).
//!
//! async-graphql 7.2 resolves an object's fields concurrently and inserts each into the result as
//! it completes, so an object with a field that waits on the upstream (the root query, a `Job`
//! with its `executions`, a `JobExecution` with `tasks` from the tasks listing) comes back in
//! completion order, which varies from run to run. A [`KeyOrder`] is built per parsed document
//! against the schema's types: for each operation, the response keys of every selection set in
//! the order fields are first collected (fragments expanded in place), marking the sets that
//! select one of the `ASYNC_FIELDS` of their type; [`KeyOrder::apply`] reorders those objects
//! of the response and visits nothing else (objects whose fields all resolve synchronously are in
//! order already: a page of executions is not walked).
//!
//! Building never expands a fragment bomb: it stops at [`MAX_PLAN_KEYS`] keys (the response is
//! then left as async-graphql made it; the document limits refuse such documents anyway).

use std::{
    collections::HashMap,
    num::NonZeroUsize,
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::{
    Name, Positioned, Value,
    indexmap::{IndexMap, IndexSet},
    parser::types::{
        DocumentOperations, ExecutableDocument, FragmentDefinition, OperationType, Selection,
        SelectionSet,
    },
    registry::Registry,
};
use lru::LruCache;

use super::documents::MAX_CACHED_QUERY_BYTES;

/// Most response keys a plan holds, over all its operations.
pub const MAX_PLAN_KEYS: usize = 20_000;

/// Fields whose resolver waits on the upstream (through the request's DataLoader), by (type,
/// field): the objects selecting them may complete out of order. Root fields are not listed: a
/// root object is always checked.
const ASYNC_FIELDS: &[(&str, &str)] = &[
    ("Job", "executions"),
    ("JobExecution", "tasks"),
    ("JobExecution", "tasksConnection"),
];

/// The key order of one selection set.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Keys {
    /// Response keys in collection order.
    order: IndexSet<Name>,
    /// Sub-selections by response key, for keys whose subtree needs reordering.
    children: HashMap<Name, Keys>,
    /// True when this object selects an async field (its own keys may be out of order).
    reorder: bool,
}

impl Keys {
    fn needed(&self) -> bool {
        self.reorder || !self.children.is_empty()
    }
}

/// The key order of every operation of a document.
#[derive(Debug, Default, Clone)]
pub struct KeyOrder {
    operations: HashMap<Option<Name>, Keys>,
    /// True when every selection set was planned and none selects a response key twice
    /// (fragments expanded): no object of the response needs async-graphql's merging of
    /// repeated keys, so the walk may answer with pre-encoded JSON (see [`super::json`]).
    unrepeated: bool,
}

struct Builder<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    registry: &'a Registry,
    budget: usize,
    /// A selection set selected a response key twice.
    repeated: bool,
}

/// A selection set to collect, of the type its field returns (None: not in the schema, e.g.
/// introspection; such a subtree resolves synchronously and is never reordered).
struct Subset<'a> {
    key: Name,
    set: &'a SelectionSet,
    ty: Option<&'a str>,
}

impl<'a> Builder<'a> {
    /// Collects `set`, selected on type `ty`, into `keys`; `None` when the budget ran out.
    fn collect(
        &mut self,
        set: &'a SelectionSet,
        ty: Option<&'a str>,
        keys: &mut Keys,
        depth: usize,
    ) -> Option<()> {
        if depth > 64 {
            return None;
        }
        let mut subsets = Vec::new();
        self.flatten(set, ty, keys, &mut subsets, depth)?;
        for Subset { key, set, ty } in subsets {
            let mut child = keys.children.remove(&key).unwrap_or_default();
            self.collect(set, ty, &mut child, depth + 1)?;
            if child.needed() {
                keys.children.insert(key, child);
            }
        }
        Some(())
    }

    /// The named type a field of `parent` returns (`[JobExecution!]!` -> `JobExecution`).
    fn field_type(&self, parent: Option<&str>, field: &str) -> Option<&'a str> {
        let meta = self.registry.types.get(parent?)?.field_by_name(field)?;
        Some(meta.ty.trim_matches(|c| matches!(c, '[' | ']' | '!')))
    }

    /// Adds the fields of `set` (on type `ty`), fragments expanded in place, to `keys`; their
    /// sub-selections to `subsets`. Every field and spread costs one unit of the budget.
    fn flatten(
        &mut self,
        set: &'a SelectionSet,
        ty: Option<&'a str>,
        keys: &mut Keys,
        subsets: &mut Vec<Subset<'a>>,
        depth: usize,
    ) -> Option<()> {
        if depth > 64 {
            return None;
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    self.budget = self.budget.checked_sub(1)?;
                    let name = field.node.name.node.as_str();
                    let key = field.node.response_key().node.clone();
                    keys.reorder |= ty.is_some_and(|ty| ASYNC_FIELDS.contains(&(ty, name)));
                    self.repeated |= !keys.order.insert(key.clone());
                    if !field.node.selection_set.node.items.is_empty() {
                        subsets.push(Subset {
                            key,
                            set: &field.node.selection_set.node,
                            ty: self.field_type(ty, name),
                        });
                    }
                }
                Selection::InlineFragment(inline) => {
                    let inner = match &inline.node.type_condition {
                        Some(on) => Some(self.registry_name(on.node.on.node.as_str())),
                        None => ty,
                    };
                    self.flatten(
                        &inline.node.selection_set.node,
                        inner,
                        keys,
                        subsets,
                        depth + 1,
                    )?;
                }
                Selection::FragmentSpread(spread) => {
                    self.budget = self.budget.checked_sub(1)?;
                    let fragments = self.fragments;
                    let fragment = fragments.get(&spread.node.fragment_name.node)?;
                    let on = self.registry_name(fragment.node.type_condition.node.on.node.as_str());
                    self.flatten(
                        &fragment.node.selection_set.node,
                        Some(on),
                        keys,
                        subsets,
                        depth + 1,
                    )?;
                }
            }
        }
        Some(())
    }

    /// `name` borrowed from the registry (for the lifetime of the plan); an unknown type name is
    /// kept as an empty name, which has no fields.
    fn registry_name(&self, name: &str) -> &'a str {
        self.registry
            .types
            .get_key_value(name)
            .map_or("", |(name, _)| name.as_str())
    }
}

impl KeyOrder {
    /// The plan of `doc` over the types of `registry` (the schema's); empty (reorders nothing)
    /// when the document is too large to plan.
    pub fn of(doc: &ExecutableDocument, registry: &Registry) -> KeyOrder {
        let mut builder = Builder {
            fragments: &doc.fragments,
            registry,
            budget: MAX_PLAN_KEYS,
            repeated: false,
        };
        let root = |ty: OperationType| match ty {
            OperationType::Query => Some(registry.query_type.as_str()),
            OperationType::Mutation => registry.mutation_type.as_deref(),
            OperationType::Subscription => registry.subscription_type.as_deref(),
        };
        let mut operations = HashMap::new();
        let ops: Vec<(Option<Name>, &SelectionSet, Option<&str>)> = match &doc.operations {
            DocumentOperations::Single(op) => {
                vec![(None, &op.node.selection_set.node, root(op.node.ty))]
            }
            DocumentOperations::Multiple(ops) => ops
                .iter()
                .map(|(name, op)| {
                    (
                        Some(name.clone()),
                        &op.node.selection_set.node,
                        root(op.node.ty),
                    )
                })
                .collect(),
        };
        for (name, set, ty) in ops {
            let mut keys = Keys {
                reorder: true,
                ..Keys::default()
            };
            if builder.collect(set, ty, &mut keys, 0).is_none() {
                return KeyOrder::default();
            }
            operations.insert(name, keys);
        }
        KeyOrder {
            operations,
            unrepeated: !builder.repeated,
        }
    }

    /// True when no object of the response selects a response key twice (see
    /// [`KeyOrder::unrepeated`]); false for a document too large to plan.
    pub fn unrepeated(&self) -> bool {
        self.unrepeated
    }

    /// Reorders `data`, the result of operation `name` (`None`: the document's only one).
    pub fn apply(&self, name: Option<&str>, data: &mut Value) {
        let keys = match name {
            Some(name) => self
                .operations
                .get(&Some(Name::new(name)))
                .or_else(|| self.operations.get(&None)),
            None => self.operations.get(&None).or_else(|| {
                // A single named operation executed without naming it.
                (self.operations.len() == 1)
                    .then(|| self.operations.values().next())
                    .flatten()
            }),
        };
        if let Some(keys) = keys {
            reorder(keys, data);
        }
    }
}

/// Key orders by query text, least recently used evicted first: a plan depends on the document
/// and the schema only, and clients send the same few documents over and over (the same bound
/// as the [`super::documents::DocumentCache`]: texts up to [`MAX_CACHED_QUERY_BYTES`]).
pub struct KeyOrders {
    plans: Mutex<LruCache<Box<str>, Arc<KeyOrder>>>,
}

impl KeyOrders {
    /// A cache of at most `capacity` plans (0 reads as 1).
    pub fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            plans: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// The plan of `doc`, the parse of `query`: cached, or made with [`KeyOrder::of`] (and
    /// kept when `query` is short enough).
    pub fn get_or_plan(
        &self,
        query: &str,
        doc: &ExecutableDocument,
        registry: &Registry,
    ) -> Arc<KeyOrder> {
        if query.len() > MAX_CACHED_QUERY_BYTES {
            return Arc::new(KeyOrder::of(doc, registry));
        }
        if let Some(plan) = self.lock().get(query) {
            return Arc::clone(plan);
        }
        let plan = Arc::new(KeyOrder::of(doc, registry));
        self.lock().put(query.into(), Arc::clone(&plan));
        plan
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<Box<str>, Arc<KeyOrder>>> {
        self.plans.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// True when `map`'s keys already follow `order` (the common case: nothing to move).
fn in_order(order: &IndexSet<Name>, map: &IndexMap<Name, Value>) -> bool {
    let mut last = 0;
    map.keys().all(|key| match order.get_index_of(key) {
        Some(i) if i >= last => {
            last = i;
            true
        }
        _ => false,
    })
}

fn reorder(keys: &Keys, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if keys.reorder && !in_order(&keys.order, map) {
                let mut old = std::mem::take(map);
                let mut sorted = IndexMap::with_capacity(old.len());
                for key in &keys.order {
                    if let Some(v) = old.swap_remove(key) {
                        sorted.insert(key.clone(), v);
                    }
                }
                sorted.extend(old);
                *map = sorted;
            }
            for (key, child) in &keys.children {
                if let Some(v) = map.get_mut(key) {
                    reorder(child, v);
                }
            }
        }
        Value::List(items) => items.iter_mut().for_each(|item| reorder(keys, item)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{Value, parser::parse_query};
    use serde_json::json;

    use super::*;

    fn registry() -> Registry {
        use async_graphql::OutputType as _;
        let mut registry = Registry::default();
        crate::graphql::query::Query::create_type_info(&mut registry);
        registry.query_type = "Query".to_owned();
        registry
    }

    fn reordered(query: &str, data: serde_json::Value) -> String {
        let order = KeyOrder::of(&parse_query(query).unwrap(), &registry());
        let mut value = Value::from_json(data).unwrap();
        order.apply(None, &mut value);
        serde_json::to_string(&value).unwrap()
    }

    #[test]
    fn restores_selection_order_through_fragments_and_lists() {
        let query = "{ b: job(name: \"x\") { metadata { name } executions { totalCount } ...F } a: jobs { nodes { id executions { totalCount } } } } fragment F on Job { id }";
        let data = json!({
            "a": {"nodes": [{"executions": {"totalCount": 1}, "id": "1"}]},
            "b": {"id": "j", "executions": {"totalCount": 2}, "metadata": {"name": "x"}},
        });
        assert_eq!(
            reordered(query, data),
            r#"{"b":{"metadata":{"name":"x"},"executions":{"totalCount":2},"id":"j"},"a":{"nodes":[{"id":"1","executions":{"totalCount":1}}]}}"#
        );
    }

    #[test]
    fn the_tasks_of_an_execution_come_back_where_they_were_selected() {
        // `tasks` and `tasksConnection` wait on the tasks listing: they complete last.
        let query = "{ jobExecution(jobName: \"j\", id: \"e\") { tasksConnection(first: 1) { totalCount } id tasks { status } status } }";
        let data = json!({"jobExecution": {
            "id": "x", "status": "RUNNING", "tasks": [{"status": "DONE"}],
            "tasksConnection": {"totalCount": 1},
        }});
        assert_eq!(
            reordered(query, data),
            r#"{"jobExecution":{"tasksConnection":{"totalCount":1},"id":"x","tasks":[{"status":"DONE"}],"status":"RUNNING"}}"#
        );
        // The same through `node` and a fragment on the concrete type.
        let query = "{ node(id: \"x\") { ... on JobExecution { tasks { status } id } } }";
        let data = json!({"node": {"id": "x", "tasks": []}});
        assert_eq!(reordered(query, data), r#"{"node":{"tasks":[],"id":"x"}}"#);
    }

    #[test]
    fn a_page_of_executions_is_not_visited() {
        // Fields named like async ones on other types (an edge's `node`, the metadata's `job`)
        // resolve synchronously: only the root is checked.
        let query = "{ jobExecutions(jobName: \"j\", first: 20) { totalCount edges { cursor node { id metadata { job id } tasks { status } } } } }";
        let order = KeyOrder::of(&parse_query(query).unwrap(), &registry());
        let root = &order.operations[&None];
        assert!(root.reorder);
        let connection = &root.children[&Name::new("jobExecutions")];
        let node = &connection.children[&Name::new("edges")].children[&Name::new("node")];
        assert!(node.reorder, "an execution selecting tasks is checked");
        assert!(node.children.is_empty(), "its metadata is not");
        let query = "{ jobExecutions(jobName: \"j\", first: 20) { edges { node { id metadata { job } } } } }";
        let order = KeyOrder::of(&parse_query(query).unwrap(), &registry());
        assert!(order.operations[&None].children.is_empty());
    }

    #[test]
    fn plans_are_made_once_per_query_text_up_to_the_cached_length() {
        let registry = registry();
        let orders = KeyOrders::new(2);
        let query = "{ job(name: \"x\") { id executions { totalCount } } }";
        let doc = parse_query(query).unwrap();
        let first = orders.get_or_plan(query, &doc, &registry);
        assert!(Arc::ptr_eq(
            &first,
            &orders.get_or_plan(query, &doc, &registry)
        ));
        assert!(first.operations[&None].children.contains_key("job"));
        // Two other texts evict it (capacity 2).
        for other in [
            "{ a: job(name: \"x\") { id } }",
            "{ b: job(name: \"x\") { id } }",
        ] {
            orders.get_or_plan(other, &parse_query(other).unwrap(), &registry);
        }
        assert!(!Arc::ptr_eq(
            &first,
            &orders.get_or_plan(query, &doc, &registry)
        ));
        // A text longer than the document cache's bound is planned each time, never kept.
        let long = format!("{query}{}", " ".repeat(MAX_CACHED_QUERY_BYTES));
        let doc = parse_query(&long).unwrap();
        let plan = orders.get_or_plan(&long, &doc, &registry);
        assert!(!Arc::ptr_eq(
            &plan,
            &orders.get_or_plan(&long, &doc, &registry)
        ));
    }

    #[test]
    fn a_fragment_bomb_is_not_expanded() {
        let query = crate::graphql::fragment_bomb("{ ...F0 }", "Query", 30, "__typename");
        let order = KeyOrder::of(&parse_query(&query).unwrap(), &registry());
        assert!(order.operations.is_empty());
    }
}
