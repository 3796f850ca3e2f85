//! A `ListJobExecutions` page read from simd-json's tape instead of serde_json's visitors, for
//! the bodies where the two cannot differ; serde_json reads every other body.
//!
//! Reading the every-field page of 20 (58 kB, about 5,900 values) into the transcode view was
//! 1.65 M of a gRPC call's 2.47 M instructions, most of it serde's visitor machinery (a key
//! matched, an `Option` visited, a value dispatched for every field). simd-json indexes the body
//! with SIMD into a flat tape of values (`Node`s, each object or array knowing its extent), and
//! this module walks that tape into the same view types ([`super::transcode`]'s `view`), which
//! the same `encode` writes: the bytes are the ones the serde path writes.
//!
//! The tape is trusted only where it reads as serde_json reads, and the body goes to serde_json
//! otherwise (`None` below), which answers the value or the exact error:
//! - a body holding a backslash: simd-json decodes a lone surrogate escape (`"\ud800"`) into
//!   garbage where serde_json refuses it, so strings are taken only when none is escaped;
//! - a number that is not an integer within `i64` (a float, `-0`: serde_json reads `-0` as the
//!   float -0.0, simd-json as the integer 0, the only `I64(0)` it makes);
//! - a known field that is not of its plain JSON type or comes twice (the model refuses a wrong
//!   type and a repeated field; serde reads a struct written as an array by position), and any
//!   `envOverride` other than null, a string or an object of strings, integers, booleans and
//!   nulls;
//! - anything simd-json itself refuses (bad JSON, trailing data, integers beyond `u64`);
//! - a body over 2 MiB (the tape costs about five times the body; serde_json reads in place).

use std::{borrow::Cow, cell::RefCell};

use blaxel_models::{EnvOverride, Page, PageSeed, PaginationMeta};
use blaxel_transport::{Decode, Json};
use simd_json::{Node, StaticNode};

use super::transcode::{
    EncodedExecution, ExecutionSeed,
    view::{
        JobExecution, JobExecutionMetadata, JobExecutionSpec, JobExecutionStats, JobExecutionTask,
        JobExecutionTaskCondition, JobExecutionTaskMetadata, JobExecutionTaskSpec,
    },
};

/// Reads a `ListJobExecutions` body into encoded executions: from the tape when it can vouch
/// for the result, else as [`Json`]`(PageSeed(ExecutionSeed))` (the same value, or the same
/// error).
#[derive(Debug, Clone, Copy, Default)]
pub struct EncodedPageDecoder;

impl Decode for EncodedPageDecoder {
    type Value = Page<EncodedExecution>;

    /// A page's read is long (about 100 µs for 20 executions with every field).
    const YIELD_FIRST: bool = true;

    fn decode(self, body: &[u8]) -> serde_json::Result<Self::Value> {
        match read(body) {
            Some(page) => Ok(page),
            None => Json(PageSeed(ExecutionSeed)).decode(body),
        }
    }
}

/// Bodies up to this size reuse the thread's parse buffers (three of about the body's size);
/// larger ones get their own, so a thread never keeps more than this for a rare huge page.
const REUSED_UP_TO: usize = 256 * 1024;

/// Bodies above this size go to serde_json, which reads them in place: the tape holds the body's
/// copy, simd-json's buffers and 24 bytes per value, about five times the body, where a page of
/// 100 executions with every field is about 300 kB.
const READ_UP_TO: usize = 2 * 1024 * 1024;

thread_local! {
    /// simd-json's working buffers and the body's mutable copy (it writes strings in place).
    static SCRATCH: RefCell<(simd_json::Buffers, Vec<u8>)> =
        RefCell::new((simd_json::Buffers::default(), Vec::new()));
}

/// The page in `body`, or `None` when serde_json must read it (see the module's list).
pub fn read(body: &[u8]) -> Option<Page<EncodedExecution>> {
    if body.len() > READ_UP_TO || memchr::memchr(b'\\', body).is_some() {
        return None;
    }
    if body.len() > REUSED_UP_TO {
        let mut input = body.to_vec();
        let mut buffers = simd_json::Buffers::new(body.len());
        return page(
            &simd_json::to_tape_with_buffers(&mut input, &mut buffers)
                .ok()?
                .0,
        );
    }
    SCRATCH.with(|scratch| {
        // Not re-entered: nothing below reads another page.
        let mut scratch = scratch.try_borrow_mut().ok()?;
        let (buffers, input) = &mut *scratch;
        input.clear();
        input.extend_from_slice(body);
        let tape = simd_json::to_tape_with_buffers(input, buffers).ok()?;
        page(&tape.0)
    })
}

