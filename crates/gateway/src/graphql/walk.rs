//! A synchronous resolver for executions: their selection set is walked once and the answer
//! built directly from the decoded upstream model.
//!
//! async-graphql resolves every field of every object as its own future (boxed, joined, and
//! passed through the extension chain). An execution with every field selected has about a
//! hundred fields, most of them plain reads of the model, so that machinery was most of the
//! gateway's CPU time per request (see `bench/`). [`ExecutionNode`] is the type the connections
//! return: GraphQL sees the `JobExecution` type (same name, same registration, same SDL), but its
//! `resolve` walks the selection set here, without a future per field.
//!
//! The walk handles fields, aliases, `__typename`, fragment spreads and inline fragments on
//! `JobExecution` or `Node`, and merges repeated response keys as async-graphql does. When the
//! response is written by the HTTP face ([`super::json::DirectJson`]), it writes the execution
//! as JSON bytes instead of building a `Value` ([`Walk::write_object`], from the same field
//! lists), each selection set compiled once per walk into its steps (keys escaped, fields
//! matched by index): a page of 20 with every field writes about 3,700 fields from a few
//! dozen steps. Anything
//! else (a directive left on a selection, a timestamp that does not parse, an `envOverride` that
//! is not an object) makes it give up, and the ordinary resolvers of [`JobExecution`] answer
//! instead, with their errors and paths. Both give the same answer: the tests compare them.

use std::{
    borrow::Cow,
    cell::RefCell,
    collections::HashMap,
    sync::{Arc, OnceLock},
};

use async_graphql::{
    ContextSelectionSet, Name, OutputType, Positioned, ServerError, ServerResult, Value,
    indexmap::{IndexMap, map::Entry},
    parser::types::{Field, FragmentDefinition, Selection, SelectionSet},
    registry::Registry,
    resolver_utils::{EnumType, enum_value},
};
use bytes::Bytes;

use super::{
    execution::JobExecution,
    json::{DirectJson, write_str},
    scalars::timestamp,
};
use crate::caller::Caller;

/// A `JobExecution` in a connection: the same GraphQL type, resolved by one synchronous walk,
/// or already rendered as JSON when its page arrived ([`super::prerender`]).
#[derive(Clone)]
pub struct ExecutionNode(Node);

#[derive(Clone)]
enum Node {
    /// The execution (its page held), walked when async-graphql resolves it.
    Model(JobExecution),
    /// The JSON of the execution for each `node`/`nodes` field of its connection, by the
    /// field's address in the document, written while its page was held.
    Rendered(Arc<[(usize, Bytes)]>),
}

impl ExecutionNode {
    /// The execution, walked when resolved.
    pub fn model(execution: JobExecution) -> Self {
        Self(Node::Model(execution))
    }

    /// The execution as pre-encoded JSON for each field of `rendered` (by
    /// [`field_address`]); resolving it for another field is an error.
    pub fn rendered(rendered: Arc<[(usize, Bytes)]>) -> Self {
        Self(Node::Rendered(rendered))
    }

    /// Bytes of JSON rendered for this execution, every node field together (0 when it was
    /// not rendered).
    pub fn rendered_len(&self) -> usize {
        match &self.0 {
            Node::Rendered(rendered) => rendered.iter().map(|(_, json)| json.len()).sum(),
            Node::Model(_) => 0,
        }
    }

    /// The JSON rendered for the node field `field`; `None` when this execution was not
    /// rendered for it.
    pub fn rendered_for(&self, field: &Positioned<Field>) -> Option<&Bytes> {
        let Node::Rendered(rendered) = &self.0 else {
            return None;
        };
        let at = field_address(field);
        rendered
            .iter()
            .find(|(field, _)| *field == at)
            .map(|(_, json)| json)
    }
}

/// The identity of a field of the operation's document: its address (the document outlives the
/// request's resolution).
pub fn field_address(field: &Positioned<Field>) -> usize {
    std::ptr::from_ref(field).addr()
}

/// True to use the synchronous walk (tests turn it off to compare both).
#[derive(Debug, Clone, Copy)]
pub struct UseWalk(pub bool);

