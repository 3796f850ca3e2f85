//! Response keys in selection order, as the GraphQL spec requires (§6.3 "Executing Selection
//! Sets": the result map is ordered like the collected fields).
//!
//! async-graphql 7.2 resolves an object's fields concurrently and inserts each into the result as
//! it completes, so an object whose fields wait on the upstream (the root query, a `Job` with its
//! `executions`) comes back in completion order, which varies from run to run. A [`KeyOrder`] is
//! built once per parsed document: for each operation, the response keys of every selection set
//! in the order fields are first collected (fragments expanded in place), and [`KeyOrder::apply`]
//! reorders the response along it. Objects whose fields all resolve synchronously are already in
//! order and are not visited.
//!
//! Building never expands a fragment bomb: it stops at [`MAX_PLAN_KEYS`] keys (the response is
//! then left as async-graphql made it; the document limits refuse such documents anyway).

use std::collections::HashMap;

use async_graphql::{
    Name, Positioned, Value,
    indexmap::{IndexMap, IndexSet},
    parser::types::{
        DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
    },
};

/// Most response keys a plan holds, over all its operations.
pub const MAX_PLAN_KEYS: usize = 20_000;

/// Fields that wait on the upstream: the objects selecting them may complete out of order.
const ASYNC_FIELDS: &[&str] = &[
    "jobExecutions",
    "jobExecution",
    "job",
    "jobs",
    "node",
    "executions",
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
}

struct Builder<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    budget: usize,
}

impl<'a> Builder<'a> {
    /// Collects `set` into `keys`; `None` when the budget ran out.
    fn collect(&mut self, set: &'a SelectionSet, keys: &mut Keys, depth: usize) -> Option<()> {
        if depth > 64 {
            return None;
        }
        let mut subsets: Vec<(Name, &'a SelectionSet)> = Vec::new();
        self.flatten(set, keys, &mut subsets, depth)?;
        for (key, sub) in subsets {
            let mut child = keys.children.remove(&key).unwrap_or_default();
            self.collect(sub, &mut child, depth + 1)?;
            if child.needed() {
                keys.children.insert(key, child);
            }
        }
        Some(())
    }

    /// Adds the fields of `set`, fragments expanded in place, to `keys`; their sub-selections
    /// to `subsets`. Every field and spread costs one unit of the budget.
    fn flatten(
        &mut self,
        set: &'a SelectionSet,
        keys: &mut Keys,
        subsets: &mut Vec<(Name, &'a SelectionSet)>,
        depth: usize,
    ) -> Option<()> {
        if depth > 64 {
            return None;
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    self.budget = self.budget.checked_sub(1)?;
                    let key = field.node.response_key().node.clone();
                    keys.reorder |= ASYNC_FIELDS.contains(&field.node.name.node.as_str());
                    keys.order.insert(key.clone());
                    if !field.node.selection_set.node.items.is_empty() {
                        subsets.push((key, &field.node.selection_set.node));
                    }
                }
                Selection::InlineFragment(inline) => {
                    self.flatten(&inline.node.selection_set.node, keys, subsets, depth + 1)?;
                }
                Selection::FragmentSpread(spread) => {
                    self.budget = self.budget.checked_sub(1)?;
                    let fragments = self.fragments;
                    let fragment = fragments.get(&spread.node.fragment_name.node)?;
                    self.flatten(&fragment.node.selection_set.node, keys, subsets, depth + 1)?;
                }
            }
        }
        Some(())
    }
}

impl KeyOrder {
    /// The plan of `doc`; empty (reorders nothing) when the document is too large to plan.
    pub fn of(doc: &ExecutableDocument) -> KeyOrder {
        let mut builder = Builder {
            fragments: &doc.fragments,
            budget: MAX_PLAN_KEYS,
        };
        let mut operations = HashMap::new();
        let ops: Vec<(Option<Name>, &SelectionSet)> = match &doc.operations {
            DocumentOperations::Single(op) => vec![(None, &op.node.selection_set.node)],
            DocumentOperations::Multiple(ops) => ops
                .iter()
                .map(|(name, op)| (Some(name.clone()), &op.node.selection_set.node))
                .collect(),
        };
        for (name, set) in ops {
            let mut keys = Keys {
                reorder: true,
                ..Keys::default()
            };
            if builder.collect(set, &mut keys, 0).is_none() {
                return KeyOrder::default();
            }
            operations.insert(name, keys);
        }
        KeyOrder { operations }
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

    fn reordered(query: &str, data: serde_json::Value) -> String {
        let order = KeyOrder::of(&parse_query(query).unwrap());
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
    fn a_fragment_bomb_is_not_expanded() {
        let mut query = String::from("{ ...F0 }");
        for i in 0..30 {
            query.push_str(&format!(
                " fragment F{i} on Query {{ ...F{n} ...F{n} ...F{n} ...F{n} }}",
                n = i + 1
            ));
        }
        query.push_str(" fragment F30 on Query { __typename }");
        let order = KeyOrder::of(&parse_query(&query).unwrap());
        assert!(order.operations.is_empty());
    }
}