/// A value: its node and, for an object or array, every node inside it.
type Value<'t, 'i> = &'t [Node<'i>];

/// The nodes a value spans, from its first.
fn extent(first: &Node<'_>) -> usize {
    match first {
        Node::Object { count, .. } | Node::Array { count, .. } => count + 1,
        _ => 1,
    }
}

/// The fields of an object, in order (repeated keys included).
struct Fields<'t, 'i> {
    rest: &'t [Node<'i>],
    left: usize,
}

impl<'t, 'i> Iterator for Fields<'t, 'i> {
    type Item = (&'i str, Value<'t, 'i>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (Node::String(key), Some(first)) = (self.rest.first()?, self.rest.get(1)) else {
            return None;
        };
        let end = 1 + extent(first);
        let value = self.rest.get(1..end)?;
        self.rest = &self.rest[end..];
        Some((*key, value))
    }
}

/// The elements of an array, in order.
struct Elements<'t, 'i> {
    rest: &'t [Node<'i>],
    left: usize,
}

impl<'t, 'i> Iterator for Elements<'t, 'i> {
    type Item = Value<'t, 'i>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let end = extent(self.rest.first()?);
        let value = self.rest.get(..end)?;
        self.rest = &self.rest[end..];
        Some(value)
    }
}

fn object<'t, 'i>(v: Value<'t, 'i>) -> Option<Fields<'t, 'i>> {
    match v.first()? {
        Node::Object { len, .. } => Some(Fields {
            rest: &v[1..],
            left: *len,
        }),
        _ => None,
    }
}

fn array<'t, 'i>(v: Value<'t, 'i>) -> Option<Elements<'t, 'i>> {
    match v.first()? {
        Node::Array { len, .. } => Some(Elements {
            rest: &v[1..],
            left: *len,
        }),
        _ => None,
    }
}

fn is_null(v: Value<'_, '_>) -> bool {
    matches!(v.first(), Some(Node::Static(StaticNode::Null)))
}

/// The fields of one struct seen so far: a second of the same is serde's `duplicate field`.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    fn first(&mut self, field: u32) -> Option<()> {
        let bit = 1 << field;
        (self.0 & bit == 0).then(|| self.0 |= bit)
    }
}

/// An `Option<Cow<str>>` field: a string or null.
fn text<'i>(v: Value<'_, 'i>) -> Option<Option<Cow<'i, str>>> {
    match v.first()? {
        Node::String(s) => Some(Some(Cow::Borrowed(*s))),
        Node::Static(StaticNode::Null) => Some(None),
        _ => None,
    }
}

/// An `Option<i64>` field: an integer within `i64` (never `-0`, see the module) or null.
fn int(v: Value<'_, '_>) -> Option<Option<i64>> {
    match v.first()? {
        Node::Static(StaticNode::I64(n)) if *n != 0 => Some(Some(*n)),
        Node::Static(StaticNode::U64(n)) => i64::try_from(*n).ok().map(Some),
        Node::Static(StaticNode::Null) => Some(None),
        _ => None,
    }
}

/// An `Option<bool>` field.
fn flag(v: Value<'_, '_>) -> Option<Option<bool>> {
    match v.first()? {
        Node::Static(StaticNode::Bool(b)) => Some(Some(*b)),
        Node::Static(StaticNode::Null) => Some(None),
        _ => None,
    }
}

/// An optional list (`#[serde(default)] Option<Vec<T>>`): null or an array, each element
/// filled by `fill`.
fn list<'i, T: Default>(
    v: Value<'_, 'i>,
    fill: impl Fn(Value<'_, 'i>, &mut T) -> Option<()>,
) -> Option<Option<Vec<T>>> {
    if is_null(v) {
        return Some(None);
    }
    collect(array(v)?, fill).map(Some)
}

/// Most elements [`collect`] makes room for before reading them: an array of a million
/// scalars fits in a 2 MiB body, and its first element may already be refused.
const COLLECT_UP_FRONT: usize = 256;