impl OutputType for ExecutionNode {
    fn type_name() -> Cow<'static, str> {
        <JobExecution as OutputType>::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <JobExecution as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let execution = match &self.0 {
            Node::Model(execution) => execution,
            Node::Rendered(_) => {
                return match self.rendered_for(field) {
                    Some(json) => Ok(Value::Binary(json.clone())),
                    None => Err(ServerError::new(
                        "internal error: an execution was not rendered for this field",
                        Some(field.pos),
                    )),
                };
            }
        };
        if walks(ctx) {
            let walk = Walk::new(ctx);
            if ctx.data_opt::<DirectJson>().is_some_and(|direct| direct.0)
                && let Some(json) = walk.render(execution, &ctx.item.node)
            {
                return Ok(Value::Binary(json));
            }
            if let Some(value) = walk.object(execution, &ctx.item.node) {
                return Ok(value);
            }
        }
        execution.resolve(ctx, field).await
    }
}

/// True when the request uses the synchronous walk (the default; tests turn it off).
pub fn walks<T>(ctx: &async_graphql::ContextBase<'_, T>) -> bool {
    ctx.data_opt::<UseWalk>().is_none_or(|switch| switch.0)
}

thread_local! {
    /// Size of the last execution written as JSON on this thread, plus a margin: the capacity
    /// the next one starts with. The executions of a page are written one after the other with
    /// one selection, so they come out about the same size; a fixed guess either grows the
    /// buffer several times (every field: a few kB) or wastes most of it for the whole request
    /// (an id: a few dozen bytes out of a 1 kB buffer, 10 MB for 10,000 executions).
    static LAST_SIZE: std::cell::Cell<usize> = const { std::cell::Cell::new(256) };
}

/// `out` as held until the response is written: its size remembered for the next execution,
/// and its spare capacity given back when it is more than a quarter.
fn fitted(mut out: Vec<u8>) -> Vec<u8> {
    let len = out.len();
    LAST_SIZE.set(len + len / 8 + 16);
    if out.capacity() > len + len / 4 + 16 {
        out.shrink_to_fit();
    }
    out
}

/// One walk of an execution's selection set.
pub struct Walk<'a> {
    /// Fragments of the operation, for spreads.
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    /// The caller's workspace, part of global ids.
    pub workspace: &'a str,
    /// How many fields each selection set walked so far selects, fragments expanded, by the
    /// set's address (the document outlives the walk): the capacity of its objects, so that
    /// `{ ...Fragment }` does not grow its map field by field.
    widths: RefCell<Vec<(usize, usize)>>,
    /// The plan of each selection set written so far, by the set's address and the object
    /// type's name: a page writes the same few sets for each of its executions and tasks, so
    /// fragments are expanded, names matched and keys escaped once per set, not per object.
    plans: RefCell<Vec<(usize, &'static str, Plan<'a>)>>,
}

/// An object type the walk can answer: its GraphQL name and plain field reads. Implemented by
/// `model_object!` (see [`super::fields`]) from the type's one field list.
pub trait Plain {
    /// GraphQL type name (`__typename`).
    const TYPE: &'static str;
    /// Interfaces it implements (type conditions that match it besides its own name).
    const INTERFACES: &'static [&'static str];
    /// True when a fragment on `condition` applies to this type.
    fn matches(condition: &str) -> bool {
        condition == Self::TYPE || Self::INTERFACES.contains(&condition)
    }
    /// The value of field `name` with sub-selection `set`; `None` gives up.
    fn field(&self, walk: &Walk<'_>, name: &str, set: &SelectionSet) -> Option<Value>;
    /// The names of the fields [`Plain::write_field`] writes, by index.
    const FIELDS: &'static [&'static str];
    /// Writes the JSON of field `FIELDS[index]` with sub-selection `set` to `out`; `None` gives
    /// up (what was written is then discarded).
    fn write_field<'a>(
        &self,
        walk: &Walk<'a>,
        index: usize,
        set: &'a SelectionSet,
        out: &mut Vec<u8>,
    ) -> Option<()>;
}

/// One response key of an object as [`Walk::write_object`] writes it, compiled once per
/// selection set and walk ([`Walk::plan`]).
struct Step<'a> {
    /// `"key":` as JSON, after a `,` for every key but the first.
    key: Box<[u8]>,
    /// The field's index in [`Plain::FIELDS`]; `None` for `__typename`.
    field: Option<usize>,
    /// The field's sub-selection.
    set: &'a SelectionSet,
}

/// The steps of one selection set on one object type, fragments expanded, in selection order.
type Plan<'a> = Arc<[Step<'a>]>;

