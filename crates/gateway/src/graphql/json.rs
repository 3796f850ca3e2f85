//! Responses written as JSON bytes, with pre-encoded subtrees passed through.
//!
//! Building an execution as an async-graphql `Value` (an `IndexMap` per object, a SipHash per
//! key, a `String` per value) and then serialising that tree was about a third of the
//! instructions of a page request (`bench/callgrind.sh`). When the HTTP face serialises the
//! answer itself, the synchronous walk ([`super::walk`]) writes each execution of a page straight
//! as JSON instead, and hands it over as `Value::Binary` holding those bytes; [`write_response`]
//! copies them into the body as they are.
//!
//! The contract, kept by [`DirectJson`]: a `Value::Binary` in a response is pre-encoded JSON
//! (the schema has no binary scalar and no uploads), and it exists only where
//! - the face that serialises the answer uses [`write_response`] (the HTTP face; subscriptions
//!   over SSE and WebSocket serialise with serde and never ask for it);
//! - no selection set of the operation selects a response key twice (async-graphql merges such
//!   objects key by key, which it cannot do with bytes): the operation limits extension turns it
//!   off for such documents ([`super::order::KeyOrder::unrepeated`]).

use std::{
    collections::VecDeque,
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll},
};

use async_graphql::{Response, Value};
use bytes::Bytes;
use hyper::body::{Frame, SizeHint};

/// Request data: true when the response will be written by [`write_response`], so the walk may
/// answer an object as pre-encoded JSON (`Value::Binary`).
#[derive(Debug, Clone, Copy)]
pub struct DirectJson(pub bool);

/// Where JSON is written: a `Vec<u8>`, or a [`Rope`] that keeps large pre-encoded parts as the
/// shared `Bytes` they are.
pub trait JsonOut: std::io::Write {
    /// Room for `additional` more bytes.
    fn reserve(&mut self, additional: usize);
    /// One byte.
    fn push(&mut self, byte: u8);
    /// Bytes, copied.
    fn extend_from_slice(&mut self, bytes: &[u8]);
    /// Pre-encoded JSON (a `Value::Binary`): copied into a `Vec`, shared by a [`Rope`].
    fn encoded(&mut self, json: &Bytes) {
        self.extend_from_slice(json);
    }
}

impl JsonOut for Vec<u8> {
    fn reserve(&mut self, additional: usize) {
        Vec::reserve(self, additional);
    }

    fn push(&mut self, byte: u8) {
        Vec::push(self, byte);
    }

    fn extend_from_slice(&mut self, bytes: &[u8]) {
        Vec::extend_from_slice(self, bytes);
    }
}

/// Pre-encoded parts at least this long are kept shared in a [`Rope`] rather than copied: a
/// page's connection (8-100 kB), not its scalars, so that a body is a few parts.
pub const SHARED_PART_MIN: usize = 16 * 1024;

/// A response body as [`write_response`] writes it: small writes gathered in one buffer,
/// pre-encoded parts of at least [`SHARED_PART_MIN`] bytes kept as the `Bytes` they are. The
/// callers that joined one operation's flight (`--upstream-dedupe`) hold the same rendered
/// connection: each body then points at it instead of copying it (a page of 20 with every field
/// is 100 kB per caller).
#[derive(Debug, Default)]
pub struct Rope {
    parts: Vec<Bytes>,
    tail: Vec<u8>,
    len: usize,
}

impl Rope {
    /// An empty body whose first buffer holds `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            tail: Vec::with_capacity(capacity),
            ..Self::default()
        }
    }

    /// Bytes written.
    pub fn len(&self) -> usize {
        self.len + self.tail.len()
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The parts, in order.
    pub fn into_parts(mut self) -> Vec<Bytes> {
        if !self.tail.is_empty() {
            self.parts.push(std::mem::take(&mut self.tail).into());
        }
        self.parts
    }

    /// The body, each part a frame, its length known (`Content-Length`).
    pub fn into_body(self) -> axum::body::Body {
        let len = self.len() as u64;
        axum::body::Body::new(RopeBody {
            parts: self.into_parts().into(),
            remaining: len,
        })
    }
}

impl std::io::Write for Rope {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tail.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl JsonOut for Rope {
    fn reserve(&mut self, additional: usize) {
        self.tail.reserve(additional);
    }

    fn push(&mut self, byte: u8) {
        self.tail.push(byte);
    }

    fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.tail.extend_from_slice(bytes);
    }

    fn encoded(&mut self, json: &Bytes) {
        if json.len() < SHARED_PART_MIN {
            self.tail.extend_from_slice(json);
            return;
        }
        if !self.tail.is_empty() {
            let tail = std::mem::replace(&mut self.tail, Vec::with_capacity(256));
            self.len += tail.len();
            self.parts.push(tail.into());
        }
        self.len += json.len();
        self.parts.push(json.clone());
    }
}

/// A [`Rope`] as an HTTP body.
struct RopeBody {
    parts: VecDeque<Bytes>,
    remaining: u64,
}

