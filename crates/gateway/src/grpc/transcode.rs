//! Upstream execution JSON written straight as the protobuf encoding of `JobExecution`: the
//! `ListJobExecutions` page, with neither the REST model nor the proto message in between.
//!
//! The model path (decode into `blaxel_models::JobExecution`, [`super::convert::execution`],
//! prost's encoder) spent, per every-field page of 20, 55 % of a call's instructions decoding
//! (every string owned), 18 % converting (every string copied again) and 15 % encoding (prost
//! computes nested lengths again at each level). Here each execution is decoded into a view of
//! the model's own types whose strings borrow from the body, and its fields are written in
//! field-number order, as prost writes them, through the same value rules as [`super::convert`]
//! (timestamps, durations, states, the resource name, `envOverride`): the message is the one
//! `convert::execution` makes of the model (tests below, over generated executions, byte for
//! byte but for the order of `env_override` entries, a map). The view is filled by serde_json
//! ([`ExecutionSeed`]) or, for the bodies where the two readings cannot differ, from simd-json's
//! tape ([`super::tape`]); the tests here hold both to the model path.

use std::borrow::Cow;

use bytes::Bytes;
use prost::{
    Message as _,
    encoding::{self, WireType},
};
use serde::{
    Deserialize,
    de::{DeserializeSeed, Deserializer},
};

use blaxel_models::{JobExecutionStatus, JobExecutionTaskStatus};

use super::{convert, proto, wire::Framed};

/// One execution of a page: its id (the anchor of mid-page page tokens) and the protobuf
/// encoding of its `JobExecution` message (without a field key or length: as an item of
/// `ListJobExecutionsResponse.job_executions`, it is written after key 1 and its length).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EncodedExecution {
    /// `metadata.id`, empty when absent.
    pub id: String,
    /// `JobExecution`, encoded.
    pub bytes: Bytes,
}

impl EncodedExecution {
    /// The execution in `json` (one upstream execution object).
    ///
    /// # Errors
    /// What decoding `json` as a `blaxel_models::JobExecution` fails with.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(json);
        let encoded = ExecutionSeed.deserialize(&mut de)?;
        de.end()?;
        Ok(encoded)
    }
}

/// Decodes one execution of a page as an [`EncodedExecution`] (see
/// [`blaxel_models::PageSeed`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct ExecutionSeed;

impl<'de> DeserializeSeed<'de> for ExecutionSeed {
    type Value = EncodedExecution;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<EncodedExecution, D::Error> {
        Ok(view::JobExecution::deserialize(d)?.encode())
    }
}

/// `ListJobExecutionsResponse`, encoded: each execution as field 1, then the page's fields as
/// prost writes them (the same bytes as encoding the message whole), framed for sending.
pub fn list_response(
    executions: &[Bytes],
    next_page_token: String,
    total_size: i32,
    total_size_is_partial: bool,
) -> Framed {
    let tail = proto::ListJobExecutionsResponse {
        job_executions: Vec::new(),
        next_page_token,
        total_size,
        total_size_is_partial,
    };
    let items: usize = executions
        .iter()
        .map(|e| 1 + encoding::encoded_len_varint(e.len() as u64) + e.len())
        .sum();
    Framed::write(items + tail.encoded_len(), |buf| {
        for e in executions {
            encoding::encode_key(1, WireType::LengthDelimited, buf);
            encoding::encode_varint(e.len() as u64, buf);
            buf.extend_from_slice(e);
        }
        tail.encode_raw(buf);
    })
}

/// The model's types (`blaxel_models::JobExecution` and its parts: the same names, fields, types,
/// defaults and derive), strings borrowed from the body where they hold no escape. A body the
/// model reads, this reads; one it refuses, this refuses with the same message. `Default` is
/// for [`super::tape`], which fills them field by field; serde's reading does not use it.
pub(super) mod view {
    use std::borrow::Cow;