/// Each element as `fill` fills a default `T` in its place in the `Vec`, which is allocated
/// once for the array's length up to [`COLLECT_UP_FRONT`]. Filled in place, a view is never
/// moved: a task's view is about 230 bytes, and returning views by value moved each two or
/// three times (4 % of a call's cycles in `memmove`).
fn collect<'i, T: Default>(
    elements: Elements<'_, 'i>,
    fill: impl Fn(Value<'_, 'i>, &mut T) -> Option<()>,
) -> Option<Vec<T>> {
    let mut items = Vec::with_capacity(elements.left.min(COLLECT_UP_FRONT));
    for element in elements {
        let at = items.len();
        items.push(T::default());
        fill(element, &mut items[at])?;
    }
    Some(items)
}

/// An optional struct: null, or the object as `fill` fills a default `T` in `slot`.
fn optional<'i, T: Default>(
    v: Value<'_, 'i>,
    slot: &mut Option<T>,
    fill: impl Fn(Value<'_, 'i>, &mut T) -> Option<()>,
) -> Option<()> {
    if is_null(v) {
        *slot = None;
        Some(())
    } else {
        fill(v, slot.insert(T::default()))
    }
}

/// `PageVisitor`: the `{data, meta}` envelope or the bare array.
fn page(tape: &[Node<'_>]) -> Option<Page<EncodedExecution>> {
    if let Some(items) = array(tape) {
        let items = collect(items, encoded)?;
        return Some(Page { items, meta: None });
    }
    let mut seen = Seen::default();
    let (mut items, mut meta) = (None, None);
    for (key, v) in object(tape)? {
        match key {
            "data" => (seen.first(0)?, items = list(v, encoded)?),
            "meta" => (seen.first(1)?, optional(v, &mut meta, pagination)?),
            _ => ((), ()),
        };
    }
    Some(Page {
        items: items.unwrap_or_default(),
        meta: Some(meta.unwrap_or_default()),
    })
}

/// One execution of the page, written as protobuf by the transcode view's encoder.
fn encoded(v: Value<'_, '_>, out: &mut EncodedExecution) -> Option<()> {
    *out = execution(v)?.encode();
    Some(())
}

fn pagination(v: Value<'_, '_>, meta: &mut PaginationMeta) -> Option<()> {
    let mut seen = Seen::default();
    for (key, v) in object(v)? {
        match key {
            "hasMore" => (seen.first(0)?, meta.has_more = flag(v)?),
            "nextCursor" => (
                seen.first(1)?,
                meta.next_cursor = text(v)?.map(Cow::into_owned),
            ),
            "total" => (seen.first(2)?, meta.total = int(v)?),
            "totalIsPartial" => (seen.first(3)?, meta.total_is_partial = flag(v)?),
            _ => ((), ()),
        };
    }
    Some(())
}

fn execution<'i>(v: Value<'_, 'i>) -> Option<JobExecution<'i>> {
    let mut seen = Seen::default();
    let (mut metadata, mut spec, mut stats, mut status, mut tasks) = (None, None, None, None, None);
    for (key, v) in object(v)? {
        match key {
            "metadata" => (
                seen.first(0)?,
                execution_metadata(v, metadata.insert(Default::default()))?,
            ),
            "spec" => (
                seen.first(1)?,
                execution_spec(v, spec.insert(Default::default()))?,
            ),
            "stats" => (seen.first(2)?, optional(v, &mut stats, execution_stats)?),
            "status" => (seen.first(3)?, status = text(v)?),
            "tasks" => (seen.first(4)?, tasks = list(v, task)?),
            _ => ((), ()),
        };
    }
    Some(JobExecution {
        metadata: metadata?,
        spec: spec?,
        stats,
        status,
        tasks,
    })
}

fn execution_metadata<'i>(v: Value<'_, 'i>, m: &mut JobExecutionMetadata<'i>) -> Option<()> {
    let mut seen = Seen::default();
    for (key, v) in object(v)? {
        match key {
            "cluster" => (seen.first(0)?, m.cluster = text(v)?),
            "completedAt" => (seen.first(1)?, m.completed_at = text(v)?),
            "createdAt" => (seen.first(2)?, m.created_at = text(v)?),
            "deletedAt" => (seen.first(3)?, m.deleted_at = text(v)?),
            "expiredAt" => (seen.first(4)?, m.expired_at = text(v)?),
            "id" => (seen.first(5)?, m.id = text(v)?),
            "job" => (seen.first(6)?, m.job = text(v)?),
            "startedAt" => (seen.first(7)?, m.started_at = text(v)?),
            "updatedAt" => (seen.first(8)?, m.updated_at = text(v)?),
            "workspace" => (seen.first(9)?, m.workspace = text(v)?),
            _ => ((), ()),
        };
    }
    Some(())
}