impl hyper::body::Body for RopeBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let part = self.parts.pop_front();
        if let Some(part) = &part {
            self.remaining -= part.len() as u64;
        }
        Poll::Ready(part.map(|part| Ok(Frame::data(part))))
    }

    fn is_end_stream(&self) -> bool {
        self.parts.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// Writes `response` as async-graphql's `Serialize` does (`data`, then `extensions` and
/// `errors` when not empty), `Value::Binary` subtrees passed through ([`JsonOut::encoded`]).
///
/// # Errors
/// Serialising an error's or an extension's value (async-graphql's own types; not expected).
pub fn write_response<O: JsonOut>(out: &mut O, response: &Response) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"data\":");
    write_value(out, &response.data)?;
    if !response.extensions.is_empty() {
        out.extend_from_slice(b",\"extensions\":");
        serde_json::to_writer(&mut *out, &response.extensions)?;
    }
    if !response.errors.is_empty() {
        out.extend_from_slice(b",\"errors\":");
        serde_json::to_writer(&mut *out, &response.errors)?;
    }
    out.push(b'}');
    Ok(())
}

/// Writes `value` as JSON (as its `Serialize` does), `Value::Binary` passed through as it is.
///
/// # Errors
/// None in practice (writing to memory; numbers are finite).
pub fn write_value<O: JsonOut>(out: &mut O, value: &Value) -> serde_json::Result<()> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(true) => out.extend_from_slice(b"true"),
        Value::Boolean(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => serde_json::to_writer(&mut *out, n)?,
        Value::String(s) => write_str(out, s),
        Value::Enum(name) => write_str(out, name.as_str()),
        Value::Binary(json) => out.encoded(json),
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, key.as_str());
                out.push(b':');
                write_value(out, item)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// Most values [`copied_len`] looks at: the pre-encoded subtrees sit near the root (a
/// connection, or its edges), so a response tree built by resolvers is not walked twice.
const COPIED_LEN_VISITS: usize = 256;

/// Bytes of the pre-encoded subtrees (`Value::Binary`) under [`SHARED_PART_MIN`] among the first
/// 256 values of `value` (depth first): what [`write_response`] will copy into a [`Rope`]'s
/// buffer, known before writing so that the buffer is allocated once rather than doubled its way
/// to a page (the reallocations' copies were about 3 % of a request's CPU at 32 connections:
/// `perf`). Larger parts are shared, not copied.
pub fn copied_len(value: &Value) -> usize {
    fn walk(value: &Value, visits: &mut usize) -> usize {
        if *visits == 0 {
            return 0;
        }
        *visits -= 1;
        match value {
            Value::Binary(json) if json.len() < SHARED_PART_MIN => json.len(),
            Value::List(items) => items.iter().map(|item| walk(item, visits)).sum(),
            Value::Object(map) => map.values().map(|item| walk(item, visits)).sum(),
            _ => 0,
        }
    }
    let mut visits = COPIED_LEN_VISITS;
    walk(value, &mut visits)
}