    use blaxel_models::EnvOverride;
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub(in crate::grpc) struct JobExecution<'a> {
        #[serde(borrow)]
        pub(in crate::grpc) metadata: JobExecutionMetadata<'a>,
        #[serde(borrow)]
        pub(in crate::grpc) spec: JobExecutionSpec<'a>,
        pub(in crate::grpc) stats: Option<JobExecutionStats>,
        #[serde(borrow)]
        pub(in crate::grpc) status: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        pub(in crate::grpc) tasks: Option<Vec<JobExecutionTask<'a>>>,
    }

    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    pub(in crate::grpc) struct JobExecutionMetadata<'a> {
        #[serde(borrow)]
        pub(in crate::grpc) cluster: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub(in crate::grpc) completed_at: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub(in crate::grpc) created_at: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub(in crate::grpc) deleted_at: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub(in crate::grpc) expired_at: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub(in crate::grpc) id: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub(in crate::grpc) job: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub(in crate::grpc) started_at: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub(in crate::grpc) updated_at: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub(in crate::grpc) workspace: Option<Cow<'a, str>>,
    }

    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    pub(in crate::grpc) struct JobExecutionSpec<'a> {
        pub(in crate::grpc) env_override: Option<EnvOverride>,
        pub(in crate::grpc) memory_override: Option<i64>,
        pub(in crate::grpc) parallelism: Option<i64>,
        pub(in crate::grpc) task_count: Option<i64>,
        #[serde(borrow, default)]
        pub(in crate::grpc) tasks: Option<Vec<JobExecutionTask<'a>>>,
        #[serde(borrow)]
        pub(in crate::grpc) tasks_ref: Option<Cow<'a, str>>,
        pub(in crate::grpc) timeout: Option<i64>,
    }

    #[derive(Deserialize, Default)]
    pub(in crate::grpc) struct JobExecutionStats {
        pub(in crate::grpc) cancelled: Option<i64>,
        pub(in crate::grpc) failure: Option<i64>,
        pub(in crate::grpc) retried: Option<i64>,
        pub(in crate::grpc) running: Option<i64>,
        pub(in crate::grpc) success: Option<i64>,
        pub(in crate::grpc) total: Option<i64>,
    }

    #[derive(Deserialize, Default)]
    pub(in crate::grpc) struct JobExecutionTask<'a> {
        #[serde(borrow, default)]
        pub(in crate::grpc) conditions: Option<Vec<JobExecutionTaskCondition<'a>>>,
        #[serde(borrow)]
        pub(in crate::grpc) metadata: Option<JobExecutionTaskMetadata<'a>>,
        #[serde(borrow)]
        pub(in crate::grpc) spec: Option<JobExecutionTaskSpec<'a>>,
        #[serde(borrow)]
        pub(in crate::grpc) status: Option<Cow<'a, str>>,
    }

    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    pub(in crate::grpc) struct JobExecutionTaskMetadata<'a> {
        #[serde(borrow)]
        pub(in crate::grpc) completed_at: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub(in crate::grpc) created_at: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub(in crate::grpc) name: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub(in crate::grpc) scheduled_at: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub(in crate::grpc) started_at: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub(in crate::grpc) updated_at: Option<Cow<'a, str>>,
    }

    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    pub(in crate::grpc) struct JobExecutionTaskSpec<'a> {
        pub(in crate::grpc) max_retries: Option<i64>,
        #[serde(borrow)]
        pub(in crate::grpc) timeout: Option<Cow<'a, str>>,
    }

    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    pub(in crate::grpc) struct JobExecutionTaskCondition<'a> {
        #[serde(borrow)]
        pub(in crate::grpc) execution_reason: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub(in crate::grpc) message: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub(in crate::grpc) reason: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub(in crate::grpc) severity: Option<Cow<'a, str>>,
        #[serde(borrow)]
        pub(in crate::grpc) state: Option<Cow<'a, str>>,
        #[serde(borrow, rename = "type")]
        pub(in crate::grpc) type_: Option<Cow<'a, str>>,
    }
}

/// The text of an optional string field, empty when absent (as `unwrap_or_default`).
fn or_empty<'s>(v: &'s Option<Cow<'_, str>>) -> &'s str {
    v.as_deref().unwrap_or_default()
}

/// The largest encoding buffer a thread keeps between executions (one execution with every
/// field is about 1 kB; a rare huge one gets its buffer back to the allocator).
const ENCODING_KEPT: usize = 64 * 1024;