impl<'a> Walk<'a> {
    /// A walk in the operation and for the caller of `ctx`.
    pub fn new<T>(ctx: &'a async_graphql::ContextBase<'_, T>) -> Self {
        Walk {
            fragments: &ctx.query_env.fragments,
            workspace: ctx
                .data_opt::<Caller>()
                .map_or("", |caller| caller.workspace.as_str()),
            widths: RefCell::default(),
            plans: RefCell::default(),
        }
    }

    /// `value` with the fields of `set`, as JSON (for [`DirectJson`]); `None` gives up.
    pub fn render<T: Plain>(&self, value: &T, set: &'a SelectionSet) -> Option<Bytes> {
        let mut out = Vec::with_capacity(LAST_SIZE.get());
        self.write_object(value, set, &mut out)?;
        Some(fitted(out).into())
    }

    /// Writes the object `value` with the fields of `set` as JSON, as [`Walk::object`] would
    /// build it, to `out`; `None` gives up. The operation selects no response key twice
    /// (see [`super::json`]), so there is nothing to merge.
    pub fn write_object<T: Plain>(
        &self,
        value: &T,
        set: &'a SelectionSet,
        out: &mut Vec<u8>,
    ) -> Option<()> {
        let plan = self.plan::<T>(set)?;
        out.push(b'{');
        for step in plan.iter() {
            out.extend_from_slice(&step.key);
            match step.field {
                None => write_str(out, T::TYPE),
                Some(index) => value.write_field(self, index, step.set, out)?,
            }
        }
        out.push(b'}');
        Some(())
    }

    /// Writes `value`, or null.
    pub fn write_optional<T: Plain>(
        &self,
        value: Option<&T>,
        set: &'a SelectionSet,
        out: &mut Vec<u8>,
    ) -> Option<()> {
        match value {
            Some(v) => self.write_object(v, set, out),
            None => {
                out.extend_from_slice(b"null");
                Some(())
            }
        }
    }

    /// Writes each of `items`, as a list.
    pub fn write_list<T: Plain>(
        &self,
        items: impl IntoIterator<Item = T>,
        set: &'a SelectionSet,
        out: &mut Vec<u8>,
    ) -> Option<()> {
        out.push(b'[');
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            self.write_object(&item, set, out)?;
        }
        out.push(b']');
        Some(())
    }

    /// The plan of `set` on type `T`, compiled the first time this walk writes it; `None` gives
    /// up (what [`Walk::each_field`] gives up on, or a field `T` does not write).
    fn plan<T: Plain>(&self, set: &'a SelectionSet) -> Option<Plan<'a>> {
        let at = std::ptr::from_ref(set).addr();
        if let Some((.., plan)) = self
            .plans
            .borrow()
            .iter()
            .find(|(key, ty, _)| *key == at && *ty == T::TYPE)
        {
            return Some(Arc::clone(plan));
        }
        let mut steps = Vec::with_capacity(self.width(set));
        self.each_field::<T>(set, &mut |field| {
            let name = field.name.node.as_str();
            let index = match name {
                "__typename" => None,
                _ => Some(T::FIELDS.iter().position(|known| *known == name)?),
            };
            let mut key = Vec::with_capacity(name.len() + 4);
            if !steps.is_empty() {
                key.push(b',');
            }
            write_str(&mut key, field.response_key().node.as_str());
            key.push(b':');
            steps.push(Step {
                key: key.into(),
                field: index,
                set: &field.selection_set.node,
            });
            Some(())
        })?;
        let plan: Plan<'a> = steps.into();
        self.plans
            .borrow_mut()
            .push((at, T::TYPE, Arc::clone(&plan)));
        Some(plan)
    }
}

impl<'a> Walk<'a> {
    /// The object `value` with the fields of `set`; `None` gives up.
    pub fn object<T: Plain>(&self, value: &T, set: &SelectionSet) -> Option<Value> {
        let mut out = IndexMap::with_capacity(self.width(set));
        self.collect(value, set, &mut out)?;
        Some(Value::Object(out))
    }

    /// Fields selected by `set`, fragments expanded (an upper bound of its response keys).
    fn width(&self, set: &SelectionSet) -> usize {
        let key = std::ptr::from_ref(set).addr();
        if let Some(&(_, n)) = self.widths.borrow().iter().find(|(k, _)| *k == key) {
            return n;
        }
        let n = self.count(set);
        self.widths.borrow_mut().push((key, n));
        n
    }