/// Writes `s` as a JSON string (serde_json's escaping). Most strings (ids, keys, timestamps,
/// enum names) need none: they are copied in one piece.
pub fn write_str<O: JsonOut>(out: &mut O, s: &str) {
    if !needs_escape(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing to memory cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// True when `bytes` hold a byte that a JSON string must escape: a control character, `"` or
/// `\`. Looks at 16 or 8 bytes a step with no branch inside the step, which the compiler turns
/// into vector compares (a byte-by-byte `all` was 5 % of a page request's instructions). The
/// tail is one more window ending at the last byte, overlapping bytes already seen, rather than
/// a byte loop: most strings of a page (names, ids, timestamps, states) are 5 to 30 bytes, and
/// their tails were 8 % of a request's instructions at 32 connections.
fn needs_escape(bytes: &[u8]) -> bool {
    fn escaped(b: u8) -> bool {
        (b < 0x20) | (b == b'"') | (b == b'\\')
    }
    fn any<const N: usize>(window: &[u8; N]) -> bool {
        window.iter().fold(false, |any, &b| any | escaped(b))
    }
    if let Some(last) = bytes.last_chunk::<16>() {
        let mut chunks = bytes.chunks_exact(16);
        if chunks.any(|chunk| chunk.first_chunk::<16>().is_some_and(any)) {
            return true;
        }
        return !chunks.remainder().is_empty() && any(last);
    }
    match (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        (Some(first), Some(last)) => any(first) | any(last),
        _ => bytes.iter().any(|&b| escaped(b)),
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{Name, ServerError, indexmap::IndexMap};

    use super::*;

    #[test]
    fn copied_len_counts_the_small_pre_encoded_bytes_near_the_root() {
        let binary = |n: usize| Value::Binary(vec![b'1'; n].into());
        let mut edges = IndexMap::new();
        edges.insert(Name::new("a"), binary(100));
        edges.insert(Name::new("b"), Value::List(vec![binary(10), binary(20)]));
        edges.insert(Name::new("s"), Value::String("not counted".into()));
        edges.insert(Name::new("shared"), binary(SHARED_PART_MIN));
        let mut root = IndexMap::new();
        root.insert(Name::new("x"), Value::Object(edges));
        let value = Value::Object(root);
        assert_eq!(copied_len(&value), 130);
        let mut out = Vec::new();
        write_value(&mut out, &value).unwrap();
        assert!(out.len() >= 130 + SHARED_PART_MIN);
        // A resolver-built tree is walked no further than 256 values.
        let wide = Value::List((0..1000).map(|_| binary(1)).collect());
        assert_eq!(copied_len(&wide), COPIED_LEN_VISITS - 1);
        let mut deep = binary(7);
        for _ in 0..300 {
            deep = Value::List(vec![deep]);
        }
        assert_eq!(copied_len(&deep), 0);
    }

    #[test]
    fn a_rope_writes_what_a_vec_writes_and_shares_the_large_parts() {
        let big = Bytes::from(format!("[{}0]", "1,".repeat(SHARED_PART_MIN)));
        let small = Bytes::from_static(br#"{"a":"b"}"#);
        let mut object = IndexMap::new();
        object.insert(Name::new("s"), Value::String("a\"b\u{1}é".into()));
        object.insert(Name::new("big"), Value::Binary(big.clone()));
        object.insert(Name::new("small"), Value::Binary(small));
        object.insert(Name::new("again"), Value::Binary(big.clone()));
        let mut response = Response::new(Value::Object(object));
        response.errors = vec![ServerError::new("boom", None)];
        let mut vec = Vec::new();
        write_response(&mut vec, &response).unwrap();
        let mut rope = Rope::default();
        write_response(&mut rope, &response).unwrap();
        assert_eq!(rope.len(), vec.len());
        let parts = rope.into_parts();
        assert_eq!(parts.concat(), vec);
        // The large part twice, each time the caller's own bytes; the rest in three buffers.
        let shared: Vec<_> = parts
            .iter()
            .filter(|p| p.as_ptr() == big.as_ptr())
            .collect();
        assert_eq!((shared.len(), parts.len()), (2, 5));
        assert!(Rope::default().into_parts().is_empty());
    }

    #[tokio::test]
    async fn a_rope_body_has_its_length_and_its_bytes() {
        let big = Bytes::from(vec![b'7'; SHARED_PART_MIN]);
        let mut rope = Rope::default();
        rope.extend_from_slice(b"[");
        rope.encoded(&big);
        rope.extend_from_slice(b"]");
        let len = rope.len();
        let body = rope.into_body();
        assert_eq!(
            hyper::body::Body::size_hint(&body).exact(),
            Some(len as u64)
        );
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        assert_eq!(bytes.len(), len);
        assert_eq!((bytes[0], bytes[len - 1], bytes[1]), (b'[', b']', b'7'));
        let empty = Rope::default().into_body();
        assert_eq!(hyper::body::Body::size_hint(&empty).exact(), Some(0));
    }

    #[test]
    fn writes_what_serde_writes_and_passes_binary_through() {
        let mut object = IndexMap::new();
        object.insert(Name::new("s"), Value::String("a\"b\\c\n\u{1}é".into()));
        object.insert(
            Name::new("plain"),
            Value::String("exec-1 2026-05-01T00:00:00Z é".into()),
        );
        object.insert(
            Name::new("\u{7f}\u{1f}"),
            Value::String("\u{2028}/\t".into()),
        );
        object.insert(Name::new("n"), Value::Number((-3).into()));
        object.insert(
            Name::new("f"),
            Value::Number(serde_json::Number::from_f64(1.5).unwrap()),
        );
        object.insert(Name::new("b"), Value::Boolean(false));
        object.insert(Name::new("e"), Value::Enum(Name::new("RUNNING")));
        object.insert(
            Name::new("l"),
            Value::List(vec![Value::Null, Value::Boolean(true)]),
        );
        object.insert(Name::new("o"), Value::Object(IndexMap::new()));
        let mut response = Response::new(Value::Object(object.clone()));
        response.errors.push(ServerError::new("boom", None));
        response
            .extensions
            .insert("cost".into(), Value::Number(7.into()));
        let mut out = Vec::new();
        write_response(&mut out, &response).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(&response).unwrap()
        );

        object.insert(
            Name::new("raw"),
            Value::Binary(br#"{"id":"x"}"#.to_vec().into()),
        );
        let mut out = Vec::new();
        write_response(&mut out, &Response::new(Value::Object(object))).unwrap();
        let written: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(written["data"]["raw"]["id"], "x");
        assert_eq!(written["data"]["s"], "a\"b\\c\n\u{1}é");
        assert!(written.get("errors").is_none());
    }

    proptest::proptest! {
        /// Any string, escapes anywhere in it (chunk boundaries included), is written exactly as
        /// serde_json writes it.
        #[test]
        fn strings_are_written_as_serde_writes_them(
            s in "(\\PC|[\"\\\\\u{0}-\u{1f}\u{7f}é\u{2028}]){0,80}",
        ) {
            let mut out = Vec::new();
            write_str(&mut out, &s);
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&s).unwrap());
            let plain = !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
            proptest::prop_assert_eq!(needs_escape(s.as_bytes()), !plain);
        }
    }
}