thread_local! {
    /// Where an execution is written before it is copied out at its exact size: one buffer
    /// grown once per thread, where a buffer per execution was allocated, and reallocated when
    /// the execution outgrew its first guess.
    static ENCODING: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl view::JobExecution<'_> {
    /// The fields of `proto::JobExecution` as [`convert::execution`] fills them, in field-number
    /// order.
    pub(super) fn encode(&self) -> EncodedExecution {
        ENCODING.with_borrow_mut(|buf| {
            buf.clear();
            self.write(buf);
            let bytes = Bytes::copy_from_slice(buf);
            if buf.capacity() > ENCODING_KEPT {
                *buf = Vec::new();
            }
            EncodedExecution {
                id: or_empty(&self.metadata.id).to_owned(),
                bytes,
            }
        })
    }

    fn write(&self, b: &mut Vec<u8>) {
        let md = &self.metadata;
        let (id, job) = (or_empty(&md.id), or_empty(&md.job));
        parts(1, &convert::execution_name_parts(job, id), b);
        text(2, id, b);
        text(3, job, b);
        text(4, or_empty(&md.workspace), b);
        let state = self.status.as_deref().map(|s| {
            let status: JobExecutionStatus = s.parse().unwrap_or_else(|never| match never {});
            convert::execution_state(&status) as i32
        });
        state_field(5, state, b);
        text(6, or_empty(&md.cluster), b);
        timestamp(7, &md.created_at, b);
        timestamp(8, &md.started_at, b);
        timestamp(9, &md.completed_at, b);
        timestamp(10, &md.updated_at, b);
        timestamp(11, &md.deleted_at, b);
        timestamp(12, &md.expired_at, b);
        nested(13, b, |b| self.spec.encode(b));
        if let Some(s) = &self.stats {
            nested(14, b, |b| {
                let counts = [
                    s.cancelled,
                    s.failure,
                    s.retried,
                    s.running,
                    s.success,
                    s.total,
                ];
                for (tag, v) in (1..).zip(counts) {
                    int64(tag, v, b);
                }
            });
        }
        for t in self.tasks.iter().flatten() {
            nested(15, b, |b| t.encode(b));
        }
        text(16, or_empty(&self.status), b);
    }
}

impl view::JobExecutionSpec<'_> {
    fn encode(&self, b: &mut Vec<u8>) {
        int64(1, self.parallelism, b);
        if let Some(t) = self.timeout {
            duration(2, &convert::seconds(t), b);
        }
        int64(3, self.memory_override, b);
        // Read as convert reads it (an object, or a string holding one; other values as JSON
        // text); written in the map's order (prost writes its HashMap's: the same entries).
        if let Some(vars) = self.env_override.as_ref().and_then(|e| e.vars().ok()) {
            for (name, value) in &vars {
                let value = match value {
                    serde_json::Value::String(s) => Cow::Borrowed(s.as_str()),
                    other => Cow::Owned(other.to_string()),
                };
                nested(4, b, |b| {
                    text(1, name, b);
                    text(2, &value, b);
                });
            }
        }
        int64(5, self.task_count, b);
        for t in self.tasks.iter().flatten() {
            nested(6, b, |b| t.encode(b));
        }
        text(7, or_empty(&self.tasks_ref), b);
    }
}

impl view::JobExecutionTask<'_> {
    /// The fields of `proto::JobExecutionTask` as [`convert::task`] fills them.
    fn encode(&self, b: &mut Vec<u8>) {
        let md = self.metadata.as_ref();
        text(1, md.map_or("", |md| or_empty(&md.name)), b);
        let state = self.status.as_deref().map(|s| {
            let status: JobExecutionTaskStatus = s.parse().unwrap_or_else(|never| match never {});
            convert::task_state(&status) as i32
        });
        state_field(2, state, b);
        text(3, or_empty(&self.status), b);
        if let Some(md) = md {
            timestamp(4, &md.created_at, b);
            timestamp(5, &md.scheduled_at, b);
            timestamp(6, &md.started_at, b);
            timestamp(7, &md.completed_at, b);
            timestamp(8, &md.updated_at, b);
        }
        let spec = self.spec.as_ref();
        int64(9, spec.and_then(|s| s.max_retries), b);
        let timeout = spec.and_then(|s| s.timeout.as_deref());
        if let Some(timeout) = timeout.and_then(convert::duration_text) {
            duration(10, &timeout, b);
        }
        for c in self.conditions.iter().flatten() {
            nested(11, b, |b| {
                text(1, or_empty(&c.type_), b);
                text(2, or_empty(&c.state), b);
                text(3, or_empty(&c.reason), b);
                text(4, or_empty(&c.message), b);
                text(5, or_empty(&c.severity), b);
                text(6, or_empty(&c.execution_reason), b);
            });
        }
    }
}

