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
//! `JobExecution` or `Node`, and merges repeated response keys as async-graphql does. Anything
//! else (a directive left on a selection, a timestamp that does not parse, an `envOverride` that
//! is not an object) makes it give up, and the ordinary resolvers of [`JobExecution`] answer
//! instead, with their errors and paths. Both give the same answer: the tests compare them.

use std::{borrow::Cow, cell::RefCell, collections::HashMap, sync::OnceLock};

use async_graphql::{
    ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value,
    indexmap::{IndexMap, map::Entry},
    parser::types::{Field, FragmentDefinition, Selection, SelectionSet},
    registry::Registry,
    resolver_utils::{EnumType, enum_value},
};
use blaxel_models as models;

use super::{
    execution::{JobExecution, JobExecutionStatus, JobExecutionTaskStatus},
    scalars::timestamp,
};

/// A `JobExecution` in a connection: the same GraphQL type, resolved by one synchronous walk.
#[derive(Clone)]
pub struct ExecutionNode(pub JobExecution);

/// True to use the synchronous walk (tests turn it off to compare both).
#[derive(Debug, Clone, Copy)]
pub struct PlainResolve(pub bool);

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
        let enabled = ctx.data_opt::<PlainResolve>().is_none_or(|switch| switch.0);
        if enabled {
            let walk = Walk {
                fragments: &ctx.query_env.fragments,
                widths: RefCell::default(),
            };
            if let Some(value) = walk.object(&self.0, &ctx.item.node) {
                return Ok(value);
            }
        }
        self.0.resolve(ctx, field).await
    }
}

/// Fragments of the operation, for spreads.
struct Walk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    /// How many fields each selection set walked so far selects, fragments expanded, by the
    /// set's address (the document outlives the walk): the capacity of its objects, so that
    /// `{ ...Fragment }` does not grow its map field by field.
    widths: RefCell<Vec<(usize, usize)>>,
}