    fn count(&self, set: &SelectionSet) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(_) => 1,
                Selection::FragmentSpread(spread) => self
                    .fragments
                    .get(&spread.node.fragment_name.node)
                    .map_or(0, |f| self.count(&f.node.selection_set.node)),
                Selection::InlineFragment(inline) => self.count(&inline.node.selection_set.node),
            })
            .sum()
    }

    /// Calls `visit` with each field of `set` (on type `T`), fragments expanded in place, in
    /// selection order; `None` (a directive, arguments, a fragment on another type) gives up.
    fn each_field<'s, T: Plain>(
        &self,
        set: &'s SelectionSet,
        visit: &mut impl FnMut(&'s Field) -> Option<()>,
    ) -> Option<()>
    where
        'a: 's,
    {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    if !field.directives.is_empty() || !field.arguments.is_empty() {
                        return None;
                    }
                    visit(field)?;
                }
                Selection::FragmentSpread(spread) => {
                    if !spread.node.directives.is_empty() {
                        return None;
                    }
                    let fragment = &self.fragments.get(&spread.node.fragment_name.node)?.node;
                    if !fragment.directives.is_empty()
                        || !T::matches(fragment.type_condition.node.on.node.as_str())
                    {
                        return None;
                    }
                    self.each_field::<T>(&fragment.selection_set.node, visit)?;
                }
                Selection::InlineFragment(inline) => {
                    let inline = &inline.node;
                    if !inline.directives.is_empty() {
                        return None;
                    }
                    if let Some(condition) = &inline.type_condition
                        && !T::matches(condition.node.on.node.as_str())
                    {
                        return None;
                    }
                    self.each_field::<T>(&inline.selection_set.node, visit)?;
                }
            }
        }
        Some(())
    }

    fn collect<T: Plain>(
        &self,
        value: &T,
        set: &SelectionSet,
        out: &mut IndexMap<Name, Value>,
    ) -> Option<()> {
        self.each_field::<T>(set, &mut |field| {
            let name = field.name.node.as_str();
            let v = if name == "__typename" {
                Value::String(T::TYPE.to_owned())
            } else {
                value.field(self, name, &field.selection_set.node)?
            };
            insert(out, field.response_key().node.clone(), v);
            Some(())
        })
    }

    /// `value`, or null.
    pub fn optional<T: Plain>(&self, value: Option<&T>, set: &SelectionSet) -> Option<Value> {
        match value {
            Some(v) => self.object(v, set),
            None => Some(Value::Null),
        }
    }

    /// Each of `items`, as a list.
    pub fn list<T: Plain>(
        &self,
        items: impl IntoIterator<Item = T>,
        set: &SelectionSet,
    ) -> Option<Value> {
        items
            .into_iter()
            .map(|item| self.object(&item, set))
            .collect::<Option<Vec<_>>>()
            .map(Value::List)
    }
}