/// A proto3 `string`: written unless empty.
fn text(tag: u32, value: &str, b: &mut Vec<u8>) {
    if !value.is_empty() {
        key(tag, WireType::LengthDelimited, b);
        varint(value.len() as u64, b);
        b.extend_from_slice(value.as_bytes());
    }
}

/// A `string` field whose text is `parts` joined (the resource name, written without building
/// it first: `format!` was 0.8 % of a call).
fn parts(tag: u32, parts: &[&str], b: &mut Vec<u8>) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    if len > 0 {
        key(tag, WireType::LengthDelimited, b);
        varint(len as u64, b);
        for part in parts {
            b.extend_from_slice(part.as_bytes());
        }
    }
}

/// A proto3 `optional int64`: written when set.
fn int64(tag: u32, value: Option<i64>, b: &mut Vec<u8>) {
    if let Some(v) = value {
        key(tag, WireType::Varint, b);
        // Two's complement, as protobuf writes a negative int64 (ten bytes).
        varint(v as u64, b);
    }
}

/// A proto3 enum: written unless 0 (UNSPECIFIED).
fn state_field(tag: u32, value: Option<i32>, b: &mut Vec<u8>) {
    if let Some(v) = value.filter(|v| *v != 0) {
        key(tag, WireType::Varint, b);
        // Sign-extended, as protobuf writes a negative int32.
        varint(i64::from(v) as u64, b);
    }
}

/// A `google.protobuf.Timestamp` field: written when the text reads ([`convert::timestamp`]),
/// the canonical form (`2026-05-31T23:59:20Z`, remembered per thread by
/// [`blaxel_models::canonical_unix_seconds`]) tested first: a page of 20 has about 600
/// timestamps, nearly all of that form, and the general reading's trimming and shape tests
/// before it were a third of a timestamp's instructions.
fn timestamp(tag: u32, raw: &Option<Cow<'_, str>>, b: &mut Vec<u8>) {
    let Some(raw) = raw.as_deref() else {
        return;
    };
    match blaxel_models::canonical_unix_seconds(raw) {
        Some(seconds) => seconds_nanos(tag, seconds, 0, b),
        None => {
            if let Some(at) = convert::timestamp(Some(raw)) {
                seconds_nanos(tag, at.seconds, at.nanos, b);
            }
        }
    }
}

/// A `google.protobuf.Duration` field, as prost writes the message.
fn duration(tag: u32, d: &prost_types::Duration, b: &mut Vec<u8>) {
    seconds_nanos(tag, d.seconds, d.nanos, b);
}

/// A message field of `seconds` (int64, field 1) and `nanos` (int32, field 2), each left out
/// when 0: `google.protobuf.Timestamp` and `Duration`, written as prost writes them without its
/// generic encoder. `tag` is below 16 (a one-byte key).
fn seconds_nanos(tag: u32, seconds: i64, nanos: i32, b: &mut Vec<u8>) {
    debug_assert!(tag < 16, "a one-byte key");
    // Key, length (the message is at most 22 bytes: two keys, two ten-byte varints), message:
    // built on the stack and appended whole (a copy of a fixed size, no call to memcpy), then
    // cut to its length.
    let mut field = [0u8; 24];
    field[0] = (tag << 3 | WireType::LengthDelimited as u32) as u8;
    let mut end = 2;
    if seconds != 0 {
        field[end] = 0x08;
        end += 1 + put_varint(seconds as u64, &mut field[end + 1..]);
    }
    if nanos != 0 {
        field[end] = 0x10;
        // Sign-extended, as protobuf writes a negative int32.
        end += 1 + put_varint(i64::from(nanos) as u64, &mut field[end + 1..]);
    }
    field[1] = (end - 2) as u8;
    let at = b.len();
    b.extend_from_slice(&field);
    b.truncate(at + end);
}