/// A model type the walk can answer: its GraphQL name and plain field reads.
trait Plain {
    /// GraphQL type name (`__typename`).
    const TYPE: &'static str;
    /// Type conditions that match it (itself, and its interfaces).
    fn matches(condition: &str) -> bool {
        condition == Self::TYPE
    }
    /// The value of field `name` with sub-selection `set`; `None` gives up.
    fn field(&self, walk: &Walk<'_>, name: &str, set: &SelectionSet) -> Option<Value>;
}

impl Walk<'_> {
    fn object<T: Plain>(&self, value: &T, set: &SelectionSet) -> Option<Value> {
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

    fn collect<T: Plain>(
        &self,
        value: &T,
        set: &SelectionSet,
        out: &mut IndexMap<Name, Value>,
    ) -> Option<()> {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    if !field.directives.is_empty() || !field.arguments.is_empty() {
                        return None;
                    }
                    let name = field.name.node.as_str();
                    let v = if name == "__typename" {
                        Value::String(T::TYPE.to_owned())
                    } else {
                        value.field(self, name, &field.selection_set.node)?
                    };
                    insert(out, field.response_key().node.clone(), v);
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
                    self.collect(value, &fragment.selection_set.node, out)?;
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
                    self.collect(value, &inline.selection_set.node, out)?;
                }
            }
        }
        Some(())
    }

    fn optional<T: Plain>(&self, value: Option<&T>, set: &SelectionSet) -> Option<Value> {
        match value {
            Some(v) => self.object(v, set),
            None => Some(Value::Null),
        }
    }

    fn list<'t, T: Plain + 't>(
        &self,
        items: impl IntoIterator<Item = &'t T>,
        set: &SelectionSet,
    ) -> Option<Value> {
        items
            .into_iter()
            .map(|item| self.object(item, set))
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
fn enum_name<T: EnumType + Copy + Send + Sync>(
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

fn string(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::String(s.to_owned()))
}

fn int(n: Option<i64>) -> Value {
    n.map_or(Value::Null, |n| Value::Number(n.into()))
}

/// A timestamp, served normalised; `None` (give up) when it does not parse.
fn time(raw: Option<&str>) -> Option<Value> {
    Some(
        timestamp(raw)
            .ok()?
            .map_or(Value::Null, |t| Value::String(t.into_string())),
    )
}

impl Plain for JobExecution {
    const TYPE: &'static str = "JobExecution";

    fn matches(condition: &str) -> bool {
        condition == Self::TYPE || condition == "Node"
    }

    fn field(&self, walk: &Walk<'_>, name: &str, set: &SelectionSet) -> Option<Value> {
        let m = self.model();
        Some(match name {
            "id" => Value::String(self.global_id().0),
            "metadata" => walk.object(&m.metadata, set)?,
            "spec" => walk.object(&m.spec, set)?,
            "stats" => walk.optional(m.stats.as_ref(), set)?,
            "status" => m.status.as_ref().map_or(Value::Null, |s| {
                static NAMES: OnceLock<Box<[(JobExecutionStatus, Name)]>> = OnceLock::new();
                enum_name(JobExecutionStatus::from(s), &NAMES)
            }),
            "statusRaw" => string(m.status.as_ref().map(|s| s.as_str())),
            "tasks" => walk.list(&m.tasks, set)?,
            _ => return None,
        })
    }
}

impl Plain for models::JobExecutionMetadata {
    const TYPE: &'static str = "JobExecutionMetadata";

    fn field(&self, _: &Walk<'_>, name: &str, _: &SelectionSet) -> Option<Value> {
        Some(match name {
            "id" => string(self.id.as_deref()),
            "job" => string(self.job.as_deref()),
            "workspace" => string(self.workspace.as_deref()),
            "cluster" => string(self.cluster.as_deref()),
            "createdAt" => time(self.created_at.as_deref())?,
            "startedAt" => time(self.started_at.as_deref())?,
            "completedAt" => time(self.completed_at.as_deref())?,
            "updatedAt" => time(self.updated_at.as_deref())?,
            "deletedAt" => time(self.deleted_at.as_deref())?,
            "expiredAt" => time(self.expired_at.as_deref())?,
            _ => return None,
        })
    }
}

impl Plain for models::JobExecutionSpec {
    const TYPE: &'static str = "JobExecutionSpec";

    fn field(&self, walk: &Walk<'_>, name: &str, set: &SelectionSet) -> Option<Value> {
        Some(match name {
            "parallelism" => int(self.parallelism),
            "timeout" => int(self.timeout),
            "memoryOverride" => int(self.memory_override),
            "envOverride" => match &self.env_override {
                None => Value::Null,
                Some(env) => async_graphql::to_value(env.vars().ok()?).ok()?,
            },
            "tasks" => walk.list(&self.tasks, set)?,
            _ => return None,
        })
    }
}

impl Plain for models::JobExecutionStats {
    const TYPE: &'static str = "JobExecutionStats";

    fn field(&self, _: &Walk<'_>, name: &str, _: &SelectionSet) -> Option<Value> {
        Some(match name {
            "cancelled" => int(self.cancelled),
            "failure" => int(self.failure),
            "retried" => int(self.retried),
            "running" => int(self.running),
            "success" => int(self.success),
            "total" => int(self.total),
            _ => return None,
        })
    }
}

impl Plain for models::JobExecutionTask {
    const TYPE: &'static str = "JobExecutionTask";

    fn field(&self, walk: &Walk<'_>, name: &str, set: &SelectionSet) -> Option<Value> {
        Some(match name {
            "conditions" => walk.list(&self.conditions, set)?,
            "metadata" => walk.optional(self.metadata.as_ref(), set)?,
            "spec" => walk.optional(self.spec.as_ref(), set)?,
            "status" => self.status.as_ref().map_or(Value::Null, |s| {
                static NAMES: OnceLock<Box<[(JobExecutionTaskStatus, Name)]>> = OnceLock::new();
                enum_name(JobExecutionTaskStatus::from(s), &NAMES)
            }),
            "statusRaw" => string(self.status.as_ref().map(|s| s.as_str())),
            _ => return None,
        })
    }
}

impl Plain for models::JobExecutionTaskCondition {
    const TYPE: &'static str = "JobExecutionTaskCondition";

    fn field(&self, _: &Walk<'_>, name: &str, _: &SelectionSet) -> Option<Value> {
        Some(match name {
            "executionReason" => string(self.execution_reason.as_deref()),
            "message" => string(self.message.as_deref()),
            "reason" => string(self.reason.as_deref()),
            "severity" => string(self.severity.as_deref()),
            "state" => string(self.state.as_deref()),
            "type" => string(self.type_.as_deref()),
            _ => return None,
        })
    }
}

impl Plain for models::JobExecutionTaskMetadata {
    const TYPE: &'static str = "JobExecutionTaskMetadata";

    fn field(&self, _: &Walk<'_>, name: &str, _: &SelectionSet) -> Option<Value> {
        Some(match name {
            "name" => string(self.name.as_deref()),
            "createdAt" => time(self.created_at.as_deref())?,
            "scheduledAt" => time(self.scheduled_at.as_deref())?,
            "startedAt" => time(self.started_at.as_deref())?,
            "completedAt" => time(self.completed_at.as_deref())?,
            "updatedAt" => time(self.updated_at.as_deref())?,
            _ => return None,
        })
    }
}

impl Plain for models::JobExecutionTaskSpec {
    const TYPE: &'static str = "JobExecutionTaskSpec";

    fn field(&self, _: &Walk<'_>, name: &str, _: &SelectionSet) -> Option<Value> {
        Some(match name {
            "maxRetries" => int(self.max_retries),
            "timeout" => string(self.timeout.as_deref()),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_graphql::Request;
    use axum::body::Body;
    use blaxel_models::{JobExecution as Model, Page, PaginationSort};
    use blaxel_transport::{Client, ClientConfig, Credentials};
    use tower::ServiceExt as _;

    use super::PlainResolve;
    use crate::{
        AppState, Limits,
        loader::{ExecutionsKey, RequestContext, UpstreamLoader},
        pagination::PageRequest,
    };

    const JOB: &str = "data-processing-job";

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

    /// The synchronous walk and async-graphql's resolvers give the same answer, byte for byte.
    #[tokio::test]
    async fn plain_walk_answers_like_the_resolvers() {
        let page = seeded_page(20).await;
        let client = Client::new(ClientConfig::new("http://127.0.0.1:9/v0")).unwrap();
        let state = AppState::new(client.clone(), Limits::default(), None);
        let run = |query: String, plain: bool| {
            let loader =
                UpstreamLoader::new(client.clone(), Credentials::default(), 8).into_dataloader();
            loader.prime_executions(
                ExecutionsKey {
                    job: JOB.to_owned(),
                    sort: PaginationSort::CreatedAtDesc,
                    query: String::new(),
                    page: PageRequest {
                        cursor: None,
                        limit: 20,
                        offset: None,
                    },
                },
                page.clone(),
            );
            let request = Request::new(query)
                .data(RequestContext {
                    credentials: Credentials::default(),
                    workspace: String::new(),
                    legacy: false,
                })
                .data(Arc::new(loader))
                .data(PlainResolve(plain));
            let schema = state.schema().clone();
            async move { serde_json::to_string(&schema.execute(request).await).unwrap() }
        };
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
            let mut query = format!(
                "{{ jobExecutions(jobName: \"{JOB}\", first: 20) {{ totalCount {selection} }} }}"
            );
            // Only the fragments used (unused ones fail validation).
            if selection.contains("...E") {
                query.push_str(execution);
            }
            if selection.contains("...N") {
                query.push_str(node);
            }
            let plain = run(query.clone(), true).await;
            let resolvers = run(query, false).await;
            assert!(!plain.contains("\"errors\""), "{plain}");
            assert_eq!(plain, resolvers, "{selection}");
        }
    }
}