/// Inserts `value` under `key`, merging objects (and lists of objects) item by item, as
/// async-graphql does for a response key selected twice.
fn insert(target: &mut IndexMap<Name, Value>, key: Name, value: Value) {
    // One hash and lookup of the key (not a `get_mut`, then an `insert`).
    let prev = match target.entry(key) {
        Entry::Vacant(slot) => {
            slot.insert(value);
            return;
        }
        Entry::Occupied(slot) => slot.into_mut(),
    };
    match prev {
        Value::Object(prev) => {
            if let Value::Object(next) = value {
                for (k, v) in next {
                    insert(prev, k, v);
                }
            }
        }
        Value::List(prev) => {
            if let Value::List(next) = value {
                for (slot, v) in prev.iter_mut().zip(next) {
                    if let (Value::Object(prev), Value::Object(next)) = (slot, v) {
                        for (k, v) in next {
                            insert(prev, k, v);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

/// The GraphQL value of an enum, its name shared (one `Arc<str>` per variant, made once) rather
/// than allocated for every field as [`enum_value`] does.
pub fn enum_name<T: EnumType + Copy + Send + Sync>(
    value: T,
    names: &'static OnceLock<Box<[(T, Name)]>>,
) -> Value {
    let names = names.get_or_init(|| {
        T::items()
            .iter()
            .map(|item| (item.value, Name::new(item.name)))
            .collect()
    });
    names
        .iter()
        .find(|(v, _)| *v == value)
        .map_or_else(|| enum_value(value), |(_, name)| Value::Enum(name.clone()))
}

/// A string, or null.
pub fn string(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::String(s.to_owned()))
}

/// An integer, or null; `None` (give up: the resolvers answer with an error) beyond GraphQL's
/// 32-bit `Int`.
pub fn int(n: Option<i64>) -> Option<Value> {
    match n {
        None => Some(Value::Null),
        Some(n) => i32::try_from(n).ok().map(|n| Value::Number(n.into())),
    }
}

/// A timestamp, served normalised; `None` (give up) when it does not parse.
pub fn time(raw: Option<&str>) -> Option<Value> {
    Some(
        timestamp(raw)
            .ok()?
            .map_or(Value::Null, |t| Value::String(t.into_string())),
    )
}

/// Writes a string, or null.
pub fn write_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => write_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// Writes an integer, or null; `None` (give up) beyond GraphQL's 32-bit `Int`, as [`int`].
pub fn write_int(out: &mut Vec<u8>, n: Option<i64>) -> Option<()> {
    match n {
        None => out.extend_from_slice(b"null"),
        Some(n) => {
            let n = i32::try_from(n).ok()?;
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        }
    }
    Some(())
}

/// Writes an `envOverride` as the JSON object the resolvers answer, or null; `None` (give up)
/// when it is unreadable. serde_json writes the map as async-graphql's `Json` scalar would
/// (the same keys in the same order, the same escaping) without building a `Value` of it, and
/// an object is not copied first (the `Value` path was 7 % of the peers' query).
pub fn write_env(out: &mut Vec<u8>, env: Option<&blaxel_models::EnvOverride>) -> Option<()> {
    match env {
        None => out.extend_from_slice(b"null"),
        Some(blaxel_models::EnvOverride(serde_json::Value::Object(vars))) => {
            serde_json::to_writer(&mut *out, vars).ok()?;
        }
        Some(env) => serde_json::to_writer(&mut *out, &env.vars().ok()?).ok()?,
    }
    Some(())
}

/// Writes a timestamp, normalised, or null; `None` (give up) when it does not parse.
pub fn write_time(out: &mut Vec<u8>, raw: Option<&str>) -> Option<()> {
    // The usual form is written as it came: digits, `-`, `:`, `T` and `Z` need no escaping.
    if let Some(raw) = raw.filter(|raw| blaxel_models::is_canonical_timestamp(raw)) {
        out.reserve(raw.len() + 2);
        out.push(b'"');
        out.extend_from_slice(raw.as_bytes());
        out.push(b'"');
        return Some(());
    }
    match timestamp(raw).ok()? {
        Some(t) => write_str(out, &t.into_string()),
        None => out.extend_from_slice(b"null"),
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_graphql::Request;
    use axum::body::Body;
    use blaxel_models::{
        ExecutionProjection, JobExecution as Model, Page, PageSeed, PaginationSort,
    };
    use blaxel_transport::{Client, ClientConfig, Credentials, ListExecutionsRequest};
    use proptest::prelude::*;
    use serde::de::DeserializeSeed as _;
    use tower::ServiceExt as _;

    use super::{DirectJson, UseWalk};
    use crate::{
        AppState, Caller, Limits,
        loader::{ExecutionsPage, RequestLoader},
    };

    const JOB: &str = "data-processing-job";

    /// The object types of an execution and their fields: `(name, object type or "")`.
    const TYPES: &[(&str, &[(&str, &str)])] = &[
        (
            "JobExecution",
            &[
                ("id", ""),
                ("__typename", ""),
                ("metadata", "JobExecutionMetadata"),
                ("spec", "JobExecutionSpec"),
                ("stats", "JobExecutionStats"),
                ("status", ""),
                ("statusRaw", ""),
                ("tasks", "JobExecutionTask"),
            ],
        ),
        (
            "JobExecutionMetadata",
            &[
                ("id", ""),
                ("job", ""),
                ("workspace", ""),
                ("cluster", ""),
                ("createdAt", ""),
                ("startedAt", ""),
                ("completedAt", ""),
                ("updatedAt", ""),
                ("deletedAt", ""),
                ("expiredAt", ""),
                ("__typename", ""),
            ],
        ),
        (
            "JobExecutionSpec",
            &[
                ("parallelism", ""),
                ("timeout", ""),
                ("memoryOverride", ""),
                ("taskCount", ""),
                ("envOverride", ""),
                ("tasks", "JobExecutionTask"),
            ],
        ),
        (
            "JobExecutionStats",
            &[
                ("cancelled", ""),
                ("failure", ""),
                ("retried", ""),
                ("running", ""),
                ("success", ""),
                ("total", ""),
            ],
        ),
        (
            "JobExecutionTask",
            &[
                ("conditions", "JobExecutionTaskCondition"),
                ("metadata", "JobExecutionTaskMetadata"),
                ("spec", "JobExecutionTaskSpec"),
                ("status", ""),
                ("statusRaw", ""),
            ],
        ),
        (
            "JobExecutionTaskCondition",
            &[
                ("executionReason", ""),
                ("message", ""),
                ("reason", ""),
                ("severity", ""),
                ("state", ""),
                ("type", ""),
            ],
        ),
        (
            "JobExecutionTaskMetadata",
            &[
                ("name", ""),
                ("createdAt", ""),
                ("scheduledAt", ""),
                ("startedAt", ""),
                ("completedAt", ""),
                ("updatedAt", ""),
            ],
        ),
        (
            "JobExecutionTaskSpec",
            &[("maxRetries", ""), ("timeout", "")],
        ),
    ];

    /// A deterministic stream of choices from a proptest seed (splitmix64).
    struct Choices(u64);

    impl Choices {
        fn next(&mut self, n: usize) -> usize {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) % n as u64) as usize
        }
    }

    /// A random valid selection set of `ty`: some of its fields, each maybe aliased (one alias
    /// per field name, so keys never conflict) and maybe selected twice (merged), some wrapped in
    /// an inline fragment on the type (or `Node` for executions).
    fn selection(ty: &str, choices: &mut Choices, depth: usize) -> String {
        let fields = TYPES.iter().find(|(name, _)| *name == ty).unwrap().1;
        let mut out = Vec::new();
        for _ in 0..1 + choices.next(fields.len() + 2) {
            let (name, sub) = fields[choices.next(fields.len())];
            if !sub.is_empty() && depth == 0 {
                continue;
            }
            let alias = if choices.next(3) == 0 && name != "__typename" {
                format!("a_{name}: ")
            } else {
                String::new()
            };
            let inner = if sub.is_empty() {
                String::new()
            } else {
                format!(" {{ {} }}", selection(sub, choices, depth - 1))
            };
            let field = format!("{alias}{name}{inner}");
            out.push(match choices.next(5) {
                0 if ty == "JobExecution" && name == "id" => format!("... on Node {{ {field} }}"),
                1 => format!("... on {ty} {{ {field} }}"),
                _ => field,
            });
        }
        if out.is_empty() {
            out.push("__typename".to_owned());
        }
        out.join(" ")
    }

    async fn seeded_page(limit: u32) -> Page<Model> {
        let (router, _emulator) = blaxel_emulator::router(blaxel_emulator::EmulatorConfig {
            executions_per_job: 200,
            ..Default::default()
        });
        let request = http::Request::get(format!("/v0/jobs/{JOB}/executions?limit={limit}"))
            .header("authorization", "Bearer dev-token")
            .header("blaxel-version", "2026-04-28")
            .body(Body::empty())
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    /// Runs `query` over a primed page of 20, with the walk on or off.
    struct Harness {
        state: AppState,
        client: Client,
        page: Page<Model>,
    }

    impl Harness {
        async fn new() -> Self {
            let client = Client::new(ClientConfig::new("http://127.0.0.1:9/v0")).unwrap();
            Self {
                state: AppState::new(client.clone(), Limits::default(), None),
                client,
                page: seeded_page(20).await,
            }
        }

        async fn run(&self, query: &str, walk: bool) -> String {
            let request = self.request(query).await.data(UseWalk(walk));
            serde_json::to_string(&self.state.schema().execute(request).await).unwrap()
        }

        /// As the HTTP face runs it: executions may come pre-encoded, and the answer is written
        /// by `json::write_response`. Also answers whether any execution came pre-encoded.
        async fn run_direct(&self, query: &str) -> (String, bool) {
            self.run_direct_over(query, self.page.clone()).await
        }

        /// [`Harness::run_direct`] over the page as the loaders of this query's request hold it:
        /// decoded from the upstream's JSON with the query's projection (the parts of each
        /// execution it cannot read dropped).
        async fn run_projected(&self, query: &str) -> String {
            let projection = crate::graphql::projection::of_document(query);
            let json = serde_json::to_string(&self.page).unwrap();
            let mut decoder = serde_json::Deserializer::from_str(&json);
            let page = PageSeed(projection).deserialize(&mut decoder).unwrap();
            self.run_direct_over(query, page).await.0
        }

        async fn run_direct_over(&self, query: &str, page: Page<Model>) -> (String, bool) {
            let request = self.request_over(query, page).await.data(DirectJson(true));
            let response = self.state.schema().execute(request).await;
            let mut out = Vec::new();
            crate::graphql::json::write_response(&mut out, &response).unwrap();
            (String::from_utf8(out).unwrap(), has_binary(&response.data))
        }

        async fn request(&self, query: &str) -> Request {
            self.request_over(query, self.page.clone()).await
        }

        async fn request_over(&self, query: &str, page: Page<Model>) -> Request {
            let loader = RequestLoader::new(
                self.client.clone(),
                Credentials::default(),
                8,
                100,
                None,
                ExecutionProjection::ALL,
            );
            let key = ExecutionsPage {
                job: JOB.to_owned(),
                request: ListExecutionsRequest {
                    limit: Some(20),
                    sort: Some(PaginationSort::CreatedAtDesc),
                    ..Default::default()
                },
            };
            loader.prime_executions_page(key, page).await;
            let caller = Caller {
                workspace: "my-workspace".into(),
                ..Caller::default()
            };
            Request::new(query).data(caller).data(Arc::new(loader))
        }
    }

    fn has_binary(value: &async_graphql::Value) -> bool {
        match value {
            async_graphql::Value::Binary(_) => true,
            async_graphql::Value::List(items) => items.iter().any(has_binary),
            async_graphql::Value::Object(map) => map.values().any(has_binary),
            _ => false,
        }
    }

    fn query(selection: &str) -> String {
        format!("{{ jobExecutions(jobName: \"{JOB}\", first: 20) {{ totalCount {selection} }} }}")
    }

    /// Hand-picked shapes: every field, fragments, interface spreads, merged keys.
    /// `envOverride` written straight is what the resolvers' `Json` value writes, for objects,
    /// strings holding one (whitespace, escapes, nesting, numbers), and gives up where they
    /// answer an error.
    #[test]
    fn env_override_is_written_as_the_json_scalar_writes_it() {
        use blaxel_models::EnvOverride;
        use serde_json::json;

        let readable = [
            json!({"B": "2", "A": "x\"y\\z\n\u{1}é", "C": {"n": [1, 2.5, -3, null, true]}}),
            json!({}),
            json!(" { \"Z\" : \"1\" , \"A\":\"\\u00e9\\n\"} "),
            json!("{\"A\":\"***\"}"),
            json!("{\"n\": 18446744073709551615, \"f\": 1.5e300}"),
        ];
        for value in readable {
            let env = EnvOverride(value.clone());
            let mut direct = Vec::new();
            super::write_env(&mut direct, Some(&env)).unwrap();
            let resolved = crate::graphql::fields::env_override(Some(&env))
                .unwrap()
                .unwrap();
            let mut via_value = Vec::new();
            crate::graphql::json::write_value(
                &mut via_value,
                &async_graphql::to_value(&resolved.0).unwrap(),
            )
            .unwrap();
            assert_eq!(
                String::from_utf8(direct).unwrap(),
                String::from_utf8(via_value).unwrap(),
                "{value}"
            );
        }
        for unreadable in [
            json!(3),
            json!(["a"]),
            json!("[1]"),
            json!("{"),
            json!("nope"),
            json!("{\"f\": 1e400}"),
        ] {
            let env = EnvOverride(unreadable.clone());
            assert!(crate::graphql::fields::env_override(Some(&env)).is_err());
            assert_eq!(
                super::write_env(&mut Vec::new(), Some(&env)),
                None,
                "{unreadable}"
            );
        }
        let mut out = Vec::new();
        super::write_env(&mut out, None).unwrap();
        assert_eq!(out, b"null");
    }

    #[tokio::test]
    async fn walk_answers_like_the_resolvers() {
        let harness = Harness::new().await;
        let execution = r#"
            fragment E on JobExecution {
              id __typename
              metadata { id job workspace cluster createdAt startedAt completedAt updatedAt deletedAt expiredAt }
              spec { parallelism timeout memoryOverride envOverride tasks { ...T } }
              stats { cancelled failure retried running success total }
              status statusRaw tasks { ...T }
            }
            fragment T on JobExecutionTask {
              conditions { executionReason message reason severity state type __typename }
              metadata { name createdAt scheduledAt startedAt completedAt updatedAt }
              spec { maxRetries timeout } status statusRaw
            }"#;
        let node = "fragment N on Node { id }";
        let selections = [
            "edges { cursor node { ...E } }",
            "nodes { ...E ...N }",
            "nodes { a: id b: metadata { x: id } metadata { job } ... on JobExecution { metadata { cluster } stats { total } } ... on Node { id } }",
            "nodes { tasks { status } tasks { metadata { name } conditions { type } } spec { tasks { spec { timeout } } } }",
            "edges { node { status } } edges { node { statusRaw id } }",
        ];
        for selection in selections {
            let mut query = query(selection);
            // Only the fragments used (unused ones fail validation).
            if selection.contains("...E") {
                query.push_str(execution);
            }
            if selection.contains("...N") {
                query.push_str(node);
            }
            let walked = harness.run(&query, true).await;
            let resolved = harness.run(&query, false).await;
            assert!(!walked.contains("\"errors\""), "{walked}");
            assert_eq!(walked, resolved, "{selection}");
            let (direct, encoded) = harness.run_direct(&query).await;
            assert_eq!(direct, walked, "{selection}");
            assert_eq!(harness.run_projected(&query).await, walked, "{selection}");
            // Pre-encoded unless a selection set repeats a response key.
            let repeats = ["...N", "metadata { job }", "} edges {", "tasks { metadata"]
                .iter()
                .any(|repeat| selection.contains(repeat));
            assert_eq!(encoded, !repeats, "{selection}");
        }
    }

    /// A count beyond GraphQL's 32-bit `Int` (an upstream that sends 2^40) is null with an error
    /// naming it, in the walk and in the resolvers alike; the other fields are intact.
    #[tokio::test]
    async fn counts_beyond_32_bits_are_null_with_an_error() {
        let mut harness = Harness::new().await;
        let big = 1_i64 << 40;
        harness.page.items[0]
            .stats
            .get_or_insert_with(Default::default)
            .total = Some(big);
        let query = query("nodes { metadata { id } stats { total success } }");
        for walk in [true, false] {
            let answer: serde_json::Value =
                serde_json::from_str(&harness.run(&query, walk).await).unwrap();
            assert_eq!(
                harness.run_direct(&query).await.0,
                harness.run(&query, walk).await,
                "the walk gives up on the count: the resolvers answer in both"
            );
            let first = &answer["data"]["jobExecutions"]["nodes"][0];
            assert!(first["stats"]["total"].is_null(), "{answer}");
            assert!(first["stats"]["success"].is_number(), "{answer}");
            assert!(first["metadata"]["id"].is_string());
            let error = &answer["errors"][0];
            assert_eq!(error["extensions"]["code"], "UPSTREAM_ERROR", "{answer}");
            assert!(
                error["message"]
                    .as_str()
                    .unwrap()
                    .contains(&big.to_string())
            );
            assert_eq!(
                error["path"],
                serde_json::json!(["jobExecutions", "nodes", 0, "stats", "total"])
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Any selection of an execution's fields (aliases, repeats, inline fragments on the
        /// type and on `Node`, nesting) is answered byte for byte alike by the walk and by the
        /// async-graphql resolvers, which both come from one field list, and over a page
        /// decoded with the query's projection (what its loaders hold) as over the whole page.
        #[test]
        fn walk_equals_resolvers_on_generated_selections(seed in any::<u64>()) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let (walked, resolved, direct, projected, query) = runtime.block_on(async {
                let harness = Harness::new().await;
                let mut choices = Choices(seed);
                let query = query(&format!("nodes {{ {} }}", selection("JobExecution", &mut choices, 3)));
                let direct = harness.run_direct(&query).await.0;
                let projected = harness.run_projected(&query).await;
                (harness.run(&query, true).await, harness.run(&query, false).await, direct, projected, query)
            });
            prop_assert!(!walked.contains("\"errors\""), "{} -> {}", query, walked);
            prop_assert_eq!(&walked, &resolved, "{}", query);
            prop_assert_eq!(&direct, &walked, "{}", query);
            prop_assert_eq!(&projected, &walked, "{}", query);
        }
    }
}