/// Writes `v` as a base-128 varint at the start of `out` (which has room for ten bytes) and
/// gives its length.
fn put_varint(mut v: u64, out: &mut [u8]) -> usize {
    let mut n = 0;
    while v >= 0x80 {
        out[n] = v as u8 | 0x80;
        v >>= 7;
        n += 1;
    }
    out[n] = v as u8;
    n + 1
}

/// A field's key: its number and wire type, as a varint.
fn key(tag: u32, wire_type: WireType, b: &mut Vec<u8>) {
    varint(u64::from(tag << 3 | wire_type as u32), b);
}

/// A base-128 varint. Most values written here (keys, lengths, states) are below 128: one
/// push, where prost's generic `BufMut` writer was 7 % of a call.
fn varint(mut v: u64, b: &mut Vec<u8>) {
    while v >= 0x80 {
        b.push(v as u8 | 0x80);
        v >>= 7;
    }
    b.push(v as u8);
}

/// A message field: its key, its length, then what `write` writes. The length is known after:
/// one byte is kept for it (most tasks' conditions and timestamps are below 128 bytes) and the
/// body is moved right only when the length needs more.
fn nested(tag: u32, b: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    key(tag, WireType::LengthDelimited, b);
    let at = b.len();
    b.push(0);
    write(b);
    let len = b.len() - at - 1;
    if len < 0x80 {
        b[at] = len as u8;
        return;
    }
    let mut prefix = [0u8; 10];
    let mut free = &mut prefix[..];
    encoding::encode_varint(len as u64, &mut free);
    let used = 10 - free.len();
    let end = b.len();
    b.resize(end + used - 1, 0);
    b.copy_within(at + 1..end, at + used);
    b[at..at + used].copy_from_slice(&prefix[..used]);
}

#[cfg(test)]
mod tests {
    use blaxel_models::ExecutionProjection;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    /// The model path's answer for `json`: the message, or the decoding error's text.
    fn model(json: &str) -> Result<proto::JobExecution, String> {
        ExecutionProjection::ALL
            .deserialize(&mut serde_json::Deserializer::from_str(json))
            .map(|m| convert::execution(&m))
            .map_err(|e| e.to_string())
    }

    /// Asserts the view answers `json` as the model path does: the same message (the same
    /// bytes when no map can be ordered otherwise), or the same error.
    /// The tape ([`super::super::tape`]) is held to the same answer: read as a page, it answers
    /// as serde_json does or leaves the page to it.
    fn assert_same(json: &str) {
        super::super::tape::tests::assert_page_same(format!("[{json}]").as_bytes());
        let view = EncodedExecution::from_json(json);
        match (model(json), view) {
            (Ok(expected), Ok(encoded)) => {
                let decoded = proto::JobExecution::decode(encoded.bytes.clone()).unwrap();
                assert_eq!(decoded, expected, "{json}");
                assert_eq!(encoded.id, expected.id, "{json}");
                if expected
                    .spec
                    .as_ref()
                    .is_none_or(|s| s.env_override.len() < 2)
                {
                    assert_eq!(encoded.bytes, expected.encode_to_vec(), "{json}");
                }
            }
            (Err(expected), Err(e)) => assert_eq!(e.to_string(), expected, "{json}"),
            (expected, view) => panic!("{json}: model {expected:?}, view {view:?}"),
        }
    }

    /// The executions (as JSON texts) of the seeded emulator's first `limit` of `job`.
    async fn emulator_executions(job: &str, limit: u32) -> Vec<String> {
        use tower::ServiceExt as _;
        let (router, _emulator) = blaxel_emulator::router(blaxel_emulator::EmulatorConfig {
            executions_per_job: 100,
            ..Default::default()
        });
        let request = http::Request::get(format!("/v0/jobs/{job}/executions?limit={limit}"))
            .header("authorization", "Bearer dev-token")
            .header("blaxel-version", "2026-04-28")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let page: Value = serde_json::from_slice(&body).unwrap();
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(Value::to_string)
            .collect()
    }