fn execution_spec<'i>(v: Value<'_, 'i>, s: &mut JobExecutionSpec<'i>) -> Option<()> {
    let mut seen = Seen::default();
    for (key, v) in object(v)? {
        match key {
            "envOverride" => (seen.first(0)?, s.env_override = env_override(v)?),
            "memoryOverride" => (seen.first(1)?, s.memory_override = int(v)?),
            "parallelism" => (seen.first(2)?, s.parallelism = int(v)?),
            "taskCount" => (seen.first(3)?, s.task_count = int(v)?),
            "tasks" => (seen.first(4)?, s.tasks = list(v, task)?),
            "tasksRef" => (seen.first(5)?, s.tasks_ref = text(v)?),
            "timeout" => (seen.first(6)?, s.timeout = int(v)?),
            _ => ((), ()),
        };
    }
    Some(())
}

/// `envOverride` as serde_json reads it into a `Value`, for the forms whose reading cannot
/// differ: null, a string, an object of strings, integers, booleans and nulls (a repeated key:
/// the last, as serde_json's map keeps it).
fn env_override(v: Value<'_, '_>) -> Option<Option<EnvOverride>> {
    use serde_json::Value as Json;
    let scalar = |node: &Node<'_>| match node {
        Node::String(s) => Some(Json::String((*s).to_owned())),
        Node::Static(StaticNode::Null) => Some(Json::Null),
        Node::Static(StaticNode::Bool(b)) => Some(Json::Bool(*b)),
        Node::Static(StaticNode::I64(n)) if *n != 0 => Some(Json::from(*n)),
        Node::Static(StaticNode::U64(n)) => Some(Json::from(*n)),
        _ => None,
    };
    match v.first()? {
        Node::Static(StaticNode::Null) => Some(None),
        Node::String(_) => Some(Some(EnvOverride(scalar(v.first()?)?))),
        Node::Object { .. } => {
            let mut map = serde_json::Map::new();
            for (key, value) in object(v)? {
                let [node] = value else { return None };
                map.insert(key.to_owned(), scalar(node)?);
            }
            Some(Some(EnvOverride(Json::Object(map))))
        }
        _ => None,
    }
}

fn execution_stats(v: Value<'_, '_>, s: &mut JobExecutionStats) -> Option<()> {
    let mut seen = Seen::default();
    for (key, v) in object(v)? {
        match key {
            "cancelled" => (seen.first(0)?, s.cancelled = int(v)?),
            "failure" => (seen.first(1)?, s.failure = int(v)?),
            "retried" => (seen.first(2)?, s.retried = int(v)?),
            "running" => (seen.first(3)?, s.running = int(v)?),
            "success" => (seen.first(4)?, s.success = int(v)?),
            "total" => (seen.first(5)?, s.total = int(v)?),
            _ => ((), ()),
        };
    }
    Some(())
}

fn task<'i>(v: Value<'_, 'i>, t: &mut JobExecutionTask<'i>) -> Option<()> {
    let mut seen = Seen::default();
    for (key, v) in object(v)? {
        match key {
            "conditions" => (seen.first(0)?, t.conditions = list(v, condition)?),
            "metadata" => (seen.first(1)?, optional(v, &mut t.metadata, task_metadata)?),
            "spec" => (seen.first(2)?, optional(v, &mut t.spec, task_spec)?),
            "status" => (seen.first(3)?, t.status = text(v)?),
            _ => ((), ()),
        };
    }
    Some(())
}

fn task_metadata<'i>(v: Value<'_, 'i>, m: &mut JobExecutionTaskMetadata<'i>) -> Option<()> {
    let mut seen = Seen::default();
    for (key, v) in object(v)? {
        match key {
            "completedAt" => (seen.first(0)?, m.completed_at = text(v)?),
            "createdAt" => (seen.first(1)?, m.created_at = text(v)?),
            "name" => (seen.first(2)?, m.name = text(v)?),
            "scheduledAt" => (seen.first(3)?, m.scheduled_at = text(v)?),
            "startedAt" => (seen.first(4)?, m.started_at = text(v)?),
            "updatedAt" => (seen.first(5)?, m.updated_at = text(v)?),
            _ => ((), ()),
        };
    }
    Some(())
}

