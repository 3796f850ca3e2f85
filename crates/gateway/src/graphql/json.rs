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

use async_graphql::{Response, Value};

/// Request data: true when the response will be written by [`write_response`], so the walk may
/// answer an object as pre-encoded JSON (`Value::Binary`).
#[derive(Debug, Clone, Copy)]
pub struct DirectJson(pub bool);

/// Writes `response` as async-graphql's `Serialize` does (`data`, then `extensions` and
/// `errors` when not empty), `Value::Binary` subtrees copied as they are.
///
/// # Errors
/// Serialising an error's or an extension's value (async-graphql's own types; not expected).
pub fn write_response(out: &mut Vec<u8>, response: &Response) -> serde_json::Result<()> {
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

/// Writes `value` as JSON (as its `Serialize` does), `Value::Binary` copied as it is.
///
/// # Errors
/// None in practice (writing to a `Vec`; numbers are finite).
pub fn write_value(out: &mut Vec<u8>, value: &Value) -> serde_json::Result<()> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(true) => out.extend_from_slice(b"true"),
        Value::Boolean(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => serde_json::to_writer(&mut *out, n)?,
        Value::String(s) => write_str(out, s),
        Value::Enum(name) => write_str(out, name.as_str()),
        Value::Binary(json) => out.extend_from_slice(json),
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

/// Most values [`encoded_len`] looks at: the pre-encoded subtrees sit near the root (a
/// connection, or its edges), so a response tree built by resolvers is not walked twice.
const ENCODED_LEN_VISITS: usize = 256;

/// Bytes of the pre-encoded subtrees (`Value::Binary`) among the first 256 values of `value`
/// (depth first): what [`write_response`] will copy in one piece, known before writing so that
/// the body is allocated once rather than doubled four times over a page of 100 kB (the
/// reallocations' copies were about 3 % of a request's CPU at 32 connections: `perf`).
pub fn encoded_len(value: &Value) -> usize {
    fn walk(value: &Value, visits: &mut usize) -> usize {
        if *visits == 0 {
            return 0;
        }
        *visits -= 1;
        match value {
            Value::Binary(json) => json.len(),
            Value::List(items) => items.iter().map(|item| walk(item, visits)).sum(),
            Value::Object(map) => map.values().map(|item| walk(item, visits)).sum(),
            _ => 0,
        }
    }
    let mut visits = ENCODED_LEN_VISITS;
    walk(value, &mut visits)
}

/// Writes `s` as a JSON string (serde_json's escaping). Most strings (ids, keys, timestamps,
/// enum names) need none: they are copied in one piece.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    if !needs_escape(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// True when `bytes` hold a byte that a JSON string must escape: a control character, `"` or
/// `\`. Looks at 16 bytes a step with no branch inside the step, which the compiler turns into
/// vector compares (a byte-by-byte `all` was 5 % of a page request's instructions).
fn needs_escape(bytes: &[u8]) -> bool {
    let escaped = |b: u8| (b < 0x20) | (b == b'"') | (b == b'\\');
    let mut chunks = bytes.chunks_exact(16);
    for chunk in &mut chunks {
        if chunk.iter().fold(false, |any, &b| any | escaped(b)) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| escaped(b))
}

#[cfg(test)]
mod tests {
    use async_graphql::{Name, ServerError, indexmap::IndexMap};

    use super::*;

    #[test]
    fn encoded_len_counts_the_pre_encoded_bytes_near_the_root() {
        let binary = |n: usize| Value::Binary(vec![b'1'; n].into());
        let mut edges = IndexMap::new();
        edges.insert(Name::new("a"), binary(100));
        edges.insert(Name::new("b"), Value::List(vec![binary(10), binary(20)]));
        edges.insert(Name::new("s"), Value::String("not counted".into()));
        let mut root = IndexMap::new();
        root.insert(Name::new("x"), Value::Object(edges));
        let value = Value::Object(root);
        assert_eq!(encoded_len(&value), 130);
        let mut out = Vec::new();
        write_value(&mut out, &value).unwrap();
        assert!(out.len() >= 130);
        // A resolver-built tree is walked no further than 256 values.
        let wide = Value::List((0..1000).map(|_| binary(1)).collect());
        assert_eq!(encoded_len(&wide), ENCODED_LEN_VISITS - 1);
        let mut deep = binary(7);
        for _ in 0..300 {
            deep = Value::List(vec![deep]);
        }
        assert_eq!(encoded_len(&deep), 0);
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