    #[tokio::test]
    async fn every_execution_of_the_emulator_reads_as_the_model_path() {
        let mut statuses = std::collections::BTreeSet::new();
        for job in ["data-processing-job", "job-1", "job-2"] {
            let executions = emulator_executions(job, 100).await;
            assert_eq!(executions.len(), 100);
            for json in executions {
                assert_same(&json);
                let page = format!("[{json}]");
                assert!(
                    super::super::tape::read(page.as_bytes()).is_some(),
                    "{json}"
                );
                let model = model(&json).unwrap();
                statuses.insert(model.raw_state);
            }
        }
        assert!(statuses.len() >= 8, "every status: {statuses:?}");
    }

    #[test]
    fn hand_picked_shapes_read_as_the_model_path() {
        for json in [
            r#"{"metadata":{},"spec":{}}"#,
            r#"{"metadata":{"id":"e\"1","job":"j\\b","createdAt":"2026-05-31T23:59:20Z"},"spec":{}}"#,
            r#"{"metadata":{"id":"e1","id":"e2"},"spec":{}}"#,
            r#"{"metadata":{"id":"e1"},"spec":{},"spec":{}}"#,
            r#"{"metadata":{"id":"e1"}}"#,
            r#"{"spec":{}}"#,
            r#"{"metadata":null,"spec":{}}"#,
            r#"{"metadata":{"id":5},"spec":{}}"#,
            r#"{"metadata":{},"spec":{"envOverride":"{\"A\":\"1\",\"B\":2}"}}"#,
            r#"{"metadata":{},"spec":{"envOverride":"not json"}}"#,
            r#"{"metadata":{},"spec":{"envOverride":{"A":"\u00e9","B":{"c":[1]}}}}"#,
            r#"{"metadata":{},"spec":{"envOverride":7}}"#,
            r#"{"metadata":{},"spec":{"timeout":1.5}}"#,
            r#"{"metadata":{},"spec":{"tasks":null},"tasks":null,"stats":null,"status":null}"#,
            r#"{"metadata":{},"spec":{},"status":"runn\u0069ng"}"#,
            r#"{"metadata":{},"spec":{},"status":3}"#,
            r#"{"metadata":{},"spec":{},"tasks":[{"conditions":null,"metadata":null,"spec":null}]}"#,
            r#"{"metadata":{},"spec":{},"tasks":[{"spec":{"timeout":"1h30m","maxRetries":-1}}]}"#,
            r#"{"metadata":{},"spec":{},"tasks":[{"status":"PENDING"},{"status":"pending"}]}"#,
            r#"{"metadata":{},"spec":{},"tasks":[1]}"#,
            r#"{"metadata":{"createdAt":"1969-12-31T23:59:59Z","updatedAt":"1970-01-01T00:00:00Z","startedAt":" 2026-05-31T23:59:20Z","completedAt":"2026-05-31T23:59:20.000000001Z"},"spec":{"timeout":-5}}"#,
            r#"{"metadata":{},"spec":{"timeout":0},"tasks":[{"spec":{"timeout":"500ms"}},{"spec":{"timeout":"1.25h"}},{"spec":{"timeout":"0s"}},{"metadata":{"createdAt":"2026-05-31T23:59:20+00:00"}}]}"#,
            r#"{"metadata":{},"spec":{},"unknown":{"deep":[1,2,{"x":null}]}}"#,
            r#"[]"#,
            r#"null"#,
        ] {
            assert_same(json);
        }
    }