fn task_spec<'i>(v: Value<'_, 'i>, s: &mut JobExecutionTaskSpec<'i>) -> Option<()> {
    let mut seen = Seen::default();
    for (key, v) in object(v)? {
        match key {
            "maxRetries" => (seen.first(0)?, s.max_retries = int(v)?),
            "timeout" => (seen.first(1)?, s.timeout = text(v)?),
            _ => ((), ()),
        };
    }
    Some(())
}

fn condition<'i>(v: Value<'_, 'i>, c: &mut JobExecutionTaskCondition<'i>) -> Option<()> {
    let mut seen = Seen::default();
    for (key, v) in object(v)? {
        match key {
            "executionReason" => (seen.first(0)?, c.execution_reason = text(v)?),
            "message" => (seen.first(1)?, c.message = text(v)?),
            "reason" => (seen.first(2)?, c.reason = text(v)?),
            "severity" => (seen.first(3)?, c.severity = text(v)?),
            "state" => (seen.first(4)?, c.state = text(v)?),
            "type" => (seen.first(5)?, c.type_ = text(v)?),
            _ => ((), ()),
        };
    }
    Some(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// What the serde path answers for `body`: the page, or the error's text.
    fn serde_path(body: &[u8]) -> Result<Page<EncodedExecution>, String> {
        Json(PageSeed(ExecutionSeed))
            .decode(body)
            .map_err(|e| e.to_string())
    }

    /// Asserts the tape reads `body` as serde_json does, or leaves it to serde_json; returns
    /// whether the tape read it.
    pub(in crate::grpc) fn assert_page_same(body: &[u8]) -> bool {
        let expected = serde_path(body);
        let text = String::from_utf8_lossy(body);
        match read(body) {
            Some(page) => {
                assert_eq!(Ok(&page), expected.as_ref(), "{text}");
                assert_eq!(EncodedPageDecoder.decode(body).ok(), Some(page), "{text}");
                true
            }
            None => {
                let decoded = EncodedPageDecoder.decode(body).map_err(|e| e.to_string());
                assert_eq!(decoded, expected, "{text}");
                false
            }
        }
    }

    const EXECUTION: &str = r#"{"metadata":{"id":"e1","job":"j","createdAt":"2026-05-31T23:59:20Z"},"spec":{"parallelism":2,"envOverride":{"A":"1","N":5,"M":-3,"B":true,"Z":null,"A":"2"}},"stats":{"total":3},"status":"running","tasks":[{"metadata":{"name":"t0"},"spec":{"maxRetries":1,"timeout":"1h"},"conditions":[{"type":"Ready","state":"True"}],"status":"running"}]}"#;

    #[test]
    fn envelopes_and_bare_arrays_read_as_serde_reads_them() {
        let e = EXECUTION;
        for (body, taken) in [
            (format!("[{e}]"), true),
            (format!("[{e},{e}]"), true),
            ("[]".to_owned(), true),
            (
                format!(
                    r#"{{"data":[{e}],"meta":{{"hasMore":true,"nextCursor":"c1","total":9,"totalIsPartial":false}}}}"#
                ),
                true,
            ),
            (
                format!(r#"{{"meta":{{"total":1}},"data":[{e}],"other":[1,{{"x":null}}]}}"#),
                true,
            ),
            (r#"{"data":null,"meta":null}"#.to_owned(), true),
            ("{}".to_owned(), true),
            (
                r#"{"meta":{"hasMore":true,"unknown":[{}]}}"#.to_owned(),
                true,
            ),
            (format!(" \n\t[{e}]\r\n "), true),
            // Left to serde_json: its error, or a value the tape cannot vouch for.
            (format!(r#"{{"data":[{e}],"data":[]}}"#), false),
            (r#"{"meta":{},"meta":{}}"#.to_owned(), false),
            (r#"{"meta":{"total":1,"total":2}}"#.to_owned(), false),
            (r#"{"meta":{"total":-0}}"#.to_owned(), false),
            (r#"{"meta":{"total":1.0}}"#.to_owned(), false),
            (
                r#"{"meta":{"total":9223372036854775808}}"#.to_owned(),
                false,
            ),
            (r#"{"meta":{"hasMore":"yes"}}"#.to_owned(), false),
            (r#"{"meta":[true]}"#.to_owned(), false),
            (r#"{"data":{}}"#.to_owned(), false),
            (r#"{"data":[1]}"#.to_owned(), false),
            ("[null]".to_owned(), false),
            ("7".to_owned(), false),
            ("\"page\"".to_owned(), false),
            ("null".to_owned(), false),
            (String::new(), false),
            ("[] x".to_owned(), false),
            ("[1,]".to_owned(), false),
            (format!("[{e}"), false),
            (format!("\u{feff}[{e}]"), false),
            (
                r#"[{"metadata":{"id":"\ud800"},"spec":{}}]"#.to_owned(),
                false,
            ),
            (
                r#"[{"metadata":{"id":"e\"1"},"spec":{}}]"#.to_owned(),
                false,
            ),
            // Numbers simd-json refuses where serde_json skips them unread.
            (
                r#"{"other":18446744073709551616,"data":[]}"#.to_owned(),
                false,
            ),
            (r#"{"other":1e400,"data":[]}"#.to_owned(), false),
        ] {
            assert_eq!(assert_page_same(body.as_bytes()), taken, "{body}");
        }
        // Not UTF-8.
        assert!(!assert_page_same(
            b"[{\"metadata\":{\"id\":\"\xff\"},\"spec\":{}}]"
        ));
    }

    #[test]
    fn known_fields_of_a_type_serde_refuses_are_left_to_serde() {
        for execution in [
            r#"{"metadata":{"id":"e1"},"metadata":{},"spec":{}}"#,
            r#"{"metadata":{},"spec":{},"status":"a","status":"b"}"#,
            r#"{"metadata":{},"spec":{"timeout":-0}}"#,
            r#"{"metadata":{},"spec":{"timeout":1e2}}"#,
            r#"{"metadata":{},"spec":{"memoryOverride":"3"}}"#,
            r#"{"metadata":{},"spec":{"envOverride":{"A":{"B":"1"}}}}"#,
            r#"{"metadata":{},"spec":{"envOverride":{"A":[]}}}"#,
            r#"{"metadata":{},"spec":{"envOverride":{"A":1.5}}}"#,
            r#"{"metadata":{},"spec":{"envOverride":{"A":-0}}}"#,
            r#"{"metadata":{},"spec":{"envOverride":7}}"#,
            r#"{"metadata":{},"spec":{"envOverride":["A"]}}"#,
            r#"{"metadata":[],"spec":{}}"#,
            r#"{"metadata":null,"spec":{}}"#,
            r#"{"metadata":{}}"#,
            r#"{"metadata":{},"spec":{},"stats":[1,2,3,4,5,6]}"#,
            r#"{"metadata":{},"spec":{},"stats":{"total":true}}"#,
            r#"{"metadata":{},"spec":{},"tasks":{}}"#,
            r#"{"metadata":{},"spec":{},"tasks":[{"metadata":{"name":1}}]}"#,
            r#"{"metadata":{},"spec":{},"tasks":[{"spec":{"maxRetries":1,"maxRetries":1}}]}"#,
            r#"{"metadata":{},"spec":{},"tasks":[{"conditions":[{"type":null,"type":"x"}]}]}"#,
            r#"{"metadata":{},"spec":{},"tasks":[{"conditions":[7]}]}"#,
        ] {
            let body = format!("[{execution}]");
            assert!(!assert_page_same(body.as_bytes()), "{body}");
        }
    }

    #[test]
    fn what_serde_reads_without_complaint_the_tape_reads_too() {
        for execution in [
            r#"{"metadata":{},"spec":{}}"#,
            r#"{"metadata":{},"spec":{"envOverride":null,"tasks":null},"stats":null,"tasks":null,"status":null}"#,
            r#"{"metadata":{},"spec":{"envOverride":"{}"}}"#,
            r#"{"metadata":{},"spec":{"envOverride":"not json"}}"#,
            r#"{"metadata":{},"spec":{"envOverride":{}}}"#,
            r#"{"metadata":{},"spec":{"timeout":-9223372036854775808,"parallelism":9223372036854775807}}"#,
            r#"{"metadata":{},"spec":{},"tasks":[{"conditions":null,"metadata":null,"spec":null}]}"#,
            r#"{"metadata":{},"spec":{},"unknown":{"deep":[1,2.5,-0,1e300,{"x":null}]},"metadata2":[]}"#,
            r#"{"spec":{"unknown":true},"metadata":{"unknown":"x","id":"é💡"}}"#,
        ] {
            let body = format!("[{execution}]");
            assert!(assert_page_same(body.as_bytes()), "{body}");
        }
    }

    #[test]
    fn a_page_past_the_reused_buffers_is_read_with_its_own_and_a_huge_one_by_serde() {
        let items = vec![EXECUTION; REUSED_UP_TO / EXECUTION.len() + 2].join(",");
        let big = format!(r#"{{"data":[{items}],"meta":{{"hasMore":false}}}}"#);
        assert!(big.len() > REUSED_UP_TO);
        assert!(assert_page_same(big.as_bytes()));
        // And the reused buffers still read a small page after it.
        assert!(assert_page_same(format!("[{EXECUTION}]").as_bytes()));
        // Past READ_UP_TO, serde_json reads it.
        let items = vec![EXECUTION; READ_UP_TO / EXECUTION.len() + 2].join(",");
        let huge = format!("[{items}]");
        assert!(!assert_page_same(huge.as_bytes()));
    }

    /// Any JSON value, its object keys drawn mostly from the names the readers know (so that
    /// known fields get values of every type, repeated, nested where they do not belong).
    fn any_json() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        const KEYS: &[&str] = &[
            "data",
            "meta",
            "hasMore",
            "nextCursor",
            "total",
            "totalIsPartial",
            "metadata",
            "spec",
            "stats",
            "status",
            "tasks",
            "id",
            "job",
            "createdAt",
            "envOverride",
            "timeout",
            "taskCount",
            "conditions",
            "name",
            "maxRetries",
            "type",
            "other",
        ];
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            prop::sample::select(vec![
                "-0",
                "0",
                "1.5",
                "1e2",
                "-0.0",
                "18446744073709551616"
            ])
            .prop_map(str::to_owned),
            "[a-z0-9 :TZ.é-]{0,12}".prop_map(|s| format!("\"{s}\"")),
            Just("\"2026-05-31T23:59:20Z\"".to_owned()),
        ];
        leaf.prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(
                    |fields| {
                        let fields: Vec<String> =
                            fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                        format!("{{{}}}", fields.join(","))
                    }
                ),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        /// Generated bodies (pages, envelopes, executions of every shape, values of every type
        /// where known fields are expected): the tape answers as serde_json or leaves the body
        /// to it.
        #[test]
        fn generated_bodies_read_as_serde_reads_them(body in any_json()) {
            assert_page_same(body.as_bytes());
            assert_page_same(format!("[{body}]").as_bytes());
            assert_page_same(format!(r#"{{"data":[{body}],"meta":{body}}}"#).as_bytes());
            // An object's fields put into each struct of an execution.
            if let Some(fields) = body.strip_prefix("{").and_then(|b| b.strip_suffix("}")) {
                let sep = if fields.is_empty() { "" } else { "," };
                for execution in [
                    format!(r#"{{"metadata":{{"id":"e"}},"spec":{{}}{sep}{fields}}}"#),
                    format!(r#"{{"metadata":{{{fields}}},"spec":{{}}}}"#),
                    format!(r#"{{"metadata":{{}},"spec":{{{fields}}}}}"#),
                    format!(r#"{{"metadata":{{}},"spec":{{}},"stats":{{{fields}}}}}"#),
                    format!(r#"{{"metadata":{{}},"spec":{{"envOverride":{{{fields}}}}}}}"#),
                    format!(r#"{{"metadata":{{}},"spec":{{}},"tasks":[{{{fields}}}]}}"#),
                    format!(r#"{{"metadata":{{}},"spec":{{"tasks":[{{"metadata":{{{fields}}}}}]}}}}"#),
                    format!(r#"{{"metadata":{{}},"spec":{{}},"tasks":[{{"conditions":[{{{fields}}}]}}]}}"#),
                ] {
                    assert_page_same(format!("[{execution}]").as_bytes());
                }
            }
        }
    }
}