    /// An example of `schema` with every property set: examples where the schema gives them,
    /// a timestamp for `...At`, the first enum value, one item per array.
    fn example(defs: &serde_json::Map<String, Value>, name: &str, schema: &Value) -> Value {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let def = r.trim_start_matches("#/definitions/");
            if def == "EnvOverride" {
                return json!({"A": "1", "B": "two"});
            }
            return example(defs, name, &defs[def]);
        }
        if let Some(first) = schema.get("enum").and_then(|e| e.get(0)) {
            return first.clone();
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            return Value::Object(
                props
                    .iter()
                    .map(|(k, v)| (k.clone(), example(defs, k, v)))
                    .collect(),
            );
        }
        if let Some(ex) = schema.get("examples").and_then(|e| e.get(0)) {
            return ex.clone();
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("array") => json!([example(defs, name, &schema["items"])]),
            Some("integer") => json!(7),
            Some("boolean") => json!(true),
            _ if name.ends_with("At") => json!("2026-05-31T23:59:20Z"),
            _ => json!(format!("some-{name}")),
        }
    }

    /// Every property the JSON Schema gives an execution (and its spec, stats, tasks and their
    /// parts), set at once: a property added to the schema and mapped by `convert` but not read
    /// by the view fails here.
    #[test]
    fn an_execution_with_every_schema_property_reads_as_the_model_path() {
        let schema: Value =
            serde_json::from_str(include_str!("../../../../schema/blaxel-jobs.schema.json"))
                .unwrap();
        let defs = schema["definitions"].as_object().unwrap();
        let execution = example(defs, "execution", &defs["JobExecution"]);
        let json = execution.to_string();
        assert_same(&json);
        let page = format!("[{json}]");
        assert!(
            super::super::tape::read(page.as_bytes()).is_some(),
            "{json}"
        );
        // Every part is there, so the comparison covers it.
        let message = model(&json).unwrap();
        let spec = message.spec.as_ref().unwrap();
        let task = &message.tasks[0];
        assert!(
            message.stats.is_some() && message.expire_time.is_some(),
            "{json}"
        );
        assert!(
            spec.env_override.len() == 2 && spec.tasks.len() == 1,
            "{json}"
        );
        assert!(
            task.update_time.is_some() && task.timeout.is_some(),
            "{json}"
        );
        assert!(!task.conditions[0].execution_reason.is_empty(), "{json}");
    }

    /// A JSON value for a string field: absent (None), null, text (with escapes, timestamps,
    /// durations, statuses) or a value of another type.
    fn text_value() -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            3 => Just(None),
            1 => Just(Some(Value::Null)),
            6 => prop_oneof![
                Just("2026-05-31T23:59:20Z".to_owned()),
                Just("2026-05-31T23:59:20.5+02:00".to_owned()),
                Just("1969-12-31T23:59:59Z".to_owned()),
                Just("1970-01-01T00:00:00Z".to_owned()),
                Just("yesterday".to_owned()),
                Just("1h30m".to_owned()),
                Just("500ms".to_owned()),
                Just("1.25h".to_owned()),
                Just("90".to_owned()),
                Just("running".to_owned()),
                Just("succeeded".to_owned()),
                Just("pending".to_owned()),
                "[a-z\"\\\\é/ \n]{0,8}",
            ]
            .prop_map(|s| Some(Value::String(s))),
            1 => prop_oneof![Just(json!(7)), Just(json!(true)), Just(json!([])), Just(json!({}))]
                .prop_map(Some),
        ]
    }

    /// A JSON value for an integer field.
    fn count_value() -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            3 => Just(None),
            1 => Just(Some(Value::Null)),
            6 => any::<i64>().prop_map(|n| Some(json!(n))),
            1 => prop_oneof![Just(json!(1.5)), Just(json!("3")), Just(json!(u64::MAX))].prop_map(Some),
        ]
    }

    fn object(fields: Vec<(&'static str, Option<Value>)>) -> Value {
        Value::Object(
            fields
                .into_iter()
                .filter_map(|(k, v)| Some((k.to_owned(), v?)))
                .collect(),
        )
    }

    fn list(item: impl Strategy<Value = Value>) -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            2 => Just(None),
            1 => Just(Some(Value::Null)),
            4 => prop::collection::vec(item, 0..3).prop_map(|v| Some(Value::Array(v))),
        ]
    }

    fn condition() -> impl Strategy<Value = Value> {
        prop::collection::vec(text_value(), 6).prop_map(|v| {
            let keys = [
                "type",
                "state",
                "reason",
                "message",
                "severity",
                "executionReason",
            ];
            object(keys.into_iter().zip(v).collect())
        })
    }

    fn task() -> impl Strategy<Value = Value> {
        let metadata = prop::collection::vec(text_value(), 6).prop_map(|v| {
            let keys = [
                "name",
                "createdAt",
                "scheduledAt",
                "startedAt",
                "completedAt",
                "updatedAt",
            ];
            object(keys.into_iter().zip(v).collect())
        });
        let spec = (count_value(), text_value())
            .prop_map(|(r, t)| object(vec![("maxRetries", r), ("timeout", t)]));
        (
            list(condition()),
            prop::option::of(metadata),
            prop::option::of(spec),
            text_value(),
        )
            .prop_map(|(c, m, s, st)| {
                object(vec![
                    ("conditions", c),
                    ("metadata", m),
                    ("spec", s),
                    ("status", st),
                ])
            })
    }

    fn env_override() -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            3 => Just(None),
            1 => Just(Some(Value::Null)),
            4 => prop::collection::btree_map("[A-Z_\"é]{0,4}", "[a-z0-9\"]{0,4}", 0..4)
                .prop_map(|m| Some(json!(m))),
            1 => Just(Some(json!({"N": 1, "B": true, "O": {"x": [null]}}))),
            1 => Just(Some(json!("{\"A\":\"1\"}"))),
            1 => Just(Some(json!(["A"]))),
        ]
    }

    fn execution() -> impl Strategy<Value = Value> {
        let metadata = prop::collection::vec(text_value(), 10).prop_map(|v| {
            let keys = [
                "id",
                "job",
                "workspace",
                "cluster",
                "createdAt",
                "startedAt",
                "completedAt",
                "updatedAt",
                "deletedAt",
                "expiredAt",
            ];
            object(keys.into_iter().zip(v).collect())
        });
        let spec = (
            env_override(),
            prop::collection::vec(count_value(), 4),
            list(task()),
            text_value(),
        )
            .prop_map(|(env, n, tasks, tasks_ref)| {
                object(vec![
                    ("envOverride", env),
                    ("memoryOverride", n[0].clone()),
                    ("parallelism", n[1].clone()),
                    ("taskCount", n[2].clone()),
                    ("timeout", n[3].clone()),
                    ("tasks", tasks),
                    ("tasksRef", tasks_ref),
                ])
            });
        let stats = prop::collection::vec(count_value(), 6).prop_map(|v| {
            let keys = [
                "cancelled",
                "failure",
                "retried",
                "running",
                "success",
                "total",
            ];
            object(keys.into_iter().zip(v).collect())
        });
        (
            prop::option::weighted(0.95, metadata),
            prop::option::weighted(0.95, spec),
            prop::option::of(stats),
            text_value(),
            list(task()),
            prop::option::weighted(0.1, Just(json!({"extra": [1, {"x": null}]}))),
        )
            .prop_map(|(metadata, spec, stats, status, tasks, extra)| {
                object(vec![
                    ("metadata", metadata),
                    ("spec", spec),
                    ("stats", stats),
                    ("status", status),
                    ("tasks", tasks),
                    ("unknownPart", extra),
                ])
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Generated executions (every field absent, null, well typed or not, strings with
        /// escapes, each form of envOverride, unknown fields) read through the view as through
        /// the model: the same message, or the same error.
        #[test]
        fn generated_executions_read_as_the_model_path(execution in execution()) {
            assert_same(&execution.to_string());
        }
    }

    #[tokio::test]
    async fn a_list_response_is_the_message_prost_writes() {
        let encoded: Vec<EncodedExecution> = emulator_executions("data-processing-job", 5)
            .await
            .iter()
            .map(|json| EncodedExecution::from_json(json).unwrap())
            .collect();
        for (token, total, partial) in [("", 0, false), ("t0k3n", 9, true), ("x", -1, false)] {
            let bytes: Vec<Bytes> = encoded.iter().map(|e| e.bytes.clone()).collect();
            let written = list_response(&bytes, token.to_owned(), total, partial).message();
            let whole = proto::ListJobExecutionsResponse {
                job_executions: encoded
                    .iter()
                    .map(|e| proto::JobExecution::decode(e.bytes.clone()).unwrap())
                    .collect(),
                next_page_token: token.to_owned(),
                total_size: total,
                total_size_is_partial: partial,
            };
            // Decoded, as env_override maps (HashMaps) order their entries as they like.
            let decoded = proto::ListJobExecutionsResponse::decode(written.clone()).unwrap();
            assert!(decoded == whole, "the message written is the message");
            assert_eq!(written.len(), whole.encoded_len());
        }
        assert!(
            list_response(&[], String::new(), 0, false)
                .message()
                .is_empty()
        );
    }
}
